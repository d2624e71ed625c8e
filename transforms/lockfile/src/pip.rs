//! pip (and `uv pip`): the project installed with `--no-deps` after a lock
//! that covers its dependencies; a lock that is in the context but not
//! installed gets its own step before the source copies; requirement files
//! that pin nothing, and projects without any lock, are reported.

use dockfix_core::layout;
use dockfix_core::walk::Workdir;
use dockfix_core::{Finding, Fix};
use dockfix_syntax::Kind;

use crate::context::{clean, join};
use crate::image::read_copy;
use crate::pep440::{satisfies, Requirement};
use crate::python::{self, ProjectArg, Tool};
use crate::reqs::{Entry, ReqFile};
use crate::{dir_of, join_and, keyword, one_line, same_state, At, Scan, NAME};

const REQ_FLAGS: &[&str] = &["-r", "--requirement", "--requirements"];
const CONSTRAINT_FLAGS: &[&str] = &["-c", "--constraint", "--constraints"];

pub fn check(scan: &mut Scan<'_>, at: &At<'_>) {
    if at.py.verb_name != "install" {
        return;
    }
    match python::pip_project(&at.py) {
        Some(proj) => project_install(scan, at, &proj),
        None => requirements_install(scan, at),
    }
}

/// Requirement files read, with what they include.
#[derive(Debug, Default)]
pub struct Installed {
    /// Context paths of the requirement files, in order.
    pub files: Vec<String>,
    pub entries: Vec<Entry>,
    /// Pins from constraint files.
    pub pins: Vec<Entry>,
    /// Context paths of the constraint files.
    pub constraint_files: Vec<String>,
    /// Each requirement file's own entries.
    pub per_file: Vec<(String, Vec<Entry>)>,
    /// Every requirement file is a complete lock: why, per file.
    pub evidence: Vec<Option<String>>,
}

/// Reads the `-r`/`-c` files of a pip command (and the files they
/// include), as the context has them. `None` when one cannot be read.
fn read_files(scan: &Scan<'_>, at: &At<'_>, cmd: &crate::run::Cmd, py: &python::Py, out: &mut Installed) -> Option<()> {
    let mut queue: Vec<(bool, String)> = Vec::new();
    let state = at.site.state;
    for (flags, constraint) in [(REQ_FLAGS, false), (CONSTRAINT_FLAGS, true)] {
        for (_, v) in py.p.values(flags) {
            let path = cmd.cwd.join(&state.expand(&v)?);
            let prov = at.provider(scan, &path)?;
            queue.push((constraint, prov.file));
        }
    }
    if py.verb_name == "sync" {
        // `uv pip sync a.txt`, `pip-sync`: positional requirement files.
        for (_, v) in py.args() {
            let prov = at.provider(scan, &cmd.cwd.join(&state.expand(v)?))?;
            queue.push((false, prov.file));
        }
    }
    let mut seen: Vec<String> = Vec::new();
    while let Some((constraint, file)) = queue.pop() {
        if seen.contains(&file) {
            continue;
        }
        seen.push(file.clone());
        if file.ends_with(".toml") || file.ends_with(".cfg") || file.ends_with(".py") {
            return None;
        }
        let text = scan.view.read(&file)?;
        let r = ReqFile::parse(&text);
        if r.local.is_some() {
            return None;
        }
        for (c, inc) in &r.includes {
            queue.push((constraint || *c, join(dir_of(&file), inc)));
        }
        if constraint {
            out.pins.extend(r.entries.iter().cloned());
            out.constraint_files.push(file);
        } else {
            out.evidence.push(r.lock_evidence(&file));
            out.per_file.push((file.clone(), r.entries.clone()));
            out.files.push(file);
            out.entries.extend(r.entries.iter().cloned());
        }
    }
    Some(())
}

/// `pip install -r requirements.txt` with requirements nothing pins.
fn requirements_install(scan: &mut Scan<'_>, at: &At<'_>) {
    let py = &at.py;
    let named = py.p.values(REQ_FLAGS);
    if named.is_empty() {
        return;
    }
    // `uv pip install -r pyproject.toml`: the project's dependencies, unlocked.
    if let Some((_, v)) = named.iter().find(|(_, v)| v.ends_with("pyproject.toml")) {
        let Some(expanded) = at.site.state.expand(v) else { return };
        let Some(prov) = at.provider(scan, &at.cmd.cwd.join(&expanded)) else { return };
        let dir = dir_of(&prov.file).to_string();
        if !scan.reported.insert((at.site.stage.index, "pyproject", dir.clone())) {
            return;
        }
        let label = at.label();
        let lock = [
            ("uv.lock", "uv export --frozen --no-dev --no-emit-project -o requirements.lock"),
            ("poetry.lock", "poetry export -o requirements.lock"),
            ("pdm.lock", "pdm export --prod -o requirements.lock"),
        ]
        .into_iter()
        .map(|(l, cmd)| (join(&dir, l), cmd))
        .find(|(l, _)| scan.view.is_file(l));
        let (message, why, fix) = match lock {
            Some((l, export)) => (
                format!("`{label}` resolves pyproject.toml again and ignores {l}"),
                format!(
                    "`-r pyproject.toml` installs the dependencies pyproject.toml declares, resolved from the index on every build of this step; {l} pins them, but this install does not read it. Export the lock to a requirements file (`{export}`), commit it and install `-r requirements.lock`."
                ),
                Fix::display_only(format!("Export {l} with `{export}` and install requirements.lock")),
            ),
            None => (
                format!("`{label}` resolves the dependencies on every build: there is no lockfile"),
                "`-r pyproject.toml` installs the dependencies pyproject.toml declares, resolved from the index on every build of this step: two builds of the same commit can get other versions. `uv pip compile pyproject.toml -o requirements.lock` writes a lock; committed, install `-r requirements.lock` instead.".to_string(),
                Fix::display_only("Create requirements.lock with `uv pip compile pyproject.toml -o requirements.lock` and install it"),
            ),
        };
        scan.out.push(Finding::new(NAME, at.range(), message).why(why).fix(fix));
        return;
    }
    let mut inst = Installed::default();
    if read_files(scan, at, at.cmd, py, &mut inst).is_none() {
        return;
    }
    let pinned_by_constraint = |e: &Entry| {
        inst.pins.iter().any(|p| p.req.name == e.req.name && (p.req.pinned().is_some() || p.req.url.is_some()))
    };
    for (file, entries) in &inst.per_file {
        let loose: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.req.pinned().is_none() && e.req.url.is_none() && !pinned_by_constraint(e))
            .collect();
        if loose.is_empty() || !scan.reported.insert((at.site.stage.index, "pip-loose", file.clone())) {
            continue;
        }
        let names: Vec<String> = loose.iter().take(4).map(|e| format!("`{}{}`", e.req.name, e.req.specifier)).collect();
        let more = if loose.len() > 4 { format!(" and {} more", loose.len() - 4) } else { String::new() };
        let input = if file.ends_with(".in") { file.clone() } else { format!("{}.in", file.trim_end_matches(".txt")) };
        scan.out.push(
            Finding::new(NAME, at.range(), format!("{file} is not a lock: its unpinned requirements are resolved again on every build"))
                .why(format!(
                    "{} ({}{more}): each build of `{}` resolves {} from the index again and may get other versions, their dependencies too, so two builds of the same commit can differ. A lock pins every package, transitive ones included: keep the loose list as {input} and compile it with `uv pip compile {input} -o {file}` (or `pip-compile`).",
                    unpinned_count(loose.len(), entries.len(), file),
                    join_and(&names),
                    at.label(),
                    if loose.len() == 1 { "it" } else { "them" },
                ))
                .fix(Fix::display_only(format!("Compile {file} from {input} with `uv pip compile {input} -o {file}`"))),
        );
    }
}

/// Where a pip command installs: the installer (pip or `uv pip`, and the
/// directory of a program given by path), the options and the environment
/// that choose the target. Two commands with the same one share their
/// packages.
fn target_env(cmd: &crate::run::Cmd, py: &python::Py, state: &dockfix_core::walk::State) -> String {
    let prog = cmd.words.first().map(String::as_str).unwrap_or("");
    let dir = prog.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let mut parts = vec![if cmd.name() == "uv" { "uv".to_string() } else { "pip".to_string() }, dir.to_string()];
    for o in ["--user", "--prefix", "--target", "-t", "--root", "--python", "-p", "--system", "--break-system-packages"]
    {
        if py.p.has(&[o]) {
            parts.push(format!("{o}={}", py.p.value(&[o]).unwrap_or("")));
        }
    }
    for v in [
        "VIRTUAL_ENV",
        "PATH",
        "PYTHONUSERBASE",
        "PIP_TARGET",
        "PIP_PREFIX",
        "PIP_USER",
        "UV_SYSTEM_PYTHON",
        "UV_PYTHON",
        "UV_PROJECT_ENVIRONMENT",
    ] {
        parts.push(format!("{v}={}", cmd.var(state, v).unwrap_or("")));
    }
    parts.push(format!("{:?}", state.user));
    parts.join("\u{1f}")
}

/// `2 of the 3 requirements in requirements.txt are not pinned`.
fn unpinned_count(loose: usize, total: usize, files: &str) -> String {
    match (loose, total) {
        (1, 1) => format!("The requirement in {files} is not pinned"),
        (l, t) if l == t => format!("None of the {t} requirements in {files} is pinned"),
        (1, t) => format!("1 of the {t} requirements in {files} is not pinned"),
        (l, t) => format!("{l} of the {t} requirements in {files} are not pinned"),
    }
}

/// The project's declared dependencies (with the requested extras), or
/// why dockfix cannot read them.
fn project_deps(text: Option<String>, extras: &[String]) -> Result<Vec<Requirement>, String> {
    let Some(text) = text else { return Err("the project has no pyproject.toml".into()) };
    let doc: toml::Table = text.parse().map_err(|_| "pyproject.toml cannot be read as TOML".to_string())?;
    let Some(project) = doc.get("project").and_then(|p| p.as_table()) else {
        return Err("pyproject.toml has no [project] table with the dependencies".into());
    };
    let dynamic: Vec<&str> = project
        .get("dynamic")
        .and_then(|d| d.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    if dynamic.contains(&"dependencies") || (!extras.is_empty() && dynamic.contains(&"optional-dependencies")) {
        return Err("pyproject.toml declares its dependencies as dynamic".into());
    }
    let name = project.get("name").and_then(|n| n.as_str()).map(crate::pep440::normalize_name);
    let mut lists: Vec<&toml::Value> = project.get("dependencies").into_iter().collect();
    for e in extras {
        let opt = project.get("optional-dependencies").and_then(|o| o.as_table());
        let list = opt.and_then(|o| o.iter().find(|(k, _)| crate::pep440::normalize_name(k) == *e).map(|(_, v)| v));
        match list {
            Some(l) => lists.push(l),
            None => return Err(format!("pyproject.toml has no extra `{e}`")),
        }
    }
    let mut out = Vec::new();
    for l in lists {
        for s in l.as_array().ok_or("a dependency list is not an array")? {
            let s = s.as_str().ok_or("a dependency is not a string")?;
            let r = Requirement::parse(s).ok_or_else(|| format!("cannot read the dependency `{s}`"))?;
            if Some(&r.name) == name.as_ref() {
                return Err(format!("the dependency `{s}` refers to the project itself"));
            }
            out.push(r);
        }
    }
    Ok(out)
}

/// How well installed requirements cover a project's dependencies.
enum Coverage {
    /// Every dependency installed at a pinned version that satisfies it.
    Covered(usize),
    /// dockfix cannot tell: why.
    Unverified(String),
    /// Some dependencies are unpinned: the lock is no lock.
    Loose,
    /// Missing or conflicting dependencies.
    Gaps(Vec<String>),
}

fn coverage(deps: &Result<Vec<Requirement>, String>, inst: &Installed) -> Coverage {
    let deps = match deps {
        Ok(d) => d,
        Err(why) => return Coverage::Unverified(why.clone()),
    };
    let mut gaps = Vec::new();
    let mut unknown = Vec::new();
    let mut loose = false;
    for d in deps {
        let Some(e) = inst.entries.iter().find(|e| e.req.name == d.name) else {
            if d.marker.is_some() {
                unknown.push(format!("`{}` has an environment marker and is not in the lock", d.name));
            } else {
                gaps.push(format!("`{}` is not in the lock", d.name));
            }
            continue;
        };
        if !d.extras.iter().all(|x| e.req.extras.contains(x)) {
            unknown.push(format!("`{}[{}]` asks for extras the lock entry does not name", d.name, d.extras.join(",")));
            continue;
        }
        let pin =
            e.req.pinned().or_else(|| inst.pins.iter().find(|p| p.req.name == d.name).and_then(|p| p.req.pinned()));
        match (pin, &e.req.url) {
            (_, Some(_)) if d.specifier.is_empty() => {}
            (_, Some(_)) => unknown.push(format!("`{}` is locked to a URL", d.name)),
            (None, None) => loose = true,
            (Some(v), None) => match satisfies(v, &d.specifier) {
                Some(true) => {}
                Some(false) => gaps
                    .push(format!("the lock pins `{}=={v}`, the project asks for `{}{}`", d.name, d.name, d.specifier)),
                None => unknown.push(format!("dockfix cannot compare `{}=={v}` with `{}`", d.name, d.specifier)),
            },
        }
    }
    if !gaps.is_empty() {
        Coverage::Gaps(gaps)
    } else if loose {
        Coverage::Loose
    } else if !unknown.is_empty() {
        Coverage::Unverified(unknown.join("; "))
    } else {
        Coverage::Covered(deps.len())
    }
}

/// `pip install .`: after a lock, with `--no-deps`; a lock not installed yet
/// gets its own step; no lock at all is reported.
fn project_install(scan: &mut Scan<'_>, at: &At<'_>, proj: &ProjectArg) {
    let py = &at.py;
    // `--no-deps` already, or options that make pip reinstall or upgrade the
    // dependencies (then they are not the lock's anyway).
    if py.p.has(&["--no-deps", "--force-reinstall", "-I", "--ignore-installed"])
        || py.p.value(&["--upgrade-strategy"]) == Some("eager")
        || at.flag_var("PIP_NO_DEPS")
    {
        return;
    }
    let Some(expanded) = at.site.state.expand(&proj.dir) else { return };
    let pdir = at.cmd.cwd.join(&expanded);
    let Some(meta) = ["pyproject.toml", "setup.py", "setup.cfg"].iter().find_map(|f| at.provider(scan, &pdir.join(f)))
    else {
        return;
    };
    let dir = dir_of(&meta.file).to_string();
    let pyproject = join(&dir, "pyproject.toml");
    let deps = project_deps(scan.view.read(&pyproject), &proj.extras);

    // What earlier steps (and this command) installed from requirement
    // files, into the same environment.
    let env = target_env(at.cmd, py, at.site.state);
    let mut inst = Installed::default();
    let mut own_files: Vec<String> = Vec::new();
    // Requirement files installed into another environment.
    let mut elsewhere: Vec<String> = Vec::new();
    for (i, state) in
        at.site.chain.before(at.site.idx).iter().chain(std::iter::once(&(at.site.idx, at.site.state.clone())))
    {
        let Some(run) = crate::run::read(&scan.doc.instructions[*i], state) else { continue };
        let here = *i == at.site.idx;
        let upto = if here { at.c + 1 } else { run.cmds.len() };
        for (k, cmd) in run.cmds[..upto].iter().enumerate() {
            let Some(p) = python::classify(cmd, state) else { continue };
            if p.tool != Tool::Pip || (p.p.values(REQ_FLAGS).is_empty() && p.verb_name != "sync") {
                continue;
            }
            let this = here && k == at.c;
            if !this && python::pip_project(&p).is_some() {
                continue;
            }
            let site_at = At { site: at.site, c: k, cmd, py: p.clone() };
            let mut one = Installed::default();
            if read_files(scan, &site_at, cmd, &p, &mut one).is_none() {
                continue;
            }
            if !this && target_env(cmd, &p, state) != env {
                elsewhere.extend(one.files);
                continue;
            }
            if this {
                own_files.extend(one.files.iter().cloned());
            }
            inst.files.extend(one.files);
            inst.entries.extend(one.entries);
            inst.pins.extend(one.pins);
            inst.constraint_files.extend(one.constraint_files);
            inst.evidence.extend(one.evidence);
            inst.per_file.extend(one.per_file);
        }
    }
    // With `--no-deps`, requirement files of the command itself lose their
    // own dependencies too: only complete locks can take it.
    if !own_files.is_empty() && inst.files.iter().zip(&inst.evidence).any(|(f, e)| own_files.contains(f) && e.is_none())
    {
        return;
    }
    let label = at.label();
    if !inst.files.is_empty() {
        no_deps(scan, at, &deps, &inst, &label);
        return;
    }
    match lock_candidate(scan, &dir) {
        // Installed already, into another environment (`--user`, a venv):
        // dockfix cannot tell which one the project's install sees.
        Some((lock, _)) if elsewhere.contains(&lock) => {}
        Some((lock, evidence)) => insert_lock(scan, at, proj, &pdir, &dir, &meta, &lock, &evidence, &deps),
        None => {
            // Constraint files pin what the install resolves: a lock of sorts.
            let constrained = !py.p.values(CONSTRAINT_FLAGS).is_empty();
            if constrained || !scan.reported.insert((at.site.stage.index, "pip", dir.clone())) {
                return;
            }
            let has_req = scan.view.is_file(&join(&dir, "requirements.txt"));
            let meta_name = meta.file.clone();
            scan.out.push(
                Finding::new(NAME, at.range(), format!("`{label}` resolves the project's dependencies on every build: there is no lockfile"))
                    .why(format!(
                        "{meta_name} declares the dependencies but nothing pins them{}: each build of this step resolves them from the index again and may install other versions, and because the project install needs the sources, a source edit reinstalls every dependency. `uv pip compile {meta_name} -o {}` (or `pip-compile -o requirements.lock {meta_name}`) writes a lock; committed, dockfix installs it in its own step before the sources and the project with `--no-deps`.",
                        if has_req { " (requirements.txt does not pin them all)" } else { "" },
                        join(&dir, "requirements.lock"),
                    ))
                    .fix(Fix::display_only(format!(
                        "Create {} with `uv pip compile {meta_name} -o {}` and commit it",
                        join(&dir, "requirements.lock"),
                        join(&dir, "requirements.lock")
                    ))),
            );
        }
    }
}

/// The lock was installed: the project step needs no dependency resolution.
fn no_deps(scan: &mut Scan<'_>, at: &At<'_>, deps: &Result<Vec<Requirement>, String>, inst: &Installed, label: &str) {
    let mut files = join_and(&inst.files);
    if !inst.constraint_files.is_empty() {
        files.push_str(&format!(" (with {})", join_and(&inst.constraint_files)));
    }
    let fix_edit = at.insert_after_word(at.py.verb, "--no-deps").filter(|_| at.editable());
    let (safe, note) = match coverage(deps, inst) {
        Coverage::Covered(n) => {
            let verb = pins_all(n);
            let verb = if inst.files.len() > 1 {
                verb.replacen("pins", "pin", 1)
            } else {
                verb
            };
            (true, format!("{files} {verb}, at versions it accepts, so pip has nothing left to install for them."))
        }
        Coverage::Unverified(why) => (
            false,
            format!("The fix is unsafe: dockfix cannot show that {files} covers every dependency of the project ({why}); if it does not, the image lacks what it leaves out."),
        ),
        Coverage::Loose => return,
        Coverage::Gaps(gaps) => {
            let key = (at.site.stage.index, "pip-gaps", files.clone());
            if !scan.reported.insert(key) {
                return;
            }
            scan.out.push(
                Finding::new(NAME, at.range(), format!("`{label}` installs dependencies {files} does not pin"))
                    .why(format!(
                        "{}: `{label}` resolves and downloads what the lock lacks in the step every source edit re-runs, at whatever version the index has, so dockfix does not add `--no-deps` (the image would lack it). Regenerate the lock from pyproject.toml so it pins every dependency.",
                        capitalize(&join_and(&gaps))
                    ))
                    .fix(Fix::display_only("Regenerate the lock from pyproject.toml")),
            );
            return;
        }
    };
    let title = "Install the project alone: add `--no-deps`".to_string();
    let fix = match fix_edit {
        Some(e) if safe => Fix::safe(title, vec![e]),
        Some(e) => Fix::unsafe_(title, vec![e]),
        None => Fix::display_only("Add `--no-deps` (dockfix does not edit a heredoc RUN)"),
    };
    scan.out.push(
        Finding::new(NAME, at.range(), format!("`{label}` resolves the project's dependencies again after {files} installed them"))
            .why(format!(
                "Without `--no-deps`, pip checks every dependency of the project again in the step every source edit re-runs, and installs, unpinned, whatever the lock lacks. With `--no-deps` it installs the project alone, and the dependencies are exactly the lock's. {note}"
            ))
            .gain("The project step never resolves or downloads: a source edit re-installs only the project.")
            .fix(fix),
    );
}

/// A lock in the project directory that can stand for the project's
/// dependencies: `requirements.lock`, or a requirements file a lock tool
/// wrote (dev and test locks left out).
fn lock_candidate(scan: &Scan<'_>, dir: &str) -> Option<(String, String)> {
    let cx = scan.view.cx();
    let entries = cx.fs.list(&cx.context_path(dir)?);
    let mut found: Vec<(u8, String, String)> = Vec::new();
    for e in entries.iter().filter(|e| !e.is_dir) {
        let n = e.name.as_str();
        let lower = n.to_ascii_lowercase();
        if ["dev", "test", "lint", "doc", "ci"].iter().any(|w| lower.contains(w)) {
            continue;
        }
        let reqlike = (lower.starts_with("requirements") && (lower.ends_with(".txt") || lower.ends_with(".lock")))
            || lower.starts_with("constraints") && lower.ends_with(".txt");
        if !reqlike {
            continue;
        }
        let path = join(dir, n);
        let Some(text) = scan.view.read(&path) else { continue };
        let r = ReqFile::parse(&text);
        let Some(evidence) = r.lock_evidence(&path) else { continue };
        if !r.includes.is_empty() {
            continue;
        }
        let from_project = r
            .command
            .as_deref()
            .is_some_and(|c| c.contains("pyproject.toml") || c.contains("setup.py") || c.contains("setup.cfg"));
        let rank = if lower == "requirements.lock" {
            0
        } else if from_project {
            1
        } else if lower.starts_with("constraints") {
            continue;
        } else if lower.ends_with(".lock") {
            2
        } else {
            3
        };
        found.push((rank, path, evidence));
    }
    found.sort();
    found.into_iter().next().map(|(_, p, e)| (p, e))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Commands that only change known files: a lock install may move before them.
const HARMLESS: &[&str] = &["chmod", "chown", "mkdir", "ln", "rm", "touch", "echo", "printf", "true", ":"];

/// Installs a lock the Dockerfile does not install yet, before the copies of
/// the sources, and the project with `--no-deps` after them.
#[allow(clippy::too_many_arguments)]
fn insert_lock(
    scan: &mut Scan<'_>,
    at: &At<'_>,
    proj: &ProjectArg,
    pdir: &Workdir,
    dir: &str,
    meta: &crate::image::Provided,
    lock: &str,
    evidence: &str,
    deps: &Result<Vec<Requirement>, String>,
) {
    let doc = scan.doc;
    let site = at.site;
    let label = at.label();
    // `reorder` splits `pip install .` after a broad copy when the command
    // names requirement or constraint files, or requirements.lock or
    // requirements.txt is there: leave those to it.
    let broad = meta.source != meta.file && !meta.source.contains(['*', '?', '[']);
    let named = !at.py.p.values(REQ_FLAGS).is_empty() || !at.py.p.values(CONSTRAINT_FLAGS).is_empty();
    if broad && (named || ["requirements.lock", "requirements.txt"].iter().any(|f| scan.view.is_file(&join(dir, f)))) {
        return;
    }
    let refuse = |why: String| {
        Finding::new(NAME, at.range(), format!("`{label}` installs the dependencies {lock} pins in the layer every source edit re-runs"))
            .why(format!("{lock} pins the project's dependencies ({evidence}), but {why}, so dockfix does not add a step that installs it before the sources."))
            .fix(Fix::display_only(format!("Install `-r {lock}` in its own step before the sources are copied, and the project with `--no-deps`")))
    };
    if !at.editable()
        || site.run.json
        || site.run.compound
        || at.c != 0
        || proj.dir.trim_end_matches('/') != "."
        || &at.cmd.cwd != pdir
    {
        scan.out
            .push(refuse(format!("`{label}` is not the first command of a shell-form RUN in the project directory")));
        return;
    }
    if site.ins.flags_named("mount").any(|f| f.value().is_some_and(|v| v.contains("type=bind") || !v.contains("type=")))
    {
        scan.out.push(refuse("the RUN has a bind mount".into()));
        return;
    }
    // The first copy of the sources into the project, in this stage.
    let stage_steps: Vec<&(usize, dockfix_core::walk::State)> =
        site.chain.before(site.idx).iter().filter(|(i, _)| site.stage.body.contains(i)).collect();
    let mut first = None;
    for (i, state) in &stage_steps {
        let ins = &doc.instructions[*i];
        if !matches!(ins.kind, Kind::Copy | Kind::Add) {
            continue;
        }
        let Some(copy) = read_copy(ins, state) else {
            first = Some(*i);
            break;
        };
        let into_project = copy.dest.is_within(pdir) != Some(false) || pdir.is_within(&copy.dest) != Some(false);
        let sources_only_meta = copy.sources.iter().all(|s| is_meta(s) && scan.view.is_file(s));
        if into_project && !sources_only_meta {
            first = Some(*i);
            break;
        }
    }
    let Some(p_idx) = first else { return };
    let Some(p_state) = site.chain.state(p_idx) else { return };
    if !same_state(p_state, site.state) {
        scan.out.push(refuse(format!(
            "the environment changes between `{}` and the install",
            one_line(&doc.instructions[p_idx])
        )));
        return;
    }
    for (i, state) in stage_steps.iter().filter(|(i, _)| *i > p_idx) {
        let ins = &doc.instructions[*i];
        match ins.kind {
            Kind::Copy | Kind::Add | Kind::Label | Kind::Expose => {}
            Kind::Run => {
                let ok =
                    crate::run::read(ins, state).is_some_and(|r| r.cmds.iter().all(|c| HARMLESS.contains(&c.name())));
                if !ok {
                    scan.out.push(refuse(format!("`{}` runs between the source copy and the install", one_line(ins))));
                    return;
                }
            }
            _ => {
                scan.out.push(refuse(format!("`{}` is between the source copy and the install", one_line(ins))));
                return;
            }
        }
    }

    // The new step: the lock's copy (unless it is there already) and its install.
    let p_ins = &doc.instructions[p_idx];
    let lock_name = lock.rsplit('/').next().unwrap_or(lock);
    let mut lines: Vec<String> = Vec::new();
    let lock_in_image = pdir.join(lock_name);
    let already = crate::image::provider(doc, scan.view, site.chain, p_idx, &lock_in_image).is_some();
    if !already {
        let flags: Vec<String> = read_copy(p_ins, p_state).map(|c| c.flags).unwrap_or_default();
        let dest = match (pdir, &site.state.workdir) {
            (a, b) if a == b => "./".to_string(),
            (Workdir::Abs(a), _) => format!("{a}/"),
            _ => return,
        };
        let mut words = vec![keyword(doc, Kind::Copy)];
        words.extend(flags);
        words.push(layout::quote_arg(lock));
        words.push(dest);
        lines.push(words.join(" "));
    }
    let cmd = at.cmd;
    let mut skip: Vec<usize> = vec![proj.at];
    if proj.editable && cmd.words.get(proj.at - 1).is_some_and(|w| w == "-e" || w == "--editable") {
        skip.push(proj.at - 1);
    }
    let mut parts: Vec<String> = cmd.assigns.iter().map(|(k, v)| format!("{k}={}", layout::quote_arg(v))).collect();
    parts.extend(cmd.raw.iter().enumerate().filter(|(i, _)| !skip.contains(i)).map(|(_, w)| w.clone()));
    parts.push("-r".into());
    parts.push(layout::quote_arg(lock_name));
    let mut run = vec![keyword(doc, Kind::Run)];
    run.extend(site.ins.flags.iter().map(|f| site.ins.text_of(&f.span).to_string()));
    run.push(parts.join(" "));
    lines.push(run.join(" "));
    let mut edits = vec![layout::insert_before(doc, p_idx, &lines)];
    let cov = coverage(
        deps,
        &Installed { files: vec![lock.to_string()], entries: parse_entries(scan, lock), ..Default::default() },
    );
    let note = match &cov {
        Coverage::Covered(n) => {
            format!("It {}, so the project step installs the project alone (`--no-deps`).", pins_all(*n))
        }
        Coverage::Unverified(why) => format!("dockfix cannot show that {lock} covers every dependency of the project ({why}), so `--no-deps` is part of the risk."),
        Coverage::Gaps(g) => format!("{}: the project step keeps resolving those, so it gets no `--no-deps`.", join_and(g)),
        Coverage::Loose => String::new(),
    };
    if !matches!(cov, Coverage::Gaps(_)) {
        match at.insert_after_word(at.py.verb, "--no-deps") {
            Some(e) => edits.push(e),
            None => return,
        }
    }
    let copy_text = one_line(p_ins);
    scan.out.push(
        Finding::new(NAME, at.range(), format!("`{label}` installs the dependencies {lock} pins in the layer every source edit re-runs"))
            .why(format!(
                "`{copy_text}` comes before `{label}`, so a source edit re-runs the install and pip resolves and downloads every dependency again. {lock} pins them ({evidence}): installed in its own step before the source copy, it stays cached until the lock changes. {note} The fix is unsafe: the lock may pin other versions or list other packages than the project declares."
            ))
            .gain(format!("A source edit re-installs only the project; the dependencies stay cached until {lock} changes."))
            .fix(Fix::unsafe_(format!("Install {lock} before `{copy_text}`"), edits)),
    );
}

/// `pins the 3 dependencies pyproject.toml declares`.
fn pins_all(n: usize) -> String {
    match n {
        0 => "pins what it needs (pyproject.toml declares no dependencies)".into(),
        1 => "pins the one dependency pyproject.toml declares".into(),
        n => format!("pins each of the {n} dependencies pyproject.toml declares"),
    }
}

fn parse_entries(scan: &Scan<'_>, file: &str) -> Vec<Entry> {
    scan.view.read(file).map(|t| ReqFile::parse(&t).entries).unwrap_or_default()
}

/// Files a project install reads besides its sources: they may be copied
/// before the lock's step.
fn is_meta(src: &str) -> bool {
    let base = clean(src);
    let base = base.rsplit('/').next().unwrap_or(&base).to_ascii_lowercase();
    matches!(base.as_str(), "pyproject.toml" | "setup.cfg" | "manifest.in" | ".python-version" | "pip.conf")
        || base.starts_with("readme")
        || base.starts_with("license")
        || base.starts_with("requirements")
        || base.starts_with("constraints")
        || base.ends_with(".lock")
}
