//! The whole pipeline on arbitrary bytes: parse, every pass with unsafe
//! fixes on, apply, reparse, second run. Panics on any broken invariant
//! (see dockfix_cli::invariants).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = dockfix_cli::invariants::check(data) {
        panic!("{e}");
    }
});
