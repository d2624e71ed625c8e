//! Finding Dockerfiles under the paths a user gives.

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
}

/// Dockerfiles and compose files under `paths` (files given explicitly are
/// taken as they are), honouring `.gitignore`, sorted and without duplicates.
pub fn discover(paths: &[PathBuf]) -> Result<Found, String> {
    let mut out = Vec::new();
    let mut compose = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_file() {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if dockfix_compose::is_compose_file_name(&name) {
                compose.push(p.clone());
            } else {
                out.push(p.clone());
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
            if is_dockerfile_name(&name) {
                out.push(path);
            } else if dockfix_compose::is_compose_file_name(&name) {
                compose.push(path);
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|p| seen.insert(normalize(p)));
    compose.retain(|p| seen.insert(normalize(p)));
    Ok(Found { dockerfiles: out, compose_files: compose })
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
}
