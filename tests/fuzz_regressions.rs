//! The fuzz targets' invariants in the normal test suite: every saved crash
//! (fuzz/regressions), every seed (fuzz/seeds), and a few thousand
//! deterministic mutations of the seeds go through the whole pipeline
//! (dockfix_cli::invariants::check: no panic, output reparses, second run
//! proposes nothing, nothing changed outside the edits). scripts/fuzz.sh
//! runs the real fuzzers for longer.

use std::path::{Path, PathBuf};

use dockfix_cli::invariants::check;

fn files(dir: &str) -> Vec<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&d)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    v.retain(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')));
    v.sort();
    v
}

fn assert_kept(name: &str, input: &[u8]) {
    match std::panic::catch_unwind(|| check(input)) {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => panic!("{name}: {e}\n--- input ---\n{}", String::from_utf8_lossy(input)),
        Err(_) => panic!("{name}: panicked\n--- input ---\n{}", String::from_utf8_lossy(input)),
    }
}

#[test]
fn saved_crashes_stay_fixed() {
    for f in files("fuzz/regressions") {
        let input = std::fs::read(&f).unwrap();
        assert_kept(&f.display().to_string(), &input);
        let _ = dockfix_syntax::parse(&input);
    }
}

#[test]
fn seeds_keep_the_invariants() {
    let seeds = files("fuzz/seeds");
    assert!(seeds.len() > 100, "the seed corpus is missing");
    for f in seeds {
        assert_kept(&f.display().to_string(), &std::fs::read(&f).unwrap());
    }
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Pieces that tend to reach corners of the parser and the passes.
const TOKENS: &[&str] = &[
    "\\\n",
    "\n",
    "\r\n",
    " <<EOF\nx\nEOF\n",
    "# comment\n",
    "# escape=`\n",
    "# syntax=docker/dockerfile:1\n",
    "COPY . .\n",
    "RUN pip install -r requirements.txt\n",
    "RUN --mount=type=cache,target=/root/.cache/pip pip install .\n",
    "FROM scratch AS s\n",
    "ONBUILD ",
    "USER app\n",
    "WORKDIR /app\n",
    "ENV HOME=/x\n",
    "ARG V=1\n",
    "[\"a\", \"b\"]",
    " && ",
    "$V",
    "\"",
    "'",
    "\t",
    "\u{feff}",
    "\0",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                v.splice(at..at, t.iter().copied());
            }
            1 if !v.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                v.drain(at.min(v.len())..end);
            }
            2 => {
                // Duplicate a line.
                let text = v.clone();
                let lines: Vec<&[u8]> = text.split_inclusive(|b| *b == b'\n').collect();
                if let Some(l) = lines.get(rng.below(lines.len())) {
                    v.splice(at..at, l.iter().copied());
                }
            }
            3 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                let pool = b"\\ \n\"'$#=-[],{}<>`\r\t";
                v[i] = pool[rng.below(pool.len())];
            }
            _ => {
                // Swap two lines.
                let text = String::from_utf8_lossy(&v).into_owned();
                let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
                if lines.len() > 1 {
                    let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                    lines.swap(a, b);
                    v = lines.concat().into_bytes();
                }
            }
        }
    }
    v
}

#[test]
fn mutated_seeds_keep_the_invariants() {
    let seeds: Vec<Vec<u8>> = files("fuzz/seeds").iter().map(|f| std::fs::read(f).unwrap()).collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..3000 {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        assert_kept(&format!("mutation {round}"), &input);
    }
}
