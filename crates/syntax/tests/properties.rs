//! Properties of the parser on generated and arbitrary input: it never
//! panics, and whatever it accepts it reprints byte for byte.

use dockfix_syntax::{dump, parse};
use proptest::prelude::*;

fn check(src: &[u8]) {
    let _ = dump(src);
    if let Ok(doc) = parse(src) {
        assert_eq!(doc.reprint(), src);
        for ins in &doc.instructions {
            assert!(ins.lines.start <= ins.span.start && ins.span.end <= ins.lines.end);
            let t = ins.line.text();
            for f in &ins.flags {
                assert!(f.span.end <= t.len());
                let _ = ins.source_range(f.span.clone());
            }
            for a in ins.args.iter().filter_map(|a| a.span.clone()) {
                let r = ins.source_range(a);
                assert!(r.end <= src.len() && r.start <= r.end);
            }
        }
    }
}

/// Pieces Dockerfiles are made of, including the awkward ones.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("FROM alpine AS build".to_string()),
        Just("RUN apt-get update && \\".to_string()),
        Just("    apt-get install -y curl".to_string()),
        Just("# a comment".to_string()),
        Just("  # indented comment \\".to_string()),
        Just(String::new()),
        Just("   ".to_string()),
        Just("\\".to_string()),
        Just("COPY --from=build --chown=1:1 /a /b".to_string()),
        Just("RUN <<EOF".to_string()),
        Just("COPY <<-'X' <<Y /dst/".to_string()),
        Just("EOF".to_string()),
        Just("\tX".to_string()),
        Just("Y".to_string()),
        Just("ENV A=1 B=\"two words\" C='x'".to_string()),
        Just("ENV OLD form value".to_string()),
        Just("LABEL a=b \\".to_string()),
        Just("CMD [\"a\", \"b\\u00e9\"]".to_string()),
        Just("CMD [\"a\", 1]".to_string()),
        Just("ENTRYPOINT [ \"sh\" ] trailing".to_string()),
        Just("HEALTHCHECK --interval=5s CMD curl -f http://x/ || exit 1".to_string()),
        Just("ONBUILD RUN --mount=type=cache,target=/c make".to_string()),
        Just("# escape=`".to_string()),
        Just("# syntax=docker/dockerfile:1".to_string()),
        Just("RUN echo `".to_string()),
        Just("ARG X=${Y:-z}".to_string()),
        "[ -~]{0,40}".prop_map(|s| s),
        "(RUN|COPY|ADD|ENV|LABEL|ARG|FROM|CMD|run) [ -~\t]{0,30}( \\\\)?".prop_map(|s| s),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&bytes);
    }

    #[test]
    fn generated_files_reprint(lines in proptest::collection::vec(line(), 0..30),
                               crlf in any::<bool>(), bom in any::<bool>(), final_nl in any::<bool>()) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut s = lines.join(nl);
        if final_nl { s.push_str(nl); }
        if bom { s.insert(0, '\u{feff}'); }
        check(s.as_bytes());
    }
}

/// Every file of the conformance corpus, cut and spliced at many points.
#[test]
fn mutated_corpus_never_panics() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance");
    if !dir.is_dir() {
        eprintln!("SKIPPED: {} is absent", dir.display());
        return;
    }
    let mut files = Vec::new();
    for sub in ["cases", "buildkit"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "Dockerfile") {
                files.push(std::fs::read(p).unwrap());
            }
        }
    }
    assert!(files.len() >= 65);
    for (i, a) in files.iter().enumerate() {
        check(a);
        let b = &files[(i + 7) % files.len()];
        for cut in (0..a.len()).step_by(7) {
            check(&a[..cut]);
            let mut spliced = a[..cut].to_vec();
            spliced.extend_from_slice(&b[cut.min(b.len())..]);
            check(&spliced);
        }
    }
}
