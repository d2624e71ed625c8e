//! The RUN-script model lives in `dockfix_core::runscript`; these tests pin
//! the edits this pass relies on.

pub use dockfix_core::runscript::*;

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_core::apply_edits;
    use dockfix_core::walk::stage_states;
    use dockfix_syntax::parse_str;

    fn add_after(src: &str, word: &str, new: &str) -> String {
        let doc = parse_str(src).unwrap();
        let stage = doc.stages().pop().unwrap();
        let states = stage_states(&doc, &stage);
        let idx = doc.instructions.iter().rposition(|i| i.kind == dockfix_syntax::Kind::Run).unwrap();
        let s = Script::new(&doc, &doc.instructions[idx], &states[idx - stage.body.start]).unwrap();
        let w = s.cmds.iter().flat_map(|c| c.words.iter()).find(|w| w.value == word).unwrap();
        let e = s.insert_after(w, &[new]).unwrap();
        String::from_utf8(apply_edits(src.as_bytes(), &[&e]).unwrap()).unwrap()
    }

    #[test]
    fn inserts_flags_in_every_form() {
        assert_eq!(
            add_after("FROM a\nRUN uv sync --frozen\n", "sync", "--compile-bytecode"),
            "FROM a\nRUN uv sync --compile-bytecode --frozen\n"
        );
        assert_eq!(
            add_after("FROM a\nRUN [\"uv\", \"sync\"]\n", "sync", "--compile-bytecode"),
            "FROM a\nRUN [\"uv\", \"sync\", \"--compile-bytecode\"]\n"
        );
        assert_eq!(
            add_after("FROM a\nRUN <<EOF\nenv X=1 pip install -r r.txt\nEOF\n", "install", "--prefer-binary"),
            "FROM a\nRUN <<EOF\nenv X=1 pip install --prefer-binary -r r.txt\nEOF\n"
        );
    }
}
