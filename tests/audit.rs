//! `dockfix audit` on a repository with a small synthetic history built in
//! a temporary directory.

use std::path::Path;
use std::process::{Command, Output};

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok, "git {args:?}");
}

fn dockfix(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockfix")).args(args).current_dir(dir).env("NO_COLOR", "1").output().unwrap()
}

fn snap(name: &str, value: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.bind(|| insta::assert_snapshot!(name, value));
}

/// svc/ is a Python service; history: 6 source edits, 1 requirements edit,
/// 1 README edit inside the context, 2 commits elsewhere in the repo.
fn repo() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    git(p, &["init", "-q", "-b", "main"]);
    let w = |f: &str, c: &str| {
        let path = p.join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, c).unwrap();
    };
    w("svc/Dockerfile", "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n");
    w("svc/requirements.txt", "flask\n");
    w("svc/app.py", "print(0)\n");
    w("svc/README.md", "# svc\n");
    w("docs/index.md", "docs\n");
    git(p, &["add", "."]);
    git(p, &["commit", "-q", "-m", "initial"]);
    for i in 1..=6 {
        w("svc/app.py", &format!("print({i})\n"));
        git(p, &["commit", "-q", "-am", &format!("edit {i}")]);
    }
    w("svc/requirements.txt", "flask\nrequests\n");
    git(p, &["commit", "-q", "-am", "add requests"]);
    w("svc/README.md", "# svc\nmore\n");
    git(p, &["commit", "-q", "-am", "readme"]);
    for i in 1..=2 {
        w("docs/index.md", &format!("docs {i}\n"));
        git(p, &["commit", "-q", "-am", &format!("docs {i}")]);
    }
    d
}

fn scrub(s: &str, d: &Path) -> String {
    s.replace(&d.canonicalize().unwrap().display().to_string(), "[repo]")
}

#[test]
fn audit_text_json_markdown() {
    let d = repo();
    let out = dockfix(d.path(), &["audit", "svc"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    // 11 commits: the initial one creates the Dockerfile (everything re-runs);
    // 6 source edits, 1 requirements edit and 1 README edit re-run the install
    // now; after the rewrite only the requirements edit (and the initial commit) do.
    assert!(text.contains("11 commits, 9 touched the build context"), "{text}");
    assert!(text.contains("commits that re-ran a dependency install: 82% → 18%"), "{text}");
    snap("audit__text", &scrub(&text, d.path()));

    let out = dockfix(d.path(), &["audit", "--format", "json", "svc"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &v["audits"][0];
    let pip_now = a["current"]["steps"].as_array().unwrap().iter().find(|s| s["is_install"] == true).unwrap();
    assert_eq!(pip_now["rerun_commits"], 9);
    let pip_after = a["proposed"]["steps"].as_array().unwrap().iter().find(|s| s["is_install"] == true).unwrap();
    assert_eq!(pip_after["rerun_commits"], 2);
    snap("audit__json", &scrub(&serde_json::to_string_pretty(&v).unwrap(), d.path()));

    let out = dockfix(d.path(), &["audit", "--format", "markdown", "svc"]);
    snap("audit__markdown", &String::from_utf8_lossy(&out.stdout));

    let out = dockfix(d.path(), &["audit", "--commits", "3", "svc"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("3 commits, 1 touched"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn timings_weigh_steps() {
    let d = repo();
    let log = "#5 [3/4] RUN pip install -r requirements.txt\n#5 DONE 11.6s\n#6 [4/4] COPY . .\n#6 DONE 0.1s\n";
    std::fs::write(d.path().join("build.log"), log).unwrap();
    let out = dockfix(d.path(), &["audit", "--timings", "build.log", "svc"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rebuild seconds per commit (from the timings log): 9.6 → 2.2"), "{text}");
}

#[test]
fn without_history_only_the_static_map() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("Dockerfile"),
        "FROM python\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY src/ src/\n",
    )
    .unwrap();
    std::fs::write(d.path().join("requirements.txt"), "flask\n").unwrap();
    std::fs::create_dir_all(d.path().join("src")).unwrap();
    std::fs::write(d.path().join("notes.txt"), "x\n").unwrap();
    let out = dockfix(d.path(), &["audit", "."]);
    snap("audit__static", &String::from_utf8_lossy(&out.stdout));
}

#[test]
fn the_proposed_dockerignore_counts() {
    // Commits that only touch a tracked log file re-run `COPY . .` and the
    // install today; the rewrite's .dockerignore keeps *.log out, so after
    // it they re-run nothing. With an existing .dockerignore that already
    // has it, they re-run nothing today either.
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    git(p, &["init", "-q", "-b", "main"]);
    std::fs::write(
        p.join("Dockerfile"),
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n",
    )
    .unwrap();
    std::fs::write(p.join("requirements.txt"), "flask\n").unwrap();
    std::fs::write(p.join("debug.log"), "0\n").unwrap();
    git(p, &["add", "."]);
    git(p, &["commit", "-q", "-m", "initial"]);
    for i in 1..=4 {
        std::fs::write(p.join("debug.log"), format!("{i}\n")).unwrap();
        git(p, &["commit", "-q", "-am", &format!("log {i}")]);
    }
    let install = |v: &serde_json::Value, side: &str| -> u64 {
        let steps = v["audits"][0][side]["steps"].as_array().unwrap().clone();
        steps.iter().find(|s| s["is_install"] == true).unwrap()["rerun_commits"].as_u64().unwrap()
    };
    let out = dockfix(p, &["audit", "--format", "json", "--select", "dockerignore", "."]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(install(&v, "current"), 5, "{v}");
    assert_eq!(install(&v, "proposed"), 1, "only the initial commit: {v}");

    std::fs::write(p.join(".dockerignore"), "*.log\n").unwrap();
    let out = dockfix(p, &["audit", "--format", "json", "--select", "dockerignore", "."]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(install(&v, "current"), 1, "{v}");
}

#[test]
fn the_batch_summary_carries_the_audit_totals() {
    let d = repo();
    let out = dockfix(d.path(), &["--dry-run", "--format", "markdown", "--select", "reorder", "svc"]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("| installs re-run (history) |"), "{md}");
    assert!(md.contains("| 82% → 18% |"), "{md}");
    // Without a repository the column is not there.
    let plain = tempfile::tempdir().unwrap();
    std::fs::write(
        plain.path().join("Dockerfile"),
        "FROM python:3.12\nCOPY . .\nRUN pip install -r requirements.txt\n",
    )
    .unwrap();
    std::fs::write(plain.path().join("requirements.txt"), "flask\n").unwrap();
    let out = dockfix(plain.path(), &["--dry-run", "--format", "markdown", "--select", "reorder", "."]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("installs re-run"));
}
