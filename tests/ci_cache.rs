//! Fixture tests for `ci-cache`: each `tests/ci-cache/<case>/` is a small
//! repository (`.github/workflows/*.yml|yaml`, `docker-bake.hcl`). Each case
//! runs discovery and the pass with unsafe fixes on, snapshots the findings
//! and the explained diffs (`snapshots/ci-cache__<case>.snap`), and checks
//! - the edits only insert lines, each where a fix says it inserts;
//! - a workflow still parses as YAML, every `docker/build-push-action` step
//!   that got a cache has `cache-from`/`cache-to` as strings in its `with:`
//!   mapping (where the action reads its inputs) and a buildx builder before
//!   it in its job; a bake file still parses as HCL (hcl-rs) and every target
//!   that got a cache has both attributes in its body;
//! - CRLF files stay CRLF;
//! - a second run on the output proposes nothing.
//!
//! A case may hold a `dockfix.toml` with `unsafe-fixes = false`.

use std::path::{Path, PathBuf};

use dockfix_cli::batch::{plan_bake, plan_workflow};
use dockfix_cli::plan::{FilePlan, Settings};
use dockfix_cli::{discover, registry, render};
use dockfix_core::{Mode, PassOptions};
use libtest_mimic::{Arguments, Failed, Trial};
use similar::{DiffTag, TextDiff};
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn settings(dir: &Path) -> Settings {
    let mut unsafe_fixes = true;
    if let Ok(text) = std::fs::read_to_string(dir.join("dockfix.toml")) {
        let t: toml::Table = text.parse().unwrap();
        unsafe_fixes = t.get("unsafe-fixes").and_then(toml::Value::as_bool).unwrap_or(true);
    }
    Settings {
        passes: vec![registry::find("ci-cache").expect("ci-cache is registered")],
        mode: Mode { unsafe_fixes },
        options: PassOptions::default(),
    }
}

/// Discovery, then one plan per workflow and bake file, like `dockfix` does.
fn plan(work: &Path, settings: &Settings) -> Result<Vec<FilePlan>, String> {
    let found = discover::discover(&[work.to_path_buf()])?;
    let mut workflows = Vec::new();
    for w in &found.workflows {
        workflows.push(dockfix_pass_ci_cache::workflow::load(w).map_err(|e| format!("{}: {e}", w.display()))?);
    }
    let facts = dockfix_pass_ci_cache::facts(&workflows);
    let mut plans: Vec<FilePlan> = workflows.iter().filter_map(|w| plan_workflow(w, &facts, settings)).collect();
    for b in &found.bake_files {
        let text = std::fs::read_to_string(b).map_err(|e| e.to_string())?;
        plans.extend(plan_bake(b, &text, &facts, settings));
    }
    Ok(plans)
}

/// Only insertions, each at a line a fix inserts at.
fn only_insertions(p: &FilePlan) -> Result<(), String> {
    let o = &p.outcome;
    let before = String::from_utf8_lossy(&o.source).into_owned();
    let after = String::from_utf8_lossy(&o.fixed).into_owned();
    let edit_lines: Vec<std::ops::Range<usize>> =
        o.findings.iter().filter(|r| r.applied).flat_map(|r| r.edit_lines.iter().cloned()).collect();
    for op in TextDiff::from_lines(&before, &after).ops() {
        match op.tag() {
            DiffTag::Equal => {}
            DiffTag::Insert => {
                let at = op.old_range().start + 1;
                if !edit_lines.iter().any(|l| l.start <= at && at <= l.end) {
                    return Err(format!(
                        "{}: lines inserted at {at}, where no fix inserts ({edit_lines:?})",
                        p.path.display()
                    ));
                }
            }
            _ => {
                let r = op.old_range();
                return Err(format!("{}: original lines {}..{} changed", p.path.display(), r.start + 1, r.end + 1));
            }
        }
    }
    if before.contains("\r\n") && after.replace("\r\n", "").contains('\n') {
        return Err(format!("{}: a line ending lost its CR", p.path.display()));
    }
    Ok(())
}

fn uses(step: &Yaml, action: &str) -> bool {
    step["uses"].as_str().is_some_and(|u| u.to_ascii_lowercase().starts_with(&format!("{action}@")))
}

/// The workflow parses, and every cached build step reads its cache where
/// the action reads inputs, on a buildx builder.
fn check_workflow_output(p: &FilePlan) -> Result<(), String> {
    let text = String::from_utf8_lossy(&p.outcome.fixed).into_owned();
    let docs =
        YamlLoader::load_from_str(&text).map_err(|e| format!("{}: output is not YAML: {e}", p.path.display()))?;
    let doc = docs.first().ok_or("empty output")?;
    let applied = p.outcome.findings.iter().filter(|r| r.applied).count();
    let mut cached = 0;
    if let Some(jobs) = doc["jobs"].as_hash() {
        for (id, job) in jobs {
            let Some(steps) = job["steps"].as_vec() else { continue };
            let mut builder = false;
            for step in steps {
                builder |= uses(step, "docker/setup-buildx-action")
                    || step["run"].as_str().is_some_and(|r| r.contains("buildx create"));
                if !uses(step, "docker/build-push-action") {
                    continue;
                }
                let with = &step["with"];
                let (Some(from), Some(to)) = (with["cache-from"].as_str(), with["cache-to"].as_str()) else { continue };
                if !(from.starts_with("type=gha") && to.starts_with("type=gha")) {
                    continue;
                }
                cached += 1;
                if with.as_hash().is_none() {
                    return Err(format!("job {id:?}: `with` is not a mapping"));
                }
                if !builder {
                    return Err(format!("job {id:?}: a gha-cached build without a buildx builder before it"));
                }
                if !to.contains("mode=max") {
                    return Err(format!("job {id:?}: cache-to without mode=max"));
                }
            }
        }
    }
    if cached < applied {
        return Err(format!("{} fixes applied but {cached} gha-cached build steps", applied));
    }
    Ok(())
}

/// The bake file parses as HCL and each fixed target has both attributes.
fn check_bake_output(p: &FilePlan) -> Result<(), String> {
    let text = String::from_utf8_lossy(&p.outcome.fixed).into_owned();
    let body = hcl::parse(&text).map_err(|e| format!("{}: output is not HCL: {e}", p.path.display()))?;
    for r in p.outcome.findings.iter().filter(|r| r.applied) {
        let name = r.finding.message.split('`').nth(1).ok_or("finding names no target")?;
        let block = body
            .blocks()
            .find(|b| b.identifier.as_str() == "target" && b.labels.first().map(|l| l.as_str()) == Some(name))
            .ok_or(format!("target {name} gone"))?;
        for key in ["cache-from", "cache-to"] {
            if !block.body.attributes().any(|a| a.key.as_str() == key) {
                return Err(format!("target {name}: no {key} after the fix"));
            }
        }
    }
    Ok(())
}

fn run_case(case: &str, dir: &Path) -> Result<(), Failed> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let work = tmp.path().join(case);
    copy_dir(dir, &work);
    let settings = settings(dir);
    let mut plans = plan(&work, &settings)?;
    if plans.is_empty() {
        return Err("no workflow or bake file in the case".into());
    }
    for p in &plans {
        only_insertions(p)?;
        if p.path.extension().is_some_and(|e| e == "hcl") {
            check_bake_output(p)?;
        } else {
            check_workflow_output(p)?;
        }
    }

    // The snapshot: per file, the findings and the explained diff.
    let prefix = format!("{}/", work.display());
    let mut snap = String::new();
    for p in &mut plans {
        p.path = p.path.strip_prefix(&work).map(Path::to_path_buf).unwrap_or(p.path.clone());
        let header: Vec<String> = p
            .outcome
            .findings
            .iter()
            .map(|r| {
                let class = r.finding.fix.as_ref().map_or("none", |f| f.applicability.as_str());
                format!("{}:{} [{}{}]", r.line, r.column, class, if r.applied { ", applied" } else { "" })
            })
            .collect();
        let mut buf = anstream::StripStream::new(Vec::new());
        render::dry_run(&mut buf, p).map_err(|e| e.to_string())?;
        let body = String::from_utf8_lossy(&buf.into_inner()).into_owned();
        snap.push_str(&format!("=== {}\n", p.path.display()));
        if header.is_empty() {
            snap.push_str("(no findings)\n");
        } else {
            snap.push_str(&format!("{}\n\n{body}", header.join("\n")));
        }
        snap.push('\n');
    }
    let snap = snap.replace(&prefix, "").replace('\r', "␍");

    // A second run on the output proposes nothing.
    for p in &plans {
        if p.outcome.changed() {
            std::fs::write(work.join(&p.path), &p.outcome.fixed).map_err(|e| e.to_string())?;
        }
    }
    for again in plan(&work, &settings)? {
        if again.outcome.changed() || again.outcome.findings.iter().any(|r| r.applied) {
            let left: Vec<String> = again.outcome.findings.iter().map(|r| r.finding.message.clone()).collect();
            return Err(format!("second run is not empty for {}: {left:?}", again.path.display()).into());
        }
    }

    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.set_input_file(dir);
    s.bind(|| insta::assert_snapshot!(format!("ci-cache__{case}"), snap));
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let base = root().join("tests/ci-cache");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&base).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    let trials = cases
        .into_iter()
        .filter(|p| p.is_dir())
        .map(|dir| {
            let case = dir.file_name().unwrap().to_string_lossy().into_owned();
            Trial::test(format!("ci-cache::{case}"), move || {
                std::panic::catch_unwind(|| run_case(&case, &dir)).unwrap_or_else(|e| {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Err(msg.into())
                })
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
