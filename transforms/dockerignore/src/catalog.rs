//! What dockfix knows how to leave out of a build context: well-known
//! caches and tool state (junk), version control, dependencies and build
//! output a Dockerfile may rebuild itself, and secrets. Each entry found in
//! the context becomes a candidate pattern; whether it is written, and how
//! safely, is decided elsewhere.

use crate::tree::Tree;

/// The comment group an entry is written under (in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Vcs,
    ContainerFiles,
    PythonCaches,
    Coverage,
    Editor,
    Logs,
    ToolCaches,
    Dependencies,
    BuildOutput,
    Secrets,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Vcs => "Version control",
            Group::ContainerFiles => "Container build files",
            Group::PythonCaches => "Python caches",
            Group::Coverage => "Test and coverage output",
            Group::Editor => "Editor and OS files",
            Group::Logs => "Logs",
            Group::ToolCaches => "Tool caches",
            Group::Dependencies => "Dependencies installed on the host",
            Group::BuildOutput => "Build output from the host",
            Group::Secrets => "Secrets: pass them at run time instead",
        }
    }
}

/// Who rebuilds a directory inside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    /// `node_modules`: npm/yarn/pnpm/bun install.
    Node,
    /// A virtualenv: `python -m venv`, `virtualenv`, `uv venv`/`uv sync`,
    /// in-project poetry/pipenv.
    Venv,
    /// Cargo's `target`.
    Cargo,
    /// Maven's `target`.
    Maven,
    /// Gradle's `build`.
    Gradle,
    /// A JavaScript build's output (`dist`, `build`, `.next`…).
    JsBuild,
}

/// How an entry may be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Caches, tool state, logs: nothing in an image needs them.
    Junk,
    /// `.git`: junk unless a build step uses it.
    Git,
    /// Needed by the image unless the Dockerfile rebuilds it there.
    Rebuilt(Tool),
    /// Secrets: should not be in an image, but the app may read them.
    Secret,
}

/// A pattern to consider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub pattern: String,
    /// What it is, for messages ("Python bytecode caches").
    pub what: &'static str,
    pub group: Group,
    pub class: Class,
    /// Evaluation order within the group (`**/__pycache__` before `**/*.pyc`,
    /// so that the second is only added for stray files).
    pub rank: usize,
    /// Only written along with other entries: never a reason on its own
    /// to create or extend the file (the Dockerfile, compose files).
    pub rider: bool,
}

/// Patterns that cover every occurrence at any depth.
struct Anywhere {
    pattern: &'static str,
    what: &'static str,
    group: Group,
    dir: Option<bool>,
    test: fn(&str) -> bool,
}

const ANYWHERE: &[Anywhere] = &[
    Anywhere {
        pattern: "**/__pycache__",
        what: "Python bytecode caches",
        group: Group::PythonCaches,
        dir: Some(true),
        test: |n| n == "__pycache__",
    },
    Anywhere {
        pattern: "**/*.pyc",
        what: "Python bytecode",
        group: Group::PythonCaches,
        dir: Some(false),
        test: |n| n.ends_with(".pyc"),
    },
    Anywhere {
        pattern: "**/.pytest_cache",
        what: "pytest's cache",
        group: Group::PythonCaches,
        dir: Some(true),
        test: |n| n == ".pytest_cache",
    },
    Anywhere {
        pattern: "**/.mypy_cache",
        what: "mypy's cache",
        group: Group::PythonCaches,
        dir: Some(true),
        test: |n| n == ".mypy_cache",
    },
    Anywhere {
        pattern: "**/.ruff_cache",
        what: "ruff's cache",
        group: Group::PythonCaches,
        dir: Some(true),
        test: |n| n == ".ruff_cache",
    },
    Anywhere {
        pattern: "**/.ipynb_checkpoints",
        what: "Jupyter checkpoints",
        group: Group::PythonCaches,
        dir: Some(true),
        test: |n| n == ".ipynb_checkpoints",
    },
    Anywhere {
        pattern: "**/.DS_Store",
        what: "macOS folder metadata",
        group: Group::Editor,
        dir: Some(false),
        test: |n| n == ".DS_Store",
    },
    Anywhere {
        pattern: "**/Thumbs.db",
        what: "Windows thumbnail caches",
        group: Group::Editor,
        dir: Some(false),
        test: |n| n == "Thumbs.db",
    },
    Anywhere {
        pattern: "**/*.swp",
        what: "editor swap files",
        group: Group::Editor,
        dir: Some(false),
        test: |n| n.ends_with(".swp"),
    },
    Anywhere {
        pattern: "**/*.log",
        what: "log files",
        group: Group::Logs,
        dir: Some(false),
        test: |n| n.ends_with(".log"),
    },
];

/// A pattern that matches exactly this context path, or None when a
/// pattern cannot say it (blanks at either end, line breaks).
pub fn escape_path(path: &str) -> Option<String> {
    if path.trim() != path || path.contains(['\n', '\r']) {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    for (i, c) in path.chars().enumerate() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') || (i == 0 && matches!(c, '!' | '#')) {
            out.push('\\');
        }
        out.push(c);
    }
    Some(out)
}

/// `.env` files that hold values rather than documenting them.
pub fn is_env_file(name: &str) -> bool {
    if name == ".env" || name == ".envrc" {
        return true;
    }
    let Some(suffix) = name.strip_prefix(".env.") else { return false };
    !matches!(suffix, "example" | "sample" | "template" | "dist" | "defaults" | "schema" | "tpl" | "example.local")
        && !suffix.ends_with(".example")
        && !suffix.ends_with(".sample")
        && !suffix.ends_with(".template")
}

/// The directory entries an Each rule looks at.
struct Ctx<'a> {
    tree: &'a Tree,
    node: usize,
}

impl Ctx<'_> {
    fn name(&self) -> &str {
        self.tree.nodes[self.node].name()
    }
    fn is_dir(&self) -> bool {
        self.tree.nodes[self.node].is_dir
    }
    fn has_child(&self, name: &str) -> bool {
        self.tree.nodes[self.node].children.iter().any(|&c| self.tree.nodes[c].name() == name)
    }
    fn has_sibling(&self, name: &str) -> bool {
        let siblings = match self.tree.nodes[self.node].parent {
            Some(p) => &self.tree.nodes[p].children,
            None => &self.tree.roots,
        };
        siblings.iter().any(|&c| self.tree.nodes[c].name() == name && !self.tree.nodes[c].is_dir)
    }
}

/// One entry at its own path.
/// `docker-compose.yml`, `compose.override.yaml`…
fn is_compose_file(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    (l.starts_with("docker-compose") || l.starts_with("compose")) && (l.ends_with(".yml") || l.ends_with(".yaml"))
}

/// `Dockerfile`, `api.Dockerfile`, `Dockerfile.dev`, `Containerfile`.
pub fn is_dockerfile_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    if l.ends_with(".dockerignore") || l.ends_with(".containerignore") {
        return false;
    }
    l == "dockerfile"
        || l == "containerfile"
        || l.ends_with(".dockerfile")
        || l.ends_with(".containerfile")
        || l.starts_with("dockerfile.")
        || l.starts_with("containerfile.")
}

fn each(c: &Ctx<'_>) -> Option<(&'static str, Group, Class)> {
    let name = c.name();
    let dir = c.is_dir();
    let junk = Class::Junk;
    Some(match name {
        ".git" => ("git history", Group::Vcs, Class::Git),
        n if !dir && (is_dockerfile_name(n) || is_compose_file(n)) => {
            ("a container build file", Group::ContainerFiles, junk)
        }
        ".hg" if dir => ("Mercurial history", Group::Vcs, junk),
        ".svn" if dir => ("Subversion metadata", Group::Vcs, junk),
        ".tox" | ".nox" if dir => ("test environments", Group::PythonCaches, junk),
        ".hypothesis" if dir => ("Hypothesis' database", Group::PythonCaches, junk),
        ".coverage" | "coverage.xml" if !dir => ("coverage data", Group::Coverage, junk),
        n if !dir && n.starts_with(".coverage.") => ("coverage data", Group::Coverage, junk),
        "htmlcov" | ".nyc_output" if dir => ("coverage reports", Group::Coverage, junk),
        "coverage"
            if dir
                && ["lcov.info", "coverage-final.json", "lcov-report", "clover.xml"].iter().any(|n| c.has_child(n)) =>
        {
            ("coverage reports", Group::Coverage, junk)
        }
        ".idea" | ".vscode" if dir => ("editor settings", Group::Editor, junk),
        ".gradle" if dir => ("Gradle's project cache", Group::ToolCaches, junk),
        ".parcel-cache" if dir => ("Parcel's cache", Group::ToolCaches, junk),
        ".eslintcache" if !dir => ("ESLint's cache", Group::ToolCaches, junk),
        "node_modules" if dir => ("installed npm packages", Group::Dependencies, Class::Rebuilt(Tool::Node)),
        _ if dir && c.has_child("pyvenv.cfg") => ("a virtualenv", Group::Dependencies, Class::Rebuilt(Tool::Venv)),
        "target" if dir && c.has_sibling("Cargo.toml") => {
            ("Cargo's build output", Group::BuildOutput, Class::Rebuilt(Tool::Cargo))
        }
        "target" if dir && c.has_sibling("pom.xml") => {
            ("Maven's build output", Group::BuildOutput, Class::Rebuilt(Tool::Maven))
        }
        "build" if dir && (c.has_sibling("build.gradle") || c.has_sibling("build.gradle.kts")) => {
            ("Gradle's build output", Group::BuildOutput, Class::Rebuilt(Tool::Gradle))
        }
        "dist" | "build" | ".next" | ".nuxt" | ".output" | ".svelte-kit" if dir && c.has_sibling("package.json") => {
            ("JavaScript build output", Group::BuildOutput, Class::Rebuilt(Tool::JsBuild))
        }
        n if !dir && is_env_file(n) => ("environment file", Group::Secrets, Class::Secret),
        _ => return None,
    })
}

/// The candidates for the entries BuildKit sends, in writing order.
pub fn candidates(tree: &Tree) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut anywhere = vec![false; ANYWHERE.len()];
    // Entries inside a matched directory (a node_modules, a .git) are not
    // looked at for per-path rules.
    let mut inside = vec![false; tree.nodes.len()];
    for n in tree.preorder() {
        let node = &tree.nodes[n];
        if !node.sent && !node.is_dir {
            continue;
        }
        let name = node.name();
        for (k, rule) in ANYWHERE.iter().enumerate() {
            if !anywhere[k] && node.sent && rule.dir.is_none_or(|d| d == node.is_dir) && (rule.test)(name) {
                anywhere[k] = true;
            }
        }
        let parent_inside = node.parent.is_some_and(|p| inside[p]);
        inside[n] = parent_inside;
        if parent_inside || node.is_symlink {
            continue;
        }
        if let Some((what, group, class)) = each(&Ctx { tree, node: n }) {
            if node.is_dir {
                inside[n] = true;
            }
            let sent = if node.is_dir { tree.bytes(n, &|m| tree.nodes[m].sent) > 0 } else { node.sent };
            if let (true, Some(pattern)) = (sent, escape_path(&node.path)) {
                let rider = group == Group::ContainerFiles;
                out.push(Candidate { pattern, what, group, class, rank: usize::MAX, rider });
            }
        }
    }
    for (k, rule) in ANYWHERE.iter().enumerate() {
        if anywhere[k] {
            out.push(Candidate {
                pattern: rule.pattern.into(),
                what: rule.what,
                group: rule.group,
                class: Class::Junk,
                rank: k,
                rider: false,
            });
        }
    }
    out.sort_by(|a, b| (a.group, a.rank, &a.pattern).cmp(&(b.group, b.rank, &b.pattern)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Follow;
    use dockfix_core::MemFs;
    use dockfix_dockerignore::Matcher;
    use std::path::Path;

    #[test]
    fn finds_what_it_knows() {
        let fs = MemFs::new()
            .with("/c/.git/HEAD", "ref")
            .with("/c/.venv/pyvenv.cfg", "home")
            .with("/c/.venv/lib/x/__pycache__/a.pyc", "b")
            .with("/c/web/node_modules/x/.git/HEAD", "r")
            .with("/c/web/package.json", "{}")
            .with("/c/web/dist/app.js", "js")
            .with("/c/Cargo.toml", "[package]")
            .with("/c/target/debug/app", "bin")
            .with("/c/.env", "SECRET=1")
            .with("/c/.env.example", "SECRET=")
            .with("/c/logs/app.log", "log")
            .with("/c/coverage/readme.md", "not a report");
        let t = Tree::walk(&fs, Path::new("/c"), &Matcher::default(), &Follow::all());
        let got: Vec<(String, Class)> = candidates(&t).into_iter().map(|c| (c.pattern, c.class)).collect();
        assert_eq!(
            got,
            [
                (".git".to_string(), Class::Git),
                ("**/__pycache__".to_string(), Class::Junk),
                ("**/*.pyc".to_string(), Class::Junk),
                ("**/*.log".to_string(), Class::Junk),
                (".venv".to_string(), Class::Rebuilt(Tool::Venv)),
                ("web/node_modules".to_string(), Class::Rebuilt(Tool::Node)),
                ("target".to_string(), Class::Rebuilt(Tool::Cargo)),
                ("web/dist".to_string(), Class::Rebuilt(Tool::JsBuild)),
                (".env".to_string(), Class::Secret),
            ]
        );
    }

    #[test]
    fn escaped_paths_match_themselves() {
        for p in ["a[1]/b", "#x", "!x", "a*b?c", "back\\slash", "ok/.env"] {
            let e = escape_path(p).unwrap();
            let m = Matcher::new(&[e.as_str()]).unwrap();
            assert!(m.is_excluded(p), "{p} as {e}");
            assert!(!m.is_excluded("a1/b"), "{p} as {e}");
        }
        assert_eq!(escape_path(" x"), None);
    }

    #[test]
    fn env_files() {
        for n in [".env", ".env.local", ".env.production", ".envrc"] {
            assert!(is_env_file(n), "{n}");
        }
        for n in [".env.example", ".env.sample", ".env.template", ".env.local.example", "env", ".environment"] {
            assert!(!is_env_file(n), "{n}");
        }
    }
}
