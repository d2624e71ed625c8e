//! PHP: `composer install` reads `composer.json`, `composer.lock`,
//! `auth.json` (and Flex's `symfony.lock`). It also builds the autoloader
//! and runs the project's scripts, which read the sources: the install
//! splits into `--no-scripts --no-autoloader` before the sources and
//! `composer dump-autoload` (plus the scripts it ran) after them.

use serde_json::Value;

use crate::commands::{Check, Cmdx, Install, Parsed, Project, Read, Role, Split};
use crate::context::{join, Checked, Scope};

/// What the check of a composer install needs to know about the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposerInstall {
    pub no_scripts: bool,
    pub no_autoloader: bool,
    pub no_dev: bool,
    /// `dump-autoload` options that give the autoloader the install built.
    pub dump_flags: Vec<String>,
    /// Options every composer command of the project keeps (`-n`, `-d dir`).
    pub common: Vec<String>,
    /// The program as written, with its prefixes (`composer`, `php composer.phar`).
    pub program: String,
}

/// Script events that run in the middle of an install.
const DURING_INSTALL: &[&str] = &[
    "pre-install-cmd",
    "pre-package-install",
    "post-package-install",
    "pre-package-update",
    "post-package-update",
    "pre-package-uninstall",
    "post-package-uninstall",
    "pre-operations-exec",
    "pre-pool-create",
    "pre-dependencies-solving",
    "post-dependencies-solving",
    "pre-file-download",
    "post-file-download",
];

const VALUE_OPTS: &[&str] = &["-d", "--working-dir", "--apcu-autoloader-prefix", "--ignore-platform-req"];

fn is_composer(w: &str) -> bool {
    let base = w.rsplit('/').next().unwrap_or(w);
    base == "composer" || base == "composer.phar"
}

pub fn classify(x: &Cmdx<'_>) -> Option<Role> {
    let w = x.words();
    let at = if is_composer(&w[0]) {
        0
    } else if x.cmd.name().starts_with("php") && w.get(1).is_some_and(|a| is_composer(a)) {
        1
    } else {
        return None;
    };
    let p = Parsed::parse(w, at + 1, VALUE_OPTS);
    let verb = p.args.first().map(|(_, a)| a.as_str());
    let dir = match p.value(&["-d", "--working-dir"]) {
        Some(d) => x.path(d),
        None => x.cwd().clone(),
    };
    match verb {
        None | Some("self-update" | "selfupdate" | "clear-cache" | "clearcache" | "diagnose" | "global" | "help") => {
            return Some(Role::neutral())
        }
        Some("config") => {
            let global = p.has(&["-g", "--global"]);
            return Some(Role::Neutral {
                outputs: if global { Vec::new() } else { vec![dir.join("composer.json"), dir.join("auth.json")] },
            });
        }
        Some("install" | "i") => {}
        Some("require" | "remove" | "update" | "u" | "upgrade") => {
            let mut inst = Install::new("composer", x.label(), dir).with_known_files("composer");
            inst.writes_manifest = Some(format!("`{}` changes composer.json or composer.lock", x.label()));
            return Some(Role::Install(inst));
        }
        _ => return Some(Role::source(format!("`{}` may read the sources", x.label()))),
    }
    let mut inst = Install::new("composer", x.label(), dir.clone()).with_known_files("composer");
    if let Some(file) = x.var("COMPOSER") {
        inst.reads.retain(|r| !r.path.relative_to(&dir).is_some_and(|f| f.starts_with("composer.")));
        let lock = file.strip_suffix(".json").map(|s| format!("{s}.lock")).unwrap_or_else(|| format!("{file}.lock"));
        inst.reads.insert(0, Read::required(dir.join(&file)));
        inst.reads.insert(1, Read::optional(dir.join(&lock)));
    }
    let raw = &x.cmd.raw;
    let mut dump_flags = Vec::new();
    let mut common = Vec::new();
    let mut i = at + 1;
    while i < w.len() {
        let (name, attached) = crate::commands::flag_parts(&w[i]);
        let takes = VALUE_OPTS.contains(&name) && attached.is_none();
        let value = if takes { raw.get(i + 1).cloned() } else { None };
        match name {
            "-o" | "--optimize-autoloader" => dump_flags.push("--optimize".to_string()),
            "-a" | "--classmap-authoritative" => dump_flags.push("--classmap-authoritative".to_string()),
            "--apcu-autoloader" => dump_flags.push("--apcu".to_string()),
            "--apcu-autoloader-prefix" => {
                dump_flags.push(match (attached, &value) {
                    (Some(v), _) => format!("--apcu-prefix={v}"),
                    (None, Some(v)) => format!("--apcu-prefix {v}"),
                    _ => "--apcu".to_string(),
                });
            }
            "--ignore-platform-reqs" | "--ignore-platform-req" | "--no-dev" => {
                dump_flags.push(raw[i].clone());
                if let Some(v) = &value {
                    dump_flags.push(v.clone());
                }
            }
            "-n" | "--no-interaction" | "--no-ansi" | "--ansi" | "-q" | "--quiet" | "-v" | "-vv" | "-vvv"
            | "--no-plugins" | "--no-cache" | "-d" | "--working-dir" => {
                common.push(raw[i].clone());
                if let Some(v) = &value {
                    common.push(v.clone());
                }
            }
            _ => {}
        }
        i += if takes { 2 } else { 1 };
    }
    let mut program: Vec<String> = x.cmd.assigns.clone();
    program.extend(raw[..=at].iter().cloned());
    inst.check = Check::Composer(ComposerInstall {
        no_scripts: p.has(&["--no-scripts"]),
        no_autoloader: p.has(&["--no-autoloader"]),
        no_dev: p.has(&["--no-dev"]) || x.var("COMPOSER_NO_DEV").is_some_and(|v| v == "1"),
        dump_flags,
        common,
        program: program.join(" "),
    });
    Some(Role::Install(inst))
}

/// Path repositories, install-time scripts and custom install paths
/// refuse; otherwise the split that keeps the autoloader and the scripts.
pub fn check(scope: &Scope<'_>, inst: &Install, ci: &ComposerInstall) -> Result<Checked, String> {
    let f = scope.files.first().cloned().unwrap_or_else(|| join(&scope.dir, "composer.json"));
    let Some(text) = scope.view.read(&f) else { return Err(scope.missing(&f)) };
    let json: Value = serde_json::from_str(&text).map_err(|_| format!("`{f}` is not valid JSON"))?;
    let repos: Vec<&Value> = match json.get("repositories") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Object(o)) => o.values().collect(),
        _ => Vec::new(),
    };
    for r in repos {
        let kind = r.get("type").and_then(Value::as_str).unwrap_or("");
        let url = r.get("url").and_then(Value::as_str).unwrap_or("");
        if matches!(kind, "path" | "artifact") || (!url.is_empty() && !url.contains("://") && !url.contains('@')) {
            return Err(format!("`{f}` has the local {kind} repository `{url}`"));
        }
    }
    let extra_cfg = json.get("extra");
    if extra_cfg.and_then(|e| e.get("installer-paths")).is_some() {
        return Err(format!("`{f}` installs packages into the project tree (`extra.installer-paths`)"));
    }
    let mut outputs = Vec::new();
    if let Some(v) = json.get("config").and_then(|c| c.get("vendor-dir")).and_then(Value::as_str) {
        outputs.push(join(&scope.dir, v));
    }
    let scripts = json.get("scripts").and_then(Value::as_object);
    let has = |e: &str| scripts.is_some_and(|s| s.contains_key(e));
    if !ci.no_scripts {
        if let Some(e) = DURING_INSTALL.iter().find(|e| has(e)) {
            return Err(format!("`{f}` has a `{e}` script, which runs in the middle of the install"));
        }
    }
    let mut append = Vec::new();
    let mut after: Vec<String> = Vec::new();
    if !ci.no_autoloader {
        append.push("--no-autoloader".to_string());
        let mut cmd = vec![ci.program.clone(), "dump-autoload".into()];
        cmd.extend(ci.dump_flags.iter().cloned());
        cmd.extend(ci.common.iter().cloned());
        if ci.no_scripts {
            cmd.push("--no-scripts".into());
        }
        after.push(cmd.join(" "));
    }
    if !ci.no_scripts {
        append.insert(0, "--no-scripts".to_string());
        if has("post-install-cmd") {
            let mut cmd = vec![ci.program.clone(), "run-script".into()];
            if ci.no_dev {
                cmd.push("--no-dev".into());
            }
            cmd.extend(ci.common.iter().cloned());
            cmd.push("post-install-cmd".into());
            after.push(cmd.join(" "));
        }
    }
    let project = if after.is_empty() {
        Some(Project::DepsOnly)
    } else {
        let mut what = Vec::new();
        if !ci.no_autoloader {
            what.push("builds the autoloader");
        }
        if !ci.no_scripts && (has("post-install-cmd") || has("post-autoload-dump") || has("pre-autoload-dump")) {
            what.push("runs the project's scripts");
        }
        Some(Project::Split(Split {
            append,
            replace: Vec::new(),
            after: after.join(" && "),
            why: format!("`{}` also {}, which read the sources", inst.label, what.join(" and ")),
            safe: true,
        }))
    };
    Ok(Checked { project, outputs, ..Checked::default() })
}
