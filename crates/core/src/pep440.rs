//! Just enough of PEP 440 (versions, specifiers) and PEP 508 (dependency
//! strings) to tell whether a pinned version satisfies what a project
//! declares. Anything this module cannot read is `None`: the caller then
//! treats the question as unanswered, never as "yes".

use std::cmp::Ordering;

/// (epoch, release, pre, post, dev, local) as compared.
type SortKey = (u64, Vec<u64>, (i8, u8, u64), (i8, u64), (i8, u64), Vec<(i8, u64, String)>);

/// A parsed version (`1!2.0.post1.dev3+local`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    epoch: u64,
    release: Vec<u64>,
    /// (0 = a, 1 = b, 2 = rc, number)
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Option<String>,
}

fn num(s: &str) -> Option<u64> {
    if s.is_empty() {
        Some(0)
    } else if s.chars().all(|c| c.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Splits the leading letters off `s`: (`rc`, `1`).
fn letters(s: &str) -> (&str, &str) {
    let n = s.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(s.len());
    s.split_at(n)
}

impl Version {
    pub fn parse(text: &str) -> Option<Version> {
        let t = text.trim().to_ascii_lowercase();
        let t = t.strip_prefix('v').unwrap_or(&t);
        let (public, local) = match t.split_once('+') {
            Some((p, l)) if !l.is_empty() => (p, Some(l.replace(['-', '_'], "."))),
            Some(_) => return None,
            None => (t, None),
        };
        let (epoch, rest) = match public.split_once('!') {
            Some((e, r)) => (num(e)?, r),
            None => (0, public),
        };
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (rel, mut tail) = rest.split_at(n);
        let rel = rel.trim_end_matches('.');
        if rel.is_empty() {
            return None;
        }
        let release: Vec<u64> =
            rel.split('.').map(|p| if p.is_empty() { None } else { p.parse().ok() }).collect::<Option<_>>()?;
        let mut v = Version { epoch, release, pre: None, post: None, dev: None, local };
        // Each suffix may be preceded by `.`, `-` or `_`.
        loop {
            let sep = tail.starts_with(['.', '-', '_']);
            let t = if sep { &tail[1..] } else { tail };
            if t.is_empty() {
                if sep {
                    return None;
                }
                break;
            }
            if sep && tail.starts_with('-') && t.starts_with(|c: char| c.is_ascii_digit()) && v.post.is_none() {
                // `1.0-1` is a post release.
                let n = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
                v.post = Some(num(&t[..n])?);
                tail = &t[n..];
                continue;
            }
            let (word, after) = letters(t);
            let after = after.strip_prefix(['.', '-', '_']).unwrap_or(after);
            let n = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
            let value = num(&after[..n])?;
            match word {
                "a" | "alpha" if v.pre.is_none() && v.post.is_none() && v.dev.is_none() => v.pre = Some((0, value)),
                "b" | "beta" if v.pre.is_none() && v.post.is_none() && v.dev.is_none() => v.pre = Some((1, value)),
                "rc" | "c" | "pre" | "preview" if v.pre.is_none() && v.post.is_none() && v.dev.is_none() => {
                    v.pre = Some((2, value))
                }
                "post" | "rev" | "r" if v.post.is_none() && v.dev.is_none() => v.post = Some(value),
                "dev" if v.dev.is_none() => v.dev = Some(value),
                _ => return None,
            }
            tail = &after[n..];
        }
        Some(v)
    }

    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    fn release_padded(&self, len: usize) -> Vec<u64> {
        let mut r = self.release.clone();
        r.resize(len.max(r.len()), 0);
        r
    }

    fn public(&self) -> Version {
        Version { local: None, ..self.clone() }
    }

    /// The sort key of PEP 440 (and `packaging`): dev releases before
    /// pre-releases before the release before post releases.
    fn key(&self) -> SortKey {
        let mut release = self.release.clone();
        while release.len() > 1 && release.last() == Some(&0) {
            release.pop();
        }
        let pre = match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (-1, 0, 0),
            (None, _, _) => (1, 0, 0),
            (Some((k, n)), _, _) => (0, k, n),
        };
        let post = self.post.map_or((-1, 0), |n| (0, n));
        let dev = self.dev.map_or((1, 0), |n| (0, n));
        let local = self
            .local
            .as_deref()
            .map(|l| {
                l.split('.')
                    .map(|p| match p.parse::<u64>() {
                        Ok(n) => (1, n, String::new()),
                        Err(_) => (0, 0, p.to_string()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        (self.epoch, release, pre, post, dev, local)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// Does `version` satisfy every clause of `specifiers` (`>=2,<3`)? `None`
/// when a clause or the version cannot be read. Pre-releases count, as
/// for an installed distribution.
pub fn satisfies(version: &str, specifiers: &str) -> Option<bool> {
    let spec = specifiers.trim();
    if spec.is_empty() {
        return Some(true);
    }
    let v = Version::parse(version);
    for clause in spec.split(',') {
        let c = clause.trim();
        let op_len = c.find(|ch: char| !"<>=!~".contains(ch)).unwrap_or(c.len());
        let (op, target) = (&c[..op_len], c[op_len..].trim());
        if op == "===" {
            if version.trim() != target {
                return Some(false);
            }
            continue;
        }
        let v = v.as_ref()?;
        let ok = match op {
            "==" | "!=" => {
                let eq = if let Some(prefix) = target.strip_suffix(".*") {
                    let p = Version::parse(prefix)?;
                    let cand = v.release_padded(p.release.len());
                    v.epoch == p.epoch && cand[..p.release.len()] == p.release[..]
                } else {
                    let t = Version::parse(target)?;
                    let cand = if t.local.is_none() { v.public() } else { v.clone() };
                    cand == t || cand.cmp(&t) == Ordering::Equal
                };
                (op == "==") == eq
            }
            "~=" => {
                let t = Version::parse(target)?;
                if t.release.len() < 2 {
                    return None;
                }
                let prefix = &t.release[..t.release.len() - 1];
                let cand = v.release_padded(prefix.len());
                v.public() >= t && v.epoch == t.epoch && cand[..prefix.len()] == prefix[..]
            }
            ">=" => v.public() >= Version::parse(target)?,
            "<=" => v.public() <= Version::parse(target)?,
            ">" => {
                let t = Version::parse(target)?;
                let post_of_t = v.post.is_some()
                    && t.post.is_none()
                    && v.release_padded(t.release.len()) == t.release_padded(v.release.len());
                v.public() > t && !post_of_t
            }
            "<" => {
                let t = Version::parse(target)?;
                let pre_of_t = v.is_prerelease()
                    && !t.is_prerelease()
                    && v.release_padded(t.release.len()) == t.release_padded(v.release.len());
                v.public() < t && !pre_of_t
            }
            _ => return None,
        };
        if !ok {
            return Some(false);
        }
    }
    Some(true)
}

/// The normalized form of a distribution name (PEP 503): lower case, runs
/// of `-`, `_`, `.` as one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A PEP 508 dependency string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Normalized name.
    pub name: String,
    pub extras: Vec<String>,
    /// Specifiers without blanks (`>=2,<3`), empty for any version.
    pub specifier: String,
    /// `name @ url`.
    pub url: Option<String>,
    /// The environment marker, as written (trimmed).
    pub marker: Option<String>,
}

impl Requirement {
    pub fn parse(text: &str) -> Option<Requirement> {
        let (main, marker) = match text.split_once(';') {
            Some((m, k)) => (m, Some(k.trim().to_string()).filter(|k| !k.is_empty())),
            None => (text, None),
        };
        let main = main.trim();
        let n = main.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(main.len());
        if n == 0 {
            return None;
        }
        let name = normalize_name(&main[..n]);
        let mut rest = main[n..].trim_start();
        let mut extras = Vec::new();
        if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']')?;
            extras = r[..close].split(',').map(normalize_name).filter(|e| !e.is_empty()).collect();
            rest = r[close + 1..].trim_start();
        }
        if let Some(url) = rest.strip_prefix('@') {
            return Some(Requirement {
                name,
                extras,
                specifier: String::new(),
                url: Some(url.trim().to_string()),
                marker,
            });
        }
        let rest = rest.trim();
        let rest = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')).unwrap_or(rest);
        if !rest.is_empty() && !rest.starts_with(['<', '>', '=', '!', '~']) {
            return None;
        }
        let specifier: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
        Some(Requirement { name, extras, specifier, url: None, marker })
    }

    /// The version of an exact pin (`==1.2.3`), if that is what this is.
    pub fn pinned(&self) -> Option<&str> {
        let v = self.specifier.strip_prefix("==")?;
        (!v.contains([',', '*']) && !v.is_empty()).then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order() {
        let order = ["1.0.dev1", "1.0a1", "1.0a2.dev1", "1.0b1", "1.0rc1", "1.0", "1.0.post1", "1.1", "2!0.1"];
        for w in order.windows(2) {
            assert!(Version::parse(w[0]).unwrap() < Version::parse(w[1]).unwrap(), "{} < {}", w[0], w[1]);
        }
        assert_eq!(Version::parse("1.0").unwrap().cmp(&Version::parse("1.0.0").unwrap()), Ordering::Equal);
        assert_eq!(Version::parse("1.0-1").unwrap().post, Some(1));
        assert_eq!(Version::parse("1.0RC1").unwrap().pre, Some((2, 1)));
        assert!(Version::parse("1.0.x").is_none());
        assert!(Version::parse("").is_none());
    }

    #[test]
    fn specifiers() {
        assert_eq!(satisfies("3.0.3", ">=3.0"), Some(true));
        assert_eq!(satisfies("2.9", ">=3.0"), Some(false));
        assert_eq!(satisfies("2.31.0", ">=2.28,<3"), Some(true));
        assert_eq!(satisfies("3.0", ">=2.28,<3"), Some(false));
        assert_eq!(satisfies("3.0rc1", "<3"), Some(false));
        assert_eq!(satisfies("2.2.1", "~=2.2"), Some(true));
        assert_eq!(satisfies("3.0", "~=2.2"), Some(false));
        assert_eq!(satisfies("1.4.5", "==1.4.*"), Some(true));
        assert_eq!(satisfies("1.5", "==1.4.*"), Some(false));
        assert_eq!(satisfies("1.4", "!=1.4"), Some(false));
        assert_eq!(satisfies("1.0+cpu", "==1.0"), Some(true));
        assert_eq!(satisfies("1.0.post1", ">1.0"), Some(false));
        assert_eq!(satisfies("1.1", ">1.0"), Some(true));
        assert_eq!(satisfies("1.0", ""), Some(true));
        assert_eq!(satisfies("1.0", "^1.0"), None);
        assert_eq!(satisfies("weird", ">=1"), None);
    }

    #[test]
    fn requirements() {
        let r = Requirement::parse("Flask[Async] >= 3.0, <4 ; python_version >= '3.9'").unwrap();
        assert_eq!(r.name, "flask");
        assert_eq!(r.extras, ["async"]);
        assert_eq!(r.specifier, ">=3.0,<4");
        assert_eq!(r.marker.as_deref(), Some("python_version >= '3.9'"));
        assert_eq!(Requirement::parse("zope.interface==6.1").unwrap().pinned(), Some("6.1"));
        assert_eq!(Requirement::parse("typing_extensions").unwrap().name, "typing-extensions");
        assert!(Requirement::parse("pkg @ https://x/pkg.whl").unwrap().url.is_some());
        assert!(Requirement::parse("requests (>=2)").is_some());
        assert!(Requirement::parse("-e .").is_none());
        assert_eq!(normalize_name("Foo__Bar.baz"), "foo-bar-baz");
    }
}
