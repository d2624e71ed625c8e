//! A model of BuildKit's build cache: for each step of each stage, what its
//! cache key depends on, and from that, which steps a change to a build
//! context path re-runs.
//!
//! What a step depends on:
//! - every step: its instruction (text and flags) and the step before it;
//! - `COPY`/`ADD` from the context: the content of the files its sources
//!   name (after `.dockerignore` and `--exclude`);
//! - `COPY --from=stage`, `FROM stage`, `RUN --mount=from=stage`: that
//!   stage's result;
//! - `RUN --mount=type=bind` from the context: the bound files.
//!
//! Known limits: remote `ADD` URLs and git sources, base image updates,
//! `--no-cache-filter`, cache imported from other builds, and build-arg
//! changes are not modelled; a step only counts when the target stage needs
//! it (BuildKit skips the others).

use dockfix_syntax::shell::parse_script;
use dockfix_syntax::{Document, Instruction, Kind};

use crate::knowledge;
use crate::walk::{stage_states, Workdir};

/// What a step reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Context paths matched by a source pattern (context-relative,
    /// cleaned; `""` is the whole context), minus `--exclude` patterns.
    Context { pattern: String, excludes: Vec<String> },
    /// The result of another stage.
    Stage(usize),
    /// A file another stage derives from some context files only: BuildKit
    /// keys a `COPY --from` by the content copied, so the step re-runs only
    /// when one of those files changes, even if the stage re-ran (the
    /// `recipe.json` of `cargo chef prepare` changes with the manifests, not
    /// with the sources). `names`: file names anywhere in the context.
    Derived { stage: usize, names: Vec<String> },
}

/// What `cargo chef prepare` reads into its recipe (by file name).
const CHEF_RECIPE_INPUTS: &[&str] =
    &["Cargo.toml", "Cargo.lock", "config.toml", "config", "rust-toolchain", "rust-toolchain.toml"];

/// One step of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Index in `doc.instructions`.
    pub instruction: usize,
    pub stage: usize,
    /// 1-based line of the instruction.
    pub line: usize,
    /// The instruction on one line (`RUN pip install -r requirements.txt`).
    pub text: String,
    pub kind: Kind,
    pub reads: Vec<Source>,
    /// A dependency install or download (`pip install`, `npm ci`, `apt-get install`…).
    pub is_install: bool,
    /// The target needs it.
    pub reachable: bool,
}

impl Step {
    /// Only changes the image's configuration (CMD, ENV, LABEL…): BuildKit
    /// runs nothing for it, so it costs nothing to "re-run".
    pub fn is_metadata(&self) -> bool {
        !matches!(self.kind, Kind::Run | Kind::Copy | Kind::Add | Kind::Workdir)
    }
}

/// The model of one Dockerfile for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub steps: Vec<Step>,
    /// Stages: (name, base stage if `FROM` names one, step index range).
    pub stages: Vec<(Option<String>, Option<usize>, std::ops::Range<usize>)>,
    pub target: usize,
}

fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

fn one_line(ins: &Instruction) -> String {
    ins.line.text().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Go's `filepath.Match`: `*` and `?` never cross `/`, `[...]` classes
/// (`^`/`!` negate, ranges), `\\` escapes. Backtracks only to the last `*`,
/// so it runs in O(pattern × name).
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Matches one pattern item at p[pi] against n[ni]; returns the next pi.
    let one = |pi: usize, c: char| -> Option<usize> {
        match p[pi] {
            '?' => (c != '/').then_some(pi + 1),
            '[' => {
                let close = p[pi + 1..].iter().position(|x| *x == ']').map(|x| pi + 1 + x)?;
                if c == '/' {
                    return None;
                }
                let (neg, set) = match p.get(pi + 1) {
                    Some('^') | Some('!') => (true, &p[pi + 2..close]),
                    _ => (false, &p[pi + 1..close]),
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        hit |= set[i] <= c && c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == c;
                        i += 1;
                    }
                }
                (hit != neg).then_some(close + 1)
            }
            '\\' if pi + 1 < p.len() => (p[pi + 1] == c).then_some(pi + 2),
            x => (x == c).then_some(pi + 1),
        }
    };
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
            continue;
        }
        if pi < p.len() {
            if let Some(next) = one(pi, n[ni]) {
                pi = next;
                ni += 1;
                continue;
            }
        }
        match star {
            // Let the last `*` take one more character (never a `/`).
            Some((sp, sn)) if n[sn] != '/' => {
                star = Some((sp, sn + 1));
                pi = sp + 1;
                ni = sn + 1;
            }
            _ => return false,
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// True if a source pattern copies context path `path` (the path itself,
/// or a directory that contains it).
pub fn source_reads(pattern: &str, path: &str) -> bool {
    if pattern.is_empty() {
        return true;
    }
    if path == pattern || crate::walk::starts_with_dir(path, pattern) {
        return true;
    }
    if pattern.contains(['*', '?', '[']) {
        // The pattern matches the path or one of its ancestors.
        let mut prefix = String::new();
        for comp in path.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(comp);
            if glob_match(pattern, &prefix) {
                return true;
            }
        }
    }
    false
}

fn stage_ref(
    doc_stages: &[(Option<String>, Option<usize>, std::ops::Range<usize>)],
    name: &str,
    before: usize,
) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    if let Ok(i) = lower.parse::<usize>() {
        return (i < doc_stages.len()).then_some(i);
    }
    doc_stages[..before.min(doc_stages.len())].iter().rposition(|(n, _, _)| n.as_deref() == Some(lower.as_str()))
}

fn is_install_run(ins: &Instruction) -> bool {
    let text = if ins.heredocs.is_empty() {
        ins.args_text().to_string()
    } else {
        ins.heredocs.iter().map(|h| h.content.as_str()).collect::<Vec<_>>().join("\n")
    };
    let words_list: Vec<Vec<String>> = if ins.json {
        vec![ins.args.iter().map(|a| a.value.clone()).collect()]
    } else {
        parse_script(&text).commands.iter().map(|c| c.words.iter().map(|w| w.value.clone()).collect()).collect()
    };
    words_list.iter().any(|w| {
        let Some(prog) = w.first() else { return false };
        let (prog, rest) = if prog.starts_with("python") && w.get(1).map(String::as_str) == Some("-m") {
            (w.get(2).cloned().unwrap_or_default(), &w[w.len().min(3)..])
        } else {
            (prog.clone(), &w[1..])
        };
        let Some(m) = knowledge::manager_for_program(&prog) else { return false };
        let verb = rest.iter().find(|a| !a.starts_with('-')).map(String::as_str).unwrap_or("");
        m.install_verbs.contains(&verb) || (m.name == "yarn" && rest.iter().all(|a| a.starts_with('-')))
    })
}

/// Builds the model. `target` names a stage (default: the last).
pub fn model(doc: &Document, target: Option<&str>) -> Model {
    let dstages = doc.stage_list();
    let mut stages: Vec<(Option<String>, Option<usize>, std::ops::Range<usize>)> = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    for st in dstages {
        let base = stage_ref(&stages, &st.base, st.index);
        let states = stage_states(doc, st);
        let start = steps.len();
        for (k, idx) in st.body.clone().enumerate() {
            let ins = &doc.instructions[idx];
            let state = &states[k];
            let mut reads = Vec::new();
            match ins.kind {
                Kind::Copy | Kind::Add => {
                    let from = ins.flag("from").and_then(|f| f.value()).map(str::to_string);
                    let excludes: Vec<String> =
                        ins.flags_named("exclude").filter_map(|f| f.value()).map(clean).collect();
                    match from {
                        Some(f) => {
                            if let Some(s) = stage_ref(&stages, &f, st.index) {
                                let n = ins.args.len();
                                let recipe_only = n > 1
                                    && ins.args[..n - 1].iter().all(|a| a.value.ends_with("recipe.json"))
                                    && steps[stages[s].2.clone()]
                                        .iter()
                                        .any(|p: &Step| p.text.contains("cargo chef prepare"));
                                if recipe_only {
                                    let names = CHEF_RECIPE_INPUTS.iter().map(|x| x.to_string()).collect();
                                    reads.push(Source::Derived { stage: s, names });
                                } else {
                                    reads.push(Source::Stage(s));
                                }
                            }
                        }
                        None if ins.heredocs.is_empty() => {
                            let n = ins.args.len();
                            for a in ins.args.iter().take(n.saturating_sub(1)) {
                                let v = &a.value;
                                if v.contains("://") || v.starts_with("git@") || v.starts_with("<<") {
                                    continue;
                                }
                                let v = state.expand(v).unwrap_or_else(|| v.clone());
                                reads.push(Source::Context { pattern: clean(&v), excludes: excludes.clone() });
                            }
                        }
                        None => {}
                    }
                }
                Kind::Run => {
                    for m in ins.flags_named("mount").filter_map(|f| f.value()) {
                        let kv: Vec<(&str, &str)> = m.split(',').filter_map(|p| p.split_once('=')).collect();
                        let get = |k: &[&str]| kv.iter().find(|(x, _)| k.contains(x)).map(|(_, v)| *v);
                        let ty = get(&["type"]).unwrap_or("bind");
                        if let Some(from) = get(&["from"]) {
                            if let Some(s) = stage_ref(&stages, from, st.index) {
                                reads.push(Source::Stage(s));
                            }
                        } else if ty == "bind" {
                            reads.push(Source::Context {
                                pattern: clean(get(&["source", "src"]).unwrap_or("")),
                                excludes: vec![],
                            });
                        }
                    }
                }
                _ => {}
            }
            let _ = Workdir::Unknown;
            steps.push(Step {
                instruction: idx,
                stage: st.index,
                line: ins.start_line,
                text: one_line(ins),
                kind: ins.kind,
                reads,
                is_install: ins.kind == Kind::Run && is_install_run(ins),
                reachable: false,
            });
        }
        stages.push((st.name.clone(), base, start..steps.len()));
    }
    let target = target
        .and_then(|t| stages.iter().position(|(n, _, _)| n.as_deref() == Some(t.to_ascii_lowercase().as_str())))
        .unwrap_or(stages.len().saturating_sub(1));
    // Reachability from the target through bases and stage reads.
    let mut need = vec![false; stages.len()];
    let mut todo = vec![target];
    while let Some(s) = todo.pop() {
        if s >= need.len() || need[s] {
            continue;
        }
        need[s] = true;
        if let Some(b) = stages[s].1 {
            todo.push(b);
        }
        for step in &steps[stages[s].2.clone()] {
            for r in &step.reads {
                if let Source::Stage(x) | Source::Derived { stage: x, .. } = r {
                    todo.push(*x);
                }
            }
        }
    }
    for step in &mut steps {
        step.reachable = need.get(step.stage).copied().unwrap_or(false);
    }
    Model { steps, stages, target }
}

impl Model {
    /// Steps (indices into `steps`) that re-run when these context paths
    /// change. `excluded` says which context paths `.dockerignore` keeps out.
    pub fn invalidated(&self, changed: &[String], excluded: &dyn Fn(&str) -> bool) -> Vec<usize> {
        let changed: Vec<String> = changed.iter().map(|p| clean(p)).filter(|p| !excluded(p)).collect();
        let mut stage_changed = vec![false; self.stages.len()];
        let mut out = vec![false; self.steps.len()];
        // Stages only reference earlier ones, except by index; two passes settle it.
        for _ in 0..2 {
            for (s, (_, base, range)) in self.stages.iter().enumerate() {
                let mut inv = base.is_some_and(|b| stage_changed[b]);
                for i in range.clone() {
                    let step = &self.steps[i];
                    let reads_changed = step.reads.iter().any(|r| match r {
                        Source::Stage(x) => stage_changed.get(*x).copied().unwrap_or(false),
                        Source::Derived { stage, names } => {
                            stage_changed.get(*stage).copied().unwrap_or(false)
                                && changed
                                    .iter()
                                    .any(|p| names.iter().any(|n| p.rsplit('/').next() == Some(n.as_str())))
                        }
                        Source::Context { pattern, excludes } => changed.iter().any(|p| {
                            source_reads(pattern, p) && !excludes.iter().any(|e| source_reads(e, p) || glob_match(e, p))
                        }),
                    });
                    inv |= reads_changed;
                    out[i] = inv;
                }
                stage_changed[s] = inv;
            }
        }
        out.iter().enumerate().filter(|(i, x)| **x && self.steps[*i].reachable).map(|(i, _)| i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_syntax::parse_str;

    fn texts(m: &Model, idx: &[usize]) -> Vec<String> {
        idx.iter().map(|i| m.steps[*i].text.clone()).collect()
    }

    #[test]
    fn a_cargo_chef_recipe_changes_with_the_manifests_only() {
        let doc = parse_str("FROM rust:1.79 AS chef\nWORKDIR /app\nFROM chef AS planner\nCOPY . .\nRUN cargo chef prepare --recipe-path recipe.json\nFROM chef AS builder\nCOPY --from=planner /app/recipe.json recipe.json\nRUN cargo chef cook --release --recipe-path recipe.json\nCOPY . .\nRUN cargo build --release\nFROM debian:bookworm-slim\nCOPY --from=builder /app/target/release/app /app/app\n").unwrap();
        let m = model(&doc, None);
        let none = |_: &str| false;
        let src = texts(&m, &m.invalidated(&["src/main.rs".into()], &none));
        assert!(!src.iter().any(|t| t.contains("cook") || t.contains("recipe.json recipe.json")), "{src:?}");
        assert!(src.iter().any(|t| t.contains("cargo chef prepare")) && src.iter().any(|t| t.contains("/app/app")));
        let lock = texts(&m, &m.invalidated(&["Cargo.lock".into()], &none));
        assert!(lock.iter().any(|t| t.contains("cargo chef cook")), "{lock:?}");
    }

    #[test]
    fn source_copy_invalidates_downstream_only() {
        let doc = parse_str("FROM python:3.12\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\nRUN python -m compileall .\n").unwrap();
        let m = model(&doc, None);
        let none = |_: &str| false;
        assert_eq!(texts(&m, &m.invalidated(&["app.py".into()], &none)), ["COPY . .", "RUN python -m compileall ."]);
        assert_eq!(m.invalidated(&["requirements.txt".into()], &none).len(), 4);
        assert!(m.steps[2].is_install && !m.steps[4].is_install);
        let ignored = |p: &str| p == "README.md";
        assert!(m.invalidated(&["README.md".into()], &ignored).is_empty());
    }

    #[test]
    fn stages_and_targets() {
        let text = "FROM golang AS build\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN go build -o /out/app\n\nFROM alpine AS test\nCOPY tests/ /tests/\nRUN run-tests\n\nFROM alpine\nCOPY --from=build /out/app /app\nCMD [\"/app\"]\n";
        let doc = parse_str(text).unwrap();
        let m = model(&doc, None);
        let none = |_: &str| false;
        assert_eq!(
            texts(&m, &m.invalidated(&["main.go".into()], &none)),
            ["COPY . .", "RUN go build -o /out/app", "COPY --from=build /out/app /app", "CMD [\"/app\"]"]
        );
        // tests/ only feeds a stage the target does not need.
        assert!(m.invalidated(&["tests/a_test.sh".into()], &none).iter().all(|i| m.steps[*i].stage != 1));
        assert!(m.invalidated(&["tests/x".into()], &none).iter().all(|i| m.steps[*i].reachable));
        let t = model(&doc, Some("test"));
        assert_eq!(texts(&t, &t.invalidated(&["tests/x".into()], &none)), ["COPY tests/ /tests/", "RUN run-tests"]);
    }

    #[test]
    fn globs_excludes_and_bind_mounts() {
        assert!(source_reads("*.py", "app.py"));
        assert!(!source_reads("*.py", "pkg/app.py"));
        assert!(source_reads("src/*", "src/a/b.rs"));
        assert!(source_reads("", "anything"));
        assert!(glob_match("[a-c]?.py", "b1.py") && !glob_match("[!a-c]?.py", "b1.py"));
        assert!(glob_match("a*b*c", "axxbyyc") && !glob_match("a*c", "ab/c"));
        // No exponential backtracking.
        let long = "a".repeat(5000);
        assert!(!glob_match(&format!("{}b", "*a".repeat(200)), &long));
        let doc =
            parse_str("FROM a\nCOPY --exclude=docs . /app\nRUN --mount=type=bind,source=scripts,target=/s sh /s/x\n")
                .unwrap();
        let m = model(&doc, None);
        let none = |_: &str| false;
        assert!(m.invalidated(&["docs/x.md".into()], &none).is_empty());
        // `COPY . /app` copies scripts/ too, so everything from it re-runs.
        assert_eq!(m.invalidated(&["scripts/x".into()], &none).len(), 2);
        let doc =
            parse_str("FROM a\nCOPY app/ /app\nRUN --mount=type=bind,source=scripts,target=/s sh /s/x\n").unwrap();
        let m = model(&doc, None);
        assert_eq!(
            texts(&m, &m.invalidated(&["scripts/x".into()], &none)),
            ["RUN --mount=type=bind,source=scripts,target=/s sh /s/x"]
        );
    }
}
