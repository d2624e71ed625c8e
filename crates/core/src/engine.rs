//! The fix engine: run the passes, apply non-overlapping fixes, reparse,
//! repeat until nothing applies. A fix whose output no longer parses is
//! dropped and reported. Findings are reported in the coordinates of the
//! original file.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use dockfix_syntax::{parse, Document, ParseError};

use crate::fix::{apply_edits, overlaps, Applicability, Edit, Finding, Target};
use crate::fs::{Cached, Fs, Overlay};
use crate::pass::{Context, History, Pass, PassOptions, Service};
use crate::suppress::{suppressed_by, suppressions};

/// Why a file was not processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Parse(#[from] ParseError),
    /// BuildKit would refuse this instruction.
    #[error("line {line}: {message}")]
    Invalid { line: usize, message: String },
}

impl EngineError {
    pub fn line(&self) -> usize {
        match self {
            EngineError::Parse(e) => e.line,
            EngineError::Invalid { line, .. } => *line,
        }
    }
    pub fn column(&self) -> usize {
        match self {
            EngineError::Parse(e) => e.column,
            EngineError::Invalid { .. } => 1,
        }
    }
    pub fn message(&self) -> &str {
        match self {
            EngineError::Parse(e) => &e.message,
            EngineError::Invalid { message, .. } => message,
        }
    }
}

/// Which fixes to apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    /// Apply unsafe fixes too.
    pub unsafe_fixes: bool,
}

impl Mode {
    fn allows(&self, a: Applicability) -> bool {
        match a {
            Applicability::Safe => true,
            Applicability::Unsafe => self.unsafe_fixes,
            Applicability::DisplayOnly => false,
        }
    }
}

/// A finding as reported to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    pub finding: Finding,
    /// The finding's range in the original file.
    pub range: Range<usize>,
    /// 1-based line and column of the start, last line of the range.
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    /// Original lines the fix's edits touch (for matching diff hunks).
    pub edit_lines: Vec<Range<usize>>,
    /// The fix was applied.
    pub applied: bool,
}

/// A file other than the Dockerfile that the fixes change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: PathBuf,
    pub before: Option<Vec<u8>>,
    pub after: Vec<u8>,
}

/// The result of running the engine on one Dockerfile.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub source: Vec<u8>,
    pub fixed: Vec<u8>,
    pub findings: Vec<Reported>,
    pub files: Vec<FileChange>,
    /// Fixes dropped because their output did not parse, or passes that failed.
    pub dropped: Vec<String>,
    /// Rounds run.
    pub rounds: usize,
    /// False when fixes were still pending at the round limit.
    pub converged: bool,
    /// Suppression comments that silenced nothing (line, the passes they name).
    pub unused_suppressions: Vec<(usize, Vec<String>)>,
}

impl Outcome {
    pub fn changed(&self) -> bool {
        self.source != self.fixed || !self.files.is_empty()
    }
    /// Unsafe fixes found but not applied.
    pub fn held_back(&self) -> usize {
        self.findings
            .iter()
            .filter(|r| !r.applied && r.finding.applicability() == Applicability::Unsafe && r.finding.has_edits())
            .count()
    }
}

/// The fix engine.
pub struct Engine<'p> {
    pub passes: Vec<&'p dyn Pass>,
    pub max_rounds: usize,
}

/// Edits applied in one round, in that round's input coordinates.
type RoundEdits = Vec<(Range<usize>, usize)>;

/// Maps an offset in the text after `rounds` back to the original text.
fn map_back(history: &[RoundEdits], mut pos: usize) -> usize {
    for edits in history.iter().rev() {
        let mut delta: isize = 0;
        let mut mapped = None;
        for (r, len) in edits {
            let out_start = (r.start as isize + delta) as usize;
            if pos < out_start {
                break;
            }
            if pos < out_start + len {
                mapped = Some(r.start);
                break;
            }
            delta += *len as isize - r.len() as isize;
        }
        pos = mapped.unwrap_or_else(|| (pos as isize - delta).max(0) as usize);
    }
    pos
}

/// Checks that BuildKit's instruction layer accepts the file.
pub fn check_valid(doc: &Document) -> Result<(), EngineError> {
    for ins in &doc.instructions {
        if let Some(e) = &ins.error {
            return Err(EngineError::Invalid { line: ins.start_line, message: e.clone() });
        }
    }
    Ok(())
}

impl<'p> Engine<'p> {
    pub fn new(passes: Vec<&'p dyn Pass>) -> Engine<'p> {
        Engine { passes, max_rounds: 10 }
    }

    fn collect(&self, cx: &Context<'_>, dropped: &mut Vec<String>, used: &mut BTreeSet<usize>) -> Vec<Finding> {
        let sups = suppressions(cx.doc);
        let mut out = Vec::new();
        for pass in &self.passes {
            match catch_unwind(AssertUnwindSafe(|| pass.check(cx))) {
                Ok(findings) => {
                    for f in findings {
                        match suppressed_by(cx.doc, &sups, f.pass, &f.range) {
                            Some(s) => {
                                used.insert(s.line);
                            }
                            None => out.push(f),
                        }
                    }
                }
                Err(_) => dropped.push(format!("pass `{}` failed on this file and was skipped", pass.name())),
            }
        }
        out
    }

    /// Runs every pass to a fixed point.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        service: &Service,
        fs: &dyn Fs,
        options: &PassOptions,
        history: Option<&dyn History>,
        source: &[u8],
        mode: Mode,
    ) -> Result<Outcome, EngineError> {
        let doc0 = parse(source)?;
        check_valid(&doc0)?;
        // The passes of every round ask the same questions of the build
        // context: the base is asked once.
        let cached = Cached::new(fs);
        let overlay = Overlay::new(&cached);
        let originals: BTreeMap<PathBuf, Option<Vec<u8>>> = BTreeMap::new();
        let mut originals = originals;
        let mut text = source.to_vec();
        let mut hist: Vec<RoundEdits> = Vec::new();
        let mut reported: Vec<Reported> = Vec::new();
        let mut seen: BTreeSet<(&'static str, String)> = BTreeSet::new();
        let mut dropped = Vec::new();
        // Fixes whose output did not parse: never tried again.
        let mut rejected: BTreeSet<(&'static str, String)> = BTreeSet::new();
        let mut converged = false;
        let mut rounds = 0;
        // The document of the current round: the original until a fix applies.
        let mut rewritten: Option<Document> = None;
        let mut used_sups: BTreeSet<usize> = BTreeSet::new();
        // The last round each reported finding was found in: a finding
        // whose fix lost to an overlapping one and that the next round no
        // longer finds in the same words was superseded (found again in
        // the new text, or solved by the other fix) and is not reported.
        let mut last_seen: Vec<usize> = Vec::new();
        let mut last_round = 0;
        let pass_names: Vec<&'static str> = self.passes.iter().map(|p| p.name()).collect();

        for round in 0..self.max_rounds {
            rounds = round + 1;
            last_round = round;
            let doc = rewritten.as_ref().unwrap_or(&doc0);
            let cx = Context { doc, service, fs: &overlay, options, history, passes: &pass_names };
            let mut used_now = BTreeSet::new();
            let findings = self.collect(&cx, &mut dropped, &mut used_now);
            if round == 0 {
                used_sups = used_now;
            }

            // Report what is new, in original coordinates.
            // A finding seen in an earlier round whose fix was not applied
            // (it overlapped another) is the same finding again; one whose
            // fix was applied is not (same message, another place).
            let mut index_of: Vec<Option<usize>> = Vec::with_capacity(findings.len());
            let mut claimed: BTreeSet<usize> = BTreeSet::new();
            for f in &findings {
                let key = (f.pass, f.message.clone());
                let at = map_back(&hist, f.range.start);
                let same: Vec<usize> = (0..reported.len())
                    .filter(|&i| {
                        let r = &reported[i];
                        !r.applied
                            && !claimed.contains(&i)
                            && r.finding.pass == f.pass
                            && r.finding.message == f.message
                    })
                    .collect();
                let existing = same.iter().copied().find(|&i| reported[i].range.start == at).or(same.first().copied());
                if let (true, Some(i)) = (round > 0, existing) {
                    claimed.insert(i);
                    last_seen[i] = round;
                    index_of.push(Some(i));
                    continue;
                }
                seen.insert(key);
                let start = at;
                let end = map_back(&hist, f.range.end).max(start);
                let (line, column) = doc0.line_col(start);
                let end_line = doc0.line_of(end.saturating_sub(1).max(start));
                let edit_lines = f
                    .fix
                    .iter()
                    .flat_map(|fx| fx.dockerfile_ranges())
                    .map(|r| {
                        let s = map_back(&hist, r.start);
                        let e = map_back(&hist, r.end).max(s);
                        doc0.line_of(s)..doc0.line_of(e.saturating_sub(1).max(s)) + 1
                    })
                    .collect();
                index_of.push(Some(reported.len()));
                last_seen.push(round);
                claimed.insert(reported.len());
                reported.push(Reported {
                    finding: f.clone(),
                    range: start..end,
                    line,
                    column,
                    end_line,
                    edit_lines,
                    applied: false,
                });
            }

            // Choose non-overlapping fixes.
            let mut order: Vec<usize> = (0..findings.len())
                .filter(|&i| findings[i].fix.as_ref().is_some_and(|fx| mode.allows(fx.applicability)))
                .filter(|&i| findings[i].has_edits())
                .filter(|&i| !rejected.contains(&(findings[i].pass, findings[i].fix.as_ref().unwrap().title.clone())))
                .collect();
            // Where fixes overlap, the pass listed first wins (the registry
            // order is the order in which the rewrites compose best); the
            // other is tried again on the next round's text.
            let rank = |p: &str| self.passes.iter().position(|q| q.name() == p).unwrap_or(usize::MAX);
            order.sort_by_key(|&i| {
                (
                    rank(findings[i].pass),
                    findings[i].fix.as_ref().and_then(|fx| fx.edits.iter().map(|e| e.range.start).min()).unwrap_or(0),
                )
            });
            let mut taken: Vec<Range<usize>> = Vec::new();
            let mut files_taken: BTreeSet<PathBuf> = BTreeSet::new();
            let mut accepted: Vec<usize> = Vec::new();
            for i in order {
                let fx = findings[i].fix.as_ref().expect("filtered");
                let clash = fx.edits.iter().any(|e| match &e.target {
                    Target::Dockerfile => taken.iter().any(|t| overlaps(t, &e.range)),
                    Target::File(p) => files_taken.contains(p),
                }) || self_overlapping(&fx.edits);
                if clash {
                    continue;
                }
                for e in &fx.edits {
                    match &e.target {
                        Target::Dockerfile => taken.push(e.range.clone()),
                        Target::File(p) => {
                            files_taken.insert(p.clone());
                        }
                    }
                }
                accepted.push(i);
            }
            if accepted.is_empty() {
                converged = true;
                break;
            }

            // Apply; on a parse failure, add fixes one at a time.
            let try_apply = |set: &[usize]| -> Option<(Vec<u8>, Document)> {
                let edits: Vec<&Edit> = set
                    .iter()
                    .flat_map(|&i| findings[i].fix.as_ref().unwrap().edits.iter())
                    .filter(|e| e.target == Target::Dockerfile)
                    .collect();
                let out = apply_edits(&text, &edits)?;
                let d = parse(&out).ok()?;
                check_valid(&d).ok()?;
                Some((out, d))
            };
            let (new_text, new_doc, applied) = match try_apply(&accepted) {
                Some((t, d)) => (t, d, accepted),
                None => {
                    let mut good: Vec<usize> = Vec::new();
                    let mut last = None;
                    for &i in &accepted {
                        let mut cand = good.clone();
                        cand.push(i);
                        match try_apply(&cand) {
                            Some(r) => {
                                good = cand;
                                last = Some(r);
                            }
                            None => {
                                let title = findings[i].fix.as_ref().unwrap().title.clone();
                                dropped.push(format!(
                                    "fix `{title}` of pass `{}` was dropped: its output does not parse",
                                    findings[i].pass
                                ));
                                rejected.insert((findings[i].pass, title));
                            }
                        }
                    }
                    match last {
                        Some((t, d)) => (t, d, good),
                        None => continue,
                    }
                }
            };

            // Other files.
            let mut per_file: BTreeMap<PathBuf, Vec<&Edit>> = BTreeMap::new();
            for &i in &applied {
                for e in &findings[i].fix.as_ref().unwrap().edits {
                    if let Target::File(p) = &e.target {
                        per_file.entry(p.clone()).or_default().push(e);
                    }
                }
            }
            for (p, edits) in per_file {
                let before = overlay.read(&p);
                originals.entry(p.clone()).or_insert_with(|| cached.read(&p));
                let base = before.unwrap_or_default();
                match apply_edits(&base, &edits) {
                    Some(after) => overlay.set(&p, after),
                    None => dropped.push(format!("edits of {} overlap and were dropped", p.display())),
                }
            }

            let mut round_edits: RoundEdits = applied
                .iter()
                .flat_map(|&i| findings[i].fix.as_ref().unwrap().edits.iter())
                .filter(|e| e.target == Target::Dockerfile)
                .map(|e| (e.range.clone(), e.replacement.len()))
                .collect();
            round_edits.sort_by_key(|(r, _)| (r.start, r.end));
            for &i in &applied {
                if let Some(Some(ri)) = index_of.get(i) {
                    reported[*ri].applied = true;
                }
            }
            hist.push(round_edits);
            text = new_text;
            rewritten = Some(new_doc);
        }

        let files = overlay
            .changes()
            .into_iter()
            .filter_map(|(path, after)| {
                let before = originals.get(&path).cloned().flatten();
                (before.as_deref() != Some(after.as_slice())).then_some(FileChange { path, before, after })
            })
            .collect();
        let mut reported: Vec<Reported> = reported
            .into_iter()
            .zip(last_seen)
            .filter(|(r, seen)| r.applied || *seen == last_round)
            .map(|(r, _)| r)
            .collect();
        reported.sort_by_key(|r| (r.line, r.column, r.finding.pass));
        let names: Vec<&str> = self.passes.iter().map(|p| p.name()).collect();
        let unused_suppressions = suppressions(&doc0)
            .into_iter()
            .filter(|s| !used_sups.contains(&s.line))
            .filter_map(|s| match s.scope {
                crate::suppress::Scope::All => Some((s.line, Vec::new())),
                crate::suppress::Scope::Passes(p) => {
                    // Only passes that ran can be known to be unused; unknown names always are.
                    let relevant: Vec<String> = p
                        .into_iter()
                        .filter(|n| names.contains(&n.as_str()) || !crate::suppress::is_known(n))
                        .collect();
                    (!relevant.is_empty()).then_some((s.line, relevant))
                }
            })
            .collect();
        Ok(Outcome {
            source: source.to_vec(),
            fixed: text,
            findings: reported,
            files,
            dropped,
            rounds,
            converged,
            unused_suppressions,
        })
    }
}

fn self_overlapping(edits: &[Edit]) -> bool {
    let mut r: Vec<&Range<usize>> = edits.iter().filter(|e| e.target == Target::Dockerfile).map(|e| &e.range).collect();
    r.sort_by_key(|r| (r.start, r.end));
    r.windows(2).any(|w| w[0].end > w[1].start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::Fix;
    use crate::fs::MemFs;

    /// Lower-cases `run` keywords; a toy pass.
    struct Upper;
    impl Pass for Upper {
        fn name(&self) -> &'static str {
            "upper"
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
        fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
            cx.doc
                .instructions
                .iter()
                .filter(|i| i.keyword == "run")
                .map(|i| {
                    let r = i.source_range(i.keyword_span.clone());
                    Finding::new("upper", r.clone(), "lower-case keyword")
                        .fix(Fix::safe("upper-case it", vec![Edit::replace(r, "RUN")]))
                })
                .collect()
        }
    }

    /// Breaks the file; must be dropped.
    struct Breaker;
    impl Pass for Breaker {
        fn name(&self) -> &'static str {
            "breaker"
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
        fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
            let end = cx.doc.source().len();
            vec![Finding::new("breaker", 0..0, "break it")
                .fix(Fix::safe("append garbage", vec![Edit::insert(end, "CMD [\"a\", 1]\n")]))]
        }
    }

    #[test]
    fn fixed_point_and_drop() {
        let src = b"FROM a\nrun x\n# c\nrun y\n";
        let svc = Service::for_dockerfile("/c/Dockerfile");
        let fs = MemFs::new();
        let upper = Upper;
        let breaker = Breaker;
        let eng = Engine::new(vec![&upper, &breaker]);
        let out = eng.run(&svc, &fs, &PassOptions::default(), None, src, Mode::default()).unwrap();
        assert_eq!(String::from_utf8(out.fixed.clone()).unwrap(), "FROM a\nRUN x\n# c\nRUN y\n");
        assert_eq!(out.dropped.len(), 1);
        assert!(out.findings.iter().filter(|r| r.finding.pass == "upper").all(|r| r.applied));
        assert_eq!(out.findings.iter().find(|r| r.finding.pass == "upper").unwrap().line, 2);
    }

    /// Reports which passes run with it.
    struct Peer;
    impl Pass for Peer {
        fn name(&self) -> &'static str {
            "peer"
        }
        fn summary(&self) -> &'static str {
            ""
        }
        fn explanation(&self) -> &'static str {
            ""
        }
        fn applicability(&self) -> Applicability {
            Applicability::DisplayOnly
        }
        fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
            vec![Finding::new("peer", 0..0, format!("{:?} upper={}", cx.passes, cx.runs("upper")))]
        }
    }

    #[test]
    fn passes_know_who_runs() {
        let svc = Service::for_dockerfile("/c/Dockerfile");
        let (peer, upper) = (Peer, Upper);
        let run = |passes: Vec<&dyn Pass>| {
            let out = Engine::new(passes)
                .run(&svc, &MemFs::new(), &PassOptions::default(), None, b"FROM a\n", Mode::default())
                .unwrap();
            out.findings.iter().find(|r| r.finding.pass == "peer").unwrap().finding.message.clone()
        };
        assert_eq!(run(vec![&peer]), "[\"peer\"] upper=false");
        assert_eq!(run(vec![&upper, &peer]), "[\"upper\", \"peer\"] upper=true");
    }

    /// Rewrites every `RUN b` to `RUN c`, under one message.
    struct BtoC;
    impl Pass for BtoC {
        fn name(&self) -> &'static str {
            "btoc"
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
        fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
            cx.doc
                .instructions
                .iter()
                .filter(|i| i.args_text() == "b" || i.args_text() == "a")
                .map(|i| {
                    let r = i.source_range(i.args_span.clone());
                    let (from, to) = if i.args_text() == "a" { ("a", "b") } else { ("b", "c") };
                    Finding::new("btoc", r.clone(), format!("{from} to {to}"))
                        .fix(Fix::safe("rewrite", vec![Edit::replace(r, to)]))
                })
                .collect()
        }
    }

    #[test]
    fn same_message_in_later_rounds_is_a_new_finding() {
        let svc = Service::for_dockerfile("/c/Dockerfile");
        let pass = BtoC;
        let out = Engine::new(vec![&pass])
            .run(&svc, &MemFs::new(), &PassOptions::default(), None, b"FROM s\nRUN a\nRUN a\n", Mode::default())
            .unwrap();
        assert_eq!(String::from_utf8(out.fixed.clone()).unwrap(), "FROM s\nRUN c\nRUN c\n");
        let b_to_c: Vec<&Reported> = out.findings.iter().filter(|r| r.finding.message == "b to c").collect();
        assert_eq!(b_to_c.len(), 2);
        assert!(b_to_c.iter().all(|r| r.applied));
        let lines: Vec<usize> = b_to_c.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3]);
        assert_eq!(b_to_c[1].edit_lines, vec![std::ops::Range { start: 3, end: 4 }]);
    }

    #[test]
    fn refuses_invalid_files() {
        let svc = Service::for_dockerfile("/c/Dockerfile");
        let eng = Engine::new(vec![]);
        let err = eng.run(&svc, &MemFs::new(), &PassOptions::default(), None, b"FROM a\nFORM b\n", Mode::default());
        assert_eq!(err.unwrap_err().line(), 2);
    }

    #[test]
    fn map_back_through_rounds() {
        // round 1: insert 3 bytes at 2; round 2: delete 1..2
        let hist = vec![vec![(2..2, 3)], vec![(1..2, 0)]];
        assert_eq!(map_back(&hist, 0), 0);
        // after both rounds, offset 4 was offset 5 after round 1, inside the insertion end → 2
        assert_eq!(map_back(&hist, 4), 2);
        assert_eq!(map_back(&hist, 5), 3);
    }
}
