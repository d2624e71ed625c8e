//! Pass `duplicate-install`: a package installed explicitly that the
//! project already declares, or installed twice in one stage.
//!
//! ```text
//! RUN pip install . && pip install httpx      # httpx is in pyproject.toml
//!   =>
//! RUN pip install .
//! ```
//!
//! Python (pip, `python -m pip`, `uv pip`) after `pip install .`/`-r file`
//! in the same environment; `npm install -g X` (yarn, pnpm, bun) when the
//! stage's project install has `X` from `package.json`; `apt-get install`
//! of a package the stage installed already. A version that differs from
//! the manifest's is reported and nothing is removed; two distributions of
//! one package (`opencv-python` over `opencv-python-headless`) are only
//! reported.

mod manifest;
use dockfix_core::pep440;
mod script;

use std::collections::BTreeMap;

use dockfix_core::config::OptionSpec;
use dockfix_core::knowledge;
use dockfix_core::layout;
use dockfix_core::walk::{stage_states, State, Workdir};
use dockfix_core::{Applicability, Context, Edit, Finding, Fix, Pass};
use dockfix_syntax::{Document, Kind};

use manifest::Declared;
use pep440::{normalize_name, satisfies, Requirement};
use script::{Cmd, Script, Word};

pub const NAME: &str = "duplicate-install";

const OPTIONS: &[OptionSpec] = &[OptionSpec {
    name: "ignore-packages",
    kind: "array",
    help: "package names never reported (Python names compared normalized: `Foo_Bar` is `foo-bar`)",
}];

/// The pass.
pub struct DuplicateInstall;

impl Pass for DuplicateInstall {
    fn name(&self) -> &'static str {
        NAME
    }
    fn summary(&self) -> &'static str {
        "Remove installs of packages the project already declares or the stage already installed (pip/uv, npm -g, apt)"
    }
    fn explanation(&self) -> &'static str {
        include_str!("../EXPLAIN.md")
    }
    fn applicability(&self) -> Applicability {
        Applicability::Unsafe
    }
    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }
    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        let ignored: Vec<String> = cx
            .options
            .get(NAME, "ignore-packages")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str()).flat_map(|s| [s.to_string(), normalize_name(s)]).collect())
            .unwrap_or_default();
        let mut out = Vec::new();
        for stage in cx.doc.stages() {
            let states = stage_states(cx.doc, &stage);
            let mut w = Walk::new(cx, &ignored);
            for (k, idx) in stage.body.clone().enumerate() {
                let Some(state) = states.get(k) else { continue };
                w.instruction(idx, state);
            }
            w.finish(&stage.body);
            out.append(&mut w.out);
        }
        out
    }
}

/// A file or directory of the build context copied into the image.
struct Copied {
    image: Workdir,
    ctx: String,
    dir: bool,
}

/// A Python package in an environment, and who put it there.
#[derive(Clone)]
struct PyPkg {
    env: String,
    decl: Declared,
    /// The instruction that installed it.
    idx: usize,
    /// The command, for messages (`pip install .` at line 6).
    by: String,
}

/// A package an apt install put in the stage.
struct AptPkg {
    version: String,
    line: usize,
}

/// `npm install -g …` and friends, judged at the end of the stage.
struct Global {
    idx: usize,
    cmd_index: usize,
    /// (word index in the command, package name, version spec).
    pkgs: Vec<(usize, String, String)>,
    /// Words that are install targets (every package word).
    targets: usize,
}

/// A project install of npm/yarn/pnpm/bun: what it installs.
struct NodeProject {
    decls: Vec<Declared>,
    label: String,
    line: usize,
}

struct Walk<'a> {
    cx: &'a Context<'a>,
    doc: &'a Document,
    ignored: &'a [String],
    copies: Vec<Copied>,
    venvs: Vec<String>,
    py: Vec<PyPkg>,
    apt: BTreeMap<String, AptPkg>,
    globals: Vec<Global>,
    node: Vec<NodeProject>,
    out: Vec<Finding>,
}

const PIP_VALUE_FLAGS: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-i",
    "--index-url",
    "--extra-index-url",
    "--index",
    "--default-index",
    "-f",
    "--find-links",
    "--trusted-host",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--python",
    "-p",
    "--platform",
    "--python-version",
    "--python-platform",
    "--implementation",
    "--abi",
    "--only-binary",
    "--no-binary",
    "--cache-dir",
    "--src",
    "--progress-bar",
    "--log",
    "--timeout",
    "--retries",
    "--upgrade-strategy",
    "--config-settings",
    "-C",
    "--global-option",
    "--report",
    "--index-strategy",
    "--keyring-provider",
    "--resolution",
    "--prerelease",
    "--exclude-newer",
    "--link-mode",
    "--override",
    "--build-constraint",
    "--extra",
    "--group",
];

/// What one pip (or `uv pip`) install names.
#[derive(Default)]
struct PipInstall {
    /// `-r` files, as written.
    reqfiles: Vec<String>,
    /// Local project directories with their extras.
    projects: Vec<(String, Vec<String>)>,
    /// Package arguments: (word index, requirement).
    packages: Vec<(usize, Requirement)>,
    /// Every install target (packages, files, directories, URLs).
    targets: usize,
    /// Flags that choose another environment.
    env_flags: Vec<String>,
    upgrade: bool,
    uv: bool,
    /// The interpreter directory given by the program's path.
    bin: Option<String>,
}

fn is_python(p: &str) -> bool {
    p == "python" || p == "python3" || p.strip_prefix("python3.").is_some_and(|v| v.chars().all(|c| c.is_ascii_digit()))
}

fn is_pip(p: &str) -> bool {
    p == "pip" || p == "pip3" || p.strip_prefix("pip3.").is_some_and(|v| v.chars().all(|c| c.is_ascii_digit()))
}

fn parent_dir(path: &str) -> Option<String> {
    path.rsplit_once('/').map(|(d, _)| if d.is_empty() { "/".to_string() } else { d.to_string() })
}

fn pip_install(cmd: &Cmd) -> Option<PipInstall> {
    let w: Vec<&str> = cmd.words.iter().map(|w| w.value.as_str()).collect();
    let prog = cmd.program()?;
    let mut p = PipInstall::default();
    let mut i = if is_pip(prog) {
        p.bin = w[0].contains('/').then(|| parent_dir(w[0])).flatten();
        1
    } else if is_python(prog) && w.get(1) == Some(&"-m") && w.get(2).is_some_and(|m| is_pip(m)) {
        p.bin = w[0].contains('/').then(|| parent_dir(w[0])).flatten();
        3
    } else if prog == "uv" && w.get(1) == Some(&"pip") {
        p.uv = true;
        2
    } else {
        return None;
    };
    while w.get(i).is_some_and(|x| x.starts_with('-')) {
        i += 1;
    }
    if w.get(i) != Some(&"install") {
        return None;
    }
    i += 1;
    while i < w.len() {
        let a = w[i];
        let (flag, attached) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (a, None),
        };
        if flag.starts_with('-') {
            let takes = PIP_VALUE_FLAGS.contains(&flag);
            let value = if takes && attached.is_none() {
                i += 1;
                w.get(i).copied()
            } else {
                attached
            };
            match flag {
                "-r" | "--requirement" => {
                    p.targets += 1;
                    p.reqfiles.extend(value.map(str::to_string));
                }
                "-e" | "--editable" => {
                    p.targets += 1;
                    if let Some(v) = value.filter(|v| is_local(v)) {
                        p.projects.push(split_extras(v));
                    }
                }
                "-t" | "--target" | "--prefix" | "--root" | "--python" | "-p" => {
                    p.env_flags.push(format!("{flag}={}", value.unwrap_or("")));
                }
                "--user" | "--system" => p.env_flags.push(flag.to_string()),
                "-U" | "--upgrade" => p.upgrade = true,
                _ if flag.starts_with("-r") && !flag.starts_with("--") && flag.len() > 2 => {
                    p.targets += 1;
                    p.reqfiles.push(flag[2..].to_string());
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        p.targets += 1;
        if is_local(a) {
            if !a.ends_with(".whl") && !a.ends_with(".tar.gz") && !a.ends_with(".zip") {
                p.projects.push(split_extras(a));
            }
        } else if !cmd.words[i].dynamic && !a.contains("://") {
            if let Some(r) = Requirement::parse(a) {
                if r.url.is_none() && r.marker.is_none() {
                    p.packages.push((i, r));
                }
            }
        }
        i += 1;
    }
    Some(p)
}

fn is_local(a: &str) -> bool {
    a == "." || a.starts_with("./") || a.starts_with('/') || a.starts_with("../") || a.starts_with(".[")
}

/// `.[dev,test]` → (`.`, [dev, test]).
fn split_extras(a: &str) -> (String, Vec<String>) {
    match a.split_once('[') {
        Some((d, rest)) => {
            let extras = rest.trim_end_matches(']').split(',').map(normalize_name).filter(|e| !e.is_empty()).collect();
            (d.to_string(), extras)
        }
        None => (a.to_string(), Vec::new()),
    }
}

/// Normalized specifier clauses, sorted.
fn spec_key(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
    v.sort();
    v
}

/// Commands that only look after apt's lists and cache.
fn housekeeping(c: &Cmd) -> bool {
    let w: Vec<&str> = c.words.iter().map(|w| w.value.as_str()).collect();
    match c.program() {
        Some("apt-get" | "apt") => w
            .iter()
            .skip(1)
            .find(|x| !x.starts_with('-'))
            .is_some_and(|v| matches!(*v, "update" | "clean" | "autoclean" | "autoremove")),
        Some("rm") => {
            w.iter().skip(1).filter(|x| !x.starts_with('-')).all(|x| {
                x.starts_with("/var/lib/apt/lists") || x.starts_with("/var/cache/apt") || x.starts_with("/tmp/")
            })
        }
        Some("set" | "true" | ":") => true,
        _ => false,
    }
}

fn line_of(doc: &Document, byte: usize) -> usize {
    doc.line_of(byte)
}

fn env_is_production(cmd: &Cmd, state: &State) -> bool {
    cmd.assigns.iter().any(|a| a.value == "NODE_ENV=production") || state.var("NODE_ENV") == Some("production")
}

impl<'a> Walk<'a> {
    fn new(cx: &'a Context<'a>, ignored: &'a [String]) -> Walk<'a> {
        Walk {
            cx,
            doc: cx.doc,
            ignored,
            copies: Vec::new(),
            venvs: Vec::new(),
            py: Vec::new(),
            apt: BTreeMap::new(),
            globals: Vec::new(),
            node: Vec::new(),
            out: Vec::new(),
        }
    }

    fn instruction(&mut self, idx: usize, state: &State) {
        let ins = &self.doc.instructions[idx];
        match ins.kind {
            Kind::Copy | Kind::Add => self.copy(idx, state),
            Kind::Run => {
                let Ok(script) = Script::new(self.doc, ins, state) else { return };
                let binds = self.bind_mounts(idx, state);
                let n = binds.len();
                self.copies.extend(binds);
                for i in 0..script.cmds.len() {
                    self.command(&script, idx, i, state);
                }
                self.copies.truncate(self.copies.len() - n);
            }
            _ => {}
        }
    }

    fn copy(&mut self, idx: usize, state: &State) {
        let ins = &self.doc.instructions[idx];
        if ins.flag("from").is_some() || !ins.heredocs.is_empty() {
            return;
        }
        let vals = ins.arg_values();
        let Some((dest, srcs)) = vals.split_last() else { return };
        let Some(dest_x) = state.expand(dest) else { return };
        let dest_w = state.workdir.join(&dest_x);
        let into_dir = dest_x.ends_with('/') || dest_x == "." || srcs.len() > 1;
        for s in srcs {
            if s.contains("://") {
                continue;
            }
            let rel = s.trim_start_matches("./").trim_end_matches('/');
            let rel = if rel == "." { "" } else { rel };
            if rel.contains(['*', '?', '[']) {
                // A glob copies matching files into the directory.
                let parent = rel.rsplit_once('/').map_or("", |(d, _)| d);
                self.copies.push(Copied { image: dest_w.clone(), ctx: parent.to_string(), dir: true });
            } else if rel.is_empty() || self.cx.context_has_dir(rel) {
                self.copies.push(Copied { image: dest_w.clone(), ctx: rel.to_string(), dir: true });
            } else if into_dir {
                let base = rel.rsplit('/').next().unwrap_or(rel);
                self.copies.push(Copied { image: dest_w.join(base), ctx: rel.to_string(), dir: false });
            } else {
                self.copies.push(Copied { image: dest_w.clone(), ctx: rel.to_string(), dir: false });
            }
        }
    }

    /// `--mount=type=bind,source=…,target=…` of the context.
    fn bind_mounts(&self, idx: usize, state: &State) -> Vec<Copied> {
        let ins = &self.doc.instructions[idx];
        let mut out = Vec::new();
        for f in ins.flags_named("mount") {
            let Some(v) = f.value() else { continue };
            let kv: BTreeMap<&str, &str> = v.split(',').filter_map(|p| p.split_once('=')).collect();
            let bind = kv.get("type").is_some_and(|t| *t == "bind") || !v.contains("type=");
            if !bind || kv.contains_key("from") {
                continue;
            }
            let Some(target) = kv.get("target").or(kv.get("dst")).or(kv.get("destination")) else { continue };
            let src = kv.get("source").or(kv.get("src")).copied().unwrap_or(".");
            let rel = src.trim_start_matches("./").trim_end_matches('/');
            let rel = if rel == "." { "" } else { rel };
            let dir = rel.is_empty() || self.cx.context_has_dir(rel);
            out.push(Copied { image: state.workdir.join(target), ctx: rel.to_string(), dir });
        }
        out
    }

    /// The context file copied to an image path, if dockfix can tell.
    fn to_context(&self, p: &Workdir) -> Option<String> {
        for c in self.copies.iter().rev() {
            if c.dir {
                if let Some(rel) = p.relative_to(&c.image) {
                    let joined = match (c.ctx.as_str(), rel.as_str()) {
                        ("", r) => r.to_string(),
                        (c, "") => c.to_string(),
                        (c, r) => format!("{c}/{r}"),
                    };
                    return Some(joined);
                }
            } else if &c.image == p {
                return Some(c.ctx.clone());
            }
        }
        None
    }

    fn is_ignored(&self, name: &str) -> bool {
        self.ignored.iter().any(|i| i == name)
    }

    /// The Python environment a pip command installs into.
    fn env_of(&self, p: &PipInstall, cmd: &Cmd, state: &State) -> String {
        let mut key = if let Some(bin) = &p.bin {
            format!("bin:{bin}")
        } else if p.uv && !p.env_flags.iter().any(|f| f == "--system") {
            match cmd.assigns.iter().find_map(|a| a.value.strip_prefix("VIRTUAL_ENV=")).or(state.var("VIRTUAL_ENV")) {
                Some(v) => format!("bin:{}/bin", v.trim_end_matches('/')),
                None => match cmd.cwd.join(".venv") {
                    Workdir::Abs(d) => format!("bin:{d}/bin"),
                    _ => "uv:unknown".into(),
                },
            }
        } else {
            // Through PATH: the first venv on it, else the system's.
            let path = state.var("PATH").unwrap_or("");
            path.split(':')
                .find_map(|d| {
                    let root = d.strip_suffix("/bin")?;
                    self.venvs.iter().any(|v| v == root).then(|| format!("bin:{d}"))
                })
                .unwrap_or_else(|| "system".into())
        };
        let mut flags: Vec<&str> = p.env_flags.iter().map(String::as_str).filter(|f| *f != "--system").collect();
        flags.sort();
        for f in flags {
            key.push(' ');
            key.push_str(f);
        }
        key
    }

    fn command(&mut self, script: &Script<'_>, idx: usize, i: usize, state: &State) {
        let cmd = &script.cmds[i];
        let w: Vec<&str> = cmd.words.iter().map(|w| w.value.as_str()).collect();
        match cmd.program() {
            // Virtual environments, to tell which pip is which.
            Some(p) if is_python(p) && w.get(1) == Some(&"-m") && w.get(2).is_some_and(|m| *m == "venv") => {
                if let Some(d) = w.iter().skip(3).rev().find(|x| !x.starts_with('-')) {
                    if let Workdir::Abs(a) = cmd.cwd.join(d) {
                        self.venvs.push(a);
                    }
                }
            }
            Some("uv") if w.get(1) == Some(&"pip") => self.pip(script, idx, i, state),
            Some(p @ ("uv" | "virtualenv")) if p == "virtualenv" || w.get(1) == Some(&"venv") => {
                let start = if p == "uv" { 2 } else { 1 };
                let d = w.iter().skip(start).find(|x| !x.starts_with('-')).copied().unwrap_or(".venv");
                if let Workdir::Abs(a) = cmd.cwd.join(d) {
                    self.venvs.push(a);
                }
            }
            Some(p) if is_pip(p) || is_python(p) => self.pip(script, idx, i, state),
            Some("apt-get" | "apt") => self.apt(script, idx, i),
            Some("npm" | "yarn" | "pnpm" | "bun") => self.node(script, idx, i, state),
            _ => {}
        }
    }

    fn pip(&mut self, script: &Script<'_>, idx: usize, i: usize, state: &State) {
        let cmd = &script.cmds[i];
        let Some(p) = pip_install(cmd) else { return };
        let env = self.env_of(&p, cmd, state);
        let line = line_of(self.doc, script.src(&cmd.span).start);
        let by = format!("`{}` at line {line}", cmd.label());
        // What this command's manifests declare, installed with its packages.
        let mut declared: Vec<Declared> = Vec::new();
        for f in &p.reqfiles {
            let Some(x) = state.expand(f) else { continue };
            let Some(ctx) = self.to_context(&cmd.cwd.join(&x)) else { continue };
            self.read_requirements(&ctx, &mut declared, 0);
        }
        for (dir, extras) in &p.projects {
            let Some(x) = state.expand(dir) else { continue };
            let Some(path) = self.to_context(&cmd.cwd.join(&x).join("pyproject.toml")) else { continue };
            if let Some(text) = self.cx.read_context(&path) {
                declared.extend(manifest::pyproject(&text, &path, extras).unwrap_or_default());
            }
        }
        let before: Vec<PyPkg> = self.py.iter().filter(|k| k.env == env).cloned().collect();
        let mut redundant: Vec<(usize, &Requirement, Declared, String)> = Vec::new();
        let mut reports: Vec<Finding> = Vec::new();
        let mut seen_here: Vec<Declared> = Vec::new();
        for (wi, r) in &p.packages {
            if self.is_ignored(&r.name) {
                continue;
            }
            let earlier = before
                .iter()
                .map(|k| (k.decl.clone(), k.by.clone()))
                .chain(declared.iter().map(|d| (d.clone(), "this same command".to_string())))
                .chain(seen_here.iter().map(|d| (d.clone(), "this same command".to_string())))
                .find(|(d, _)| d.name == r.name);
            seen_here.push(Declared {
                name: r.name.clone(),
                extras: r.extras.clone(),
                spec: r.specifier.clone(),
                at: format!("Dockerfile:{line}"),
                dev: false,
            });
            let Some((d, d_by)) = earlier else { continue };
            if !r.extras.iter().all(|e| d.extras.contains(e)) {
                continue;
            }
            let same = spec_key(&r.specifier) == spec_key(&d.spec) && (!p.upgrade || d.spec.is_empty());
            let word = &cmd.words[*wi];
            let range = script.src(&word.span);
            if r.specifier.is_empty() && !p.upgrade || same {
                redundant.push((*wi, r, d, d_by));
            } else if !r.specifier.is_empty() || p.upgrade {
                reports.push(self.py_conflict(range, word, r, &d, p.upgrade));
            }
        }
        self.out.append(&mut reports);
        if !redundant.is_empty() {
            let words: Vec<&Word> = redundant.iter().map(|(wi, ..)| &cmd.words[*wi]).collect();
            let names: Vec<String> = redundant.iter().map(|(_, r, ..)| format!("`{}`", r.name)).collect();
            let wheres: Vec<String> = redundant
                .iter()
                .map(|(_, r, d, by)| {
                    if d.at.starts_with("Dockerfile:") {
                        format!("`{}` was installed by {by}", r.name)
                    } else {
                        format!("{} declares `{}` (installed by {by})", d.at, r.name)
                    }
                })
                .collect();
            let all = words.len() == p.targets;
            let fix = self.removal(script, idx, i, &words, all);
            let range = script.src(&words[0].span);
            let message = format!(
                "{} {} installed again: {}",
                names.join(", "),
                if names.len() == 1 { "is" } else { "are" },
                wheres.join("; ")
            );
            let why = "pip finds the requirement already satisfied and installs nothing: the explicit install only \
                       repeats the manifest, and the day the two disagree (a version moves in the manifest, not \
                       here) the image gets whichever ran last. The manifest is the one place that should say \
                       which packages the image has.";
            let fix = match fix {
                Some((edits, whole)) => Fix::unsafe_(
                    if whole {
                        "Remove this install (the image then has the package only while the manifest declares it)"
                            .to_string()
                    } else {
                        format!(
                            "Remove {} from this install (the image then has it only while the manifest declares it)",
                            names.join(", ")
                        )
                    },
                    edits,
                ),
                None => Fix::display_only("Remove it by hand (dockfix does not edit a command inside shell control flow or next to a comment line)"),
            };
            self.out.push(
                Finding::new(NAME, range, message)
                    .why(why)
                    .gain("One install less to keep in sync with the manifest; pip no longer resolves the package a second time.")
                    .fix(fix),
            );
        }
        for d in declared.into_iter().chain(seen_here) {
            self.py.push(PyPkg { env: env.clone(), decl: d, idx, by: by.clone() });
        }
    }

    fn py_conflict(
        &self,
        range: std::ops::Range<usize>,
        word: &Word,
        r: &Requirement,
        d: &Declared,
        upgrade: bool,
    ) -> Finding {
        let conflict = r.pinned().and_then(|v| satisfies(v, &d.spec)) == Some(false);
        let declared = if d.spec.is_empty() { "any version".to_string() } else { format!("`{}`", d.spec) };
        let message = if conflict {
            format!("`{}` conflicts with {}, which declares {declared}", word.value, d.at)
        } else if upgrade && r.specifier.is_empty() {
            format!("`{}` is upgraded here past what {} resolved ({declared})", r.name, d.at)
        } else {
            format!("`{}` pins a version {} leaves open ({declared}): it replaces what pip resolved", word.value, d.at)
        };
        Finding::new(NAME, range, message)
            .why(
                "The package is installed twice with different version requirements: the later install replaces \
                 what the manifest chose, so the image does not run the versions the project declares (and `pip \
                 check` may fail). Removing the explicit install would change the installed version, so dockfix \
                 removes nothing.",
            )
            .fix(Fix::display_only(format!(
                "Put the version you want in {} and drop the explicit install",
                d.at.split(':').next().unwrap_or(&d.at)
            )))
    }

    fn read_requirements(&self, path: &str, out: &mut Vec<Declared>, depth: usize) {
        let Some(text) = self.cx.read_context(path) else { return };
        if path.ends_with("pyproject.toml") {
            out.extend(manifest::pyproject(&text, path, &[]).unwrap_or_default());
            return;
        }
        let (decls, includes) = manifest::requirements(&text, path);
        out.extend(decls);
        if depth < 8 {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            for inc in includes {
                let p = if dir.is_empty() { inc } else { format!("{dir}/{inc}") };
                self.read_requirements(&p, out, depth + 1);
            }
        }
    }

    /// Edits that remove `words` from command `i`, or the whole command when
    /// `all` (the whole RUN when nothing but apt housekeeping would be
    /// left). `(edits, whole command)`.
    fn removal(
        &self,
        script: &Script<'_>,
        idx: usize,
        i: usize,
        words: &[&Word],
        all: bool,
    ) -> Option<(Vec<Edit>, bool)> {
        if !all {
            let edits: Option<Vec<Edit>> = words.iter().map(|w| script.remove_word(w)).collect();
            return edits.map(|e| (e, false));
        }
        let others_idle = script.cmds.iter().enumerate().all(|(k, c)| k == i || housekeeping(c));
        if others_idle {
            return Some((vec![layout::delete_lines(self.doc, layout::block(self.doc, idx))], true));
        }
        script.remove_cmds(&[i]).map(|e| (e, true))
    }

    fn apt(&mut self, script: &Script<'_>, idx: usize, i: usize) {
        let cmd = &script.cmds[i];
        let w: Vec<&str> = cmd.words.iter().map(|w| w.value.as_str()).collect();
        let mut k = 1;
        while k < w.len() && w[k].starts_with('-') {
            if matches!(w[k], "-o" | "-t" | "-c" | "--target-release") {
                k += 1;
            }
            k += 1;
        }
        let verb = w.get(k).copied().unwrap_or("");
        let mut pkgs: Vec<usize> = Vec::new();
        let mut j = k + 1;
        while j < w.len() {
            if w[j].starts_with('-') {
                if matches!(w[j], "-o" | "-t" | "-c" | "--target-release") {
                    j += 1;
                }
            } else {
                pkgs.push(j);
            }
            j += 1;
        }
        match verb {
            "remove" | "purge" => {
                if pkgs.iter().any(|&j| cmd.words[j].dynamic) {
                    self.apt.clear();
                }
                for &j in &pkgs {
                    let n = w[j].trim_end_matches(['+', '-']);
                    self.apt.remove(n);
                }
            }
            "install" => {
                let line = line_of(self.doc, script.src(&cmd.span).start);
                let mut redundant: Vec<(usize, usize)> = Vec::new();
                for &j in &pkgs {
                    if cmd.words[j].dynamic {
                        continue;
                    }
                    let (name, version) = match w[j].split_once('=') {
                        Some((n, v)) => (n, v.to_string()),
                        None => match w[j].split_once('/') {
                            Some((n, rel)) => (n, format!("/{rel}")),
                            None => (w[j], String::new()),
                        },
                    };
                    if self.is_ignored(name) {
                        continue;
                    }
                    match self.apt.get(name) {
                        Some(prev) if prev.version == version || version.is_empty() => {
                            redundant.push((j, prev.line));
                        }
                        Some(prev) => {
                            let was = if prev.version.is_empty() {
                                "no version".to_string()
                            } else {
                                format!("`{}`", prev.version)
                            };
                            self.out.push(
                                Finding::new(NAME, script.src(&cmd.words[j].span), format!(
                                    "`{}` is installed again with another version than at line {} ({was})",
                                    w[j], prev.line
                                ))
                                .why("apt replaces the package installed earlier in this stage with this version: two places say which version the image has, and the later one wins. Removing one would change the installed version, so dockfix removes nothing.")
                                .fix(Fix::display_only("Install the package once, with the version you want")),
                            );
                            self.apt.insert(name.to_string(), AptPkg { version, line });
                        }
                        None => {
                            self.apt.insert(name.to_string(), AptPkg { version, line });
                        }
                    }
                }
                if redundant.is_empty() {
                    return;
                }
                let words: Vec<&Word> = redundant.iter().map(|(j, _)| &cmd.words[*j]).collect();
                let names: Vec<String> = words.iter().map(|w| format!("`{}`", w.value)).collect();
                let lines: Vec<String> = redundant
                    .iter()
                    .map(|(_, l)| {
                        if *l == line {
                            "earlier in the same command".to_string()
                        } else {
                            format!("by `apt-get install` at line {l}")
                        }
                    })
                    .collect();
                let mut uniq = lines.clone();
                uniq.dedup();
                let all = words.len() == pkgs.len();
                let fix = match self.removal(script, idx, i, &words, all) {
                    Some((edits, whole)) => Fix::unsafe_(
                        if whole {
                            "Remove this install: everything it names is installed already".to_string()
                        } else {
                            format!("Remove {} from this install", names.join(", "))
                        },
                        edits,
                    ),
                    None => Fix::display_only("Remove it by hand (dockfix cannot edit this command safely)"),
                };
                self.out.push(
                    Finding::new(
                        NAME,
                        script.src(&words[0].span),
                        format!(
                            "{} {} installed a second time in this stage (already {})",
                            names.join(", "),
                            if names.len() == 1 { "is" } else { "are" },
                            uniq.join(", ")
                        ),
                    )
                    .why("apt finds the package installed and does nothing; the second mention only makes the list of system packages harder to read and to keep in one place. Unsafe because a later edit that removes the first install would then drop the package.")
                    .gain(if all { "One install step less (when it was the whole RUN, one layer less)." } else { "A shorter, single list of system packages." })
                    .fix(fix),
                );
            }
            _ => {}
        }
    }

    fn node(&mut self, script: &Script<'_>, idx: usize, i: usize, state: &State) {
        let cmd = &script.cmds[i];
        let w: Vec<&str> = cmd.words.iter().map(|w| w.value.as_str()).collect();
        let prog = cmd.program().unwrap_or("");
        let args: Vec<(usize, &str)> = w.iter().copied().enumerate().skip(1).collect();
        let positional: Vec<(usize, &str)> = args.iter().copied().filter(|(_, a)| !a.starts_with('-')).collect();
        let global = args.iter().any(|(_, a)| *a == "-g" || *a == "--global")
            || (prog == "yarn" && positional.first().is_some_and(|(_, v)| *v == "global"));
        let verb = positional.first().map(|(_, v)| *v).unwrap_or("");
        let line = line_of(self.doc, script.src(&cmd.span).start);
        if global {
            let skip = if prog == "yarn" { 2 } else { 1 };
            let installs = match prog {
                "yarn" => positional.get(1).is_some_and(|(_, v)| *v == "add"),
                _ => matches!(verb, "install" | "i" | "add"),
            };
            if !installs {
                return;
            }
            let pkgs: Vec<(usize, String, String)> = positional
                .iter()
                .skip(skip)
                .filter(|(k, _)| !cmd.words[*k].dynamic)
                .map(|(k, v)| {
                    let (n, s) = match v.rfind('@') {
                        Some(p) if p > 0 => (&v[..p], &v[p + 1..]),
                        _ => (*v, ""),
                    };
                    (*k, n.to_string(), s.to_string())
                })
                .collect();
            let targets = positional.len().saturating_sub(skip);
            self.globals.push(Global { idx, cmd_index: i, pkgs, targets });
            return;
        }
        let project = match prog {
            "npm" => verb == "ci" || (matches!(verb, "install" | "i") && positional.len() == 1),
            "yarn" => verb.is_empty() || (verb == "install" && positional.len() == 1),
            "pnpm" | "bun" => matches!(verb, "install" | "i") && positional.len() == 1,
            _ => false,
        };
        if !project {
            return;
        }
        let omit_dev = args.iter().any(|(_, a)| {
            matches!(*a, "--omit=dev" | "--production" | "--prod" | "-P" | "--only=prod" | "--only=production")
        }) || env_is_production(cmd, state);
        let Some(ctx) = self.to_context(&cmd.cwd.join("package.json")) else { return };
        let Some(text) = self.cx.read_context(&ctx) else { return };
        let Some(decls) = manifest::package_json(&text, &ctx) else { return };
        let decls = decls.into_iter().filter(|d| !(omit_dev && d.dev)).collect();
        self.node.push(NodeProject { decls, label: cmd.label(), line });
    }

    /// Judges the global installs against the stage's project installs.
    fn finish(&mut self, body: &std::ops::Range<usize>) {
        let globals = std::mem::take(&mut self.globals);
        for g in &globals {
            let ins = &self.doc.instructions[g.idx];
            let mut redundant: Vec<(usize, String, String)> = Vec::new();
            for (k, name, spec) in &g.pkgs {
                if self.is_ignored(name) {
                    continue;
                }
                let Some((d, p)) =
                    self.node.iter().find_map(|p| p.decls.iter().find(|d| &d.name == name).map(|d| (d, p)))
                else {
                    continue;
                };
                let range = self.word_range(g, *k);
                if !spec.is_empty() && spec != &d.spec && spec != "latest" {
                    self.out.push(
                        Finding::new(NAME, range, format!(
                            "`{name}@{spec}` is installed globally while {} declares `{name}` `{}`",
                            d.at, d.spec
                        ))
                        .why("Two versions of the package end up in the image (the global one on PATH, the project's in node_modules), and which one a command runs depends on how it is called. Removing the global install would change the version that runs, so dockfix removes nothing.")
                        .fix(Fix::display_only("Keep one version: the project's (`npx`, npm scripts), or drop it from package.json")),
                    );
                    continue;
                }
                redundant.push((*k, d.at.clone(), format!("`{}` at line {}", p.label, p.line)));
            }
            if redundant.is_empty() {
                continue;
            }
            let names: Vec<String> = redundant.iter().map(|(k, ..)| self.pkg_name(g, *k)).collect();
            // A command of the package run directly needs the global install
            // (node_modules/.bin is on PATH only inside npm scripts and npx).
            let called = self.called_directly(body, g, &names);
            let range = self.word_range(g, redundant[0].0);
            let mut installs: Vec<String> = redundant.iter().map(|(_, _, by)| by.clone()).collect();
            installs.dedup();
            let message = format!(
                "{} {} installed globally although package.json declares {} ({}) and {} installs {}",
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                if names.len() == 1 { "is" } else { "are" },
                if names.len() == 1 { "it" } else { "them" },
                redundant.iter().map(|(_, at, _)| at.clone()).collect::<Vec<_>>().join(", "),
                installs.join(" and "),
                if names.len() == 1 { "it" } else { "them" },
            );
            let why = "The global copy is a second download and a second version to keep in step with package.json; the project's own copy in node_modules is what `npx` and npm scripts run.";
            let fix = if let Some(c) = called {
                Fix::display_only(format!(
                    "Run `{c}` through `npx {c}` or an npm script, then remove the global install (`{c}` is called directly here, and node_modules/.bin is not on PATH)"
                ))
            } else {
                let st = State { workdir: Workdir::Unknown, user: None, env: BTreeMap::new(), args: BTreeMap::new() };
                let edits = Script::new(self.doc, ins, &st).ok().and_then(|s| {
                    let cmd = s.cmds.get(g.cmd_index)?;
                    let words: Vec<&Word> = redundant.iter().filter_map(|(k, ..)| cmd.words.get(*k)).collect();
                    self.removal(&s, g.idx, g.cmd_index, &words, words.len() == g.targets).map(|(e, _)| e)
                });
                match edits {
                    Some(e) => Fix::unsafe_(
                        format!(
                            "Remove the global install of {} (a command that expects it on PATH must then go through `npx`)",
                            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                        ),
                        e,
                    ),
                    None => Fix::display_only("Remove it by hand (dockfix cannot edit this command safely)"),
                }
            };
            self.out.push(
                Finding::new(NAME, range, message)
                    .why(why)
                    .gain("One download and one global package less in the image; one version of the tool.")
                    .fix(fix),
            );
        }
        self.alternatives();
    }

    fn pkg_name(&self, g: &Global, k: usize) -> String {
        g.pkgs.iter().find(|(w, ..)| *w == k).map(|(_, n, _)| n.clone()).unwrap_or_default()
    }

    fn word_range(&self, g: &Global, k: usize) -> std::ops::Range<usize> {
        let ins = &self.doc.instructions[g.idx];
        let st = State { workdir: Workdir::Unknown, user: None, env: BTreeMap::new(), args: BTreeMap::new() };
        Script::new(self.doc, ins, &st)
            .ok()
            .and_then(|s| s.cmds.get(g.cmd_index).and_then(|c| c.words.get(k)).map(|w| s.src(&w.span)))
            .unwrap_or_else(|| ins.span.clone())
    }

    /// A command of one of `names` run directly after the global install,
    /// in this stage's RUNs or the image's CMD/ENTRYPOINT.
    fn called_directly(&self, body: &std::ops::Range<usize>, g: &Global, names: &[String]) -> Option<String> {
        let mut bins: Vec<String> = Vec::new();
        for n in names {
            let known = knowledge::npm_binaries(n);
            if known.is_empty() {
                bins.push(n.rsplit('/').next().unwrap_or(n).to_string());
            } else {
                bins.extend(known.iter().map(|b| b.to_string()));
            }
        }
        let st = State { workdir: Workdir::Unknown, user: None, env: BTreeMap::new(), args: BTreeMap::new() };
        for idx in body.clone() {
            let ins = &self.doc.instructions[idx];
            let words: Vec<String> = match ins.kind {
                Kind::Run if idx > g.idx => match Script::new(self.doc, ins, &st) {
                    Ok(s) => s.cmds.iter().filter_map(|c| c.program().map(str::to_string)).collect(),
                    Err(_) => Vec::new(),
                },
                Kind::Run if idx == g.idx => match Script::new(self.doc, ins, &st) {
                    Ok(s) => {
                        s.cmds.iter().skip(g.cmd_index + 1).filter_map(|c| c.program().map(str::to_string)).collect()
                    }
                    Err(_) => Vec::new(),
                },
                Kind::Cmd | Kind::Entrypoint | Kind::Healthcheck => {
                    ins.args.iter().map(|a| a.value.rsplit('/').next().unwrap_or(&a.value).to_string()).collect()
                }
                _ => Vec::new(),
            };
            if let Some(b) = words.iter().find(|w| bins.contains(w)) {
                return Some(b.clone());
            }
        }
        None
    }

    /// Two distributions of one import package in one environment.
    fn alternatives(&mut self) {
        let mut groups: BTreeMap<(String, &'static str), Vec<PyPkg>> = BTreeMap::new();
        for p in &self.py {
            if let Some((import, _)) = knowledge::python_alternatives(&p.decl.name) {
                let v = groups.entry((p.env.clone(), import)).or_default();
                if !v.iter().any(|x| x.decl.name == p.decl.name) {
                    v.push(p.clone());
                }
            }
        }
        let sizes = self.lock_sizes();
        for ((_, import), pkgs) in groups {
            if pkgs.len() < 2 || pkgs.iter().any(|p| self.is_ignored(&p.decl.name)) {
                continue;
            }
            let last = pkgs.iter().max_by_key(|p| p.idx).map_or(0, |p| p.idx);
            let ins = &self.doc.instructions[last];
            let list: Vec<String> = pkgs
                .iter()
                .map(|p| {
                    let size = sizes.get(&p.decl.name).map(|s| format!(", {}", mb(*s))).unwrap_or_default();
                    format!("`{}` ({}{size})", p.decl.name, p.decl.at)
                })
                .collect();
            let sized = pkgs.iter().all(|p| sizes.contains_key(&p.decl.name));
            let why = format!(
                "They are builds of one package and write the same `{import}` files: the one installed last wins, and the image downloads both.{} Which one the code needs (a GUI build or headless, a compiled driver or the binary wheel, GPU or CPU) only you can say.",
                if sized { " Sizes are the largest Linux x86_64 wheel of each in uv.lock." } else { "" }
            );
            self.out.push(
                Finding::new(
                    NAME,
                    ins.span.clone(),
                    format!("{} both provide `{import}` in one environment", list.join(" and ")),
                )
                .why(why)
                .fix(Fix::display_only("Keep one of them in the manifest")),
            );
        }
    }

    /// Wheel sizes from `uv.lock` at the context root: the largest
    /// manylinux/musllinux x86_64 wheel of each package, in bytes.
    fn lock_sizes(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let Some(text) = self.cx.read_context("uv.lock") else { return out };
        let Ok(doc) = text.parse::<toml::Table>() else { return out };
        for p in doc.get("package").and_then(|p| p.as_array()).into_iter().flatten() {
            let Some(name) = p.get("name").and_then(|n| n.as_str()) else { continue };
            let best = p
                .get("wheels")
                .and_then(|w| w.as_array())
                .into_iter()
                .flatten()
                .filter(|w| {
                    w.get("url").and_then(|u| u.as_str()).is_some_and(|u| u.contains("linux") && u.contains("x86_64"))
                })
                .filter_map(|w| w.get("size").and_then(|s| s.as_integer()))
                .max();
            if let Some(b) = best.and_then(|b| u64::try_from(b).ok()) {
                out.insert(normalize_name(name), b);
            }
        }
        out
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}
