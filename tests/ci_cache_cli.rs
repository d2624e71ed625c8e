//! `ci-cache` through the command line: discovery of workflows and bake
//! files next to Dockerfiles, held back without `--unsafe-fixes`, the diff
//! with it, `apply` writing it, a clean second run, `passes`/`explain`.

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

const WORKFLOW: &str = "name: ci\non: push\njobs:\n  image:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      # the image\n      - name: Build\n        uses: docker/build-push-action@v6\n        with:\n          context: app\n          push: true\n          tags: ghcr.io/acme/app:latest\n";

const BAKE: &str = "target \"app\" {\n  context = \"app\"\n}\n";

fn repo() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let w = |p: &str, c: &str| {
        let path = d.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, c).unwrap();
    };
    w("repo/.github/workflows/ci.yml", WORKFLOW);
    w("repo/docker-bake.hcl", BAKE);
    w("repo/app/Dockerfile", "FROM alpine:3.20\nCMD [\"true\"]\n");
    d
}

#[test]
fn dry_run_apply_dry_run() {
    let d = repo();
    let wf = d.path().join("repo/.github/workflows/ci.yml");

    // Unsafe: reported, not applied, nothing to change.
    let out = dockfix(d.path(), &["--dry-run", "repo"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("repo/.github/workflows/ci.yml:10:9: ci-cache step `Build` builds without a cache"),
        "{stdout}"
    );
    assert!(stdout.contains("not applied without --unsafe-fixes"), "{stdout}");
    assert!(!stdout.contains("+++ b/repo/.github/workflows/ci.yml"), "{stdout}");

    let out = dockfix(d.path(), &["--dry-run", "--unsafe-fixes", "repo"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("+++ b/repo/.github/workflows/ci.yml"), "{stdout}");
    assert!(
        stdout.contains(
            "+      - name: Set up Docker Buildx\n+        uses: docker/setup-buildx-action@v3\n       # the image\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("+          cache-from: type=gha\n"), "{stdout}");
    assert!(stdout.contains("+++ b/repo/docker-bake.hcl"), "{stdout}");
    assert!(stdout.contains("+  cache-to = [\"type=gha,mode=max,scope=app\"]"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&wf).unwrap(), WORKFLOW, "dry-run writes nothing");

    let out = dockfix(d.path(), &["apply", "--unsafe-fixes", "repo"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("fixed repo/.github/workflows/ci.yml (1 fix: ci-cache)"),
        "{}",
        text(&out.stdout)
    );
    let after = std::fs::read_to_string(&wf).unwrap();
    assert_eq!(
        after,
        WORKFLOW.replace(
            "      # the image\n",
            "      - name: Set up Docker Buildx\n        uses: docker/setup-buildx-action@v3\n      # the image\n"
        ) + "          cache-from: type=gha\n          cache-to: type=gha,mode=max\n"
    );
    let bake = std::fs::read_to_string(d.path().join("repo/docker-bake.hcl")).unwrap();
    assert_eq!(
        bake,
        "target \"app\" {\n  context = \"app\"\n  cache-from = [\"type=gha,scope=app\"]\n  cache-to = [\"type=gha,mode=max,scope=app\"]\n}\n"
    );

    let out = dockfix(d.path(), &["--dry-run", "--unsafe-fixes", "repo"]);
    assert_eq!(out.status.code(), Some(0), "second run is clean: {}", text(&out.stdout));
    assert!(!text(&out.stdout).contains("ci-cache"), "{}", text(&out.stdout));
}

#[test]
fn only_when_selected_and_workflow_given_by_path() {
    let d = repo();
    let out = dockfix(d.path(), &["--dry-run", "--unsafe-fixes", "--select", "reorder", "repo"]);
    assert!(!text(&out.stdout).contains("ci-cache"), "{}", text(&out.stdout));
    let out = dockfix(d.path(), &["--dry-run", "--unsafe-fixes", "repo/.github/workflows/ci.yml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("+++ b/repo/.github/workflows/ci.yml"), "{}", text(&out.stdout));
    let out = dockfix(d.path(), &["check", "repo"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("2 findings in 1 Dockerfile and 2 other files"), "{}", text(&out.stderr));
    let out = dockfix(d.path(), &["check", "--format", "json", "repo"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files: Vec<&str> = v["files"].as_array().unwrap().iter().filter_map(|f| f["path"].as_str()).collect();
    assert!(files.contains(&"repo/.github/workflows/ci.yml") && files.contains(&"repo/docker-bake.hcl"), "{files:?}");
}

#[test]
fn broken_workflow_is_an_error_and_the_rest_goes_on() {
    let d = repo();
    std::fs::write(d.path().join("repo/.github/workflows/bad.yml"), "jobs: [\n").unwrap();
    let out = dockfix(d.path(), &["--dry-run", "--unsafe-fixes", "repo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("bad.yml: not valid YAML"), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("+++ b/repo/.github/workflows/ci.yml"), "{}", text(&out.stdout));
}

#[test]
fn listed_and_explained() {
    let d = tempfile::tempdir().unwrap();
    let out = dockfix(d.path(), &["passes"]);
    assert!(
        text(&out.stdout).lines().any(|l| l.starts_with("ci-cache ") && l.contains("unsafe")),
        "{}",
        text(&out.stdout)
    );
    let out = dockfix(d.path(), &["explain", "ci-cache"]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    for want in
        ["# ci-cache", "cache-from: type=gha", "setup-buildx-action@v3", "When it only reports", "Class: unsafe"]
    {
        assert!(s.contains(want), "{want}: {s}");
    }
}
