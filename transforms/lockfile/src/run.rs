//! The commands of a `RUN`, with where each word is written (source bytes)
//! and the directory each runs in (`cd` followed).

use std::ops::Range;

use dockfix_core::walk::{State, Workdir};
use dockfix_syntax::shell::{parse_script, Op};
use dockfix_syntax::{Instruction, Kind};

/// One simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    /// Word values (quotes removed).
    pub words: Vec<String>,
    /// Words as written.
    pub raw: Vec<String>,
    /// Source bytes of each word; empty when the RUN cannot be edited.
    pub spans: Vec<Range<usize>>,
    /// `NAME=value` prefixes (value unquoted).
    pub assigns: Vec<(String, String)>,
    /// The directory it runs in.
    pub cwd: Workdir,
    /// The operator before it.
    pub before: Option<Op>,
}

impl Cmd {
    /// The program name, path stripped.
    pub fn name(&self) -> &str {
        self.words.first().map(|w| w.rsplit('/').next().unwrap_or(w)).unwrap_or("")
    }

    /// A variable from the command's own assignments, then from the state.
    pub fn var<'s>(&'s self, state: &'s State, name: &str) -> Option<&'s str> {
        self.assigns.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).or_else(|| state.var(name))
    }
}

/// The commands of a RUN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    pub cmds: Vec<Cmd>,
    /// Words can be edited in place: shell form without heredocs, or exec
    /// form (`json`).
    pub editable: bool,
    /// Exec form: one command, its words JSON strings.
    pub json: bool,
    /// Subshells, groups, `if`/`for`/…: commands cannot be split apart.
    pub compound: bool,
}

/// Reads a RUN. Exec form is one command; a RUN that is only a heredoc
/// script is read but not editable.
pub fn read(ins: &Instruction, state: &State) -> Option<Run> {
    if ins.kind != Kind::Run {
        return None;
    }
    if ins.json {
        let words: Vec<String> = ins.args.iter().map(|a| a.value.clone()).collect();
        let raw = words.iter().map(|w| dockfix_core::layout::quote_arg(w)).collect();
        let spans: Option<Vec<Range<usize>>> =
            ins.args.iter().map(|a| a.span.clone().map(|s| ins.source_range(s))).collect();
        let editable = spans.is_some();
        let spans = spans.unwrap_or_default();
        let cmd = Cmd { words, raw, spans, assigns: Vec::new(), cwd: state.workdir.clone(), before: None };
        return Some(Run { cmds: vec![cmd], editable, json: true, compound: false });
    }
    let (script, offset, editable) = if ins.heredocs.is_empty() {
        (ins.args_text().to_string(), ins.args_span.start, true)
    } else {
        let text = ins.args_text().trim();
        if ins.heredocs.len() != 1 || !text.starts_with("<<") || text.contains(' ') {
            return None;
        }
        (ins.heredocs[0].content.clone(), 0, false)
    };
    let parsed = parse_script(&script);
    const COMPOUND: &[&str] = &["if", "then", "fi", "for", "do", "done", "while", "until", "case", "esac", "{", "}"];
    let compound = parsed
        .commands
        .iter()
        .any(|c| matches!(c.before, Some((Op::Group, _))) || matches!(c.after, Some((Op::Group, _))))
        || script.split(|c: char| c.is_whitespace() || c == ';').any(|w| COMPOUND.contains(&w));
    let mut cwd = state.workdir.clone();
    let mut cmds = Vec::new();
    for c in parsed.commands {
        let words: Vec<String> = c.words.iter().map(|w| w.value.clone()).collect();
        let raw: Vec<String> = c.words.iter().map(|w| script[w.span.clone()].to_string()).collect();
        let spans = if editable {
            c.words.iter().map(|w| ins.source_range(w.span.start + offset..w.span.end + offset)).collect()
        } else {
            Vec::new()
        };
        let assigns = c
            .assignments
            .iter()
            .filter_map(|a| a.value.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
        let this = cwd.clone();
        if words.first().is_some_and(|w| w == "cd") {
            cwd = match words.get(1).and_then(|d| state.expand(d)) {
                Some(d) if !d.starts_with('~') && d != "-" => cwd.join(&d),
                _ => Workdir::Unknown,
            };
        }
        cmds.push(Cmd { words, raw, spans, assigns, cwd: this, before: c.before.map(|(op, _)| op) });
    }
    Some(Run { cmds, editable, json: false, compound })
}

/// Options and positional arguments of a command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// (word index, option name, value).
    pub opts: Vec<(usize, String, Option<String>)>,
    /// (word index, value).
    pub args: Vec<(usize, String)>,
}

impl Parsed {
    /// Parses `words[start..]`, given the options that take a value.
    pub fn parse(words: &[String], start: usize, value_opts: &[&str]) -> Parsed {
        let mut out = Parsed::default();
        let mut i = start;
        while i < words.len() {
            let w = &words[i];
            if w == "--" {
                out.args.extend(words.iter().enumerate().skip(i + 1).map(|(k, a)| (k, a.clone())));
                break;
            }
            if w.starts_with('-') && w.len() > 1 {
                let (f, v) = match w.split_once('=') {
                    Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                    _ => (w.as_str(), None),
                };
                if v.is_none() && value_opts.contains(&f) {
                    out.opts.push((i, f.to_string(), words.get(i + 1).cloned()));
                    i += 2;
                    continue;
                }
                // `-rfile`, `-cfile`: short options with the value attached.
                if v.is_none() && !w.starts_with("--") && w.len() > 2 {
                    let short = &w[..2];
                    if value_opts.contains(&short) {
                        out.opts.push((i, short.to_string(), Some(w[2..].to_string())));
                        i += 1;
                        continue;
                    }
                }
                out.opts.push((i, f.to_string(), v));
            } else {
                out.args.push((i, w.clone()));
            }
            i += 1;
        }
        out
    }

    pub fn has(&self, names: &[&str]) -> bool {
        self.opts.iter().any(|(_, n, _)| names.contains(&n.as_str()))
    }

    pub fn value(&self, names: &[&str]) -> Option<&str> {
        self.opts.iter().rev().find(|(_, n, _)| names.contains(&n.as_str())).and_then(|(_, _, v)| v.as_deref())
    }

    /// The values of an option, in order, with where the option is.
    pub fn values(&self, names: &[&str]) -> Vec<(usize, String)> {
        self.opts
            .iter()
            .filter(|(_, n, _)| names.contains(&n.as_str()))
            .filter_map(|(i, _, v)| v.clone().map(|v| (*i, v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_syntax::parse_str;
    use std::collections::BTreeMap;

    #[test]
    fn words_map_to_source() {
        let src = "FROM a\nWORKDIR /app\nRUN cd svc && \\\n    X=1 uv sync --frozen\n";
        let doc = parse_str(src).unwrap();
        let st =
            State { workdir: Workdir::Abs("/app".into()), user: None, env: BTreeMap::new(), args: BTreeMap::new() };
        let run = read(&doc.instructions[2], &st).unwrap();
        assert!(run.editable);
        let uv = &run.cmds[1];
        assert_eq!(uv.cwd, Workdir::Abs("/app/svc".into()));
        assert_eq!(&src[uv.spans[1].clone()], "sync");
        assert_eq!(uv.assigns, [("X".to_string(), "1".to_string())]);
        let p = Parsed::parse(&uv.words, 1, &[]);
        assert_eq!(p.args[0].1, "sync");
        let w: Vec<String> = "pip install -rreq.txt -c c.txt .".split(' ').map(str::to_string).collect();
        let p = Parsed::parse(&w, 2, &["-r", "-c"]);
        assert_eq!(p.values(&["-r"]), [(2, "req.txt".to_string())]);
        assert_eq!(p.value(&["-c"]), Some("c.txt"));
        assert_eq!(p.args, [(5, ".".to_string())]);
    }
}
