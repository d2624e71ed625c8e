//! The full pipeline on one core: parse, every pass (unsafe fixes on), the
//! fix engine to its fixed point and the reparse, over the fixtures'
//! Dockerfiles (a mix of real-world shapes: Python, Node, Go, Rust, Java,
//! multi-stage, heredocs, CRLF…), each with a build context in memory.
//! Target: at least 5,000 files/s. Run with `cargo bench --bench pipeline`.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dockfix_cli::{invariants::sample_context, registry};
use dockfix_core::engine::Engine;
use dockfix_core::{Mode, PassOptions, Service};

fn inputs() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let mut v: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    v.sort();
    v.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn pipeline(c: &mut Criterion) {
    let files = inputs();
    let contexts: Vec<_> = files.iter().map(|f| sample_context(f)).collect();
    let engine = Engine::new(registry::all());
    let service = Service::for_dockerfile(Path::new("/ctx/Dockerfile"));
    let options = PassOptions::default();
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(files.len() as u64));
    g.sample_size(20);
    g.bench_function("all passes, one core", |b| {
        b.iter(|| {
            for (src, fs) in files.iter().zip(&contexts) {
                let _ = engine.run(&service, fs, &options, None, src, Mode { unsafe_fixes: true });
            }
        })
    });
    g.finish();
}

/// Each pass's `check` alone on the parsed files (round one of the engine):
/// where the pipeline's time goes.
fn per_pass(c: &mut Criterion) {
    use dockfix_core::fs::Overlay;
    use dockfix_core::Context;
    let files = inputs();
    let contexts: Vec<_> = files.iter().map(|f| sample_context(f)).collect();
    let docs: Vec<_> = files.iter().map(|f| dockfix_syntax::parse(f).ok()).collect();
    let service = Service::for_dockerfile(Path::new("/ctx/Dockerfile"));
    let options = PassOptions::default();
    let passes = registry::all();
    let names: Vec<&'static str> = passes.iter().map(|p| p.name()).collect();
    let mut g = c.benchmark_group("pass");
    g.throughput(Throughput::Elements(files.len() as u64));
    g.sample_size(10);
    for pass in &passes {
        g.bench_function(pass.name(), |b| {
            b.iter(|| {
                for (doc, fs) in docs.iter().zip(&contexts) {
                    let Some(doc) = doc else { continue };
                    let overlay = Overlay::new(fs);
                    let cx = Context {
                        doc,
                        service: &service,
                        fs: &overlay,
                        options: &options,
                        history: None,
                        passes: &names,
                    };
                    let _ = pass.check(&cx);
                }
            })
        });
    }
    g.bench_function("parse", |b| {
        b.iter(|| {
            for f in &files {
                let _ = dockfix_syntax::parse(f);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, pipeline, per_pass);
criterion_main!(benches);

/// The allocator the `dockfix` binary uses (src/main.rs), so the numbers are
/// the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
