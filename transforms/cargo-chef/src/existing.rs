//! Stages that already use cargo-chef: `cargo chef cook` must compile with
//! what the build after it uses, or cargo recompiles every dependency anyway.

use std::collections::BTreeMap;

use dockfix_core::walk::stage_states;
use dockfix_core::{Context, Edit, Finding, Fix};
use dockfix_syntax::{Kind, Stage};

use crate::cargo::{self, Call, Sub};
use crate::cmds::{self, Cmd};
use crate::convert::{label, one_line};
use crate::NAME;

/// True if a RUN of the stage runs `cargo chef`.
pub fn uses_chef(cx: &Context<'_>, stage: &Stage) -> bool {
    stage.body.clone().any(|i| {
        let ins = &cx.doc.instructions[i];
        ins.kind == Kind::Run
            && cmds::run_commands(ins).iter().any(|c| {
                cargo::parse(&c.words).is_some_and(|k| matches!(k.sub, Some(Sub::ChefCook | Sub::ChefPrepare)))
            })
    })
}

/// Variables that change what cargo compiles (and so its fingerprints).
fn affects_compilation(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    (k.starts_with("CARGO")
        && !k.starts_with("CARGO_TERM")
        && !k.starts_with("CARGO_NET")
        && !k.starts_with("CARGO_HTTP"))
        || k.starts_with("RUSTFLAGS")
        || k.starts_with("RUSTDOCFLAGS")
        || k.starts_with("RUSTC")
        || k.starts_with("CC")
        || k.starts_with("CXX")
        || k.starts_with("CFLAGS")
        || k.starts_with("LDFLAGS")
        || k.starts_with("PKG_CONFIG")
        || k.starts_with("OPENSSL_")
        || k == "AR"
}

/// The environment a command runs with: the stage's ENV, then the
/// variables exported or assigned in its RUN.
fn env_of(state: &dockfix_core::walk::State, c: &Cmd) -> BTreeMap<String, String> {
    let mut env = state.env.clone();
    for a in c.exported.iter().chain(&c.assigns) {
        if let Some((k, v)) = a.split_once('=') {
            env.insert(k.to_string(), dockfix_core::walk::unquote(v));
        }
    }
    env
}

pub fn check(cx: &Context<'_>, stage: &Stage) -> Vec<Finding> {
    let doc = cx.doc;
    let states = stage_states(doc, stage);
    let body: Vec<usize> = stage.body.clone().collect();
    let mut out = Vec::new();
    let mut cook: Option<(usize, Call, Cmd, BTreeMap<String, String>)> = None;
    let mut source_copy_before_cook: Option<String> = None;
    for (k, &idx) in body.iter().enumerate() {
        let ins = &doc.instructions[idx];
        if matches!(ins.kind, Kind::Copy | Kind::Add) && ins.flag("from").is_none() && cook.is_none() {
            let broad =
                ins.arg_values().iter().rev().skip(1).any(|s| matches!(*s, "." | "./" | "src" | "src/" | "./src"));
            if broad {
                source_copy_before_cook = Some(one_line(ins));
            }
        }
        if ins.kind != Kind::Run {
            continue;
        }
        for c in cmds::run_commands(ins) {
            let Some(call) = cargo::parse(&c.words) else { continue };
            if call.sub == Some(Sub::ChefCook) {
                if let Some(copy) = source_copy_before_cook.take() {
                    out.push(
                        Finding::new(NAME, ins.span.clone(), format!("`{copy}` before `cargo chef cook` re-runs the cook on every source edit"))
                            .why(format!(
                                "cargo chef cook only caches the dependencies if its layer stays the same: it must come right after copying recipe.json and before `{copy}`. As it is, every source edit invalidates it."
                            ))
                            .fix(Fix::display_only("Copy the sources after `cargo chef cook`")),
                    );
                }
                let env = env_of(&states[k], &c);
                cook = Some((k, call, c, env));
                continue;
            }
            if !call.is_build() {
                continue;
            }
            let Some((ck, cook_call, cook_cmd, cook_env)) = &cook else { continue };
            let (ck, cook_ins) = (*ck, &doc.instructions[body[*ck]]);
            if states[ck].workdir != states[k].workdir {
                out.push(
                    Finding::new(NAME, ins.span.clone(), format!("`cargo chef cook` and `{}` run in different directories", label(&c)))
                        .why("cargo chef cook writes the compiled dependencies under its working directory's target/ and cargo fingerprints them with absolute paths; a build in another directory reuses nothing.")
                        .fix(Fix::display_only("Run the cook and the build in the same WORKDIR")),
                );
                continue;
            }
            let mism = Call::mismatches(cook_call, &call);
            let build_env = env_of(&states[k], &c);
            let keys: std::collections::BTreeSet<&String> = cook_env.keys().chain(build_env.keys()).collect();
            let differ: Vec<&String> =
                keys.into_iter().filter(|k| affects_compilation(k) && cook_env.get(*k) != build_env.get(*k)).collect();
            if !differ.is_empty() {
                let show = |e: &BTreeMap<String, String>| {
                    differ
                        .iter()
                        .map(|k| format!("{k}={}", e.get(*k).map(String::as_str).unwrap_or("(unset)")))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                let (ea, eb) = (show(cook_env), show(&build_env));
                out.push(
                    Finding::new(NAME, cook_ins.span.clone(), format!("`cargo chef cook` and `{}` run with different environment variables", label(&c)))
                        .why(format!(
                            "The cook runs with {ea} and the build with {eb}. Variables such as RUSTFLAGS change cargo's fingerprints, so the build may recompile the dependencies the cook compiled."
                        ))
                        .fix(Fix::display_only("Give the cook the same variables as the build")),
                );
            }
            if mism.is_empty() {
                continue;
            }
            let list = mism.iter().map(|(a, x, y)| format!("{a}: cook {x}, build {y}")).collect::<Vec<_>>().join("; ");
            let mut f = Finding::new(
                NAME,
                cook_ins.span.clone(),
                format!("`cargo chef cook` compiles the dependencies differently from `{}`", label(&c)),
            )
            .why(format!(
                "The cooked dependencies are only reused when the cook uses the build's profile, target, features and packages ({list}). Otherwise the build compiles every dependency again and the cook layer is wasted work."
            ))
            .gain("The build reuses the cooked dependencies: a source edit recompiles only the project's own crates.");
            f = match cook_fix(cook_ins, cook_cmd, &call) {
                Some(edit) => f.fix(Fix::safe("Give `cargo chef cook` the build's flags", vec![edit])),
                None => f.fix(Fix::display_only("Give `cargo chef cook` the build's flags")),
            };
            out.push(f);
        }
    }
    out
}

/// Rewrites the cook's arguments to mirror the build (keeping its
/// `--recipe-path` and cook-only flags).
fn cook_fix(ins: &dockfix_syntax::Instruction, cook: &Cmd, build: &Call) -> Option<Edit> {
    let pos = cook.words.iter().position(|w| w.value == "cook")?;
    let spans: Vec<_> = cook.word_spans.iter().cloned().collect::<Option<Vec<_>>>()?;
    if spans.len() != cook.words.len() || build.sub == Some(Sub::Install) {
        return None;
    }
    let mut args = build.cook_args(None);
    // Cook-only flags and the recipe path stay as written.
    let mut i = pos + 1;
    let words = &cook.words;
    while i < words.len() {
        let v = words[i].value.as_str();
        if v == "--recipe-path" {
            args.push(words[i].raw.clone());
            if let Some(n) = words.get(i + 1) {
                args.push(n.raw.clone());
            }
            i += 2;
            continue;
        }
        if v.starts_with("--recipe-path=")
            || matches!(v, "--no-std" | "--check" | "--clippy" | "--no-build" | "--verbose" | "-v" | "--timings")
        {
            args.push(words[i].raw.clone());
        }
        if v == "--jobs" || v == "-j" {
            args.push(words[i].raw.clone());
            if let Some(n) = words.get(i + 1) {
                args.push(n.raw.clone());
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    let start = spans[pos].end;
    let end = spans.last()?.end;
    let range = ins.source_range(start..end);
    Some(Edit::replace(range, format!(" {}", args.join(" "))))
}
