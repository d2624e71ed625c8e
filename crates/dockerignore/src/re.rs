//! A small regular-expression engine for the expressions patternmatcher
//! builds from `.dockerignore` patterns.
//!
//! patternmatcher turns a pattern into a Go (RE2) regular expression and
//! matches paths with it. The expression is mostly its own making
//! (`[^/]*`, `[^/]`, `(.*/)?`, `.*`, escaped literals), but bracket
//! expressions, `^` and backslash escapes from the pattern reach the
//! regular expression as written, so `[[:digit:]]`, `\d` or a `^` in the
//! middle mean what they mean to RE2. This module parses that syntax with
//! Go's rules (Perl flags: `^`/`$` at the text's ends, `.` not matching a
//! newline, negated classes matching it) and runs it as a Pike VM, in time
//! linear in the path. Unicode classes (`\p{…}`) and `\Q…\E` are refused as
//! unsupported rather than guessed.

/// Why an expression was not compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReError {
    /// RE2 rejects it (the pattern then fails to match in BuildKit, which
    /// fails the build).
    Invalid(String),
    /// Valid RE2 that this engine does not implement.
    Unsupported(String),
}

/// Inclusive code point ranges.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Class {
    ranges: Vec<(u32, u32)>,
}

impl Class {
    fn push(&mut self, lo: u32, hi: u32) {
        self.ranges.push((lo, hi));
    }
    fn extend(&mut self, other: &Class) {
        self.ranges.extend_from_slice(&other.ranges);
    }
    fn normalized(mut self) -> Class {
        self.ranges.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(self.ranges.len());
        for (lo, hi) in self.ranges {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        Class { ranges: out }
    }
    fn negated(self) -> Class {
        let n = self.normalized();
        let mut out = Class::default();
        let mut next = 0u32;
        for (lo, hi) in n.ranges {
            if lo > next {
                out.push(next, lo - 1);
            }
            next = hi.saturating_add(1);
        }
        if next <= 0x10FFFF {
            out.push(next, 0x10FFFF);
        }
        out
    }
    fn contains(&self, c: u32) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
    }
}

fn ascii_class(spec: &[(u8, u8)]) -> Class {
    Class { ranges: spec.iter().map(|&(a, b)| (a as u32, b as u32)).collect() }
}

/// Perl classes `\d \s \w` (ASCII, as in Go) and their negations.
fn perl_class(c: char) -> Option<Class> {
    let (base, neg) = match c {
        'd' => (ascii_class(&[(b'0', b'9')]), false),
        'D' => (ascii_class(&[(b'0', b'9')]), true),
        's' => (ascii_class(&[(b'\t', b'\n'), (0x0C, b'\r'), (b' ', b' ')]), false),
        'S' => (ascii_class(&[(b'\t', b'\n'), (0x0C, b'\r'), (b' ', b' ')]), true),
        'w' => (ascii_class(&[(b'0', b'9'), (b'A', b'Z'), (b'_', b'_'), (b'a', b'z')]), false),
        'W' => (ascii_class(&[(b'0', b'9'), (b'A', b'Z'), (b'_', b'_'), (b'a', b'z')]), true),
        _ => return None,
    };
    Some(if neg { base.negated() } else { base })
}

/// POSIX classes `[:alpha:]` (ASCII, as in Go).
fn posix_class(name: &str) -> Option<Class> {
    let (neg, name) = match name.strip_prefix('^') {
        Some(n) => (true, n),
        None => (false, name),
    };
    let c = match name {
        "alnum" => ascii_class(&[(b'0', b'9'), (b'A', b'Z'), (b'a', b'z')]),
        "alpha" => ascii_class(&[(b'A', b'Z'), (b'a', b'z')]),
        "ascii" => ascii_class(&[(0, 0x7F)]),
        "blank" => ascii_class(&[(b'\t', b'\t'), (b' ', b' ')]),
        "cntrl" => ascii_class(&[(0, 0x1F), (0x7F, 0x7F)]),
        "digit" => ascii_class(&[(b'0', b'9')]),
        "graph" => ascii_class(&[(b'!', b'~')]),
        "lower" => ascii_class(&[(b'a', b'z')]),
        "print" => ascii_class(&[(b' ', b'~')]),
        "punct" => ascii_class(&[(b'!', b'/'), (b':', b'@'), (b'[', b'`'), (b'{', b'~')]),
        "space" => ascii_class(&[(b'\t', b'\r'), (b' ', b' ')]),
        "upper" => ascii_class(&[(b'A', b'Z')]),
        "word" => ascii_class(&[(b'0', b'9'), (b'A', b'Z'), (b'_', b'_'), (b'a', b'z')]),
        "xdigit" => ascii_class(&[(b'0', b'9'), (b'A', b'F'), (b'a', b'f')]),
        _ => return None,
    };
    Some(if neg { c.negated() } else { c })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Assert {
    BeginText,
    EndText,
    WordBoundary,
    NotWordBoundary,
}

#[derive(Debug, Clone)]
enum Node {
    Char(char),
    AnyNotNl,
    Class(Class),
    Assert(Assert),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Star(Box<Node>),
    Plus(Box<Node>),
    Quest(Box<Node>),
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
}

fn invalid(what: &str, at: &[char]) -> ReError {
    ReError::Invalid(format!("{what}: `{}`", at.iter().collect::<String>()))
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }
    fn rest(&self) -> &[char] {
        &self.s[self.i..]
    }

    /// alternation := concat ('|' concat)*
    fn alternation(&mut self, depth: usize) -> Result<Node, ReError> {
        let mut alts = vec![self.concat(depth)?];
        while self.peek() == Some('|') {
            self.i += 1;
            alts.push(self.concat(depth)?);
        }
        Ok(if alts.len() == 1 { alts.pop().unwrap_or(Node::Concat(Vec::new())) } else { Node::Alt(alts) })
    }

    fn concat(&mut self, depth: usize) -> Result<Node, ReError> {
        let mut items: Vec<Node> = Vec::new();
        // Whether the last item was a repetition (`a**` is an error).
        let mut last_repeat = false;
        while let Some(c) = self.peek() {
            let mut repeat = false;
            match c {
                '|' => break,
                ')' => {
                    if depth == 0 {
                        return Err(invalid("unexpected )", self.rest()));
                    }
                    break;
                }
                '(' => {
                    if self.s.get(self.i + 1) == Some(&'?') {
                        return Err(ReError::Unsupported("group flags `(?…)`".into()));
                    }
                    self.i += 1;
                    let inner = self.alternation(depth + 1)?;
                    if self.peek() != Some(')') {
                        return Err(invalid("missing closing )", self.rest()));
                    }
                    self.i += 1;
                    items.push(inner);
                }
                '*' | '+' | '?' => {
                    let at = self.i;
                    self.i += 1;
                    // Non-greedy marker: matching is the same.
                    if self.peek() == Some('?') {
                        self.i += 1;
                    }
                    if last_repeat {
                        return Err(invalid("invalid nested repetition operator", &self.s[at..self.i]));
                    }
                    let Some(sub) = items.pop() else {
                        return Err(invalid("missing argument to repetition operator", &self.s[at..self.i]));
                    };
                    let sub = Box::new(sub);
                    items.push(match c {
                        '*' => Node::Star(sub),
                        '+' => Node::Plus(sub),
                        _ => Node::Quest(sub),
                    });
                    repeat = true;
                }
                '{' => {
                    // Counted repetition `{n,m}`; otherwise a literal brace.
                    if self.rest().iter().skip(1).take_while(|c| c.is_ascii_digit() || **c == ',').count() > 0
                        && self.rest().iter().skip(1).find(|c| !(c.is_ascii_digit() || **c == ',')) == Some(&'}')
                    {
                        return Err(ReError::Unsupported("counted repetition `{n,m}`".into()));
                    }
                    self.i += 1;
                    items.push(Node::Char('{'));
                }
                '[' => {
                    let cls = self.class()?;
                    items.push(Node::Class(cls));
                }
                '.' => {
                    self.i += 1;
                    items.push(Node::AnyNotNl);
                }
                '^' => {
                    self.i += 1;
                    items.push(Node::Assert(Assert::BeginText));
                }
                '$' => {
                    self.i += 1;
                    items.push(Node::Assert(Assert::EndText));
                }
                '\\' => {
                    let next = self.s.get(self.i + 1).copied();
                    let assert = match next {
                        Some('A') => Some(Assert::BeginText),
                        Some('z') => Some(Assert::EndText),
                        Some('b') => Some(Assert::WordBoundary),
                        Some('B') => Some(Assert::NotWordBoundary),
                        _ => None,
                    };
                    if let Some(a) = assert {
                        self.i += 2;
                        items.push(Node::Assert(a));
                    } else if next == Some('C') {
                        return Err(invalid("invalid escape sequence", &self.s[self.i..self.i + 2]));
                    } else if matches!(next, Some('Q' | 'p' | 'P')) {
                        return Err(ReError::Unsupported(format!("`\\{}`", next.unwrap_or(' '))));
                    } else if let Some(cls) = next.and_then(perl_class) {
                        self.i += 2;
                        items.push(Node::Class(cls));
                    } else {
                        let c = self.escape()?;
                        items.push(Node::Char(c));
                    }
                }
                c => {
                    self.i += 1;
                    items.push(Node::Char(c));
                }
            }
            last_repeat = repeat;
        }
        Ok(Node::Concat(items))
    }

    /// A backslash escape that stands for one character (the `\` is at `i`).
    fn escape(&mut self) -> Result<char, ReError> {
        let start = self.i;
        self.i += 1;
        let Some(c) = self.peek() else {
            return Err(ReError::Invalid("trailing backslash at end of expression".into()));
        };
        self.i += 1;
        let bad = |p: &Parser<'_>| invalid("invalid escape sequence", &p.s[start..p.i.min(p.s.len())]);
        if c.is_ascii() && !c.is_ascii_alphanumeric() {
            return Ok(c);
        }
        let is_oct = |c: Option<char>| c.is_some_and(|c| ('0'..='7').contains(&c));
        match c {
            '1'..='7' | '0' => {
                if c != '0' && !is_oct(self.peek()) {
                    return Err(bad(self));
                }
                let mut r = c as u32 - '0' as u32;
                for _ in 1..3 {
                    if !is_oct(self.peek()) {
                        break;
                    }
                    r = r * 8 + (self.peek().map_or(0, |d| d as u32) - '0' as u32);
                    self.i += 1;
                }
                char::from_u32(r).ok_or_else(|| bad(self))
            }
            'x' => {
                let Some(c) = self.peek() else { return Err(bad(self)) };
                self.i += 1;
                if c == '{' {
                    let mut r: u32 = 0;
                    let mut n = 0;
                    loop {
                        let Some(c) = self.peek() else { return Err(bad(self)) };
                        self.i += 1;
                        if c == '}' {
                            break;
                        }
                        let Some(v) = c.to_digit(16) else { return Err(bad(self)) };
                        r = r * 16 + v;
                        if r > 0x10FFFF {
                            return Err(bad(self));
                        }
                        n += 1;
                    }
                    if n == 0 {
                        return Err(bad(self));
                    }
                    return char::from_u32(r).ok_or_else(|| bad(self));
                }
                let x = c.to_digit(16);
                let y = self.peek().and_then(|c| c.to_digit(16));
                self.i += 1;
                match (x, y) {
                    (Some(x), Some(y)) => char::from_u32(x * 16 + y).ok_or_else(|| bad(self)),
                    _ => Err(bad(self)),
                }
            }
            'a' => Ok('\u{7}'),
            'f' => Ok('\u{c}'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            't' => Ok('\t'),
            'v' => Ok('\u{b}'),
            _ => Err(bad(self)),
        }
    }

    /// A bracket expression (the `[` is at `i`).
    fn class(&mut self) -> Result<Class, ReError> {
        let start = self.i;
        self.i += 1;
        let mut negate = false;
        if self.peek() == Some('^') {
            negate = true;
            self.i += 1;
        }
        let mut cls = Class::default();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(invalid("missing closing ]", &self.s[start..]));
            };
            if c == ']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            let rest = self.rest();
            if rest.len() > 2 && rest[0] == '[' && rest[1] == ':' {
                // `[:name:]`, searched for like Go does: the first `:]` after it.
                let tail = &rest[2..];
                if let Some(end) = tail.windows(2).position(|w| w == [':', ']']) {
                    let name: String = tail[..end].iter().collect();
                    let Some(p) = posix_class(&name) else {
                        return Err(invalid("invalid character class range", &rest[..end + 4]));
                    };
                    cls.extend(&p);
                    self.i += end + 4;
                    continue;
                }
            }
            if rest.len() >= 2 && rest[0] == '\\' {
                if matches!(rest[1], 'p' | 'P') {
                    return Err(ReError::Unsupported(format!("`\\{}`", rest[1])));
                }
                if let Some(p) = perl_class(rest[1]) {
                    cls.extend(&p);
                    self.i += 2;
                    continue;
                }
            }
            let range_start = self.i;
            let lo = self.class_char(start)?;
            let mut hi = lo;
            if self.peek() == Some('-') && self.s.get(self.i + 1).is_some_and(|c| *c != ']') {
                self.i += 1;
                hi = self.class_char(start)?;
                if hi < lo {
                    return Err(invalid("invalid character class range", &self.s[range_start..self.i]));
                }
            }
            cls.push(lo as u32, hi as u32);
        }
        let cls = cls.normalized();
        Ok(if negate { cls.negated() } else { cls })
    }

    fn class_char(&mut self, class_start: usize) -> Result<char, ReError> {
        match self.peek() {
            None => Err(invalid("missing closing ]", &self.s[class_start..])),
            Some('\\') => self.escape(),
            Some(c) => {
                self.i += 1;
                Ok(c)
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Inst {
    Char(char),
    AnyNotNl,
    Class(usize),
    Assert(Assert),
    Split(usize, usize),
    Jmp(usize),
    Match,
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub struct Regex {
    prog: Vec<Inst>,
    classes: Vec<Class>,
}

fn emit(node: &Node, prog: &mut Vec<Inst>, classes: &mut Vec<Class>) {
    match node {
        Node::Char(c) => prog.push(Inst::Char(*c)),
        Node::AnyNotNl => prog.push(Inst::AnyNotNl),
        Node::Class(c) => {
            classes.push(c.clone());
            prog.push(Inst::Class(classes.len() - 1));
        }
        Node::Assert(a) => prog.push(Inst::Assert(*a)),
        Node::Concat(items) => items.iter().for_each(|n| emit(n, prog, classes)),
        Node::Alt(alts) => {
            let mut jumps = Vec::new();
            for (k, alt) in alts.iter().enumerate() {
                if k + 1 < alts.len() {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    emit(alt, prog, classes);
                    jumps.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                } else {
                    emit(alt, prog, classes);
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Node::Star(sub) => {
            let split = prog.len();
            prog.push(Inst::Split(split + 1, 0));
            emit(sub, prog, classes);
            prog.push(Inst::Jmp(split));
            let end = prog.len();
            prog[split] = Inst::Split(split + 1, end);
        }
        Node::Plus(sub) => {
            let start = prog.len();
            emit(sub, prog, classes);
            let split = prog.len();
            prog.push(Inst::Split(start, split + 1));
        }
        Node::Quest(sub) => {
            let split = prog.len();
            prog.push(Inst::Split(split + 1, 0));
            emit(sub, prog, classes);
            let end = prog.len();
            prog[split] = Inst::Split(split + 1, end);
        }
    }
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Regex {
    /// Compiles an RE2 expression with Go's `regexp.Compile` flags.
    pub fn new(expr: &str) -> Result<Regex, ReError> {
        let chars: Vec<char> = expr.chars().collect();
        let mut p = Parser { s: &chars, i: 0 };
        let node = p.alternation(0)?;
        if p.i < chars.len() {
            return Err(invalid("unexpected )", p.rest()));
        }
        let mut prog = Vec::new();
        let mut classes = Vec::new();
        emit(&node, &mut prog, &mut classes);
        prog.push(Inst::Match);
        Ok(Regex { prog, classes })
    }

    /// True if the expression matches somewhere in `text` (Go's `MatchString`).
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let n = self.prog.len();
        let mut clist: Vec<usize> = Vec::with_capacity(n);
        let mut nlist: Vec<usize> = Vec::with_capacity(n);
        let mut mark = vec![usize::MAX; n];
        let mut gen = 0usize;
        let mut stack: Vec<usize> = Vec::new();
        for i in 0..=chars.len() {
            // A new thread may start at every position (unanchored search).
            if self.add(0, i, &chars, &mut clist, &mut mark, gen, &mut stack) {
                return true;
            }
            gen += 1;
            nlist.clear();
            let c = chars.get(i).copied();
            for &pc in &clist {
                let ok = match (&self.prog[pc], c) {
                    (Inst::Char(x), Some(c)) => *x == c,
                    (Inst::AnyNotNl, Some(c)) => c != '\n',
                    (Inst::Class(k), Some(c)) => self.classes[*k].contains(c as u32),
                    _ => false,
                };
                if ok && self.add(pc + 1, i + 1, &chars, &mut nlist, &mut mark, gen, &mut stack) {
                    return true;
                }
            }
            std::mem::swap(&mut clist, &mut nlist);
            if c.is_none() {
                break;
            }
        }
        false
    }

    /// Adds the thread at `pc` and everything reachable without consuming a
    /// character; true if that reaches `Match`.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &self,
        pc: usize,
        pos: usize,
        chars: &[char],
        list: &mut Vec<usize>,
        mark: &mut [usize],
        gen: usize,
        stack: &mut Vec<usize>,
    ) -> bool {
        stack.clear();
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if mark[pc] == gen {
                continue;
            }
            mark[pc] = gen;
            match &self.prog[pc] {
                Inst::Match => return true,
                Inst::Jmp(t) => stack.push(*t),
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Assert(a) => {
                    let prev = pos.checked_sub(1).and_then(|k| chars.get(k).copied());
                    let next = chars.get(pos).copied();
                    let ok = match a {
                        Assert::BeginText => pos == 0,
                        Assert::EndText => pos == chars.len(),
                        Assert::WordBoundary => is_word(prev) != is_word(next),
                        Assert::NotWordBoundary => is_word(prev) == is_word(next),
                    };
                    if ok {
                        stack.push(pc + 1);
                    }
                }
                _ => list.push(pc),
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(re: &str, text: &str) -> bool {
        Regex::new(re).unwrap_or_else(|e| panic!("{re}: {e:?}")).is_match(text)
    }

    #[test]
    fn generated_shapes() {
        assert!(m("^[^/]*$", "abc"));
        assert!(!m("^[^/]*$", "a/c"));
        assert!(m("^(.*/)?foo$", "foo"));
        assert!(m("^(.*/)?foo$", "a/b/foo"));
        assert!(!m("^(.*/)?foo$", "a/bfoo"));
        assert!(m("^a/.*$", "a/b/c"));
        assert!(!m("^(.*/)?foo$", "a\n/foo"), "`.` does not match a newline");
        assert!(m("^[^a]$", "\n"), "negated classes match a newline");
        assert!(m("^a\\.b$", "a.b"));
        assert!(!m("^a\\.b$", "axb"));
    }

    #[test]
    fn re2_syntax_reaching_the_expression() {
        // `[*]` becomes `[[^/]*]`: a class of `[`, `^`, `/`, repeated, then `]`.
        assert!(m("^[[^/]*]$", "]"));
        assert!(m("^[[^/]*]$", "[^/]"));
        assert!(!m("^[[^/]*]$", "*"));
        assert!(m("^[[:digit:]]$", "7"));
        assert!(!m("^[[:^digit:]]$", "7"));
        assert!(m("^\\d$", "7"));
        assert!(!m("^\\d$", "٣"), "\\d is ASCII in Go");
        assert!(!m("^a^b$", "ab"));
        assert!(m("^^ab$", "ab"));
        assert!(m("^\\x41$", "A"));
        assert!(m("^\\101$", "A"));
        assert!(m("^[\\]a]$", "]"));
        assert!(m("^[a-c]$", "b"));
        assert!(!m("^a\\bb$", "ab"));
        assert!(m("^a\\b b$", "a b"));
    }

    #[test]
    fn errors() {
        assert!(matches!(Regex::new("[l-O]"), Err(ReError::Invalid(_))));
        assert!(matches!(Regex::new("a**"), Err(ReError::Invalid(_))));
        assert!(matches!(Regex::new("*"), Err(ReError::Invalid(_))));
        assert!(matches!(Regex::new("\\e"), Err(ReError::Invalid(_))));
        assert!(matches!(Regex::new("\\1"), Err(ReError::Invalid(_))));
        assert!(matches!(Regex::new("a\\"), Err(ReError::Invalid(_))));
        assert!(matches!(Regex::new("[[:foo:]]"), Err(ReError::Invalid(_))));
        assert!(matches!(Regex::new("\\pN"), Err(ReError::Unsupported(_))));
        assert!(matches!(Regex::new("[a"), Err(ReError::Invalid(_))));
    }
}
