//! End to end: build a Python service with a native dependency (a C
//! extension linked against zlib, `tests/fixtures/multi-stage/e2e-python-native`)
//! as written and as `multi-stage` rewrites it, then check that the
//! rewritten image still imports and runs the extension, no longer has gcc,
//! and is smaller; then that after a one-line edit BuildKit re-runs what
//! the cache model of `dockfix audit` predicts.
//!
//! Needs a Docker engine (`/usr/bin/docker`, or `$DOCKER`) and the local
//! base image `dockfix-test/python3:bookworm-offline`, which
//! `scripts/prepare-e2e-python-base.sh` builds once (that script, and only
//! it, downloads Debian packages). The builds here run with `--network
//! none`: the base image carries its own apt repository. Without the engine
//! or the base image the test prints why and passes without building.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dockfix_cli::plan::{plan_file, Settings};
use dockfix_cli::registry;
use dockfix_core::{Mode, PassOptions};

const BASE: &str = "dockfix-test/python3:bookworm-offline";

fn docker() -> String {
    std::env::var("DOCKER").unwrap_or_else(|_| "/usr/bin/docker".into())
}

fn run(args: &[&str]) -> Option<Output> {
    Command::new(docker()).args(args).env("DOCKER_BUILDKIT", "1").output().ok()
}

fn skip(why: &str) {
    eprintln!("SKIPPED e2e multi-stage test: {why}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn build(dir: &Path, tag: &str) {
    let out = run(&["build", "--network", "none", "-q", "-t", tag, dir.to_str().unwrap()]).expect("docker runs");
    assert!(
        out.status.success(),
        "building {} failed:\n{}\n--- Dockerfile ---\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.join("Dockerfile")).unwrap_or_default()
    );
}

fn size(tag: &str) -> u64 {
    let out = run(&["image", "inspect", "-f", "{{.Size}}", tag]).expect("docker runs");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("an image size")
}

fn in_container(tag: &str, cmd: &[&str]) -> String {
    let mut args = vec!["run", "--rm", "--network", "none", tag];
    args.extend_from_slice(cmd);
    let out = run(&args).expect("docker runs");
    assert!(out.status.success(), "{cmd:?} in {tag} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

struct Cleanup(Vec<String>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        for t in &self.0 {
            let _ = run(&["rmi", "-f", t]);
        }
    }
}

#[test]
fn converted_python_image_imports_its_native_extension_and_is_smaller() {
    match run(&["info", "--format", "{{.ServerVersion}}"]) {
        Some(o) if o.status.success() => {}
        _ => return skip(&format!("no Docker engine answers at `{} info`", docker())),
    }
    match run(&["image", "inspect", BASE]) {
        Some(o) if o.status.success() => {}
        _ => {
            return skip(&format!(
                "the base image {BASE} is absent; build it once with scripts/prepare-e2e-python-base.sh (it needs Debian's package archive)"
            ))
        }
    }
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/multi-stage/e2e-python-native");
    let tmp = tempfile::tempdir().unwrap();
    let (orig, conv) = (tmp.path().join("orig"), tmp.path().join("conv"));
    copy_dir(&fixture, &orig);
    copy_dir(&fixture, &conv);

    // Rewrite with multi-stage (and reorder, which has nothing to do here).
    let settings = Settings {
        passes: vec![registry::find("reorder").unwrap(), registry::find("multi-stage").unwrap()],
        mode: Mode { unsafe_fixes: true },
        options: PassOptions::default(),
    };
    let dockerfile = conv.join("Dockerfile");
    let plan = plan_file(&dockerfile, &settings).unwrap();
    assert!(plan.outcome.changed(), "multi-stage proposed nothing");
    std::fs::write(&dockerfile, &plan.outcome.fixed).unwrap();
    let text = String::from_utf8_lossy(&plan.outcome.fixed).into_owned();
    assert!(text.contains("AS builder"), "{text}");

    let id = std::process::id();
    let (t_orig, t_conv) = (format!("dockfix-e2e-ms-orig:{id}"), format!("dockfix-e2e-ms-conv:{id}"));
    let _cleanup = Cleanup(vec![t_orig.clone(), t_conv.clone()]);
    build(&orig, &t_orig);
    build(&conv, &t_conv);

    // Same behaviour: the default command prints zlib's CRC-32 of "dockfix".
    let expected = "2402937322";
    assert_eq!(in_container(&t_orig, &[]), expected);
    assert_eq!(in_container(&t_conv, &[]), expected);
    assert_eq!(in_container(&t_conv, &["python3", "-c", "import fastcrc; print(fastcrc.crc32(b'dockfix'))"]), expected);
    // The compiler stayed in the builder.
    assert_eq!(in_container(&t_orig, &["sh", "-c", "command -v gcc || echo none"]), "/usr/bin/gcc");
    assert_eq!(in_container(&t_conv, &["sh", "-c", "command -v gcc || echo none"]), "none");

    let (before, after) = (size(&t_orig), size(&t_conv));
    eprintln!(
        "image size: original {:.1} MB, multi-stage {:.1} MB ({:.1} MB less)",
        before as f64 / 1e6,
        after as f64 / 1e6,
        (before - after.min(before)) as f64 / 1e6
    );
    assert!(after < before, "the converted image is not smaller: {after} >= {before}");

    // A one-line edit of the app: the steps BuildKit re-runs are the ones
    // the cache model of `dockfix audit` predicts (only the app's copy).
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let app = conv.join("app.py");
    let mut text_app = std::fs::read_to_string(&app).unwrap();
    text_app.push_str(&format!("# edit {nonce}\n"));
    std::fs::write(&app, text_app).unwrap();
    let out = run(&["build", "--network", "none", "--progress", "plain", "-t", &t_conv, conv.to_str().unwrap()])
        .expect("docker runs");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    let mut ran: Vec<String> = dockfix_verify::progress::parse(&log)
        .rerun()
        .iter()
        .filter_map(|s| s.name.split_once("] ").map(|(_, i)| dockfix_audit::normalize(i)))
        .collect();
    let doc = dockfix_syntax::parse(&plan.outcome.fixed).unwrap();
    let model = dockfix_core::cache::model(&doc, None);
    let mut predicted: Vec<String> = model
        .invalidated(&["app.py".to_string()], &|_| false)
        .iter()
        .filter(|i| !model.steps[**i].is_metadata())
        .map(|i| dockfix_audit::normalize(&model.steps[*i].text))
        .collect();
    ran.sort();
    predicted.sort();
    assert_eq!(ran, predicted, "the cache model disagrees with BuildKit:\n{log}");
    assert_eq!(predicted, ["COPY app.py ."]);
}
