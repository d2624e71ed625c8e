//! The plan for each language, the checks that refuse, and the runtime
//! stage's text.

use std::collections::BTreeSet;

use dockfix_core::knowledge::{self, DistroFamily, RuntimeOf};
use dockfix_core::layout;
use dockfix_core::walk::Workdir;
use dockfix_core::{Edit, Finding, Fix};
use dockfix_syntax::shell::parse_script;
use dockfix_syntax::{Instruction, Kind};

use crate::base::{self, Image};
use crate::cmds::{self, Class, Cmd, Lang, Pkg};
use crate::{code_list, list, name_builder, run_line, source_text, Analysis, Refusal, Runtime, Shipped};

/// True for a command that is a build step of `lang`.
fn is_build_step(lang: Lang, c: &Cmd) -> bool {
    let arg = |i: usize| c.words.get(i).map(String::as_str).unwrap_or("");
    match (lang, &c.class) {
        (Lang::Python, Class::Build(Lang::Python)) => {
            if let Some(a) = cmds::pip_args(&c.words) {
                return matches!(a.first().map(String::as_str), Some("install" | "wheel"));
            }
            match c.name() {
                "uv" => matches!(arg(1), "pip" | "sync"),
                "poetry" => matches!(arg(1), "install" | "sync"),
                _ => c.words.iter().skip(1).find(|w| !w.starts_with('-')).is_some_and(|w| w.ends_with("setup.py")),
            }
        }
        (Lang::Node, Class::Build(Lang::Node)) => match c.name() {
            "npx" => true,
            _ => !matches!(arg(1), "start" | "cache" | "config" | "set" | "--version" | "-v"),
        },
        (Lang::Go, Class::Build(Lang::Go)) => matches!(arg(1), "build" | "install" | "mod" | "generate" | "get"),
        (Lang::Java, Class::Build(Lang::Java)) => true,
        _ => false,
    }
}

/// Commands a builder RUN may hold besides the build steps.
fn builder_only(lang: Lang, c: &Cmd) -> bool {
    match &c.class {
        Class::Venv(_) | Class::Installer | Class::Toolchain | Class::Pkg(_) | Class::Setup | Class::Neutral => true,
        Class::Build(l) if *l == lang => {
            is_build_step(lang, c)
                || (lang == Lang::Python && python_harmless(c))
                || matches!(lang, Lang::Go | Lang::Java)
        }
        // Go and Java builds copy named outputs from the builder: shaping
        // them there (`cp target/*.jar app.jar`, `strip`) is fine.
        Class::Unknown => matches!(lang, Lang::Go | Lang::Java),
        Class::Build(_) => false,
    }
}

/// `python -m compileall`, `python -c "import x"`: change nothing the
/// runtime misses.
fn python_harmless(c: &Cmd) -> bool {
    let a1 = c.words.get(1).map(String::as_str).unwrap_or("");
    let a2 = c.words.get(2).map(String::as_str).unwrap_or("");
    a1 == "-c" || a1 == "--version" || a1 == "-V" || (a1 == "-m" && matches!(a2, "compileall" | "pip" | "venv"))
}

/// The plan, or why not, for the one stage: the finding and the runtime
/// image it uses.
pub(crate) fn plan(an: &Analysis<'_>) -> Option<Result<(Finding, String), Refusal>> {
    let body = an.stage.body.clone();
    let from = an.stage.from;
    let refusal =
        |what: &str, why: String, at: Option<usize>| Refusal { what: what.to_string(), why, at: at.unwrap_or(from) };
    let mut langs: BTreeSet<Lang> = BTreeSet::new();
    for idx in body.clone() {
        if let Some(Ok(cmds)) = an.cmds(idx) {
            for c in cmds {
                if let Class::Build(l) = c.class {
                    if is_build_step(l, c) {
                        langs.insert(l);
                    }
                }
            }
        }
    }
    let last_build = |lang: Lang| {
        body.clone().rev().find(|&i| matches!(an.cmds(i), Some(Ok(c)) if c.iter().any(|c| is_build_step(lang, c))))
    };
    let lang = match langs.len() {
        0 => return None,
        1 => *langs.iter().next()?,
        _ => {
            let end = body.end.checked_sub(1)?;
            let shipped = an.shipped(end);
            if shipped.iter().all(|s| s.unknown_dev) {
                return None;
            }
            let names: Vec<String> = langs.iter().map(|l| l.as_str().to_string()).collect();
            return Some(Err(refusal(
                &what_shipped(&shipped),
                format!("it builds with several toolchains ({}) in one stage", list(&names)),
                None,
            )));
        }
    };
    let split = last_build(lang)?;
    let shipped = an.shipped(split);
    let runtime_base = an.option("runtime-base");
    let sdk = match lang {
        Lang::Go => an.image.name == "golang",
        Lang::Java => base::jre_for(&an.image).is_some() || matches!(an.image.name.as_str(), "maven" | "gradle"),
        _ => false,
    };
    let real_shipped: Vec<&Shipped> = shipped.iter().filter(|s| !s.unknown_dev || s.runtime.is_some()).collect();
    let node_dev = lang == Lang::Node && node_has_dev_gain(an, split);
    if real_shipped.is_empty() && !sdk && !node_dev && runtime_base.is_none() && an.runtime == Runtime::Slim {
        return None;
    }
    let what = match lang {
        Lang::Go if shipped.is_empty() => format!("the Go toolchain (`{}`)", an.image.text),
        Lang::Java if shipped.is_empty() => format!("the JDK and build tool (`{}`)", an.image.text),
        Lang::Node if shipped.is_empty() => "its devDependencies and build toolchain".to_string(),
        _ => what_shipped(&shipped),
    };
    if let Some(why) = common_refusal(an, lang, split) {
        return Some(Err(refusal(&what, why, None)));
    }
    let plan = match lang {
        Lang::Python => python(an, split, &shipped),
        Lang::Node => node(an, split, &shipped),
        Lang::Go => go(an, split),
        Lang::Java => java(an, split),
    };
    let plan = match plan {
        Ok(p) => p,
        Err(why) => return Some(Err(refusal(&what, why, None))),
    };
    let base = plan.base.clone();
    match emit(an, lang, split, &shipped, &what, plan) {
        Ok(f) => Some(Ok((f, base))),
        Err((why, at)) => Some(Err(refusal(&what, why, at))),
    }
}

fn what_shipped(shipped: &[Shipped]) -> String {
    let names: Vec<String> = shipped.iter().filter(|s| !s.unknown_dev).map(|s| s.name.clone()).collect();
    if names.is_empty() {
        return "its build tools".into();
    }
    format!("its build tools ({})", code_list(&names))
}

/// Refusals shared by every language: what runs at start-up, what runs
/// after the split, what runs before it that dockfix cannot replay.
fn common_refusal(an: &Analysis<'_>, lang: Lang, split: usize) -> Option<String> {
    let body = an.stage.body.clone();
    // Jupyter-style images install and build packages from notebooks.
    let jupyter = |s: &str| s.contains("jupyter") || s.contains("notebook");
    if jupyter(&an.image.name) {
        return Some(format!(
            "`{}` is a notebook image, where users install and build packages at run time",
            an.image.text
        ));
    }
    for kind in [Kind::Entrypoint, Kind::Cmd] {
        let Some(idx) = an.last_of(kind) else { continue };
        let ins = an.ins(idx);
        let words = instruction_words(ins);
        if words.iter().flatten().any(|w| jupyter(w)) {
            return Some("it starts Jupyter, where users install and build packages at run time".into());
        }
        for cmd in &words {
            if let Some(why) = needs_toolchain(cmd) {
                return Some(format!("its {} {why} at start-up", kind.as_str()));
            }
        }
        // An entrypoint script from the build context.
        for cmd in &words {
            let script = match cmd.first().map(String::as_str) {
                Some("sh" | "bash" | "/bin/sh" | "/bin/bash") => cmd.iter().skip(1).find(|w| !w.starts_with('-')),
                _ => cmd.first(),
            };
            let Some(script) = script else { continue };
            if !(script.contains('/') || script.ends_with(".sh")) {
                continue;
            }
            let path = an.resolve(idx, script);
            let Some(rel) = an.context_file_for(&path) else { continue };
            let Some(text) = an.cx.read_context(&rel) else { continue };
            for c in parse_script(&text).commands {
                let w: Vec<String> = c.words.iter().map(|w| w.value.clone()).collect();
                if w.is_empty() {
                    continue;
                }
                if let Some(why) = needs_toolchain(&w) {
                    return Some(format!("its entrypoint script `{rel}` {why}"));
                }
            }
        }
    }
    // Before the split: every RUN must be a builder step or replayable.
    for idx in body.start..=split {
        let ins = an.ins(idx);
        if matches!(ins.kind, Kind::Copy | Kind::Add | Kind::Run) && !ins.heredocs.is_empty() {
            return Some(format!(
                "line {} uses a heredoc, which dockfix does not copy into a runtime stage",
                ins.start_line
            ));
        }
        let Some(res) = an.cmds(idx) else { continue };
        let cmds = match res {
            Ok(c) => c,
            Err(e) => return Some(format!("line {} is {e}", ins.start_line)),
        };
        let is_build =
            cmds.iter().any(|c| is_build_step(lang, c) || matches!(c.class, Class::Venv(_) | Class::Installer));
        for c in cmds {
            let ok = if is_build {
                builder_only(lang, c)
            } else {
                matches!(c.class, Class::Pkg(_) | Class::Setup | Class::Neutral)
            };
            if !ok {
                let why = if is_build {
                    format!(
                        "`{}` runs in the same step as the build (line {}), and what it makes may be needed at run time",
                        short(&c.text),
                        ins.start_line
                    )
                } else {
                    format!(
                        "`{}` runs before the build (line {}), and dockfix cannot tell whether the runtime needs what it makes",
                        short(&c.text),
                        ins.start_line
                    )
                };
                return Some(why);
            }
        }
    }
    // After the split: nothing may need the toolchain.
    for idx in split + 1..body.end {
        let Some(res) = an.cmds(idx) else { continue };
        let ins = an.ins(idx);
        let cmds = match res {
            Ok(c) => c,
            Err(e) => return Some(format!("line {} is {e}", ins.start_line)),
        };
        for c in cmds {
            let bad = match &c.class {
                Class::Toolchain | Class::Venv(_) => true,
                Class::Build(l) => is_build_step(*l, c),
                Class::Pkg(Pkg::Install { family, packages, .. }) => packages.iter().any(|p| {
                    knowledge::build_package(*family, p)
                        .is_some_and(|b| matches!(b.runtime, RuntimeOf::Drop) || knowledge::looks_like_dev_package(p))
                }),
                _ => false,
            };
            if bad {
                return Some(format!(
                    "`{}` (line {}) runs after the last build step and needs the build tools",
                    short(&c.text),
                    ins.start_line
                ));
            }
        }
    }
    None
}

fn short(s: &str) -> String {
    let t: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 60 {
        format!("{}…", t.chars().take(59).collect::<String>())
    } else {
        t
    }
}

/// The commands of a CMD/ENTRYPOINT/HEALTHCHECK, as word lists (the
/// script of `sh -c "…"` read as commands).
fn instruction_words(ins: &Instruction) -> Vec<Vec<String>> {
    let script_words = |t: &str| -> Vec<Vec<String>> {
        parse_script(t).commands.into_iter().map(|c| c.words.into_iter().map(|w| w.value).collect()).collect()
    };
    let raw: Vec<Vec<String>> = if ins.json {
        vec![ins.args.iter().map(|a| a.value.clone()).collect()]
    } else {
        let text = ins.args_text();
        let text = if ins.kind == Kind::Healthcheck {
            text.split_once("CMD").or_else(|| text.split_once("cmd")).map_or(text, |(_, r)| r)
        } else {
            text
        };
        script_words(text)
    };
    let mut out = Vec::new();
    for w in raw {
        let shell = w.first().is_some_and(|n| matches!(n.rsplit('/').next(), Some("sh" | "bash" | "ash" | "dash")));
        if shell && w.len() >= 3 && w[1] == "-c" {
            out.extend(script_words(&w[2]));
        } else {
            out.push(w);
        }
    }
    out
}

/// Why a start-up command needs the toolchain.
fn needs_toolchain(words: &[String]) -> Option<String> {
    let name = words.first()?.rsplit('/').next()?;
    let arg = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    if cmds::TOOLCHAIN.contains(&name) {
        return Some(format!("runs `{name}`"));
    }
    if let Some(a) = cmds::pip_args(words) {
        if a.first().map(String::as_str) == Some("install") {
            return Some("runs `pip install`".into());
        }
    }
    match name {
        "npm" | "yarn" | "pnpm" if matches!(arg(1), "install" | "ci" | "i" | "rebuild" | "add") => {
            Some(format!("runs `{name} {}`", arg(1)))
        }
        "go" if matches!(arg(1), "run" | "build" | "install") => Some(format!("runs `go {}`", arg(1))),
        "mvn" | "mvnw" | "gradle" | "gradlew" => Some(format!("runs `{name}`")),
        "uv" | "poetry" if matches!(arg(1), "sync" | "install" | "add") || (arg(1) == "pip" && arg(2) == "install") => {
            Some(format!("runs `{name} {}`", arg(1)))
        }
        "apt-get" | "apk" if matches!(arg(1), "install" | "add") => Some(format!("installs packages with `{name}`")),
        _ => None,
    }
}

/// What the runtime stage is made of.
pub(crate) struct RuntimePlan {
    pub base: String,
    pub same_base: bool,
    /// Family and release of the runtime image, for package names.
    pub family: Option<DistroFamily>,
    pub release: Option<String>,
    pub builder_edits: Vec<Edit>,
    /// Lines added to the builder after the split.
    pub builder_after: Vec<String>,
    /// Lines right after the runtime FROM.
    pub prelude: Vec<String>,
    /// Lines that bring the build's result from the builder.
    pub artifacts: Vec<String>,
    /// Put the artifacts before the first replayed copy from the context.
    pub artifacts_early: bool,
    /// Head copies (by instruction index) that the artifacts replace.
    pub skip_copies: BTreeSet<usize>,
    /// `/usr/local/bin/` → this, in CMD/ENTRYPOINT/HEALTHCHECK.
    pub venv_bin: Option<String>,
    /// The runtime image has no shell (scratch, distroless).
    pub no_shell: bool,
    /// The runtime image sets an ENTRYPOINT of its own (distroless python3
    /// and java): cleared unless the Dockerfile sets one.
    pub base_entrypoint: bool,
    /// On an image without a shell: the programs the start commands may run.
    pub programs: Programs,
    pub comment: String,
    pub title: String,
    pub notes: Vec<String>,
    pub ships: String,
}

impl RuntimePlan {
    fn new(base: String, same_base: bool, family: Option<DistroFamily>, release: Option<String>) -> RuntimePlan {
        RuntimePlan {
            base,
            same_base,
            family,
            release,
            builder_edits: Vec::new(),
            builder_after: Vec::new(),
            prelude: Vec::new(),
            artifacts: Vec::new(),
            artifacts_early: false,
            skip_copies: BTreeSet::new(),
            venv_bin: None,
            no_shell: false,
            base_entrypoint: false,
            programs: Programs::default(),
            comment: String::new(),
            title: String::new(),
            notes: Vec::new(),
            ships: String::new(),
        }
    }
}

fn is_scratch_like(image: &str) -> (bool, bool) {
    let i = Image::parse(image);
    let scratch = i.name == "scratch";
    let distroless = image.contains("distroless") || i.name == "static" || i.name == "chainguard";
    (scratch, distroless)
}

/// The runtime FROM flags: `--platform` unless it names the build platform.
fn from_flags(an: &Analysis<'_>) -> String {
    let ins = an.ins(an.stage.from);
    ins.flags
        .iter()
        .filter(|f| f.name() == "platform" && !f.value().unwrap_or("").contains("BUILDPLATFORM"))
        .map(|f| format!("{} ", ins.text_of(&f.span)))
        .collect()
}

// ---------------------------------------------------------------- Python

/// Distroless's Python image and the Python it has (Debian 12's).
const DISTROLESS_PYTHON: &str = "gcr.io/distroless/python3-debian12";
const DISTROLESS_PYTHON_VERSION: &str = "3.11";

/// Why the builder's virtualenv would not run on distroless's Python.
fn python_distroless_check(an: &Analysis<'_>) -> Result<(), String> {
    let img = &an.image;
    if img.name != "python" {
        return Err(format!(
            "dockfix reads the Python version from the official `python` images' tags only, not from `{}`",
            img.text
        ));
    }
    if img.tag.contains("alpine") {
        return Err(format!(
            "`{}` is an Alpine image: its Python and compiled modules use musl, and distroless's Python is built for glibc",
            img.text
        ));
    }
    let mut parts = img.tag.split('-').next().unwrap_or("").split('.');
    let minor = match (parts.next(), parts.next()) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() && format!("{a}{b}").chars().all(|c| c.is_ascii_digit()) => {
            format!("{a}.{b}")
        }
        _ => {
            return Err(format!(
                "`{}` does not name its Python minor version, and {DISTROLESS_PYTHON} has Python {DISTROLESS_PYTHON_VERSION}: name it in the tag (`python:{DISTROLESS_PYTHON_VERSION}-slim-bookworm`)",
                img.text
            ))
        }
    };
    if minor != DISTROLESS_PYTHON_VERSION {
        return Err(format!(
            "the builder has Python {minor} (`{}`) and {DISTROLESS_PYTHON} has Python {DISTROLESS_PYTHON_VERSION}: the virtualenv and its compiled modules only run on the same minor version",
            img.text
        ));
    }
    match an.release.as_deref() {
        Some("bookworm" | "bullseye" | "buster") => Ok(()),
        Some(r) => Err(format!(
            "`{}` is built on Debian {r}, whose C library is newer than debian12's: modules compiled there may not load",
            img.text
        )),
        None => Err(format!(
            "`{}` does not name its Debian release (recent tags are trixie-based, with a newer C library than debian12's): name it (`-bookworm`)",
            img.text
        )),
    }
}

fn python(an: &Analysis<'_>, split: usize, shipped: &[Shipped]) -> Result<RuntimePlan, String> {
    let body = an.stage.body.clone();
    match an.runtime {
        Runtime::Scratch => return Err("a Python program needs its interpreter, which `scratch` does not have".into()),
        Runtime::Distroless => python_distroless_check(an)?,
        Runtime::Slim => {}
    }
    let opt_base = an.option("runtime-base").or((an.runtime == Runtime::Distroless).then_some(DISTROLESS_PYTHON));
    let mut rp = RuntimePlan::new(
        opt_base.unwrap_or(&an.image.text).to_string(),
        opt_base.is_none(),
        an.family,
        an.release.clone(),
    );
    if let Some(b) = opt_base {
        let i = Image::parse(b);
        rp.family = i.family().or(an.family);
        rp.release = i.release().or(an.release.clone());
    }
    let (py_scratch, py_distroless) = is_scratch_like(&rp.base);
    rp.no_shell = py_scratch || py_distroless;
    if rp.no_shell {
        rp.family = None;
        rp.base_entrypoint = rp.base.contains("distroless/python");
    }
    if let Some(b) = opt_base.filter(|_| an.runtime == Runtime::Slim) {
        rp.notes.push(format!(
            "the runtime stage uses `{b}` (option `runtime-base`): the virtualenv needs the same Python at the same path, and shared libraries that `{}` provided without this Dockerfile installing them are not there",
            an.image.text
        ));
    }
    // What the original installs with, and where.
    let mut venv: Option<Workdir> = None;
    let mut user_install: Option<usize> = None;
    let mut system_install = false;
    let mut first_install: Option<usize> = None;
    let mut interpreter = "python3".to_string();
    for idx in body.start..=split {
        let Some(Ok(cmds)) = an.cmds(idx) else { continue };
        for c in cmds {
            match &c.class {
                Class::Venv(p) => {
                    let w = an.resolve(idx, p);
                    if !matches!(w, Workdir::Abs(_)) {
                        return Err(format!("cannot tell where the virtualenv `{p}` is"));
                    }
                    venv = Some(w);
                }
                Class::Build(Lang::Python) if is_build_step(Lang::Python, c) => {
                    first_install.get_or_insert(idx);
                    if c.words[0].starts_with('/') && cmds::pip_args(&c.words).is_some() && venv.is_none() {
                        return Err(format!(
                            "`{}` calls pip by its absolute path, which a virtualenv cannot take over",
                            short(&c.text)
                        ));
                    }
                    if let Some(a) = cmds::pip_args(&c.words) {
                        if first_install == Some(idx) {
                            let prog = c.words[0].rsplit('/').next().unwrap_or("");
                            if prog.starts_with("python") {
                                interpreter = prog.to_string();
                            } else if let Some(v) = prog.strip_prefix("pip").filter(|v| v.contains('.')) {
                                interpreter = format!("python{v}");
                            }
                        }
                        if a.iter().any(|w| w == "--user") {
                            user_install = Some(idx);
                        } else {
                            system_install = true;
                        }
                        for w in a {
                            let flag = w.split('=').next().unwrap_or(w);
                            if matches!(flag, "--prefix" | "--target" | "-t" | "--root") {
                                return Err(format!(
                                    "`{}` installs into a directory of its own (`{flag}`)",
                                    short(&c.text)
                                ));
                            }
                        }
                        if let Some(p) = a.iter().position(|w| w == "-e" || w == "--editable") {
                            let target = a.get(p + 1).map(String::as_str).unwrap_or("");
                            if !target.contains("://") && !target.starts_with("git+") {
                                return Err(format!(
                                    "`{}` is an editable install: the installed package points into the build stage's sources",
                                    short(&c.text)
                                ));
                            }
                        }
                    }
                    match c.name() {
                        "uv" if c.words.get(1).map(String::as_str) == Some("sync") && venv.is_none() => {
                            let st = an.state(idx);
                            let env = st.env.get("UV_PROJECT_ENVIRONMENT").cloned().unwrap_or_else(|| ".venv".into());
                            let w = st.workdir.join(&env);
                            if !matches!(w, Workdir::Abs(_)) {
                                return Err("cannot tell where `uv sync` puts its virtualenv".into());
                            }
                            venv = Some(w);
                        }
                        "pipenv" | "pdm" => {
                            return Err(format!("dockfix does not convert `{}` installs yet", c.name()))
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }
    let st_split = an.state(split);
    if venv.is_none() {
        if let Some(v) = st_split.env.get("VIRTUAL_ENV") {
            venv = Some(Workdir::Abs(v.clone()));
        }
    }
    if user_install.is_some() && system_install && venv.is_none() {
        return Err("some installs use `--user` and others do not".into());
    }
    let first_install = first_install.ok_or("no install found")?;

    if let Some(Workdir::Abs(v)) = &venv {
        // A virtualenv of the original's own: keep its place.
        rp.artifacts.push(format!("{} --from={{builder}} {v} {v}", an.kw("COPY")));
        rp.comment = "the virtualenv and the app, without the build tools".into();
        rp.title = format!("copies the virtualenv {v} and the app");
    } else if let Some(idx) = user_install {
        let st = an.state(idx);
        let home = match st.env.get("HOME") {
            Some(h) => h.clone(),
            None if st.is_root() => "/root".into(),
            None => {
                let u = st.user.clone().unwrap_or_default();
                let name = u.split(':').next().unwrap_or(&u).to_string();
                if name.chars().all(|c| c.is_ascii_digit()) {
                    return Err(format!("cannot tell the home directory of user {name}"));
                }
                format!("/home/{name}")
            }
        };
        let chown =
            if st.is_root() { String::new() } else { format!("--chown={} ", st.user.clone().unwrap_or_default()) };
        rp.artifacts.push(format!("{} --from={{builder}} {chown}{home}/.local {home}/.local", an.kw("COPY")));
        rp.comment = "the user-installed packages and the app, without the build tools".into();
        rp.title = format!("copies {home}/.local (the `pip install --user` packages) and the app");
    } else {
        let v = an.option("venv").unwrap_or("/opt/venv").trim_end_matches('/').to_string();
        // Where the builder creates it: before the first copy from the
        // context that precedes the first install, after the system
        // packages (which may bring Python itself).
        let last_pkg = (body.start..first_install).rev().find(|&i| {
            matches!(an.cmds(i), Some(Ok(c)) if c.iter().any(|c| matches!(c.class, Class::Pkg(Pkg::Install { .. }))))
        });
        let first_copy = (body.start..first_install).find(|&i| {
            let ins = an.ins(i);
            matches!(ins.kind, Kind::Copy | Kind::Add) && ins.flag("from").is_none()
        });
        let at = match (first_copy, last_pkg) {
            (Some(c), Some(p)) if c > p => c,
            (Some(c), None) => c,
            _ => first_install,
        };
        for idx in body.clone().filter(|&i| i >= at && i <= split) {
            let runs_install = matches!(an.cmds(idx), Some(Ok(c)) if c.iter().any(|c| is_build_step(Lang::Python, c)));
            if (idx == at || runs_install) && !an.state(idx).is_root() {
                return Err(format!(
                    "the install runs as USER {}, who cannot write a virtualenv in {v}",
                    an.state(idx).user.clone().unwrap_or_default()
                ));
            }
        }
        let env = format!("{} VIRTUAL_ENV={v} PATH=\"{v}/bin:$PATH\"", an.kw("ENV"));
        rp.builder_edits.push(layout::insert_before(
            an.doc,
            at,
            &[format!("{} {interpreter} -m venv {v}", an.kw("RUN")), env.clone()],
        ));
        rp.artifacts.push(format!("{} --from={{builder}} {v} {v}", an.kw("COPY")));
        rp.artifacts.push(env);
        rp.artifacts_early = true;
        rp.venv_bin = Some(format!("{v}/bin/"));
        rp.comment = "the virtualenv and the app, without the build tools".into();
        rp.title = format!("installs into a virtualenv at {v}; the runtime stage copies it and the app");
        // `uv pip install --system` would bypass the virtualenv.
        for idx in body.start..=split {
            let Some(Ok(cmds)) = an.cmds(idx) else { continue };
            let ins = an.ins(idx);
            for c in cmds.iter().filter(|c| c.name() == "uv") {
                for (w, span) in c.words.iter().zip(&c.word_spans) {
                    if w == "--system" {
                        let r = ins.source_range(span.clone());
                        // Take the blank before the word too.
                        let start =
                            if r.start > 0 && an.doc.source()[r.start - 1] == b' ' { r.start - 1 } else { r.start };
                        rp.builder_edits.push(Edit::delete(start..r.end));
                    }
                }
            }
            // Debian's own Python needs python3-venv for `python3 -m venv`.
            if !an.image.is_python() && an.family == Some(DistroFamily::Debian) {
                for c in cmds {
                    let Class::Pkg(Pkg::Install { packages, .. }) = &c.class else { continue };
                    let has_py = packages.iter().any(|p| {
                        let b = p.split('=').next().unwrap_or(p);
                        b == "python3"
                            || b == "python3-pip"
                            || b.strip_prefix("python3.").is_some_and(|v| v.chars().all(|c| c.is_ascii_digit()))
                    });
                    let has_venv =
                        packages.iter().any(|p| p.starts_with("python3") && p.ends_with("-venv") || p == "virtualenv");
                    if has_py && !has_venv {
                        if let Some((last, span)) =
                            c.words.iter().zip(&c.word_spans).rev().find(|(w, _)| packages.contains(w))
                        {
                            let _ = last;
                            let r = ins.source_range(span.clone());
                            rp.builder_edits.push(Edit::insert(r.end, " python3-venv"));
                            rp.notes.push("`python3-venv` joins the builder's packages: Debian's Python needs it for `python3 -m venv`".into());
                        }
                    }
                }
            }
        }
    }
    if rp.same_base && an.image.is_full_sdk() {
        rp.notes.push(format!(
            "`{}` itself ships compilers and headers: set `runtime-base` (e.g. the `-slim` variant of the same Python version) in `[multi-stage]` to leave them out too",
            an.image.text
        ));
    }
    if rp.no_shell {
        let venv_dir = match (&venv, &rp.venv_bin) {
            (Some(Workdir::Abs(v)), _) => Some(v.clone()),
            (_, Some(b)) => Some(b.trim_end_matches('/').trim_end_matches("/bin").to_string()),
            _ => None,
        };
        let Some(v) = venv_dir else {
            return Err(format!(
                "the packages are installed with `pip install --user`, and dockfix only moves a virtualenv onto `{}`",
                rp.base
            ));
        };
        let on_path =
            rp.venv_bin.is_some() || st_split.env.get("PATH").is_some_and(|p| p.contains(&format!("{v}/bin")));
        rp.programs = Programs {
            exact: vec!["python3".into(), "python3.11".into(), "/usr/bin/python3".into(), "/usr/bin/python3.11".into()],
            dirs: vec![format!("{v}/bin/")],
            bare: on_path,
        };
        if an.runtime == Runtime::Distroless {
            let py = format!("/usr/bin/python{DISTROLESS_PYTHON_VERSION}");
            rp.builder_after.push(run_line(
                an.doc,
                &an.kw("RUN"),
                &[],
                &[
                    format!("ln -sf {py} {v}/bin/python"),
                    format!("ln -sf {py} {v}/bin/python3"),
                    format!("ln -sf {py} {v}/bin/python{DISTROLESS_PYTHON_VERSION}"),
                    format!("sed -i -e 's|^home = .*|home = /usr/bin|' -e 's|^executable = .*|executable = {py}|' {v}/pyvenv.cfg"),
                ],
            ));
            rp.notes.push(format!(
                "{DISTROLESS_PYTHON} has Debian's Python {DISTROLESS_PYTHON_VERSION} at {py}, the same minor version as the builder's; the last builder step points the virtualenv's interpreter links and pyvenv.cfg there (the builder's Python is in /usr/local, which the runtime image does not have)"
            ));
        }
    }
    rp.ships = ships_text(shipped, an.family);
    if an.runtime == Runtime::Distroless {
        rp.ships.push_str(if rp.ships.is_empty() { "" } else { "; " });
        rp.ships.push_str("the runtime has no shell, no package manager and no pip");
    }
    Ok(rp)
}

fn ships_text(shipped: &[Shipped], family: Option<DistroFamily>) -> String {
    let dropped: Vec<String> =
        shipped.iter().filter(|s| s.runtime.is_none() && !s.unknown_dev).map(|s| s.name.clone()).collect();
    let mapped: Vec<String> =
        shipped.iter().filter_map(|s| s.runtime.as_ref().map(|(l, _)| format!("`{}` → `{l}`", s.name))).collect();
    let mut parts = Vec::new();
    let biggest = shipped
        .iter()
        .filter(|_| family == Some(DistroFamily::Debian))
        .filter_map(|s| knowledge::DEBIAN_INSTALLED_MB.iter().find(|(n, _)| *n == s.name))
        .max_by_key(|(_, mb)| *mb);
    if let Some((n, mb)) = biggest {
        parts.push(format!("at least {mb} MB less (`{n}` alone, with its dependencies, on Debian bookworm)"));
    }
    if !dropped.is_empty() {
        let verb = if dropped.len() == 1 { "stays" } else { "stay" };
        parts.push(format!("{} {verb} in the builder", code_list(&dropped)));
    }
    if !mapped.is_empty() {
        parts.push(format!("headers are replaced by their runtime libraries ({})", list(&mapped)));
    }
    parts.join("; ")
}

// ---------------------------------------------------------------- Node

fn package_json(an: &Analysis<'_>, split: usize) -> Option<serde_json::Value> {
    let wd = an.state(split).workdir.clone();
    let rel = an.context_file_for(&wd.join("package.json"))?;
    serde_json::from_str(&an.cx.read_context(&rel)?).ok()
}

fn production_only(an: &Analysis<'_>, split: usize) -> bool {
    let mut prod = false;
    for idx in an.stage.body.start..=split {
        let Some(Ok(cmds)) = an.cmds(idx) else { continue };
        for c in cmds.iter().filter(|c| c.name() == "npm") {
            if matches!(c.words.get(1).map(String::as_str), Some("ci" | "install" | "i")) {
                prod = c.words.iter().any(|w| {
                    w == "--production" || w == "--omit=dev" || w == "--only=production" || w == "--only=prod"
                }) || an.state(idx).env.get("NODE_ENV").is_some_and(|v| v == "production")
                    || c.assignments.iter().any(|a| a == "NODE_ENV=production");
            }
        }
    }
    prod
}

fn node_has_dev_gain(an: &Analysis<'_>, split: usize) -> bool {
    let Some(pkg) = package_json(an, split) else { return false };
    let has_dev = pkg.get("devDependencies").and_then(|d| d.as_object()).is_some_and(|d| !d.is_empty());
    has_dev && !production_only(an, split)
}

fn node(an: &Analysis<'_>, split: usize, shipped: &[Shipped]) -> Result<RuntimePlan, String> {
    let body = an.stage.body.clone();
    if an.runtime != Runtime::Slim {
        return Err(format!(
            "dockfix has no {} runtime for Node (its Node version would have to match the builder's)",
            an.runtime.as_str()
        ));
    }
    for idx in body.clone() {
        if let Some(Ok(cmds)) = an.cmds(idx) {
            if let Some(c) = cmds.iter().find(|c| matches!(c.name(), "yarn" | "pnpm" | "bun")) {
                return Err(format!("dockfix converts npm builds; this one uses `{}`", c.name()));
            }
        }
    }
    let wd = match &an.state(split).workdir {
        Workdir::Abs(p) => p.clone(),
        _ => return Err("cannot tell the app's directory (no absolute WORKDIR)".into()),
    };
    let pkg = package_json(an, split).ok_or("dockfix cannot read the package.json the build uses")?;
    let dev: BTreeSet<String> =
        pkg.get("devDependencies").and_then(|d| d.as_object()).map(|d| d.keys().cloned().collect()).unwrap_or_default();
    let script = |name: &str| pkg.get("scripts").and_then(|s| s.get(name)).and_then(|s| s.as_str()).map(str::to_string);
    // The start command must not need a devDependency.
    for kind in [Kind::Entrypoint, Kind::Cmd] {
        let Some(idx) = an.last_of(kind) else { continue };
        for words in instruction_words(an.ins(idx)) {
            let arg = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
            let (label, text) = match (words.first().map(String::as_str), arg(1)) {
                (Some("npm"), "start") => ("start".to_string(), script("start")),
                (Some("npm"), "run" | "run-script") => (arg(2).to_string(), script(arg(2))),
                (Some("npx"), _) => ("npx".to_string(), Some(words[1..].join(" "))),
                (Some(w), _) => (w.to_string(), Some(words.join(" "))),
                _ => continue,
            };
            let Some(text) = text else { continue };
            for c in parse_script(&text).commands {
                let first = c.words.iter().map(|w| w.value.as_str()).find(|w| *w != "npx" && !w.starts_with('-'));
                if let Some(f) = first {
                    if dev.contains(f) {
                        return Err(format!(
                            "the start command (`{label}`) runs `{f}`, a devDependency that `npm prune --omit=dev` removes"
                        ));
                    }
                }
            }
        }
    }
    let opt_base = an.option("runtime-base");
    let mut rp = RuntimePlan::new(
        opt_base.unwrap_or(&an.image.text).to_string(),
        opt_base.is_none(),
        an.family,
        an.release.clone(),
    );
    if let Some(b) = opt_base {
        let i = Image::parse(b);
        rp.family = i.family().or(an.family);
        rp.release = i.release().or(an.release.clone());
    }
    let major: Option<u32> = an.image.tag.split(['.', '-']).next().and_then(|m| m.parse().ok());
    let prune = if major.is_some_and(|m| m < 16) { "npm prune --production" } else { "npm prune --omit=dev" };
    if !production_only(an, split) {
        rp.builder_after.push(format!("{} {prune}", an.kw("RUN")));
    }
    // The app directory comes whole from the builder.
    let app = Workdir::Abs(wd.clone());
    let mut chown = String::new();
    for idx in body.start..=split {
        let ins = an.ins(idx);
        if matches!(ins.kind, Kind::Copy | Kind::Add) {
            let dest = an.copy_dest(idx);
            if dest.is_within(&app) == Some(true) {
                rp.skip_copies.insert(idx);
                if chown.is_empty() {
                    if let Some(f) = ins.flag("chown") {
                        chown = format!("{} ", ins.text_of(&f.span));
                    }
                }
            }
        }
    }
    let st = an.state(split);
    if chown.is_empty() && !st.is_root() {
        chown = format!("--chown={} ", st.user.clone().unwrap_or_default());
    }
    rp.artifacts.push(format!("{} --from={{builder}} {chown}{wd} {wd}", an.kw("COPY")));
    rp.comment = "the app with production dependencies only, without the build tools".into();
    rp.title = format!("prunes devDependencies in the builder; the runtime stage copies {wd}");
    let mut ships = Vec::new();
    if !production_only(an, split) && !dev.is_empty() {
        ships.push(format!("the {} devDependencies of package.json stay in the builder", dev.len()));
    }
    let s = ships_text(shipped, an.family);
    if !s.is_empty() {
        ships.push(s);
    }
    rp.ships = ships.join("; ");
    Ok(rp)
}

// ---------------------------------------------------------------- Go

/// Runtime data a Go program commonly reads from next to its sources.
const GO_DATA_DIRS: &[&str] =
    &["templates", "static", "public", "assets", "migrations", "web", "views", "config", "configs", "locales", "i18n"];

fn uses_cgo(an: &Analysis<'_>) -> bool {
    let dir = an.cx.context_dir().to_path_buf();
    for f in ["go.mod", "go.sum"] {
        if let Some(t) = an.cx.read_context(f) {
            if t.contains("mattn/go-sqlite3") || t.contains("confluentinc/confluent-kafka-go") {
                return true;
            }
        }
    }
    let mut stack = vec![(dir, 0usize)];
    let mut seen = 0;
    while let Some((d, depth)) = stack.pop() {
        for e in an.cx.fs.list(&d) {
            if e.name.starts_with('.') || e.name == "vendor" || e.name == "node_modules" {
                continue;
            }
            let p = d.join(&e.name);
            if e.is_dir && depth < 6 {
                stack.push((p, depth + 1));
            } else if e.name.ends_with(".go") {
                seen += 1;
                if seen > 2000 {
                    return false;
                }
                if let Some(b) = an.cx.fs.read(&p) {
                    if String::from_utf8_lossy(&b).contains("import \"C\"") {
                        return true;
                    }
                }
            }
        }
    }
    false
}

/// True when a `.go` file of the build context contains one of `needles`.
fn go_source_has(an: &Analysis<'_>, needles: &[&str]) -> bool {
    let mut stack = vec![(an.cx.context_dir().to_path_buf(), 0usize)];
    let mut seen = 0;
    while let Some((d, depth)) = stack.pop() {
        for e in an.cx.fs.list(&d) {
            if e.name.starts_with('.') || e.name == "vendor" || e.name == "node_modules" {
                continue;
            }
            let p = d.join(&e.name);
            if e.is_dir && depth < 6 {
                stack.push((p, depth + 1));
            } else if e.name.ends_with(".go") {
                seen += 1;
                if seen > 2000 {
                    return false;
                }
                if let Some(b) = an.cx.fs.read(&p) {
                    let t = String::from_utf8_lossy(&b);
                    if needles.iter().any(|n| t.contains(n)) {
                        return true;
                    }
                }
            }
        }
    }
    false
}

/// Why a Go program reads the system's time zone database, unless it
/// embeds one.
fn go_needs_tz(an: &Analysis<'_>, split: usize) -> Option<String> {
    let embedded = go_source_has(an, &["\"time/tzdata\""])
        || (an.stage.body.start..=split).any(|i| {
            matches!(an.cmds(i), Some(Ok(c)) if c.iter().any(|c| c.name() == "go" && c.words.iter().any(|w| w.contains("timetzdata"))))
        });
    if embedded {
        return None;
    }
    if an.stage.body.clone().any(|i| an.ins(i).kind == Kind::Env && an.ins(i).pairs().iter().any(|(k, _)| k == "TZ")) {
        return Some("the image sets TZ".into());
    }
    go_source_has(an, &["time.LoadLocation"]).then(|| "the program calls `time.LoadLocation`".into())
}

fn go(an: &Analysis<'_>, split: usize) -> Result<RuntimePlan, String> {
    let body = an.stage.body.clone();
    let opt_base = an.option("runtime-base").or(match an.runtime {
        Runtime::Distroless => Some("gcr.io/distroless/static-debian12"),
        Runtime::Scratch => Some("scratch"),
        Runtime::Slim => None,
    });
    let (base, family, release, note) = match opt_base {
        Some(b) => {
            let i = Image::parse(b);
            (b.to_string(), i.family(), i.release(), None)
        }
        None => {
            let (img, fam, note) = base::go_runtime(&an.image)
                .ok_or_else(|| format!("dockfix knows no slim runtime for `{}`", an.image.text))?;
            let rel = Image::parse(&img).release();
            (img, Some(fam), rel, note)
        }
    };
    let (scratch, distroless) = is_scratch_like(&base);
    let mut rp = RuntimePlan::new(base, false, family, release);
    rp.no_shell = scratch || distroless;
    if let Some(n) = note {
        rp.notes.push(n);
    }
    let cgo = uses_cgo(an);
    let cgo_set = |idx: usize, c: &Cmd| {
        an.state(idx).env.contains_key("CGO_ENABLED") || c.assignments.iter().any(|a| a.starts_with("CGO_ENABLED="))
    };
    let mut outputs: Vec<String> = Vec::new();
    let mut gobin = false;
    for idx in body.start..=split {
        let Some(Ok(cmds)) = an.cmds(idx) else { continue };
        let ins = an.ins(idx);
        let mut cwd = an.state(idx).workdir.clone();
        for c in cmds {
            if c.name() == "cd" {
                cwd = match c.words.get(1).and_then(|d| an.state(idx).expand(d)) {
                    Some(d) => cwd.join(&d),
                    None => Workdir::Unknown,
                };
                continue;
            }
            if c.name() != "go" || !matches!(c.words.get(1).map(String::as_str), Some("build" | "install")) {
                continue;
            }
            if !cgo && !cgo_set(idx, c) {
                let r = ins.source_range(c.word_spans[0].clone());
                rp.builder_edits.push(Edit::insert(r.start, "CGO_ENABLED=0 "));
            }
            if c.words[1] == "install" {
                gobin = true;
                continue;
            }
            let mut out: Option<String> = None;
            let mut pkgs: Vec<&str> = Vec::new();
            let mut i = 2;
            while i < c.words.len() {
                let w = c.words[i].as_str();
                if w == "-o" {
                    out = c.words.get(i + 1).cloned();
                    i += 2;
                    continue;
                }
                if let Some(v) = w.strip_prefix("-o=") {
                    out = Some(v.to_string());
                } else if w.starts_with('-') {
                    // Flags with a separate value.
                    if matches!(
                        w,
                        "-ldflags"
                            | "-tags"
                            | "-gcflags"
                            | "-asmflags"
                            | "-mod"
                            | "-p"
                            | "-buildmode"
                            | "-pkgdir"
                            | "-modfile"
                            | "-overlay"
                            | "-pgo"
                            | "-trimpath=false"
                    ) {
                        i += 1;
                    }
                } else {
                    pkgs.push(w);
                }
                i += 1;
            }
            let path = match out {
                Some(o) => {
                    let st = an.state(idx);
                    match st.expand(&o) {
                        Some(e) => cwd.join(&e),
                        None => Workdir::Unknown,
                    }
                }
                None => {
                    let name = match pkgs.as_slice() {
                        [] | ["."] => {
                            let gomod = an.context_file_for(&cwd.join("go.mod"));
                            let text = gomod
                                .and_then(|g| an.cx.read_context(&g))
                                .ok_or("dockfix cannot read go.mod to name the binary")?;
                            let module = text
                                .lines()
                                .find_map(|l| l.trim().strip_prefix("module "))
                                .map(|m| m.trim().trim_matches('"').to_string())
                                .ok_or("go.mod names no module")?;
                            let mut parts: Vec<&str> = module.split('/').collect();
                            if parts.len() > 1
                                && parts
                                    .last()
                                    .is_some_and(|l| l.starts_with('v') && l[1..].chars().all(|c| c.is_ascii_digit()))
                            {
                                parts.pop();
                            }
                            parts.last().map(|s| s.to_string()).unwrap_or_default()
                        }
                        [p] if !p.contains("...") => {
                            p.trim_end_matches('/').rsplit('/').next().unwrap_or(p).to_string()
                        }
                        _ => return Err(format!("`{}` builds several packages without `-o`", short(&c.text))),
                    };
                    cwd.join(&name)
                }
            };
            match path {
                Workdir::Abs(p) => outputs.push(p),
                _ => return Err(format!("cannot tell where `{}` writes the binary", short(&c.text))),
            }
        }
    }
    if outputs.is_empty() && !gobin {
        return Err("no `go build` output to copy".into());
    }
    if cgo {
        if rp.no_shell && (scratch || rp.base.contains("static")) {
            return Err(format!("the program uses cgo and needs the C library, which `{}` lacks", rp.base));
        }
        rp.notes.push(
            "the program uses cgo: it stays dynamically linked, and the runtime keeps the builder's distribution"
                .into(),
        );
    }
    // CA certificates and time zones.
    let health_tool = healthcheck_tool(an);
    if scratch {
        rp.prelude.push(format!(
            "{} --from={{builder}} /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
            an.kw("COPY")
        ));
        match go_needs_tz(an, split) {
            Some(why)
                if base::go_runtime(&an.image)
                    .is_some_and(|(img, fam, _)| fam == DistroFamily::Debian && !img.contains("trixie")) =>
            {
                rp.prelude.push(format!("{} --from={{builder}} /usr/share/zoneinfo /usr/share/zoneinfo", an.kw("COPY")));
                rp.notes.push(format!("{why}, and `scratch` has no time zone database: /usr/share/zoneinfo comes from the builder"));
            }
            Some(why) => {
                return Err(format!(
                    "{why}, `scratch` has no time zone database and `{}` has none to copy (embed one with `-tags timetzdata` or `import _ \"time/tzdata\"`)",
                    an.image.text
                ))
            }
            None => rp.notes.push(
                "`scratch` has no time zone database: embed one with `-tags timetzdata` if the program needs it".into(),
            ),
        }
    } else if !distroless {
        let mut pkgs = vec!["ca-certificates".to_string(), "tzdata".to_string()];
        if let Some(t) = &health_tool {
            pkgs.push(t.clone());
        }
        rp.prelude.push(system_install(an, rp.family, &pkgs)?);
    }
    if health_tool.is_some() && rp.no_shell {
        return Err(format!("its HEALTHCHECK needs a tool that `{}` does not have", rp.base));
    }
    let mut seen = BTreeSet::new();
    for o in &outputs {
        if seen.insert(o.clone()) {
            rp.artifacts.push(format!("{} --from={{builder}} {o} {o}", an.kw("COPY")));
        }
    }
    if gobin {
        let gopath = an.state(split).env.get("GOBIN").cloned().unwrap_or_else(|| "/go/bin".into());
        rp.artifacts.push(format!("{} --from={{builder}} {gopath} {gopath}", an.kw("COPY")));
        rp.artifacts.push(format!("{} PATH=\"{gopath}:$PATH\"", an.kw("ENV")));
    }
    // Copies into the build directory stay in the builder; data directories
    // the program may read at run time come along.
    let wd = an.state(split).workdir.clone();
    let mut data = Vec::new();
    for idx in body.start..=split {
        let ins = an.ins(idx);
        if !matches!(ins.kind, Kind::Copy | Kind::Add) || ins.flag("from").is_some() {
            continue;
        }
        let dest = an.copy_dest(idx);
        if dest.is_within(&wd) == Some(true) {
            rp.skip_copies.insert(idx);
            let srcs = ins.arg_values();
            let broad = srcs.len() == 2 && matches!(srcs[0], "." | "./");
            if broad {
                for e in an.cx.fs.list(an.cx.context_dir()) {
                    if e.is_dir && GO_DATA_DIRS.contains(&e.name.as_str()) {
                        if let Workdir::Abs(d) = dest.join(&e.name) {
                            data.push(d);
                        }
                    }
                }
            }
        }
    }
    for d in &data {
        rp.artifacts.push(format!("{} --from={{builder}} {d} {d}", an.kw("COPY")));
    }
    if !data.is_empty() {
        let names: Vec<String> = data.iter().map(|d| d.rsplit('/').next().unwrap_or(d).to_string()).collect();
        rp.notes.push(format!(
            "{} may be read at run time: they are copied too (drop them if they are embedded)",
            code_list(&names)
        ));
    }
    rp.programs = Programs { exact: outputs.clone(), dirs: Vec::new(), bare: false };
    if gobin {
        let gopath = an.state(split).env.get("GOBIN").cloned().unwrap_or_else(|| "/go/bin".into());
        rp.programs.dirs.push(format!("{gopath}/"));
        rp.programs.bare = true;
    }
    if distroless && an.runtime == Runtime::Distroless {
        rp.notes.push(format!(
            "`{}` has CA certificates, time zones and a passwd file (root, nonroot, nobody), and no shell",
            rp.base
        ));
    }
    rp.comment = "the binary only, without the Go toolchain".into();
    let outs: Vec<String> = outputs.iter().cloned().chain(gobin.then(|| "/go/bin".to_string())).collect();
    rp.title = format!("builds in `{}`, runs {} on `{}`", an.image.text, code_list(&outs), rp.base);
    rp.ships = format!(
        "the Go toolchain, the module cache and the sources stay in the builder (`{}` alone is about {} MB)",
        an.image.text,
        if an.image.tag.contains("alpine") { 250 } else { 800 }
    );
    Ok(rp)
}

/// `curl` or `wget` when the HEALTHCHECK uses one.
fn healthcheck_tool(an: &Analysis<'_>) -> Option<String> {
    let idx = an.last_of(Kind::Healthcheck)?;
    instruction_words(an.ins(idx))
        .into_iter()
        .flatten()
        .find(|w| matches!(w.rsplit('/').next(), Some("curl" | "wget")))
        .map(|w| w.rsplit('/').next().unwrap_or(&w).to_string())
}

/// A RUN that installs system packages on a family.
fn system_install(an: &Analysis<'_>, family: Option<DistroFamily>, pkgs: &[String]) -> Result<String, String> {
    let run = an.kw("RUN");
    match family {
        Some(DistroFamily::Debian) => Ok(run_line(
            an.doc,
            &run,
            &[],
            &[
                "apt-get update".into(),
                format!("apt-get install -y --no-install-recommends {}", pkgs.join(" ")),
                "rm -rf /var/lib/apt/lists/*".into(),
            ],
        )),
        Some(DistroFamily::Alpine) => Ok(format!("{run} apk add --no-cache {}", pkgs.join(" "))),
        None => Err("dockfix cannot tell the runtime image's package manager".into()),
    }
}

// ---------------------------------------------------------------- Java

fn java(an: &Analysis<'_>, split: usize) -> Result<RuntimePlan, String> {
    let body = an.stage.body.clone();
    let distroless_java = match an.runtime {
        Runtime::Scratch => return Err("a Java program needs a JVM, which `scratch` does not have".into()),
        Runtime::Distroless if an.option("runtime-base").is_none() => {
            let (jre, _) = base::jre_for(&an.image)
                .ok_or_else(|| format!("dockfix cannot tell the Java version of `{}`", an.image.text))?;
            let major: String =
                jre.split(':').nth(1).unwrap_or("").chars().take_while(|c| c.is_ascii_digit()).collect();
            match major.as_str() {
                "17" | "21" => Some(format!("gcr.io/distroless/java{major}-debian12")),
                _ => {
                    return Err(format!(
                        "the builder has Java {major} (`{}`), and distroless has Java runtimes for 17 and 21 only",
                        an.image.text
                    ))
                }
            }
        }
        _ => None,
    };
    let (base, note) = match an.option("runtime-base").map(str::to_string).or(distroless_java) {
        Some(b) => (b, None),
        None => base::jre_for(&an.image).ok_or_else(|| {
            format!("dockfix knows no JRE image of the same vendor and version as `{}`", an.image.text)
        })?,
    };
    let bi = Image::parse(&base);
    let (scratch, distroless) = is_scratch_like(&base);
    let mut rp = RuntimePlan::new(base.clone(), false, bi.family().or(an.family), bi.release());
    rp.no_shell = scratch || distroless;
    if let Some(n) = note {
        rp.notes.push(n);
    }
    let gradle = (body.start..=split)
        .any(|i| matches!(an.cmds(i), Some(Ok(c)) if c.iter().any(|c| matches!(c.name(), "gradle" | "gradlew"))));
    let wd = an.state(split).workdir.clone();
    // The jar the start command runs.
    let mut jar: Option<Workdir> = None;
    for kind in [Kind::Entrypoint, Kind::Cmd] {
        let Some(idx) = an.last_of(kind) else { continue };
        for words in instruction_words(an.ins(idx)) {
            if let Some(p) = words.iter().position(|w| w == "-jar") {
                if let Some(j) = words.get(p + 1) {
                    let r = an.resolve(idx, j);
                    jar = Some(if j.contains(['*', '$', '?']) {
                        match an.resolve(idx, j.rsplit_once('/').map_or(".", |(d, _)| d)) {
                            Workdir::Abs(d) => Workdir::Abs(d),
                            _ => Workdir::Unknown,
                        }
                    } else {
                        r
                    });
                }
            }
        }
    }
    let artifact = match jar {
        Some(Workdir::Abs(p)) => p,
        Some(_) => return Err("cannot tell which jar the start command runs".into()),
        None => match wd.join(if gradle { "build/libs" } else { "target" }) {
            Workdir::Abs(p) => p,
            _ => return Err("cannot tell where the build writes the jar (no absolute WORKDIR)".into()),
        },
    };
    rp.artifacts.push(format!("{} --from={{builder}} {artifact} {artifact}", an.kw("COPY")));
    for idx in body.start..=split {
        let ins = an.ins(idx);
        if matches!(ins.kind, Kind::Copy | Kind::Add)
            && ins.flag("from").is_none()
            && an.copy_dest(idx).is_within(&wd) == Some(true)
        {
            rp.skip_copies.insert(idx);
        }
    }
    if let Some(tool) = healthcheck_tool(an) {
        if rp.no_shell {
            return Err(format!("its HEALTHCHECK needs `{tool}`, which `{base}` does not have"));
        }
        rp.prelude.push(system_install(an, rp.family, &[tool])?);
    }
    if rp.no_shell {
        rp.base_entrypoint = base.contains("distroless/java");
        rp.programs = Programs { exact: vec!["java".into(), "/usr/bin/java".into()], dirs: Vec::new(), bare: false };
    }
    if an.runtime == Runtime::Distroless {
        rp.notes.push(format!(
            "`{base}` has Debian's OpenJDK runtime of the same major version, at /usr/bin/java, and no shell"
        ));
    }
    rp.comment = "the jar on a JRE, without the JDK and the build tool".into();
    rp.title = format!("builds in `{}`, runs `{artifact}` on `{base}`", an.image.text);
    rp.ships = format!(
        "the JDK, {} and its dependency cache stay in the builder; the runtime has a JRE only",
        if gradle { "Gradle" } else { "Maven" }
    );
    Ok(rp)
}

// ---------------------------------------------------------------- emit

/// Maps the packages of a system install for the runtime. Returns the new
/// command text (None when nothing is left).
#[allow(clippy::too_many_arguments)]
fn map_install(
    an: &Analysis<'_>,
    rp: &RuntimePlan,
    c: &Cmd,
    family: DistroFamily,
    head: &[String],
    packages: &[String],
    removed: &BTreeSet<String>,
    unsure: &mut Vec<String>,
) -> Result<Option<String>, String> {
    if let Some(v) = cmds::apk_virtual(head) {
        if removed.contains(v) {
            return Ok(None);
        }
    }
    if rp.family.is_some_and(|f| f != family) {
        return Err(format!("the runtime image `{}` uses another package manager than `{}`", rp.base, short(&c.text)));
    }
    let mut out: Vec<String> = Vec::new();
    for p in packages {
        let bare = p.split(['=', '~', '>', '<']).next().unwrap_or(p);
        if removed.contains(bare) {
            continue;
        }
        let pkg = match knowledge::build_package(family, bare) {
            Some(bp) => match knowledge::runtime_of(bp, rp.release.as_deref()) {
                None => None,
                Some(_) if matches!(bp.runtime, RuntimeOf::Drop) => None,
                Some(("python3", _)) if an.image.is_python() || !rp.same_base && an.image.is_python() => None,
                Some((l, sure)) => {
                    if !sure {
                        unsure.push(format!("`{bare}` → `{l}`"));
                    }
                    Some(l.to_string())
                }
            },
            None => Some(p.clone()),
        };
        if let Some(pkg) = pkg {
            if !out.contains(&pkg) {
                out.push(pkg);
            }
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    let mut words: Vec<String> = c.assignments.clone();
    let mut skip = false;
    for (i, w) in head.iter().enumerate() {
        if skip {
            skip = false;
            continue;
        }
        if family == DistroFamily::Alpine && (w == "--virtual" || w == "-t") && i > 0 {
            skip = true;
            continue;
        }
        words.push(layout::quote_arg(w));
    }
    words.extend(out);
    Ok(Some(words.join(" ")))
}

/// The runtime lines for one RUN before the split.
fn replay_run(
    an: &Analysis<'_>,
    rp: &RuntimePlan,
    lang: Lang,
    idx: usize,
    unsure: &mut Vec<String>,
) -> Result<Option<String>, String> {
    let Some(Ok(cmds)) = an.cmds(idx) else { return Ok(None) };
    let ins = an.ins(idx);
    let is_build = cmds.iter().any(|c| is_build_step(lang, c) || matches!(c.class, Class::Venv(_) | Class::Installer));
    let removed: BTreeSet<String> = cmds
        .iter()
        .filter_map(|c| match &c.class {
            Class::Pkg(Pkg::Remove(n)) => Some(n.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let mut kept: Vec<(String, bool)> = Vec::new(); // (text, is_aux)
    let mut installs = 0;
    let mut substantive = 0;
    for c in cmds {
        match &c.class {
            Class::Pkg(Pkg::Install { family, head, packages }) => {
                if let Some(t) = map_install(an, rp, c, *family, head, packages, &removed, unsure)? {
                    kept.push((t, false));
                    installs += 1;
                }
            }
            Class::Pkg(Pkg::Update) | Class::Pkg(Pkg::Clean) => kept.push((c.text.clone(), true)),
            Class::Pkg(Pkg::Remove(_)) => {}
            Class::Setup if !is_build => {
                kept.push((c.text.clone(), false));
                substantive += 1;
            }
            Class::Neutral if !is_build && c.name() != "cd" => kept.push((c.text.clone(), true)),
            _ => {}
        }
    }
    if installs == 0 {
        kept.retain(|(_, aux)| !aux);
    }
    if installs + substantive == 0 {
        return Ok(None);
    }
    if rp.no_shell {
        return Err(format!(
            "`{}` (line {}) would have to run in `{}`, which has no shell",
            short(ins.args_text()),
            ins.start_line,
            rp.base
        ));
    }
    let flags: Vec<String> = ins
        .flags
        .iter()
        .filter(|f| {
            f.name() == "mount"
                && f.value().is_some_and(|v| {
                    v.contains("type=cache")
                        && ["/var/cache/apt", "/var/lib/apt", "/etc/apk/cache", "/var/cache/apk"]
                            .iter()
                            .any(|t| v.contains(t))
                })
        })
        .map(|f| ins.text_of(&f.span).to_string())
        .collect();
    let texts: Vec<String> = kept.into_iter().map(|(t, _)| t).collect();
    Ok(Some(run_line(an.doc, &an.kw("RUN"), if installs > 0 { &flags } else { &[] }, &texts)))
}

/// True when a copy of single files before the split is repeated by a
/// broad `COPY . <same place>` after it: the runtime need not copy them twice.
fn covered_later(an: &Analysis<'_>, idx: usize, split: usize) -> bool {
    let ins = an.ins(idx);
    if ins.kind != Kind::Copy || ins.flags.iter().any(|f| !matches!(f.name(), "chown" | "chmod" | "link")) {
        return false;
    }
    let flags = |i: &Instruction| -> Vec<String> { i.flags.iter().map(|f| f.text.clone()).collect() };
    let args = ins.arg_values();
    let Some((dest, srcs)) = args.split_last() else { return false };
    let st = an.state(idx);
    let Some(dest_exp) = st.expand(dest) else { return false };
    let dest_dir = dest_exp.ends_with('/') || srcs.len() > 1 || dest_exp == "." || dest_exp == "./";
    let d = st.workdir.join(&dest_exp);
    let targets: Option<Vec<(String, Workdir)>> = srcs
        .iter()
        .map(|s| {
            let s = s.trim_start_matches("./");
            if s.is_empty() || s.contains(['*', '?', '[', '$']) || s.contains("..") || an.cx.context_has_dir(s) {
                return None;
            }
            let base = s.rsplit('/').next().unwrap_or(s);
            Some((s.to_string(), if dest_dir { d.join(base) } else { d.clone() }))
        })
        .collect();
    let Some(targets) = targets else { return false };
    (split + 1..an.stage.body.end).any(|j| {
        let later = an.ins(j);
        let a = later.arg_values();
        later.kind == Kind::Copy
            && later.flag("from").is_none()
            && a.len() == 2
            && matches!(a[0], "." | "./")
            && !flags(later).iter().any(|f| f.starts_with("--chmod"))
            && targets.iter().all(|(src, t)| &an.copy_dest(j).join(src) == t)
    })
}

fn rewrite_paths(text: &str, venv_bin: &Option<String>) -> String {
    match venv_bin {
        Some(v) => text.replace("/usr/local/bin/", v).replace("/usr/bin/python", &format!("{v}python")),
        None => text.to_string(),
    }
}

/// In-place path rewrites for an instruction after the split.
fn rewrite_edits(ins: &Instruction, venv_bin: &str) -> Vec<Edit> {
    let text = ins.line.text();
    let mut out = Vec::new();
    let args = ins.args_span.clone();
    for pat in ["/usr/local/bin/", "/usr/bin/python"] {
        let mut from = args.start;
        while let Some(p) = text[from..args.end].find(pat) {
            let s = from + p;
            let e = if pat == "/usr/local/bin/" { s + pat.len() } else { s + "/usr/bin/".len() };
            out.push(Edit::replace(ins.source_range(s..e), venv_bin));
            from = s + pat.len();
        }
    }
    out
}

fn emit(
    an: &Analysis<'_>,
    lang: Lang,
    split: usize,
    shipped: &[Shipped],
    what: &str,
    rp: RuntimePlan,
) -> Result<Finding, (String, Option<usize>)> {
    let doc = an.doc;
    let eol = layout::eol(doc);
    let conversions = if rp.no_shell { no_shell_plan(an, &rp)? } else { Vec::new() };
    let converted = |idx: usize| conversions.iter().find(|(i, _, _)| *i == idx);
    let (name_edit, builder, final_name) = name_builder(an);
    let fill = |s: &str| s.replace("{builder}", builder);
    let mut lines: Vec<String> = Vec::new();
    let as_name = final_name.map(|n| format!(" {} {n}", an.kw("AS"))).unwrap_or_default();
    lines.push(format!("# Runtime stage: {}", rp.comment));
    lines.push(format!("{} {}{}{as_name}", an.kw("FROM"), from_flags(an), rp.base));
    let own_entrypoint = an.last_of(Kind::Entrypoint).is_some();
    if rp.base_entrypoint && !own_entrypoint {
        lines.push(format!("{} []", an.kw("ENTRYPOINT")));
    }
    lines.extend(rp.prelude.iter().map(|l| fill(l)));
    let mut unsure = Vec::new();
    let mut artifacts_done = false;
    let artifacts: Vec<String> = rp.artifacts.iter().map(|l| fill(l)).collect();
    for idx in an.stage.body.start..=split {
        let ins = an.ins(idx);
        match ins.kind {
            Kind::Run => {
                if let Some(l) = replay_run(an, &rp, lang, idx, &mut unsure).map_err(|e| (e, Some(idx)))? {
                    lines.push(l);
                }
            }
            Kind::Copy | Kind::Add => {
                if rp.skip_copies.contains(&idx) || covered_later(an, idx, split) {
                    continue;
                }
                if rp.artifacts_early && !artifacts_done && ins.flag("from").is_none() {
                    lines.extend(artifacts.iter().cloned());
                    artifacts_done = true;
                }
                lines.push(source_text(doc, ins));
            }
            Kind::Cmd | Kind::Entrypoint | Kind::Healthcheck => {
                let mut t = source_text(doc, ins);
                if let Some((_, range, json)) = converted(idx) {
                    let (a, b) = (range.start - ins.span.start, range.end - ins.span.start);
                    t = format!("{}{json}{}", &t[..a], &t[b..]);
                }
                lines.push(rewrite_paths(&t, &rp.venv_bin))
            }
            Kind::From => {}
            _ => lines.push(source_text(doc, ins)),
        }
    }
    if !artifacts_done {
        lines.extend(artifacts.iter().cloned());
    }
    // Tail checks for images without a shell.
    if rp.no_shell {
        for idx in split + 1..an.stage.body.end {
            let ins = an.ins(idx);
            if ins.kind == Kind::Run && !ins.json {
                return Err((
                    format!("`{}` runs a shell command, and `{}` has no shell", short(ins.args_text()), rp.base),
                    Some(idx),
                ));
            }
        }
    }
    let mut text = String::new();
    for l in &rp.builder_after {
        text.push_str(l);
        text.push_str(eol);
    }
    text.push_str(eol);
    for l in &lines {
        text.push_str(l);
        text.push_str(eol);
    }
    let mut edits = vec![name_edit];
    edits.extend(rp.builder_edits.iter().cloned());
    edits.push(layout::insert_text_after(doc, split, &text));
    for idx in split + 1..an.stage.body.end {
        let ins = an.ins(idx);
        if let Some((_, range, json)) = converted(idx) {
            edits.push(Edit::replace(range.clone(), rewrite_paths(json, &rp.venv_bin)));
        } else if let Some(v) = &rp.venv_bin {
            if matches!(ins.kind, Kind::Cmd | Kind::Entrypoint | Kind::Healthcheck) {
                edits.extend(rewrite_edits(ins, v));
            }
        }
    }
    let mut notes = rp.notes.clone();
    if !conversions.is_empty() {
        let what: Vec<String> = conversions
            .iter()
            .map(|(i, _, _)| format!("{} (line {})", an.ins(*i).kind.as_str(), an.ins(*i).start_line))
            .collect();
        notes.push(format!(
            "`{}` has no shell: {} {} now in exec form, the same command without `/bin/sh -c` (the program receives signals directly)",
            rp.base,
            list(&what),
            if what.len() == 1 { "is" } else { "are" }
        ));
    }
    if rp.base_entrypoint && !own_entrypoint {
        notes.push(format!(
            "`{}` sets an ENTRYPOINT of its own: `ENTRYPOINT []` clears it so that CMD runs as before",
            rp.base
        ));
    }
    edits.sort_by_key(|e| (e.range.start, e.range.end));

    let kept_dev: Vec<String> =
        shipped.iter().filter(|s| s.unknown_dev && s.runtime.is_none()).map(|s| s.name.clone()).collect();
    if !kept_dev.is_empty() {
        notes.push(format!(
            "dockfix does not know the runtime library of {}: kept in the runtime stage as before",
            code_list(&kept_dev)
        ));
    }
    if !unsure.is_empty() {
        notes.push(format!(
            "the base image does not name its release: the runtime packages chosen ({}) are Debian bookworm's (Ubuntu 22.04's); check them against your release",
            list(&unsure)
        ));
    }
    let base_note = if rp.same_base {
        format!("a runtime stage on the same base (`{}`)", rp.base)
    } else {
        format!("a runtime stage on `{}`", rp.base)
    };
    let why = format!(
        "Compilers, headers and SDKs are needed to build, not to run: in the final image they only add size, pull time and attack surface. A `{builder}` stage keeps them, and {base_note} gets only the result of the build. Everything that defines how the image runs (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, …) is kept, in order. This changes the image's contents by design: check the diff."
    );
    let mut gain = format!("A smaller final image: {}.", rp.ships);
    for n in &notes {
        gain.push_str(&format!(" Note: {n}."));
    }
    let message = format!("single-stage image ships {what} to production");
    Ok(Finding::new(crate::NAME, an.ins(an.stage.from).span.clone(), message)
        .why(why)
        .gain(gain)
        .fix(Fix::unsafe_(format!("Split into `{builder}` + runtime stages: {}", rp.title), edits)))
}

// ---------------------------------------------------------------- no shell

/// What a start command may run on an image without a shell.
#[derive(Debug, Clone, Default)]
pub(crate) struct Programs {
    /// Names or paths known to be there.
    pub exact: Vec<String>,
    /// Directories whose programs are there (a virtualenv's bin/).
    pub dirs: Vec<String>,
    /// Bare names other than well-known system tools are fine (found on a
    /// PATH the image provides, such as the virtualenv's).
    pub bare: bool,
}

/// System programs that an image without a shell or packages does not have.
const SYSTEM_TOOLS: &[&str] = &[
    "sh",
    "bash",
    "ash",
    "dash",
    "zsh",
    "curl",
    "wget",
    "nc",
    "netcat",
    "pg_isready",
    "tini",
    "dumb-init",
    "gosu",
    "su-exec",
    "su",
    "sudo",
    "jq",
    "envsubst",
    "cat",
    "echo",
    "test",
    "[",
    "true",
    "false",
    "sleep",
    "ls",
    "env",
    "nginx",
    "supervisord",
    "cron",
    "crond",
    "node",
    "npm",
    "apt-get",
    "apk",
    "timeout",
    "printf",
    "grep",
    "sed",
    "awk",
];

impl Programs {
    fn allows(&self, prog: &str) -> bool {
        if self.exact.iter().any(|e| e == prog) {
            return true;
        }
        if prog.contains('/') {
            return self
                .dirs
                .iter()
                .any(|d| prog.strip_prefix(d.as_str()).is_some_and(|r| !r.is_empty() && !r.contains('/')));
        }
        self.bare && !SYSTEM_TOOLS.contains(&prog)
    }
}

/// The command part of a CMD, ENTRYPOINT or HEALTHCHECK CMD: its logical
/// span and whether it is in exec form. None for `HEALTHCHECK NONE`.
fn command_span(ins: &Instruction) -> Option<(std::ops::Range<usize>, bool)> {
    match ins.kind {
        Kind::Cmd | Kind::Entrypoint => (!ins.args_span.is_empty()).then(|| (ins.args_span.clone(), ins.json)),
        Kind::Healthcheck => {
            let first = ins.args.first()?;
            if !first.value.eq_ignore_ascii_case("CMD") {
                return None;
            }
            let end = first.span.clone()?.end;
            let rest = &ins.line.text()[end..ins.args_span.end];
            let start = end + (rest.len() - rest.trim_start().len());
            (start < ins.args_span.end).then_some((start..ins.args_span.end, ins.json))
        }
        _ => None,
    }
}

/// The exec-form words of a start command and, for a shell form that can
/// be converted, the replacement (source range, JSON text).
type Converted = (Vec<String>, Option<(std::ops::Range<usize>, String)>);

fn exec_conversion(ins: &Instruction) -> Result<Option<Converted>, String> {
    let Some((span, json)) = command_span(ins) else { return Ok(None) };
    if json {
        let words: Vec<String> = match ins.kind {
            Kind::Healthcheck => ins.args.iter().skip(1).map(|a| a.value.clone()).collect(),
            _ => ins.args.iter().map(|a| a.value.clone()).collect(),
        };
        return Ok(Some((words, None)));
    }
    let text = ins.text_of(&span);
    let words = dockfix_core::execform::exec_words(text)
        .map_err(|e| format!("its shell-form {} `{}` {e}, so it needs `/bin/sh`", ins.kind.as_str(), short(text)))?;
    let json_text = dockfix_core::execform::json_array(&words);
    Ok(Some((words, Some((ins.source_range(span), json_text)))))
}

/// A start command converted to exec form: instruction index, source range
/// of the command, JSON text.
type Conversion = (usize, std::ops::Range<usize>, String);

/// A user or group the runtime image knows: numeric ids everywhere, and
/// distroless's own `root`, `nonroot`, `nobody`.
fn known_account(name: &str, scratch: bool) -> bool {
    name.chars().all(|c| c.is_ascii_digit()) || (!scratch && matches!(name, "root" | "nonroot" | "nobody"))
}

/// Checks of an image without a shell, and the conversions of shell-form
/// start commands (by instruction index). `(why, at)` on failure.
fn no_shell_plan(an: &Analysis<'_>, rp: &RuntimePlan) -> Result<Vec<Conversion>, (String, Option<usize>)> {
    let body = an.stage.body.clone();
    let scratch = Image::parse(&rp.base).name == "scratch";
    let has_cmd = body.clone().any(|i| an.ins(i).kind == Kind::Cmd);
    let has_entrypoint = body.clone().any(|i| an.ins(i).kind == Kind::Entrypoint);
    if !has_cmd && !has_entrypoint {
        return Err((
            "the image starts its base image's default command, which the runtime image does not have".into(),
            Some(an.stage.from),
        ));
    }
    let mut out = Vec::new();
    for idx in body {
        let ins = an.ins(idx);
        let at = Some(idx);
        match ins.kind {
            Kind::Cmd | Kind::Entrypoint | Kind::Healthcheck => {
                let Some((words, conv)) = exec_conversion(ins).map_err(|e| (e, at))? else { continue };
                if ins.kind == Kind::Entrypoint && conv.is_some() && has_cmd {
                    return Err((
                        "its shell-form ENTRYPOINT ignores CMD; in exec form CMD would become its arguments".into(),
                        at,
                    ));
                }
                let prog = words.first().map(String::as_str).unwrap_or("");
                let prog =
                    rp.venv_bin.as_deref().map_or(prog.to_string(), |v| rewrite_paths(prog, &Some(v.to_string())));
                // With an ENTRYPOINT, CMD only gives its arguments.
                let runs = ins.kind != Kind::Cmd || !has_entrypoint;
                let resolved = match an.resolve(idx, &prog) {
                    Workdir::Abs(p) if prog.contains('/') => p,
                    _ => prog.clone(),
                };
                if runs && !rp.programs.allows(&prog) && !rp.programs.allows(&resolved) {
                    return Err((
                        format!("its {} runs `{prog}`, which `{}` does not have", ins.kind.as_str(), rp.base),
                        at,
                    ));
                }
                if let Some((range, text)) = conv {
                    out.push((idx, range, text));
                }
            }
            Kind::User => {
                let u = ins.args_text().trim();
                for part in u.split(':') {
                    if !known_account(part, scratch) {
                        return Err((
                            format!(
                                "it runs as USER `{u}`, which `{}` does not know{}",
                                rp.base,
                                if scratch { " (it has no /etc/passwd)" } else { " (it has root, nonroot and nobody)" }
                            ),
                            at,
                        ));
                    }
                }
            }
            Kind::Copy | Kind::Add => {
                if let Some(f) = ins.flag("chown") {
                    let v = f.value().unwrap_or("");
                    if !v.split(':').all(|p| known_account(p, scratch)) {
                        return Err((format!("`--chown={v}` names an account that `{}` does not have", rp.base), at));
                    }
                }
            }
            Kind::Onbuild => return Err(("it has an ONBUILD trigger".into(), at)),
            _ => {}
        }
    }
    Ok(out)
}
