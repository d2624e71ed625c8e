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
//!
//! The ecosystem modules (`python`, `node`, `go`, `java`, `ruby`, `php`)
//! say what each command reads and how to split an install that also
//! installs the project; this module plans the move and writes the edits:
//! - a *move*: the broad copy goes after one or more installs (a RUN that
//!   goes on with commands that need the sources is split at `&&`), an
//!   install of the project itself becomes a deps-only step before the
//!   sources and a project step after them;
//! - an *insertion*: `go build`/`mvn package` right after the copy gets a
//!   `go mod download`/`mvn dependency:go-offline` step before it;
//! - a *narrowing*: a manifest copy that also copies a README the install
//!   does not read loses it (the source copy brings it later).

mod commands;
mod context;
mod edits;
mod go;
mod insert;
mod java;
mod narrow;
mod node;
mod php;
mod python;
mod ruby;

use std::collections::BTreeSet;
use std::ops::Range;

use dockfix_core::layout;
use dockfix_core::walk::{stage_states, State, Workdir};
use dockfix_core::{Applicability, Context, Edit, Finding, Fix, Pass};
use dockfix_syntax::shell::Op;
use dockfix_syntax::{Document, Instruction, Kind, Stage};

use commands::{analyze, Check, Install, Project, Role, RunAnalysis, StageFacts};
use context::{Checked, ContextView, Scope};
use edits::{
    capitalize, collapse_dirs, display_files, insert_manifests, join_and, manifest_copies, one_line, refusal, run_line,
    split_edits,
};
use insert::Insertion;

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
        let view = ContextView::new(cx);
        let facts = StageFacts { old_poetry: python::old_poetry_pin(&doc.source_str()) };
        let stages = doc.stages();
        let mut out = Vec::new();
        for stage in &stages {
            let states = stage_states(doc, stage);
            let p = Planner { cx, view: &view, doc, body: stage.body.clone(), states, facts: facts.clone() };
            for (k, idx) in stage.body.clone().enumerate() {
                let ins = &doc.instructions[idx];
                if let Some(copy) = BroadCopy::new(cx, ins, &states[k]) {
                    let done = deps_done(&p, &stages, stage, idx, &copy);
                    if let Some(f) = p.plan(idx, &copy, &done) {
                        out.push(f);
                    }
                } else if let Some(f) = p.narrow(idx) {
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
        if ins.flags.iter().any(|f| !matches!(f.name(), "chown" | "chmod" | "link")) {
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
        let flags = ins.flags.iter().map(|f| ins.text_of(&f.span).to_string()).collect();
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

    /// Where a context directory within the copy lands in the image.
    fn image_dir(&self, ctx_dir: &str) -> Workdir {
        let rel = if self.context_dir.is_empty() {
            ctx_dir
        } else {
            ctx_dir.strip_prefix(self.context_dir.as_str()).unwrap_or(ctx_dir).trim_start_matches('/')
        };
        if rel.is_empty() {
            self.dest.clone()
        } else {
            self.dest.join(rel)
        }
    }

    /// The context directory of an in-image directory within the copy
    /// (`Some("")`-like for the destination itself).
    fn context_dir_of(&self, dir: &Workdir) -> Option<String> {
        let rel = dir.relative_to(&self.dest)?;
        Some(match (self.context_dir.is_empty(), rel.is_empty()) {
            (_, true) => self.context_dir.clone(),
            (true, false) => rel,
            (false, false) => format!("{}/{}", self.context_dir, rel),
        })
    }
}

/// Package managers whose dependencies the stage (or a stage it is built
/// on) installs before `copy_idx` from manifest files: a project install
/// after the source copy is then expected, and a download step is there.
fn deps_done(
    p: &Planner<'_>,
    stages: &[Stage],
    stage: &Stage,
    copy_idx: usize,
    copy: &BroadCopy,
) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    let mut ranges: Vec<(Range<usize>, &[State])> = vec![(stage.body.start..copy_idx, p.states)];
    let mut base = stage.base.to_ascii_lowercase();
    let mut hops = 0;
    while let Some(parent) = stages[..stage.index].iter().rev().find(|s| s.name.as_deref() == Some(base.as_str())) {
        ranges.push((parent.body.clone(), stage_states(p.doc, parent)));
        base = parent.base.to_ascii_lowercase();
        hops += 1;
        if hops > 8 {
            break;
        }
    }
    for (range, states) in ranges {
        let start = range.start;
        for idx in range {
            let ins = &p.doc.instructions[idx];
            if ins.kind != Kind::Run {
                continue;
            }
            let Some(state) = states.get(idx - start) else { continue };
            let a = analyze(ins, state, &copy.dest, &p.facts);
            for (_, i) in a.installs() {
                if !i.reads.is_empty() {
                    out.insert(i.manager);
                }
            }
        }
    }
    out
}

/// What one stage's planning needs.
struct Planner<'a> {
    cx: &'a Context<'a>,
    view: &'a ContextView<'a>,
    doc: &'a Document,
    body: Range<usize>,
    /// `states[k]`: the state before `doc.instructions[body.start + k]`.
    states: &'a [State],
    facts: StageFacts,
}

/// One RUN the source copy moves past.
struct Target {
    run_idx: usize,
    /// Its installs as written.
    orig: Vec<String>,
    /// Labels of its installs (the deps-only form for split ones).
    labels: Vec<String>,
    /// Context files and directories to copy before it.
    files: Vec<String>,
    /// Edits inside the RUN (deps-only flags).
    edits: Vec<Edit>,
    /// Project steps to run after the source copy.
    after: Vec<String>,
    /// Explanations of the splits.
    splits: Vec<String>,
    /// The RUN goes on with commands that need the sources: the source
    /// bytes where its first part ends and its second part starts.
    split_run: Option<(usize, usize)>,
    /// `cd`s the second part replays (`cd web && `).
    split_prefix: String,
    /// The commands of the second part, for the message.
    rest: Option<String>,
    safe: bool,
}

/// Why a target cannot move: the install it is about and the reason.
type Refusal = (String, String);

impl Planner<'_> {
    fn state(&self, idx: usize) -> &State {
        &self.states[idx - self.body.start]
    }

    fn run_analysis(&self, idx: usize, copy: &BroadCopy) -> RunAnalysis {
        let mut a = analyze(&self.doc.instructions[idx], self.state(idx), &copy.dest, &self.facts);
        self.settle(&mut a, idx, copy);
        a
    }

    /// An `rm` of paths the copy does not provide (`rm -f .npmrc` after an
    /// install that needed it) removes what the build made, not sources.
    fn settle(&self, a: &mut RunAnalysis, idx: usize, copy: &BroadCopy) {
        let state = self.state(idx);
        for (c, r) in a.cmds.iter().zip(a.roles.iter_mut()) {
            if !matches!(r, Role::Source { build: None, .. }) || c.name() != "rm" {
                continue;
            }
            let paths: Vec<&String> = c.words.iter().skip(1).filter(|w| !w.starts_with('-')).collect();
            let made_by_build = !paths.is_empty()
                && paths.iter().all(|w| {
                    !w.contains(['*', '?', '[', '$'])
                        && match commands::resolve(state, &c.cwd, w) {
                            p @ (Workdir::Abs(_) | Workdir::Base(_)) => {
                                p.is_within(&copy.dest) == Some(true)
                                    && copy.context_path(&p).is_some_and(|f| !self.view.on_disk(&f))
                            }
                            Workdir::Unknown => false,
                        }
                });
            if made_by_build {
                *r = Role::neutral();
            }
        }
    }

    /// Finds the installs after the copy and proposes the move, or says why not.
    fn plan(&self, copy_idx: usize, copy: &BroadCopy, done: &BTreeSet<&'static str>) -> Option<Finding> {
        let doc = self.doc;
        let copy_range = doc.instructions[copy_idx].span.clone();
        let mut chain: Vec<Target> = Vec::new();
        let mut blocker: Option<String> = None;
        for idx in copy_idx + 1..self.body.end {
            let ins = &doc.instructions[idx];
            let state = self.state(idx);
            if ins.kind == Kind::Run {
                let a = self.run_analysis(idx, copy);
                let targets: Vec<&Install> =
                    a.installs().map(|(_, i)| i).filter(|i| self.is_target(i, copy, done)).collect();
                if let Some(first) = targets.first() {
                    if let Some(b) = &blocker {
                        if chain.is_empty() {
                            if let Some(f) = self.hoist(copy_idx, copy, idx, &a, done) {
                                return Some(f);
                            }
                            return Some(refusal(copy_range, copy, &first.label, &format!("between them, {b}")));
                        }
                        break;
                    }
                    let last_split = chain.iter().any(|t| !t.after.is_empty());
                    if last_split && chain.last().is_some_and(|t| self.state(t.run_idx) != state) {
                        break;
                    }
                    match self.evaluate(copy_idx, copy, idx, &a, done) {
                        Ok(t) => {
                            let stop = t.split_run.is_some();
                            chain.push(t);
                            if stop {
                                break;
                            }
                            continue;
                        }
                        Err((label, why)) => {
                            if chain.is_empty() {
                                return Some(refusal(copy_range, copy, &label, &self.note_submodules(why)));
                            }
                            break;
                        }
                    }
                }
                if chain.is_empty() && blocker.is_none() {
                    // `pip install ./wheels/x.whl` straight after the copy.
                    if let Some(inst) = a
                        .installs()
                        .map(|(_, i)| i)
                        .find(|i| matches!(i.project, Project::NeedsSource(_)) && !done.contains(i.manager))
                    {
                        if let Project::NeedsSource(why) = &inst.project {
                            return Some(refusal(copy_range, copy, &inst.label, why));
                        }
                    }
                    if let Insertion::Finding(f) = self.insertion(copy_idx, copy, idx, &a, done) {
                        return Some(f);
                    }
                }
            }
            let b = self.between_blocker(idx, copy);
            if !chain.is_empty() {
                let state_change = matches!(ins.kind, Kind::Env | Kind::Arg | Kind::Workdir | Kind::User | Kind::Shell);
                if b.is_some() || (state_change && chain.iter().any(|t| !t.after.is_empty())) {
                    break;
                }
                continue;
            }
            if blocker.is_none() {
                blocker = b;
            }
        }
        if chain.is_empty() {
            return None;
        }
        Some(self.finding(copy_idx, copy, chain))
    }

    /// Names the git submodules a refusal is about: a path dependency into a
    /// submodule is a common reason an install needs more than manifests.
    fn note_submodules(&self, mut why: String) -> String {
        let Some(text) = self.view.read(".gitmodules") else { return why };
        for line in text.lines() {
            let Some(path) = line.trim().strip_prefix("path").map(|r| r.trim_start_matches([' ', '\t', '='])) else {
                continue;
            };
            let path = path.trim();
            if !path.is_empty() && why.contains(path) {
                why.push_str(&format!(" (`{path}` is a git submodule)"));
                break;
            }
        }
        why
    }

    /// An install whose manifests the copy provides, and which is not the
    /// project step of a split already made.
    fn is_target(&self, i: &Install, copy: &BroadCopy, done: &BTreeSet<&'static str>) -> bool {
        if done.contains(i.manager) && !matches!(i.project, Project::DepsOnly) {
            return false;
        }
        // A copy into a directory of the project (`COPY .yarn ./.yarn/`) is
        // one of its manifests, not the source copy.
        if copy.dest != i.dir && copy.dest.is_within(&i.dir) == Some(true) {
            return false;
        }
        i.reads.iter().any(|r| copy.context_path(&r.path).is_some())
            || (i.dir.is_within(&copy.dest) == Some(true)
                && i.reads.iter().any(|r| r.required && r.path == Workdir::Unknown))
    }

    /// Why an instruction between the copy and the install stops the move.
    fn between_blocker(&self, idx: usize, copy: &BroadCopy) -> Option<String> {
        let ins = &self.doc.instructions[idx];
        let state = self.state(idx);
        match ins.kind {
            Kind::Run => {
                let a = self.run_analysis(idx, copy);
                if let Some(b) = a.blockers().next() {
                    return Some(b.to_string());
                }
                if let Some(i) = a.installs().map(|(_, i)| i).find(|i| {
                    !matches!(i.project, Project::DepsOnly)
                        || i.reads.iter().any(|r| copy.context_path(&r.path).is_some())
                }) {
                    return Some(format!("`{}` runs first", i.label));
                }
                for (c, r) in a.cmds.iter().zip(&a.roles) {
                    if let Role::Neutral { outputs } = r {
                        if let Some(o) = self.conflicting_output(outputs, copy) {
                            return Some(format!(
                                "`{}` writes `{o}`, which the source copy would then overwrite",
                                c.raw.join(" ")
                            ));
                        }
                    }
                }
                None
            }
            Kind::Copy | Kind::Add => {
                let args = ins.arg_values();
                let dest = args.last().and_then(|d| state.expand(d)).map(|d| state.workdir.join(&d))?;
                let overlaps = dest.is_within(&copy.dest) != Some(false) || copy.dest.is_within(&dest) != Some(false);
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

    /// An output path inside the copy that the context also has: the source
    /// copy after the install would overwrite what the install wrote.
    fn conflicting_output(&self, outputs: &[Workdir], copy: &BroadCopy) -> Option<String> {
        outputs.iter().filter_map(|o| copy.context_path(o)).find(|o| self.view.exists(o))
    }

    /// Checks one RUN with installs the copy provides, and plans its part.
    fn evaluate(
        &self,
        copy_idx: usize,
        copy: &BroadCopy,
        run_idx: usize,
        a: &RunAnalysis,
        done: &BTreeSet<&'static str>,
    ) -> Result<Target, Refusal> {
        let doc = self.doc;
        let ins = &doc.instructions[run_idx];
        let run_state = self.state(run_idx);
        let copy_state = self.state(copy_idx);
        let first_label = a
            .installs()
            .map(|(_, i)| i)
            .find(|i| self.is_target(i, copy, done))
            .map(|i| i.label.clone())
            .unwrap_or_default();
        let refuse = |why: String| -> Refusal { (first_label.clone(), why) };

        // The copy must land in the same place after the move.
        let dest_after = run_state.expand(&copy.dest_text).map(|d| run_state.workdir.join(&d));
        if dest_after.as_ref() != Some(&copy.dest) || matches!(copy.dest, Workdir::Unknown) {
            return Err(refuse("a WORKDIR or variable between them changes where the copy goes".into()));
        }
        if copy_state.env != run_state.env && copy.flags.iter().any(|f| f.contains('$')) {
            return Err(refuse("an ENV between them changes the copy's flags".into()));
        }

        // Where the RUN splits: the first command that needs the sources. A
        // project install after a deps install of the same manager is the
        // project step already (`pip install -r … && pip install -e .`).
        let mut deps_in_run: BTreeSet<&str> = BTreeSet::new();
        let split_at = a.roles.iter().position(|r| match r {
            Role::Source { .. } => true,
            Role::Install(i) => {
                let project_step = !matches!(i.project, Project::DepsOnly)
                    && (deps_in_run.contains(i.manager) || !self.is_target(i, copy, done));
                if i.project == Project::DepsOnly && !i.reads.is_empty() {
                    deps_in_run.insert(i.manager);
                }
                matches!(i.project, Project::NeedsSource(_)) || project_step
            }
            Role::Neutral { .. } => false,
        });
        let part1 = 0..split_at.unwrap_or(a.roles.len());
        if !a.installs().any(|(k, i)| part1.contains(&k) && self.is_target(i, copy, done)) {
            // The install comes after a command that needs the sources.
            let why = split_at.map(|s| source_reason(&a.roles[s], &a.cmds[s].words)).unwrap_or_default();
            return Err(refuse(format!("in the same RUN, {why}; split that RUN first")));
        }
        let mut split_run = None;
        let mut rest = None;
        let mut split_prefix = String::new();
        if let Some(s) = split_at {
            let why = source_reason(&a.roles[s], &a.cmds[s].words);
            let split_first = format!("in the same RUN, {why}; split that RUN first");
            if !a.editable || a.compound {
                return Err(refuse(split_first));
            }
            if let Some(c) = a.cmds[s + 1..].iter().find(|c| c.before == Some(Op::Or)) {
                return Err(refuse(format!(
                    "in the same RUN, {why}, and `|| {}` after it would also catch a failed install; split that RUN first",
                    c.text()
                )));
            }
            if a.cmds[s].before != Some(Op::And) {
                return Err(refuse(format!(
                    "in the same RUN, {why}, and it does not follow with `&&`; split that RUN first"
                )));
            }
            if let Some(c) = a.cmds[..s].iter().find(|c| c.state_change && c.name() != "cd") {
                return Err(refuse(format!(
                    "in the same RUN, {why}, and `{}` before it changes the shell's state; split that RUN first",
                    c.text()
                )));
            }
            if let Some(c) = a.cmds[s..].iter().find(|c| is_cleanup(c, &copy.dest, run_state)) {
                return Err(refuse(format!(
                    "in the same RUN, {why}, and `{}` after it cleans up what the install left, which in a RUN of its own would no longer shrink the install's layer",
                    c.text()
                )));
            }
            let (Some(end_span), Some(start_span)) = (a.cmds[s - 1].span.clone(), a.cmds[s].span.clone()) else {
                return Err(refuse(split_first));
            };
            let end = ins.source_range(end_span).end;
            let start = ins.source_range(start_span).start;
            let gap = &doc.source()[end..start];
            if String::from_utf8_lossy(gap).lines().any(|l| l.trim_start().starts_with('#')) {
                return Err(refuse(format!(
                    "in the same RUN, {why}, and comment lines sit where it would split; split that RUN first"
                )));
            }
            split_run = Some((end, start));
            // The second part starts where the first left off: its `cd`s again.
            split_prefix =
                a.cmds[..s].iter().filter(|c| c.name() == "cd").map(|c| format!("{} && ", c.text())).collect();
            rest = Some(a.cmds[s..].iter().map(|c| c.raw.join(" ")).collect::<Vec<_>>().join(" && "));
        }

        let mut t = Target {
            run_idx,
            orig: Vec::new(),
            labels: Vec::new(),
            files: Vec::new(),
            edits: Vec::new(),
            after: Vec::new(),
            splits: Vec::new(),
            split_run,
            split_prefix,
            rest,
            safe: true,
        };
        for k in part1.clone() {
            match &a.roles[k] {
                Role::Install(i) if self.is_target(i, copy, done) => {
                    let cmd = &a.cmds[k];
                    let (files, project) = self.resolve(copy, i).map_err(|mut why| {
                        if why.starts_with("cannot tell") && copy_state.user != run_state.user {
                            why.push_str("; a USER between them changes the home directory `~` stands for");
                        }
                        (i.label.clone(), why)
                    })?;
                    t.orig.push(i.label.clone());
                    for f in files {
                        if !t.files.contains(&f) {
                            t.files.push(f);
                        }
                    }
                    match project {
                        Project::DepsOnly => t.labels.push(i.label.clone()),
                        Project::NeedsSource(why) => return Err((i.label.clone(), why)),
                        Project::Split(s) => {
                            if !a.editable || a.compound || cmd.spans.is_empty() {
                                return Err((
                                    i.label.clone(),
                                    format!(
                                        "{}, and the RUN cannot be edited (exec form, heredoc, or a compound command)",
                                        s.why
                                    ),
                                ));
                            }
                            let cds: Vec<&commands::Cmd> = a.cmds[..k].iter().filter(|c| c.name() == "cd").collect();
                            if cmd.cwd != run_state.workdir && cds.is_empty() {
                                return Err((
                                    i.label.clone(),
                                    format!("{}, and it runs in another directory than the RUN", s.why),
                                ));
                            }
                            if let Some(c) = a.cmds[..k].iter().find(|c| c.state_change && c.name() != "cd") {
                                return Err((
                                    i.label.clone(),
                                    format!(
                                        "{}, and `{}` before it sets shell state a separate project step would not see",
                                        s.why,
                                        c.text()
                                    ),
                                ));
                            }
                            let (edits, before) = split_edits(ins, cmd, &s);
                            t.edits.extend(edits);
                            let cd: String = cds.iter().map(|c| format!("{} && ", c.text())).collect();
                            let after = format!("{cd}{}", s.after);
                            t.splits.push(format!(
                                "{}: it becomes `{before}` before the sources and `{after}` after them",
                                s.why
                            ));
                            t.labels.push(before);
                            t.after.push(after);
                            t.safe &= s.safe;
                        }
                    }
                }
                Role::Neutral { outputs } => {
                    if let Some(o) = self.conflicting_output(outputs, copy) {
                        return Err(refuse(format!(
                            "`{}` writes `{o}`, which the source copy would then overwrite; add it to .dockerignore",
                            a.cmds[k].raw.join(" ")
                        )));
                    }
                }
                _ => {}
            }
        }
        Ok(t)
    }

    /// The context files an install reads, its manifests checked; how it
    /// installs the project.
    fn resolve(&self, copy: &BroadCopy, i: &Install) -> Result<(Vec<String>, Project), String> {
        if let Some(why) = &i.writes_manifest {
            return Err(format!("{why}, which the source copy would then overwrite"));
        }
        let mut files: Vec<String> = Vec::new();
        let mut required: Vec<String> = Vec::new();
        for r in &i.reads {
            if matches!(r.path, Workdir::Unknown) {
                if r.required {
                    return Err("cannot tell which files it reads (`~` or a variable dockfix cannot expand)".into());
                }
                continue;
            }
            let Some(ctx) = copy.context_path(&r.path) else { continue };
            if self.view.exists(&ctx) {
                if r.required && !required.contains(&ctx) {
                    required.push(ctx.clone());
                }
                if !files.contains(&ctx) {
                    files.push(ctx);
                }
            } else if r.required {
                let scope = self.scope(copy, String::new(), Vec::new());
                return Err(scope.missing(&ctx));
            }
        }
        // pip names its files by path and may run anywhere; the others read
        // their manifests in the project directory, which is then in the copy.
        let dir = copy.context_dir_of(&i.dir).unwrap_or_else(|| copy.context_dir.clone());
        let mut scope = self.scope(copy, dir, files.clone());
        scope.required = required;
        let checked: Checked = match &i.check {
            Check::None => Checked::default(),
            Check::Requirements => python::check_requirements(&scope, i)?,
            Check::PipProject => python::check_pip_project(&scope, i)?,
            Check::Pyproject => python::check_pyproject(&scope, i)?,
            Check::Pipfile => python::check_pipfile(&scope, i)?,
            Check::Node(n) => node::check(&scope, i, n)?,
            Check::GoMod => go::check(&scope, i)?,
            Check::Maven => java::check_maven(&scope, i)?,
            Check::Gradle => java::check_gradle(&scope, i)?,
            Check::Gemfile => ruby::check(&scope, i)?,
            Check::Composer(c) => php::check(&scope, i, c)?,
        };
        files.retain(|f| !checked.skip.contains(f));
        for f in checked.extra {
            if !files.contains(&f) {
                files.push(f);
            }
        }
        let mut outputs: Vec<String> = i.outputs.iter().filter_map(|o| copy.context_path(o)).collect();
        outputs.extend(checked.outputs);
        if let Some(o) = outputs.iter().find(|o| self.view.exists(o)) {
            return Err(format!(
                "the build context has `{o}`, which `{}` would copy over what the install writes there; add `{o}` to .dockerignore",
                copy.text
            ));
        }
        let project = checked.project.unwrap_or_else(|| i.project.clone());
        Ok((collapse_dirs(self.view, files), project))
    }

    fn scope<'s>(&'s self, copy: &'s BroadCopy, dir: String, files: Vec<String>) -> Scope<'s> {
        Scope { view: self.view, copy_dir: &copy.context_dir, dir, files, required: Vec::new() }
    }

    /// The install moves up instead: when what stops the copy from moving
    /// down only changes known paths of the sources (`chmod +x
    /// entrypoint.sh`), the install (with its manifests) goes before the
    /// copy, and the copy right before the first such step.
    fn hoist(
        &self,
        copy_idx: usize,
        copy: &BroadCopy,
        run_idx: usize,
        a: &RunAnalysis,
        done: &BTreeSet<&'static str>,
    ) -> Option<Finding> {
        let doc = self.doc;
        const PATH_COMMANDS: &[&str] = &["chmod", "chown", "rm", "mkdir", "ln", "touch"];
        let mut first_blocker: Option<usize> = None;
        let mut touched: Vec<Workdir> = Vec::new();
        let mut steps: Vec<String> = Vec::new();
        for idx in copy_idx + 1..run_idx {
            let ins = &doc.instructions[idx];
            let state_change = matches!(ins.kind, Kind::Env | Kind::Arg | Kind::Workdir | Kind::User | Kind::Shell);
            if self.between_blocker(idx, copy).is_none() {
                if state_change && first_blocker.is_some() {
                    return None;
                }
                continue;
            }
            if ins.kind != Kind::Run {
                return None;
            }
            first_blocker.get_or_insert(idx);
            let b = self.run_analysis(idx, copy);
            if b.error.is_some() {
                return None;
            }
            for (c, r) in b.cmds.iter().zip(&b.roles) {
                match r {
                    Role::Neutral { outputs } if outputs.is_empty() => {}
                    Role::Source { build: None, .. } if PATH_COMMANDS.contains(&c.name()) => {
                        for w in c.words.iter().skip(1).filter(|w| !w.starts_with(['-', '+'])) {
                            if c.name() == "chmod" && w.chars().all(|ch| ch.is_ascii_digit()) {
                                continue;
                            }
                            if c.name() == "chown" && w.contains(':') && !w.contains('/') {
                                continue;
                            }
                            touched.push(commands::resolve(self.state(idx), &c.cwd, w));
                        }
                        steps.push(c.raw.join(" "));
                    }
                    _ => return None,
                }
            }
        }
        let b_idx = first_blocker?;
        let t = self.evaluate(copy_idx, copy, run_idx, a, done).ok()?;
        if !t.after.is_empty() || t.split_run.is_some() {
            return None;
        }
        // What the install reads and writes must not be what those steps touch.
        let mut mine: Vec<Workdir> = t.files.iter().map(|f| copy.image_dir(f)).collect();
        for (_, i) in a.installs() {
            mine.extend(i.outputs.iter().cloned());
        }
        let clash = |p: &Workdir, f: &Workdir| p.is_within(f) != Some(false) || f.is_within(p) != Some(false);
        if touched.iter().any(|p| mine.iter().any(|f| clash(p, f))) {
            return None;
        }
        // The copy lands where it did.
        let st = self.state(b_idx);
        if st.expand(&copy.dest_text).map(|d| st.workdir.join(&d)).as_ref() != Some(&copy.dest) {
            return None;
        }

        let eol = layout::eol(doc);
        let copy_block = layout::block(doc, copy_idx);
        let run_block = layout::block(doc, run_idx);
        let blank_after = |idx: usize| {
            let next = doc.instructions[idx].end_line + 1;
            doc.trivia_at_line(next).is_some_and(|t| t.kind == dockfix_syntax::TriviaKind::Blank)
        };
        let ind = layout::indent(doc, &doc.instructions[b_idx]);
        // The install's comments, then its manifests, then the install.
        let comments = doc.leading_comments(run_idx);
        let mut text = String::new();
        if !comments.is_empty() {
            text.push_str(&layout::lines_text(doc, comments.clone()));
        }
        for l in manifest_copies(doc, copy_idx, copy, &t.files, self.view) {
            text.push_str(&format!("{ind}{l}{eol}"));
        }
        text.push_str(&layout::lines_text(doc, doc.instructions[run_idx].lines.clone()));
        text.push_str(&layout::lines_text(doc, copy_block.clone()));
        if blank_after(copy_idx) {
            text.push_str(eol);
        }
        let edits = vec![
            layout::delete_lines(doc, copy_block),
            layout::delete_lines(doc, run_block),
            Edit::insert(layout::insertion_point(doc, b_idx), text),
        ];
        let list = display_files(copy, &t.files);
        let orig: Vec<String> = t.orig.iter().map(|l| format!("`{l}`")).collect();
        let steps: Vec<String> = steps.iter().map(|s| format!("`{s}`")).collect();
        Some(
            Finding::new(
                NAME,
                doc.instructions[copy_idx].span.clone(),
                format!("`{}` before {} re-runs the install on every source change", copy.text, join_and(&orig)),
            )
            .why(format!(
                "BuildKit re-runs every step after the first one whose inputs changed. `{}` changes with any source edit, so the dependency install after it re-runs each time, downloading and building every package again. {} between them {} files of the sources the install does not use, so the install moves up, before the copy.",
                copy.text,
                capitalize(&join_and(&steps)),
                if steps.len() == 1 { "changes" } else { "change" }
            ))
            .gain(format!(
                "A source edit re-runs only the steps from `{}` on; {} stays cached until {list} {}.",
                copy.text,
                join_and(&orig),
                if t.files.len() == 1 { "changes" } else { "change" }
            ))
            .fix(Fix::safe(format!("Copy {list} and install before the sources"), edits)),
        )
    }

    /// The finding and edits for a move past `chain`.
    fn finding(&self, copy_idx: usize, copy: &BroadCopy, chain: Vec<Target>) -> Finding {
        let doc = self.doc;
        let copy_range = doc.instructions[copy_idx].span.clone();
        let mut edits = Vec::new();
        let copy_block = layout::block(doc, copy_idx);
        edits.push(layout::delete_lines(doc, copy_block.clone()));
        // A file copied for an earlier install of the chain is in place already.
        let mut copied: Vec<String> = Vec::new();
        for t in &chain {
            let fresh: Vec<String> = t.files.iter().filter(|f| !copied.contains(f)).cloned().collect();
            copied.extend(fresh.iter().cloned());
            let lines = manifest_copies(doc, copy_idx, copy, &fresh, self.view);
            if !lines.is_empty() {
                edits.push(insert_manifests(doc, t.run_idx, &lines));
            }
            edits.extend(t.edits.iter().cloned());
        }
        let last = chain.last().expect("chain is not empty");
        let last_ins = &doc.instructions[last.run_idx];
        let eol = layout::eol(doc);
        let ind = layout::indent(doc, last_ins);
        let mut moved = layout::lines_text(doc, copy_block);
        for t in &chain {
            let ins = &doc.instructions[t.run_idx];
            for after in &t.after {
                moved.push_str(&format!("{ind}{}{eol}", run_line(ins, after)));
            }
        }
        let blank_after = |idx: usize| {
            let next = doc.instructions[idx].end_line + 1;
            doc.trivia_at_line(next).is_some_and(|t| t.kind == dockfix_syntax::TriviaKind::Blank)
        };
        let paragraph = blank_after(copy_idx);
        match last.split_run {
            Some((end, start)) => {
                let mut text = String::from(eol);
                if paragraph {
                    text.push_str(eol);
                }
                text.push_str(&moved);
                text.push_str(&ind);
                let mut head = vec![last_ins.keyword.clone()];
                head.extend(last_ins.flags.iter().map(|f| last_ins.text_of(&f.span).to_string()));
                text.push_str(&head.join(" "));
                text.push(' ');
                text.push_str(&last.split_prefix);
                edits.push(Edit::replace(end..start, text));
            }
            None => {
                if paragraph {
                    let at_eof = last_ins.end_line >= doc.line_count();
                    moved = format!("{eol}{moved}");
                    if !at_eof && !blank_after(last.run_idx) {
                        moved.push_str(eol);
                    }
                }
                edits.push(layout::insert_text_after(doc, last.run_idx, &moved));
            }
        }

        let files: Vec<String> = chain.iter().flat_map(|t| t.files.iter().cloned()).fold(Vec::new(), |mut v, f| {
            if !v.contains(&f) {
                v.push(f);
            }
            v
        });
        let labels: Vec<String> = chain.iter().flat_map(|t| t.labels.iter().cloned()).collect();
        let list = display_files(copy, &files);
        let quoted: Vec<String> = labels.iter().map(|l| format!("`{l}`")).collect();
        let what = join_and(&quoted);
        let plural = labels.len() > 1;
        let mut why = format!(
            "BuildKit re-runs every step after the first one whose inputs changed. `{}` changes with any source edit, so the dependency install after it re-runs each time, downloading and building every package again.",
            copy.text
        );
        for t in &chain {
            for s in &t.splits {
                why.push_str(&format!(" {}.", capitalize(s)));
            }
            if let Some(rest) = &t.rest {
                why.push_str(&format!(" The RUN goes on with `{rest}`, which needs the sources: it becomes a RUN of its own after the copy."));
            }
        }
        let afters: Vec<String> = chain.iter().flat_map(|t| t.after.iter().map(|a| format!("`{a}`"))).collect();
        let mut title = format!("Copy {list} first, install, then copy the sources");
        if !afters.is_empty() {
            title.push_str(&format!(" and run {}", join_and(&afters)));
        }
        let orig: Vec<String> = chain.iter().flat_map(|t| t.orig.iter().map(|l| format!("`{l}`"))).collect();
        let message = format!(
            "`{}` before {} re-runs the install{} on every source change",
            copy.text,
            join_and(&orig),
            if plural { "s" } else { "" }
        );
        let gain = format!(
            "A source edit re-runs only the steps from `{}` on; {what} {} cached until {list} {}.",
            copy.text,
            if plural { "stay" } else { "stays" },
            if files.len() == 1 { "changes" } else { "change" }
        );
        let safe = chain.iter().all(|t| t.safe);
        let fix = if safe { Fix::safe(title, edits) } else { Fix::unsafe_(title, edits) };
        let mut f = Finding::new(NAME, copy_range, message).why(why).gain(gain).fix(fix);
        if !safe {
            f.why.push_str(
                " The split is an unsafe fix: check that the dependencies it installs first are the project's.",
            );
        }
        f
    }
}

/// Why a role needs the sources, for messages.
fn source_reason(r: &Role, words: &[String]) -> String {
    match r {
        Role::Source { why, .. } => why.clone(),
        Role::Install(i) => match &i.project {
            Project::NeedsSource(w) => format!("`{}` needs the sources: {w}", i.label),
            _ => format!("`{}` installs the project", i.label),
        },
        Role::Neutral { .. } => format!("`{}` runs", words.join(" ")),
    }
}

/// A command after the split point that removes what the install left
/// (outside the sources): splitting would keep that in the install's layer.
fn is_cleanup(c: &commands::Cmd, dest: &Workdir, state: &State) -> bool {
    let w = &c.words;
    match c.name() {
        "rm" => w
            .iter()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .any(|a| commands::resolve(state, &c.cwd, a).is_within(dest) != Some(true)),
        "apt-get" | "apt" => w.iter().any(|a| matches!(a.as_str(), "purge" | "autoremove" | "clean" | "remove")),
        "apk" => w.get(1).is_some_and(|v| v == "del"),
        "yum" | "dnf" | "microdnf" => w.iter().any(|a| matches!(a.as_str(), "remove" | "clean" | "autoremove")),
        "npm" | "yarn" | "pnpm" => w.get(1).is_some_and(|v| v == "cache" || v == "store"),
        _ => {
            w.windows(2).any(|p| (p[0] == "pip" || p[0].starts_with("pip")) && (p[1] == "uninstall" || p[1] == "cache"))
        }
    }
}
