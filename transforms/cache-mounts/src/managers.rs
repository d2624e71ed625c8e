//! Which package managers a RUN runs, where each keeps its download cache
//! for the user and environment in effect, and what in the command turns
//! that cache off.

use dockfix_core::knowledge::{self, ImageDefaults};
use dockfix_core::walk::{normalize, State, Workdir};
use dockfix_core::{Context, Edit};

use crate::script::{Cmd, Script, Word};
use crate::users::User;

/// A cache directory a command needs mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// Absolute, normalized.
    pub target: String,
    /// `sharing=locked`.
    pub locked: bool,
    /// Short name (`pip`, `apt-lists`), for `id=` and messages.
    pub label: &'static str,
    /// Contents differ between base images (OS packages, Python wheels):
    /// stages on different bases get their own `id=`.
    pub by_base: bool,
    /// Under the user's home directory.
    pub home_based: bool,
    /// `id=` of the mount, when one target would mix caches.
    pub id: Option<String>,
}

impl Need {
    /// A cache of compiled output only (Go's build cache): nothing a step
    /// reads offline, and no download in it.
    pub fn compiled_only(&self) -> bool {
        self.label == "go-build"
    }
}

/// One package manager run in a RUN.
#[derive(Debug, Clone, Default)]
pub struct Use {
    /// Knowledge table name (`pip`, `apt`…).
    pub manager: &'static str,
    /// Index of the (first) command in the script.
    pub cmd: usize,
    /// The command, for messages.
    pub label: String,
    pub needs: Vec<Need>,
    /// Edits in the command: cache-disabling flags out, cache-keeping options in.
    pub edits: Vec<Edit>,
    /// What goes (`--no-cache-dir`), for messages.
    pub removed: Vec<String>,
    /// What is added (`-o Dir::Cache::Archives=…`), for messages.
    pub added: Vec<String>,
    /// What is replaced (`` `--no-cache` with `--update-cache` ``).
    pub replaced: Vec<String>,
    /// Why no mount is added (a display-only finding says it).
    pub refusal: Option<String>,
    /// Works from what is on disk only (`mvn -o`): earlier downloads must
    /// stay in the image.
    pub offline: bool,
    /// apt: installs without `apt-get update` earlier in the same RUN (so
    /// it reads the package lists of the image).
    pub reads_image_lists: bool,
    /// Said in the finding's why.
    pub notes: Vec<String>,
}

impl Use {
    fn new(manager: &'static str, cmd: usize, c: &Cmd) -> Use {
        Use { manager, cmd, label: c.label(), ..Use::default() }
    }

    fn refuse(mut self, why: impl Into<String>) -> Use {
        self.refusal = Some(why.into());
        self.needs.clear();
        self.edits.clear();
        self
    }
}

/// A variable as the RUN sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    Set(String),
    Unset,
    /// Declared by an `ARG` without a default, or from an unknown base.
    Unknown,
}

/// What the analysis of one RUN knows.
pub struct Env<'a> {
    pub cx: &'a Context<'a>,
    pub state: &'a State,
    pub image: Option<&'static ImageDefaults>,
    /// The stage's base image (after following stage names).
    pub base: &'a str,
    /// None: cannot tell who runs the RUN.
    pub user: Option<User>,
    /// Something earlier removed or disarmed Debian's docker-clean.
    pub docker_clean_handled: bool,
    /// Text of the RUNs before this one in the stage and its ancestors.
    pub earlier_text: &'a str,
}

impl Env<'_> {
    pub fn var(&self, name: &str) -> Var {
        if let Some(v) = self.state.env.get(name) {
            return Var::Set(v.clone());
        }
        match self.state.args.get(name) {
            Some(Some(v)) => return Var::Set(v.clone()),
            Some(None) => return Var::Unknown,
            None => {}
        }
        if let Some(v) = self.image.and_then(|i| i.env.iter().find(|(k, _)| *k == name)) {
            return Var::Set(v.1.to_string());
        }
        Var::Unset
    }

    /// A variable looked up case-insensitively (npm reads `npm_config_*` so).
    fn var_nocase(&self, name: &str) -> Var {
        let hit = self.state.env.iter().find(|(k, _)| k.eq_ignore_ascii_case(name));
        match hit {
            Some((_, v)) => Var::Set(v.clone()),
            None => match self.state.args.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                Some((_, Some(v))) => Var::Set(v.clone()),
                Some((_, None)) => Var::Unknown,
                None => Var::Unset,
            },
        }
    }

    /// The user's home directory.
    pub fn home(&self) -> Result<String, String> {
        match self.var("HOME") {
            Var::Set(h) => return Ok(h),
            Var::Unknown => return Err("HOME comes from a build argument".into()),
            Var::Unset => {}
        }
        match &self.user {
            None => Err("the USER of this step is not known".into()),
            Some(u) => u.home().ok_or_else(|| format!("the home directory of user `{}` is not known", u.name())),
        }
    }

    /// `$XDG_CACHE_HOME`, or `~/.cache`.
    fn xdg_cache(&self) -> Result<(String, bool), String> {
        match self.var("XDG_CACHE_HOME") {
            Var::Set(v) if v.starts_with('/') => Ok((v, false)),
            Var::Unknown => Err("XDG_CACHE_HOME comes from a build argument".into()),
            _ => Ok((format!("{}/.cache", self.home()?), true)),
        }
    }

    /// A directory given by a variable (absolute), or `Err`.
    fn dir_var(&self, name: &str) -> Result<Option<String>, String> {
        match self.var(name) {
            Var::Set(v) if v.is_empty() => Ok(None),
            Var::Set(v) => self.abs(&v).map(Some).ok_or_else(|| format!("{name}={v} is not an absolute path")),
            Var::Unknown => Err(format!("{name} comes from a build argument")),
            Var::Unset => Ok(None),
        }
    }

    fn abs(&self, p: &str) -> Option<String> {
        let p = self.expand(p)?;
        let p = if let Some(rest) = p.strip_prefix("~/") { format!("{}/{rest}", self.home().ok()?) } else { p };
        match self.state.workdir.join(&p) {
            Workdir::Abs(a) => Some(a),
            _ => None,
        }
    }

    /// Expands variables the way the shell of the RUN would (ENV, ARG, HOME).
    pub fn expand(&self, s: &str) -> Option<String> {
        dockfix_core::walk::expand_with(s, &|n| match self.var(n) {
            Var::Set(v) => Some(v),
            _ if n == "HOME" => self.home().ok(),
            _ => None,
        })
    }

    fn truthy(&self, name: &str) -> Option<String> {
        match self.var(name) {
            Var::Set(v) if !matches!(v.to_ascii_lowercase().as_str(), "" | "0" | "false" | "no" | "off") => Some(v),
            _ => None,
        }
    }
}

/// A path under `dir`, normalized.
fn join(dir: &str, rel: &str) -> String {
    normalize(&format!("{dir}/{rel}"))
}

fn need(target: String, label: &'static str, manager: &str, by_base: bool, home_based: bool) -> Need {
    let locked = knowledge::manager(manager).is_some_and(|m| m.locked_cache);
    Need { target: normalize(&target), locked, label, by_base, home_based, id: None }
}

/// `--name value`, `--name=value` or `-nVALUE` (for one-letter names):
/// the index of the option word and the value.
fn opt_value(words: &[Word], names: &[&str]) -> Option<(usize, String)> {
    for (i, w) in words.iter().enumerate().skip(1) {
        for n in names {
            if w.value == *n {
                return words.get(i + 1).map(|v| (i, v.value.clone()));
            }
            if let Some(v) = w.value.strip_prefix(n).and_then(|r| r.strip_prefix('=')) {
                return Some((i, v.to_string()));
            }
        }
    }
    None
}

fn has(words: &[Word], names: &[&str]) -> bool {
    words.iter().skip(1).any(|w| names.iter().any(|n| w.value == *n || w.value.starts_with(&format!("{n}="))))
}

/// The first argument that is not an option (skipping the values of `valued`).
fn verb<'w>(words: &'w [Word], from: usize, valued: &[&str]) -> Option<(usize, &'w str)> {
    let mut i = from;
    while i < words.len() {
        let v = words[i].value.as_str();
        if v.starts_with('-') {
            if valued.contains(&v) {
                i += 1;
            }
        } else {
            return Some((i, v));
        }
        i += 1;
    }
    None
}

/// Removes a word, or says why not.
fn drop_word(script: &Script<'_>, u: &mut Use, w: &Word) -> Result<(), String> {
    match script.remove_word(w) {
        Some(e) => {
            u.edits.push(e);
            u.removed.push(format!("`{}`", w.value));
            Ok(())
        }
        None => Err(format!("`{}` cannot be removed without touching a comment or the layout", w.value)),
    }
}

/// Inline `NAME=1` assignments that turn the cache off.
fn drop_assignments(script: &Script<'_>, u: &mut Use, c: &Cmd, names: &[&str]) -> Result<(), String> {
    for a in &c.assigns {
        let (k, v) = a.value.split_once('=').unwrap_or((&a.value, ""));
        if names.contains(&k) && !matches!(v.to_ascii_lowercase().as_str(), "" | "0" | "false" | "no" | "off") {
            drop_word(script, u, a)?;
        }
    }
    Ok(())
}

/// Every package manager run in the RUN.
pub fn analyze(env: &Env<'_>, script: &Script<'_>) -> Vec<Use> {
    let mut out = Vec::new();
    let mut apt: Option<Use> = None;
    let mut apt_updated = false;
    let mut apk_updated = false;
    for (i, c) in script.cmds.iter().enumerate() {
        let Some(prog) = c.program() else { continue };
        let prog = prog.to_string();
        let python_m = is_python(&prog) && c.words.get(1).is_some_and(|w| w.value == "-m");
        let module = if python_m { c.words.get(2).map(|w| w.value.as_str()) } else { None };
        let res = if is_pip(&prog) || module == Some("pip") {
            pip(env, script, i, c, if python_m { 3 } else { 1 })
        } else {
            match prog.as_str() {
                "uv" => uv(env, script, i, c),
                "poetry" => poetry(env, script, i, c),
                "pdm" => pdm(env, script, i, c),
                "pipenv" => pipenv(env, script, i, c),
                "npm" => npm(env, script, i, c),
                "yarn" => yarn(env, script, i, c),
                "pnpm" => pnpm(env, script, i, c),
                "bun" => bun(env, script, i, c),
                "go" => go(env, i, c),
                "cargo" => cargo(env, i, c),
                "mvn" | "mvnw" => maven(env, i, c),
                "gradle" | "gradlew" => gradle(env, i, c),
                "bundle" | "bundler" => bundler(env, i, c),
                "composer" | "composer.phar" => composer(env, script, i, c, 1),
                "php" if c.words.get(1).is_some_and(|w| w.value.ends_with("composer.phar")) => {
                    composer(env, script, i, c, 2)
                }
                "apt-get" | "apt" => {
                    apt_cmd(env, script, i, c, &mut apt, &mut apt_updated);
                    None
                }
                "apk" => apk(env, script, i, c, &mut apk_updated),
                "dnf" | "yum" | "microdnf" => rpm(env, script, i, c),
                "zypper" => zypper(env, i, c),
                _ => None,
            }
        };
        if let Some(u) = res {
            out.push(u);
        }
    }
    if let Some(mut a) = apt {
        a.needs.sort_by_key(|n| n.label);
        out.push(a);
    }
    out
}

fn is_python(p: &str) -> bool {
    p.strip_prefix("python").is_some_and(|r| r.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn is_pip(p: &str) -> bool {
    p.strip_prefix("pip").is_some_and(|r| r.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// A non-root user needs `uid=` on the mount; say why not when it is unknown.
fn user_check(env: &Env<'_>, c: &Cmd) -> Result<(), String> {
    if c.sudo {
        return Err("it runs through sudo, so dockfix cannot tell whose cache it uses".into());
    }
    match &env.user {
        None => Err(format!(
            "USER is `{}`, which depends on a build argument, so dockfix cannot tell who runs this step",
            env.state.user.as_deref().unwrap_or("?")
        )),
        Some(User::Root) => Ok(()),
        Some(User::Other { name, account }) => match account.uid {
            Some(_) => Ok(()),
            None => Err(format!(
                "user `{name}` runs it and its uid is not known: a cache mount belongs to root unless `uid=` says otherwise, and `{name}` could not write to it"
            )),
        },
    }
}

/// A cache directory under the user's home (or under `XDG_CACHE_HOME`).
fn home_cache(env: &Env<'_>, rel: &str) -> Result<(String, bool), String> {
    let (base, home_based) = env.xdg_cache()?;
    Ok((join(&base, rel), home_based))
}

fn pip_target(env: &Env<'_>, c: &Cmd, from: usize) -> Result<(String, bool), String> {
    let flags = c.words.get(from.saturating_sub(1)..).unwrap_or(&[]);
    if let Some((_, v)) = opt_value(flags, &["--cache-dir"]) {
        return env.abs(&v).map(|p| (p, false)).ok_or_else(|| format!("`--cache-dir {v}` is not a known path"));
    }
    if let Some(d) = env.dir_var("PIP_CACHE_DIR")? {
        return Ok((d, false));
    }
    home_cache(env, "pip")
}

fn pip(env: &Env<'_>, script: &Script<'_>, i: usize, c: &Cmd, from: usize) -> Option<Use> {
    let (_, v) = verb(&c.words, from, &["-r", "-c", "-e", "-i", "--index-url", "--extra-index-url", "-t", "--target"])?;
    if !matches!(v, "install" | "download" | "wheel") {
        return None;
    }
    let mut u = Use::new("pip", i, c);
    if has(&c.words, &["--no-index"]) {
        return None; // installs from local files only: no cache involved
    }
    if let Some(v) = env.truthy("PIP_NO_CACHE_DIR") {
        if !c.assigns.iter().any(|a| a.value.starts_with("PIP_NO_CACHE_DIR=")) {
            return Some(u.refuse(format!(
                "`ENV PIP_NO_CACHE_DIR={v}` turns pip's cache off for every step, so a mount would stay empty. Remove it from the ENV: with the cache on a mount it no longer ends up in the image, which is what it was for"
            )));
        }
    }
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let (target, home_based) = match pip_target(env, c, from) {
        Ok(t) => t,
        Err(e) => return Some(u.refuse(e)),
    };
    for w in c.words.iter().filter(|w| w.value == "--no-cache-dir") {
        if let Err(e) = drop_word(script, &mut u, w) {
            return Some(u.refuse(e));
        }
    }
    if let Err(e) = drop_assignments(script, &mut u, c, &["PIP_NO_CACHE_DIR"]) {
        return Some(u.refuse(e));
    }
    u.needs.push(need(target, "pip", "pip", true, home_based));
    Some(u)
}

fn uv(env: &Env<'_>, script: &Script<'_>, i: usize, c: &Cmd) -> Option<Use> {
    let (vi, v) = verb(&c.words, 1, &["--cache-dir", "--directory", "--project", "-p", "--python"])?;
    let sub = c.words.get(vi + 1).map(|w| w.value.as_str());
    let installs = match v {
        "sync" | "add" | "lock" | "run" | "export" => true,
        "pip" => matches!(sub, Some("install" | "sync" | "compile")),
        "tool" => matches!(sub, Some("install" | "run")),
        _ => false,
    };
    if !installs || has(&c.words, &["--offline"]) {
        return None;
    }
    let mut u = Use::new("uv", i, c);
    if env.truthy("UV_NO_CACHE").is_some() && !c.assigns.iter().any(|a| a.value.starts_with("UV_NO_CACHE=")) {
        return Some(u.refuse("`ENV UV_NO_CACHE` turns uv's cache off for every step, so a mount would stay empty. Remove it from the ENV"));
    }
    let symlink = opt_value(&c.words, &["--link-mode"]).is_some_and(|(_, v)| v == "symlink")
        || matches!(env.var("UV_LINK_MODE"), Var::Set(v) if v == "symlink");
    if symlink {
        return Some(u.refuse("with `symlink` link mode the environment points into uv's cache: the image needs it"));
    }
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let target = if let Some((_, d)) = opt_value(&c.words, &["--cache-dir"]) {
        env.abs(&d).map(|p| (p, false)).ok_or_else(|| format!("`--cache-dir {d}` is not a known path"))
    } else {
        env.dir_var("UV_CACHE_DIR").and_then(|d| match d {
            Some(d) => Ok((d, false)),
            None => home_cache(env, "uv"),
        })
    };
    let (target, home_based) = match target {
        Ok(t) => t,
        Err(e) => return Some(u.refuse(e)),
    };
    for w in c.words.iter().filter(|w| w.value == "--no-cache" || w.value == "-n") {
        if let Err(e) = drop_word(script, &mut u, w) {
            return Some(u.refuse(e));
        }
    }
    if let Err(e) = drop_assignments(script, &mut u, c, &["UV_NO_CACHE"]) {
        return Some(u.refuse(e));
    }
    if !matches!(env.var("UV_LINK_MODE"), Var::Set(_)) && !has(&c.words, &["--link-mode"]) {
        u.notes.push("uv copies packages out of the mounted cache (it cannot hard-link across it and says so; `ENV UV_LINK_MODE=copy` silences that)".into());
    }
    u.needs.push(need(target, "uv", "uv", true, home_based));
    Some(u)
}

fn poetry(env: &Env<'_>, script: &Script<'_>, i: usize, c: &Cmd) -> Option<Use> {
    let (_, v) = verb(&c.words, 1, &["-C", "--directory", "-P", "--project"])?;
    if !matches!(v, "install" | "sync" | "add" | "update" | "lock") {
        return None;
    }
    let mut u = Use::new("poetry", i, c);
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let base = match env.dir_var("POETRY_CACHE_DIR") {
        Ok(Some(d)) => Ok((d, false)),
        Ok(None) => home_cache(env, "pypoetry"),
        Err(e) => Err(e),
    };
    let (base, home_based) = match base {
        Ok(b) => b,
        Err(e) => return Some(u.refuse(e)),
    };
    for w in c.words.iter().filter(|w| w.value == "--no-cache") {
        if let Err(e) = drop_word(script, &mut u, w) {
            return Some(u.refuse(e));
        }
    }
    // Only the download caches: poetry keeps virtualenvs next to them.
    u.needs.push(need(join(&base, "cache"), "poetry-cache", "poetry", true, home_based));
    u.needs.push(need(join(&base, "artifacts"), "poetry-artifacts", "poetry", true, home_based));
    Some(u)
}

fn pdm(env: &Env<'_>, _script: &Script<'_>, i: usize, c: &Cmd) -> Option<Use> {
    let (_, v) = verb(&c.words, 1, &["-p", "--project"])?;
    if !matches!(v, "install" | "sync" | "add" | "update" | "lock") {
        return None;
    }
    let u = Use::new("pdm", i, c);
    let cfg = env.cx.read_context("pdm.toml").unwrap_or_default();
    if env.truthy("PDM_INSTALL_CACHE").is_some()
        || env.earlier_text.contains("install.cache")
        || cfg.lines().any(|l| l.replace(' ', "") == "cache=true")
    {
        return Some(
            u.refuse("pdm's install cache is on: installed packages link into the cache, so the image needs it"),
        );
    }
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let t = match env.dir_var("PDM_CACHE_DIR") {
        Ok(Some(d)) => Ok((d, false)),
        Ok(None) => home_cache(env, "pdm"),
        Err(e) => Err(e),
    };
    match t {
        Ok((t, hb)) => {
            let mut u = u;
            u.needs.push(need(t, "pdm", "pdm", true, hb));
            Some(u)
        }
        Err(e) => Some(u.refuse(e)),
    }
}

fn pipenv(env: &Env<'_>, _script: &Script<'_>, i: usize, c: &Cmd) -> Option<Use> {
    let (_, v) = verb(&c.words, 1, &[])?;
    if !matches!(v, "install" | "sync" | "update" | "lock") {
        return None;
    }
    let mut u = Use::new("pipenv", i, c);
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let t = match env.dir_var("PIPENV_CACHE_DIR") {
        Ok(Some(d)) => Ok((d, false)),
        Ok(None) => home_cache(env, "pipenv"),
        Err(e) => Err(e),
    };
    match t {
        Ok((t, hb)) => u.needs.push(need(t, "pipenv", "pipenv", true, hb)),
        Err(e) => return Some(u.refuse(e)),
    }
    if env.truthy("PIP_NO_CACHE_DIR").is_none() {
        if let Ok((t, hb)) = pip_target(env, c, usize::MAX) {
            u.needs.push(need(t, "pip", "pip", true, hb));
        }
    }
    Some(u)
}

/// A key of the project's `.npmrc` (the one in the build context).
fn npmrc(env: &Env<'_>, key: &str) -> Option<String> {
    let text = env.cx.read_context(".npmrc")?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

fn npm(env: &Env<'_>, _script: &Script<'_>, i: usize, c: &Cmd) -> Option<Use> {
    let (_, v) = verb(&c.words, 1, &["--cache", "--prefix", "-C", "-w", "--workspace"])?;
    let installs = matches!(
        v,
        "install"
            | "i"
            | "ci"
            | "add"
            | "in"
            | "ins"
            | "inst"
            | "insta"
            | "instal"
            | "isnt"
            | "isntall"
            | "install-clean"
            | "ic"
            | "install-ci-test"
            | "cit"
            | "install-test"
            | "it"
            | "update"
            | "up"
            | "upgrade"
            | "udpate"
    );
    if !installs {
        return None;
    }
    let mut u = Use::new("npm", i, c);
    u.offline = has(&c.words, &["--offline"]);
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let t = if let Some((_, d)) = opt_value(&c.words, &["--cache"]) {
        env.abs(&d).map(|p| (p, false)).ok_or_else(|| format!("`--cache {d}` is not a known path"))
    } else {
        match env.var_nocase("npm_config_cache") {
            Var::Set(d) => {
                env.abs(&d).map(|p| (p, false)).ok_or_else(|| format!("npm_config_cache={d} is not a known path"))
            }
            Var::Unknown => Err("npm_config_cache comes from a build argument".into()),
            Var::Unset => match npmrc(env, "cache") {
                Some(d) => env
                    .abs(&d)
                    .filter(|_| d.starts_with('/'))
                    .map(|p| (p, false))
                    .ok_or_else(|| format!("`.npmrc` sets `cache={d}`, which dockfix cannot place")),
                None => env.home().map(|h| (join(&h, ".npm"), true)),
            },
        }
    };
    match t {
        Ok((t, hb)) => u.needs.push(need(t, "npm", "npm", false, hb)),
        Err(e) => return Some(u.refuse(e)),
    }
    Some(u)
}

/// The yarn generation the project uses: `Some(major)` when known.
fn yarn_major(env: &Env<'_>) -> Option<u32> {
    let pkg = env.cx.read_context("package.json").unwrap_or_default();
    let pm = pkg.split("\"packageManager\"").nth(1).and_then(|r| r.split('"').nth(1)).unwrap_or("");
    if let Some(ver) = pm.strip_prefix("yarn@") {
        return ver.split('.').next().and_then(|m| m.parse().ok());
    }
    None
}

/// A key of `.yarnrc.yml`.
fn yarnrc_yml(env: &Env<'_>, key: &str) -> Option<String> {
    let text = env.cx.read_context(".yarnrc.yml")?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().trim_matches(['"', '\'']).to_string())
    })
}

fn yarn(env: &Env<'_>, _script: &Script<'_>, i: usize, c: &Cmd) -> Option<Use> {
    let valued = ["--cache-folder", "--modules-folder", "--cwd", "--network-timeout", "--mutex", "--registry"];
    let installs = match verb(&c.words, 1, &valued) {
        None => true,
        Some((vi, v)) => match v {
            "install" | "add" | "upgrade" | "up" | "import" => true,
            "global" => c.words.get(vi + 1).is_some_and(|w| w.value == "add"),
            "workspaces" => c.words.get(vi + 1).is_some_and(|w| w.value == "focus"),
            _ => false,
        },
    };
    if !installs {
        return None;
    }
    let mut u = Use::new("yarn", i, c);
    u.offline = has(&c.words, &["--offline"]);
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let major = yarn_major(env);
    let berry = env.cx.context_has_file(".yarnrc.yml") || major.is_some_and(|m| m >= 2);
    if !berry {
        let t = if let Some((_, d)) = opt_value(&c.words, &["--cache-folder"]) {
            env.abs(&d).map(|p| (p, false)).ok_or_else(|| format!("`--cache-folder {d}` is not a known path"))
        } else {
            match env.dir_var("YARN_CACHE_FOLDER") {
                Ok(Some(d)) => Ok((d, false)),
                Err(e) => Err(e),
                Ok(None) => match (env.var("XDG_CACHE_HOME"), &env.user) {
                    (Var::Set(x), _) => Ok((join(&x, "yarn"), false)),
                    // Yarn 1 run as root keeps its cache under /usr/local/share.
                    (_, Some(User::Root)) if !matches!(env.var("HOME"), Var::Unknown) => {
                        Ok(("/usr/local/share/.cache/yarn".to_string(), false))
                    }
                    _ => home_cache(env, "yarn"),
                },
            }
        };
        match t {
            Ok((t, hb)) => u.needs.push(need(t, "yarn", "yarn", false, hb)),
            Err(e) => return Some(u.refuse(e)),
        }
        return Some(u);
    }
    // Yarn 2+: the cache is the install unless packages land in node_modules.
    let linker = match env.var("YARN_NODE_LINKER") {
        Var::Set(l) => Some(l),
        _ => yarnrc_yml(env, "nodeLinker"),
    };
    if !matches!(linker.as_deref(), Some("node-modules" | "pnpm")) {
        return Some(u.refuse(
            "with Yarn Plug'n'Play (the default of Yarn 2+) the packages are read from the cache at run time: the image needs it. With `nodeLinker: node-modules` dockfix mounts it",
        ));
    }
    let global = match env.var("YARN_ENABLE_GLOBAL_CACHE") {
        Var::Set(v) => Some(v == "true" || v == "1"),
        _ => yarnrc_yml(env, "enableGlobalCache").map(|v| v == "true").or(major.map(|m| m >= 4)),
    };
    let folder = match env.dir_var("YARN_CACHE_FOLDER") {
        Ok(Some(d)) => Some(d),
        Ok(None) => yarnrc_yml(env, "cacheFolder").and_then(|d| env.abs(&d)),
        Err(e) => return Some(u.refuse(e)),
    };
    let t = match (folder, global) {
        (Some(f), _) => Ok((f, false)),
        (None, Some(true)) => match env.dir_var("YARN_GLOBAL_FOLDER") {
            Ok(Some(g)) => Ok((join(&g, "cache"), false)),
            Ok(None) => env.home().map(|h| (join(&h, ".yarn/berry/cache"), true)),
            Err(e) => Err(e),
        },
        (None, Some(false)) => match &c.cwd {
            Workdir::Abs(d) => Ok((join(d, ".yarn/cache"), false)),
            _ => Err("the project directory is not known".into()),
        },
        (None, None) => {
            Err("the Yarn version is not known (no `packageManager` in package.json), so neither is where it caches"
                .into())
        }
    };
    match t {
        Ok((t, hb)) => u.needs.push(need(t, "yarn", "yarn", false, hb)),
        Err(e) => return Some(u.refuse(e)),
    }
    Some(u)
}

fn pnpm(env: &Env<'_>, _script: &Script<'_>, i: usize, c: &Cmd) -> Option<Use> {
    let (_, v) = verb(&c.words, 1, &["--filter", "-F", "-C", "--dir", "--store-dir", "-w", "--workspace-root"])?;
    if !matches!(v, "install" | "i" | "add" | "fetch" | "update" | "up" | "upgrade" | "deploy") {
        return None;
    }
    let mut u = Use::new("pnpm", i, c);
    u.offline = has(&c.words, &["--offline"]);
    for key in ["package-import-method", "enable-global-virtual-store"] {
        if let Some(v) = npmrc(env, key) {
            if matches!(v.as_str(), "hardlink" | "clone" | "true") {
                return Some(u.refuse(format!(
                    "`.npmrc` sets `{key}={v}`: node_modules would link into the store, so the image needs it"
                )));
            }
        }
    }
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let t = if let Some((_, d)) = opt_value(&c.words, &["--store-dir"]) {
        env.abs(&d).map(|p| (p, false)).ok_or_else(|| format!("`--store-dir {d}` is not a known path"))
    } else {
        match env.var_nocase("npm_config_store_dir") {
            Var::Set(d) => {
                env.abs(&d).map(|p| (p, false)).ok_or_else(|| format!("npm_config_store_dir={d} is not a known path"))
            }
            Var::Unknown => Err("npm_config_store_dir comes from a build argument".into()),
            Var::Unset => match npmrc(env, "store-dir") {
                Some(d) => env
                    .abs(&d)
                    .filter(|_| d.starts_with('/'))
                    .map(|p| (p, false))
                    .ok_or_else(|| format!("`.npmrc` sets `store-dir={d}`, which dockfix cannot place")),
                None => match (env.dir_var("PNPM_HOME"), env.dir_var("XDG_DATA_HOME")) {
                    (Ok(Some(h)), _) => Ok((join(&h, "store"), false)),
                    (Ok(None), Ok(Some(x))) => Ok((join(&x, "pnpm/store"), false)),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                    _ => env.home().map(|h| (join(&h, ".local/share/pnpm/store"), true)),
                },
            },
        }
    };
    match t {
        Ok((t, hb)) => u.needs.push(need(t, "pnpm", "pnpm", false, hb)),
        Err(e) => return Some(u.refuse(e)),
    }
    Some(u)
}

fn bun(env: &Env<'_>, script: &Script<'_>, i: usize, c: &Cmd) -> Option<Use> {
    let (_, v) = verb(&c.words, 1, &["--cwd", "--cache-dir", "--backend"])?;
    if !matches!(v, "install" | "i" | "add") {
        return None;
    }
    let mut u = Use::new("bun", i, c);
    if opt_value(&c.words, &["--backend"]).is_some_and(|(_, b)| b == "symlink") {
        return Some(u.refuse("with the `symlink` backend node_modules points into bun's cache: the image needs it"));
    }
    if env.cx.read_context("bunfig.toml").is_some_and(|t| t.contains("[install.cache]")) {
        return Some(u.refuse("bunfig.toml configures bun's cache; dockfix leaves it alone"));
    }
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let t = if let Some((_, d)) = opt_value(&c.words, &["--cache-dir"]) {
        env.abs(&d).map(|p| (p, false)).ok_or_else(|| format!("`--cache-dir {d}` is not a known path"))
    } else {
        match (env.dir_var("BUN_INSTALL_CACHE_DIR"), env.dir_var("BUN_INSTALL")) {
            (Ok(Some(d)), _) => Ok((d, false)),
            (Ok(None), Ok(Some(b))) => Ok((join(&b, "install/cache"), false)),
            (Err(e), _) | (_, Err(e)) => Err(e),
            _ => env.home().map(|h| (join(&h, ".bun/install/cache"), true)),
        }
    };
    let (t, hb) = match t {
        Ok(t) => t,
        Err(e) => return Some(u.refuse(e)),
    };
    for w in c.words.iter().filter(|w| w.value == "--no-cache") {
        if let Err(e) = drop_word(script, &mut u, w) {
            return Some(u.refuse(e));
        }
    }
    u.needs.push(need(t, "bun", "bun", false, hb));
    Some(u)
}

fn go(env: &Env<'_>, i: usize, c: &Cmd) -> Option<Use> {
    let (vi, v) = verb(&c.words, 1, &["-C"])?;
    let sub = c.words.get(vi + 1).map(|w| w.value.as_str());
    let (modcache, build) = match v {
        "mod" => (matches!(sub, Some("download" | "tidy" | "vendor" | "verify" | "graph" | "why")), false),
        "build" | "install" | "get" | "test" | "run" | "generate" | "vet" | "list" => (true, true),
        "work" => (sub == Some("sync"), false),
        _ => (false, false),
    };
    if !modcache && !build {
        return None;
    }
    let mut u = Use::new("go", i, c);
    let inline = |k: &str| c.assigns.iter().find_map(|a| a.value.strip_prefix(&format!("{k}=")).map(str::to_string));
    let goproxy = inline("GOPROXY").or(match env.var("GOPROXY") {
        Var::Set(v) => Some(v),
        _ => None,
    });
    let goflags = inline("GOFLAGS").or(match env.var("GOFLAGS") {
        Var::Set(v) => Some(v),
        _ => None,
    });
    u.offline = goproxy.as_deref() == Some("off");
    let vendored = goflags.as_deref().is_some_and(|f| f.contains("-mod=vendor"))
        || has(&c.words, &["-mod"]) && c.words.iter().any(|w| w.value == "-mod=vendor");
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    if modcache && !vendored {
        let t = match env.dir_var("GOMODCACHE") {
            Ok(Some(d)) => Ok((d, false)),
            Err(e) => Err(e),
            Ok(None) => match env.var("GOPATH") {
                Var::Set(p) => {
                    let first = p.split(':').next().unwrap_or("").to_string();
                    if first.starts_with('/') {
                        Ok((join(&first, "pkg/mod"), false))
                    } else {
                        Err(format!("GOPATH={p} is not an absolute path"))
                    }
                }
                Var::Unknown => Err("GOPATH comes from a build argument".into()),
                Var::Unset => env.home().map(|h| (join(&h, "go/pkg/mod"), true)),
            },
        };
        match t {
            Ok((t, hb)) => u.needs.push(need(t, "go-mod", "go", false, hb)),
            Err(e) => return Some(u.refuse(e)),
        }
    }
    if build {
        let t = match env.var("GOCACHE") {
            Var::Set(v) if v == "off" => Ok(None),
            Var::Set(v) if v.starts_with('/') => Ok(Some((normalize(&v), false))),
            Var::Set(v) => Err(format!("GOCACHE={v} is not an absolute path")),
            Var::Unknown => Err("GOCACHE comes from a build argument".into()),
            Var::Unset => home_cache(env, "go-build").map(Some),
        };
        match t {
            Ok(Some((t, hb))) => u.needs.push(need(t, "go-build", "go", false, hb)),
            Ok(None) => {}
            Err(e) => return Some(u.refuse(e)),
        }
    }
    Some(u)
}

fn cargo(env: &Env<'_>, i: usize, c: &Cmd) -> Option<Use> {
    let start = if c.words.get(1).is_some_and(|w| w.value.starts_with('+')) { 2 } else { 1 };
    let (_, v) =
        verb(&c.words, start, &["--manifest-path", "-p", "--package", "--target-dir", "-Z", "--config", "--color"])?;
    let builds = matches!(
        v,
        "build"
            | "b"
            | "install"
            | "fetch"
            | "test"
            | "t"
            | "run"
            | "r"
            | "check"
            | "c"
            | "doc"
            | "d"
            | "bench"
            | "vendor"
            | "update"
            | "generate-lockfile"
            | "clippy"
            | "chef"
            | "rustc"
            | "zigbuild"
            | "nextest"
            | "auditable"
    );
    if !builds {
        return None;
    }
    // `cargo chef prepare` only reads the manifests: nothing to cache.
    if v == "chef" && c.words.iter().any(|w| w.value == "prepare") {
        return None;
    }
    let mut u = Use::new("cargo", i, c);
    let net_offline = c.assigns.iter().any(|a| a.value == "CARGO_NET_OFFLINE=true")
        || env.truthy("CARGO_NET_OFFLINE").is_some_and(|v| v == "true");
    u.offline = net_offline || has(&c.words, &["--offline", "--frozen"]);
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let home = match env.dir_var("CARGO_HOME") {
        Ok(Some(d)) => Ok((d, false)),
        Ok(None) => env.home().map(|h| (join(&h, ".cargo"), true)),
        Err(e) => Err(e),
    };
    let (home, hb) = match home {
        Ok(h) => h,
        Err(e) => return Some(u.refuse(e)),
    };
    u.needs.push(need(join(&home, "registry"), "cargo-registry", "cargo", false, hb));
    u.needs.push(need(join(&home, "git"), "cargo-git", "cargo", false, hb));
    Some(u)
}

/// `-Dmaven.repo.local=…` in words or an options string.
fn maven_repo_flag<'a>(words: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut it = words.peekable();
    while let Some(w) = it.next() {
        let w = if w == "-D" { it.next().unwrap_or("") } else { w.strip_prefix("-D").unwrap_or("") };
        if let Some(v) = w.strip_prefix("maven.repo.local=") {
            return Some(v.trim_matches(['"', '\'']).to_string());
        }
    }
    None
}

fn maven(env: &Env<'_>, i: usize, c: &Cmd) -> Option<Use> {
    let valued = [
        "-f",
        "--file",
        "-s",
        "--settings",
        "-gs",
        "--global-settings",
        "-pl",
        "--projects",
        "-P",
        "-T",
        "-D",
        "-l",
        "-rf",
    ];
    verb(&c.words, 1, &valued)?;
    let mut u = Use::new("maven", i, c);
    u.offline = has(&c.words, &["-o", "--offline"]);
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let from_env = |k: &str| match env.var(k) {
        Var::Set(v) => maven_repo_flag(v.split_whitespace()),
        _ => None,
    };
    let config = |f: &str| env.cx.read_context(f).and_then(|t| maven_repo_flag(t.split_whitespace()));
    let mut repo = maven_repo_flag(c.words.iter().map(|w| w.value.as_str()))
        .or_else(|| from_env("MAVEN_OPTS"))
        .or_else(|| from_env("MAVEN_ARGS"))
        .or_else(|| config(".mvn/maven.config"))
        .or_else(|| config(".mvn/jvm.config"));
    if repo.is_none() {
        if let Some((_, s)) = opt_value(&c.words, &["-s", "--settings"]) {
            let name = s.rsplit('/').next().unwrap_or(&s).to_string();
            let text = env.cx.read_context(s.trim_start_matches("./")).or_else(|| env.cx.read_context(&name));
            match text {
                Some(t) if t.contains("<localRepository>") => {
                    let v = t.split("<localRepository>").nth(1)?.split("</localRepository>").next()?.trim().to_string();
                    if !v.starts_with('/') || v.contains("${") {
                        return Some(u.refuse(format!(
                            "the settings file puts the local repository at `{v}`, which dockfix cannot place"
                        )));
                    }
                    repo = Some(v);
                }
                Some(_) => {}
                None => {
                    return Some(u.refuse(format!(
                        "`{s}` is not in the build context, so dockfix cannot tell where it puts the local repository"
                    )))
                }
            }
        }
    }
    let t = match repo {
        Some(r) => env.abs(&r).map(|p| (p, false)).ok_or_else(|| format!("maven.repo.local={r} is not a known path")),
        None => env.home().map(|h| (join(&h, ".m2/repository"), true)),
    };
    match t {
        Ok((t, hb)) => u.needs.push(need(t, "maven", "maven", false, hb)),
        Err(e) => return Some(u.refuse(e)),
    }
    Some(u)
}

fn gradle(env: &Env<'_>, i: usize, c: &Cmd) -> Option<Use> {
    let valued = [
        "-g",
        "--gradle-user-home",
        "-p",
        "--project-dir",
        "-x",
        "--exclude-task",
        "-b",
        "--build-file",
        "-c",
        "-D",
        "-P",
        "--init-script",
        "-I",
    ];
    verb(&c.words, 1, &valued)?;
    let mut u = Use::new("gradle", i, c);
    u.offline = has(&c.words, &["--offline"]);
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let opts_home = |k: &str| match env.var(k) {
        Var::Set(v) => v.split_whitespace().find_map(|w| w.strip_prefix("-Dgradle.user.home=").map(str::to_string)),
        _ => None,
    };
    let home = if let Some((_, g)) = opt_value(&c.words, &["-g", "--gradle-user-home"]) {
        env.abs(&g).map(|p| (p, false)).ok_or_else(|| format!("`--gradle-user-home {g}` is not a known path"))
    } else if let Some(g) = opts_home("GRADLE_OPTS").or_else(|| opts_home("JAVA_OPTS")) {
        env.abs(&g).map(|p| (p, false)).ok_or_else(|| format!("gradle.user.home={g} is not a known path"))
    } else {
        match env.dir_var("GRADLE_USER_HOME") {
            Ok(Some(d)) => Ok((d, false)),
            Ok(None) => env.home().map(|h| (join(&h, ".gradle"), true)),
            Err(e) => Err(e),
        }
    };
    let (home, hb) = match home {
        Ok(h) => h,
        Err(e) => return Some(u.refuse(e)),
    };
    u.needs.push(need(join(&home, "caches"), "gradle-caches", "gradle", false, hb));
    if c.program() == Some("gradlew") {
        u.needs.push(need(join(&home, "wrapper"), "gradle-wrapper", "gradle", false, hb));
    }
    Some(u)
}

fn bundler(env: &Env<'_>, i: usize, c: &Cmd) -> Option<Use> {
    let installs = match verb(&c.words, 1, &["--gemfile", "--path", "--jobs", "-j", "--retry", "--without", "--with"]) {
        None => true,
        Some((_, v)) => matches!(v, "install" | "update"),
    };
    if !installs {
        return None;
    }
    let mut u = Use::new("bundler", i, c);
    u.offline = has(&c.words, &["--local"]);
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let bundle_cfg = env.cx.read_context(".bundle/config").unwrap_or_default();
    let custom_path = has(&c.words, &["--path", "--deployment", "--standalone"])
        || !matches!(env.var("BUNDLE_PATH"), Var::Unset)
        || env.truthy("BUNDLE_DEPLOYMENT").is_some()
        || bundle_cfg.contains("BUNDLE_PATH")
        || bundle_cfg.contains("BUNDLE_DEPLOYMENT")
        || env
            .earlier_text
            .lines()
            .any(|l| l.contains("bundle config") && (l.contains("path") || l.contains("deployment")))
        || c.assigns.iter().any(|a| a.value.starts_with("BUNDLE_PATH=") || a.value.starts_with("BUNDLE_DEPLOYMENT="));
    if custom_path {
        return Some(u.refuse(
            "bundler installs into a path of its own here, whose download cache sits under a Ruby-version directory dockfix cannot tell",
        ));
    }
    match env.dir_var("GEM_HOME") {
        Ok(Some(g)) => {
            u.needs.push(need(join(&g, "cache"), "gems", "bundler", false, false));
            u.notes.push(format!(
                "the mount covers only the downloaded `.gem` files in {g}/cache; the installed gems stay in the image"
            ));
            Some(u)
        }
        Ok(None) => Some(u.refuse("GEM_HOME is not set, so dockfix cannot tell where bundler keeps downloaded gems")),
        Err(e) => Some(u.refuse(e)),
    }
}

fn composer(env: &Env<'_>, script: &Script<'_>, i: usize, c: &Cmd, from: usize) -> Option<Use> {
    let (_, v) = verb(&c.words, from, &["-d", "--working-dir"])?;
    if !matches!(v, "install" | "i" | "update" | "u" | "upgrade" | "require" | "r" | "create-project" | "reinstall") {
        return None;
    }
    let mut u = Use::new("composer", i, c);
    if let Err(e) = user_check(env, c) {
        return Some(u.refuse(e));
    }
    let xdg = env.state.env.keys().any(|k| k.starts_with("XDG_"));
    let t = match (env.dir_var("COMPOSER_CACHE_DIR"), env.dir_var("COMPOSER_HOME")) {
        (Ok(Some(d)), _) => Ok((d, false)),
        (Ok(None), Ok(Some(h))) => Ok((join(&h, "cache"), false)),
        (Err(e), _) | (_, Err(e)) => Err(e),
        _ if xdg => home_cache(env, "composer"),
        _ => env.home().map(|h| (join(&h, ".composer/cache"), true)),
    };
    let (t, hb) = match t {
        Ok(t) => t,
        Err(e) => return Some(u.refuse(e)),
    };
    for w in c.words.iter().filter(|w| w.value == "--no-cache") {
        if let Err(e) = drop_word(script, &mut u, w) {
            return Some(u.refuse(e));
        }
    }
    u.needs.push(need(t, "composer", "composer", false, hb));
    Some(u)
}

/// Where apt keeps downloaded packages when Debian's docker-clean would
/// delete them from the default place (see EXPLAIN.md).
pub const APT_ARCHIVES: &str = "/var/cache/apt/debs";

fn apt_cmd(env: &Env<'_>, script: &Script<'_>, i: usize, c: &Cmd, apt: &mut Option<Use>, updated: &mut bool) {
    if !c.sudo && !matches!(env.user, Some(User::Root)) {
        return; // apt as a non-root user fails anyway
    }
    let valued = ["-o", "-c", "-t", "--target-release", "--option", "--config-file"];
    let Some((_, v)) = verb(&c.words, 1, &valued) else { return };
    let u = apt.get_or_insert_with(|| Use::new("apt", i, c));
    match v {
        "update" => {
            *updated = true;
            if !u.needs.iter().any(|n| n.label == "apt-lists") {
                u.needs.push(need("/var/lib/apt/lists".into(), "apt-lists", "apt", true, false));
            }
        }
        "install" | "upgrade" | "dist-upgrade" | "full-upgrade" | "reinstall" | "build-dep" | "satisfy" => {
            if !*updated {
                u.reads_image_lists = true;
            }
            if u.label.is_empty() || u.needs.iter().all(|n| n.label != "apt-cache") {
                u.label = c.label();
            }
            if !u.needs.iter().any(|n| n.label == "apt-cache") {
                u.needs.push(need("/var/cache/apt".into(), "apt-cache", "apt", true, false));
            }
            // Debian's docker-clean deletes /var/cache/apt/archives/*.deb
            // after every install: download elsewhere in the mounted cache.
            let set = c
                .words
                .iter()
                .any(|w| w.value.contains("Dir::Cache::Archives") || w.value.contains("Dir::Cache::archives"));
            if !env.docker_clean_handled && !set {
                let mut words = vec!["-o".to_string(), format!("Dir::Cache::Archives={APT_ARCHIVES}")];
                if c.program() == Some("apt") && !c.words.iter().any(|w| w.value.contains("Keep-Downloaded-Packages")) {
                    words.push("-o".into());
                    words.push("APT::Keep-Downloaded-Packages=true".into());
                }
                let refs: Vec<&str> = words.iter().map(String::as_str).collect();
                if let Some(e) = script.insert_after(&c.words[0], &refs) {
                    u.edits.push(e);
                    u.added.push(format!("`{}`", refs.join(" ")));
                }
            }
        }
        _ => {}
    }
}

fn apk(env: &Env<'_>, script: &Script<'_>, i: usize, c: &Cmd, updated: &mut bool) -> Option<Use> {
    if !c.sudo && !matches!(env.user, Some(User::Root)) {
        return None;
    }
    let (_, v) =
        verb(&c.words, 1, &["-X", "--repository", "-p", "--root", "--cache-dir", "--arch", "-t", "--virtual"])?;
    if v == "update" {
        *updated = true;
    }
    if !matches!(v, "add" | "upgrade" | "update" | "fix" | "fetch") {
        return None;
    }
    let mut u = Use::new("apk", i, c);
    let target = match opt_value(&c.words, &["--cache-dir"]) {
        Some((_, d)) => match env.abs(&d) {
            Some(p) => p,
            None => return Some(u.refuse(format!("`--cache-dir {d}` is not a known path"))),
        },
        None => "/etc/apk/cache".to_string(),
    };
    // getopt takes `--update` for `--update-cache`.
    let refresh = *updated || has(&c.words, &["-U", "--update-cache", "--update"]);
    for w in c.words.iter().filter(|w| w.value == "--no-cache") {
        // `--no-cache` also fetched fresh indexes; keep that with
        // `--update-cache` unless `apk update` ran first.
        let e = if refresh { script.remove_word(w) } else { script.replace_word(w, "--update-cache") };
        match e {
            Some(e) => {
                u.edits.push(e);
                if refresh {
                    u.removed.push("`--no-cache`".into());
                } else {
                    u.replaced.push("`--no-cache` with `--update-cache`".into());
                    u.notes.push("`--update-cache` still fetches fresh package indexes, as `--no-cache` did".into());
                }
            }
            None => return Some(u.refuse("`--no-cache` cannot be removed without touching the layout")),
        }
    }
    u.needs.push(need(target, "apk", "apk", true, false));
    Some(u)
}

fn rpm(env: &Env<'_>, script: &Script<'_>, i: usize, c: &Cmd) -> Option<Use> {
    if !c.sudo && !matches!(env.user, Some(User::Root)) {
        return None;
    }
    let (vi, v) = verb(
        &c.words,
        1,
        &["--setopt", "--repo", "--enablerepo", "--disablerepo", "--releasever", "--installroot", "-c", "--config"],
    )?;
    let sub = c.words.get(vi + 1).map(|w| w.value.as_str());
    let installs = matches!(
        v,
        "install"
            | "in"
            | "reinstall"
            | "update"
            | "upgrade"
            | "up"
            | "groupinstall"
            | "makecache"
            | "builddep"
            | "distro-sync"
            | "downgrade"
            | "swap"
            | "localinstall"
            | "update-minimal"
            | "upgrade-minimal"
    ) || (matches!(v, "group" | "groups" | "module")
        && matches!(sub, Some("install" | "enable" | "upgrade")));
    if !installs {
        return None;
    }
    let prog = c.program().unwrap_or("dnf");
    let mut u = Use::new("dnf", i, c);
    if c.words.iter().any(|w| w.value.starts_with("--installroot")) {
        return None;
    }
    let target = knowledge::rpm_cache_dir(prog, env.base).to_string();
    // Keep downloaded packages (dnf deletes them after installing) and
    // check the metadata each time, as an empty cache did.
    let mut words: Vec<&str> = Vec::new();
    if !c.words.iter().any(|w| w.value.contains("keepcache")) {
        words.push("--setopt=keepcache=1");
    }
    let dnf_backed = target != "/var/cache/yum" || prog == "microdnf";
    if dnf_backed && !has(&c.words, &["--refresh"]) {
        words.push("--refresh");
    }
    if !words.is_empty() {
        if let Some(e) = script.insert_after(&c.words[0], &words) {
            u.edits.push(e);
            u.added.push(format!("`{}`", words.join(" ")));
        }
    }
    u.needs.push(need(target, "rpm", "dnf", true, false));
    Some(u)
}

fn zypper(env: &Env<'_>, i: usize, c: &Cmd) -> Option<Use> {
    if !c.sudo && !matches!(env.user, Some(User::Root)) {
        return None;
    }
    let (_, v) = verb(
        &c.words,
        1,
        &["--root", "-R", "--reposd-dir", "--cache-dir", "--raw-cache-dir", "--solv-cache-dir", "--pkg-cache-dir"],
    )?;
    if !matches!(
        v,
        "install"
            | "in"
            | "update"
            | "up"
            | "refresh"
            | "ref"
            | "dist-upgrade"
            | "dup"
            | "patch"
            | "source-install"
            | "si"
    ) {
        return None;
    }
    let mut u = Use::new("zypper", i, c);
    if has(&c.words, &["--root", "-R", "--cache-dir", "--raw-cache-dir", "--pkg-cache-dir"]) {
        return None;
    }
    u.needs.push(need("/var/cache/zypp".into(), "zypper", "zypper", true, false));
    Some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_names() {
        assert!(is_pip("pip3.12"));
        assert!(!is_pip("pipx"));
        assert!(is_python("python3"));
        assert_eq!(maven_repo_flag(["-B", "-Dmaven.repo.local=/m2"].into_iter()).as_deref(), Some("/m2"));
        assert_eq!(maven_repo_flag(["-D", "maven.repo.local=/x"].into_iter()).as_deref(), Some("/x"));
    }
}
