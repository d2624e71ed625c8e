//! The program of one `RUN` — shell form, a heredoc run by the shell, or the
//! exec form — as commands and words that map back to source bytes, and the
//! edits passes make inside it: drop a word, drop a whole command with its
//! `&&`, add a word, add `--mount` flags. Every edit keeps the instruction's
//! continuation style and never touches a comment line; when it cannot, it
//! returns `None` and the caller leaves the RUN alone. Used by cache-mounts,
//! duplicate-install and python-startup.

use std::ops::Range;

use crate::layout;
use crate::walk::{State, Workdir};
use crate::Edit;
use dockfix_syntax::shell::{parse_script, Op};
use dockfix_syntax::{Document, Instruction, Span};

/// How the RUN gives its program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `RUN cmd …` (spans are in the script, which starts at `base` in the
    /// instruction's logical text).
    Shell,
    /// `RUN <<EOF` (spans are in the heredoc body, which starts at source
    /// byte `base`).
    Heredoc,
    /// `RUN ["cmd", …]` (spans are JSON literals in the logical text).
    Exec,
}

/// One word of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub value: String,
    pub span: Span,
    /// It holds an expansion or a glob.
    pub dynamic: bool,
}

/// One simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    /// `NAME=value` before the program (and after `env`).
    pub assigns: Vec<Word>,
    /// The program and its arguments (`env`, `exec`, `sudo` prefixes left out).
    pub words: Vec<Word>,
    pub span: Span,
    pub before: Option<Op>,
    pub after: Option<Op>,
    /// The directory it runs in, after the `cd`s before it.
    pub cwd: Workdir,
    /// Run through `sudo` (as root, whatever USER says).
    pub sudo: bool,
}

impl Cmd {
    /// The program name, path stripped.
    pub fn program(&self) -> Option<&str> {
        self.words.first().map(|w| w.value.rsplit('/').next().unwrap_or(&w.value))
    }

    /// The command as written, on one line, for messages.
    pub fn label(&self) -> String {
        let words: Vec<&str> = self.words.iter().map(|w| w.value.as_str()).collect();
        let t = words.join(" ");
        if t.chars().count() > 60 {
            format!("{}…", t.chars().take(59).collect::<String>())
        } else {
            t
        }
    }
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

const SHELLS: &[&str] = &["sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/env"];

impl<'a> Script<'a> {
    /// Reads a RUN. `Err` says why its program is not plain shell.
    pub fn new(doc: &'a Document, ins: &'a Instruction, state: &State) -> Result<Script<'a>, String> {
        if ins.json {
            let words: Vec<Word> = ins
                .args
                .iter()
                .map(|a| {
                    let span = a.span.clone().ok_or("an exec-form argument without a place")?;
                    Ok(Word { value: a.value.clone(), span, dynamic: false })
                })
                .collect::<Result<_, String>>()?;
            let span = match (words.first(), words.last()) {
                (Some(f), Some(l)) => f.span.start..l.span.end,
                _ => 0..0,
            };
            let cmd = Cmd {
                assigns: Vec::new(),
                words,
                span,
                before: None,
                after: None,
                cwd: state.workdir.clone(),
                sudo: false,
            };
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
                || (SHELLS.contains(&rest[0])
                    && rest[1..].iter().all(|w| w.starts_with('-') || *w == "sh" || *w == "bash"));
            if ins.heredocs.len() != 1 || !marker.starts_with("<<") || !shell_ok {
                return Err("its heredoc is fed to a program dockfix does not read".into());
            }
            let h = &ins.heredocs[0];
            if h.content.len() != h.body.len() {
                return Err("its heredoc is not valid UTF-8".into());
            }
            (Form::Heredoc, h.content.clone(), h.body.start)
        };
        let parsed = parse_script(&text);
        let mut cwd = state.workdir.clone();
        let mut cmds = Vec::new();
        for c in parsed.commands {
            let is_continuation = |w: &dockfix_syntax::shell::Word| {
                w.value.is_empty() && text[w.span.clone()].trim_start_matches('\\').trim().is_empty()
            };
            let words: Vec<Word> = c
                .words
                .iter()
                .filter(|w| !is_continuation(w))
                .map(|w| Word { value: w.value.clone(), span: w.span.clone(), dynamic: w.dynamic })
                .collect();
            let assigns: Vec<Word> = c
                .assignments
                .iter()
                .map(|w| Word { value: w.value.clone(), span: w.span.clone(), dynamic: w.dynamic })
                .collect();
            let cmd = Cmd {
                assigns,
                words,
                span: c.span.clone(),
                before: c.before.as_ref().map(|(op, _)| *op),
                after: c.after.as_ref().map(|(op, _)| *op),
                cwd: cwd.clone(),
                sudo: false,
            };
            if cmd.program() == Some("cd") {
                cwd = match cmd.words.get(1).map(|w| state.expand(&w.value)) {
                    Some(Some(d)) => cwd.join(&d),
                    _ => Workdir::Unknown,
                };
            }
            cmds.push(cmd);
        }
        let mut s = Script { doc, ins, form, text, base, cmds };
        s.unwrap_prefixes();
        Ok(s)
    }

    /// `env A=1 pip …`, `exec pip …`, `sudo -E pip …` → `pip …`.
    fn unwrap_prefixes(&mut self) {
        for c in &mut self.cmds {
            while let Some(first) = c.words.first().map(|w| w.value.clone()) {
                match first.as_str() {
                    "env" | "exec" | "time" | "command" => {
                        if first == "command" && c.words.get(1).is_some_and(|w| w.value.starts_with('-')) {
                            break;
                        }
                        c.words.remove(0);
                        while c.words.first().is_some_and(|w| is_assignment(&w.value)) {
                            let w = c.words.remove(0);
                            c.assigns.push(w);
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
                        while c.words.first().is_some_and(|w| is_assignment(&w.value)) {
                            let w = c.words.remove(0);
                            c.assigns.push(w);
                        }
                    }
                    _ => break,
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

    /// The continuation character of the script's lines.
    fn escape(&self) -> u8 {
        match self.form {
            Form::Heredoc => b'\\',
            _ => self.doc.escape as u8,
        }
    }

    fn source(&self) -> &[u8] {
        self.doc.source()
    }

    /// Deletes one word with the blanks on one side; a word alone on a
    /// continued line takes its line with it.
    pub fn remove_word(&self, w: &Word) -> Option<Edit> {
        if self.form == Form::Exec {
            return self.remove_exec_arg(w);
        }
        if !self.contiguous(&w.span) {
            return None;
        }
        let r = self.src(&w.span);
        let src = self.source();
        let ls = line_start(src, r.start);
        let (le, next) = line_end(src, r.end);
        let before = &src[ls..r.start];
        let after = trim_bytes(&src[r.end..le]);
        let before_blank = before.iter().all(|b| matches!(b, b' ' | b'\t'));
        let esc = self.escape();
        if before_blank && (after.is_empty() || after == [esc]) {
            if after == [esc] {
                return Some(Edit::delete(ls..next));
            }
            // The last line of a continued command: join onto the previous
            // line, taking its continuation.
            if ls == 0 {
                return None;
            }
            let prev_end = if ls >= 2 && src[ls - 2] == b'\r' { ls - 2 } else { ls - 1 };
            let pls = line_start(src, prev_end);
            if pls < self.ins.lines.start {
                return None;
            }
            let prev = trim_end_bytes(&src[pls..prev_end]);
            let body = prev.strip_suffix(&[esc])?;
            let body = trim_end_bytes(body);
            if body.is_empty() || trim_bytes(body).starts_with(b"#") {
                return None;
            }
            return Some(Edit::delete(pls + body.len()..r.end));
        }
        let ws_before = before.iter().rev().take_while(|b| matches!(b, b' ' | b'\t')).count();
        // The first word of a command takes the blanks after it (those
        // before it may separate it from `RUN` or an operator).
        let first = self.cmds.iter().any(|c| c.assigns.first().or(c.words.first()).is_some_and(|f| f.span == w.span));
        if ws_before > 0 && !before_blank && !first {
            return Some(Edit::delete(r.start - ws_before..r.end));
        }
        let ws_after = src[r.end..le].iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
        Some(Edit::delete(r.start..r.end + ws_after))
    }

    fn remove_exec_arg(&self, w: &Word) -> Option<Edit> {
        let args = &self.cmds.first()?.words;
        let i = args.iter().position(|a| a.span == w.span)?;
        let span = if let Some(next) = args.get(i + 1) {
            w.span.start..next.span.start
        } else if i > 0 {
            args[i - 1].span.end..w.span.end
        } else {
            return None;
        };
        self.ins.line.is_contiguous(span.clone()).then(|| Edit::delete(self.ins.source_range(span)))
    }

    /// Deletes command `i` with the operator that joins it to its
    /// neighbour (`a && rm x && b` → `a && b`).
    pub fn remove_cmd(&self, i: usize) -> Option<Edit> {
        self.remove_cmds(&[i])?.pop()
    }

    /// Deletes commands with the operators that join them to their
    /// neighbours. Only commands joined by `&&`, `;` or a line break, never
    /// inside `if`/loops/groups, never across a comment line, never all of
    /// them.
    pub fn remove_cmds(&self, idxs: &[usize]) -> Option<Vec<Edit>> {
        if self.form == Form::Exec {
            return None;
        }
        let mut idxs: Vec<usize> = idxs.to_vec();
        idxs.sort_unstable();
        idxs.dedup();
        let plain = |op: Option<Op>| matches!(op, None | Some(Op::And | Op::Semi | Op::Newline));
        let mut edits = Vec::new();
        let mut k = 0;
        while k < idxs.len() {
            // A run of consecutive commands i..=j.
            let i = idxs[k];
            let mut j = i;
            while k + 1 < idxs.len() && idxs[k + 1] == j + 1 {
                k += 1;
                j += 1;
            }
            k += 1;
            for n in i..=j {
                let c = self.cmds.get(n)?;
                if !plain(c.before) || !plain(c.after) {
                    return None;
                }
            }
            for n in i.max(1)..=j + 1 {
                if n < self.cmds.len()
                    && (n > i || i > 0)
                    && !gap_is_operator(&self.text[self.cmds[n - 1].span.end..self.cmds[n].span.start])
                {
                    return None;
                }
            }
            // A command that starts its line, with the next one after it on
            // the same line, goes with the operator after it: the line
            // structure stays (`rm -rf x && rm -rf y` → `rm -rf y`).
            let forward = j + 1 < self.cmds.len() && {
                let before = self.src(&(self.cmds[i].span.start..self.cmds[i].span.start));
                let after = self.src(&(self.cmds[j].span.end..self.cmds[j + 1].span.start));
                let src = self.source();
                let lead = trim_bytes(&src[line_start(src, before.start)..before.start]);
                let starts_line = lead.is_empty() || lead == b"&&" || lead == b";";
                let same_line = !src[after.clone()].contains(&b'\n');
                (i == 0 || starts_line) && same_line
            };
            let range = if forward {
                self.cmds[i].span.start..self.cmds[j + 1].span.start
            } else if i > 0 && self.cmds[i].before.is_some() {
                self.cmds[i - 1].span.end..self.cmds[j].span.end
            } else if i == 0 && j + 1 < self.cmds.len() {
                self.cmds[0].span.start..self.cmds[j + 1].span.start
            } else {
                return None;
            };
            let r = self.src(&range);
            let text = String::from_utf8_lossy(&self.source()[r.clone()]).into_owned();
            if text.lines().skip(1).any(|l| l.trim_start().starts_with('#') || l.trim().is_empty()) {
                return None;
            }
            edits.push(Edit::delete(r));
        }
        Some(edits)
    }

    /// Inserts words right after `w` (`apt-get` → `apt-get -o X=Y`).
    pub fn insert_after(&self, w: &Word, words: &[&str]) -> Option<Edit> {
        let r = self.src(&w.span);
        let text: String = match self.form {
            Form::Exec => words.iter().map(|x| format!(", {}", json_string(x))).collect(),
            _ => words.iter().map(|x| format!(" {}", layout::quote_arg(x))).collect(),
        };
        Some(Edit::insert(r.end, text))
    }

    /// Replaces a word.
    pub fn replace_word(&self, w: &Word, new: &str) -> Option<Edit> {
        if !self.contiguous(&w.span) {
            return None;
        }
        let text = match self.form {
            Form::Exec => json_string(new),
            _ => layout::quote_arg(new),
        };
        Some(Edit::replace(self.src(&w.span), text))
    }

    /// Adds `--mount=…` flags in front of the program, keeping the layout: on
    /// a one-line RUN they go on the line; on a continued RUN each goes on
    /// its own line, indented like the lines that follow.
    pub fn insert_flags(&self, flags: &[String]) -> Edit {
        let ins = self.ins;
        let src = self.source();
        let at = ins.source_range(ins.args_span.start..ins.args_span.start).start;
        let first_line_end = line_end(src, ins.span.start).0;
        let logical_end = ins.source_range(0..ins.line.text().len()).end;
        let continued = logical_end > first_line_end;
        if !continued {
            let text: String = flags.iter().map(|f| format!("{f} ")).collect();
            return Edit::insert(at, text);
        }
        let eol = layout::eol(self.doc);
        let esc = self.doc.escape;
        let ls = line_start(src, at);
        let starts_line = src[ls..at].iter().all(|b| matches!(b, b' ' | b'\t'));
        let indent =
            if starts_line { String::from_utf8_lossy(&src[ls..at]).into_owned() } else { self.continuation_indent(at) };
        let text: String = flags.iter().map(|f| format!("{f} {esc}{eol}{indent}")).collect();
        Edit::insert(at, text)
    }

    /// The indentation of the first continuation line after `at`.
    fn continuation_indent(&self, at: usize) -> String {
        let src = self.source();
        let mut pos = line_end(src, at).1;
        while pos < self.ins.span.end {
            let (le, next) = line_end(src, pos);
            let line = &src[pos..le];
            let t = trim_bytes(line);
            if !t.is_empty() && !t.starts_with(b"#") {
                let n = line.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
                return String::from_utf8_lossy(&line[..n]).into_owned();
            }
            pos = next;
        }
        "    ".into()
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

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// True when the text between two commands is one `&&`, `;` or line break
/// (with blanks and shell line continuations).
fn gap_is_operator(gap: &str) -> bool {
    let g = gap.replace("\\\r\n", " ").replace("\\\n", " ");
    matches!(g.trim(), "" | "&&" | ";")
}

fn line_start(src: &[u8], pos: usize) -> usize {
    src[..pos.min(src.len())].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)
}

/// (end of the line's content, start of the next line).
fn line_end(src: &[u8], pos: usize) -> (usize, usize) {
    match src[pos.min(src.len())..].iter().position(|b| *b == b'\n') {
        Some(i) => {
            let nl = pos + i;
            let end = if nl > 0 && src[nl - 1] == b'\r' { nl - 1 } else { nl };
            (end.max(pos), nl + 1)
        }
        None => (src.len(), src.len()),
    }
}

fn trim_bytes(b: &[u8]) -> &[u8] {
    let s = b.iter().position(|c| !matches!(c, b' ' | b'\t' | b'\r')).unwrap_or(b.len());
    let e = b.iter().rposition(|c| !matches!(c, b' ' | b'\t' | b'\r')).map_or(s, |i| i + 1);
    &b[s..e.max(s)]
}

fn trim_end_bytes(b: &[u8]) -> &[u8] {
    let e = b.iter().rposition(|c| !matches!(c, b' ' | b'\t' | b'\r')).map_or(0, |i| i + 1);
    &b[..e]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply_edits;
    use crate::walk::stage_states;
    use dockfix_syntax::parse_str;

    /// Applies `f` to the script of the last instruction of `src`.
    fn edit(src: &str, f: impl Fn(&Script<'_>) -> Option<Vec<Edit>>) -> Option<String> {
        let doc = parse_str(src).unwrap();
        let stage = doc.stages().pop().unwrap();
        let states = stage_states(&doc, &stage);
        let idx = doc.instructions.iter().rposition(|i| i.kind == dockfix_syntax::Kind::Run).unwrap();
        let st = &states[idx - stage.body.start];
        let s = Script::new(&doc, &doc.instructions[idx], st).unwrap();
        let edits = f(&s)?;
        let refs: Vec<&Edit> = edits.iter().collect();
        let out = String::from_utf8(apply_edits(src.as_bytes(), &refs).unwrap()).unwrap();
        dockfix_syntax::parse_str(&out).unwrap();
        Some(out)
    }

    fn word<'s>(s: &'s Script<'_>, v: &str) -> &'s Word {
        s.cmds.iter().flat_map(|c| c.words.iter().chain(&c.assigns)).find(|w| w.value == v).unwrap()
    }

    fn drop_word(src: &str, v: &str) -> Option<String> {
        edit(src, |s| Some(vec![s.remove_word(word(s, v))?]))
    }

    fn drop_cmd(src: &str, prog: &str) -> Option<String> {
        edit(src, |s| {
            let i = s.cmds.iter().position(|c| c.program() == Some(prog)).unwrap();
            Some(vec![s.remove_cmd(i)?])
        })
    }

    #[test]
    fn removes_words_in_every_layout() {
        let d = |s: &str| drop_word(s, "--no-cache-dir").unwrap();
        assert_eq!(d("FROM a\nRUN pip install --no-cache-dir -r r.txt\n"), "FROM a\nRUN pip install -r r.txt\n");
        assert_eq!(d("FROM a\nRUN pip install --no-cache-dir\n"), "FROM a\nRUN pip install\n");
        assert_eq!(
            d("FROM a\nRUN pip install \\\n      --no-cache-dir \\\n      -r r.txt\n"),
            "FROM a\nRUN pip install \\\n      -r r.txt\n"
        );
        assert_eq!(
            d("FROM a\nRUN pip install -r r.txt \\\n      --no-cache-dir\nCMD x\n"),
            "FROM a\nRUN pip install -r r.txt\nCMD x\n"
        );
        assert_eq!(
            d("FROM a\r\nRUN pip install -r r.txt \\\r\n      --no-cache-dir\r\n"),
            "FROM a\r\nRUN pip install -r r.txt\r\n"
        );
        assert_eq!(
            d("FROM a\nRUN pip install \\\n    --no-cache-dir -r r.txt\n"),
            "FROM a\nRUN pip install \\\n    -r r.txt\n"
        );
        assert_eq!(
            d("# escape=`\nFROM a\nRUN pip install `\n  --no-cache-dir `\n  -r r.txt\n"),
            "# escape=`\nFROM a\nRUN pip install `\n  -r r.txt\n"
        );
        assert_eq!(
            d("FROM a\nRUN [\"pip\", \"install\", \"--no-cache-dir\", \"-r\", \"r.txt\"]\n"),
            "FROM a\nRUN [\"pip\", \"install\", \"-r\", \"r.txt\"]\n"
        );
        assert_eq!(
            d("FROM a\nRUN [\"pip\", \"install\", \"--no-cache-dir\"]\n"),
            "FROM a\nRUN [\"pip\", \"install\"]\n"
        );
        assert_eq!(
            d("FROM a\nRUN <<EOF\nset -e\npip install --no-cache-dir -r r.txt\nEOF\n"),
            "FROM a\nRUN <<EOF\nset -e\npip install -r r.txt\nEOF\n"
        );
        // A comment line above the last line: refuse rather than guess.
        assert_eq!(
            drop_word("FROM a\nRUN pip install -r r.txt \\\n# c\n      --no-cache-dir\n", "--no-cache-dir"),
            None
        );
    }

    #[test]
    fn removes_a_leading_assignment() {
        let out = edit("FROM a\nRUN PIP_NO_CACHE_DIR=1 pip install x\n", |s| {
            let w = &s.cmds[0].assigns[0];
            Some(vec![s.remove_word(w)?, s.insert_flags(&["--mount=A".into()])])
        });
        assert_eq!(out.unwrap(), "FROM a\nRUN --mount=A pip install x\n");
    }

    #[test]
    fn removes_commands_with_their_operator() {
        assert_eq!(
            drop_cmd("FROM a\nRUN apt-get update && apt-get install -y x && rm -rf /var/lib/apt/lists/*\n", "rm")
                .unwrap(),
            "FROM a\nRUN apt-get update && apt-get install -y x\n"
        );
        assert_eq!(
            drop_cmd(
                "FROM a\nRUN apt-get update \\\n    && apt-get install -y x \\\n    && rm -rf /var/lib/apt/lists/*\n",
                "rm"
            )
            .unwrap(),
            "FROM a\nRUN apt-get update \\\n    && apt-get install -y x\n"
        );
        assert_eq!(
            drop_cmd(
                "FROM a\nRUN apt-get update && \\\n    apt-get install -y x && \\\n    rm -rf /var/lib/apt/lists/*\n",
                "rm"
            )
            .unwrap(),
            "FROM a\nRUN apt-get update && \\\n    apt-get install -y x\n"
        );
        assert_eq!(
            edit("FROM a\nRUN apt-get update \\\n && apt-get clean \\\n && echo done\n", |s| Some(vec![
                s.remove_cmd(1)?
            ]))
            .unwrap(),
            "FROM a\nRUN apt-get update \\\n && echo done\n"
        );
        assert_eq!(drop_cmd("FROM a\nRUN npm cache clean --force && npm ci\n", "npm").unwrap(), "FROM a\nRUN npm ci\n");
        // Inside `if`: never.
        assert_eq!(drop_cmd("FROM a\nRUN if [ -d x ]; then rm -rf x; fi && true\n", "rm"), None);
        // `||` after: never.
        assert_eq!(drop_cmd("FROM a\nRUN a && rm -rf x || b\n", "rm"), None);
    }

    #[test]
    fn removes_adjacent_commands() {
        let src = "FROM a\nRUN rm -rf /x && apt-get clean && apt-get update && apt-get install y && rm -rf /l/* && apt-get clean\n";
        let out = edit(src, |s| s.remove_cmds(&[0, 1, 4, 5])).unwrap();
        assert_eq!(out, "FROM a\nRUN apt-get update && apt-get install y\n");
        assert!(edit("FROM a\nRUN rm -rf /x && apt-get clean\n", |s| s.remove_cmds(&[0, 1])).is_none());
    }

    #[test]
    fn keeps_the_line_structure() {
        let src = "FROM a\nRUN apt-get update && \\\n    rm -rf /var/lib/apt/lists/* && rm -rf /tmp/*\n";
        let out = edit(src, |s| s.remove_cmds(&[1])).unwrap();
        assert_eq!(out, "FROM a\nRUN apt-get update && \\\n    rm -rf /tmp/*\n");
        let src = "FROM a\nRUN apt-get update \\\n    && rm -rf /var/lib/apt/lists/* && rm -rf /tmp/*\n";
        let out = edit(src, |s| s.remove_cmds(&[1])).unwrap();
        assert_eq!(out, "FROM a\nRUN apt-get update \\\n    && rm -rf /tmp/*\n");
    }

    #[test]
    fn removes_commands_in_heredocs() {
        let src = "FROM a\nRUN <<EOF\nset -e\nnpm ci\nnpm cache clean --force\nEOF\n";
        let out = edit(src, |s| Some(vec![s.remove_cmd(2)?])).unwrap();
        assert_eq!(out, "FROM a\nRUN <<EOF\nset -e\nnpm ci\nEOF\n");
    }

    #[test]
    fn inserts_flags_keeping_layout() {
        let f =
            |src: &str| edit(src, |s| Some(vec![s.insert_flags(&["--mount=A".into(), "--mount=B".into()])])).unwrap();
        assert_eq!(f("FROM a\nRUN pip install x\n"), "FROM a\nRUN --mount=A --mount=B pip install x\n");
        assert_eq!(f("FROM a\nrun pip install x"), "FROM a\nrun --mount=A --mount=B pip install x");
        assert_eq!(
            f("FROM a\nRUN apt-get update \\\n    && apt-get install -y x\n"),
            "FROM a\nRUN --mount=A \\\n    --mount=B \\\n    apt-get update \\\n    && apt-get install -y x\n"
        );
        assert_eq!(
            f("FROM a\nRUN --mount=type=secret,id=s \\\n  npm ci\n"),
            "FROM a\nRUN --mount=type=secret,id=s \\\n  --mount=A \\\n  --mount=B \\\n  npm ci\n"
        );
        assert_eq!(
            f("FROM a\r\n  RUN \\\r\n\tpip install x\r\n"),
            "FROM a\r\n  RUN \\\r\n\t--mount=A \\\r\n\t--mount=B \\\r\n\tpip install x\r\n"
        );
        assert_eq!(
            f("FROM a\nRUN [\"pip\", \"install\", \"x\"]\n"),
            "FROM a\nRUN --mount=A --mount=B [\"pip\", \"install\", \"x\"]\n"
        );
        assert_eq!(
            f("FROM a\nRUN <<EOF\npip install x\nEOF\n"),
            "FROM a\nRUN --mount=A --mount=B <<EOF\npip install x\nEOF\n"
        );
    }

    #[test]
    fn inserts_and_replaces_words() {
        let out = edit("FROM a\nRUN apt-get install -y x\n", |s| {
            Some(vec![s.insert_after(word(s, "apt-get"), &["-o", "A=B"])?])
        });
        assert_eq!(out.unwrap(), "FROM a\nRUN apt-get -o A=B install -y x\n");
        let out = edit("FROM a\nRUN [\"apk\", \"add\", \"--no-cache\", \"x\"]\n", |s| {
            Some(vec![s.replace_word(word(s, "--no-cache"), "--update-cache")?])
        });
        assert_eq!(out.unwrap(), "FROM a\nRUN [\"apk\", \"add\", \"--update-cache\", \"x\"]\n");
    }

    #[test]
    fn unwraps_prefixes() {
        let doc = parse_str("FROM a\nRUN env PIP_NO_CACHE_DIR=1 pip install x && sudo -E apt-get update\n").unwrap();
        let stage = doc.stages().pop().unwrap();
        let st = stage_states(&doc, &stage);
        let s = Script::new(&doc, &doc.instructions[1], &st[0]).unwrap();
        assert_eq!(s.cmds[0].program(), Some("pip"));
        assert_eq!(s.cmds[0].assigns[0].value, "PIP_NO_CACHE_DIR=1");
        assert_eq!(s.cmds[1].program(), Some("apt-get"));
        assert!(s.cmds[1].sudo);
    }
}
