//! The build context, measured through the pass's file system: every entry
//! the context walker visits with the current ignore file, its size, and
//! whether BuildKit sends it.

use std::collections::HashMap;
use std::path::Path;

use dockfix_core::Fs;
use dockfix_dockerignore::{Matcher, Visit};

/// At most this many entries are measured.
pub const MAX_ENTRIES: usize = 400_000;

/// One file or directory of the context.
#[derive(Debug, Clone)]
pub struct Node {
    /// Context-relative path.
    pub path: String,
    pub parent: Option<usize>,
    pub is_dir: bool,
    pub is_symlink: bool,
    /// Bytes of a file (0 for directories).
    pub size: u64,
    pub children: Vec<usize>,
    /// The current ignore file excludes it.
    pub excluded: bool,
    /// BuildKit sends it (not excluded, and within what the Dockerfile reads
    /// unless it reads the whole context).
    pub sent: bool,
}

impl Node {
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// The measured context.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
    /// Top-level entries.
    pub roots: Vec<usize>,
    /// The walk stopped at [`MAX_ENTRIES`].
    pub truncated: bool,
    index: HashMap<String, usize>,
}

/// What BuildKit sends when it does not send the whole context.
pub struct Follow {
    /// The COPY sources (BuildKit's FollowPaths), None for the whole context.
    pub matcher: Option<Matcher>,
    /// Source paths with their trailing globs removed, to know which
    /// directories may hold a followed path.
    prefixes: Vec<String>,
    any_glob: bool,
}

impl Follow {
    pub fn all() -> Follow {
        Follow { matcher: None, prefixes: Vec::new(), any_glob: false }
    }

    pub fn paths(paths: &[String]) -> Follow {
        let matcher = Matcher::new(paths).ok();
        if matcher.is_none() {
            return Follow::all();
        }
        let any_glob = paths.iter().any(|p| p.contains(['*', '?', '[', '\\']));
        Follow { matcher, prefixes: paths.iter().map(|p| format!("{p}/")).collect(), any_glob }
    }

    fn includes(&self, path: &str) -> bool {
        self.matcher.as_ref().is_none_or(|m| m.matches_or_parent_matches(path))
    }

    /// Something below `dir` may be sent.
    fn may_contain(&self, dir: &str) -> bool {
        if self.matcher.is_none() || self.any_glob {
            return true;
        }
        let d = format!("{dir}/");
        self.includes(dir) || self.prefixes.iter().any(|p| p.starts_with(&d))
    }
}

impl Tree {
    /// Walks `root` as BuildKit's context walker would with `matcher`.
    pub fn walk(fs: &dyn Fs, root: &Path, matcher: &Matcher, follow: &Follow) -> Tree {
        let mut t = Tree::default();
        let mut stack: Vec<(Option<usize>, Option<Visit>)> = vec![(None, None)];
        while let Some((parent, visit)) = stack.pop() {
            let dir_path = parent.map_or(String::new(), |p| t.nodes[p].path.clone());
            let abs = if dir_path.is_empty() { root.to_path_buf() } else { root.join(&dir_path) };
            for e in fs.list(&abs) {
                if t.nodes.len() >= MAX_ENTRIES {
                    t.truncated = true;
                    break;
                }
                let path = if dir_path.is_empty() { e.name.clone() } else { format!("{dir_path}/{}", e.name) };
                let v = matcher.visit(visit.as_ref(), &path, e.is_dir);
                let parent_sent_scope = follow.includes(&path);
                let idx = t.nodes.len();
                t.nodes.push(Node {
                    path: path.clone(),
                    parent,
                    is_dir: e.is_dir,
                    is_symlink: e.is_symlink,
                    size: e.size,
                    children: Vec::new(),
                    excluded: v.excluded,
                    sent: !v.excluded && parent_sent_scope,
                });
                match parent {
                    Some(p) => t.nodes[p].children.push(idx),
                    None => t.roots.push(idx),
                }
                if e.is_dir && v.descend && follow.may_contain(&path) {
                    stack.push((Some(idx), Some(v)));
                }
            }
        }
        // Children in name order (the stack visits directories in reverse).
        let mut nodes = std::mem::take(&mut t.nodes);
        for i in 0..nodes.len() {
            let mut ch = std::mem::take(&mut nodes[i].children);
            ch.sort_by(|a, b| nodes[*a].path.cmp(&nodes[*b].path));
            nodes[i].children = ch;
        }
        t.index = nodes.iter().enumerate().map(|(i, n)| (n.path.clone(), i)).collect();
        t.nodes = nodes;
        t
    }

    /// The index of a path, if it was walked.
    pub fn find(&self, path: &str) -> Option<usize> {
        self.index.get(path).copied()
    }

    /// Sum of `size` over the files below (and including) `i` that satisfy `keep`.
    pub fn bytes(&self, i: usize, keep: &dyn Fn(usize) -> bool) -> u64 {
        let mut total = 0;
        let mut stack = vec![i];
        while let Some(n) = stack.pop() {
            let node = &self.nodes[n];
            if !node.is_dir && keep(n) {
                total += node.size;
            }
            stack.extend(node.children.iter().copied());
        }
        total
    }

    /// Sum of `size` over every file that satisfies `keep`.
    pub fn total(&self, keep: &dyn Fn(usize) -> bool) -> u64 {
        (0..self.nodes.len()).filter(|&n| !self.nodes[n].is_dir && keep(n)).map(|n| self.nodes[n].size).sum()
    }

    /// Indices in pre-order (parents before children).
    pub fn preorder(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<usize> = self.roots.iter().rev().copied().collect();
        while let Some(n) = stack.pop() {
            out.push(n);
            stack.extend(self.nodes[n].children.iter().rev().copied());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_core::MemFs;

    #[test]
    fn walks_like_buildkit() {
        let fs = MemFs::new()
            .with("/c/app.py", "print(1)")
            .with("/c/node_modules/a/index.js", "xx")
            .with("/c/node_modules/keep.js", "k")
            .with("/c/src/__pycache__/m.pyc", "pyc");
        let m = Matcher::parse(b"node_modules\n!node_modules/keep.js\n").unwrap();
        let t = Tree::walk(&fs, Path::new("/c"), &m, &Follow::all());
        let keep = t.find("node_modules/keep.js").unwrap();
        assert!(t.nodes[keep].sent);
        let a = t.find("node_modules/a").unwrap();
        assert!(t.nodes[a].excluded && t.nodes[a].children.is_empty(), "not entered");
        assert_eq!(t.total(&|n| t.nodes[n].sent), 8 + 1 + 3);
        let src = t.find("src").unwrap();
        assert_eq!(t.bytes(src, &|_| true), 3);

        let only = Follow::paths(&["app.py".to_string()]);
        let t = Tree::walk(&fs, Path::new("/c"), &Matcher::default(), &only);
        assert_eq!(t.total(&|n| t.nodes[n].sent), 8);
        assert!(t.find("src/__pycache__").is_none(), "not walked");
    }
}
