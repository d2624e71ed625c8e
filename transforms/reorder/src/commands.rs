//! What the commands of a `RUN` do, as far as a source copy is concerned:
//! dependency installs (what they read, whether they also need the sources
//! and how to split them), commands known not to touch the build context,
//! build steps, and everything else, which may read the sources.
//!
//! Each ecosystem module (`python`, `node`, `go`, `java`, `ruby`, `php`)
//! turns one command into a [`Role`]; this module tokenizes the RUN, tracks
//! `cd`, and dispatches.

use dockfix_core::walk::{State, Workdir};
use dockfix_syntax::shell::{parse_script, Op};
use dockfix_syntax::Span;
use dockfix_syntax::{Instruction, Kind};

use crate::{go, java, node, php, python, ruby};

/// A file or directory an install reads, in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub path: Workdir,
    /// The install fails (or reads something else) without it.
    pub required: bool,
}

impl Read {
    pub fn required(path: Workdir) -> Read {
        Read { path, required: true }
    }
    pub fn optional(path: Workdir) -> Read {
        Read { path, required: false }
    }
}

/// How an install that also installs the project is split: a deps-only
/// command before the source copy, the project step after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Words appended to the install command for the deps-only step.
    pub append: Vec<String>,
    /// Words of the install command replaced for the deps-only step
    /// (index into the command's words; an empty text removes the word).
    pub replace: Vec<(usize, String)>,
    /// The command that runs after the source copy.
    pub after: String,
    /// What the install does that needs the split, for the explanation.
    pub why: String,
    /// False when the split can change what gets installed (an unsafe fix).
    pub safe: bool,
}

/// Whether an install also needs the project's sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Project {
    /// It installs dependencies only.
    DepsOnly,
    /// It installs the project too; this split separates the two.
    Split(Split),
    /// It needs the sources and cannot be split: why.
    NeedsSource(String),
}

/// Which manifest contents an install depends on (checked against the
/// context by the ecosystem module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    None,
    /// pip: requirement files and the files they include.
    Requirements,
    /// `pip install .`: the requirements file that gives the dependencies.
    PipProject,
    /// poetry, uv, pdm: `pyproject.toml`.
    Pyproject,
    /// pipenv: `Pipfile`.
    Pipfile,
    /// npm, yarn, pnpm, bun: `package.json` (and the workspace).
    Node(node::NodeInstall),
    /// `go mod download`: `go.mod`, `go.work`.
    GoMod,
    /// maven: `pom.xml` and its modules.
    Maven,
    /// gradle: settings and build scripts.
    Gradle,
    /// bundler: `Gemfile`.
    Gemfile,
    /// composer: `composer.json`.
    Composer(php::ComposerInstall),
}

/// A dependency install found in a RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// Package manager (`pip`, `npm`…).
    pub manager: &'static str,
    /// The command as written, for messages (`pip install -r requirements.txt`).
    pub label: String,
    /// The project directory (where it looks for its manifests).
    pub dir: Workdir,
    /// Manifest, lock and config files it reads.
    pub reads: Vec<Read>,
    pub project: Project,
    /// Files and directories it writes inside the project directory.
    pub outputs: Vec<Workdir>,
    /// What to check in the manifests.
    pub check: Check,
    /// Set when it changes the manifests it reads (`npm install express`): why.
    pub writes_manifest: Option<String>,
}

impl Install {
    pub fn new(manager: &'static str, label: String, dir: Workdir) -> Install {
        Install {
            manager,
            label,
            dir,
            reads: Vec::new(),
            project: Project::DepsOnly,
            outputs: Vec::new(),
            check: Check::None,
            writes_manifest: None,
        }
    }

    /// Adds the manifests, lock files and config files the knowledge table
    /// lists for `manager`, in the project directory: the first manifest is
    /// required, everything else is read when present.
    pub fn with_known_files(mut self, manager: &str) -> Install {
        if let Some(m) = dockfix_core::knowledge::manager(manager) {
            for (i, f) in m.manifests.iter().enumerate() {
                let p = self.dir.join(f);
                self.reads.push(if i == 0 { Read::required(p) } else { Read::optional(p) });
            }
            for f in m.lockfiles.iter().chain(m.config_files) {
                self.reads.push(Read::optional(self.dir.join(f)));
            }
            for f in m.project_outputs {
                self.outputs.push(self.dir.join(f));
            }
        }
        self
    }
}

/// A build step that downloads dependencies as it builds (`go build`,
/// `mvn package`): a download step can be inserted before the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Build {
    Go(go::GoBuild),
    Maven(java::MavenBuild),
}

/// What one command does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Install(Install),
    /// Does not read the build context; may write these paths.
    Neutral {
        outputs: Vec<Workdir>,
    },
    /// May read the sources (or changes them): why.
    Source {
        why: String,
        build: Option<Build>,
    },
}

impl Role {
    pub fn neutral() -> Role {
        Role::Neutral { outputs: Vec::new() }
    }
    pub fn source(why: impl Into<String>) -> Role {
        Role::Source { why: why.into(), build: None }
    }
}

/// One command of a RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    /// Its words (quotes removed).
    pub words: Vec<String>,
    /// Its words as written (quotes kept), for commands dockfix writes.
    pub raw: Vec<String>,
    /// `NAME=value` prefixes as written.
    pub assigns: Vec<String>,
    /// Where each word is, in the instruction's logical text (empty when the
    /// RUN cannot be edited: exec form, heredoc).
    pub spans: Vec<Span>,
    /// From its first to its last token, in the logical text.
    pub span: Option<Span>,
    /// Files it redirects output to.
    pub redirects: Vec<String>,
    /// The directory it runs in (after `cd`s before it).
    pub cwd: Workdir,
    /// The operator before it.
    pub before: Option<Op>,
    /// It changes the shell's state for the commands after it (`cd`, `export`…).
    pub state_change: bool,
    /// Its input is piped from a download (`curl … | sh`).
    pub piped_download: bool,
}

impl Cmd {
    /// The program name, path stripped.
    pub fn name(&self) -> &str {
        self.words.first().map(|w| w.rsplit('/').next().unwrap_or(w)).unwrap_or("")
    }

    /// The command as written: assignments, then words.
    pub fn text(&self) -> String {
        self.assigns.iter().chain(&self.raw).cloned().collect::<Vec<_>>().join(" ")
    }
}

/// Facts about the stage that change how commands are read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageFacts {
    /// Poetry is pinned to a version before 1.2 (no `--only-root`).
    pub old_poetry: bool,
}

/// Everything a RUN does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunAnalysis {
    pub cmds: Vec<Cmd>,
    pub roles: Vec<Role>,
    /// Word spans are valid: the RUN is a shell-form RUN without heredocs.
    pub editable: bool,
    /// The script has subshells, groups or `if`/`for`/`while`/`case`: its
    /// commands cannot be split apart or followed by a separate step.
    pub compound: bool,
    /// Why the RUN cannot be read at all.
    pub error: Option<String>,
}

impl RunAnalysis {
    pub fn installs(&self) -> impl Iterator<Item = (usize, &Install)> {
        self.roles.iter().enumerate().filter_map(|(i, r)| match r {
            Role::Install(inst) => Some((i, inst)),
            _ => None,
        })
    }

    /// Reasons the commands may read the sources.
    pub fn blockers(&self) -> impl Iterator<Item = &str> {
        self.error.as_deref().into_iter().chain(self.roles.iter().filter_map(|r| match r {
            Role::Source { why, .. } => Some(why.as_str()),
            _ => None,
        }))
    }
}

const STATE_CHANGERS: &[&str] = &[
    "cd", "export", "set", "source", ".", "alias", "umask", "unset", "shopt", "trap", "pushd", "popd", "declare",
    "typeset", "local", "readonly", "eval", "ulimit", "hash", "enable",
];

/// Every command of a RUN, with the working directory it runs in.
pub fn run_commands(ins: &Instruction, state: &State) -> Result<(Vec<Cmd>, bool, bool), String> {
    debug_assert_eq!(ins.kind, Kind::Run);
    if ins.json {
        let words: Vec<String> = ins.args.iter().map(|a| a.value.clone()).collect();
        let raw = words.iter().map(|w| dockfix_core::layout::quote_arg(w)).collect();
        let cmd = Cmd {
            words,
            raw,
            assigns: Vec::new(),
            spans: Vec::new(),
            span: None,
            redirects: Vec::new(),
            cwd: state.workdir.clone(),
            before: None,
            state_change: false,
            piped_download: false,
        };
        return Ok((vec![cmd], false, false));
    }
    let (script, offset, editable) = if ins.heredocs.is_empty() {
        (ins.args_text().to_string(), ins.args_span.start, true)
    } else {
        let text = ins.args_text().trim();
        let only_heredoc = ins.heredocs.len() == 1 && text.starts_with("<<") && !text.contains(' ');
        if !only_heredoc {
            return Err("a heredoc fed to a program".into());
        }
        (ins.heredocs[0].content.clone(), 0, false)
    };
    let parsed = parse_script(&script);
    const COMPOUND: &[&str] = &["if", "then", "fi", "for", "do", "done", "while", "until", "case", "esac", "{", "}"];
    let compound = parsed
        .commands
        .iter()
        .any(|c| matches!(c.before, Some((Op::Group, _))) || matches!(c.after, Some((Op::Group, _))))
        || script.split(|c: char| c.is_whitespace() || c == ';').any(|w| COMPOUND.contains(&w));
    let mut cwd = state.workdir.clone();
    let mut out: Vec<Cmd> = Vec::new();
    for c in parsed.commands {
        let words: Vec<String> = c.words.iter().map(|w| w.value.clone()).collect();
        let raw: Vec<String> = c.words.iter().map(|w| script[w.span.clone()].to_string()).collect();
        let assigns: Vec<String> = c.assignments.iter().map(|w| script[w.span.clone()].to_string()).collect();
        let shift = |s: &Span| s.start + offset..s.end + offset;
        let spans = if editable { c.words.iter().map(|w| shift(&w.span)).collect() } else { Vec::new() };
        let redirects = c
            .redirects
            .iter()
            .filter_map(|r| {
                let v = r.value.trim_start_matches(|ch: char| ch.is_ascii_digit());
                let t = v.trim_start_matches(['>', '<', '&', '|']);
                (!t.is_empty() && !v.starts_with('<') && !t.chars().all(|c| c.is_ascii_digit() || c == '-'))
                    .then(|| t.to_string())
            })
            .collect();
        let name = words.first().map(|w| w.rsplit('/').next().unwrap_or(w).to_string()).unwrap_or_default();
        let before = c.before.as_ref().map(|(op, _)| *op);
        let piped_download = before == Some(Op::Pipe)
            && out.last().is_some_and(|p: &Cmd| matches!(p.name(), "curl" | "wget"))
            && is_shell_reading_stdin(&words);
        let state_change = (STATE_CHANGERS.contains(&name.as_str()) && !(name == "set" && words.len() == 1))
            || (words.is_empty() && !assigns.is_empty());
        let this_cwd = cwd.clone();
        if name == "cd" {
            cwd = match words.get(1).map(|d| expand_path(state, d)) {
                Some(Some(d)) => cwd.join(&d),
                _ => Workdir::Unknown,
            };
        }
        out.push(Cmd {
            words,
            raw,
            assigns,
            spans,
            span: Some(shift(&c.span)).filter(|_| editable),
            redirects,
            cwd: this_cwd,
            before,
            state_change,
            piped_download,
        });
    }
    Ok((out, editable, compound))
}

/// `sh`, `bash`, `python3 -` reading a script from stdin.
fn is_shell_reading_stdin(words: &[String]) -> bool {
    let name = words.first().map(|w| w.rsplit('/').next().unwrap_or(w)).unwrap_or("");
    let shell = matches!(name, "sh" | "bash" | "dash" | "ash" | "zsh")
        || (name.starts_with("python") && name[6..].chars().all(|c| c.is_ascii_digit() || c == '.'));
    shell && words.iter().skip(1).all(|w| w.starts_with('-'))
}

/// Expands variables and `~` in a path word; `None` when unknown.
pub fn expand_path(state: &State, word: &str) -> Option<String> {
    let w = if word == "~" || word.starts_with("~/") {
        // Root's home is /root in every common base image.
        let home = match state.var("HOME") {
            Some(h) => h.to_string(),
            None if state.is_root() => "/root".to_string(),
            None => return None,
        };
        format!("{home}{}", &word[1..])
    } else if word.starts_with('~') {
        return None;
    } else {
        word.to_string()
    };
    state.expand(&w)
}

/// Resolves a path word against a directory; unknown when it cannot be expanded.
pub fn resolve(state: &State, cwd: &Workdir, word: &str) -> Workdir {
    match expand_path(state, word) {
        Some(p) => cwd.join(&p),
        None => Workdir::Unknown,
    }
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
    ":",
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
    "gem",
    "pipx",
    "corepack",
    "git",
    "sleep",
    "id",
    "whoami",
    "which",
    "unset",
    "umask",
];

/// Classifies every command of a RUN relative to a source copy at `dest`.
pub fn analyze(ins: &Instruction, state: &State, dest: &Workdir, facts: &StageFacts) -> RunAnalysis {
    let mut out = RunAnalysis::default();
    let (cmds, editable, compound) = match run_commands(ins, state) {
        Ok(c) => c,
        Err(why) => {
            out.error = Some(why);
            return out;
        }
    };
    out.editable = editable;
    out.compound = compound;
    for cmd in &cmds {
        out.roles.push(classify(cmd, state, dest, facts));
    }
    out.cmds = cmds;
    out
}

fn classify(cmd: &Cmd, state: &State, dest: &Workdir, facts: &StageFacts) -> Role {
    let words = &cmd.words;
    let name = cmd.name();
    if words.is_empty() {
        return Role::neutral();
    }
    let under_dest = |p: &str| -> bool {
        match expand_path(state, p) {
            Some(p) => cmd.cwd.join(&p).is_within(dest) != Some(false),
            None => true,
        }
    };
    if let Some(t) = cmd.redirects.iter().find(|t| under_dest(t)) {
        // `echo … > .npmrc` writes a file it names, and reads nothing.
        if matches!(name, "echo" | "printf") {
            let outputs = cmd.redirects.iter().map(|r| resolve(state, &cmd.cwd, r)).collect();
            return Role::Neutral { outputs };
        }
        return Role::source(format!("`{}` writes {t}", cmd.raw.join(" ")));
    }
    if cmd.piped_download {
        return Role::neutral();
    }
    let cx = Cmdx { cmd, state, facts };
    for parse in [python::classify, node::classify, go::classify, java::classify, ruby::classify, php::classify] {
        if let Some(role) = parse(&cx) {
            return role;
        }
    }
    if name == "cd" || SYSTEM.contains(&name) {
        let touches_dest = match name {
            "rm" | "chown" | "chmod" | "mkdir" | "ln" => {
                words.iter().skip(1).filter(|w| !w.starts_with('-')).any(|p| under_dest(p))
            }
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
            // `git clone URL /opt/x` writes outside the sources; other verbs
            // read the repository the sources came with.
            "git" => match words.get(1).map(String::as_str) {
                Some("config") => false,
                Some("clone") => {
                    let args: Vec<&String> = words.iter().skip(2).filter(|w| !w.starts_with('-')).collect();
                    match args.as_slice() {
                        [_, dir] => under_dest(dir),
                        _ => true,
                    }
                }
                _ => return Role::source(format!("`{}` may read the sources", cmd.raw.join(" "))),
            },
            "gem" => words
                .get(1)
                .is_some_and(|v| !matches!(v.as_str(), "install" | "update" | "uninstall" | "sources" | "env")),
            "corepack" => {
                // `corepack install` / `corepack prepare` without a spec read
                // package.json's `packageManager`.
                let verb = words.get(1).map(String::as_str).unwrap_or("");
                let spec = words.iter().skip(2).any(|w| !w.starts_with('-'));
                if matches!(verb, "install" | "prepare" | "up" | "use") && !spec {
                    let mut inst = Install::new("corepack", cmd.raw.join(" "), cmd.cwd.clone());
                    inst.reads.push(Read::required(cmd.cwd.join("package.json")));
                    if verb == "up" || verb == "use" {
                        inst.writes_manifest = Some(format!("`{}` changes package.json", cmd.raw.join(" ")));
                    }
                    return Role::Install(inst);
                }
                false
            }
            _ => false,
        };
        if touches_dest {
            return Role::source(format!("`{}` changes files where the sources go", cmd.raw.join(" ")));
        }
        return Role::neutral();
    }
    Role::source(format!("`{}` may read the sources", cmd.raw.join(" ")))
}

/// A command with what its analyzers need.
pub struct Cmdx<'a> {
    pub cmd: &'a Cmd,
    pub state: &'a State,
    pub facts: &'a StageFacts,
}

impl Cmdx<'_> {
    pub fn words(&self) -> &[String] {
        &self.cmd.words
    }
    pub fn cwd(&self) -> &Workdir {
        &self.cmd.cwd
    }
    /// The command as written (quotes kept, assignments left out), for messages.
    pub fn label(&self) -> String {
        self.cmd.raw.join(" ")
    }
    /// Resolves a path argument.
    pub fn path(&self, word: &str) -> Workdir {
        resolve(self.state, &self.cmd.cwd, word)
    }
    /// A variable from the command's own assignments, then ENV/ARG.
    pub fn var(&self, name: &str) -> Option<String> {
        for a in self.cmd.assigns.iter().rev() {
            if let Some((k, v)) = a.split_once('=') {
                if k == name {
                    return Some(dockfix_core::walk::unquote(v));
                }
            }
        }
        self.state.var(name).map(str::to_string)
    }
    /// The command text with the given words left out and others added,
    /// built from the words as written.
    pub fn rewrite(&self, keep: impl Fn(usize, &str) -> bool, extra: &[&str]) -> String {
        let mut parts: Vec<String> = self.cmd.assigns.clone();
        for (i, (w, r)) in self.cmd.words.iter().zip(&self.cmd.raw).enumerate() {
            if keep(i, w) {
                parts.push(r.clone());
            }
        }
        parts.extend(extra.iter().map(|s| s.to_string()));
        parts.join(" ")
    }
}

/// Splits `--flag=value` into its name and attached value.
pub fn flag_parts(a: &str) -> (&str, Option<&str>) {
    match a.split_once('=') {
        Some((f, v)) if f.starts_with("--") => (f, Some(v)),
        _ => (a, None),
    }
}

/// Options and positional arguments of a command line, given the options
/// that take a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// (word index, option name, value) for every option.
    pub opts: Vec<(usize, String, Option<String>)>,
    /// (word index, value) for every positional argument.
    pub args: Vec<(usize, String)>,
}

impl Parsed {
    pub fn parse(words: &[String], start: usize, value_opts: &[&str]) -> Parsed {
        let mut out = Parsed::default();
        let mut i = start;
        while i < words.len() {
            let w = &words[i];
            if w == "--" {
                for (k, a) in words.iter().enumerate().skip(i + 1) {
                    out.args.push((k, a.clone()));
                }
                break;
            }
            if w.starts_with('-') && w.len() > 1 {
                let (f, v) = flag_parts(w);
                if v.is_none() && value_opts.contains(&f) {
                    out.opts.push((i, f.to_string(), words.get(i + 1).cloned()));
                    i += 2;
                    continue;
                }
                out.opts.push((i, f.to_string(), v.map(str::to_string)));
            } else {
                out.args.push((i, w.clone()));
            }
            i += 1;
        }
        out
    }

    pub fn has(&self, names: &[&str]) -> bool {
        self.opts.iter().any(|(_, n, _)| names.contains(&n.as_str()))
    }

    pub fn value(&self, names: &[&str]) -> Option<&str> {
        self.opts.iter().rev().find(|(_, n, _)| names.contains(&n.as_str())).and_then(|(_, _, v)| v.as_deref())
    }

    pub fn values<'a>(&'a self, names: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
        self.opts.iter().filter(move |(_, n, _)| names.contains(&n.as_str())).filter_map(|(_, _, v)| v.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_syntax::parse_str;
    use std::collections::BTreeMap;

    fn st() -> State {
        State { workdir: Workdir::Abs("/app".into()), user: None, env: BTreeMap::new(), args: BTreeMap::new() }
    }

    fn roles(run: &str) -> RunAnalysis {
        let doc = parse_str(&format!("FROM a\n{run}\n")).unwrap();
        analyze(&doc.instructions[1], &st(), &Workdir::Abs("/app".into()), &StageFacts::default())
    }

    #[test]
    fn tracks_cd_and_state() {
        let a = roles("RUN cd web && npm ci && export X=1 && npm run build");
        assert_eq!(a.cmds[1].cwd, Workdir::Abs("/app/web".into()));
        assert!(a.cmds[0].state_change && a.cmds[2].state_change);
        assert!(matches!(a.roles[1], Role::Install(_)));
        assert!(matches!(a.roles[3], Role::Source { .. }));
    }

    #[test]
    fn curl_pipe_is_neutral() {
        let a = roles("RUN curl -sSL https://install.python-poetry.org | python3 - && poetry install --no-root");
        assert!(matches!(a.roles[1], Role::Neutral { .. }));
        assert!(matches!(a.roles[2], Role::Install(_)));
        let a = roles("RUN cat x | python3 -");
        assert!(matches!(a.roles[1], Role::Source { .. }));
    }

    #[test]
    fn spans_are_logical() {
        let doc = parse_str("FROM a\nRUN pip install -r r.txt \\\n && echo done\n").unwrap();
        let ins = &doc.instructions[1];
        let (cmds, editable, _) = run_commands(ins, &st()).unwrap();
        assert!(editable);
        assert_eq!(ins.text_of(&cmds[0].spans[3]), "r.txt");
        assert_eq!(cmds[1].before, Some(Op::And));
    }

    #[test]
    fn parsed_options() {
        let w: Vec<String> = "x -a 1 --b=2 c -- -d".split(' ').map(str::to_string).collect();
        let p = Parsed::parse(&w, 1, &["-a"]);
        assert_eq!(p.value(&["-a"]), Some("1"));
        assert_eq!(p.value(&["--b"]), Some("2"));
        assert_eq!(p.args, [(4, "c".to_string()), (6, "-d".to_string())]);
    }
}
