//! The JSON (exec) form, decided the way BuildKit decides it: Go's
//! `json.Unmarshal` into `[]any`, then "every element must be a string".

use crate::text::Span;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JsonArray {
    /// Valid JSON array of strings: each value and the span of its literal.
    Strings(Vec<(String, Span)>),
    /// Valid JSON, but an element is not a string: a hard parse error in BuildKit.
    NotStrings,
    /// Not JSON at all: the instruction is in shell form.
    Invalid,
}

const MAX_DEPTH: usize = 10_000;

/// Parses `text[start..]` (already trimmed on the left) as BuildKit's exec form.
pub(crate) fn parse_array(text: &str, start: usize) -> JsonArray {
    let b = text.as_bytes();
    let mut p = Parser { b, i: start };
    p.ws();
    if p.peek() != Some(b'[') {
        return JsonArray::Invalid;
    }
    p.i += 1;
    let mut out = Vec::new();
    let mut all_strings = true;
    p.ws();
    if p.peek() == Some(b']') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let at = p.i;
            if p.peek() == Some(b'"') {
                match p.string() {
                    Some(s) => out.push((s, at..p.i)),
                    None => return JsonArray::Invalid,
                }
            } else {
                if !p.value() {
                    return JsonArray::Invalid;
                }
                all_strings = false;
            }
            p.ws();
            match p.peek() {
                Some(b',') => p.i += 1,
                Some(b']') => {
                    p.i += 1;
                    break;
                }
                _ => return JsonArray::Invalid,
            }
        }
    }
    p.ws();
    if p.i != b.len() {
        return JsonArray::Invalid;
    }
    if all_strings {
        JsonArray::Strings(out)
    } else {
        JsonArray::NotStrings
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// Validates any JSON value without recursion (nesting is bounded like Go's).
    fn value(&mut self) -> bool {
        // Stack of open containers: true = object, false = array.
        let mut stack: Vec<bool> = Vec::new();
        loop {
            self.ws();
            // Parse one scalar or open a container.
            match self.peek() {
                Some(b'{') => {
                    self.i += 1;
                    stack.push(true);
                    if stack.len() > MAX_DEPTH {
                        return false;
                    }
                    self.ws();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        stack.pop();
                    } else {
                        if !self.key() {
                            return false;
                        }
                        continue;
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    stack.push(false);
                    if stack.len() > MAX_DEPTH {
                        return false;
                    }
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        stack.pop();
                    } else {
                        continue;
                    }
                }
                Some(b'"') => {
                    if self.string().is_none() {
                        return false;
                    }
                }
                Some(b't') => {
                    if !self.lit(b"true") {
                        return false;
                    }
                }
                Some(b'f') => {
                    if !self.lit(b"false") {
                        return false;
                    }
                }
                Some(b'n') => {
                    if !self.lit(b"null") {
                        return false;
                    }
                }
                Some(b'-' | b'0'..=b'9') => {
                    if !self.number() {
                        return false;
                    }
                }
                _ => return false,
            }
            // After a complete value: close containers or expect a separator.
            loop {
                let Some(&is_obj) = stack.last() else {
                    return true;
                };
                self.ws();
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        if is_obj && !self.key() {
                            return false;
                        }
                        break;
                    }
                    Some(b'}') if is_obj => {
                        self.i += 1;
                        stack.pop();
                    }
                    Some(b']') if !is_obj => {
                        self.i += 1;
                        stack.pop();
                    }
                    _ => return false,
                }
            }
        }
    }

    /// `"key" :` inside an object.
    fn key(&mut self) -> bool {
        self.ws();
        if self.peek() != Some(b'"') || self.string().is_none() {
            return false;
        }
        self.ws();
        if self.peek() != Some(b':') {
            return false;
        }
        self.i += 1;
        true
    }

    fn lit(&mut self, word: &[u8]) -> bool {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn digits(&mut self) -> usize {
        let s = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - s
    }

    fn number(&mut self) -> bool {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return false,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return false;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return false;
            }
        }
        true
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.b.get(self.i..self.i + 4)?;
        let s = std::str::from_utf8(h).ok()?;
        if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        self.i += 4;
        u32::from_str_radix(s, 16).ok()
    }

    /// A JSON string literal, decoded like Go (lone surrogates become U+FFFD).
    fn string(&mut self) -> Option<String> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.i += 1;
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            match c {
                b'"' => {
                    self.i += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.i += 1;
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let u = self.hex4()?;
                            if (0xd800..0xdc00).contains(&u) {
                                // A high surrogate: combine with a following low one.
                                let save = self.i;
                                if self.b.get(self.i..self.i + 2) == Some(b"\\u") {
                                    self.i += 2;
                                    if let Some(lo) = self.hex4() {
                                        if (0xdc00..0xe000).contains(&lo) {
                                            let cp = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                                            continue;
                                        }
                                    }
                                }
                                self.i = save;
                                out.push('\u{fffd}');
                            } else {
                                out.push(char::from_u32(u).unwrap_or('\u{fffd}'));
                            }
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                _ => {
                    // Copy one UTF-8 character (the text is a Rust string, so valid).
                    let s = &self.b[self.i..];
                    let w = utf8_width(s[0]);
                    out.push_str(std::str::from_utf8(&s[..w]).ok()?);
                    self.i += w;
                }
            }
        }
    }
}

fn utf8_width(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &str) -> Vec<String> {
        match parse_array(s, 0) {
            JsonArray::Strings(v) => v.into_iter().map(|(s, _)| s).collect(),
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn exec_forms() {
        assert_eq!(strings("[]"), Vec::<String>::new());
        assert_eq!(strings("[ \"a\" ,\t\"b\" ]"), ["a", "b"]);
        assert_eq!(strings(r#"["caf\u00e9", "a\/b", "\ud83d\ude00", "\ud800"]"#), ["café", "a/b", "😀", "\u{fffd}"]);
        assert_eq!(parse_array(r#"["a", 1]"#, 0), JsonArray::NotStrings);
        assert_eq!(parse_array(r#"["a", {"k": [1, {"x": null}]}]"#, 0), JsonArray::NotStrings);
        assert_eq!(parse_array(r#"["a", ]"#, 0), JsonArray::Invalid);
        assert_eq!(parse_array(r#"[ "a", "b" ] trailing"#, 0), JsonArray::Invalid);
        assert_eq!(parse_array("['a']", 0), JsonArray::Invalid);
        assert_eq!(parse_array(r#"["a"#, 0), JsonArray::Invalid);
        assert_eq!(parse_array(r#"["a", 01]"#, 0), JsonArray::Invalid);
        assert_eq!(parse_array(r#"["a", {"k" 1}]"#, 0), JsonArray::Invalid);
        assert_eq!(parse_array("[\"\t\"]", 0), JsonArray::Invalid);
        let deep = format!("[{}{}]", "[".repeat(20_000), "]".repeat(20_000));
        assert_eq!(parse_array(&deep, 0), JsonArray::Invalid);
    }

    #[test]
    fn spans_point_at_literals() {
        match parse_array(r#"[ "a", "bc" ]"#, 0) {
            JsonArray::Strings(v) => {
                assert_eq!(v[0].1, 2..5);
                assert_eq!(v[1].1, 7..11);
            }
            other => panic!("{other:?}"),
        }
    }
}
