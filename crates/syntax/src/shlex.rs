//! A port of the word splitting of BuildKit's `shell.Lex` (with no
//! environment and `SkipUnsetEnv`), which BuildKit uses to find heredocs on an
//! instruction line and to decide whether a heredoc word is quoted.

#[derive(Debug, Clone, Copy)]
pub(crate) struct LexOptions {
    pub raw_quotes: bool,
    pub raw_escapes: bool,
}

/// How deep `${a:-${b:-…}}` may nest before the lexer gives up (as if
/// BuildKit's lexer had failed: no heredocs are found on that line).
const MAX_DEPTH: usize = 128;

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    escape: char,
    opts: LexOptions,
    _src: &'a str,
}

#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() && self.in_word {
            if !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else if !ch.is_whitespace() {
            self.add_raw_char(ch);
        }
    }
    fn add_raw_char(&mut self, ch: char) {
        self.buf.push(ch);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        for c in s.chars() {
            self.add_char(c);
        }
    }
    fn add_raw_string(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(std::mem::take(&mut self.buf));
        }
        self.words
    }
}

/// Splits `s` into words as `Lex.ProcessWords` does; `None` where BuildKit's
/// lexer returns an error (an unterminated quote, a bad `${…}`).
pub(crate) fn process_words(s: &str, opts: LexOptions) -> Option<Vec<String>> {
    let mut lx = Lexer { chars: s.chars().collect(), pos: 0, depth: 0, escape: '\\', opts, _src: s };
    let raw = opts.raw_escapes;
    lx.process_stop_on(None, raw).map(|(_, words)| words)
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn process_stop_on(&mut self, stop: Option<char>, raw_escapes: bool) -> Option<(String, Vec<String>)> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let r = self.process_stop_on_inner(stop, raw_escapes);
        self.depth -= 1;
        r
    }

    fn process_stop_on_inner(&mut self, stop: Option<char>, raw_escapes: bool) -> Option<(String, Vec<String>)> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if stop == Some(ch) {
                self.next();
                return Some((result, words.finish()));
            }
            match ch {
                '$' => {
                    let tmp = self.process_dollar()?;
                    result.push_str(&tmp);
                    words.add_string(&tmp);
                }
                '<' => {
                    let tmp = self.process_possible_heredoc();
                    result.push_str(&tmp);
                    words.add_raw_string(&tmp);
                }
                '\'' => {
                    let tmp = self.process_single_quote()?;
                    result.push_str(&tmp);
                    words.add_raw_string(&tmp);
                }
                '"' => {
                    let tmp = self.process_double_quote(raw_escapes)?;
                    result.push_str(&tmp);
                    words.add_raw_string(&tmp);
                }
                _ => {
                    let mut ch = self.next().unwrap_or(ch);
                    if ch == self.escape {
                        if raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        match self.next() {
                            None => break,
                            Some(c) => ch = c,
                        }
                        words.add_raw_char(ch);
                    } else {
                        words.add_char(ch);
                    }
                    result.push(ch);
                }
            }
        }
        if stop.is_some() {
            return None;
        }
        Some((result, words.finish()))
    }

    fn process_single_quote(&mut self) -> Option<String> {
        let mut out = String::new();
        let open = self.next()?;
        if self.opts.raw_quotes {
            out.push(open);
        }
        loop {
            match self.next() {
                None => return None,
                Some('\'') => {
                    if self.opts.raw_quotes {
                        out.push('\'');
                    }
                    return Some(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn process_double_quote(&mut self, raw_escapes: bool) -> Option<String> {
        let mut out = String::new();
        let open = self.next()?;
        if self.opts.raw_quotes {
            out.push(open);
        }
        loop {
            match self.peek() {
                None => return None,
                Some('"') => {
                    self.next();
                    if self.opts.raw_quotes {
                        out.push('"');
                    }
                    return Some(out);
                }
                Some('$') => {
                    let v = self.process_dollar()?;
                    out.push_str(&v);
                }
                Some(_) => {
                    let mut ch = self.next()?;
                    if ch == self.escape {
                        if raw_escapes {
                            out.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == self.escape => {
                                ch = self.next()?;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek().filter(|c| c.is_ascii_digit()) {
                    self.next();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                name.push(ch);
                return name;
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    /// `$name` / `${…}` with every variable unset and kept as written.
    fn process_dollar(&mut self) -> Option<String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.process_name();
            return Some(if name.is_empty() { "$".into() } else { format!("${name}") });
        }
        self.next();
        match self.peek() {
            None | Some('{' | '}' | ':') => return None,
            _ => {}
        }
        let name = self.process_name();
        let ch = self.next();
        match ch {
            Some('}') => Some(format!("${{{name}}}")),
            Some(c @ (':' | '+' | '-' | '?' | '#' | '%')) => {
                let mut chs = c.to_string();
                let mut op = c;
                let null_is_unset = c == ':';
                if null_is_unset {
                    // Go falls through into the modifier case whatever comes next.
                    match self.next() {
                        Some(n) => {
                            chs.push(n);
                            op = n;
                        }
                        None => return None,
                    }
                }
                let raw = op == '#' || op == '%';
                if null_is_unset && raw {
                    return None;
                }
                let (word, _) = self.process_stop_on(Some('}'), raw)?;
                Some(format!("${{{name}{chs}{word}}}"))
            }
            Some('/') => {
                if self.peek() == Some('/') {
                    self.next();
                }
                let (pattern, _) = self.process_stop_on(Some('/'), true)?;
                let (replacement, _) = self.process_stop_on(Some('}'), true)?;
                Some(format!("${{{name}/{pattern}/{replacement}}}"))
            }
            _ => None,
        }
    }

    fn process_possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".into();
        }
        self.next();
        let mut out = String::from("<<");
        while let Some(c) = self.peek().filter(|c| matches!(c, ' ' | '\t' | '\r')) {
            out.push(c);
            self.next();
        }
        out
    }
}

/// A heredoc introduced on an instruction line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeredocWord {
    pub name: String,
    pub fd: u32,
    pub expand: bool,
    pub chomp: bool,
}

/// `ParseHeredoc`: `^(\d*)<<(-?)\s*([^<]*)$` and the quoting analysis.
pub(crate) fn parse_heredoc_word(word: &str) -> Option<HeredocWord> {
    let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let rest = word[digits..].strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches([' ', '\t', '\n', '\r', '\u{c}']);
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let fd = if digits == 0 { 0 } else { word[..digits].parse::<u64>().map(|v| v as u32).unwrap_or(0) };
    let cooked = process_words(rest, LexOptions { raw_quotes: false, raw_escapes: false })?;
    if cooked.len() != 1 {
        return None;
    }
    let raw = process_words(rest, LexOptions { raw_quotes: true, raw_escapes: false })?;
    if raw.len() != cooked.len() {
        return None;
    }
    let quotes = |s: &str| s.chars().filter(|c| *c == '\'' || *c == '"').count();
    Some(HeredocWord { name: cooked[0].clone(), fd, expand: quotes(&cooked[0]) == quotes(&raw[0]), chomp })
}

/// `heredocsFromLine`: every heredoc word on an instruction line, in order.
pub(crate) fn heredocs_from_line(line: &str) -> Vec<HeredocWord> {
    let words = process_words(line, LexOptions { raw_quotes: true, raw_escapes: true }).unwrap_or_default();
    words.iter().filter_map(|w| parse_heredoc_word(w)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &str) -> Vec<(String, bool, bool)> {
        heredocs_from_line(line).into_iter().map(|h| (h.name, h.expand, h.chomp)).collect()
    }

    #[test]
    fn finds_heredocs() {
        assert_eq!(names("RUN <<EOF"), [("EOF".into(), true, false)]);
        assert_eq!(names("RUN <<-'EOF' cat"), [("EOF".into(), false, true)]);
        assert_eq!(names("RUN << \"EOF\""), [("EOF".into(), false, false)]);
        assert_eq!(names("RUN <<A cat && sh <<B"), [("A".into(), true, false), ("B".into(), true, false)]);
        assert_eq!(names("RUN cat <<<EOF"), []);
        assert_eq!(names("RUN echo \"<<EOF\""), []);
        assert_eq!(names("RUN echo ${x^^} <<EOF"), []);
        assert_eq!(names("RUN echo 'unterminated <<EOF"), []);
        assert_eq!(heredocs_from_line("RUN 3<<EOF cat")[0].fd, 3);
        assert_eq!(
            names("COPY <<robots.txt <<humans.txt /x/"),
            [("robots.txt".into(), true, false), ("humans.txt".into(), true, false)]
        );
    }
}
