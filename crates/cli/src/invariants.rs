//! The invariants every run must keep, as one function: the fuzz targets,
//! the corpus run and the regression tests all call it.
//!
//! For any input: no panic; a file the parser or BuildKit's rules reject is
//! an error, nothing else; otherwise, with every pass and unsafe fixes on,
//! the output parses, a second run proposes nothing, and no line outside
//! the applied edits changed.

use std::ops::Range;
use std::path::Path;

use dockfix_core::engine::{Engine, Outcome};
use dockfix_core::MemFs;
use dockfix_core::{Mode, PassOptions, Service};

use crate::registry;

/// What happened to one input.
#[derive(Debug)]
pub enum Checked {
    /// Rejected with a clear error (as BuildKit would reject it).
    Rejected(String),
    /// Processed; the outcome kept every invariant.
    Kept(Outcome),
}

/// A build context that makes the passes engage: the manifests and lock
/// files of the common ecosystems, next to the Dockerfile at `/ctx`.
pub fn sample_context(dockerfile: &[u8]) -> MemFs {
    MemFs::new()
        .with("/ctx/Dockerfile", dockerfile.to_vec())
        .with("/ctx/requirements.txt", "flask==3.0.3\n")
        .with("/ctx/pyproject.toml", "[project]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"flask\"]\n")
        .with("/ctx/package.json", "{\"name\": \"app\", \"scripts\": {\"build\": \"vite build\"}}\n")
        .with("/ctx/package-lock.json", "{}\n")
        .with("/ctx/go.mod", "module example.com/app\n\ngo 1.22\n")
        .with("/ctx/go.sum", "")
        .with("/ctx/Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\n")
        .with("/ctx/Cargo.lock", "version = 3\n")
        .with("/ctx/src/main.rs", "fn main() {}\n")
        .with("/ctx/app.py", "print('hi')\n")
        .with("/ctx/.git/HEAD", "ref: refs/heads/main\n")
}

/// Runs the whole pipeline on `source` and checks the invariants. `Err`
/// says which one broke.
pub fn check(source: &[u8]) -> Result<Checked, String> {
    // The CLI leaves files that are not UTF-8 alone (see plan::plan_service).
    if std::str::from_utf8(source).is_err() {
        return Ok(Checked::Rejected("not valid UTF-8".into()));
    }
    let fs = sample_context(source);
    let service = Service::for_dockerfile(Path::new("/ctx/Dockerfile"));
    let engine = Engine::new(registry::all());
    let mode = Mode { unsafe_fixes: true };
    let options = PassOptions::default();
    let first = match engine.run(&service, &fs, &options, None, source, mode) {
        Ok(o) => o,
        Err(e) => return Ok(Checked::Rejected(e.to_string())),
    };
    if let Some(d) = first.dropped.iter().find(|d| d.contains("failed on this file")) {
        return Err(format!("a pass panicked: {d}"));
    }
    if let Err(e) = dockfix_syntax::parse(&first.fixed) {
        return Err(format!("the output does not parse: {e}"));
    }
    let before = String::from_utf8_lossy(&first.source).into_owned();
    let after = String::from_utf8_lossy(&first.fixed).into_owned();
    let edit_lines: Vec<Range<usize>> =
        first.findings.iter().filter(|r| r.applied).flat_map(|r| r.edit_lines.iter().cloned()).collect();
    untouched_lines_kept(&before, &after, &edit_lines)?;

    // The second run sees the output and the other files as written.
    let mut fs2 = sample_context(&first.fixed);
    for f in &first.files {
        fs2 = fs2.with(f.path.clone(), f.after.clone());
    }
    let second = engine
        .run(&service, &fs2, &options, None, &first.fixed, mode)
        .map_err(|e| format!("the output is rejected: {e}"))?;
    if second.fixed != second.source || !second.files.is_empty() {
        let pending: Vec<String> = second
            .findings
            .iter()
            .filter(|r| r.applied)
            .map(|r| format!("{}: {}", r.finding.pass, r.finding.message))
            .collect();
        return Err(format!("a second run still changes the file: {pending:?}"));
    }
    Ok(Checked::Kept(first))
}

/// Every line of `before` outside `edit_lines` (1-based line ranges) is in
/// `after`, in the same order. Moved blocks are covered by their edits.
pub fn untouched_lines_kept(before: &str, after: &str, edit_lines: &[Range<usize>]) -> Result<(), String> {
    let mut out = after.lines();
    for (i, line) in before.lines().enumerate() {
        let n = i + 1;
        if edit_lines.iter().any(|l| l.contains(&n)) {
            continue;
        }
        if !out.any(|o| o == line) {
            return Err(format!("line {n} changed outside every edit ({edit_lines:?}): {line:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_outside_the_edits_is_caught() {
        assert!(untouched_lines_kept(
            "FROM a\n# c\nCOPY . .\n\n# d\nRUN x\n",
            "FROM a\n\n# d\nRUN y\n# c\nCOPY . .\n",
            &[2..5, 6..7]
        )
        .is_ok());
        assert!(untouched_lines_kept(
            "FROM a\nRUN x\nCMD y\n",
            "FROM a\nRUN x\nCMD z\n",
            std::slice::from_ref(&(2..3))
        )
        .is_err());
    }

    #[test]
    fn rejected_and_kept() {
        assert!(matches!(check(b"FROM a\nCOPY\n"), Ok(Checked::Rejected(_))));
        let src = b"FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n";
        match check(src) {
            Ok(Checked::Kept(o)) => assert!(o.changed()),
            other => panic!("{other:?}"),
        }
    }
}
