//! The runtime stage: a slim image of the builder's distribution release
//! with the binaries, the files the program may read, the runtime libraries
//! the build linked, the user it runs as, and every instruction that defines
//! what the container does (ENV, EXPOSE, USER, WORKDIR, LABEL, HEALTHCHECK,
//! VOLUME, STOPSIGNAL, ENTRYPOINT, CMD), with paths into `target/` mapped to
//! where the binaries now are.

#![allow(clippy::needless_range_loop)] // stage positions index several parallel vectors

use std::collections::BTreeSet;
use std::ops::Range;

use dockfix_core::layout;
use dockfix_core::walk::State;
use dockfix_core::{apply_edits, Edit};
use dockfix_syntax::{Instruction, Kind};

use crate::cargo::{self, quote, Sub, W};
use crate::cmds::{self, Cmd};
use crate::convert::{self, env_pair_texts, one_line, CopyInfo, Site};
use crate::glob::{self, Ignore};
use crate::image::{self, Distro, Family, PkgRole};
use crate::paths;
use crate::{Names, Options, RuntimeKind};
use dockfix_core::execform;

/// The runtime stage and the edits that create it.
pub struct RtPlan {
    pub name: String,
    pub edits: Vec<Edit>,
    /// One clause for the finding's "why".
    pub explanation: String,
    pub gain: String,
}

/// What happens to an instruction of the build stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Stays in the builder only.
    Stay,
    /// Leaves the builder for the runtime stage.
    Move,
    /// Stays in the builder and is repeated in the runtime stage.
    Both,
}

/// Instructions that only describe the container.
fn runtime_only(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Expose
            | Kind::Label
            | Kind::Maintainer
            | Kind::Cmd
            | Kind::Entrypoint
            | Kind::Healthcheck
            | Kind::Stopsignal
    )
}

/// Environment variables that only steer the build.
fn build_only_env(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    k.starts_with("CARGO")
        || k.starts_with("RUSTUP")
        || k.starts_with("RUSTC")
        || k.starts_with("RUSTFLAGS")
        || k.starts_with("RUSTDOC")
        || k.starts_with("SQLX_OFFLINE")
        || k.starts_with("PKG_CONFIG")
        || k.starts_with("OPENSSL_")
        || k.starts_with("CC_")
        || k.starts_with("CXX_")
        || k.starts_with("CFLAGS")
        || k.starts_with("CXXFLAGS")
        || k.starts_with("BINDGEN")
        || matches!(
            k.as_str(),
            "CC" | "CXX" | "AR" | "LD" | "LDFLAGS" | "DEBIAN_FRONTEND" | "PROTOC" | "LIBCLANG_PATH" | "RUST_VERSION"
        )
}

/// Top-level entries of a Rust project that only the build reads.
fn build_only_entry(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(
        name,
        "Cargo.toml"
            | "Cargo.lock"
            | "src"
            | "build.rs"
            | "benches"
            | "tests"
            | "examples"
            | "target"
            | ".cargo"
            | "rust-toolchain"
            | "rust-toolchain.toml"
            | "rustfmt.toml"
            | ".rustfmt.toml"
            | "clippy.toml"
            | ".clippy.toml"
            | "deny.toml"
            | ".sqlx"
            | "sqlx-data.json"
            | "recipe.json"
            | ".dockerignore"
            | ".git"
            | ".github"
            | ".gitlab-ci.yml"
            | ".gitignore"
            | ".gitattributes"
            | ".editorconfig"
            | ".vscode"
            | ".idea"
            | ".pre-commit-config.yaml"
            | "justfile"
            | "Justfile"
            | "Makefile"
            | "dockfix.toml"
    ) || lower == "dockerfile"
        || lower.ends_with(".dockerfile")
        || lower.starts_with("dockerfile.")
        || lower.starts_with("docker-compose")
        || lower.starts_with("compose.")
        || lower.ends_with(".md")
        || lower.starts_with("readme")
        || lower.starts_with("license")
        || lower.starts_with("licence")
        || lower.starts_with("changelog")
        || lower.starts_with("contributing")
}

/// Commands that only prepare the runtime (users, directories, packages).
fn runtime_safe(name: &str) -> bool {
    matches!(
        name,
        "mkdir"
            | "chown"
            | "chmod"
            | "chgrp"
            | "useradd"
            | "groupadd"
            | "adduser"
            | "addgroup"
            | "usermod"
            | "ln"
            | "touch"
            | "echo"
            | "printf"
            | "true"
            | "set"
            | "apt-get"
            | "apt"
            | "apk"
            | "update-ca-certificates"
    )
}

fn user_command(name: &str) -> bool {
    matches!(name, "useradd" | "groupadd" | "adduser" | "addgroup")
}

/// Where each binary is in the builder, as commands move it.
#[derive(Debug, Clone)]
struct Loc {
    name: String,
    /// Where the build put it.
    built: String,
    /// Where a `cp`/`mv`/`install` put it last.
    moved: Option<String>,
}

/// The destination of `cp`/`mv`/`install` words for one source.
fn copy_dest(args: &[&W], cwd: &str, src_name: &str) -> Option<String> {
    let positional: Vec<&&W> = args.iter().filter(|w| !w.value.starts_with('-')).collect();
    let dest = positional.last()?;
    let d = paths::join(cwd, &dest.value);
    let known_dir = dest.value.ends_with('/')
        || dest.value == "."
        || positional.len() > 2
        || matches!(d.as_str(), "/usr/local/bin" | "/usr/bin" | "/bin" | "/usr/local/sbin" | "/usr/sbin" | "/sbin")
        || d == cwd;
    Some(if known_dir { format!("{}/{src_name}", d.trim_end_matches('/')) } else { d })
}

/// How a RUN after the build is treated; records binary moves.
fn classify_run(
    ins: &Instruction,
    cwd: &str,
    site: &Site<'_, '_>,
    locs: &mut [Loc],
    removed: &mut BTreeSet<String>,
) -> Result<Fate, String> {
    let mut keep = false;
    let mut unknown: Option<String> = None;
    for c in cmds::run_commands(ins) {
        if c.words.is_empty() {
            continue;
        }
        let name = c.name().to_string();
        let touches = c.args().any(|w| {
            let p = paths::join(cwd, &w.value);
            paths::within(&p, &site.target_dir)
                || locs.iter().any(|l| l.built == p || l.moved.as_deref() == Some(p.as_str()))
                || w.value.contains("target/")
        });
        match name.as_str() {
            "cargo" | "rustc" | "rustup" | "strip" | "upx" | "objcopy" | "llvm-strip" => keep = true,
            "cp" | "mv" | "install" => {
                keep = true;
                track_moves(&c, cwd, locs);
            }
            "rm" => {
                keep = true;
                track_removed(&c, cwd, site, removed);
            }
            n if runtime_safe(n) => {
                if touches {
                    keep = true;
                }
            }
            _ if touches => keep = true,
            _ => {
                unknown.get_or_insert(convert::label(&c));
            }
        }
    }
    match (keep, unknown) {
        (true, _) => Ok(Fate::Stay),
        (false, None) => Ok(Fate::Move),
        (false, Some(u)) => Err(format!(
            "`{u}` runs after the build; dockfix cannot tell whether it prepares the runtime image or the build."
        )),
    }
}

/// Top-level entries of the project directory an `rm` deletes (a glob
/// counts for every entry it may match).
fn track_removed(c: &Cmd, cwd: &str, site: &Site<'_, '_>, removed: &mut BTreeSet<String>) {
    for w in c.args().filter(|w| !w.value.starts_with('-')) {
        let p = paths::join(cwd, &w.value);
        if p == site.w || paths::within(&site.w, &p) {
            removed.insert("*".to_string());
        }
        if let Some(r) = paths::rel(&p, &site.w) {
            if !r.is_empty() && !r.contains('/') {
                removed.insert(r);
            }
        }
    }
}

fn track_moves(c: &Cmd, cwd: &str, locs: &mut [Loc]) {
    let args: Vec<&W> = c.args().collect();
    let positional: Vec<&&W> = args.iter().filter(|w| !w.value.starts_with('-')).collect();
    if positional.len() < 2 {
        return;
    }
    for src in &positional[..positional.len() - 1] {
        let p = paths::join(cwd, &src.value);
        for l in locs.iter_mut() {
            let cur = l.moved.clone().unwrap_or(l.built.clone());
            if p == cur || p == l.built {
                if let Some(d) = copy_dest(&args, cwd, &l.name) {
                    l.moved = Some(d);
                }
            }
        }
    }
}

/// The program words of a runtime command (CMD, ENTRYPOINT, HEALTHCHECK CMD).
fn programs(args_text: &str, exec: Option<Vec<String>>) -> Vec<String> {
    match exec {
        Some(words) => {
            let mut out = Vec::new();
            if let Some(first) = words.first() {
                out.push(first.clone());
                let shell = matches!(paths::base_name(first), "sh" | "bash" | "ash" | "dash");
                if shell {
                    if let Some(i) = words.iter().position(|w| w == "-c" || w == "-ec" || w == "-ce") {
                        if let Some(script) = words.get(i + 1) {
                            out.extend(
                                cmds::script_commands(script, None)
                                    .iter()
                                    .map(|c| c.words.first().map(|w| w.value.clone()).unwrap_or_default()),
                            );
                        }
                    }
                }
            }
            out
        }
        None => cmds::script_commands(args_text, None)
            .into_iter()
            .filter_map(|c| c.words.first().map(|w| w.value.clone()))
            .collect(),
    }
}

/// A runtime command found in the builder.
struct RunCmd {
    pos: usize,
    /// The `cargo run` it holds, converted, as (source range, new text).
    conversion: Option<(Range<usize>, String)>,
}

/// The runtime stage. With `runtime = "distroless"` or `"scratch"` (and no
/// `runtime-base`), that image when the checks pass, else the slim image
/// with the reason in the explanation.
pub fn plan(site: &Site<'_, '_>, opts: &Options, names: &mut Names) -> Result<RtPlan, String> {
    let kind = if opts.runtime_base.is_some() { RuntimeKind::Slim } else { opts.runtime };
    if kind == RuntimeKind::Slim {
        return plan_kind(site, opts, names, kind);
    }
    let saved = names.clone();
    match plan_kind(site, opts, names, kind) {
        Ok(p) => Ok(p),
        Err(why) => {
            *names = saved;
            let mut p = plan_kind(site, opts, names, RuntimeKind::Slim)?;
            p.explanation.push_str(&format!(
                ". `runtime = \"{}\"` (dockfix.toml) was not used: {} So the runtime stays on the slim image",
                kind.as_str(),
                why.trim_end()
            ));
            Ok(p)
        }
    }
}

fn plan_kind(site: &Site<'_, '_>, opts: &Options, names: &mut Names, kind: RuntimeKind) -> Result<RtPlan, String> {
    let doc = site.doc;
    let eol = layout::eol(doc);
    let from_ins = &doc.instructions[site.stage.from];
    let ind = layout::indent(doc, from_ins);
    let kw = |k: &str| -> String {
        if from_ins.keyword.chars().all(|c| c.is_ascii_lowercase()) {
            k.to_ascii_lowercase()
        } else {
            k.to_string()
        }
    };
    let n = site.body.len();
    let state = |k: usize| -> &State { &site.states[k] };
    let cwd = |k: usize| paths::abs(&state(k).workdir, site.root_default).unwrap_or_else(|| site.w.clone());

    // Where the binaries are, and what the build RUN does after compiling.
    let mut locs: Vec<Loc> =
        site.bins.iter().map(|b| Loc { name: b.name.clone(), built: b.path.clone(), moved: None }).collect();
    let mut removed: BTreeSet<String> = BTreeSet::new();
    for k in site.split..site.kb {
        if site.ins(k).kind == Kind::Run {
            for c in cmds::run_commands(site.ins(k)) {
                if c.name() == "rm" {
                    track_removed(&c, &cwd(k), site, &mut removed);
                }
            }
        }
    }
    {
        let run = site.ins(site.kb);
        let mut after_build = false;
        for c in cmds::run_commands(run) {
            if cargo::parse(&c.words).is_some_and(|k| k.is_build()) {
                after_build = true;
                continue;
            }
            if after_build && matches!(c.name(), "cp" | "mv" | "install") {
                track_moves(&c, &site.w, &mut locs);
            }
            if c.name() == "rm" {
                track_removed(&c, &site.w, site, &mut removed);
            }
        }
    }
    if site.target_mount.is_some() {
        if let Some(l) = locs.iter().find(|l| l.moved.is_none()) {
            return Err(format!(
                "the target directory is a cache mount and `{}` is not copied out of it in the same RUN, so the image never had it.",
                l.name
            ));
        }
    }

    // Fates of the stage's instructions.
    let mut fates: Vec<Fate> = vec![Fate::Stay; n];
    for k in site.kb + 1..n {
        let ins = site.ins(k);
        fates[k] = match ins.kind {
            Kind::Run => classify_run(ins, &cwd(k), site, &mut locs, &mut removed)?,
            Kind::Onbuild => return Err("the stage has an ONBUILD trigger.".into()),
            _ => Fate::Move,
        };
    }
    let last_kept = (site.kb..n).filter(|&k| k == site.kb || fates[k] == Fate::Stay).max().unwrap_or(site.kb);
    for k in 0..last_kept {
        let ins = site.ins(k);
        if ins.kind == Kind::Onbuild {
            return Err("the stage has an ONBUILD trigger.".into());
        }
        fates[k] = if runtime_only(ins.kind) {
            Fate::Move
        } else if (k > site.kb && fates[k] == Fate::Move) || matches!(ins.kind, Kind::Env | Kind::User | Kind::Volume) {
            Fate::Both
        } else {
            Fate::Stay
        };
    }

    // Binaries keep their path: the one the build copied it to, or its
    // place in target/, so CMD, ENTRYPOINT and scripts stay as they are.
    let mut bin_copies: Vec<(String, String)> = Vec::new();
    let mut rewrites: Vec<(String, String)> = Vec::new();
    let mut rewritten_to: Vec<String> = Vec::new();
    // Spellings of binaries that stay in target/ (allowed in CMD and co).
    let mut kept: Vec<(String, String)> = Vec::new();
    for l in &locs {
        let dest = match &l.moved {
            Some(m) => m.clone(),
            None => l.built.clone(),
        };
        let from = if l.moved.is_some() { dest.clone() } else { l.built.clone() };
        bin_copies.push((from, dest.clone()));
        if dest == l.built {
            kept.push((l.built.clone(), String::new()));
            if let Some(r) = paths::rel(&l.built, &site.w) {
                kept.push((format!("./{r}"), String::new()));
                kept.push((r, String::new()));
            }
        } else if site.target_mount.is_none() || l.moved.is_none() {
            rewrites.push((l.built.clone(), dest.clone()));
            if let Some(r) = paths::rel(&l.built, &site.w) {
                rewrites.push((format!("./{r}"), dest.clone()));
                rewrites.push((r, dest.clone()));
            }
        }
    }
    rewrites.sort_by_key(|(a, _)| std::cmp::Reverse(a.len()));
    kept.sort_by_key(|(a, _)| std::cmp::Reverse(a.len()));

    // Files of the sources the program may read at run time.
    let ignore = site.cx.read_context(".dockerignore").map(|t| Ignore::parse(&t)).unwrap_or_default();
    let mut entries: Vec<(String, bool)> = Vec::new();
    let mut chown: Option<String> = None;
    let mut replicate: Vec<usize> = Vec::new();
    let into_w = |c: &CopyInfo| paths::within(&c.dest, &site.w) || paths::within(&site.w, &c.dest);
    for c in site.copies.iter().filter(|c| c.pos >= site.split && c.pos < site.kb) {
        if !into_w(c) || c.from.is_some() {
            let ins = site.ins(c.pos);
            let dest_abs = ins.arg_values().last().is_some_and(|d| d.starts_with('/'));
            if !dest_abs && cwd(c.pos) != site.w {
                return Err(format!("`{}` copies to a relative path from another directory.", one_line(ins)));
            }
            replicate.push(c.pos);
            continue;
        }
        if c.chown.is_some() {
            chown = c.chown.clone();
        }
        for s in &c.sources {
            for (ctx_path, is_dir) in expand_source(site, s) {
                let in_image = if is_dir {
                    c.dest.clone()
                } else if c.dest_is_dir || c.dest == site.w {
                    format!("{}/{}", c.dest.trim_end_matches('/'), paths::base_name(&ctx_path))
                } else {
                    c.dest.clone()
                };
                if is_dir && paths::within(&site.w, &in_image) {
                    // The directory lands on (or above) the project: its children are entries.
                    let Some(r) = paths::rel(&site.w, &in_image) else { continue };
                    let sub = paths::ctx_join(&ctx_path, &r);
                    let Some(abs) = site.cx.context_path(&sub) else { continue };
                    for e in site.cx.fs.list(&abs) {
                        let cp = paths::ctx_join(&sub, &e.name);
                        if ignore.excluded(&cp) && !ignore.partially_included(&cp) {
                            continue;
                        }
                        add_entry(&mut entries, &e.name, e.is_dir);
                    }
                } else if let Some(r) = paths::rel(&in_image, &site.w) {
                    if let Some(first) = r.split('/').next().filter(|f| !f.is_empty()) {
                        add_entry(&mut entries, first, is_dir || r.contains('/'));
                    }
                }
            }
        }
    }
    let vendored: Vec<&str> = site.project.source_dirs.iter().filter_map(|d| d.split('/').next()).collect();
    entries.retain(|(e, _)| {
        !build_only_entry(e)
            && !site.project.member_roots.contains(e)
            && !removed.iter().any(|r| r == "*" || glob::component_match(r, e))
            && !vendored.contains(&e.as_str())
            && !site.cx.context_has_file(&paths::ctx_join(&site.project.root, &format!("{e}/Cargo.toml")))
    });

    // CMD, ENTRYPOINT, HEALTHCHECK: path rewrites, `cargo run`, the programs they need.
    let final_entrypoint = (0..n).rev().find(|&k| site.ins(k).kind == Kind::Entrypoint);
    let mut run_cmds: Vec<RunCmd> = Vec::new();
    let mut needed_programs: Vec<String> = Vec::new();
    let mut conversions: Vec<String> = Vec::new();
    for k in 0..n {
        let ins = site.ins(k);
        if !matches!(ins.kind, Kind::Cmd | Kind::Entrypoint | Kind::Healthcheck) {
            continue;
        }
        let (text_span, exec) = command_part(ins);
        let Some(text_span) = text_span else { continue };
        let text = ins.text_of(&text_span).to_string();
        let mut conversion = None;
        let mut exec_words = exec.clone();
        // `cargo run` → the binary.
        let words: Vec<W> = match &exec {
            Some(ws) => ws.iter().map(|v| W::new(v.clone(), v.clone())).collect(),
            None => cmds::script_commands(&text, None).into_iter().next().map(|c| c.words).unwrap_or_default(),
        };
        if let Some(call) = cargo::parse(&words).filter(|c| c.sub == Some(Sub::Run)) {
            let build = &site.calls[0].0;
            let same = |n: &str| call.values(n).iter().map(|w| &w.value).eq(build.values(n).iter().map(|w| &w.value));
            if call.feature_set() != build.feature_set()
                || call.has("no-default-features") != build.has("no-default-features")
                || call.has("all-features") != build.has("all-features")
                || !same("target")
            {
                return Err(format!(
                    "`{}` compiles with other features or another target than the image's build, so its program is not the one the build made.",
                    one_line(ins)
                ));
            }
            if call.profile() != build.profile() {
                conversions.push(format!(
                    "note: `cargo run` compiled a {} build each time the container started, the runtime runs the {} binary the image builds",
                    call.profile(),
                    build.profile()
                ));
            }
            let bin = run_binary(&call, site, state(k))?;
            let loc = locs
                .iter()
                .find(|l| l.name == bin)
                .ok_or_else(|| format!("`cargo run` starts `{bin}`, which the build does not produce."))?;
            let path = loc.moved.clone().unwrap_or_else(|| loc.built.clone());
            let new_text = match &exec {
                Some(_) => {
                    let mut v = vec![path.clone()];
                    v.extend(call.trailing.iter().map(|w| w.value.clone()));
                    exec_words = Some(v.clone());
                    format!("[{}]", v.iter().map(|s| json_str(s)).collect::<Vec<_>>().join(", "))
                }
                None => {
                    let rest = call.trailing.iter().map(|w| w.raw.clone()).collect::<Vec<_>>().join(" ");
                    if cmds::script_commands(&text, None).len() > 1 {
                        return Err(format!("`{}` runs `cargo run` among other commands.", one_line(ins)));
                    }
                    if rest.is_empty() {
                        path.clone()
                    } else {
                        format!("{path} {rest}")
                    }
                }
            };
            conversions.push(format!(
                "`{}` becomes `{new_text}`",
                words.iter().map(|w| w.raw.as_str()).collect::<Vec<_>>().join(" ")
            ));
            conversion = Some((ins.source_range(text_span.clone()), new_text));
        }
        // Which programs does it run?
        let check = ins.kind != Kind::Cmd || final_entrypoint.is_none();
        if check && conversion.is_none() {
            for p in programs(&text, exec_words.clone()) {
                needed_programs.push(p);
            }
        }
        if conversion.is_none() {
            for (from, to) in &rewrites {
                if contains_path(&text, from) && !rewritten_to.contains(to) {
                    rewritten_to.push(to.clone());
                }
            }
        }
        let rewritten = rewrite_paths(&text, &rewrites);
        if conversion.is_none() && rewrite_paths(&rewritten, &kept).contains("target/") {
            return Err(format!(
                "`{}` refers to target/ in a way dockfix cannot map to the copied binary.",
                one_line(ins)
            ));
        }
        run_cmds.push(RunCmd { pos: k, conversion });
    }

    // No shell: shell-form start commands become exec form, where that means the same.
    if kind != RuntimeKind::Slim {
        let has_cmd = (0..n).any(|k| site.ins(k).kind == Kind::Cmd);
        for rc in run_cmds.iter_mut() {
            let ins = site.ins(rc.pos);
            let (span, exec) = command_part(ins);
            let (Some(span), None) = (span, exec) else { continue };
            if rc.conversion.as_ref().is_some_and(|(_, t)| t.starts_with('[')) {
                continue;
            }
            let text = match &rc.conversion {
                Some((_, t)) => t.clone(),
                None => rewrite_paths(ins.text_of(&span), &rewrites),
            };
            let words = execform::exec_words(&text).map_err(|e| {
                format!("its shell-form {} `{}` {e}, so it needs /bin/sh.", ins.kind.as_str(), one_line(ins))
            })?;
            if ins.kind == Kind::Entrypoint && has_cmd {
                return Err(
                    "its shell-form ENTRYPOINT ignores CMD, and in exec form CMD would become its arguments.".into()
                );
            }
            rc.conversion = Some((ins.source_range(span), execform::json_array(&words)));
            // `exec` only replaced the shell.
            if let Some(i) = needed_programs.iter().position(|p| p == "exec") {
                needed_programs.remove(i);
            }
        }
    }

    // Users the container runs as.
    let mut users: Vec<(usize, String)> = Vec::new();
    for k in 0..n {
        let ins = site.ins(k);
        if ins.kind == Kind::User {
            if let Some(a) = ins.args.first() {
                let u = state(k).expand(&a.value).unwrap_or(a.value.clone());
                users.push((k, u));
            }
        }
    }

    // Packages the builder installed, and libraries Cargo.lock links.
    let builder_distro = site.builder.distro.clone();
    // RUNs of the stages this one is built on count too (`FROM base AS build`).
    let inherited: Vec<&Instruction> = ancestor_runs(site);
    let mut installed: Vec<String> = Vec::new();
    let own = (0..n).filter(|&k| k <= last_kept).map(|k| site.ins(k));
    for ins in inherited.iter().copied().chain(own) {
        if ins.kind != Kind::Run {
            continue;
        }
        for c in cmds::run_commands(ins) {
            installed.extend(install_packages(&c));
        }
    }

    // Choose the runtime image.
    let needs_shell_cmds = run_cmds.iter().any(|r| {
        let ins = site.ins(r.pos);
        let (_, exec) = command_part(ins);
        exec.is_none() && r.conversion.as_ref().is_none_or(|(_, t)| !t.starts_with('['))
    }) || (last_kept + 1..n).any(|k| site.ins(k).kind == Kind::Run)
        || (0..last_kept).any(|k| fates[k] == Fate::Both && site.ins(k).kind == Kind::Run);
    let named_users = users.iter().any(|(_, u)| {
        let name = u.split(':').next().unwrap_or(u);
        !(name == "root" || name.chars().all(|c| c.is_ascii_digit()) || name == "nobody" || name == "nonroot")
    });
    let linked =
        image::LINKED.iter().any(|(k, _, _, v)| site.project.locks(k) && !v.is_some_and(|v| site.project.locks(v)));
    let is_static = site.static_target || (site.builder.musl && !linked);
    let no_shell_image: Option<&str> = match kind {
        RuntimeKind::Slim => None,
        RuntimeKind::Distroless if is_static => Some("gcr.io/distroless/static-debian12"),
        RuntimeKind::Distroless => match &site.builder.distro {
            Distro::Debian(r) if *r <= image::Release::Bookworm => Some("gcr.io/distroless/cc-debian12"),
            Distro::Debian(r) => {
                return Err(format!(
                    "the binary is linked against the C library of Debian {}, newer than the one of gcr.io/distroless/cc-debian12 (Debian 12).",
                    r.name()
                ))
            }
            Distro::Alpine(_) => {
                return Err("the binary is built on Alpine and links system libraries (musl), and distroless images are built on glibc.".into())
            }
            _ => {
                return Err(format!(
                    "dockfix cannot tell which C library {} links against, so it cannot pick a distroless image with the same one.",
                    site.base_image
                ))
            }
        },
        RuntimeKind::Scratch if is_static => Some("scratch"),
        RuntimeKind::Scratch => {
            return Err("the binary is linked dynamically (not a static musl build), and `scratch` has no C library.".into())
        }
    };
    let (runtime_image, distro, custom) = match (&opts.runtime_base, no_shell_image) {
        (_, Some(img)) => (img.to_string(), Distro::Unknown, false),
        (Some(img), None) => (img.clone(), image::classify_runtime(img), true),
        (None, None) => {
            let pre = image::runtime_for(&site.builder, site.static_target, false);
            let wants_more = needs_shell_cmds
                || named_users
                || !needed_programs.iter().all(|p| is_own(p, &locs, site))
                || chown.is_some();
            let pick =
                if site.static_target && !wants_more { pre } else { image::runtime_for(&site.builder, false, true) };
            match pick {
                Some((i, d)) => (i, d, false),
                None if site.static_target => ("debian:bookworm-slim".to_string(), Distro::Debian(image::Release::Bookworm), false),
                None => {
                    return Err(format!(
                        "dockfix cannot tell which distribution release {} is built on, so it cannot pick a runtime image with the same C library; set `runtime-base` under [cargo-chef] in dockfix.toml.",
                        site.base_image
                    ))
                }
            }
        }
    };
    let family = distro.family();
    let distroless = family == Family::None;

    // Runtime packages.
    let pkg_distro = if matches!(distro, Distro::Unknown) { builder_distro.clone() } else { distro.clone() };
    // (package, why), in install order.
    let mut pkgs: Vec<(String, String)> = Vec::new();
    let mut unknown_dev: Vec<String> = Vec::new();
    fn add(pkgs: &mut Vec<(String, String)>, p: &str, why: String) {
        if !pkgs.iter().any(|(x, _)| x == p) {
            pkgs.push((p.to_string(), why));
        }
    }
    for p in &installed {
        let name = p.split('=').next().unwrap_or(p);
        match image::role(p, &pkg_distro) {
            PkgRole::BuildOnly => {}
            PkgRole::Runtime(r) => add(&mut pkgs, &r, format!("the builder installed {name}")),
            PkgRole::UnknownDev => unknown_dev.push(p.clone()),
            PkgRole::Keep => add(&mut pkgs, name, "the builder installed it".into()),
        }
    }
    for (krate, deb, alp, vendored) in image::LINKED {
        if site.project.locks(krate) && !vendored.is_some_and(|v| site.project.locks(v)) {
            let dev = if family == Family::Apk { alp } else { deb };
            if dev.is_empty() {
                continue;
            }
            if let PkgRole::Runtime(r) = image::role(dev, &pkg_distro) {
                add(&mut pkgs, &r, format!("Cargo.lock links {krate}"));
            }
        }
    }
    let tls = match &site.project.lock {
        Some(_) => image::TLS_CRATES.iter().any(|c| site.project.locks(c)),
        None => true,
    };
    if tls && !distroless {
        let why = if site.project.lock.is_some() {
            "Cargo.lock has a TLS client that reads the system's certificates"
        } else {
            "without a Cargo.lock dockfix cannot tell whether the program makes TLS connections"
        };
        add(&mut pkgs, "ca-certificates", why.into());
    }
    if image::lacks_tzdata(&distro) {
        let tz_env =
            (0..n).any(|k| site.ins(k).kind == Kind::Env && site.ins(k).pairs().iter().any(|(key, _)| key == "TZ"));
        if let Some(k) = image::TZ_CRATES.iter().find(|c| site.project.locks(c)) {
            add(&mut pkgs, "tzdata", format!("Cargo.lock has {k}, which reads the system's time zones"));
        } else if tz_env {
            add(&mut pkgs, "tzdata", "the image sets TZ".into());
        }
    }
    if !unknown_dev.is_empty() && opts.runtime_packages.is_empty() {
        return Err(format!(
            "the builder installs {}, and dockfix does not know which runtime package provides the library the binary links; list it in `runtime-packages` under [cargo-chef] in dockfix.toml.",
            unknown_dev.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    for p in &opts.runtime_packages {
        add(&mut pkgs, p, "dockfix.toml lists it".into());
    }
    let bash_shell = (0..n).any(|k| site.ins(k).kind == Kind::Shell && site.ins(k).args_text().contains("bash"));
    if bash_shell && family == Family::Apk {
        add(&mut pkgs, "bash", "the SHELL instruction uses it".into());
    }
    // Programs the runtime commands call.
    let provided: Vec<String> = provided_paths(site, &entries, &replicate, &bin_copies);
    for p in &needed_programs {
        if is_own(p, &locs, site) {
            continue;
        }
        let path = if p.contains('/') { Some(paths::join(&site.w, p)) } else { None };
        if let Some(path) = &path {
            if provided.iter().any(|q| paths::within(path, q)) {
                // A script of the sources: it must not need what stays in the builder.
                let text = paths::rel(path, &site.w)
                    .and_then(|r| site.cx.read_context(&paths::ctx_join(&site.project.root, &r)));
                if let Some(text) = text {
                    let needs_builder = text.contains("target/")
                        || cmds::script_commands(&text, None).iter().any(|c| matches!(c.name(), "cargo" | "rustc"));
                    if needs_builder {
                        return Err(format!(
                            "the container runs `{p}`, a script that uses target/ or cargo, which stay in the builder; dockfix does not rewrite scripts."
                        ));
                    }
                }
                continue;
            }
        }
        let base = paths::base_name(p);
        match image::program_package(base, if distroless { Family::Apt } else { family }) {
            Some(None) if !distroless => {}
            Some(Some(pkg)) if !distroless => add(&mut pkgs, pkg, format!("the container runs `{base}`")),
            _ if path.as_deref().is_some_and(|p| p.starts_with("/bin/") || p.starts_with("/usr/bin/"))
                && !distroless => {}
            _ => {
                return Err(format!(
                    "the container runs `{p}`, which the slim runtime image would not have (the builder image does)."
                ))
            }
        }
    }
    let mut packages: Vec<String> = pkgs.iter().map(|(p, _)| p.clone()).collect();
    let reasons: Vec<String> = pkgs.iter().map(|(p, why)| format!("{p} ({why})")).collect();
    // What an image without a shell or package manager must do without.
    let mut no_shell_copies: Vec<String> = Vec::new();
    let mut no_shell_notes: Vec<String> = Vec::new();
    if kind != RuntimeKind::Slim {
        let allowed: &[&str] = match kind {
            // distroless base (under cc) has glibc, libssl3, CA certificates and tzdata.
            RuntimeKind::Distroless if runtime_image.contains("/cc-") => &["ca-certificates", "tzdata", "libssl3"],
            _ => &["ca-certificates", "tzdata"],
        };
        if let Some((p, why)) = pkgs.iter().find(|(p, _)| !allowed.contains(&p.as_str())) {
            return Err(format!(
                "the runtime needs the package {p} ({why}), and {runtime_image} has no package manager."
            ));
        }
        if needs_shell_cmds {
            return Err(format!(
                "a RUN step would have to run in the runtime stage, and {runtime_image} has no shell."
            ));
        }
        if chown.is_some() {
            return Err(format!(
                "the sources are copied with --chown, which needs a chown in the runtime stage, and {runtime_image} has no shell."
            ));
        }
        for (_, u) in &users {
            for part in u.split(':') {
                let numeric = part.chars().all(|c| c.is_ascii_digit());
                let distroless_own = matches!(part, "root" | "nonroot" | "nobody");
                if !(numeric || (kind == RuntimeKind::Distroless && distroless_own)) {
                    return Err(format!(
                        "the container runs as `{u}`, and {runtime_image} {}.",
                        if kind == RuntimeKind::Scratch {
                            "has no /etc/passwd (use a numeric USER)"
                        } else {
                            "only has the users root, nonroot and nobody"
                        }
                    ));
                }
            }
        }
        if kind == RuntimeKind::Scratch {
            let from = &site.builder_name;
            if tls {
                no_shell_copies.push(format!(
                    "{} --from={from} /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
                    kw("COPY")
                ));
                no_shell_notes.push(if site.project.lock.is_some() {
                    "the CA bundle from the builder (Cargo.lock has a TLS client that reads the system's certificates)".to_string()
                } else {
                    "the CA bundle from the builder (without a Cargo.lock dockfix cannot tell whether the program makes TLS connections)".to_string()
                });
            }
            let tz_env =
                (0..n).any(|k| site.ins(k).kind == Kind::Env && site.ins(k).pairs().iter().any(|(key, _)| key == "TZ"));
            let tz_why = image::TZ_CRATES
                .iter()
                .find(|c| site.project.locks(c))
                .map(|c| format!("Cargo.lock has {c}, which reads the system's time zones"))
                .or(tz_env.then(|| "the image sets TZ".to_string()));
            if let Some(why) = tz_why {
                let has_zoneinfo = matches!(site.builder.distro, Distro::Debian(r) if r <= image::Release::Bookworm);
                if !has_zoneinfo {
                    return Err(format!(
                        "{why}, `scratch` has no time zone database, and the builder {} has none to copy.",
                        site.base_image
                    ));
                }
                no_shell_copies.push(format!("{} --from={from} /usr/share/zoneinfo /usr/share/zoneinfo", kw("COPY")));
                no_shell_notes.push(format!("/usr/share/zoneinfo from the builder ({why})"));
            }
        }
    }
    if kind == RuntimeKind::Slim
        && distroless
        && (!packages.iter().all(|p| p == "ca-certificates") || needs_shell_cmds || named_users)
    {
        return Err(format!("{runtime_image} has no shell or package manager, and the runtime stage needs one."));
    }
    if family == Family::None {
        packages.clear();
    }

    // Users: created as in the builder.
    let mut user_cmds: Vec<String> = Vec::new();
    let mut user_names: BTreeSet<String> = BTreeSet::new();
    for (_, u) in &users {
        let mut it = u.splitn(2, ':');
        let name = it.next().unwrap_or("").to_string();
        let group = it.next().map(str::to_string);
        for n in std::iter::once(name).chain(group) {
            if n.is_empty() || n == "root" || n.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            user_names.insert(n);
        }
    }
    let region_runs: String = (last_kept + 1..n)
        .filter(|&k| site.ins(k).kind == Kind::Run)
        .map(|k| site.ins(k).line.text().to_string())
        .collect();
    let mut created: BTreeSet<String> = BTreeSet::new();
    let own_runs = (0..=last_kept.min(n.saturating_sub(1))).filter(|&k| fates[k] != Fate::Both).map(|k| site.ins(k));
    for ins in inherited.iter().copied().chain(own_runs) {
        if ins.kind != Kind::Run {
            continue;
        }
        for c in cmds::run_commands(ins) {
            if !user_command(c.name()) {
                continue;
            }
            let target =
                c.args().filter(|w| !w.value.starts_with('-')).last().map(|w| w.value.clone()).unwrap_or_default();
            if user_names.contains(&target) {
                created.insert(target);
                let r = c.raw();
                if !user_cmds.contains(&r) {
                    user_cmds.push(r);
                }
            }
        }
    }
    for u in &user_names {
        let standard = matches!(
            u.as_str(),
            "nobody"
                | "nogroup"
                | "daemon"
                | "bin"
                | "sys"
                | "www-data"
                | "nonroot"
                | "users"
                | "staff"
                | "mail"
                | "games"
        ) && !(u == "www-data" && family == Family::Apk);
        if !created.contains(u) && !standard && !region_runs.contains(u.as_str()) {
            return Err(format!(
                "the container runs as `{u}`, which this Dockerfile does not create; dockfix cannot tell whether the runtime image has it."
            ));
        }
    }
    if !user_cmds.is_empty() && family != site.builder.distro.family() && site.builder.distro.family() != Family::None {
        return Err(format!(
            "the user is created with {} commands, which {runtime_image} does not have.",
            if site.builder.distro.family() == Family::Apk { "Alpine" } else { "Debian" }
        ));
    }
    let mut chown_cmds: Vec<String> = Vec::new();
    if let Some(c) = &chown {
        // The sources were copied with --chown: the program may write next to
        // them, so the directory belongs to the same owner.
        let owner = c.split_once('=').map(|(_, v)| v.to_string()).unwrap_or_default();
        if !owner.is_empty() && site.w != "/" {
            chown_cmds.push(format!("mkdir -p {}", quote(&site.w)));
            chown_cmds.push(format!("chown {} {}", quote(&owner), quote(&site.w)));
        }
    }

    // --- compose the stage ---
    let rt_name = names.take("runtime");
    let line = |s: &str| format!("{ind}{s}{eol}");
    let mut out = String::new();
    let region_start = site.ins(last_kept).lines.end;
    let src = doc.source();
    if region_start > 0 && src[region_start - 1] != b'\n' {
        out.push_str(eol);
    }
    out.push_str(eol);
    let release = match &site.builder.distro {
        Distro::Debian(r) => format!("the builder's Debian release ({})", r.name()),
        Distro::Alpine(_) => "the builder's Alpine release".to_string(),
        Distro::Ubuntu(v) => format!("the builder's Ubuntu release ({v})"),
        Distro::Unknown => "a slim base".to_string(),
    };
    if kind != RuntimeKind::Slim {
        out.push_str(&line(&format!(
            "# Runtime: only the compiled program, on {}, without the Rust toolchain.",
            if kind == RuntimeKind::Scratch { "an empty image" } else { "a distroless image (no shell)" }
        )));
    } else if custom {
        out.push_str(&line("# Runtime: only the compiled program and what it needs, without the Rust toolchain."));
    } else if site.static_target {
        out.push_str(&line("# Runtime: only the statically linked program, without the Rust toolchain."));
    } else {
        let on = if matches!(site.builder.distro, Distro::Alpine(_)) {
            release.clone()
        } else {
            format!("a slim image of {release}")
        };
        out.push_str(&line(&format!("# Runtime: only the compiled program, on {on}.")));
    }
    out.push_str(&line(&format!("{} {runtime_image} {} {rt_name}", kw("FROM"), convert::as_word(from_ins))));

    // Collect the texts first, to know which ARGs they need.
    let mut body_texts: Vec<String> = Vec::new();
    let apply_cmd_edits = |k: usize, block: Range<usize>| -> String {
        let ins = site.ins(k);
        let mut t = layout::lines_text(doc, block.clone());
        if let Some(rc) = run_cmds.iter().find(|r| r.pos == k) {
            let (span, _) = command_part(ins);
            if let Some(span) = span {
                let range = ins.source_range(span.clone());
                let new = match &rc.conversion {
                    Some((_, t)) => t.clone(),
                    None => rewrite_paths(&String::from_utf8_lossy(&src[range.clone()]), &rewrites),
                };
                let e = Edit::replace(range.start - block.start..range.end - block.start, new);
                if let Some(b) = apply_edits(t.as_bytes(), &[&e]) {
                    t = String::from_utf8_lossy(&b).into_owned();
                }
            }
        }
        t
    };
    let mut deletions: Vec<Edit> = Vec::new();
    let mut shell_line: Option<String> = None;
    for k in 0..=last_kept.min(n.saturating_sub(1)) {
        let ins = site.ins(k);
        match fates[k] {
            Fate::Stay => {
                if ins.kind == Kind::Shell {
                    shell_line = Some(convert::ins_text(doc, ins));
                }
            }
            Fate::Move => {
                let block = layout::block(doc, site.body[k]);
                body_texts.push(apply_cmd_edits(k, block.clone()));
                deletions.push(layout::delete_lines(doc, block));
            }
            Fate::Both => match ins.kind {
                Kind::Env => {
                    let pairs = env_pair_texts(ins);
                    let keep: Vec<&String> =
                        pairs.iter().filter(|p| !build_only_env(p.split('=').next().unwrap_or(""))).collect();
                    if keep.len() == pairs.len() && !pairs.is_empty() {
                        body_texts.push(convert::ins_text(doc, ins));
                    } else if !keep.is_empty() {
                        body_texts.push(line(&format!(
                            "{} {}",
                            kw("ENV"),
                            keep.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
                        )));
                    }
                }
                _ => body_texts.push(convert::ins_text(doc, ins)),
            },
        }
    }
    // The region after the last instruction the builder keeps.
    let stage_end = site.ins(n - 1).lines.end;
    let mut region_edits: Vec<Edit> = Vec::new();
    for k in last_kept + 1..n {
        let ins = site.ins(k);
        if let Some(rc) = run_cmds.iter().find(|r| r.pos == k) {
            let (span, _) = command_part(ins);
            if let Some(span) = span {
                let range = ins.source_range(span.clone());
                let new = match &rc.conversion {
                    Some((_, t)) => t.clone(),
                    None => rewrite_paths(&String::from_utf8_lossy(&src[range.clone()]), &rewrites),
                };
                if new != String::from_utf8_lossy(&src[range.clone()]) {
                    region_edits.push(Edit::replace(range.start - region_start..range.end - region_start, new));
                }
            }
        }
    }
    let region_refs: Vec<&Edit> = region_edits.iter().collect();
    let region_text = apply_edits(&src[region_start..stage_end], &region_refs)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .ok_or("overlapping edits in the runtime instructions")?;

    let mut header: Vec<String> = Vec::new();
    // ARGs used by what moves.
    let mut all_text = body_texts.concat();
    all_text.push_str(&region_text);
    let vars = cmds::var_refs(&all_text);
    // An ENV that moves may itself read the ARG (`ENV NAME=${NAME}`): every
    // ARG of the stage that the moved text names is declared again.
    for a in convert::arg_lines(site, &vars, n) {
        header.push(line(&format!("{} {a}", kw("ARG"))));
    }
    if !packages.is_empty() {
        header.push(install_line(family, &packages, &ind, eol, doc.escape, &kw("RUN")));
    }
    let mut run_lines: Vec<String> = user_cmds.clone();
    run_lines.extend(chown_cmds.iter().cloned());
    if !run_lines.is_empty() {
        header.push(line(&format!("{} {}", kw("RUN"), run_lines.join(" && "))));
    }
    for c in &no_shell_copies {
        header.push(line(c));
    }
    let wd_rt = site.w.clone();
    if wd_rt != "/" {
        header.push(line(&format!("{} {wd_rt}", kw("WORKDIR"))));
    }
    for (from, to) in &bin_copies {
        header.push(line(&format!("{} --from={} {from} {to}", kw("COPY"), site.builder_name)));
    }
    let chown_flag = chown.as_ref().map(|c| format!("{c} ")).unwrap_or_default();
    let mut files = Vec::new();
    for (e, is_dir) in &entries {
        let p = paths::join(&site.w, e);
        if *is_dir {
            header.push(line(&format!("{} {chown_flag}--from={} {p} {p}", kw("COPY"), site.builder_name)));
        } else {
            files.push(p);
        }
    }
    if !files.is_empty() {
        let dest = if site.w == "/" { "/".to_string() } else { format!("{}/", site.w) };
        header.push(line(&format!(
            "{} {chown_flag}--from={} {} {dest}",
            kw("COPY"),
            site.builder_name,
            files.join(" ")
        )));
    }
    for &k in &replicate {
        header.push(convert::ins_text(doc, site.ins(k)));
    }
    // The shell that shell-form CMD, HEALTHCHECK and RUN use.
    if let Some(s) = &shell_line {
        if family != Family::None {
            header.push(s.clone());
        }
    }
    for h in &header {
        out.push_str(h);
    }
    for t in &body_texts {
        out.push_str(t);
    }
    out.push_str(&region_text);

    let mut edits = deletions;
    edits.push(Edit::replace(region_start..stage_end, out));

    // --- explain ---
    let bin_list =
        locs.iter().zip(&bin_copies).map(|(l, (_, to))| format!("`{}` at {to}", l.name)).collect::<Vec<_>>().join(", ");
    let mut ex = if kind != RuntimeKind::Slim {
        let what = match kind {
            RuntimeKind::Scratch => "an empty image, as the binary is statically linked for musl".to_string(),
            _ if is_static => "distroless, as the binary is statically linked for musl (the image has CA certificates, time zones and a passwd file, and no shell)".to_string(),
            _ => format!(
                "distroless with Debian 12's glibc, libgcc and OpenSSL, CA certificates and time zones, and no shell; the binary was linked against {}, whose C library is not newer",
                release
            ),
        };
        let mut e = format!(
            "`{rt_name}` starts from {runtime_image} (`runtime = \"{}\"`: {what}) and receives only {bin_list}",
            kind.as_str()
        );
        if !no_shell_notes.is_empty() {
            e.push_str(&format!(", plus {}", no_shell_notes.join(" and ")));
        }
        let converted: Vec<String> = run_cmds
            .iter()
            .filter(|r| {
                r.conversion.as_ref().is_some_and(|(_, t)| t.starts_with('['))
                    && command_part(site.ins(r.pos)).1.is_none()
            })
            .map(|r| format!("{} (line {})", site.ins(r.pos).kind.as_str(), site.ins(r.pos).start_line))
            .collect();
        if !converted.is_empty() {
            e.push_str(&format!(
                "; {} {} now in exec form, the same command without /bin/sh -c",
                converted.join(", "),
                if converted.len() == 1 { "is" } else { "are" }
            ));
        }
        e
    } else if custom {
        format!("`{rt_name}` starts from {runtime_image} (set in dockfix.toml) and receives only {bin_list}")
    } else if site.static_target && distroless {
        format!("`{rt_name}` starts from {runtime_image} (the binary is statically linked for musl, so it needs no C library; the image still has CA certificates, time zones and a passwd file) and receives only {bin_list}")
    } else {
        format!(
            "`{rt_name}` starts from {runtime_image}, {}{}, and receives only {bin_list}",
            match &site.builder.distro {
                Distro::Debian(_) | Distro::Ubuntu(_) =>
                    format!("a slim image of {release} so that the binary finds the glibc it was linked against"),
                Distro::Alpine(_) => format!("{release}, so that the binary finds the libraries it was linked against"),
                Distro::Unknown => "as the binary is statically linked".to_string(),
            },
            if site.builder.floating {
                format!(" ({} is a moving tag; today it is built on that release)", site.base_image)
            } else if base_uses_args(site) {
                format!(
                    " (for {}, the base image with the build arguments' defaults: a --build-arg that changes the release needs a matching runtime image)",
                    site.base_image
                )
            } else {
                String::new()
            }
        )
    };
    if !entries.is_empty() {
        let list =
            entries.iter().map(|(e, d)| if *d { format!("{e}/") } else { e.clone() }).collect::<Vec<_>>().join(", ");
        ex.push_str(&format!(
            ", plus {list} from the sources: the program may read {} at run time and dockfix cannot tell, so {} copied as the original image had {}",
            if entries.len() == 1 { "it" } else { "them" },
            if entries.len() == 1 { "it is" } else { "they are" },
            if entries.len() == 1 { "it" } else { "them" }
        ));
    }
    if !replicate.is_empty() {
        ex.push_str(&format!(
            ", and {} again",
            replicate.iter().map(|&k| format!("`{}`", one_line(site.ins(k)))).collect::<Vec<_>>().join(", ")
        ));
    }
    if !reasons.is_empty() && family != Family::None {
        let r: Vec<&str> = reasons.iter().map(String::as_str).collect();
        ex.push_str(&format!(". It installs {}", list_words(&r)));
    }
    if !user_cmds.is_empty() {
        ex.push_str(&format!(
            ". It creates {} as the builder did",
            user_names.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    let moved_kinds: Vec<&str> = {
        let mut v: Vec<&str> = Vec::new();
        for k in 0..n {
            if fates[k] != Fate::Stay || k > last_kept {
                let s = site.ins(k).kind.as_str();
                if !v.contains(&s) && site.ins(k).kind != Kind::Run {
                    v.push(s);
                }
            }
        }
        v
    };
    if !moved_kinds.is_empty() {
        ex.push_str(&format!(
            ". {} {} there with the same meaning",
            list_words(&moved_kinds),
            if moved_kinds.len() == 1 { "moves" } else { "move" }
        ));
    }
    if !rewritten_to.is_empty() {
        ex.push_str(&format!(", and paths into target/ now point at {}", rewritten_to.join(" and ")));
    }
    let moved_runs: Vec<String> = (0..n)
        .filter(|&k| site.ins(k).kind == Kind::Run && (k > last_kept || fates[k] == Fate::Both))
        .map(|k| format!("`{}`", one_line(site.ins(k))))
        .collect();
    if !moved_runs.is_empty() {
        let r: Vec<&str> = moved_runs.iter().map(String::as_str).collect();
        ex.push_str(&format!(", and {} {} there too", list_words(&r), if r.len() == 1 { "runs" } else { "run" }));
    }
    if !conversions.is_empty() {
        let (notes, conv): (Vec<&String>, Vec<&String>) = conversions.iter().partition(|c| c.starts_with("note: "));
        ex.push_str(&format!(
            ", and {} (the binary `cargo run` started{})",
            conv.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            notes.iter().map(|n| format!("; {}", &n["note: ".len()..])).collect::<String>()
        ));
    }
    let gain = format!(
        "The image no longer carries the Rust toolchain, the sources and target/: only {runtime_image} and the program."
    );
    Ok(RtPlan { name: rt_name, edits, explanation: ex, gain })
}

/// True when the FROM of the stage, or of a stage it is built on, names its
/// image through a build argument.
fn base_uses_args(site: &Site<'_, '_>) -> bool {
    let stages = site.doc.stages();
    let mut st = &site.stage;
    for _ in 0..16 {
        if st.base.contains('$') {
            return true;
        }
        let base = st.base.to_ascii_lowercase();
        match stages[..st.index].iter().rev().find(|s| s.name.as_deref() == Some(base.as_str())) {
            Some(s) => st = s,
            None => return false,
        }
    }
    false
}

/// The RUN instructions of the stages the build stage is built on.
fn ancestor_runs<'a>(site: &'a Site<'_, '_>) -> Vec<&'a Instruction> {
    let stages = site.doc.stages();
    let mut chain = Vec::new();
    let mut base = site.stage.base.to_ascii_lowercase();
    let mut upto = site.stage.index;
    for _ in 0..16 {
        match stages[..upto].iter().rev().find(|s| s.name.as_deref() == Some(base.as_str())) {
            Some(s) => {
                chain.push(s.clone());
                base = s.base.to_ascii_lowercase();
                upto = s.index;
            }
            None => break,
        }
    }
    chain
        .iter()
        .rev()
        .flat_map(|s| s.body.clone())
        .map(|i| &site.doc.instructions[i])
        .filter(|i| i.kind == Kind::Run)
        .collect()
}

fn list_words(v: &[&str]) -> String {
    match v.len() {
        0 => String::new(),
        1 => v[0].to_string(),
        _ => format!("{} and {}", v[..v.len() - 1].join(", "), v[v.len() - 1]),
    }
}

fn add_entry(entries: &mut Vec<(String, bool)>, name: &str, is_dir: bool) {
    if let Some(e) = entries.iter_mut().find(|(n, _)| n == name) {
        e.1 |= is_dir;
    } else {
        entries.push((name.to_string(), is_dir));
    }
}

/// Context paths a COPY source stands for (globs expanded), with whether
/// each is a directory.
fn expand_source(site: &Site<'_, '_>, s: &str) -> Vec<(String, bool)> {
    let cx = site.cx;
    if s.is_empty() {
        return vec![(String::new(), true)];
    }
    if !glob::is_glob(s) {
        return vec![(s.to_string(), cx.context_has_dir(s))];
    }
    let dir = paths::dir_name(s);
    let pat = paths::base_name(s);
    let Some(abs) = cx.context_path(dir) else { return Vec::new() };
    cx.fs
        .list(&abs)
        .into_iter()
        .filter(|e| glob::component_match(pat, &e.name))
        .map(|e| (paths::ctx_join(dir, &e.name), e.is_dir))
        .collect()
}

/// Paths the runtime image gets from copies.
fn provided_paths(
    site: &Site<'_, '_>,
    entries: &[(String, bool)],
    replicate: &[usize],
    bins: &[(String, String)],
) -> Vec<String> {
    let mut out: Vec<String> = entries.iter().map(|(e, _)| paths::join(&site.w, e)).collect();
    out.extend(bins.iter().map(|(_, to)| to.clone()));
    let n = site.body.len();
    let positions: Vec<usize> = replicate.iter().copied().chain(site.kb + 1..n).collect();
    for k in positions {
        let ins = site.ins(k);
        if let Some(c) = convert::copy_info(ins, k, &site.states[k], site.root_default) {
            if c.dest_is_dir {
                for s in &c.sources {
                    out.push(paths::join(&c.dest, paths::base_name(s)));
                }
                out.push(c.dest.clone());
            } else {
                out.push(c.dest.clone());
            }
        }
    }
    out
}

fn is_own(p: &str, locs: &[Loc], site: &Site<'_, '_>) -> bool {
    let base = paths::base_name(p);
    if !p.contains('/') {
        return locs.iter().any(|l| l.name == base);
    }
    let abs = paths::join(&site.w, p);
    locs.iter().any(|l| {
        abs == l.built || l.moved.as_deref() == Some(abs.as_str()) || abs == format!("/usr/local/bin/{}", l.name)
    })
}

/// The command part of CMD / ENTRYPOINT / HEALTHCHECK: its logical span
/// and, for exec form, its words.
fn command_part(ins: &Instruction) -> (Option<dockfix_syntax::Span>, Option<Vec<String>>) {
    match ins.kind {
        Kind::Cmd | Kind::Entrypoint => {
            let span = ins.args_span.clone();
            if span.is_empty() {
                return (None, None);
            }
            let exec = ins.json.then(|| ins.arg_values().iter().map(|s| s.to_string()).collect());
            (Some(span), exec)
        }
        Kind::Healthcheck => {
            let vals = ins.arg_values();
            if vals.first().is_none_or(|v| !v.eq_ignore_ascii_case("CMD")) {
                return (None, None);
            }
            let first = ins.args.first().and_then(|a| a.span.clone());
            let Some(first) = first else { return (None, None) };
            let rest = &ins.line.text()[first.end..ins.args_span.end];
            let lead = rest.len() - rest.trim_start().len();
            let span = first.end + lead..ins.args_span.end;
            let json = ins.line.text()[span.clone()].trim_start().starts_with('[') && vals.len() > 1 && {
                let t = ins.line.text()[span.clone()].trim();
                t.ends_with(']')
            };
            let exec = json.then(|| vals[1..].iter().map(|s| s.to_string()).collect());
            (Some(span), exec)
        }
        _ => (None, None),
    }
}

/// `cargo run`'s binary.
fn run_binary(call: &cargo::Call, site: &Site<'_, '_>, st: &State) -> Result<String, String> {
    if let Some(b) = call.value("bin") {
        return st
            .expand(&b.value)
            .ok_or_else(|| format!("`cargo run --bin {}` names a binary through a variable.", b.raw));
    }
    let pkgs: Vec<&crate::project::Package> = match call.value("package") {
        Some(p) => site.project.package(&st.expand(&p.value).unwrap_or_default()).into_iter().collect(),
        None => site.project.default_selection(),
    };
    let mut bins: Vec<String> = Vec::new();
    for p in &pkgs {
        if let Some(d) = &p.default_run {
            return Ok(d.clone());
        }
        bins.extend(p.bins.iter().cloned());
    }
    match bins.len() {
        1 => Ok(bins.remove(0)),
        _ => Err("`cargo run` does not say which binary it starts.".into()),
    }
}

/// Packages an `apt-get install` / `apk add` command installs.
fn install_packages(c: &Cmd) -> Vec<String> {
    let name = c.name();
    let args: Vec<&str> = c.args().map(|w| w.value.as_str()).collect();
    let start = match (name, args.first().copied()) {
        ("apt-get" | "apt", Some("install")) => 1,
        ("apk", Some("add")) => 1,
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    let mut skip = false;
    for a in &args[start..] {
        if skip {
            skip = false;
            continue;
        }
        if a.starts_with('-') {
            if matches!(*a, "-t" | "--target-release" | "-o" | "--option" | "--virtual" | "-X" | "--repository") {
                skip = true;
            }
            continue;
        }
        if a.contains('$') {
            continue;
        }
        out.push(a.to_string());
    }
    out
}

/// The RUN line that installs runtime packages.
fn install_line(family: Family, packages: &[String], ind: &str, eol: &str, escape: char, run: &str) -> String {
    match family {
        Family::Apk => format!("{ind}{run} apk add --no-cache {}{eol}", packages.join(" ")),
        _ => {
            let c = format!(" {escape}{eol}{ind}    ");
            format!(
                "{ind}{run} apt-get update{c}&& apt-get install -y --no-install-recommends {}{c}&& rm -rf /var/lib/apt/lists/*{eol}",
                packages.join(" ")
            )
        }
    }
}

fn is_boundary_before(c: Option<char>) -> bool {
    c.is_none_or(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '=' | '[' | ',' | '(' | ';' | '&' | '|' | '`'))
}

fn is_boundary_after(c: Option<char>) -> bool {
    c.is_none_or(|c| c.is_whitespace() || matches!(c, '"' | '\'' | ']' | ',' | ')' | ';' | '&' | '|' | '`'))
}

fn contains_path(text: &str, from: &str) -> bool {
    rewrite_paths(text, &[(from.to_string(), "\u{0}".to_string())]) != text
}

/// Replaces whole path words (longest spellings first).
pub fn rewrite_paths(text: &str, rewrites: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (from, to) in rewrites {
        let mut res = String::new();
        let mut rest = out.as_str();
        let mut prev: Option<char> = None;
        while let Some(i) = rest.find(from.as_str()) {
            let before = if i == 0 { prev } else { rest[..i].chars().last() };
            let after = rest[i + from.len()..].chars().next();
            res.push_str(&rest[..i]);
            if is_boundary_before(before) && is_boundary_after(after) {
                res.push_str(to);
            } else {
                res.push_str(from);
            }
            prev = from.chars().last();
            rest = &rest[i + from.len()..];
        }
        res.push_str(rest);
        out = res;
    }
    out
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_whole_paths_only() {
        let rw = vec![
            ("/app/target/release/app".to_string(), "/usr/local/bin/app".to_string()),
            ("./target/release/app".to_string(), "/usr/local/bin/app".to_string()),
            ("target/release/app".to_string(), "/usr/local/bin/app".to_string()),
        ];
        assert_eq!(rewrite_paths(r#"["./target/release/app", "--x"]"#, &rw), r#"["/usr/local/bin/app", "--x"]"#);
        assert_eq!(rewrite_paths("target/release/app --port 1", &rw), "/usr/local/bin/app --port 1");
        assert_eq!(rewrite_paths("/app/target/release/app", &rw), "/usr/local/bin/app");
        assert_eq!(rewrite_paths("target/release/apple", &rw), "target/release/apple");
    }

    #[test]
    fn env_and_entries() {
        assert!(build_only_env("CARGO_TERM_COLOR"));
        assert!(build_only_env("SQLX_OFFLINE"));
        assert!(!build_only_env("RUST_LOG"));
        assert!(build_only_entry("README.md"));
        assert!(build_only_entry("Dockerfile.prod"));
        assert!(!build_only_entry("config"));
        assert!(!build_only_entry("migrations"));
    }
}
