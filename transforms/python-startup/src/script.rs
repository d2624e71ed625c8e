//! (A trimmed copy of `cache-mounts`' module of the same name: keep the two
//! in step until it moves to `dockfix_core`.)
//!
//! The program of one `RUN` — shell form, a heredoc run by the shell, or the
//! exec form — as commands and words that map back to source bytes, and the
//! edits this pass makes inside it: drop a word, drop a whole command with
//! its `&&`, add a word, add `--mount` flags. Every edit keeps the
//! instruction's continuation style and never touches a comment line; when
//! it cannot, it returns `None` and the caller does not mount.

use std::ops::Range;

use dockfix_core::layout;
use dockfix_core::walk::{State, Workdir};
use dockfix_core::Edit;
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
    pub ins: &'a Instruction,
    pub form: Form,
    base: usize,
    pub cmds: Vec<Cmd>,
}

const SHELLS: &[&str] = &["sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/env"];

impl<'a> Script<'a> {
    /// Reads a RUN. `Err` says why its program is not plain shell.
    pub fn new(_doc: &'a Document, ins: &'a Instruction, state: &State) -> Result<Script<'a>, String> {
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
            let mut s = Script { ins, form: Form::Exec, base: 0, cmds: vec![cmd] };
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
        let mut s = Script { ins, form, base, cmds };
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

    /// Inserts words right after `w` (`apt-get` → `apt-get -o X=Y`).
    pub fn insert_after(&self, w: &Word, words: &[&str]) -> Option<Edit> {
        let r = self.src(&w.span);
        let text: String = match self.form {
            Form::Exec => words.iter().map(|x| format!(", {}", json_string(x))).collect(),
            _ => words.iter().map(|x| format!(" {}", layout::quote_arg(x))).collect(),
        };
        Some(Edit::insert(r.end, text))
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

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_core::apply_edits;
    use dockfix_core::walk::stage_states;
    use dockfix_syntax::parse_str;

    fn add_after(src: &str, word: &str, new: &str) -> String {
        let doc = parse_str(src).unwrap();
        let stage = doc.stages().pop().unwrap();
        let states = stage_states(&doc, &stage);
        let idx = doc.instructions.iter().rposition(|i| i.kind == dockfix_syntax::Kind::Run).unwrap();
        let s = Script::new(&doc, &doc.instructions[idx], &states[idx - stage.body.start]).unwrap();
        let w = s.cmds.iter().flat_map(|c| c.words.iter()).find(|w| w.value == word).unwrap();
        let e = s.insert_after(w, &[new]).unwrap();
        String::from_utf8(apply_edits(src.as_bytes(), &[&e]).unwrap()).unwrap()
    }

    #[test]
    fn inserts_flags_in_every_form() {
        assert_eq!(
            add_after("FROM a\nRUN uv sync --frozen\n", "sync", "--compile-bytecode"),
            "FROM a\nRUN uv sync --compile-bytecode --frozen\n"
        );
        assert_eq!(
            add_after("FROM a\nRUN [\"uv\", \"sync\"]\n", "sync", "--compile-bytecode"),
            "FROM a\nRUN [\"uv\", \"sync\", \"--compile-bytecode\"]\n"
        );
        assert_eq!(
            add_after("FROM a\nRUN <<EOF\nenv X=1 pip install -r r.txt\nEOF\n", "install", "--prefer-binary"),
            "FROM a\nRUN <<EOF\nenv X=1 pip install --prefer-binary -r r.txt\nEOF\n"
        );
    }
}
