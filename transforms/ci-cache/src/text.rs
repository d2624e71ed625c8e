//! Line arithmetic for insertions that keep a file as it is written: where
//! each line starts, its indentation, where an indented block ends, and the
//! file's line ending.

/// A text split into lines (on `\n`; a `\r` before it stays part of the ending).
pub struct Lines<'a> {
    pub text: &'a str,
    /// Byte offset where each line starts; `starts[0]` is line 1.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1).filter(|&i| i < text.len()));
        Lines { text, starts }
    }

    /// Number of lines.
    pub fn count(&self) -> usize {
        self.starts.len()
    }

    /// Byte offset of the start of 1-based `line` (the text's end past the last line).
    pub fn start(&self, line: usize) -> usize {
        self.starts.get(line.wrapping_sub(1)).copied().unwrap_or(self.text.len())
    }

    /// 1-based line `line` without its line ending.
    pub fn get(&self, line: usize) -> &'a str {
        if line == 0 || line > self.starts.len() {
            return "";
        }
        let start = self.starts[line - 1];
        let end = self.starts.get(line).copied().unwrap_or(self.text.len());
        let l = &self.text[start..end];
        let l = l.strip_suffix('\n').unwrap_or(l);
        l.strip_suffix('\r').unwrap_or(l)
    }

    /// 1-based line containing byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }

    /// Byte offset of 0-based character column `col` of `line`.
    pub fn offset(&self, line: usize, col: usize) -> usize {
        let l = self.get(line);
        self.start(line) + l.char_indices().nth(col).map_or(l.len(), |(i, _)| i)
    }

    /// The line ending to write: the file's own (CRLF when it uses it).
    pub fn eol(&self) -> &'static str {
        if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// Where text inserted after `line` goes, and whether the line ending
    /// that line lacks (the last line without a newline) must come first.
    pub fn after(&self, line: usize) -> (usize, bool) {
        if line < self.starts.len() {
            (self.starts[line], false)
        } else {
            (self.text.len(), !self.text.is_empty() && !self.text.ends_with('\n'))
        }
    }

    /// The last line of the block that starts at `first` and holds every
    /// following line indented deeper than `parent` (blank lines and
    /// comments at or left of `parent` do not end it, nor belong to it).
    pub fn block_end(&self, first: usize, parent: usize) -> usize {
        let mut last = first;
        for n in first + 1..=self.count() {
            let l = self.get(n);
            let t = l.trim_start();
            if t.is_empty() {
                continue;
            }
            let ind = indent(l);
            if ind > parent {
                last = n;
            } else if !t.starts_with('#') {
                break;
            }
        }
        last
    }
}

/// Leading spaces of a line.
pub fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_blocks() {
        let t = "a:\r\n  b: 1\r\n# note\r\n\r\n  c: |\r\n    x\r\nd: 2";
        let l = Lines::new(t);
        assert_eq!(l.count(), 7);
        assert_eq!(l.get(2), "  b: 1");
        assert_eq!(l.eol(), "\r\n");
        assert_eq!(l.block_end(1, 0), 6);
        assert_eq!(l.after(7), (t.len(), true));
        assert_eq!(l.after(1), (4, false));
        assert_eq!(l.line_of(4), 2);
        assert_eq!(l.offset(2, 2), 6);
    }
}
