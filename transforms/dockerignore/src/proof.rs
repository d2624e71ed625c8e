//! Proofs that leaving an entry out of the context keeps the image: the
//! Dockerfile rebuilds a directory after copying it (an install recreates
//! `node_modules`, a build recreates `target/`), and nothing uses `.git`.

use std::path::Path;

use dockfix_core::walk::Workdir;
use dockfix_core::Fs;

use crate::catalog::Tool;
use crate::reads::{Cmd, Reads, Run, Source};

/// Reads files of the build context.
pub struct Files<'a> {
    pub fs: &'a dyn Fs,
    pub root: &'a Path,
}

impl Files<'_> {
    pub fn read(&self, rel: &str) -> Option<String> {
        let p = if rel.is_empty() { self.root.to_path_buf() } else { self.root.join(rel) };
        self.fs.read(&p).map(|b| String::from_utf8_lossy(&b).into_owned())
    }
}

fn parent_of(p: &str) -> &str {
    p.rsplit_once('/').map_or("", |(d, _)| d)
}

fn name_of(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The first argument that is not an option.
fn verb(cmd: &Cmd) -> Option<&str> {
    cmd.args().iter().map(String::as_str).find(|a| !a.starts_with('-'))
}

fn has_arg(cmd: &Cmd, names: &[&str]) -> bool {
    cmd.args().iter().any(|a| names.iter().any(|n| a == n || a.starts_with(&format!("{n}="))))
}

/// The value of an option (`--prefix x` or `--prefix=x`).
fn opt_value<'a>(cmd: &'a Cmd, names: &[&str]) -> Option<&'a str> {
    let args = cmd.args();
    for (k, a) in args.iter().enumerate() {
        for n in names {
            if a == n {
                return args.get(k + 1).map(String::as_str);
            }
            if let Some(v) = a.strip_prefix(&format!("{n}=")) {
                return Some(v);
            }
        }
    }
    None
}

fn words_label(cmd: &Cmd) -> String {
    let s = cmd.words.join(" ");
    if s.chars().count() > 50 {
        format!("{}…", s.chars().take(49).collect::<String>())
    } else {
        s
    }
}

fn is_python(program: &str) -> bool {
    program == "python" || program.starts_with("python3") || program == "python2"
}

/// Does this command recreate the entry at `image` (named `name`,
/// context path `ctx_path`)? Returns a description when it does.
fn recreates(
    tool: Tool,
    run: &Run,
    cmd: &Cmd,
    image: &Workdir,
    parent: &Workdir,
    ctx_path: &str,
    files: &Files<'_>,
) -> bool {
    let name = name_of(ctx_path);
    let p = cmd.program();
    let in_parent = &cmd.cwd == parent;
    match tool {
        Tool::Node => {
            if name != "node_modules" || has_arg(cmd, &["-g", "--global"]) {
                return false;
            }
            let installs = match p {
                "npm" => matches!(verb(cmd), Some("install" | "i" | "ci" | "add" | "isntall")),
                "yarn" => matches!(verb(cmd), None | Some("install")),
                "pnpm" | "bun" => matches!(verb(cmd), Some("install" | "i" | "add")),
                _ => false,
            };
            let cwd = match opt_value(cmd, &["--prefix"]) {
                Some(prefix) if p == "npm" => cmd.cwd.join(prefix),
                _ => cmd.cwd.clone(),
            };
            installs && &cwd == parent
        }
        Tool::Venv => {
            let args = cmd.args();
            let creates_at = |rest: &[String]| -> bool {
                // The first operand after the module/subcommand is the directory.
                let mut skip_next = false;
                for a in rest {
                    if skip_next {
                        skip_next = false;
                        continue;
                    }
                    if matches!(a.as_str(), "-p" | "--python" | "--prompt") {
                        skip_next = true;
                        continue;
                    }
                    if a.starts_with('-') {
                        continue;
                    }
                    return &cmd.cwd.join(a) == image;
                }
                false
            };
            if is_python(p) {
                if let Some(k) = args.iter().position(|a| a == "-m") {
                    if matches!(args.get(k + 1).map(String::as_str), Some("venv" | "virtualenv")) {
                        return creates_at(&args[k + 2..]);
                    }
                }
                return false;
            }
            match (p, verb(cmd)) {
                ("virtualenv", _) => creates_at(args),
                ("uv", Some("venv")) => {
                    let k = args.iter().position(|a| a == "venv").unwrap_or(0);
                    let rest = &args[k + 1..];
                    let explicit = rest.iter().any(|a| !a.starts_with('-'));
                    if explicit {
                        creates_at(rest)
                    } else {
                        name == ".venv" && in_parent
                    }
                }
                ("uv", Some("sync")) => {
                    let env = cmd.var(run, "UV_PROJECT_ENVIRONMENT");
                    name == ".venv" && in_parent && env.is_none_or(|e| &cmd.cwd.join(e) == image)
                }
                ("poetry", Some("install" | "sync")) => {
                    let in_project = cmd.var(run, "POETRY_VIRTUALENVS_IN_PROJECT");
                    name == ".venv" && in_parent && in_project.is_some_and(|v| v == "true" || v == "1")
                }
                ("pipenv", Some("install" | "sync")) => {
                    name == ".venv"
                        && in_parent
                        && cmd.var(run, "PIPENV_VENV_IN_PROJECT").is_some_and(|v| !v.is_empty())
                }
                _ => false,
            }
        }
        Tool::Cargo => {
            if p != "cargo" || name != "target" || !in_parent || has_arg(cmd, &["--target-dir"]) {
                return false;
            }
            let target_env = cmd.var(run, "CARGO_TARGET_DIR");
            if target_env.is_some_and(|t| &cmd.cwd.join(t) != image) {
                return false;
            }
            let args: Vec<&str> = cmd.args().iter().map(String::as_str).collect();
            matches!(verb(cmd), Some("build" | "b" | "test" | "t" | "rustc" | "run" | "r"))
                || args.windows(2).any(|w| w == ["chef", "cook"])
        }
        Tool::Maven => {
            let phases = ["compile", "test", "package", "verify", "install", "deploy"];
            matches!(p, "mvn" | "mvnw")
                && name == "target"
                && in_parent
                && !has_arg(cmd, &["-f", "--file"])
                && cmd.args().iter().any(|a| phases.contains(&a.as_str()))
        }
        Tool::Gradle => {
            let tasks =
                ["build", "assemble", "bootJar", "jar", "shadowJar", "installDist", "distTar", "distZip", "classes"];
            matches!(p, "gradle" | "gradlew")
                && name == "build"
                && in_parent
                && !has_arg(cmd, &["-p", "--project-dir"])
                && cmd.args().iter().any(|a| tasks.contains(&a.as_str()))
        }
        Tool::JsBuild => in_parent && js_build_writes(cmd, parent_of(ctx_path), name, files),
    }
}

/// Tools and the directories they write by default.
const JS_TOOLS: &[(&str, &[&str])] = &[
    ("vite", &["dist"]),
    ("rollup", &["dist"]),
    ("webpack", &["dist"]),
    ("parcel", &["dist"]),
    ("ng", &["dist"]),
    ("astro", &["dist"]),
    ("tsup", &["dist"]),
    ("react-scripts", &["build"]),
    ("next", &[".next"]),
    ("nuxt", &[".nuxt", ".output"]),
    ("nuxi", &[".nuxt", ".output"]),
    ("svelte-kit", &[".svelte-kit"]),
    ("remix", &["build"]),
    ("tsc", &[]),
    ("esbuild", &[]),
];

const RUNNERS: &[&str] = &["npx", "bunx", "pnpx"];

/// True if `cmd` runs a JavaScript build that writes `<pkg>/<name>`.
fn js_build_writes(cmd: &Cmd, pkg: &str, name: &str, files: &Files<'_>) -> bool {
    let p = cmd.program();
    let args: Vec<&str> = cmd.args().iter().map(String::as_str).collect();
    let manifest = files.read(&join(pkg, "package.json"));
    let scripts: Option<serde_json::Map<String, serde_json::Value>> = manifest
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
        .and_then(|v| v.get("scripts").and_then(|s| s.as_object()).cloned());
    let script_text = |s: &str| scripts.as_ref().and_then(|m| m.get(s)).and_then(|v| v.as_str()).map(str::to_string);

    // The text of what runs: a package script, or the command itself.
    let text = match (p, args.first().copied()) {
        ("npm" | "pnpm" | "bun" | "yarn", Some("run" | "run-script")) => args.get(1).and_then(|s| script_text(s)),
        ("yarn" | "pnpm", Some(s)) if !s.starts_with('-') && script_text(s).is_some() => script_text(s),
        ("pnpm" | "yarn", Some("exec" | "dlx")) => Some(args[1..].join(" ")),
        _ if RUNNERS.contains(&p) => Some(args.join(" ")),
        _ if JS_TOOLS.iter().any(|(t, _)| *t == p) => Some(cmd.words.join(" ")),
        _ => None,
    };
    let Some(mut text) = text else { return false };
    // Follow `npm run x` inside scripts, a few levels deep.
    for _ in 0..3 {
        let mut more = String::new();
        let words: Vec<&str> = text.split_whitespace().collect();
        for w in words.windows(2) {
            if w[0] == "run" {
                if let Some(t) = script_text(w[1]) {
                    more.push(' ');
                    more.push_str(&t);
                }
            }
        }
        if more.is_empty() || text.contains(&more) {
            break;
        }
        text.push_str(&more);
    }
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, '=' | '&' | ';' | '|' | '"' | '\''))
        .filter(|t| !t.is_empty())
        .collect();
    // `dist/…`, or `--outDir dist` (a bare `build` is more often a subcommand).
    let out_flags = ["-o", "-d", "--out", "--outDir", "--outdir", "--out-dir", "--output", "--dist-dir", "--dest"];
    let mentions = |n: &str| {
        tokens.iter().enumerate().any(|(k, t)| {
            let t = t.trim_start_matches("./");
            dockfix_core::walk::starts_with_dir(t, n)
                || (t.trim_end_matches('/') == n && k > 0 && out_flags.contains(&tokens[k - 1]))
        })
    };
    if mentions(name) {
        return true;
    }
    for (tool, outs) in JS_TOOLS {
        if !tokens.iter().any(|t| name_of(t) == *tool) {
            continue;
        }
        if outs.contains(&name) {
            return true;
        }
        if *tool == "tsc" {
            if let Some(out) = files.read(&join(pkg, "tsconfig.json")).as_deref().and_then(ts_out_dir) {
                if dockfix_dockerignore::normalize(&out) == name {
                    return true;
                }
            }
        }
    }
    false
}

/// `compilerOptions.outDir` of a tsconfig (which may hold comments).
fn ts_out_dir(text: &str) -> Option<String> {
    let at = text.find("\"outDir\"")?;
    let rest = text[at + 8..].trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// Commands known not to read a tool's output directory.
fn ignores_output(tool: Tool, cmd: &Cmd) -> bool {
    let args: Vec<&str> = cmd.args().iter().map(String::as_str).collect();
    match tool {
        // The planner stage of cargo-chef.
        Tool::Cargo => cmd.program() == "cargo" && args.windows(2).any(|w| w == ["chef", "prepare"]),
        _ => false,
    }
}

/// The copy lands in a stage that passes on only other paths (cargo-chef's
/// planner: `COPY --from=planner /app/recipe.json`), and no step after the
/// copy in that stage reads the entry.
fn unused_in_stage(reads: &Reads, src: &Source, image: &Workdir, tool: Tool) -> Option<String> {
    if src.stage == reads.final_stage {
        return None;
    }
    let takes: Vec<_> = reads.takes_from(src.stage).collect();
    if takes.is_empty() {
        return None;
    }
    let mut taken = Vec::new();
    for t in &takes {
        for p in t.paths.as_ref()? {
            if p.is_within(image) != Some(false) || image.is_within(p) != Some(false) {
                return None;
            }
            if let Workdir::Abs(a) = p {
                taken.push(format!("`{a}`"));
            }
        }
    }
    for run in reads.runs_after(src.stage, src.idx) {
        if !run.cmds.as_ref()?.iter().all(|c| ignores_output(tool, c)) {
            return None;
        }
    }
    let stage = reads.stage_names.get(src.stage).cloned().flatten().unwrap_or_else(|| src.stage.to_string());
    Some(format!(
        "later stages take only {} from stage `{stage}`, and no step there reads it",
        crate::text::and_list(&taken)
    ))
}

/// Proof that the Dockerfile rebuilds the entry at context path `path`
/// after `src` copied it: Ok(the command that does), Err(why not).
pub fn rebuilt(reads: &Reads, src: &Source, path: &str, tool: Tool, files: &Files<'_>) -> Result<String, String> {
    if src.copy.is_none() {
        return Err(format!("`{}` mounts it from the context", src.label));
    }
    let Some(image) = src.image_path(path) else {
        return Err(format!("`{}` copies it to a place dockfix cannot work out", src.label));
    };
    let parent = image.join("..");
    for run in reads.runs_after(src.stage, src.idx) {
        let Some(cmds) = &run.cmds else { continue };
        if let Some(cmd) = cmds.iter().find(|c| recreates(tool, run, c, &image, &parent, path, files)) {
            return Ok(format!("`{}` rebuilds it after `{}`", words_label(cmd), src.label));
        }
    }
    if let Some(why) = unused_in_stage(reads, src, &image, tool) {
        return Ok(why);
    }
    // Put there from another stage before the copy.
    if let Some(t) =
        reads.takes.iter().find(|t| t.stage == src.stage && t.idx < src.idx && t.dest.as_ref() == Some(&image))
    {
        return Err(format!(
            "`{}` puts it there before `{}`, which then copies the host's over it: without it the image keeps what \
             the other stage made, but files only the host's copy has are gone",
            t.label, src.label
        ));
    }
    // Made before the copy, at the same place: the copy puts the host's over it.
    let earlier = reads.runs.iter().filter(|r| r.stage == src.stage && r.idx < src.idx);
    for run in earlier {
        let Some(cmds) = &run.cmds else { continue };
        if let Some(cmd) = cmds.iter().find(|c| recreates(tool, run, c, &image, &parent, path, files)) {
            let w = words_label(cmd);
            return Err(format!(
                "`{w}` makes it before `{}`, which then copies the host's over it: without it the image keeps what \
                 `{w}` made, but files only the host's copy has are gone",
                src.label
            ));
        }
    }
    Err(format!("`{}` copies it into the image and no later step of that stage rebuilds it", src.label))
}

/// Markers of Python versions computed from git.
const SCM_VERSIONING: &[&str] = &[
    "setuptools_scm",
    "setuptools-scm",
    "hatch-vcs",
    "hatch_vcs",
    "versioneer",
    "dunamai",
    "poetry-dynamic-versioning",
    "setuptools-git-versioning",
    "uv-dynamic-versioning",
    "vcs-versioning",
    "pbr",
];

/// Git subcommands that do not need a local repository.
const GIT_NO_REPO: &[&str] = &["clone", "config", "init", "version", "--version", "ls-remote", "help", "--help"];

fn mentions_git_command(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '`' | '$' | '"' | '\''))
        .any(|t| t == "git")
}

/// How a build step uses `.git`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitUse {
    pub why: String,
    /// The step fails without it (not just a different result).
    pub needs: bool,
}

/// Why build steps may need `.git` (empty if none).
pub fn git_users(reads: &Reads, files: &Files<'_>) -> Vec<GitUse> {
    let mut out = Vec::new();
    let mut push = |why: String, needs: bool| {
        let u = GitUse { why, needs };
        if !out.contains(&u) {
            out.push(u);
        }
    };
    for run in &reads.runs {
        let Some(cmds) = &run.cmds else {
            push(format!("`{}` runs a script dockfix cannot read", run.label), false);
            continue;
        };
        for cmd in cmds {
            let p = cmd.program();
            if p == "git" {
                let sub = cmd.args().iter().find(|a| !a.starts_with('-') || a.as_str() == "--version");
                if has_arg(cmd, &["-C"]) || sub.is_none_or(|s| !GIT_NO_REPO.contains(&s.as_str())) {
                    push(format!("`{}` reads the repository", words_label(cmd)), true);
                }
            } else if cmd.words.iter().any(|w| w == ".git" || w.ends_with("/.git") || w.contains(".git/")) {
                push(format!("`{}` reads .git", words_label(cmd)), true);
            } else if p == "go" && matches!(verb(cmd), Some("build" | "install")) {
                let flags = cmd.var(run, "GOFLAGS").unwrap_or("");
                if !has_arg(cmd, &["-buildvcs"]) && !flags.contains("-buildvcs=false") {
                    push(
                        format!("`{}` stamps the binary with the commit from .git (-buildvcs)", words_label(cmd)),
                        false,
                    );
                }
            } else {
                // Scripts the RUN executes: read them from the context.
                let mut scripts: Vec<String> = Vec::new();
                if p == "make" {
                    scripts.extend(["Makefile", "makefile", "GNUmakefile"].map(String::from));
                }
                for w in &cmd.words {
                    if w.ends_with(".sh") || w.ends_with(".bash") {
                        let parts: Vec<&str> = w.trim_start_matches("./").trim_start_matches('/').split('/').collect();
                        for k in 0..parts.len() {
                            scripts.push(parts[k..].join("/"));
                        }
                    }
                }
                if let Some(s) = scripts.iter().find(|s| files.read(s).is_some_and(|t| mentions_git_command(&t))) {
                    push(format!("`{}` runs {s}, which calls git", words_label(cmd)), true);
                }
            }
        }
    }
    let mut dirs: Vec<&str> = vec![""];
    dirs.extend(reads.sources.iter().filter(|s| s.glob.is_none() && !s.unknown).map(|s| s.path.as_str()));
    dirs.sort_unstable();
    dirs.dedup();
    for d in dirs {
        for f in ["pyproject.toml", "setup.py", "setup.cfg"] {
            let path = join(d, f);
            if let Some(t) = files.read(&path) {
                if let Some(m) = SCM_VERSIONING.iter().find(|m| t.contains(*m)) {
                    push(format!("{path} uses {m}, which reads the version from git"), true);
                }
            }
        }
        let path = join(d, "package.json");
        if let Some(t) = files.read(&path) {
            if let Some(m) = ["husky", "simple-git-hooks", "lefthook"].iter().find(|m| t.contains(*m)) {
                push(format!("{path} uses {m}, which may need the repository at install time"), false);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reads::reads;
    use dockfix_core::MemFs;
    use dockfix_syntax::parse_str;
    use std::collections::BTreeMap;

    fn proof(df: &str, fs: &MemFs, path: &str, tool: Tool) -> Result<String, String> {
        let rd = reads(&parse_str(df).unwrap(), &BTreeMap::new());
        let files = Files { fs, root: Path::new("/c") };
        let src = rd.sources.iter().find(|s| s.covers(path)).expect("covered");
        rebuilt(&rd, src, path, tool, &files)
    }

    #[test]
    fn installs_after_the_copy() {
        let fs = MemFs::new();
        let nm = "node_modules";
        assert!(proof("FROM n\nWORKDIR /app\nCOPY . .\nRUN npm ci\n", &fs, nm, Tool::Node).is_ok());
        assert!(proof("FROM n\nCOPY . /app\nRUN cd /app && yarn\n", &fs, nm, Tool::Node).is_ok());
        assert!(proof("FROM n\nWORKDIR /app\nCOPY . .\nRUN npm ci -g x\n", &fs, nm, Tool::Node).is_err());
        // Installed before the copy: the copy puts the host's over it.
        assert!(proof("FROM n\nWORKDIR /app\nRUN npm ci\nCOPY . .\n", &fs, nm, Tool::Node).is_err());
        // Installed somewhere else.
        assert!(proof("FROM n\nWORKDIR /app\nCOPY . .\nRUN cd /srv && npm ci\n", &fs, nm, Tool::Node).is_err());
        // A sub-package's node_modules.
        assert!(
            proof("FROM n\nWORKDIR /app\nCOPY . .\nRUN cd web && npm i\n", &fs, "web/node_modules", Tool::Node).is_ok()
        );
    }

    #[test]
    fn venvs_and_builds() {
        let fs = MemFs::new()
            .with("/c/package.json", r#"{"scripts": {"build": "tsc -p . && npm run bundle", "bundle": "vite build"}}"#)
            .with("/c/tsconfig.json", "{ // comment\n \"compilerOptions\": { \"outDir\": \"./lib\" } }");
        let v = ".venv";
        assert!(proof("FROM p\nWORKDIR /app\nCOPY . .\nRUN python -m venv .venv\n", &fs, v, Tool::Venv).is_ok());
        assert!(proof("FROM p\nWORKDIR /app\nCOPY . .\nRUN uv sync --frozen\n", &fs, v, Tool::Venv).is_ok());
        assert!(proof(
            "FROM p\nWORKDIR /app\nENV UV_PROJECT_ENVIRONMENT=/venv\nCOPY . .\nRUN uv sync\n",
            &fs,
            v,
            Tool::Venv
        )
        .is_err());
        assert!(proof("FROM p\nWORKDIR /app\nCOPY . .\nRUN pip install -r r.txt\n", &fs, v, Tool::Venv).is_err());
        assert!(
            proof("FROM r\nWORKDIR /src\nCOPY . .\nRUN cargo build --release\n", &fs, "target", Tool::Cargo).is_ok()
        );
        assert!(proof(
            "FROM r\nWORKDIR /src\nENV CARGO_TARGET_DIR=/t\nCOPY . .\nRUN cargo build\n",
            &fs,
            "target",
            Tool::Cargo
        )
        .is_err());
        let js = "FROM n\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n";
        assert!(proof(js, &fs, "dist", Tool::JsBuild).is_ok(), "vite writes dist");
        assert!(proof(js, &fs, "lib", Tool::JsBuild).is_ok(), "tsc writes outDir");
        assert!(proof(js, &fs, "build", Tool::JsBuild).is_err(), "nothing writes build");
    }

    #[test]
    fn stages_that_pass_on_other_paths() {
        let fs = MemFs::new();
        let chef = "FROM rust AS chef\nRUN cargo install cargo-chef\nWORKDIR /app\n\
                    FROM chef AS planner\nCOPY . .\nRUN cargo chef prepare --recipe-path recipe.json\n\
                    FROM chef AS builder\nCOPY --from=planner /app/recipe.json recipe.json\n\
                    RUN cargo chef cook --release --recipe-path recipe.json\nCOPY . .\nRUN cargo build --release\n\
                    FROM debian\nCOPY --from=builder /app/target/release/app /usr/local/bin/\n";
        let rd = reads(&parse_str(chef).unwrap(), &BTreeMap::new());
        let files = Files { fs: &fs, root: Path::new("/c") };
        for src in rd.sources.iter().filter(|s| s.covers("target")) {
            assert!(rebuilt(&rd, src, "target", Tool::Cargo, &files).is_ok(), "{}", src.label);
        }
        // A stage the final one is built on passes everything on.
        let base = "FROM rust AS b\nWORKDIR /app\nCOPY . .\nRUN cargo chef prepare\nFROM b\nCMD x\n";
        let rd = reads(&parse_str(base).unwrap(), &BTreeMap::new());
        assert!(rebuilt(&rd, &rd.sources[0], "target", Tool::Cargo, &files).is_err());
        // node_modules from a deps stage, overlaid by the host's.
        let next = "FROM node AS deps\nWORKDIR /app\nCOPY package.json ./\nRUN npm ci\n\
                    FROM node AS builder\nWORKDIR /app\nCOPY --from=deps /app/node_modules ./node_modules\nCOPY . .\n\
                    RUN npm run build\nFROM node\nCOPY --from=builder /app/.next ./.next\n";
        let rd = reads(&parse_str(next).unwrap(), &BTreeMap::new());
        let src = rd.sources.iter().find(|s| s.covers("node_modules")).unwrap();
        let err = rebuilt(&rd, src, "node_modules", Tool::Node, &files).unwrap_err();
        assert!(err.contains("puts it there before `COPY . .`"), "{err}");
    }

    #[test]
    fn who_needs_git() {
        let fs = MemFs::new().with("/c/scripts/version.sh", "echo $(git describe --tags)\n");
        let users = |df: &str, fs: &MemFs| {
            let rd = reads(&parse_str(df).unwrap(), &BTreeMap::new());
            git_users(&rd, &Files { fs, root: Path::new("/c") })
        };
        assert!(users("FROM a\nCOPY . .\nRUN pip install .\n", &fs).is_empty());
        assert!(users("FROM a\nRUN git clone https://x/y.git /y\n", &fs).is_empty());
        let d = users("FROM a\nCOPY . .\nRUN git describe --tags > VERSION\n", &fs);
        assert!(d.len() == 1 && d[0].needs);
        assert_eq!(users("FROM a\nCOPY . .\nRUN ./scripts/version.sh\n", &fs).len(), 1);
        let go = users("FROM a\nCOPY . .\nRUN go build -o /app .\n", &fs);
        assert_eq!(go.len(), 1);
        assert!(!go[0].needs, "only the stamped version changes");
        assert!(users("FROM a\nCOPY . .\nRUN go build -buildvcs=false -o /app .\n", &fs).is_empty());
        let scm = MemFs::new().with("/c/pyproject.toml", "[build-system]\nrequires = [\"setuptools-scm\"]\n");
        assert_eq!(users("FROM a\nCOPY . .\nRUN pip install .\n", &scm).len(), 1);
    }
}
