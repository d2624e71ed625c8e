//! Renderers: the explained unified diff of `--dry-run`, the finding list of
//! `check`, and JSON.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::Path;

use anstyle::{AnsiColor, Style};
use dockfix_core::{Applicability, Reported};
use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::plan::FilePlan;

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const RED: Style = AnsiColor::Red.on_default();
const GREEN: Style = AnsiColor::Green.on_default();
const CYAN: Style = AnsiColor::Cyan.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();

fn paint(s: Style, text: &str) -> String {
    format!("{}{text}{}", s.render(), s.render_reset())
}

/// `path:line:col`.
pub fn location(path: &Path, r: &Reported) -> String {
    format!("{}:{}:{}", path.display(), r.line, r.column)
}

fn fix_note(r: &Reported) -> Option<String> {
    let fix = r.finding.fix.as_ref()?;
    let class = match fix.applicability {
        Applicability::Safe => "safe fix",
        Applicability::Unsafe if r.applied => "unsafe fix",
        Applicability::Unsafe => "unsafe fix, not applied without --unsafe-fixes",
        Applicability::DisplayOnly => "no automatic fix",
    };
    Some(format!("{} ({class})", fix.title))
}

/// A finding with its explanation, as lines.
pub fn finding_block(w: &mut dyn Write, path: &Path, r: &Reported, detail: bool) -> io::Result<()> {
    writeln!(
        w,
        "{} {} {}",
        paint(BOLD, &format!("{}:", location(path, r))),
        paint(CYAN, r.finding.pass),
        r.finding.message
    )?;
    if detail {
        if !r.finding.why.is_empty() {
            writeln!(w, "  {} {}", paint(DIM, "why: "), r.finding.why)?;
        }
        if let Some(g) = &r.finding.gain {
            writeln!(w, "  {} {}", paint(DIM, "gain:"), g)?;
        }
    }
    if let Some(n) = fix_note(r) {
        writeln!(w, "  {} {}", paint(DIM, "fix: "), n)?;
    }
    Ok(())
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One file's unified diff, each hunk preceded by the findings that explain it.
/// `explained` collects the indices of findings printed.
pub fn file_diff(
    w: &mut dyn Write,
    display: &Path,
    before: &[u8],
    after: &[u8],
    findings: &[Reported],
    explained: &mut BTreeSet<usize>,
    created: bool,
) -> io::Result<()> {
    let (old, new) = (lossy(before), lossy(after));
    let diff = TextDiff::from_lines(&old, &new);
    // `a/tmp/x`, not `a//tmp/x`, for absolute paths.
    let shown = display.display().to_string();
    let shown = shown.trim_start_matches('/');
    let a = if created { "/dev/null".to_string() } else { format!("a/{shown}") };
    writeln!(w, "{}", paint(BOLD, &format!("--- {a}")))?;
    writeln!(w, "{}", paint(BOLD, &format!("+++ b/{shown}")))?;
    let udiff = diff.unified_diff();
    let mut udiff = udiff;
    udiff.context_radius(3);
    for hunk in udiff.iter_hunks() {
        let ops = hunk.ops();
        let (Some(first), Some(last)) = (ops.first(), ops.last()) else { continue };
        let old_start = first.old_range().start + 1;
        let old_end = last.old_range().end + 1;
        for (i, r) in findings.iter().enumerate() {
            if !r.applied || explained.contains(&i) {
                continue;
            }
            let touches = r.edit_lines.iter().any(|l| l.start <= old_end && l.end >= old_start);
            if touches {
                explained.insert(i);
                finding_block(w, display, r, true)?;
            }
        }
        writeln!(w, "{}", paint(CYAN, &hunk.header().to_string()))?;
        for change in hunk.iter_changes() {
            let (sign, style) = match change.tag() {
                ChangeTag::Delete => ("-", RED),
                ChangeTag::Insert => ("+", GREEN),
                ChangeTag::Equal => (" ", Style::new()),
            };
            let line = change.value();
            let body = line.strip_suffix('\n').unwrap_or(line);
            writeln!(w, "{}", paint(style, &format!("{sign}{body}")))?;
            if change.missing_newline() {
                writeln!(w, "\\ No newline at end of file")?;
            }
        }
    }
    Ok(())
}

/// The dry-run report of one file: its diffs, then findings not shown with a hunk.
pub fn dry_run(w: &mut dyn Write, plan: &FilePlan) -> io::Result<()> {
    let o = &plan.outcome;
    let mut explained = BTreeSet::new();
    if o.source != o.fixed {
        file_diff(w, &plan.path, &o.source, &o.fixed, &o.findings, &mut explained, false)?;
    }
    for fc in &o.files {
        // The findings whose fixes write this file explain its diff, above it.
        for (i, r) in o.findings.iter().enumerate() {
            let edits_it = r.finding.fix.as_ref().is_some_and(|f| {
                f.edits.iter().any(|e| matches!(&e.target, dockfix_core::fix::Target::File(p) if *p == fc.path))
            });
            if r.applied && edits_it && explained.insert(i) {
                finding_block(w, &plan.path, r, true)?;
            }
        }
        file_diff(
            w,
            &fc.path,
            fc.before.as_deref().unwrap_or_default(),
            &fc.after,
            &[],
            &mut explained,
            fc.before.is_none(),
        )?;
    }
    let rest: Vec<usize> = (0..o.findings.len()).filter(|i| !explained.contains(i)).collect();
    for i in rest {
        let r = &o.findings[i];
        // Not applied (display-only, held back), or applied in a hunk that
        // another finding already explained.
        finding_block(w, &plan.path, r, true)?;
    }
    for d in &o.dropped {
        writeln!(w, "{} {}: {d}", paint(YELLOW, "warning:"), plan.path.display())?;
    }
    Ok(())
}

/// One finding in the JSON output.
#[derive(Serialize)]
pub struct JsonFinding<'a> {
    pub file: String,
    pub pass: &'a str,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub message: &'a str,
    pub why: &'a str,
    pub gain: Option<&'a str>,
    pub fix: Option<JsonFix<'a>>,
}

#[derive(Serialize)]
pub struct JsonFix<'a> {
    pub title: &'a str,
    pub applicability: &'a str,
    pub applied: bool,
}

pub fn json_findings<'a>(plan: &'a FilePlan) -> Vec<JsonFinding<'a>> {
    plan.outcome
        .findings
        .iter()
        .map(|r| JsonFinding {
            file: plan.path.display().to_string(),
            pass: r.finding.pass,
            line: r.line,
            column: r.column,
            end_line: r.end_line,
            message: &r.finding.message,
            why: &r.finding.why,
            gain: r.finding.gain.as_deref(),
            fix: r.finding.fix.as_ref().map(|f| JsonFix {
                title: &f.title,
                applicability: f.applicability.as_str(),
                applied: r.applied,
            }),
        })
        .collect()
}
