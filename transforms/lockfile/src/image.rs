//! Which build-context file is at a path of the image when a step runs:
//! the `COPY`/`ADD` instructions before it (in its stage and the stages it
//! is built on) and the RUN's own bind mounts.

use std::ops::Range;

use dockfix_core::walk::{stage_states, State, Workdir};
use dockfix_syntax::{Document, Instruction, Kind, Stage};

use crate::context::{clean, glob, join, View};

/// The instructions a step sees, oldest first: the bodies of the stages
/// its stage is built on, then its own up to the step.
pub struct Chain {
    /// (instruction index, state before it).
    pub steps: Vec<(usize, State)>,
}

impl Chain {
    /// The chain of the stage holding `body`, its states from `stage_states`.
    pub fn new(doc: &Document, stages: &[Stage], stage: &Stage, states: &[State]) -> Chain {
        let mut parts: Vec<Vec<(usize, State)>> = Vec::new();
        parts.push(stage.body.clone().zip(states.iter().cloned()).collect());
        let mut base = stage.base.to_ascii_lowercase();
        let mut hops = 0;
        let mut before = stage.index;
        while let Some(parent) = stages[..before].iter().rev().find(|s| s.name.as_deref() == Some(base.as_str())) {
            let st = stage_states(doc, parent);
            parts.push(parent.body.clone().zip(st.iter().cloned()).collect());
            base = parent.base.to_ascii_lowercase();
            before = parent.index;
            hops += 1;
            if hops > 8 {
                break;
            }
        }
        Chain { steps: parts.into_iter().rev().flatten().collect() }
    }

    /// The steps before instruction `idx` (which must be in the chain).
    pub fn before(&self, idx: usize) -> &[(usize, State)] {
        let n = self.steps.iter().position(|(i, _)| *i == idx).unwrap_or(self.steps.len());
        &self.steps[..n]
    }

    pub fn state(&self, idx: usize) -> Option<&State> {
        self.steps.iter().find(|(i, _)| *i == idx).map(|(_, s)| s)
    }
}

/// A copy from the build context, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// Context paths as written, cleaned (`""` is the whole context).
    pub sources: Vec<String>,
    /// Where they go.
    pub dest: Workdir,
    /// The destination is a directory (a trailing `/`, several sources, `.`).
    pub into_dir: bool,
    /// Flags as written (`--chown=app`), to carry to a new copy.
    pub flags: Vec<String>,
}

/// Reads a COPY/ADD from the build context (not `--from`, no heredoc, no
/// remote source, nothing dockfix cannot expand).
pub fn read_copy(ins: &Instruction, state: &State) -> Option<Copy> {
    if !matches!(ins.kind, Kind::Copy | Kind::Add) || !ins.heredocs.is_empty() {
        return None;
    }
    if ins.flags.iter().any(|f| !matches!(f.name(), "chown" | "chmod" | "link")) {
        return None;
    }
    let args = ins.arg_values();
    let (dest, srcs) = args.split_last()?;
    if srcs.is_empty() {
        return None;
    }
    let dest_x = state.expand(dest)?;
    let mut sources = Vec::new();
    for s in srcs {
        let s = state.expand(s)?;
        if s.contains("://") || s.starts_with("git@") || s.split('/').any(|c| c == "..") {
            return None;
        }
        sources.push(clean(s.trim_start_matches('/')));
    }
    let into_dir = dest_x.ends_with('/') || srcs.len() > 1 || dest_x == "." || dest_x == "./";
    let flags = ins.flags.iter().map(|f| ins.text_of(&f.span).to_string()).collect();
    Some(Copy { sources, dest: state.workdir.join(&dest_x), into_dir, flags })
}

/// Where a context file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provided {
    /// The COPY (or the RUN with the bind mount).
    pub idx: usize,
    /// The context path.
    pub file: String,
    /// The copy's source that brought it (a directory, a glob, or the file).
    pub source: String,
    /// A bind mount of the RUN itself.
    pub mount: bool,
}

impl Copy {
    /// The context file this copy puts at `path`, if any.
    pub fn provides(&self, view: &View<'_>, path: &Workdir) -> Option<(String, String)> {
        for src in &self.sources {
            if src.contains(['*', '?', '[']) {
                let (dir, pat) = src.rsplit_once('/').unwrap_or(("", src));
                let parent = parent(path);
                if parent == self.dest && self.into_dir {
                    let base = basename(path)?;
                    if glob(pat.as_bytes(), base.as_bytes()) {
                        let f = join(dir, &base);
                        if view.is_file(&f) {
                            return Some((f, src.clone()));
                        }
                    }
                }
                continue;
            }
            if view.is_dir(src) && !view.is_file(src) {
                if let Some(rel) = path.relative_to(&self.dest).filter(|r| !r.is_empty()) {
                    let f = join(src, &rel);
                    if view.is_file(&f) {
                        return Some((f, src.clone()));
                    }
                }
                continue;
            }
            let target =
                if self.into_dir { self.dest.join(src.rsplit('/').next().unwrap_or(src)) } else { self.dest.clone() };
            if &target == path && view.is_file(src) {
                return Some((src.clone(), src.clone()));
            }
        }
        None
    }
}

fn parent(p: &Workdir) -> Workdir {
    match p {
        Workdir::Abs(s) => {
            Workdir::Abs(s.rsplit_once('/').map(|(d, _)| if d.is_empty() { "/" } else { d }).unwrap_or("/").to_string())
        }
        Workdir::Base(s) => Workdir::Base(s.rsplit_once('/').map(|(d, _)| d).unwrap_or("").to_string()),
        Workdir::Unknown => Workdir::Unknown,
    }
}

fn basename(p: &Workdir) -> Option<String> {
    match p {
        Workdir::Abs(s) | Workdir::Base(s) => s.rsplit('/').next().filter(|b| !b.is_empty()).map(str::to_string),
        Workdir::Unknown => None,
    }
}

/// Bind mounts of a RUN from the build context: (target in the image, context source).
pub fn bind_mounts(ins: &Instruction, state: &State) -> Vec<(Workdir, String)> {
    let mut out = Vec::new();
    for f in ins.flags_named("mount") {
        let Some(v) = f.value() else { continue };
        let mut kind = "bind";
        let (mut source, mut target, mut from) = (None, None, false);
        for part in v.split(',') {
            let (k, val) = part.split_once('=').unwrap_or((part, ""));
            match k {
                "type" => kind = if val == "bind" { "bind" } else { "other" },
                "source" | "src" => source = Some(val.to_string()),
                "target" | "dst" | "destination" => target = Some(val.to_string()),
                "from" => from = true,
                _ => {}
            }
        }
        if kind != "bind" || from {
            continue;
        }
        if let (Some(t), Some(s)) = (target.and_then(|t| state.expand(&t)), source.and_then(|s| state.expand(&s))) {
            out.push((state.workdir.join(&t), clean(s.trim_start_matches('/'))));
        }
    }
    out
}

/// The context file at `path` when step `idx` runs, if a copy (or a bind
/// mount of the step) put one there.
pub fn provider(doc: &Document, view: &View<'_>, chain: &Chain, idx: usize, path: &Workdir) -> Option<Provided> {
    if matches!(path, Workdir::Unknown) {
        return None;
    }
    let ins = &doc.instructions[idx];
    if let Some(state) = chain.state(idx) {
        for (target, src) in bind_mounts(ins, state) {
            if &target == path && view.is_file(&src) {
                return Some(Provided { idx, file: src.clone(), source: src, mount: true });
            }
            if let Some(rel) = path.relative_to(&target).filter(|r| !r.is_empty()) {
                let f = join(&src, &rel);
                if view.is_dir(&src) && view.is_file(&f) {
                    return Some(Provided { idx, file: f, source: src, mount: true });
                }
            }
        }
    }
    for (i, state) in chain.before(idx).iter().rev() {
        let Some(copy) = read_copy(&doc.instructions[*i], state) else { continue };
        if let Some((file, source)) = copy.provides(view, path) {
            return Some(Provided { idx: *i, file, source, mount: false });
        }
    }
    None
}

/// Instructions strictly between two indexes of a chain.
pub fn between<'c>(chain: &'c Chain, from: usize, to: usize) -> impl Iterator<Item = &'c (usize, State)> + 'c {
    let r: Range<usize> = from + 1..to;
    chain.steps.iter().filter(move |(i, _)| r.contains(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_core::{Context, MemFs, PassOptions, Service};
    use dockfix_syntax::parse_str;

    #[test]
    fn finds_the_copy() {
        let src = "FROM python AS base\nWORKDIR /app\nCOPY pyproject.toml poetry.lock* ./\nFROM base\nCOPY reqs/ /app/reqs/\nRUN --mount=type=bind,source=uv.lock,target=uv.lock true\n";
        let doc = parse_str(src).unwrap();
        let fs = MemFs::new()
            .with("/c/pyproject.toml", "")
            .with("/c/poetry.lock", "")
            .with("/c/uv.lock", "")
            .with("/c/reqs/a.txt", "");
        let svc = Service::for_dockerfile("/c/Dockerfile");
        let opts = PassOptions::default();
        let cx = Context { doc: &doc, service: &svc, fs: &fs, options: &opts, history: None, passes: &[] };
        let view = View::new(&cx);
        let stages = doc.stages();
        let states = stage_states(&doc, &stages[1]);
        let chain = Chain::new(&doc, &stages, &stages[1], states);
        let p = |s: &str| provider(&doc, &view, &chain, 5, &Workdir::Abs(s.into()));
        assert_eq!(p("/app/poetry.lock").unwrap().idx, 2);
        assert_eq!(p("/app/poetry.lock").unwrap().source, "poetry.lock*");
        assert_eq!(p("/app/pyproject.toml").unwrap().file, "pyproject.toml");
        assert_eq!(p("/app/reqs/a.txt").unwrap().file, "reqs/a.txt");
        assert!(p("/app/uv.lock").unwrap().mount);
        assert!(p("/app/missing.txt").is_none());
    }
}
