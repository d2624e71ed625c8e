//! Suppression comments: `# dockfix: ignore[pass, …]` (or `ignore` for every
//! pass) on the comment lines directly above an instruction, and
//! `# dockfix: ignore-file[…]` anywhere for the whole file. hadolint's
//! `# hadolint ignore=DLxxxx` is honoured where a rule maps to a pass.

use std::ops::Range;

use dockfix_syntax::{Document, TriviaKind};

/// Which passes a comment silences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Passes(Vec<String>),
}

impl Scope {
    pub fn covers(&self, pass: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Passes(p) => p.iter().any(|x| x == pass),
        }
    }
}

/// One suppression comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub scope: Scope,
    pub file_wide: bool,
    /// 1-based line of the comment.
    pub line: usize,
    /// Instructions it covers (indices), for line-level ones.
    pub instruction: Option<usize>,
}

/// Every pass name dockfix has (for reporting suppressions of unknown passes).
pub static KNOWN_PASSES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();

/// True if `name` is a pass (when the registry told us the names).
pub fn is_known(name: &str) -> bool {
    KNOWN_PASSES.get().is_none_or(|k| k.contains(&name))
}

/// hadolint rules that mean "don't do what this pass does here".
fn hadolint_map(rule: &str) -> &'static [&'static str] {
    match rule {
        // DL3042: pip --no-cache-dir; DL3019: apk --no-cache; DL3060: yarn
        // cache clean — all about caches.
        "DL3042" | "DL3019" | "DL3060" => &["cache-mounts"],
        // DL3009: delete the apt lists — cache-mounts mounts them, apt-hygiene
        // deletes them; ignoring the rule means the lists stay.
        "DL3009" => &["cache-mounts", "apt-hygiene"],
        // DL3015: --no-install-recommends
        "DL3015" => &["apt-hygiene"],
        _ => &[],
    }
}

fn parse_comment(text: &str) -> Option<(Scope, bool)> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix("hadolint") {
        let rest = rest.trim_start().strip_prefix("ignore=")?;
        let passes: Vec<String> =
            rest.split(',').flat_map(|r| hadolint_map(r.trim()).iter().map(|s| s.to_string())).collect();
        return (!passes.is_empty()).then_some((Scope::Passes(passes), false));
    }
    let rest = t.strip_prefix("dockfix")?.trim_start().strip_prefix(':')?.trim_start();
    let (rest, file_wide) = match rest.strip_prefix("ignore-file") {
        Some(r) => (r, true),
        None => (rest.strip_prefix("ignore")?, false),
    };
    let rest = rest.trim();
    if rest.is_empty() {
        return Some((Scope::All, file_wide));
    }
    let inner = rest.strip_prefix('[')?.split(']').next()?;
    let passes: Vec<String> = inner.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    Some((Scope::Passes(passes), file_wide))
}

/// All suppression comments of a document.
pub fn suppressions(doc: &Document) -> Vec<Suppression> {
    let mut out = Vec::new();
    for t in &doc.trivia {
        if t.kind != TriviaKind::Comment {
            continue;
        }
        let Some((scope, file_wide)) = parse_comment(&doc.comment_text(t)) else { continue };
        let instruction = if file_wide {
            None
        } else {
            (0..doc.instructions.len()).find(|&i| doc.leading_comments(i).contains(&t.lines.start))
        };
        out.push(Suppression { scope, file_wide, line: t.line, instruction });
    }
    out
}

/// The suppression that silences `pass` at byte `range` of the document.
pub fn suppressed_by<'s>(
    doc: &Document,
    sups: &'s [Suppression],
    pass: &str,
    range: &Range<usize>,
) -> Option<&'s Suppression> {
    let idx = doc.instructions.iter().position(|i| i.lines.contains(&range.start) || i.lines.start >= range.start);
    sups.iter().find(|s| s.scope.covers(pass) && (s.file_wide || (s.instruction.is_some() && s.instruction == idx)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_syntax::parse_str;

    #[test]
    fn parses_forms() {
        assert_eq!(parse_comment("dockfix: ignore"), Some((Scope::All, false)));
        assert_eq!(
            parse_comment("dockfix: ignore[cache-mounts, reorder]"),
            Some((Scope::Passes(vec!["cache-mounts".into(), "reorder".into()]), false))
        );
        assert_eq!(parse_comment("dockfix:ignore-file[reorder]"), Some((Scope::Passes(vec!["reorder".into()]), true)));
        assert_eq!(
            parse_comment("hadolint ignore=DL3042,DL3008"),
            Some((Scope::Passes(vec!["cache-mounts".into()]), false))
        );
        assert_eq!(
            parse_comment("hadolint ignore=DL3009"),
            Some((Scope::Passes(vec!["cache-mounts".into(), "apt-hygiene".into()]), false))
        );
        assert_eq!(parse_comment("hadolint ignore=DL3015"), Some((Scope::Passes(vec!["apt-hygiene".into()]), false)));
        assert_eq!(parse_comment("just a comment"), None);
    }

    #[test]
    fn attaches_to_next_instruction() {
        let doc = parse_str("FROM a\n# dockfix: ignore[reorder]\n# why\nCOPY . .\nRUN x\n").unwrap();
        let sups = suppressions(&doc);
        assert_eq!(sups[0].instruction, Some(1));
        let copy = doc.instructions[1].span.clone();
        assert!(suppressed_by(&doc, &sups, "reorder", &copy).is_some());
        assert!(suppressed_by(&doc, &sups, "cache-mounts", &copy).is_none());
        let run = doc.instructions[2].span.clone();
        assert!(suppressed_by(&doc, &sups, "reorder", &run).is_none());
    }
}
