//! Parser throughput on a large generated Dockerfile (target: >= 50 MB/s).
//! Run with `cargo bench -p dockfix-syntax`.

use std::time::Instant;

const BLOCK: &str = r#"# build stage
FROM python:3.12-slim AS build
ARG VERSION=1.0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY --chown=app:app requirements.txt ./
RUN --mount=type=cache,target=/root/.cache/pip \
    apt-get update \
    && apt-get install -y --no-install-recommends gcc libpq-dev \
    && pip install -r requirements.txt \
    && rm -rf /var/lib/apt/lists/*
COPY <<EOF /etc/app.conf
key = value
EOF
LABEL org.opencontainers.image.source="https://example.com/repo" version="1.0"
HEALTHCHECK --interval=30s CMD curl -f http://localhost:8000/ || exit 1
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]

"#;

fn main() {
    let mut src = String::with_capacity(21 * 1024 * 1024);
    while src.len() < 20 * 1024 * 1024 {
        src.push_str(BLOCK);
    }
    let _ = dockfix_syntax::parse(src.as_bytes()).unwrap();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let doc = dockfix_syntax::parse(src.as_bytes()).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        assert!(!doc.instructions.is_empty());
    }
    let mb = src.len() as f64 / 1e6;
    println!("parse: {mb:.1} MB in {best:.3} s (best of 5) = {:.0} MB/s (target >= 50 MB/s)", mb / best);
}
