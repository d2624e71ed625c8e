//! Python installs: pip (and `uv pip`, `pip-sync`), pipenv, poetry, uv and
//! pdm — what they read, whether they install the project itself, and what
//! their manifests pull in from the build context.

use dockfix_core::knowledge::UV_VALUE_OPTS;
use dockfix_core::walk::Workdir;

use crate::commands::{Check, Cmdx, Install, Parsed, Project, Read, Role, Split};
use crate::context::{join, join_within, Checked, Scope};

/// Options of `pip install` that take a value.
const PIP_VALUE_OPTS: &[&str] = &[
    "-i",
    "--index-url",
    "--extra-index-url",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--trusted-host",
    "--src",
    "--upgrade-strategy",
    "--progress-bar",
    "--cache-dir",
    "--log",
    "--log-file",
    "--proxy",
    "--retries",
    "--timeout",
    "--exists-action",
    "--cert",
    "--client-cert",
    "--only-binary",
    "--no-binary",
    "-C",
    "--config-settings",
    "--global-option",
    "--install-option",
    "--report",
    "--python",
    "--root-user-action",
    "--keyring-provider",
    "--use-feature",
    "--use-deprecated",
    "--group",
    "--build-option",
    "--dry-run-report",
    "-p",
    "--index",
    "--index-strategy",
    "--link-mode",
    "--python-platform",
    "--resolution",
    "--prerelease",
    "--exclude-newer",
    "--extra",
    "-d",
    "--dest",
    "-w",
    "--wheel-dir",
];

/// Where the pip verb is when this is a pip invocation (`pip`, `pip3`,
/// `pip3.12`, `python -m pip`, `python3.12 -m pip`, `uv pip`, a venv's pip).
fn pip_verb(words: &[String]) -> Option<usize> {
    let name = words.first()?.rsplit('/').next()?;
    let is = |prefix: &str| {
        name.strip_prefix(prefix).is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    if is("pip") {
        return Some(1);
    }
    if is("python")
        && words.get(1).map(String::as_str) == Some("-m")
        && words
            .get(2)
            .is_some_and(|m| m.strip_prefix("pip").is_some_and(|r| r.chars().all(|c| c.is_ascii_digit() || c == '.')))
    {
        return Some(3);
    }
    if name == "uv" && words.get(1).map(String::as_str) == Some("pip") {
        return Some(2);
    }
    None
}

/// True for an argument that names a local path rather than a package.
pub fn is_local_path(arg: &str) -> bool {
    let a = arg.trim();
    a == "."
        || a.starts_with("./")
        || a.starts_with("../")
        || a.starts_with('/')
        || a.starts_with('~')
        || a.starts_with("file:")
        || a.contains("@ file:")
        || (!a.contains("://")
            && (a.ends_with(".whl") || a.ends_with(".tar.gz") || a.ends_with(".zip") || a.contains('/')))
}

/// The project directory itself (`.`, `./`, `.[extra]`).
fn is_project_dir(arg: &str) -> bool {
    let base = arg.split('[').next().unwrap_or(arg);
    matches!(base, "." | "./")
}

pub fn classify(x: &Cmdx<'_>) -> Option<Role> {
    let w = x.words();
    if let Some(v) = pip_verb(w) {
        return Some(pip(x, v));
    }
    let name = x.cmd.name();
    match name {
        "pip-sync" => Some(pip_sync(x, 1)),
        "pipenv" => Some(pipenv(x)),
        "poetry" => Some(poetry(x)),
        "uv" => Some(uv(x)),
        "pdm" => Some(pdm(x)),
        "virtualenv" => Some(venv(x, 1)),
        _ if name.starts_with("python")
            && w.get(1).map(String::as_str) == Some("-m")
            && matches!(w.get(2).map(String::as_str), Some("venv" | "virtualenv")) =>
        {
            Some(venv(x, 3))
        }
        _ if name.starts_with("python")
            && w.get(1).map(String::as_str) == Some("-m")
            && w.get(2).map(String::as_str) == Some("ensurepip") =>
        {
            Some(Role::neutral())
        }
        _ => None,
    }
}

/// `python -m venv DIR`, `virtualenv DIR`, `uv venv [DIR]`: writes DIR.
fn venv(x: &Cmdx<'_>, start: usize) -> Role {
    let p = Parsed::parse(x.words(), start, &["-p", "--python", "--prompt", "--seed"]);
    let dir = p.args.first().map(|(_, a)| a.as_str()).unwrap_or(".venv");
    Role::Neutral { outputs: vec![x.path(dir)] }
}

fn pip(x: &Cmdx<'_>, verb_at: usize) -> Role {
    let words = x.words();
    let verb = words.get(verb_at).map(String::as_str).unwrap_or("");
    match verb {
        "install" | "download" | "wheel" => {}
        "sync" if words[0].ends_with("uv") => return pip_sync(x, verb_at + 1),
        "compile" => return Role::source(format!("`{}` may read the sources", x.label())),
        _ => return Role::neutral(),
    }
    let label = x.label();
    let mut inst = Install::new("pip", label, x.cwd().clone());
    inst.check = Check::Requirements;
    let mut local: Vec<(usize, String)> = Vec::new();
    let mut editable_flags: Vec<usize> = Vec::new();
    let mut i = verb_at + 1;
    while i < words.len() {
        let a = words[i].as_str();
        let (flag, attached) = crate::commands::flag_parts(a);
        let short_attached = |p: &str| a.strip_prefix(p).filter(|r| !r.is_empty() && !a.starts_with("--"));
        let value = |i: &mut usize| -> Option<String> {
            if let Some(v) = attached {
                return Some(v.to_string());
            }
            *i += 1;
            words.get(*i).cloned()
        };
        match flag {
            "-r" | "--requirement" | "--requirements" | "-c" | "--constraint" | "--constraints" | "--override" => {
                if let Some(v) = value(&mut i) {
                    inst.reads.push(Read::required(x.path(&v)));
                }
            }
            "-e" | "--editable" => {
                let at = i;
                if let Some(v) = value(&mut i) {
                    if is_project_dir(&v) && attached.is_none() {
                        editable_flags.push(at);
                        local.push((i, v));
                    } else if is_local_path(&v) {
                        inst.project = Project::NeedsSource(format!(
                            "it installs `{v}` in editable mode, which needs the sources"
                        ));
                    }
                }
            }
            "-f" | "--find-links" => {
                if let Some(v) = value(&mut i) {
                    if !v.contains("://") {
                        inst.project = Project::NeedsSource(format!("it finds packages in the local directory `{v}`"));
                    }
                }
            }
            "-t" | "--target" | "--prefix" | "--root" | "--src" => {
                if let Some(v) = value(&mut i) {
                    inst.outputs.push(x.path(&v));
                }
            }
            f if PIP_VALUE_OPTS.contains(&f) => {
                value(&mut i);
            }
            _ if short_attached("-r").is_some() || short_attached("-c").is_some() => {
                inst.reads.push(Read::required(x.path(&a[2..])));
            }
            _ if a.starts_with('-') => {}
            _ => {
                if a.contains('$') || a.contains('`') {
                    inst.project = Project::NeedsSource(format!("cannot tell what `{a}` installs"));
                } else if is_project_dir(a) {
                    local.push((i, a.to_string()));
                } else if is_local_path(a) {
                    inst.project = Project::NeedsSource(format!("it installs `{a}` from the build context"));
                }
            }
        }
        i += 1;
    }
    if let (Project::DepsOnly, Some((_, first))) = (&inst.project, local.first()) {
        let editable = !editable_flags.is_empty();
        inst.project = Project::NeedsSource(if editable {
            format!("it installs `{first}` in editable mode, which needs the sources")
        } else {
            format!("it installs `{first}` from the build context")
        });
        // The project's metadata, to tie the install to this copy; a
        // requirements file next to it may give the dependencies.
        for f in ["pyproject.toml", "setup.py", "setup.cfg"] {
            inst.reads.push(Read::optional(x.cwd().join(f)));
        }
        inst.check = Check::PipProject;
        // How the deps-only step reads: the project words replaced by `-r <file>`.
        let mut remove: Vec<usize> = editable_flags;
        remove.extend(local.iter().map(|(k, _)| *k));
        inst.project = match inst.project {
            Project::NeedsSource(why) => Project::Split(Split {
                append: Vec::new(),
                replace: remove.into_iter().map(|k| (k, String::new())).collect(),
                after: x.cmd.text(),
                why,
                safe: false,
            }),
            p => p,
        };
        // The check decides whether the split is possible.
    }
    if inst.reads.is_empty() && inst.project == Project::DepsOnly {
        // `pip install flask gunicorn`: reads nothing from the context.
        return Role::Neutral { outputs: inst.outputs };
    }
    // Configuration it reads from the project: a pip.conf named by
    // PIP_CONFIG_FILE, uv's own uv.toml.
    if let Some(f) = x.var("PIP_CONFIG_FILE").filter(|f| f != "/dev/null") {
        inst.reads.push(Read::optional(x.path(&f)));
    }
    if words[0].ends_with("uv") {
        inst.reads.push(Read::optional(x.cwd().join("uv.toml")));
    }
    Role::Install(inst)
}

/// `pip-sync reqs.txt`, `uv pip sync reqs.txt`: positional requirement files.
fn pip_sync(x: &Cmdx<'_>, start: usize) -> Role {
    let p = Parsed::parse(x.words(), start, PIP_VALUE_OPTS);
    let mut inst = Install::new("pip", x.label(), x.cwd().clone());
    inst.check = Check::Requirements;
    let files: Vec<&str> = p.args.iter().map(|(_, a)| a.as_str()).collect();
    if files.is_empty() {
        inst.reads.push(Read::required(x.cwd().join("requirements.txt")));
    }
    for f in files {
        inst.reads.push(Read::required(x.path(f)));
    }
    Role::Install(inst)
}

fn pipenv(x: &Cmdx<'_>) -> Role {
    let w = x.words();
    let p = Parsed::parse(
        w,
        1,
        &["--python", "--pypi-mirror", "--categories", "-r", "--requirements", "--extra-pip-args", "-i", "--index"],
    );
    let verb = p.args.first().map(|(_, a)| a.as_str()).unwrap_or("");
    if p.args.is_empty() {
        return Role::neutral();
    }
    if !matches!(verb, "install" | "sync") {
        return Role::source(format!("`{}` may read the sources", x.label()));
    }
    let pipfile = match x.var("PIPENV_PIPFILE") {
        Some(f) => x.path(&f),
        None => x.cwd().join("Pipfile"),
    };
    let dir = parent(&pipfile);
    let mut inst = Install::new("pipenv", x.label(), dir.clone());
    inst.reads.push(Read::required(pipfile.clone()));
    inst.reads.push(Read::optional(sibling(&pipfile, ".lock")));
    inst.outputs.push(dir.join(".venv"));
    inst.check = Check::Pipfile;
    let pkgs: Vec<&str> = p.args.iter().skip(1).map(|(_, a)| a.as_str()).collect();
    if let Some(l) = pkgs.iter().find(|a| is_local_path(a)) {
        inst.project = Project::NeedsSource(format!("it installs `{l}` from the build context"));
    } else if !pkgs.is_empty() || p.has(&["-r", "--requirements"]) {
        inst.writes_manifest = Some(format!("`{}` adds packages to the Pipfile", x.label()));
    }
    if p.has(&["-e", "--editable"]) {
        inst.project = Project::NeedsSource("it installs a package in editable mode".into());
    }
    Role::Install(inst)
}

fn parent(p: &Workdir) -> Workdir {
    match p {
        Workdir::Abs(s) => {
            Workdir::Abs(s.rsplit_once('/').map(|(d, _)| if d.is_empty() { "/" } else { d }).unwrap_or("/").to_string())
        }
        Workdir::Base(s) => Workdir::Base(s.rsplit_once('/').map(|(d, _)| d).unwrap_or("").to_string()),
        Workdir::Unknown => Workdir::Unknown,
    }
}

fn sibling(p: &Workdir, suffix: &str) -> Workdir {
    match p {
        Workdir::Abs(s) => Workdir::Abs(format!("{s}{suffix}")),
        Workdir::Base(s) => Workdir::Base(format!("{s}{suffix}")),
        Workdir::Unknown => Workdir::Unknown,
    }
}

const POETRY_VALUE_OPTS: &[&str] =
    &["-E", "--extras", "--with", "--without", "--only", "-C", "--directory", "-P", "--project"];

fn poetry(x: &Cmdx<'_>) -> Role {
    let w = x.words();
    let p = Parsed::parse(w, 1, POETRY_VALUE_OPTS);
    let Some((verb_at, verb)) = p.args.first().cloned() else {
        return Role::neutral();
    };
    let dir = match p.value(&["-C", "--directory", "-P", "--project"]) {
        Some(d) => x.path(d),
        None => x.cwd().clone(),
    };
    match verb.as_str() {
        "install" | "sync" => {}
        "config" => {
            return Role::Neutral {
                outputs: if p.has(&["--local"]) { vec![dir.join("poetry.toml")] } else { Vec::new() },
            }
        }
        "self" | "about" | "cache" | "--version" => return Role::neutral(),
        "env" => return Role::Neutral { outputs: vec![dir.join(".venv")] },
        _ => return Role::source(format!("`{}` may read the sources", x.label())),
    }
    let mut inst = Install::new("poetry", x.label(), dir).with_known_files("poetry");
    inst.check = Check::Pyproject;
    if p.has(&["--only-root"]) {
        return Role::source(format!("`{}` installs the project, which needs the sources", x.label()));
    }
    if p.has(&["--no-root"]) {
        return Role::Install(inst);
    }
    // `--no-root` before the sources, `--only-root` after them. `--only-root`
    // refuses group selectors (and needs Poetry 1.2); an older Poetry repeats
    // the whole command, which then finds the dependencies installed.
    let after = if x.facts.old_poetry {
        x.cmd.text()
    } else {
        let mut drop: Vec<usize> = Vec::new();
        for (k, name, v) in &p.opts {
            let grouping = matches!(name.as_str(), "--with" | "--without" | "--only");
            if grouping && v.is_some() && !w[*k].contains('=') {
                drop.push(k + 1);
            }
            if grouping
                || matches!(name.as_str(), "--all-groups" | "--sync" | "--no-dev" | "--dev-only" | "--remove-untracked")
            {
                drop.push(*k);
            }
        }
        let _ = verb_at;
        x.rewrite(|i, _| !drop.contains(&i), &["--only-root"])
    };
    inst.project = Project::Split(Split {
        append: vec!["--no-root".into()],
        replace: Vec::new(),
        after,
        why: format!("`{}` also installs the project itself, which needs the sources", x.label()),
        safe: true,
    });
    Role::Install(inst)
}

fn uv(x: &Cmdx<'_>) -> Role {
    let w = x.words();
    let p = Parsed::parse(w, 1, UV_VALUE_OPTS);
    let Some((_, verb)) = p.args.first().cloned() else {
        return Role::neutral();
    };
    let dir = match p.value(&["--project", "--directory"]) {
        Some(d) => x.path(d),
        None => x.cwd().clone(),
    };
    match verb.as_str() {
        "sync" => {}
        "venv" => return venv(x, 2),
        "tool" | "python" | "self" | "cache" | "help" => return Role::neutral(),
        _ => return Role::source(format!("`{}` may read the sources", x.label())),
    }
    let mut inst = Install::new("uv", x.label(), dir.clone()).with_known_files("uv");
    inst.check = Check::Pyproject;
    if let Some(env) = x.var("UV_PROJECT_ENVIRONMENT") {
        inst.outputs = vec![x.path(&env)];
    }
    if let Some(f) = p.value(&["--config-file"]) {
        inst.reads.push(Read::required(x.path(f)));
    }
    if let Some(f) = p.values(&["-f", "--find-links"]).find(|v| !v.contains("://")) {
        inst.project = Project::NeedsSource(format!("it finds packages in the local directory `{f}`"));
        return Role::Install(inst);
    }
    if p.has(&["--script"]) {
        return Role::source(format!("`{}` reads a script from the sources", x.label()));
    }
    if p.has(&["--no-install-project", "--no-install-workspace", "--only-group"]) {
        return Role::Install(inst);
    }
    inst.project = Project::Split(Split {
        append: vec!["--no-install-project".into()],
        replace: Vec::new(),
        after: x.cmd.text(),
        why: format!("`{}` also installs the project itself, which needs the sources", x.label()),
        safe: true,
    });
    Role::Install(inst)
}

fn pdm(x: &Cmdx<'_>) -> Role {
    let w = x.words();
    let p = Parsed::parse(w, 1, &["-G", "--group", "-L", "--lockfile", "-p", "--project", "--venv", "-k", "--skip"]);
    let Some((_, verb)) = p.args.first().cloned() else {
        return Role::neutral();
    };
    let dir = match p.value(&["-p", "--project"]) {
        Some(d) => x.path(d),
        None => x.cwd().clone(),
    };
    match verb.as_str() {
        "install" | "sync" => {}
        "config" => {
            return Role::Neutral {
                outputs: if p.has(&["-l", "--local"]) { vec![dir.join("pdm.toml")] } else { Vec::new() },
            }
        }
        "self" | "cache" | "venv" | "python" | "py" => return Role::neutral(),
        _ => return Role::source(format!("`{}` may read the sources", x.label())),
    }
    let mut inst = Install::new("pdm", x.label(), dir).with_known_files("pdm");
    inst.check = Check::Pyproject;
    if let Some(l) = p.value(&["-L", "--lockfile"]) {
        inst.reads.push(Read::required(x.path(l)));
    }
    if p.has(&["--no-self"]) {
        return Role::Install(inst);
    }
    inst.project = Project::Split(Split {
        append: vec!["--no-self".into()],
        replace: Vec::new(),
        after: x.cmd.text(),
        why: format!("`{}` also installs the project itself, which needs the sources", x.label()),
        safe: true,
    });
    Role::Install(inst)
}

/// One requirements file: the files it includes (`-r`, `-c`, relative to
/// its own directory) and, if any, why it needs the sources.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    pub includes: Vec<String>,
    pub needs_source: Option<String>,
}

/// Parses a requirements file.
pub fn parse_requirements(text: &str) -> Requirements {
    let mut out = Requirements::default();
    // Join continuation lines first.
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    for raw in joined.lines() {
        let line = match raw.find(" #") {
            Some(p) => &raw[..p],
            None => raw,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let first = parts.next().unwrap_or_default();
        let (flag, attached) = match first.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (first, None),
        };
        let value = attached.or_else(|| parts.next().map(str::to_string));
        match flag {
            "-r" | "--requirement" | "-c" | "--constraint" => {
                if let Some(v) = value {
                    out.includes.push(v);
                }
            }
            "-e" | "--editable" => {
                if value.as_deref().is_some_and(is_local_path) {
                    out.needs_source = Some(format!("it lists `{line}`, which needs the sources"));
                }
            }
            "-f" | "--find-links" => {
                if value.as_deref().is_some_and(|v| !v.contains("://")) {
                    out.needs_source = Some(format!("it finds packages in a local directory (`{line}`)"));
                }
            }
            f if f.starts_with("-r") && f.len() > 2 && !f.starts_with("--") => out.includes.push(f[2..].to_string()),
            f if f.starts_with("-c") && f.len() > 2 && !f.starts_with("--") => out.includes.push(f[2..].to_string()),
            f if f.starts_with('-') => {}
            _ => {
                let spec = line.split(';').next().unwrap_or(line).trim();
                if is_local_path(spec) && !spec.contains("://") || spec.contains("file:") {
                    out.needs_source = Some(format!("it lists the local path `{spec}`"));
                }
            }
        }
    }
    out
}

/// Requirement files and the files they include, in the order pip meets them.
pub fn check_requirements(scope: &Scope<'_>, inst: &Install) -> Result<Checked, String> {
    let _ = inst;
    let mut files: Vec<String> = scope.required.clone();
    let mut queue: Vec<String> = files.clone();
    let mut seen: Vec<String> = Vec::new();
    while let Some(f) = queue.pop() {
        if seen.contains(&f) {
            continue;
        }
        seen.push(f.clone());
        let Some(text) = scope.view.read(&f) else {
            return Err(scope.missing(&f));
        };
        let req = parse_requirements(&text);
        if let Some(why) = req.needs_source {
            return Err(format!("`{f}`: {why}"));
        }
        let dir = f.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        for inc in req.includes {
            if inc.starts_with('/') {
                return Err(format!("`{f}` includes `{inc}` by absolute path"));
            }
            let p = match join_within(dir, &inc) {
                Some(p) if inc.split('/').all(|c| c != "..") => p,
                _ => return Err(format!("`{f}` includes `{inc}`, outside the copied directory")),
            };
            if !scope.copy_dir.is_empty() && !p.starts_with(scope.copy_dir) {
                return Err(format!("`{f}` includes `{inc}`, outside the copied directory"));
            }
            files.push(p.clone());
            queue.push(p);
        }
    }
    let extra = files.into_iter().filter(|f| !scope.required.contains(f)).collect();
    Ok(Checked { extra, ..Checked::default() })
}

/// `pip install .`: a requirements file next to the project can give the
/// dependencies; then the install splits (as an unsafe fix).
pub fn check_pip_project(scope: &Scope<'_>, inst: &Install) -> Result<Checked, String> {
    let Project::Split(split) = &inst.project else {
        return check_requirements(scope, inst);
    };
    // Requirement files the command already names.
    let named: Vec<String> = scope.required.clone();
    let mut split = split.clone();
    let mut extra = Vec::new();
    // Constraint files alone (`pip install -c constraints.txt .`) install
    // nothing: the deps-only step needs a requirements file too.
    if named.is_empty() || !names_requirements(&inst.label) {
        let found = ["requirements.lock", "requirements.txt"]
            .iter()
            .map(|f| join(&scope.dir, f))
            .find(|f| scope.view.is_file(f));
        let Some(req) = found else {
            return Err(format!("{}, and no requirements file gives its dependencies", split.why));
        };
        let rel = req.strip_prefix(&format!("{}/", scope.dir)).unwrap_or(&req).to_string();
        // The first project word becomes `-r <file>`.
        if let Some(first) = split.replace.iter_mut().max_by_key(|(k, _)| *k) {
            first.1 = format!("-r {rel}");
        }
        extra.push(req);
        split.why = format!(
            "{}; {rel} gives its dependencies, but may pin other versions or list other packages than the project declares",
            split.why
        );
    } else {
        split.why =
            format!("{}; the requirement files it names are installed first, in their own resolution", split.why);
    }
    let sub = Scope { required: named.into_iter().chain(extra.iter().cloned()).collect(), ..scope.clone() };
    let checked = check_requirements(&sub, inst)?;
    extra.extend(checked.extra);
    // The project's metadata is for the project step, after the sources.
    let skip = scope
        .files
        .iter()
        .filter(|f| ["pyproject.toml", "setup.py", "setup.cfg"].iter().any(|m| f.ends_with(m)))
        .cloned()
        .collect();
    Ok(Checked { extra, skip, project: Some(Project::Split(split)), ..Checked::default() })
}

/// The command names a requirements file (`-r`), not only constraints (`-c`).
fn names_requirements(label: &str) -> bool {
    label.split_whitespace().any(|w| {
        matches!(w, "-r" | "--requirement" | "--requirements")
            || w.starts_with("--requirement=")
            || w.starts_with("--requirements=")
            || (w.starts_with("-r") && !w.starts_with("--") && w.len() > 2)
    })
}

/// poetry, uv, pdm: local path dependencies and workspaces in
/// `pyproject.toml`, and projects that are not installed at all.
pub fn check_pyproject(scope: &Scope<'_>, inst: &Install) -> Result<Checked, String> {
    let f = join(&scope.dir, "pyproject.toml");
    let Some(text) = scope.view.read(&f) else { return Err(scope.missing(&f)) };
    let doc: toml::Table = text.parse().map_err(|_| format!("`{f}` cannot be read as TOML"))?;
    let tool = doc.get("tool").and_then(|t| t.as_table());
    let tool_of = |name: &str| tool.and_then(|t| t.get(name)).and_then(|t| t.as_table());
    // PEP 621 / PEP 735 dependency strings.
    let mut strings: Vec<&str> = Vec::new();
    if let Some(project) = doc.get("project").and_then(|p| p.as_table()) {
        collect_strings(project.get("dependencies"), &mut strings);
        if let Some(opt) = project.get("optional-dependencies").and_then(|o| o.as_table()) {
            for v in opt.values() {
                collect_strings(Some(v), &mut strings);
            }
        }
    }
    if let Some(groups) = doc.get("dependency-groups").and_then(|g| g.as_table()) {
        for v in groups.values() {
            collect_strings(Some(v), &mut strings);
        }
    }
    if let Some(dev) = tool_of("pdm").and_then(|p| p.get("dev-dependencies")).and_then(|d| d.as_table()) {
        for v in dev.values() {
            collect_strings(Some(v), &mut strings);
        }
    }
    for s in strings {
        let spec = s.trim_start_matches("-e").trim();
        if spec.contains("file:")
            || spec.contains("${PROJECT_ROOT}")
            || is_local_path(spec.split(';').next().unwrap_or(spec).trim())
                && !spec.contains("://")
                && !spec.contains(' ')
                && spec.contains('/')
        {
            return Err(format!("`{f}` has the local path dependency `{s}`"));
        }
    }
    let mut project = None;
    match inst.manager {
        "poetry" => {
            let poetry = tool_of("poetry");
            let mut tables: Vec<(&str, &toml::Table)> = Vec::new();
            if let Some(p) = poetry {
                for key in ["dependencies", "dev-dependencies"] {
                    if let Some(t) = p.get(key).and_then(|t| t.as_table()) {
                        tables.push((key, t));
                    }
                }
                if let Some(groups) = p.get("group").and_then(|g| g.as_table()) {
                    for g in groups.values() {
                        if let Some(t) = g.get("dependencies").and_then(|t| t.as_table()) {
                            tables.push(("group", t));
                        }
                    }
                }
                if p.get("package-mode").and_then(|v| v.as_bool()) == Some(false) {
                    project = Some(Project::DepsOnly);
                }
            }
            for (_, t) in tables {
                for (name, v) in t {
                    if has_path(v) {
                        return Err(format!("`{f}` has the local path dependency `{name}`"));
                    }
                }
            }
        }
        "uv" => {
            let uvt = tool_of("uv");
            if uvt.and_then(|u| u.get("workspace")).is_some() {
                return Err(format!("`{f}` declares a uv workspace: every member's pyproject.toml is read too"));
            }
            if let Some(sources) = uvt.and_then(|u| u.get("sources")).and_then(|s| s.as_table()) {
                for (name, v) in sources {
                    if has_path(v) {
                        return Err(format!("`{f}` has the local path dependency `{name}`"));
                    }
                    if v.get("workspace").and_then(|w| w.as_bool()) == Some(true) {
                        return Err(format!("`{f}` takes `{name}` from the workspace"));
                    }
                }
            }
            let package = uvt.and_then(|u| u.get("package")).and_then(|p| p.as_bool());
            if package == Some(false) || (package.is_none() && doc.get("build-system").is_none()) {
                // A virtual project: uv installs its dependencies only.
                project = Some(Project::DepsOnly);
            }
        }
        "pdm" if tool_of("pdm").and_then(|p| p.get("distribution")).and_then(|d| d.as_bool()) == Some(false) => {
            project = Some(Project::DepsOnly);
        }
        _ => {}
    }
    Ok(Checked { project, ..Checked::default() })
}

fn collect_strings<'a>(v: Option<&'a toml::Value>, out: &mut Vec<&'a str>) {
    if let Some(arr) = v.and_then(|v| v.as_array()) {
        out.extend(arr.iter().filter_map(|s| s.as_str()));
    }
}

/// A dependency table entry (or a list of them) with a `path`.
fn has_path(v: &toml::Value) -> bool {
    match v {
        toml::Value::Table(t) => t.contains_key("path") || t.contains_key("file"),
        toml::Value::Array(a) => a.iter().any(has_path),
        _ => false,
    }
}

/// pipenv: local path packages in the Pipfile.
pub fn check_pipfile(scope: &Scope<'_>, inst: &Install) -> Result<Checked, String> {
    let Some(f) = scope.files.first() else { return Err(format!("`{}` has no Pipfile", inst.label)) };
    let Some(text) = scope.view.read(f) else { return Err(scope.missing(f)) };
    let doc: toml::Table = text.parse().map_err(|_| format!("`{f}` cannot be read as TOML"))?;
    for (section, v) in &doc {
        if matches!(section.as_str(), "source" | "requires" | "pipenv" | "scripts") {
            continue;
        }
        if let Some(t) = v.as_table() {
            for (name, spec) in t {
                if has_path(spec) {
                    return Err(format!("`{f}` has the local path package `{name}`"));
                }
            }
        }
    }
    Ok(Checked::default())
}

/// Poetry pinned before 1.2 anywhere in the file (`POETRY_VERSION=1.1.15`,
/// `pip install poetry==1.1.13`, the installer's `--version 1.1.4`).
pub fn old_poetry_pin(text: &str) -> bool {
    let old = |after: &str| {
        let v = after.trim_start_matches(['=', ':', ' ', '"', '\'', '@', '\t']);
        let version: String = v.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let mut parts = version.split('.').filter_map(|s| s.parse::<u32>().ok());
        matches!((parts.next(), parts.next()), (Some(0), _) | (Some(1), Some(0..=1)))
    };
    let mentions_poetry = |l: &&str| l.as_bytes().windows(6).any(|w| w.eq_ignore_ascii_case(b"poetry"));
    text.lines().filter(mentions_poetry).map(str::to_ascii_lowercase).any(|l| {
        let mut hits = Vec::new();
        for key in ["poetry_version", "poetry==", "poetry@"] {
            if let Some(p) = l.find(key) {
                hits.push(&l[p + key.len()..]);
            }
        }
        if l.contains("python-poetry.org") || l.contains("get-poetry.py") {
            if let Some(p) = l.find("--version") {
                hits.push(&l[p + 9..]);
            }
        }
        hits.into_iter().any(old)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{Cmd, StageFacts};
    use dockfix_core::walk::State;
    use std::collections::BTreeMap;

    fn st() -> State {
        State { workdir: Workdir::Abs("/app".into()), user: None, env: BTreeMap::new(), args: BTreeMap::new() }
    }

    fn role(s: &str) -> Option<Role> {
        let words: Vec<String> = s.split(' ').map(str::to_string).collect();
        let cmd = Cmd {
            raw: words.clone(),
            words,
            assigns: Vec::new(),
            spans: Vec::new(),
            span: None,
            redirects: Vec::new(),
            cwd: Workdir::Abs("/app".into()),
            before: None,
            state_change: false,
            piped_download: false,
        };
        let state = st();
        let facts = StageFacts::default();
        classify(&Cmdx { cmd: &cmd, state: &state, facts: &facts })
    }

    fn inst(s: &str) -> Install {
        match role(s) {
            Some(Role::Install(i)) => i,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn pip_reads_requirements() {
        let i = inst("pip install --no-cache-dir -r requirements.txt -c constraints.txt");
        let reads: Vec<_> = i.reads.iter().map(|r| r.path.clone()).collect();
        assert_eq!(reads, [Workdir::Abs("/app/requirements.txt".into()), Workdir::Abs("/app/constraints.txt".into())]);
        assert_eq!(i.project, Project::DepsOnly);
        let i = inst("python3 -m pip install --requirement=/tmp/r.txt");
        assert_eq!(i.reads[0].path, Workdir::Abs("/tmp/r.txt".into()));
        assert!(matches!(inst("pip install -e .").project, Project::Split(_)));
        assert!(matches!(inst("pip3 install .").project, Project::Split(_)));
        assert!(matches!(inst("pip install ./libs/x").project, Project::NeedsSource(_)));
        assert!(matches!(role("pip install -i https://x/simple flask==3.0"), Some(Role::Neutral { .. })));
        assert!(matches!(role("pip freeze"), Some(Role::Neutral { .. })));
        assert_eq!(inst("uv pip install --system -r requirements.txt").manager, "pip");
        assert_eq!(inst("uv pip sync requirements.lock").reads[0].path, Workdir::Abs("/app/requirements.lock".into()));
    }

    #[test]
    fn python_managers() {
        let i = inst("poetry install --no-interaction --without dev");
        let Project::Split(s) = &i.project else { panic!() };
        assert_eq!(s.append, ["--no-root"]);
        assert_eq!(s.after, "poetry install --no-interaction --only-root");
        assert_eq!(inst("poetry install --no-root").project, Project::DepsOnly);
        assert!(matches!(role("poetry install --only-root"), Some(Role::Source { .. })));
        assert!(matches!(role("poetry config virtualenvs.create false"), Some(Role::Neutral { .. })));
        let i = inst("uv sync --frozen");
        let Project::Split(s) = &i.project else { panic!() };
        assert_eq!(s.after, "uv sync --frozen");
        assert_eq!(inst("uv sync --locked --no-install-project").project, Project::DepsOnly);
        assert_eq!(inst("pdm install --prod --no-self").project, Project::DepsOnly);
        let i = inst("pipenv install --deploy --system");
        assert_eq!(i.reads[0].path, Workdir::Abs("/app/Pipfile".into()));
        assert_eq!(i.reads[1].path, Workdir::Abs("/app/Pipfile.lock".into()));
        assert!(inst("pipenv install gunicorn").writes_manifest.is_some());
        assert!(matches!(role("python -m venv /opt/venv"), Some(Role::Neutral { .. })));
    }

    #[test]
    fn requirements_files() {
        let r = parse_requirements("flask==3.0  # web\n-r base.txt\n--constraint=c.txt\nrequests \\\n  >=2\n");
        assert_eq!(r.includes, ["base.txt", "c.txt"]);
        assert!(r.needs_source.is_none());
        assert!(parse_requirements("-e .\n").needs_source.is_some());
        assert!(parse_requirements("./libs/mylib\n").needs_source.is_some());
        assert!(parse_requirements("pkg @ file:///src/pkg\n").needs_source.is_some());
        assert!(parse_requirements("-e git+https://github.com/a/b#egg=b\n").needs_source.is_none());
        assert!(parse_requirements("pkg @ https://example.com/pkg-1.0.tar.gz\n").needs_source.is_none());
    }

    #[test]
    fn poetry_pins() {
        assert!(old_poetry_pin("ENV POETRY_VERSION=1.1.15"));
        assert!(old_poetry_pin("RUN pip install poetry==1.1.13"));
        assert!(old_poetry_pin("RUN curl -sSL https://install.python-poetry.org | python3 - --version 1.1.4"));
        assert!(!old_poetry_pin("RUN pip install poetry==1.8.3"));
        assert!(!old_poetry_pin("RUN pip install poetry"));
    }
}
