//! Pass `compose-profiles`: tooling-only compose services get a profile so
//! `docker compose build`/`up` stop building them. It works on compose
//! files, not Dockerfiles: the batch driver calls [`check_compose`].

use dockfix_compose::{ComposeFile, Service};
use dockfix_core::config::OptionSpec;
use dockfix_core::{Applicability, Context, Edit, Finding, Fix, Pass};

pub const NAME: &str = "compose-profiles";

/// The pass (listed, explained and selected like the others).
pub struct ComposeProfiles;

impl Pass for ComposeProfiles {
    fn name(&self) -> &'static str {
        NAME
    }
    fn summary(&self) -> &'static str {
        "Give tooling-only compose services a profile so `docker compose build`/`up` skip them"
    }
    fn explanation(&self) -> &'static str {
        include_str!("../EXPLAIN.md")
    }
    fn applicability(&self) -> Applicability {
        Applicability::Unsafe
    }
    fn options(&self) -> &'static [OptionSpec] {
        &[OptionSpec { name: "profile", kind: "string", help: "profile given to tooling services (default \"dev\")" }]
    }
    fn check(&self, _cx: &Context<'_>) -> Vec<Finding> {
        Vec::new()
    }
}

const TOOL_WORDS: &[&str] = &[
    "lint",
    "linter",
    "format",
    "formatter",
    "fmt",
    "ruff",
    "black",
    "flake8",
    "eslint",
    "prettier",
    "mypy",
    "typecheck",
    "migrate",
    "migration",
    "migrations",
    "alembic",
    "test",
    "tests",
    "pytest",
    "jest",
    "e2e",
    "tools",
    "tool",
    "shell",
    "console",
    "docs",
    "doc",
    "codegen",
    "generate",
    "seed",
    "setup",
    "cli",
    "check",
    "storybook",
];

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_ascii_lowercase()).collect()
}

/// Why a service looks like a tool, or None.
fn tool_reason(s: &Service) -> Option<String> {
    if let Some(w) = words(&s.name).into_iter().find(|w| TOOL_WORDS.contains(&w.as_str())) {
        return Some(format!("its name says `{w}`"));
    }
    let cmd = s.command.as_deref()?;
    let w = words(cmd).into_iter().find(|w| TOOL_WORDS.contains(&w.as_str()))?;
    Some(format!("its command runs `{w}`"))
}

/// The indentation of a service's body, if it is a block mapping.
fn body_indent(text: &str, key_line: usize) -> Option<String> {
    let mut lines = text.split_inclusive('\n').skip(key_line);
    let key = text.split_inclusive('\n').nth(key_line - 1)?;
    let after_colon = key.split_once(':')?.1.trim();
    if !(after_colon.is_empty() || after_colon.starts_with('#')) {
        return None; // `name: {…}` flow style, or an alias
    }
    let key_indent = key.len() - key.trim_start().len();
    lines.find_map(|l| {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') {
            return None;
        }
        let ind = l.len() - t.len();
        (ind > key_indent).then(|| l[..ind].to_string())
    })
}

/// Findings for one compose file. `all` is every service of the project
/// (including override files), for `depends_on`.
pub fn check_compose(file: &ComposeFile, all: &[Service], profile: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let line_start =
        |line: usize| -> usize { file.text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum() };
    for s in &file.services {
        if s.build.is_none() || !s.profiles.is_empty() || s.has_ports || s.restart.is_some() {
            continue;
        }
        if all.iter().any(|o| o.depends_on.contains(&s.name)) {
            continue;
        }
        if all.iter().any(|o| o.name == s.name && !o.profiles.is_empty()) {
            continue;
        }
        let Some(reason) = tool_reason(s) else { continue };
        let Some(indent) = body_indent(&file.text, s.line) else { continue };
        let at = line_start(s.line + 1).min(file.text.len());
        let key_start = line_start(s.line);
        let eol = if file.text.contains("\r\n") { "\r\n" } else { "\n" };
        let needs_nl = at == file.text.len() && !file.text.ends_with('\n');
        let text = format!("{}{indent}profiles: [\"{profile}\"]{eol}", if needs_nl { eol } else { "" });
        out.push(
            Finding::new(NAME, key_start..key_start + s.name.len() + s.col, format!("service `{}` is built by every `docker compose build`/`up` but looks like a tool ({reason})", s.name))
                .why("Services without a profile are built and started by `docker compose up`; a tooling service only needs to exist for `docker compose run`.")
                .gain(format!("`docker compose build`/`up` skip `{}`; run it with `docker compose run {}` or `--profile {profile}`.", s.name, s.name))
                .fix(Fix::unsafe_(format!("Add `profiles: [\"{profile}\"]` to `{}`", s.name), vec![Edit::insert(at, text)])),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn finds_tools_only() {
        let text = "services:\n  api:\n    build: .\n    ports: [\"80:80\"]\n    depends_on: [migrate]\n  migrate:\n    build: .\n    command: alembic upgrade head\n  lint:\n    # the linter\n    build: ./tools\n  worker:\n    build: .\n    command: celery worker\n  test: {build: .}\n";
        let f = dockfix_compose::parse(Path::new("compose.yaml"), text).unwrap();
        let found = check_compose(&f, &f.services, "dev");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("`lint`"));
        let e = &found[0].fix.as_ref().unwrap().edits[0];
        assert_eq!(&text[..e.range.start], "services:\n  api:\n    build: .\n    ports: [\"80:80\"]\n    depends_on: [migrate]\n  migrate:\n    build: .\n    command: alembic upgrade head\n  lint:\n");
        assert_eq!(e.replacement, "    profiles: [\"dev\"]\n");
    }
}
