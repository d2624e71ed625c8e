//! The RUN-script model lives in `dockfix_core::runscript`; these tests pin
//! the edits this pass relies on.

pub use dockfix_core::runscript::*;

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_core::walk::stage_states;
    use dockfix_core::{apply_edits, Edit};
    use dockfix_syntax::parse_str;

    /// Applies `f` to the script of the last RUN of `src`.
    fn edit(src: &str, f: impl Fn(&Script<'_>) -> Option<Vec<Edit>>) -> Option<String> {
        let doc = parse_str(src).unwrap();
        let stage = doc.stages().pop().unwrap();
        let states = stage_states(&doc, &stage);
        let idx = doc.instructions.iter().rposition(|i| i.kind == dockfix_syntax::Kind::Run).unwrap();
        let st = &states[idx - stage.body.start];
        let s = Script::new(&doc, &doc.instructions[idx], st).unwrap();
        let edits = f(&s)?;
        let refs: Vec<&Edit> = edits.iter().collect();
        let out = String::from_utf8(apply_edits(src.as_bytes(), &refs).unwrap()).unwrap();
        dockfix_syntax::parse_str(&out).unwrap();
        Some(out)
    }

    fn drop_word(src: &str, v: &str) -> Option<String> {
        edit(src, |s| {
            let w = s.cmds.iter().flat_map(|c| c.words.iter()).find(|w| w.value == v).unwrap();
            Some(vec![s.remove_word(w)?])
        })
    }

    #[test]
    fn removes_package_words() {
        assert_eq!(
            drop_word("FROM a\nRUN pip install flask httpx\n", "httpx").unwrap(),
            "FROM a\nRUN pip install flask\n"
        );
        assert_eq!(
            drop_word("FROM a\nRUN apt-get install -y \\\n    curl \\\n    git\n", "curl").unwrap(),
            "FROM a\nRUN apt-get install -y \\\n    git\n"
        );
        assert_eq!(
            drop_word("FROM a\nRUN [\"pip\", \"install\", \"httpx\", \"rich\"]\n", "httpx").unwrap(),
            "FROM a\nRUN [\"pip\", \"install\", \"rich\"]\n"
        );
    }

    #[test]
    fn removes_commands_with_their_operator() {
        let out = edit("FROM a\nRUN pip install . \\\n    && pip install httpx \\\n    && echo ok\n", |s| {
            s.remove_cmds(&[1])
        });
        assert_eq!(out.unwrap(), "FROM a\nRUN pip install . \\\n    && echo ok\n");
        let out = edit("FROM a\nRUN pip install . && \\\n    pip install httpx\n", |s| s.remove_cmds(&[1]));
        assert_eq!(out.unwrap(), "FROM a\nRUN pip install .\n");
        assert!(edit("FROM a\nRUN if true; then pip install x; fi\n", |s| s.remove_cmds(&[0])).is_none());
    }
}
