//! The full pipeline (discover + parse + every pass + diff) over a generated
//! monorepo of 2,000 services wired by one compose file. Target: well under
//! a second on 2 cores. Run with `cargo bench --bench batch`.

use std::io::Write;
use std::time::Instant;

use dockfix_cli::{batch, discover, plan::Settings, registry, render};
use dockfix_core::{Mode, PassOptions};

fn main() {
    let n = 2000;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut compose = String::from("services:\n");
    for i in 0..n {
        let svc = root.join(format!("services/svc{i:04}"));
        std::fs::create_dir_all(&svc).unwrap();
        let df = match i % 3 {
            0 => "FROM python:3.12-slim\nWORKDIR /app\n# sources\nCOPY . .\nRUN apt-get update && apt-get install -y --no-install-recommends libpq5 \\\n    && rm -rf /var/lib/apt/lists/*\nRUN pip install --no-cache-dir -r requirements.txt\nEXPOSE 8000\nCMD [\"gunicorn\", \"app:app\"]\n",
            1 => "FROM python:3.12\nWORKDIR /srv\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\nCMD [\"python\", \"-m\", \"srv\"]\n",
            _ => "FROM alpine:3.20\nRUN apk add --no-cache curl\nCOPY entry.sh /entry.sh\nENTRYPOINT [\"/entry.sh\"]\n",
        };
        std::fs::write(svc.join("Dockerfile"), df).unwrap();
        std::fs::write(svc.join("requirements.txt"), "flask==3.0.3\n").unwrap();
        std::fs::write(svc.join("app.py"), "print('hi')\n").unwrap();
        compose.push_str(&format!("  svc{i:04}:\n    build: services/svc{i:04}\n"));
    }
    std::fs::write(root.join("compose.yaml"), compose).unwrap();

    let settings = Settings { passes: registry::all(), mode: Mode::default(), options: PassOptions::default() };
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let found = discover::discover(&[root.to_path_buf()]).unwrap();
        let composes: Vec<_> = found.compose_files.iter().map(|c| dockfix_compose::load(c).unwrap()).collect();
        let units = batch::units(&found.dockerfiles, &composes);
        let plans = batch::plan_all(&units, |_| {
            Ok(Settings { passes: settings.passes.clone(), mode: settings.mode, options: settings.options.clone() })
        });
        let mut sink = std::io::sink();
        let mut changed = 0;
        for p in plans.iter().flatten() {
            if p.outcome.changed() {
                changed += 1;
                render::dry_run(&mut sink, p).unwrap();
            }
        }
        sink.flush().unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(units.len(), n);
        assert!(changed >= n / 3);
        best = best.min(secs);
    }
    println!("batch: {n} services in {best:.3} s (best of 5) = {:.0} files/s", n as f64 / best);
}

/// The allocator the `dockfix` binary uses (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
