//! Resource bounds: very large and pathological Dockerfiles go through the
//! whole pipeline (parse → every pass → fix engine → reparse) without a
//! stack overflow or a blow-up, on a test thread's default stack. Timing
//! targets live in the benchmarks; these only prove the work is bounded.

use dockfix_cli::plan::{plan_file, Settings};
use dockfix_cli::registry;
use dockfix_core::{Mode, PassOptions};

fn run(dockerfile: &str) -> Result<dockfix_cli::plan::FilePlan, String> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("Dockerfile");
    std::fs::write(&p, dockerfile).unwrap();
    std::fs::write(d.path().join("requirements.txt"), "flask\n").unwrap();
    let settings =
        Settings { passes: registry::all(), mode: Mode { unsafe_fixes: true }, options: PassOptions::default() };
    plan_file(&p, &settings).map_err(|e| e.to_string())
}

#[test]
fn fifty_thousand_lines() {
    let mut s = String::from("# syntax=docker/dockerfile:1\n");
    let mut lines = 1;
    let mut i = 0;
    while lines < 50_000 {
        s.push_str(&format!(
            "FROM python:3.12 AS s{i}\n# stage {i}\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nENV A{i}=1 \\\n    B{i}=2\n\n"
        ));
        lines += 8;
        i += 1;
    }
    let plan = run(&s).expect("processes");
    dockfix_syntax::parse(&plan.outcome.fixed).expect("output parses");
    assert!(plan.outcome.changed());
}

#[test]
fn ten_thousand_line_continuation() {
    let mut s = String::from("FROM debian\nRUN apt-get update \\\n");
    for i in 0..10_000 {
        s.push_str(&format!("    && echo {i} \\\n"));
        if i % 100 == 0 {
            s.push_str("    # a comment inside\n\n");
        }
    }
    s.push_str("    && true\n");
    let plan = run(&s).expect("processes");
    let doc = dockfix_syntax::parse(&plan.outcome.fixed).unwrap();
    assert_eq!(doc.instructions.len(), 2);
}

#[test]
fn many_heredocs_on_one_line() {
    let mut s = String::from("FROM debian\nRUN cat");
    for i in 0..2_000 {
        s.push_str(&format!(" <<E{i}"));
    }
    s.push('\n');
    for i in 0..2_000 {
        s.push_str(&format!("line {i}\nE{i}\n"));
    }
    let plan = run(&s).expect("processes");
    let doc = dockfix_syntax::parse(&plan.outcome.fixed).unwrap();
    assert_eq!(doc.instructions[1].heredocs.len(), 2_000);
}

#[test]
fn deep_nesting_is_refused_or_bounded() {
    // Each line stays under BuildKit's 64 KiB line limit, so the nesting itself is what is tested.
    // ONBUILD chains: a clear error, not a stack overflow.
    let s = format!("FROM a\n{}RUN x\n", "ONBUILD ".repeat(7_000));
    let Err(e) = run(&s) else { panic!("nested ONBUILD is refused") };
    assert!(e.contains("nested too deeply"), "{e}");
    // Deeply nested JSON: not exec form (Go's decoder also gives up), no crash.
    let s = format!("FROM a\nCMD [{}\"x\"{}]\n", "[".repeat(30_000), "]".repeat(30_000));
    let plan = run(&s).expect("processes");
    let doc = dockfix_syntax::parse(&plan.outcome.fixed).unwrap();
    assert!(!doc.instructions[1].json);
    // Nested variable expansions next to a heredoc marker: no heredoc found, no crash.
    let s = format!("FROM a\nRUN echo {}x{} <<EOF\n", "${a:-".repeat(10_000), "}".repeat(10_000));
    let plan = run(&s).expect("processes");
    assert!(dockfix_syntax::parse(&plan.outcome.fixed).unwrap().instructions[1].heredocs.is_empty());
    // A huge single line (over BuildKit's 64 KiB line limit) is refused with a message.
    let s = format!("FROM a\nRUN echo {}\n", "x".repeat(70_000));
    let Err(e) = run(&s) else { panic!("a line over 64 KiB is refused") };
    assert!(e.contains("max allowed size"), "{e}");
}
