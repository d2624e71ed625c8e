//! cache-mounts against a real BuildKit: the rewrite of a Dockerfile builds,
//! and its image has the same files as the original's, minus the cache the
//! mount keeps out (and, on BuildKit before 0.10, plus empty mount points).
//!
//! Offline and fast: a stand-in `pip` on the local busybox image writes a
//! "wheel" into its cache and an "install" elsewhere. Skips (passes with a
//! message) when no engine or no `dockfix-test/busybox` image is available.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use dockfix_cli::plan::{plan_file, Settings};
use dockfix_cli::registry;
use dockfix_core::{Mode, PassOptions};

const DOCKER: &str = "/usr/bin/docker";
const IMAGE: &str = "dockfix-test/busybox:latest";

fn engine() -> bool {
    Path::new(DOCKER).exists()
        && Command::new(DOCKER).args(["image", "inspect", IMAGE]).output().is_ok_and(|o| o.status.success())
}

fn build(dir: &Path, file: &str, tag: &str) {
    let out = Command::new(DOCKER)
        .args(["build", "-q", "--network", "host", "-f", file, "-t", tag, "."])
        .env("DOCKER_BUILDKIT", "1")
        .current_dir(dir)
        .output()
        .expect("docker build");
    assert!(out.status.success(), "{file} does not build:\n{}", String::from_utf8_lossy(&out.stderr));
}

fn files(tag: &str) -> BTreeSet<String> {
    let id = Command::new(DOCKER).args(["create", tag, "sh"]).output().expect("docker create");
    let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
    let tar = Command::new(DOCKER).args(["export", &id]).output().expect("docker export");
    let _ = Command::new(DOCKER).args(["rm", &id]).output();
    let listing = Command::new("tar")
        .args(["-t"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(&tar.stdout)?;
            c.wait_with_output()
        })
        .expect("tar -t");
    String::from_utf8_lossy(&listing.stdout).lines().map(|l| l.trim_end_matches('/').to_string()).collect()
}

#[test]
fn rewrite_builds_and_keeps_the_image_files() {
    if !engine() {
        eprintln!("skipped: no container engine at {DOCKER} or no {IMAGE} image");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // The image has no /etc/passwd: HOME would be `/`.
    let original = r#"FROM dockfix-test/busybox:latest
ENV HOME=/root
RUN mkdir -p /usr/local/bin \
 && printf '#!/bin/sh\nfor a; do n=$a; done\nmkdir -p "$HOME/.cache/pip" /site\necho wheel > "$HOME/.cache/pip/$n.whl"\necho "$n" > "/site/$n"\n' > /usr/local/bin/pip \
 && chmod +x /usr/local/bin/pip
RUN pip install \
      --no-cache-dir \
      alpha \
 && rm -rf /root/.cache/pip
RUN ["pip", "install", "beta"]
CMD ["cat", "/site/alpha", "/site/beta"]
"#;
    std::fs::write(dir.join("Dockerfile"), original).unwrap();
    std::fs::write(dir.join("Dockerfile.orig"), original).unwrap();

    let settings = Settings {
        passes: vec![registry::find("cache-mounts").unwrap()],
        mode: Mode::default(),
        options: PassOptions::default(),
    };
    let plan = plan_file(&dir.join("Dockerfile"), &settings).unwrap();
    let fixed = String::from_utf8(plan.outcome.fixed.clone()).unwrap();
    assert!(
        fixed.contains("RUN --mount=type=cache,target=/root/.cache/pip \\\n      pip install \\\n      alpha\n"),
        "{fixed}"
    );
    assert!(
        fixed.contains("RUN --mount=type=cache,target=/root/.cache/pip [\"pip\", \"install\", \"beta\"]"),
        "{fixed}"
    );
    std::fs::write(dir.join("Dockerfile"), &fixed).unwrap();

    let tag = format!("dockfix-test-cache-mounts-{}", std::process::id());
    build(dir, "Dockerfile.orig", &format!("{tag}-orig"));
    build(dir, "Dockerfile", &format!("{tag}-new"));
    let before = files(&format!("{tag}-orig"));
    let after = files(&format!("{tag}-new"));
    let _ = Command::new(DOCKER).args(["rmi", &format!("{tag}-orig"), &format!("{tag}-new")]).output();

    // The installs are there; the cache the original kept is not.
    assert!(after.contains("site/alpha") && after.contains("site/beta"), "{after:?}");
    assert!(before.contains("root/.cache/pip/beta.whl"));
    let lost: Vec<&String> = before.difference(&after).collect();
    assert!(lost.iter().all(|p| p.starts_with("root/.cache/pip/")), "files the image lost: {lost:?}");
    // Older BuildKit leaves the (empty) mount points behind; nothing else.
    let gained: Vec<&String> = after.difference(&before).collect();
    assert!(gained.iter().all(|p| p.starts_with("root/.cache")), "files the image gained: {gained:?}");
}
