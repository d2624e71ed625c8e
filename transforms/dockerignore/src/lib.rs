//! Pass `dockerignore`: a measured ignore file for the build context that
//! never hides what the Dockerfile reads.
//!
//! For the Dockerfile's build context it
//! 1. finds the ignore file BuildKit reads (`<Dockerfile>.dockerignore` next
//!    to the Dockerfile, else `<context>/.dockerignore`) and, when several
//!    Dockerfiles share the context's file, all of them;
//! 2. works out what each reads from the context (COPY/ADD sources, globs,
//!    `--parents`, bind mounts) and what BuildKit sends;
//! 3. walks the context with the current patterns (exact Docker semantics,
//!    [`dockfix_dockerignore`]) and measures it;
//! 4. proposes the well-known entries it finds, each checked against every
//!    read: never one a COPY names, never one that overrides a `!`
//!    exception; safe when nothing in the image can notice (caches, logs,
//!    `.git` no step uses, `node_modules` an install recreates after the
//!    copy), unsafe when the image loses something it may use (a host
//!    virtualenv, `.env`);
//! 5. reports big entries it will not touch, COPY sources the current file
//!    already excludes, and secrets copied into the image.
//!
//! Safe and unsafe entries are separate fixes, appended at the end of the
//! file in fixed groups, so `apply` without `--unsafe-fixes` still writes
//! the safe ones, and a second run finds nothing missing.

mod catalog;
mod proof;
mod reads;
pub mod text;
mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use dockfix_core::{Applicability, Context, Edit, Finding, Fix, Pass};
use dockfix_dockerignore::{Matcher, Pattern};
use dockfix_syntax::{Document, Kind};

use catalog::{Candidate, Class, Group};
use proof::Files;
use reads::{Reads, Source};
use tree::{Follow, Tree};

pub const NAME: &str = "dockerignore";

/// Entries at least this big that stay in the context are reported.
const LARGE_DEFAULT_MB: u64 = 50;
/// Model weights at least this big are reported.
const WEIGHTS_MIN: u64 = 10_000_000;
const WEIGHTS: &[&str] =
    &[".safetensors", ".ckpt", ".onnx", ".pt", ".pth", ".gguf", ".ggml", ".h5", ".keras", ".tflite", ".pkl", ".joblib"];

/// The pass.
pub struct Dockerignore;

impl Pass for Dockerignore {
    fn name(&self) -> &'static str {
        NAME
    }
    fn summary(&self) -> &'static str {
        "Keep caches, tool state and secrets out of the build context, never what a COPY reads"
    }
    fn explanation(&self) -> &'static str {
        include_str!("../EXPLAIN.md")
    }
    fn applicability(&self) -> Applicability {
        Applicability::Unsafe
    }
    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        Analysis::run(cx).unwrap_or_default()
    }
}

/// A Dockerfile that uses the ignore file.
struct User {
    label: String,
    reads: Reads,
    main: bool,
}

/// The ignore file BuildKit reads for this build.
struct Target {
    path: PathBuf,
    /// How messages name it.
    display: String,
    content: Vec<u8>,
    exists: bool,
    /// `<context>/.dockerignore` (other Dockerfiles may read it).
    shared: bool,
}

/// `a/./b` and `a/b` alike.
fn norm(p: &Path) -> PathBuf {
    p.components().filter(|c| !matches!(c, Component::CurDir)).collect()
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn target(cx: &Context<'_>) -> Target {
    let svc = cx.service;
    let context = norm(&svc.context);
    let display = |p: &Path| -> String {
        let p = norm(p);
        match p.strip_prefix(&context) {
            Ok(r) if !r.as_os_str().is_empty() => r.display().to_string(),
            _ => p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned()),
        }
    };
    let specific = with_suffix(&svc.dockerfile, ".dockerignore");
    let shared = svc.context.join(".dockerignore");
    let make = |path: PathBuf, exists: bool, is_shared: bool| Target {
        display: display(&path),
        content: if exists { cx.fs.read(&path).unwrap_or_default() } else { Vec::new() },
        path,
        exists,
        shared: is_shared,
    };
    if cx.fs.is_file(&specific) {
        return make(specific, true, false);
    }
    if cx.fs.is_file(&shared) {
        return make(shared, true, true);
    }
    let name = svc.dockerfile.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let in_root = svc.dockerfile.parent().map(norm).unwrap_or_default() == context;
    if in_root && (name == "dockerfile" || name == "containerfile") {
        make(shared, false, true)
    } else {
        make(specific, false, false)
    }
}

/// The other Dockerfiles at the context root (and next to this one): they
/// may be built from the same context and read the shared ignore file. One
/// with an ignore file of its own does not, but counts anyway: its file
/// may be one dockfix creates in the same run, and the answer must not
/// change once it exists (a second run proposes nothing).
fn other_users(cx: &Context<'_>) -> Vec<User> {
    let me = norm(&cx.service.dockerfile);
    let mut dirs = vec![cx.service.context.clone()];
    if let Some(d) = cx.service.dockerfile.parent() {
        if norm(d) != norm(&cx.service.context) {
            dirs.push(d.to_path_buf());
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        for e in cx.fs.list(&d) {
            let p = d.join(&e.name);
            if e.is_dir || !catalog::is_dockerfile_name(&e.name) || norm(&p) == me {
                continue;
            }
            let label = e.name.clone();
            let rd = cx
                .fs
                .read(&p)
                .and_then(|b| dockfix_syntax::parse(&b).ok())
                .map(|doc| reads::reads(&doc, &BTreeMap::new()))
                .unwrap_or_else(|| Reads::opaque(&label));
            out.push(User { label, reads: rd, main: false });
        }
    }
    out
}

/// The verdict on one candidate.
#[derive(Debug, Clone)]
enum Verdict {
    /// Nothing new to exclude.
    Present,
    /// Must not be written.
    Conflict(String),
    Safe(String),
    Unsafe(String),
}

#[derive(Debug, Clone)]
struct Eval {
    newly: Vec<usize>,
    /// The newly excluded entries whose parent stays.
    tops: Vec<usize>,
    /// Bytes BuildKit no longer sends.
    bytes: u64,
    /// The largest newly excluded entry (for the anchor).
    top: Option<usize>,
    verdict: Verdict,
}

struct Accepted {
    cand: Candidate,
    eval: Eval,
}

struct Analysis<'a> {
    cx: &'a Context<'a>,
    target: Target,
    matcher: Matcher,
    users: Vec<User>,
    tree: Tree,
    files: Files<'a>,
    /// Entries each glob source selects, by (user, source).
    glob_hits: BTreeMap<(usize, usize), Vec<usize>>,
    /// Entries each `!` pattern names itself, by pattern index.
    exception_hits: BTreeMap<usize, Vec<usize>>,
}

fn first_line(doc: &Document) -> Range<usize> {
    doc.instructions.iter().find(|i| i.kind == Kind::From).map_or(0..0, |i| i.span.clone())
}

impl<'a> Analysis<'a> {
    fn run(cx: &'a Context<'a>) -> Option<Vec<Finding>> {
        let target = target(cx);
        let matcher = match Matcher::parse(&target.content) {
            Ok(m) => m,
            Err(e) => {
                let f = Finding::new(NAME, first_line(cx.doc), format!("{} cannot be used: {e}", target.display))
                    .why(format!(
                        "BuildKit reads {} for this build and fails on it; dockfix leaves the file alone until it is fixed.",
                        target.display
                    ))
                    .fix(Fix::display_only(format!("Fix line {} of {}", e.line(), target.display)));
                return Some(vec![f]);
            }
        };
        let mut users = vec![User {
            label: "this Dockerfile".into(),
            reads: reads::reads(cx.doc, &cx.service.build_args),
            main: true,
        }];
        if target.shared {
            users.extend(other_users(cx));
        }
        let full_send = users.iter().any(|u| u.reads.full_send);
        let follow = if full_send {
            Follow::all()
        } else {
            let paths: BTreeSet<String> =
                users.iter().flat_map(|u| u.reads.sources.iter().map(|s| s.path.clone())).collect();
            Follow::paths(&paths.into_iter().collect::<Vec<_>>())
        };
        let root = cx.context_dir();
        let tree = Tree::walk(cx.fs, root, &matcher, &follow);
        let files = Files { fs: cx.fs, root };
        let mut glob_hits = BTreeMap::new();
        for (ui, u) in users.iter().enumerate() {
            for (si, s) in u.reads.sources.iter().enumerate().filter(|(_, s)| s.glob.is_some() && !s.unknown) {
                let hits: Vec<usize> = (0..tree.nodes.len()).filter(|&n| s.names(&tree.nodes[n].path)).collect();
                glob_hits.insert((ui, si), hits);
            }
        }
        let mut exception_hits = BTreeMap::new();
        for (k, e) in matcher.patterns().iter().enumerate().filter(|(_, p)| p.is_exception()) {
            let hits: Vec<usize> = (0..tree.nodes.len()).filter(|&n| e.matches(&tree.nodes[n].path)).collect();
            exception_hits.insert(k, hits);
        }
        let a = Analysis { cx, target, matcher, users, tree, files, glob_hits, exception_hits };
        Some(a.findings())
    }

    /// "the image", or "stage `build`" for a copy in a stage the image
    /// does not end with.
    fn destination(&self, u: &User, s: &Source) -> String {
        if !u.main {
            return format!("{}'s image", u.label);
        }
        let stages = self.cx.doc.stages();
        if s.stage >= u.reads.final_stage {
            return "the image".into();
        }
        match stages.get(s.stage).and_then(|st| st.name.clone()) {
            Some(n) => format!("stage `{n}`"),
            None => format!("stage {}", s.stage),
        }
    }

    fn main_reads(&self) -> &Reads {
        &self.users[0].reads
    }

    fn sent(&self, n: usize) -> bool {
        self.tree.nodes[n].sent
    }

    /// What excluding `cand` on top of `cur` would do.
    fn evaluate(&self, cand: &Candidate, cur: &[bool]) -> Eval {
        let present = Eval { newly: Vec::new(), tops: Vec::new(), bytes: 0, top: None, verdict: Verdict::Present };
        if self.matcher.patterns().iter().any(|p| !p.is_exception() && p.as_str() == cand.pattern) {
            return present;
        }
        let Ok(m) = Matcher::new(&[cand.pattern.as_str()]) else { return present };
        let Some(pat) = m.patterns().first() else { return present };
        let t = &self.tree;
        // The walker with `pat` appended: a node is newly excluded if `pat`
        // matches it or was recorded as matching its parent.
        let mut recorded = vec![false; t.nodes.len()];
        let mut newly = Vec::new();
        for n in t.preorder() {
            let node = &t.nodes[n];
            let inherited = node.parent.is_some_and(|p| recorded[p]);
            let m = inherited || (!cur[n] && pat.matches(&node.path));
            recorded[n] = m;
            if m && !cur[n] {
                newly.push(n);
            }
        }
        let bytes: u64 = newly.iter().filter(|&&n| !t.nodes[n].is_dir && self.sent(n)).map(|&n| t.nodes[n].size).sum();
        if newly.is_empty() || (bytes == 0 && !newly.iter().any(|&n| self.sent(n))) {
            return present;
        }
        let mut is_new = vec![false; t.nodes.len()];
        newly.iter().for_each(|&n| is_new[n] = true);
        let tops: Vec<usize> =
            newly.iter().copied().filter(|&n| t.nodes[n].parent.is_none_or(|p| !is_new[p])).collect();
        let top = tops.iter().copied().max_by_key(|&n| (t.bytes(n, &|m| self.sent(m)), std::cmp::Reverse(n)));
        let verdict = self.verdict(cand, pat, &newly, &is_new, &tops);
        Eval { newly, tops, bytes, top, verdict }
    }

    fn verdict(&self, cand: &Candidate, pat: &Pattern, newly: &[usize], is_new: &[bool], tops: &[usize]) -> Verdict {
        let t = &self.tree;
        // Never what a COPY names. The check uses both the walker's answer
        // (`is_new`) and the plain parent rule (`matches_or_parent`), which
        // older BuildKit releases apply: either way the source stays.
        for (ui, u) in self.users.iter().enumerate() {
            for (si, s) in u.reads.sources.iter().enumerate().filter(|(_, s)| !s.is_root()) {
                let hit = match &s.glob {
                    None => t.find(&s.path).is_some_and(|n| is_new[n]) || pat.matches_or_parent(&s.path),
                    Some(_) => self
                        .glob_hits
                        .get(&(ui, si))
                        .is_some_and(|hits| hits.iter().any(|&n| is_new[n] || pat.matches_or_parent(&t.nodes[n].path))),
                };
                if hit {
                    let whose = if u.main { String::new() } else { format!(" in {}", u.label) };
                    return Verdict::Conflict(format!("`{}`{whose} reads it", s.label));
                }
            }
        }
        // Never over a `!` exception of the file: not what it names, with
        // either rule.
        for (k, e) in self.matcher.patterns().iter().enumerate().filter(|(_, p)| p.is_exception()) {
            let literal = !e.as_str().contains(['*', '?', '[', '\\']);
            let named = self.exception_hits.get(&k).map_or(&[][..], Vec::as_slice);
            if newly.iter().any(|&n| e.matches(&t.nodes[n].path))
                || named.iter().any(|&n| pat.matches_or_parent(&t.nodes[n].path))
                || (literal && pat.matches_or_parent(e.as_str()))
            {
                return Verdict::Conflict(format!("it would override `!{}` (line {})", e.as_str(), e.line()));
            }
        }
        // What reaches an image, through which reads.
        let mut covered: Vec<(&User, &Source, usize)> = Vec::new();
        for &n in tops {
            if !self.sent(n) && t.bytes(n, &|m| self.sent(m)) == 0 {
                continue;
            }
            for u in &self.users {
                for s in &u.reads.sources {
                    if s.covers(&t.nodes[n].path) {
                        covered.push((u, s, n));
                    }
                }
            }
        }
        if covered.is_empty() {
            return Verdict::Safe("no build step reads it".into());
        }
        let opaque = covered.iter().find(|(u, _, _)| u.reads.is_opaque()).map(|(u, _, _)| u.label.clone());
        match cand.class {
            Class::Junk if cand.group == Group::ContainerFiles => {
                let name = cand.pattern.rsplit('/').next().unwrap_or(&cand.pattern);
                Verdict::Safe(if catalog::is_dockerfile_name(name) {
                    "BuildKit reads it apart from the context".into()
                } else {
                    "compose reads it, the build does not".into()
                })
            }
            Class::Junk => Verdict::Safe(String::new()),
            Class::Git => {
                if let Some(l) = opaque {
                    return Verdict::Unsafe(format!(
                        "{l} could not be read, so dockfix cannot tell whether it uses git"
                    ));
                }
                let mut uses: Vec<proof::GitUse> = Vec::new();
                for u in &self.users {
                    if covered.iter().any(|(cu, _, _)| std::ptr::eq(*cu, u)) {
                        uses.extend(proof::git_users(&u.reads, &self.files));
                    }
                }
                let needs: Vec<String> = uses.iter().filter(|u| u.needs).map(|u| u.why.clone()).collect();
                let may: Vec<String> = uses.iter().map(|u| u.why.clone()).collect();
                if !needs.is_empty() {
                    Verdict::Conflict(text::and_list(&needs))
                } else if !may.is_empty() {
                    Verdict::Unsafe(text::and_list(&may))
                } else {
                    Verdict::Safe("no build step uses git".into())
                }
            }
            Class::Secret => {
                let (u, s, _) = covered[0];
                Verdict::Unsafe(format!("`{}` copies it into {}", s.label, self.destination(u, s)))
            }
            Class::Rebuilt(tool) => {
                if let Some(l) = opaque {
                    return Verdict::Unsafe(format!("{l} could not be read"));
                }
                let mut ok = Vec::new();
                let mut bad = Vec::new();
                for (u, s, n) in &covered {
                    match proof::rebuilt(&u.reads, s, &t.nodes[*n].path, tool, &self.files) {
                        Ok(w) => ok.push(w),
                        Err(w) => bad.push(w),
                    }
                }
                ok.dedup();
                bad.dedup();
                if bad.is_empty() {
                    Verdict::Safe(ok.join(", and "))
                } else {
                    Verdict::Unsafe(bad.join(", and "))
                }
            }
        }
    }

    fn findings(&self) -> Vec<Finding> {
        let t = &self.tree;
        let mut cur: Vec<bool> = t.nodes.iter().map(|n| n.excluded).collect();
        // A pattern for every depth that would hide something a COPY reads
        // gives way to one pattern per entry, each checked on its own.
        let mut cands: Vec<Candidate> = Vec::new();
        for c in catalog::candidates(t) {
            if c.rank != usize::MAX {
                let ev = self.evaluate(&c, &cur);
                if matches!(ev.verdict, Verdict::Conflict(_)) {
                    for &n in &ev.tops {
                        if let Some(pattern) = catalog::escape_path(&t.nodes[n].path) {
                            cands.push(Candidate { pattern, rank: usize::MAX, ..c.clone() });
                        }
                    }
                    continue;
                }
            }
            cands.push(c);
        }
        cands.sort_by(|a, b| (a.group, a.rank, &a.pattern).cmp(&(b.group, b.rank, &b.pattern)));
        cands.dedup_by(|a, b| a.pattern == b.pattern);
        let mut done = vec![false; cands.len()];
        let mut safe: Vec<Accepted> = Vec::new();
        let mut risky: Vec<Accepted> = Vec::new();
        let mut kept: Vec<(Candidate, String, u64)> = Vec::new();
        let accept = |cur: &mut Vec<bool>, ev: &Eval| ev.newly.iter().for_each(|&n| cur[n] = true);
        // Riders only come along with other safe entries.
        for (k, c) in cands.iter().enumerate() {
            done[k] |= c.rider;
        }
        // Safe entries first, to a fixed point; then the unsafe ones on top.
        loop {
            let mut progressed = false;
            for (k, c) in cands.iter().enumerate() {
                if done[k] {
                    continue;
                }
                let ev = self.evaluate(c, &cur);
                match ev.verdict {
                    Verdict::Present => done[k] = true,
                    Verdict::Safe(_) => {
                        accept(&mut cur, &ev);
                        safe.push(Accepted { cand: c.clone(), eval: ev });
                        done[k] = true;
                        progressed = true;
                    }
                    _ => {}
                }
            }
            if !progressed {
                break;
            }
        }
        if !safe.is_empty() {
            for c in cands.iter().filter(|c| c.rider) {
                let ev = self.evaluate(c, &cur);
                if matches!(ev.verdict, Verdict::Safe(_)) {
                    accept(&mut cur, &ev);
                    safe.push(Accepted { cand: c.clone(), eval: ev });
                }
            }
        }
        for (k, c) in cands.iter().enumerate() {
            if done[k] {
                continue;
            }
            let ev = self.evaluate(c, &cur);
            match &ev.verdict {
                Verdict::Unsafe(_) => {
                    accept(&mut cur, &ev);
                    risky.push(Accepted { cand: c.clone(), eval: ev });
                }
                Verdict::Conflict(why) => kept.push((c.clone(), why.clone(), ev.bytes)),
                Verdict::Safe(_) => {
                    accept(&mut cur, &ev);
                    safe.push(Accepted { cand: c.clone(), eval: ev });
                }
                Verdict::Present => {}
            }
        }

        let mut out = Vec::new();
        out.extend(self.excluded_sources());
        let before = t.total(&|n| self.sent(n));
        let after_safe = before - safe.iter().map(|a| a.eval.bytes).sum::<u64>();
        if !safe.is_empty() {
            out.push(self.group_finding(&safe, &kept, before, after_safe, true, true));
        }
        if !risky.is_empty() {
            let after = after_safe - risky.iter().map(|a| a.eval.bytes).sum::<u64>();
            out.push(self.group_finding(&risky, &kept, after_safe, after, false, safe.is_empty()));
        }
        out.extend(self.large_entries(&cur));
        out.extend(self.copied_secrets());
        out
    }

    /// The first read of the main Dockerfile that covers node `n`, else its
    /// first broad read, else its first FROM.
    fn anchor(&self, n: Option<usize>) -> (Range<usize>, Option<&Source>) {
        let rd = self.main_reads();
        let by_node = n.and_then(|n| rd.sources.iter().find(|s| s.covers(&self.tree.nodes[n].path)));
        let src = by_node.or_else(|| rd.sources.iter().find(|s| s.is_root())).or_else(|| rd.sources.first());
        match src {
            Some(s) => (s.range.clone(), Some(s)),
            None => (first_line(self.cx.doc), None),
        }
    }

    fn line_of(&self, r: &Range<usize>) -> usize {
        self.cx.doc.line_of(r.start)
    }

    #[allow(clippy::too_many_arguments)]
    fn group_finding(
        &self,
        acc: &[Accepted],
        kept: &[(Candidate, String, u64)],
        before: u64,
        after: u64,
        safe: bool,
        first: bool,
    ) -> Finding {
        let t = &self.tree;
        let file = &self.target.display;
        let biggest = acc.iter().max_by_key(|a| a.eval.bytes).and_then(|a| a.eval.top);
        let (range, src) = self.anchor(biggest);
        let patterns: Vec<String> = acc.iter().map(|a| a.cand.pattern.clone()).collect();
        let message = if safe {
            format!(
                "leave {} out of the build context: no build step needs {}",
                text::short_list(&patterns, 4),
                them(acc.len())
            )
        } else {
            format!(
                "leave {} out of the build context (the image may use {})",
                text::short_list(&patterns, 4),
                them(acc.len())
            )
        };

        // Why: what BuildKit sends, then each entry with its reason.
        let mut why = String::new();
        match src.filter(|s| s.is_root()) {
            Some(s) => why.push_str(&format!(
                "`{}` (line {}) makes BuildKit send the whole build context and copies it into {}. ",
                s.label,
                self.line_of(&s.range),
                self.destination(&self.users[0], s)
            )),
            None => why.push_str("BuildKit sends only what the Dockerfile reads, and these entries are inside it. "),
        }
        let mut sorted: Vec<&Accepted> = acc.iter().collect();
        sorted.sort_by_key(|a| std::cmp::Reverse(a.eval.bytes));
        let label = |a: &Accepted| format!("{} ({}, {})", a.cand.pattern, a.cand.what, text::size(a.eval.bytes));
        let reason = |a: &Accepted| match &a.eval.verdict {
            Verdict::Safe(r) | Verdict::Unsafe(r) if !r.is_empty() => Some(r.clone()),
            _ => None,
        };
        let plain: Vec<String> = sorted.iter().filter(|a| reason(a).is_none()).map(|a| label(a)).collect();
        let explained: Vec<String> =
            sorted.iter().filter_map(|a| reason(a).map(|r| format!(" {}: {r}.", label(a)))).collect();
        if safe {
            if plain.is_empty() {
                why.push_str("Nothing in the image needs these.");
            } else {
                why.push_str(&format!("Nothing in the image needs these caches and tool files: {}.", plain.join(", ")));
            }
        } else {
            why.push_str("Leaving these out can change what the image contains.");
        }
        why.push_str(&explained.concat());
        if !safe {
            if acc.iter().any(|a| a.cand.class == Class::Secret) {
                why.push_str(
                    " Secrets in an image layer can be read by anyone who can pull the image, but the app may read \
                     these files at run time: pass the values with `docker run --env-file` or compose `env_file:` instead.",
                );
            }
            why.push_str(" Check that nothing needs them, then apply with --unsafe-fixes.");
        }
        let kept: Vec<String> = kept
            .iter()
            .filter(|(c, _, b)| *b > 0 && !acc.iter().any(|a| a.cand.pattern == c.pattern))
            .map(|(c, w, b)| format!("{} ({}, {}): {w}", c.pattern, c.what, text::size(*b)))
            .collect();
        // The measurements go with the first of the two findings.
        if first {
            if !kept.is_empty() {
                why.push_str(&format!(" Kept in the context: {}.", kept.join(". ")));
            }
            why.push_str(&format!(" BuildKit now sends {} of this context", text::size(before)));
            let largest = self.largest_dirs(3);
            if !largest.is_empty() {
                why.push_str(&format!(" (largest: {})", largest.join(", ")));
            }
            why.push('.');
            if t.truncated {
                why.push_str(&format!(" Only the first {} entries were measured.", tree::MAX_ENTRIES));
            }
        }

        let image: u64 = acc
            .iter()
            .flat_map(|a| a.eval.newly.iter())
            .filter(|&&n| !t.nodes[n].is_dir && self.sent(n))
            .filter(|&&n| self.main_reads().sources.iter().any(|s| s.copy.is_some() && s.covers(&t.nodes[n].path)))
            .map(|&n| t.nodes[n].size)
            .sum();
        let mut gain = format!(
            "BuildKit sends {} less of the context ({} → {})",
            text::size(before - after),
            text::size(before),
            text::size(after)
        );
        if image > 0 {
            let (what, into) = match src.filter(|s| s.copy.is_some()) {
                Some(s) => (format!("`{}`", s.label), self.destination(&self.users[0], s)),
                None => ("the COPY".to_string(), "the image".to_string()),
            };
            gain.push_str(&format!(
                "; {what} puts {} less into {into}, and changes to these files no longer invalidate its cache",
                text::size(image)
            ));
        }

        let mut groups: BTreeMap<Group, Vec<String>> = BTreeMap::new();
        for a in acc {
            groups.entry(a.cand.group).or_default().push(a.cand.pattern.clone());
        }
        let groups: Vec<(String, Vec<String>)> = groups
            .into_iter()
            .map(|(g, mut v)| {
                v.sort();
                (g.title().to_string(), v)
            })
            .collect();
        let insert = text::append(&self.target.content, &groups);
        let at = self.target.content.len();
        let edit = Edit::in_file(self.target.path.clone(), at..at, insert);
        let n = acc.len();
        let title = if safe && !self.target.exists {
            format!("Create {file} with {n} {}", entries_word(n))
        } else {
            format!("Add {n} {} to {file}", entries_word(n))
        };
        let fix = if safe { Fix::safe(title, vec![edit]) } else { Fix::unsafe_(title, vec![edit]) };
        Finding::new(NAME, range, message).why(why).gain(gain).fix(fix)
    }

    /// `name size` of the biggest top-level entries sent now.
    fn largest_dirs(&self, max: usize) -> Vec<String> {
        let t = &self.tree;
        let mut v: Vec<(u64, &str)> = t
            .roots
            .iter()
            .map(|&r| (t.bytes(r, &|m| self.sent(m)), t.nodes[r].path.as_str()))
            .filter(|(b, _)| *b > 0)
            .collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        v.into_iter().take(max).map(|(b, p)| format!("{p} {}", text::size(b))).collect()
    }

    /// COPY sources of this Dockerfile that the ignore file already excludes.
    fn excluded_sources(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let file = &self.target.display;
        let mut seen = BTreeSet::new();
        for s in &self.main_reads().sources {
            if s.is_root() || s.copy.is_none() || !seen.insert(s.path.clone()) {
                continue;
            }
            let t = &self.tree;
            let (excluded, is_dir, exists) = match &s.glob {
                None => {
                    let abs = self.cx.context_dir().join(&s.path);
                    let exists = self.cx.fs.is_file(&abs) || self.cx.fs.is_dir(&abs);
                    let is_dir = self.cx.fs.is_dir(&abs);
                    // An excluded directory some of whose files come back is a whitelist, not a bug.
                    let partly = t.find(&s.path).is_some_and(|n| t.bytes(n, &|m| self.sent(m)) > 0);
                    (self.matcher.is_excluded(&s.path) && !partly, is_dir, exists)
                }
                Some(_) => {
                    let hits: Vec<usize> = (0..t.nodes.len()).filter(|&n| s.names(&t.nodes[n].path)).collect();
                    let all = !hits.is_empty() && hits.iter().all(|&n| t.nodes[n].excluded);
                    (all, false, !hits.is_empty())
                }
            };
            if !exists || !excluded {
                continue;
            }
            let secret = catalog::is_env_file(s.path.rsplit('/').next().unwrap_or(&s.path));
            let lines = if is_dir {
                vec![format!("!{}", s.path), format!("!{}/**", s.path)]
            } else {
                vec![format!("!{}", s.path)]
            };
            let works = self.matcher.appended(&lines).is_ok_and(|m| !m.is_excluded(&s.path));
            let msg = format!("{file} excludes `{}`, which `{}` copies: the build fails", s.path, s.label);
            let mut why = format!(
                "BuildKit leaves excluded paths out of the context it sends, so `{}` (line {}) finds nothing to copy. ",
                s.label,
                self.line_of(&s.range)
            );
            let fix = if secret {
                why.push_str("It is a secrets file: rather than re-including it, pass the values at run time (or with `RUN --mount=type=secret` if the build needs them) and drop the COPY.");
                Fix::display_only("Drop the COPY of a secrets file")
            } else if !works {
                why.push_str("dockfix found no exception to append that brings it back; fix the patterns by hand.");
                Fix::display_only(format!("Re-include `{}` in {file}", s.path))
            } else {
                let below = if is_dir { ", with everything below it that earlier lines excluded," } else { "" };
                why.push_str(&format!(
                    "Appending {} to {file} sends it again{below}; check the exclusion was not meant for this COPY instead.",
                    text::and_list(&lines.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>())
                ));
                let groups = vec![("Read by COPY".to_string(), lines)];
                let at = self.target.content.len();
                let edit = Edit::in_file(self.target.path.clone(), at..at, text::append(&self.target.content, &groups));
                Fix::unsafe_(format!("Re-include `{}` in {file}", s.path), vec![edit])
            };
            out.push(Finding::new(NAME, s.range.clone(), msg).why(why).fix(fix));
        }
        out
    }

    /// Big entries that stay in the context, copied into an image by a
    /// broad COPY.
    fn large_entries(&self, cur: &[bool]) -> Vec<Finding> {
        let t = &self.tree;
        let large = self
            .cx
            .options
            .get(NAME, "large-mb")
            .and_then(|v| v.as_integer())
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(LARGE_DEFAULT_MB)
            * 1_000_000;
        let keep = |m: usize| t.nodes[m].sent && !cur[m];
        let is_weights = |n: usize| WEIGHTS.iter().any(|w| t.nodes[n].path.ends_with(w));
        let mut picked: Vec<usize> = Vec::new();
        // Top-level entries over the threshold, narrowed to a child that
        // holds most of it; model weights files on their own.
        for &r in &t.roots {
            let mut n = r;
            let mut bytes = t.bytes(n, &keep);
            if bytes < large {
                continue;
            }
            loop {
                let best = t.nodes[n]
                    .children
                    .iter()
                    .map(|&c| (t.bytes(c, &keep), c))
                    .max_by_key(|(b, c)| (*b, std::cmp::Reverse(*c)));
                match best {
                    Some((b, c)) if b >= large && b * 5 >= bytes * 4 => {
                        n = c;
                        bytes = b;
                    }
                    _ => break,
                }
            }
            picked.push(n);
        }
        for n in 0..t.nodes.len() {
            if !t.nodes[n].is_dir && keep(n) && is_weights(n) && t.nodes[n].size >= WEIGHTS_MIN {
                let inside = picked
                    .iter()
                    .any(|&p| dockfix_core::walk::starts_with_dir(&t.nodes[n].path, &t.nodes[p].path) || p == n);
                if !inside {
                    picked.push(n);
                }
            }
        }
        let mut out = Vec::new();
        for n in picked {
            let path = &t.nodes[n].path;
            // Only what a COPY takes in whole with something bigger: a COPY
            // that names it wants it.
            let named = self.users.iter().any(|u| u.reads.sources.iter().any(|s| s.names(path) || s.reads_below(path)));
            let Some(src) = self.main_reads().sources.iter().find(|s| s.copy.is_some() && s.covers(path)) else {
                continue;
            };
            if named {
                continue;
            }
            let bytes = t.bytes(n, &keep);
            let weights = t.bytes(n, &|m| keep(m) && is_weights(m));
            let kind = if weights * 2 >= bytes { ", model weights" } else { "" };
            let file = &self.target.display;
            let msg = format!(
                "`{path}` ({}{kind}) stays in the build context and `{}` copies it into the image",
                text::size(bytes),
                src.label
            );
            let why = format!(
                "dockfix leaves out only what it can show the image does not use. If the app downloads this or gets it \
                 from a volume at run time, add `{path}` to {file}: the context and the image shrink by {}.",
                text::size(bytes),
            );
            out.push(
                Finding::new(NAME, src.range.clone(), msg)
                    .why(why)
                    .fix(Fix::display_only(format!("Add `{path}` to {file} if the image does not need it"))),
            );
        }
        out
    }

    /// `COPY .env …`: secrets put into the image on purpose.
    fn copied_secrets(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let t = &self.tree;
        for s in &self.main_reads().sources {
            if s.copy.is_none() || s.is_root() {
                continue;
            }
            let hits: Vec<&str> = t
                .nodes
                .iter()
                .filter(|n| !n.is_dir && n.sent && catalog::is_env_file(n.name()) && s.names(&n.path))
                .map(|n| n.path.as_str())
                .collect();
            let Some(first) = hits.first() else { continue };
            let msg = format!(
                "`{}` puts `{first}` into the image: secrets in a layer can be read by anyone who can pull it",
                s.label
            );
            let why = "dockfix does not remove a COPY the Dockerfile asks for. Pass the values at run time (`docker run --env-file`, compose `env_file:`), or with `RUN --mount=type=secret` if a build step needs them.";
            out.push(
                Finding::new(NAME, s.range.clone(), msg)
                    .why(why)
                    .fix(Fix::display_only("Pass secrets at run time instead of copying them")),
            );
        }
        out
    }
}

fn them(n: usize) -> &'static str {
    if n == 1 {
        "it"
    } else {
        "them"
    }
}

fn entries_word(n: usize) -> &'static str {
    if n == 1 {
        "entry"
    } else {
        "entries"
    }
}

#[cfg(test)]
mod tests;
