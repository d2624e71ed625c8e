//! Batch runs over a monorepo wired by compose: discovery through compose,
//! a Dockerfile shared by services, a context in a parent directory, a
//! tooling service, a broken file that does not stop the rest, and the
//! summary in text, Markdown and JSON.

use std::path::Path;
use std::process::{Command, Output};

fn dockfix(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run dockfix")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn snap(name: &str, value: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.bind(|| insta::assert_snapshot!(name, value));
}

const PY: &str = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"main.py\"]\n";

fn monorepo() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let w = |p: &str, c: &str| {
        let path = d.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, c).unwrap();
    };
    w(
        "compose.yaml",
        "services:\n  api:\n    build:\n      context: services/api\n      dockerfile: ../../docker/python.Dockerfile\n    ports: [\"8000:8000\"]\n    depends_on: [migrate]\n  worker:\n    build:\n      context: services/worker\n      dockerfile: ../../docker/python.Dockerfile\n  migrate:\n    build: services/api\n    command: alembic upgrade head\n  lint:\n    # runs the linters\n    build:\n      context: .\n      dockerfile: tools/lint/Dockerfile\n  db:\n    image: postgres:16\n",
    );
    w("docker/python.Dockerfile", PY);
    w("services/api/requirements.txt", "fastapi\n");
    w("services/api/Dockerfile", PY);
    w("services/worker/requirements.txt", "celery\n");
    w(
        "tools/lint/Dockerfile",
        "FROM python:3.12-slim\nCOPY tools/lint/requirements.txt .\nRUN pip install -r requirements.txt\n",
    );
    w("tools/lint/requirements.txt", "ruff\n");
    w("legacy/Dockerfile", "FROM alpine\nCMD [\"a\", 1]\n");
    // The batch mechanics are what these tests are about: two passes are enough.
    w("dockfix.toml", "select = [\"reorder\", \"compose-profiles\"]\n");
    d
}

#[test]
fn batch_over_a_monorepo() {
    let d = monorepo();
    let out = dockfix(d.path(), &["--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "a broken file makes the run exit 2");
    let err = text(&out.stderr);
    assert!(err.contains("legacy/Dockerfile:2:1: when using JSON array syntax"), "{err}");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("+++ b/docker/python.Dockerfile"), "{stdout}");
    assert!(stdout.contains("+++ b/services/api/Dockerfile"), "{stdout}");
    let summary = &stdout[stdout.rfind("\nfile ").expect("summary table") + 1..];
    snap("batch__summary_text", summary);

    let out = dockfix(d.path(), &["--dry-run", "--format", "markdown", "--unsafe-fixes"]);
    snap("batch__summary_markdown", &text(&out.stdout));

    let out = dockfix(d.path(), &["check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    snap("batch__summary_json", &serde_json::to_string_pretty(&v["summary"]).unwrap());
}

#[test]
fn apply_then_clean() {
    let d = monorepo();
    std::fs::remove_dir_all(d.path().join("legacy")).unwrap();
    let out = dockfix(d.path(), &["apply", "--unsafe-fixes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let compose = std::fs::read_to_string(d.path().join("compose.yaml")).unwrap();
    assert!(compose.contains("  lint:\n    profiles: [\"dev\"]\n    # runs the linters\n"), "{compose}");
    assert!(!compose.contains("  migrate:\n    profiles"), "migrate is depended on by api");
    let shared = std::fs::read_to_string(d.path().join("docker/python.Dockerfile")).unwrap();
    assert!(shared.contains("COPY requirements.txt ."), "{shared}");
    let out = dockfix(d.path(), &["--dry-run", "--unsafe-fixes"]);
    assert_eq!(out.status.code(), Some(0), "second run is clean: {}", text(&out.stdout));
}

#[test]
fn contexts_that_disagree_leave_the_file_alone() {
    let d = monorepo();
    std::fs::remove_dir_all(d.path().join("legacy")).unwrap();
    // worker has no requirements.txt: reorder refuses there, so the shared file stays.
    std::fs::remove_file(d.path().join("services/worker/requirements.txt")).unwrap();
    let out = dockfix(d.path(), &["--dry-run", "docker", "compose.yaml"]);
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("+++ b/docker/python.Dockerfile"), "{stdout}");
    assert!(stdout.contains("rewrites differ between the build contexts"), "{stdout}");
}

#[test]
fn two_dockerfiles_sharing_a_context_get_their_own_ignore_files() {
    // Two services built from the same context with Dockerfiles of their
    // own: one apply, and nothing is left to do.
    let d = tempfile::tempdir().unwrap();
    let w = |p: &str, c: &str| {
        let path = d.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, c).unwrap();
    };
    w(
        "compose.yaml",
        "services:\n  api:\n    build:\n      context: .\n      dockerfile: api/Dockerfile\n  worker:\n    build:\n      context: .\n      dockerfile: worker/Dockerfile\n",
    );
    w("api/Dockerfile", "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"api.py\"]\n");
    w("worker/Dockerfile", "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"worker.py\"]\n");
    w("api.py", "print(1)\n");
    w("worker.py", "print(2)\n");
    w(".git/HEAD", "ref: refs/heads/main\n");
    w("__pycache__/api.cpython-312.pyc", "x");
    // The summary measures each build context before and after.
    let out = dockfix(d.path(), &["--dry-run", "--format", "json", "--select", "dockerignore", "."]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["summary"]["rows"].as_array().unwrap();
    let df: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r["dockerfile"].as_str().unwrap().ends_with("Dockerfile")).collect();
    assert_eq!(df.len(), 2, "{v}");
    for r in df {
        let (b, a) = (r["context_before"].as_u64().unwrap(), r["context_after"].as_u64().unwrap());
        assert!(a < b && b - a >= 21, "the .git and __pycache__ bytes go: {r}");
    }
    let out = dockfix(d.path(), &["--dry-run", "--select", "dockerignore", "."]);
    assert!(text(&out.stdout).contains("; build contexts "), "{}", text(&out.stdout));
    let mut runs = 0;
    loop {
        let out = dockfix(d.path(), &["apply", "--select", "dockerignore", "."]);
        assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
        runs += 1;
        let check = dockfix(d.path(), &["--dry-run", "--select", "dockerignore", "."]);
        if check.status.code() == Some(0) {
            break;
        }
        assert!(runs < 3, "no convergence: {}", text(&check.stdout));
    }
    // Each Dockerfile outside the context root gets an ignore file of its
    // own (BuildKit reads <Dockerfile>.dockerignore first), so they do not
    // fight over the context's .dockerignore.
    assert_eq!(runs, 1);
    for f in ["api/Dockerfile.dockerignore", "worker/Dockerfile.dockerignore"] {
        let ignore = std::fs::read_to_string(d.path().join(f)).unwrap();
        assert!(ignore.contains(".git") && ignore.contains("__pycache__"), "{ignore}");
    }
    assert!(!d.path().join(".dockerignore").exists());
}

#[test]
fn a_shared_base_is_reported_then_extracted() {
    let d = tempfile::tempdir().unwrap();
    let w = |p: &str, c: &str| {
        let path = d.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, c).unwrap();
    };
    let start = "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends libpq5 \\\n    && rm -rf /var/lib/apt/lists/*\n";
    w("api/Dockerfile", &format!("{start}WORKDIR /app\nCOPY app.py .\nCMD [\"python\", \"app.py\"]\n"));
    w(
        "worker/Dockerfile",
        &format!("{start}# the worker\nWORKDIR /srv\nCOPY app.py .\nCMD [\"python\", \"app.py\"]\n"),
    );
    w("web/Dockerfile", "FROM nginx:1.27\nCOPY site /usr/share/nginx/html\n");
    for s in ["api", "worker"] {
        w(&format!("{s}/app.py"), "print(1)\n");
    }
    w("web/site/index.html", "hi\n");
    let out = dockfix(d.path(), &["--dry-run", "--select", "reorder", "."]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("shared base: 2 Dockerfiles start with `FROM python:3.12-slim` and the same system-package install:\n  api/Dockerfile\n  worker/Dockerfile\n"),
        "{stdout}"
    );
    let out = dockfix(d.path(), &["--dry-run", "--format", "json", "--select", "reorder", "."]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["shared_bases"][0]["members"].as_array().unwrap().len(), 2, "{v}");

    let out = dockfix(d.path(), &["apply", "--select", "reorder", "--extract-base", "docker/base.Dockerfile", "."]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("created docker/base.Dockerfile (shared base of 2 Dockerfiles; build it first: docker build -t local/base -f docker/base.Dockerfile docker)"), "{stdout}");
    let base = std::fs::read_to_string(d.path().join("docker/base.Dockerfile")).unwrap();
    assert!(base.ends_with(&format!("\n{start}")), "{base}");
    assert_eq!(
        std::fs::read_to_string(d.path().join("worker/Dockerfile")).unwrap(),
        "FROM local/base\n# the worker\nWORKDIR /srv\nCOPY app.py .\nCMD [\"python\", \"app.py\"]\n"
    );
    assert!(std::fs::read_to_string(d.path().join("web/Dockerfile")).unwrap().starts_with("FROM nginx:1.27\n"));
    // Nothing shared is left to report; the base Dockerfile itself is one more Dockerfile.
    let out = dockfix(d.path(), &["--dry-run", "--select", "reorder", "."]);
    assert!(!text(&out.stdout).contains("shared base:"), "{}", text(&out.stdout));
    // Nothing left to extract: an error, and nothing written.
    let out = dockfix(d.path(), &["apply", "--extract-base", "docker/other.Dockerfile", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no two Dockerfiles start with the same FROM"), "{}", text(&out.stderr));
    assert!(!d.path().join("docker/other.Dockerfile").exists());
}

#[test]
fn bake_targets_give_contexts_and_names() {
    // The bake target builds api/Dockerfile from the repository root: the
    // install reads api/requirements.txt from that context.
    let d = tempfile::tempdir().unwrap();
    let w = |p: &str, c: &str| {
        let path = d.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, c).unwrap();
    };
    w(
        "docker-bake.hcl",
        "group \"default\" {\n  targets = [\"api\"]\n}\n\ntarget \"api\" {\n  context    = \".\"\n  dockerfile = \"api/Dockerfile\"\n  args = {\n    PY = \"3.12\"\n  }\n}\n\ntarget \"odd\" {\n  context = \"${ROOT}\"\n}\n",
    );
    w("api/Dockerfile", "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r api/requirements.txt\nCMD [\"python\", \"api/main.py\"]\n");
    w("api/requirements.txt", "flask\n");
    w("api/main.py", "print(1)\n");
    let out = dockfix(d.path(), &["--dry-run", "--select", "reorder", "."]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("+COPY api/requirements.txt ./api/"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("api/Dockerfile") && l.contains(" api ") && l.contains("reorder")),
        "{stdout}"
    );
}
