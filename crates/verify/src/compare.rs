//! Comparing two images: their configuration (CMD, ENTRYPOINT, ENV, USER,
//! WORKDIR, EXPOSE, LABEL, HEALTHCHECK, STOPSIGNAL, VOLUME) and their files
//! (type, mode, owner, content), ignoring caches and other noise, and telling
//! differences the rewrite intends from the others.

use std::collections::{BTreeMap, BTreeSet};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Serialize;

/// What kind of file system entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Other,
}

/// One entry of an image's file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub kind: Kind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// Content hash for regular files.
    pub hash: u64,
    /// Link target.
    pub link: Option<String>,
}

/// The parts of an image's configuration that define what it does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Config {
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub env: BTreeMap<String, String>,
    pub user: String,
    pub workdir: String,
    pub exposed_ports: BTreeSet<String>,
    pub labels: BTreeMap<String, String>,
    pub healthcheck: Option<String>,
    pub stop_signal: Option<String>,
    pub volumes: BTreeSet<String>,
}

/// What verify knows about one built image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub config: Config,
    pub files: BTreeMap<String, Entry>,
    /// Bytes, as the engine reports the image size.
    pub size: u64,
}

/// Paths whose differences never matter: caches, logs, temporary files,
/// bytecode, files the engine writes into every container.
pub const DEFAULT_IGNORE: &[&str] = &[
    "/root/.cache",
    "/root/.cache/**",
    "/home/*/.cache",
    "/home/*/.cache/**",
    "/var/cache/**",
    "/var/lib/apt/**",
    "/var/log/**",
    "/tmp/**",
    "/var/tmp/**",
    "**/__pycache__",
    "**/__pycache__/**",
    "**/*.pyc",
    "/root/.npm",
    "/root/.npm/**",
    "/usr/local/share/.cache/**",
    "/root/.cargo/registry/**",
    "/usr/local/cargo/registry/**",
    "/root/.m2/repository/**",
    "/root/.gradle/caches/**",
    "/go/pkg/mod/cache/**",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/mtab",
    "/.dockerenv",
    "/proc/**",
    "/sys/**",
    "/dev/**",
];

/// Builds a matcher for ignore patterns (`*` stays within a directory, `**`
/// crosses them).
pub fn ignore_set(patterns: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let g = GlobBuilder::new(p).literal_separator(true).build().map_err(|e| format!("bad pattern `{p}`: {e}"))?;
        b.add(g);
    }
    b.build().map_err(|e| e.to_string())
}

/// Differences the rewrite is allowed to make.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// The stage graph changed (multi-stage, cargo-chef): build-only files
    /// may be gone and runtime files may be new, outside `protected`.
    pub structural: bool,
    /// Directories whose contents must match even then (the app: WORKDIR,
    /// the destinations of copies from the build context).
    pub protected: Vec<String>,
    /// Context files (relative paths) the new `.dockerignore` keeps out on
    /// purpose: an image path ending with one of them may be missing.
    pub excluded_by_dockerignore: BTreeSet<String>,
    /// Environment variables the rewrite may change (PATH for a venv).
    pub env_may_change: BTreeSet<String>,
    /// File names dockfix rewrote (the Dockerfile, a `.dockerignore`): a
    /// `COPY . .` carries them into the image changed.
    pub rewritten_names: BTreeSet<String>,
    /// Targets of cache mounts the rewrite added: BuildKit leaves their
    /// (empty) mount-point directories, and the parents it had to create,
    /// in the image.
    pub mount_points: Vec<String>,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// `file /app/x`, `config ENV PATH`…
    pub what: String,
    pub original: String,
    pub rewritten: String,
    /// Why the rewrite intends it; None: a failure.
    pub expected: Option<String>,
}

/// The comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub differences: Vec<Difference>,
    /// Paths ignored by the ignore list.
    pub ignored: usize,
}

impl Comparison {
    /// No unexpected difference.
    pub fn equivalent(&self) -> bool {
        self.differences.iter().all(|d| d.expected.is_some())
    }
    pub fn unexpected(&self) -> impl Iterator<Item = &Difference> {
        self.differences.iter().filter(|d| d.expected.is_none())
    }
}

fn under(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    dir.is_empty() || path == dir || dockfix_core::walk::starts_with_dir(path, dir)
}

fn describe(e: Option<&Entry>) -> String {
    match e {
        None => "absent".into(),
        Some(e) => match e.kind {
            Kind::File => format!("file {:o} {}:{} {} bytes", e.mode, e.uid, e.gid, e.size),
            Kind::Dir => format!("dir {:o} {}:{}", e.mode, e.uid, e.gid),
            Kind::Symlink | Kind::Hardlink => format!("link -> {}", e.link.as_deref().unwrap_or("")),
            Kind::Other => "special file".into(),
        },
    }
}

fn show<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Compares the original image with the rewritten one.
pub fn compare(orig: &Facts, new: &Facts, ignore: &GlobSet, expected: &Expected) -> Comparison {
    let mut out = Comparison::default();
    let (a, b) = (&orig.config, &new.config);
    let mut config = |field: &str, x: String, y: String| {
        if x != y {
            out.differences.push(Difference {
                what: format!("config {field}"),
                original: x,
                rewritten: y,
                expected: None,
            });
        }
    };
    config("CMD", show(&a.cmd), show(&b.cmd));
    config("ENTRYPOINT", show(&a.entrypoint), show(&b.entrypoint));
    config("USER", a.user.clone(), b.user.clone());
    config("WORKDIR", a.workdir.clone(), b.workdir.clone());
    config("EXPOSE", show(&a.exposed_ports), show(&b.exposed_ports));
    config("LABEL", show(&a.labels), show(&b.labels));
    config("HEALTHCHECK", show(&a.healthcheck), show(&b.healthcheck));
    config("STOPSIGNAL", show(&a.stop_signal), show(&b.stop_signal));
    config("VOLUME", show(&a.volumes), show(&b.volumes));
    let keys: BTreeSet<&String> = a.env.keys().chain(b.env.keys()).collect();
    for k in keys {
        let (x, y) = (a.env.get(k), b.env.get(k));
        if x != y {
            let why = expected.env_may_change.contains(k).then(|| format!("the rewrite sets {k} for its new layout"));
            out.differences.push(Difference {
                what: format!("config ENV {k}"),
                original: x.cloned().unwrap_or_else(|| "unset".into()),
                rewritten: y.cloned().unwrap_or_else(|| "unset".into()),
                expected: why,
            });
        }
    }

    let paths: BTreeSet<&String> = orig.files.keys().chain(new.files.keys()).collect();
    for p in paths {
        let (x, y) = (orig.files.get(p), new.files.get(p));
        if ignore.is_match(p.as_str()) {
            if x != y {
                out.ignored += 1;
            }
            continue;
        }
        let same = match (x, y) {
            (Some(x), Some(y)) => {
                // Directory sizes and hard-link bookkeeping are noise.
                x.kind == y.kind
                    && x.mode == y.mode
                    && x.uid == y.uid
                    && x.gid == y.gid
                    && (x.kind == Kind::Dir || (x.hash == y.hash && x.size == y.size && x.link == y.link))
            }
            (None, None) => true,
            _ => false,
        };
        if same {
            continue;
        }
        let protected = expected.protected.iter().any(|d| under(p, d));
        let name = p.rsplit('/').next().unwrap_or(p);
        let why = match (x, y) {
            _ if expected.rewritten_names.contains(name) && !matches!(x.or(y).map(|e| e.kind), Some(Kind::Dir)) => {
                Some("a file dockfix rewrote, copied into the image by the build".to_string())
            }
            _ if installer_record(p) => Some(
                "pip's record of how the package was installed (asked for by name or pulled in as a dependency); the package's files are compared on their own"
                    .to_string(),
            ),
            (None, Some(e)) if e.kind == Kind::Dir && expected.mount_points.iter().any(|m| under(m, p)) => {
                Some("mount point of a cache mount the rewrite added (left empty in the image)".to_string())
            }
            (Some(_), None) if newly_ignored(p, &expected.excluded_by_dockerignore) => {
                Some("kept out of the build context by the new .dockerignore".to_string())
            }
            (Some(_), None) if expected.structural && !protected => {
                Some("build-only file, not carried to the runtime stage".to_string())
            }
            (None, Some(_)) if expected.structural && !protected => {
                Some("part of the new runtime stage's layout".to_string())
            }
            (Some(_), Some(_)) if expected.structural && !protected => {
                Some("the runtime stage provides it differently".to_string())
            }
            _ => None,
        };
        out.differences.push(Difference {
            what: format!("file {p}"),
            original: describe(x),
            rewritten: describe(y),
            expected: why,
        });
    }
    out
}

/// Bookkeeping files an installer writes next to a Python package
/// (`*.dist-info/REQUESTED`, `RECORD`, `INSTALLER`, `direct_url.json`): they
/// differ when the same package is installed from a lock file instead of by
/// name, without changing what the image runs.
fn installer_record(p: &str) -> bool {
    let mut parts = p.rsplit('/');
    let (Some(name), Some(dir)) = (parts.next(), parts.next()) else { return false };
    dir.ends_with(".dist-info") && matches!(name, "REQUESTED" | "RECORD" | "INSTALLER" | "direct_url.json")
}

/// True if image path `p` is a context file the new `.dockerignore` keeps
/// out (`/app/.git/HEAD` for `.git/HEAD` copied to `/app`).
fn newly_ignored(p: &str, rels: &BTreeSet<String>) -> bool {
    let mut rest = p.trim_start_matches('/');
    loop {
        if rels.contains(rest) {
            return true;
        }
        match rest.split_once('/') {
            Some((_, r)) => rest = r,
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(hash: u64) -> Entry {
        Entry { kind: Kind::File, mode: 0o644, uid: 0, gid: 0, size: 10, hash, link: None }
    }

    fn facts(files: &[(&str, Entry)]) -> Facts {
        Facts { files: files.iter().map(|(p, e)| (p.to_string(), e.clone())).collect(), ..Facts::default() }
    }

    fn default_ignore() -> GlobSet {
        ignore_set(&DEFAULT_IGNORE.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn caches_are_ignored_and_app_files_are_not() {
        let a =
            facts(&[("/app/main.py", file(1)), ("/root/.cache/pip/x", file(2)), ("/app/__pycache__/m.pyc", file(3))]);
        let b = facts(&[("/app/main.py", file(1))]);
        let c = compare(&a, &b, &default_ignore(), &Expected::default());
        assert!(c.equivalent(), "{c:?}");
        assert_eq!(c.ignored, 2);
        let b = facts(&[("/app/main.py", file(9))]);
        let c = compare(&a, &b, &default_ignore(), &Expected::default());
        assert!(!c.equivalent());
        assert_eq!(c.unexpected().next().unwrap().what, "file /app/main.py");
    }

    #[test]
    fn structural_changes_are_expected_outside_the_app() {
        let a = facts(&[("/app/main.py", file(1)), ("/usr/bin/gcc", file(2))]);
        let b = facts(&[("/app/main.py", file(1)), ("/opt/venv/bin/python", file(4))]);
        let exp = Expected { structural: true, protected: vec!["/app".into()], ..Expected::default() };
        let c = compare(&a, &b, &default_ignore(), &exp);
        assert!(c.equivalent(), "{c:?}");
        assert_eq!(c.differences.len(), 2);
        let b = facts(&[("/opt/venv/bin/python", file(4))]);
        assert!(!compare(&a, &b, &default_ignore(), &exp).equivalent(), "a missing app file is a failure");
    }

    #[test]
    fn config_differences() {
        let mut a = Facts::default();
        a.config.cmd = Some(vec!["python".into(), "app.py".into()]);
        a.config.env.insert("PATH".into(), "/usr/bin".into());
        let mut b = a.clone();
        b.config.env.insert("PATH".into(), "/opt/venv/bin:/usr/bin".into());
        let exp = Expected { env_may_change: ["PATH".to_string()].into(), ..Expected::default() };
        assert!(compare(&a, &b, &default_ignore(), &exp).equivalent());
        b.config.cmd = None;
        let c = compare(&a, &b, &default_ignore(), &exp);
        assert_eq!(c.unexpected().next().unwrap().what, "config CMD");
    }

    #[test]
    fn mount_point_stubs_are_expected() {
        let dir = Entry { kind: Kind::Dir, mode: 0o755, uid: 0, gid: 0, size: 0, hash: 0, link: None };
        let a = facts(&[("/app/main.py", file(1))]);
        let b = facts(&[("/app/main.py", file(1)), ("/root", dir.clone())]);
        let exp = Expected { mount_points: vec!["/root/.cache/pip".into()], ..Expected::default() };
        assert!(compare(&a, &b, &default_ignore(), &exp).equivalent());
        let b = facts(&[("/app/main.py", file(1)), ("/srv", dir)]);
        assert!(!compare(&a, &b, &default_ignore(), &exp).equivalent());
    }

    #[test]
    fn pip_install_records_are_expected_and_package_files_are_not() {
        let site = "/usr/local/lib/python3.12/site-packages";
        let a = facts(&[
            (&format!("{site}/flask-3.0.3.dist-info/REQUESTED"), file(0)),
            (&format!("{site}/flask-3.0.3.dist-info/RECORD"), file(1)),
            (&format!("{site}/flask/app.py"), file(5)),
        ]);
        let b = facts(&[
            (&format!("{site}/flask-3.0.3.dist-info/RECORD"), file(2)),
            (&format!("{site}/flask-3.0.3.dist-info/direct_url.json"), file(3)),
            (&format!("{site}/flask/app.py"), file(6)),
        ]);
        let c = compare(&a, &b, &default_ignore(), &Expected::default());
        let unexpected: Vec<_> = c.unexpected().map(|d| d.what.as_str()).collect();
        assert_eq!(unexpected, [format!("file {site}/flask/app.py").as_str()]);
        assert_eq!(c.differences.len(), 4);
        // Only in a dist-info directory.
        assert!(!installer_record("/app/RECORD"));
        assert!(!installer_record("/x.dist-info/METADATA"));
    }

    #[test]
    fn dockerignore_exclusions_are_expected() {
        let a = facts(&[("/app/main.py", file(1)), ("/app/.git/HEAD", file(2))]);
        let b = facts(&[("/app/main.py", file(1))]);
        let exp = Expected { excluded_by_dockerignore: [".git/HEAD".to_string()].into(), ..Expected::default() };
        assert!(compare(&a, &b, &default_ignore(), &exp).equivalent());
        // Another missing file is still a difference.
        let b = facts(&[("/app/.git/HEAD", file(2))]);
        assert!(!compare(&a, &b, &default_ignore(), &exp).equivalent());
    }
}
