//! `dockfix debug corpus DIR…`: the whole pipeline over every Dockerfile
//! under the given directories, with the invariants of [`crate::invariants`]
//! checked on each, and counts: parsed, rejected (by reason), changed per
//! pass, invariant errors, files per second.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::discover::is_dockerfile_name;
use crate::invariants::{check, Checked};

/// Counts of one corpus run.
#[derive(Debug, Default)]
pub struct Counts {
    pub files: usize,
    pub parsed: usize,
    pub changed: usize,
    /// Rejections by reason (the message without its line number).
    pub rejected: BTreeMap<String, usize>,
    /// Files each pass changed.
    pub per_pass: BTreeMap<String, usize>,
    /// Invariant violations: file and what broke.
    pub errors: Vec<(PathBuf, String)>,
    pub seconds: f64,
}

/// Every Dockerfile-named file under `dirs` (files given directly count
/// whatever their name), sorted. Symbolic links are not followed.
pub fn files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = Vec::new();
    for d in dirs {
        if d.is_file() {
            out.push(d.clone());
        } else {
            stack.push(d.clone());
        }
    }
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(t) = e.file_type() else { continue };
            let p = e.path();
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file() && is_dockerfile_name(&e.file_name().to_string_lossy()) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Runs the pipeline over `files`.
pub fn run(files: &[PathBuf]) -> Counts {
    let start = Instant::now();
    let mut c = Counts::default();
    for f in files {
        let Ok(src) = std::fs::read(f) else {
            c.errors.push((f.clone(), "cannot read".into()));
            continue;
        };
        c.files += 1;
        match std::panic::catch_unwind(|| check(&src)) {
            Ok(Ok(Checked::Rejected(why))) => {
                *c.rejected.entry(reason(&why)).or_default() += 1;
            }
            Ok(Ok(Checked::Kept(o))) => {
                c.parsed += 1;
                if o.changed() {
                    c.changed += 1;
                    let mut passes: Vec<&str> =
                        o.findings.iter().filter(|r| r.applied).map(|r| r.finding.pass).collect();
                    passes.sort_unstable();
                    passes.dedup();
                    for p in passes {
                        *c.per_pass.entry(p.to_string()).or_default() += 1;
                    }
                }
            }
            Ok(Err(e)) => {
                c.parsed += 1;
                c.errors.push((f.clone(), e));
            }
            Err(_) => c.errors.push((f.clone(), "panicked".into())),
        }
    }
    c.seconds = start.elapsed().as_secs_f64();
    c
}

/// A rejection message without positions, so equal reasons group.
fn reason(msg: &str) -> String {
    let m = msg.strip_prefix("line ").and_then(|r| r.split_once(": ").map(|(_, t)| t)).unwrap_or(msg);
    let m: String = m.chars().filter(|c| !c.is_ascii_digit()).collect();
    m.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The report, for people.
pub fn text(c: &Counts, root: &Path) -> String {
    let mut s = String::new();
    let rejected: usize = c.rejected.values().sum();
    let rate = if c.seconds > 0.0 { c.files as f64 / c.seconds } else { 0.0 };
    s.push_str(&format!(
        "{} files: {} parsed, {} rejected, {} changed, {} invariant errors ({:.0} files/s)\n",
        c.files,
        c.parsed,
        rejected,
        c.changed,
        c.errors.len(),
        rate
    ));
    if !c.rejected.is_empty() {
        s.push_str("rejected:\n");
        for (why, n) in &c.rejected {
            s.push_str(&format!("  {n:>5}  {why}\n"));
        }
    }
    if !c.per_pass.is_empty() {
        s.push_str("changed per pass:\n");
        for (p, n) in &c.per_pass {
            s.push_str(&format!("  {n:>5}  {p}\n"));
        }
    }
    for (f, e) in &c.errors {
        let shown = f.strip_prefix(root).unwrap_or(f);
        s.push_str(&format!("error: {}: {e}\n", shown.display()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_a_small_corpus() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a")).unwrap();
        std::fs::write(d.path().join("a/Dockerfile"), "FROM python\nCOPY . .\nRUN pip install -r requirements.txt\n")
            .unwrap();
        std::fs::write(d.path().join("bad.Dockerfile"), "FROM a\nCOPY\n").unwrap();
        std::fs::write(d.path().join("notes.txt"), "FROM a\n").unwrap();
        let fs = files(&[d.path().to_path_buf()]);
        assert_eq!(fs.len(), 2);
        let c = run(&fs);
        assert_eq!((c.files, c.parsed, c.changed), (2, 1, 1));
        assert_eq!(c.rejected.values().sum::<usize>(), 1);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert!(c.per_pass.contains_key("reorder"));
        let t = text(&c, d.path());
        assert!(t.starts_with("2 files: 1 parsed, 1 rejected, 1 changed, 0 invariant errors"), "{t}");
    }
}
