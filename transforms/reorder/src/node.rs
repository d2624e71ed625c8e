//! Node installs: npm, yarn (classic and berry), pnpm, bun — what they
//! read (manifest, lock, `.npmrc`, `.yarnrc.yml`, `.yarn/releases`…), the
//! workspace members whose manifests they need, and the lifecycle scripts
//! of the project that run during the install.

use serde_json::Value;

use crate::commands::{Check, Cmdx, Install, Parsed, Project, Read, Role, Split};
use crate::context::{expand_globs, join, join_within, Checked, Scope};

/// What the check of a node install needs to know about the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInstall {
    /// `--ignore-scripts`: the project's scripts do not run.
    pub ignore_scripts: bool,
    /// `pnpm fetch`: reads the lock file only.
    pub fetch_only: bool,
    /// The command's `NAME=value` prefixes, for commands dockfix writes.
    pub assigns: Vec<String>,
}

/// The project's scripts that `npm install`/`npm ci` (and yarn, pnpm, bun)
/// run after installing the dependencies, in order.
const LIFECYCLE: &[&str] =
    &["preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare"];

/// Scripts npm runs for a workspace member it links.
const MEMBER_LIFECYCLE: &[&str] = &["preinstall", "install", "postinstall", "prepare"];

/// The largest workspace whose member manifests dockfix copies one by one.
const MAX_MEMBERS: usize = 12;

const NPM_INSTALL: &[&str] = &[
    "install",
    "i",
    "in",
    "ins",
    "inst",
    "insta",
    "instal",
    "isnt",
    "isnta",
    "isntal",
    "isntall",
    "add",
    "ci",
    "clean-install",
    "ic",
    "install-clean",
    "isntall-clean",
];

pub fn classify(x: &Cmdx<'_>) -> Option<Role> {
    match x.cmd.name() {
        "npm" => Some(npm(x)),
        "yarn" | "yarnpkg" => Some(yarn(x)),
        "pnpm" => Some(pnpm(x)),
        "bun" => Some(bun(x)),
        "npx" | "pnpx" | "bunx" | "node" => Some(Role::source(format!("`{}` may read the sources", x.label()))),
        _ => None,
    }
}

fn new_install(x: &Cmdx<'_>, manager: &'static str, dir: dockfix_core::walk::Workdir, p: &Parsed) -> Install {
    let mut inst = Install::new(manager, x.label(), dir).with_known_files(manager);
    inst.check = Check::Node(NodeInstall {
        ignore_scripts: p.has(&["--ignore-scripts"]) || truthy(x.var("npm_config_ignore_scripts")),
        fetch_only: false,
        assigns: x.cmd.assigns.clone(),
    });
    for var in ["NPM_CONFIG_USERCONFIG", "npm_config_userconfig"] {
        if let Some(f) = x.var(var) {
            inst.reads.push(Read::optional(x.path(&f)));
        }
    }
    inst
}

fn truthy(v: Option<String>) -> bool {
    v.is_some_and(|v| matches!(v.as_str(), "true" | "1"))
}

/// Positional arguments that name packages: a local one needs the sources,
/// any other changes the manifest.
fn package_args(inst: &mut Install, pkgs: &[&str], no_save: bool, label: &str) {
    if let Some(l) = pkgs.iter().find(|a| is_local_spec(a)) {
        inst.project = Project::NeedsSource(format!("it installs `{l}` from the build context"));
    } else if !pkgs.is_empty() && !no_save {
        inst.writes_manifest = Some(format!("`{label}` adds packages to package.json"));
    }
}

fn npm(x: &Cmdx<'_>) -> Role {
    let w = x.words();
    let p = Parsed::parse(
        w,
        1,
        &[
            "--prefix",
            "--omit",
            "--include",
            "--only",
            "--loglevel",
            "--cache",
            "--registry",
            "-w",
            "--workspace",
            "--install-strategy",
            "--location",
            "-L",
            "--tag",
            "--userconfig",
            "--globalconfig",
            "--fetch-retries",
            "--fetch-timeout",
            "--maxsockets",
            "--script-shell",
        ],
    );
    let Some((_, verb)) = p.args.first().cloned() else {
        return Role::neutral();
    };
    let global = p.has(&["-g", "--global"]) || p.value(&["--location", "-L"]) == Some("global");
    if matches!(verb.as_str(), "config" | "set" | "c") {
        let project = matches!(p.value(&["--location", "-L"]), Some("project"));
        return Role::Neutral { outputs: if project { vec![x.cwd().join(".npmrc")] } else { Vec::new() } };
    }
    if matches!(verb.as_str(), "cache" | "help" | "whoami" | "ping" | "login" | "logout" | "doctor") {
        return Role::neutral();
    }
    if !NPM_INSTALL.contains(&verb.as_str()) {
        return Role::source(format!("`{}` may read the sources", x.label()));
    }
    if global {
        return Role::neutral();
    }
    let dir = match p.value(&["--prefix"]) {
        Some(d) => x.path(d),
        None => x.cwd().clone(),
    };
    let mut inst = new_install(x, "npm", dir, &p);
    let pkgs: Vec<&str> = p.args.iter().skip(1).map(|(_, a)| a.as_str()).collect();
    package_args(&mut inst, &pkgs, p.has(&["--no-save"]), &x.label());
    Role::Install(inst)
}

fn yarn(x: &Cmdx<'_>) -> Role {
    let w = x.words();
    let p = Parsed::parse(
        w,
        1,
        &[
            "--cwd",
            "--modules-folder",
            "--network-timeout",
            "--mutex",
            "--cache-folder",
            "--registry",
            "--link-folder",
            "--global-folder",
            "--mode",
        ],
    );
    let args: Vec<&str> = p.args.iter().map(|(_, a)| a.as_str()).collect();
    let dir = match p.value(&["--cwd"]) {
        Some(d) => x.path(d),
        None => x.cwd().clone(),
    };
    match args.as_slice() {
        [] if p.has(&["-v", "--version", "-h", "--help"]) => return Role::neutral(),
        [] | ["install", ..] => {}
        ["workspaces", "focus", ..] => {}
        ["global", ..] | ["cache", ..] | ["config", "get" | "list", ..] => return Role::neutral(),
        ["config", "set", ..] | ["config", "delete" | "unset", ..] => {
            let home = p.has(&["-H", "--home"]);
            return Role::Neutral { outputs: if home { Vec::new() } else { vec![dir.join(".yarnrc.yml")] } };
        }
        ["set", "version", ..] | ["policies", "set-version", ..] | ["plugin", "import" | "remove", ..] => {
            return Role::Neutral {
                outputs: vec![
                    dir.join(".yarnrc.yml"),
                    dir.join(".yarnrc"),
                    dir.join(".yarn/releases"),
                    dir.join(".yarn/plugins"),
                ],
            }
        }
        ["add", ..] => {
            let mut inst = new_install(x, "yarn", dir, &p);
            if p.has(&["-g", "--global"]) {
                return Role::neutral();
            }
            package_args(&mut inst, &args[1..], false, &x.label());
            return Role::Install(inst);
        }
        _ => return Role::source(format!("`{}` may read the sources", x.label())),
    }
    let mut inst = new_install(x, "yarn", dir, &p);
    if let Some(m) = p.value(&["--modules-folder"]) {
        inst.outputs.push(x.path(m));
    }
    Role::Install(inst)
}

fn pnpm(x: &Cmdx<'_>) -> Role {
    let w = x.words();
    let p = Parsed::parse(
        w,
        1,
        &[
            "--dir",
            "-C",
            "--filter",
            "-F",
            "--store-dir",
            "--virtual-store-dir",
            "--modules-dir",
            "--reporter",
            "--loglevel",
            "--network-concurrency",
            "--child-concurrency",
            "--lockfile-dir",
        ],
    );
    let Some((_, verb)) = p.args.first().cloned() else {
        return Role::neutral();
    };
    let dir = match p.value(&["--dir", "-C"]) {
        Some(d) => x.path(d),
        None => x.cwd().clone(),
    };
    match verb.as_str() {
        "install" | "i" | "fetch" | "add" => {}
        "config" | "store" | "setup" | "env" | "help" | "server" => return Role::neutral(),
        _ => return Role::source(format!("`{}` may read the sources", x.label())),
    }
    if p.has(&["-g", "--global"]) {
        return Role::neutral();
    }
    let mut inst = new_install(x, "pnpm", dir.clone(), &p);
    if let Some(m) = p.value(&["--modules-dir"]) {
        inst.outputs.push(x.path(m));
    }
    if verb == "fetch" {
        // `pnpm fetch` reads the lock file (and the config), not package.json.
        inst.reads.retain(|r| r.path.relative_to(&dir).is_none_or(|f| f != "package.json"));
        for r in &mut inst.reads {
            if r.path.relative_to(&dir).is_some_and(|f| f == "pnpm-lock.yaml") {
                r.required = true;
            }
        }
        if let Check::Node(n) = &mut inst.check {
            n.fetch_only = true;
        }
    }
    if verb == "add" {
        let pkgs: Vec<&str> = p.args.iter().skip(1).map(|(_, a)| a.as_str()).collect();
        package_args(&mut inst, &pkgs, false, &x.label());
    }
    Role::Install(inst)
}

fn bun(x: &Cmdx<'_>) -> Role {
    let w = x.words();
    let p = Parsed::parse(w, 1, &["--cwd", "--cache-dir", "--registry", "--backend", "-c", "--config", "--linker"]);
    let Some((_, verb)) = p.args.first().cloned() else {
        return Role::neutral();
    };
    let dir = match p.value(&["--cwd"]) {
        Some(d) => x.path(d),
        None => x.cwd().clone(),
    };
    match verb.as_str() {
        "install" | "i" | "add" | "a" => {}
        "pm" | "upgrade" | "help" | "completions" => return Role::neutral(),
        _ => return Role::source(format!("`{}` may read the sources", x.label())),
    }
    if p.has(&["-g", "--global"]) {
        return Role::neutral();
    }
    let mut inst = new_install(x, "bun", dir, &p);
    if let Some(c) = p.value(&["-c", "--config"]) {
        inst.reads.push(Read::required(x.path(c)));
    }
    let pkgs: Vec<&str> = p.args.iter().skip(1).map(|(_, a)| a.as_str()).collect();
    package_args(&mut inst, &pkgs, p.has(&["--no-save"]), &x.label());
    Role::Install(inst)
}

/// A dependency spec that points into the file system.
pub fn is_local_spec(spec: &str) -> bool {
    let s = spec.trim();
    s.starts_with("file:")
        || s.starts_with("link:")
        || s.starts_with("portal:")
        || s.starts_with("./")
        || s.starts_with("../")
        || s.starts_with('/')
        || s.starts_with("~/")
        || s == "."
        || (!s.contains(':') && (s.ends_with(".tgz") || s.ends_with(".tar.gz")))
}

fn read_json(scope: &Scope<'_>, f: &str) -> Result<Value, String> {
    let Some(text) = scope.view.read(f) else { return Err(scope.missing(f)) };
    serde_json::from_str(&text).map_err(|_| format!("`{f}` is not valid JSON"))
}

/// Every dependency spec of a package.json: (name, spec).
fn dependency_specs(pkg: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for section in ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"] {
        if let Some(m) = pkg.get(section).and_then(Value::as_object) {
            for (k, v) in m {
                if let Some(s) = v.as_str() {
                    out.push((k.clone(), s.to_string()));
                }
            }
        }
    }
    // overrides (npm), resolutions (yarn), pnpm.overrides: nested maps of specs.
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::String(s) => out.push((prefix.to_string(), s.clone())),
            Value::Object(m) => {
                for (k, v) in m {
                    walk(k, v, out);
                }
            }
            _ => {}
        }
    }
    for key in ["overrides", "resolutions"] {
        if let Some(v) = pkg.get(key) {
            walk(key, v, &mut out);
        }
    }
    if let Some(v) = pkg.get("pnpm").and_then(|p| p.get("overrides")) {
        walk("pnpm.overrides", v, &mut out);
    }
    out
}

/// Why a dependency spec reads the build context, if it does.
fn local_dependency(f: &str, name: &str, spec: &str) -> Option<String> {
    if let Some(rest) = spec.strip_prefix("patch:") {
        // `patch:pkg@npm:1.0#./.yarn/patches/pkg.patch`: the patch must come
        // with the copied `.yarn/patches`.
        let path = rest.rsplit_once('#').map(|(_, p)| p).unwrap_or("");
        let path = path.trim_start_matches("./").trim_start_matches("~/");
        if !path.is_empty() && !path.starts_with(".yarn/patches/") && !path.contains("::") {
            return Some(format!("`{f}` patches `{name}` with `{path}`, outside .yarn/patches"));
        }
        return None;
    }
    is_local_spec(spec).then(|| format!("`{f}` has the local dependency `{name}` (`{spec}`)"))
}

/// The workspace globs of a project: `package.json` `workspaces` (array or
/// `{packages: […]}`), or `pnpm-workspace.yaml` `packages:`.
fn workspace_globs(scope: &Scope<'_>, pkg: &Value, manager: &str) -> Vec<String> {
    let mut globs: Vec<String> = Vec::new();
    let ws = pkg.get("workspaces");
    let list = ws.and_then(Value::as_array).or_else(|| ws.and_then(|w| w.get("packages")).and_then(Value::as_array));
    if let Some(l) = list {
        globs.extend(l.iter().filter_map(Value::as_str).map(str::to_string));
    }
    if manager == "pnpm" {
        if let Some(text) = scope.view.read(&join(&scope.dir, "pnpm-workspace.yaml")) {
            globs.extend(yaml_list(&text, "packages"));
        }
    }
    globs
}

/// The items of a top-level YAML block list (`key:` then `  - item` lines).
pub fn yaml_list(text: &str, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim_end();
        if t.trim().is_empty() || t.trim_start().starts_with('#') {
            continue;
        }
        if !t.starts_with([' ', '\t', '-']) {
            inside = t.strip_prefix(key).is_some_and(|r| r.trim_start().starts_with(':'));
            if let Some(rest) = t.strip_prefix(key).and_then(|r| r.trim_start().strip_prefix(':')) {
                // Flow style: `packages: ['a/*', 'b']`.
                let rest = rest.trim();
                if rest.starts_with('[') {
                    out.extend(rest.trim_matches(['[', ']']).split(',').map(unquote_yaml).filter(|s| !s.is_empty()));
                    inside = false;
                }
            }
            continue;
        }
        if inside {
            if let Some(item) = t.trim_start().strip_prefix('-') {
                let item = item.split(" #").next().unwrap_or(item);
                out.push(unquote_yaml(item));
            }
        }
    }
    out
}

/// The `key: value` pairs of a top-level YAML block map.
pub fn yaml_map(text: &str, key: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim_end();
        if t.trim().is_empty() || t.trim_start().starts_with('#') {
            continue;
        }
        if !t.starts_with([' ', '\t']) {
            inside = t.strip_prefix(key).is_some_and(|r| r.trim() == ":");
            continue;
        }
        if inside {
            if let Some((k, v)) = t.trim().rsplit_once(": ") {
                out.push((unquote_yaml(k), unquote_yaml(v)));
            }
        }
    }
    out
}

fn unquote_yaml(s: &str) -> String {
    s.trim().trim_matches(['\'', '"']).to_string()
}

/// Checks a node project: local dependencies, workspace members (whose
/// manifests are copied too), patches, and the project's lifecycle scripts.
pub fn check(scope: &Scope<'_>, inst: &Install, ni: &NodeInstall) -> Result<Checked, String> {
    let mut extra: Vec<String> = Vec::new();
    let pkg_file = join(&scope.dir, "package.json");
    let mut project = None;
    if ni.fetch_only {
        // pnpm fetch: the lock file and the config only.
        return Ok(Checked::default());
    }
    let pkg = read_json(scope, &pkg_file)?;
    for (name, spec) in dependency_specs(&pkg) {
        if spec.starts_with("workspace:") {
            continue;
        }
        if let Some(why) = local_dependency(&pkg_file, &name, &spec) {
            return Err(why);
        }
    }

    // Patches pnpm applies.
    let mut patches: Vec<String> = Vec::new();
    if let Some(m) = pkg.get("pnpm").and_then(|p| p.get("patchedDependencies")).and_then(Value::as_object) {
        patches.extend(m.values().filter_map(Value::as_str).map(str::to_string));
    }
    if inst.manager == "pnpm" {
        if let Some(text) = scope.view.read(&join(&scope.dir, "pnpm-workspace.yaml")) {
            patches.extend(yaml_map(&text, "patchedDependencies").into_iter().map(|(_, v)| v));
        }
    }
    for p in patches {
        let Some(f) = join_within(&scope.dir, &p).filter(|f| scope.within_copy(f)) else {
            return Err(format!("the patch `{p}` is outside the copied directory"));
        };
        if !scope.view.is_file(&f) {
            return Err(scope.missing(&f));
        }
        extra.push(f);
    }
    // Yarn berry's own release, when it lives outside .yarn/releases.
    if let Some(text) = scope.view.read(&join(&scope.dir, ".yarnrc.yml")) {
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("yarnPath:") {
                let v = unquote_yaml(v);
                let Some(f) = join_within(&scope.dir, &v).filter(|f| scope.within_copy(f)) else {
                    return Err(format!("`.yarnrc.yml` runs yarn from `{v}`, outside the copied directory"));
                };
                if !f.starts_with(&join(&scope.dir, ".yarn/releases")) {
                    extra.push(f);
                }
            }
        }
    }

    // Workspaces: every member's manifest is read.
    let globs = workspace_globs(scope, &pkg, inst.manager);
    let members = if globs.is_empty() { Vec::new() } else { expand_globs(scope.view, &scope.dir, &globs)? };
    let members: Vec<String> =
        members.into_iter().filter(|m| *m != scope.dir && scope.view.is_file(&join(m, "package.json"))).collect();
    if members.len() > MAX_MEMBERS {
        return Err(format!(
            "it installs a workspace of {} packages: each member's package.json would need its own COPY",
            members.len()
        ));
    }
    for m in &members {
        let f = join(m, "package.json");
        let mp = read_json(scope, &f)?;
        for (name, spec) in dependency_specs(&mp) {
            if spec.starts_with("workspace:") {
                continue;
            }
            if let Some(why) = local_dependency(&f, &name, &spec) {
                return Err(why);
            }
        }
        let scripts = mp.get("scripts").and_then(Value::as_object);
        if let Some(s) = MEMBER_LIFECYCLE.iter().find(|s| scripts.is_some_and(|m| m.contains_key(**s))) {
            return Err(format!(
                "the workspace member `{m}` has a `{s}` script, which the install runs on its sources"
            ));
        }
        if mp.get("bin").is_some() {
            return Err(format!(
                "the workspace member `{m}` declares `bin` files, which the install links from its sources"
            ));
        }
        if scope.view.is_file(&join(m, "binding.gyp")) {
            return Err(format!("the workspace member `{m}` builds a native addon from its sources on install"));
        }
        extra.push(f);
    }
    // Members get their own node_modules too.
    let outputs: Vec<String> = members.iter().map(|m| join(m, "node_modules")).collect();

    // The project's own lifecycle scripts run after the dependencies.
    if !ni.ignore_scripts {
        let scripts = pkg.get("scripts").and_then(Value::as_object);
        let present: Vec<&str> =
            LIFECYCLE.iter().copied().filter(|s| scripts.is_some_and(|m| m.contains_key(*s))).collect();
        let gyp = scope.view.is_file(&join(&scope.dir, "binding.gyp"));
        if gyp && !present.iter().any(|s| matches!(*s, "install" | "preinstall")) {
            let gyp = join(&scope.dir, "binding.gyp");
            return Err(format!("`{gyp}` makes the install build a native addon from the sources"));
        }
        if let Some(first) = present.first() {
            let cmd = scripts.and_then(|m| m.get(*first)).and_then(Value::as_str).unwrap_or("");
            let why = format!(
                "`{pkg_file}` has a `{first}` script (`{cmd}`) that the install runs, and it may read the sources"
            );
            if inst.manager != "npm" {
                return Err(why);
            }
            if !members.is_empty() {
                return Err(format!("{why}; the workspace is linked at install time"));
            }
            if let Some(lock_why) = npm_lock_has_scripts(scope) {
                return Err(format!(
                    "{why}; {lock_why}, so `--ignore-scripts` cannot leave out the project's scripts alone"
                ));
            }
            let after = npm_run_steps(&present)
                .into_iter()
                .map(|e| {
                    let mut parts = ni.assigns.clone();
                    parts.push(format!("npm run {e}"));
                    parts.join(" ")
                })
                .collect::<Vec<_>>()
                .join(" && ");
            project = Some(Project::Split(Split {
                append: vec!["--ignore-scripts".into()],
                replace: Vec::new(),
                after,
                why: format!(
                    "`{}` also runs the project's `{}` script{}, which may read the sources",
                    inst.label,
                    present.join("`, `"),
                    if present.len() == 1 { "" } else { "s" }
                ),
                safe: true,
            }));
        }
    }
    Ok(Checked { extra, project, outputs, ..Checked::default() })
}

/// The `npm run` commands that replay the install's lifecycle scripts in
/// order (`npm run X` also runs `preX` and `postX`).
fn npm_run_steps(present: &[&str]) -> Vec<&'static str> {
    let has = |s: &str| present.contains(&s);
    let mut out = Vec::new();
    if has("install") {
        out.push("install");
    } else {
        out.extend(["preinstall", "postinstall"].into_iter().filter(|s| has(s)));
    }
    if has("prepublish") {
        out.push("prepublish");
    }
    if has("prepare") {
        out.push("prepare");
    } else {
        out.extend(["preprepare", "postprepare"].into_iter().filter(|s| has(s)));
    }
    out
}

/// Why the lock file does not show that only the project has install
/// scripts (`None` when it does: lockfile v2+, no dependency with
/// `hasInstallScript`, none fetched from git, no links).
fn npm_lock_has_scripts(scope: &Scope<'_>) -> Option<String> {
    let lock = scope.files.iter().find(|f| f.ends_with("package-lock.json") || f.ends_with("npm-shrinkwrap.json"));
    let Some(lock) = lock else {
        return Some("there is no package-lock.json to tell which dependencies have install scripts".into());
    };
    let Ok(v) = read_json(scope, lock) else { return Some(format!("`{lock}` cannot be read")) };
    if v.get("lockfileVersion").and_then(Value::as_u64).unwrap_or(1) < 2 {
        return Some(format!("`{lock}` is a version 1 lock file, which does not record install scripts"));
    }
    let pkgs = v.get("packages").and_then(Value::as_object)?;
    for (k, p) in pkgs {
        if k.is_empty() {
            continue;
        }
        let name = k.rsplit("node_modules/").next().unwrap_or(k);
        if p.get("hasInstallScript").and_then(Value::as_bool) == Some(true) {
            return Some(format!("the dependency `{name}` has an install script too"));
        }
        if p.get("link").and_then(Value::as_bool) == Some(true) {
            return Some(format!("`{name}` is linked from the project"));
        }
        if p.get("resolved").and_then(Value::as_str).is_some_and(|r| r.starts_with("git") || r.starts_with("github:")) {
            return Some(format!("the dependency `{name}` is built from git"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_specs() {
        assert!(is_local_spec("file:../shared"));
        assert!(is_local_spec("link:./x"));
        assert!(is_local_spec("../x"));
        assert!(is_local_spec("vendor/x.tgz"));
        assert!(!is_local_spec("^1.2.3"));
        assert!(!is_local_spec("npm:lodash@4"));
        assert!(!is_local_spec("github:user/repo"));
        assert!(!is_local_spec("https://x/y.tgz"));
        assert!(local_dependency("p", "a", "patch:a@npm:1#./.yarn/patches/a.patch").is_none());
        assert!(local_dependency("p", "a", "patch:a@npm:1#./patches/a.patch").is_some());
    }

    #[test]
    fn yaml_lists() {
        let y = "packages:\n  - 'apps/*'\n  - \"packages/**\" # all\n  - '!**/test/**'\nonlyBuiltDependencies:\n  - esbuild\n";
        assert_eq!(yaml_list(y, "packages"), ["apps/*", "packages/**", "!**/test/**"]);
        assert_eq!(yaml_list("packages: ['a/*', b]\n", "packages"), ["a/*", "b"]);
        let y = "patchedDependencies:\n  lodash@4.17.21: patches/lodash@4.17.21.patch\n";
        assert_eq!(
            yaml_map(y, "patchedDependencies"),
            [("lodash@4.17.21".to_string(), "patches/lodash@4.17.21.patch".to_string())]
        );
    }

    #[test]
    fn run_steps() {
        assert_eq!(npm_run_steps(&["postinstall", "prepare"]), ["postinstall", "prepare"]);
        assert_eq!(npm_run_steps(&["preinstall", "install", "postinstall"]), ["install"]);
        assert_eq!(npm_run_steps(&["preprepare"]), ["preprepare"]);
    }
}
