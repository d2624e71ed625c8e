//! One pattern, compiled the way patternmatcher compiles it: an exact
//! string, a prefix (`dir/**`), a suffix (`**/name`) or a regular
//! expression built character by character.

use crate::re::{ReError, Regex};

#[derive(Debug, Clone)]
pub(crate) enum Compiled {
    Exact,
    /// `foo**`: the pattern without its trailing `**` is a prefix.
    Prefix,
    /// `**foo`: the pattern without its leading `**` is a suffix.
    Suffix,
    Regex(Regex),
}

/// Regular-expression metacharacters that mean nothing to `filepath.Match`
/// and are escaped (`\` is handled apart).
fn should_escape(c: char) -> bool {
    matches!(c, '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$')
}

/// Builds the match type and, for regular expressions, the expression text,
/// exactly as patternmatcher's `compile` does with `/` as separator.
pub(crate) fn expression(pattern: &str) -> (Kind, String) {
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("^");
    let mut kind = Kind::Exact;
    let mut i = 0usize; // loop iterations, as in Go
    let mut k = 0usize; // position in `chars`
    while k < chars.len() {
        let ch = chars[k];
        k += 1;
        if ch == '*' {
            if chars.get(k) == Some(&'*') {
                k += 1;
                // `**/` is treated as `**`.
                if chars.get(k) == Some(&'/') {
                    k += 1;
                }
                if k == chars.len() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        re.push_str(".*");
                        kind = Kind::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    kind = Kind::Regex;
                }
                if i == 0 {
                    kind = Kind::Suffix;
                }
            } else {
                re.push_str("[^/]*");
                kind = Kind::Regex;
            }
        } else if ch == '?' {
            re.push_str("[^/]");
            kind = Kind::Regex;
        } else if should_escape(ch) {
            re.push('\\');
            re.push(ch);
        } else if ch == '\\' {
            if k < chars.len() {
                re.push('\\');
                re.push(chars[k]);
                k += 1;
                kind = Kind::Regex;
            } else {
                re.push('\\');
            }
        } else if ch == '[' || ch == ']' {
            re.push(ch);
            kind = Kind::Regex;
        } else {
            re.push(ch);
        }
        i += 1;
    }
    if kind == Kind::Regex {
        re.push('$');
    }
    (kind, re)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Exact,
    Prefix,
    Suffix,
    Regex,
}

pub(crate) fn compile(pattern: &str) -> Result<Compiled, ReError> {
    let (kind, re) = expression(pattern);
    Ok(match kind {
        Kind::Exact => Compiled::Exact,
        Kind::Prefix => Compiled::Prefix,
        Kind::Suffix => Compiled::Suffix,
        Kind::Regex => Compiled::Regex(Regex::new(&re)?),
    })
}

/// patternmatcher's `Pattern.match` for a compiled pattern.
pub(crate) fn matches(compiled: &Compiled, pattern: &str, path: &str) -> bool {
    match compiled {
        Compiled::Exact => path == pattern,
        Compiled::Prefix => path.starts_with(&pattern[..pattern.len() - 2]),
        Compiled::Suffix => {
            let suffix = &pattern[2..];
            if path.ends_with(suffix) {
                return true;
            }
            // `**/foo` matches `foo`.
            suffix.strip_prefix('/').is_some_and(|s| path == s)
        }
        Compiled::Regex(re) => re.is_match(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_like_patternmatcher() {
        for (p, kind, re) in [
            ("*", Kind::Regex, "^[^/]*$"),
            ("file*", Kind::Regex, "^file[^/]*$"),
            ("a*/b", Kind::Regex, "^a[^/]*/b$"),
            ("**", Kind::Suffix, ""),
            ("**/**", Kind::Regex, "^(.*/)?.*$"),
            ("dir/**", Kind::Prefix, ""),
            ("**/dir", Kind::Suffix, ""),
            ("**/dir2/*", Kind::Regex, "^(.*/)?dir2/[^/]*$"),
            ("**/dir2/**", Kind::Regex, "^(.*/)?dir2/.*$"),
            ("**file", Kind::Suffix, ""),
            ("**/**/*.txt", Kind::Regex, "^(.*/)?(.*/)?[^/]*\\.txt$"),
            ("a[b-d]e", Kind::Regex, "^a[b-d]e$"),
            (".*", Kind::Regex, "^\\.[^/]*$"),
            ("abc.def", Kind::Exact, ""),
            ("abc?def", Kind::Regex, "^abc[^/]def$"),
            ("a(b)c/def", Kind::Exact, ""),
            ("a\\*b", Kind::Regex, "^a\\*b$"),
            ("[*]", Kind::Regex, "^[[^/]*]$"),
            ("a^b", Kind::Exact, ""),
        ] {
            let (k, r) = expression(p);
            assert_eq!(k, kind, "kind of {p:?}");
            if kind == Kind::Regex {
                assert_eq!(r, re, "expression of {p:?}");
            }
        }
    }
}
