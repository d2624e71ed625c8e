//! The batch summary: per Dockerfile (and the compose services built from
//! it) what changed and what it is expected to gain, as a text table,
//! Markdown for a pull request, or JSON.

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::plan::{FileError, FilePlan};

/// One row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Row {
    pub dockerfile: String,
    pub services: Vec<String>,
    /// Passes whose fixes were applied, in order, without repeats.
    pub passes: Vec<String>,
    pub lines_added: usize,
    pub lines_removed: usize,
    /// Other files created or changed (`.dockerignore`…).
    pub files: Vec<String>,
    /// Expected effect of each applied change.
    pub gains: Vec<String>,
    /// Unsafe fixes found but not applied.
    pub held_back: usize,
    /// Findings without an automatic fix (refusals, reports).
    pub reports: usize,
    /// Bytes BuildKit sends as the build context, now and after the
    /// rewrite's `.dockerignore` (None: not a Dockerfile, or too big to walk).
    pub context_before: Option<u64>,
    pub context_after: Option<u64>,
    /// From the repository's history (`dockfix audit`), when there is one.
    pub audit: Option<RowAudit>,
    pub error: Option<String>,
}

/// A row's audit totals: of the last `commits` commits of the repository,
/// how many re-ran a dependency install, now and after the rewrite.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct RowAudit {
    pub commits: usize,
    pub install_commits_now: usize,
    pub install_commits_after: usize,
}

fn audit_cell(a: &Option<RowAudit>) -> String {
    match a {
        Some(a) if a.commits > 0 => {
            let pct = |n: usize| (n as f64 * 100.0 / a.commits as f64).round() as u64;
            format!("{}% → {}%", pct(a.install_commits_now), pct(a.install_commits_after))
        }
        _ => "-".into(),
    }
}

/// Totals over all rows.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub dockerfiles: usize,
    pub changed: usize,
    pub fixes: usize,
    pub lines_added: usize,
    pub lines_removed: usize,
    pub held_back: usize,
    pub errors: usize,
    /// Sums of the rows' context bytes (rows that have them).
    pub context_before: u64,
    pub context_after: u64,
}

fn count(before: &[u8], after: &[u8]) -> (usize, usize) {
    let (a, b) = (String::from_utf8_lossy(before), String::from_utf8_lossy(after));
    let d = TextDiff::from_lines(a.as_ref(), b.as_ref());
    let mut add = 0;
    let mut del = 0;
    for c in d.iter_all_changes() {
        match c.tag() {
            ChangeTag::Insert => add += 1,
            ChangeTag::Delete => del += 1,
            ChangeTag::Equal => {}
        }
    }
    (add, del)
}

/// Rows for planned files and errors, sorted by path.
pub fn rows(plans: &[(FilePlan, Vec<String>)], errors: &[FileError]) -> (Vec<Row>, Totals) {
    let mut rows = Vec::new();
    let mut histories: History = Default::default();
    let mut t = Totals::default();
    for (p, services) in plans {
        let o = &p.outcome;
        let mut passes: Vec<String> = Vec::new();
        let mut gains = Vec::new();
        let mut fixes = 0;
        for r in o.findings.iter().filter(|r| r.applied) {
            fixes += 1;
            if !passes.iter().any(|x| x == r.finding.pass) {
                passes.push(r.finding.pass.to_string());
            }
            if let Some(g) = &r.finding.gain {
                gains.push(format!("{}: {g}", r.finding.pass));
            }
        }
        let (mut add, mut del) = count(&o.source, &o.fixed);
        let mut files = Vec::new();
        for fc in &o.files {
            let (a, d) = count(fc.before.as_deref().unwrap_or_default(), &fc.after);
            add += a;
            del += d;
            files.push(fc.path.display().to_string());
        }
        let held = o.held_back();
        let reports = o.findings.iter().filter(|r| !r.finding.has_edits()).count();
        let (context_before, context_after) = context_sizes(p);
        t.context_before += context_before.unwrap_or(0);
        t.context_after += context_after.or(context_before).unwrap_or(0);
        t.dockerfiles += 1;
        t.changed += usize::from(o.changed());
        t.fixes += fixes;
        t.lines_added += add;
        t.lines_removed += del;
        t.held_back += held;
        rows.push(Row {
            dockerfile: p.path.display().to_string(),
            services: services.clone(),
            passes,
            lines_added: add,
            lines_removed: del,
            files,
            gains,
            held_back: held,
            reports,
            context_before,
            context_after,
            audit: audit_of(p, &mut histories),
            error: None,
        });
    }
    for e in errors {
        t.dockerfiles += 1;
        t.errors += 1;
        rows.push(Row {
            dockerfile: e.path.display().to_string(),
            services: Vec::new(),
            passes: Vec::new(),
            lines_added: 0,
            lines_removed: 0,
            files: Vec::new(),
            gains: Vec::new(),
            held_back: 0,
            reports: 0,
            context_before: None,
            context_after: None,
            audit: None,
            error: Some(e.to_string()),
        });
    }
    rows.sort_by(|a, b| a.dockerfile.cmp(&b.dockerfile));
    (rows, t)
}

/// Commits of each repository, read once per summary.
type History = std::collections::BTreeMap<std::path::PathBuf, Option<Vec<dockfix_history::Commit>>>;

/// How many of the repository's last 200 commits re-ran an install step of
/// this Dockerfile, now and after the plan (see `dockfix audit`).
fn audit_of(p: &FilePlan, histories: &mut History) -> Option<RowAudit> {
    let name = p.path.file_name()?.to_string_lossy().into_owned();
    if !crate::discover::is_dockerfile_name(&name) {
        return None;
    }
    let repo = dockfix_history::Repo::discover(&p.service.context).filter(|r| !r.is_shallow())?;
    let root = repo.root().to_path_buf();
    let commits = histories.entry(root.clone()).or_insert_with(|| repo.commits(200, None).ok()).as_ref()?;
    if commits.is_empty() {
        return None;
    }
    let a = audit_plan(p, &root, commits, None, String::new())?;
    Some(RowAudit {
        commits: a.commits,
        install_commits_now: a.current.install_commits,
        install_commits_after: a.proposed.install_commits,
    })
}

/// `dockfix audit` of a plan: the repository's `commits` (at `root`) replayed
/// through the cache model of the Dockerfile as it is and as the plan leaves
/// it, each with its `.dockerignore`. None when a side does not parse.
pub fn audit_plan(
    p: &FilePlan,
    root: &std::path::Path,
    commits: &[dockfix_history::Commit],
    timings: Option<&std::collections::BTreeMap<String, f64>>,
    history: String,
) -> Option<dockfix_audit::Audit> {
    let current = dockfix_syntax::parse(&p.outcome.source).ok()?;
    let proposed = dockfix_syntax::parse(&p.outcome.fixed).ok()?;
    let rel = |x: &std::path::Path| -> Option<String> {
        let abs = x.canonicalize().ok()?;
        Some(abs.strip_prefix(root).ok()?.to_string_lossy().replace('\\', "/"))
    };
    let (now, after) = crate::context::ignore_matchers(&p.service.dockerfile, &p.service.context, &p.outcome.files);
    Some(dockfix_audit::audit(&dockfix_audit::Input {
        dockerfile: p.path.display().to_string(),
        context_in_repo: rel(&p.service.context).unwrap_or_default(),
        dockerfile_in_repo: rel(&p.service.dockerfile),
        current: &current,
        proposed: &proposed,
        target: p.service.target.as_deref(),
        excluded_now: &|x: &str| now.is_excluded(x),
        excluded_proposed: &|x: &str| after.is_excluded(x),
        commits: Some(commits),
        timings,
        history,
    }))
}

/// Context bytes before and after the plan, for a Dockerfile.
fn context_sizes(p: &FilePlan) -> (Option<u64>, Option<u64>) {
    let name = p.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !crate::discover::is_dockerfile_name(&name) {
        return (None, None);
    }
    const LIMIT: usize = 200_000;
    let (now, proposed) = crate::context::ignore_matchers(&p.service.dockerfile, &p.service.context, &p.outcome.files);
    let before = crate::context::bytes(&p.service.context, &now, LIMIT);
    let after =
        if p.outcome.files.is_empty() { before } else { crate::context::bytes(&p.service.context, &proposed, LIMIT) };
    (before, after)
}

/// `12.3 MB → 4.1 kB`, `12.3 MB` when unchanged, `-` when unknown.
fn context_cell(before: Option<u64>, after: Option<u64>) -> String {
    use dockfix_pass_dockerignore::text::size;
    match (before, after) {
        (Some(b), Some(a)) if a != b => format!("{} → {}", size(b), size(a)),
        (Some(b), _) => size(b),
        _ => "-".into(),
    }
}

fn what(r: &Row) -> String {
    if r.error.is_some() {
        return "error: not processed (see above)".into();
    }
    if r.passes.is_empty() {
        return match r.held_back {
            0 => "no change".into(),
            n => format!("no change ({n} unsafe held back)"),
        };
    }
    r.passes.join(", ")
}

fn services(r: &Row) -> String {
    if r.services.is_empty() {
        "-".into()
    } else {
        r.services.join(", ")
    }
}

/// A plain text table.
pub fn text(rows: &[Row], t: &Totals) -> String {
    let headers = ["file", "services", "changes", "lines", "context"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.dockerfile.clone(),
                services(r),
                what(r),
                format!("+{} -{}", r.lines_added, r.lines_removed),
                context_cell(r.context_before, r.context_after),
            ]
        })
        .collect();
    let mut w = headers.map(str::len);
    for c in &cells {
        for i in 0..5 {
            w[i] = w[i].max(c[i].chars().count());
        }
    }
    let line = |c: [&str; 5]| {
        format!(
            "{:<a$}  {:<b$}  {:<c$}  {:<d$}  {}\n",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            a = w[0],
            b = w[1],
            c = w[2],
            d = w[3]
        )
        .trim_end()
        .to_string()
            + "\n"
    };
    let with_audit = rows.iter().any(|r| r.audit.is_some());
    let width = w.iter().sum::<usize>() + 8;
    let mut out = line(headers);
    if with_audit {
        out = format!("{:<width$}  installs re-run (history)\n", out.trim_end_matches('\n'));
    }
    for (c, r) in cells.iter().zip(rows) {
        let l = line([&c[0], &c[1], &c[2], &c[3], &c[4]]);
        if with_audit {
            out.push_str(&format!("{:<width$}  {}\n", l.trim_end_matches('\n'), audit_cell(&r.audit)));
        } else {
            out.push_str(&l);
        }
    }
    out.push_str(&totals_line(t));
    out
}

fn totals_line(t: &Totals) -> String {
    let mut s = format!(
        "{} of {} files changed, {} {}, +{} -{} lines",
        t.changed,
        t.dockerfiles,
        t.fixes,
        if t.fixes == 1 { "fix" } else { "fixes" },
        t.lines_added,
        t.lines_removed
    );
    if t.held_back > 0 {
        let n = if t.held_back == 1 { "unsafe fix" } else { "unsafe fixes" };
        s.push_str(&format!(", {} {n} held back (--unsafe-fixes)", t.held_back));
    }
    if t.errors > 0 {
        s.push_str(&format!(", {} {}", t.errors, if t.errors == 1 { "error" } else { "errors" }));
    }
    if t.context_after < t.context_before {
        s.push_str(&format!("; build contexts {}", context_cell(Some(t.context_before), Some(t.context_after))));
    }
    s.push('\n');
    s
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Markdown for a pull-request description.
pub fn markdown(rows: &[Row], t: &Totals) -> String {
    let mut out = String::from("## dockfix\n\n");
    let with_audit = rows.iter().any(|r| r.audit.is_some());
    if with_audit {
        out.push_str("| file | services | changes | lines | context | installs re-run (history) |\n| --- | --- | --- | --- | --- | --- |\n");
    } else {
        out.push_str("| file | services | changes | lines | context |\n| --- | --- | --- | --- | --- |\n");
    }
    for r in rows {
        let audit = if with_audit { format!(" {} |", audit_cell(&r.audit)) } else { String::new() };
        out.push_str(&format!(
            "| `{}` | {} | {} | +{} −{} | {} |{audit}\n",
            md_escape(&r.dockerfile),
            md_escape(&services(r)),
            md_escape(&r.error.as_ref().map_or_else(|| what(r), |e| format!("error: {e}"))),
            r.lines_added,
            r.lines_removed,
            context_cell(r.context_before, r.context_after)
        ));
    }
    out.push('\n');
    out.push_str(&totals_line(t));
    let with_gains: Vec<&Row> = rows.iter().filter(|r| !r.gains.is_empty()).collect();
    if !with_gains.is_empty() {
        out.push_str("\n### Expected effect\n\n");
        for r in with_gains {
            out.push_str(&format!("- `{}`\n", md_escape(&r.dockerfile)));
            for g in &r.gains {
                out.push_str(&format!("  - {}\n", md_escape(g)));
            }
        }
    }
    out
}
