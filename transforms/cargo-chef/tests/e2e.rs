//! End-to-end: rewrite a small Rust project's Dockerfile with the
//! `cargo-chef` pass, build the original and the rewrite for real with
//! BuildKit, run both images and compare what the program prints; then edit
//! one line of the sources, rebuild, and check that `cargo chef cook` came
//! from the cache.
//!
//! No registry is reachable and no test may use the network, so the test
//! makes its own images, offline (`docker build --network none`):
//! - `dockfix-test/rust:e2e`: the local `dockfix-test/debian:bookworm` with
//!   the host's Rust toolchain (`rustc --print sysroot`: bin/cargo,
//!   bin/rustc, lib/) and the few files the host's C compiler driver needs to
//!   link (rustc links through `cc`);
//! - `dockfix-test/cargo-chef:e2e`: that image plus the host's `cargo-chef`
//!   binary (used only if already installed; `cargo install cargo-chef
//!   --locked` puts it in ~/.cargo/bin).
//!
//! The fixture's dockfix.toml points the pass at them (`chef-image`,
//! `runtime-base`), and the project has no dependencies, so nothing is
//! downloaded. The test skips, with a message, when there is no engine, no
//! base image, no cargo-chef or no usable host toolchain.
//!
//! `DOCKFIX_E2E=0` skips it; `DOCKFIX_DOCKER` names the docker client
//! (default `/usr/bin/docker`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dockfix_core::{Engine, Mode, PassOptions, RealFs, Service};
use dockfix_pass_cargo_chef::CargoChef;

const BASE: &str = "dockfix-test/debian:bookworm";
const RUST_IMAGE: &str = "dockfix-test/rust:e2e";
const CHEF_IMAGE: &str = "dockfix-test/cargo-chef:e2e";

fn docker_bin() -> String {
    std::env::var("DOCKFIX_DOCKER").unwrap_or_else(|_| "/usr/bin/docker".into())
}

fn docker(args: &[&str]) -> Option<Output> {
    Command::new(docker_bin()).args(args).env("DOCKER_BUILDKIT", "1").output().ok()
}

fn ok(o: &Option<Output>) -> bool {
    o.as_ref().is_some_and(|o| o.status.success())
}

fn skip(why: &str) {
    eprintln!("SKIPPED cargo-chef end-to-end test: {why}");
}

fn sh(cmd: &str, args: &[&str]) -> Option<String> {
    let o = Command::new(cmd).args(args).output().ok()?;
    o.status.success().then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// Hard-links (or copies) a file, creating parent directories.
fn put(src: &Path, dst: &Path) -> std::io::Result<()> {
    if let Some(p) = dst.parent() {
        std::fs::create_dir_all(p)?;
    }
    if std::fs::hard_link(src, dst).is_err() {
        std::fs::copy(src, dst)?;
    }
    Ok(())
}

fn put_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let t = e.file_type()?;
        let to = dst.join(e.file_name());
        if t.is_dir() {
            put_tree(&e.path(), &to)?;
        } else if t.is_symlink() {
            let target = std::fs::read_link(e.path())?;
            if let Some(p) = to.parent() {
                std::fs::create_dir_all(p)?;
            }
            let _ = std::fs::remove_file(&to);
            std::os::unix::fs::symlink(target, &to)?;
        } else {
            put(&e.path(), &to)?;
        }
    }
    Ok(())
}

/// The files the host's `cc` needs to link a Rust program: the driver,
/// collect2 and the LTO plugin, the crt objects, libgcc, and glibc's link
/// files (rustc itself brings the linker, rust-lld).
fn link_files() -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let cc = sh("readlink", &["-f", &sh("sh", &["-c", "command -v cc"]).ok_or("no `cc` on the host")?])
        .ok_or("cannot resolve `cc`")?;
    let mut out = vec![(PathBuf::from(&cc), PathBuf::from("/usr/bin/cc"))];
    let collect2 = sh("cc", &["-print-prog-name=collect2"]).ok_or("cc cannot name collect2")?;
    let gcc_dir = Path::new(&collect2).parent().ok_or("collect2 has no directory")?.to_path_buf();
    for e in std::fs::read_dir(&gcc_dir).map_err(|e| e.to_string())? {
        let e = e.map_err(|e| e.to_string())?;
        let n = e.file_name().to_string_lossy().into_owned();
        let keep = matches!(
            n.as_str(),
            "collect2" | "liblto_plugin.so" | "lto-wrapper" | "libgcc.a" | "libgcc_eh.a" | "libgcc_s.so"
        ) || (n.starts_with("crt") && n.ends_with(".o"));
        if keep {
            out.push((e.path(), e.path()));
        }
    }
    let crt1 = sh("cc", &["-print-file-name=crt1.o"]).ok_or("cc cannot find crt1.o")?;
    let crt1 = std::fs::canonicalize(&crt1).map_err(|e| format!("{crt1}: {e}"))?;
    let libc_dir = crt1.parent().ok_or("crt1.o has no directory")?.to_path_buf();
    for e in std::fs::read_dir(&libc_dir).map_err(|e| e.to_string())? {
        let e = e.map_err(|e| e.to_string())?;
        let n = e.file_name().to_string_lossy().into_owned();
        let crt = n.ends_with("crt1.o") || matches!(n.as_str(), "crti.o" | "crtn.o");
        let lib = ["libc", "libm", "libmvec", "libpthread", "libdl", "librt", "libutil", "libresolv"].iter().any(|l| {
            n.strip_prefix(l).is_some_and(|rest| {
                matches!(rest, ".so" | ".a" | "_nonshared.a") || (rest.starts_with('-') && rest.ends_with(".a"))
            })
        });
        if crt || lib {
            let real = std::fs::canonicalize(e.path()).map_err(|e| e.to_string())?;
            out.push((real, e.path()));
        }
    }
    Ok(out)
}

/// Builds `dockfix-test/rust:e2e` and `dockfix-test/cargo-chef:e2e` unless
/// they exist for this toolchain and cargo-chef.
fn prepare_images(chef_bin: &Path) -> Result<(), String> {
    let version = sh("rustc", &["--version"]).ok_or("no rustc")?;
    let host = sh("rustc", &["-vV"]).ok_or("no rustc")?;
    if !host.lines().any(|l| l == "host: x86_64-unknown-linux-gnu") {
        return Err("the host toolchain is not x86_64-unknown-linux-gnu".into());
    }
    let label =
        format!("{version} / {}", sh(&chef_bin.display().to_string(), &["chef", "--version"]).unwrap_or_default());
    let have = docker(&["image", "inspect", "--format", "{{index .Config.Labels \"dockfix.e2e\"}}", CHEF_IMAGE]);
    if have.as_ref().is_some_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == label) {
        return Ok(());
    }
    let sysroot = PathBuf::from(sh("rustc", &["--print", "sysroot"]).ok_or("no sysroot")?);
    let tmp = tempfile::tempdir_in(std::env::temp_dir()).map_err(|e| e.to_string())?;
    let root = tmp.path().join("root");
    let local = root.join("usr/local");
    let io = |e: std::io::Error| e.to_string();
    for b in ["cargo", "rustc"] {
        put(&sysroot.join("bin").join(b), &local.join("bin").join(b)).map_err(io)?;
    }
    for e in std::fs::read_dir(sysroot.join("lib")).map_err(io)? {
        let e = e.map_err(io)?;
        if e.file_name().to_string_lossy().contains(".so") {
            put(&e.path(), &local.join("lib").join(e.file_name())).map_err(io)?;
        }
    }
    let triple = "lib/rustlib/x86_64-unknown-linux-gnu";
    put_tree(&sysroot.join(triple), &local.join(triple)).map_err(io)?;
    for (src, dst) in link_files()? {
        put(&src, &root.join(dst.strip_prefix("/").unwrap_or(&dst))).map_err(io)?;
    }
    std::fs::write(
        tmp.path().join("Dockerfile"),
        format!(
            "FROM {BASE}\nCOPY root/ /\nENV CARGO_HOME=/usr/local/cargo \\\n    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nRUN mkdir -p /usr/local/cargo/bin && chmod -R a+w /usr/local/cargo && ln -sf cc /usr/bin/gcc && rustc --version\n"
        ),
    )
    .map_err(io)?;
    let ctx = tmp.path().display().to_string();
    let o = docker(&["build", "--network", "none", "-q", "-t", RUST_IMAGE, &ctx]);
    if !ok(&o) {
        return Err(format!(
            "building {RUST_IMAGE} failed: {}",
            o.map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).unwrap_or_default()
        ));
    }
    let chef_ctx = tempfile::tempdir().map_err(io)?;
    put(chef_bin, &chef_ctx.path().join("cargo-chef")).map_err(io)?;
    std::fs::write(
        chef_ctx.path().join("Dockerfile"),
        format!("FROM {RUST_IMAGE}\nCOPY cargo-chef /usr/local/cargo/bin/cargo-chef\nLABEL dockfix.e2e=\"{label}\"\n"),
    )
    .map_err(io)?;
    let ctx = chef_ctx.path().display().to_string();
    let o = docker(&["build", "--network", "none", "-q", "-t", CHEF_IMAGE, &ctx]);
    if !ok(&o) {
        return Err(format!(
            "building {CHEF_IMAGE} failed: {}",
            o.map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).unwrap_or_default()
        ));
    }
    Ok(())
}

fn find_cargo_chef() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("DOCKFIX_CARGO_CHEF") {
        return Path::new(&p).is_file().then(|| PathBuf::from(p));
    }
    if let Some(p) = sh("sh", &["-c", "command -v cargo-chef"]) {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .ok()
        .or_else(|| std::env::var("HOME").ok().map(|h| Path::new(&h).join(".cargo")))?;
    let p = home.join("bin/cargo-chef");
    p.is_file().then_some(p)
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

/// Builds a Dockerfile; returns the plain progress output.
fn build(dir: &Path, dockerfile: &str, tag: &str) -> String {
    let ctx = dir.display().to_string();
    let file = dir.join(dockerfile).display().to_string();
    let o = docker(&["build", "--network", "none", "--progress", "plain", "-f", &file, "-t", tag, &ctx])
        .expect("docker runs");
    let log = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "building {dockerfile} failed:\n{log}");
    log
}

fn run(tag: &str) -> String {
    let o = docker(&["run", "--rm", "--network", "none", tag]).expect("docker runs");
    assert!(o.status.success(), "running {tag} failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn image_id(tag: &str) -> String {
    let o = docker(&["image", "inspect", "--format", "{{.Id}}", tag]).expect("docker runs");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn size(tag: &str) -> u64 {
    let o = docker(&["image", "inspect", "--format", "{{.Size}}", tag]).expect("docker runs");
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(0)
}

/// True if the step whose header contains `needle` was taken from the cache.
fn step_cached(log: &str, needle: &str) -> bool {
    let Some(id) =
        log.lines().find(|l| l.contains(needle) && l.starts_with('#')).and_then(|l| l.split_whitespace().next())
    else {
        return false;
    };
    log.lines().any(|l| l.trim() == format!("{id} CACHED"))
}

fn rewrite(dir: &Path) -> String {
    let dockerfile = dir.join("Dockerfile");
    let source = std::fs::read(&dockerfile).unwrap();
    let table: toml::Table = std::fs::read_to_string(dir.join("dockfix.toml")).unwrap().parse().unwrap();
    let mut options = PassOptions::default();
    for (k, v) in table {
        if let toml::Value::Table(t) = v {
            options.tables.insert(k, t);
        }
    }
    let pass = CargoChef;
    let engine = Engine::new(vec![&pass]);
    let out = engine
        .run(&Service::for_dockerfile(&dockerfile), &RealFs, &options, None, &source, Mode { unsafe_fixes: true })
        .unwrap();
    assert!(out.findings.iter().any(|r| r.applied), "the pass proposed nothing: {:?}", out.findings);
    String::from_utf8(out.fixed).unwrap()
}

#[test]
fn rewritten_dockerfile_builds_and_runs_like_the_original() {
    if std::env::var("DOCKFIX_E2E").as_deref() == Ok("0") {
        return skip("DOCKFIX_E2E=0");
    }
    if !ok(&docker(&["info"])) {
        return skip(&format!("no Docker engine answers `{} info`", docker_bin()));
    }
    if !ok(&docker(&["image", "inspect", BASE])) {
        return skip(&format!("the local base image {BASE} is missing"));
    }
    let Some(chef) = find_cargo_chef() else {
        return skip("cargo-chef is not installed on the host (`cargo install cargo-chef --locked`)");
    };
    if let Err(e) = prepare_images(&chef) {
        return skip(&e);
    }

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/greeter");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("greeter");
    copy_dir(&fixture, &dir);
    let fixed = rewrite(&dir);
    std::fs::write(dir.join("Dockerfile.chef"), &fixed).unwrap();
    eprintln!("rewritten Dockerfile:\n{fixed}");
    // Debian's 20.10 frontend parses what we generate: no heredocs, no --chmod.
    assert!(!fixed.contains("<<") && !fixed.contains("--chmod"), "{fixed}");

    let id = std::process::id();
    let (orig_tag, chef_tag) = (format!("dockfix-e2e/original:{id}"), format!("dockfix-e2e/chef:{id}"));
    struct Cleanup(Vec<String>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let mut args = vec!["rmi", "-f"];
            args.extend(self.0.iter().map(String::as_str));
            let _ = docker(&args);
        }
    }
    let mut cleanup = Cleanup(vec![orig_tag.clone(), chef_tag.clone()]);

    build(&dir, "Dockerfile", &orig_tag);
    build(&dir, "Dockerfile.chef", &chef_tag);
    // The rebuild below re-tags `chef_tag`; remove this image too.
    cleanup.0.push(image_id(&chef_tag));
    let (a, b) = (run(&orig_tag), run(&chef_tag));
    assert_eq!(a, b, "the rewritten image does not behave like the original");
    assert!(b.starts_with("HELLO, DOCKFIX!"), "{b}");
    assert!(!b.contains("uid=0 "), "USER app was lost: {b}");
    assert!(size(&chef_tag) < size(&orig_tag), "the runtime image is not smaller");

    // A one-line edit: the cook layer comes from the cache, the program changes.
    let main = dir.join("src/main.rs");
    let text = std::fs::read_to_string(&main).unwrap();
    // The nonce keeps BuildKit from finding this very edit in its cache from an earlier run.
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    // It is in the binary too (an environment variable's name), so the binary
    // is new content and the copies out of the builder really re-run.
    let edited = text.replace(
        "line = line.to_uppercase();",
        &format!(
            "line = format!(\"{{}}!!\", line.to_uppercase()); if std::env::var_os(\"DOCKFIX_E2E_{nonce}\").is_some() {{ line.clear(); }}"
        ),
    );
    std::fs::write(&main, format!("{edited}// edit {nonce}\n")).unwrap();
    let log = build(&dir, "Dockerfile.chef", &chef_tag);
    assert!(step_cached(&log, "cargo chef cook"), "cargo chef cook ran again after a source edit:\n{log}");
    assert!(!step_cached(&log, "cargo build --release"), "the build did not run again:\n{log}");
    assert!(run(&chef_tag).contains("!!!"), "the edit did not reach the image");

    // The cache model of `dockfix audit` predicts the same steps.
    let mut ran: Vec<String> = dockfix_verify::progress::parse(&log)
        .rerun()
        .iter()
        .filter_map(|s| s.name.split_once("] ").map(|(_, i)| dockfix_audit::normalize(i)))
        .collect();
    let doc = dockfix_syntax::parse_str(&fixed).unwrap();
    let model = dockfix_core::cache::model(&doc, None);
    let ignore = std::fs::read(dir.join(".dockerignore"))
        .ok()
        .and_then(|b| dockfix_dockerignore::Matcher::parse(&b).ok())
        .unwrap_or_default();
    let mut predicted: Vec<String> = model
        .invalidated(&["src/main.rs".to_string()], &|p| ignore.is_excluded(p))
        .iter()
        .filter(|i| !model.steps[**i].is_metadata())
        .map(|i| dockfix_audit::normalize(&model.steps[*i].text))
        .collect();
    ran.sort();
    predicted.sort();
    assert_eq!(ran, predicted, "the cache model disagrees with BuildKit:\n{log}");
}
