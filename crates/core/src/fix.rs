//! Findings and fixes, shaped like ruff's diagnostics: a fix is a set of
//! text edits applied together or not at all, with a safety class.

use std::ops::Range;
use std::path::PathBuf;

use serde::Serialize;

/// Which file an edit changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Target {
    /// The Dockerfile being processed.
    Dockerfile,
    /// Another file (a `.dockerignore`, a compose file…), by path. An absent
    /// file is created by an insertion at 0.
    File(PathBuf),
}

/// Replace `range` of the target with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub target: Target,
    pub range: Range<usize>,
    pub replacement: String,
}

impl Edit {
    pub fn replace(range: Range<usize>, replacement: impl Into<String>) -> Edit {
        Edit { target: Target::Dockerfile, range, replacement: replacement.into() }
    }
    pub fn insert(at: usize, text: impl Into<String>) -> Edit {
        Edit::replace(at..at, text)
    }
    pub fn delete(range: Range<usize>) -> Edit {
        Edit::replace(range, "")
    }
    /// An edit of another file.
    pub fn in_file(path: impl Into<PathBuf>, range: Range<usize>, replacement: impl Into<String>) -> Edit {
        Edit { target: Target::File(path.into()), range, replacement: replacement.into() }
    }
}

/// How safe a fix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// Shown, never applied.
    DisplayOnly,
    /// Applied only with `--unsafe-fixes`: it can change what the image does.
    Unsafe,
    /// Keeps what the image does; applied by `apply`.
    Safe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::DisplayOnly => "display-only",
            Applicability::Unsafe => "unsafe",
            Applicability::Safe => "safe",
        }
    }
}

/// A set of edits applied together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<Edit>,
    pub applicability: Applicability,
}

impl Fix {
    pub fn safe(title: impl Into<String>, edits: Vec<Edit>) -> Fix {
        Fix { title: title.into(), edits, applicability: Applicability::Safe }
    }
    pub fn unsafe_(title: impl Into<String>, edits: Vec<Edit>) -> Fix {
        Fix { title: title.into(), edits, applicability: Applicability::Unsafe }
    }
    pub fn display_only(title: impl Into<String>) -> Fix {
        Fix { title: title.into(), edits: Vec::new(), applicability: Applicability::DisplayOnly }
    }

    /// Byte ranges this fix touches in the Dockerfile.
    pub fn dockerfile_ranges(&self) -> impl Iterator<Item = &Range<usize>> {
        self.edits.iter().filter(|e| e.target == Target::Dockerfile).map(|e| &e.range)
    }
}

/// Something a pass found, with what it means and, maybe, a fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The pass that found it.
    pub pass: &'static str,
    /// What is wrong or what changes, in one line.
    pub message: String,
    /// Why it matters.
    pub why: String,
    /// The expected gain, when there is a fix.
    pub gain: Option<String>,
    /// Where, in the Dockerfile (bytes).
    pub range: Range<usize>,
    pub fix: Option<Fix>,
}

impl Finding {
    pub fn new(pass: &'static str, range: Range<usize>, message: impl Into<String>) -> Finding {
        Finding { pass, message: message.into(), why: String::new(), gain: None, range, fix: None }
    }
    pub fn why(mut self, why: impl Into<String>) -> Finding {
        self.why = why.into();
        self
    }
    pub fn gain(mut self, gain: impl Into<String>) -> Finding {
        self.gain = Some(gain.into());
        self
    }
    pub fn fix(mut self, fix: Fix) -> Finding {
        self.fix = Some(fix);
        self
    }

    /// The safety class of the fix (DisplayOnly without one).
    pub fn applicability(&self) -> Applicability {
        self.fix.as_ref().map_or(Applicability::DisplayOnly, |f| f.applicability)
    }

    /// True when the fix changes something.
    pub fn has_edits(&self) -> bool {
        self.fix.as_ref().is_some_and(|f| !f.edits.is_empty() && f.applicability != Applicability::DisplayOnly)
    }
}

/// Applies non-overlapping edits (sorted by the caller or not) to `text`.
/// Panics in debug builds on overlap; returns `None` in release.
pub fn apply_edits(text: &[u8], edits: &[&Edit]) -> Option<Vec<u8>> {
    let mut sorted: Vec<&&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = Vec::with_capacity(text.len());
    let mut pos = 0;
    for e in sorted {
        if e.range.start < pos || e.range.end > text.len() || e.range.start > e.range.end {
            return None;
        }
        out.extend_from_slice(&text[pos..e.range.start]);
        out.extend_from_slice(e.replacement.as_bytes());
        pos = e.range.end;
    }
    out.extend_from_slice(&text[pos..]);
    Some(out)
}

/// True when two edit sets overlap. Insertions at the same point overlap;
/// an insertion at the boundary of a replacement does not.
pub fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    if a.is_empty() && b.is_empty() {
        return a.start == b.start;
    }
    if a.is_empty() {
        return a.start > b.start && a.start < b.end;
    }
    if b.is_empty() {
        return b.start > a.start && b.start < a.end;
    }
    a.start < b.end && b.start < a.end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_order() {
        let e1 = Edit::replace(0..1, "X");
        let e2 = Edit::insert(3, "!");
        assert_eq!(apply_edits(b"abc", &[&e2, &e1]).unwrap(), b"Xbc!");
        let bad = Edit::replace(0..2, "");
        assert!(apply_edits(b"abc", &[&e1, &bad]).is_none());
    }

    #[test]
    fn overlap_rules() {
        assert!(overlaps(&(0..3), &(2..4)));
        assert!(!overlaps(&(0..2), &(2..4)));
        assert!(!overlaps(&(2..2), &(2..4)));
        assert!(overlaps(&(3..3), &(2..4)));
        assert!(overlaps(&(2..2), &(2..2)));
    }
}
