//! A repository's history, read with libgit2 (no `git` process per
//! commit): the files each recent commit touched, and how often each file
//! changed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use git2::{DiffOptions, Repository, Sort};

/// One commit and the paths it changed (relative to the repository root,
/// `/`-separated), against its first parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub id: String,
    pub summary: String,
    /// Seconds since the epoch.
    pub time: i64,
    pub paths: Vec<String>,
}

/// An open repository.
pub struct Repo {
    repo: Repository,
    root: PathBuf,
}

impl Repo {
    /// The repository that holds `path`, if any.
    pub fn discover(path: &Path) -> Option<Repo> {
        let repo = Repository::discover(path).ok()?;
        let root = repo.workdir()?.canonicalize().ok()?;
        Some(Repo { repo, root })
    }

    /// The working tree's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A shallow clone: the history is cut.
    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    /// The last `max` commits reachable from HEAD (newest first), no older
    /// than `since` (epoch seconds) when given.
    pub fn commits(&self, max: usize, since: Option<i64>) -> Result<Vec<Commit>, String> {
        let mut walk = self.repo.revwalk().map_err(|e| e.to_string())?;
        walk.push_head().map_err(|e| e.to_string())?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for oid in walk {
            if out.len() >= max {
                break;
            }
            let oid = oid.map_err(|e| e.to_string())?;
            let commit = self.repo.find_commit(oid).map_err(|e| e.to_string())?;
            let time = commit.time().seconds();
            if since.is_some_and(|s| time < s) {
                break;
            }
            let tree = commit.tree().map_err(|e| e.to_string())?;
            let parent_tree = match commit.parent(0) {
                Ok(p) => Some(p.tree().map_err(|e| e.to_string())?),
                Err(_) => None,
            };
            let mut opts = DiffOptions::new();
            opts.skip_binary_check(true);
            let diff = self
                .repo
                .diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), Some(&mut opts))
                .map_err(|e| e.to_string())?;
            let mut paths = Vec::new();
            for d in diff.deltas() {
                for f in [d.old_file(), d.new_file()] {
                    if let Some(p) = f.path() {
                        let s = p.to_string_lossy().replace('\\', "/");
                        if !paths.contains(&s) {
                            paths.push(s);
                        }
                    }
                }
            }
            let id = oid.to_string();
            out.push(Commit {
                id: id[..id.len().min(9)].to_string(),
                summary: commit.summary().unwrap_or_default().to_string(),
                time,
                paths,
            });
        }
        Ok(out)
    }
}

/// How often each file changed in a window of history: what passes use
/// to put rarely-changing layers first.
pub struct ChangeCounts {
    root: PathBuf,
    counts: HashMap<String, usize>,
    described: String,
}

impl ChangeCounts {
    /// Counts over the last `max` commits of the repository holding `path`.
    pub fn for_path(path: &Path, max: usize) -> Option<ChangeCounts> {
        let repo = Repo::discover(path)?;
        let commits = repo.commits(max, None).ok()?;
        let mut counts = HashMap::new();
        for c in &commits {
            for p in &c.paths {
                *counts.entry(p.clone()).or_insert(0) += 1;
            }
        }
        // No path: findings quote it, and the repository is the one the
        // Dockerfile is in.
        let described = format!(
            "git history, last {} commit{}{}",
            commits.len(),
            if commits.len() == 1 { "" } else { "s" },
            if repo.is_shallow() { " (shallow clone)" } else { "" }
        );
        Some(ChangeCounts { root: repo.root().to_path_buf(), counts, described })
    }
}

impl dockfix_core::History for ChangeCounts {
    fn commit_count(&self, path: &Path) -> Option<usize> {
        let abs = path.canonicalize().ok()?;
        let rel = abs.strip_prefix(&self.root).ok()?.to_string_lossy().replace('\\', "/");
        Some(self.counts.get(&rel).copied().unwrap_or(0))
    }
    fn describe(&self) -> String {
        self.described.clone()
    }
}

/// Change counts read on first use: planning a Dockerfile costs nothing
/// until a pass asks how often a file changed.
pub struct LazyChangeCounts {
    path: PathBuf,
    max: usize,
    counts: OnceLock<Option<ChangeCounts>>,
}

impl LazyChangeCounts {
    /// Counts over the last `max` commits of the repository holding `path`,
    /// when asked.
    pub fn new(path: &Path, max: usize) -> LazyChangeCounts {
        LazyChangeCounts { path: path.to_path_buf(), max, counts: OnceLock::new() }
    }

    fn get(&self) -> Option<&ChangeCounts> {
        self.counts.get_or_init(|| ChangeCounts::for_path(&self.path, self.max)).as_ref()
    }
}

impl dockfix_core::History for LazyChangeCounts {
    fn commit_count(&self, path: &Path) -> Option<usize> {
        self.get()?.commit_count(path)
    }
    fn describe(&self) -> String {
        self.get().map_or_else(|| "no git history".to_string(), |c| c.described.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_core::History;

    fn git(dir: &Path, args: &[&str]) {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn reads_commits_and_counts() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        git(p, &["init", "-q", "-b", "main"]);
        std::fs::write(p.join("a.txt"), "1").unwrap();
        std::fs::create_dir_all(p.join("svc")).unwrap();
        std::fs::write(p.join("svc/b.txt"), "1").unwrap();
        git(p, &["add", "."]);
        git(p, &["commit", "-q", "-m", "first"]);
        std::fs::write(p.join("svc/b.txt"), "2").unwrap();
        git(p, &["commit", "-q", "-am", "second"]);
        let repo = Repo::discover(&p.join("svc")).unwrap();
        let commits = repo.commits(10, None).unwrap();
        assert_eq!(commits.len(), 2);
        assert_eq!(commits[0].summary, "second");
        assert_eq!(commits[0].paths, ["svc/b.txt"]);
        assert_eq!(commits[1].paths, ["a.txt", "svc/b.txt"]);
        let counts = ChangeCounts::for_path(p, 10).unwrap();
        assert_eq!(counts.commit_count(&p.join("svc/b.txt")), Some(2));
        assert_eq!(counts.commit_count(&p.join("a.txt")), Some(1));
        assert_eq!(counts.describe(), "git history, last 2 commits");
        let lazy = LazyChangeCounts::new(&p.join("svc"), 10);
        assert_eq!(lazy.commit_count(&p.join("svc/b.txt")), Some(2));
        let none = LazyChangeCounts::new(Path::new("/"), 10);
        assert_eq!(none.commit_count(Path::new("/etc/hostname")), None);
    }
}
