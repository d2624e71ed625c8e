//! `dockfix.toml` (or `.dockfix.toml`): found by walking up from each
//! Dockerfile; unknown keys are errors that name their line.
//!
//! ```toml
//! select = ["reorder", "cache-mounts"]   # default: every pass on by default
//! ignore = ["multi-stage"]
//! unsafe-fixes = false
//!
//! [cargo-chef]                          # options of one pass
//! runtime-base = "debian:bookworm-slim"
//!
//! [[overrides]]                         # by path glob, relative to this file
//! paths = ["services/legacy/**"]
//! ignore = ["multi-stage"]
//! ```

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSetBuilder};

use crate::pass::PassOptions;

/// The names of config files, in order of preference within a directory.
pub const FILE_NAMES: &[&str] = &["dockfix.toml", ".dockfix.toml"];

/// A config error, with the file and position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// What a pass accepts in its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    pub name: &'static str,
    /// `string`, `bool`, `integer` or `array`.
    pub kind: &'static str,
    pub help: &'static str,
}

/// Settings that `[[overrides]]` may also carry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub unsafe_fixes: Option<bool>,
    pub options: PassOptions,
}

/// One `[[overrides]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub paths: Vec<String>,
    pub rules: Rules,
}

/// A loaded config file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// The file it was read from (None: defaults).
    pub path: Option<PathBuf>,
    pub rules: Rules,
    pub overrides: Vec<Override>,
}

/// The settings in effect for one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effective {
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub unsafe_fixes: bool,
    pub options: PassOptions,
    /// The config file, if any.
    pub source: Option<PathBuf>,
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The config file for a directory: the nearest `dockfix.toml` or
/// `.dockfix.toml` in it or above it.
pub fn find(start: &Path) -> Option<PathBuf> {
    let start = if start.as_os_str().is_empty() { Path::new(".") } else { start };
    let abs = start.canonicalize().ok()?;
    let mut dir: Option<&Path> = Some(&abs);
    while let Some(d) = dir {
        for name in FILE_NAMES {
            let p = d.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
        dir = d.parent();
    }
    None
}

struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    /// Known passes and their options.
    passes: &'a dyn Fn(&str) -> Option<&'static [OptionSpec]>,
}

impl Checker<'_> {
    fn err(&self, span: Option<std::ops::Range<usize>>, message: impl Into<String>) -> ConfigError {
        let (line, column) = span.map_or((1, 1), |s| line_col(self.text, s.start));
        ConfigError { path: self.path.to_path_buf(), line, column, message: message.into() }
    }

    fn strings(&self, item: &toml_edit::Item, key: &str) -> Result<Vec<String>, ConfigError> {
        let arr =
            item.as_array().ok_or_else(|| self.err(item.span(), format!("`{key}` must be an array of pass names")))?;
        let mut out = Vec::new();
        for v in arr.iter() {
            let s = v.as_str().ok_or_else(|| self.err(v.span(), format!("`{key}` must hold strings")))?;
            if s != "ALL" && (self.passes)(s).is_none() {
                return Err(self.err(v.span(), format!("unknown pass `{s}` in `{key}`")));
            }
            out.push(s.to_string());
        }
        Ok(out)
    }

    /// Reads the keys of a table into `Rules` (and `paths` for overrides).
    fn rules(&self, table: &toml_edit::Table, is_override: bool) -> Result<(Rules, Vec<String>), ConfigError> {
        let mut rules = Rules::default();
        let mut paths = Vec::new();
        for (key, item) in table.iter() {
            let kspan = table.key(key).and_then(|k| k.span());
            match key {
                "select" => rules.select = Some(self.strings(item, key)?),
                "ignore" => rules.ignore = self.strings(item, key)?,
                "unsafe-fixes" => {
                    rules.unsafe_fixes = Some(
                        item.as_bool().ok_or_else(|| self.err(item.span(), "`unsafe-fixes` must be true or false"))?,
                    )
                }
                "paths" if is_override => {
                    let arr =
                        item.as_array().ok_or_else(|| self.err(item.span(), "`paths` must be an array of globs"))?;
                    for v in arr.iter() {
                        let s = v.as_str().ok_or_else(|| self.err(v.span(), "`paths` must hold strings"))?;
                        Glob::new(s).map_err(|e| self.err(v.span(), format!("bad glob `{s}`: {e}")))?;
                        paths.push(s.to_string());
                    }
                }
                "overrides" if !is_override => {}
                name => {
                    let Some(specs) = (self.passes)(name) else {
                        return Err(self.err(kspan, format!("unknown key `{name}`")));
                    };
                    let t = item
                        .as_table_like()
                        .ok_or_else(|| self.err(item.span(), format!("`{name}` must be a table of pass options")))?;
                    let mut out = toml::Table::new();
                    for (k, v) in t.iter() {
                        let span = t.key(k).and_then(|kk| kk.span());
                        let Some(spec) = specs.iter().find(|s| s.name == k) else {
                            let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
                            let hint = if known.is_empty() {
                                " (this pass has no options)".to_string()
                            } else {
                                format!(" (known: {})", known.join(", "))
                            };
                            return Err(self.err(span, format!("unknown option `{k}` for pass `{name}`{hint}")));
                        };
                        let value =
                            to_toml(v).ok_or_else(|| self.err(span.clone(), format!("bad value for `{name}.{k}`")))?;
                        let ok = match spec.kind {
                            "string" => value.is_str(),
                            "bool" => value.is_bool(),
                            "integer" => value.is_integer(),
                            "array" => value.is_array(),
                            _ => true,
                        };
                        if !ok {
                            return Err(self.err(v.span().or(span), format!("`{name}.{k}` must be a {}", spec.kind)));
                        }
                        out.insert(k.to_string(), value);
                    }
                    rules.options.tables.insert(name.to_string(), out);
                }
            }
        }
        if is_override && paths.is_empty() {
            return Err(self.err(None, "an [[overrides]] entry needs `paths`"));
        }
        Ok((rules, paths))
    }
}

fn to_toml(item: &toml_edit::Item) -> Option<toml::Value> {
    let v = item.as_value()?;
    let text = v.to_string();
    let t: toml::Table = format!("v = {}", text.trim()).parse().ok()?;
    t.get("v").cloned()
}

/// Parses config text. `passes` says which pass names exist and what
/// options each accepts.
pub fn parse(
    path: &Path,
    text: &str,
    passes: &dyn Fn(&str) -> Option<&'static [OptionSpec]>,
) -> Result<Config, ConfigError> {
    let doc: toml_edit::ImDocument<&str> = toml_edit::ImDocument::parse(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        ConfigError { path: path.to_path_buf(), line, column, message: e.message().to_string() }
    })?;
    let ck = Checker { path, text, passes };
    let (rules, _) = ck.rules(doc.as_table(), false)?;
    let mut overrides = Vec::new();
    if let Some(item) = doc.as_table().get("overrides") {
        let arr = item
            .as_array_of_tables()
            .ok_or_else(|| ck.err(item.span(), "`overrides` must be an array of tables ([[overrides]])"))?;
        for t in arr.iter() {
            let (r, paths) = ck.rules(t, true).map_err(|mut e| {
                if e.line == 1 && e.column == 1 {
                    let (l, c) = t.span().map_or((1, 1), |s| line_col(text, s.start));
                    e.line = l;
                    e.column = c;
                }
                e
            })?;
            overrides.push(Override { paths, rules: r });
        }
    }
    Ok(Config { path: Some(path.to_path_buf()), rules, overrides })
}

/// Loads a config file.
pub fn load(path: &Path, passes: &dyn Fn(&str) -> Option<&'static [OptionSpec]>) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message: e.to_string(),
    })?;
    parse(path, &text, passes)
}

fn merge(into: &mut Effective, r: &Rules) {
    if let Some(s) = &r.select {
        into.select = Some(s.clone());
    }
    into.ignore.extend(r.ignore.iter().cloned());
    if let Some(u) = r.unsafe_fixes {
        into.unsafe_fixes = u;
    }
    for (pass, t) in &r.options.tables {
        let e = into.options.tables.entry(pass.clone()).or_default();
        for (k, v) in t {
            e.insert(k.clone(), v.clone());
        }
    }
}

impl Config {
    /// The settings for `file` (overrides matched against its path relative
    /// to the config file's directory).
    pub fn effective(&self, file: &Path) -> Effective {
        let mut out = Effective { source: self.path.clone(), ..Effective::default() };
        merge(&mut out, &self.rules);
        let base = self.path.as_ref().and_then(|p| p.parent()).map(Path::to_path_buf);
        let abs = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        let rel = match &base {
            Some(b) => abs.strip_prefix(b).map(Path::to_path_buf).unwrap_or(abs.clone()),
            None => file.to_path_buf(),
        };
        for o in &self.overrides {
            let mut b = GlobSetBuilder::new();
            for p in &o.paths {
                if let Ok(g) = Glob::new(p) {
                    b.add(g);
                }
            }
            if b.build().is_ok_and(|set| set.is_match(&rel)) {
                merge(&mut out, &o.rules);
            }
        }
        out
    }
}

impl Effective {
    /// The effective settings as TOML, for `dockfix config`.
    pub fn to_toml(&self) -> String {
        let mut t = toml::Table::new();
        if let Some(s) = &self.select {
            t.insert("select".into(), toml::Value::Array(s.iter().map(|x| toml::Value::String(x.clone())).collect()));
        }
        t.insert(
            "ignore".into(),
            toml::Value::Array(self.ignore.iter().map(|x| toml::Value::String(x.clone())).collect()),
        );
        t.insert("unsafe-fixes".into(), toml::Value::Boolean(self.unsafe_fixes));
        for (k, v) in &self.options.tables {
            t.insert(k.clone(), toml::Value::Table(v.clone()));
        }
        let mut s = String::new();
        match &self.source {
            Some(p) => s.push_str(&format!("# from {}\n", p.display())),
            None => s.push_str("# no dockfix.toml found: defaults\n"),
        }
        s.push_str(&toml::to_string(&t).unwrap_or_default());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[OptionSpec] = &[OptionSpec { name: "runtime-base", kind: "string", help: "" }];

    fn passes(name: &str) -> Option<&'static [OptionSpec]> {
        match name {
            "reorder" | "multi-stage" => Some(&[]),
            "cargo-chef" => Some(OPTS),
            _ => None,
        }
    }

    #[test]
    fn parses_and_applies_overrides() {
        let text = "select = [\"reorder\", \"cargo-chef\"]\nunsafe-fixes = true\n\n[cargo-chef]\nruntime-base = \"gcr.io/distroless/cc\"\n\n[[overrides]]\npaths = [\"legacy/**\"]\nignore = [\"cargo-chef\"]\n";
        let c = parse(Path::new("/r/dockfix.toml"), text, &passes).unwrap();
        let e = c.effective(Path::new("/r/api/Dockerfile"));
        assert_eq!(e.select.as_deref(), Some(&["reorder".to_string(), "cargo-chef".to_string()][..]));
        assert!(e.unsafe_fixes);
        assert!(e.ignore.is_empty());
        assert_eq!(e.options.get_str("cargo-chef", "runtime-base"), Some("gcr.io/distroless/cc"));
        let e = c.effective(Path::new("/r/legacy/x/Dockerfile"));
        assert_eq!(e.ignore, ["cargo-chef"]);
    }

    #[test]
    fn unknown_keys_name_their_line() {
        let err = parse(Path::new("d.toml"), "select = []\n\nbogus = 1\n", &passes).unwrap_err();
        assert_eq!((err.line, err.column), (3, 1));
        assert!(err.message.contains("unknown key `bogus`"));
        let err = parse(Path::new("d.toml"), "[cargo-chef]\nruntime_base = \"x\"\n", &passes).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("known: runtime-base"), "{}", err.message);
        let err = parse(Path::new("d.toml"), "select = [\"nope\"]\n", &passes).unwrap_err();
        assert!(err.message.contains("unknown pass `nope`"));
        let err = parse(Path::new("d.toml"), "[cargo-chef]\nruntime-base = 3\n", &passes).unwrap_err();
        assert!(err.message.contains("must be a string"));
        let err = parse(Path::new("d.toml"), "select = [\n", &passes).unwrap_err();
        assert_eq!(err.path, Path::new("d.toml"));
        let err = parse(Path::new("d.toml"), "[[overrides]]\nignore = [\"reorder\"]\n", &passes).unwrap_err();
        assert!(err.message.contains("needs `paths`"));
    }
}
