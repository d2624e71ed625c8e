//! GitHub Actions workflows: `docker/build-push-action` steps without a
//! cache get the GitHub Actions cache backend, a buildx builder where the
//! job has none, and a scope per image; `run: docker build …` steps get the
//! action-based equivalent as a report. Edits are line insertions at the
//! indentation the file already uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dockfix_core::{Edit, Finding, Fix};

use crate::text::{indent, Lines};
use crate::yaml::{self, Node};
use crate::NAME;

/// The builder step dockfix adds.
pub const SETUP_BUILDX: &str = "docker/setup-buildx-action@v3";

/// True for `.github/workflows/*.yml|yaml`.
pub fn is_workflow_path(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("yml" | "yaml")) {
        return false;
    }
    let mut dirs = path.parent().into_iter().flat_map(|p| p.components().rev()).map(|c| c.as_os_str());
    dirs.next().is_some_and(|d| d == "workflows") && dirs.next().is_some_and(|d| d == ".github")
}

/// A parsed workflow file.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub path: PathBuf,
    pub text: String,
    root: Node,
}

/// Parses a workflow's text.
pub fn parse(path: &Path, text: &str) -> Result<Workflow, String> {
    let root = yaml::parse(text)?;
    Ok(Workflow { path: path.to_path_buf(), text: text.to_string(), root })
}

/// Reads and parses a workflow file.
pub fn load(path: &Path) -> Result<Workflow, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    parse(path, &text).map_err(|e| format!("not valid YAML: {e}"))
}

/// What a step does, as far as caching goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// `docker/build-push-action`; `v1` has no cache inputs.
    BuildPush {
        v1: bool,
    },
    SetupBuildx,
    Bake,
    Metadata,
    Other,
}

fn action(step: &Node) -> Action {
    let Some(uses) = step.get("uses").and_then(Node::as_str) else { return Action::Other };
    let (name, version) = uses.split_once('@').unwrap_or((uses, ""));
    match name.trim().to_ascii_lowercase().as_str() {
        "docker/build-push-action" => Action::BuildPush { v1: version == "v1" || version.starts_with("v1.") },
        "docker/setup-buildx-action" => Action::SetupBuildx,
        "docker/bake-action" => Action::Bake,
        "docker/metadata-action" => Action::Metadata,
        _ => Action::Other,
    }
}

fn with_str<'a>(step: &'a Node, key: &str) -> Option<&'a str> {
    step.get("with")?.get(key)?.as_str()
}

fn with_has(step: &Node, key: &str) -> bool {
    step.get("with").is_some_and(|w| w.entry(key).is_some())
}

/// The step already caches (any backend) or opts out of the cache.
fn caches(step: &Node) -> bool {
    with_has(step, "cache-from")
        || with_has(step, "cache-to")
        || with_str(step, "no-cache").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// A step that creates a buildx builder with cache export.
fn makes_builder(step: &Node) -> bool {
    match action(step) {
        Action::SetupBuildx => true,
        _ => step.get("run").and_then(Node::as_str).is_some_and(|r| r.contains("buildx create")),
    }
}

struct Job<'a> {
    id: &'a str,
    node: &'a Node,
    steps: &'a [Node],
}

fn jobs(root: &Node) -> Vec<Job<'_>> {
    let Some(jobs) = root.get("jobs") else { return Vec::new() };
    jobs.entries()
        .iter()
        .filter_map(|e| {
            let steps = e.value.get("steps")?;
            Some(Job { id: &e.key, node: &e.value, steps: steps.items() })
        })
        .collect()
}

/// What the batch knows across every workflow it found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `docker/build-push-action` steps in all workflows.
    pub build_steps: usize,
    /// Jobs that run `docker/bake-action` without a buildx builder before it
    /// (`file: job`): the default `docker` driver cannot export a cache.
    pub bake_without_builder: Vec<String>,
}

/// Facts over all workflows of a run.
pub fn facts(workflows: &[Workflow]) -> Facts {
    let mut f = Facts::default();
    for w in workflows {
        for job in jobs(&w.root) {
            let mut builder = false;
            for step in job.steps {
                builder |= makes_builder(step);
                match action(step) {
                    Action::BuildPush { .. } => f.build_steps += 1,
                    Action::Bake if !builder => {
                        f.bake_without_builder.push(format!("{}: job `{}`", w.path.display(), job.id))
                    }
                    _ => {}
                }
            }
        }
    }
    f
}

/// `${{ matrix.x }}` references in a value, as `matrix.x`.
fn matrix_refs(value: &str, out: &mut Vec<String>) {
    let mut rest = value;
    while let Some(i) = rest.find("${{") {
        let after = &rest[i + 3..];
        let end = after.find("}}").unwrap_or(after.len());
        let expr = &after[..end];
        let mut e = expr;
        while let Some(j) = e.find("matrix.") {
            let before_ok = j == 0 || !e[..j].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            let tail = &e[j + 7..];
            let len = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
                .unwrap_or(tail.len());
            let path = tail[..len].trim_end_matches('.');
            if before_ok && !path.is_empty() {
                let r = format!("matrix.{path}");
                if !out.contains(&r) {
                    out.push(r);
                }
            }
            e = &tail[len..];
        }
        rest = &after[end..];
    }
}

/// The matrix variables a build step depends on: in its inputs and in the
/// job's `runs-on` (another runner, another platform).
fn step_matrix_refs(step: &Node, job: &Job<'_>) -> Vec<String> {
    let mut refs = Vec::new();
    if job.node.get("strategy").and_then(|s| s.get("matrix")).is_none() {
        return refs;
    }
    let mut vals = Vec::new();
    if let Some(w) = step.get("with") {
        w.scalars(&mut vals);
    }
    if let Some(r) = job.node.get("runs-on") {
        r.scalars(&mut vals);
    }
    for v in vals {
        matrix_refs(v, &mut refs);
    }
    refs
}

fn has_matrix_refs(step: &Node, job: &Job<'_>) -> bool {
    !step_matrix_refs(step, job).is_empty()
}

/// Letters, digits, `.`, `_` and `-` only, no leading/trailing dashes.
fn sanitize(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c.to_ascii_lowercase() } else { '-' };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_matches(|c| c == '-' || c == '.').to_string()
}

/// Replaces each `${{ … }}` expression with `\u{1}`.
fn mask_expressions(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        out.push('\u{1}');
        rest = rest[i..].find("}}").map_or("", |e| &rest[i + e + 2..]);
    }
    out.push_str(rest);
    out
}

/// `ghcr.io/acme/api:${{ github.sha }}` → `api`; None when the name itself
/// is computed.
fn image_name(reference: &str) -> Option<String> {
    let r = mask_expressions(reference.trim().trim_matches(|c| c == '"' || c == '\''));
    let last = r.split('@').next()?.rsplit('/').next()?;
    let name = last.split(':').next()?;
    if name.contains('\u{1}') || name.contains('$') {
        return None;
    }
    let s = sanitize(name);
    (!s.is_empty()).then_some(s)
}

fn first_item(list: &str) -> Option<&str> {
    list.split(['\n', ',']).map(str::trim).find(|s| !s.is_empty() && !s.starts_with('#'))
}

/// A name for the image a build step makes, from what is written in it
/// (tags, the images of the metadata step its tags come from, the
/// Dockerfile, the context), plus its target.
fn static_name(step: &Node, job: &Job<'_>) -> Option<String> {
    let from_tags = with_str(step, "tags").and_then(|tags| {
        first_item(tags).and_then(image_name).or_else(|| {
            // `${{ steps.meta.outputs.tags }}` → the metadata step's `images`.
            let i = tags.find("steps.")?;
            let id = tags[i + 6..].split('.').next()?;
            let meta = job
                .steps
                .iter()
                .find(|s| s.get("id").and_then(Node::as_str) == Some(id) && action(s) == Action::Metadata)?;
            first_item(with_str(meta, "images")?).and_then(image_name)
        })
    });
    let from_file = || {
        let f = with_str(step, "file")?.trim();
        if f.contains("${{") {
            return None;
        }
        let p = Path::new(f);
        let name = p.file_name()?.to_str()?;
        let lower = name.to_ascii_lowercase();
        let n = if lower == "dockerfile" || lower == "containerfile" {
            p.parent()?.file_name()?.to_str()?.to_string()
        } else if let Some(s) = lower.strip_suffix(".dockerfile") {
            s.to_string()
        } else if let Some(s) = lower.strip_prefix("dockerfile.") {
            s.to_string()
        } else {
            name.to_string()
        };
        let s = sanitize(&n);
        (!s.is_empty()).then_some(s)
    };
    let from_context = || {
        let c = with_str(step, "context")?.trim();
        if c.contains("${{") {
            return None;
        }
        let last =
            Path::new(c).components().filter_map(|c| c.as_os_str().to_str()).rfind(|s| *s != "." && *s != "..")?;
        let s = sanitize(last);
        (!s.is_empty()).then_some(s)
    };
    let base = from_tags.or_else(from_file).or_else(from_context)?;
    match with_str(step, "target").filter(|t| !t.contains("${{")).map(sanitize).filter(|t| !t.is_empty()) {
        Some(t) if t != base => Some(format!("{base}-{t}")),
        _ => Some(base),
    }
}

/// What makes two build steps the same image.
fn signature(step: &Node) -> String {
    ["context", "file", "target", "build-args", "platforms"]
        .iter()
        .map(|k| with_str(step, k).unwrap_or("").trim().to_string())
        .collect::<Vec<_>>()
        .join("\u{0}")
}

/// Where a step is written: the line of its `-`, the text that starts the
/// step's first key line (`      - `, or `        ` when the dash stands on
/// its own line above, the style of Docker's older examples), and that
/// key's column.
struct Layout {
    dash_line: usize,
    dash_col: usize,
    prefix: String,
    key_col: usize,
    dash_alone: bool,
}

fn layout(lines: &Lines<'_>, step: &Node) -> Option<Layout> {
    if step.is_flow() {
        return None;
    }
    let first = step.entries().first()?;
    let line = lines.get(first.pos.line);
    let prefix: String = line.chars().take(first.pos.col).collect();
    if let Some(dash_col) = prefix.find('-') {
        let ok = prefix[..dash_col].chars().all(|c| c == ' ')
            && prefix[dash_col + 1..].chars().all(|c| c == ' ')
            && prefix.len() > dash_col + 1;
        return ok.then_some(Layout {
            dash_line: first.pos.line,
            dash_col,
            key_col: prefix.len(),
            prefix,
            dash_alone: false,
        });
    }
    // `-` alone on the line above, the keys below it.
    let above = lines.get(first.pos.line.checked_sub(1)?);
    let dash_col = indent(above);
    let ok = prefix.chars().all(|c| c == ' ')
        && above.trim_end() == format!("{}-", " ".repeat(dash_col))
        && dash_col < prefix.len();
    ok.then(|| Layout { dash_line: first.pos.line - 1, dash_col, key_col: prefix.len(), prefix, dash_alone: true })
}

/// The file's mapping indentation step (from `jobs:` to a job), 2 by default.
fn indent_step(root: &Node) -> usize {
    let jobs = root.entry("jobs");
    let job = jobs.and_then(|j| j.value.entries().first());
    match (jobs, job) {
        (Some(j), Some(k)) if k.pos.col > j.pos.col => k.pos.col - j.pos.col,
        _ => 2,
    }
}

/// An insertion into the step's `with:` (created when absent): `lines` are
/// `key: value` texts. None when `with:` is written in a form that line
/// insertions cannot extend (flow style, an alias, a merge key).
fn with_insert(lines: &Lines<'_>, root: &Node, step: &Node, lay: &Layout, kv: &[String]) -> Option<Edit> {
    let eol = lines.eol();
    if step.entry("<<").is_some() {
        return None;
    }
    match step.entry("with") {
        Some(w) => {
            let col = match &w.value {
                Node::Map { flow: false, entries } => {
                    if entries.iter().any(|e| e.key == "<<") {
                        return None;
                    }
                    entries.first().map(|e| e.pos.col)?
                }
                Node::Null { .. } => {
                    // `with:` with nothing under it (or a comment).
                    let rest = lines.get(w.pos.line).trim_end();
                    if !rest.ends_with(':') && !rest.contains(": #") && !rest.contains(":\t#") {
                        return None;
                    }
                    w.pos.col + indent_step(root)
                }
                _ => return None,
            };
            let last = lines.block_end(w.pos.line, w.pos.col);
            let (at, nl) = lines.after(last);
            let pad = " ".repeat(col);
            let mut text = String::from(if nl { eol } else { "" });
            for l in kv {
                text.push_str(&format!("{pad}{l}{eol}"));
            }
            Some(Edit::insert(at, text))
        }
        None => {
            let last = lines.block_end(lay.dash_line, lay.dash_col);
            let (at, nl) = lines.after(last);
            let pad = " ".repeat(lay.key_col);
            let inner = " ".repeat(lay.key_col + indent_step(root));
            let mut text = format!("{}{pad}with:{eol}", if nl { eol } else { "" });
            for l in kv {
                text.push_str(&format!("{inner}{l}{eol}"));
            }
            Some(Edit::insert(at, text))
        }
    }
}

/// A `docker/setup-buildx-action` step before `step`, above the comments
/// that lead into it, in the file's list style.
fn setup_insert(lines: &Lines<'_>, step: &Node, lay: &Layout) -> Edit {
    let eol = lines.eol();
    let mut first = lay.dash_line;
    while first > 1 {
        let l = lines.get(first - 1);
        if l.trim_start().starts_with('#') && indent(l) >= lay.dash_col {
            first -= 1;
        } else {
            break;
        }
    }
    let blank_above = first > 1 && lines.get(first - 1).trim().is_empty();
    let pad = " ".repeat(lay.key_col);
    let mut text = if lay.dash_alone { format!("{}-{eol}", " ".repeat(lay.dash_col)) } else { String::new() };
    if step.entry("name").is_some() {
        text.push_str(&format!("{}name: Set up Docker Buildx{eol}{pad}uses: {SETUP_BUILDX}{eol}", lay.prefix));
    } else {
        text.push_str(&format!("{}uses: {SETUP_BUILDX}{eol}", lay.prefix));
    }
    if blank_above {
        text.push_str(eol);
    }
    Edit::insert(lines.start(first), text)
}

/// With the `docker` driver an image is always in the runner's Docker; with
/// a buildx builder only when the step pushes, loads or exports it. True
/// when `load: true` keeps what the step did.
fn needs_load(step: &Node) -> bool {
    let pushes = with_str(step, "push").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let multi = with_str(step, "platforms").is_some_and(|p| p.contains(','));
    !pushes && !multi && !with_has(step, "load") && !with_has(step, "outputs") && !with_has(step, "output")
}

fn step_label(step: &Node) -> String {
    match step.get("name").and_then(Node::as_str) {
        Some(n) => format!("step `{n}`"),
        None => format!("step `{}`", step.get("uses").and_then(Node::as_str).unwrap_or("?")),
    }
}

/// The byte range of a step's `uses:` line (key to end of line).
fn uses_range(lines: &Lines<'_>, step: &Node) -> std::ops::Range<usize> {
    match step.entry("uses").or_else(|| step.entries().first()) {
        Some(e) => {
            let start = lines.offset(e.pos.line, e.pos.col);
            start..lines.start(e.pos.line) + lines.get(e.pos.line).len()
        }
        None => 0..0,
    }
}

struct BuildStep<'a> {
    job: usize,
    index: usize,
    node: &'a Node,
}

const WHY: &str = "A CI runner starts with an empty BuildKit cache, so without a cache backend every run rebuilds every step, however small the change. `type=gha` keeps the layers in the GitHub Actions cache between runs; `mode=max` also keeps the layers of intermediate stages (builder stages are where the time goes).";

/// Findings for one workflow file.
pub fn check_workflow(w: &Workflow, facts: &Facts) -> Vec<Finding> {
    let lines = Lines::new(&w.text);
    let jobs = jobs(&w.root);
    let mut out = Vec::new();

    let mut builds: Vec<BuildStep<'_>> = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        for (i, s) in job.steps.iter().enumerate() {
            if matches!(action(s), Action::BuildPush { .. }) {
                builds.push(BuildStep { job: j, index: i, node: s });
            }
        }
    }
    let several = facts.build_steps.max(builds.len()) > 1;

    // Names for the steps that get a cache: distinct per distinct image.
    let mut names: BTreeMap<(usize, usize), String> = BTreeMap::new();
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    if several {
        for b in builds.iter().filter(|b| !caches(b.node)) {
            let job = &jobs[b.job];
            let named = static_name(b.node, job);
            if named.is_none() && has_matrix_refs(b.node, job) {
                // `${{ matrix.service }}` alone names the image.
                continue;
            }
            let label = |k: &str| {
                b.node
                    .get(k)
                    .and_then(Node::as_str)
                    .filter(|v| !v.contains("${{"))
                    .map(sanitize)
                    .filter(|s| !s.is_empty())
            };
            let base = named.or_else(|| label("id")).or_else(|| label("name")).unwrap_or_else(|| sanitize(job.id));
            let sig = signature(b.node);
            let mut name = base.clone();
            let mut n = 1;
            while taken.get(&name).is_some_and(|s| *s != sig) {
                n += 1;
                name = if n == 2 && !base.contains(&sanitize(job.id)) {
                    format!("{base}-{}", sanitize(job.id))
                } else {
                    format!("{base}-{n}")
                };
            }
            taken.insert(name.clone(), sig);
            names.insert((b.job, b.index), name);
        }
    }

    for (j, job) in jobs.iter().enumerate() {
        let mut builder = false;
        let mut docker_driver = false;
        let mut added_builder = false;
        for (i, step) in job.steps.iter().enumerate() {
            if makes_builder(step) {
                builder = true;
                docker_driver = action(step) == Action::SetupBuildx
                    && with_str(step, "driver").is_some_and(|d| d.trim() == "docker");
            }
            if let Some(run) = step.get("run") {
                out.extend(run_findings(&lines, step, run));
            }
            let Action::BuildPush { v1 } = action(step) else { continue };
            // `builder:` names a builder some earlier step made.
            let has_builder = builder || with_has(step, "builder");
            let range = uses_range(&lines, step);
            let label = step_label(step);
            if caches(step) {
                continue;
            }
            if v1 {
                out.push(
                    Finding::new(NAME, range, format!("{label} builds without a cache, but `docker/build-push-action@v1` has no cache inputs"))
                        .why(format!("{WHY} Version 1 of the action runs `docker build` without buildx and has no `cache-from`/`cache-to`."))
                        .fix(Fix::display_only("Upgrade to `docker/build-push-action@v6` (its inputs changed: `context`, `file`, `tags`), then add `cache-from: type=gha` and `cache-to: type=gha,mode=max`")),
                );
                continue;
            }
            if docker_driver {
                out.push(
                    Finding::new(NAME, range, format!("{label} builds without a cache, and the job's buildx builder uses the `docker` driver"))
                        .why(format!("{WHY} The `docker` driver cannot export a cache; `docker/setup-buildx-action` creates a `docker-container` builder unless told otherwise."))
                        .fix(Fix::display_only("Drop `driver: docker` from the setup-buildx step, then add `cache-from: type=gha` and `cache-to: type=gha,mode=max`")),
                );
                continue;
            }

            // The scope: the image's name when several images share the cache,
            // and the matrix variables the step's build depends on.
            let refs = step_matrix_refs(step, job);
            let mut parts: Vec<String> = names.get(&(j, i)).cloned().into_iter().collect();
            parts.extend(refs.iter().map(|r| format!("${{{{ {r} }}}}")));
            let scope = parts.join("-");
            let scope_attr = if scope.is_empty() { String::new() } else { format!(",scope={scope}") };
            let from = format!("cache-from: type=gha{scope_attr}");
            let to = format!("cache-to: type=gha,mode=max{scope_attr}");

            let lay = layout(&lines, step);
            let add_builder = !has_builder && !added_builder;
            let load = !has_builder && needs_load(step);
            let mut kv = Vec::new();
            if load {
                kv.push("load: true".to_string());
            }
            kv.push(from.clone());
            kv.push(to.clone());
            let edit = lay.as_ref().and_then(|lay| with_insert(&lines, &w.root, step, lay, &kv));
            let (Some(lay), Some(edit)) = (lay, edit) else {
                out.push(
                    Finding::new(NAME, range, format!("{label} builds without a cache"))
                        .why(format!("{WHY} The step is written in a form dockfix does not edit line by line (flow style, an alias or a merge key)."))
                        .fix(Fix::display_only(format!("Add `{from}` and `{to}` to the step's `with:` by hand"))),
                );
                continue;
            };
            let mut edits = Vec::new();
            let mut notes = Vec::new();
            if add_builder {
                edits.push(setup_insert(&lines, step, &lay));
                notes.push(format!("add a `{SETUP_BUILDX}` step before it (the job has no buildx builder, and the default `docker` driver cannot export a cache)"));
                added_builder = true;
                // Later build steps of the job now run on the new builder too.
                for later in &job.steps[i + 1..] {
                    if makes_builder(later) {
                        break;
                    }
                    let other_build = match action(later) {
                        Action::BuildPush { v1: false } => caches(later),
                        Action::Bake => true,
                        _ => false,
                    };
                    if other_build && needs_load(later) {
                        if let Some(e) = layout(&lines, later)
                            .and_then(|l| with_insert(&lines, &w.root, later, &l, &["load: true".into()]))
                        {
                            edits.push(e);
                            notes.push(format!(
                                "add `load: true` to the later {}, which now runs on that builder too",
                                step_label(later)
                            ));
                        }
                    }
                }
            }
            if load {
                notes.push(
                    "add `load: true` so the image stays in the runner's Docker, as with the default builder"
                        .to_string(),
                );
            }
            edits.push(edit);
            let mut why = WHY.to_string();
            if !scope.is_empty() {
                why.push_str(&format!(
                    " Each image gets its own `scope` ({}) so that the images built in this repository do not evict each other's cache.",
                    if refs.is_empty() { "named after the image" } else { "per matrix value" }
                ));
            }
            if add_builder {
                why.push_str(" The `gha` backend needs a buildx builder: `docker/setup-buildx-action` creates one that can export a cache.");
            }
            why.push_str(" Unsafe because it changes how CI builds: the cache counts against the repository's 10 GB Actions cache.");
            let mut title = format!("Add `{from}` and `{to}`");
            if !notes.is_empty() {
                title.push_str("; ");
                title.push_str(&notes.join("; "));
            }
            let msg = if add_builder {
                format!("{label} builds without a cache, and its job has no buildx builder: every CI run starts cold")
            } else {
                format!("{label} builds without a cache: every CI run starts cold")
            };
            out.push(
                Finding::new(NAME, range, msg)
                    .why(why)
                    .gain("A CI run re-runs only the steps whose inputs changed, like a warm local build; the dependency layers come from the cache.")
                    .fix(Fix::unsafe_(title, edits)),
            );
        }
    }
    out
}

/// Options of `docker build` that take a value.
const VALUE_FLAGS: &[&str] = &[
    "-t",
    "--tag",
    "-f",
    "--file",
    "--target",
    "--build-arg",
    "--platform",
    "--label",
    "--secret",
    "--ssh",
    "--network",
    "--cache-from",
    "--cache-to",
    "-o",
    "--output",
    "--iidfile",
    "--progress",
    "--add-host",
    "--build-context",
    "-m",
    "--memory",
    "--shm-size",
    "--ulimit",
    "--metadata-file",
    "--builder",
    "--allow",
    "--annotation",
    "--attest",
    "--sbom",
    "--provenance",
    "--call",
    "--isolation",
    "--cgroup-parent",
    "--cpu-shares",
    "--cpuset-cpus",
    "--memory-swap",
    "--security-opt",
];

/// `run:` steps with `docker build`: the action-based equivalent, as a report.
fn run_findings(lines: &Lines<'_>, step: &Node, run: &Node) -> Vec<Finding> {
    let Node::Scalar { value, pos, .. } = run else { return Vec::new() };
    let script = dockfix_syntax::shell::parse_script(value);
    let mut out = Vec::new();
    for cmd in &script.commands {
        let words: Vec<&str> = cmd.words.iter().map(|w| w.value.as_str()).collect();
        let skip = match words.as_slice() {
            ["docker", "build", ..] => 2,
            ["docker", "buildx" | "image", "build", ..] => 3,
            _ => continue,
        };
        let args = &words[skip..];
        if args.iter().any(|a| a.starts_with("--cache-from") || a.starts_with("--cache-to") || *a == "--no-cache") {
            continue;
        }
        let mut tags = Vec::new();
        let mut file = None;
        let mut target = None;
        let mut build_args = Vec::new();
        let mut platforms = Vec::new();
        let mut push = false;
        let mut context = None;
        let mut k = 0;
        while k < args.len() {
            let a = args[k];
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (a, None),
            };
            if VALUE_FLAGS.contains(&flag) {
                let v = match inline {
                    Some(v) => v,
                    None => {
                        k += 1;
                        args.get(k).map(|s| s.to_string()).unwrap_or_default()
                    }
                };
                match flag {
                    "-t" | "--tag" => tags.push(v),
                    "-f" | "--file" => file = Some(v),
                    "--target" => target = Some(v),
                    "--build-arg" => build_args.push(v),
                    "--platform" => platforms.push(v),
                    _ => {}
                }
            } else if flag == "--push" {
                push = true;
            } else if !flag.starts_with('-') {
                context = Some(a.to_string());
            }
            k += 1;
        }
        let ind = "      ";
        let mut y = format!(
            "\n  - uses: {SETUP_BUILDX}\n  - uses: docker/build-push-action@v6\n    with:\n{ind}context: {}\n",
            context.as_deref().unwrap_or(".")
        );
        if let Some(f) = &file {
            y.push_str(&format!("{ind}file: {f}\n"));
        }
        if let Some(t) = &target {
            y.push_str(&format!("{ind}target: {t}\n"));
        }
        if !platforms.is_empty() {
            y.push_str(&format!("{ind}platforms: {}\n", platforms.join(",")));
        }
        if !build_args.is_empty() {
            y.push_str(&format!("{ind}build-args: |\n"));
            for b in &build_args {
                y.push_str(&format!("{ind}  {b}\n"));
            }
        }
        match tags.len() {
            0 => {}
            1 => y.push_str(&format!("{ind}tags: {}\n", tags[0])),
            _ => {
                y.push_str(&format!("{ind}tags: |\n"));
                for t in &tags {
                    y.push_str(&format!("{ind}  {t}\n"));
                }
            }
        }
        y.push_str(&format!("{ind}{}: true\n", if push { "push" } else { "load" }));
        y.push_str(&format!("{ind}cache-from: type=gha\n{ind}cache-to: type=gha,mode=max"));
        // Where the command is written: literal scripts keep lines and columns.
        let before = &value[..cmd.span.start.min(value.len())];
        let k_line = before.matches('\n').count();
        let k_col = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
        let line = pos.line + k_line;
        let start = lines.offset(line, pos.col + k_col);
        let range = if w_at(lines.text, start, "docker") {
            let l = lines.get(line);
            start..lines.start(line) + l.len()
        } else {
            uses_range(lines, step)
        };
        let shown = words.iter().take(skip).copied().collect::<Vec<_>>().join(" ");
        out.push(
            Finding::new(NAME, range, format!("`{shown}` in a `run:` step builds without a cache in CI"))
                .why(format!("{WHY} A `run:` step cannot use the `gha` backend directly (the runtime token is only given to actions); the action-based equivalent:\n{y}"))
                .fix(Fix::display_only("Replace the `run:` step with `docker/setup-buildx-action` and `docker/build-push-action` (shown above)")),
        );
    }
    out
}

fn w_at(text: &str, at: usize, word: &str) -> bool {
    text.get(at..).is_some_and(|t| t.starts_with(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_core::Applicability;

    fn run(text: &str) -> (Vec<Finding>, String) {
        let w = parse(Path::new(".github/workflows/ci.yml"), text).unwrap();
        let found = check_workflow(&w, &facts(std::slice::from_ref(&w)));
        let edits: Vec<&Edit> = found
            .iter()
            .filter(|f| f.applicability() == Applicability::Unsafe)
            .flat_map(|f| f.fix.iter().flat_map(|x| x.edits.iter()))
            .collect();
        let out = dockfix_core::apply_edits(text.as_bytes(), &edits).unwrap();
        (found, String::from_utf8(out).unwrap())
    }

    #[test]
    fn paths_names_and_refs() {
        assert!(is_workflow_path(Path::new("repo/.github/workflows/ci.yml")));
        assert!(is_workflow_path(Path::new(".github/workflows/release.YAML")));
        assert!(!is_workflow_path(Path::new(".github/dependabot.yml")));
        assert!(!is_workflow_path(Path::new("workflows/ci.yml")));
        assert_eq!(image_name("ghcr.io/acme/api:${{ github.sha }}").as_deref(), Some("api"));
        assert_eq!(image_name("localhost:5000/web@sha256:abc").as_deref(), Some("web"));
        assert_eq!(image_name("ghcr.io/${{ github.repository }}"), None);
        let mut refs = Vec::new();
        matrix_refs("services/${{ matrix.svc.dir }}/x-${{ matrix.arch }}-${{ notmatrix.y }}", &mut refs);
        assert_eq!(refs, ["matrix.svc.dir", "matrix.arch"]);
    }

    #[test]
    fn wide_list_style_and_a_step_without_with() {
        let text = "on: push\njobs:\n    b:\n        runs-on: x\n        steps:\n        -   uses: actions/checkout@v4\n        -   uses: docker/build-push-action@v6";
        let (found, out) = run(text);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("no buildx builder"), "{}", found[0].message);
        assert_eq!(
            out,
            "on: push\njobs:\n    b:\n        runs-on: x\n        steps:\n        -   uses: actions/checkout@v4\n        -   uses: docker/setup-buildx-action@v3\n        -   uses: docker/build-push-action@v6\n            with:\n                load: true\n                cache-from: type=gha\n                cache-to: type=gha,mode=max\n"
        );
        assert!(run(&out).0.is_empty(), "idempotent");
    }

    #[test]
    fn named_builder_reusable_workflows_and_dash_alone() {
        let text = "jobs:\n  a:\n    steps:\n      - run: docker buildx create --name b --use\n      - uses: docker/build-push-action@v6\n        with:\n          push: true\n  b:\n    uses: ./.github/workflows/build.yml\n  c:\n    steps:\n      -\n        uses: docker/build-push-action@v6\n  d:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          builder: ${{ steps.x.outputs.name }}\n";
        let (found, out) = run(text);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert_eq!(found[0].applicability(), Applicability::Unsafe);
        assert!(!found[0].fix.as_ref().unwrap().title.contains("setup-buildx"), "a builder exists");
        assert_eq!(found[1].applicability(), Applicability::Unsafe, "a dash on its own line");
        assert!(out.contains("  c:\n    steps:\n      -\n        uses: docker/setup-buildx-action@v3\n      -\n        uses: docker/build-push-action@v6\n        with:\n          load: true\n"), "{out}");
        assert!(!found[2].fix.as_ref().unwrap().title.contains("setup-buildx"), "`builder:` names one");
        assert!(out.contains("          push: true\n          cache-from: type=gha,scope=a\n"), "{out}");
    }

    #[test]
    fn later_cached_build_keeps_its_image() {
        let text = "jobs:\n  t:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          tags: a\n      - uses: docker/build-push-action@v6\n        with:\n          tags: b\n          cache-from: type=registry,ref=x/b:cache\n      - run: docker run b\n";
        let (found, out) = run(text);
        assert_eq!(found.len(), 1);
        assert!(out.contains("          cache-from: type=registry,ref=x/b:cache\n          load: true\n"), "{out}");
        assert!(out.starts_with("jobs:\n  t:\n    steps:\n      - uses: docker/setup-buildx-action@v3\n"), "{out}");
    }

    #[test]
    fn run_docker_build_is_reported_with_its_options() {
        let text = "jobs:\n  t:\n    steps:\n      - run: docker buildx build --push --platform linux/amd64,linux/arm64 -t a/b:1 -t a/b:latest --target prod docker/\n";
        let (found, out) = run(text);
        assert_eq!(out, text);
        assert_eq!(found.len(), 1);
        let why = &found[0].why;
        for want in
            ["context: docker/", "platforms: linux/amd64,linux/arm64", "target: prod", "      a/b:latest", "push: true"]
        {
            assert!(why.contains(want), "{want} in {why}");
        }
        assert_eq!(&text[found[0].range.clone()], "docker buildx build --push --platform linux/amd64,linux/arm64 -t a/b:1 -t a/b:latest --target prod docker/");
    }
}
