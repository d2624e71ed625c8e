//! Generated Dockerfiles (from a small grammar of what services really
//! contain) through the whole pipeline, every pass with unsafe fixes on:
//! whatever the combination, the invariants hold (output reparses, applying
//! all fixes again proposes nothing, nothing outside the edits changes).

use dockfix_cli::invariants::{check, Checked};
use proptest::prelude::*;

fn base() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("FROM python:3.12-slim"),
        Just("FROM python:3.11-slim-bookworm AS app"),
        Just("FROM node:22"),
        Just("FROM golang:1.22-bookworm"),
        Just("FROM rust:1.79"),
        Just("FROM debian:bookworm"),
        Just("from alpine:3.20"),
    ]
}

fn step() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("WORKDIR /app"),
        Just("COPY . ."),
        Just("COPY . /app"),
        Just("COPY requirements.txt ."),
        Just("ADD . ."),
        Just("RUN pip install -r requirements.txt"),
        Just("RUN pip install --no-cache-dir ."),
        Just("RUN uv sync"),
        Just("RUN poetry install"),
        Just("RUN npm ci"),
        Just("RUN npm run build"),
        Just("RUN go mod download"),
        Just("RUN go build -o /bin/app ./..."),
        Just("RUN cargo build --release"),
        Just("RUN apt-get update"),
        Just("RUN apt-get install -y gcc libpq-dev"),
        Just("RUN apt-get update && apt-get install -y --no-install-recommends curl \\\n    && rm -rf /var/lib/apt/lists/*"),
        Just("RUN apk add --no-cache build-base"),
        Just("RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt"),
        Just("USER 1000"),
        Just("ENV PIP_NO_CACHE_DIR=1"),
        Just("ARG VERSION=1"),
        Just("# a comment"),
        Just(""),
        Just("EXPOSE 8000"),
        Just("CMD [\"python\", \"app.py\"]"),
        Just("CMD python app.py"),
        Just("ENTRYPOINT [\"/bin/app\"]"),
        Just("COPY --from=0 /bin/app /bin/app"),
        Just("RUN <<EOF\npip install flask\nEOF"),
    ]
}

fn dockerfile() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((base(), prop::collection::vec(step(), 0..8)), 1..3),
        any::<bool>(),
        prop_oneof![Just("\n"), Just("\r\n")],
    )
        .prop_map(|(stages, syntax, eol)| {
            let mut s = String::new();
            if syntax {
                s.push_str("# syntax=docker/dockerfile:1\n");
            }
            for (b, steps) in stages {
                s.push_str(b);
                s.push('\n');
                for st in steps {
                    s.push_str(st);
                    s.push('\n');
                }
            }
            if eol == "\r\n" {
                s = s.replace('\n', "\r\n");
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn the_pipeline_keeps_its_invariants(src in dockerfile()) {
        match check(src.as_bytes()) {
            Ok(Checked::Kept(_)) | Ok(Checked::Rejected(_)) => {}
            Err(e) => prop_assert!(false, "{e}\n--- input ---\n{src}"),
        }
    }
}
