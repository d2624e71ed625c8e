//! Output formats (JSON, SARIF, GitHub), config files, suppressions and the
//! small subcommands, through the binary. Outputs are snapshot-tested; SARIF
//! is validated against the official SARIF 2.1.0 JSON schema.

use std::path::{Path, PathBuf};
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

fn snap(name: &str, value: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.bind(|| insta::assert_snapshot!(name, value));
}

/// A small repository: one service to reorder, one with a suppression.
fn repo() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let w = |p: &str, c: &str| {
        let path = d.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, c).unwrap();
    };
    w("api/Dockerfile", "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n");
    w("api/requirements.txt", "flask\n");
    w("worker/Dockerfile", "FROM python:3.12-slim\nWORKDIR /app\n# dockfix: ignore[reorder]\nCOPY . .\nRUN pip install -r requirements.txt\n# dockfix: ignore[reorder]\nCMD [\"python\", \"w.py\"]\n");
    w("worker/requirements.txt", "celery\n");
    d
}

/// The official SARIF 2.1.0 schema, as shipped in the serde-sarif crate's
/// sources (a dev-dependency, so it is in the local cargo registry).
fn sarif_schema() -> serde_json::Value {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"serde-sarif\""))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .expect("serde-sarif in Cargo.lock");
    let src = home.join("registry/src");
    for index in std::fs::read_dir(&src).expect("cargo registry sources") {
        let p = index.unwrap().path().join(format!("serde-sarif-{version}/src/schema.json"));
        if p.is_file() {
            return serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        }
    }
    panic!("the SARIF schema of serde-sarif {version} is not under {}", src.display());
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let d = repo();
    let out = dockfix(d.path(), &["check", "--select", "reorder", "--format", "sarif", "api", "worker"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut schema = sarif_schema();
    // Erratum: the official schema's `language` patterns have a stray `]`
    // that ECMA regexes tolerate and Rust's reject. Use the intended pattern.
    fn fix_patterns(v: &mut serde_json::Value, n: &mut usize) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "pattern" && x == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" {
                        *x = serde_json::json!("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
                        *n += 1;
                    } else {
                        fix_patterns(x, n);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| fix_patterns(x, n)),
            _ => {}
        }
    }
    let mut fixed = 0;
    fix_patterns(&mut schema, &mut fixed);
    assert!(fixed > 0, "the schema changed: revisit this erratum");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "SARIF does not validate:\n{}", errors.join("\n"));
    // And it reads back through a typed model generated from the same schema.
    let typed: serde_sarif::sarif::Sarif = serde_json::from_value(log.clone()).expect("typed SARIF");
    assert_eq!(typed.runs.len(), 1);
    // Broken SARIF must fail the same check (the check can fail).
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("loud");
    assert!(!validator.is_valid(&broken));

    let mut shown = log;
    shown["runs"][0]["tool"]["driver"]["version"] = serde_json::json!("[version]");
    for r in shown["runs"][0]["tool"]["driver"]["rules"].as_array_mut().unwrap() {
        r["help"] = serde_json::json!("[explanation]");
    }
    snap("formats__sarif", &serde_json::to_string_pretty(&shown).unwrap());
}

#[test]
fn json_check_and_dry_run() {
    let d = repo();
    let out = dockfix(d.path(), &["check", "--select", "reorder", "--format", "json", "api", "worker"]);
    assert_eq!(out.status.code(), Some(1));
    snap("formats__json_check", &text(&out.stdout));
    let out = dockfix(d.path(), &["--dry-run", "--select", "reorder", "--format", "json", "worker"]);
    assert_eq!(out.status.code(), Some(0), "a fully suppressed file has nothing to change");
    snap("formats__json_dry_run_clean", &text(&out.stdout));
}

#[test]
fn github_annotations() {
    let d = repo();
    let out = dockfix(d.path(), &["check", "--select", "reorder", "--format", "github", "api"]);
    assert_eq!(out.status.code(), Some(1));
    snap("formats__github", &text(&out.stdout));
}

#[test]
fn unused_suppressions_are_reported_on_request() {
    let d = repo();
    let out = dockfix(d.path(), &["check", "--select", "reorder", "worker"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!text(&out.stderr).contains("silences nothing"));
    let out = dockfix(d.path(), &["check", "--select", "reorder", "--warn-unused-suppressions", "worker"]);
    let err = text(&out.stderr);
    assert!(err.contains("worker/Dockerfile:6: suppression of reorder silences nothing"), "{err}");
    assert!(!err.contains("Dockerfile:3:"), "the used one is not reported: {err}");
}

#[test]
fn config_file_select_ignore_and_errors() {
    let d = repo();
    std::fs::write(
        d.path().join("dockfix.toml"),
        "ignore = [\"reorder\"]\n\n[[overrides]]\npaths = [\"api/**\"]\nselect = [\"reorder\"]\nignore = []\n",
    )
    .unwrap();
    // The override re-selects reorder for api/ but the top-level ignore still applies: ignore wins.
    let out = dockfix(d.path(), &["check", "api"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // Ignoring every pass that has something to say leaves nothing.
    std::fs::write(d.path().join("dockfix.toml"), "ignore = [\"reorder\", \"cache-mounts\", \"lockfile\"]\n").unwrap();
    let out = dockfix(d.path(), &["check", "api"]);
    assert_eq!(out.status.code(), Some(0));
    std::fs::write(d.path().join("dockfix.toml"), "unsafe-fixes = true\n").unwrap();
    let out = dockfix(d.path(), &["check", "api"]);
    assert_eq!(out.status.code(), Some(1));

    std::fs::write(d.path().join("dockfix.toml"), "select = [\"reorder\"]\n\n[reorder]\nfoo = 1\n").unwrap();
    let out = dockfix(d.path(), &["check", "api"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("dockfix.toml:4:1: unknown option `foo` for pass `reorder`"), "{err}");

    std::fs::write(d.path().join("dockfix.toml"), "selct = []\n").unwrap();
    let out = dockfix(d.path(), &["check", "api"]);
    assert!(text(&out.stderr).contains("dockfix.toml:1:1: unknown key `selct`"), "{}", text(&out.stderr));

    // A nearer .dockfix.toml wins for files below it.
    std::fs::write(d.path().join("dockfix.toml"), "ignore = [\"reorder\"]\n").unwrap();
    std::fs::write(d.path().join("api/.dockfix.toml"), "select = [\"reorder\"]\n").unwrap();
    let out = dockfix(d.path(), &["check", "api"]);
    assert_eq!(out.status.code(), Some(1));
    let out = dockfix(d.path(), &["config", "api"]);
    assert_eq!(out.status.code(), Some(0));
    let shown = text(&out.stdout).replace(&d.path().canonicalize().unwrap().display().to_string(), "[repo]");
    snap("formats__config", &shown);
}

#[test]
fn small_subcommands() {
    let d = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = dockfix(d.path(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out.stdout).contains("dockfix"), "{shell}");
    }
    let out = dockfix(d.path(), &["man"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains(".TH dockfix"));
    let out = dockfix(d.path(), &["--version"]);
    assert!(text(&out.stdout).starts_with(&format!("dockfix {}", env!("CARGO_PKG_VERSION"))));
    let out = dockfix(d.path(), &["passes"]);
    snap("formats__passes", &text(&out.stdout));
}
