//! `dockfix audit`: replay a repository's recent commits through the cache
//! model and count, per step, how many commits would have re-run it — for
//! the Dockerfile as it is and for dockfix's proposed rewrite.

use std::collections::BTreeMap;

use dockfix_core::cache::{self, Model};
use dockfix_history::Commit;
use dockfix_syntax::Document;
use serde::Serialize;

/// What to audit.
pub struct Input<'a> {
    pub dockerfile: String,
    /// The context directory relative to the repository root (`""` for the root).
    pub context_in_repo: String,
    /// The Dockerfile relative to the repository root, to spot commits that edit it.
    pub dockerfile_in_repo: Option<String>,
    pub current: &'a Document,
    pub proposed: &'a Document,
    pub target: Option<&'a str>,
    /// Which context paths the current and the proposed `.dockerignore` keep out.
    pub excluded_now: &'a dyn Fn(&str) -> bool,
    pub excluded_proposed: &'a dyn Fn(&str) -> bool,
    /// None: no usable history (only the static map is reported).
    pub commits: Option<&'a [Commit]>,
    /// Seconds per step from a BuildKit log, keyed by normalized instruction text.
    pub timings: Option<&'a BTreeMap<String, f64>>,
    pub history: String,
}

/// One step's count.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepCount {
    pub line: usize,
    pub instruction: String,
    pub rerun_commits: usize,
    pub is_install: bool,
    pub seconds: Option<f64>,
}

/// One side (current or proposed).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Side {
    pub steps: Vec<StepCount>,
    /// Commits that re-ran at least one install step.
    pub install_commits: usize,
    /// Mean steps re-run per commit considered.
    pub reruns_per_commit: f64,
    /// Mean seconds re-run per commit, with timings.
    pub seconds_per_commit: Option<f64>,
}

/// Which steps a change to a top-level context entry re-runs (the static map).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StaticEntry {
    pub path: String,
    pub first_step: Option<String>,
    pub reruns: usize,
}

/// The audit of one Dockerfile.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Audit {
    pub dockerfile: String,
    pub history: String,
    pub commits: usize,
    pub commits_touching_context: usize,
    pub commits_editing_dockerfile: usize,
    pub current: Side,
    pub proposed: Side,
}

/// Whitespace-normalized instruction text without `--mount` flags (which a
/// rewrite adds without changing what the step does).
pub fn normalize(text: &str) -> String {
    text.split_whitespace().filter(|w| !w.starts_with("--mount=")).collect::<Vec<_>>().join(" ")
}

fn side(
    model: &Model,
    changes: &[Vec<String>],
    dockerfile_edits: usize,
    excluded: &dyn Fn(&str) -> bool,
    timings: Option<&BTreeMap<String, f64>>,
) -> Side {
    let mut counts = vec![0usize; model.steps.len()];
    let mut install_commits = 0;
    let mut total = 0usize;
    let mut seconds = 0f64;
    let secs = |i: usize| timings.and_then(|t| t.get(&normalize(&model.steps[i].text)).copied());
    let reachable: Vec<usize> =
        (0..model.steps.len()).filter(|i| model.steps[*i].reachable && !model.steps[*i].is_metadata()).collect();
    for paths in changes {
        let mut inv = model.invalidated(paths, excluded);
        inv.retain(|i| !model.steps[*i].is_metadata());
        for &i in &inv {
            counts[i] += 1;
            seconds += secs(i).unwrap_or(0.0);
        }
        total += inv.len();
        if inv.iter().any(|i| model.steps[*i].is_install) {
            install_commits += 1;
        }
    }
    // A commit that edits the Dockerfile re-runs everything (conservatively).
    for _ in 0..dockerfile_edits {
        for &i in &reachable {
            counts[i] += 1;
            seconds += secs(i).unwrap_or(0.0);
        }
        total += reachable.len();
        if reachable.iter().any(|i| model.steps[*i].is_install) {
            install_commits += 1;
        }
    }
    let n = changes.len() + dockerfile_edits;
    let steps = reachable
        .iter()
        .map(|&i| StepCount {
            line: model.steps[i].line,
            instruction: model.steps[i].text.clone(),
            rerun_commits: counts[i],
            is_install: model.steps[i].is_install,
            seconds: secs(i),
        })
        .collect();
    Side {
        steps,
        install_commits,
        reruns_per_commit: if n == 0 { 0.0 } else { total as f64 / n as f64 },
        seconds_per_commit: timings.map(|_| if n == 0 { 0.0 } else { seconds / n as f64 }),
    }
}

/// Runs the audit.
pub fn audit(input: &Input<'_>) -> Audit {
    let now = cache::model(input.current, input.target);
    let proposed = cache::model(input.proposed, input.target);
    let prefix = if input.context_in_repo.is_empty() { String::new() } else { format!("{}/", input.context_in_repo) };
    let mut changes: Vec<Vec<String>> = Vec::new();
    let mut edits = 0;
    let mut touching = 0;
    let commits = input.commits.unwrap_or(&[]);
    for c in commits {
        if input.dockerfile_in_repo.as_ref().is_some_and(|d| c.paths.contains(d)) {
            edits += 1;
            touching += 1;
            continue;
        }
        let inside: Vec<String> =
            c.paths.iter().filter_map(|p| p.strip_prefix(prefix.as_str()).map(str::to_string)).collect();
        if !inside.is_empty() {
            touching += 1;
        }
        changes.push(inside);
    }
    Audit {
        dockerfile: input.dockerfile.clone(),
        history: input.history.clone(),
        commits: commits.len(),
        commits_touching_context: touching,
        commits_editing_dockerfile: edits,
        current: side(&now, &changes, edits, input.excluded_now, input.timings),
        proposed: side(&proposed, &changes, edits, input.excluded_proposed, input.timings),
    }
}

/// The static map: for each given context path, the first step a change to
/// it re-runs and how many steps re-run.
pub fn static_map(
    doc: &Document,
    target: Option<&str>,
    paths: &[String],
    excluded: &dyn Fn(&str) -> bool,
) -> Vec<StaticEntry> {
    let m = cache::model(doc, target);
    paths
        .iter()
        .map(|p| {
            let mut inv = m.invalidated(std::slice::from_ref(p), excluded);
            inv.retain(|i| !m.steps[*i].is_metadata());
            StaticEntry {
                path: p.clone(),
                first_step: inv.first().map(|i| m.steps[*i].text.clone()),
                reruns: inv.len(),
            }
        })
        .collect()
}

/// Seconds per step from a BuildKit `--progress=plain` log (steps that ran).
pub fn timings_from_log(log: &str) -> BTreeMap<String, f64> {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for line in log.lines() {
        let Some(rest) = line.strip_prefix('#') else { continue };
        let Some((num, body)) = rest.split_once(' ') else { continue };
        if body.starts_with('[') && !body.starts_with("[internal]") {
            if let Some((_, ins)) = body.split_once("] ") {
                names.entry(num.to_string()).or_insert_with(|| normalize(ins));
            }
        } else if let Some(t) = body.strip_prefix("DONE ") {
            if let (Some(n), Ok(s)) = (names.get(num), t.trim_end_matches('s').parse::<f64>()) {
                out.insert(n.clone(), s);
            }
        }
    }
    out
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        "-".into()
    } else {
        format!("{:.0}%", 100.0 * n as f64 / of as f64)
    }
}

/// A text report.
pub fn render_text(a: &Audit) -> String {
    let mut s = format!(
        "{} — {} commits, {} touched the build context ({})\n",
        a.dockerfile, a.commits, a.commits_touching_context, a.history
    );
    if a.commits_editing_dockerfile > 0 {
        let n = a.commits_editing_dockerfile;
        s.push_str(&format!(
            "  ({n} {} the Dockerfile itself; counted as re-running every step on both sides)\n",
            if n == 1 { "commit edited" } else { "commits edited" }
        ));
    }
    s.push_str(&format!("  {:>5}  {:<52} {:>14}  {:>14}\n", "line", "step", "re-run now", "after rewrite"));
    let proposed: BTreeMap<String, &StepCount> =
        a.proposed.steps.iter().map(|x| (normalize(&x.instruction), x)).collect();
    let mut shown = std::collections::BTreeSet::new();
    let cut = |t: &str| {
        if t.chars().count() > 52 {
            format!("{}…", t.chars().take(51).collect::<String>())
        } else {
            t.to_string()
        }
    };
    for st in &a.current.steps {
        let key = normalize(&st.instruction);
        let after = proposed.get(&key).map(|p| {
            shown.insert(key.clone());
            format!("{} ({})", p.rerun_commits, pct(p.rerun_commits, a.commits))
        });
        s.push_str(&format!(
            "  {:>5}  {:<52} {:>14}  {:>14}\n",
            st.line,
            cut(&st.instruction),
            format!("{} ({})", st.rerun_commits, pct(st.rerun_commits, a.commits)),
            after.unwrap_or_else(|| "(removed)".into())
        ));
    }
    for p in &a.proposed.steps {
        if !shown.contains(&normalize(&p.instruction)) {
            s.push_str(&format!(
                "  {:>5}  {:<52} {:>14}  {:>14}\n",
                "new",
                cut(&p.instruction),
                "-",
                format!("{} ({})", p.rerun_commits, pct(p.rerun_commits, a.commits))
            ));
        }
    }
    s.push_str(&format!(
        "  commits that re-ran a dependency install: {} → {}\n",
        pct(a.current.install_commits, a.commits),
        pct(a.proposed.install_commits, a.commits)
    ));
    s.push_str(&format!(
        "  steps re-run per commit: {:.2} → {:.2}\n",
        a.current.reruns_per_commit, a.proposed.reruns_per_commit
    ));
    if let (Some(x), Some(y)) = (a.current.seconds_per_commit, a.proposed.seconds_per_commit) {
        s.push_str(&format!("  rebuild seconds per commit (from the timings log): {x:.1} → {y:.1}\n"));
    }
    s
}

/// Markdown for a pull request.
pub fn render_markdown(audits: &[Audit]) -> String {
    let mut s = String::from("## dockfix audit\n\n| Dockerfile | commits | re-ran an install (now → after) | steps re-run per commit |\n| --- | --- | --- | --- |\n");
    for a in audits {
        s.push_str(&format!(
            "| `{}` | {} | {} → {} | {:.2} → {:.2} |\n",
            a.dockerfile,
            a.commits,
            pct(a.current.install_commits, a.commits),
            pct(a.proposed.install_commits, a.commits),
            a.current.reruns_per_commit,
            a.proposed.reruns_per_commit
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_syntax::parse_str;

    fn commit(paths: &[&str]) -> Commit {
        Commit { id: "x".into(), summary: String::new(), time: 0, paths: paths.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn counts_before_and_after() {
        let cur = parse_str("FROM python\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n").unwrap();
        let prop = parse_str(
            "FROM python\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n",
        )
        .unwrap();
        let commits = vec![
            commit(&["svc/app.py"]),
            commit(&["svc/app.py"]),
            commit(&["svc/requirements.txt"]),
            commit(&["other/x"]),
        ];
        let none = |_: &str| false;
        let a = audit(&Input {
            dockerfile: "svc/Dockerfile".into(),
            context_in_repo: "svc".into(),
            dockerfile_in_repo: Some("svc/Dockerfile".into()),
            current: &cur,
            proposed: &prop,
            target: None,
            excluded_now: &none,
            excluded_proposed: &none,
            commits: Some(&commits),
            timings: None,
            history: "test".into(),
        });
        assert_eq!(a.commits_touching_context, 3);
        assert_eq!(a.current.install_commits, 3);
        assert_eq!(a.proposed.install_commits, 1);
        let pip_now = a.current.steps.iter().find(|s| s.is_install).unwrap();
        assert_eq!(pip_now.rerun_commits, 3);
        assert!(a.proposed.reruns_per_commit < a.current.reruns_per_commit);
        let text = render_text(&a);
        assert!(text.contains("75% → 25%"), "{text}");
    }

    #[test]
    fn timings_from_a_log() {
        let log = "#5 [2/3] RUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt\n#5 DONE 11.6s\n#6 [3/3] COPY . .\n#6 CACHED\n";
        let t = timings_from_log(log);
        assert_eq!(t.get("RUN pip install -r requirements.txt"), Some(&11.6));
        assert_eq!(t.len(), 1);
    }
}
