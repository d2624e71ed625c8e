//! Pass `reorder`: copy the dependency manifests and run the install before
//! the broad source copy, so that a source edit no longer re-runs the
//! install.
//!
//! ```text
//! COPY . .                                  COPY requirements.txt .
//! RUN pip install -r requirements.txt  =>   RUN pip install -r requirements.txt
//!                                           COPY . .
//! ```
//!
//! The broad copy moves down to just after the install (with its comments);
//! the manifests it provided are copied right before the install, with the
//! same ownership flags. Everything in between keeps its place, and is
//! checked: nothing between may read the sources or write where they go.

mod commands;
mod python;

use std::collections::BTreeSet;

use dockfix_core::layout;
use dockfix_core::walk::{stage_states, State, Workdir};
use dockfix_core::{Applicability, Context, Edit, Finding, Fix, Pass};
use dockfix_syntax::{Document, Instruction, Kind};

use commands::{analyze, Install};

pub const NAME: &str = "reorder";

/// The pass.
pub struct Reorder;

impl Pass for Reorder {
    fn name(&self) -> &'static str {
        NAME
    }
    fn summary(&self) -> &'static str {
        "Copy dependency manifests and install dependencies before copying the sources"
    }
    fn explanation(&self) -> &'static str {
        include_str!("../EXPLAIN.md")
    }
    fn applicability(&self) -> Applicability {
        Applicability::Safe
    }
    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        let doc = cx.doc;
        let mut out = Vec::new();
        for stage in doc.stages() {
            let states = stage_states(doc, &stage);
            for (k, idx) in stage.body.clone().enumerate() {
                let ins = &doc.instructions[idx];
                let Some(copy) = BroadCopy::new(cx, ins, &states[k]) else { continue };
                if let Some(f) = plan(cx, idx, &copy, &stage.body, &states[k..]) {
                    out.push(f);
                }
            }
        }
        out
    }
}

/// A copy of a whole directory of the build context.
struct BroadCopy {
    /// Its context-relative directory (`""` for the root).
    context_dir: String,
    /// The destination directory in the image.
    dest: Workdir,
    /// The destination as written.
    dest_text: String,
    /// Flags to carry to the manifest copy.
    flags: Vec<String>,
    /// The instruction text for messages (`COPY . .`).
    text: String,
}

impl BroadCopy {
    fn new(cx: &Context<'_>, ins: &Instruction, state: &State) -> Option<BroadCopy> {
        if !matches!(ins.kind, Kind::Copy | Kind::Add) || !ins.heredocs.is_empty() {
            return None;
        }
        if ins.flags.iter().any(|f| matches!(f.name(), "from" | "parents")) {
            return None;
        }
        let args = ins.arg_values();
        if args.len() != 2 {
            return None;
        }
        let (src, dest) = (args[0], args[1]);
        if src.contains("://") || src.contains('$') || src.contains(['*', '?', '[']) {
            return None;
        }
        let rel = src.trim_start_matches("./").trim_end_matches('/');
        let rel = if rel == "." { "" } else { rel };
        if !rel.is_empty() && !cx.context_has_dir(rel) {
            return None;
        }
        if rel.split('/').any(|c| c == "..") {
            return None;
        }
        let dest_expanded = state.expand(dest)?;
        let flags = ins
            .flags
            .iter()
            .filter(|f| matches!(f.name(), "chown" | "chmod" | "link"))
            .map(|f| ins.text_of(&f.span).to_string())
            .collect();
        Some(BroadCopy {
            context_dir: rel.to_string(),
            dest: state.workdir.join(&dest_expanded),
            dest_text: dest.to_string(),
            flags,
            text: format!("{} {} {}", ins.keyword, src, dest),
        })
    }

    /// The context path of an in-image file the copy provides.
    fn context_path(&self, file: &Workdir) -> Option<String> {
        let rel = file.relative_to(&self.dest)?;
        if rel.is_empty() {
            return None;
        }
        Some(if self.context_dir.is_empty() { rel } else { format!("{}/{}", self.context_dir, rel) })
    }
}

/// Why an instruction between the copy and the install stops the move.
fn between_blocker(cx: &Context<'_>, ins: &Instruction, state: &State, copy: &BroadCopy) -> Option<String> {
    match ins.kind {
        Kind::Run => {
            let a = analyze(ins, state, &copy.dest);
            if let Some(b) = a.blockers.first() {
                return Some(b.clone());
            }
            if let Some(i) = a.installs.iter().find(|i| i.needs_source.is_some() || !i.reads.is_empty()) {
                return Some(format!("`{}` runs first", i.label));
            }
            None
        }
        Kind::Copy | Kind::Add => {
            let args = ins.arg_values();
            let dest = args.last().and_then(|d| state.expand(d)).map(|d| state.workdir.join(&d))?;
            let overlaps = dest.is_within(&copy.dest) != Some(false) || copy.dest.is_within(&dest) != Some(false);
            let _ = cx;
            overlaps.then(|| format!("`{}` copies into the same place", one_line(ins)))
        }
        Kind::Volume => {
            let hit = ins.args.iter().any(|a| {
                state
                    .expand(&a.value)
                    .map(|v| state.workdir.join(&v))
                    .is_none_or(|v| v.is_within(&copy.dest) != Some(false))
            });
            hit.then(|| "a VOLUME is declared where the sources go".to_string())
        }
        Kind::Onbuild => Some("an ONBUILD trigger is in between".into()),
        _ => None,
    }
}

fn one_line(ins: &Instruction) -> String {
    let t = ins.line.text().trim();
    let t: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 80 {
        format!("{}…", t.chars().take(79).collect::<String>())
    } else {
        t
    }
}

/// Finds the first install after the copy and proposes the move, or says
/// why not.
fn plan(
    cx: &Context<'_>,
    copy_idx: usize,
    copy: &BroadCopy,
    body: &std::ops::Range<usize>,
    states: &[State],
) -> Option<Finding> {
    let doc = cx.doc;
    let copy_ins = &doc.instructions[copy_idx];
    let copy_range = copy_ins.span.clone();
    let mut blocker: Option<String> = None;
    for (k, idx) in (copy_idx + 1..body.end).enumerate() {
        let ins = &doc.instructions[idx];
        let state = &states[k + 1];
        if ins.kind == Kind::Run {
            let a = analyze(ins, state, &copy.dest);
            let target = a.installs.iter().find(|i| i.reads.iter().any(|r| copy.context_path(r).is_some()));
            if let Some(inst) = target {
                return Some(decide(cx, copy_idx, idx, copy, inst, &a, blocker, state, &states[0]));
            }
            if let Some(inst) = a.installs.iter().find(|i| i.needs_source.is_some()) {
                // `pip install .` straight after the copy: it needs the sources.
                if blocker.is_none() {
                    let why = inst.needs_source.clone().unwrap_or_default();
                    return Some(refusal(copy_range, copy, &inst.label, &why));
                }
            }
        }
        if blocker.is_none() {
            blocker = between_blocker(cx, ins, state, copy);
        }
    }
    None
}

fn refusal(range: std::ops::Range<usize>, copy: &BroadCopy, install: &str, why: &str) -> Finding {
    Finding::new(NAME, range, format!("`{install}` after `{}` cannot be moved before the source copy", copy.text))
        .why(format!("{why}. dockfix leaves the order as it is."))
        .fix(Fix::display_only("Keep the current order"))
}

#[allow(clippy::too_many_arguments)]
fn decide(
    cx: &Context<'_>,
    copy_idx: usize,
    run_idx: usize,
    copy: &BroadCopy,
    inst: &Install,
    analysis: &commands::RunAnalysis,
    blocker: Option<String>,
    run_state: &State,
    copy_state: &State,
) -> Finding {
    let doc = cx.doc;
    let copy_range = doc.instructions[copy_idx].span.clone();
    if let Some(why) = &inst.needs_source {
        return refusal(copy_range, copy, &inst.label, why);
    }
    if let Some(b) = blocker {
        return refusal(copy_range, copy, &inst.label, &format!("between them, {b}"));
    }
    if let Some(b) = analysis.blockers.first() {
        return refusal(copy_range, copy, &inst.label, &format!("in the same RUN, {b}; split that RUN first"));
    }
    if let Some(other) = analysis.installs.iter().find(|i| i.needs_source.is_some()) {
        return refusal(copy_range, copy, &inst.label, other.needs_source.as_deref().unwrap_or_default());
    }
    // The copy must land in the same place after the move.
    let dest_after = run_state.expand(&copy.dest_text).map(|d| run_state.workdir.join(&d));
    if dest_after.as_ref() != Some(&copy.dest) || matches!(copy.dest, Workdir::Unknown) {
        return refusal(
            copy_range,
            copy,
            &inst.label,
            "a WORKDIR or variable between them changes where the copy goes",
        );
    }
    if copy_state.env != run_state.env && copy.flags.iter().any(|f| f.contains('$')) {
        return refusal(copy_range, copy, &inst.label, "an ENV between them changes the copy's flags");
    }

    // Every file the installs of this RUN read, in the context.
    let mut files: Vec<String> = Vec::new();
    for i in &analysis.installs {
        for r in &i.reads {
            match copy.context_path(r) {
                Some(p) => files.push(p),
                None => {
                    return refusal(
                        copy_range,
                        copy,
                        &inst.label,
                        &format!("`{}` reads a file that `{}` does not provide", i.label, copy.text),
                    )
                }
            }
        }
    }
    // Requirement files and what they include.
    let mut queue: Vec<String> = files.clone();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some(f) = queue.pop() {
        if !seen.insert(f.clone()) {
            continue;
        }
        let Some(text) = cx.read_context(&f) else {
            return refusal(copy_range, copy, &inst.label, &format!("`{f}` is not in the build context"));
        };
        if inst.manager == "pip" {
            let req = python::parse_requirements(&text);
            if let Some(why) = req.needs_source {
                return refusal(copy_range, copy, &inst.label, &format!("`{f}`: {why}"));
            }
            let dir = f.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            for inc in req.includes {
                let p = if inc.starts_with('/') {
                    return refusal(copy_range, copy, &inst.label, &format!("`{f}` includes `{inc}` by absolute path"));
                } else if dir.is_empty() {
                    inc.trim_start_matches("./").to_string()
                } else {
                    format!("{dir}/{}", inc.trim_start_matches("./"))
                };
                if p.split('/').any(|c| c == "..")
                    || (!copy.context_dir.is_empty() && !p.starts_with(&copy.context_dir))
                {
                    return refusal(
                        copy_range,
                        copy,
                        &inst.label,
                        &format!("`{f}` includes `{inc}`, outside the copied directory"),
                    );
                }
                files.push(p.clone());
                queue.push(p);
            }
        }
    }
    let mut uniq = Vec::new();
    for f in files {
        if !uniq.contains(&f) {
            uniq.push(f);
        }
    }

    let uniq_len = uniq.len();
    let edits = build_edits(doc, copy_idx, run_idx, copy, &uniq);
    let names: Vec<&str> = uniq.iter().map(String::as_str).collect();
    let list = names.join(", ");
    Finding::new(NAME, copy_range, format!("`{}` before `{}` re-runs the install on every source change", copy.text, inst.label))
        .why(format!(
            "BuildKit re-runs every step after the first one whose inputs changed. `{}` changes with any source edit, so the dependency install after it re-runs each time, downloading and building every package again.",
            copy.text
        ))
        .gain(format!(
            "A source edit re-runs only the steps from `{}` on; `{}` stays cached until {} {}.",
            copy.text,
            inst.label,
            list,
            if uniq_len == 1 { "changes" } else { "change" }
        ))
        .fix(Fix::safe(format!("Copy {list} first, install, then copy the sources"), edits))
}

/// The manifest copies, grouped by directory: `COPY a b ./dir/`.
fn manifest_copies(doc: &Document, copy_idx: usize, copy: &BroadCopy, files: &[String]) -> Vec<String> {
    let ins = &doc.instructions[copy_idx];
    let lower = ins.keyword.chars().all(|c| c.is_ascii_lowercase());
    let kw = if lower { "copy" } else { "COPY" };
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for f in files {
        let rel = if copy.context_dir.is_empty() { f.as_str() } else { &f[copy.context_dir.len() + 1..] };
        let dir = rel.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
        match groups.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, v)) => v.push(f.clone()),
            None => groups.push((dir, vec![f.clone()])),
        }
    }
    let base = copy.dest_text.as_str();
    groups
        .into_iter()
        .map(|(dir, srcs)| {
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

fn build_edits(doc: &Document, copy_idx: usize, run_idx: usize, copy: &BroadCopy, files: &[String]) -> Vec<Edit> {
    let copy_block = layout::block(doc, copy_idx);
    let mut moved = layout::lines_text(doc, copy_block.clone());
    // A copy that stood as its own paragraph (a blank line after it) stays one.
    let blank_after = |idx: usize| {
        let next = doc.instructions[idx].end_line + 1;
        doc.trivia_at_line(next).is_some_and(|t| t.kind == dockfix_syntax::TriviaKind::Blank)
    };
    if blank_after(copy_idx) {
        let eol = layout::eol(doc);
        let run_end = doc.instructions[run_idx].end_line;
        let at_eof = run_end >= doc.line_count();
        moved = format!("{eol}{moved}");
        if !at_eof && !blank_after(run_idx) {
            moved.push_str(eol);
        }
    }
    let delete = layout::delete_lines(doc, copy_block);
    let lines = manifest_copies(doc, copy_idx, copy, files);
    // The manifest copy joins the install's paragraph: below the install's
    // comments, unless they hold a directive for the RUN (a suppression).
    let comments = doc.leading_comments(run_idx);
    let directive_like = String::from_utf8_lossy(&doc.source()[comments.clone()]).lines().any(|l| {
        let t = l.trim_start().trim_start_matches('#').trim_start();
        t.starts_with("hadolint") || t.starts_with("dockfix") || t.starts_with("check=")
    });
    let insert_manifests = if comments.is_empty() || directive_like {
        layout::insert_before(doc, run_idx, &lines)
    } else {
        let ind = layout::indent(doc, &doc.instructions[run_idx]);
        let text: String = lines.iter().map(|l| format!("{ind}{l}{}", layout::eol(doc))).collect();
        Edit::insert(doc.instructions[run_idx].lines.start, text)
    };
    let insert_copy = layout::insert_text_after(doc, run_idx, &moved);
    vec![delete, insert_manifests, insert_copy]
}
