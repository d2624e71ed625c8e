//! Finding Dockerfiles (and the compose files, GitHub Actions workflows and
//! bake files that build them) under the paths a user gives.

use std::path::{Path, PathBuf};

/// True for a file name that names a Dockerfile: `Dockerfile`,
/// `Containerfile`, `*.Dockerfile`, `Dockerfile.*` (not `*.dockerignore`).
pub fn is_dockerfile_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".dockerignore") || lower.ends_with(".containerignore") {
        return false;
    }
    lower == "dockerfile"
        || lower == "containerfile"
        || lower.ends_with(".dockerfile")
        || lower.ends_with(".containerfile")
        || lower.starts_with("dockerfile.")
        || lower.starts_with("containerfile.")
}

/// Directories never searched.
const SKIP_DIRS: &[&str] = &[".git", "target", "node_modules", ".venv", "venv", "__pycache__", ".hg", ".svn"];

/// What discovery found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Found {
    pub dockerfiles: Vec<PathBuf>,
    pub compose_files: Vec<PathBuf>,
    /// `.github/workflows/*.yml|yaml` (for `ci-cache`).
    pub workflows: Vec<PathBuf>,
    /// `docker-bake.hcl` (for `ci-cache`).
    pub bake_files: Vec<PathBuf>,
}

/// What kind of file a path names.
enum Kind {
    Dockerfile,
    Compose,
    Workflow,
    Bake,
}

fn kind(path: &Path, name: &str) -> Option<Kind> {
    if dockfix_compose::is_compose_file_name(name) {
        Some(Kind::Compose)
    } else if dockfix_pass_ci_cache::is_workflow_path(path) {
        Some(Kind::Workflow)
    } else if dockfix_pass_ci_cache::is_bake_file_name(name) {
        Some(Kind::Bake)
    } else if is_dockerfile_name(name) {
        Some(Kind::Dockerfile)
    } else {
        None
    }
}

/// Dockerfiles, compose files, workflows and bake files under `paths`
/// (files given explicitly are taken as they are: a Dockerfile unless named
/// like one of the others), honouring `.gitignore`, sorted and without
/// duplicates.
pub fn discover(paths: &[PathBuf]) -> Result<Found, String> {
    let mut out = Vec::new();
    let mut compose = Vec::new();
    let mut workflows = Vec::new();
    let mut bake = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_file() {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            match kind(p, &name) {
                Some(Kind::Compose) => compose.push(p.clone()),
                Some(Kind::Workflow) => workflows.push(p.clone()),
                Some(Kind::Bake) => bake.push(p.clone()),
                _ => out.push(p.clone()),
            }
            continue;
        }
        let walker = ignore::WalkBuilder::new(p)
            .hidden(false)
            .git_ignore(true)
            .git_exclude(true)
            .git_global(false)
            .require_git(false)
            .parents(true)
            .sort_by_file_name(|a, b| a.cmp(b))
            .filter_entry(|e| {
                !(e.file_type().is_some_and(|t| t.is_dir())
                    && e.depth() > 0
                    && SKIP_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
            })
            .build();
        for entry in walker {
            let entry = entry.map_err(|e| e.to_string())?;
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            // `./a/Dockerfile` reads better as `a/Dockerfile`.
            let path =
                entry.path().strip_prefix(".").map(Path::to_path_buf).unwrap_or_else(|_| entry.path().to_path_buf());
            match kind(&path, &name) {
                Some(Kind::Dockerfile) => out.push(path),
                Some(Kind::Compose) => compose.push(path),
                Some(Kind::Workflow) => workflows.push(path),
                Some(Kind::Bake) => bake.push(path),
                None => {}
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|p| seen.insert(normalize(p)));
    compose.retain(|p| seen.insert(normalize(p)));
    workflows.retain(|p| seen.insert(normalize(p)));
    bake.retain(|p| seen.insert(normalize(p)));
    Ok(Found { dockerfiles: out, compose_files: compose, workflows, bake_files: bake })
}

fn normalize(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for n in ["Dockerfile", "dockerfile", "Containerfile", "api.Dockerfile", "Dockerfile.prod"] {
            assert!(is_dockerfile_name(n), "{n}");
        }
        for n in ["Dockerfile.dockerignore", "api.Dockerfile.dockerignore", "docker-compose.yml", "README.md"] {
            assert!(!is_dockerfile_name(n), "{n}");
        }
    }

    #[test]
    fn workflows_and_bake_files() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            ".github/workflows/ci.yml",
            ".github/workflows/release.yaml",
            ".github/dependabot.yml",
            "docker-bake.hcl",
            "svc/Dockerfile",
            "ci.yml",
        ] {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let found = discover(&[d.path().to_path_buf()]).unwrap();
        let names = |v: &[PathBuf]| -> Vec<String> {
            v.iter().map(|p| p.strip_prefix(d.path()).unwrap().display().to_string()).collect()
        };
        assert_eq!(names(&found.workflows), [".github/workflows/ci.yml", ".github/workflows/release.yaml"]);
        assert_eq!(names(&found.bake_files), ["docker-bake.hcl"]);
        assert_eq!(names(&found.dockerfiles), ["svc/Dockerfile"]);
        // Given explicitly, a workflow is still a workflow.
        let one = discover(&[d.path().join(".github/workflows/ci.yml")]).unwrap();
        assert_eq!(one.workflows.len(), 1);
        assert!(one.dockerfiles.is_empty());
    }
}
