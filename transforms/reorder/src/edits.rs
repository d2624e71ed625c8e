//! Text and edits: the manifest copies, the deps-only form of a split
//! install, the RUN lines dockfix writes, and the wording of findings.

use std::ops::Range;

use dockfix_core::layout;
use dockfix_core::{Edit, Finding, Fix};
use dockfix_syntax::{Document, Instruction};

use crate::commands::{Cmd, Split};
use crate::context::{self, ContextView};
use crate::{BroadCopy, NAME};

/// `a, b` for messages: context paths relative to the copied directory.
pub fn display_files(copy: &BroadCopy, files: &[String]) -> String {
    files
        .iter()
        .map(|f| {
            if copy.context_dir.is_empty() {
                f.clone()
            } else {
                f.strip_prefix(&format!("{}/", copy.context_dir)).unwrap_or(f).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) if f.is_ascii_lowercase() => f.to_ascii_uppercase().to_string() + c.as_str(),
        _ => s.to_string(),
    }
}

pub fn one_line(ins: &Instruction) -> String {
    let t = ins.line.text().trim();
    let t: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 80 {
        format!("{}…", t.chars().take(79).collect::<String>())
    } else {
        t
    }
}

pub fn refusal(range: Range<usize>, copy: &BroadCopy, install: &str, why: &str) -> Finding {
    Finding::new(NAME, range, format!("`{install}` after `{}` cannot be moved before the source copy", copy.text))
        .why(format!("{why}. dockfix leaves the order as it is."))
        .fix(Fix::display_only("Keep the current order"))
}

/// The manifest copies: files grouped by directory (`COPY a b ./dir/`),
/// each directory copied on its own line.
pub fn manifest_copies(
    doc: &Document,
    copy_idx: usize,
    copy: &BroadCopy,
    files: &[String],
    view: &ContextView<'_>,
) -> Vec<String> {
    let ins = &doc.instructions[copy_idx];
    let lower = ins.keyword.chars().all(|c| c.is_ascii_lowercase());
    let kw = if lower { "copy" } else { "COPY" };
    // (destination directory relative to the copy, sources, is a directory copy)
    let mut groups: Vec<(String, Vec<String>, bool)> = Vec::new();
    for f in files {
        let rel = if copy.context_dir.is_empty() { f.as_str() } else { &f[copy.context_dir.len() + 1..] };
        if view.is_dir(f) {
            groups.push((rel.to_string(), vec![f.clone()], true));
            continue;
        }
        let dir = rel.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
        match groups.iter_mut().find(|(d, _, is_dir)| *d == dir && !is_dir) {
            Some((_, v, _)) => v.push(f.clone()),
            None => groups.push((dir, vec![f.clone()], false)),
        }
    }
    let base = copy.dest_text.as_str();
    groups
        .into_iter()
        .map(|(dir, srcs, _)| {
            let dest = if dir.is_empty() {
                // Several sources need a directory destination ending in `/`
                // (the classic builder insists; BuildKit reads `.` as `./`).
                if (base == "." && srcs.len() == 1) || base.ends_with('/') {
                    base.to_string()
                } else {
                    format!("{base}/")
                }
            } else {
                let b = if base == "." || base == "./" {
                    "./".to_string()
                } else {
                    format!("{}/", base.trim_end_matches('/'))
                };
                format!("{b}{dir}/")
            };
            let mut parts = vec![kw.to_string()];
            parts.extend(copy.flags.iter().cloned());
            parts.extend(srcs.iter().map(|s| layout::quote_arg(s)));
            parts.push(layout::quote_arg(&dest));
            parts.join(" ")
        })
        .collect()
}

/// The manifest copy joins the install's paragraph: below the install's
/// comments, unless they hold a directive for the RUN (a suppression).
pub fn insert_manifests(doc: &Document, run_idx: usize, lines: &[String]) -> Edit {
    let comments = doc.leading_comments(run_idx);
    let directive_like = String::from_utf8_lossy(&doc.source()[comments.clone()]).lines().any(|l| {
        let t = l.trim_start().trim_start_matches('#').trim_start();
        t.starts_with("hadolint") || t.starts_with("dockfix") || t.starts_with("check=")
    });
    if comments.is_empty() || directive_like {
        layout::insert_before(doc, run_idx, lines)
    } else {
        let ind = layout::indent(doc, &doc.instructions[run_idx]);
        let text: String = lines.iter().map(|l| format!("{ind}{l}{}", layout::eol(doc))).collect();
        Edit::insert(doc.instructions[run_idx].lines.start, text)
    }
}

/// The deps-only edits of a split install, and its deps-only command text.
pub fn split_edits(ins: &Instruction, cmd: &Cmd, s: &Split) -> (Vec<Edit>, String) {
    let mut edits = Vec::new();
    let mut words: Vec<Option<String>> = cmd.raw.iter().cloned().map(Some).collect();
    for (k, text) in &s.replace {
        let Some(span) = cmd.spans.get(*k) else { continue };
        if text.is_empty() {
            // Remove the word and the blank before it.
            let prev = if *k > 0 { cmd.spans[*k - 1].end } else { span.start };
            edits.push(Edit::delete(ins.source_range(prev..span.end)));
        } else {
            edits.push(Edit::replace(ins.source_range(span.clone()), text.clone()));
        }
        words[*k] = (!text.is_empty()).then(|| text.clone());
    }
    if !s.append.is_empty() {
        // After the last word (an insertion where a replaced word ends does
        // not overlap the replacement).
        if let Some(last) = cmd.spans.last() {
            let at = ins.source_range(last.clone()).end;
            edits.push(Edit::insert(at, format!(" {}", s.append.join(" "))));
        }
    }
    let mut parts: Vec<String> = cmd.assigns.clone();
    parts.extend(words.into_iter().flatten());
    parts.extend(s.append.iter().cloned());
    (edits, parts.join(" "))
}

/// A RUN line with the flags of `ins` running `cmd`.
pub fn run_line(ins: &Instruction, cmd: &str) -> String {
    let mut parts = vec![ins.keyword.clone()];
    parts.extend(ins.flags.iter().map(|f| ins.text_of(&f.span).to_string()));
    parts.push(cmd.to_string());
    parts.join(" ")
}

/// Directory reads under one parent that together are all the parent holds
/// become one copy of the parent (`.yarn/releases` + `.yarn/plugins` → `.yarn`).
pub fn collapse_dirs(view: &ContextView<'_>, files: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in &files {
        let Some((parent, _)) = f.rsplit_once('/') else {
            out.push(f.clone());
            continue;
        };
        if !view.is_dir(f) || !parent.starts_with('.') {
            out.push(f.clone());
            continue;
        }
        let entries = view.list(parent);
        let all = entries.len() > 1 && entries.iter().all(|e| files.contains(&context::join(parent, &e.name)));
        if all {
            if !out.iter().any(|o| o == parent) {
                out.push(parent.to_string());
            }
        } else {
            out.push(f.clone());
        }
    }
    out
}
