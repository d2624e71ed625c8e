//! Edit helpers that keep a file's layout: whole-line moves that carry an
//! instruction's comments with it, the file's indentation and line endings,
//! insertions that never land above parser directives or before a BOM.

use std::ops::Range;

use dockfix_syntax::{Document, Instruction, TriviaKind};

use crate::fix::Edit;

/// The file's line ending.
pub fn eol(doc: &Document) -> &'static str {
    doc.line_ending.as_str()
}

/// The indentation in front of an instruction's keyword.
pub fn indent(doc: &Document, ins: &Instruction) -> String {
    let mut start = ins.lines.start;
    if start == 0 && doc.bom {
        start = 3;
    }
    String::from_utf8_lossy(&doc.source()[start..ins.span.start.max(start)]).into_owned()
}

/// An instruction with the comment lines directly above it, as whole lines.
pub fn block(doc: &Document, idx: usize) -> Range<usize> {
    let ins = &doc.instructions[idx];
    doc.leading_comments(idx).start..ins.lines.end
}

/// Where an insertion above `block(idx)` goes (after a BOM).
pub fn insertion_point(doc: &Document, idx: usize) -> usize {
    let at = block(doc, idx).start;
    if at == 0 && doc.bom {
        3
    } else {
        at
    }
}

/// The text of whole lines, ending with a line ending even when the file does
/// not. A BOM at the start is left out.
pub fn lines_text(doc: &Document, range: Range<usize>) -> String {
    let start = if range.start == 0 && doc.bom { 3 } else { range.start };
    let mut s = String::from_utf8_lossy(&doc.source()[start..range.end]).into_owned();
    if !s.ends_with('\n') {
        s.push_str(eol(doc));
    }
    s
}

fn is_blank_line(doc: &Document, line: usize) -> bool {
    doc.trivia_at_line(line).is_some_and(|t| t.kind == TriviaKind::Blank)
}

/// Deletes whole lines. When the lines sit between two blank lines (or
/// between a blank line and the end of the file), one blank line goes too,
/// so no double blank line is left behind.
pub fn delete_lines(doc: &Document, range: Range<usize>) -> Edit {
    let start = if range.start == 0 && doc.bom { 3 } else { range.start };
    let first = doc.line_of(range.start);
    let after = doc.line_of(range.end.max(1) - 1) + 1;
    let mut end = range.end;
    let blank_before = first > 1 && is_blank_line(doc, first - 1);
    if blank_before && (is_blank_line(doc, after) || after > doc.line_count()) {
        if after <= doc.line_count() {
            end = doc.line_start(after + 1);
        } else {
            // Deleting up to the end: drop the blank line before instead.
            let s = doc.line_start(first - 1);
            return Edit::delete(s..range.end);
        }
    }
    Edit::delete(start..end)
}

/// Inserts lines (given without line endings) above instruction `idx` and
/// its comments, with the instruction's indentation.
pub fn insert_before(doc: &Document, idx: usize, lines: &[String]) -> Edit {
    let ind = indent(doc, &doc.instructions[idx]);
    let mut text = String::new();
    for l in lines {
        if !l.is_empty() {
            text.push_str(&ind);
        }
        text.push_str(l);
        text.push_str(eol(doc));
    }
    Edit::insert(insertion_point(doc, idx), text)
}

/// Inserts raw text (whole lines, line endings included) after instruction
/// `idx` (and its heredocs).
pub fn insert_text_after(doc: &Document, idx: usize, text: &str) -> Edit {
    let end = doc.instructions[idx].lines.end;
    let src = doc.source();
    if end > 0 && src[end - 1] != b'\n' {
        Edit::insert(end, format!("{}{}", eol(doc), text.strip_suffix(eol(doc)).unwrap_or(text)))
    } else {
        Edit::insert(end, text.to_string())
    }
}

/// Inserts lines after instruction `idx` with its indentation.
pub fn insert_after(doc: &Document, idx: usize, lines: &[String]) -> Edit {
    let ind = indent(doc, &doc.instructions[idx]);
    let mut text = String::new();
    for l in lines {
        if !l.is_empty() {
            text.push_str(&ind);
        }
        text.push_str(l);
        text.push_str(eol(doc));
    }
    insert_text_after(doc, idx, &text)
}

/// Quotes a path for a shell-form COPY/RUN argument when it needs it.
pub fn quote_arg(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,~".contains(c)) {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::apply_edits;
    use dockfix_syntax::parse_str;

    fn apply(src: &str, e: Edit) -> String {
        String::from_utf8(apply_edits(src.as_bytes(), &[&e]).unwrap()).unwrap()
    }

    #[test]
    fn delete_collapses_blank_lines() {
        let src = "FROM a\n\nCOPY . .\n\nRUN x\n";
        let doc = parse_str(src).unwrap();
        assert_eq!(apply(src, delete_lines(&doc, block(&doc, 1))), "FROM a\n\nRUN x\n");
        let src = "FROM a\n\nCOPY . .\n";
        let doc = parse_str(src).unwrap();
        assert_eq!(apply(src, delete_lines(&doc, block(&doc, 1))), "FROM a\n");
    }

    #[test]
    fn block_carries_comments() {
        let src = "FROM a\n# the app\nCOPY . .\n";
        let doc = parse_str(src).unwrap();
        assert_eq!(lines_text(&doc, block(&doc, 1)), "# the app\nCOPY . .\n");
    }

    #[test]
    fn insert_keeps_indent_and_crlf() {
        let src = "FROM a\r\n  RUN x\r\n";
        let doc = parse_str(src).unwrap();
        assert_eq!(apply(src, insert_before(&doc, 1, &["COPY a .".into()])), "FROM a\r\n  COPY a .\r\n  RUN x\r\n");
        let src = "FROM a\nRUN x";
        let doc = parse_str(src).unwrap();
        assert_eq!(apply(src, insert_after(&doc, 1, &["COPY . .".into()])), "FROM a\nRUN x\nCOPY . .");
    }

    #[test]
    fn insert_after_bom() {
        let src = "\u{feff}FROM a\n";
        let doc = parse_str(src).unwrap();
        assert_eq!(apply(src, insert_before(&doc, 0, &["ARG X".into()])), "\u{feff}ARG X\nFROM a\n");
    }
}
