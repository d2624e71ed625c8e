//! What a Dockerfile reads from its build context: the sources of every
//! `COPY`/`ADD` without `--from`, the bind mounts of `RUN --mount` from the
//! context, and the commands of every `RUN` (for the proofs that a
//! directory is rebuilt in the image or that `.git` is used).

use std::collections::BTreeMap;
use std::ops::Range;

use dockfix_core::walk::{expand_with, stage_states, State, Workdir};
use dockfix_dockerignore::{normalize, Matcher};
use dockfix_syntax::shell::parse_script;
use dockfix_syntax::{Document, Instruction, Kind};

/// Where a COPY puts what it reads.
#[derive(Debug, Clone)]
pub struct CopyInfo {
    /// The destination, resolved against the working directory.
    pub dest: Workdir,
    /// `--parents`: the source path is kept below the destination.
    pub parents: bool,
}

/// One path (or glob) read from the context.
#[derive(Debug, Clone)]
pub struct Source {
    /// Context-relative, normalized; `""` is the whole context.
    pub path: String,
    /// Set when the source has wildcards: matches the paths it selects.
    pub glob: Option<Matcher>,
    /// A variable could not be expanded: the source could be anything.
    pub unknown: bool,
    /// For COPY/ADD (None for a bind mount).
    pub copy: Option<CopyInfo>,
    /// `COPY --exclude` patterns, relative to the source.
    pub exclude: Option<Matcher>,
    /// Stage index and instruction index.
    pub stage: usize,
    pub idx: usize,
    /// The instruction on one line, for messages.
    pub label: String,
    /// Its source bytes in the Dockerfile.
    pub range: Range<usize>,
}

impl Source {
    /// Reads the whole context.
    pub fn is_root(&self) -> bool {
        self.unknown || (self.glob.is_none() && self.path.is_empty())
    }

    /// The source names `p` itself: excluding `p` breaks or changes this copy.
    pub fn names(&self, p: &str) -> bool {
        if self.is_root() {
            return false;
        }
        match &self.glob {
            Some(g) => g.patterns().iter().any(|pat| pat.matches(p)),
            None => p == self.path,
        }
    }

    /// The source reads something below `p` (by name or by a glob under it).
    pub fn reads_below(&self, p: &str) -> bool {
        !self.is_root() && dockfix_core::walk::starts_with_dir(&self.path, p)
    }

    /// The source reads a directory above `p`: `p` lands where it copies to.
    pub fn covers(&self, p: &str) -> bool {
        if p.is_empty() {
            return false;
        }
        let covered = if self.is_root() {
            true
        } else {
            match &self.glob {
                Some(g) => ancestors(p).any(|a| g.patterns().iter().any(|pat| pat.matches(a))),
                None => dockfix_core::walk::starts_with_dir(p, &self.path),
            }
        };
        if !covered {
            return false;
        }
        match (&self.exclude, &self.glob) {
            (Some(ex), None) => {
                let rel = if self.path.is_empty() { p } else { &p[self.path.len() + 1..] };
                !ex.matches_or_parent_matches(rel)
            }
            _ => true,
        }
    }

    /// Where `p` (covered by a plain directory source) lands in the image.
    pub fn image_path(&self, p: &str) -> Option<Workdir> {
        let copy = self.copy.as_ref()?;
        if self.glob.is_some() || self.unknown || copy.parents {
            return None;
        }
        let rel = if self.path.is_empty() { p } else { p.strip_prefix(&format!("{}/", self.path))? };
        match &copy.dest {
            Workdir::Unknown => None,
            d => Some(d.join(rel)),
        }
    }
}

/// The strict ancestors of a context path, outermost first (`a`, `a/b` for `a/b/c`).
pub fn ancestors(p: &str) -> impl Iterator<Item = &str> {
    p.match_indices('/').map(move |(i, _)| &p[..i])
}

/// A simple command of a RUN.
#[derive(Debug, Clone)]
pub struct Cmd {
    pub words: Vec<String>,
    /// `NAME=value` prefixes.
    pub assigns: BTreeMap<String, String>,
    /// Where it runs (after `cd`s before it in the same RUN).
    pub cwd: Workdir,
}

impl Cmd {
    /// The program name, path stripped.
    pub fn program(&self) -> &str {
        self.words.first().map_or("", |w| w.rsplit('/').next().unwrap_or(w))
    }
    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or(&[])
    }
    /// A variable as this command sees it: its own prefix, else the stage's.
    pub fn var<'a>(&'a self, run: &'a Run, name: &str) -> Option<&'a str> {
        self.assigns.get(name).map(String::as_str).or_else(|| run.state.env.get(name).map(String::as_str))
    }
}

/// One RUN.
#[derive(Debug, Clone)]
pub struct Run {
    pub stage: usize,
    pub idx: usize,
    /// None when its script cannot be read (a heredoc fed to a program).
    pub cmds: Option<Vec<Cmd>>,
    pub state: State,
    pub label: String,
}

/// Everything a Dockerfile reads from its context.
#[derive(Debug, Clone, Default)]
pub struct Reads {
    pub sources: Vec<Source>,
    /// BuildKit sends the whole context (not just the COPY sources).
    pub full_send: bool,
    pub runs: Vec<Run>,
    /// `COPY --from=<stage>` and what else takes from a stage.
    pub takes: Vec<Take>,
    /// Stage names (lower-cased), by index.
    pub stage_names: Vec<Option<String>>,
    /// The stage the build ends with (the last one, or the build target).
    pub final_stage: usize,
}

/// Something that takes files from another stage.
#[derive(Debug, Clone)]
pub struct Take {
    /// The stage (or image) named, lower-cased as written (`builder`, `0`).
    pub from: String,
    /// What it takes, as absolute paths in that stage; None for everything
    /// (`FROM stage`, a mount of its root, a path dockfix cannot resolve).
    pub paths: Option<Vec<Workdir>>,
    /// Where it is: stage and instruction index, and for a COPY its
    /// destination in the taking stage.
    pub stage: usize,
    pub idx: usize,
    pub dest: Option<Workdir>,
    pub label: String,
}

impl Reads {
    /// A Dockerfile that could not be read: it may read anything.
    pub fn opaque(label: &str) -> Reads {
        Reads {
            sources: vec![Source {
                path: String::new(),
                glob: None,
                unknown: true,
                copy: None,
                exclude: None,
                stage: 0,
                idx: 0,
                label: label.to_string(),
                range: 0..0,
            }],
            full_send: true,
            runs: Vec::new(),
            takes: Vec::new(),
            stage_names: Vec::new(),
            final_stage: 0,
        }
    }

    /// The index of the stage a `--from`/`FROM` value names, if it is one.
    pub fn stage_index(&self, name: &str) -> Option<usize> {
        self.stage_names
            .iter()
            .position(|n| n.as_deref() == Some(name))
            .or_else(|| name.parse::<usize>().ok().filter(|&i| i < self.stage_names.len()))
    }

    /// Everything that takes from stage `stage`.
    pub fn takes_from(&self, stage: usize) -> impl Iterator<Item = &Take> {
        self.takes.iter().filter(move |t| self.stage_index(&t.from) == Some(stage))
    }

    /// True if the Dockerfile could not be read.
    pub fn is_opaque(&self) -> bool {
        self.sources.first().is_some_and(|s| s.unknown && s.copy.is_none() && s.range.is_empty())
    }

    /// The RUNs of a stage after an instruction.
    pub fn runs_after(&self, stage: usize, idx: usize) -> impl Iterator<Item = &Run> {
        self.runs.iter().filter(move |r| r.stage == stage && r.idx > idx)
    }
}

/// The instruction on one line, shortened.
pub fn one_line(ins: &Instruction) -> String {
    let t: String = ins.line.text().split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 60 {
        format!("{}…", t.chars().take(59).collect::<String>())
    } else {
        t
    }
}

/// Expands a word with the stage's ENV, the build arguments given to the
/// build, and ARG defaults, in BuildKit's order.
fn expand(state: &State, build_args: &BTreeMap<String, String>, word: &str) -> Option<String> {
    expand_with(word, &|n| {
        if let Some(v) = state.env.get(n) {
            return Some(v.clone());
        }
        match state.args.get(n) {
            Some(default) => build_args.get(n).cloned().or_else(|| default.clone()),
            None => None,
        }
    })
}

/// `key=value` fields of a `--mount` flag.
fn mount_fields(value: &str) -> BTreeMap<String, String> {
    value
        .split(',')
        .map(|f| match f.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_string()),
            None => (f.trim().to_ascii_lowercase(), String::new()),
        })
        .collect()
}

fn is_remote(src: &str) -> bool {
    src.contains("://") || src.starts_with("git@")
}

/// What `doc` reads from its context.
pub fn reads(doc: &Document, build_args: &BTreeMap<String, String>) -> Reads {
    let mut out = Reads::default();
    let stages = doc.stages();
    out.stage_names = stages.iter().map(|s| s.name.clone()).collect();
    out.final_stage = stages.len().saturating_sub(1);
    for stage in stages {
        // A stage built on another one takes all of it.
        out.takes.push(Take {
            from: stage.base.to_ascii_lowercase(),
            paths: None,
            stage: stage.index,
            idx: stage.from,
            dest: None,
            label: one_line(&doc.instructions[stage.from]),
        });
        let states = stage_states(doc, &stage);
        for (k, idx) in stage.body.clone().enumerate() {
            let ins = &doc.instructions[idx];
            let state = &states[k];
            let base = |path: String, glob: Option<Matcher>, unknown: bool| Source {
                path,
                glob,
                unknown,
                copy: None,
                exclude: None,
                stage: stage.index,
                idx,
                label: one_line(ins),
                range: ins.span.clone(),
            };
            match ins.kind {
                Kind::Copy | Kind::Add => {
                    let args = ins.arg_values();
                    if args.len() < 2 {
                        continue;
                    }
                    if let Some(from) = ins.flag("from").and_then(|f| f.value()).filter(|v| !v.is_empty()) {
                        let from = expand(state, build_args, from).unwrap_or_else(|| from.to_string());
                        let paths: Option<Vec<Workdir>> = args[..args.len() - 1]
                            .iter()
                            .map(|a| expand(state, build_args, a).map(|p| Workdir::Abs("/".into()).join(&p)))
                            .collect();
                        let dest = expand(state, build_args, args[args.len() - 1]).map(|d| state.workdir.join(&d));
                        out.takes.push(Take {
                            from: from.to_ascii_lowercase(),
                            paths,
                            stage: stage.index,
                            idx,
                            dest,
                            label: one_line(ins),
                        });
                        continue;
                    }
                    let parents = ins.flag("parents").is_some_and(|f| f.value().is_none_or(|v| v != "false"));
                    let dest = match expand(state, build_args, args[args.len() - 1]) {
                        Some(d) => state.workdir.join(&d),
                        None => Workdir::Unknown,
                    };
                    let excludes: Vec<String> =
                        ins.flags_named("exclude").filter_map(|f| f.value().map(str::to_string)).collect();
                    let exclude = (!excludes.is_empty()).then(|| Matcher::new(&excludes).ok()).flatten();
                    for raw in &args[..args.len() - 1] {
                        if !ins.heredocs.is_empty() && raw.starts_with("<<") {
                            continue;
                        }
                        if ins.kind == Kind::Add && is_remote(raw) {
                            continue;
                        }
                        let mut src = match expand(state, build_args, raw) {
                            Some(s) => base(normalize(&s), None, false),
                            None => base(String::new(), None, true),
                        };
                        if !src.unknown && src.path.contains(['*', '?', '[']) {
                            match Matcher::new(&[src.path.as_str()]) {
                                Ok(m) => src.glob = Some(m),
                                Err(_) => src.unknown = true,
                            }
                        }
                        src.copy = Some(CopyInfo { dest: dest.clone(), parents });
                        src.exclude = exclude.clone();
                        out.full_send |= src.is_root();
                        out.sources.push(src);
                    }
                }
                Kind::Run => {
                    for f in ins.flags_named("mount") {
                        let fields = mount_fields(f.value().unwrap_or(""));
                        if let Some(from) = fields.get("from").filter(|v| !v.is_empty()) {
                            let src = fields.get("source").or_else(|| fields.get("src")).cloned().unwrap_or_default();
                            let path = expand(state, build_args, &src).map(|p| vec![Workdir::Abs("/".into()).join(&p)]);
                            out.takes.push(Take {
                                from: from.to_ascii_lowercase(),
                                paths: path,
                                stage: stage.index,
                                idx,
                                dest: None,
                                label: one_line(ins),
                            });
                            continue;
                        }
                        match fields.get("type").map(String::as_str).unwrap_or("bind") {
                            "bind" => {
                                let raw =
                                    fields.get("source").or_else(|| fields.get("src")).cloned().unwrap_or_default();
                                let src = match expand(state, build_args, &raw) {
                                    Some(s) => base(normalize(&s), None, false),
                                    None => base(String::new(), None, true),
                                };
                                out.full_send |= src.is_root();
                                out.sources.push(src);
                            }
                            // BuildKit records a source-less tmpfs mount as a
                            // read of the context root: the whole context is sent.
                            "tmpfs" => out.full_send = true,
                            _ => {}
                        }
                    }
                    out.runs.push(Run {
                        stage: stage.index,
                        idx,
                        cmds: run_commands(ins, state),
                        state: state.clone(),
                        label: one_line(ins),
                    });
                }
                _ => {}
            }
        }
    }
    out
}

const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh"];

/// The commands of a RUN with the directory each runs in; None when the
/// script cannot be read.
pub fn run_commands(ins: &Instruction, state: &State) -> Option<Vec<Cmd>> {
    let script = if ins.json {
        let words: Vec<String> = ins.args.iter().map(|a| a.value.clone()).collect();
        let is_shell = words.first().is_some_and(|w| SHELLS.contains(&w.rsplit('/').next().unwrap_or(w)));
        if is_shell && words.get(1).is_some_and(|w| w == "-c") {
            words.get(2)?.clone()
        } else {
            return Some(vec![Cmd { words, assigns: BTreeMap::new(), cwd: state.workdir.clone() }]);
        }
    } else if ins.heredocs.is_empty() {
        ins.args_text().to_string()
    } else {
        let text = ins.args_text().trim();
        if ins.heredocs.len() == 1 && text.starts_with("<<") && !text.contains(' ') {
            ins.heredocs[0].content.clone()
        } else {
            return None;
        }
    };
    let mut cwd = state.workdir.clone();
    let mut out = Vec::new();
    for c in parse_script(&script).commands {
        let words: Vec<String> = c.words.iter().map(|w| w.value.clone()).collect();
        let assigns = c
            .assignments
            .iter()
            .filter_map(|w| w.value.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
        if c.name() == Some("cd") {
            cwd = match words.get(1).map(|d| state.expand(d)) {
                Some(Some(d)) => cwd.join(&d),
                _ => Workdir::Unknown,
            };
            continue;
        }
        out.push(Cmd { words, assigns, cwd: cwd.clone() });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_syntax::parse_str;

    fn r(src: &str) -> Reads {
        reads(&parse_str(src).unwrap(), &BTreeMap::new())
    }

    #[test]
    fn sources_of_copies_and_mounts() {
        let rd = r("FROM a AS b\nARG D=web\nWORKDIR /app\nCOPY ./${D}/ pkg*.json ./\nCOPY --from=b /x /y\n\
                    ADD https://x/y.tgz /z\nRUN --mount=type=bind,source=scripts,target=/s --mount=type=cache,target=/c x\n\
                    COPY <<EOF /etc/x\nhi\nEOF\nCOPY --parents ./src/./a/*.py /dst/\n");
        let paths: Vec<(&str, bool)> = rd.sources.iter().map(|s| (s.path.as_str(), s.glob.is_some())).collect();
        assert_eq!(paths, [("web", false), ("pkg*.json", true), ("scripts", false), ("src/a/*.py", true)]);
        assert!(!rd.full_send);
        assert!(rd.sources[0].covers("web/node_modules"));
        assert!(!rd.sources[0].covers("web"));
        assert!(rd.sources[0].names("web"));
        assert_eq!(rd.sources[0].image_path("web/node_modules"), Some(Workdir::Abs("/app/node_modules".into())));
        assert!(rd.sources[1].names("pkg-lock.json"));
        assert!(rd.sources[3].copy.as_ref().unwrap().parents);
    }

    #[test]
    fn the_whole_context() {
        assert!(r("FROM a\nCOPY . .\n").full_send);
        assert!(r("FROM a\nCOPY $UNSET /x\n").full_send);
        assert!(r("FROM a\nRUN --mount=target=/src make\n").full_send);
        assert!(r("FROM a\nRUN --mount=type=tmpfs,target=/t make\n").full_send);
        assert!(!r("FROM a\nRUN --mount=type=cache,target=/t make\n").full_send);
        let ex = r("FROM a\nCOPY --exclude=*.md --exclude=docs . /app\n");
        assert!(!ex.sources[0].covers("README.md"));
        assert!(!ex.sources[0].covers("docs/a.txt"));
        assert!(ex.sources[0].covers("src/a.md"));
    }

    #[test]
    fn commands_with_their_directory() {
        let doc = parse_str("FROM a\nWORKDIR /app\nRUN cd web && CI=1 npm ci && cd /srv; make\nRUN [\"sh\", \"-c\", \"cd x && yarn\"]\n")
            .unwrap();
        let rd = reads(&doc, &BTreeMap::new());
        let c = rd.runs[0].cmds.as_ref().unwrap();
        assert_eq!(c[0].program(), "npm");
        assert_eq!(c[0].cwd, Workdir::Abs("/app/web".into()));
        assert_eq!(c[0].assigns.get("CI").map(String::as_str), Some("1"));
        assert_eq!(c[1].cwd, Workdir::Abs("/srv".into()));
        let c = rd.runs[1].cmds.as_ref().unwrap();
        assert_eq!((c[0].program(), &c[0].cwd), ("yarn", &Workdir::Abs("/app/x".into())));
    }
}
