//! Pass `python-startup` (off by default): Python bytecode compiled at
//! build time, so a container does not compile what it imports on every
//! start, and prebuilt wheels preferred over a compiler.
//!
//! ```text
//! RUN uv sync --frozen           =>  RUN uv sync --compile-bytecode --frozen
//! COPY . .                       =>  COPY . .
//!                                    RUN python -m compileall -q /app
//! ```

mod script;

use dockfix_core::config::OptionSpec;
use dockfix_core::knowledge::{self, DistroFamily};
use dockfix_core::layout;
use dockfix_core::walk::{stage_states, State, Workdir};
use dockfix_core::{Applicability, Context, Edit, Finding, Fix, Pass};
use dockfix_syntax::{Document, Kind, Stage};

use script::{Cmd, Script};

pub const NAME: &str = "python-startup";

const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "enabled",
        kind: "bool",
        help: "run this pass without naming it in `select` (it is off by default)",
    },
    OptionSpec {
        name: "compile-app",
        kind: "bool",
        help: "also compile the application's sources after they are copied (default true)",
    },
    OptionSpec {
        name: "prefer-binary",
        kind: "bool",
        help: "suggest `--prefer-binary` where a compiler is installed for packages that ship wheels (default true)",
    },
];

const SIZE_COST: &str = "Cost: one .pyc file per module, roughly 10–20% more disk for the installed packages (an estimate; `du -sh` the environment to measure).";

/// The pass.
pub struct PythonStartup;

impl Pass for PythonStartup {
    fn name(&self) -> &'static str {
        NAME
    }
    fn summary(&self) -> &'static str {
        "Compile Python bytecode at build time so containers start without compiling; prefer wheels over a compiler"
    }
    fn explanation(&self) -> &'static str {
        include_str!("../EXPLAIN.md")
    }
    fn applicability(&self) -> Applicability {
        Applicability::Unsafe
    }
    fn default_enabled(&self) -> bool {
        false
    }
    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }
    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        let compile_app = cx.options.get_bool(NAME, "compile-app").unwrap_or(true);
        let prefer_binary = cx.options.get_bool(NAME, "prefer-binary").unwrap_or(true);
        let stages = cx.doc.stages();
        let mut out = Vec::new();
        let mut python_stages: Vec<usize> = Vec::new();
        for (n, stage) in stages.iter().enumerate() {
            let mut s = StageScan::new(cx, stage);
            s.scan();
            if s.python {
                python_stages.push(n);
            }
            s.bytecode(&mut out);
            if prefer_binary {
                s.prefer_binary(&mut out);
            }
            let copies_python = stage.body.clone().any(|i| {
                let ins = &cx.doc.instructions[i];
                ins.kind == Kind::Copy
                    && ins.flag("from").and_then(|f| f.value()).is_some_and(|from| {
                        stages.iter().take(n).any(|p| {
                            python_stages.contains(&p.index)
                                && (p.name.as_deref() == Some(&from.to_ascii_lowercase())
                                    || p.index.to_string() == from)
                        })
                    })
            });
            if compile_app && n + 1 == stages.len() && (s.python || copies_python) {
                s.app(&mut out);
            }
        }
        out
    }
}

/// A Python install in the stage.
enum Install {
    /// `uv sync` / `uv pip install|sync`: the word after which the flag goes.
    Uv { word: usize },
    /// `poetry install` into `path` (None: Poetry's own virtualenv directory).
    Poetry { path: Option<String> },
    /// pip: its packages (normalized names) and `-r` files as written.
    Pip { install_word: usize, packages: Vec<String>, reqfiles: Vec<String>, prefer: bool },
}

struct Site {
    idx: usize,
    cmd: usize,
    install: Install,
    label: String,
}

struct StageScan<'a> {
    cx: &'a Context<'a>,
    doc: &'a Document,
    stage: &'a Stage,
    states: &'a [State],
    python: bool,
    venvs: Vec<String>,
    sites: Vec<Site>,
    /// (instruction, arguments) of `python -m compileall` commands.
    compiles: Vec<(usize, Vec<String>)>,
    /// A toolchain package: (instruction, name).
    compiler: Option<(usize, String)>,
    /// The last COPY of sources: (instruction, destination directory).
    app_copy: Option<(usize, String)>,
}

fn is_python(p: &str) -> bool {
    p == "python" || p == "python3" || p.strip_prefix("python3.").is_some_and(|v| v.chars().all(|c| c.is_ascii_digit()))
}

fn is_pip(p: &str) -> bool {
    p == "pip" || p == "pip3" || p.strip_prefix("pip3.").is_some_and(|v| v.chars().all(|c| c.is_ascii_digit()))
}

const TOOLCHAINS: &[&str] = &["gcc", "g++", "build-essential", "build-base", "clang", "cc"];

fn truthy(v: Option<&str>) -> Option<bool> {
    v.map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// A requirement line's or argument's distribution name, normalized.
fn req_name(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() || s.starts_with(['-', '#', '.', '/']) || s.contains("://") {
        return None;
    }
    let n = s.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(s.len());
    if n == 0 {
        return None;
    }
    let mut out = String::new();
    let mut sep = false;
    for c in s[..n].chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.push(c.to_ascii_lowercase());
    }
    Some(out)
}

impl<'a> StageScan<'a> {
    fn new(cx: &'a Context<'a>, stage: &'a Stage) -> StageScan<'a> {
        let states = stage_states(cx.doc, stage);
        let repo = knowledge::image_repository(&stage.base);
        StageScan {
            cx,
            doc: cx.doc,
            stage,
            states,
            python: repo == "python" || repo.ends_with("/python"),
            venvs: Vec::new(),
            sites: Vec::new(),
            compiles: Vec::new(),
            compiler: None,
            app_copy: None,
        }
    }

    fn state(&self, idx: usize) -> Option<&State> {
        self.states.get(idx - self.stage.body.start)
    }

    fn scan(&mut self) {
        for idx in self.stage.body.clone() {
            let ins = &self.doc.instructions[idx];
            let Some(state) = self.state(idx).cloned() else { continue };
            match ins.kind {
                Kind::Copy if ins.flag("from").is_none() && ins.heredocs.is_empty() => {
                    let vals = ins.arg_values();
                    let Some((dest, srcs)) = vals.split_last() else { continue };
                    let broad = srcs.iter().any(|s| {
                        let r = s.trim_start_matches("./").trim_end_matches('/');
                        r.is_empty() || r == "." || self.cx.context_has_dir(r)
                    });
                    if broad {
                        if let Some(Workdir::Abs(d)) = state.expand(dest).map(|d| state.workdir.join(&d)) {
                            self.app_copy = Some((idx, d));
                        }
                    }
                }
                Kind::Run => {
                    let Ok(script) = Script::new(self.doc, ins, &state) else { continue };
                    for (i, c) in script.cmds.iter().enumerate() {
                        self.command(idx, i, c, &state);
                    }
                }
                _ => {}
            }
        }
    }

    fn command(&mut self, idx: usize, i: usize, c: &Cmd, state: &State) {
        let w: Vec<&str> = c.words.iter().map(|w| w.value.as_str()).collect();
        let Some(prog) = c.program() else { return };
        let var = |name: &str| -> Option<String> {
            c.assigns
                .iter()
                .rev()
                .find_map(|a| a.value.strip_prefix(&format!("{name}=")).map(str::to_string))
                .or_else(|| state.var(name).map(str::to_string))
        };
        if is_python(prog) && w.get(1) == Some(&"-m") {
            self.python = true;
            match w.get(2).copied() {
                Some("compileall") => {
                    self.compiles.push((idx, w[3..].iter().map(|s| s.to_string()).collect()));
                }
                Some("venv") => {
                    if let Some(Workdir::Abs(d)) =
                        w.iter().skip(3).rev().find(|x| !x.starts_with('-')).map(|d| c.cwd.join(d))
                    {
                        self.venvs.push(d);
                    }
                }
                Some(m) if is_pip(m) => self.pip(idx, i, c, 3, &var),
                _ => {}
            }
            return;
        }
        match prog {
            p if is_pip(p) => {
                self.python = true;
                self.pip(idx, i, c, 1, &var);
            }
            "uv" => {
                self.python = true;
                let verb = if w.get(1) == Some(&"pip") { 2 } else { 1 };
                let ok = matches!((verb, w.get(verb).copied()), (1, Some("sync")) | (2, Some("install" | "sync")));
                if w.get(1) == Some(&"venv") {
                    let d = w.iter().skip(2).find(|x| !x.starts_with('-')).copied().unwrap_or(".venv");
                    if let Workdir::Abs(a) = c.cwd.join(d) {
                        self.venvs.push(a);
                    }
                }
                let compiled = w.iter().any(|x| matches!(*x, "--compile-bytecode" | "--compile"))
                    || truthy(var("UV_COMPILE_BYTECODE").as_deref()) == Some(true);
                if ok && !compiled {
                    self.sites.push(Site { idx, cmd: i, install: Install::Uv { word: verb }, label: c.label() });
                }
            }
            "poetry" if w.get(1) == Some(&"install") => {
                self.python = true;
                if w.contains(&"--compile") {
                    return;
                }
                let create = truthy(var("POETRY_VIRTUALENVS_CREATE").as_deref()) != Some(false)
                    && !self.poetry_config_says(idx, "virtualenvs.create", "false");
                let in_project = truthy(var("POETRY_VIRTUALENVS_IN_PROJECT").as_deref()) == Some(true)
                    || self.poetry_config_says(idx, "virtualenvs.in-project", "true");
                let path = if !create {
                    Some(self.site_packages(state))
                } else if in_project {
                    match c.cwd.join(".venv") {
                        Workdir::Abs(d) => Some(d),
                        _ => None,
                    }
                } else {
                    None
                };
                self.sites.push(Site { idx, cmd: i, install: Install::Poetry { path }, label: c.label() });
            }
            "apt-get" | "apt" | "apk" => {
                let family = if prog == "apk" { DistroFamily::Alpine } else { DistroFamily::Debian };
                let verb = w.iter().skip(1).find(|x| !x.starts_with('-')).copied();
                if matches!(verb, Some("install" | "add")) && self.compiler.is_none() {
                    if let Some(p) = w.iter().skip(2).find(|x| {
                        let bare = x.split(['=', '~']).next().unwrap_or(x);
                        TOOLCHAINS.contains(&bare) && knowledge::build_package(family, bare).is_some()
                    }) {
                        self.compiler = Some((idx, p.split(['=', '~']).next().unwrap_or(p).to_string()));
                    }
                }
            }
            _ => {}
        }
    }

    /// `poetry config <key> <value>` earlier in the stage.
    fn poetry_config_says(&self, before: usize, key: &str, value: &str) -> bool {
        self.stage.body.clone().take_while(|i| *i <= before).any(|idx| {
            let ins = &self.doc.instructions[idx];
            ins.kind == Kind::Run && {
                let t = ins.args_text();
                t.contains("poetry config") && t.contains(key) && t.contains(value)
            }
        })
    }

    fn pip(&mut self, idx: usize, i: usize, c: &Cmd, start: usize, var: &dyn Fn(&str) -> Option<String>) {
        let w: Vec<&str> = c.words.iter().map(|w| w.value.as_str()).collect();
        let mut k = start;
        while w.get(k).is_some_and(|x| x.starts_with('-')) {
            k += 1;
        }
        if w.get(k) != Some(&"install") {
            return;
        }
        let install_word = k;
        let mut packages = Vec::new();
        let mut reqfiles = Vec::new();
        let mut prefer = truthy(var("PIP_PREFER_BINARY").as_deref()) == Some(true) || var("PIP_ONLY_BINARY").is_some();
        let mut j = k + 1;
        while j < w.len() {
            let a = w[j];
            match a {
                "-r" | "--requirement" => {
                    j += 1;
                    reqfiles.extend(w.get(j).map(|s| s.to_string()));
                }
                "--prefer-binary" | "--only-binary" => {
                    prefer = true;
                    if a == "--only-binary" {
                        j += 1;
                    }
                }
                _ if a.starts_with("--only-binary=") => prefer = true,
                _ if a.starts_with("--requirement=") => reqfiles.push(a["--requirement=".len()..].to_string()),
                "-c" | "--constraint" | "-i" | "--index-url" | "--extra-index-url" | "-f" | "--find-links" | "-t"
                | "--target" | "--prefix" | "--root" | "-e" | "--editable" | "--no-binary" | "--platform"
                | "--python-version" | "--trusted-host" | "--cache-dir" => j += 1,
                _ if a.starts_with('-') => {}
                _ if !c.words[j].dynamic => packages.extend(req_name(a)),
                _ => {}
            }
            j += 1;
        }
        self.sites.push(Site {
            idx,
            cmd: i,
            install: Install::Pip { install_word, packages, reqfiles, prefer },
            label: c.label(),
        });
    }

    /// The system site-packages of the stage's Python.
    fn site_packages(&self, _state: &State) -> String {
        let tag = knowledge::image_tag(&self.stage.base).unwrap_or("");
        let version: String = tag.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let parts: Vec<&str> = version.split('.').filter(|p| !p.is_empty()).collect();
        if knowledge::image_repository(&self.stage.base) == "python" && parts.len() >= 2 {
            format!("/usr/local/lib/python{}.{}/site-packages", parts[0], parts[1])
        } else {
            "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()[\"purelib\"])')".to_string()
        }
    }

    fn interpreter(&self, state: &State) -> &'static str {
        let venv_on_path = state.var("PATH").is_some_and(|p| {
            p.split(':').any(|d| d.strip_suffix("/bin").is_some_and(|r| self.venvs.iter().any(|v| v == r)))
        });
        if knowledge::image_repository(&self.stage.base) == "python"
            || venv_on_path
            || state.var("VIRTUAL_ENV").is_some()
        {
            "python"
        } else {
            "python3"
        }
    }

    /// A `compileall` at or after `idx` covers `path`.
    fn compiled(&self, idx: usize, path: &str) -> bool {
        self.compiles.iter().any(|(at, args)| {
            *at >= idx
                && args.iter().filter(|a| !a.starts_with('-')).any(|a| {
                    a.starts_with('$') || a == path || path.starts_with(&format!("{}/", a.trim_end_matches('/')))
                })
        })
    }

    fn dont_write_note(&self, idx: usize) -> String {
        match self.state(idx).and_then(|s| s.var("PYTHONDONTWRITEBYTECODE")) {
            Some(v) if !v.is_empty() => " `PYTHONDONTWRITEBYTECODE` is set in this stage: it does not undo this — it only stops the interpreter from writing .pyc files when it imports; `compileall` and uv write them anyway, and Python still reads them. Without build-time compilation, that setting is what makes every start compile every imported module again.".to_string(),
            _ => String::new(),
        }
    }

    fn bytecode(&self, out: &mut Vec<Finding>) {
        for site in &self.sites {
            let ins = &self.doc.instructions[site.idx];
            let Some(state) = self.state(site.idx) else { continue };
            let Ok(script) = Script::new(self.doc, ins, state) else { continue };
            let Some(cmd) = script.cmds.get(site.cmd) else { continue };
            let range = script.src(&cmd.span);
            let note = self.dont_write_note(site.idx);
            match &site.install {
                Install::Uv { word } => {
                    let Some(w) = cmd.words.get(*word) else { continue };
                    let fix = match script.insert_after(w, &["--compile-bytecode"]) {
                        Some(e) => Fix::unsafe_("Add `--compile-bytecode`", vec![e]),
                        None => Fix::display_only("Add `--compile-bytecode` (or `ENV UV_COMPILE_BYTECODE=1`)"),
                    };
                    out.push(
                        Finding::new(NAME, range, format!("`{}` installs packages without compiling them to bytecode", site.label))
                            .why(format!("Unlike pip, uv does not compile what it installs: each new container compiles every module it imports when it starts (the .pyc files it writes, where it may write at all, stay in that container's own layer and go with it). {SIZE_COST}{note}"))
                            .gain("Start-up without compiling: seconds less for large dependency trees, on every start; the compile runs once, in the cached install step.")
                            .fix(fix),
                    );
                }
                Install::Poetry { path } => {
                    let base = Finding::new(NAME, range, format!("`{}` installs packages without compiling them to bytecode", site.label))
                        .why(format!("Since Poetry 1.4, `poetry install` does not compile what it installs (`--compile` asks for it): each new container compiles every module it imports, at every start. {SIZE_COST}{note}"))
                        .gain("Start-up without compiling the dependencies; the compile runs once, in the cached install step.");
                    let Some(path) = path else {
                        out.push(base.fix(Fix::display_only(
                            "Add `--compile` (Poetry 1.4 or later); dockfix does not know where Poetry's own virtualenv is to compile it otherwise",
                        )));
                        continue;
                    };
                    if self.compiled(site.idx, path) {
                        continue;
                    }
                    let py = self.interpreter(state);
                    let shown = if path.starts_with("$(") { path.clone() } else { layout::quote_arg(path) };
                    let text = format!("{py} -m compileall -q {shown}");
                    let fix = match append_command(self.doc, site.idx, &text) {
                        Some(e) => {
                            Fix::unsafe_(format!("Compile the environment after the install: `{text}`"), vec![e])
                        }
                        None => Fix::display_only(format!("Run `{text}` after the install")),
                    };
                    out.push(base.fix(fix));
                }
                Install::Pip { .. } => {}
            }
        }
    }

    /// `--prefer-binary` where the stage installs a compiler and pip
    /// installs packages that ship wheels.
    fn prefer_binary(&self, out: &mut Vec<Finding>) {
        let Some((cidx, compiler)) = &self.compiler else { return };
        let pips: Vec<&Site> = self.sites.iter().filter(|s| matches!(s.install, Install::Pip { .. })).collect();
        if pips.is_empty() {
            return;
        }
        let mut names: Vec<String> = Vec::new();
        for s in &pips {
            let Install::Pip { packages, reqfiles, .. } = &s.install else { continue };
            names.extend(packages.iter().cloned());
            for f in reqfiles {
                let base = f.rsplit('/').next().unwrap_or(f);
                let text = self.cx.read_context(f.trim_start_matches("./")).or_else(|| self.cx.read_context(base));
                for l in text.iter().flat_map(|t| t.lines()) {
                    names.extend(req_name(l.split(';').next().unwrap_or(l)));
                }
            }
        }
        names.sort();
        names.dedup();
        let wheels: Vec<&String> = names.iter().filter(|n| knowledge::python_ships_wheels(n) == Some(true)).collect();
        let no_wheel: Vec<&String> =
            names.iter().filter(|n| knowledge::python_ships_wheels(n) == Some(false)).collect();
        let cline = self.doc.line_of(self.doc.instructions[*cidx].span.start);
        let list = |v: &[&String]| v.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        let first = pips[0];
        let ins = &self.doc.instructions[first.idx];
        if !no_wheel.is_empty() {
            out.push(
                Finding::new(NAME, ins.span.clone(), format!(
                    "`{compiler}` (line {cline}) is still needed: {} {} no Linux wheel",
                    list(&no_wheel),
                    if no_wheel.len() == 1 { "has" } else { "have" }
                ))
                .why("pip builds these from source, which needs the compiler and the library headers. dockfix's table of packages known to ship manylinux wheels (`PYTHON_WHEELS` in dockfix_core::knowledge) lists them as source-only. A binary alternative (`psycopg2-binary` for `psycopg2`, `psycopg[binary]`) would let the compiler go.")
                .fix(Fix::display_only("Keep the compiler, or switch to a package that ships wheels")),
            );
            return;
        }
        if wheels.is_empty() {
            return;
        }
        let todo: Vec<&Site> =
            pips.iter().copied().filter(|s| matches!(s.install, Install::Pip { prefer: false, .. })).collect();
        if todo.is_empty() {
            return;
        }
        let mut edits: Vec<Edit> = Vec::new();
        let mut ok = true;
        for s in &todo {
            let Install::Pip { install_word, .. } = &s.install else { continue };
            let ins = &self.doc.instructions[s.idx];
            let Some(state) = self.state(s.idx) else { continue };
            let e = Script::new(self.doc, ins, state).ok().and_then(|sc| {
                let w = sc.cmds.get(s.cmd)?.words.get(*install_word)?;
                sc.insert_after(w, &["--prefer-binary"])
            });
            match e {
                Some(e) => edits.push(e),
                None => ok = false,
            }
        }
        let unknown: Vec<&String> = names.iter().filter(|n| knowledge::python_ships_wheels(n).is_none()).collect();
        let why = format!(
            "pip installs a wheel when the newest version has one for the platform, and otherwise builds the newest sdist — which is what `{compiler}` is there for. `--prefer-binary` makes pip take the newest version that has a wheel instead, so the build never compiles, and the compiler (with its headers) can then leave the image. {} ship manylinux wheels per dockfix's table (`PYTHON_WHEELS` in dockfix_core::knowledge){}. Unsafe: pip may pick an older release than the newest sdist.",
            list(&wheels),
            if unknown.is_empty() { String::new() } else { format!("; the table does not list {}, so dockfix cannot say whether it needs the compiler (pure-Python packages do not)", list(&unknown)) }
        );
        let fix = if ok && !edits.is_empty() {
            Fix::unsafe_("Add `--prefer-binary` to the pip install (then remove the compiler if nothing else builds native code)", edits)
        } else {
            Fix::display_only("Add `--prefer-binary` (or `ENV PIP_PREFER_BINARY=1`)")
        };
        out.push(
            Finding::new(NAME, ins.span.clone(), format!(
                "`{compiler}` is installed (line {cline}) to build packages that ship wheels: {}",
                list(&wheels)
            ))
            .why(why)
            .gain("No compile step in the install; with the compiler gone, a smaller image (gcc alone is about 180 MB on Debian).")
            .fix(fix),
        );
    }

    /// Compile the application's sources after the last COPY of them.
    fn app(&self, out: &mut Vec<Finding>) {
        let Some((idx, dest)) = &self.app_copy else { return };
        if self.compiled(*idx, dest) {
            return;
        }
        let after = self.state(*idx + 1).or_else(|| self.states.last());
        let Some(state) = after else { return };
        let py = self.interpreter(state);
        let text = format!("RUN {py} -m compileall -q {}", layout::quote_arg(dest));
        let ins = &self.doc.instructions[*idx];
        let note = self.dont_write_note(*idx);
        let finding = Finding::new(NAME, ins.span.clone(), format!("the application's modules under {dest} are compiled at every container start"))
            .why(format!("Python compiles each module it imports; the .pyc files it would cache cannot be written (or are lost with the container), so every start pays again. Compiling after the copy puts them in the image. It re-runs with the copy, on every source change (a fraction of a second for most applications). A .py file that is not valid Python 3 fails this step: fix it or leave it out with `-x REGEX`.{note}"))
            .gain("The application starts without compiling its own modules.");
        if !state.is_root() {
            out.push(finding.fix(Fix::display_only(format!(
                "Add `{text}` where the user is root (USER here is `{}`, which may not write there)",
                state.user.as_deref().unwrap_or("")
            ))));
            return;
        }
        let edit = layout::insert_after(self.doc, *idx, std::slice::from_ref(&text));
        out.push(finding.fix(Fix::unsafe_(format!("Add `{text}` after the copy"), vec![edit])));
    }
}

/// Appends ` && text` to the shell-form RUN `idx`, in its continuation
/// style; a separate RUN after it for the exec form or a heredoc.
fn append_command(doc: &Document, idx: usize, text: &str) -> Option<Edit> {
    let ins = &doc.instructions[idx];
    if ins.json || !ins.heredocs.is_empty() {
        return Some(layout::insert_after(doc, idx, &[format!("RUN {text}")]));
    }
    let src = doc.source();
    let mut end = ins.lines.end;
    while end > ins.span.start && matches!(src[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    let ls = src[..end].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if ls <= ins.span.start {
        return Some(Edit::insert(end, format!(" && {text}")));
    }
    let line = String::from_utf8_lossy(&src[ls..end]).into_owned();
    if line.trim_start().starts_with('#') {
        return None;
    }
    let indent: String = line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
    let esc = doc.escape;
    let eol = layout::eol(doc);
    if line.trim_start().starts_with("&&") {
        Some(Edit::insert(end, format!(" {esc}{eol}{indent}&& {text}")))
    } else {
        Some(Edit::insert(end, format!(" && {esc}{eol}{indent}{text}")))
    }
}
