//! Glob matching for workspace member patterns and `.dockerignore` rules
//! (`*`, `?`, `[…]` inside a path component, `**` across components).

/// Matches one path component.
pub fn component_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    matches(&p, &t)
}

fn matches(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|k| matches(&p[1..], &t[k..])),
        Some('?') => !t.is_empty() && matches(&p[1..], &t[1..]),
        Some('[') => {
            let Some(close) = p.iter().skip(1).position(|&c| c == ']').map(|k| k + 1) else {
                return t.first() == Some(&'[') && matches(&p[1..], &t[1..]);
            };
            let Some(&c) = t.first() else { return false };
            let class = &p[1..close];
            let (neg, class) = match class.first() {
                Some('!' | '^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut k = 0;
            while k < class.len() {
                if k + 2 < class.len() && class[k + 1] == '-' {
                    hit |= class[k] <= c && c <= class[k + 2];
                    k += 3;
                } else {
                    hit |= class[k] == c;
                    k += 1;
                }
            }
            hit != neg && matches(&p[close + 1..], &t[1..])
        }
        Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && matches(&p[2..], &t[1..]),
        Some(&c) => t.first() == Some(&c) && matches(&p[1..], &t[1..]),
    }
}

/// True if the text has glob characters.
pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Matches a `/`-separated path; `**` matches any number of components.
pub fn path_match(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    let t: Vec<&str> = path.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    comps(&p, &t)
}

fn comps(p: &[&str], t: &[&str]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some(&"**") => (0..=t.len()).any(|k| comps(&p[1..], &t[k..])),
        Some(c) => !t.is_empty() && component_match(c, t[0]) && comps(&p[1..], &t[1..]),
    }
}

/// `.dockerignore` rules, in order.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    rules: Vec<(bool, String)>,
}

impl Ignore {
    pub fn parse(text: &str) -> Ignore {
        let mut rules = Vec::new();
        for line in text.lines() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (neg, pat) = match l.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, l),
            };
            let pat = pat.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
            if !pat.is_empty() {
                rules.push((neg, pat.to_string()));
            }
        }
        Ignore { rules }
    }

    /// True if the context-relative path is excluded (a rule matches it or
    /// one of its parents, and no later `!` rule brings it back).
    pub fn excluded(&self, path: &str) -> bool {
        let mut out = false;
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        for (neg, pat) in &self.rules {
            let hit = (1..=parts.len()).any(|n| path_match(pat, &parts[..n].join("/")));
            if hit {
                out = !neg;
            }
        }
        out
    }

    /// True if some `!` rule could bring back part of this excluded path.
    pub fn partially_included(&self, path: &str) -> bool {
        self.rules.iter().any(|(neg, pat)| *neg && pat.starts_with(&format!("{path}/")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components() {
        assert!(component_match("*.md", "README.md"));
        assert!(!component_match("*.md", "README.txt"));
        assert!(component_match("crate-?", "crate-a"));
        assert!(component_match("[a-c]x", "bx"));
        assert!(!component_match("[!a-c]x", "bx"));
    }

    #[test]
    fn paths_and_ignore() {
        assert!(path_match("**/target", "target"));
        assert!(path_match("**/target", "a/b/target"));
        assert!(path_match("crates/*", "crates/api"));
        let ig = Ignore::parse("# c\ntarget\n*.md\n!KEEP.md\n/docs/\n");
        assert!(ig.excluded("target"));
        assert!(ig.excluded("target/release/app"));
        assert!(ig.excluded("README.md"));
        assert!(!ig.excluded("KEEP.md"));
        assert!(ig.excluded("docs"));
        assert!(!ig.excluded("config"));
    }
}
