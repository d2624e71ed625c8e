//! The build context as the builder sends it: files and directories after
//! `.dockerignore` (or `<Dockerfile>.dockerignore`, which wins). A manifest
//! that `.dockerignore` excludes is not there for a `COPY` either, so every
//! "is this file in the context" question goes through here.

use dockfix_core::{Context, DirEntry};

use crate::commands::Project;

/// One `.dockerignore` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    exclusion: bool,
    segments: Vec<String>,
}

/// The patterns of a `.dockerignore` file, matched the way BuildKit's
/// pattern matcher does: a path is excluded when the last pattern that
/// matches it (or one of its parent directories) is not a `!` exception.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

impl Ignore {
    pub fn parse(text: &str) -> Ignore {
        let mut patterns = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let mut p = line.trim();
            if p.is_empty() {
                continue;
            }
            let exclusion = p.starts_with('!');
            if exclusion {
                p = p[1..].trim();
            }
            let cleaned = clean(p);
            if cleaned.is_empty() {
                continue;
            }
            patterns.push(Pattern { exclusion, segments: cleaned.split('/').map(str::to_string).collect() });
        }
        Ignore { patterns }
    }

    /// True when `.dockerignore` keeps `path` (context-relative) out of the context.
    pub fn excludes(&self, path: &str) -> bool {
        let path = clean(path);
        if path.is_empty() {
            return false;
        }
        let segs: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for p in &self.patterns {
            let hit = (1..=segs.len()).any(|n| match_segments(&p.segments, &segs[..n]));
            if hit {
                excluded = !p.exclusion;
            }
        }
        excluded
    }
}

/// `filepath.Clean` for a relative, slash-separated path, without a leading `/`.
fn clean(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for s in p.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

fn match_segments(pat: &[String], path: &[&str]) -> bool {
    match pat.first() {
        None => path.is_empty(),
        Some(p) if p == "**" => (0..=path.len()).any(|k| match_segments(&pat[1..], &path[k..])),
        Some(p) => !path.is_empty() && glob(p.as_bytes(), path[0].as_bytes()) && match_segments(&pat[1..], &path[1..]),
    }
}

/// Matches one path segment against a glob (`*`, `?`, `[…]`, `\` escapes).
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|k| glob(&p[1..], &s[k..])),
        Some(b'?') => !s.is_empty() && glob(&p[1..], &s[1..]),
        Some(b'[') => {
            let Some(close) = p.iter().skip(1).position(|&c| c == b']').map(|i| i + 1) else {
                return !s.is_empty() && s[0] == b'[' && glob(&p[1..], &s[1..]);
            };
            if s.is_empty() {
                return false;
            }
            let class = &p[1..close];
            let (negate, class) = match class.first() {
                Some(b'^') | Some(b'!') => (true, &class[1..]),
                _ => (false, class),
            };
            let c = s[0];
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob(&p[close + 1..], &s[1..])
        }
        Some(b'\\') if p.len() > 1 => !s.is_empty() && s[0] == p[1] && glob(&p[2..], &s[1..]),
        Some(&c) => !s.is_empty() && s[0] == c && glob(&p[1..], &s[1..]),
    }
}

/// The build context after `.dockerignore`.
pub struct ContextView<'a> {
    cx: &'a Context<'a>,
    ignore: Ignore,
}

impl<'a> ContextView<'a> {
    pub fn new(cx: &'a Context<'a>) -> ContextView<'a> {
        let df = &cx.service.dockerfile;
        let specific = df
            .file_name()
            .map(|n| df.with_file_name(format!("{}.dockerignore", n.to_string_lossy())))
            .and_then(|p| cx.fs.read(&p));
        let text = specific
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .or_else(|| cx.read_context(".dockerignore"))
            .unwrap_or_default();
        ContextView { cx, ignore: Ignore::parse(&text) }
    }

    /// True when `.dockerignore` leaves `rel` out.
    pub fn ignored(&self, rel: &str) -> bool {
        self.ignore.excludes(rel)
    }

    pub fn is_file(&self, rel: &str) -> bool {
        !self.ignored(rel) && self.cx.context_has_file(rel)
    }

    pub fn is_dir(&self, rel: &str) -> bool {
        (rel.is_empty() || !self.ignored(rel)) && self.cx.context_has_dir(rel)
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.is_file(rel) || self.is_dir(rel)
    }

    /// The file exists on disk (whether or not `.dockerignore` keeps it).
    pub fn on_disk(&self, rel: &str) -> bool {
        self.cx.context_has_file(rel) || self.cx.context_has_dir(rel)
    }

    /// The text of a context file that the builder would send.
    pub fn read(&self, rel: &str) -> Option<String> {
        if self.ignored(rel) {
            return None;
        }
        self.cx.read_context(rel)
    }

    /// Entries of a context directory that the builder would send.
    pub fn list(&self, rel: &str) -> Vec<DirEntry> {
        let Some(p) = self.cx.context_path(rel) else { return Vec::new() };
        self.cx.fs.list(&p).into_iter().filter(|e| !self.ignored(&join(rel, &e.name))).collect()
    }
}

/// What an ecosystem check sees: the context, the directory the source
/// copy copies, the install's project directory and the files it reads
/// (all context-relative).
#[derive(Clone)]
pub struct Scope<'a> {
    pub view: &'a ContextView<'a>,
    /// The context directory the source copy copies (`""` for the root).
    pub copy_dir: &'a str,
    /// The install's project directory.
    pub dir: String,
    /// The files it reads that are in the context.
    pub files: Vec<String>,
    /// Those of them it cannot do without (pip's requirement files).
    pub required: Vec<String>,
}

impl Scope<'_> {
    /// Why a file the install needs is not there.
    pub fn missing(&self, f: &str) -> String {
        if self.view.on_disk(f) && self.view.ignored(f) {
            format!("`{f}` is excluded by .dockerignore")
        } else {
            format!("`{f}` is not in the build context")
        }
    }

    /// True when the source copy provides `f`.
    pub fn within_copy(&self, f: &str) -> bool {
        self.copy_dir.is_empty() || f == self.copy_dir || dockfix_core::walk::starts_with_dir(f, self.copy_dir)
    }
}

/// What a check adds: more files to copy, a different view of whether the
/// install needs the project, more outputs in the project (context paths).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    pub extra: Vec<String>,
    /// Files it reads that the deps-only step does not need.
    pub skip: Vec<String>,
    pub project: Option<Project>,
    pub outputs: Vec<String>,
}

/// Joins context-relative paths (`""` is the root).
pub fn join(dir: &str, rel: &str) -> String {
    let rel = rel.trim_start_matches("./");
    if dir.is_empty() {
        clean(rel)
    } else {
        clean(&format!("{dir}/{rel}"))
    }
}

/// Joins, refusing paths that climb out of `dir`'s tree root (`..` past the top).
pub fn join_within(dir: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') {
        return None;
    }
    let mut depth: Vec<&str> = if dir.is_empty() { Vec::new() } else { dir.split('/').collect() };
    for s in rel.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                depth.pop()?;
            }
            s => depth.push(s),
        }
    }
    Some(depth.join("/"))
}

/// Expands workspace globs (`packages/*`, `apps/**`, `tools/cli`, `!x`)
/// against the context, relative to `dir`: the member directories.
pub fn expand_globs(view: &ContextView<'_>, dir: &str, globs: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    let mut negations: Vec<Vec<String>> = Vec::new();
    for g in globs {
        let (neg, g) = match g.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, g.as_str()),
        };
        let g = g.trim_start_matches("./").trim_end_matches('/');
        if g.split('/').any(|s| s == "..") || g.starts_with('/') {
            return Err(format!("the workspace pattern `{g}` points outside the project"));
        }
        let segs: Vec<String> = g.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect();
        if neg {
            negations.push(segs);
            continue;
        }
        walk_glob(view, dir, &segs, 0, &mut out);
    }
    out.retain(|m| {
        let rel = m.strip_prefix(dir).unwrap_or(m).trim_start_matches('/');
        let segs: Vec<&str> = rel.split('/').collect();
        !negations.iter().any(|n| match_segments(n, &segs))
    });
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk_glob(view: &ContextView<'_>, base: &str, segs: &[String], depth: usize, out: &mut Vec<String>) {
    if depth > 8 {
        return;
    }
    let Some(first) = segs.first() else {
        if view.is_dir(base) {
            out.push(base.to_string());
        }
        return;
    };
    if first == "**" {
        walk_glob(view, base, &segs[1..], depth + 1, out);
        for e in
            view.list(base).into_iter().filter(|e| e.is_dir && e.name != "node_modules" && !e.name.starts_with('.'))
        {
            walk_glob(view, &join(base, &e.name), segs, depth + 1, out);
        }
        return;
    }
    if !first.contains(['*', '?', '[']) {
        let next = join(base, first);
        if view.is_dir(&next) {
            walk_glob(view, &next, &segs[1..], depth + 1, out);
        }
        return;
    }
    for e in view.list(base).into_iter().filter(|e| e.is_dir && e.name != "node_modules") {
        if glob(first.as_bytes(), e.name.as_bytes()) {
            walk_glob(view, &join(base, &e.name), &segs[1..], depth + 1, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_semantics() {
        let ig = Ignore::parse("# comment\nnode_modules\n*.md\n!README.md\n/dist/\n**/.venv\ndocs/**\n");
        assert!(ig.excludes("node_modules"));
        assert!(ig.excludes("node_modules/x/package.json"));
        assert!(ig.excludes("CHANGELOG.md"));
        assert!(!ig.excludes("README.md"));
        assert!(!ig.excludes("sub/CHANGELOG.md"));
        assert!(ig.excludes("dist/app.js"));
        assert!(ig.excludes("a/b/.venv"));
        assert!(ig.excludes(".venv"));
        assert!(ig.excludes("docs/x/y"));
        assert!(!ig.excludes("package.json"));
        let ig = Ignore::parse("*\n!package.json\n!src\n");
        assert!(!ig.excludes("package.json"));
        assert!(ig.excludes("package-lock.json"));
        assert!(!ig.excludes("src/index.js"));
    }

    #[test]
    fn globs() {
        assert!(glob(b"req*.txt", b"requirements.txt"));
        assert!(!glob(b"req*.txt", b"requirements.in"));
        assert!(glob(b"file[0-9]", b"file7"));
        assert!(!glob(b"file[!0-9]", b"file7"));
        assert!(glob(b"a?c", b"abc"));
    }

    #[test]
    fn joins() {
        assert_eq!(join("", "./package.json"), "package.json");
        assert_eq!(join("app", "a/../b"), "app/b");
        assert_eq!(join_within("app", "../x"), Some("x".to_string()));
        assert_eq!(join_within("", "../x"), None);
    }
}
