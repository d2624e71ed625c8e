//! Pass `multi-stage`: a single-stage image that ships compilers, headers
//! or a full SDK becomes a `builder` stage and a slim runtime stage.
//!
//! ```text
//! FROM python:3.12-slim                    FROM python:3.12-slim AS builder
//! RUN apt-get install -y gcc libpq-dev     RUN apt-get install -y gcc libpq-dev
//! COPY requirements.txt .             =>   RUN python3 -m venv /opt/venv
//! RUN pip install -r requirements.txt      ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"
//! COPY . .                                 COPY requirements.txt .
//! CMD ["gunicorn", "app:app"]              RUN pip install -r requirements.txt
//!
//!                                          FROM python:3.12-slim
//!                                          RUN apt-get install -y libpq5
//!                                          COPY --from=builder /opt/venv /opt/venv
//!                                          ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"
//!                                          COPY requirements.txt .
//!                                          COPY . .
//!                                          CMD ["gunicorn", "app:app"]
//! ```
//!
//! The stage is cut after its last build step (the *split*). Everything up
//! to the split stays, unchanged, in the builder. The runtime stage starts
//! right after the split: it replays, in order, what the instructions before
//! the split mean at run time (ENV, WORKDIR, USER, LABEL, EXPOSE, ARG, the
//! copies from the build context, user creation, the system packages with
//! `-dev` packages mapped to their runtime libraries and compilers left
//! out), copies the build's result from the builder, and then the
//! instructions after the split follow as they were: they now belong to the
//! runtime stage without moving.

mod base;
mod cmds;
mod langs;

use std::collections::BTreeSet;
use std::ops::Range;

use dockfix_core::config::OptionSpec;
use dockfix_core::knowledge::{self, DistroFamily, RuntimeOf};
use dockfix_core::layout;
use dockfix_core::walk::{stage_states, State, Workdir};
use dockfix_core::{Applicability, Context, Edit, Finding, Fix, Pass};
use dockfix_syntax::{Document, Instruction, Kind};

use base::Image;
use cmds::{Class, Cmd, Pkg};

pub const NAME: &str = "multi-stage";

/// The pass.
pub struct MultiStage;

const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "runtime-base",
        kind: "string",
        help: "image of the runtime stage; default: the builder's own base for Python and Node, the builder's distribution (slim, with CA certificates and tzdata) for Go, the JRE of the same vendor and version for Java. `scratch` and distroless images only through this option",
    },
    OptionSpec {
        name: "runtime",
        kind: "string",
        help: "kind of runtime image: \"slim\" (default: the images above), \"distroless\" (gcr.io/distroless: python3-debian12 for a Python 3.11 bookworm/bullseye builder, static-debian12 for Go without cgo, java17/java21-debian12 for Java 17/21) or \"scratch\" (Go without cgo). dockfix checks that the image still works there (no shell: CMD/ENTRYPOINT/HEALTHCHECK in exec form, no RUN, no user creation, the same Python minor version) and otherwise keeps the slim image and says why. `runtime-base` wins when both are set",
    },
    OptionSpec {
        name: "venv",
        kind: "string",
        help: "where the builder creates the Python virtualenv (default /opt/venv)",
    },
];

impl Pass for MultiStage {
    fn name(&self) -> &'static str {
        NAME
    }
    fn summary(&self) -> &'static str {
        "Split a single-stage image that ships compilers or an SDK into a builder and a slim runtime stage"
    }
    fn explanation(&self) -> &'static str {
        include_str!("../EXPLAIN.md")
    }
    fn applicability(&self) -> Applicability {
        Applicability::Unsafe
    }
    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }
    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        let stages = cx.doc.stages();
        if stages.len() != 1 {
            return Vec::new();
        }
        let mut out = Vec::new();
        let requested = match cx.options.get_str(NAME, "runtime") {
            None | Some("slim") => Runtime::Slim,
            Some("distroless") => Runtime::Distroless,
            Some("scratch") => Runtime::Scratch,
            Some(other) => {
                out.push(
                    Finding::new(NAME, 0..0, format!("[multi-stage] in dockfix.toml: `runtime = \"{other}\"` is not \"slim\", \"distroless\" or \"scratch\"; ignored"))
                        .why("The runtime option names a kind of image; set `runtime-base` to name an image.")
                        .fix(Fix::display_only("Fix the option")),
                );
                Runtime::Slim
            }
        };
        // An explicit image wins over the kind.
        let requested = if cx.options.get_str(NAME, "runtime-base").is_some() { Runtime::Slim } else { requested };
        let mut an = Analysis::new(cx, &stages[0], requested);
        let first = langs::plan(&an);
        match first {
            Some(Err(r)) if requested != Runtime::Slim => {
                // The image does not work on the requested base: the slim
                // runtime, and a finding that says why not the other.
                an.runtime = Runtime::Slim;
                match langs::plan(&an) {
                    Some(Ok((mut f, base))) => {
                        let line = an.ins(r.at).start_line;
                        f.why.push_str(&format!(
                            " `runtime = \"{}\"` (dockfix.toml) was not used: {} (line {line}). The runtime stage stays on `{base}`.",
                            requested.as_str(),
                            r.why
                        ));
                        if let Some(fx) = f.fix.as_mut() {
                            fx.title.push_str(&format!(" (not {}: see why)", requested.as_str()));
                        }
                        out.push(f);
                    }
                    Some(Err(r2)) => out.push(refuse(an.ins(an.stage.from).span.clone(), &r2.what, &r2.why)),
                    None => {}
                }
            }
            Some(Ok((f, _))) => out.push(f),
            Some(Err(r)) => out.push(refuse(an.ins(an.stage.from).span.clone(), &r.what, &r.why)),
            None => {}
        }
        out
    }
}

/// The kind of runtime image asked for (`runtime` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runtime {
    Slim,
    Distroless,
    Scratch,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Slim => "slim",
            Runtime::Distroless => "distroless",
            Runtime::Scratch => "scratch",
        }
    }
}

/// Why the pass leaves the image in one stage (or, with a `runtime` kind,
/// why that kind does not fit): `at` is the instruction to point at.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub what: String,
    pub why: String,
    pub at: usize,
}

/// A system package that the original image ships and the runtime does not
/// need as such.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shipped {
    pub name: String,
    /// The runtime package that replaces it, if any, and whether the
    /// release was known.
    pub runtime: Option<(String, bool)>,
    /// Not in dockfix's table: kept in the runtime as it is.
    pub unknown_dev: bool,
}

/// What the pass knows about the one stage.
pub(crate) struct Analysis<'a> {
    pub cx: &'a Context<'a>,
    pub doc: &'a Document,
    pub stage: &'a dockfix_syntax::Stage,
    pub states: &'a [State],
    pub image: Image,
    /// The commands of each RUN of the stage (by instruction index).
    pub runs: Vec<Option<Result<Vec<Cmd>, String>>>,
    pub family: Option<DistroFamily>,
    pub release: Option<String>,
    /// The kind of runtime image this plan is for.
    pub runtime: Runtime,
}

impl<'a> Analysis<'a> {
    fn new(cx: &'a Context<'a>, stage: &'a dockfix_syntax::Stage, runtime: Runtime) -> Analysis<'a> {
        let doc = cx.doc;
        let states = stage_states(doc, stage);
        let image = Image::parse(&stage.base);
        let runs: Vec<Option<Result<Vec<Cmd>, String>>> =
            doc.instructions.iter().map(|ins| (ins.kind == Kind::Run).then(|| cmds::commands(ins))).collect();
        let mut family = image.family();
        if family.is_none() {
            for r in runs[stage.body.clone()].iter().flatten().flatten() {
                for c in r {
                    if let Class::Pkg(Pkg::Install { family: f, .. }) = &c.class {
                        family = Some(*f);
                    }
                }
            }
        }
        let release = image.release();
        Analysis { cx, doc, stage, states, image, runs, family, release, runtime }
    }

    pub fn state(&self, idx: usize) -> &State {
        &self.states[idx - self.stage.body.start]
    }

    pub fn ins(&self, idx: usize) -> &'a Instruction {
        &self.doc.instructions[idx]
    }

    pub fn cmds(&self, idx: usize) -> Option<&Result<Vec<Cmd>, String>> {
        self.runs.get(idx).and_then(|r| r.as_ref())
    }

    pub fn option(&self, key: &str) -> Option<&'a str> {
        self.cx.options.get_str(NAME, key)
    }

    /// The final CMD and ENTRYPOINT of the stage.
    pub fn last_of(&self, kind: Kind) -> Option<usize> {
        self.stage.body.clone().rev().find(|&i| self.ins(i).kind == kind)
    }

    /// Build packages installed before (or at) `split` that the image
    /// keeps: installed and not removed in the same RUN.
    pub fn shipped(&self, split: usize) -> Vec<Shipped> {
        let mut out: Vec<Shipped> = Vec::new();
        for idx in self.stage.body.start..=split {
            let Some(Ok(cmds)) = self.cmds(idx) else { continue };
            let removed: BTreeSet<String> = cmds
                .iter()
                .filter_map(|c| match &c.class {
                    Class::Pkg(Pkg::Remove(names)) => Some(names.clone()),
                    _ => None,
                })
                .flatten()
                .collect();
            for c in cmds {
                let Class::Pkg(Pkg::Install { family, head, packages }) = &c.class else { continue };
                if cmds::apk_virtual(head).is_some_and(|v| removed.contains(v)) {
                    continue;
                }
                for p in packages {
                    let bare = p.split(['=', '~', '>', '<']).next().unwrap_or(p).to_string();
                    if removed.contains(&bare) || out.iter().any(|s| s.name == bare) {
                        continue;
                    }
                    match knowledge::build_package(*family, &bare) {
                        Some(bp) => {
                            let mut runtime = knowledge::runtime_of(bp, self.release.as_deref())
                                .map(|(l, sure)| (l.to_string(), sure));
                            if runtime.as_ref().is_some_and(|(l, _)| l == "python3") && self.image.is_python() {
                                runtime = None;
                            }
                            if runtime.is_some() && matches!(bp.runtime, RuntimeOf::Drop) {
                                runtime = None;
                            }
                            out.push(Shipped { name: bare, runtime, unknown_dev: false });
                        }
                        None if knowledge::looks_like_dev_package(&bare) => {
                            out.push(Shipped { name: bare, runtime: None, unknown_dev: true })
                        }
                        None => {}
                    }
                }
            }
        }
        out
    }

    /// The build-context file an in-image path came from, through the
    /// stage's COPY/ADD instructions (the last one that provides it).
    pub fn context_file_for(&self, path: &Workdir) -> Option<String> {
        let mut found = None;
        for idx in self.stage.body.clone() {
            let ins = self.ins(idx);
            if !matches!(ins.kind, Kind::Copy | Kind::Add) || ins.flag("from").is_some() || !ins.heredocs.is_empty() {
                continue;
            }
            let st = self.state(idx);
            let args = ins.arg_values();
            let Some((dest, srcs)) = args.split_last() else { continue };
            let Some(dest_exp) = st.expand(dest) else { continue };
            let dest_dir = dest_exp.ends_with('/') || srcs.len() > 1 || dest_exp == "." || dest_exp == "./";
            let dest_w = st.workdir.join(&dest_exp);
            for src in srcs {
                let s = src.trim_start_matches("./").trim_end_matches('/');
                let s = if s == "." || s.is_empty() { "" } else { s };
                if s.contains(['*', '?', '$']) || s.contains("://") {
                    continue;
                }
                if s.is_empty() || self.cx.context_has_dir(s) {
                    if let Some(rel) = path.relative_to(&dest_w) {
                        if !rel.is_empty() {
                            found = Some(if s.is_empty() { rel } else { format!("{s}/{rel}") });
                        }
                    }
                } else {
                    let base = s.rsplit('/').next().unwrap_or(s);
                    let target = if dest_dir { dest_w.join(base) } else { dest_w.clone() };
                    if &target == path {
                        found = Some(s.to_string());
                    }
                }
            }
        }
        found
    }

    /// A resolved in-image path, relative words resolved against a workdir.
    pub fn resolve(&self, idx: usize, word: &str) -> Workdir {
        let st = self.state(idx);
        match st.expand(word) {
            Some(p) => st.workdir.join(&p),
            None => Workdir::Unknown,
        }
    }

    /// The destination of a COPY/ADD, resolved.
    pub fn copy_dest(&self, idx: usize) -> Workdir {
        let ins = self.ins(idx);
        match ins.args.last() {
            Some(a) => self.resolve(idx, &a.value),
            None => Workdir::Unknown,
        }
    }

    /// Keywords in the file's case.
    pub fn kw(&self, k: &str) -> String {
        let from = self.ins(self.stage.from);
        if from.keyword.chars().all(|c| c.is_ascii_lowercase()) {
            k.to_ascii_lowercase()
        } else {
            k.to_string()
        }
    }
}

/// The source text of an instruction (keyword to the end of its last line).
pub(crate) fn source_text(doc: &Document, ins: &Instruction) -> String {
    String::from_utf8_lossy(&doc.source()[ins.span.clone()]).into_owned()
}

/// A RUN line from commands: one line when short, else one command per
/// continuation line.
pub(crate) fn run_line(doc: &Document, kw: &str, flags: &[String], cmds: &[String]) -> String {
    let mut head = kw.to_string();
    for f in flags {
        head.push(' ');
        head.push_str(f);
    }
    let one = format!("{head} {}", cmds.join(" && "));
    if one.len() <= 80 || cmds.len() == 1 {
        return one;
    }
    let cont = format!(" {}{}", doc.escape, layout::eol(doc));
    let mut s = format!("{head} {}", cmds[0]);
    for c in &cmds[1..] {
        s.push_str(&cont);
        s.push_str("    && ");
        s.push_str(c);
    }
    s
}

/// Refusal: a display-only finding that says why.
pub(crate) fn refuse(range: Range<usize>, what: &str, why: &str) -> Finding {
    Finding::new(NAME, range, format!("single-stage image ships {what}; dockfix leaves it in one stage"))
        .why(format!(
            "A builder stage would keep {what} out of the final image, but {why}. Splitting it could break the image."
        ))
        .fix(Fix::display_only("Keep one stage"))
}

/// A word-list description (`a, b and c`).
pub(crate) fn list(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

/// Quoted code list (`` `a`, `b` ``).
pub(crate) fn code_list(items: &[String]) -> String {
    list(&items.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>())
}

/// The edit that names the builder stage: ` AS builder` after the image, or
/// the existing name replaced. Returns the edit and the name the runtime
/// stage takes (the original one).
pub(crate) fn name_builder(an: &Analysis<'_>) -> (Edit, &'static str, Option<String>) {
    let ins = an.ins(an.stage.from);
    let original = an.stage.name.clone();
    let builder = if original.as_deref() == Some("builder") { "build" } else { "builder" };
    if ins.args.len() == 3 {
        if let Some(span) = ins.args[2].span.clone() {
            let r = ins.source_range(span);
            let name = ins.args[2].value.clone();
            return (Edit::replace(r, builder), builder, Some(name));
        }
    }
    let end = ins.args.first().and_then(|a| a.span.clone()).map(|s| ins.source_range(s).end).unwrap_or(ins.span.end);
    (Edit::insert(end, format!(" {} {builder}", an.kw("AS"))), builder, original)
}

#[cfg(test)]
mod tests;
