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

#[test]
fn files_that_cannot_be_rewritten_safely_are_named_and_left_alone() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let src = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n";
    for s in ["latin1", "readonly", "linked", "ok"] {
        std::fs::create_dir_all(p.join(s)).unwrap();
        std::fs::write(p.join(s).join("requirements.txt"), "flask\n").unwrap();
    }
    // Not UTF-8: named with the line and column of the first bad byte.
    let mut latin1 = src.as_bytes().to_vec();
    latin1.extend_from_slice(b"# caf\xe9\n");
    std::fs::write(p.join("latin1/Dockerfile"), &latin1).unwrap();
    // Read-only.
    std::fs::write(p.join("readonly/Dockerfile"), src).unwrap();
    let mut perms = std::fs::metadata(p.join("readonly/Dockerfile")).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(p.join("readonly/Dockerfile"), perms).unwrap();
    // A symbolic link to a Dockerfile elsewhere in the tree.
    std::fs::write(p.join("linked/real.Dockerfile"), src).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("real.Dockerfile", p.join("linked/Dockerfile")).unwrap();
    std::fs::write(p.join("ok/Dockerfile"), src).unwrap();

    let out = dockfix(
        p,
        &[
            "apply",
            "--select",
            "reorder",
            "latin1/Dockerfile",
            "readonly/Dockerfile",
            "linked/Dockerfile",
            "ok/Dockerfile",
        ],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("latin1/Dockerfile:5:6: not valid UTF-8 (byte 0xe9)"), "{err}");
    assert!(err.contains("readonly/Dockerfile: is read-only"), "{err}");
    assert_eq!(std::fs::read(p.join("latin1/Dockerfile")).unwrap(), latin1);
    assert_eq!(std::fs::read_to_string(p.join("readonly/Dockerfile")).unwrap(), src);
    #[cfg(unix)]
    {
        assert!(err.contains("linked/Dockerfile: is a symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(p.join("linked/real.Dockerfile")).unwrap(), src);
        assert!(std::fs::symlink_metadata(p.join("linked/Dockerfile")).unwrap().file_type().is_symlink());
    }
    // The rest of the batch goes on.
    assert_ne!(std::fs::read_to_string(p.join("ok/Dockerfile")).unwrap(), src);
    // Asked to, dockfix writes the link's target (inside the given paths) and keeps the link.
    #[cfg(unix)]
    {
        let out = dockfix(p, &["apply", "--select", "reorder", "--follow-symlinks", "linked"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_ne!(std::fs::read_to_string(p.join("linked/real.Dockerfile")).unwrap(), src);
        assert!(std::fs::symlink_metadata(p.join("linked/Dockerfile")).unwrap().file_type().is_symlink());
    }
    // No temporary file anywhere.
    let leftovers: Vec<_> = walk(p).into_iter().filter(|f| f.contains(".dockfix-")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[cfg(unix)]
#[test]
fn an_interrupted_apply_leaves_no_temporary_files() {
    // Many services, SIGINT while writing: whatever was written is whole,
    // and no .dockfix-*.tmp stays behind.
    let d = tempfile::tempdir().unwrap();
    let src = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n";
    for i in 0..1500 {
        let s = d.path().join(format!("svc{i:04}"));
        std::fs::create_dir_all(&s).unwrap();
        std::fs::write(s.join("Dockerfile"), src).unwrap();
        std::fs::write(s.join("requirements.txt"), "flask\n").unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(["apply", "--quiet", "--select", "reorder", "."])
        .current_dir(d.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Interrupt once the first files are written.
    let first = d.path().join("svc0000/Dockerfile");
    let t = std::time::Instant::now();
    while std::fs::read_to_string(&first).unwrap() == src && t.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    assert!(status.code() == Some(130) || status.success(), "{status:?}");
    let files = walk(d.path());
    assert!(files.iter().all(|f| !f.contains(".dockfix-")), "temporary files left");
    for f in files.iter().filter(|f| f.ends_with("Dockerfile")) {
        let t = std::fs::read_to_string(f).unwrap();
        assert!(t == src || t.contains("COPY requirements.txt"), "{f} is half-written: {t:?}");
    }
}
