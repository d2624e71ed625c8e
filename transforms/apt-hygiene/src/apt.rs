//! What an apt command does with the package lists: fetch them (`update`),
//! download packages with them (`install`, `upgrade`…), only read them
//! (`apt-cache policy`, `apt show`), or delete them.

use crate::script::{Cmd, Word};

/// What a command does with the package lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Fetches them (`apt-get update`, `add-apt-repository`).
    Update,
    /// Downloads packages the lists name (`install`, `upgrade`, `source`…):
    /// stale lists make it fail with 404 or install old versions.
    Fetch,
    /// Reads them without downloading packages (`apt-cache policy`).
    Read,
    /// Deletes them (`rm -rf /var/lib/apt/lists/*`, `apt-get distclean`).
    Clean,
    /// Works on installed packages only (`remove`, `clean`, `autoremove`).
    Other,
}

/// One apt command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apt {
    /// Index of the command in the script.
    pub cmd: usize,
    /// `apt-get`, `apt`, `apt-cache`, `aptitude`, `add-apt-repository`, or
    /// the program of a cleanup.
    pub tool: String,
    /// The subcommand (`install`), empty when there is none.
    pub verb: String,
    pub use_: Use,
    /// Index in `words` of the subcommand.
    pub verb_word: Option<usize>,
    /// Indices in `words` of the package arguments of an install.
    pub packages: Vec<usize>,
    /// The command itself says whether to install recommends.
    pub recommends_set: bool,
    /// The lists are not in /var/lib/apt/lists (`-o Dir::State…`).
    pub lists_moved: bool,
}

/// Options of apt-get, apt and apt-cache that take a value as the next word.
const VALUED: &[&str] = &[
    "-o",
    "--option",
    "-c",
    "--config-file",
    "-t",
    "--target-release",
    "--default-release",
    "-a",
    "--host-architecture",
    "-P",
    "--build-profiles",
    "-p",
    "--pkg-cache",
    "-s",
    "--src-cache",
];

/// Where apt keeps the package lists.
pub const LISTS: &str = "/var/lib/apt/lists";

/// Reads an apt command (or a cleanup of the lists).
pub fn classify(i: usize, c: &Cmd) -> Option<Apt> {
    let tool = c.program()?.to_string();
    let words = &c.words;
    let mut a = Apt {
        cmd: i,
        tool: tool.clone(),
        verb: String::new(),
        use_: Use::Other,
        verb_word: None,
        packages: Vec::new(),
        recommends_set: false,
        lists_moved: false,
    };
    let lower: Vec<String> = words.iter().skip(1).map(|w| w.value.to_ascii_lowercase()).collect();
    a.recommends_set = lower.iter().any(|w| w.contains("install-recommends"));
    a.lists_moved = lower.iter().any(|w| w.contains("dir::state"));
    match tool.as_str() {
        "apt-get" | "apt" | "aptitude" | "apt-cache" => {
            let (vi, verb) = verb(words)?;
            a.verb = verb.to_string();
            a.verb_word = Some(vi);
            a.use_ = match (tool.as_str(), verb) {
                ("apt-cache", _) => Use::Read,
                (_, "update") => Use::Update,
                (
                    _,
                    "install" | "reinstall" | "upgrade" | "dist-upgrade" | "full-upgrade" | "safe-upgrade"
                    | "build-dep" | "source" | "download" | "satisfy",
                ) => Use::Fetch,
                (_, "distclean" | "dist-clean") => Use::Clean,
                (
                    _,
                    "check" | "changelog" | "list" | "search" | "show" | "showsrc" | "policy" | "depends" | "rdepends"
                    | "indextargets" | "why" | "why-not",
                ) => Use::Read,
                _ => Use::Other,
            };
            if matches!(verb, "install" | "reinstall") {
                let mut skip = false;
                for (k, w) in words.iter().enumerate().skip(vi + 1) {
                    if skip {
                        skip = false;
                    } else if VALUED.contains(&w.value.as_str()) {
                        skip = true;
                    } else if !w.value.starts_with('-') {
                        a.packages.push(k);
                    }
                }
            }
        }
        "add-apt-repository" | "apt-add-repository" => {
            let no_update = words.iter().any(|w| w.value == "-n" || w.value == "--no-update");
            a.use_ = if no_update { Use::Other } else { Use::Update };
        }
        "rm" | "find" => {
            let cleans = words.iter().skip(1).any(|w| w.value.trim_end_matches('/').starts_with("/var/lib/apt"));
            if !cleans {
                return None;
            }
            a.use_ = Use::Clean;
        }
        _ => return None,
    }
    Some(a)
}

/// The subcommand: the first word after the program that is not an option
/// or an option's value.
fn verb(words: &[Word]) -> Option<(usize, &str)> {
    let mut k = 1;
    while k < words.len() {
        let w = words[k].value.as_str();
        if VALUED.contains(&w) {
            k += 2;
        } else if w.starts_with('-') {
            k += 1;
        } else {
            return Some((k, w));
        }
    }
    None
}

/// An install argument that names a package file rather than a package.
pub fn is_file(arg: &str) -> bool {
    arg.starts_with(['.', '/', '~']) || arg.ends_with(".deb")
}

/// A package argument without version, release or architecture
/// (`curl=7.88.1-10` → `curl`). `None` for a file (`./x.deb`) or an
/// expansion.
pub fn package_name(arg: &str) -> Option<&str> {
    if is_file(arg) || arg.contains(['$', '*', '?', '[', '`']) {
        return None;
    }
    let name = arg.split(['=', ':', '/']).next().unwrap_or(arg);
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Script;
    use dockfix_syntax::parse_str;

    fn apts(run: &str) -> Vec<Apt> {
        let src = format!("FROM a\nRUN {run}\n");
        let doc = parse_str(&src).unwrap();
        let s = Script::new(&doc, &doc.instructions[1]).unwrap();
        s.cmds.iter().enumerate().filter_map(|(i, c)| classify(i, c)).collect()
    }

    #[test]
    fn classifies() {
        let a = apts("apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Options::=--force-confold install -y --no-install-recommends curl=7.88 ./x.deb && apt-cache policy curl && rm -rf /var/lib/apt/lists/*");
        let uses: Vec<Use> = a.iter().map(|a| a.use_).collect();
        assert_eq!(uses, [Use::Update, Use::Fetch, Use::Read, Use::Clean]);
        assert_eq!(a[1].verb, "install");
        assert_eq!(a[1].packages.len(), 2);
        assert!(a[1].recommends_set);
        assert!(!a[0].recommends_set);
        let a =
            apts("apt install -o APT::Install-Recommends=false -y git && apt-get clean && sudo apt-get -y autoremove");
        assert!(a[0].recommends_set);
        assert_eq!(a[1].use_, Use::Other);
        assert_eq!(a[2].use_, Use::Other);
        assert_eq!(apts("add-apt-repository -y ppa:x/y")[0].use_, Use::Update);
        assert_eq!(apts("add-apt-repository -n ppa:x/y")[0].use_, Use::Other);
        assert!(apts("rm -rf /tmp/x").is_empty());
        assert!(apts("apt-get -o Dir::State::Lists=/l update")[0].lists_moved);
    }

    #[test]
    fn package_names() {
        assert_eq!(package_name("curl=7.88.1-10+deb12u5"), Some("curl"));
        assert_eq!(package_name("libc6:i386"), Some("libc6"));
        assert_eq!(package_name("./x.deb"), None);
        assert_eq!(package_name("$PKGS"), None);
        assert_eq!(package_name("git/bookworm-backports"), Some("git"));
    }
}
