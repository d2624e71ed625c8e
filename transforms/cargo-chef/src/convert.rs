//! The rewrite of a stage that runs `cargo build` after copying the sources:
//! chef → planner → builder (cook, then the original build) → runtime.

#![allow(clippy::needless_range_loop)] // stage positions index several parallel vectors

use std::collections::BTreeSet;

use dockfix_core::layout;
use dockfix_core::walk::{stage_states, State};
use dockfix_core::{Context, Edit, Finding, Fix};
use dockfix_syntax::{Document, Instruction, Kind, Stage};

use crate::cargo::{self, quote, Call, Sub, W};
use crate::cmds::{self, Cmd};
use crate::glob;
use crate::image::{self, Builder};
use crate::paths;
use crate::project::{self, Project};
use crate::runtime;
use crate::{ChefSource, Names, Options, NAME};

/// A binary the build produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bin {
    pub name: String,
    /// Where the build leaves it in the builder image.
    pub path: String,
}

/// A COPY or ADD, resolved.
#[derive(Debug, Clone)]
pub struct CopyInfo {
    /// Body position.
    pub pos: usize,
    /// `--from=…` (another stage or image).
    pub from: Option<String>,
    /// Sources, expanded (context-relative for context copies).
    pub sources: Vec<String>,
    /// The destination, absolute.
    pub dest: String,
    /// The destination is a directory.
    pub dest_is_dir: bool,
    /// `--chown=…` as written.
    pub chown: Option<String>,
}

/// Everything known about the build stage.
pub struct Site<'a, 'c> {
    pub cx: &'a Context<'c>,
    pub doc: &'a Document,
    pub stage: Stage,
    pub states: Vec<State>,
    /// Document indices of the stage's instructions (after FROM).
    pub body: Vec<usize>,
    /// Body position of the build RUN.
    pub kb: usize,
    /// Body position of the first copy into the project directory.
    pub split: usize,
    /// Body position of the copy that brings the sources (not only manifests).
    pub source_copy: usize,
    /// The project directory (where cargo runs).
    pub w: String,
    pub calls: Vec<(Call, Cmd)>,
    pub project: Project,
    pub bins: Vec<Bin>,
    pub target_dir: String,
    /// The build RUN has a cache mount on the target directory.
    pub target_mount: Option<usize>,
    pub builder: Builder,
    /// The root image of the stage, expanded.
    pub base_image: String,
    /// The binaries are static (musl target on a glibc builder).
    pub static_target: bool,
    pub copies: Vec<CopyInfo>,
    /// The stage is the image (last stage, not used by another).
    pub is_final: bool,
    pub builder_name: String,
    /// The working directory of the base image is assumed to be `/`.
    pub root_default: bool,
}

impl Site<'_, '_> {
    pub fn ins(&self, pos: usize) -> &Instruction {
        &self.doc.instructions[self.body[pos]]
    }
}

fn refusal(range: std::ops::Range<usize>, build: &str, why: impl Into<String>) -> Finding {
    Finding::new(
        NAME,
        range,
        format!("`{build}` recompiles every dependency on each source edit; dockfix cannot add cargo-chef here"),
    )
    .why({
        let w = why.into();
        let mut c = w.chars();
        let cap = if w.starts_with("dockfix") {
            w.clone()
        } else {
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
        };
        format!("{cap} Nothing is changed.")
    })
    .fix(Fix::display_only("Keep the stage as it is"))
}

/// One-line text of a command for messages.
pub fn label(cmd: &Cmd) -> String {
    let t = cmd.words.iter().map(|w| w.raw.as_str()).collect::<Vec<_>>().join(" ");
    if t.chars().count() > 100 {
        format!("{}…", t.chars().take(99).collect::<String>())
    } else {
        t
    }
}

pub fn one_line(ins: &Instruction) -> String {
    let t: String = ins.line.text().split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 70 {
        format!("{}…", t.chars().take(69).collect::<String>())
    } else {
        t
    }
}

/// Build calls of a RUN.
fn build_calls(ins: &Instruction) -> Vec<(Call, Cmd)> {
    cmds::run_commands(ins)
        .into_iter()
        .filter_map(|c| cargo::parse(&c.words).filter(Call::is_build).map(|call| (call, c)))
        .collect()
}

/// Resolves a COPY/ADD.
pub fn copy_info(ins: &Instruction, pos: usize, state: &State, root_default: bool) -> Option<CopyInfo> {
    if !matches!(ins.kind, Kind::Copy | Kind::Add) || !ins.heredocs.is_empty() {
        return None;
    }
    let args = ins.arg_values();
    if args.len() < 2 {
        return None;
    }
    let from = ins.flag("from").and_then(|f| f.value()).map(str::to_string);
    let wd = paths::abs(&state.workdir, root_default)?;
    let dest_raw = state.expand(args[args.len() - 1])?;
    let dest = paths::join(&wd, &dest_raw);
    let mut sources = Vec::new();
    for s in &args[..args.len() - 1] {
        let e = state.expand(s)?;
        if from.is_none() {
            if e.contains("://") {
                return None;
            }
            sources.push(project::norm_rel(&e)?);
        } else {
            sources.push(e);
        }
    }
    let dest_is_dir = dest_raw.ends_with('/') || dest_raw == "." || dest_raw.ends_with("/.") || sources.len() > 1;
    let chown = ins.flag("chown").map(|f| ins.text_of(&f.span).to_string());
    Some(CopyInfo { pos, from, sources, dest, dest_is_dir, chown })
}

/// Names of stages other stages use (`FROM x`, `COPY --from=x`, `--mount=from=x`),
/// and whether a stage is used by index.
fn stage_uses(doc: &Document) -> (BTreeSet<String>, bool) {
    let mut used = BTreeSet::new();
    let mut by_index = false;
    for st in doc.stages() {
        used.insert(st.base.to_ascii_lowercase());
    }
    for ins in &doc.instructions {
        let mut refs: Vec<String> = ins.flags_named("from").filter_map(|f| f.value().map(str::to_string)).collect();
        for m in ins.flags_named("mount") {
            for kv in m.value().unwrap_or("").split(',') {
                if let Some(v) = kv.strip_prefix("from=") {
                    refs.push(v.to_string());
                }
            }
        }
        for r in refs {
            if r.chars().all(|c| c.is_ascii_digit()) {
                by_index = true;
            }
            used.insert(r.to_ascii_lowercase());
        }
    }
    (used, by_index)
}

/// The image a stage starts from, following `FROM <stage>` chains, with
/// global ARG defaults expanded.
fn root_image(doc: &Document, stage: &Stage) -> String {
    let globals: std::collections::BTreeMap<String, Option<String>> = doc.instructions[doc.global_args()]
        .iter()
        .filter(|i| i.kind == Kind::Arg)
        .flat_map(|i| i.pairs())
        .map(|(k, v)| (k, v.map(|v| dockfix_core::walk::unquote(&v))))
        .collect();
    let stages = doc.stages();
    let mut base = stage.base.clone();
    for _ in 0..16 {
        let lower = base.to_ascii_lowercase();
        match stages[..stage.index].iter().rev().find(|s| s.name.as_deref() == Some(lower.as_str())) {
            Some(s) => base = s.base.clone(),
            None => break,
        }
    }
    dockfix_core::walk::expand_with(&base, &|n| globals.get(n).cloned().flatten()).unwrap_or(base)
}

/// What a RUN between the source copy and the build is, for the cook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// Only system setup that does not read the sources: it can run first.
    Movable,
    /// Installs packages, but also does other things.
    Mixed,
    /// Anything else (stays where it is, after the cook).
    Other,
}

fn setup_run(ins: &Instruction) -> Setup {
    if !ins.heredocs.is_empty() || ins.flags.iter().any(|f| f.name() == "mount" && f.text.contains("bind")) {
        return Setup::Other;
    }
    let cmds = cmds::run_commands(ins);
    let install = |c: &Cmd| {
        let a1 = c.words.get(1).map(|w| w.value.as_str()).unwrap_or("");
        match c.name() {
            "apt-get" | "apt" | "aptitude" => matches!(a1, "install" | "update" | "upgrade" | "dist-upgrade"),
            "apk" => matches!(a1, "add" | "update" | "upgrade"),
            "dnf" | "yum" | "microdnf" | "zypper" => matches!(a1, "install" | "update" | "upgrade" | "makecache"),
            "rustup" => matches!(a1, "target" | "component" | "toolchain" | "default" | "set"),
            "cargo" => {
                a1 == "install" && !c.words.iter().any(|w| w.value == "--path" || w.value.starts_with("--path="))
            }
            _ => false,
        }
    };
    let harmless = |c: &Cmd| {
        matches!(
            c.name(),
            "apt-get"
                | "apt"
                | "apk"
                | "dnf"
                | "yum"
                | "microdnf"
                | "zypper"
                | "update-ca-certificates"
                | "true"
                | "set"
        ) || (c.name() == "rm"
            && c.args()
                .filter(|w| !w.value.starts_with('-'))
                .all(|w| w.value.starts_with("/var/") || w.value.starts_with("/tmp/")))
    };
    let dynamic = cmds.iter().any(|c| c.words.iter().any(|w| w.raw.contains("$(") || w.raw.contains('`')));
    let installs = cmds.iter().any(install);
    let only_setup = cmds.iter().all(|c| c.words.is_empty() || install(c) || harmless(c));
    match (installs, only_setup && !dynamic) {
        (true, true) => Setup::Movable,
        (true, false) => Setup::Mixed,
        _ => Setup::Other,
    }
}

/// Finds a build in the stage and plans its rewrite.
pub fn plan(cx: &Context<'_>, stage: &Stage, opts: &Options, names: &mut Names) -> Option<Finding> {
    let doc = cx.doc;
    let body: Vec<usize> = stage.body.clone().collect();
    let builds: Vec<usize> = (0..body.len())
        .filter(|&k| doc.instructions[body[k]].kind == Kind::Run && !build_calls(&doc.instructions[body[k]]).is_empty())
        .collect();
    let &kb = builds.first()?;
    let run = &doc.instructions[body[kb]];
    let run_range = run.span.clone();
    let calls = build_calls(run);
    let label0 = label(&calls[0].1);
    let refuse = |why: String| Some(refusal(run_range.clone(), &label0, why));
    let states = stage_states(doc, stage);
    let base_image = root_image(doc, stage);
    let builder = image::classify(&base_image);
    let root_default = builder.rust_image || !matches!(builder.distro, image::Distro::Unknown);

    // The copies before the build.
    let copies: Vec<CopyInfo> =
        (0..kb).filter_map(|k| copy_info(&doc.instructions[body[k]], k, &states[k], root_default)).collect();

    if builds.len() > 1 {
        let last = builds[builds.len() - 1];
        let copy_between = copies.iter().any(|c| c.pos > kb && c.pos < last)
            || (kb + 1..last).any(|k| matches!(doc.instructions[body[k]].kind, Kind::Copy | Kind::Add));
        if copy_between {
            // The manifests-first dummy build: dependencies are cached already.
            return None;
        }
        return refuse("several RUN steps run `cargo build`; cargo-chef would need one cook per build.".into());
    }
    if run.heredocs.iter().any(|_| true) {
        return refuse("the build runs from a heredoc script.".into());
    }
    let Some(w) = paths::abs(&states[kb].workdir, root_default) else {
        return refuse(
            "the build's working directory comes from the base image, which dockfix cannot see; set it with WORKDIR."
                .into(),
        );
    };

    // The first copy into the project directory splits the stage.
    let into_w: Vec<&CopyInfo> =
        copies.iter().filter(|c| paths::within(&c.dest, &w) || paths::within(&w, &c.dest)).collect();
    let first = into_w.first()?;
    let split = first.pos;
    let manifest_like = |s: &str| {
        matches!(
            paths::base_name(s),
            "Cargo.toml" | "Cargo.lock" | "rust-toolchain" | "rust-toolchain.toml" | ".cargo" | "config.toml"
        )
    };
    let source_copy = into_w
        .iter()
        .find(|c| c.from.is_none() && !c.sources.iter().all(|s| manifest_like(s)))
        .map_or(split, |c| c.pos);

    let (used, by_index) = stage_uses(doc);
    if by_index {
        return refuse("a stage is referred to by its number (`--from=0`); new stages would shift the numbers.".into());
    }
    let referenced = stage.name.as_ref().is_some_and(|n| used.contains(n));
    let is_last = stage.index + 1 == doc.stages().len();
    let is_final = is_last && !referenced;

    for (call, cmd) in &calls {
        if cmd.after_cd {
            return refuse(format!("`{}` runs after a `cd`, in another directory than the sources.", label(cmd)));
        }
        if !call.unsupported.is_empty() {
            return refuse(format!(
                "`{}` uses {}, which `cargo chef cook` cannot mirror.",
                label(cmd),
                call.unsupported.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ")
            ));
        }
        if call.has("exclude") {
            return refuse(format!("`{}` uses `--exclude`, which `cargo chef cook` cannot mirror.", label(cmd)));
        }
        if is_final {
            for bad in ["examples", "test", "tests", "bench", "benches", "all-targets", "lib"] {
                if call.has(bad) {
                    return refuse(format!(
                        "`{}` uses `--{bad}`, and dockfix does not know which binaries the image needs from it.",
                        label(cmd)
                    ));
                }
            }
        }
        if call.toolchain != calls[0].0.toolchain || call.profile() != calls[0].0.profile() {
            return refuse("the cargo builds of this RUN use different toolchains or profiles.".into());
        }
        if call.has("manifest-path") {
            let mp = call.value("manifest-path").map(|v| v.value.trim_start_matches("./").to_string());
            if mp.as_deref() != Some("Cargo.toml") {
                return refuse(
                    "the build uses `--manifest-path`; cargo-chef prepares from the working directory.".into(),
                );
            }
        }
    }
    let base_cook: Vec<String> = calls[0].0.cook_args(None);
    let strip_sel = |a: &[String]| -> Vec<String> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < a.len() {
            if a[i] == "--bin" || a[i] == "-p" {
                i += 2;
                continue;
            }
            out.push(a[i].clone());
            i += 1;
        }
        out
    };
    for (call, cmd) in &calls[1..] {
        if strip_sel(&call.cook_args(None)) != strip_sel(&base_cook) || call.sub != calls[0].0.sub {
            return refuse(format!("`{}` and `{label0}` compile with different flags.", label(cmd)));
        }
    }

    // Instructions between the split and the build. When the build runs in
    // another directory than the first copy, the cook runs in the build's
    // directory, and the copy's working directory comes back after it for
    // the steps that depend on it.
    let split_wd = paths::abs(&states[split].workdir, root_default);
    let need_workdir = split_wd.as_deref() != Some(w.as_str());
    let mut restore_workdir: Option<String> = None;
    for k in split..kb {
        let ins = &doc.instructions[body[k]];
        if ins.kind == Kind::Onbuild {
            return refuse("an ONBUILD trigger sits between the source copy and the build.".into());
        }
        let relative = match ins.kind {
            Kind::Run => true,
            Kind::Workdir => !ins.args.first().is_some_and(|a| a.value.starts_with('/')),
            Kind::Copy | Kind::Add => !ins.arg_values().last().is_some_and(|d| d.starts_with('/')),
            _ => false,
        };
        if need_workdir && relative {
            match &split_wd {
                Some(d) => restore_workdir = Some(d.clone()),
                None => {
                    return refuse(format!(
                        "the sources are copied before the WORKDIR the build runs in, and `{}` depends on a working directory dockfix cannot see.",
                        one_line(ins)
                    ))
                }
            }
        }
    }
    // Setup steps after the source copy (package installs, rustup targets):
    // the cook needs them, so they move above the copy, into `chef`.
    let mut moved_up: Vec<usize> = Vec::new();
    let mut scope_changed = false;
    for k in split..kb {
        let ins = &doc.instructions[body[k]];
        match ins.kind {
            Kind::User | Kind::Workdir | Kind::Env | Kind::Arg | Kind::Shell => scope_changed = true,
            Kind::Run => match setup_run(ins) {
                Setup::Movable if !scope_changed => moved_up.push(k),
                Setup::Movable | Setup::Mixed => {
                    return refuse(format!(
                        "`{}` installs system packages after the source copy, where the cook cannot have them, and dockfix cannot move it above the copy.",
                        one_line(ins)
                    ))
                }
                Setup::Other => {}
            },
            _ => {}
        }
    }

    // The project root in the build context.
    let (root, copied) = match project_root(cx, &into_w, &w) {
        Some(r) => r,
        None => {
            return refuse(format!("dockfix cannot find in the build context the Cargo.toml that `{label0}` reads."))
        }
    };
    // A member's directory of a workspace whose root is copied too: cargo
    // builds (and cargo-chef prepares) the workspace, not the member.
    let mut anc = root.as_str();
    while anc != copied && !anc.is_empty() {
        anc = paths::dir_name(anc);
        let manifest = paths::ctx_join(anc, "Cargo.toml");
        if cx.read_context(&manifest).is_some_and(|t| t.lines().any(|l| l.trim() == "[workspace]")) {
            return refuse(format!(
                "the build runs in a member of the workspace of `{manifest}`; cargo-chef must prepare and cook from the workspace root. Run the build there with `-p`."
            ));
        }
    }
    let project = match project::load(cx, &root) {
        Ok(p) => p,
        Err(e) => return refuse(format!("{e}.")),
    };

    // Binaries and where they land.
    let st = &states[kb];
    let env_target = st.env.get("CARGO_BUILD_TARGET").cloned();
    let mut bins: Vec<Bin> = Vec::new();
    let mut targets: BTreeSet<String> = BTreeSet::new();
    let mut target_dir = paths::join(&w, "target");
    for (call, cmd) in &calls {
        // Expanded values; a command substitution is not a value.
        let exp = |v: &W| st.expand(&v.value).filter(|x| !x.contains(['$', '`']));
        let mut tv = Vec::new();
        for t in call.values("target") {
            match exp(t) {
                Some(t) => tv.push(t),
                // Only the runtime stage needs to know where the binary is.
                None if !is_final => {}
                None => {
                    return refuse(format!(
                        "the `--target` of `{}` depends on a variable dockfix cannot resolve.",
                        label(cmd)
                    ))
                }
            }
        }
        if tv.is_empty() {
            if let Some(t) = env_target.clone().or_else(|| project.config_target.clone()) {
                tv.push(t);
            }
        }
        if tv.len() > 1 {
            return refuse("the build compiles for several targets.".into());
        }
        targets.extend(tv.iter().cloned());
        let td = call
            .value("target-dir")
            .and_then(exp)
            .map(|d| paths::join(&w, &d))
            .or_else(|| {
                cmd.assigns.iter().chain(&cmd.exported).find_map(|a| {
                    a.strip_prefix("CARGO_TARGET_DIR=").map(|d| paths::join(&w, d.trim_matches(['"', '\''])))
                })
            })
            .or_else(|| st.env.get("CARGO_TARGET_DIR").map(|d| paths::join(&w, d)))
            .or_else(|| project.config_target_dir.as_ref().map(|d| paths::join(&w, d)));
        if let Some(td) = td {
            target_dir = td;
        }
        let profile = match st.expand(&call.profile()) {
            Some(p) => p,
            None => {
                return refuse(format!("the profile of `{}` depends on a variable dockfix cannot resolve.", label(cmd)))
            }
        };
        let pdir = match profile.as_str() {
            "dev" | "test" => "debug".to_string(),
            "release" | "bench" => "release".to_string(),
            p => p.to_string(),
        };
        let out_dir = match tv.first() {
            Some(t) => format!("{target_dir}/{}/{pdir}", t.trim_end_matches(".json")),
            None => format!("{target_dir}/{pdir}"),
        };
        let names = match bin_names(call, &project, st, &w) {
            Ok(n) => n,
            Err(e) if is_final => return refuse(e),
            Err(_) => Vec::new(),
        };
        if call.sub == Some(Sub::Install) {
            let root_dir = match call.value("root").and_then(exp) {
                Some(r) => paths::join(&w, &r),
                None => match st.env.get("CARGO_INSTALL_ROOT").or_else(|| st.env.get("CARGO_HOME")) {
                    Some(h) => h.clone(),
                    None if builder.rust_image && builder.image.is_official("rust") => "/usr/local/cargo".to_string(),
                    None => {
                        return refuse(
                            "`cargo install` puts the binary under CARGO_HOME, which the base image sets out of sight."
                                .into(),
                        )
                    }
                },
            };
            for n in names {
                bins.push(Bin { path: format!("{root_dir}/bin/{n}"), name: n });
            }
        } else if call.has("example") {
            for v in call.values("example") {
                let Some(n) = exp(v) else {
                    return refuse(format!(
                        "the example `{}` is named through a variable dockfix cannot resolve.",
                        v.raw
                    ));
                };
                bins.push(Bin { path: format!("{out_dir}/examples/{n}"), name: n });
            }
        } else {
            for n in names {
                if !bins.iter().any(|b| b.name == n) {
                    bins.push(Bin { path: format!("{out_dir}/{n}"), name: n });
                }
            }
        }
    }
    if bins.is_empty() && is_final {
        return refuse(format!("`{label0}` builds no binary (a library only), so there is nothing to run."));
    }
    let static_target = targets.iter().any(|t| t.contains("musl")) && !builder.musl;

    // A cache mount on the target directory.
    let target_mount = run.flags.iter().position(|f| {
        f.name() == "mount" && {
            let v = f.value().unwrap_or("");
            let kv: Vec<(&str, &str)> = v.split(',').filter_map(|p| p.split_once('=')).collect();
            let is_cache = kv.iter().any(|(k, v)| *k == "type" && *v == "cache");
            let tgt = kv
                .iter()
                .find(|(k, _)| matches!(*k, "target" | "dst" | "destination"))
                .map(|(_, v)| paths::join(&w, v));
            // On the target directory, above it (but not the project) or inside it.
            is_cache
                && tgt.is_some_and(|t| {
                    (paths::within(&target_dir, &t) && t != "/" && t != w) || paths::within(&t, &target_dir)
                })
        }
    });

    if !is_final && target_mount.is_some() {
        // The target cache mount already keeps the dependencies between builds.
        return None;
    }

    let original_name = doc.instructions[stage.from].from_image().and_then(|(_, n)| n.map(str::to_string));
    let builder_name = match &original_name {
        Some(n) => n.clone(),
        None => names.take("builder"),
    };
    let site = Site {
        cx,
        doc,
        stage: stage.clone(),
        states: states.to_vec(),
        body,
        kb,
        split,
        source_copy,
        w,
        calls,
        project,
        bins,
        target_dir,
        target_mount,
        builder,
        base_image,
        static_target,
        copies,
        is_final,
        builder_name,
        root_default,
    };
    Some(rewrite(&site, opts, names, need_workdir, restore_workdir, moved_up))
}

/// The context directory that holds the project's root Cargo.toml.
/// Returns (project root, the copied directory it lies in).
fn project_root(cx: &Context<'_>, into_w: &[&CopyInfo], w: &str) -> Option<(String, String)> {
    let mut found = None;
    for c in into_w.iter().filter(|c| c.from.is_none()) {
        for s in &c.sources {
            let is_dir = s.is_empty() || cx.context_has_dir(s);
            if is_dir {
                if let Some(r) = paths::rel(w, &c.dest) {
                    let root = paths::ctx_join(s, &r);
                    if cx.context_has_file(&paths::ctx_join(&root, "Cargo.toml")) {
                        found = Some((root, s.clone()));
                    }
                }
            } else if glob::is_glob(paths::base_name(s)) {
                if glob::component_match(paths::base_name(s), "Cargo.toml") && c.dest == w {
                    let root = paths::dir_name(s).to_string();
                    if cx.context_has_file(&paths::ctx_join(&root, "Cargo.toml")) {
                        found = Some((root.clone(), root));
                    }
                }
            } else if paths::base_name(s) == "Cargo.toml" {
                let in_image =
                    if c.dest_is_dir || c.dest == w { format!("{}/Cargo.toml", c.dest) } else { c.dest.clone() };
                if paths::join("/", &in_image) == paths::join(w, "Cargo.toml") && cx.context_has_file(s) {
                    found = Some((paths::dir_name(s).to_string(), paths::dir_name(s).to_string()));
                }
            }
        }
    }
    found
}

/// The binaries one build call produces.
fn bin_names(call: &Call, project: &Project, st: &State, w: &str) -> Result<Vec<String>, String> {
    let exp = |v: &W, what: &str| {
        st.expand(&v.value)
            .ok_or_else(|| format!("the {what} `{}` depends on a variable dockfix cannot resolve.", v.raw))
    };
    let mut selected: Vec<&project::Package> = Vec::new();
    if call.sub == Some(Sub::Install) {
        let p = call.value("path").map(|v| exp(v, "path")).transpose()?.unwrap_or_default();
        let dir = paths::rel(&paths::join(w, &p), w).ok_or("`cargo install --path` points outside the sources.")?;
        match project.packages.iter().find(|q| q.dir == dir) {
            Some(q) => selected.push(q),
            None => {
                return Err(format!("`cargo install --path {p}` names no package dockfix finds in the build context."))
            }
        }
    } else {
        for v in call.values("package") {
            let n = exp(v, "package")?;
            match project.package(&n) {
                Some(q) => selected.push(q),
                None => {
                    return Err(format!("package `{n}` is not in the workspace dockfix reads from the build context."))
                }
            }
        }
        if call.has("workspace") {
            selected = project.packages.iter().collect();
        }
        if selected.is_empty() {
            selected = project.default_selection();
        }
    }
    let bins = call.values("bin");
    if !bins.is_empty() {
        let mut out = Vec::new();
        for b in bins {
            let n = exp(b, "binary name")?;
            if !project.packages.iter().any(|p| p.bins.contains(&n)) {
                return Err(format!(
                    "binary `{n}` is not declared by any package dockfix reads from the build context."
                ));
            }
            out.push(n);
        }
        return Ok(out);
    }
    let mut out = Vec::new();
    for p in selected {
        for b in &p.bins {
            if !out.contains(b) {
                out.push(b.clone());
            }
        }
    }
    Ok(out)
}

/// `AS` spelled like the original FROM line does (`as`, `AS`).
pub fn as_word(from: &Instruction) -> &'static str {
    match from.args.get(1).map(|a| a.value.as_str()) {
        Some("as") => "as",
        Some(_) => "AS",
        None if from.keyword.chars().all(|c| c.is_ascii_lowercase()) => "as",
        None => "AS",
    }
}

/// The text of an instruction's lines (no comments), ending with a line ending.
pub fn ins_text(doc: &Document, ins: &Instruction) -> String {
    layout::lines_text(doc, ins.lines.clone())
}

/// ARG instructions of the stage before body position `before` that declare
/// one of `vars`, as written.
pub fn arg_lines(site: &Site<'_, '_>, vars: &[String], before: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for k in 0..before {
        let ins = site.ins(k);
        if ins.kind != Kind::Arg {
            continue;
        }
        if ins.pairs().iter().any(|(n, _)| vars.contains(n)) {
            let t = ins.args_text().trim().to_string();
            if seen.insert(t.clone()) {
                out.push(t);
            }
        }
    }
    out
}

fn rewrite(
    site: &Site<'_, '_>,
    opts: &Options,
    names: &mut Names,
    need_workdir: bool,
    restore_workdir: Option<String>,
    moved_up: Vec<usize>,
) -> Finding {
    let doc = site.doc;
    let eol = layout::eol(doc);
    let from_ins = &doc.instructions[site.stage.from];
    let ind = layout::indent(doc, from_ins);
    let run = site.ins(site.kb);
    let (call0, cmd0) = &site.calls[0];
    let label0 = label(cmd0);
    let chef = names.take("chef");
    let planner = names.take("planner");
    let kw = |k: &str| -> String {
        if from_ins.keyword.chars().all(|c| c.is_ascii_lowercase()) {
            k.to_ascii_lowercase()
        } else {
            k.to_string()
        }
    };
    let tc = call0.toolchain.as_ref().map(|t| format!(" +{t}")).unwrap_or_default();
    let recipe_src = if site.w == "/" { "/recipe.json".to_string() } else { format!("{}/recipe.json", site.w) };

    // --- the runtime stage (decided first: it may refuse) ---
    let rt = if site.is_final {
        match runtime::plan(site, opts, names) {
            Ok(r) => Some(r),
            Err(why) => return refusal(run.span.clone(), &label0, why),
        }
    } else {
        None
    };

    // --- the cook command ---
    let mut cook_flags: Vec<String> = Vec::new();
    for (i, f) in run.flags.iter().enumerate() {
        if Some(i) == site.target_mount {
            continue;
        }
        if matches!(f.name(), "mount" | "network" | "security") {
            cook_flags.push(run.text_of(&f.span).to_string());
        }
    }
    let mut assigns: Vec<String> = Vec::new();
    for k in site.split..site.kb {
        let ins = site.ins(k);
        if ins.kind == Kind::Env {
            assigns.extend(env_pair_texts(ins));
        }
    }
    assigns.extend(cmd0.exported.iter().cloned());
    assigns.extend(cmd0.assigns.iter().cloned());
    let install_pkg = if call0.sub == Some(Sub::Install) {
        let p = call0.value("path").and_then(|v| site.states[site.kb].expand(&v.value)).unwrap_or_default();
        let dir = paths::rel(&paths::join(&site.w, &p), &site.w).unwrap_or_default();
        site.project.packages.iter().find(|q| q.dir == dir).filter(|_| !dir.is_empty()).map(|q| q.name.clone())
    } else {
        None
    };
    let mut cook_args = call0.cook_args(install_pkg.as_deref());
    for (call, _) in &site.calls[1..] {
        let more = call.cook_args(None);
        let mut i = 0;
        while i + 1 < more.len() {
            if (more[i] == "--bin" || more[i] == "-p")
                && !cook_args.windows(2).any(|p| p[0] == more[i] && p[1] == more[i + 1])
            {
                cook_args.push(more[i].clone());
                cook_args.push(more[i + 1].clone());
            }
            i += 1;
        }
    }
    let mut cook_line = String::new();
    for f in &cook_flags {
        cook_line.push_str(f);
        cook_line.push(' ');
    }
    for a in &assigns {
        cook_line.push_str(a);
        cook_line.push(' ');
    }
    cook_line.push_str(&format!("cargo{tc} chef cook"));
    for a in &cook_args {
        cook_line.push(' ');
        cook_line.push_str(a);
    }
    cook_line.push_str(" --recipe-path recipe.json");
    let cook_shown = format!("cargo chef cook {}", cook_args.join(" ")).trim_end().to_string();

    let vendor_dirs: Vec<&String> = site.project.source_dirs.iter().collect();
    // ARGs the new builder header needs.
    let vars = cmds::var_refs(&cook_line);
    let builder_args = arg_lines(site, &vars, site.kb);

    // --- the planner: the same copies, then prepare ---
    let mut planner_body: Vec<String> = Vec::new();
    let mut replay_vars = Vec::new();
    for k in site.split..site.kb {
        let ins = site.ins(k);
        if matches!(ins.kind, Kind::Copy | Kind::Add | Kind::Workdir | Kind::Env | Kind::Arg) {
            // Ownership does not matter to `cargo chef prepare`, which only reads.
            let owner_flags = ins.flags.iter().any(|f| matches!(f.name(), "chown" | "chmod" | "link"));
            let t = if matches!(ins.kind, Kind::Copy | Kind::Add) && owner_flags && ins.heredocs.is_empty() {
                let flags: Vec<&str> = ins
                    .flags
                    .iter()
                    .filter(|f| !matches!(f.name(), "chown" | "chmod" | "link"))
                    .map(|f| ins.text_of(&f.span))
                    .collect();
                let mut parts = vec![ins.keyword.as_str()];
                parts.extend(flags);
                parts.push(ins.args_text());
                format!("{}{}{eol}", layout::indent(doc, ins), parts.join(" "))
            } else {
                ins_text(doc, ins)
            };
            replay_vars.extend(cmds::var_refs(&t));
            planner_body.push(t);
        }
    }
    let planner_args = arg_lines(site, &replay_vars, site.split);

    // --- the chef stage ---
    let mut edits: Vec<Edit> = Vec::new();
    let Some(image_arg) = from_ins.args.first() else {
        return refusal(run.span.clone(), &label0, "the FROM line has no image.");
    };
    let (image_text, image_range) = {
        let span = image_arg.span.clone().unwrap_or(from_ins.args_span.clone());
        (image_arg.value.clone(), from_ins.source_range(span))
    };
    let setup_steps = (0..site.split).filter(|&k| site.ins(k).kind != Kind::Arg).count();
    let setup = match setup_steps {
        0 => String::new(),
        1 => {
            let k = (0..site.split).find(|&k| site.ins(k).kind != Kind::Arg).unwrap_or(0);
            format!(", then the step before the source copy (`{}`)", one_line(site.ins(k)))
        }
        n => format!(", then the {n} steps before the source copy"),
    };
    let mut chef_note;
    let mut install_line: Option<String> = None;
    let prebuilt = image::chef_image_for(&site.builder);
    let same_rust =
        site.builder.rust_version.as_ref().map(|v| format!(" (the same Rust {v} in every stage)")).unwrap_or_default();
    // A stage built on another stage keeps it: the binary is copied in instead.
    let on_stage = doc.stages()[..site.stage.index]
        .iter()
        .any(|s| s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&site.stage.base)));
    let source = match opts.chef_source {
        Some(ChefSource::Image) if on_stage && prebuilt.is_some() => None,
        s => s,
    };
    match (source, &prebuilt) {
        (Some(ChefSource::Image), _) if opts.chef_image.is_some() || prebuilt.is_some() => {
            let img = opts.chef_image.clone().or(prebuilt.clone()).unwrap_or_default();
            edits.push(Edit::replace(image_range.clone(), img.clone()));
            chef_note =
                format!("`{chef}` is the prebuilt image {img} (the {image_text} image with cargo-chef added){setup}");
        }
        (None, Some(img)) => {
            // The binary from the prebuilt image of the same tag: the base image
            // stays, and nothing is compiled (cargo-chef's dependencies need a
            // newer Rust than many pinned toolchains).
            let bin = "/usr/local/cargo/bin/cargo-chef";
            install_line = Some(format!("{} --from={img} {bin} {bin}", kw("COPY")));
            chef_note = format!(
                "`{chef}` is your base image {image_text}{same_rust} with the cargo-chef binary copied from {img}, the prebuilt image of the same tag (so nothing is compiled, and cargo-chef's own dependencies need no newer Rust){setup}"
            );
        }
        (source, _) => {
            let ver = opts.chef_version.as_ref().map(|v| format!(" --version {v}")).unwrap_or_default();
            let alpine = matches!(site.builder.distro, image::Distro::Alpine(_));
            let line = if alpine {
                format!("{} apk add --no-cache musl-dev && cargo install cargo-chef --locked{ver}", kw("RUN"))
            } else {
                format!("{} cargo install cargo-chef --locked{ver}", kw("RUN"))
            };
            install_line = Some(line);
            chef_note = format!(
                "`{chef}` is your base image {image_text}{same_rust} with cargo-chef installed by cargo{setup}"
            );
            if source == Some(ChefSource::Image) {
                chef_note.push_str(" (no prebuilt cargo-chef image matches this base image, so it is installed)");
            }
            if let Some(minor) = site
                .builder
                .rust_version
                .as_deref()
                .and_then(|v| v.split('.').nth(1))
                .and_then(|m| m.parse::<u32>().ok())
            {
                if minor < image::CHEF_MIN_RUST_MINOR && opts.chef_version.is_none() {
                    chef_note.push_str(&format!(
                        " (current cargo-chef releases need Rust 1.{} or newer to compile: set `chef-version` to an older release, or `chef-source = \"image\"`)",
                        image::CHEF_MIN_RUST_MINOR
                    ));
                }
            }
        }
    }
    // Name the original stage `chef`.
    match from_ins.args.get(2).filter(|_| from_ins.from_image().and_then(|(_, n)| n).is_some()) {
        Some(a) => {
            let span = a.span.clone().unwrap_or(from_ins.args_span.clone());
            edits.push(Edit::replace(from_ins.source_range(span), chef.clone()));
        }
        None => {
            let end = from_ins.source_range(from_ins.args_span.clone()).end;
            edits.push(Edit::insert(end, format!(" {} {chef}", as_word(from_ins))));
        }
    }

    // Where cargo-chef goes: right after FROM on a Rust image (its layer then
    // survives changes to the setup steps); after the setup steps on other
    // images, whose setup may be what installs cargo.
    let mut at_split_prefix = String::new();
    if let Some(line) = &install_line {
        if site.builder.rust_image {
            edits.push(layout::insert_after(doc, site.stage.from, std::slice::from_ref(line)));
        } else {
            at_split_prefix = format!("{ind}{line}{eol}");
        }
    }

    // Planner and builder headers, before the first source copy.
    let split_at = layout::insertion_point(doc, site.body[site.split]);
    let blank_before = {
        let first_line = doc.line_of(split_at);
        first_line > 1
            && doc.trivia_at_line(first_line - 1).is_some_and(|t| t.kind == dockfix_syntax::TriviaKind::Blank)
    };
    // Setup steps from after the source copy go first, into `chef`.
    let mut moved_text = String::new();
    for &k in &moved_up {
        let idx = site.body[k];
        let block = layout::block(doc, idx);
        moved_text.push_str(&layout::lines_text(doc, block.clone()));
        edits.push(layout::delete_lines(doc, block));
    }
    let mut text = moved_text;
    text.push_str(&at_split_prefix);
    if !blank_before {
        text.push_str(eol);
    } else if !text.is_empty() {
        text.push_str(eol);
        // keep the paragraph break that was there
    }
    let line = |s: &str| format!("{ind}{s}{eol}");
    text.push_str(&line(
        "# Dependency recipe: only the manifests and Cargo.lock, so it changes when the dependencies do.",
    ));
    text.push_str(&line(&format!("{} {chef} {} {planner}", kw("FROM"), as_word(from_ins))));
    for a in &planner_args {
        text.push_str(&line(&format!("{} {a}", kw("ARG"))));
    }
    for t in &planner_body {
        text.push_str(t);
    }
    text.push_str(&line(&format!("{} cargo{tc} chef prepare --recipe-path recipe.json", kw("RUN"))));
    text.push_str(eol);
    text.push_str(&line("# Build the dependencies from the recipe first: this layer stays cached until they change."));
    text.push_str(&line(&format!("{} {chef} {} {}", kw("FROM"), as_word(from_ins), site.builder_name)));
    for a in &builder_args {
        text.push_str(&line(&format!("{} {a}", kw("ARG"))));
    }
    if need_workdir {
        text.push_str(&line(&format!("{} {}", kw("WORKDIR"), site.w)));
    }
    text.push_str(&line(&format!("{} --from={planner} {recipe_src} recipe.json", kw("COPY"))));
    // Vendored crates (`cargo vendor` + a directory source): cook reads them.
    for d in &vendor_dirs {
        text.push_str(&line(&format!("{} --from={planner} {} {d}", kw("COPY"), paths::join(&site.w, d))));
    }
    text.push_str(&line(&format!("{} {cook_line}", kw("RUN"))));
    if let Some(d) = &restore_workdir {
        text.push_str(&line(&format!("{} {d}", kw("WORKDIR"))));
    }
    if blank_before {
        // The source copy keeps its own paragraph.
        text.push_str(eol);
    }
    edits.push(Edit::insert(split_at, text));

    // The target cache mount goes: the cooked dependencies live in the layer.
    if let Some(i) = site.target_mount {
        let f = &run.flags[i];
        let start = run.source_range(f.span.clone()).start;
        let next = run.flags.get(i + 1).map(|n| n.span.clone()).unwrap_or(run.args_span.clone());
        let end = run.source_range(next).start;
        edits.push(Edit::delete(start..end));
    }

    let copy_label = one_line(site.ins(site.source_copy));
    let deps = site.project.dependency_count();
    let moved_note = if moved_up.is_empty() {
        String::new()
    } else {
        let l: Vec<String> = moved_up.iter().map(|&k| format!("`{}`", one_line(site.ins(k)))).collect();
        format!(
            " {} {} above the source copy, into `{chef}`: the cook compiles the dependencies before the sources arrive and needs what {} installs (it does not read the sources).",
            l.join(" and "),
            if l.len() == 1 { "moves" } else { "move" },
            if l.len() == 1 { "it" } else { "they" }
        )
    };
    let vendor_note = match vendor_dirs.len() {
        0 => String::new(),
        _ => format!(
            " and the vendored crates ({}, read through the directory source of .cargo/config.toml)",
            vendor_dirs.iter().map(|d| format!("{d}/")).collect::<Vec<_>>().join(", ")
        ),
    };
    let mut why = if site.target_mount.is_some() {
        format!(
            "`{label0}` keeps the compiled dependencies only in a cache mount on the target directory: they last as long as the builder's cache (a fresh CI runner or `docker builder prune` starts from nothing), and the image cannot see them, which is why the binary is copied out."
        )
    } else {
        format!(
            "BuildKit re-runs every step after the first one whose inputs changed. `{copy_label}` changes with any source edit, so `{label0}` compiles {} again each time.",
            match deps {
                Some(0) => "the whole project".to_string(),
                Some(1) => "its dependency from Cargo.lock".to_string(),
                Some(n) => format!("the {n} dependencies in Cargo.lock"),
                None => "every dependency".to_string(),
            }
        )
    };
    if deps == Some(0) {
        why.push_str(" Cargo.lock has no dependencies yet, so the cook step caches little today; it pays off with the first one.");
    }
    why.push_str(&format!(
        " The rewrite uses cargo-chef. {chef_note}.{moved_note} `{planner}` copies the sources and runs `cargo chef prepare`: its recipe.json holds only the manifests and the lock file, so it stays the same until the dependencies change. `{}` copies that recipe{vendor_note} and runs `{cook_shown}`, with the build's own profile, target, features and packages so that cargo reuses what it compiled, then copies the sources and runs the original `{label0}`",
        site.builder_name
    ));
    if site.target_mount.is_some() {
        why.push_str(", now without the cache mount on the target directory (the copy out of it stays)");
    }
    why.push('.');
    if let Some(rt) = &rt {
        why.push(' ');
        why.push_str(&rt.explanation);
        why.push('.');
    }
    let gain = match &rt {
        Some(rt) => format!(
            "A source edit recompiles only the project's own crates; the dependencies stay in the cached cook layer until Cargo.toml or Cargo.lock change. {}",
            rt.gain
        ),
        None => "A source edit recompiles only the project's own crates; the dependencies stay in the cached cook layer until Cargo.toml or Cargo.lock change.".to_string(),
    };
    let title = match &rt {
        Some(_) => format!(
            "Split into `{chef}`, `{planner}`, `{}` and `{}` stages with cargo-chef",
            site.builder_name,
            rt.as_ref().map(|r| r.name.as_str()).unwrap_or("runtime")
        ),
        None => format!("Add `{chef}` and `{planner}` stages and cook the dependencies before copying the sources"),
    };
    if let Some(rt) = rt {
        edits.extend(rt.edits);
    }
    let problem = if site.target_mount.is_some() {
        format!("`{label0}` keeps its dependencies only in a cache mount on the target directory")
    } else {
        format!("`{label0}` after `{copy_label}` recompiles every dependency on each source edit")
    };
    let message = if site.is_final { format!("{problem}, and the image ships the Rust toolchain") } else { problem };
    Finding::new(NAME, run.span.clone(), message).why(why).gain(gain).fix(Fix::unsafe_(title, merge_insertions(edits)))
}

/// `KEY=value` texts of an ENV, as written (shell assignments).
pub fn env_pair_texts(ins: &Instruction) -> Vec<String> {
    ins.args
        .chunks(3)
        .filter(|c| c.len() == 3)
        .map(|c| {
            let (k, v) = (&c[0].value, &c[1].value);
            if c[2].value == "=" || v.contains(['"', '\'', '\\', '$']) || !v.contains(char::is_whitespace) {
                format!("{k}={v}")
            } else {
                format!("{k}={}", quote(v))
            }
        })
        .collect()
}

/// Merges insertions at the same offset (the engine treats them as overlapping).
fn merge_insertions(mut edits: Vec<Edit>) -> Vec<Edit> {
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out: Vec<Edit> = Vec::new();
    for e in edits {
        if let Some(last) = out.last_mut() {
            if last.range.is_empty()
                && e.range.is_empty()
                && last.range.start == e.range.start
                && last.target == e.target
            {
                last.replacement.push_str(&e.replacement);
                continue;
            }
        }
        out.push(e);
    }
    out
}
