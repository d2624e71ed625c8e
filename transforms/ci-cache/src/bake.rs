//! `docker-bake.hcl`: targets without `cache-from`/`cache-to` get the GitHub
//! Actions cache, scoped per target, when the target block is written simply
//! enough to insert two lines before its closing brace; otherwise the
//! finding shows the lines to add.
//!
//! A small HCL scanner finds the top-level blocks and their attributes with
//! byte positions; it understands comments, strings with `${…}` templates,
//! heredocs and nested brackets, and refuses what it does not follow.

use std::path::Path;

use dockfix_core::{Edit, Finding, Fix};

use crate::text::{indent, Lines};
use crate::NAME;

/// Bake file names dockfix edits.
pub fn is_bake_file_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("docker-bake.hcl")
}

/// An attribute `name = value` of a block body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub name: String,
    /// Byte offset of the name.
    pub start: usize,
    /// Byte offset of `=`.
    pub eq: usize,
    /// The value as written.
    pub value: String,
}

/// A top-level block `kind "label" { … }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: String,
    pub labels: Vec<String>,
    pub start: usize,
    pub open: usize,
    pub close: usize,
    pub attrs: Vec<Attr>,
    /// The body holds a nested block.
    pub nested: bool,
}

impl Block {
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at(&self, p: &str) -> bool {
        self.s[self.i..].starts_with(p.as_bytes())
    }

    /// Skips blanks (and newlines when `nl`) and comments.
    fn skip(&mut self, nl: bool) -> Result<(), String> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r') => self.i += 1,
                Some(b'\n') if nl => self.i += 1,
                Some(b'#') => self.line_comment(),
                Some(b'/') if self.at("//") => self.line_comment(),
                Some(b'/') if self.at("/*") => {
                    let rest = &self.s[self.i + 2..];
                    let end = rest.windows(2).position(|w| w == b"*/").ok_or("unterminated comment")?;
                    self.i += 2 + end + 2;
                }
                _ => return Ok(()),
            }
        }
    }

    fn line_comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'\n' {
                break;
            }
            self.i += 1;
        }
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.i;
        if !self.peek().is_some_and(is_ident_start) {
            return None;
        }
        while self.peek().is_some_and(is_ident) {
            self.i += 1;
        }
        Some(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    /// A quoted string; returns its content (escapes kept as written).
    fn string(&mut self) -> Result<String, String> {
        let start = self.i;
        self.i += 1;
        loop {
            match self.peek() {
                None | Some(b'\n') => return Err("unterminated string".into()),
                Some(b'\\') => self.i += 2,
                Some(b'"') => {
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(&self.s[start + 1..self.i - 1]).into_owned());
                }
                Some(b'$' | b'%') if self.s.get(self.i + 1) == Some(&b'{') => {
                    self.i += 2;
                    self.expr_until_close()?;
                }
                Some(_) => self.i += 1,
            }
        }
    }

    /// Inside `${`: up to and past the matching `}`.
    fn expr_until_close(&mut self) -> Result<(), String> {
        let mut depth = 1;
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'(' | b'[' => depth += 1,
                b'}' | b')' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        Err("unterminated template".into())
    }

    /// `<<EOT` / `<<-EOT` … `EOT`.
    fn heredoc(&mut self) -> Result<(), String> {
        self.i += 2;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let marker = self.ident().ok_or("heredoc without a marker")?;
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == b'\n' {
                let line_end = self.s[self.i..].iter().position(|&c| c == b'\n').map_or(self.s.len(), |p| self.i + p);
                let line = String::from_utf8_lossy(&self.s[self.i..line_end]);
                if line.trim() == marker {
                    self.i = line_end;
                    return Ok(());
                }
            }
        }
        Err("unterminated heredoc".into())
    }

    /// An attribute value: up to the end of its line at bracket depth 0, or a
    /// closing brace of the enclosing block on the same line.
    fn value(&mut self) -> Result<(), String> {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return Ok(()),
                Some(b'\n') if depth == 0 => return Ok(()),
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'<')
                    if self.at("<<") && (self.s.get(self.i + 2).is_some_and(|&c| c == b'-' || is_ident_start(c))) =>
                {
                    self.heredoc()?;
                }
                Some(b'#') => self.line_comment(),
                Some(b'/') if self.at("//") => self.line_comment(),
                Some(b'/') if self.at("/*") => self.skip(false)?,
                Some(b'{' | b'(' | b'[') => {
                    depth += 1;
                    self.i += 1;
                }
                Some(b'}') if depth == 0 => return Ok(()),
                Some(b'}' | b')' | b']') => {
                    depth = depth.checked_sub(1).ok_or("unbalanced brackets")?;
                    self.i += 1;
                }
                Some(_) => self.i += 1,
            }
        }
    }

    /// Labels, then `{`, then the body up to its `}`.
    fn block(&mut self, kind: String, start: usize) -> Result<Block, String> {
        let mut labels = Vec::new();
        loop {
            self.skip(false)?;
            match self.peek() {
                Some(b'"') => labels.push(self.string()?),
                Some(b'{') => break,
                Some(c) if is_ident_start(c) => labels.push(self.ident().unwrap_or_default()),
                _ => return Err(format!("unexpected text after `{kind}`")),
            }
        }
        let open = self.i;
        self.i += 1;
        let mut attrs = Vec::new();
        let mut nested = false;
        loop {
            self.skip(true)?;
            match self.peek() {
                None => return Err("unterminated block".into()),
                Some(b'}') => {
                    let close = self.i;
                    self.i += 1;
                    return Ok(Block { kind, labels, start, open, close, attrs, nested });
                }
                Some(c) if is_ident_start(c) => {
                    let name_start = self.i;
                    let name = self.ident().unwrap_or_default();
                    self.skip(false)?;
                    if self.peek() == Some(b'=') && self.s.get(self.i + 1) != Some(&b'=') {
                        let eq = self.i;
                        self.i += 1;
                        self.skip(false)?;
                        let vstart = self.i;
                        self.value()?;
                        let value = String::from_utf8_lossy(&self.s[vstart..self.i]).trim_end().to_string();
                        attrs.push(Attr { name, start: name_start, eq, value });
                    } else {
                        nested = true;
                        self.block(name, name_start)?;
                    }
                }
                _ => return Err("unexpected text in a block".into()),
            }
        }
    }
}

/// The top-level blocks of a bake file.
pub fn scan(text: &str) -> Result<Vec<Block>, String> {
    let mut sc = Scanner { s: text.as_bytes(), i: 0 };
    let mut out = Vec::new();
    loop {
        sc.skip(true)?;
        let start = sc.i;
        let Some(kind) = sc.ident() else {
            if sc.peek().is_none() {
                return Ok(out);
            }
            return Err(format!("unexpected text at byte {start}"));
        };
        sc.skip(false)?;
        if sc.peek() == Some(b'=') {
            sc.i += 1;
            sc.value()?;
            continue;
        }
        out.push(sc.block(kind, start)?);
    }
}

/// Quoted names in a list value (`["a", "b"]`).
fn names(value: &str) -> Vec<String> {
    value.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

/// Target names of other bake files next to this one that already set a cache
/// (`docker-bake.override.hcl`).
fn cached_elsewhere(path: &Path) -> Vec<String> {
    let Some(dir) = path.parent() else { return Vec::new() };
    let Ok(text) = std::fs::read_to_string(dir.join("docker-bake.override.hcl")) else { return Vec::new() };
    scan(&text)
        .unwrap_or_default()
        .into_iter()
        .filter(|b| b.kind == "target" && (b.attr("cache-from").is_some() || b.attr("cache-to").is_some()))
        .filter_map(|b| b.labels.first().cloned())
        .collect()
}

fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' }).collect()
}

const WHY: &str = "A CI runner starts with an empty BuildKit cache: without a cache backend every `docker buildx bake` in CI rebuilds every step. `type=gha` keeps the layers in the GitHub Actions cache (`mode=max` keeps intermediate stages too), one `scope` per target so targets do not evict each other. Outside GitHub Actions, buildx drops `type=gha` entries (there is no runtime token), so local bakes are unchanged; in CI it takes `docker/bake-action` on a builder from `docker/setup-buildx-action`.";

/// Findings for one bake file. `facts` says whether some workflow runs
/// `docker/bake-action` on the `docker` driver, which cannot export a cache.
pub fn check_bake(path: &Path, text: &str, facts: &crate::workflow::Facts) -> Vec<Finding> {
    let lines = Lines::new(text);
    let eol = lines.eol();
    let blocks = match scan(text) {
        Ok(b) => b,
        Err(e) => {
            return vec![Finding::new(NAME, 0..0, "bake file not read: its targets' cache settings are not checked")
                .why(format!("dockfix reads bake files with a small HCL scanner, which stopped here: {e}."))
                .fix(Fix::display_only("Add `cache-from = [\"type=gha,scope=TARGET\"]` and `cache-to = [\"type=gha,mode=max,scope=TARGET\"]` to each target by hand"))];
        }
    };
    let targets: Vec<&Block> = blocks.iter().filter(|b| b.kind == "target" && b.labels.len() == 1).collect();
    let grouped: Vec<String> = blocks
        .iter()
        .filter(|b| b.kind == "group")
        .flat_map(|b| b.attr("targets").map(|a| names(&a.value)).unwrap_or_default())
        .collect();
    let inherited: Vec<String> =
        targets.iter().flat_map(|t| t.attr("inherits").map(|a| names(&a.value)).unwrap_or_default()).collect();
    let elsewhere = cached_elsewhere(path);
    let by_name = |n: &str| targets.iter().find(|t| t.labels[0] == n).copied();
    // A target caches when it or a target it inherits from sets a cache.
    fn caches<'a>(t: &Block, by_name: &dyn Fn(&str) -> Option<&'a Block>, depth: usize) -> bool {
        if t.attr("cache-from").is_some() || t.attr("cache-to").is_some() {
            return true;
        }
        if t.attr("no-cache").is_some_and(|a| a.value.trim() == "true") {
            return true;
        }
        depth < 16
            && t.attr("inherits")
                .map(|a| names(&a.value))
                .unwrap_or_default()
                .iter()
                .filter_map(|n| by_name(n))
                .any(|p| caches(p, by_name, depth + 1))
    }
    let mut out = Vec::new();
    for t in &targets {
        let name = &t.labels[0];
        if caches(t, &by_name, 0) || elsewhere.contains(name) {
            continue;
        }
        // A base other targets inherit from, built by no group: its children get their own.
        if inherited.contains(name) && !grouped.contains(name) && name != "default" {
            continue;
        }
        let scope = sanitize(name);
        let from = format!("cache-from = [\"type=gha,scope={scope}\"]");
        let to = format!("cache-to = [\"type=gha,mode=max,scope={scope}\"]");
        let head = lines.line_of(t.start);
        let range = t.start..lines.start(head) + lines.get(head).len();
        let message = format!("bake target `{name}` has no `cache-from`/`cache-to`: CI bakes start cold");
        let refuse = |why: String| {
            Finding::new(NAME, range.clone(), message.clone())
                .why(format!("{WHY} Not edited: {why}."))
                .fix(Fix::display_only(format!("Add `{from}` and `{to}` to target `{name}` by hand")))
        };
        if let Some(job) = facts.bake_without_builder.first() {
            out.push(refuse(format!("{job} runs `docker/bake-action` without `docker/setup-buildx-action` before it, and the default `docker` driver cannot export a cache")));
            continue;
        }
        match edit_for(&lines, t, &from, &to, &targets, eol) {
            Ok(edit) => out.push(
                Finding::new(NAME, range.clone(), message.clone())
                    .why(format!("{WHY} Unsafe because it changes how CI builds: the cache counts against the repository's 10 GB Actions cache."))
                    .gain("A CI bake re-runs only the steps whose inputs changed; the dependency layers come from the cache.")
                    .fix(Fix::unsafe_(format!("Add `{from}` and `{to}` to target `{name}`"), vec![edit])),
            ),
            Err(why) => out.push(refuse(why)),
        }
    }
    out
}

/// Two lines before the target's closing brace, at the body's indentation,
/// `=` aligned when the body aligns its `=`.
fn edit_for(lines: &Lines<'_>, t: &Block, from: &str, to: &str, all: &[&Block], eol: &str) -> Result<Edit, String> {
    if t.nested {
        return Err("the target holds a nested block".into());
    }
    if t.attr("matrix").is_some() {
        return Err("a `matrix` target needs a scope per generated target (`${…}` in its name)".into());
    }
    let open_line = lines.line_of(t.open);
    let after_open = &lines.text[t.open + 1..lines.start(open_line) + lines.get(open_line).len()];
    let t_after = after_open.trim();
    if !(t_after.is_empty() || t_after.starts_with('#') || t_after.starts_with("//")) {
        return Err("the block is written on one line".into());
    }
    let close_line = lines.line_of(t.close);
    if !lines.get(close_line)[..t.close - lines.start(close_line)].trim().is_empty() {
        return Err("its closing brace shares a line with other text".into());
    }
    let mut indents = Vec::new();
    for a in &t.attrs {
        let l = lines.line_of(a.start);
        if a.start != lines.start(l) + indent(lines.get(l)) {
            return Err("attributes share lines".into());
        }
        indents.push(indent(lines.get(l)));
    }
    if lines.get(close_line).contains('\t')
        || t.attrs.iter().any(|a| lines.get(lines.line_of(a.start)).starts_with('\t'))
    {
        return Err("the block is indented with tabs".into());
    }
    let pad = match indents.first() {
        Some(&i) if indents.iter().all(|&x| x == i) => i,
        Some(_) => return Err("its attributes are indented unevenly".into()),
        None => {
            // An empty body: the indentation other targets use, or two spaces.
            let other = all
                .iter()
                .flat_map(|b| b.attrs.first())
                .map(|a| indent(lines.get(lines.line_of(a.start))))
                .find(|&i| i > 0);
            indent(lines.get(close_line)) + other.unwrap_or(2)
        }
    };
    // Alignment as `terraform fmt`/`hclfmt` does it: consecutive one-line
    // attributes align their `=`. The two new lines join the run of such
    // attributes that ends right above the closing brace, or start their own
    // run when the file aligns anywhere.
    let padded = |a: &Attr| a.eq > a.start + a.name.len() + 1;
    let file_aligns = all.iter().flat_map(|b| b.attrs.iter()).any(padded);
    let eq_col = |a: &Attr| a.eq - lines.start(lines.line_of(a.eq));
    let mut run: Vec<&Attr> = Vec::new();
    let mut next_line = close_line;
    for a in t.attrs.iter().rev() {
        let l = lines.line_of(a.start);
        if a.value.contains('\n') || l + 1 != next_line {
            break;
        }
        run.push(a);
        next_line = l;
    }
    let width = if run.len() >= 2 {
        let aligned = run.iter().all(|a| eq_col(a) == eq_col(run[0])) && run.iter().any(|a| padded(a));
        if aligned {
            eq_col(run[0]).saturating_sub(pad)
        } else {
            0
        }
    } else if file_aligns {
        "cache-from ".len()
    } else {
        0
    };
    let key = |kv: &str| -> String {
        let (k, v) = kv.split_once(" = ").unwrap_or((kv, ""));
        let width = width.max(k.len() + 1);
        format!("{}{k:<width$}= {v}{eol}", " ".repeat(pad))
    };
    let text = format!("{}{}", key(from), key(to));
    Ok(Edit::insert(lines.start(close_line), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_blocks_strings_heredocs_and_comments() {
        let text = "variable \"TAG\" {\n  default = \"latest\"\n}\n# a comment with { brace\ngroup \"default\" {\n  targets = [\"api\", \"web\"]\n}\ntarget \"api\" {\n  context = \"services/api\" // trailing\n  tags = [\"acme/api:${TAG}\", \"x:${ lower(\"A}\") }\"]\n  args = {\n    NOTE = <<EOT\n  } not the end\nEOT\n  }\n}\ntarget \"one\" { context = \".\" }\n";
        let b = scan(text).unwrap();
        assert_eq!(b.len(), 4);
        assert_eq!(b[2].labels, ["api"]);
        assert_eq!(b[2].attrs.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["context", "tags", "args"]);
        assert_eq!(names(&b[1].attrs[0].value), ["api", "web"]);
        assert_eq!(b[3].attrs[0].value, "\".\"");
        assert!(scan("target \"x\" {\n  a = \"b\n}\n").is_err());
    }
}
