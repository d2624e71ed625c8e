//! The program of one `RUN` — shell form, a heredoc run by the shell, or the
//! exec form — as commands whose words map back to source bytes, and the
//! three edits this pass makes inside it: put a command in front of another
//! one, append a command at the end, insert words. Every edit keeps the
//! RUN's layout: how its commands are joined (`&& \` at the end of a line or
//! `\` then `&&` at the start of the next), its indentation, the file's
//! escape character and line endings. When an edit cannot be made that way,
//! the helper returns `None` and the caller makes no fix.

use std::ops::Range;

use dockfix_core::{layout, Edit};
use dockfix_syntax::shell::{parse_script, Op};
use dockfix_syntax::{Document, Instruction, Span};

/// How the RUN gives its program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `RUN cmd …`: spans are in the script, which starts at `base` in the
    /// instruction's logical text.
    Shell,
    /// `RUN <<EOF`: spans are in the heredoc body, which starts at source
    /// byte `base`.
    Heredoc,
    /// `RUN ["cmd", …]`: spans are JSON literals in the logical text.
    Exec,
}

/// One word as the shell sees it (quotes removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub value: String,
    pub span: Span,
}

/// One simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    /// `NAME=value` words before the program (and after `env`/`sudo`).
    pub assigns: Vec<Word>,
    /// The program and its arguments (`sudo`, `env`, `exec` prefixes left out).
    pub words: Vec<Word>,
    /// The first token as written: an assignment, a prefix or the program.
    pub head: Span,
    /// From the first to the last token (redirections included).
    pub span: Span,
    /// The operator before it.
    pub before: Option<Op>,
    /// Run through `sudo`.
    pub sudo: bool,
}

impl Cmd {
    /// The program name, path stripped.
    pub fn program(&self) -> Option<&str> {
        self.words.first().map(|w| w.value.rsplit('/').next().unwrap_or(&w.value))
    }
}

/// How the commands of a continued RUN are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joiner {
    /// `cmd \` then `<indent>&& cmd`.
    Leading(String),
    /// `cmd && \` then `<indent>cmd`.
    Trailing(String),
    /// `cmd; \` then `<indent>cmd`, under `set -e`.
    Semi(String),
    /// On one line (or no join to imitate).
    Inline,
}

/// The program of a RUN.
pub struct Script<'a> {
    pub doc: &'a Document,
    pub ins: &'a Instruction,
    pub form: Form,
    /// The shell text (empty for the exec form).
    pub text: String,
    base: usize,
    pub cmds: Vec<Cmd>,
}

const SHELLS: &[&str] = &["sh", "bash", "/bin/sh", "/bin/bash", "dash", "/bin/dash"];

impl<'a> Script<'a> {
    /// Reads a RUN. `Err` says why its program is not one dockfix reads.
    pub fn new(doc: &'a Document, ins: &'a Instruction) -> Result<Script<'a>, &'static str> {
        if ins.json {
            let mut words = Vec::new();
            for a in &ins.args {
                let span = a.span.clone().ok_or("an exec-form argument without a place")?;
                words.push(Word { value: a.value.clone(), span });
            }
            let (head, span) = match (words.first(), words.last()) {
                (Some(f), Some(l)) => (f.span.clone(), f.span.start..l.span.end),
                _ => (0..0, 0..0),
            };
            let cmd = Cmd { assigns: Vec::new(), words, head, span, before: None, sudo: false };
            let mut s = Script { doc, ins, form: Form::Exec, text: String::new(), base: 0, cmds: vec![cmd] };
            s.unwrap_prefixes();
            return Ok(s);
        }
        let (form, text, base) = if ins.heredocs.is_empty() {
            (Form::Shell, ins.args_text().to_string(), ins.args_span.start)
        } else {
            let args = ins.args_text().trim();
            let mut parts = args.split_whitespace();
            let marker = parts.next().unwrap_or("");
            let rest: Vec<&str> = parts.collect();
            let shell_ok = rest.is_empty()
                || (SHELLS.contains(&rest[0]) && rest[1..].iter().all(|w| w.starts_with('-') && !w.contains('c')));
            if ins.heredocs.len() != 1 || !marker.starts_with("<<") || !shell_ok {
                return Err("its heredoc is fed to a program dockfix does not read");
            }
            let h = &ins.heredocs[0];
            if h.content.len() != h.body.len() {
                return Err("its heredoc is not valid UTF-8");
            }
            (Form::Heredoc, h.content.clone(), h.body.start)
        };
        let parsed = parse_script(&text);
        let mut cmds = Vec::new();
        for c in parsed.commands {
            // A shell line continuation inside a heredoc reads as an empty word.
            let real = |w: &&dockfix_syntax::shell::Word| {
                !(w.value.is_empty() && text[w.span.clone()].trim_start_matches('\\').trim().is_empty())
            };
            let conv = |w: &dockfix_syntax::shell::Word| Word { value: w.value.clone(), span: w.span.clone() };
            let words: Vec<Word> = c.words.iter().filter(real).map(conv).collect();
            let assigns: Vec<Word> = c.assignments.iter().map(conv).collect();
            let head = match (assigns.first(), words.first()) {
                (Some(a), Some(w)) if a.span.start > w.span.start => w.span.clone(),
                (Some(a), _) => a.span.clone(),
                (None, Some(w)) => w.span.clone(),
                (None, None) => continue,
            };
            cmds.push(Cmd {
                assigns,
                words,
                head,
                span: c.span.clone(),
                before: c.before.map(|(op, _)| op),
                sudo: false,
            });
        }
        let mut s = Script { doc, ins, form, text, base, cmds };
        s.unwrap_prefixes();
        Ok(s)
    }

    /// `env A=1 x …`, `exec x …`, `sudo -E x …` → `x …`.
    fn unwrap_prefixes(&mut self) {
        for c in &mut self.cmds {
            while let Some(first) = c.words.first().map(|w| w.value.clone()) {
                match first.as_str() {
                    "env" | "exec" | "time" | "command" | "nice" | "nohup" => {
                        if matches!(first.as_str(), "command" | "env" | "nice")
                            && c.words.get(1).is_some_and(|w| w.value.starts_with('-'))
                        {
                            break;
                        }
                        c.words.remove(0);
                    }
                    "xargs" => {
                        // `xargs apt-get install -y < packages.txt`
                        c.words.remove(0);
                        while let Some(w) = c.words.first().map(|w| w.value.clone()) {
                            if !w.starts_with('-') {
                                break;
                            }
                            c.words.remove(0);
                            if matches!(w.as_str(), "-a" | "-d" | "-E" | "-I" | "-L" | "-n" | "-P" | "-s")
                                && !c.words.is_empty()
                            {
                                c.words.remove(0);
                            }
                        }
                    }
                    "sudo" => {
                        c.words.remove(0);
                        c.sudo = true;
                        while let Some(w) = c.words.first().map(|w| w.value.clone()) {
                            if !w.starts_with('-') {
                                break;
                            }
                            c.words.remove(0);
                            if matches!(w.as_str(), "-u" | "-g" | "-C" | "-h" | "-p" | "-U") && !c.words.is_empty() {
                                c.words.remove(0);
                            }
                        }
                    }
                    _ => break,
                }
                while c.words.first().is_some_and(|w| is_assignment(&w.value)) {
                    let w = c.words.remove(0);
                    c.assigns.push(w);
                }
            }
        }
    }

    /// Source bytes of a span of the script.
    pub fn src(&self, span: &Span) -> Range<usize> {
        match self.form {
            Form::Shell => self.ins.source_range(self.base + span.start..self.base + span.end),
            Form::Heredoc => self.base + span.start..self.base + span.end,
            Form::Exec => self.ins.source_range(span.clone()),
        }
    }

    fn contiguous(&self, span: &Span) -> bool {
        match self.form {
            Form::Shell => self.ins.line.is_contiguous(self.base + span.start..self.base + span.end),
            Form::Heredoc => true,
            Form::Exec => self.ins.line.is_contiguous(span.clone()),
        }
    }

    fn source(&self) -> &[u8] {
        self.doc.source()
    }

    /// The continuation character of the script's lines.
    fn escape(&self) -> char {
        match self.form {
            Form::Heredoc => '\\',
            _ => self.doc.escape,
        }
    }

    /// The line ending inside the script.
    fn eol(&self) -> &'static str {
        match self.form {
            Form::Heredoc if self.text.contains("\r\n") => "\r\n",
            Form::Heredoc if self.text.contains('\n') => "\n",
            _ => layout::eol(self.doc),
        }
    }

    /// True when the script stops at the first failing command (`set -e`,
    /// `set -eux`, `set -o errexit` as its first command).
    pub fn errexit(&self) -> bool {
        self.form != Form::Exec
            && self.cmds.first().is_some_and(|c| {
                c.program() == Some("set")
                    && c.words.iter().skip(1).any(|w| {
                        (w.value.starts_with('-') && !w.value.starts_with("--") && w.value.contains('e'))
                            || w.value == "errexit"
                    })
            })
    }

    /// Command `i` as written, on one line (to repeat it elsewhere).
    pub fn cmd_text(&self, i: usize) -> String {
        let c = &self.cmds[i];
        let from_words =
            || c.assigns.iter().chain(&c.words).map(|w| layout::quote_arg(&w.value)).collect::<Vec<_>>().join(" ");
        if self.form == Form::Exec {
            return from_words();
        }
        let t = &self.text[c.head.start..c.span.end];
        if !t.contains(['\'', '"', '`', '$', '#']) {
            t.replace("\\\r\n", " ").replace("\\\n", " ").split_whitespace().collect::<Vec<_>>().join(" ")
        } else if !t.contains('\n') {
            t.to_string()
        } else {
            from_words()
        }
    }

    /// How commands joined by `&&` are laid out in this RUN.
    pub fn joiner(&self) -> Joiner {
        if self.form != Form::Shell {
            return Joiner::Inline;
        }
        let src = self.source();
        let esc = self.escape() as u8;
        let errexit = self.errexit();
        for w in self.cmds.windows(2) {
            let semi = w[1].before == Some(Op::Semi);
            if w[1].before != Some(Op::And) && !(semi && errexit) {
                continue;
            }
            let a = self.src(&w[0].span).end;
            let b = self.src(&w[1].head).start;
            if a >= b {
                continue;
            }
            let gap = &src[a..b];
            let Some(first_nl) = gap.iter().position(|c| *c == b'\n') else { continue };
            let last_nl = gap.iter().rposition(|c| *c == b'\n').unwrap_or(first_nl);
            let last_line = &gap[last_nl + 1..];
            let indent: String = String::from_utf8_lossy(
                &last_line[..last_line.iter().take_while(|c| matches!(c, b' ' | b'\t')).count()],
            )
            .into_owned();
            let first_line = trim(&gap[..first_nl]);
            let ends = |op: &[u8]| first_line.strip_suffix(&[esc]).is_some_and(|r| trim(r).ends_with(op));
            if semi {
                if ends(b";") {
                    return Joiner::Semi(indent);
                }
                continue;
            }
            if trim(last_line).starts_with(b"&&") {
                return Joiner::Leading(indent);
            }
            if ends(b"&&") {
                return Joiner::Trailing(indent);
            }
        }
        Joiner::Inline
    }

    /// Runs `text` (a command) right before command `i`, joined with `&&`
    /// the way the RUN joins its commands.
    pub fn prepend(&self, i: usize, text: &str) -> Option<Edit> {
        let c = self.cmds.get(i)?;
        if self.form == Form::Exec || !matches!(c.before, None | Some(Op::And | Op::Semi | Op::Newline | Op::Group)) {
            return None;
        }
        if !self.contiguous(&c.head) || self.text[..c.head.start].trim_end().ends_with('!') {
            return None;
        }
        let h = self.src(&c.head);
        let src = self.source();
        let head = String::from_utf8_lossy(&src[h.clone()]).into_owned();
        let ls = line_start(src, h.start);
        let prefix = &src[ls..h.start];
        let lead: String =
            String::from_utf8_lossy(&prefix[..prefix.iter().take_while(|c| matches!(c, b' ' | b'\t')).count()])
                .into_owned();
        let starts_line = i == 0 || trim(prefix).is_empty() || trim(prefix) == b"&&";
        let (esc, eol) = (self.escape(), self.eol());
        let replacement = match self.form {
            Form::Heredoc if self.errexit() && trim(prefix).is_empty() => format!("{text}{eol}{lead}{head}"),
            Form::Heredoc => format!("{text} && {head}"),
            _ => match (self.joiner(), starts_line) {
                (Joiner::Leading(ind), true) => format!("{text} {esc}{eol}{ind}&& {head}"),
                (Joiner::Trailing(ind), true) => {
                    let ind = if i == 0 || !trim(prefix).is_empty() { ind } else { lead };
                    format!("{text} && {esc}{eol}{ind}{head}")
                }
                // Under `set -e`, a command that starts its line.
                (Joiner::Semi(_), true) if trim(prefix).is_empty() && i > 0 => {
                    format!("{text}; {esc}{eol}{lead}{head}")
                }
                _ => format!("{text} && {head}"),
            },
        };
        Some(Edit::replace(h, replacement))
    }

    /// Runs `text` (a command) after everything else, if the last command
    /// succeeded.
    pub fn append(&self, text: &str) -> Option<Edit> {
        if self.form == Form::Exec {
            return None;
        }
        let last = self.cmds.last()?;
        // What follows the last command may only close blocks (`fi`, `done`).
        let tail = &self.text[last.span.end..];
        let trimmed = tail.trim_end();
        if trimmed.ends_with([';', '&', '|', '\\']) || trimmed.contains('#') {
            return None;
        }
        let closers = trimmed.split(|c: char| c.is_whitespace() || c == ';').filter(|t| !t.is_empty());
        if !closers.into_iter().all(|t| matches!(t, "fi" | "done" | "esac" | "}" | ")")) {
            return None;
        }
        let end = last.span.end + trimmed.len();
        if end == 0 {
            return None;
        }
        let at = self.src(&(end - 1..end)).end;
        let src = self.source();
        let (esc, eol) = (self.escape(), self.eol());
        let ins_text = match self.form {
            Form::Heredoc if self.errexit() => {
                let ls = line_start(src, at);
                let n = src[ls..at].iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
                format!("{eol}{}{text}", String::from_utf8_lossy(&src[ls..ls + n]))
            }
            Form::Heredoc => format!(" && {text}"),
            _ => match self.joiner() {
                Joiner::Leading(ind) => format!(" {esc}{eol}{ind}&& {text}"),
                Joiner::Trailing(ind) => format!(" && {esc}{eol}{ind}{text}"),
                Joiner::Semi(ind) => format!("; {esc}{eol}{ind}{text}"),
                Joiner::Inline => format!(" && {text}"),
            },
        };
        Some(Edit::insert(at, ins_text))
    }

    /// Inserts ` text` right after word `w`.
    pub fn insert_after(&self, w: &Word, text: &str) -> Option<Edit> {
        if self.form == Form::Exec || !self.contiguous(&w.span) {
            return None;
        }
        Some(Edit::insert(self.src(&w.span).end, format!(" {text}")))
    }

    /// Inserts a word in front of word `w`: on a line of its own when `w`
    /// starts a continuation line (a list of one package per line).
    pub fn insert_before(&self, w: &Word, text: &str) -> Option<Edit> {
        if self.form == Form::Exec || !self.contiguous(&w.span) {
            return None;
        }
        let at = self.src(&w.span).start;
        let src = self.source();
        let ls = line_start(src, at);
        let prefix = &src[ls..at];
        let own_line = ls > self.ins.span.start && prefix.iter().all(|c| matches!(c, b' ' | b'\t'));
        let text = if own_line {
            format!("{text} {}{}{}", self.escape(), self.eol(), String::from_utf8_lossy(prefix))
        } else {
            format!("{text} ")
        };
        Some(Edit::insert(at, text))
    }
}

/// `NAME=value`.
pub fn is_assignment(s: &str) -> bool {
    match s.split_once('=') {
        Some((n, _)) => {
            !n.is_empty()
                && n.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

fn line_start(src: &[u8], pos: usize) -> usize {
    src[..pos.min(src.len())].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b.iter().position(|c| !matches!(c, b' ' | b'\t' | b'\r')).unwrap_or(b.len());
    let e = b.iter().rposition(|c| !matches!(c, b' ' | b'\t' | b'\r')).map_or(s, |i| i + 1);
    &b[s..e.max(s)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_core::apply_edits;
    use dockfix_syntax::parse_str;

    /// Applies `f` to the script of the last RUN of `src`; the output must parse.
    fn edit(src: &str, f: impl Fn(&Script<'_>) -> Option<Edit>) -> Option<String> {
        let doc = parse_str(src).unwrap();
        let idx = doc.instructions.iter().rposition(|i| i.kind == dockfix_syntax::Kind::Run).unwrap();
        let s = Script::new(&doc, &doc.instructions[idx]).unwrap();
        let e = f(&s)?;
        let out = String::from_utf8(apply_edits(src.as_bytes(), &[&e]).unwrap()).unwrap();
        parse_str(&out).unwrap();
        Some(out)
    }

    fn install(s: &Script<'_>) -> usize {
        s.cmds.iter().position(|c| c.words.get(1).is_some_and(|w| w.value == "install")).unwrap()
    }

    fn prepend(src: &str) -> Option<String> {
        edit(src, |s| s.prepend(install(s), "apt-get update"))
    }

    fn append(src: &str) -> Option<String> {
        edit(src, |s| s.append("rm -rf /var/lib/apt/lists/*"))
    }

    #[test]
    fn prepends_in_every_layout() {
        assert_eq!(
            prepend("FROM a\nRUN apt-get install -y curl\n").unwrap(),
            "FROM a\nRUN apt-get update && apt-get install -y curl\n"
        );
        assert_eq!(
            prepend("FROM a\nRUN DEBIAN_FRONTEND=noninteractive apt-get install -y curl\n").unwrap(),
            "FROM a\nRUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y curl\n"
        );
        assert_eq!(
            prepend("FROM a\nRUN apt-get install -y curl \\\n    && rm -rf /tmp/x\n").unwrap(),
            "FROM a\nRUN apt-get update \\\n    && apt-get install -y curl \\\n    && rm -rf /tmp/x\n"
        );
        assert_eq!(
            prepend("FROM a\nRUN apt-get install -y curl && \\\n\trm -rf /tmp/x\n").unwrap(),
            "FROM a\nRUN apt-get update && \\\n\tapt-get install -y curl && \\\n\trm -rf /tmp/x\n"
        );
        assert_eq!(
            prepend("FROM a\r\nRUN set -x \\\r\n  && apt-get install -y curl\r\n").unwrap(),
            "FROM a\r\nRUN set -x \\\r\n  && apt-get update \\\r\n  && apt-get install -y curl\r\n"
        );
        assert_eq!(
            prepend("FROM a\nRUN echo a && \\\n    apt-get install -y curl\n").unwrap(),
            "FROM a\nRUN echo a && \\\n    apt-get update && \\\n    apt-get install -y curl\n"
        );
        assert_eq!(
            prepend("# escape=`\nFROM a\nRUN apt-get install -y curl `\n    && echo ok\n").unwrap(),
            "# escape=`\nFROM a\nRUN apt-get update `\n    && apt-get install -y curl `\n    && echo ok\n"
        );
        // Packages continued over lines, commands on one line: inline.
        assert_eq!(
            prepend("FROM a\nRUN apt-get install -y \\\n      curl \\\n      git\n").unwrap(),
            "FROM a\nRUN apt-get update && apt-get install -y \\\n      curl \\\n      git\n"
        );
        assert_eq!(
            prepend("FROM a\nRUN <<EOF\nset -eux\napt-get install -y curl\nEOF\n").unwrap(),
            "FROM a\nRUN <<EOF\nset -eux\napt-get update\napt-get install -y curl\nEOF\n"
        );
        assert_eq!(
            prepend("FROM a\nRUN <<EOF\napt-get install -y curl\nEOF\n").unwrap(),
            "FROM a\nRUN <<EOF\napt-get update && apt-get install -y curl\nEOF\n"
        );
        // `set -e` and `; \` at line ends (the official images' style).
        assert_eq!(
            prepend("FROM a\nRUN set -eux; \\\n\tapt-get install -y curl; \\\n\tcurl --version\n").unwrap(),
            "FROM a\nRUN set -eux; \\\n\tapt-get update; \\\n\tapt-get install -y curl; \\\n\tcurl --version\n"
        );
        // Without `set -e`, `;` would let a failed update pass.
        assert_eq!(
            prepend("FROM a\nRUN echo a; \\\n\tapt-get install -y curl\n").unwrap(),
            "FROM a\nRUN echo a; \\\n\tapt-get update && apt-get install -y curl\n"
        );
        // After `||` or in a pipeline the meaning would change.
        assert_eq!(prepend("FROM a\nRUN false || apt-get install -y curl\n"), None);
        assert_eq!(edit("FROM a\nRUN [\"apt-get\", \"install\", \"curl\"]\n", |s| s.prepend(0, "x")), None);
    }

    #[test]
    fn appends_in_every_layout() {
        assert_eq!(
            append("FROM a\nRUN apt-get update && apt-get install -y curl\n").unwrap(),
            "FROM a\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n"
        );
        assert_eq!(
            append("FROM a\nRUN apt-get update \\\n    && apt-get install -y curl\n").unwrap(),
            "FROM a\nRUN apt-get update \\\n    && apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n"
        );
        assert_eq!(
            append("FROM a\r\nRUN apt-get update && \\\r\n\tapt-get install -y curl\r\n").unwrap(),
            "FROM a\r\nRUN apt-get update && \\\r\n\tapt-get install -y curl && \\\r\n\trm -rf /var/lib/apt/lists/*\r\n"
        );
        assert_eq!(
            append("FROM a\nRUN apt-get update; apt-get install -y curl").unwrap(),
            "FROM a\nRUN apt-get update; apt-get install -y curl && rm -rf /var/lib/apt/lists/*"
        );
        assert_eq!(
            append("FROM a\nRUN apt-get update && if [ -n x ]; then apt-get install -y curl; fi\n").unwrap(),
            "FROM a\nRUN apt-get update && if [ -n x ]; then apt-get install -y curl; fi && rm -rf /var/lib/apt/lists/*\n"
        );
        assert_eq!(
            append("FROM a\nRUN <<EOF\nset -e\napt-get update\napt-get install -y curl\nEOF\n").unwrap(),
            "FROM a\nRUN <<EOF\nset -e\napt-get update\napt-get install -y curl\nrm -rf /var/lib/apt/lists/*\nEOF\n"
        );
        assert_eq!(
            append("FROM a\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\n").unwrap(),
            "FROM a\nRUN <<EOF\napt-get update\napt-get install -y curl && rm -rf /var/lib/apt/lists/*\nEOF\n"
        );
        assert_eq!(
            append("FROM a\nRUN set -eux; \\\n\tapt-get update; \\\n\tapt-get install -y curl\n").unwrap(),
            "FROM a\nRUN set -eux; \\\n\tapt-get update; \\\n\tapt-get install -y curl; \\\n\trm -rf /var/lib/apt/lists/*\n"
        );
        // A trailing `;`, `&` or comment: no safe place.
        assert_eq!(append("FROM a\nRUN apt-get update && apt-get install -y curl;\n"), None);
        assert_eq!(append("FROM a\nRUN apt-get update && apt-get install -y curl # pkgs\n"), None);
    }

    #[test]
    fn inserts_words() {
        let out = edit("FROM a\nRUN apt-get install -y curl\n", |s| {
            s.insert_after(&s.cmds[0].words[1], "--no-install-recommends")
        });
        assert_eq!(out.unwrap(), "FROM a\nRUN apt-get install --no-install-recommends -y curl\n");
        let out = edit("FROM a\nRUN apt-get install -y \\\n    curl \\\n    git\n", |s| {
            s.insert_before(&s.cmds[0].words[3], "ca-certificates")
        });
        assert_eq!(out.unwrap(), "FROM a\nRUN apt-get install -y \\\n    ca-certificates \\\n    curl \\\n    git\n");
        let out = edit("FROM a\nRUN apt-get install -y curl git\n", |s| {
            s.insert_before(&s.cmds[0].words[3], "ca-certificates")
        });
        assert_eq!(out.unwrap(), "FROM a\nRUN apt-get install -y ca-certificates curl git\n");
    }

    #[test]
    fn copies_commands_on_one_line() {
        let doc =
            parse_str("FROM a\nRUN DEBIAN_FRONTEND=noninteractive apt-get \\\n    -qq update > /dev/null\n").unwrap();
        let s = Script::new(&doc, &doc.instructions[1]).unwrap();
        assert_eq!(s.cmd_text(0), "DEBIAN_FRONTEND=noninteractive apt-get -qq update > /dev/null");
        let doc = parse_str("FROM a\nRUN [\"apt-get\", \"update\"]\n").unwrap();
        assert_eq!(Script::new(&doc, &doc.instructions[1]).unwrap().cmd_text(0), "apt-get update");
        let doc = parse_str("FROM a\nRUN xargs -r apt-get install -y < pkgs.txt\n").unwrap();
        let s = Script::new(&doc, &doc.instructions[1]).unwrap();
        assert_eq!(s.cmds[0].program(), Some("apt-get"));
        let doc = parse_str("FROM a\nRUN sudo -E apt-get update\n").unwrap();
        let s = Script::new(&doc, &doc.instructions[1]).unwrap();
        assert_eq!((s.cmds[0].program(), s.cmds[0].sudo), (Some("apt-get"), true));
        assert_eq!(s.cmd_text(0), "sudo -E apt-get update");
    }
}
