//! Pass `apt-hygiene`: the apt habits that experts fix by hand.
//!
//! ```text
//! RUN apt-get update                          RUN apt-get update && apt-get install -y \
//! RUN apt-get install -y curl          =>         --no-install-recommends ca-certificates curl \
//!                                                 && rm -rf /var/lib/apt/lists/*
//! ```
//!
//! - An install that uses package lists fetched by an earlier step can
//!   install from stale lists once that step is cached: `apt-get update`
//!   goes into the install's RUN (moved there when it ran alone and nothing
//!   in between needs it; repeated there otherwise).
//! - `apt-get install` without `--no-install-recommends` installs every
//!   recommended package too (unsafe fix: the image may need one).
//! - A RUN that fetches the lists and installs leaves them in its layer
//!   unless it deletes them; when `cache-mounts` runs, it mounts them
//!   instead and this pass leaves that RUN to it.

mod apt;
mod script;

use std::collections::{BTreeMap, BTreeSet};

use dockfix_core::config::OptionSpec;
use dockfix_core::knowledge;
use dockfix_core::layout;
use dockfix_core::suppress::{suppressed_by, suppressions, Suppression};
use dockfix_core::walk::{normalize, stage_states, State, Workdir};
use dockfix_core::{Applicability, Context, Finding, Fix, Pass};
use dockfix_syntax::{Document, Instruction, Kind, Stage};

use apt::{classify, Apt, Use, LISTS};
use script::{Form, Script};

pub const NAME: &str = "apt-hygiene";
/// The pass that mounts the package lists as a cache.
const CACHE_MOUNTS: &str = "cache-mounts";
const RM_LISTS: &str = "rm -rf /var/lib/apt/lists/*";

/// The pass.
pub struct AptHygiene;

const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "no-install-recommends",
        kind: "bool",
        help: "propose `--no-install-recommends` for installs without it (default true; the fix is unsafe)",
    },
    OptionSpec {
        name: "remove-lists",
        kind: "bool",
        help: "delete the package lists at the end of a RUN that fetched them (default true)",
    },
];

impl Pass for AptHygiene {
    fn name(&self) -> &'static str {
        NAME
    }
    fn summary(&self) -> &'static str {
        "Run apt-get update in the step that installs, install without recommends, keep the package lists out of the image"
    }
    fn explanation(&self) -> &'static str {
        include_str!("../EXPLAIN.md")
    }
    fn applicability(&self) -> Applicability {
        Applicability::Safe
    }
    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }
    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        let doc = cx.doc;
        if doc.stage_list().is_empty() {
            return Vec::new();
        }
        let a = Analysis::new(cx);
        let mut out = Vec::new();
        a.stale_lists(&mut out);
        if cx.options.get_bool(NAME, "no-install-recommends") != Some(false) {
            a.recommends(&mut out);
        }
        if cx.options.get_bool(NAME, "remove-lists") != Some(false) {
            a.lists_in_image(&mut out);
        }
        out
    }
}

/// One RUN.
struct Run<'d> {
    idx: usize,
    stage: usize,
    script: Result<Script<'d>, &'static str>,
    apts: Vec<Apt>,
    state: State,
    /// A mount covers /var/lib/apt/lists: its lists are not the image's.
    lists_mounted: bool,
    /// The first command that may run apt in a way dockfix cannot read
    /// (`sh -c "apt-get …"`, a script): it may read the lists.
    opaque: Option<usize>,
}

impl Run<'_> {
    fn ins<'a>(&self, doc: &'a Document) -> &'a Instruction {
        &doc.instructions[self.idx]
    }

    /// The first apt command that uses the lists before any `update` in this
    /// RUN, if a download (`install`…) uses them before an update too.
    fn consumes(&self) -> Option<usize> {
        let mut first_use = None;
        for (k, a) in self.apts.iter().enumerate() {
            match a.use_ {
                Use::Update | Use::Clean => return None,
                Use::Read => {
                    first_use.get_or_insert(k);
                }
                Use::Fetch => return Some(*first_use.get_or_insert(k)),
                Use::Other => {}
            }
        }
        None
    }

    /// Reads the lists before any update, without downloading (or may, in
    /// a way dockfix cannot read).
    fn reads(&self) -> bool {
        let before_update = |cmd: usize| !self.apts.iter().any(|a| a.cmd < cmd && a.use_ == Use::Update);
        self.apts.iter().take_while(|a| !matches!(a.use_, Use::Update | Use::Clean)).any(|a| a.use_ == Use::Read)
            || self.opaque.is_some_and(before_update)
    }

    fn last_update(&self) -> Option<usize> {
        self.apts.iter().rposition(|a| a.use_ == Use::Update)
    }

    fn cleans_after(&self, k: usize) -> bool {
        self.apts[k..].iter().any(|a| a.use_ == Use::Clean)
    }

    fn lists_moved(&self) -> bool {
        self.apts.iter().any(|a| a.lists_moved)
    }

    /// The RUN does nothing but `apt-get update` (no flags).
    fn lone_update(&self, doc: &Document) -> bool {
        let Ok(s) = &self.script else { return false };
        self.ins(doc).flags.is_empty()
            && !s.cmds.is_empty()
            && s.cmds.len() == self.apts.len()
            && self.apts.iter().all(|a| a.use_ == Use::Update && matches!(a.tool.as_str(), "apt-get" | "apt"))
    }

    /// The text of apt command `k`, for messages: program, subcommand and
    /// packages (options left out, so that other passes' edits do not
    /// change it).
    fn label(&self, k: usize) -> String {
        let Ok(s) = &self.script else { return String::new() };
        let a = &self.apts[k];
        let c = &s.cmds[a.cmd];
        let mut parts = vec![a.tool.clone()];
        if !a.verb.is_empty() {
            parts.push(a.verb.clone());
        }
        parts.extend(a.packages.iter().map(|&p| c.words[p].value.clone()));
        let t = parts.join(" ");
        if t.chars().count() > 60 {
            format!("{}…", t.chars().take(59).collect::<String>())
        } else {
            t
        }
    }

    /// Source bytes of apt command `k` (the whole RUN without a script).
    fn range(&self, doc: &Document, k: usize) -> std::ops::Range<usize> {
        match &self.script {
            Ok(s) => s.src(&s.cmds[self.apts[k].cmd].span),
            Err(_) => self.ins(doc).span.clone(),
        }
    }
}

/// Package lists an earlier RUN fetched, as a later step finds them.
#[derive(Clone, Default)]
struct Lists {
    /// The RUN (index in `runs`) whose `apt-get update` (index in its apts)
    /// left them.
    provider: Option<(usize, usize)>,
    /// Some step since then used them.
    used: bool,
    /// Instructions since then (the stage chain's, in build order).
    since: Vec<usize>,
}

/// A RUN that downloads packages with lists an earlier RUN fetched.
struct Consumer {
    run: usize,
    /// Its first apt command that uses the lists.
    first_use: usize,
    provider: (usize, usize),
    /// No step between the provider and it used the lists.
    first: bool,
    since: Vec<usize>,
}

struct Analysis<'c, 'd> {
    cx: &'c Context<'d>,
    doc: &'d Document,
    sups: Vec<Suppression>,
    runs: Vec<Run<'d>>,
    run_at: BTreeMap<usize, usize>,
    /// The state before each instruction.
    states: BTreeMap<usize, State>,
    /// Each stage's parent stage.
    parents: Vec<Option<usize>>,
    consumers: Vec<Consumer>,
    /// RUNs (indices in `runs`) whose package lists a later step reads.
    read_later: BTreeSet<usize>,
    /// Per RUN (index in `runs`): where `APT::Install-Recommends` may have
    /// been set before it (line and what).
    recommends_config: Vec<Option<String>>,
}

impl<'c, 'd> Analysis<'c, 'd> {
    fn new(cx: &'c Context<'d>) -> Analysis<'c, 'd> {
        let doc = cx.doc;
        let stages = doc.stage_list();
        let mut a = Analysis {
            cx,
            doc,
            sups: suppressions(doc),
            runs: Vec::new(),
            run_at: BTreeMap::new(),
            states: BTreeMap::new(),
            parents: Vec::new(),
            consumers: Vec::new(),
            read_later: BTreeSet::new(),
            recommends_config: Vec::new(),
        };
        let mut ends: Vec<(Lists, Option<String>)> = Vec::new();
        for (s, stage) in stages.iter().enumerate() {
            let base = stage.base.to_ascii_lowercase();
            let parent = stages[..s].iter().rposition(|p| p.name.as_deref() == Some(base.as_str()));
            a.parents.push(parent);
            let (mut lists, mut config) = match parent {
                Some(p) => {
                    let (mut l, c) = ends[p].clone();
                    l.since.push(stage.from);
                    (l, c)
                }
                None => (Lists::default(), None),
            };
            let states = stage_states(doc, stage);
            let posix = posix_shell(doc, stage);
            for (k, idx) in stage.body.clone().enumerate() {
                let ins = &doc.instructions[idx];
                a.states.insert(idx, states[k].clone());
                if ins.kind != Kind::Run || !posix {
                    config = config.or_else(|| a.sets_recommends(idx, &states[k]));
                    lists.since.push(idx);
                    continue;
                }
                let script = Script::new(doc, ins);
                let apts = match &script {
                    Ok(sc) => sc.cmds.iter().enumerate().filter_map(|(i, c)| classify(i, c)).collect(),
                    Err(_) => Vec::new(),
                };
                let lists_mounted = lists_mounted(ins, &states[k]);
                let opaque = opaque_apt(cx, &script, &apts, ins);
                let ri = a.runs.len();
                a.runs.push(Run { idx, stage: s, script, apts, state: states[k].clone(), lists_mounted, opaque });
                a.run_at.insert(idx, ri);
                a.recommends_config.push(config.clone());
                config = config.or_else(|| a.sets_recommends(idx, &states[k]));
                let r = &a.runs[ri];
                if r.lists_mounted || r.lists_moved() {
                    lists.since.push(idx);
                    continue;
                }
                if let (true, Some((p, _))) = (r.consumes().is_some() || r.reads(), lists.provider) {
                    a.read_later.insert(p);
                }
                if let (Some(first_use), Some(provider)) = (r.consumes(), lists.provider) {
                    a.consumers.push(Consumer {
                        run: ri,
                        first_use,
                        provider,
                        first: !lists.used,
                        since: lists.since.clone(),
                    });
                    lists.used = true;
                } else if r.reads() {
                    lists.used = true;
                }
                match r.last_update() {
                    Some(u) if r.cleans_after(u) => lists = Lists::default(),
                    Some(u) => lists = Lists { provider: Some((ri, u)), used: false, since: Vec::new() },
                    None if r.apts.iter().any(|a| a.use_ == Use::Clean) => lists = Lists::default(),
                    None => lists.since.push(idx),
                }
            }
            ends.push((lists, config));
        }
        a
    }

    fn suppressed(&self, pass: &str, range: &std::ops::Range<usize>) -> bool {
        suppressed_by(self.doc, &self.sups, pass, range).is_some()
    }

    // ---- rule 1: stale package lists --------------------------------------

    fn stale_lists(&self, out: &mut Vec<Finding>) {
        let doc = self.doc;
        for c in &self.consumers {
            let run = &self.runs[c.run];
            let (pr, pu) = c.provider;
            let prov = &self.runs[pr];
            let label = run.label(c.first_use);
            let range = run.range(doc, c.first_use);
            let p_line = prov.ins(doc).start_line;
            let update_text = match &prov.script {
                Ok(ps) if matches!(prov.apts[pu].tool.as_str(), "apt-get" | "apt") => ps.cmd_text(prov.apts[pu].cmd),
                _ => "apt-get update".to_string(),
            };
            let message = format!("`{label}` uses package lists fetched by an earlier step");
            let stale_why = format!(
                "BuildKit reuses a step while its text and the steps before it are unchanged. The package lists this install uses were fetched by `{}` at line {p_line}, a step whose text never changes: once cached, its lists stay as old as that cache. When the install runs again (a package added, a step before it changed), apt asks the mirror for package versions that may since have been replaced and fails with `404 Not Found`, or installs outdated versions.",
                prov.label(pu)
            );
            let refuse = |why: &str| {
                Finding::new(NAME, range.clone(), message.clone())
                    .why(format!("{stale_why} Not fixed: {why}."))
                    .fix(Fix::display_only("Run `apt-get update` in the same RUN as the install"))
            };
            let script = match &run.script {
                Ok(s) if s.form != Form::Exec => s,
                Ok(_) => {
                    out.push(refuse(
                        "an exec-form RUN has no shell to run `apt-get update && …`; rewrite it in shell form",
                    ));
                    continue;
                }
                Err(why) => {
                    out.push(refuse(&format!("dockfix does not edit this RUN: {why}")));
                    continue;
                }
            };
            if run.ins(doc).flags_named("network").any(|f| f.value() == Some("none")) {
                out.push(refuse("the RUN has no network (`--network=none`), so `apt-get update` cannot run there"));
                continue;
            }
            let insert_cmd = run.apts[c.first_use].cmd;
            let Some(prepend) = script.prepend(insert_cmd, &update_text) else {
                out.push(refuse("the install is not a plain command of the RUN (it follows `||` or `!`, or is in a pipeline), so `apt-get update &&` in front of it would change what runs"));
                continue;
            };
            // What runs between the update and the install, in build order.
            let before_in_run = self.cmds_inert(run, 0, insert_cmd, false);
            let prov_rest = self.cmds_inert(prov, prov.apts[pu].cmd + 1, usize::MAX, true);
            let between_no_apt = c.since.iter().try_for_each(|&i| self.inert(i, false));
            let between = c.since.iter().try_for_each(|&i| self.inert(i, true));
            let p_range = prov.ins(doc).span.clone();
            let p_suppressed = self.suppressed(NAME, &p_range);

            let movable = c.first
                && prov.stage == run.stage
                && prov.lone_update(doc)
                && between_no_apt.is_ok()
                && before_in_run.is_ok()
                && !p_suppressed;
            if movable {
                if self.suppressed(NAME, &range) {
                    continue;
                }
                let ins_line = run.ins(doc).start_line;
                let mut why = format!(
                    "{stale_why} In the install's RUN, the lists are fetched whenever the install runs. Nothing between line {p_line} and line {ins_line} uses the package lists or changes what `apt-get update` fetches, so the image gets the same packages, with one layer fewer."
                );
                let delete = match own_comment(doc, prov.idx) {
                    Some((block, text)) => {
                        why.push_str(&format!(
                            " The comment above the update (`# {text}`) is about it alone and goes with it."
                        ));
                        block
                    }
                    None => prov.ins(doc).lines.clone(),
                };
                let edits = vec![layout::delete_lines(doc, delete), prepend];
                out.push(
                    Finding::new(NAME, prov.range(doc, pu), format!("`{update_text}` runs in a step of its own, apart from `{label}`"))
                        .why(why)
                        .gain("A changed install always gets current package lists (no more 404s from a cached `apt-get update`), and the image has one layer fewer.")
                        .fix(Fix::safe(format!("Move `{update_text}` into the RUN of `{label}`"), edits)),
                );
                continue;
            }
            let keep = if prov.stage != run.stage {
                format!("the update at line {p_line} stays, in its stage")
            } else if !prov.lone_update(doc) {
                format!("the update at line {p_line} stays: that RUN does more than `apt-get update`")
            } else if !c.first {
                format!("the update at line {p_line} stays: an earlier step uses its lists too")
            } else if p_suppressed {
                format!("the update at line {p_line} stays: a suppression comment keeps it")
            } else {
                let unsafe_too = between.is_err() || prov_rest.is_err() || before_in_run.is_err();
                match between_no_apt.clone().err().or(before_in_run.clone().err()) {
                    Some(w) if !unsafe_too => format!("the update at line {p_line} stays, as {w}"),
                    _ => format!("the update at line {p_line} stays"),
                }
            };
            let title = format!("Run `{update_text}` right before `{label}`");
            let (fix, class_why) = match between.err().or(prov_rest.err()).or(before_in_run.err()) {
                None => (
                    Fix::safe(title, vec![prepend]),
                    "Nothing between the two changes what `apt-get update` fetches, so a fresh build installs the same packages.".to_string(),
                ),
                Some(w) => (
                    Fix::unsafe_(title, vec![prepend]),
                    format!("Unsafe: {w}; the new update sees that change, which the install did not, so it may install other packages."),
                ),
            };
            out.push(
                Finding::new(NAME, range, message)
                    .why(format!("{stale_why} dockfix runs `{update_text}` in this RUN too; {keep}. {class_why}"))
                    .gain("A changed install always gets current package lists (no more 404s from a cached `apt-get update`).")
                    .fix(fix),
            );
        }
    }

    /// Why commands `from..to` of a RUN may change what `apt-get update`
    /// fetches (`None`: they cannot). apt commands that only install
    /// packages by name count as harmless when `allow_apt`.
    fn cmds_inert(&self, run: &Run<'_>, from: usize, to: usize, allow_apt: bool) -> Result<(), String> {
        let line = run.ins(self.doc).start_line;
        let s = match &run.script {
            Ok(s) => s,
            Err(_) => return Err(format!("line {line} runs a program dockfix does not read")),
        };
        let to = to.min(s.cmds.len());
        for (i, c) in s.cmds.iter().enumerate().take(to).skip(from) {
            let text = if s.form == Form::Exec {
                c.words.iter().map(|w| w.value.as_str()).collect::<Vec<_>>().join(" ")
            } else {
                s.text[c.head.start..c.span.end].to_string()
            };
            let what = format!("line {line} runs `{}`", one_line(&text));
            let lower = text.to_ascii_lowercase();
            if let Some(hit) = SENSITIVE_TEXT.iter().find(|t| lower.contains(**t)) {
                // An install of packages by name mentions none of these
                // unless a package is named so (`ca-certificates`).
                let apt_install = allow_apt
                    && run.apts.iter().any(|a| {
                        a.cmd == i
                            && a.use_ == Use::Fetch
                            && a.packages.iter().all(|&p| !apt::is_file(&c.words[p].value))
                    })
                    && c.words.iter().skip(1).all(|w| !w.value.contains('/'));
                if !apt_install {
                    return Err(format!("{what}, which touches `{hit}`"));
                }
            }
            if c.words
                .iter()
                .skip(1)
                .any(|w| ANCESTORS.contains(&w.value.trim_end_matches(['*', '.']).trim_end_matches('/')))
            {
                return Err(format!("{what}, which works on a directory above apt's files"));
            }
            if let Some(a) = run.apts.iter().find(|a| a.cmd == i) {
                let ok = allow_apt
                    && match a.use_ {
                        Use::Fetch => a.packages.iter().all(|&p| !apt::is_file(&c.words[p].value)),
                        Use::Read | Use::Other => a.tool != "add-apt-repository" && a.tool != "apt-add-repository",
                        Use::Update | Use::Clean => false,
                    };
                if !ok {
                    return Err(format!("{what}, which uses apt"));
                }
                continue;
            }
            let prog = c.program().unwrap_or("");
            let module = c.words.get(1).filter(|w| w.value == "-m").and(c.words.get(2)).map(|w| w.value.as_str());
            let python_tool =
                prog.starts_with("python") && matches!(module, Some("pip" | "venv" | "compileall" | "ensurepip"));
            if !(INERT_PROGRAMS.contains(&prog) || prog.starts_with("pip") || python_tool) {
                return Err(format!("{what}, which dockfix cannot tell leaves apt alone"));
            }
        }
        Ok(())
    }

    /// Why instruction `idx` may change what `apt-get update` fetches.
    fn inert(&self, idx: usize, allow_apt: bool) -> Result<(), String> {
        let doc = self.doc;
        let ins = &doc.instructions[idx];
        let what = format!("line {} (`{}`)", ins.start_line, one_line(ins.line.text()));
        match ins.kind {
            Kind::Run => match self.run_at.get(&idx) {
                Some(&ri) => self.cmds_inert(&self.runs[ri], 0, usize::MAX, allow_apt),
                None => Err(format!("{what} runs in a shell dockfix does not read")),
            },
            Kind::Copy | Kind::Add => self.copy_inert(idx).map_err(|why| format!("{what} {why}")),
            Kind::Env | Kind::Arg => match ins.pairs().into_iter().find(|(k, _)| {
                let k = k.to_ascii_lowercase();
                k.contains("proxy") || k == "apt_config"
            }) {
                Some((k, _)) => Err(format!("{what} sets {k}, which apt reads")),
                None => Ok(()),
            },
            Kind::User => Err(format!("{what} changes the user the commands run as")),
            Kind::Shell => Err(format!("{what} changes the shell")),
            Kind::Volume => {
                let hit = ins.args.iter().any(|a| {
                    let p = normalize(a.value.trim_matches(['[', ']', '"', ',']));
                    overlaps(&p, "/var/lib/apt") || overlaps(&p, "/var/cache/apt")
                });
                if hit {
                    Err(format!("{what} declares apt's directories a volume"))
                } else {
                    Ok(())
                }
            }
            Kind::Unknown => Err(format!("{what} is not an instruction dockfix knows")),
            _ => Ok(()),
        }
    }

    /// Why a COPY/ADD may write where apt reads. The destination is
    /// resolved against WORKDIR (the base image's own counts as `/`, the
    /// builder's default); a copy into a directory above apt's files is
    /// fine when the sources it copies there hold none of them.
    fn copy_inert(&self, idx: usize) -> Result<(), String> {
        let ins = &self.doc.instructions[idx];
        let args = ins.arg_values();
        let Some((dest, srcs)) = args.split_last() else { return Ok(()) };
        let workdir = match self.states.get(&idx).map(|s| s.workdir.clone()) {
            Some(Workdir::Abs(w)) => w,
            Some(Workdir::Base(rel)) => normalize(&format!("/{rel}")),
            _ if dest.starts_with('/') => "/".to_string(),
            _ => return Err("copies to a directory dockfix cannot resolve".into()),
        };
        let p = if dest.starts_with('/') { normalize(dest) } else { normalize(&format!("{workdir}/{dest}")) };
        let hits: Vec<&str> = SENSITIVE_PATHS.iter().copied().filter(|s| overlaps(&p, s)).collect();
        if hits.is_empty() {
            return Ok(());
        }
        if hits.iter().any(|s| p == *s || dockfix_core::walk::starts_with_dir(&p, s)) {
            return Err(format!("writes to {p}, where apt reads its configuration"));
        }
        // `p` is above apt's files: what lands there from each source?
        let from_context = ins.flag("from").is_none() && ins.heredocs.is_empty();
        for src in srcs {
            if !from_context || src.contains("://") || src.contains(['*', '?', '[', '$']) {
                return Err(format!("copies into {p}, above apt's files, from where dockfix cannot look"));
            }
            let rel = src.trim_start_matches("./").trim_end_matches('/');
            if self.cx.context_has_file(rel) {
                let name = rel.rsplit('/').next().unwrap_or(rel);
                let into_dir = dest.ends_with('/') || matches!(*dest, "." | "./") || p == "/" || srcs.len() > 1;
                let landing = if into_dir { format!("{p}/{name}") } else { p.clone() };
                if SENSITIVE_PATHS.iter().any(|s| overlaps(&normalize(&landing), s)) {
                    return Err(format!("writes to {landing}, where apt reads its configuration"));
                }
                continue;
            }
            for s in &hits {
                let below = s.strip_prefix(p.as_str()).unwrap_or(s).trim_start_matches('/');
                let inside = if rel.is_empty() || rel == "." { below.to_string() } else { format!("{rel}/{below}") };
                if self.cx.context_has_dir(&inside) || self.cx.context_has_file(&inside) {
                    return Err(format!("copies {inside} to {s}, where apt reads its configuration"));
                }
            }
        }
        Ok(())
    }

    // ---- rule 2: --no-install-recommends ---------------------------------

    /// Where instruction `idx` (before which `state` holds) sets
    /// `APT::Install-Recommends`, or may: an apt.conf file written or copied.
    fn sets_recommends(&self, idx: usize, state: &State) -> Option<String> {
        let ins = &self.doc.instructions[idx];
        let line = ins.start_line;
        let mut text = ins.line.text().to_ascii_lowercase();
        for h in &ins.heredocs {
            text.push_str(&h.content.to_ascii_lowercase());
        }
        if text.contains("install-recommends") {
            return Some(format!("line {line} sets `APT::Install-Recommends`"));
        }
        match ins.kind {
            Kind::Env | Kind::Arg if ins.pairs().iter().any(|(k, _)| k == "APT_CONFIG") => {
                Some(format!("line {line} points `APT_CONFIG` at another configuration"))
            }
            Kind::Copy | Kind::Add => {
                let args = ins.arg_values();
                let (dest, srcs) = args.split_last()?;
                let abs = if dest.starts_with('/') {
                    normalize(dest)
                } else if let Workdir::Abs(w) = &state.workdir {
                    normalize(&format!("{w}/{dest}"))
                } else {
                    return None;
                };
                if !overlaps(&abs, "/etc/apt") {
                    return None;
                }
                let from = ins.flag("from").is_some();
                let unknown = from
                    || srcs.iter().any(|s| {
                        !ins.heredocs.iter().any(|h| s.trim_start_matches("<<").trim_start_matches('-') == h.name)
                            && match self.cx.read_context(s) {
                                Some(t) => t.to_ascii_lowercase().contains("install-recommends"),
                                None => true,
                            }
                    });
                unknown.then(|| format!("line {line} copies apt configuration that may set `APT::Install-Recommends`"))
            }
            _ => None,
        }
    }

    /// Per RUN, the packages installed before it in its stage chain (by
    /// name, or a needed recommend such as `ca-certificates` that the
    /// install brings one way or the other).
    fn installed_before(&self) -> Vec<BTreeSet<String>> {
        let mut out = vec![BTreeSet::new(); self.runs.len()];
        let mut at_end: Vec<BTreeSet<String>> = Vec::new();
        for s in 0..self.parents.len() {
            let mut set = self.parents[s].and_then(|p| at_end.get(p).cloned()).unwrap_or_default();
            for (ri, run) in self.runs.iter().enumerate().filter(|(_, r)| r.stage == s) {
                out[ri] = set.clone();
                set.extend(run_installs(run, run.apts.len()));
            }
            at_end.push(set);
        }
        out
    }

    fn recommends(&self, out: &mut Vec<Finding>) {
        let doc = self.doc;
        let installed = self.installed_before();
        for (ri, run) in self.runs.iter().enumerate() {
            if self.recommends_config[ri].is_some() || run.state.var("APT_CONFIG").is_some() {
                continue;
            }
            for (k, a) in run.apts.iter().enumerate() {
                if a.verb != "install" || !matches!(a.tool.as_str(), "apt-get" | "apt") || a.recommends_set {
                    continue;
                }
                let Ok(script) = &run.script else { continue };
                let c = &script.cmds[a.cmd];
                if c.assigns.iter().any(|w| w.value.starts_with("APT_CONFIG=")) {
                    continue;
                }
                let before = &script.text[..c.head.start.min(script.text.len())];
                if before.to_ascii_lowercase().contains("install-recommends") || before.contains("APT_CONFIG") {
                    continue;
                }
                let label = run.label(k);
                let range = run.range(doc, k);
                let names: Vec<&str> =
                    a.packages.iter().filter_map(|&p| apt::package_name(&c.words[p].value)).collect();
                let known: Vec<&knowledge::AptRecommends> =
                    names.iter().filter_map(|n| knowledge::apt_recommends(n)).collect();
                let mut why = String::from("apt installs the packages each package recommends unless told not to: tools, documentation and libraries for optional features the image rarely uses.");
                if !known.is_empty() {
                    let parts: Vec<String> = known.iter().map(|r| r.describe()).collect();
                    why.push_str(&format!(" On a minimal Debian 12 (bookworm) system, {}.", parts.join("; ")));
                }
                why.push_str(" `--no-install-recommends` installs what the packages depend on and nothing more. Unsafe: a program in the image may rely on a recommended package; check that the image still works, and install what it needs by name.");
                let caveats: Vec<String> = known
                    .iter()
                    .filter(|r| !r.caveat.is_empty())
                    .map(|r| format!("for `{}`, {}", r.package, r.caveat))
                    .collect();
                if !caveats.is_empty() {
                    why.push_str(&format!(" Known uses: {}.", caveats.join("; ")));
                }
                // Recommended packages the main use needs: installed by name.
                let mut keep: Vec<(&str, &str)> = Vec::new();
                let present: BTreeSet<String> =
                    run_installs(run, k).into_iter().chain(installed[ri].iter().cloned()).collect();
                for r in &known {
                    for k in r.keep {
                        if !names.contains(k) && !present.contains(*k) && !keep.iter().any(|(x, _)| x == k) {
                            keep.push((k, r.package));
                        }
                    }
                }
                let gain = match known.iter().max_by_key(|r| r.extra_mib) {
                    None => {
                        "A smaller image and a shorter install: only the packages asked for and what they depend on."
                            .to_string()
                    }
                    Some(r) => format!(
                        "A smaller image and a shorter install: {} packages (≈ {} MB) fewer for `{}` alone.",
                        r.extra_packages, r.extra_mib, r.package
                    ),
                };
                if script.form == Form::Exec {
                    out.push(
                        Finding::new(NAME, range, format!("`{label}` installs recommended packages too"))
                            .why(format!("{why} Not fixed: dockfix does not edit exec-form RUNs; add `\"--no-install-recommends\"` after `\"install\"` by hand."))
                            .gain(gain)
                            .fix(Fix::display_only("Add `--no-install-recommends`")),
                    );
                    continue;
                }
                let Some(vw) = a.verb_word else { continue };
                let Some(e) = script.insert_after(&c.words[vw], "--no-install-recommends") else { continue };
                let mut edits = vec![e];
                let mut title = "Add `--no-install-recommends`".to_string();
                if !keep.is_empty() {
                    let words: Vec<&str> = keep.iter().map(|(k, _)| *k).collect();
                    if let Some(e) =
                        a.packages.first().and_then(|&p| script.insert_before(&c.words[p], &words.join(" ")))
                    {
                        edits.push(e);
                        let list = join_and(&words.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>());
                        title.push_str(&format!(" and install {list} by name"));
                        let reasons: Vec<String> =
                            keep.iter().map(|(k, by)| format!("`{by}` needs `{k}`{}", keep_reason(k))).collect();
                        why.push_str(&format!(
                            " {}, which only recommends bring: dockfix installs {} by name.",
                            capitalize(&join_and(&reasons)),
                            if words.len() == 1 { "it" } else { "them" }
                        ));
                    }
                }
                out.push(
                    Finding::new(NAME, range, format!("`{label}` installs recommended packages too"))
                        .why(why)
                        .gain(gain)
                        .fix(Fix::unsafe_(title, edits)),
                );
            }
        }
    }

    // ---- rule 3: package lists left in the image --------------------------

    fn lists_in_image(&self, out: &mut Vec<Finding>) {
        let doc = self.doc;
        for (ri, run) in self.runs.iter().enumerate() {
            let Ok(script) = &run.script else { continue };
            if script.form == Form::Exec || run.lists_mounted || run.lists_moved() || !run.state.is_root() {
                continue;
            }
            let Some(first_update) = run.apts.iter().position(|a| a.use_ == Use::Update) else { continue };
            let uses_before = run.apts[..first_update].iter().any(|a| matches!(a.use_, Use::Read | Use::Fetch));
            let fetches_after = run.apts[first_update..].iter().any(|a| a.use_ == Use::Fetch);
            if uses_before || !fetches_after || run.apts.iter().any(|a| a.use_ == Use::Clean) {
                continue;
            }
            if script.cmds.iter().any(|c| c.sudo) || script.text.contains("/var/lib/apt") {
                continue;
            }
            let range = run.range(doc, first_update);
            if self.cx.runs(CACHE_MOUNTS) && !self.suppressed(CACHE_MOUNTS, &range) && frontend_mounts(doc) {
                // cache-mounts puts the lists on a cache mount instead.
                continue;
            }
            if self.lists_needed_after(ri) {
                continue;
            }
            let Some(e) = script.append(RM_LISTS) else { continue };
            let Some(fetch) = run.apts.iter().skip(first_update).position(|a| a.use_ == Use::Fetch) else { continue };
            let label = run.label(first_update + fetch);
            out.push(
                Finding::new(NAME, range, format!("the RUN of `{label}` leaves the package lists in the image"))
                    .why(format!("`apt-get update` writes the package lists to {LISTS} (about 80 MB for Debian 12's main archive alone). Only apt needs them, while it installs, and no later step uses these (each later install fetches its own). Deleting them in this RUN keeps them out of its layer — a later RUN could only hide them, the layer would still hold them."))
                    .gain("A smaller image: the package lists are not in it.")
                    .fix(Fix::safe(format!("Add `{RM_LISTS}` at the end of the RUN"), vec![e])),
            );
        }
    }

    /// A later step (in this stage or one built on it) reads the lists this
    /// RUN leaves, or another stage copies them out.
    fn lists_needed_after(&self, ri: usize) -> bool {
        self.read_later.contains(&ri)
            || self.doc.instructions.iter().any(|ins| {
                matches!(ins.kind, Kind::Copy | Kind::Add)
                    && ins.flag("from").is_some()
                    && ins.arg_values().iter().rev().skip(1).any(|a| overlaps(&normalize(a), LISTS))
            })
    }
}

/// The first command of a RUN that may run apt where dockfix cannot see it:
/// a word that names an apt tool outside a command it read (`sh -c
/// "apt-get install …"`, `eval`), or a script it cannot read (one in the
/// build context that never mentions apt is fine).
fn opaque_apt(
    cx: &Context<'_>,
    script: &Result<Script<'_>, &'static str>,
    apts: &[Apt],
    ins: &Instruction,
) -> Option<usize> {
    let mentions =
        |t: &str| ["apt-get", "apt-cache", "aptitude", "apt install", "apt update"].iter().any(|a| t.contains(a));
    let s = match script {
        Ok(s) => s,
        Err(_) => return mentions(ins.line.text()).then_some(0),
    };
    s.cmds.iter().enumerate().position(|(i, c)| {
        if apts.iter().any(|a| a.cmd == i) {
            return false;
        }
        if c.words.iter().chain(&c.assigns).any(|w| mentions(&w.value)) {
            return true;
        }
        let prog = c.program().unwrap_or("");
        let file = if prog.ends_with(".sh")
            || (c.words.first().is_some_and(|w| w.value.contains('/')) && !INERT_PROGRAMS.contains(&prog))
        {
            c.words.first()
        } else if matches!(prog, "sh" | "bash" | "dash" | "." | "source") {
            match c.words.get(1) {
                Some(w) if w.value == "-c" => return false,
                Some(w) if !w.value.starts_with('-') => Some(w),
                _ => None,
            }
        } else {
            None
        };
        file.is_some_and(|f| match cx.read_context(f.value.trim_start_matches("./")) {
            Some(text) => mentions(&text),
            None => true,
        })
    })
}

/// What the first `upto` apt commands of a RUN install: packages by name,
/// and the recommends their main use needs (installed one way or the other).
fn run_installs(run: &Run<'_>, upto: usize) -> Vec<String> {
    let Ok(s) = &run.script else { return Vec::new() };
    let mut out = Vec::new();
    for a in run.apts.iter().take(upto).filter(|a| a.use_ == Use::Fetch) {
        for &p in &a.packages {
            if let Some(n) = apt::package_name(&s.cmds[a.cmd].words[p].value) {
                out.push(n.to_string());
                if let Some(r) = knowledge::apt_recommends(n) {
                    out.extend(r.keep.iter().map(|k| k.to_string()));
                }
            }
        }
    }
    out
}

/// Text that marks a command as touching what `apt-get update` reads: its
/// sources, keys, configuration, certificates, name resolution or proxy.
const SENSITIVE_TEXT: &[&str] = &[
    "/etc/apt",
    "/var/lib/apt",
    "/var/cache/apt",
    "/var/lib/dpkg",
    "keyring",
    "/etc/ssl",
    "ca-certificates",
    "sources.list",
    "apt.conf",
    "proxy",
    "resolv.conf",
    "/etc/hosts",
    "nsswitch",
    "gai.conf",
    "gpg",
    "apt-key",
    "dpkg",
];

/// Paths apt reads when it fetches the lists.
const SENSITIVE_PATHS: &[&str] = &[
    "/etc/apt",
    "/var/lib/apt",
    "/var/cache/apt",
    "/var/lib/dpkg",
    "/usr/share/keyrings",
    "/etc/ssl",
    "/usr/local/share/ca-certificates",
    "/usr/share/ca-certificates",
    "/etc/ca-certificates",
    "/etc/ca-certificates.conf",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
];

/// Directories above those paths: a command that works on one of them
/// (`cp -r rootfs/ /`, `cd /etc`) may touch them.
const ANCESTORS: &[&str] =
    &["", "/", "/etc", "/var", "/var/lib", "/var/cache", "/usr", "/usr/share", "/usr/local", "/usr/local/share"];

/// Programs that leave apt's sources, keys and configuration alone (their
/// arguments are checked too).
const INERT_PROGRAMS: &[&str] = &[
    "mkdir",
    "ln",
    "chmod",
    "chown",
    "chgrp",
    "touch",
    "cp",
    "mv",
    "rm",
    "rmdir",
    "echo",
    "printf",
    "true",
    ":",
    "set",
    "cd",
    "export",
    "test",
    "[",
    "ls",
    "cat",
    "tee",
    "sed",
    "useradd",
    "groupadd",
    "adduser",
    "addgroup",
    "usermod",
    "groupmod",
    "id",
    "npm",
    "yarn",
    "pnpm",
    "go",
    "cargo",
    "gem",
    "bundle",
    "composer",
    "mvn",
    "gradle",
    "locale-gen",
    "update-locale",
    "localedef",
    "ldconfig",
    "tar",
    "unzip",
    "gzip",
    "gunzip",
    "curl",
    "wget",
    "git",
    "install",
    "find",
    "which",
    "sleep",
    "date",
    "uname",
];

/// True when one path is within the other.
fn overlaps(a: &str, b: &str) -> bool {
    let within = |x: &str, y: &str| y == "/" || x == y || dockfix_core::walk::starts_with_dir(x, y);
    within(a, b) || within(b, a)
}

/// A mount of this RUN covers /var/lib/apt/lists.
fn lists_mounted(ins: &Instruction, state: &State) -> bool {
    ins.flags_named("mount").any(|f| {
        let v = f.value().unwrap_or("");
        v.split(',').any(|field| match field.split_once('=') {
            Some(("target" | "dst" | "destination", t)) => {
                let t = state.expand(t).unwrap_or_else(|| t.to_string());
                let t = normalize(&t);
                t == "/" || LISTS == t || dockfix_core::walk::starts_with_dir(LISTS, &t)
            }
            _ => false,
        })
    })
}

/// The stage's RUNs run in a POSIX shell (no `SHELL ["powershell", …]`).
fn posix_shell(doc: &Document, stage: &Stage) -> bool {
    let lc = stage.base.to_ascii_lowercase();
    if ["windows", "nanoserver", "servercore"].iter().any(|w| lc.contains(w)) {
        return false;
    }
    doc.instructions[stage.body.clone()].iter().filter(|i| i.kind == Kind::Shell).all(|i| {
        let first = i.args.first().map(|a| a.value.to_ascii_lowercase()).unwrap_or_default();
        first.ends_with("sh") || first.ends_with("bash") || first.ends_with("ash")
    })
}

/// The frontend supports `RUN --mount` (no `# syntax=` pinning one older
/// than 1.2 or unknown): where it does not, `cache-mounts` adds no mounts.
fn frontend_mounts(doc: &Document) -> bool {
    let Some(d) = doc.directive("syntax") else { return true };
    let v = d.value.trim();
    if !matches!(knowledge::image_repository(v), "docker/dockerfile" | "docker/dockerfile-upstream") {
        return false;
    }
    match knowledge::image_tag(v) {
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
    }
}

/// The comment block right above instruction `idx` when it is clearly
/// about that instruction alone: plain comment lines (no directives or
/// suppressions) that speak of updating the package index, in a paragraph
/// of their own (a blank line or the end of the file follows the
/// instruction, so the comment would otherwise be left standing alone).
/// Returns the lines to delete and the comment's text.
fn own_comment(doc: &Document, idx: usize) -> Option<(std::ops::Range<usize>, String)> {
    let ins = &doc.instructions[idx];
    let lc = doc.leading_comments(idx);
    if lc.is_empty() {
        return None;
    }
    let comments: Vec<&dockfix_syntax::Trivia> =
        doc.trivia.iter().filter(|t| t.lines.start >= lc.start && t.lines.end <= lc.end).collect();
    if comments.len() > 2 {
        return None;
    }
    let texts: Vec<String> = comments.iter().map(|t| doc.comment_text(t)).collect();
    let joined = texts.join(" ");
    let lower = joined.to_ascii_lowercase();
    let directive = texts.iter().any(|t| {
        let t = t.to_ascii_lowercase();
        ["dockfix", "hadolint", "syntax", "escape", "check", "noqa", "nosec"].iter().any(|d| t.starts_with(d))
    });
    let about_update = ["update", "refresh", "index", "package list", "apt list"].iter().any(|w| lower.contains(w));
    let next = doc.line_of(ins.lines.end.max(1) - 1) + 1;
    let alone = next > doc.line_count()
        || doc.trivia_at_line(next).is_some_and(|t| t.kind == dockfix_syntax::TriviaKind::Blank);
    (about_update && !directive && alone).then(|| (layout::block(doc, idx), joined))
}

/// Why a kept package matters.
fn keep_reason(package: &str) -> &'static str {
    match package {
        "ca-certificates" => " for HTTPS (without it every HTTPS download fails)",
        "libc6-dev" => " to compile anything (the C library headers)",
        _ => "",
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn one_line(t: &str) -> String {
    let t: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 60 {
        format!("{}…", t.chars().take(59).collect::<String>())
    } else {
        t
    }
}

fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_core::{Engine, MemFs, Mode, PassOptions, Service};

    /// Stands in for the `cache-mounts` pass: proposes nothing, but runs.
    struct CacheMountsRuns;
    impl Pass for CacheMountsRuns {
        fn name(&self) -> &'static str {
            CACHE_MOUNTS
        }
        fn summary(&self) -> &'static str {
            ""
        }
        fn explanation(&self) -> &'static str {
            ""
        }
        fn applicability(&self) -> Applicability {
            Applicability::Safe
        }
        fn check(&self, _: &Context<'_>) -> Vec<Finding> {
            Vec::new()
        }
    }

    struct Out {
        fixed: String,
        /// (message, applicability) of each finding.
        findings: Vec<(String, Applicability)>,
    }

    fn run_with(src: &str, unsafe_fixes: bool, with_cache_mounts: bool, fs: &MemFs) -> Out {
        let svc = Service::for_dockerfile("/ctx/Dockerfile");
        let (pass, cm) = (AptHygiene, CacheMountsRuns);
        let passes: Vec<&dyn Pass> = if with_cache_mounts { vec![&cm, &pass] } else { vec![&pass] };
        let mode = Mode { unsafe_fixes };
        let out =
            Engine::new(passes.clone()).run(&svc, fs, &PassOptions::default(), None, src.as_bytes(), mode).unwrap();
        assert!(out.converged && out.dropped.is_empty(), "{:?}", out.dropped);
        let fixed = String::from_utf8(out.fixed.clone()).unwrap();
        // Idempotent.
        let again = Engine::new(passes).run(&svc, fs, &PassOptions::default(), None, fixed.as_bytes(), mode).unwrap();
        assert_eq!(String::from_utf8(again.fixed).unwrap(), fixed, "second run changed the file");
        let findings = out.findings.iter().map(|r| (r.finding.message.clone(), r.finding.applicability())).collect();
        Out { fixed, findings }
    }

    fn run(src: &str) -> Out {
        run_with(src, true, false, &MemFs::new())
    }

    fn fixed(src: &str) -> String {
        run(src).fixed
    }

    #[test]
    fn moves_a_lone_update_over_inert_steps() {
        let src = "FROM debian\nRUN apt-get update\nARG DEBIAN_FRONTEND=noninteractive\nENV LANG=C.UTF-8\nWORKDIR /app\nCOPY . /app\nRUN useradd -m app && mkdir -p /data && pip install --no-cache-dir poetry\nRUN apt-get install -y --no-install-recommends curl ca-certificates\n";
        let out = fixed(src);
        assert!(!out.contains("RUN apt-get update\n"), "{out}");
        assert!(out.contains("RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates && rm -rf /var/lib/apt/lists/*\n"), "{out}");
    }

    #[test]
    fn repeats_the_update_when_a_step_between_may_change_apt() {
        let mut fs = MemFs::new();
        fs.insert("/ctx/rootfs/etc/apt/sources.list", b"deb http://mirror/debian bookworm main\n".to_vec());
        fs.insert("/ctx/sources.list", b"deb http://mirror/debian bookworm main\n".to_vec());
        fs.insert("/ctx/etc/apt/apt.conf.d/01proxy", b"Acquire::http::Proxy \"http://p:3128\";\n".to_vec());
        for between in [
            "USER root",
            "ENV http_proxy=http://proxy:3128",
            "ARG HTTPS_PROXY",
            "COPY rootfs/ /",
            "COPY . /",
            "COPY sources.list /etc/apt/",
            "COPY sources.list /etc/apt/sources.list.d/x.list",
            "COPY --from=builder / /",
            "RUN ./configure-mirrors.sh",
            "RUN echo 'deb http://x bookworm main' > /etc/apt/sources.list.d/x.list",
            "RUN curl -fsSL https://x/key.gpg | gpg --dearmor -o /usr/share/keyrings/x.gpg",
            "RUN cd /etc && cp /tmp/x apt/",
        ] {
            let src = format!("FROM debian\nWORKDIR /app\nRUN apt-get update\n{between}\nRUN apt-get install -y --no-install-recommends curl\n");
            let out = run_with(&src, false, false, &fs);
            assert_eq!(out.fixed, src, "{between}: an unsafe fix was applied");
            assert!(
                out.findings.iter().any(|(m, a)| m.contains("uses package lists") && *a == Applicability::Unsafe),
                "{between}: {:?}",
                out.findings
            );
            let out = run_with(&src, true, false, &fs).fixed;
            assert!(out.contains("RUN apt-get update\n"), "{between}: {out}");
            assert!(out.contains("RUN apt-get update && apt-get install"), "{between}: {out}");
        }
    }

    #[test]
    fn copies_that_cannot_reach_apt_are_inert() {
        let mut fs = MemFs::new();
        fs.insert("/ctx/requirements.txt", b"flask\n".to_vec());
        fs.insert("/ctx/app/main.py", b"print(1)\n".to_vec());
        fs.insert("/ctx/rootfs/usr/local/bin/entry", b"#!/bin/sh\n".to_vec());
        for between in
            ["COPY requirements.txt .", "COPY . .", "COPY app /srv/app", "COPY rootfs/ /", "ADD requirements.txt /tmp/"]
        {
            let src = format!(
                "FROM debian\nRUN apt-get update\n{between}\nRUN apt-get install -y --no-install-recommends curl\n"
            );
            let out = run_with(&src, false, false, &fs).fixed;
            assert!(!out.contains("RUN apt-get update\n"), "{between}: {out}");
            assert!(out.contains("RUN apt-get update && apt-get install"), "{between}: {out}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_chain() {
        for run_line in [
            "RUN false || apt-get install -y --no-install-recommends curl",
            "RUN [\"apt-get\", \"install\", \"-y\", \"--no-install-recommends\", \"curl\"]",
            "RUN --network=none apt-get install -y --no-install-recommends ./local.deb",
        ] {
            let src = format!("FROM debian\nRUN apt-get update\n{run_line}\n");
            let out = run(&src);
            assert_eq!(out.fixed, src);
            assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
            assert_eq!(out.findings[0].1, Applicability::DisplayOnly);
        }
    }

    #[test]
    fn unrelated_stages_and_mounted_lists_are_left_alone() {
        let same = |src: &str| assert_eq!(fixed(src), src, "{src}");
        same(
            "FROM debian AS a\nRUN apt-get update\nFROM debian\nRUN apt-get install -y --no-install-recommends curl\n",
        );
        same("FROM debian\nRUN apt-get update\nRUN --mount=type=cache,target=/var/lib/apt/lists apt-get install -y --no-install-recommends curl\n");
        same("FROM debian\nRUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y --no-install-recommends curl\n");
        same("FROM debian\nRUN apt-get -o Dir::State::Lists=/l update && apt-get -o Dir::State::Lists=/l install -y --no-install-recommends curl\n");
        // Windows stages are not apt's.
        same("FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN apt-get update\nRUN apt-get install x\n");
    }

    #[test]
    fn lists_stay_where_they_are_needed() {
        let same = |src: &str| assert_eq!(fixed(src), src, "{src}");
        // A non-root user, sudo, an existing cleanup, a later reader, a
        // stage built on this one that reads them.
        same(
            "FROM debian\nUSER app\nRUN sudo apt-get update && sudo apt-get install -y --no-install-recommends curl\n",
        );
        same(
            "FROM debian\nRUN apt-get update && apt-get install -y --no-install-recommends curl && apt-get distclean\n",
        );
        same("FROM debian\nRUN apt-get update && apt-get install -y --no-install-recommends curl\nRUN apt-cache show curl\n");
        same("FROM debian AS base\nRUN apt-get update && apt-get install -y --no-install-recommends curl\nFROM base\nRUN apt-cache policy curl\n");
        same("FROM debian AS base\nRUN apt-get update && apt-get install -y --no-install-recommends curl\nFROM scratch\nCOPY --from=base /var/lib/apt/lists /lists\n");
        // A trailing `;` leaves no safe place for the `rm`.
        same("FROM debian\nRUN apt-get update && apt-get install -y --no-install-recommends curl;\n");
    }

    #[test]
    fn steps_that_may_run_apt_out_of_sight_keep_the_lists() {
        let mut fs = MemFs::new();
        fs.insert("/ctx/install.sh", b"#!/bin/sh\nset -e\napt-get install -y --no-install-recommends jq\n".to_vec());
        fs.insert("/ctx/build.sh", b"#!/bin/sh\nmake all\n".to_vec());
        let first = "FROM debian\nWORKDIR /src\nRUN apt-get update && apt-get install -y --no-install-recommends curl\nCOPY . .\n";
        for later in
            ["RUN ./install.sh", "RUN sh install.sh", "RUN bash -c \"apt-get install -y jq\"", "RUN ./missing.sh"]
        {
            let src = format!("{first}{later}\n");
            assert_eq!(run_with(&src, true, false, &fs).fixed, src, "{later}");
        }
        let src = format!("{first}RUN ./build.sh\n");
        assert!(run_with(&src, true, false, &fs).fixed.contains("curl && rm -rf /var/lib/apt/lists/*"));
        // xargs feeds apt-get: read like any install.
        let src = "FROM debian\nRUN apt-get update && apt-get upgrade -y\nRUN xargs apt-get install -y --no-install-recommends < pkgs.txt\n";
        assert_eq!(
            fixed(src),
            "FROM debian\nRUN apt-get update && apt-get upgrade -y && rm -rf /var/lib/apt/lists/*\nRUN apt-get update && xargs apt-get install -y --no-install-recommends < pkgs.txt && rm -rf /var/lib/apt/lists/*\n"
        );
    }

    #[test]
    fn only_the_lists_a_later_step_reads_stay() {
        // Line 5 reads the lists of line 3 (the fix that repeats the update
        // there is unsafe, and off); nothing reads those of line 2.
        let src = "FROM debian\nRUN apt-get update && apt-get install -y --no-install-recommends curl\nRUN apt-get update && apt-get install -y --no-install-recommends gnupg\nCOPY x.list /etc/apt/sources.list.d/\nRUN apt-get install -y --no-install-recommends x\n";
        let out = run_with(src, false, false, &MemFs::new()).fixed;
        assert!(out.contains("curl && rm -rf /var/lib/apt/lists/*\n"), "{out}");
        assert!(out.contains("gnupg\n"), "{out}");
    }

    #[test]
    fn leaves_the_lists_to_cache_mounts_when_it_runs() {
        let src = "FROM debian\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n";
        assert_eq!(run_with(src, true, true, &MemFs::new()).fixed, src);
        assert!(fixed(src).ends_with("curl && rm -rf /var/lib/apt/lists/*\n"));
        // Not where cache-mounts is told to stay away, or cannot mount.
        let suppressed = "FROM debian\n# dockfix: ignore[cache-mounts]\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n";
        assert!(run_with(suppressed, true, true, &MemFs::new()).fixed.ends_with("&& rm -rf /var/lib/apt/lists/*\n"));
        let old = "# syntax=docker/dockerfile:1.0\nFROM debian\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n";
        assert!(run_with(old, true, true, &MemFs::new()).fixed.ends_with("&& rm -rf /var/lib/apt/lists/*\n"));
    }

    #[test]
    fn recommends_already_decided() {
        let same = |src: &str, fs: &MemFs| assert_eq!(run_with(src, true, false, fs).fixed, src, "{src}");
        let mut fs = MemFs::new();
        let tail = "RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n";
        same("FROM debian\nRUN apt-get update && apt-get install -y -o APT::Install-Recommends=0 curl && rm -rf /var/lib/apt/lists/*\n", &fs);
        same("FROM debian\nRUN apt-get update && apt-get install -y --install-recommends curl && rm -rf /var/lib/apt/lists/*\n", &fs);
        same(
            &format!("FROM debian\nRUN printf 'APT::Install-Recommends \"0\";' > /etc/apt/apt.conf.d/01norec\n{tail}"),
            &fs,
        );
        same(&format!("FROM debian\nENV APT_CONFIG=/etc/my-apt.conf\n{tail}"), &fs);
        same(&format!("FROM debian AS base\nRUN echo 'APT::Install-Recommends false;' >> /etc/apt/apt.conf\nFROM base\n{tail}"), &fs);
        // A copied configuration dockfix cannot read counts as setting it.
        same(&format!("FROM debian\nCOPY apt/ /etc/apt/apt.conf.d/\n{tail}"), &fs);
        // One it can read and that does not set it does not.
        fs.insert("/ctx/proxy.conf", b"Acquire::http::Proxy \"http://p:3128\";\n".to_vec());
        let out = run_with(&format!("FROM debian\nCOPY proxy.conf /etc/apt/apt.conf.d/\n{tail}"), true, false, &fs);
        assert!(out.fixed.contains("install --no-install-recommends -y ca-certificates curl"), "{}", out.fixed);
    }

    #[test]
    fn recommends_fix_is_unsafe_and_keeps_what_the_packages_need() {
        let src = "FROM debian\nRUN apt-get update && apt-get install -y gcc wget && rm -rf /var/lib/apt/lists/*\n";
        let out = run_with(src, false, false, &MemFs::new());
        assert_eq!(out.fixed, src);
        assert_eq!(
            out.findings,
            [("`apt-get install gcc wget` installs recommended packages too".to_string(), Applicability::Unsafe)]
        );
        assert_eq!(
            fixed(src),
            "FROM debian\nRUN apt-get update && apt-get install --no-install-recommends -y libc6-dev ca-certificates gcc wget && rm -rf /var/lib/apt/lists/*\n"
        );
    }

    #[test]
    fn needed_recommends_are_added_once() {
        let src = "FROM debian AS base\nRUN apt-get update && apt-get install -y curl \\\n    && apt-get install -y wget && rm -rf /var/lib/apt/lists/*\nFROM base\nRUN apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*\n";
        let out = fixed(src);
        assert_eq!(out.matches("ca-certificates").count(), 1, "{out}");
        assert!(out.contains("install --no-install-recommends -y ca-certificates curl"), "{out}");
        assert!(out.contains("install --no-install-recommends -y wget"), "{out}");
        assert!(out.contains("install --no-install-recommends -y git"), "{out}");
    }

    #[test]
    fn options_turn_parts_off() {
        let svc = Service::for_dockerfile("/ctx/Dockerfile");
        let mut options = PassOptions::default();
        let table: toml::Table = "no-install-recommends = false\nremove-lists = false\n".parse().unwrap();
        options.tables.insert(NAME.into(), table);
        let src = "FROM debian\nRUN apt-get update && apt-get install -y curl\n";
        let pass = AptHygiene;
        let out = Engine::new(vec![&pass])
            .run(&svc, &MemFs::new(), &options, None, src.as_bytes(), Mode { unsafe_fixes: true })
            .unwrap();
        assert!(out.findings.is_empty());
    }
}
