//! The pass API: what a pass sees (the parsed Dockerfile, its build context
//! through a file system, its options) and what it returns (findings).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use dockfix_syntax::Document;

use crate::fix::{Applicability, Finding};
use crate::fs::Fs;

/// One rewrite.
pub trait Pass: Send + Sync {
    /// Kebab-case name used in `--select`, config and suppressions.
    fn name(&self) -> &'static str;
    /// One line for `dockfix passes`.
    fn summary(&self) -> &'static str;
    /// The long explanation for `dockfix explain` (Markdown): what it does,
    /// why, an example, and when it refuses.
    fn explanation(&self) -> &'static str;
    /// The most a fix of this pass can be (Safe, or Unsafe for passes that
    /// change the stage graph or the image's contents).
    fn applicability(&self) -> Applicability;
    /// On by default (without `--select`).
    fn default_enabled(&self) -> bool {
        true
    }
    /// Keys this pass reads from its `[pass-name]` table in `dockfix.toml`.
    fn options(&self) -> &'static [crate::config::OptionSpec] {
        &[]
    }
    /// Findings for one Dockerfile.
    fn check(&self, cx: &Context<'_>) -> Vec<Finding>;
}

/// A build of one Dockerfile: where it is and what it is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The Dockerfile.
    pub dockerfile: PathBuf,
    /// The build context directory.
    pub context: PathBuf,
    /// A compose service name, when known.
    pub name: Option<String>,
    /// `build.target`, when known.
    pub target: Option<String>,
    /// `build.args`, when known.
    pub build_args: BTreeMap<String, String>,
}

impl Service {
    /// A Dockerfile built from its own directory.
    pub fn for_dockerfile(dockerfile: impl Into<PathBuf>) -> Service {
        let dockerfile = dockerfile.into();
        let context = dockerfile.parent().map(Path::to_path_buf).unwrap_or_default();
        let context = if context.as_os_str().is_empty() { PathBuf::from(".") } else { context };
        Service { dockerfile, context, name: None, target: None, build_args: BTreeMap::new() }
    }
}

/// Options per pass (`[pass-name]` tables of `dockfix.toml`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassOptions {
    pub tables: BTreeMap<String, toml::Table>,
}

impl PassOptions {
    pub fn get(&self, pass: &str, key: &str) -> Option<&toml::Value> {
        self.tables.get(pass)?.get(key)
    }
    pub fn get_str(&self, pass: &str, key: &str) -> Option<&str> {
        self.get(pass, key)?.as_str()
    }
    pub fn get_bool(&self, pass: &str, key: &str) -> Option<bool> {
        self.get(pass, key)?.as_bool()
    }
}

/// How often files changed in the repository's history (for ordering layers).
pub trait History: Send + Sync {
    /// Number of commits that touched `path` (relative to the repository
    /// root or absolute), or None when unknown.
    fn commit_count(&self, path: &Path) -> Option<usize>;
    /// A short description ("git history, last 200 commits").
    fn describe(&self) -> String;
}

/// What a pass sees.
pub struct Context<'a> {
    pub doc: &'a Document,
    pub service: &'a Service,
    pub fs: &'a dyn Fs,
    pub options: &'a PassOptions,
    pub history: Option<&'a dyn History>,
    /// Names of the passes running on this file, this one included (for
    /// passes that compose: leave a job to another pass when it runs).
    pub passes: &'a [&'static str],
}

impl<'a> Context<'a> {
    /// The build context directory.
    pub fn context_dir(&self) -> &Path {
        &self.service.context
    }

    /// Resolves a context-relative path (as written in a COPY source);
    /// `None` if it leaves the context.
    pub fn context_path(&self, rel: &str) -> Option<PathBuf> {
        let mut out = self.service.context.clone();
        let mut depth = 0usize;
        for c in Path::new(rel.trim_start_matches('/')).components() {
            match c {
                Component::Normal(p) => {
                    out.push(p);
                    depth += 1;
                }
                Component::ParentDir => {
                    if depth == 0 {
                        return None;
                    }
                    out.pop();
                    depth -= 1;
                }
                _ => {}
            }
        }
        Some(out)
    }

    /// The text of a context file (lossy UTF-8).
    pub fn read_context(&self, rel: &str) -> Option<String> {
        let p = self.context_path(rel)?;
        self.fs.read(&p).map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// True if a context-relative file exists.
    pub fn context_has_file(&self, rel: &str) -> bool {
        self.context_path(rel).is_some_and(|p| self.fs.is_file(&p))
    }

    /// True if a context-relative directory exists.
    pub fn context_has_dir(&self, rel: &str) -> bool {
        self.context_path(rel).is_some_and(|p| self.fs.is_dir(&p))
    }

    /// The source of the Dockerfile.
    pub fn source(&self) -> &[u8] {
        self.doc.source()
    }

    /// True when the pass named `name` runs on this file too.
    pub fn runs(&self, name: &str) -> bool {
        self.passes.contains(&name)
    }
}
