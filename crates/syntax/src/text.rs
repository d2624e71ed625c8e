//! Byte-level helpers that mirror Go's string functions, and the logical line:
//! the text BuildKit builds by joining continuation lines, with a map back to
//! the source bytes every logical character came from.

use std::ops::Range;

/// A byte range in the logical text of one instruction.
pub type Span = Range<usize>;

/// Decodes one UTF-8 scalar at `i`. Invalid or truncated sequences decode as
/// `None` (Go decodes them as U+FFFD of width 1).
pub(crate) fn decode_char(bytes: &[u8], i: usize) -> Option<(char, usize)> {
    let b0 = *bytes.get(i)?;
    let width = match b0 {
        0x00..=0x7f => return Some((b0 as char, 1)),
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let chunk = bytes.get(i..i + width)?;
    std::str::from_utf8(chunk).ok().and_then(|s| s.chars().next()).map(|c| (c, width))
}

/// Go's `unicode.IsSpace`, which is the Unicode White_Space property.
#[inline]
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// Number of leading bytes that `bytes.TrimLeftFunc(b, unicode.IsSpace)` removes.
pub(crate) fn leading_space_len(bytes: &[u8]) -> usize {
    let mut i = 0;
    while let Some((c, w)) = decode_char(bytes, i) {
        if !is_space(c) {
            break;
        }
        i += w;
    }
    i
}

/// Length after Go's `bytes.TrimRight(b, "\r\n")`.
pub(crate) fn trim_newline_len(bytes: &[u8]) -> usize {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    end
}

/// `strings.TrimSpace` on a `&str`, returning the byte range that remains.
pub(crate) fn trim_space_range(s: &str) -> Range<usize> {
    let start = s.len() - s.trim_start_matches(is_space).len();
    let end = s.trim_end_matches(is_space).len();
    if end < start {
        start..start
    } else {
        start..end
    }
}

/// The regexp `[\t\v\f\r ]` that BuildKit splits words on.
#[inline]
pub(crate) fn is_ws_sep(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// Splits like Go's `reWhitespace.Split(s, n)` (n < 0: all), with the byte
/// range of each piece.
pub(crate) fn split_ws(s: &str, limit: Option<usize>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut piece_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if limit.is_some_and(|n| out.len() + 1 >= n) {
            break;
        }
        if is_ws_sep(bytes[i] as char) {
            let mut j = i;
            while j < bytes.len() && is_ws_sep(bytes[j] as char) {
                j += 1;
            }
            out.push(piece_start..i);
            piece_start = j;
            i = j;
        } else {
            i += 1;
        }
    }
    out.push(piece_start..bytes.len());
    out
}

/// One contiguous stretch of logical text and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    logical: usize,
    source: usize,
    /// Logical length; equals the source length unless `replaced`.
    len: usize,
    /// An invalid source byte shown as U+FFFD (3 logical bytes, 1 source byte).
    replaced: bool,
}

/// The text of one instruction after BuildKit joined its continuation lines
/// (escape characters at line ends removed, comment and empty lines skipped),
/// with a map from every logical byte back to the source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogicalLine {
    text: String,
    pieces: Vec<Piece>,
}

impl LogicalLine {
    pub(crate) fn push_source(&mut self, src: &[u8], range: Range<usize>) {
        let mut source = range.start;
        for chunk in src[range].utf8_chunks() {
            let valid = chunk.valid();
            if !valid.is_empty() {
                self.pieces.push(Piece { logical: self.text.len(), source, len: valid.len(), replaced: false });
                self.text.push_str(valid);
                source += valid.len();
            }
            for _ in chunk.invalid() {
                self.pieces.push(Piece {
                    logical: self.text.len(),
                    source,
                    len: '\u{fffd}'.len_utf8(),
                    replaced: true,
                });
                self.text.push('\u{fffd}');
                source += 1;
            }
        }
    }

    /// The joined text. Invalid UTF-8 bytes appear as U+FFFD.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The source offset of a logical offset. An offset at the end of a piece
    /// maps to the end of that piece's source (not the start of the next
    /// line), so a span never swallows a line break it does not contain.
    pub fn to_source(&self, logical: usize) -> usize {
        let idx = match self.pieces.binary_search_by(|p| p.logical.cmp(&logical)) {
            Ok(i) => {
                // Prefer the end of the previous piece when it ends here too,
                // only for offsets that close a span (handled in `source_range`).
                i
            }
            Err(0) => return self.pieces.first().map_or(0, |p| p.source),
            Err(i) => i - 1,
        };
        let p = &self.pieces[idx];
        let off = logical - p.logical;
        if p.replaced {
            p.source + usize::from(off > 0)
        } else {
            p.source + off.min(p.len)
        }
    }

    fn to_source_end(&self, logical: usize) -> usize {
        // The end of a span: map to the end of the piece that contains the
        // byte just before it.
        if logical == 0 {
            return self.to_source(0);
        }
        let idx = match self.pieces.binary_search_by(|p| p.logical.cmp(&(logical - 1))) {
            Ok(i) => i,
            Err(0) => return self.to_source(logical),
            Err(i) => i - 1,
        };
        let p = &self.pieces[idx];
        if p.replaced {
            p.source + 1
        } else {
            p.source + (logical - p.logical).min(p.len)
        }
    }

    /// The source byte range a logical span covers (from the source of its
    /// first byte to just after the source of its last byte). A span that
    /// crosses a line continuation includes the continuation.
    pub fn source_range(&self, span: Span) -> Range<usize> {
        if span.is_empty() {
            let s = self.to_source(span.start);
            return s..s;
        }
        self.to_source(span.start)..self.to_source_end(span.end)
    }

    /// True when the logical span comes from one contiguous stretch of source
    /// (it does not cross a line continuation or an invalid byte).
    pub fn is_contiguous(&self, span: Span) -> bool {
        let r = self.source_range(span.clone());
        r.len() == span.len()
    }
}

/// Quotes like Go's `strconv.Quote`, working on bytes so that invalid UTF-8
/// prints as `\x..` exactly as Go does.
pub fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    let mut i = 0;
    while i < bytes.len() {
        match decode_char(bytes, i) {
            None => {
                out.push_str(&format!("\\x{:02x}", bytes[i]));
                i += 1;
            }
            Some((c, w)) => {
                i += w;
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\u{7}' => out.push_str("\\a"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{b}' => out.push_str("\\v"),
                    c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
                    c if is_go_printable(c) => out.push(c),
                    c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push_str(&format!("\\U{:08x}", c as u32)),
                }
            }
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `strconv.IsPrint` good for the characters that
/// appear in Dockerfiles: everything but controls, non-ASCII spaces, format
/// characters, private use and non-characters.
fn is_go_printable(c: char) -> bool {
    let u = c as u32;
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(u,
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f
        | 0x202a..=0x202e | 0x2060..=0x206f | 0xd800..=0xf8ff | 0xfeff
        | 0xfff0..=0xfffb | 0xfffe..=0xffff | 0xe0000..=0xe007f
        | 0xf0000..=0x10ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_go() {
        assert_eq!(go_quote(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\u{0} \t é".as_bytes()), r#""\x00 \t é""#);
        assert_eq!(go_quote(b"\xff"), r#""\xff""#);
        assert_eq!(go_quote("\u{a0}".as_bytes()), r#""\u00a0""#);
    }

    #[test]
    fn split_ws_like_go() {
        let s = "a  b\tc";
        let parts: Vec<_> = split_ws(s, None).into_iter().map(|r| &s[r]).collect();
        assert_eq!(parts, ["a", "b", "c"]);
        let parts: Vec<_> = split_ws(s, Some(2)).into_iter().map(|r| &s[r]).collect();
        assert_eq!(parts, ["a", "b\tc"]);
        let parts: Vec<_> = split_ws("abc", Some(2)).into_iter().map(|r| &"abc"[r]).collect();
        assert_eq!(parts, ["abc"]);
    }

    #[test]
    fn logical_line_maps_back() {
        let src = b"RUN a \\\n  b\n";
        let mut l = LogicalLine::default();
        l.push_source(src, 0..6);
        l.push_source(src, 8..11);
        assert_eq!(l.text(), "RUN a   b");
        assert_eq!(l.source_range(4..5), 4..5);
        assert_eq!(l.source_range(8..9), 10..11);
        assert_eq!(l.source_range(4..9), 4..11);
        assert!(!l.is_contiguous(4..9));
        assert!(l.is_contiguous(0..5));
    }

    #[test]
    fn logical_line_invalid_bytes() {
        let src = b"a\xffb";
        let mut l = LogicalLine::default();
        l.push_source(src, 0..3);
        assert_eq!(l.text(), "a\u{fffd}b");
        assert_eq!(l.source_range(4..5), 2..3);
        assert_eq!(l.source_range(1..4), 1..2);
    }
}
