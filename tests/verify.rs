//! `dockfix verify` against a real engine. The base image is made here from
//! the host's static busybox (Debian's `busybox-static`) plus a stand-in
//! `pip` that "installs" requirements slowly; nothing is pulled. Without an
//! engine or busybox the tests skip with a message.

use std::path::{Path, PathBuf};
use std::process::Command;

use dockfix_verify::{Docker, Input, Options, Verdict};

const BASE: &str = "dockfix-test/verify-fakepip:latest";

/// The engine and the base image, or why the test is skipped.
fn engine() -> Option<Docker> {
    let docker = match Docker::detect(None, Some("host".into())) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            return None;
        }
    };
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(PathBuf::from).find(|p| p.is_file());
    let Some(busybox) = busybox else {
        eprintln!("SKIPPED: no static busybox on this machine (apt-get install busybox-static)");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&busybox, dir.path().join("busybox")).unwrap();
    std::fs::write(
        dir.path().join("pip"),
        "#!/bin/sh\nwhile [ $# -gt 0 ]; do\n  case \"$1\" in\n    -r) shift; while read -r p; do case \"$p\" in \"\"|\\#*) ;; *) mkdir -p \"/usr/local/lib/site/$p\" ;; esac; done < \"$1\" ;;\n  esac\n  shift\ndone\nsleep 1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCOPY pip /usr/local/bin/pip\nRUN chmod 755 /usr/local/bin/pip\n",
    )
    .unwrap();
    let ok = Command::new(&docker.bin)
        .env("DOCKER_BUILDKIT", "1")
        .args(["build", "-q", "--network", "host", "-t", BASE])
        .stdout(std::process::Stdio::null())
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: could not build the local base image {BASE}");
        return None;
    }
    Some(docker)
}

fn service_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("Dockerfile"),
        format!("FROM {BASE}\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nRUN mkdir -p /app/out && echo built > /app/out/artifact\nCMD [\"sh\", \"/app/main.sh\"]\n"),
    )
    .unwrap();
    std::fs::write(d.path().join("requirements.txt"), "flask\nrequests\n").unwrap();
    std::fs::write(d.path().join("main.sh"), "cat /app/out/artifact\n").unwrap();
    d
}

#[test]
fn a_correct_rewrite_verifies_and_rebuilds_less() {
    let Some(_) = engine() else { return };
    let d = service_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(["verify", "--quiet", "--network", "host", "--format", "json"])
        .arg(d.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let r = &v[0];
    assert_eq!(r["verdict"], "equivalent");
    let edit = &r["edit"];
    assert_eq!(edit["file"], "main.sh");
    let before: Vec<String> = serde_json::from_value(edit["original_rerun"].clone()).unwrap();
    let after: Vec<String> = serde_json::from_value(edit["rewritten_rerun"].clone()).unwrap();
    assert!(before.iter().any(|s| s.contains("RUN pip install")), "{before:?}");
    assert!(!after.iter().any(|s| s.contains("RUN pip install")), "the install stays cached: {after:?}");
    assert!(Path::new(d.path()).join("Dockerfile").exists());
    let original = std::fs::read_to_string(d.path().join("Dockerfile")).unwrap();
    assert!(original.contains("COPY . .\nRUN pip"), "verify never touches the user's files");
}

#[test]
fn files_the_new_dockerignore_keeps_out_are_expected() {
    let Some(_) = engine() else { return };
    let d = service_dir();
    std::fs::create_dir_all(d.path().join(".git")).unwrap();
    std::fs::write(d.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::create_dir_all(d.path().join("__pycache__")).unwrap();
    std::fs::write(d.path().join("__pycache__/app.cpython-312.pyc"), "x").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dockfix"))
        .args(["verify", "--quiet", "--network", "host", "--format", "json", "--select", "dockerignore"])
        .arg(d.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v[0]["verdict"], "equivalent", "{stdout}");
    assert!(stdout.contains("/app/.git/HEAD") && stdout.contains("kept out of the build context"), "{stdout}");
    assert!(!d.path().join(".dockerignore").exists(), "verify never touches the user's files");
}

#[test]
fn a_cache_mount_over_an_output_directory_is_caught() {
    let Some(docker) = engine() else { return };
    let d = service_dir();
    let original = std::fs::read(d.path().join("Dockerfile")).unwrap();
    let broken = String::from_utf8(original.clone())
        .unwrap()
        .replace("RUN mkdir -p /app/out", "RUN --mount=type=cache,target=/app/out mkdir -p /app/out");
    let input = Input {
        service: dockfix_core::Service::for_dockerfile(d.path().join("Dockerfile")),
        original,
        rewritten: broken.into_bytes(),
        other_files: Vec::new(),
        applied_passes: vec!["cache-mounts".into()],
    };
    let report =
        dockfix_verify::verify(&docker, &input, &Options { no_edit: true, ..Options::default() }, &mut |_, _| {})
            .expect("verify runs");
    assert_eq!(report.verdict, Verdict::Different, "{}", dockfix_verify::render_text(&report));
    let c = report.comparison.clone().unwrap();
    assert!(c.unexpected().any(|x| x.what == "file /app/out/artifact"), "{c:?}");
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn a_rewrite_that_does_not_build_exits_2() {
    let Some(docker) = engine() else { return };
    let d = service_dir();
    let original = std::fs::read(d.path().join("Dockerfile")).unwrap();
    let input = Input {
        service: dockfix_core::Service::for_dockerfile(d.path().join("Dockerfile")),
        original: original.clone(),
        rewritten: String::from_utf8(original).unwrap().replace("COPY . .", "COPY missing.txt .").into_bytes(),
        other_files: Vec::new(),
        applied_passes: vec!["reorder".into()],
    };
    let report = dockfix_verify::verify(&docker, &input, &Options::default(), &mut |_, _| {}).unwrap();
    assert_eq!(report.verdict, Verdict::BuildFailed);
    assert!(!report.rewritten.ok && report.original.ok);
    assert_eq!(report.exit_code(), 2);
}

/// The audit's cache model must agree with BuildKit: for the original and
/// the rewritten Dockerfile, change one file, rebuild, and compare the steps
/// BuildKit re-ran (not CACHED) with the steps the model predicts.
#[test]
fn the_cache_model_agrees_with_buildkit() {
    let Some(docker) = engine() else { return };
    let d = service_dir();
    let original = std::fs::read_to_string(d.path().join("Dockerfile")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dockfix")).args(["apply", "-q"]).arg(d.path()).output().unwrap();
    assert!(out.status.success());
    let rewritten = std::fs::read_to_string(d.path().join("Dockerfile")).unwrap();
    assert_ne!(original, rewritten);
    for (label, text) in [("original", &original), ("rewritten", &rewritten)] {
        for changed in ["main.sh", "requirements.txt"] {
            let ctx = tempfile::tempdir().unwrap();
            for f in ["requirements.txt", "main.sh"] {
                std::fs::copy(d.path().join(f), ctx.path().join(f)).unwrap();
            }
            std::fs::write(ctx.path().join("Dockerfile"), text).unwrap();
            let tag = format!("dockfix-test/model-check:{label}");
            let df = ctx.path().join("Dockerfile");
            let none = std::collections::BTreeMap::new();
            let first = docker.build(&df, ctx.path(), &tag, None, &none, false, &mut |_| {}).unwrap();
            assert!(first.ok, "{}", first.log);
            let nonce = format!("{:?}", std::time::SystemTime::now());
            let mut content = std::fs::read_to_string(ctx.path().join(changed)).unwrap();
            // A line no earlier build saw (the engine's cache outlives the test).
            content.push_str(&format!("# {nonce}\n"));
            std::fs::write(ctx.path().join(changed), content).unwrap();
            let second = docker.build(&df, ctx.path(), &tag, None, &none, false, &mut |_| {}).unwrap();
            assert!(second.ok, "{}", second.log);
            let ran: Vec<String> = dockfix_verify::progress::parse(&second.log)
                .rerun()
                .iter()
                .filter_map(|s| s.name.split_once("] ").map(|(_, i)| dockfix_audit::normalize(i)))
                .collect();
            let doc = dockfix_syntax::parse_str(text).unwrap();
            let model = dockfix_core::cache::model(&doc, None);
            let predicted: Vec<String> = model
                .invalidated(&[changed.to_string()], &|_| false)
                .iter()
                .filter(|i| !model.steps[**i].is_metadata())
                .map(|i| dockfix_audit::normalize(&model.steps[*i].text))
                .collect();
            assert_eq!(ran, predicted, "{label}, change to {changed}:\n{}", second.log);
            docker.remove(&[&tag]);
        }
    }
}

/// The one-line-edit rebuilds get tags of their own: rebuilding under the
/// first tag would leave the first images behind untagged (dangling) after
/// the tags are removed.
#[test]
fn verify_leaves_no_image_behind() {
    let Some(docker) = engine() else { return };
    let d = service_dir();
    let original = std::fs::read(d.path().join("Dockerfile")).unwrap();
    let rewritten = String::from_utf8(original.clone())
        .unwrap()
        .replace("RUN pip install", "RUN --mount=type=cache,target=/root/.cache/pip pip install");
    let input = Input {
        service: dockfix_core::Service::for_dockerfile(d.path().join("Dockerfile")),
        original,
        rewritten: rewritten.into_bytes(),
        other_files: Vec::new(),
        applied_passes: vec!["cache-mounts".into()],
    };
    let exists =
        |tag: &str| Command::new(&docker.bin).args(["image", "inspect", tag]).output().unwrap().status.success();
    let id = |tag: &str| {
        let o = Command::new(&docker.bin).args(["image", "inspect", "--format", "{{.Id}}", tag]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    // Kept: every image verify built still has a tag.
    let kept = dockfix_verify::verify(&docker, &input, &Options { keep: true, ..Options::default() }, &mut |_, _| {})
        .expect("verify runs");
    assert!(kept.edit.is_some(), "{}", dockfix_verify::render_text(&kept));
    let tags = [
        kept.original.tag.clone(),
        kept.rewritten.tag.clone(),
        format!("{}-edited", kept.original.tag),
        format!("{}-edited", kept.rewritten.tag),
    ];
    for t in &tags {
        assert!(exists(t), "{t} is tagged");
    }
    assert_ne!(id(&tags[0]), id(&tags[2]), "the edited build is another image");
    let _ = Command::new(&docker.bin).arg("rmi").arg("-f").args(&tags).output();
    // Not kept: all of them are gone.
    let run = dockfix_verify::verify(&docker, &input, &Options::default(), &mut |_, _| {}).expect("verify runs");
    assert!(run.edit.is_some());
    for t in [
        run.original.tag.clone(),
        run.rewritten.tag.clone(),
        format!("{}-edited", run.original.tag),
        format!("{}-edited", run.rewritten.tag),
    ] {
        assert!(!exists(&t), "{t} was removed");
    }
}
