//! uv, poetry, pdm and pipenv: the flags that make the install use the
//! lock as it is, a lock left out of the manifest copy, and no lock at all.

use dockfix_core::{Finding, Fix};

use crate::image::{read_copy, Provided};
use crate::python::Tool;
use crate::{dir_of, At, Scan, NAME};

pub fn check(scan: &mut Scan<'_>, at: &At<'_>) {
    let py = &at.py;
    let verb = py.verb_name.as_str();
    match py.tool {
        Tool::Uv if py.p.has(&["--script", "--dry-run", "--check"]) => return,
        // `pdm sync` and `pipenv sync` install the lock or fail: nothing to add.
        Tool::Pdm | Tool::Pipenv if verb == "sync" => return,
        Tool::Pipenv
            if py.args().count() > 0 || py.p.has(&["--skip-lock", "-r", "--requirements", "-e", "--editable"]) =>
        {
            return
        }
        Tool::Poetry if py.p.has(&["--lock"]) => return,
        _ => {}
    }
    let manifest_path = py.dir.join(py.tool.manifest());
    // Without the manifest, dockfix cannot tell which project this is.
    let Some(manifest) = at.provider(scan, &manifest_path) else { return };
    let lock_name = match (py.tool, py.p.value(&["-L", "--lockfile"])) {
        (Tool::Pdm, Some(l)) => l.to_string(),
        _ => py.tool.lockfile().to_string(),
    };
    let lock_path = py.dir.join(&lock_name);
    match at.provider(scan, &lock_path) {
        Some(lock) => flags(scan, at, &manifest, &lock),
        None => missing(scan, at, &manifest, &lock_name),
    }
}

/// The lock is there: add the flag that installs it as it is.
fn flags(scan: &mut Scan<'_>, at: &At<'_>, manifest: &Provided, lock: &Provided) {
    let py = &at.py;
    let label = at.label();
    let (flag, message, why, gain, safe) = match py.tool {
        Tool::Uv => {
            if py.p.has(&["--frozen", "--locked"]) || at.flag_var("UV_FROZEN") || at.flag_var("UV_LOCKED") {
                return;
            }
            let fresh = match (scan.view.read(&manifest.file), scan.view.read(&lock.file)) {
                (Some(m), Some(l)) => crate::uvlock::fresh(&m, &l),
                _ => Err("dockfix cannot read them".into()),
            };
            let safety = match &fresh {
                Ok(summary) => format!("{summary}: uv would not re-lock, so the image gets the same packages as before."),
                Err(why) => format!(
                    "The fix is unsafe: dockfix cannot show that uv.lock is up to date ({why}). If it is not, the image gets the versions uv.lock pins instead of a fresh resolution; `uv lock` brings the lock up to date."
                ),
            };
            (
                "--frozen",
                format!("`{label}` may resolve again instead of installing uv.lock as it is"),
                format!(
                    "Without `--frozen` (or `--locked`), `uv sync` first checks uv.lock against pyproject.toml and, when they disagree, resolves again and installs whatever that resolution picks. `--frozen` installs exactly what uv.lock pins, without resolving. dockfix writes `--frozen` rather than `--locked`: `--locked` fails the build whenever the lock is stale, even after a mere version bump of the project, and a build that works today must keep working. {safety}"
                ),
                "Every build installs exactly uv.lock's versions, and the step never resolves.".to_string(),
                fresh.is_ok(),
            )
        }
        Tool::Pdm => {
            if verb_is(at, "sync")
                || py.p.has(&["--check", "--frozen-lockfile", "--no-lock"])
                || at.flag_var("PDM_FROZEN_LOCKFILE")
                || at.flag_var("PDM_CHECK")
            {
                return;
            }
            (
                "--check",
                format!("`{label}` re-locks when pdm.lock is out of date instead of installing it as it is"),
                "Without `--check` (or `--frozen-lockfile`), `pdm install` resolves again and rewrites pdm.lock in the image when the lock does not match pyproject.toml, so the image can get versions nobody locked. `--check` installs pdm.lock and stops the build when it is stale, as pdm's own Docker guide does. The fix is unsafe: dockfix does not recompute pdm's content hash, so it cannot show the lock is up to date, and a stale lock now fails the build (`pdm lock` fixes it).".to_string(),
                "The image gets exactly pdm.lock's versions, or the build says the lock is stale.".to_string(),
                false,
            )
        }
        Tool::Pipenv => {
            if py.p.has(&["--deploy", "--ignore-pipfile"])
                || at.flag_var("PIPENV_DEPLOY")
                || at.flag_var("PIPENV_IGNORE_PIPFILE")
            {
                return;
            }
            (
                "--deploy",
                format!("`{label}` re-locks when Pipfile.lock is out of date instead of installing it as it is"),
                "Without `--deploy`, `pipenv install` silently re-locks when Pipfile.lock's hash does not match the Pipfile and installs that new resolution. `--deploy` installs Pipfile.lock and aborts the build when it is stale. The fix is unsafe: dockfix does not recompute pipenv's Pipfile hash, so it cannot show the lock is up to date, and a stale lock now fails the build (`pipenv lock` fixes it).".to_string(),
                "The image gets exactly Pipfile.lock's versions, or the build says the lock is stale.".to_string(),
                false,
            )
        }
        // `poetry install` already refuses a lock that no longer matches pyproject.toml.
        Tool::Poetry | Tool::Pip => return,
    };
    let title = format!("Add `{flag}`");
    let fix = match at.insert_after_word(py.verb, flag).filter(|_| at.editable()) {
        Some(edit) if safe => Fix::safe(title, vec![edit]),
        Some(edit) => Fix::unsafe_(title, vec![edit]),
        None => Fix::display_only(format!("Add `{flag}` (dockfix does not edit a heredoc RUN)")),
    };
    scan.out.push(Finding::new(NAME, at.range(), message).why(why).gain(gain).fix(fix));
}

fn verb_is(at: &At<'_>, v: &str) -> bool {
    at.py.verb_name == v
}

/// No lock copied before the install: left out of the copy, excluded by
/// `.dockerignore`, or none at all.
fn missing(scan: &mut Scan<'_>, at: &At<'_>, manifest: &Provided, lock_name: &str) {
    let py = &at.py;
    let key = (at.site.stage.index, py.tool.lockfile(), dir_of(&manifest.file).to_string());
    if !scan.reported.insert(key) {
        return;
    }
    let label = at.label();
    let ctx_lock = crate::context::join(dir_of(&manifest.file), lock_name);
    let tool = match py.tool {
        Tool::Uv => "uv",
        Tool::Poetry => "poetry",
        Tool::Pdm => "pdm",
        Tool::Pipenv => "pipenv",
        Tool::Pip => "pip",
    };
    if scan.view.is_file(&ctx_lock) {
        let why = format!(
            "{ctx_lock} is in the build context, but the copy that brings {} leaves it out, so {tool} resolves the dependencies from the index on every build of this step and may install other versions than the lock pins. Copied with {}, it makes the install use the locked versions. The fix is unsafe: the image then gets the versions {lock_name} pins instead of a fresh resolution.",
            manifest.file, manifest.file
        );
        let message =
            format!("`{label}` runs without {lock_name}: it resolves the dependencies instead of installing the lock");
        let fix = add_to_copy(scan, at, manifest, &ctx_lock)
            .map(|e| Fix::unsafe_(format!("Copy {ctx_lock} with {}", manifest.file), vec![e]))
            .unwrap_or_else(|| Fix::display_only(format!("Copy {ctx_lock} before `{label}`")));
        scan.out.push(
            Finding::new(NAME, at.range(), message)
                .why(why)
                .gain("The install uses the versions the lock pins: the same packages on every build, no resolution.")
                .fix(fix),
        );
        return;
    }
    if scan.view.on_disk(&ctx_lock) {
        scan.out.push(
            Finding::new(NAME, at.range(), format!("`{label}` cannot use {ctx_lock}: .dockerignore excludes it"))
                .why(format!(
                    "The build context does not have {ctx_lock}, so {tool} resolves the dependencies from the index on every build of this step and may install other versions than the lock pins."
                ))
                .fix(Fix::display_only(format!("Remove {ctx_lock} from .dockerignore and copy it with {}", manifest.file))),
        );
        return;
    }
    let cmd = py.tool.lock_command();
    scan.out.push(
        Finding::new(NAME, at.range(), format!("`{label}` resolves the dependencies on every build: there is no {lock_name}"))
            .why(format!(
                "Without a lock, each build of this step resolves the dependencies from the index again (minutes for a large tree) and may install other versions than the last one, so two builds of the same commit can differ. `{cmd}` writes {lock_name}; committed next to {}, it makes the install use the locked versions.",
                manifest.file
            ))
            .fix(Fix::display_only(format!("Create {lock_name} with `{cmd}` and commit it"))),
    );
}

/// Adds the lock to the COPY that names the manifest file explicitly.
fn add_to_copy(scan: &Scan<'_>, at: &At<'_>, manifest: &Provided, ctx_lock: &str) -> Option<dockfix_core::Edit> {
    if manifest.mount || manifest.source != manifest.file {
        return None;
    }
    let ins = &scan.doc.instructions[manifest.idx];
    let copy = read_copy(ins, at.site.chain.state(manifest.idx)?)?;
    if !copy.into_dir {
        return None;
    }
    let n = ins.args.len();
    let arg = ins.args[..n.saturating_sub(1)]
        .iter()
        .find(|a| crate::context::clean(a.value.trim_start_matches('/')) == manifest.source)?;
    let span = arg.span.clone()?;
    let written = ins.text_of(&span);
    let base = manifest.source.rsplit('/').next()?;
    let lock_base = ctx_lock.rsplit('/').next()?;
    let text = written.strip_suffix(base).map(|p| format!("{p}{lock_base}"))?;
    Some(dockfix_core::Edit::insert(ins.source_range(span).end, format!(" {text}")))
}
