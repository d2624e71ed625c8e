//! The build context as the builder sends it: a file `.dockerignore` (or
//! `<Dockerfile>.dockerignore`, which wins) excludes is not there for a
//! `COPY`, so a lock it excludes is no lock at all.

use dockfix_core::Context;

/// The context, with `.dockerignore` applied.
pub struct View<'a> {
    cx: &'a Context<'a>,
    patterns: Vec<(bool, Vec<String>)>,
}

impl<'a> View<'a> {
    pub fn new(cx: &'a Context<'a>) -> View<'a> {
        let own = cx
            .service
            .dockerfile
            .file_name()
            .map(|n| cx.service.dockerfile.with_file_name(format!("{}.dockerignore", n.to_string_lossy())));
        let text = own
            .and_then(|p| cx.fs.read(&p))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .or_else(|| cx.read_context(".dockerignore"))
            .unwrap_or_default();
        let mut patterns = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let mut p = line.trim();
            let exception = p.starts_with('!');
            if exception {
                p = p[1..].trim();
            }
            let c = clean(p);
            if !c.is_empty() {
                patterns.push((exception, c.split('/').map(str::to_string).collect()));
            }
        }
        View { cx, patterns }
    }

    /// True when `.dockerignore` keeps a context path out.
    pub fn excluded(&self, path: &str) -> bool {
        let p = clean(path);
        if p.is_empty() {
            return false;
        }
        let segs: Vec<&str> = p.split('/').collect();
        let mut out = false;
        for (exception, pat) in &self.patterns {
            if (1..=segs.len()).any(|n| segments(pat, &segs[..n])) {
                out = !exception;
            }
        }
        out
    }

    /// A file the builder sends.
    pub fn is_file(&self, path: &str) -> bool {
        self.cx.context_has_file(path) && !self.excluded(path)
    }

    pub fn is_dir(&self, path: &str) -> bool {
        let p = clean(path);
        p.is_empty() || (self.cx.context_has_dir(&p) && !self.excluded(&p))
    }

    /// The text of a file the builder sends.
    pub fn read(&self, path: &str) -> Option<String> {
        if self.excluded(path) {
            return None;
        }
        self.cx.read_context(path)
    }

    /// On disk, whether or not `.dockerignore` excludes it.
    pub fn on_disk(&self, path: &str) -> bool {
        self.cx.context_has_file(path)
    }

    pub fn cx(&self) -> &Context<'a> {
        self.cx
    }
}

/// `filepath.Clean` for a relative, `/`-separated path.
pub fn clean(p: &str) -> String {
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

/// Joins a context directory and a relative path.
pub fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        clean(rel)
    } else {
        clean(&format!("{dir}/{rel}"))
    }
}

fn segments(pat: &[String], path: &[&str]) -> bool {
    match pat.first() {
        None => path.is_empty(),
        Some(p) if p == "**" => (0..=path.len()).any(|k| segments(&pat[1..], &path[k..])),
        Some(p) => !path.is_empty() && glob(p.as_bytes(), path[0].as_bytes()) && segments(&pat[1..], &path[1..]),
    }
}

/// One path segment against a glob (`*`, `?`, `[…]`).
pub fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|k| glob(&p[1..], &s[k..])),
        Some(b'?') => !s.is_empty() && glob(&p[1..], &s[1..]),
        Some(b'[') => {
            let Some(close) = p.iter().skip(1).position(|&c| c == b']').map(|i| i + 1) else {
                return !s.is_empty() && s[0] == b'[' && glob(&p[1..], &s[1..]);
            };
            let Some(&c) = s.first() else { return false };
            let (negate, class) = match p[1..close].first() {
                Some(b'^' | b'!') => (true, &p[2..close]),
                _ => (false, &p[1..close]),
            };
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

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_core::{MemFs, PassOptions, Service};
    use dockfix_syntax::parse_str;

    #[test]
    fn dockerignore_excludes_and_exceptions() {
        let fs = MemFs::new()
            .with("/c/.dockerignore", "*.lock\n!uv.lock\nbuild/**\n")
            .with("/c/uv.lock", "")
            .with("/c/poetry.lock", "")
            .with("/c/build/x/y.txt", "");
        let doc = parse_str("FROM a\n").unwrap();
        let svc = Service::for_dockerfile("/c/Dockerfile");
        let opts = PassOptions::default();
        let cx = Context { doc: &doc, service: &svc, fs: &fs, options: &opts, history: None, passes: &[] };
        let v = View::new(&cx);
        assert!(v.is_file("uv.lock"));
        assert!(!v.is_file("poetry.lock"));
        assert!(v.on_disk("poetry.lock"));
        assert!(v.excluded("build/x/y.txt"));
        assert!(glob(b"requirements*.txt", b"requirements-dev.txt"));
        assert!(glob(b"poetry.lock[k]", b"poetry.lockk"));
        assert_eq!(join("svc", "../a.txt"), "a.txt");
    }
}
