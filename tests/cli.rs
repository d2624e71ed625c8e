//! The command line, end to end: exit codes, the dry-run → apply → dry-run
//! loop, errors that do not stop a batch, JSON output.

use std::path::Path;
use std::process::{Command, Output};

fn dockfix(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("FORCE_COLOR")
        .output()
        .expect("run dockfix")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn example(dir: &Path) {
    std::fs::create_dir_all(dir.join("svc")).unwrap();
    std::fs::write(
        dir.join("svc/Dockerfile"),
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n",
    )
    .unwrap();
    std::fs::write(dir.join("svc/requirements.txt"), "flask\n").unwrap();
}

#[test]
fn dry_run_apply_dry_run() {
    let d = tempfile::tempdir().unwrap();
    example(d.path());
    let before = std::fs::read(d.path().join("svc/Dockerfile")).unwrap();

    let out = dockfix(d.path(), &["--dry-run", "--select", "reorder", "svc"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("+COPY requirements.txt ."), "{stdout}");
    assert!(stdout.contains("reorder"), "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "no colour when NO_COLOR is set");
    assert_eq!(std::fs::read(d.path().join("svc/Dockerfile")).unwrap(), before, "dry-run writes nothing");

    let out = dockfix(d.path(), &["apply", "--select", "reorder", "svc"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("fixed svc/Dockerfile (1 fix: reorder)"), "{}", text(&out.stdout));
    let after = text(&std::fs::read(d.path().join("svc/Dockerfile")).unwrap());
    assert_eq!(
        after,
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\nCMD [\"python\", \"app.py\"]\n"
    );

    let out = dockfix(d.path(), &["--dry-run", "--select", "reorder", "svc"]);
    assert_eq!(out.status.code(), Some(0), "second dry-run is clean: {}", text(&out.stdout));
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_file_is_named_and_the_batch_goes_on() {
    let d = tempfile::tempdir().unwrap();
    example(d.path());
    std::fs::create_dir_all(d.path().join("broken")).unwrap();
    let broken = "FROM alpine\nCMD [\"a\", 1]\n";
    std::fs::write(d.path().join("broken/Dockerfile"), broken).unwrap();
    std::fs::create_dir_all(d.path().join("typo")).unwrap();
    std::fs::write(d.path().join("typo/Dockerfile"), "FROM alpine\nRUNN echo\n").unwrap();

    let out = dockfix(d.path(), &["apply", "."]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("broken/Dockerfile:2:1: when using JSON array syntax"), "{err}");
    assert!(err.contains("typo/Dockerfile:2:1: unknown instruction: RUNN"), "{err}");
    assert_eq!(std::fs::read_to_string(d.path().join("broken/Dockerfile")).unwrap(), broken, "left untouched");
    assert!(std::fs::read_to_string(d.path().join("svc/Dockerfile")).unwrap().contains("COPY requirements.txt ."));
}

#[test]
fn check_reports_and_json_is_stable() {
    let d = tempfile::tempdir().unwrap();
    example(d.path());
    let out = dockfix(d.path(), &["check", "svc"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("svc/Dockerfile:3:1: reorder "), "{}", text(&out.stdout));

    let out = dockfix(d.path(), &["check", "--format", "json", "svc"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    let f = &v["files"][0]["findings"][0];
    assert_eq!(f["pass"], "reorder");
    assert_eq!(f["line"], 3);
    assert_eq!(f["fix"]["applicability"], "safe");

    let out = dockfix(d.path(), &["check", "--exit-zero", "svc"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn select_and_ignore() {
    let d = tempfile::tempdir().unwrap();
    example(d.path());
    let out = dockfix(d.path(), &["--dry-run", "--ignore", "reorder,cache-mounts", "svc"]);
    assert_eq!(out.status.code(), Some(0));
    let out = dockfix(d.path(), &["--dry-run", "--select", "no-such-pass", "svc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown pass `no-such-pass`"));
}

#[test]
fn discovery_honours_gitignore_and_skips_vendor_dirs() {
    let d = tempfile::tempdir().unwrap();
    example(d.path());
    for dir in ["node_modules/x", "ignored", ".devcontainer"] {
        std::fs::create_dir_all(d.path().join(dir)).unwrap();
        std::fs::write(d.path().join(dir).join("Dockerfile"), "FROM alpine\nRUNN x\n").unwrap();
    }
    std::fs::write(d.path().join(".gitignore"), "ignored/\n").unwrap();
    let out = dockfix(d.path(), &["check", "."]);
    let err = text(&out.stderr);
    assert!(err.contains(".devcontainer/Dockerfile"), "hidden directories are searched: {err}");
    assert!(!err.contains("node_modules"), "{err}");
    assert!(!err.contains("ignored/"), "{err}");
}

#[test]
fn debug_parse_prints_the_conformance_format() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("x.Dockerfile"), "FROM alpine\nRUN echo hi\n").unwrap();
    let out = dockfix(d.path(), &["debug", "parse", "x.Dockerfile"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "=== x.Dockerfile\nOK: 2 instructions, escape=\"\\\\\"\n  L1-1 FROM flags=[] args=[\"alpine\"]\n  L2-2 RUN flags=[] args=[\"echo hi\"]\n"
    );
}

#[test]
fn explain_and_passes() {
    let d = tempfile::tempdir().unwrap();
    let out = dockfix(d.path(), &["passes"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("reorder"));
    assert!(text(&out.stdout).contains("cache-mounts"));
    let out = dockfix(d.path(), &["explain", "reorder"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("When it refuses"));
    let out = dockfix(d.path(), &["explain", "cache-mounts"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("When it refuses"));
    let out = dockfix(d.path(), &["explain", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn apply_names_the_files_it_writes() {
    // Only the .dockerignore changes: apply says it created that file for
    // the Dockerfile, and does not claim the Dockerfile was rewritten.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("Dockerfile"), "FROM alpine\nCOPY . /app\n").unwrap();
    std::fs::create_dir_all(d.path().join(".git")).unwrap();
    std::fs::write(d.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let out = dockfix(d.path(), &["apply", "--select", "dockerignore", "."]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("created ./.dockerignore (for Dockerfile)"), "{stdout}");
    assert!(!stdout.contains("fixed"), "{stdout}");
    assert_eq!(std::fs::read_to_string(d.path().join("Dockerfile")).unwrap(), "FROM alpine\nCOPY . /app\n");
}
