use super::*;
use dockfix_core::{Engine, MemFs, Mode, PassOptions, Service};

/// Runs the pass to a fixed point with unsafe fixes on; returns the
/// findings and the output.
fn run_with(src: &str, files: &[(&str, &str)], opts: &[(&str, &str)]) -> (Vec<Finding>, String) {
    let mut fs = MemFs::new();
    for (p, c) in files {
        fs.insert(format!("/c/{p}"), c.as_bytes().to_vec());
    }
    let mut options = PassOptions::default();
    for (k, v) in opts {
        options.tables.entry(NAME.to_string()).or_default().insert(k.to_string(), toml_value(v));
    }
    let svc = Service::for_dockerfile("/c/Dockerfile");
    let eng = Engine::new(vec![&MultiStage]);
    let out = eng.run(&svc, &fs, &options, None, src.as_bytes(), Mode { unsafe_fixes: true }).unwrap();
    let fixed = String::from_utf8(out.fixed.clone()).unwrap();
    // Idempotent: a second run changes nothing.
    let again = eng.run(&svc, &fs, &options, None, fixed.as_bytes(), Mode { unsafe_fixes: true }).unwrap();
    assert!(!again.changed(), "second run changed:\n{}", String::from_utf8_lossy(&again.fixed));
    (out.findings.into_iter().map(|r| r.finding).collect(), fixed)
}

fn toml_value(v: &str) -> toml::Value {
    toml::Value::String(v.to_string())
}

fn run(src: &str, files: &[(&str, &str)]) -> (Vec<Finding>, String) {
    run_with(src, files, &[])
}

/// The text of the last stage.
fn runtime(out: &str) -> &str {
    let p = out.rfind("\nFROM ").expect("a second stage");
    &out[p + 1..]
}

const PY: &str = "FROM python:3.12-slim-bookworm\nRUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev && rm -rf /var/lib/apt/lists/*\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nCMD [\"gunicorn\", \"app:app\"]\n";

#[test]
fn python_becomes_builder_and_runtime() {
    let (f, out) = run(PY, &[("requirements.txt", "psycopg2==2.9.9\n")]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].applicability(), Applicability::Unsafe);
    assert!(f[0].message.contains("`gcc` and `libpq-dev`"), "{}", f[0].message);
    assert!(out.starts_with("FROM python:3.12-slim-bookworm AS builder\n"), "{out}");
    assert!(out.contains("RUN python3 -m venv /opt/venv\nENV VIRTUAL_ENV=/opt/venv PATH=\"/opt/venv/bin:$PATH\"\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n"), "{out}");
    let rt = runtime(&out);
    assert!(rt.starts_with("FROM python:3.12-slim-bookworm\n"), "{rt}");
    assert!(rt.contains("apt-get install -y --no-install-recommends libpq5"), "{rt}");
    assert!(!rt.contains("gcc"), "{rt}");
    assert!(rt.contains("COPY --from=builder /opt/venv /opt/venv\n"), "{rt}");
    // The copy of requirements.txt is repeated by `COPY . .`: not doubled.
    assert!(!rt.contains("COPY requirements.txt"), "{rt}");
    assert!(rt.ends_with("COPY . .\nCMD [\"gunicorn\", \"app:app\"]\n"), "{rt}");
}

#[test]
fn already_multi_stage_and_no_build_tools_are_left_alone() {
    let multi = "FROM python:3.12 AS build\nRUN apt-get install -y gcc\nRUN pip install x\nFROM python:3.12-slim\nCOPY --from=build /usr/local /usr/local\n";
    assert!(run(multi, &[]).0.is_empty());
    let plain = "FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n";
    assert!(run(plain, &[("requirements.txt", "flask\n")]).0.is_empty());
    // Build tools removed in the same RUN never ship.
    let alpine = "FROM python:3.12-alpine3.19\nRUN apk add --no-cache --virtual .build-deps gcc musl-dev && pip install psutil && apk del .build-deps\n";
    assert!(run(alpine, &[]).0.is_empty());
}

#[test]
fn refuses_when_the_runtime_needs_the_toolchain() {
    let src = "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y gcc\nCOPY . /app\nRUN pip install -r /app/requirements.txt\nCMD sh -c \"pip install -r /app/extra.txt && python /app/main.py\"\n";
    let (f, out) = run(src, &[("requirements.txt", "x\n")]);
    assert_eq!(out, src);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].applicability(), Applicability::DisplayOnly);
    assert!(f[0].why.contains("runs `pip install` at start-up"), "{}", f[0].why);

    let src = "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y gcc\nCOPY . /app\nRUN pip install -r /app/requirements.txt\nENTRYPOINT [\"/app/entrypoint.sh\"]\n";
    let (f, _) = run(
        src,
        &[("requirements.txt", "x\n"), ("entrypoint.sh", "#!/bin/sh\nset -e\ngcc -o /tmp/x x.c\nexec \"$@\"\n")],
    );
    assert!(f[0].why.contains("entrypoint script `entrypoint.sh` runs `gcc`"), "{}", f[0].why);
}

#[test]
fn alpine_maps_to_alpine_packages() {
    let src = "FROM python:3.11-alpine3.19\nRUN apk add --no-cache gcc musl-dev postgresql-dev libffi-dev\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n";
    let (_, out) = run(src, &[("requirements.txt", "psycopg2\n")]);
    let rt = runtime(&out);
    assert!(rt.contains("RUN apk add --no-cache libpq libffi\n"), "{rt}");
}

#[test]
fn go_binary_on_slim_debian() {
    let src = "FROM golang:1.22-bookworm\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN go build -ldflags=\"-s -w\" -o /bin/server ./cmd/server\nEXPOSE 8080\nENTRYPOINT [\"/bin/server\"]\n";
    let (_, out) =
        run(src, &[("go.mod", "module example.com/svc\n"), ("go.sum", ""), ("cmd/server/main.go", "package main\n")]);
    assert!(out.contains("RUN CGO_ENABLED=0 go build -ldflags=\"-s -w\" -o /bin/server ./cmd/server\n"), "{out}");
    let rt = runtime(&out);
    assert!(rt.starts_with("FROM debian:bookworm-slim\n"), "{rt}");
    assert!(rt.contains("ca-certificates tzdata"), "{rt}");
    assert!(rt.contains("COPY --from=builder /bin/server /bin/server\n"), "{rt}");
    assert!(!rt.contains("COPY . ."), "{rt}");
}

#[test]
fn go_binary_named_after_the_module() {
    let src = "FROM golang:1.22-alpine3.19\nWORKDIR /src\nCOPY . .\nRUN go build\nCMD [\"./svc\"]\n";
    let (_, out) = run(src, &[("go.mod", "module github.com/acme/svc/v2\n"), ("main.go", "package main\n")]);
    let rt = runtime(&out);
    assert!(rt.starts_with("FROM alpine:3.19\nRUN apk add --no-cache ca-certificates tzdata\n"), "{rt}");
    assert!(rt.contains("COPY --from=builder /src/svc /src/svc\n"), "{rt}");
}

#[test]
fn go_cgo_keeps_cgo() {
    let src = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\nCMD [\"/app\"]\n";
    let (f, out) =
        run(src, &[("go.mod", "module x\n"), ("main.go", "package main\n// #include <stdio.h>\nimport \"C\"\n")]);
    assert!(!out.contains("CGO_ENABLED"), "{out}");
    assert!(f[0].gain.as_deref().unwrap_or("").contains("cgo"));
}

#[test]
fn java_runs_on_a_jre() {
    let src = "FROM maven:3.9-eclipse-temurin-17\nWORKDIR /app\nCOPY pom.xml .\nRUN mvn -B dependency:go-offline\nCOPY src ./src\nRUN mvn -B package -DskipTests\nCMD [\"java\", \"-jar\", \"target/app.jar\"]\n";
    let (_, out) = run(src, &[("pom.xml", "<project/>"), ("src/Main.java", "")]);
    let rt = runtime(&out);
    assert!(
        rt.starts_with(
            "FROM eclipse-temurin:17-jre\nWORKDIR /app\nCOPY --from=builder /app/target/app.jar /app/target/app.jar\n"
        ),
        "{rt}"
    );
}

#[test]
fn node_prunes_dev_dependencies() {
    let src = "FROM node:20\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\nCMD [\"node\", \"dist/server.js\"]\n";
    let pkg =
        r#"{"scripts": {"build": "tsc"}, "dependencies": {"express": "4"}, "devDependencies": {"typescript": "5"}}"#;
    let (_, out) = run(src, &[("package.json", pkg), ("package-lock.json", "{}")]);
    assert!(out.contains("RUN npm run build\nRUN npm prune --omit=dev\n"), "{out}");
    let rt = runtime(&out);
    assert!(rt.contains("COPY --from=builder /app /app\n"), "{rt}");
    assert!(!rt.contains("npm ci"), "{rt}");

    let start = src.replace("[\"node\", \"dist/server.js\"]", "[\"npm\", \"start\"]");
    let pkg = r#"{"scripts": {"start": "ts-node src/index.ts"}, "devDependencies": {"ts-node": "10"}}"#;
    let (f, _) = run(&start, &[("package.json", pkg)]);
    assert_eq!(f[0].applicability(), Applicability::DisplayOnly);
    assert!(f[0].why.contains("`ts-node`, a devDependency"), "{}", f[0].why);
}

#[test]
fn options_choose_the_runtime() {
    let src = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\nUSER 65532\nCMD [\"/app\"]\n";
    let (_, out) = run_with(src, &[("go.mod", "module x\n")], &[("runtime-base", "scratch")]);
    let rt = runtime(&out);
    assert!(rt.starts_with("FROM scratch\nCOPY --from=builder /etc/ssl/certs/ca-certificates.crt"), "{rt}");
    let (_, out) = run_with(PY, &[("requirements.txt", "x\n")], &[("venv", "/venv")]);
    assert!(out.contains("RUN python3 -m venv /venv\n"), "{out}");
}

#[test]
fn odd_inputs_do_not_panic() {
    for src in [
        "FROM python:3.12\nRUN []\nRUN apt-get install -y gcc\nRUN pip install x\n",
        "FROM python:3.12\nRUN apt-get install -y gcc\nRUN pip install x\nCMD []\n",
        "FROM $BASE\nRUN apk add gcc\nRUN pip install\n",
        "FROM golang\nRUN go build -o\n",
        "FROM maven\nRUN mvn package\nCMD [\"java\", \"-jar\"]\n",
        "FROM node\nRUN apt-get install -y g++\nRUN npm ci\n",
    ] {
        let _ = run(src, &[]);
    }
}
