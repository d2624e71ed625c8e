//! The line logic of BuildKit's `frontend/dockerfile/parser` (parser.go,
//! split_command.go, line_parsers.go, directives.go), re-implemented on bytes
//! with source positions kept.

use std::ops::Range;

use crate::ast::*;
use crate::json::{parse_array, JsonArray};
use crate::shlex::heredocs_from_line;
use crate::text::{self, is_space, leading_space_len, split_ws, trim_newline_len, trim_space_range, LogicalLine, Span};
use crate::validate::validate;

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// bufio.Scanner's default maximum token size.
const MAX_LINE: usize = 64 * 1024;

/// Why a file cannot be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub message: String,
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The lines BuildKit attaches to the error (for the conformance dump).
    pub buildkit_lines: Vec<usize>,
}

impl ParseError {
    fn at(message: impl Into<String>, start: usize, end: usize, user_line: usize) -> ParseError {
        let end = end.max(start);
        ParseError {
            message: message.into(),
            line: user_line.max(1),
            column: 1,
            buildkit_lines: (start..=end).collect(),
        }
    }
}

struct Directives {
    done: bool,
    seen: Vec<String>,
    escape: char,
}

impl Directives {
    /// `DirectiveParser.ParseLine` + `setEscapeToken`.
    fn possible(&mut self, line: &[u8]) -> Result<Option<(String, String)>, String> {
        if self.done {
            return Ok(None);
        }
        let Some(rest) = line.strip_prefix(b"#") else {
            self.done = true;
            return Ok(None);
        };
        let rest = &rest[leading_space_len(rest)..];
        let rest = String::from_utf8_lossy(rest);
        let Some((name, value)) = match_directive(&rest) else {
            self.done = true;
            return Ok(None);
        };
        let key = name.to_ascii_lowercase();
        if !matches!(key.as_str(), "escape" | "syntax" | "check") {
            self.done = true;
            return Ok(None);
        }
        if self.seen.contains(&key) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        self.seen.push(key.clone());
        if key == "escape" {
            match value.as_str() {
                "`" => self.escape = '`',
                "\\" => self.escape = '\\',
                v => return Err(format!("invalid escape token '{v}' does not match ` or \\")),
            }
        }
        Ok(Some((key, value)))
    }
}

pub(crate) fn match_directive_pub(s: &str) -> Option<(String, String)> {
    match_directive(s)
}

/// `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` (RE2's `\s` is `[\t\n\f\r ]`).
fn match_directive(s: &str) -> Option<(String, String)> {
    let re_space = |c: char| matches!(c, '\t' | '\n' | '\u{c}' | '\r' | ' ');
    let mut chars = s.char_indices().peekable();
    let (_, first) = chars.next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let mut name_end = first.len_utf8();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_ascii_alphanumeric() {
            name_end = i + c.len_utf8();
            chars.next();
        } else {
            break;
        }
    }
    let rest = s[name_end..].trim_start_matches(re_space);
    let after_eq = rest.strip_prefix('=')?;
    let value = after_eq.trim_start_matches(re_space);
    let value = value.trim_end_matches(re_space);
    if value.is_empty() {
        // `.+?` still needs one character: the last blank after `=`.
        let last = after_eq.chars().last()?;
        return Some((s[..name_end].to_string(), last.to_string()));
    }
    if value.contains('\n') {
        return None;
    }
    Some((s[..name_end].to_string(), value.to_string()))
}

fn is_comment(line: &[u8]) -> bool {
    line.get(leading_space_len(line)) == Some(&b'#')
}

/// Go's `bytes.TrimSpace`, as a sub-range.
fn trim_space_bytes(b: &[u8]) -> Range<usize> {
    let start = leading_space_len(b);
    let mut end = b.len();
    while end > start {
        let tail = &b[start..end];
        let w = (1..=tail.len().min(3)).find(|&w| {
            std::str::from_utf8(&tail[tail.len() - w..])
                .is_ok_and(|s| s.chars().count() == 1 && s.chars().all(is_space))
        });
        match w {
            Some(w) => end -= w,
            None => break,
        }
    }
    start..end
}

/// BuildKit's continuation regexp on a line without its line ending: returns
/// where the kept text ends and whether the line ends the instruction.
fn trim_continuation(src: &[u8], range: Range<usize>, escape: char) -> (usize, bool) {
    let b = &src[range.clone()];
    let esc = escape as u8;
    let mut e = b.len();
    while e > 0 && matches!(b[e - 1], b' ' | b'\t') {
        e -= 1;
    }
    if e > 0 && b[e - 1] == esc && (e == 1 || b[e - 2] != esc) {
        return (range.start + e - 1, false);
    }
    (range.end, true)
}

/// Splits into lines on `\n` only; each line keeps its `\n`.
fn split_lines(src: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in src.iter().enumerate() {
        if *b == b'\n' {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < src.len() {
        out.push(start..src.len());
    }
    out
}

/// Parses a Dockerfile the way BuildKit does.
pub fn parse(src: &[u8]) -> Result<Document, ParseError> {
    let all_lines = split_lines(src);
    // bufio.Scanner stops with ErrTooLong at the first line that does not fit.
    let too_long = all_lines.iter().position(|l| {
        let has_nl = src[l.end - 1] == b'\n';
        l.len() > MAX_LINE || (!has_nl && l.len() >= MAX_LINE)
    });
    let lines = &all_lines[..too_long.unwrap_or(all_lines.len())];

    let mut d = Directives { done: false, seen: Vec::new(), escape: '\\' };
    let mut doc = Document {
        source: src.to_vec(),
        instructions: Vec::new(),
        trivia: Vec::new(),
        directives: Vec::new(),
        warnings: Vec::new(),
        escape: '\\',
        bom: src.starts_with(BOM),
        line_ending: LineEnding::Lf,
        line_starts: all_lines.iter().map(|l| l.start).collect(),
        memo: Default::default(),
    };
    if let Some(first) = all_lines.first() {
        if src[first.clone()].ends_with(b"\r\n") {
            doc.line_ending = LineEnding::CrLf;
        }
    }

    let mut comments: Vec<Range<usize>> = Vec::new();
    let mut current_line = 0usize;
    let mut idx = 0usize;

    while idx < lines.len() {
        let lr = lines[idx].clone();
        idx += 1;
        let mut start = lr.start;
        if current_line == 0 && src[lr.clone()].starts_with(BOM) {
            start += BOM.len();
        }
        let raw = &src[start..lr.end];
        if is_comment(raw) {
            let c = trim_space_bytes(&raw[1..]);
            if c.is_empty() {
                comments.clear();
            } else {
                comments.push(start + 1 + c.start..start + 1 + c.end);
            }
        }
        let nl_end = start + trim_newline_len(raw);
        let content = start + leading_space_len(&src[start..nl_end])..nl_end;
        let directive = match d.possible(&src[content.clone()]) {
            Ok(v) => v,
            Err(msg) => return Err(ParseError::at(msg, current_line, 0, current_line + 1)),
        };
        if directive.is_some() {
            comments.pop();
        }
        current_line += 1;
        let start_line = current_line;
        let processed = if is_comment(&src[content.clone()]) { content.start..content.start } else { content.clone() };
        let (cut, mut eol) = trim_continuation(src, processed.clone(), d.escape);
        if eol && processed.is_empty() {
            let kind = if let Some((name, value)) = directive {
                doc.directives.push(Directive { name, value, line: current_line, lines: lr.clone() });
                TriviaKind::Directive
            } else if content.is_empty() {
                TriviaKind::Blank
            } else {
                TriviaKind::Comment
            };
            doc.trivia.push(Trivia { kind, line: current_line, lines: lr.clone() });
            continue;
        }

        let mut logical = LogicalLine::default();
        logical.push_source(src, processed.start..cut);
        let mut has_empty = false;
        let mut last = lr.clone();
        while !eol && idx < lines.len() {
            let lr = lines[idx].clone();
            idx += 1;
            d.done = true;
            current_line += 1;
            last = lr.clone();
            let raw = &src[lr.clone()];
            if is_comment(raw) {
                continue;
            }
            let content = lr.start..lr.start + trim_newline_len(raw);
            if leading_space_len(&src[content.clone()]) == content.len() {
                has_empty = true;
                continue;
            }
            let (cut, e) = trim_continuation(src, content.clone(), d.escape);
            eol = e;
            logical.push_source(src, content.start..cut);
        }

        let text = logical.text().to_string();
        if has_empty {
            doc.warnings
                .push(Warning { line: current_line, message: format!("Empty continuation line found in: {text}") });
        }

        let node = match parse_node(&text, 0..text.len(), d.escape) {
            Ok(n) => n,
            Err(msg) => return Err(ParseError::at(msg, start_line, current_line, start_line)),
        };

        let mut heredocs = Vec::new();
        if node.can_contain_heredoc() && text.contains("<<") {
            for hw in heredocs_from_line(&text) {
                let body_start = lines.get(idx).map_or(src.len(), |l| l.start);
                let mut terminator = None;
                while idx < lines.len() {
                    let lr = lines[idx].clone();
                    idx += 1;
                    current_line += 1;
                    last = lr.clone();
                    let end = lr.start + trim_newline_len(&src[lr.clone()]);
                    let mut cand = &src[lr.start..end];
                    if hw.chomp {
                        while let Some(rest) = cand.strip_prefix(b"\t") {
                            cand = rest;
                        }
                    }
                    if cand == hw.name.as_bytes() {
                        terminator = Some(lr.start..end);
                        break;
                    }
                }
                let Some(terminator) = terminator else {
                    return Err(ParseError::at("unterminated heredoc", start_line, current_line, start_line));
                };
                heredocs.push(Heredoc {
                    name: hw.name,
                    fd: hw.fd,
                    expand: hw.expand,
                    chomp: hw.chomp,
                    content: String::from_utf8_lossy(&src[body_start..terminator.start]).into_owned(),
                    body: body_start..terminator.start,
                    terminator,
                });
            }
        }

        let span_end = last.start + trim_newline_len(&src[last.clone()]);
        let mut ins =
            node.into_instruction(logical, lr.start..last.end, processed.start..span_end.max(processed.start));
        ins.start_line = start_line;
        ins.end_line = current_line;
        ins.heredocs = heredocs;
        ins.prev_comments = comments.iter().map(|r| String::from_utf8_lossy(&src[r.clone()]).into_owned()).collect();
        ins.prev_comment_ranges = std::mem::take(&mut comments);
        ins.error = validate(&ins);
        doc.instructions.push(ins);
    }

    // The first line (and only the first) may carry the BOM; when it is
    // trivia or an instruction its range starts at 0 already.
    doc.escape = d.escape;
    if doc.instructions.is_empty() {
        return Err(ParseError::at("file with no instructions", current_line, 0, current_line.max(1)));
    }
    if let Some(k) = too_long {
        return Err(ParseError::at(
            format!("dockerfile line greater than max allowed size of {}", MAX_LINE - 1),
            current_line,
            0,
            k + 1,
        ));
    }
    Ok(doc)
}

/// An instruction node before it is placed in the file.
pub(crate) struct Node {
    keyword: String,
    keyword_span: Span,
    kind: Kind,
    flags: Vec<Flag>,
    args: Vec<Arg>,
    args_span: Span,
    json: bool,
    sub: Option<Box<Node>>,
}

impl Node {
    fn can_contain_heredoc(&self) -> bool {
        let n = match (&self.kind, &self.sub) {
            (Kind::Onbuild, Some(sub)) => sub,
            _ => self,
        };
        matches!(n.kind, Kind::Add | Kind::Copy | Kind::Run) && !n.json
    }

    fn into_instruction(self, line: LogicalLine, lines: Range<usize>, span: Range<usize>) -> Instruction {
        let sub = self.sub.map(|s| Box::new(s.into_instruction(line.clone(), lines.clone(), span.clone())));
        Instruction {
            keyword: self.keyword,
            kind: self.kind,
            flags: self.flags,
            args: self.args,
            json: self.json,
            heredocs: Vec::new(),
            sub,
            prev_comments: Vec::new(),
            prev_comment_ranges: Vec::new(),
            start_line: 0,
            end_line: 0,
            span,
            lines,
            line,
            keyword_span: self.keyword_span,
            args_span: self.args_span,
            error: None,
        }
    }
}

/// How deep `ONBUILD ONBUILD …` may nest before the parser gives up
/// (BuildKit rejects any chaining at the instruction level anyway).
const MAX_ONBUILD_DEPTH: usize = 16;

/// `newNodeFromLine` on `text[range]`.
pub(crate) fn parse_node(text: &str, range: Range<usize>, escape: char) -> Result<Node, String> {
    parse_node_at(text, range, escape, 0)
}

fn parse_node_at(text: &str, range: Range<usize>, escape: char, depth: usize) -> Result<Node, String> {
    let tr = trim_space_range(&text[range.clone()]);
    let line = range.start + tr.start..range.start + tr.end;
    let parts = split_ws(&text[line.clone()], Some(2));
    let keyword_span = line.start + parts[0].start..line.start + parts[0].end;
    let keyword = text[keyword_span.clone()].to_string();
    let (flags, args_span) = if parts.len() == 2 {
        let rest = line.start + parts[1].start..line.end;
        let (args_start, flags) = extract_flags(text, rest.clone(), escape);
        let t = trim_space_range(&text[args_start..rest.end]);
        (flags, args_start + t.start..args_start + t.end)
    } else {
        (Vec::new(), line.end..line.end)
    };
    let kind = Kind::from_keyword(&keyword);
    let mut node = Node {
        keyword,
        keyword_span,
        kind,
        flags,
        args: Vec::new(),
        args_span: args_span.clone(),
        json: false,
        sub: None,
    };
    let rest = &text[args_span.clone()];
    let at = |r: Range<usize>| Some(args_span.start + r.start..args_span.start + r.end);
    match kind {
        Kind::Add | Kind::Copy | Kind::Volume => {
            parse_maybe_json(text, &args_span, &mut node, true)?;
        }
        Kind::Cmd | Kind::Entrypoint | Kind::Run | Kind::Shell => {
            parse_maybe_json(text, &args_span, &mut node, false)?;
        }
        Kind::Arg => {
            node.args = parse_words(text, args_span.clone(), escape)
                .into_iter()
                .map(|(value, span)| Arg { value, span: Some(span) })
                .collect();
        }
        Kind::Env | Kind::Label => {
            node.args =
                parse_name_val(text, args_span.clone(), escape, if kind == Kind::Env { "ENV" } else { "LABEL" })?;
        }
        Kind::Expose | Kind::From => {
            if !rest.is_empty() {
                node.args = split_ws(rest, None)
                    .into_iter()
                    .map(|r| Arg { value: rest[r.clone()].to_string(), span: at(r) })
                    .collect();
            }
        }
        Kind::Maintainer | Kind::Stopsignal | Kind::User | Kind::Workdir => {
            if !rest.is_empty() {
                node.args = vec![Arg { value: rest.to_string(), span: Some(args_span.clone()) }];
            }
        }
        Kind::Healthcheck => {
            let sep = rest.find(is_space).unwrap_or(rest.len());
            if sep > 0 {
                let next = sep + (rest.len() - sep - rest[sep..].trim_start_matches(is_space).len());
                node.args.push(Arg { value: rest[..sep].to_string(), span: at(0..sep) });
                let cmd_span = args_span.start + next..args_span.end;
                let mut inner = Node { args: Vec::new(), json: false, ..node_stub() };
                parse_maybe_json(text, &cmd_span, &mut inner, false)?;
                node.args.extend(inner.args);
                node.json = inner.json;
            }
        }
        Kind::Onbuild => {
            if !rest.is_empty() {
                if depth >= MAX_ONBUILD_DEPTH {
                    return Err("ONBUILD instructions are nested too deeply".to_string());
                }
                node.sub = Some(Box::new(parse_node_at(text, args_span.clone(), escape, depth + 1)?));
            }
        }
        Kind::Unknown => {
            node.args = vec![Arg { value: String::new(), span: None }];
        }
    }
    Ok(node)
}

fn node_stub() -> Node {
    Node {
        keyword: String::new(),
        keyword_span: 0..0,
        kind: Kind::Unknown,
        flags: Vec::new(),
        args: Vec::new(),
        args_span: 0..0,
        json: false,
        sub: None,
    }
}

const NOT_STRINGS: &str = "when using JSON array syntax, arrays must be comprised of strings only";

/// `parseMaybeJSON` / `parseMaybeJSONToList`.
fn parse_maybe_json(text: &str, span: &Span, node: &mut Node, to_list: bool) -> Result<(), String> {
    let rest = &text[span.clone()];
    if rest.is_empty() {
        return Ok(());
    }
    let lead = rest.len() - rest.trim_start_matches(is_space).len();
    match parse_array(rest, lead) {
        JsonArray::Strings(items) => {
            node.json = true;
            node.args = items
                .into_iter()
                .map(|(value, s)| Arg { value, span: Some(span.start + s.start..span.start + s.end) })
                .collect();
        }
        JsonArray::NotStrings => return Err(NOT_STRINGS.to_string()),
        JsonArray::Invalid => {
            if to_list {
                node.args = split_ws(rest, None)
                    .into_iter()
                    .map(|r| Arg {
                        value: rest[r.clone()].to_string(),
                        span: Some(span.start + r.start..span.start + r.end),
                    })
                    .collect();
            } else {
                node.args = vec![Arg { value: rest.to_string(), span: Some(span.clone()) }];
            }
        }
    }
    Ok(())
}

/// `extractBuilderFlags`: flags at the start of `text[range]`; returns where
/// the arguments start.
fn extract_flags(text: &str, range: Range<usize>, escape: char) -> (usize, Vec<Flag>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<(usize, char)> = text[range.clone()].char_indices().map(|(i, c)| (i + range.start, c)).collect();
    let mut flags = Vec::new();
    let mut phase = Phase::Spaces;
    let mut buf = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut wstart = range.start;
    let mut k = 0;
    loop {
        let at_end = k == chars.len();
        let (pos, mut ch) = if at_end { (range.end, '\0') } else { chars[k] };
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if is_space(ch) {
                k += 1;
                continue;
            }
            if ch != '-' || k + 1 == chars.len() || chars[k + 1].1 != '-' {
                return (pos, flags);
            }
            phase = Phase::Word;
            wstart = pos;
        }
        if at_end {
            if buf != "--" && (blank_ok || !buf.is_empty()) {
                flags.push(Flag { text: buf, span: wstart..range.end });
            }
            break;
        }
        match phase {
            Phase::Word => {
                if is_space(ch) {
                    phase = Phase::Spaces;
                    if buf == "--" {
                        return (pos, flags);
                    }
                    if blank_ok || !buf.is_empty() {
                        flags.push(Flag { text: std::mem::take(&mut buf), span: wstart..pos });
                    }
                    buf.clear();
                    blank_ok = false;
                    k += 1;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    quote = ch;
                    blank_ok = true;
                    phase = Phase::Quote;
                    k += 1;
                    continue;
                }
                if ch == escape {
                    if k + 1 == chars.len() {
                        k += 1;
                        continue;
                    }
                    k += 1;
                    ch = chars[k].1;
                }
                buf.push(ch);
                k += 1;
            }
            Phase::Quote => {
                if ch == quote {
                    phase = Phase::Word;
                    k += 1;
                    continue;
                }
                if ch == escape {
                    if k + 1 == chars.len() {
                        phase = Phase::Word;
                        k += 1;
                        continue;
                    }
                    k += 1;
                    ch = chars[k].1;
                }
                buf.push(ch);
                k += 1;
            }
            Phase::Spaces => unreachable!(),
        }
    }
    (range.end, flags)
}

/// `parseWords`: words with quotes and escapes kept, and where each is.
pub(crate) fn parse_words(text: &str, range: Range<usize>, escape: char) -> Vec<(String, Span)> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<(usize, char)> = text[range.clone()].char_indices().map(|(i, c)| (i + range.start, c)).collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut buf = String::new();
    let mut wstart = range.start;
    let mut k = 0;
    loop {
        let at_end = k == chars.len();
        let (pos, mut ch) = if at_end { (range.end, '\0') } else { chars[k] };
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if is_space(ch) {
                k += 1;
                continue;
            }
            phase = Phase::Word;
            wstart = pos;
        }
        if at_end {
            if blank_ok || !buf.is_empty() {
                words.push((buf, wstart..range.end));
            }
            break;
        }
        if phase == Phase::Word {
            if is_space(ch) {
                phase = Phase::Spaces;
                if blank_ok || !buf.is_empty() {
                    words.push((std::mem::take(&mut buf), wstart..pos));
                }
                buf.clear();
                blank_ok = false;
                k += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == escape {
                if k + 1 == chars.len() {
                    k += 1;
                    continue;
                }
                buf.push(ch);
                k += 1;
                ch = chars[k].1;
            }
            buf.push(ch);
            k += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == escape && quote != '\'' {
            if k + 1 == chars.len() {
                phase = Phase::Word;
                k += 1;
                continue;
            }
            buf.push(ch);
            k += 1;
            ch = chars[k].1;
        }
        buf.push(ch);
        k += 1;
    }
    words
}

/// `parseNameVal` for ENV and LABEL.
fn parse_name_val(text: &str, span: Span, escape: char, key: &str) -> Result<Vec<Arg>, String> {
    let words = parse_words(text, span.clone(), escape);
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };
    let rest = &text[span.clone()];
    if !first.0.contains('=') {
        let parts = split_ws(rest, Some(2));
        if parts.len() < 2 {
            return Err(format!("{key} must have two arguments"));
        }
        let at = |r: &Range<usize>| Some(span.start + r.start..span.start + r.end);
        return Ok(vec![
            Arg { value: rest[parts[0].clone()].to_string(), span: at(&parts[0]) },
            Arg { value: rest[parts[1].clone()].to_string(), span: at(&parts[1]) },
            Arg { value: String::new(), span: None },
        ]);
    }
    let mut args = Vec::new();
    for (word, ws) in words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                text::go_quote(word.as_bytes())
            ));
        };
        let raw_matches = text[ws.clone()] == *word;
        let kspan = raw_matches.then(|| ws.start..ws.start + k.len());
        let vspan = raw_matches.then(|| ws.start + k.len() + 1..ws.end);
        args.push(Arg { value: k.to_string(), span: kspan });
        args.push(Arg { value: v.to_string(), span: vspan });
        args.push(Arg { value: "=".to_string(), span: None });
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_regexp() {
        assert_eq!(match_directive("escape=`"), Some(("escape".into(), "`".into())));
        assert_eq!(
            match_directive("syntax = docker/dockerfile:1  "),
            Some(("syntax".into(), "docker/dockerfile:1".into()))
        );
        assert_eq!(match_directive("escape=  "), Some(("escape".into(), " ".into())));
        assert_eq!(match_directive("escape="), None);
        assert_eq!(match_directive("1x=a"), None);
        assert_eq!(match_directive("a comment"), None);
    }

    #[test]
    fn continuation_regexp() {
        fn t(s: &str) -> (&str, bool) {
            let (cut, eol) = trim_continuation(s.as_bytes(), 0..s.len(), '\\');
            (&s[..cut], eol)
        }
        assert_eq!(t("echo a \\"), ("echo a ", false));
        assert_eq!(t("echo a \\  \t"), ("echo a ", false));
        assert_eq!(t("\\"), ("", false));
        assert_eq!(t("echo a\\\\"), ("echo a\\\\", true));
        assert_eq!(t("echo"), ("echo", true));
    }

    #[test]
    fn words_keep_quotes() {
        let s = r#"a="b c" d=e\ f"#;
        let w: Vec<_> = parse_words(s, 0..s.len(), '\\').into_iter().map(|(w, _)| w).collect();
        assert_eq!(w, [r#"a="b c""#, r#"d=e\ f"#]);
    }

    #[test]
    fn flags_with_spans() {
        let s = "RUN --mount=type=cache,target=/x  --network=none echo hi";
        let (start, flags) = extract_flags(s, 4..s.len(), '\\');
        assert_eq!(&s[start..], "echo hi");
        assert_eq!(flags.len(), 2);
        assert_eq!(&s[flags[0].span.clone()], "--mount=type=cache,target=/x");
        assert_eq!(flags[1].name(), "network");
    }
}
