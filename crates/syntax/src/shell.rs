//! A small, forgiving POSIX shell tokenizer for the commands of a `RUN`.
//!
//! It splits a script into simple commands (on `&&`, `||`, `;`, `|`, `&`,
//! newlines and parentheses), each a list of words with their unquoted value
//! and where they are written. It never fails: what it cannot understand
//! becomes part of a word. Passes use it to find `pip install -r …` or
//! `apt-get install …` and to edit single words or whole commands.

use crate::text::Span;

/// What separates a command from the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    And,
    Or,
    Semi,
    Pipe,
    Background,
    Newline,
    /// `(` or `)` of a subshell, `{`/`}` of a group.
    Group,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::And => "&&",
            Op::Or => "||",
            Op::Semi => ";",
            Op::Pipe => "|",
            Op::Background => "&",
            Op::Newline => "\n",
            Op::Group => "(",
        }
    }
}

/// One shell word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The value after quote removal (expansions kept as written).
    pub value: String,
    /// Where the word is written.
    pub span: Span,
    /// Some part of it was quoted.
    pub quoted: bool,
    /// It contains `$`, a backquote or a glob the shell would expand.
    pub dynamic: bool,
}

/// A simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// `NAME=value` words before the command name.
    pub assignments: Vec<Word>,
    /// The command name and its arguments (keywords such as `then`, `do`,
    /// `!`, `exec`-style prefixes are left out of `words`).
    pub words: Vec<Word>,
    /// Redirections (`> file`, `2>&1`…), operator and target together.
    pub redirects: Vec<Word>,
    /// From the first to the last token of the command.
    pub span: Span,
    /// The operator before this command (None for the first).
    pub before: Option<(Op, Span)>,
    /// The operator after this command.
    pub after: Option<(Op, Span)>,
}

impl Command {
    /// The command name (`pip`, `apt-get`…), path stripped (`/usr/bin/pip` → `pip`).
    pub fn name(&self) -> Option<&str> {
        self.words.first().map(|w| w.value.rsplit('/').next().unwrap_or(&w.value))
    }

    /// Argument values after the name.
    pub fn args(&self) -> impl Iterator<Item = &str> {
        self.words.iter().skip(1).map(|w| w.value.as_str())
    }

    /// True if any word equals `s`.
    pub fn has_arg(&self, s: &str) -> bool {
        self.words.iter().skip(1).any(|w| w.value == s)
    }
}

/// A parsed script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    pub commands: Vec<Command>,
}

#[derive(Debug)]
enum Tok {
    Word(Word),
    Op(Op, Span),
    Redirect(Word),
}

const KEYWORDS: &[&str] =
    &["if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "in", "case", "esac", "!", "{", "}"];

/// Tokenizes a shell script. `escape` is the Dockerfile escape character only
/// for line joining; inside the shell the backslash always escapes.
pub fn parse_script(text: &str) -> Script {
    let toks = tokenize(text);
    let mut script = Script::default();
    let mut cur: Option<Command> = None;
    let mut pending_before: Option<(Op, Span)> = None;
    let mut skip_for_words = false;
    for t in toks {
        match t {
            Tok::Op(op, span) => {
                if let Some(mut c) = cur.take() {
                    c.after = Some((op, span.clone()));
                    script.commands.push(c);
                }
                pending_before = Some((op, span));
                skip_for_words = false;
            }
            Tok::Redirect(w) => {
                let c = cur.get_or_insert_with(|| new_command(&w.span, pending_before.take()));
                c.span.end = w.span.end;
                c.redirects.push(w);
            }
            Tok::Word(w) => {
                if skip_for_words {
                    continue;
                }
                let is_cmd_start = cur.as_ref().is_none_or(|c| c.words.is_empty());
                if is_cmd_start && !w.quoted && KEYWORDS.contains(&w.value.as_str()) {
                    // `for x in …; do` : skip the loop header words.
                    if w.value == "for" || w.value == "case" {
                        skip_for_words = true;
                    }
                    continue;
                }
                let c = cur.get_or_insert_with(|| new_command(&w.span, pending_before.take()));
                c.span.end = w.span.end;
                if c.words.is_empty() && is_assignment(&w) {
                    c.assignments.push(w);
                } else {
                    c.words.push(w);
                }
            }
        }
    }
    if let Some(c) = cur.take() {
        script.commands.push(c);
    }
    script
}

fn new_command(span: &Span, before: Option<(Op, Span)>) -> Command {
    Command {
        assignments: Vec::new(),
        words: Vec::new(),
        redirects: Vec::new(),
        span: span.clone(),
        before,
        after: None,
    }
}

fn is_assignment(w: &Word) -> bool {
    match w.value.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

fn tokenize(text: &str) -> Vec<Tok> {
    let b = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' => i += 1,
            b'\n' => {
                toks.push(Tok::Op(Op::Newline, i..i + 1));
                i += 1;
            }
            b'#' => {
                // A comment runs to the end of the line.
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'&' | b'|' | b';' | b'(' | b')' => {
                let two = b.get(i + 1).copied();
                let (op, len) = match (c, two) {
                    (b'&', Some(b'&')) => (Op::And, 2),
                    (b'|', Some(b'|')) => (Op::Or, 2),
                    (b';', Some(b';')) => (Op::Semi, 2),
                    (b'&', Some(b'>')) => {
                        let w = redirect(text, &mut i);
                        toks.push(Tok::Redirect(w));
                        continue;
                    }
                    (b'&', _) => (Op::Background, 1),
                    (b'|', _) => (Op::Pipe, 1),
                    (b';', _) => (Op::Semi, 1),
                    _ => (Op::Group, 1),
                };
                toks.push(Tok::Op(op, i..i + len));
                i += len;
            }
            b'<' | b'>' => {
                let w = redirect(text, &mut i);
                toks.push(Tok::Redirect(w));
            }
            b'0'..=b'9' if is_fd_redirect(b, i) => {
                let w = redirect(text, &mut i);
                toks.push(Tok::Redirect(w));
            }
            _ => {
                let w = word(text, &mut i);
                toks.push(Tok::Word(w));
            }
        }
    }
    toks
}

fn is_fd_redirect(b: &[u8], i: usize) -> bool {
    let mut j = i;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    j < b.len() && (b[j] == b'>' || b[j] == b'<') && (i == 0 || matches!(b[i - 1], b' ' | b'\t' | b';' | b'&' | b'|'))
}

/// A redirection operator and its target word.
fn redirect(text: &str, i: &mut usize) -> Word {
    let b = text.as_bytes();
    let start = *i;
    while *i < b.len() && (b[*i].is_ascii_digit() || matches!(b[*i], b'<' | b'>' | b'&' | b'|' | b'-')) {
        // `>&2`, `2>&1`, `<<-`, `&>`, `>|`
        if b[*i] == b'&' && *i > start && b.get(*i + 1).is_some_and(|c| c.is_ascii_digit() || *c == b'-') {
            *i += 1;
            while *i < b.len() && (b[*i].is_ascii_digit() || b[*i] == b'-') {
                *i += 1;
            }
            return Word { value: text[start..*i].to_string(), span: start..*i, quoted: false, dynamic: false };
        }
        *i += 1;
    }
    while *i < b.len() && matches!(b[*i], b' ' | b'\t') {
        *i += 1;
    }
    if *i < b.len() && !matches!(b[*i], b'\n' | b';' | b'&' | b'|' | b'(' | b')') {
        let w = word(text, i);
        return Word {
            value: format!("{}{}", text[start..w.span.start].trim_end(), w.value),
            span: start..w.span.end,
            quoted: w.quoted,
            dynamic: w.dynamic,
        };
    }
    Word { value: text[start..*i].to_string(), span: start..*i, quoted: false, dynamic: false }
}

/// One word: up to an unquoted blank or operator.
fn word(text: &str, i: &mut usize) -> Word {
    let b = text.as_bytes();
    let start = *i;
    let mut value = String::new();
    let mut quoted = false;
    let mut dynamic = false;
    while *i < b.len() {
        let c = b[*i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>' => break,
            b'\\' => {
                quoted = true;
                if let Some(ch) = text[*i + 1..].chars().next() {
                    if ch != '\n' {
                        value.push(ch);
                    }
                    *i += 1 + ch.len_utf8();
                } else {
                    *i += 1;
                }
            }
            b'\'' => {
                quoted = true;
                let end = text[*i + 1..].find('\'').map_or(b.len(), |p| *i + 1 + p);
                value.push_str(&text[*i + 1..end]);
                *i = (end + 1).min(b.len());
            }
            b'"' => {
                quoted = true;
                *i += 1;
                while *i < b.len() && b[*i] != b'"' {
                    if b[*i] == b'\\' && *i + 1 < b.len() && matches!(b[*i + 1], b'"' | b'\\' | b'$' | b'`') {
                        value.push(b[*i + 1] as char);
                        *i += 2;
                        continue;
                    }
                    if b[*i] == b'$' || b[*i] == b'`' {
                        dynamic = true;
                        if b[*i] == b'$' && b.get(*i + 1) == Some(&b'(') {
                            let end = balanced(b, *i + 1, b'(', b')');
                            value.push_str(&text[*i..end]);
                            *i = end;
                            continue;
                        }
                    }
                    let ch = text[*i..].chars().next().unwrap_or('\0');
                    value.push(ch);
                    *i += ch.len_utf8().max(1);
                }
                *i = (*i + 1).min(b.len());
            }
            b'$' => {
                dynamic = true;
                let end = match b.get(*i + 1) {
                    Some(b'(') => balanced(b, *i + 1, b'(', b')'),
                    Some(b'{') => balanced(b, *i + 1, b'{', b'}'),
                    _ => {
                        let mut j = *i + 1;
                        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                            j += 1;
                        }
                        j.max(*i + 1)
                    }
                };
                value.push_str(&text[*i..end]);
                *i = end;
            }
            b'`' => {
                dynamic = true;
                let end = text[*i + 1..].find('`').map_or(b.len(), |p| *i + 2 + p);
                value.push_str(&text[*i..end]);
                *i = end;
            }
            _ => {
                if matches!(c, b'*' | b'?' | b'[') {
                    dynamic = true;
                }
                let ch = text[*i..].chars().next().unwrap_or('\0');
                value.push(ch);
                *i += ch.len_utf8().max(1);
            }
        }
    }
    if *i == start {
        // Never stall on a character the loop does not consume.
        *i += text[start..].chars().next().map_or(1, char::len_utf8);
        value.push_str(&text[start..*i]);
    }
    Word { value, span: start..*i, quoted, dynamic }
}

/// End (exclusive) of a balanced `(…)` / `{…}` starting at `open`.
fn balanced(b: &[u8], open: usize, o: u8, c: u8) -> usize {
    let mut depth = 0usize;
    let mut j = open;
    while j < b.len() {
        match b[j] {
            x if x == o => depth += 1,
            x if x == c => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            b'\'' => {
                if let Some(p) = b[j + 1..].iter().position(|x| *x == b'\'') {
                    j += p + 1;
                }
            }
            b'\\' => j += 1,
            _ => {}
        }
        j += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(s: &str) -> Vec<Vec<String>> {
        parse_script(s).commands.into_iter().map(|c| c.words.into_iter().map(|w| w.value).collect()).collect()
    }

    #[test]
    fn splits_commands() {
        assert_eq!(
            cmds("apt-get update && apt-get install -y curl; rm -rf /var/lib/apt/lists/*"),
            [
                vec!["apt-get", "update"],
                vec!["apt-get", "install", "-y", "curl"],
                vec!["rm", "-rf", "/var/lib/apt/lists/*"]
            ]
        );
        assert_eq!(cmds("pip install 'a b' \"c\\\"d\" e\\ f"), [vec!["pip", "install", "a b", "c\"d", "e f"]]);
        assert_eq!(
            cmds("if [ -f x ]; then pip install -r x; fi"),
            [vec!["[", "-f", "x", "]"], vec!["pip", "install", "-r", "x"]]
        );
        assert_eq!(cmds("echo $(cat a | wc -l) > /tmp/x 2>&1"), [vec!["echo", "$(cat a | wc -l)"]]);
        assert_eq!(cmds("for f in a b; do echo $f; done"), [vec!["echo", "$f"]]);
    }

    #[test]
    fn assignments_and_spans() {
        let s = "DEBIAN_FRONTEND=noninteractive apt-get install -y x";
        let sc = parse_script(s);
        let c = &sc.commands[0];
        assert_eq!(c.assignments[0].value, "DEBIAN_FRONTEND=noninteractive");
        assert_eq!(c.name(), Some("apt-get"));
        assert_eq!(&s[c.words[3].span.clone()], "x");
    }

    #[test]
    fn never_stalls() {
        for s in ["", ")", "&&&", "'unterminated", "\"x", "$((1+", "`", "a\\", "2>", "é ü"] {
            let _ = parse_script(s);
        }
    }
}
