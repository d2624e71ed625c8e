//! Pass `lockfile`: Python dependencies come from the lockfile, in their
//! own layers, before the sources.
//!
//! It works on the shape `reorder` leaves (manifests and lock copied, the
//! dependencies installed, then the sources and the project) and owns what
//! makes that install *the lock*:
//! - the lock-only flags: `uv sync --frozen`, `pdm install --check`,
//!   `pipenv install --deploy` (`tools`);
//! - a lock that is in the context but not copied with its manifest
//!   (`tools`), and no lock at all (a display-only finding that says how to
//!   make one);
//! - pip: the project installed with `--no-deps` after a lock that covers
//!   its dependencies, and a `pip install -r <lock>` step before the source
//!   copies when the lock is not installed yet (`pip`);
//! - several requirement files in one install: one layer each, the file that
//!   changes least often first, by the repository's git history (`layers`).
//!
//! It never moves a broad source copy (`COPY . .`): that is `reorder`'s. When
//! both apply, the engine runs them to a fixed point: reorder moves the
//! copy, then this pass finishes the install it left.

mod context;
mod image;
mod layers;
use dockfix_core::pep440;
mod pip;
mod python;
mod reqs;
mod run;
mod tools;
mod uvlock;

use std::collections::BTreeSet;
use std::ops::Range;

use dockfix_core::walk::{stage_states, State, Workdir};
use dockfix_core::{Applicability, Context, Edit, Finding, Pass};
use dockfix_syntax::{Document, Instruction, Kind, Stage};

use context::View;
use image::Chain;
use python::{Py, Tool};
use run::{Cmd, Run};

pub const NAME: &str = "lockfile";

/// The pass.
pub struct Lockfile;

impl Pass for Lockfile {
    fn name(&self) -> &'static str {
        NAME
    }
    fn summary(&self) -> &'static str {
        "Install Python dependencies from the lockfile, in their own layers, before the sources"
    }
    fn explanation(&self) -> &'static str {
        include_str!("../EXPLAIN.md")
    }
    fn applicability(&self) -> Applicability {
        Applicability::Safe
    }
    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        let view = View::new(cx);
        let doc = cx.doc;
        let stages = doc.stages();
        let mut scan = Scan { cx, view: &view, doc, reported: BTreeSet::new(), out: Vec::new() };
        for stage in &stages {
            let states = stage_states(doc, stage);
            let chain = Chain::new(doc, &stages, stage, states);
            for (k, idx) in stage.body.clone().enumerate() {
                let ins = &doc.instructions[idx];
                let Some(state) = states.get(k) else { continue };
                let Some(run) = run::read(ins, state) else { continue };
                let site = RunSite { stage, idx, ins, state, run: &run, chain: &chain };
                for (c, cmd) in run.cmds.iter().enumerate() {
                    let Some(py) = python::classify(cmd, state) else { continue };
                    let at = At { site: &site, c, cmd, py };
                    match at.py.tool {
                        Tool::Pip => pip::check(&mut scan, &at),
                        _ => tools::check(&mut scan, &at),
                    }
                }
                layers::check(&mut scan, &site);
            }
        }
        scan.out
    }
}

/// What the whole file's scan shares.
pub(crate) struct Scan<'a> {
    pub cx: &'a Context<'a>,
    pub view: &'a View<'a>,
    pub doc: &'a Document,
    /// Projects already told they have no lock: (stage, tool, directory).
    pub reported: BTreeSet<(usize, &'static str, String)>,
    pub out: Vec<Finding>,
}

/// One RUN.
pub(crate) struct RunSite<'a> {
    pub stage: &'a Stage,
    pub idx: usize,
    pub ins: &'a Instruction,
    pub state: &'a State,
    pub run: &'a Run,
    pub chain: &'a Chain,
}

/// One Python install command in a RUN.
pub(crate) struct At<'a> {
    pub site: &'a RunSite<'a>,
    /// Its index among the RUN's commands.
    pub c: usize,
    pub cmd: &'a Cmd,
    pub py: Py,
}

impl At<'_> {
    /// The command's source bytes (the instruction's when it cannot be edited).
    pub fn range(&self) -> Range<usize> {
        match (self.cmd.spans.first(), self.cmd.spans.last()) {
            (Some(a), Some(b)) => a.start..b.end,
            _ => self.site.ins.span.clone(),
        }
    }

    /// The command for messages: the program and its verb, and for pip the
    /// requirement files and the project, without the options other passes
    /// add or remove (so a finding keeps its message from round to round).
    pub fn label(&self) -> String {
        let raw = &self.cmd.raw;
        let mut parts: Vec<String> =
            raw.iter().take(self.py.verb + 1).filter(|w| !w.starts_with("--")).cloned().collect();
        if self.py.tool == Tool::Pip {
            for (i, name, v) in &self.py.p.opts {
                if let (true, Some(v)) = (matches!(name.as_str(), "-r" | "--requirement" | "--requirements"), v) {
                    let _ = i;
                    parts.push(format!("-r {v}"));
                }
            }
            if let Some(proj) = python::pip_project(&self.py) {
                if proj.editable {
                    parts.push("-e".into());
                }
                parts.push(raw.get(proj.at).cloned().unwrap_or(proj.dir));
            }
            if self.py.verb_name == "sync" {
                parts.extend(self.py.p.args.iter().map(|(i, _)| raw[*i].clone()));
            }
        }
        parts.join(" ")
    }

    /// Words can be edited in place.
    pub fn editable(&self) -> bool {
        self.site.run.editable && !self.cmd.spans.is_empty()
    }

    /// An edit that adds ` flag` right after word `w` (`, "flag"` in exec form).
    pub fn insert_after_word(&self, w: usize, flag: &str) -> Option<Edit> {
        let span = self.cmd.spans.get(w)?;
        let text = if self.site.run.json { format!(", \"{flag}\"") } else { format!(" {flag}") };
        Some(Edit::insert(span.end, text))
    }

    /// The context file at an image path when this RUN runs.
    pub fn provider(&self, scan: &Scan<'_>, path: &Workdir) -> Option<image::Provided> {
        image::provider(scan.doc, scan.view, self.site.chain, self.site.idx, path)
    }

    /// A variable set for this command (`X=1 cmd`, ENV, ARG default), when
    /// it is set to something other than empty, `0` or `false`.
    pub fn flag_var(&self, name: &str) -> bool {
        self.cmd.var(self.site.state, name).is_some_and(|v| !matches!(v.trim(), "" | "0" | "false" | "False" | "FALSE"))
    }
}

/// The context directory of a context file.
pub(crate) fn dir_of(file: &str) -> &str {
    file.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// `a, b and c`.
pub(crate) fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// An instruction on one line, shortened, for messages.
pub(crate) fn one_line(ins: &Instruction) -> String {
    let t: String = ins.line.text().split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 80 {
        format!("{}…", t.chars().take(79).collect::<String>())
    } else {
        t
    }
}

/// True when two states give a command the same environment.
pub(crate) fn same_state(a: &State, b: &State) -> bool {
    a.workdir == b.workdir && a.user == b.user && a.env == b.env && a.args == b.args
}

/// The keyword of a new instruction, in the case the file uses.
pub(crate) fn keyword(doc: &Document, kind: Kind) -> String {
    let lower = doc
        .instructions
        .iter()
        .filter(|i| i.kind != Kind::Unknown)
        .all(|i| i.keyword.chars().all(|c| !c.is_ascii_uppercase()));
    let k = kind.as_str();
    if lower && !doc.instructions.is_empty() {
        k.to_ascii_lowercase()
    } else {
        k.to_string()
    }
}
