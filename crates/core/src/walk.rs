//! The build state in effect at each instruction of a stage: working
//! directory, user, environment and build arguments, as far as the
//! Dockerfile alone tells them.

use std::collections::BTreeMap;

use dockfix_syntax::{Document, Kind, Stage};

/// The working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workdir {
    /// An absolute path (normalized, no trailing slash except `/`).
    Abs(String),
    /// Relative to whatever the base image set (`""` is the base's own).
    Base(String),
    /// Depends on something unknown (an unset variable).
    Unknown,
}

impl Workdir {
    /// Resolves a path (as written after variable expansion) against this
    /// working directory.
    pub fn join(&self, path: &str) -> Workdir {
        if path.starts_with('/') {
            return Workdir::Abs(normalize(path));
        }
        match self {
            Workdir::Abs(base) => Workdir::Abs(normalize(&format!("{base}/{path}"))),
            Workdir::Base(rel) => Workdir::Base(normalize_rel(&format!("{rel}/{path}"))),
            Workdir::Unknown => Workdir::Unknown,
        }
    }

    /// True if `self` is `other` or lies under it.
    pub fn is_within(&self, other: &Workdir) -> Option<bool> {
        match (self, other) {
            (Workdir::Abs(a), Workdir::Abs(b)) => Some(is_under(a, b)),
            (Workdir::Base(a), Workdir::Base(b)) => Some(is_under_rel(a, b)),
            _ => None,
        }
    }

    /// The path of `self` relative to `base`, when `self` is within it.
    pub fn relative_to(&self, base: &Workdir) -> Option<String> {
        let (a, b) = match (self, base) {
            (Workdir::Abs(a), Workdir::Abs(b)) => (a.as_str(), b.as_str()),
            (Workdir::Base(a), Workdir::Base(b)) => (a.as_str(), b.as_str()),
            _ => return None,
        };
        if a == b {
            return Some(String::new());
        }
        let b = if b == "/" || b.is_empty() { String::new() } else { format!("{b}/") };
        let a = if b.is_empty() { a.trim_start_matches('/') } else { a };
        a.strip_prefix(b.as_str()).map(str::to_string).or_else(|| b.is_empty().then(|| a.to_string()))
    }
}

fn is_under(a: &str, b: &str) -> bool {
    b == "/" || a == b || starts_with_dir(a, b)
}

fn is_under_rel(a: &str, b: &str) -> bool {
    b.is_empty() || a == b || starts_with_dir(a, b)
}

/// `path` is `dir/…` (what `path.starts_with(&format!("{dir}/"))` says,
/// without building the string).
pub fn starts_with_dir(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.as_bytes()[dir.len()] == b'/' && path.starts_with(dir)
}

/// Normalizes an absolute path: collapses `//`, `.` and `..`.
pub fn normalize(path: &str) -> String {
    if is_normal(path) {
        return path.to_string();
    }
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `path` is what [`normalize`] makes of it already.
fn is_normal(path: &str) -> bool {
    path == "/"
        || (path.len() > 1
            && path.starts_with('/')
            && path[1..].split('/').all(|s| !s.is_empty() && s != "." && s != ".."))
}

/// `a` is `b` or lies under it, both read as [`normalize`] reads them
/// (without allocating when neither has a `..`).
pub fn is_within_path(a: &str, b: &str) -> bool {
    if a.contains("..") || b.contains("..") {
        return is_under(&normalize(a), &normalize(b));
    }
    let mut ia = segments(a);
    segments(b).all(|sb| ia.next() == Some(sb))
}

fn segments(p: &str) -> impl Iterator<Item = &str> {
    p.split('/').filter(|s| !s.is_empty() && *s != ".")
}

fn normalize_rel(path: &str) -> String {
    normalize(path).trim_start_matches('/').to_string()
}

/// The state before an instruction runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub workdir: Workdir,
    /// The user set by `USER` in this stage (None: the base image's, usually root).
    pub user: Option<String>,
    /// Known environment (`ENV` of this stage and of stages it is built on).
    pub env: BTreeMap<String, String>,
    /// Build arguments in scope, with their defaults.
    pub args: BTreeMap<String, Option<String>>,
}

impl State {
    /// The value of a variable, from ENV or an ARG default.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str).or_else(|| self.args.get(name).and_then(|v| v.as_deref()))
    }

    /// True if the user is known to be root (no USER set, or USER root/0).
    pub fn is_root(&self) -> bool {
        match &self.user {
            None => true,
            Some(u) => {
                let name = u.split(':').next().unwrap_or(u);
                name == "root" || name == "0"
            }
        }
    }

    /// Expands `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
    /// `${VAR:+alt}`, `${VAR+alt}` the way BuildKit expands words. `None`
    /// when a variable is unknown or the syntax is beyond these forms.
    pub fn expand(&self, word: &str) -> Option<String> {
        expand_with(word, &|n| self.var(n).map(str::to_string))
    }
}

/// Variable expansion with a lookup function.
pub fn expand_with(word: &str, get: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let b = word.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() => {
                out.push(word[i + 1..].chars().next()?);
                i += 1 + word[i + 1..].chars().next()?.len_utf8();
            }
            b'$' => {
                if b.get(i + 1) == Some(&b'{') {
                    let end = word[i..].find('}')? + i;
                    let inner = &word[i + 2..end];
                    let name_end =
                        inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(inner.len());
                    let (name, op) = inner.split_at(name_end);
                    let val = get(name);
                    let v = match op {
                        "" => val?,
                        _ if op.starts_with(":-") => {
                            val.filter(|v| !v.is_empty()).unwrap_or_else(|| op[2..].to_string())
                        }
                        _ if op.starts_with('-') => val.unwrap_or_else(|| op[1..].to_string()),
                        _ if op.starts_with(":+") => {
                            if val.is_some_and(|v| !v.is_empty()) {
                                op[2..].to_string()
                            } else {
                                String::new()
                            }
                        }
                        _ if op.starts_with('+') => {
                            if val.is_some() {
                                op[1..].to_string()
                            } else {
                                String::new()
                            }
                        }
                        _ => return None,
                    };
                    out.push_str(&v);
                    i = end + 1;
                } else {
                    let rest = &word[i + 1..];
                    let n = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
                    if n == 0 {
                        out.push('$');
                        i += 1;
                    } else {
                        out.push_str(&get(&rest[..n])?);
                        i += 1 + n;
                    }
                }
            }
            _ => {
                let c = word[i..].chars().next()?;
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    Some(out)
}

/// The state before each instruction of a stage (`states[k]` is the state
/// before `doc.instructions[stage.body.start + k]`), and after the last.
///
/// Computed once per document (memoized on it): every pass asks for them.
pub fn stage_states<'d>(doc: &'d Document, stage: &Stage) -> &'d [State] {
    let memo = doc.memo::<StatesKey>(|| StatesMemo::new(doc));
    let Some(cell) = memo.states.get(stage.index) else { return &[] };
    if let Some(s) = cell.get() {
        return s;
    }
    // The stages this one is built on that are not computed yet, nearest
    // first; then each from the furthest down, so none recurses (a chain
    // of thousands of stages is fine).
    let mut chain = vec![stage.index];
    let mut cur = stage.index;
    while let Some(p) = memo.parents[cur] {
        if memo.states[p].get().is_some() {
            break;
        }
        chain.push(p);
        cur = p;
    }
    let all = doc.stage_list();
    for &i in chain.iter().rev() {
        memo.states[i].get_or_init(|| {
            let init = memo.parents[i].and_then(|p| memo.states[p].get()).and_then(|v| v.last().cloned());
            states_of(doc, &all[i], &memo.globals, init)
        });
    }
    memo.states[stage.index].get().map_or(&[], Vec::as_slice)
}

struct StatesKey;

impl dockfix_syntax::MemoKey for StatesKey {
    type Value = StatesMemo;
    const SLOT: usize = 0;
}

struct StatesMemo {
    /// Per stage, computed on first use.
    states: Vec<std::sync::OnceLock<Vec<State>>>,
    /// The stage each one is built on (`FROM <earlier stage>`).
    parents: Vec<Option<usize>>,
    /// Global ARGs with their defaults.
    globals: BTreeMap<String, Option<String>>,
}

impl StatesMemo {
    fn new(doc: &Document) -> StatesMemo {
        let all = doc.stage_list();
        let mut by_name: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut parents = Vec::with_capacity(all.len());
        for s in all {
            parents.push(by_name.get(s.base.to_ascii_lowercase().as_str()).copied());
            if let Some(n) = s.name.as_deref() {
                by_name.insert(n, s.index);
            }
        }
        let globals = doc.instructions[doc.global_args()]
            .iter()
            .filter(|i| i.kind == Kind::Arg)
            .flat_map(|i| i.pairs())
            .collect();
        StatesMemo { states: all.iter().map(|_| std::sync::OnceLock::new()).collect(), parents, globals }
    }
}

/// The states of one stage, starting from its parent stage's last state.
fn states_of(
    doc: &Document,
    stage: &Stage,
    globals: &BTreeMap<String, Option<String>>,
    init: Option<State>,
) -> Vec<State> {
    // Global ARGs are in scope for FROM only; a stage re-declares them with ARG.
    let mut st = init.unwrap_or_else(|| State {
        workdir: Workdir::Base(String::new()),
        user: None,
        env: BTreeMap::new(),
        args: BTreeMap::new(),
    });
    let mut out = Vec::with_capacity(stage.body.len() + 1);
    for ins in &doc.instructions[stage.body.clone()] {
        out.push(st.clone());
        match ins.kind {
            Kind::Workdir => {
                let raw = ins.args.first().map(|a| a.value.as_str()).unwrap_or("");
                st.workdir = match st.expand(raw) {
                    Some(p) => st.workdir.join(&p),
                    None => Workdir::Unknown,
                };
            }
            Kind::User => st.user = ins.args.first().map(|a| st.expand(&a.value).unwrap_or_else(|| a.value.clone())),
            Kind::Env => {
                for (k, v) in ins.pairs() {
                    let v = v.unwrap_or_default();
                    let unquoted = unquote(&v);
                    match st.expand(&unquoted) {
                        Some(val) => {
                            st.env.insert(k, val);
                        }
                        None => {
                            st.env.remove(&k);
                        }
                    }
                }
            }
            Kind::Arg => {
                for (k, v) in ins.pairs() {
                    let v = v.map(|v| unquote(&v)).or_else(|| globals.get(&k).cloned().flatten());
                    st.args.insert(k, v);
                }
            }
            _ => {}
        }
    }
    out.push(st);
    out
}

/// Removes the quotes of an ENV value as BuildKit does (`"a b"` → `a b`).
pub fn unquote(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => out.push(c),
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            (_, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_syntax::parse_str;

    #[test]
    fn workdir_user_env() {
        let doc = parse_str("ARG V=1\nFROM a AS base\nENV APP=/srv/app HOME=/home/u\nWORKDIR $APP\nUSER u\nWORKDIR sub\nFROM base\nRUN x\n")
            .unwrap();
        let stages = doc.stages();
        let st = stage_states(&doc, &stages[0]);
        assert_eq!(st[0].workdir, Workdir::Base(String::new()));
        assert_eq!(st[2].workdir, Workdir::Abs("/srv/app".into()));
        assert_eq!(st[4].workdir, Workdir::Abs("/srv/app/sub".into()));
        assert!(!st[4].is_root());
        let st2 = stage_states(&doc, &stages[1]);
        assert_eq!(st2[0].workdir, Workdir::Abs("/srv/app/sub".into()));
        assert_eq!(st2[0].env.get("HOME").unwrap(), "/home/u");
    }

    #[test]
    fn expansion() {
        let get = |n: &str| (n == "A").then(|| "x".to_string());
        assert_eq!(expand_with("$A/${A}/${B:-d}", &get).as_deref(), Some("x/x/d"));
        assert_eq!(expand_with("$B", &get), None);
        assert_eq!(unquote("\"a b\""), "a b");
    }

    #[test]
    fn relative_paths() {
        let app = Workdir::Abs("/app".into());
        assert_eq!(app.join("requirements.txt").relative_to(&app).as_deref(), Some("requirements.txt"));
        assert_eq!(Workdir::Abs("/x".into()).relative_to(&app), None);
        assert_eq!(Workdir::Abs("/app/x".into()).relative_to(&Workdir::Abs("/".into())).as_deref(), Some("app/x"));
        let b = Workdir::Base(String::new());
        assert_eq!(b.join("a/b").relative_to(&b).as_deref(), Some("a/b"));
    }

    #[test]
    fn long_stage_chains_inherit_without_recursion() {
        // Each stage is built on the one before: the ENV of the first
        // reaches the last, however long the chain (no depth cap, no deep
        // recursion), and the answer does not depend on which stage was
        // asked for first.
        let mut src = String::from("FROM a AS s0\nENV FIRST=yes\nWORKDIR /w\n");
        for i in 1..3000 {
            src.push_str(&format!("FROM s{} AS s{i}\nRUN x\n", i - 1));
        }
        let doc = parse_str(&src).unwrap();
        let stages = doc.stages();
        let mid = stage_states(&doc, &stages[1500]);
        assert_eq!(mid[0].var("FIRST"), Some("yes"));
        let last = stage_states(&doc, &stages[2999]);
        assert_eq!(last[0].var("FIRST"), Some("yes"));
        assert_eq!(last[0].workdir, Workdir::Abs("/w".into()));
        let again = parse_str(&src).unwrap();
        assert_eq!(stage_states(&again, &again.stages()[2999]), last);
    }

    #[test]
    fn normalize_and_within_agree_with_their_definitions() {
        // Every path of up to three segments over a small alphabet.
        let segs = ["", ".", "..", "a", "b", "ab"];
        let mut paths = vec![String::new()];
        for _ in 0..3 {
            let mut next = Vec::new();
            for p in &paths {
                for s in segs {
                    next.push(format!("{p}/{s}"));
                    next.push(format!("{p}{s}"));
                }
            }
            paths.extend(next);
            paths.sort();
            paths.dedup();
        }
        let slow = |p: &str| {
            let mut parts: Vec<&str> = Vec::new();
            for s in p.split('/') {
                match s {
                    "" | "." => {}
                    ".." => {
                        parts.pop();
                    }
                    s => parts.push(s),
                }
            }
            format!("/{}", parts.join("/"))
        };
        for p in &paths {
            assert_eq!(normalize(p), slow(p), "{p:?}");
        }
        for a in paths.iter().step_by(3) {
            for b in paths.iter().step_by(5) {
                let (na, nb) = (slow(a), slow(b));
                let expected = nb == "/" || na == nb || na.starts_with(&format!("{nb}/"));
                assert_eq!(is_within_path(a, b), expected, "{a:?} within {b:?}");
            }
        }
    }
}
