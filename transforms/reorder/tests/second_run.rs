//! On every reorder fixture, a second run on the pass's own output reports
//! nothing new: no finding that the first run did not already report, and
//! none about a line the pass wrote itself (a stricter form of the fixture
//! harness's "a second run changes nothing", which lets display-only
//! findings through).

use std::path::{Path, PathBuf};

use dockfix_core::{Engine, MemFs, Mode, PassOptions, Service};

fn load(dir: &Path, rel: &Path, fs: &mut MemFs) {
    for e in std::fs::read_dir(dir).expect("fixture directory") {
        let e = e.expect("entry");
        let p = e.path();
        let r = rel.join(e.file_name());
        if p.is_dir() {
            load(&p, &r, fs);
        } else {
            fs.insert(Path::new("/ctx").join(&r), std::fs::read(&p).expect("fixture file"));
        }
    }
}

#[test]
fn second_run_reports_nothing_new() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/reorder");
    let mut cases: Vec<PathBuf> =
        std::fs::read_dir(&root).expect("fixtures").map(|e| e.expect("entry").path()).collect();
    cases.sort();
    let pass = dockfix_pass_reorder::Reorder;
    let engine = Engine::new(vec![&pass]);
    let mut checked = 0;
    for case in cases.iter().filter(|c| c.join("Dockerfile").is_file()) {
        let mut fs = MemFs::new();
        load(case, Path::new(""), &mut fs);
        let svc = Service::for_dockerfile("/ctx/Dockerfile");
        let src = std::fs::read(case.join("Dockerfile")).expect("Dockerfile");
        let mode = Mode { unsafe_fixes: true };
        let first = engine.run(&svc, &fs, &PassOptions::default(), None, &src, mode).expect("first run");
        let second = engine.run(&svc, &fs, &PassOptions::default(), None, &first.fixed, mode).expect("second run");
        assert_eq!(second.fixed, first.fixed, "{}: the second run changes the file", case.display());
        let original = String::from_utf8_lossy(&src).into_owned();
        let output = String::from_utf8_lossy(&first.fixed).into_owned();
        let out_lines: Vec<&str> = output.lines().collect();
        for f in &second.findings {
            let at = out_lines.get(f.line - 1).copied().unwrap_or_default();
            assert!(
                original.lines().any(|l| l == at),
                "{}: a second run reports on a line the pass wrote (`{at}`): {}",
                case.display(),
                f.finding.message
            );
            assert!(
                first.findings.iter().any(|g| g.finding.message == f.finding.message),
                "{}: the second run reports something new: {}",
                case.display(),
                f.finding.message
            );
        }
        checked += 1;
    }
    assert!(checked > 40, "only {checked} fixtures found");
}
