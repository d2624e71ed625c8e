//! Properties of the matcher over generated patterns and paths.

use dockfix_dockerignore::Matcher;
use proptest::prelude::*;

fn segment() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "ab", ".x", "a.b", "node_modules", "__pycache__"]).prop_map(str::to_string)
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..5).prop_map(|s| s.join("/"))
}

fn pattern() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec!["a", "b", "*", "?", "**", "a*", "*.b", "[ab]", "node_modules", ".x"]);
    prop::collection::vec(piece, 1..4).prop_map(|p| p.join("/"))
}

proptest! {
    /// Without exceptions the walker and `MatchesOrParentMatches` agree.
    #[test]
    fn walker_agrees_without_exceptions(patterns in prop::collection::vec(pattern(), 1..4), p in path()) {
        let m = Matcher::new(&patterns).unwrap();
        prop_assert_eq!(m.is_excluded(&p), m.matches_or_parent_matches(&p));
    }

    /// Without exceptions, everything below an excluded path is excluded.
    #[test]
    fn exclusion_is_inherited(patterns in prop::collection::vec(pattern(), 1..4), p in path(), tail in path()) {
        let m = Matcher::new(&patterns).unwrap();
        if m.is_excluded(&p) {
            let below = format!("{p}/{tail}");
            prop_assert!(m.is_excluded(&below));
        }
    }

    /// Trailing exceptions `!p` and `!p/**` always re-include `p` and what is
    /// below it. (`!p` alone is not enough for the walker: with `*/*` then
    /// `!a`, `a/b` stays excluded.)
    #[test]
    fn trailing_exceptions_win(patterns in prop::collection::vec(pattern(), 1..4), p in path(), tail in path()) {
        let mut all = patterns.clone();
        all.push(format!("!{p}"));
        all.push(format!("!{p}/**"));
        let m = Matcher::new(&all).unwrap();
        prop_assert!(!m.is_excluded(&p));
        let below = format!("{p}/{tail}");
        prop_assert!(!m.is_excluded(&below));
    }
}
