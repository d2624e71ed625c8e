//! What the commands of a `RUN` read: dependency installs (and the manifest
//! files they read), commands known not to touch the build context, and
//! everything else, which may read the sources.

use dockfix_core::walk::{State, Workdir};
use dockfix_syntax::shell::{parse_script, Command};
use dockfix_syntax::{Instruction, Kind};

use crate::python;

/// A dependency install found in a RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// Package manager (`pip`, `npm`…).
    pub manager: &'static str,
    /// The command as written, for messages (`pip install -r requirements.txt`).
    pub label: String,
    /// In-image paths of the manifest and lock files it reads.
    pub reads: Vec<Workdir>,
    /// Files the install reads when they exist (config such as `.npmrc`).
    pub optional_reads: Vec<Workdir>,
    /// Set when the install also needs the project's sources: the reason.
    pub needs_source: Option<String>,
    /// The requirement files among `reads` whose contents must be checked
    /// (pip `-r`/`-c`).
    pub requirement_files: Vec<Workdir>,
}

/// What one RUN does, as far as the source copy is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunAnalysis {
    pub installs: Vec<Install>,
    /// Commands that may read the sources or write where they go.
    pub blockers: Vec<String>,
}

/// One command of a RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCommand {
    /// Its words (quotes removed).
    pub words: Vec<String>,
    /// Files it redirects output to.
    pub redirects: Vec<String>,
    /// The directory it runs in (after `cd`s before it).
    pub cwd: Workdir,
}

/// Every command of a RUN, with the working directory it runs in.
pub fn run_commands(ins: &Instruction, state: &State) -> Result<Vec<RunCommand>, String> {
    debug_assert_eq!(ins.kind, Kind::Run);
    if ins.json {
        let words: Vec<String> = ins.args.iter().map(|a| a.value.clone()).collect();
        return Ok(vec![RunCommand { words, redirects: Vec::new(), cwd: state.workdir.clone() }]);
    }
    let script = if ins.heredocs.is_empty() {
        ins.args_text().to_string()
    } else {
        let text = ins.args_text().trim();
        let only_heredoc = ins.heredocs.len() == 1 && text.starts_with("<<") && !text.contains(' ');
        if !only_heredoc {
            return Err("a heredoc fed to a program".into());
        }
        ins.heredocs[0].content.clone()
    };
    let parsed = parse_script(&script);
    let mut cwd = state.workdir.clone();
    let mut out = Vec::new();
    for c in parsed.commands {
        let words: Vec<String> = c.words.iter().map(|w| w.value.clone()).collect();
        let redirects = redirect_targets(&c);
        if c.name() == Some("cd") {
            cwd = match words.get(1).map(|d| state.expand(d)) {
                Some(Some(d)) => cwd.join(&d),
                _ => Workdir::Unknown,
            };
            continue;
        }
        out.push(RunCommand { words, redirects, cwd: cwd.clone() });
    }
    Ok(out)
}

fn redirect_targets(c: &Command) -> Vec<String> {
    c.redirects
        .iter()
        .filter_map(|r| {
            let v = r.value.trim_start_matches(|ch: char| ch.is_ascii_digit());
            let t = v.trim_start_matches(['>', '<', '&', '|']);
            (!t.is_empty() && !v.starts_with('<') && !t.chars().all(|c| c.is_ascii_digit() || c == '-'))
                .then(|| t.to_string())
        })
        .collect()
}

/// Programs that never read the build context.
const SYSTEM: &[&str] = &[
    "apt-get",
    "apt",
    "apk",
    "yum",
    "dnf",
    "microdnf",
    "zypper",
    "update-ca-certificates",
    "useradd",
    "groupadd",
    "adduser",
    "addgroup",
    "usermod",
    "echo",
    "printf",
    "true",
    "set",
    "export",
    "locale-gen",
    "ldconfig",
    "update-alternatives",
    "apt-mark",
    "debconf-set-selections",
    "dpkg-reconfigure",
    "ln",
    "mkdir",
    "rm",
    "chown",
    "chmod",
    "curl",
    "wget",
];

/// Path-like arguments a command writes or reads.
fn path_args(words: &[String]) -> impl Iterator<Item = &String> {
    words.iter().skip(1).filter(|w| !w.starts_with('-'))
}

/// Classifies every command of a RUN relative to a source copy at `dest`.
pub fn analyze(ins: &Instruction, state: &State, dest: &Workdir) -> RunAnalysis {
    let mut out = RunAnalysis::default();
    let cmds = match run_commands(ins, state) {
        Ok(c) => c,
        Err(why) => {
            out.blockers.push(why);
            return out;
        }
    };
    for RunCommand { words, redirects, cwd } in cmds {
        let Some(name) = words.first().map(|w| w.rsplit('/').next().unwrap_or(w).to_string()) else {
            continue;
        };
        let under_dest = |p: &str| -> bool {
            match state.expand(p) {
                Some(p) => cwd.join(&p).is_within(dest) != Some(false),
                None => true,
            }
        };
        if let Some(t) = redirects.iter().find(|t| under_dest(t)) {
            out.blockers.push(format!("`{}` writes {t}", words.join(" ")));
            continue;
        }
        if let Some(inst) = python::pip(&words, &cwd, state) {
            out.installs.push(inst);
            continue;
        }
        if SYSTEM.contains(&name.as_str()) {
            let touches_dest = match name.as_str() {
                "rm" | "chown" | "chmod" | "mkdir" | "ln" => path_args(&words).any(|p| under_dest(p)),
                "curl" | "wget" => {
                    let mut it = words.iter();
                    let mut hit = false;
                    while let Some(w) = it.next() {
                        if matches!(w.as_str(), "-o" | "--output" | "-O" | "--output-document") {
                            if let Some(p) = it.next() {
                                hit |= under_dest(p);
                            }
                        }
                    }
                    hit
                }
                _ => false,
            };
            if touches_dest {
                out.blockers.push(format!("`{}` changes files where the sources go", words.join(" ")));
            }
            continue;
        }
        out.blockers.push(format!("`{}` may read the sources", words.join(" ")));
    }
    out
}
