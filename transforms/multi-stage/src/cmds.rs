//! What each command of a `RUN` is, as far as splitting the stage goes:
//! system package installs (and their package words), language builds,
//! setup commands that can run again in the runtime stage, and the rest.

use dockfix_core::knowledge::DistroFamily;
use dockfix_syntax::shell::{parse_script, Op};
use dockfix_syntax::{Instruction, Kind, Span};

/// A system package manager command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pkg {
    /// `apt-get install …` / `apk add …`: the words that are not packages
    /// (in order, assignments first) and the packages.
    Install { family: DistroFamily, head: Vec<String>, packages: Vec<String> },
    /// `apt-get update`, `apk update`.
    Update,
    /// `rm -rf /var/lib/apt/lists/*`, `apt-get clean`: cache cleanup.
    Clean,
    /// `apt-get purge …`, `apk del …`, `apt-get autoremove`: names removed
    /// (a virtual package name for `apk del .build-deps`).
    Remove(Vec<String>),
}

/// The class of one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    Pkg(Pkg),
    /// A language build or install command (`pip install`, `npm ci`, `go build`…).
    Build(Lang),
    /// Creates a Python virtualenv at this path (as written).
    Venv(String),
    /// A compiler or build system called directly.
    Toolchain,
    /// Creates users, directories, links: can run again in the runtime.
    Setup,
    /// Installs a build tool (`curl … | sh`).
    Installer,
    /// `cd`, `set -e`, `true`: no effect on files.
    Neutral,
    Unknown,
}

/// A language ecosystem the pass converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lang {
    Python,
    Node,
    Go,
    Java,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Python => "Python",
            Lang::Node => "Node",
            Lang::Go => "Go",
            Lang::Java => "Java",
        }
    }
}

/// One command of a RUN.
#[derive(Debug, Clone)]
pub struct Cmd {
    pub words: Vec<String>,
    /// `NAME=value` words before the command name.
    pub assignments: Vec<String>,
    /// The command as written (assignments and redirects included), in the
    /// instruction's logical text.
    pub text: String,
    /// Where its words are, in the logical text (for word edits).
    pub word_spans: Vec<Span>,
    pub class: Class,
    /// It feeds a pipe (`curl … | sh`).
    pub piped: bool,
}

impl Cmd {
    pub fn name(&self) -> &str {
        self.words.first().map(|w| w.rsplit('/').next().unwrap_or(w)).unwrap_or("")
    }
}

/// The commands of a RUN, or why they cannot be read.
pub fn commands(ins: &Instruction) -> Result<Vec<Cmd>, String> {
    debug_assert_eq!(ins.kind, Kind::Run);
    if !ins.heredocs.is_empty() {
        return Err("a RUN with a heredoc".into());
    }
    if ins.json {
        let words: Vec<String> = ins.args.iter().map(|a| a.value.clone()).collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let class = classify(&words, false);
        return Ok(vec![Cmd {
            assignments: Vec::new(),
            text: words.join(" "),
            word_spans: ins.args.iter().map(|a| a.span.clone().unwrap_or(0..0)).collect(),
            words,
            class,
            piped: false,
        }]);
    }
    let text = ins.args_text();
    let off = ins.args_span.start;
    let script = parse_script(text);
    let mut out = Vec::new();
    for c in &script.commands {
        let words: Vec<String> = c.words.iter().map(|w| w.value.clone()).collect();
        if words.is_empty() {
            continue;
        }
        let piped = matches!(c.after, Some((Op::Pipe, _)));
        let after_pipe = matches!(c.before, Some((Op::Pipe, _)));
        let mut class = classify(&words, piped);
        if after_pipe && is_shell_or_python(&words) {
            class = Class::Installer;
        }
        out.push(Cmd {
            assignments: c.assignments.iter().map(|w| text[w.span.clone()].to_string()).collect(),
            text: text[c.span.clone()].to_string(),
            word_spans: c.words.iter().map(|w| w.span.start + off..w.span.end + off).collect(),
            words,
            class,
            piped,
        });
    }
    // `curl … | sh`: the download is part of the installer.
    for i in 0..out.len() {
        if out[i].piped && matches!(out[i].name(), "curl" | "wget") {
            if let Some(next) = out.get(i + 1) {
                if next.class == Class::Installer {
                    out[i].class = Class::Installer;
                }
            }
        }
    }
    Ok(out)
}

fn is_shell_or_python(words: &[String]) -> bool {
    let n = words[0].rsplit('/').next().unwrap_or(&words[0]);
    matches!(n, "sh" | "bash" | "python" | "python3" | "ash" | "zsh")
}

/// Compilers and build systems.
pub const TOOLCHAIN: &[&str] = &[
    "gcc",
    "cc",
    "g++",
    "c++",
    "clang",
    "clang++",
    "make",
    "cmake",
    "ninja",
    "meson",
    "ld",
    "as",
    "autoreconf",
    "configure",
    "./configure",
    "rustc",
    "cargo",
    "javac",
    "node-gyp",
    "gfortran",
];

/// Commands that only set things up and can run again in the runtime stage.
const SETUP: &[&str] = &[
    "useradd",
    "groupadd",
    "adduser",
    "addgroup",
    "usermod",
    "mkdir",
    "chown",
    "chmod",
    "ln",
    "touch",
    "echo",
    "printf",
    "locale-gen",
    "update-locale",
    "ldconfig",
    "update-ca-certificates",
    "debconf-set-selections",
    "dpkg-reconfigure",
    "update-alternatives",
    "sed",
    "rm",
];

const NEUTRAL: &[&str] = &["cd", "set", "true", ":", "export", "exit"];

fn strip_version(n: &str, prefix: &str) -> bool {
    n.strip_prefix(prefix).is_some_and(|r| r.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// The words after `pip` for a pip invocation.
pub fn pip_args(words: &[String]) -> Option<&[String]> {
    let n = words.first()?.rsplit('/').next()?;
    if strip_version(n, "pip") {
        return Some(&words[1..]);
    }
    if strip_version(n, "python")
        && words.get(1).map(String::as_str) == Some("-m")
        && words.get(2).map(String::as_str) == Some("pip")
    {
        return Some(&words[3..]);
    }
    None
}

fn classify(words: &[String], _piped: bool) -> Class {
    let n = words[0].rsplit('/').next().unwrap_or(&words[0]);
    let arg = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    // System packages.
    if matches!(n, "apt-get" | "apt") {
        let verb = subcommand(words, APT_VALUE_OPTS);
        return match verb {
            "install" => Class::Pkg(pkg_install(DistroFamily::Debian, words)),
            "update" | "upgrade" | "dist-upgrade" => Class::Pkg(Pkg::Update),
            "clean" | "autoclean" => Class::Pkg(Pkg::Clean),
            "purge" | "remove" | "autoremove" => Class::Pkg(Pkg::Remove(
                words.iter().skip(1).filter(|w| !w.starts_with('-') && *w != verb).cloned().collect(),
            )),
            _ => Class::Unknown,
        };
    }
    if n == "apk" {
        let verb = subcommand(words, APK_VALUE_OPTS);
        return match verb {
            "add" => Class::Pkg(pkg_install(DistroFamily::Alpine, words)),
            "update" | "upgrade" => Class::Pkg(Pkg::Update),
            "cache" => Class::Pkg(Pkg::Clean),
            "del" => Class::Pkg(Pkg::Remove(
                words.iter().skip(1).filter(|w| !w.starts_with('-') && *w != "del").cloned().collect(),
            )),
            _ => Class::Unknown,
        };
    }
    if n == "rm" && words.iter().skip(1).filter(|w| !w.starts_with('-')).all(|w| is_cache_path(w)) && words.len() > 1 {
        return Class::Pkg(Pkg::Clean);
    }
    // Python.
    if strip_version(n, "python") && arg(1) == "-m" && matches!(arg(2), "venv" | "virtualenv") {
        return match words.iter().skip(3).find(|w| !w.starts_with('-')) {
            Some(p) => Class::Venv(p.clone()),
            None => Class::Unknown,
        };
    }
    if n == "virtualenv" {
        return match words.iter().skip(1).find(|w| !w.starts_with('-')) {
            Some(p) => Class::Venv(p.clone()),
            None => Class::Unknown,
        };
    }
    if n == "uv" && arg(1) == "venv" {
        return Class::Venv(
            words.iter().skip(2).find(|w| !w.starts_with('-')).cloned().unwrap_or_else(|| ".venv".into()),
        );
    }
    if pip_args(words).is_some() || matches!(n, "uv" | "poetry" | "pipx") {
        return Class::Build(Lang::Python);
    }
    if strip_version(n, "python") {
        return Class::Build(Lang::Python);
    }
    // Node.
    if matches!(n, "npm" | "yarn" | "pnpm" | "npx" | "corepack" | "bun") {
        return Class::Build(Lang::Node);
    }
    // Go.
    if n == "go" {
        return Class::Build(Lang::Go);
    }
    // Java.
    if matches!(n, "mvn" | "mvnw" | "gradle" | "gradlew") {
        return Class::Build(Lang::Java);
    }
    if TOOLCHAIN.contains(&n) || TOOLCHAIN.contains(&words[0].as_str()) {
        return Class::Toolchain;
    }
    if NEUTRAL.contains(&n) {
        return Class::Neutral;
    }
    if SETUP.contains(&n) {
        return Class::Setup;
    }
    Class::Unknown
}

fn is_cache_path(p: &str) -> bool {
    let p = p.trim_end_matches('*').trim_end_matches('/');
    matches!(
        p,
        "/var/lib/apt/lists"
            | "/var/cache/apt"
            | "/var/cache/apt/archives"
            | "/var/cache/apk"
            | "/etc/apk/cache"
            | "/tmp"
            | "/root/.cache"
            | "/root/.cache/pip"
            | "/var/cache/debconf"
    ) || p.starts_with("/tmp/")
        || p.starts_with("/var/lib/apt/lists")
        || p.starts_with("/var/cache/apt")
}

/// Options of apt-get / apk that take a value.
const APT_VALUE_OPTS: &[&str] = &["-o", "-t", "--target-release", "-c", "--config-file"];
const APK_VALUE_OPTS: &[&str] = &["-t", "--virtual", "-X", "--repository", "--root", "-p", "--arch", "--keys-dir"];

fn pkg_install(family: DistroFamily, words: &[String]) -> Pkg {
    let value_opts = if family == DistroFamily::Debian { APT_VALUE_OPTS } else { APK_VALUE_OPTS };
    let verb = if family == DistroFamily::Debian { "install" } else { "add" };
    let mut head = Vec::new();
    let mut packages = Vec::new();
    let mut seen_verb = false;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if i == 0 || w.starts_with('-') || (!seen_verb && w == verb) {
            if w == verb {
                seen_verb = true;
            }
            head.push(w.clone());
            if value_opts.contains(&w.as_str()) {
                if let Some(v) = words.get(i + 1) {
                    head.push(v.clone());
                    i += 1;
                }
            }
        } else if seen_verb {
            packages.push(w.clone());
        } else {
            head.push(w.clone());
        }
        i += 1;
    }
    Pkg::Install { family, head, packages }
}

/// The first word after the program that is not an option (nor an
/// option's value: `apt-get -o Dir::Cache=… install`).
fn subcommand<'w>(words: &'w [String], value_opts: &[&str]) -> &'w str {
    let mut i = 1;
    while let Some(w) = words.get(i) {
        if value_opts.contains(&w.as_str()) {
            i += 2;
        } else if w.starts_with('-') {
            i += 1;
        } else {
            return w;
        }
    }
    ""
}

/// The apk virtual package name of `apk add --virtual NAME`.
pub fn apk_virtual(head: &[String]) -> Option<&str> {
    head.iter().position(|w| w == "--virtual" || w == "-t").and_then(|i| head.get(i + 1)).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_syntax::parse_str;

    fn classes(run: &str) -> Vec<Class> {
        let doc = parse_str(&format!("FROM a\nRUN {run}\n")).unwrap();
        commands(&doc.instructions[1]).unwrap().into_iter().map(|c| c.class).collect()
    }

    #[test]
    fn classifies_commands() {
        let c = classes("apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libpq-dev && rm -rf /var/lib/apt/lists/*");
        assert_eq!(c[0], Class::Pkg(Pkg::Update));
        assert_eq!(
            c[1],
            Class::Pkg(Pkg::Install {
                family: DistroFamily::Debian,
                head: vec!["apt-get".into(), "install".into(), "-y".into(), "--no-install-recommends".into()],
                packages: vec!["gcc".into(), "libpq-dev".into()],
            })
        );
        assert_eq!(c[2], Class::Pkg(Pkg::Clean));
        // Options with a value before the verb (what cache-mounts writes).
        let c = classes("apt-get -o Dir::Cache::Archives=/var/cache/apt/debs install -y gcc");
        assert!(
            matches!(&c[0], Class::Pkg(Pkg::Install { packages, .. }) if packages == &["gcc".to_string()]),
            "{c:?}"
        );
        let c = classes(
            "apk add --no-cache --virtual .build-deps gcc musl-dev && pip install -r r.txt && apk del .build-deps",
        );
        match &c[0] {
            Class::Pkg(Pkg::Install { head, packages, .. }) => {
                assert_eq!(apk_virtual(head), Some(".build-deps"));
                assert_eq!(packages, &["gcc", "musl-dev"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c[1], Class::Build(Lang::Python));
        assert_eq!(c[2], Class::Pkg(Pkg::Remove(vec![".build-deps".into()])));
        assert_eq!(classes("python3 -m venv /opt/venv"), [Class::Venv("/opt/venv".into())]);
        assert_eq!(
            classes("curl -sSL https://install.python-poetry.org | python3 -"),
            [Class::Installer, Class::Installer]
        );
        assert_eq!(classes("useradd -m app && make"), [Class::Setup, Class::Toolchain]);
        assert_eq!(classes("wget -O /usr/local/bin/x https://x"), [Class::Unknown]);
        assert_eq!(classes("CGO_ENABLED=0 go build -o /app ."), [Class::Build(Lang::Go)]);
    }
}
