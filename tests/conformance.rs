//! The parser's acceptance test: BuildKit's own parse of every file in
//! `../shared/conformance` must match ours exactly, and every accepted file
//! must reprint byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is absent (it ships with the project's shared data, not with a clone)", dir.display());
        None
    }
}

/// `=== name` blocks of an EXPECTED.txt.
fn expected_blocks(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut name: Option<String> = None;
    let mut body = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(n) = line.strip_prefix("=== ") {
            if let Some(prev) = name.take() {
                out.insert(prev, std::mem::take(&mut body));
            }
            name = Some(n.trim_end().to_string());
        } else {
            body.push_str(line);
        }
    }
    if let Some(prev) = name {
        out.insert(prev, body);
    }
    out
}

#[test]
fn conformance_matches_buildkit() {
    let Some(root) = corpus_dir() else { return };
    let mut checked = 0;
    let mut failures = Vec::new();
    for sub in ["cases", "buildkit"] {
        let dir = root.join(sub);
        let expected = expected_blocks(&std::fs::read_to_string(dir.join("EXPECTED.txt")).unwrap());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "Dockerfile"))
            .collect();
        files.sort();
        assert_eq!(files.len(), expected.len(), "{sub}: every file has an expectation");
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            let src = std::fs::read(&f).unwrap();
            let got = dockfix_syntax::dump(&src);
            let want = expected.get(&name).unwrap_or_else(|| panic!("no expectation for {name}"));
            if &got != want {
                failures.push(format!("--- {sub}/{name}\nwant:\n{want}got:\n{got}"));
            }
            if let Ok(doc) = dockfix_syntax::parse(&src) {
                assert_eq!(doc.reprint(), src, "{name}: reprint is byte-identical");
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{} of {checked} files differ:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(checked, 65);
}
