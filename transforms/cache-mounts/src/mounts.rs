//! `RUN --mount=…` flags already there, and the path relations this pass
//! reasons with (is a path inside a cache, does a glob reach a mount point).

use dockfix_core::walk::{normalize, State, Workdir};
use dockfix_syntax::Instruction;

/// One `--mount` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `cache`, `bind`, `tmpfs`, `secret`, `ssh`.
    pub kind: String,
    /// The absolute target, when known.
    pub target: Option<String>,
    pub id: Option<String>,
}

/// The `--mount` flags of a RUN, targets expanded and resolved against the
/// working directory.
pub fn existing(ins: &Instruction, state: &State) -> Vec<Mount> {
    ins.flags_named("mount").filter_map(|f| f.value()).map(|v| parse(v, state)).collect()
}

fn parse(value: &str, state: &State) -> Mount {
    let mut kind = "bind".to_string();
    let mut target = None;
    let mut id = None;
    for field in split_csv(value) {
        let (k, v) = field.split_once('=').unwrap_or((field.as_str(), ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "type" => kind = v.to_ascii_lowercase(),
            "target" | "dst" | "destination" => target = Some(v.to_string()),
            "id" => id = Some(v.to_string()),
            _ => {}
        }
    }
    if target.is_none() && kind == "secret" {
        target = id.as_ref().map(|i| format!("/run/secrets/{i}"));
    }
    let target = target.and_then(|t| state.expand(&t)).and_then(|t| match state.workdir.join(&t) {
        Workdir::Abs(p) => Some(p),
        _ => None,
    });
    Mount { kind, target, id }
}

/// Splits BuildKit's CSV mount syntax (fields may be double-quoted).
fn split_csv(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// `a` is `b` or inside it.
pub fn within(a: &str, b: &str) -> bool {
    dockfix_core::walk::is_within_path(a, b)
}

/// What deleting `path` (maybe ending in a glob) does to the mount at `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Nothing.
    Apart,
    /// Deletes inside the mount: only the cache it keeps.
    Inside,
    /// Deletes the mount point itself (and only what is in it): `rm` fails
    /// with EBUSY on it, so it must go.
    MountPoint,
    /// Deletes the mount point and more around it: it cannot go without
    /// keeping more in the image, and cannot stay.
    Above,
}

pub fn reach(path: &str, target: &str) -> Reach {
    let path = path.trim_end_matches('/');
    let (dir, last) = match path.rsplit_once('/') {
        Some((d, l)) => (if d.is_empty() { "/" } else { d }, l),
        None => return Reach::Apart,
    };
    let glob = last.contains(['*', '?', '[']);
    if dir.contains(['*', '?', '[']) {
        // A glob above the last component: assume the worst when it could reach.
        let fixed: String = dir.split(['*', '?', '[']).next().unwrap_or("/").to_string();
        let fixed =
            fixed.rsplit_once('/').map_or("/".to_string(), |(d, _)| if d.is_empty() { "/".into() } else { d.into() });
        return if within(target, &fixed) || within(&fixed, target) { Reach::Above } else { Reach::Apart };
    }
    if !glob {
        if within(path, target) {
            return if normalize(path) == normalize(target) { Reach::MountPoint } else { Reach::Inside };
        }
        return if within(target, path) { Reach::Above } else { Reach::Apart };
    }
    if within(dir, target) {
        return Reach::Inside;
    }
    if within(target, dir) {
        // The glob's directory holds the mount point (or an ancestor of it):
        // does the pattern match the next component?
        let rest = normalize(target)[normalize(dir).len()..].trim_start_matches('/').to_string();
        let next = rest.split('/').next().unwrap_or("");
        return if glob_match(last, next) { Reach::Above } else { Reach::Apart };
    }
    Reach::Apart
}

/// Shell glob matching (`*`, `?`, `[…]` treated as one character).
pub fn glob_match(pat: &str, s: &str) -> bool {
    fn go(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('*') => (0..=s.len()).any(|i| go(&p[1..], &s[i..])),
            Some('?') => !s.is_empty() && go(&p[1..], &s[1..]),
            Some('[') => {
                let close = p.iter().position(|c| *c == ']');
                match close {
                    Some(c) if !s.is_empty() => go(&p[c + 1..], &s[1..]),
                    _ => false,
                }
            }
            Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
        }
    }
    let p: Vec<char> = pat.chars().collect();
    let s: Vec<char> = s.chars().collect();
    // A leading `.` is not matched by a glob.
    if s.first() == Some(&'.') && p.first() != Some(&'.') {
        return false;
    }
    go(&p, &s)
}

/// Directory names whose contents are build outputs or installed packages:
/// a cache mount there keeps them out of the image.
const OUTPUT_DIRS: &[&str] = &[
    "target",
    "node_modules",
    ".venv",
    "venv",
    "dist",
    "build",
    "out",
    "bin",
    "vendor",
    "site-packages",
    "dist-packages",
    ".next",
    "public",
    "gems",
];

/// Why a cache mount at `target` hides something the image needs, if it does.
pub fn hides_outputs(target: &str, state: &State) -> Option<String> {
    let t = normalize(target);
    let last = t.rsplit('/').next().unwrap_or("");
    if OUTPUT_DIRS.contains(&last) {
        return Some(format!("`{last}/` holds what the build produces or installs"));
    }
    for var in ["VIRTUAL_ENV", "GEM_HOME", "BUNDLE_PATH", "CARGO_TARGET_DIR", "GOBIN", "PYTHONUSERBASE"] {
        if let Some(v) = state.var(var) {
            if v.starts_with('/') && within(v, &t) {
                return Some(format!("{var} ({v}) is inside it"));
            }
        }
    }
    if let Workdir::Abs(w) = &state.workdir {
        if within(w, &t) {
            return Some(format!("the working directory {w} is inside it"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn st() -> State {
        State { workdir: Workdir::Abs("/app".into()), user: None, env: BTreeMap::new(), args: BTreeMap::new() }
    }

    #[test]
    fn parses_mounts() {
        let m = parse("type=cache,target=.cache,id=x", &st());
        assert_eq!(m, Mount { kind: "cache".into(), target: Some("/app/.cache".into()), id: Some("x".into()) });
        assert_eq!(parse("target=/src", &st()).kind, "bind");
        assert_eq!(parse("type=secret,id=npmrc", &st()).target.as_deref(), Some("/run/secrets/npmrc"));
        assert_eq!(parse("type=cache,\"dst=/a,b\"", &st()).target.as_deref(), Some("/a,b"));
    }

    #[test]
    fn reaches() {
        let lists = "/var/lib/apt/lists";
        assert_eq!(reach("/var/lib/apt/lists/*", lists), Reach::Inside);
        assert_eq!(reach("/var/lib/apt/lists", lists), Reach::MountPoint);
        assert_eq!(reach("/var/lib/apt/lists/", lists), Reach::MountPoint);
        assert_eq!(reach("/var/lib/apt/*", lists), Reach::Above);
        assert_eq!(reach("/var/lib/apt", lists), Reach::Above);
        assert_eq!(reach("/var/cache/apt/*.bin", lists), Reach::Apart);
        assert_eq!(reach("/var/cache/apt/archives/*.deb", "/var/cache/apt"), Reach::Inside);
        assert_eq!(reach("/root/.cache/*", "/root/.cache/pip"), Reach::Above);
        assert_eq!(reach("/root/.cache/*.log", "/root/.cache/pip"), Reach::Apart);
        assert_eq!(reach("/root/*", "/root/.cache/pip"), Reach::Apart);
        assert_eq!(reach("/tmp/*", "/root/.cache/pip"), Reach::Apart);
        assert_eq!(reach("/root/.cache", "/root/.cache/pip"), Reach::Above);
    }

    #[test]
    fn outputs() {
        assert!(hides_outputs("/app/target", &st()).is_some());
        assert!(hides_outputs("/app/node_modules/", &st()).is_some());
        assert!(hides_outputs("/app", &st()).is_some());
        assert!(hides_outputs("/root/.cargo/registry", &st()).is_none());
        assert!(hides_outputs("/app/.next/cache", &st()).is_none());
    }
}
