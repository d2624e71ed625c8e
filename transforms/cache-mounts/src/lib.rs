//! Pass `cache-mounts`: BuildKit cache mounts on the RUNs that run a package
//! manager, so a re-run downloads only what changed.
//!
//! ```text
//! RUN pip install --no-cache-dir -r requirements.txt
//!   =>
//! RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
//! ```
//!
//! The target is the cache directory for the user and environment in
//! effect at that RUN. What turned the cache off in the same RUN goes (it
//! only kept the cache out of the image, which the mount now does). A mount
//! is never added where the image, a later step or another stage needs the
//! directory's contents; what cannot be shown safe is a display-only
//! finding that says why.

mod managers;
mod mounts;
use dockfix_core::runscript as script;
mod users;

use std::collections::{BTreeMap, BTreeSet};

use dockfix_core::knowledge::{self, ImageDefaults};
use dockfix_core::layout;
use dockfix_core::walk::{expand_with, stage_states, State, Workdir};
use dockfix_core::{fix::overlaps, Applicability, Context, Edit, Finding, Fix, Pass};
use dockfix_syntax::{Document, Instruction, Kind};

use managers::{Env, Need, Use};
use mounts::{within, Mount, Reach};
use script::Script;
use users::{Accounts, User};

pub const NAME: &str = "cache-mounts";

/// The pass.
pub struct CacheMounts;

impl Pass for CacheMounts {
    fn name(&self) -> &'static str {
        NAME
    }
    fn summary(&self) -> &'static str {
        "Give package-manager steps a BuildKit cache mount, removing what turned their cache off"
    }
    fn explanation(&self) -> &'static str {
        include_str!("../EXPLAIN.md")
    }
    fn applicability(&self) -> Applicability {
        Applicability::Safe
    }
    fn options(&self) -> &'static [dockfix_core::config::OptionSpec] {
        &[dockfix_core::config::OptionSpec {
            name: "syntax",
            kind: "string",
            help: "\"add\": also add `# syntax=docker/dockerfile:1` to files that get a cache mount and have no syntax directive (default: leave the directives alone)",
        }]
    }
    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        check(cx)
    }
}

/// What the stages of the file are built on.
struct StageInfo {
    parent: Option<usize>,
    /// The external image at the root of the stage's chain ("" if unknown).
    base: String,
    image: Option<&'static ImageDefaults>,
    /// Windows or a non-POSIX SHELL: not for this pass.
    skip: bool,
}

/// One RUN that runs package managers.
struct Run<'d> {
    idx: usize,
    stage: usize,
    script: Script<'d>,
    state: State,
    user: Option<User>,
    uses: Vec<Use>,
    existing: Vec<Mount>,
    earlier_text: String,
    docker_clean_handled: bool,
}

impl Run<'_> {
    fn env<'a>(&'a self, cx: &'a Context<'a>, info: &'a StageInfo) -> Env<'a> {
        Env {
            cx,
            state: &self.state,
            image: info.image,
            base: &info.base,
            user: self.user.clone(),
            docker_clean_handled: self.docker_clean_handled,
            earlier_text: &self.earlier_text,
        }
    }
}

fn check(cx: &Context<'_>) -> Vec<Finding> {
    let doc = cx.doc;
    let stages = doc.stage_list();
    if stages.is_empty() {
        return Vec::new();
    }
    let infos = stage_infos(doc);
    let mut runs = collect_runs(cx, &infos);
    let mut out = Vec::new();

    // Mounts already there that hide what the image needs.
    for (s, stage) in stages.iter().enumerate() {
        if infos[s].skip {
            continue;
        }
        let states = stage_states(doc, stage);
        for (k, idx) in stage.body.clone().enumerate() {
            let ins = &doc.instructions[idx];
            if ins.kind == Kind::Run {
                out.extend(hidden_outputs(cx, &infos, &states[k], s, idx));
            }
        }
    }

    cross_checks(cx, &infos, &mut runs);
    assign_ids(&infos, &mut runs);
    let mut fixes = 0;
    for run in &runs {
        let info = &infos[run.stage];
        for u in &run.uses {
            if let Some(why) = &u.refusal {
                out.push(refusal(run, u, why));
            }
        }
        if let Some(f) = fix_finding(cx, info, run) {
            fixes += usize::from(f.has_edits());
            out.push(f);
        }
    }

    if let Some(f) = frontend_refusal(doc) {
        // No mounts at all: keep only the explanation and the refusals.
        if fixes > 0 || runs.iter().any(|r| r.uses.iter().any(|u| u.refusal.is_none() && !u.needs.is_empty())) {
            out.retain(|f| !f.has_edits());
            out.push(f);
        }
        return out;
    }
    if fixes > 0 && cx.options.get_str(NAME, "syntax") == Some("add") && doc.directive("syntax").is_none() {
        let at = if doc.bom { 3 } else { 0 };
        let eol = layout::eol(doc);
        out.push(
            Finding::new(NAME, at..at, "no `# syntax=` directive pins the Dockerfile frontend")
                .why("`[cache-mounts] syntax = \"add\"` asks for one: `docker/dockerfile:1` is the newest 1.x frontend, which knows every `RUN --mount` option, also where the builder's own frontend is older.")
                .gain("The cache mounts work with any BuildKit that can pull the frontend.")
                .fix(Fix::safe("Add `# syntax=docker/dockerfile:1` at the top", vec![Edit::insert(at, format!("# syntax=docker/dockerfile:1{eol}"))])),
        );
    }
    out
}

/// Follows `FROM <stage>` chains and expands global ARGs in `FROM`.
fn stage_infos(doc: &Document) -> Vec<StageInfo> {
    let stages = doc.stage_list();
    let globals: BTreeMap<String, Option<String>> =
        doc.instructions[doc.global_args()].iter().filter(|i| i.kind == Kind::Arg).flat_map(|i| i.pairs()).collect();
    let mut infos: Vec<StageInfo> = Vec::new();
    for (s, stage) in stages.iter().enumerate() {
        let base_lc = stage.base.to_ascii_lowercase();
        let parent = stages[..s].iter().rposition(|p| p.name.as_deref() == Some(base_lc.as_str()));
        let mut non_posix = false;
        for ins in &doc.instructions[stage.body.clone()] {
            if ins.kind == Kind::Shell {
                let first = ins.args.first().map(|a| a.value.to_ascii_lowercase()).unwrap_or_default();
                non_posix = !(first.ends_with("sh") || first.ends_with("bash") || first.ends_with("ash"));
            }
        }
        let info = match parent {
            Some(p) => StageInfo {
                parent: Some(p),
                base: infos[p].base.clone(),
                image: infos[p].image,
                skip: infos[p].skip || non_posix,
            },
            None => {
                let base = expand_with(&stage.base, &|n| globals.get(n).cloned().flatten()).unwrap_or_default();
                let lc = base.to_ascii_lowercase();
                let windows = ["windows", "nanoserver", "servercore"].iter().any(|w| lc.contains(w));
                StageInfo {
                    parent: None,
                    image: knowledge::image_defaults(&base),
                    skip: windows || non_posix || lc == "scratch",
                    base,
                }
            }
        };
        infos.push(info);
    }
    infos
}

/// Every RUN with package managers, analyzed with the users, cleanups and
/// state of the stage chain before it.
fn collect_runs<'d>(cx: &'d Context<'d>, infos: &[StageInfo]) -> Vec<Run<'d>> {
    let doc = cx.doc;
    let stages = doc.stage_list();
    // Per stage, at its end: accounts, RUN text, docker-clean handled.
    let mut ends: Vec<(Accounts, String, bool)> = Vec::new();
    let mut runs = Vec::new();
    for (s, stage) in stages.iter().enumerate() {
        let info = &infos[s];
        let (mut accounts, mut earlier, mut clean_handled) = match info.parent {
            Some(p) => ends[p].clone(),
            None => (Accounts::from_image(info.image), String::new(), false),
        };
        let states = stage_states(doc, stage);
        for (k, idx) in stage.body.clone().enumerate() {
            let ins = &doc.instructions[idx];
            if ins.kind != Kind::Run || info.skip {
                continue;
            }
            let state = &states[k];
            let user = accounts.resolve(state.user.as_deref());
            if let Ok(script) = Script::new(doc, ins, state) {
                let mut run = Run {
                    idx,
                    stage: s,
                    script,
                    state: state.clone(),
                    user,
                    uses: Vec::new(),
                    existing: mounts::existing(ins, state),
                    earlier_text: earlier.clone(),
                    docker_clean_handled: clean_handled,
                };
                run.uses = managers::analyze(&run.env(cx, info), &run.script);
                for c in &run.script.cmds {
                    let words: Vec<String> =
                        c.words.iter().map(|w| state.expand(&w.value).unwrap_or_else(|| w.value.clone())).collect();
                    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
                    accounts.learn(&refs);
                }
                if !run.uses.is_empty() {
                    runs.push(run);
                }
            }
            let text = ins.line.text();
            if text.contains("docker-clean")
                || text.contains("Keep-Downloaded-Packages")
                || text.contains("Dir::Cache::Archives")
            {
                clean_handled = true;
            }
            earlier.push_str(text);
            earlier.push('\n');
        }
        ends.push((accounts, earlier, clean_handled));
    }
    runs
}

/// The stages built on `s` (transitively), `s` included.
fn family(infos: &[StageInfo], s: usize) -> Vec<usize> {
    family_in(&children(infos), s)
}

/// Each stage's direct children (stages built `FROM` it).
fn children(infos: &[StageInfo]) -> Vec<Vec<usize>> {
    let mut kids = vec![Vec::new(); infos.len()];
    for (c, info) in infos.iter().enumerate() {
        if let Some(p) = info.parent.filter(|&p| p < c) {
            kids[p].push(c);
        }
    }
    kids
}

/// Stage `s` and every stage built on it, in order.
fn family_in(kids: &[Vec<usize>], s: usize) -> Vec<usize> {
    let mut out = vec![s];
    let mut i = 0;
    while i < out.len() {
        out.extend(kids[out[i]].iter().copied());
        i += 1;
    }
    out.sort_unstable();
    out
}

/// The stage a `--from=` names.
fn from_stage(stages: &[dockfix_syntax::Stage], from: &str) -> Option<usize> {
    if let Ok(n) = from.parse::<usize>() {
        return (n < stages.len()).then_some(n);
    }
    let lc = from.to_ascii_lowercase();
    stages.iter().position(|s| s.name.as_deref() == Some(lc.as_str()))
}

/// Paths another step reads out of stage `s`: `COPY --from` sources and
/// `RUN --mount=from=…,source=…`.
fn paths_read_from(doc: &Document, all: &[dockfix_syntax::Stage], stages: &[usize]) -> Vec<(String, String)> {
    reads_from_stages(doc, all).into_iter().filter(|(s, _, _)| stages.contains(s)).map(|(_, p, t)| (p, t)).collect()
}

/// Every path a step reads out of a stage, with that stage and the step.
fn reads_from_stages(doc: &Document, all: &[dockfix_syntax::Stage]) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for ins in &doc.instructions {
        match ins.kind {
            Kind::Copy | Kind::Add => {
                let Some(from) = ins.flag("from").and_then(|f| f.value()) else { continue };
                let Some(f) = from_stage(all, from) else { continue };
                let args = ins.arg_values();
                for src in args.iter().take(args.len().saturating_sub(1)) {
                    let p = if src.starts_with('/') { (*src).to_string() } else { format!("/{src}") };
                    out.push((f, p, one_line(ins)));
                }
            }
            Kind::Run => {
                for f in ins.flags_named("mount") {
                    let v = f.value().unwrap_or("");
                    let mut from = None;
                    let mut source = "/".to_string();
                    for field in v.split(',') {
                        match field.split_once('=') {
                            Some(("from", x)) => from = Some(x.to_string()),
                            Some(("source" | "src", x)) => {
                                source = if x.starts_with('/') { x.into() } else { format!("/{x}") }
                            }
                            _ => {}
                        }
                    }
                    if let Some(f) = from.as_deref().and_then(|f| from_stage(all, f)) {
                        out.push((f, source, one_line(ins)));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn one_line(ins: &Instruction) -> String {
    let t: String = ins.line.text().split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 70 {
        format!("{}…", t.chars().take(69).collect::<String>())
    } else {
        t
    }
}

/// Programs that, run by the image (CMD/ENTRYPOINT), read a manager's cache.
fn runtime_programs(manager: &str) -> &'static [&'static str] {
    match manager {
        "go" => &["go"],
        "cargo" => &["cargo"],
        "maven" => &["mvn", "mvnw"],
        "gradle" => &["gradle", "gradlew"],
        _ => &[],
    }
}

/// Refuses mounts whose directory something else needs: a later step or
/// another stage reads it, a later step works offline from it, the image
/// runs the tool, or files were put there before.
fn cross_checks(cx: &Context<'_>, infos: &[StageInfo], runs: &mut [Run<'_>]) {
    let doc = cx.doc;
    let stages = doc.stage_list();
    // What each RUN covers with mounts (for "a later step reads it").
    let covered: Vec<(usize, Vec<String>)> = runs
        .iter()
        .map(|r| {
            let mut t: Vec<String> =
                r.existing.iter().filter(|m| m.kind == "cache").filter_map(|m| m.target.clone()).collect();
            t.extend(
                r.uses.iter().filter(|u| u.refusal.is_none()).flat_map(|u| u.needs.iter().map(|n| n.target.clone())),
            );
            (r.idx, t)
        })
        .collect();
    let offline: Vec<(usize, usize, &'static str)> = runs
        .iter()
        .flat_map(|r| r.uses.iter().filter(|u| u.offline).map(move |u| (r.stage, r.idx, u.manager)))
        .collect();
    let image_lists: Vec<(usize, usize)> =
        runs.iter().filter(|r| r.uses.iter().any(|u| u.reads_image_lists)).map(|r| (r.stage, r.idx)).collect();
    // Instruction index → stage, once (the loops below are per RUN).
    let mut stage_at = vec![0usize; doc.instructions.len()];
    for (s, st) in stages.iter().enumerate() {
        stage_at[st.from] = s;
        for i in st.body.clone() {
            stage_at[i] = s;
        }
    }
    let covered_idx: std::collections::HashSet<usize> = covered.iter().map(|(i, _)| *i).collect();
    let kids = children(infos);
    let all_reads = reads_from_stages(doc, stages);

    for run in runs.iter_mut() {
        let fam = family_in(&kids, run.stage);
        let later =
            |stage: usize, idx: usize| fam.binary_search(&stage).is_ok() && (stage != run.stage || idx > run.idx);
        let read_out: Vec<(String, String)> = all_reads
            .iter()
            .filter(|(s, _, _)| fam.binary_search(s).is_ok())
            .map(|(_, p, t)| (p.clone(), t.clone()))
            .collect();
        let deletes_lists = run.script.cmds.iter().any(|c| {
            c.program() == Some("rm")
                && c.words.iter().skip(1).any(|w| mounts::reach(&w.value, "/var/lib/apt/lists") != Reach::Apart)
        });
        let existing: Vec<Mount> = run.existing.clone();
        let ancestors_and_self: Vec<usize> = {
            let mut v = vec![run.stage];
            let mut cur = infos[run.stage].parent;
            while let Some(p) = cur {
                if v.contains(&p) {
                    break;
                }
                v.push(p);
                cur = infos[p].parent;
            }
            v
        };
        for u in run.uses.iter_mut() {
            if u.refusal.is_some() {
                continue;
            }
            let compiles = u.needs.iter().any(Need::compiled_only);
            // Already mounted by the user: nothing to add.
            u.needs.retain(|n| {
                !existing.iter().any(|m| {
                    m.target.as_ref().is_some_and(|t| {
                        (m.kind == "cache" && within(&n.target, t)) || within(t, &n.target) || within(&n.target, t)
                    })
                })
            });
            if u.manager == "apt" && !u.needs.iter().any(|n| n.label == "apt-cache") {
                u.edits.clear();
                u.added.clear();
            }
            if u.needs.is_empty() {
                u.edits.clear();
                u.added.clear();
                continue;
            }
            // apt lists read by a later install without `apt-get update`.
            if u.manager == "apt" {
                let lists_needed_later = image_lists.iter().any(|&(s, i)| later(s, i));
                if u.reads_image_lists || (lists_needed_later && !deletes_lists) {
                    u.needs.retain(|n| n.label != "apt-lists");
                    if !u.reads_image_lists {
                        u.notes.push(
                            "the package lists stay in the image: a later step installs without `apt-get update`"
                                .into(),
                        );
                    }
                }
            }
            if let Some(&(_, i, _)) = offline.iter().find(|&&(s, i, m)| m == u.manager && (later(s, i) || i == run.idx))
            {
                let line = doc.instructions[i].start_line;
                let why = if i == run.idx {
                    format!(
                        "`{}` works offline from what earlier steps downloaded into the image; a mount would hide it",
                        u.label
                    )
                } else {
                    format!(
                        "the step at line {line} works offline from what this one downloads: with a cache mount the download would not be in the image, and that step fails whenever the cache is empty (pruned, or another builder)"
                    )
                };
                // Go's build cache holds compiled packages, nothing a step
                // reads offline: it is mounted all the same.
                if compiles {
                    let before = u.needs.len();
                    u.needs.retain(Need::compiled_only);
                    if u.needs.is_empty() {
                        // The build cache is mounted already.
                        u.edits.clear();
                        u.added.clear();
                        continue;
                    }
                    if u.needs.len() < before {
                        u.notes.push(format!("no mount for the module cache: {why}"));
                    }
                } else {
                    *u = std::mem::take(u).refused(why);
                    continue;
                }
            }
            let mut why: Option<String> = None;
            'needs: for n in &u.needs {
                let t = &n.target;
                if let Some(reason) = mounts::hides_outputs(t, &run.state) {
                    why = Some(format!("a cache mount at {t} would keep it out of the image: {reason}"));
                    break;
                }
                if let Some((p, ins)) = read_out.iter().find(|(p, _)| within(p, t) || within(t, p)) {
                    why = Some(format!(
                        "`{ins}` copies {p} out of this stage: with a cache mount at {t} it would not be there"
                    ));
                    break;
                }
                // A later step of this stage (or of one built on it) uses it
                // without a mount.
                for &(idx, ref cov) in &covered {
                    let s = stage_at.get(idx).copied().unwrap_or(0);
                    if !later(s, idx) || cov.iter().any(|c| within(t, c)) {
                        continue;
                    }
                    let ins = &doc.instructions[idx];
                    if mentions(ins.line.text(), t, &run.state) {
                        why = Some(format!(
                            "the step at line {} reads {t}, which a cache mount would leave empty",
                            ins.start_line
                        ));
                        break 'needs;
                    }
                }
                for &s in &fam {
                    for idx in stages[s].body.clone() {
                        let ins = &doc.instructions[idx];
                        if !later(s, idx) || ins.kind != Kind::Run || covered_idx.contains(&idx) {
                            continue;
                        }
                        if mentions(ins.line.text(), t, &run.state) {
                            why = Some(format!(
                                "the step at line {} reads {t}, which a cache mount would leave empty",
                                ins.start_line
                            ));
                            break 'needs;
                        }
                    }
                }
                let progs = runtime_programs(u.manager);
                if !progs.is_empty() {
                    for &s in &fam {
                        if let Some(cmd) = effective_command(doc, infos, s) {
                            if cmd
                                .split(|c: char| c.is_whitespace() || matches!(c, '"' | '[' | ']' | ',' | ';' | '&'))
                                .any(|w| progs.contains(&w.rsplit('/').next().unwrap_or(w)))
                            {
                                why = Some(format!(
                                    "the image runs `{}` itself ({cmd}), which reads {t}: it must stay in the image",
                                    progs[0]
                                ));
                                break 'needs;
                            }
                        }
                    }
                }
                // Files put there before this step would be hidden.
                for &s in &ancestors_and_self {
                    let sstates = stage_states(doc, &stages[s]);
                    for (k, idx) in stages[s].body.clone().enumerate() {
                        if s == run.stage && idx >= run.idx {
                            break;
                        }
                        let ins = &doc.instructions[idx];
                        if !matches!(ins.kind, Kind::Copy | Kind::Add) {
                            continue;
                        }
                        if let Some(reason) = copy_into(cx, ins, &sstates[k], t) {
                            why = Some(reason);
                            break 'needs;
                        }
                    }
                }
            }
            if let Some(w) = why {
                *u = std::mem::take(u).refused(w);
            }
        }
    }
}

trait Refuse {
    fn refused(self, why: String) -> Self;
}

impl Refuse for Use {
    fn refused(mut self, why: String) -> Use {
        self.refusal = Some(why);
        self.needs.clear();
        self.edits.clear();
        self.added.clear();
        self.removed.clear();
        self.replaced.clear();
        self
    }
}

/// The CMD/ENTRYPOINT a stage ends with (its own or inherited), as text.
fn effective_command(doc: &Document, infos: &[StageInfo], s: usize) -> Option<String> {
    let stages = doc.stage_list();
    let mut cur = Some(s);
    let mut out = String::new();
    while let Some(c) = cur {
        for ins in doc.instructions[stages[c].body.clone()].iter().rev() {
            if matches!(ins.kind, Kind::Cmd | Kind::Entrypoint) && !out.contains(ins.keyword.as_str()) {
                out.push_str(&one_line(ins));
                out.push(' ');
            }
        }
        if !out.is_empty() {
            return Some(out.trim().to_string());
        }
        cur = infos[c].parent;
    }
    None
}

/// True when an instruction's text names a path inside (or above) `target`.
fn mentions(text: &str, target: &str, state: &State) -> bool {
    let home = state.env.get("HOME").cloned();
    text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '=' | '(' | ')' | '[' | ']'))
        .filter(|w| !w.is_empty())
        .filter_map(|w| {
            let w = match (w.strip_prefix("~/"), &home) {
                (Some(rest), _) if target.starts_with("/root/") => format!("/root/{rest}"),
                (Some(rest), Some(h)) => format!("{h}/{rest}"),
                _ => w.to_string(),
            };
            state.expand(&w).filter(|p| p.starts_with('/'))
        })
        .any(|p| within(&p, target) && !p.contains(['*', '?']))
}

/// Why a COPY/ADD before the RUN put files where the mount would go.
fn copy_into(cx: &Context<'_>, ins: &Instruction, state: &State, target: &str) -> Option<String> {
    let args = ins.arg_values();
    let dest = state.expand(args.last()?).map(|d| state.workdir.join(&d))?;
    let Workdir::Abs(dest) = dest else { return None };
    if within(&dest, target) {
        return Some(format!("`{}` puts files in {target}, which a cache mount would hide", one_line(ins)));
    }
    if !within(target, &dest) {
        return None;
    }
    if ins.flag("from").is_some() {
        return Some(format!("`{}` may put files in {target}, which a cache mount would hide", one_line(ins)));
    }
    let rel = target[dest.len()..].trim_start_matches('/');
    for src in &args[..args.len() - 1] {
        let base = src.trim_start_matches("./").trim_end_matches('/');
        let p = if base == "." || base.is_empty() { rel.to_string() } else { format!("{base}/{rel}") };
        if cx.context_has_dir(&p) || cx.context_has_file(&p) {
            return Some(format!("`{}` puts files in {target}, which a cache mount would hide", one_line(ins)));
        }
    }
    None
}

/// Existing cache mounts over what the build produces, with nothing copying
/// it out in the same RUN, while a later step, another stage or the image
/// needs it.
fn hidden_outputs(cx: &Context<'_>, infos: &[StageInfo], state: &State, stage: usize, idx: usize) -> Vec<Finding> {
    let doc = cx.doc;
    let ins = &doc.instructions[idx];
    let stages = doc.stage_list();
    let mut out = Vec::new();
    let script = Script::new(doc, ins, state).ok();
    for m in mounts::existing(ins, state) {
        let Some(t) = m.target.clone() else { continue };
        if m.kind != "cache" {
            continue;
        }
        let Some(reason) = mounts::hides_outputs(&t, state) else { continue };
        // Copied out in the same RUN?
        let copied = script.as_ref().is_some_and(|s| {
            s.cmds.iter().any(|c| {
                let prog = c.program().unwrap_or("");
                let cwd = c.cwd.clone();
                let inside = |w: &str| match state.expand(w).map(|p| cwd.join(&p)) {
                    Some(Workdir::Abs(p)) => within(&p, &t),
                    _ => false,
                };
                match prog {
                    "cp" | "mv" | "install" | "rsync" | "tar" => {
                        let args: Vec<&str> =
                            c.words.iter().skip(1).map(|w| w.value.as_str()).filter(|w| !w.starts_with('-')).collect();
                        args.len() >= 2
                            && args[..args.len() - 1].iter().any(|a| inside(a))
                            && !inside(args[args.len() - 1])
                    }
                    "cargo" => c.words.get(1).is_some_and(|w| w.value == "install"),
                    _ => false,
                }
            })
        });
        if copied {
            continue;
        }
        let fam = family(infos, stage);
        let read_out = paths_read_from(doc, stages, &fam);
        let by_copy = read_out.iter().find(|(p, _)| within(p, &t) || within(&t, p));
        let is_target = fam.contains(&(stages.len() - 1));
        let later_run = fam.iter().flat_map(|&s| stages[s].body.clone().map(move |i| (s, i))).find_map(|(s, i)| {
            let l = &doc.instructions[i];
            let later = s != stage || i > idx;
            (later
                && l.kind == Kind::Run
                && !mounts::existing(l, state)
                    .iter()
                    .any(|lm| lm.kind == "cache" && lm.target.as_deref() == Some(t.as_str())))
            .then_some(i)
        });
        let needed = if let Some((p, by)) = by_copy {
            Some(format!("`{by}` copies {p} out of it"))
        } else if is_target {
            Some("this stage is (or leads to) the image, which would not have it".to_string())
        } else {
            later_run.map(|i| format!("the step at line {} runs without that mount", doc.instructions[i].start_line))
        };
        let Some(needed) = needed else { continue };
        let mline = ins
            .flags_named("mount")
            .find(|f| f.value().is_some_and(|v| v.contains(t.rsplit('/').next().unwrap_or(""))));
        let range = mline.map_or(ins.span.clone(), |f| ins.source_range(f.span.clone()));
        out.push(
            Finding::new(NAME, range, format!("the cache mount at {t} keeps the build's output out of the image"))
                .why(format!(
                    "A cache mount is not part of the image: what the RUN writes there is gone when it ends ({reason}), and {needed}. Unless the same RUN copies the result out of the mount, drop the mount or copy the outputs elsewhere before the RUN ends."
                ))
                .fix(Fix::display_only("Copy the outputs out of the mount in the same RUN, or drop the mount")),
        );
    }
    out
}

/// Slug of an image reference for `id=`.
fn slug(s: &str) -> String {
    let repo = knowledge::image_repository(s);
    let name = repo.rsplit('/').next().unwrap_or(repo);
    let tag = knowledge::image_tag(s).unwrap_or("");
    let raw = if tag.is_empty() { name.to_string() } else { format!("{name}-{tag}") };
    raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' { c } else { '-' }).collect()
}

/// `id=` where one target would mix caches of different base images or
/// users.
fn assign_ids(infos: &[StageInfo], runs: &mut [Run<'_>]) {
    let uid_of = |r: &Run<'_>| match &r.user {
        Some(User::Other { account, .. }) => account.uid,
        _ => None,
    };
    let mut keys: BTreeMap<String, BTreeSet<(String, Option<u32>)>> = BTreeMap::new();
    for r in runs.iter() {
        let base = base_key(infos, r.stage);
        for m in r.existing.iter().filter(|m| m.kind == "cache" && m.id.is_none()) {
            if let Some(t) = &m.target {
                keys.entry(t.clone()).or_default().insert((base.clone(), None));
            }
        }
        for n in r.uses.iter().flat_map(|u| u.needs.iter()) {
            let b = if n.by_base { base.clone() } else { String::new() };
            keys.entry(n.target.clone()).or_default().insert((b, uid_of(r)));
        }
    }
    for r in runs.iter_mut() {
        let base = base_key(infos, r.stage);
        let uid = uid_of(r);
        for n in r.uses.iter_mut().flat_map(|u| u.needs.iter_mut()) {
            let Some(k) = keys.get(&n.target) else { continue };
            let bases: BTreeSet<&String> = k.iter().map(|(b, _)| b).collect();
            let uids: BTreeSet<Option<u32>> = k.iter().map(|(_, u)| *u).collect();
            let mut id = String::new();
            if n.by_base && bases.len() > 1 {
                id = format!("{}-{}", n.label, base);
            }
            if uids.len() > 1 {
                if id.is_empty() {
                    id = n.label.to_string();
                }
                id.push_str(&uid.map_or("-root".to_string(), |u| format!("-uid{u}")));
            }
            if !id.is_empty() {
                n.id = Some(id);
            }
        }
    }
}

fn base_key(infos: &[StageInfo], s: usize) -> String {
    let b = &infos[s].base;
    if b.is_empty() {
        format!("stage{s}")
    } else {
        slug(b)
    }
}

fn refusal(run: &Run<'_>, u: &Use, why: &str) -> Finding {
    let c = &run.script.cmds[u.cmd];
    let range = run.script.src(&c.span);
    let range = if range.is_empty() { run.script.ins.span.clone() } else { range };
    Finding::new(NAME, range, format!("no cache mount for `{}`", u.label))
        .why(format!("{why}. dockfix leaves this step as it is."))
        .fix(Fix::display_only("Keep the step without a cache mount"))
}

/// What the manager is called in messages.
fn manager_title(m: &str) -> &str {
    match m {
        "apt" => "apt",
        "dnf" => "dnf/yum",
        other => other,
    }
}

/// The fix of one RUN: mounts, cleanup edits, cache-disabling words out.
fn fix_finding(cx: &Context<'_>, info: &StageInfo, run: &Run<'_>) -> Option<Finding> {
    let doc = cx.doc;
    let ins = run.script.ins;
    let mut uses: Vec<Use> = run.uses.iter().filter(|u| u.refusal.is_none() && !u.needs.is_empty()).cloned().collect();
    if uses.is_empty() {
        return None;
    }
    let env = run.env(cx, info);
    // Commands that only empty a cache now on a mount go; ones that would
    // delete the mount point itself must go, or the mount does not happen.
    let mut removed_cmds: Vec<String> = Vec::new();
    let mut cmd_edits: Vec<Edit> = Vec::new();
    let mut refused: Vec<Use> = Vec::new();
    loop {
        let needs: Vec<&Need> = uses.iter().flat_map(|u| u.needs.iter()).collect();
        match cleanups(&env, &run.script, &uses, &needs) {
            Ok((edits, removed)) => {
                cmd_edits = edits;
                removed_cmds = removed;
                break;
            }
            Err((target, why)) => {
                // No mount there; a use left without mounts gets none.
                let mut kept = Vec::new();
                for mut u in uses {
                    if !u.needs.iter().any(|n| n.target == target) {
                        kept.push(u);
                        continue;
                    }
                    u.needs.retain(|n| n.target != target);
                    if u.needs.is_empty() {
                        refused.push(u.refused(why.clone()));
                    } else {
                        u.notes.push(format!("no mount at {target}: {why}"));
                        kept.push(u);
                    }
                }
                uses = kept;
                if uses.is_empty() {
                    break;
                }
            }
        }
    }
    if uses.is_empty() {
        let u = refused.first()?;
        return Some(refusal(run, u, u.refusal.as_deref().unwrap_or("")));
    }

    // Mounts in the order the commands run.
    uses.sort_by_key(|u| u.cmd);
    let mut flags = Vec::new();
    let mut targets: Vec<String> = Vec::new();
    let mut home_based = false;
    for n in uses.iter().flat_map(|u| u.needs.iter()) {
        if targets.contains(&n.target) {
            continue;
        }
        if n.target.contains([',', '"', '\'', ' ', '\t', '$', '=']) {
            return None;
        }
        targets.push(n.target.clone());
        home_based |= n.home_based;
        let mut f = format!("--mount=type=cache,target={}", n.target);
        if let Some(id) = &n.id {
            f.push_str(&format!(",id={id}"));
        }
        if n.locked {
            f.push_str(",sharing=locked");
        }
        if let Some(User::Other { account, .. }) = &run.user {
            if let Some(u) = account.uid {
                f.push_str(&format!(",uid={u}"));
            }
            if let Some(g) = account.gid {
                f.push_str(&format!(",gid={g}"));
            }
        }
        flags.push(f);
    }
    let mut edits = vec![run.script.insert_flags(&flags)];
    edits.extend(uses.iter().flat_map(|u| u.edits.iter().cloned()));
    edits.extend(cmd_edits);
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    if sorted.windows(2).any(|w| {
        w[0].range.end > w[1].range.start
            || (w[0].range.is_empty() && w[1].range.is_empty() && w[0].range.start == w[1].range.start)
    }) {
        return None;
    }
    debug_assert!(!edits.iter().any(|e| e.range.start < ins.span.start || e.range.end > ins.span.end));

    // The explanation.
    let names: Vec<&str> = {
        let mut v: Vec<&str> = Vec::new();
        for u in &uses {
            let t = manager_title(u.manager);
            if !v.contains(&t) {
                v.push(t);
            }
        }
        v
    };
    // One command per manager: the last (`apk update && apk add x` → `apk add x`).
    let mut labels: Vec<String> = Vec::new();
    for (k, u) in uses.iter().enumerate() {
        if !uses[k + 1..].iter().any(|v| v.manager == u.manager) {
            labels.push(format!("`{}`", u.label));
        }
    }
    let only_lists = uses.iter().all(|u| u.needs.iter().all(|n| n.label == "apt-lists"));
    let compiles = uses.iter().flat_map(|u| u.needs.iter()).any(Need::compiled_only);
    let compiles_only = compiles && uses.iter().flat_map(|u| u.needs.iter()).all(Need::compiled_only);
    let message = if compiles_only {
        format!(
            "{} compile{} every package again whenever this step re-runs",
            join_and(&labels),
            if labels.len() == 1 { "s" } else { "" }
        )
    } else if compiles {
        format!(
            "{} download{} and compile{} everything again whenever this step re-runs",
            join_and(&labels),
            if labels.len() == 1 { "s" } else { "" },
            if labels.len() == 1 { "s" } else { "" }
        )
    } else if only_lists {
        format!("{} downloads the package lists again whenever this step re-runs", labels.join(" and "))
    } else if labels.len() == 1 {
        format!("{} downloads every package again whenever this step re-runs", labels[0])
    } else {
        format!("{} download every package again whenever this step re-runs", join_and(&labels))
    };
    let dedup = |v: Vec<String>| {
        v.into_iter().fold(Vec::new(), |mut acc: Vec<String>, x| {
            if !acc.contains(&x) {
                acc.push(x);
            }
            acc
        })
    };
    let flags_removed: Vec<String> = dedup(uses.iter().flat_map(|u| u.removed.iter().cloned()).collect());
    let removed_cmds = dedup(removed_cmds);
    let mut removed = flags_removed.clone();
    removed.extend(removed_cmds.iter().cloned());
    let added: Vec<String> = dedup(uses.iter().flat_map(|u| u.added.iter().cloned()).collect());
    let replaced: Vec<String> = dedup(uses.iter().flat_map(|u| u.replaced.iter().cloned()).collect());
    let mut why = format!(
        "When this step re-runs (a file it reads changed, or a step before it), {} start{} from an empty cache. A BuildKit cache mount keeps {} between builds and outside the image: the image's files stay the same, except the cache that would have been in it.",
        join_and(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        if names.len() == 1 { "s" } else { "" },
        join_and(&targets)
    );
    if !flags_removed.is_empty() {
        why.push_str(&format!(
            " {} go{}: {} kept the cache out of the image, which the mount now does.",
            join_and(&flags_removed),
            if flags_removed.len() == 1 { "es" } else { "" },
            if flags_removed.len() == 1 { "it" } else { "they" }
        ));
    }
    if !removed_cmds.is_empty() {
        why.push_str(&format!(
            " {} go{}: on the mount {} would only empty the cache.",
            join_and(&removed_cmds),
            if removed_cmds.len() == 1 { "es" } else { "" },
            if removed_cmds.len() == 1 { "it" } else { "they" }
        ));
    }
    if uses.iter().any(|u| u.manager == "apt" && !u.added.is_empty()) {
        why.push_str(&format!(
            " Debian and Ubuntu images delete /var/cache/apt/archives/*.deb after every install (/etc/apt/apt.conf.d/docker-clean), so apt downloads into {} in the mounted cache instead; the image and its apt configuration stay as they were.",
            managers::APT_ARCHIVES
        ));
    }
    if uses.iter().any(|u| u.manager == "dnf" && !u.added.is_empty()) {
        why.push_str(" `--setopt=keepcache=1` keeps the downloaded packages in the mounted cache (dnf deletes them after installing) and `--refresh` checks the repository metadata every time, as the empty cache did.");
    }
    if flags.iter().any(|f| f.contains("sharing=locked")) {
        why.push_str(" `sharing=locked`: this tool cannot share its cache with a build running at the same time.");
    }
    if let Some(n) = uses.iter().flat_map(|u| u.needs.iter()).find(|n| n.id.is_some()) {
        let id = n.id.as_deref().unwrap_or("");
        if id.ends_with("-root") || id.contains("-uid") {
            why.push_str(" `id=` keeps apart the caches of steps run by different users: a cache belongs to the user that created it.");
        } else {
            why.push_str(" `id=` keeps apart the caches of stages built on different images, whose packages differ.");
        }
    }
    for n in uses.iter().flat_map(|u| u.notes.iter()) {
        why.push_str(&format!(" Note: {n}."));
    }
    let mut applicability = Applicability::Safe;
    if let Some(User::Other { name, account }) = &run.user {
        why.push_str(&format!(
            " The mount belongs to uid {}{} so that user {name} can write to it.",
            account.uid.unwrap_or_default(),
            account.gid.map(|g| format!(", gid {g},")).unwrap_or_default()
        ));
        if home_based {
            applicability = Applicability::Unsafe;
            why.push_str(&format!(
                " Unsafe: BuildKit before 0.10 (Docker 20.10) leaves the mount point in the image as an empty directory owned by root, so user {name} could not write there at run time."
            ));
        }
    }
    for u in &refused {
        why.push_str(&format!(" No mount for `{}`: {}.", u.label, u.refusal.as_deref().unwrap_or("")));
    }
    let metadata_only = uses.iter().all(|u| u.manager == "zypper");
    let gain = if compiles_only {
        "A change recompiles only the packages that changed; Go's build cache persists across builds.".to_string()
    } else if compiles {
        "A change re-downloads only the modules that changed and recompiles only the packages that changed; the Go caches persist across builds.".to_string()
    } else if metadata_only {
        "Repository metadata is fetched only when it changed; the zypper cache persists across builds.".to_string()
    } else if only_lists {
        "`apt-get update` fetches only the package lists that changed; the lists persist across builds.".to_string()
    } else {
        format!(
            "A dependency change re-downloads only what changed; the {} cache persists across builds.",
            join_and(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        )
    };
    let mut title = format!("Mount a build cache at {}", join_and(&targets));
    if !removed.is_empty() {
        title.push_str(&format!("; drop {}", join_and(&removed)));
    }
    if !replaced.is_empty() {
        title.push_str(&format!("; replace {}", join_and(&replaced)));
    }
    if !added.is_empty() {
        title.push_str(&format!("; add {}", join_and(&added)));
    }
    let range = ins.source_range(ins.keyword_span.clone());
    let fix = Fix { title, edits, applicability };
    Some(
        Finding::new(NAME, range.start..ins.span.end.min(line_end(doc.source(), range.start)), message)
            .why(why)
            .gain(gain)
            .fix(fix),
    )
}

fn line_end(src: &[u8], at: usize) -> usize {
    src[at..].iter().position(|b| *b == b'\n').map_or(src.len(), |p| at + p)
}

fn join_and(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

/// The commands to drop because they only empty a cache that is now on a
/// mount: `rm -rf` inside it, `pip cache purge`, `apt-get clean`… An `rm`
/// that reaches the mount point itself would fail the build: it must go, or
/// `Err((target, why))`.
#[allow(clippy::type_complexity)]
fn cleanups(
    env: &Env<'_>,
    script: &Script<'_>,
    uses: &[Use],
    needs: &[&Need],
) -> Result<(Vec<Edit>, Vec<String>), (String, String)> {
    let mut drop_cmds: Vec<usize> = Vec::new();
    let mut must: Vec<(usize, String)> = Vec::new();
    let mut word_edits: Vec<Edit> = Vec::new();
    let mut described: Vec<String> = Vec::new();
    let managers: BTreeSet<&str> = uses.iter().map(|u| u.manager).collect();
    for (i, c) in script.cmds.iter().enumerate() {
        let Some(prog) = c.program() else { continue };
        if prog == "rm" {
            let paths: Vec<&script::Word> = c.words.iter().skip(1).filter(|w| !w.value.starts_with('-')).collect();
            let mut hits = Vec::new();
            for w in &paths {
                let raw = match (w.value.strip_prefix("~/"), env.home()) {
                    (Some(rest), Ok(h)) => format!("{h}/{rest}"),
                    _ => w.value.clone(),
                };
                let expanded = env.expand(&raw).map(|p| match c.cwd.join(&p) {
                    Workdir::Abs(a) => a,
                    _ => p,
                });
                let Some(p) = expanded.filter(|p| p.starts_with('/')) else { continue };
                let reach = needs.iter().map(|n| (mounts::reach(&p, &n.target), n.target.clone())).max_by_key(
                    |(r, _)| match r {
                        Reach::Apart => 0,
                        Reach::Inside => 1,
                        Reach::MountPoint => 2,
                        Reach::Above => 3,
                    },
                );
                if let Some((Reach::Above, t)) = &reach {
                    return Err((
                        t.clone(),
                        format!("`{}` deletes {t} and more around it: with a mount there it would fail, and without it the image would keep what it deleted", c.label()),
                    ));
                }
                if let Some((r, t)) = reach.filter(|(r, _)| *r != Reach::Apart) {
                    hits.push((*w, r, t));
                }
            }
            if hits.is_empty() {
                continue;
            }
            let at_mount_point = hits.iter().any(|(_, r, _)| *r == Reach::MountPoint);
            let note = if at_mount_point { " (it would fail on the mount point)" } else { "" };
            if hits.len() == paths.len() {
                drop_cmds.push(i);
                if let Some((_, _, t)) = hits.iter().find(|(_, r, _)| *r == Reach::MountPoint) {
                    must.push((i, t.clone()));
                }
                described.push(format!("`{}`{note}", c.label()));
            } else {
                let mut words = Vec::new();
                for (w, r, t) in hits {
                    match script.remove_word(w) {
                        Some(e) => {
                            word_edits.push(e);
                            words.push(format!("`rm` of `{}`", w.value));
                        }
                        None if r == Reach::MountPoint => {
                            return Err((t, format!("`{}` would delete the mount point and fail the build, and dockfix cannot take it out cleanly", c.label())));
                        }
                        None => {}
                    }
                }
                if let Some(last) = words.last_mut() {
                    last.push_str(note);
                }
                described.extend(words);
            }
            continue;
        }
        // `pip cache purge`, `npm cache clean --force`, `apt-get clean`…
        let args: Vec<&str> = c
            .words
            .iter()
            .skip(1)
            .map(|w| w.value.as_str())
            .filter(|a| !a.starts_with("--") || a.starts_with("-modcache"))
            .collect();
        let python_m = prog.starts_with("python") && args.first() == Some(&"-m");
        for m in knowledge::MANAGERS.iter().filter(|m| managers.contains(m.name)) {
            let is_prog = m.programs.iter().any(|p| p.rsplit('/').next() == Some(prog))
                || (m.name == "pip" && (prog.starts_with("pip") || (python_m && args.get(1) == Some(&"pip"))));
            if !is_prog {
                continue;
            }
            let rest: Vec<&str> = if python_m { args[2..].to_vec() } else { args.clone() };
            let hit = m.clean_commands.iter().any(|cc| {
                let words: Vec<&str> = cc.split(' ').collect();
                rest.len() >= words.len() && rest[..words.len()] == words[..]
            });
            if !hit {
                continue;
            }
            // apt-get clean: only when /var/cache/apt is mounted here.
            if m.name == "apt" && !needs.iter().any(|n| n.label == "apt-cache") {
                continue;
            }
            drop_cmds.push(i);
            if m.name == "go" {
                let t =
                    needs.iter().find(|n| n.label == if rest.contains(&"-modcache") { "go-mod" } else { "go-build" });
                if let Some(n) = t {
                    must.push((i, n.target.clone()));
                }
            }
            described.push(format!("`{}`", c.label()));
            break;
        }
    }
    let mut edits = word_edits;
    if !drop_cmds.is_empty() {
        match script.remove_cmds(&drop_cmds) {
            Some(e) => edits.extend(e),
            None => {
                // Try one by one: keep what can go, fail on mount points.
                described.clear();
                for &i in &drop_cmds {
                    match script.remove_cmd(i) {
                        Some(e) if !edits.iter().any(|x| overlaps(&x.range, &e.range)) => {
                            edits.push(e);
                            described.push(format!("`{}`", script.cmds[i].label()));
                        }
                        _ => {
                            if let Some((_, t)) = must.iter().find(|(j, _)| *j == i) {
                                return Err((
                                    t.clone(),
                                    format!("`{}` would delete the mount point and fail the build, and dockfix cannot take it out cleanly", script.cmds[i].label()),
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    Ok((edits, described))
}

/// A `# syntax=` pinning a frontend without `RUN --mount` (before 1.2), or
/// one dockfix does not know.
fn frontend_refusal(doc: &Document) -> Option<Finding> {
    let d = doc.directive("syntax")?;
    let v = d.value.trim();
    let repo = knowledge::image_repository(v);
    let known = matches!(repo, "docker/dockerfile" | "docker/dockerfile-upstream");
    let tag = knowledge::image_tag(v);
    let ok = known
        && match tag {
            None => !v.contains('@'),
            Some(t) => {
                let t = t.trim_end_matches("-labs").trim_end_matches("-experimental");
                let mut parts = t.split('.');
                let major = parts.next().and_then(|m| m.parse::<u32>().ok());
                let minor = parts.next().and_then(|m| m.parse::<u32>().ok());
                match (major, minor) {
                    (Some(maj), Some(min)) => (maj, min) >= (1, 2),
                    (Some(maj), None) => maj >= 1,
                    _ => matches!(t, "latest" | "labs" | "master" | "experimental" | "mainline"),
                }
            }
        };
    if ok {
        return None;
    }
    let why = if known {
        format!("`# syntax={v}` pins a Dockerfile frontend older than 1.2, which does not know `RUN --mount`: the build would fail. Move to `docker/dockerfile:1` to get cache mounts")
    } else {
        format!("`# syntax={v}` selects a frontend dockfix does not know, so it cannot tell whether it supports `RUN --mount`")
    };
    Some(
        Finding::new(
            NAME,
            d.lines.start..d.lines.start + d.value.len().min(d.lines.len()),
            "no cache mounts: the pinned frontend may not support them",
        )
        .why(why)
        .fix(Fix::display_only("Leave the RUN steps without cache mounts")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_core::{Engine, MemFs, Mode, PassOptions, Service};
    use dockfix_syntax::parse_str;

    /// Runs the pass to a fixed point on `src`: (output, findings).
    fn run(src: &str, files: &[(&str, &str)], unsafe_fixes: bool) -> (String, Vec<Finding>) {
        let mut fs = MemFs::new();
        for (p, c) in files {
            fs.insert(format!("/c/{p}"), c.as_bytes().to_vec());
        }
        let svc = Service::for_dockerfile("/c/Dockerfile");
        let pass = CacheMounts;
        let out = Engine::new(vec![&pass])
            .run(&svc, &fs, &PassOptions::default(), None, src.as_bytes(), Mode { unsafe_fixes })
            .unwrap();
        let fixed = String::from_utf8(out.fixed).unwrap();
        // Idempotent: a second run proposes nothing.
        let again = Engine::new(vec![&pass])
            .run(&svc, &fs, &PassOptions::default(), None, fixed.as_bytes(), Mode { unsafe_fixes })
            .unwrap();
        assert_eq!(String::from_utf8(again.fixed).unwrap(), fixed, "second run changes the file");
        (fixed, out.findings.into_iter().map(|r| r.finding).collect())
    }

    #[test]
    fn frontends() {
        let refuses = |v: &str| frontend_refusal(&parse_str(&format!("# syntax={v}\nFROM a\n")).unwrap()).is_some();
        assert!(refuses("docker/dockerfile:1.0"));
        assert!(refuses("docker/dockerfile:1.1-experimental"));
        assert!(refuses("example.com/my/frontend:2"));
        assert!(!refuses("docker/dockerfile:1"));
        assert!(!refuses("docker/dockerfile:1.2"));
        assert!(!refuses("docker.io/docker/dockerfile:1.7-labs"));
        assert!(!refuses("docker/dockerfile-upstream:master"));
        assert!(frontend_refusal(&parse_str("FROM a\n").unwrap()).is_none());
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("docker.io/library/python:3.12-slim"), "python-3.12-slim");
        assert_eq!(slug("ghcr.io/o/img@sha256:abc"), "img");
    }

    #[test]
    fn root_pip_gets_a_safe_mount() {
        let (out, f) = run("FROM python:3.12\nRUN pip install --no-cache-dir flask\n", &[], false);
        assert_eq!(out, "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install flask\n");
        assert_eq!(f[0].applicability(), Applicability::Safe);
    }

    #[test]
    fn non_root_home_cache_is_unsafe() {
        let src = "FROM node:20\nUSER node\nRUN npm ci\n";
        let (out, f) = run(src, &[], false);
        assert_eq!(out, src, "not applied without --unsafe-fixes");
        assert_eq!(f[0].applicability(), Applicability::Unsafe);
        let (out, _) = run(src, &[], true);
        assert!(out.contains("--mount=type=cache,target=/home/node/.npm,uid=1000,gid=1000 npm ci"), "{out}");
    }

    #[test]
    fn refusals_say_why() {
        let why = |src: &str| {
            let (out, f) = run(src, &[], true);
            assert!(!out.contains("--mount"), "{out}");
            f.iter()
                .find(|f| f.applicability() == Applicability::DisplayOnly)
                .map(|f| f.why.clone())
                .unwrap_or_default()
        };
        assert!(why("FROM python:3\nRUN useradd app\nUSER app\nRUN pip install x\n").contains("uid is not known"));
        assert!(why("FROM python:3\nENV PIP_NO_CACHE_DIR=off\nENV PIP_NO_CACHE_DIR=1\nRUN pip install x\n")
            .contains("ENV PIP_NO_CACHE_DIR=1"));
        assert!(why("FROM golang:1\nRUN go mod download\nCMD go run .\n").contains("the image runs `go`"));
        assert!(why(
            "FROM rust:1 AS b\nRUN cargo fetch\nFROM rust:1\nCOPY --from=b /usr/local/cargo /usr/local/cargo\n"
        )
        .contains("copies"));
        assert!(why("FROM maven:3 AS b\nRUN mvn dependency:go-offline\nRUN mvn -o package\n").contains("works offline"));
        assert!(why("FROM python:3\nRUN pip install x && rm -rf /root/.cache\n").contains("more around it"));
    }

    #[test]
    fn apt_keeps_lists_a_later_step_reads() {
        let (out, _) =
            run("FROM debian\nRUN apt-get update && apt-get install -y a\nRUN apt-get install -y b\n", &[], false);
        assert!(!out.contains("target=/var/lib/apt/lists"), "{out}");
        assert_eq!(out.matches("target=/var/cache/apt,sharing=locked").count(), 2, "{out}");
    }

    #[test]
    fn ids_where_bases_differ() {
        let (out, _) = run("FROM alpine:3.19 AS a\nRUN apk add x\nFROM alpine:3.20\nRUN apk add y\n", &[], false);
        assert!(out.contains("id=apk-alpine-3.19"), "{out}");
        assert!(out.contains("id=apk-alpine-3.20"), "{out}");
        let (out, _) = run("FROM node:20 AS a\nRUN npm ci\nFROM node:22\nRUN npm ci\n", &[], false);
        assert!(!out.contains("id="), "npm's cache is content-addressed: {out}");
    }
}
