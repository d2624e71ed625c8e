//! The parser on arbitrary bytes: never panics, and what it accepts it
//! reprints byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = dockfix_syntax::parse(data) {
        assert_eq!(doc.source(), data, "the document keeps its source");
        let _ = dockfix_syntax::dump(data);
    }
});
