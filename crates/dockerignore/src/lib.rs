//! `.dockerignore` exactly as Docker and BuildKit read it.
//!
//! Three layers, each following the Go code BuildKit runs:
//!
//! - **Reading** ([`read_lines`], moby's `ignorefile.ReadAll`): a UTF-8 BOM
//!   is dropped, a line whose *first* character is `#` is a comment (an
//!   indented `#` is a pattern), blanks around a pattern and after a `!` are
//!   trimmed, empty lines are skipped, the pattern is cleaned like Go's
//!   `filepath.Clean` (`./a/` → `a`, `a/../b` → `b`) and one leading `/` is
//!   removed, so `/a`, `./a` and `a/` all mean `a`, relative to the context
//!   root.
//! - **Matching** ([`Matcher::new`], moby's `patternmatcher`): a pattern is
//!   checked with `filepath.Match`'s syntax (a bad one fails the build) and
//!   matched against slash-separated context paths: `*` and `?` never match
//!   a `/`, `[…]` is a class, `\` escapes, `**` matches any number of
//!   directories (none included). `!pattern` is an exception. The last
//!   pattern that matches decides. A pattern matches a path if it matches
//!   the path or one of its parent directories, so `dir` excludes
//!   everything below `dir`.
//! - **Walking** ([`Matcher::visit`], [`Matcher::is_excluded`], the
//!   context walker of `tonistiigi/fsutil` that sends the build context):
//!   each path is decided with the results of its parent directory; an
//!   excluded directory is not even entered unless an exception could
//!   re-include something below it ([`Matcher::could_reinclude_under`]),
//!   in which case files below it can come back with `!dir/file`.
//!
//! The walker and `MatchesOrParentMatches` (what BuildKit's "copy ignored
//! file" check uses) differ in rare cases: with `a/b` then `!a`, the walker
//! excludes `a/b` (the exception was not evaluated for `a` because nothing
//! matched it yet, and is then only tried against `a/b` itself), while
//! `MatchesOrParentMatches` re-includes it. What the build sees is the
//! walker's answer, so [`Matcher::is_excluded`] gives that one;
//! [`Matcher::matches_or_parent_matches`] gives the other. (Docker 20.10's
//! BuildKit still re-includes `a/b` there: callers that must hold on every
//! release check both.)
//!
//! ```
//! use dockfix_dockerignore::Matcher;
//!
//! let m = Matcher::parse(b"# comment\n/node_modules/\n**/*.log\n!keep.log\n").unwrap();
//! assert!(m.is_excluded("node_modules/react/index.js"));
//! assert!(m.is_excluded("logs/app.log"));
//! assert!(!m.is_excluded("keep.log"));
//! // Nothing below node_modules can come back: a walker may skip it.
//! assert!(!m.could_reinclude_under("node_modules"));
//!
//! // Walking a tree, each entry decided with its parent's visit:
//! let logs = m.visit(None, "logs", true);
//! assert!(!logs.excluded && logs.descend);
//! assert!(m.visit(Some(&logs), "logs/app.log", false).excluded);
//! ```

mod go;
mod pattern;
mod re;

use pattern::Compiled;
pub use re::ReError;

/// Go's `filepath.Clean` (Unix).
pub use go::clean;

/// Why an ignore file or a pattern is refused. BuildKit fails the build on
/// all of these, except [`Error::Unsupported`], which is valid but beyond
/// this implementation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A `!` with nothing after it.
    #[error("line {line}: illegal exclusion pattern: \"!\"")]
    IllegalExclusion { line: usize },
    /// `filepath.Match` rejects the pattern, or the regular expression
    /// patternmatcher builds from it does not compile.
    #[error("line {line}: bad pattern `{pattern}`: {reason}")]
    BadPattern { line: usize, pattern: String, reason: String },
    /// Valid, but uses regular-expression syntax this crate does not model.
    #[error("line {line}: pattern `{pattern}` uses {what}, which dockfix does not model")]
    Unsupported { line: usize, pattern: String, what: String },
    /// Go's line scanner stops at lines of 64 KiB.
    #[error("line {line}: line too long")]
    LineTooLong { line: usize },
}

impl Error {
    /// The 1-based line of the ignore file (or the index + 1 in a pattern list).
    pub fn line(&self) -> usize {
        match self {
            Error::IllegalExclusion { line }
            | Error::BadPattern { line, .. }
            | Error::Unsupported { line, .. }
            | Error::LineTooLong { line } => *line,
        }
    }
}

/// A pattern line as `ReadAll` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number in the file.
    pub line: usize,
    /// The cleaned pattern, with its leading `!` for an exception.
    pub text: String,
}

/// `bufio.Scanner`'s limit on one token.
const MAX_LINE: usize = 64 * 1024;

/// Reads an ignore file like moby's `ignorefile.ReadAll`.
pub fn read_lines(bytes: &[u8]) -> Result<Vec<Line>, Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut out = Vec::new();
    if bytes.is_empty() {
        return Ok(out);
    }
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if bytes.ends_with(b"\n") {
        lines.pop();
    }
    for (k, raw) in lines.into_iter().enumerate() {
        let line = k + 1;
        if raw.len() >= MAX_LINE {
            return Err(Error::LineTooLong { line });
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = String::from_utf8_lossy(raw);
        if text.starts_with('#') {
            continue;
        }
        let mut pattern = text.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut p = String::new();
        if !pattern.is_empty() {
            p = clean(pattern);
            if p.len() > 1 && p.starts_with('/') {
                p.remove(0);
            }
        }
        if invert {
            p.insert(0, '!');
        }
        out.push(Line { line, text: p });
    }
    Ok(out)
}

/// One compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    exception: bool,
    line: usize,
    compiled: Compiled,
}

impl Pattern {
    /// The cleaned pattern without its `!`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// True for a `!` exception.
    pub fn is_exception(&self) -> bool {
        self.exception
    }
    /// The line it came from (1-based).
    pub fn line(&self) -> usize {
        self.line
    }
    /// True if the pattern matches this exact path (no parent rule).
    pub fn matches(&self, path: &str) -> bool {
        pattern::matches(&self.compiled, &self.text, path)
    }
    /// True if the pattern matches the path or one of its parent directories.
    pub fn matches_or_parent(&self, path: &str) -> bool {
        if self.matches(path) {
            return true;
        }
        parent_prefixes(path).any(|p| self.matches(p))
    }
    /// The pattern with a trailing `/**` or `/*` removed (fsutil's
    /// `patternWithoutTrailingGlob`).
    fn without_trailing_glob(&self) -> &str {
        let t = self.text.strip_suffix("/**").unwrap_or(&self.text);
        t.strip_suffix("/*").unwrap_or(t)
    }
}

/// `a`, `a/b` for `a/b/c` (the parent directories, outermost first).
fn parent_prefixes(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i]).filter(|p| !p.is_empty())
}

/// Where a path stands after the context walker looked at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    /// Not sent to the builder.
    pub excluded: bool,
    /// Some pattern excluded it and a later exception brought it back.
    pub reincluded: bool,
    /// For directories: the walker enters it (false only for an excluded
    /// directory below which no exception can re-include anything).
    pub descend: bool,
    /// For each pattern, whether it matched this path (or was inherited
    /// from the parent): patternmatcher's `MatchInfo`.
    info: Vec<bool>,
}

/// A list of patterns in order.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
    exceptions: bool,
    only_prefix_exceptions: bool,
}

fn compile_error(line: usize, pattern: &str, e: ReError) -> Error {
    match e {
        ReError::Invalid(reason) => Error::BadPattern { line, pattern: pattern.to_string(), reason },
        ReError::Unsupported(what) => Error::Unsupported { line, pattern: pattern.to_string(), what },
    }
}

impl Matcher {
    /// Reads an ignore file and compiles its patterns.
    pub fn parse(bytes: &[u8]) -> Result<Matcher, Error> {
        let lines = read_lines(bytes)?;
        Matcher::from_lines(lines.iter().map(|l| (l.line, l.text.as_str())))
    }

    /// Compiles a list of patterns the way patternmatcher's `New` does
    /// (each is trimmed and cleaned; `!` marks an exception).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Matcher, Error> {
        Matcher::from_lines(patterns.iter().enumerate().map(|(k, p)| (k + 1, p.as_ref())))
    }

    fn from_lines<'a>(lines: impl Iterator<Item = (usize, &'a str)>) -> Result<Matcher, Error> {
        let mut m = Matcher { patterns: Vec::new(), exceptions: false, only_prefix_exceptions: true };
        for (line, p) in lines {
            m.push(line, p)?;
        }
        Ok(m)
    }

    fn push(&mut self, line: usize, p: &str) -> Result<(), Error> {
        let p = p.trim();
        if p.is_empty() {
            return Ok(());
        }
        let mut p = clean(p);
        let mut exception = false;
        if let Some(rest) = p.strip_prefix('!') {
            if rest.is_empty() {
                return Err(Error::IllegalExclusion { line });
            }
            exception = true;
            p = rest.to_string();
        }
        if let Err(reason) = go::filepath_match(&p, ".") {
            return Err(Error::BadPattern { line, pattern: p, reason: reason.to_string() });
        }
        let compiled = pattern::compile(&p).map_err(|e| compile_error(line, &p, e))?;
        let pat = Pattern { text: p, exception, line, compiled };
        if exception {
            self.exceptions = true;
            if pat.without_trailing_glob().contains(['*', '[', ']', '?', '^', '\\']) {
                self.only_prefix_exceptions = false;
            }
        }
        self.patterns.push(pat);
        Ok(())
    }

    /// This matcher with more patterns at the end (as if appended to the file).
    pub fn appended<S: AsRef<str>>(&self, patterns: &[S]) -> Result<Matcher, Error> {
        let mut m = self.clone();
        let base = m.patterns.last().map_or(0, |p| p.line);
        for (k, p) in patterns.iter().enumerate() {
            m.push(base + k + 1, p.as_ref())?;
        }
        Ok(m)
    }

    /// The patterns, in order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// True if no pattern is set.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// True if some pattern is a `!` exception.
    pub fn has_exceptions(&self) -> bool {
        self.exceptions
    }

    /// patternmatcher's `MatchesOrParentMatches`: each pattern is tried
    /// against the path and its parent directories; the last match wins.
    /// BuildKit uses this to warn about a COPY source that is ignored.
    pub fn matches_or_parent_matches(&self, path: &str) -> bool {
        let path = normalize(path);
        if path.is_empty() {
            return false;
        }
        let mut matched = false;
        for p in &self.patterns {
            if p.exception != matched {
                continue;
            }
            if p.matches_or_parent(&path) {
                matched = !p.exception;
            }
        }
        matched
    }

    /// Decides one path during a walk of the context, given the visit of its
    /// parent directory (`None` for entries at the root). `path` is the
    /// whole context-relative path (`a/b/c`), not just the name.
    ///
    /// This is patternmatcher's `MatchesUsingParentResults` plus fsutil's
    /// rule for entering excluded directories.
    pub fn visit(&self, parent: Option<&Visit>, path: &str, is_dir: bool) -> Visit {
        let n = self.patterns.len();
        let parent_info = parent.map(|p| p.info.as_slice()).filter(|i| i.len() == n && n > 0);
        let mut info = vec![false; n];
        let mut matched = false;
        let mut ever = false;
        for (i, p) in self.patterns.iter().enumerate() {
            let mut m = parent_info.is_some_and(|pi| pi[i]);
            if !m {
                if p.exception != matched {
                    continue;
                }
                m = p.matches(path);
                // Without parent results, parent directories are tried too.
                if !m && parent_info.is_none() {
                    m = parent_prefixes(path).any(|pp| p.matches(pp));
                }
            }
            info[i] = m;
            if m {
                matched = !p.exception;
                ever |= matched;
            }
        }
        let descend = !(is_dir && matched) || self.could_reinclude_under(path);
        Visit { excluded: matched, reincluded: !matched && ever, descend, info }
    }

    /// fsutil's test for entering an excluded directory: true when some
    /// exception might re-include a path below `dir`. With only plain
    /// exceptions (no wildcard except a trailing `/*` or `/**`), that is
    /// an exception naming `dir` or a path below it; any exception with a
    /// wildcard makes every excluded directory worth entering.
    pub fn could_reinclude_under(&self, dir: &str) -> bool {
        if !self.exceptions {
            return false;
        }
        if !self.only_prefix_exceptions {
            return true;
        }
        let dir = normalize(dir);
        let dir_slash = format!("{dir}/");
        self.patterns
            .iter()
            .filter(|p| p.exception)
            .any(|p| format!("{}/", p.without_trailing_glob()).starts_with(&dir_slash))
    }

    /// Visits `path` and each of its parent directories in turn. `None`
    /// when the walker never reaches it (a parent directory is excluded and
    /// not entered): the path is excluded.
    pub fn visit_path(&self, path: &str, is_dir: bool) -> Option<Visit> {
        let path = normalize(path);
        if path.is_empty() {
            return Some(Visit { excluded: false, reincluded: false, descend: true, info: Vec::new() });
        }
        let mut parent: Option<Visit> = None;
        for dir in parent_prefixes(&path) {
            let v = self.visit(parent.as_ref(), dir, true);
            if !v.descend {
                return None;
            }
            parent = Some(v);
        }
        Some(self.visit(parent.as_ref(), &path, is_dir))
    }

    /// True if the build context sent to BuildKit leaves `path` out.
    /// `path` is relative to the context root (a leading `/` or `./` is
    /// ignored); the root itself is never excluded.
    pub fn is_excluded(&self, path: &str) -> bool {
        self.visit_path(path, false).is_none_or(|v| v.excluded)
    }
}

/// A context-relative path as the walker spells it: cleaned, no leading
/// `/`, `""` for the root (`./a/` → `a`, `/` → ``, `../a` → `a`).
pub fn normalize(path: &str) -> String {
    let c = clean(&format!("/{path}"));
    c.trim_start_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize("./a/"), "a");
        assert_eq!(normalize("/"), "");
        assert_eq!(normalize("."), "");
        assert_eq!(normalize("../a/./b"), "a/b");
        assert_eq!(normalize(""), "");
    }
}
