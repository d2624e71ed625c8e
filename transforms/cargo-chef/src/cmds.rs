//! The commands of a `RUN` (or of a shell-form `CMD`), with each word's
//! value and spelling, the directory changes and exported variables before
//! each one.

use dockfix_syntax::shell::parse_script;
use dockfix_syntax::{Instruction, Span};

use crate::cargo::{quote, W};

/// One simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub words: Vec<W>,
    /// `NAME=value` prefixes, as written.
    pub assigns: Vec<String>,
    /// Variables exported earlier in the same script, as written.
    pub exported: Vec<String>,
    /// A `cd` ran before it in the same script.
    pub after_cd: bool,
    /// Where the command is, in the instruction's logical text (None for
    /// exec form and heredocs).
    pub span: Option<Span>,
    /// Where each word is, in the logical text (same conditions).
    pub word_spans: Vec<Option<Span>>,
}

impl Cmd {
    pub fn name(&self) -> &str {
        self.words.first().map(|w| w.value.rsplit('/').next().unwrap_or(&w.value)).unwrap_or("")
    }

    pub fn args(&self) -> impl Iterator<Item = &W> {
        self.words.iter().skip(1)
    }

    /// The command as written (assignments included).
    pub fn raw(&self) -> String {
        self.assigns.iter().cloned().chain(self.words.iter().map(|w| w.raw.clone())).collect::<Vec<_>>().join(" ")
    }
}

/// The commands of a shell script; `offset` is where the script starts in
/// the logical text (None when it is not in it).
pub fn script_commands(script: &str, offset: Option<usize>) -> Vec<Cmd> {
    let parsed = parse_script(script);
    let mut out = Vec::new();
    let mut exported: Vec<String> = Vec::new();
    let mut after_cd = false;
    for c in parsed.commands {
        let words: Vec<W> =
            c.words.iter().map(|w| W::new(w.value.clone(), script[w.span.clone()].to_string())).collect();
        let assigns: Vec<String> = c.assignments.iter().map(|w| script[w.span.clone()].to_string()).collect();
        let name = words.first().map(|w| w.value.as_str()).unwrap_or("");
        if name == "cd" || name == "pushd" {
            after_cd = true;
        }
        if name == "export" {
            exported.extend(words.iter().skip(1).filter(|w| w.value.contains('=')).map(|w| w.raw.clone()));
        }
        if words.is_empty() && !assigns.is_empty() {
            // `VAR=x` alone sets a shell variable for later commands.
            exported.extend(assigns.iter().cloned());
        }
        out.push(Cmd {
            words,
            assigns,
            exported: exported.clone(),
            after_cd,
            span: offset.map(|o| o + c.span.start..o + c.span.end),
            word_spans: c.words.iter().map(|w| offset.map(|o| o + w.span.start..o + w.span.end)).collect(),
        });
    }
    out
}

/// The commands of a RUN (exec form: one command; a heredoc script: its body).
pub fn run_commands(ins: &Instruction) -> Vec<Cmd> {
    if ins.json {
        let words = ins.args.iter().map(|a| W::new(a.value.clone(), quote(&a.value))).collect();
        return vec![Cmd {
            words,
            assigns: Vec::new(),
            exported: Vec::new(),
            after_cd: false,
            span: None,
            word_spans: Vec::new(),
        }];
    }
    if !ins.heredocs.is_empty() {
        let text = ins.args_text().trim();
        let mut out = Vec::new();
        if text.starts_with("<<") {
            for h in &ins.heredocs {
                out.extend(script_commands(&h.content, None));
            }
        } else {
            out.extend(script_commands(ins.args_text(), None));
        }
        return out;
    }
    script_commands(ins.args_text(), Some(ins.args_span.start))
}

/// `$NAME` and `${NAME…}` references in a text.
pub fn var_refs(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == b'$' {
            let start = if b.get(i + 1) == Some(&b'{') { i + 2 } else { i + 1 };
            let mut j = start;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > start && !b[start].is_ascii_digit() {
                let n = text[start..j].to_string();
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            i = j.max(i + 1);
            continue;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_with_exports_and_cd() {
        let cs = script_commands("export A=1 && RUSTFLAGS='-C x' cargo build --release && cd out && ls", Some(4));
        assert_eq!(cs.len(), 4);
        assert_eq!(cs[1].assigns, ["RUSTFLAGS='-C x'"]);
        assert_eq!(cs[1].exported, ["A=1"]);
        assert_eq!(cs[1].words[0].value, "cargo");
        assert!(!cs[1].after_cd);
        assert!(cs[3].after_cd);
        assert_eq!(cs[1].raw(), "RUSTFLAGS='-C x' cargo build --release");
    }

    #[test]
    fn refs() {
        assert_eq!(var_refs("--bin $APP ${FEAT:-x} \\$NO $1"), ["APP", "FEAT"]);
    }
}
