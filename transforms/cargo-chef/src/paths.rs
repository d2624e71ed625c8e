//! Absolute in-image paths as strings.

use dockfix_core::walk::{normalize, Workdir};

/// `a` is `b` or lies under it.
pub fn within(a: &str, b: &str) -> bool {
    b == "/" || a == b || a.starts_with(&format!("{}/", b.trim_end_matches('/')))
}

/// `a` relative to `b` (`""` when equal), when `a` is within `b`.
pub fn rel(a: &str, b: &str) -> Option<String> {
    if !within(a, b) {
        return None;
    }
    if a == b {
        return Some(String::new());
    }
    let b = b.trim_end_matches('/');
    Some(a[b.len()..].trim_start_matches('/').to_string())
}

/// Joins a path onto an absolute directory.
pub fn join(dir: &str, p: &str) -> String {
    if p.starts_with('/') {
        normalize(p)
    } else {
        normalize(&format!("{dir}/{p}"))
    }
}

/// The absolute working directory, assuming `/` for the base image's own
/// when `root_default` is set.
pub fn abs(wd: &Workdir, root_default: bool) -> Option<String> {
    match wd {
        Workdir::Abs(p) => Some(p.clone()),
        Workdir::Base(r) if root_default => Some(normalize(&format!("/{r}"))),
        _ => None,
    }
}

/// The last component.
pub fn base_name(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)
}

/// Everything but the last component (`""` for a single one).
pub fn dir_name(p: &str) -> &str {
    match p.trim_end_matches('/').rsplit_once('/') {
        Some((d, _)) => d,
        None => "",
    }
}

/// Joins context-relative paths.
pub fn ctx_join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{}/{}", a.trim_end_matches('/'), b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert!(within("/app/target", "/app"));
        assert!(!within("/application", "/app"));
        assert_eq!(rel("/app/x/y", "/app").as_deref(), Some("x/y"));
        assert_eq!(rel("/app/x", "/").as_deref(), Some("app/x"));
        assert_eq!(join("/app", "./target/../t"), "/app/t");
        assert_eq!(base_name("/a/b/"), "b");
        assert_eq!(dir_name("a/b"), "a");
    }
}
