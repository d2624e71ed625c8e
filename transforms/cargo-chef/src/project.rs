//! What the build context says about the Cargo project: packages and their
//! binaries (`[[bin]]`, `src/main.rs`, `src/bin/`), workspace members and
//! default members, `.cargo/config.toml` build settings, and the crates of
//! `Cargo.lock` (for the shared libraries the binary links at run time).

use std::collections::BTreeSet;

use dockfix_core::Context;

use crate::glob;

/// One package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    /// Its directory, relative to the project root (`""` for the root).
    pub dir: String,
    pub bins: Vec<String>,
    pub default_run: Option<String>,
}

/// The project a build compiles.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Project {
    /// Context-relative directory of the root `Cargo.toml` (`""`: the context root).
    pub root: String,
    pub packages: Vec<Package>,
    /// Index of the root package, when the root manifest has `[package]`.
    pub root_package: Option<usize>,
    pub workspace: bool,
    pub default_members: Option<Vec<usize>>,
    /// Crates of `Cargo.lock` that come from a registry or git.
    pub lock: Option<BTreeSet<String>>,
    /// `[build] target` of `.cargo/config.toml`.
    pub config_target: Option<String>,
    /// `[build] target-dir` of `.cargo/config.toml`.
    pub config_target_dir: Option<String>,
    /// Top-level directories that hold workspace members (or excluded crates).
    pub member_roots: BTreeSet<String>,
    /// Directory sources of `.cargo/config.toml` (`cargo vendor` output),
    /// relative to the project root.
    pub source_dirs: Vec<String>,
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{}/{}", a.trim_end_matches('/'), b),
    }
}

/// Normalizes a relative path (`./a/../b/` → `b`); `None` if it leaves the root.
pub fn norm_rel(p: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            c => out.push(c),
        }
    }
    Some(out.join("/"))
}

fn read_toml(cx: &Context<'_>, rel: &str) -> Result<toml::Table, String> {
    let text = cx.read_context(rel).ok_or_else(|| format!("`{rel}` is not in the build context"))?;
    text.parse::<toml::Table>().map_err(|e| format!("`{rel}` does not parse: {}", e.message()))
}

/// Reads the project whose root manifest is `<root>/Cargo.toml`.
pub fn load(cx: &Context<'_>, root: &str) -> Result<Project, String> {
    let manifest_rel = join(root, "Cargo.toml");
    let top = read_toml(cx, &manifest_rel)?;
    let mut p = Project { root: root.to_string(), ..Project::default() };
    if top.contains_key("package") {
        p.packages.push(package(cx, root, "", &top)?);
        p.root_package = Some(0);
    }
    if let Some(ws) = top.get("workspace").and_then(|w| w.as_table()) {
        p.workspace = true;
        let strs = |k: &str| -> Vec<String> {
            ws.get(k)
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        let exclude: Vec<String> = strs("exclude").iter().filter_map(|e| norm_rel(e)).collect();
        // Excluded directories hold other Cargo projects: build inputs too.
        p.member_roots
            .extend(exclude.iter().filter_map(|e| e.split('/').next()).filter(|e| !e.is_empty()).map(str::to_string));
        for m in strs("members") {
            for dir in expand_member(cx, root, &m)? {
                if dir.is_empty() || exclude.contains(&dir) || p.packages.iter().any(|q| q.dir == dir) {
                    continue;
                }
                let t = read_toml(cx, &join(root, &join(&dir, "Cargo.toml")))?;
                if t.contains_key("package") {
                    if let Some(first) = dir.split('/').next() {
                        p.member_roots.insert(first.to_string());
                    }
                    p.packages.push(package(cx, root, &dir, &t)?);
                }
            }
        }
        if ws.contains_key("default-members") {
            let mut dm = Vec::new();
            for m in strs("default-members") {
                for dir in expand_member(cx, root, &m)? {
                    if let Some(i) = p.packages.iter().position(|q| q.dir == dir) {
                        dm.push(i);
                    }
                }
            }
            p.default_members = Some(dm);
        }
    } else if p.root_package.is_none() {
        return Err(format!("`{manifest_rel}` has neither [package] nor [workspace]"));
    }
    if let Some(text) = cx.read_context(&join(root, "Cargo.lock")) {
        let t: toml::Table =
            text.parse().map_err(|e: toml::de::Error| format!("Cargo.lock does not parse: {}", e.message()))?;
        let mut ext = BTreeSet::new();
        for pk in t.get("package").and_then(|v| v.as_array()).into_iter().flatten() {
            if let (Some(name), Some(_)) = (pk.get("name").and_then(|v| v.as_str()), pk.get("source")) {
                ext.insert(name.to_string());
            }
        }
        p.lock = Some(ext);
    }
    for cfg in [".cargo/config.toml", ".cargo/config"] {
        let rel = join(root, cfg);
        if !cx.context_has_file(&rel) {
            continue;
        }
        let t = read_toml(cx, &rel)?;
        for (_, src) in t.get("source").and_then(|v| v.as_table()).into_iter().flatten() {
            if let Some(d) = src.get("directory").and_then(|v| v.as_str()) {
                match norm_rel(d).filter(|d| !d.is_empty() && !d.starts_with('/') && !d.starts_with('$')) {
                    Some(d) => p.source_dirs.push(d),
                    None => return Err(format!("`{rel}` reads crates from `{d}`, outside the project")),
                }
            }
        }
        if let Some(b) = t.get("build").and_then(|b| b.as_table()) {
            p.config_target = match b.get("target") {
                Some(toml::Value::String(s)) => Some(s.clone()),
                Some(toml::Value::Array(a)) if a.len() == 1 => a[0].as_str().map(str::to_string),
                Some(_) => return Err(format!("`{rel}` builds for several targets")),
                None => None,
            };
            p.config_target_dir = b.get("target-dir").and_then(|v| v.as_str()).map(str::to_string);
        }
        break;
    }
    Ok(p)
}

fn expand_member(cx: &Context<'_>, root: &str, pattern: &str) -> Result<Vec<String>, String> {
    let Some(pat) = norm_rel(pattern) else {
        return Err(format!("workspace member `{pattern}` is outside the project"));
    };
    if !glob::is_glob(&pat) {
        return Ok(vec![pat]);
    }
    let mut found = vec![String::new()];
    for comp in pat.split('/') {
        let mut next = Vec::new();
        for base in &found {
            if glob::is_glob(comp) {
                let Some(abs) = cx.context_path(&join(root, base)) else { continue };
                for e in cx.fs.list(&abs) {
                    if e.is_dir && glob::component_match(comp, &e.name) {
                        next.push(join(base, &e.name));
                    }
                }
            } else {
                next.push(join(base, comp));
            }
        }
        found = next;
    }
    found.retain(|d| cx.context_has_file(&join(root, &join(d, "Cargo.toml"))));
    found.sort();
    Ok(found)
}

fn package(cx: &Context<'_>, root: &str, dir: &str, t: &toml::Table) -> Result<Package, String> {
    let pkg = t.get("package").and_then(|v| v.as_table()).ok_or("no [package]")?;
    let name = pkg
        .get("name")
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("`{}` has no package name", join(dir, "Cargo.toml")))?
        .to_string();
    let autobins = pkg.get("autobins").and_then(|v| v.as_bool()).unwrap_or(true);
    let mut bins: Vec<String> = Vec::new();
    let mut explicit_main = false;
    for b in t.get("bin").and_then(|v| v.as_array()).into_iter().flatten() {
        let Some(n) = b.get("name").and_then(|v| v.as_str()) else {
            return Err(format!("a [[bin]] of `{name}` has no name"));
        };
        let path = b.get("path").and_then(|v| v.as_str()).unwrap_or("");
        if path.trim_start_matches("./") == "src/main.rs" || (path.is_empty() && n == name) {
            explicit_main = true;
        }
        if !bins.iter().any(|x| x == n) {
            bins.push(n.to_string());
        }
    }
    let base = join(root, dir);
    if autobins {
        if !explicit_main && cx.context_has_file(&join(&base, "src/main.rs")) && !bins.contains(&name) {
            bins.push(name.clone());
        }
        if let Some(abs) = cx.context_path(&join(&base, "src/bin")) {
            for e in cx.fs.list(&abs) {
                let n = if e.is_dir {
                    if !cx.context_has_file(&join(&base, &format!("src/bin/{}/main.rs", e.name))) {
                        continue;
                    }
                    e.name.clone()
                } else if let Some(stem) = e.name.strip_suffix(".rs") {
                    stem.to_string()
                } else {
                    continue;
                };
                if !bins.contains(&n) {
                    bins.push(n);
                }
            }
        }
    }
    let default_run = pkg.get("default-run").and_then(|v| v.as_str()).map(str::to_string);
    Ok(Package { name, dir: dir.to_string(), bins, default_run })
}

impl Project {
    pub fn package(&self, name: &str) -> Option<&Package> {
        let name = name.split('@').next().unwrap_or(name);
        self.packages.iter().find(|p| p.name == name)
    }

    /// The packages a build selects without `-p`/`--workspace`.
    pub fn default_selection(&self) -> Vec<&Package> {
        if let Some(i) = self.root_package {
            if self.default_members.is_none() {
                return vec![&self.packages[i]];
            }
        }
        match &self.default_members {
            Some(dm) => dm.iter().map(|&i| &self.packages[i]).collect(),
            None => self.packages.iter().collect(),
        }
    }

    /// Dependencies from a registry or git, when Cargo.lock is there.
    pub fn dependency_count(&self) -> Option<usize> {
        self.lock.as_ref().map(BTreeSet::len)
    }

    pub fn locks(&self, krate: &str) -> bool {
        self.lock.as_ref().is_some_and(|l| l.contains(krate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_core::{MemFs, PassOptions, Service};
    use dockfix_syntax::parse_str;

    fn with_project(files: &[(&str, &str)], f: impl FnOnce(&Context<'_>)) {
        let mut fs = MemFs::new();
        for (p, c) in files {
            fs.insert(format!("/c/{p}"), c.as_bytes().to_vec());
        }
        let doc = parse_str("FROM rust\n").unwrap();
        let svc = Service::for_dockerfile("/c/Dockerfile");
        let opts = PassOptions::default();
        let cx = Context { doc: &doc, service: &svc, fs: &fs, options: &opts, history: None, passes: &[] };
        f(&cx);
    }

    #[test]
    fn single_crate_bins() {
        with_project(
            &[
                ("Cargo.toml", "[package]\nname = \"app\"\n[[bin]]\nname = \"tool\"\npath = \"src/tool.rs\"\n"),
                ("src/main.rs", "fn main(){}"),
                ("src/bin/extra.rs", "fn main(){}"),
                ("src/bin/multi/main.rs", "fn main(){}"),
                ("Cargo.lock", "version = 3\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n[[package]]\nname = \"openssl-sys\"\nversion = \"0.9.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"),
            ],
            |cx| {
                let p = load(cx, "").unwrap();
                assert_eq!(p.packages[0].bins, ["tool", "app", "extra", "multi"]);
                assert!(p.locks("openssl-sys"));
                assert!(!p.locks("app"));
            },
        );
    }

    #[test]
    fn workspace_members() {
        with_project(
            &[
                ("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\nexclude = [\"crates/old\"]\ndefault-members = [\"crates/api\"]\n"),
                ("crates/api/Cargo.toml", "[package]\nname = \"api\"\n"),
                ("crates/api/src/main.rs", ""),
                ("crates/core/Cargo.toml", "[package]\nname = \"core\"\n"),
                ("crates/core/src/lib.rs", ""),
                ("crates/old/Cargo.toml", "[package]\nname = \"old\"\n"),
                (
                    ".cargo/config.toml",
                    "[build]\ntarget = \"x86_64-unknown-linux-musl\"\n[source.vendored]\ndirectory = \"vendor\"\n",
                ),
            ],
            |cx| {
                let p = load(cx, "").unwrap();
                let names: Vec<_> = p.packages.iter().map(|p| p.name.as_str()).collect();
                assert_eq!(names, ["api", "core"]);
                assert_eq!(p.default_selection()[0].name, "api");
                assert_eq!(p.config_target.as_deref(), Some("x86_64-unknown-linux-musl"));
                assert_eq!(p.source_dirs, ["vendor"]);
                assert!(p.lock.is_none());
            },
        );
    }
}
