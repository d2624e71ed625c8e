//! The pass through the engine, on in-memory build contexts: cases the
//! fixture harness cannot express (a compose context above the
//! Dockerfile, Dockerfiles sharing an ignore file) and focused safety
//! checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dockfix_core::{Applicability, Engine, MemFs, Mode, Outcome, PassOptions, Service};

use super::Dockerignore;

fn run(svc: &Service, fs: &MemFs, unsafe_fixes: bool) -> Outcome {
    let src = fs.read_file(&svc.dockerfile);
    let pass = Dockerignore;
    Engine::new(vec![&pass]).run(svc, fs, &PassOptions::default(), None, &src, Mode { unsafe_fixes }).expect("engine")
}

trait Read {
    fn read_file(&self, p: &Path) -> Vec<u8>;
}
impl Read for MemFs {
    fn read_file(&self, p: &Path) -> Vec<u8> {
        dockfix_core::Fs::read(self, p).expect("file")
    }
}

/// Runs, applies the changes to `fs`, runs again: the second run must change nothing.
fn run_twice(svc: &Service, fs: &mut MemFs, unsafe_fixes: bool) -> Outcome {
    let out = run(svc, fs, unsafe_fixes);
    for f in &out.files {
        fs.insert(f.path.clone(), f.after.clone());
    }
    let again = run(svc, fs, unsafe_fixes);
    assert!(!again.changed(), "second run changes {:?}", again.files.iter().map(|f| &f.path).collect::<Vec<_>>());
    out
}

fn ignore_text(out: &Outcome, path: &str) -> String {
    let f = out.files.iter().find(|f| f.path == Path::new(path)).unwrap_or_else(|| {
        panic!("{path} not written; files: {:?}", out.files.iter().map(|f| &f.path).collect::<Vec<_>>())
    });
    String::from_utf8(f.after.clone()).unwrap()
}

fn patterns(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

fn compose(dockerfile: &str, context: &str) -> Service {
    Service {
        dockerfile: PathBuf::from(dockerfile),
        context: PathBuf::from(context),
        name: Some("api".into()),
        target: None,
        build_args: BTreeMap::new(),
    }
}

#[test]
fn compose_context_in_a_parent_directory() {
    // docker-compose.yml: build: { context: ., dockerfile: services/api/Dockerfile }
    let mut fs = MemFs::new()
        .with(
            "/repo/services/api/Dockerfile",
            "FROM python:3.12\nWORKDIR /app\nCOPY libs/ /libs/\nCOPY services/api/ .\nCMD [\"python\", \"main.py\"]\n",
        )
        .with("/repo/services/api/main.py", "print(1)")
        .with("/repo/services/api/__pycache__/main.cpython-312.pyc", "x".repeat(3000))
        .with("/repo/libs/util.py", "u")
        .with("/repo/libs/.pytest_cache/v", "c".repeat(500))
        .with("/repo/.git/HEAD", "g".repeat(9000))
        .with("/repo/web/node_modules/x/index.js", "n".repeat(9000));
    let svc = compose("/repo/services/api/Dockerfile", "/repo");
    let out = run_twice(&svc, &mut fs, true);
    // The Dockerfile is not at the context root: its own ignore file, so
    // that other builds from /repo are not affected.
    let text = ignore_text(&out, "/repo/services/api/Dockerfile.dockerignore");
    // BuildKit only sends libs/ and services/api/: .git and web/ are not
    // sent, so they are not worth an entry.
    // The Dockerfile comes along: BuildKit reads it apart from the context.
    assert_eq!(patterns(&text), ["services/api/Dockerfile", "**/.pytest_cache", "**/__pycache__"]);
    let f = &out.findings[0].finding;
    assert!(f.why.contains("BuildKit sends only what the Dockerfile reads"), "{}", f.why);
    assert_eq!(f.fix.as_ref().unwrap().applicability, Applicability::Safe);
}

#[test]
fn compose_context_with_a_dockerignore_at_its_root() {
    let mut fs = MemFs::new()
        .with("/repo/services/api/Dockerfile", "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n")
        .with("/repo/.dockerignore", "# ours\n.git\n")
        .with("/repo/.git/HEAD", "g")
        .with("/repo/node_modules/x/index.js", "n".repeat(9000))
        .with("/repo/package.json", "{}");
    let svc = compose("/repo/services/api/Dockerfile", "/repo");
    let out = run_twice(&svc, &mut fs, false);
    // BuildKit reads the context's .dockerignore: extend it.
    let text = ignore_text(&out, "/repo/.dockerignore");
    assert_eq!(
        text,
        "# ours\n.git\n\n# Container build files\nservices/api/Dockerfile\n\n# Dependencies installed on the host\nnode_modules\n"
    );
}

#[test]
fn a_dockerfile_specific_ignore_file_wins() {
    let mut fs = MemFs::new()
        .with("/c/api.Dockerfile", "FROM a\nCOPY . /app\n")
        .with("/c/api.Dockerfile.dockerignore", "*.md\n")
        .with("/c/.dockerignore", "")
        .with("/c/x.log", "l");
    let svc = Service::for_dockerfile("/c/api.Dockerfile");
    let out = run_twice(&svc, &mut fs, false);
    assert_eq!(
        ignore_text(&out, "/c/api.Dockerfile.dockerignore"),
        "*.md\n\n# Container build files\napi.Dockerfile\n\n# Logs\n**/*.log\n"
    );
    assert_eq!(out.files.len(), 1);
}

#[test]
fn dockerfiles_sharing_the_context_ignore_file() {
    // Dockerfile rebuilds dist/; worker.Dockerfile copies the host's dist/.
    let mut fs = MemFs::new()
        .with("/c/Dockerfile", "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n")
        .with("/c/worker.Dockerfile", "FROM nginx\nCOPY dist/ /usr/share/nginx/html/\n")
        .with("/c/package.json", r#"{"scripts": {"build": "vite build"}}"#)
        .with("/c/dist/index.html", "d".repeat(5000))
        .with("/c/node_modules/v/index.js", "n".repeat(5000))
        .with("/c/.DS_Store", "o");
    let svc = Service::for_dockerfile("/c/Dockerfile");
    let out = run_twice(&svc, &mut fs, true);
    let text = ignore_text(&out, "/c/.dockerignore");
    assert_eq!(patterns(&text), ["Dockerfile", "worker.Dockerfile", "**/.DS_Store", "node_modules"]);
    let why = &out.findings[0].finding.why;
    assert!(why.contains("dist (JavaScript build output, 5.00 kB): `COPY dist/ /usr/share/nginx/html/` in worker.Dockerfile reads it"), "{why}");
}

#[test]
fn what_a_copy_names_is_never_excluded() {
    let mut fs = MemFs::new()
        .with("/c/Dockerfile", "FROM a\nCOPY .git/HEAD /version\nCOPY *.log /logs/\nCOPY . /app\n")
        .with("/c/.git/HEAD", "ref: main")
        .with("/c/.git/objects/pack", "p".repeat(5000))
        .with("/c/build.log", "l".repeat(100))
        .with("/c/sub/debug.log", "l".repeat(100))
        .with("/c/__pycache__/a.pyc", "c");
    let svc = Service::for_dockerfile("/c/Dockerfile");
    let out = run_twice(&svc, &mut fs, true);
    let text = ignore_text(&out, "/c/.dockerignore");
    // `**/*.log` would hide build.log from `COPY *.log`: each log file is
    // considered on its own instead.
    assert_eq!(patterns(&text), ["Dockerfile", "**/__pycache__", "sub/debug.log"]);
    let why = &out.findings[0].finding.why;
    assert!(why.contains(".git (git history, 5.01 kB): `COPY .git/HEAD /version` reads it"), "{why}");
    assert!(why.contains("build.log (log files, 100 B): `COPY *.log /logs/` reads it"), "{why}");
}

#[test]
fn exceptions_are_not_overridden() {
    let mut fs = MemFs::new()
        .with("/c/Dockerfile", "FROM a\nWORKDIR /app\nCOPY . .\nRUN npm ci\n")
        .with("/c/.dockerignore", "node_modules\n!node_modules/patched.js\n*\n!src\n")
        .with("/c/node_modules/patched.js", "p")
        .with("/c/node_modules/x.log", "l")
        .with("/c/src/index.js", "i")
        .with("/c/src/__pycache__/a.pyc", "c".repeat(50))
        .with("/c/src/debug.log", "l".repeat(50));
    let svc = Service::for_dockerfile("/c/Dockerfile");
    let out = run_twice(&svc, &mut fs, true);
    let text = ignore_text(&out, "/c/.dockerignore");
    // Junk inside the re-included src/ may go: `!src` names src, not its caches.
    assert_eq!(patterns(&text)[4..], ["**/__pycache__", "**/*.log"]);
}

#[test]
fn exception_named_files_stay() {
    let mut fs = MemFs::new()
        .with("/c/Dockerfile", "FROM a\nCOPY . /app\n")
        .with("/c/.dockerignore", "logs\n!logs/keep.log\n")
        .with("/c/logs/keep.log", "k".repeat(10))
        .with("/c/app.log", "a".repeat(10));
    let svc = Service::for_dockerfile("/c/Dockerfile");
    let out = run_twice(&svc, &mut fs, true);
    // `**/*.log` would re-exclude logs/keep.log: only app.log is added.
    let text = ignore_text(&out, "/c/.dockerignore");
    assert_eq!(patterns(&text), ["logs", "!logs/keep.log", "Dockerfile", "app.log"]);
    let m = dockfix_dockerignore::Matcher::parse(text.as_bytes()).unwrap();
    assert!(!m.is_excluded("logs/keep.log"));
}

#[test]
fn nothing_for_a_context_read_file_by_file() {
    let fs = MemFs::new()
        .with(
            "/c/Dockerfile",
            "FROM python:3.12\nCOPY requirements.txt app.py ./\nRUN pip install -r requirements.txt\n",
        )
        .with("/c/requirements.txt", "flask")
        .with("/c/app.py", "app")
        .with("/c/.venv/pyvenv.cfg", "home")
        .with("/c/.venv/lib/x.py", "v".repeat(5000))
        .with("/c/.git/HEAD", "g".repeat(5000));
    let svc = Service::for_dockerfile("/c/Dockerfile");
    let out = run(&svc, &fs, true);
    assert!(out.findings.is_empty(), "{:?}", out.findings.iter().map(|r| &r.finding.message).collect::<Vec<_>>());
}

#[test]
fn git_needed_by_the_build_is_kept() {
    let mut fs = MemFs::new()
        .with("/c/Dockerfile", "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install .\n")
        .with("/c/pyproject.toml", "[build-system]\nrequires = [\"setuptools\", \"setuptools-scm\"]\n")
        .with("/c/.git/HEAD", "g".repeat(100))
        .with("/c/.mypy_cache/x", "m");
    let svc = Service::for_dockerfile("/c/Dockerfile");
    let out = run_twice(&svc, &mut fs, true);
    // Without .git, setuptools-scm fails the install: .git stays.
    assert_eq!(patterns(&ignore_text(&out, "/c/.dockerignore")), ["Dockerfile", "**/.mypy_cache"]);
    let why = &out.findings[0].finding.why;
    assert!(
        why.contains("Kept in the context: .git (git history, 100 B): pyproject.toml uses setuptools-scm"),
        "{why}"
    );
}

#[test]
fn git_stamped_into_a_go_binary_is_unsafe() {
    let mut fs = MemFs::new()
        .with("/c/Dockerfile", "FROM golang:1.23\nWORKDIR /src\nCOPY . .\nRUN go build -o /bin/app .\n")
        .with("/c/.git/HEAD", "g".repeat(100));
    let svc = Service::for_dockerfile("/c/Dockerfile");
    let out = run_twice(&svc, &mut fs, false);
    assert!(out.files.is_empty());
    let risky = &out.findings[0];
    assert_eq!(risky.finding.applicability(), Applicability::Unsafe);
    assert!(risky.finding.why.contains("stamps the binary with the commit"), "{}", risky.finding.why);
    assert!(!risky.applied);
}

#[test]
fn an_excluded_copy_source_is_reported() {
    let mut fs = MemFs::new()
        .with("/c/Dockerfile", "FROM a\nCOPY config.yaml /etc/app/\nCOPY .env /app/\n")
        .with("/c/.dockerignore", "*.yaml\n.env\n")
        .with("/c/config.yaml", "x: 1")
        .with("/c/.env", "S=1");
    let svc = Service::for_dockerfile("/c/Dockerfile");
    let out = run_twice(&svc, &mut fs, true);
    assert_eq!(ignore_text(&out, "/c/.dockerignore"), "*.yaml\n.env\n\n# Read by COPY\n!config.yaml\n");
    let msgs: Vec<(&str, Applicability)> =
        out.findings.iter().map(|r| (r.finding.message.as_str(), r.finding.applicability())).collect();
    assert_eq!(
        msgs,
        [
            (
                ".dockerignore excludes `config.yaml`, which `COPY config.yaml /etc/app/` copies: the build fails",
                Applicability::Unsafe
            ),
            (
                ".dockerignore excludes `.env`, which `COPY .env /app/` copies: the build fails",
                Applicability::DisplayOnly
            ),
        ]
    );
}

#[test]
fn an_invalid_ignore_file_is_left_alone() {
    let fs =
        MemFs::new().with("/c/Dockerfile", "FROM a\nCOPY . .\n").with("/c/.dockerignore", "[\n").with("/c/a.log", "l");
    let out = run(&Service::for_dockerfile("/c/Dockerfile"), &fs, true);
    assert!(out.files.is_empty());
    assert_eq!(out.findings.len(), 1);
    assert!(
        out.findings[0].finding.message.contains("cannot be used: line 1: bad pattern"),
        "{}",
        out.findings[0].finding.message
    );
}

#[test]
fn bind_mounts_read_the_context() {
    let mut fs = MemFs::new()
        .with("/c/Dockerfile", "FROM node:22\nWORKDIR /app\nRUN --mount=type=bind,target=. npm ci && npm run build\n")
        .with("/c/package.json", "{}")
        .with("/c/node_modules/a.js", "n".repeat(100))
        .with("/c/npm-debug.log", "l");
    let svc = Service::for_dockerfile("/c/Dockerfile");
    let out = run_twice(&svc, &mut fs, false);
    assert_eq!(patterns(&ignore_text(&out, "/c/.dockerignore")), ["Dockerfile", "**/*.log"]);
    let risky = out.findings.iter().find(|r| r.finding.applicability() == Applicability::Unsafe).unwrap();
    assert!(risky.finding.why.contains("mounts it from the context"), "{}", risky.finding.why);
}

#[test]
fn exceptions_hold_under_the_plain_parent_rule_too() {
    // With the walker, `**/.pytest_cache` appended leaves .pytest_cache/README.md
    // alone (the exception's parent was excluded before the new pattern was
    // tried); BuildKit releases that try each pattern against the parents
    // would exclude it again. dockfix writes only `sub/.pytest_cache`.
    let mut fs = MemFs::new()
        .with("/c/Dockerfile", "FROM a\nCOPY . /app\n")
        .with("/c/.dockerignore", ".pytest_cache\n!.pytest_cache/README.md\n")
        .with("/c/.pytest_cache/README.md", "r")
        .with("/c/.pytest_cache/v/x", "v")
        .with("/c/sub/.pytest_cache/v/x", "v".repeat(10));
    let svc = Service::for_dockerfile("/c/Dockerfile");
    let out = run_twice(&svc, &mut fs, true);
    let text = ignore_text(&out, "/c/.dockerignore");
    assert_eq!(patterns(&text), [".pytest_cache", "!.pytest_cache/README.md", "Dockerfile", "sub/.pytest_cache"]);
}

#[test]
fn sibling_dockerfiles_stay_protected_once_they_have_their_own_file() {
    // Run 1 creates .dockerignore for Dockerfile and worker.Dockerfile.dockerignore
    // for worker.Dockerfile; run 2 must not then exclude what worker copies.
    let mut fs = MemFs::new()
        .with("/c/Dockerfile", "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n")
        .with("/c/worker.Dockerfile", "FROM nginx\nCOPY dist/ /usr/share/nginx/html/\n")
        .with("/c/package.json", r#"{"scripts": {"build": "vite build"}}"#)
        .with("/c/dist/index.html", "d".repeat(50))
        .with("/c/dist/app.log", "l");
    let main = Service::for_dockerfile("/c/Dockerfile");
    let worker = Service::for_dockerfile("/c/worker.Dockerfile");
    let a = run(&main, &fs, true);
    let b = run(&worker, &fs, true);
    for f in a.files.iter().chain(&b.files) {
        fs.insert(f.path.clone(), f.after.clone());
    }
    assert!(dockfix_core::Fs::is_file(&fs, Path::new("/c/worker.Dockerfile.dockerignore")));
    assert!(!run(&main, &fs, true).changed());
    assert!(!run(&worker, &fs, true).changed());
}

#[test]
fn the_dockerfile_alone_is_no_reason_to_write_a_file() {
    let fs = MemFs::new()
        .with("/c/Dockerfile", "FROM a\nCOPY . /app\n")
        .with("/c/docker-compose.yml", "services: {}\n")
        .with("/c/.env", "S=1");
    let out = run(&Service::for_dockerfile("/c/Dockerfile"), &fs, true);
    // Only .env, in the unsafe fix: the container files do not ride along.
    assert_eq!(patterns(&ignore_text(&out, "/c/.dockerignore")), [".env"]);
    let fs = MemFs::new().with("/c/Dockerfile", "FROM a\nCOPY . /app\n").with("/c/docker-compose.yml", "x");
    assert!(run(&Service::for_dockerfile("/c/Dockerfile"), &fs, true).findings.is_empty());
}

#[test]
fn an_excluded_copy_directory_comes_back_whole() {
    let mut fs = MemFs::new()
        .with("/c/Dockerfile", "FROM a\nCOPY src /app/src\n")
        .with("/c/.dockerignore", "**/*.md\nsrc\n")
        .with("/c/src/a.py", "a")
        .with("/c/src/pkg/b.py", "b")
        .with("/c/src/README.md", "r");
    let svc = Service::for_dockerfile("/c/Dockerfile");
    let out = run_twice(&svc, &mut fs, true);
    let text = ignore_text(&out, "/c/.dockerignore");
    assert_eq!(patterns(&text), ["**/*.md", "src", "!src", "!src/**"]);
    let m = dockfix_dockerignore::Matcher::parse(text.as_bytes()).unwrap();
    assert!(!m.is_excluded("src/pkg/b.py"));
    let why = &out.findings[0].finding.why;
    assert!(why.contains("with everything below it that earlier lines excluded"), "{why}");
}
