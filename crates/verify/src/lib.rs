//! `dockfix verify`: build the original and the rewritten Dockerfile for
//! real, compare the images, and measure what a one-line source edit costs
//! before and after. Everything happens in temporary copies of the build
//! context; the user's files are never touched.

pub mod compare;
pub mod docker;
pub mod progress;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dockfix_core::walk::{stage_states, Workdir};
use dockfix_core::Service;
use dockfix_syntax::{Document, Kind};
use serde::Serialize;

pub use compare::{Comparison, Expected, Facts};
pub use docker::Docker;

/// How to verify.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep the images (tags are printed).
    pub keep: bool,
    /// Extra paths to ignore when comparing files (globs).
    pub ignore: Vec<String>,
    /// Skip the one-line edit rebuild.
    pub no_edit: bool,
}

/// What the engine was asked to verify for one service.
#[derive(Debug, Clone)]
pub struct Input {
    pub service: Service,
    pub original: Vec<u8>,
    pub rewritten: Vec<u8>,
    /// Other files the rewrite changes, by path (`.dockerignore`).
    pub other_files: Vec<(PathBuf, Vec<u8>)>,
    /// Passes whose fixes were applied.
    pub applied_passes: Vec<String>,
}

/// One build, summarized.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BuildReport {
    pub ok: bool,
    pub seconds: f64,
    pub context_bytes: Option<u64>,
    pub image_bytes: Option<u64>,
    /// The failing step's message, when the build failed.
    pub error: Option<String>,
    pub tag: String,
}

/// The cost of a one-line source edit.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EditReport {
    /// The context file that was edited.
    pub file: String,
    pub original_rerun: Vec<String>,
    pub rewritten_rerun: Vec<String>,
    pub original_seconds: f64,
    pub rewritten_seconds: f64,
}

/// The verdict for one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Both build and the images are equivalent (differences all intended).
    Equivalent,
    /// Both build but the images differ in ways the rewrite does not intend.
    Different,
    /// One of the builds failed.
    BuildFailed,
}

/// Everything verify found for one service.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub dockerfile: String,
    pub context: String,
    pub verdict: Verdict,
    pub original: BuildReport,
    pub rewritten: BuildReport,
    pub comparison: Option<Comparison>,
    pub edit: Option<EditReport>,
}

impl Report {
    /// The exit code this report calls for: 0 equivalent, 1 different, 2 build failed.
    pub fn exit_code(&self) -> u8 {
        match self.verdict {
            Verdict::Equivalent => 0,
            Verdict::Different => 1,
            Verdict::BuildFailed => 2,
        }
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let ft = e.file_type()?;
        let target = to.join(e.file_name());
        if ft.is_dir() {
            copy_tree(&e.path(), &target)?;
        } else if ft.is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(std::fs::read_link(e.path())?, &target)?;
        } else if ft.is_file() {
            std::fs::copy(e.path(), &target)?;
        }
    }
    Ok(())
}

/// Targets of cache mounts in `new` that `old` does not have.
fn added_mount_points(old: &Document, new: &Document) -> Vec<String> {
    let targets = |doc: &Document| -> Vec<String> {
        let mut out = Vec::new();
        for st in doc.stages() {
            let states = stage_states(doc, &st);
            for (k, idx) in st.body.clone().enumerate() {
                let ins = &doc.instructions[idx];
                for m in ins.flags_named("mount").filter_map(|f| f.value()) {
                    if !m.split(',').any(|kv| kv == "type=cache") {
                        continue;
                    }
                    let Some(t) = m.split(',').find_map(|kv| {
                        kv.strip_prefix("target=")
                            .or_else(|| kv.strip_prefix("dst="))
                            .or_else(|| kv.strip_prefix("destination="))
                    }) else {
                        continue;
                    };
                    if let Workdir::Abs(p) =
                        states[k].workdir.join(&states[k].expand(t).unwrap_or_else(|| t.to_string()))
                    {
                        out.push(p);
                    }
                }
            }
        }
        out
    };
    let before = targets(old);
    targets(new).into_iter().filter(|t| !before.contains(t)).collect()
}

/// The directories whose contents must not change: the final stage's
/// WORKDIR and the destinations of its copies from the build context.
fn protected_dirs(doc: &Document, target: Option<&str>) -> Vec<String> {
    let stages = doc.stages();
    let stage = match target {
        Some(t) => stages.iter().find(|s| s.name.as_deref() == Some(&t.to_ascii_lowercase())),
        None => stages.last(),
    };
    let Some(stage) = stage else { return Vec::new() };
    let states = stage_states(doc, stage);
    let mut out = Vec::new();
    for (k, idx) in stage.body.clone().enumerate() {
        let ins = &doc.instructions[idx];
        if !matches!(ins.kind, Kind::Copy | Kind::Add) || ins.flag("from").is_some() {
            continue;
        }
        let Some(dest) = ins.args.last().and_then(|a| states[k].expand(&a.value)) else { continue };
        if let Workdir::Abs(p) = states[k].workdir.join(&dest) {
            out.push(p);
        }
    }
    if let Some(Workdir::Abs(w)) = states.last().map(|s| &s.workdir) {
        if w != "/" {
            out.push(w.clone());
        }
    }
    out.sort();
    out.dedup();
    out
}

const PREFERRED: &[&str] =
    &["py", "js", "ts", "go", "rs", "rb", "php", "java", "kt", "c", "cc", "cpp", "sh", "html", "css", "tsx", "jsx"];

fn comment_for(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?;
    Some(match ext {
        "py" | "sh" | "rb" | "pl" | "yaml" | "yml" | "toml" | "r" | "conf" | "cfg" | "ini" | "txt" => {
            "\n# dockfix verify: a one-line edit\n"
        }
        "js" | "ts" | "tsx" | "jsx" | "go" | "rs" | "java" | "kt" | "c" | "h" | "cc" | "cpp" | "cs" | "swift"
        | "php" | "scala" => "\n// dockfix verify: a one-line edit\n",
        "html" | "md" => "\n<!-- dockfix verify: a one-line edit -->\n",
        "css" => "\n/* dockfix verify: a one-line edit */\n",
        _ => return None,
    })
}

fn is_manifest(name: &str) -> bool {
    dockfix_core::knowledge::MANAGERS
        .iter()
        .any(|m| m.manifests.contains(&name) || m.lockfiles.contains(&name) || m.config_files.contains(&name))
        || dockfix_core::knowledge::is_requirements_file(name)
}

/// A source file of the context that the original image contains at a
/// copy destination: editing it is what a developer does.
fn pick_edit_file(context: &Path, image: &Facts, protected: &[String]) -> Option<PathBuf> {
    let mut best: Option<(usize, PathBuf)> = None;
    let mut stack = vec![context.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if !name.starts_with('.')
                    && !matches!(name.as_str(), "node_modules" | "target" | "venv" | "__pycache__")
                {
                    stack.push(p);
                }
                continue;
            }
            if !ft.is_file() || is_manifest(&name) || comment_for(&p).is_none() {
                continue;
            }
            let Ok(rel) = p.strip_prefix(context) else { continue };
            let rel = rel.to_string_lossy().replace('\\', "/");
            let size = e.metadata().map(|m| m.len()).unwrap_or(0);
            let in_image = protected.iter().any(|d| {
                let candidate = format!("{}/{}", d.trim_end_matches('/'), rel);
                image.files.get(&candidate).is_some_and(|f| f.size == size)
            });
            if !in_image {
                continue;
            }
            let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
            let rank = PREFERRED.iter().position(|x| *x == ext).unwrap_or(PREFERRED.len());
            let better = match &best {
                None => true,
                Some((r, bp)) => rank < *r || (rank == *r && p < *bp),
            };
            if better {
                best = Some((rank, p));
            }
        }
    }
    best.map(|(_, p)| p)
}

fn steps(log: &str) -> Vec<String> {
    progress::parse(log).rerun().iter().map(|s| s.name.clone()).collect()
}

fn error_of(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with("---"))
        .map(|l| l.trim().to_string())
}

/// Verifies one service.
pub fn verify(
    docker: &Docker,
    input: &Input,
    opts: &Options,
    progress: &mut dyn FnMut(&str, &str),
) -> Result<Report, String> {
    let tmp = tempfile::Builder::new().prefix("dockfix-verify-").tempdir().map_err(|e| e.to_string())?;
    let svc = &input.service;
    let ctx_abs = svc.context.canonicalize().map_err(|e| format!("{}: {e}", svc.context.display()))?;
    let df_abs = svc.dockerfile.canonicalize().map_err(|e| format!("{}: {e}", svc.dockerfile.display()))?;
    let id = format!("{:x}", {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        df_abs.hash(&mut h);
        std::process::id().hash(&mut h);
        h.finish()
    });
    let mut sides: Vec<(PathBuf, PathBuf, String)> = Vec::new();
    for (label, content) in [("original", &input.original), ("rewritten", &input.rewritten)] {
        let root = tmp.path().join(label);
        let ctx = root.join("context");
        copy_tree(&ctx_abs, &ctx).map_err(|e| format!("copying the build context: {e}"))?;
        let df = match df_abs.strip_prefix(&ctx_abs) {
            Ok(rel) => ctx.join(rel),
            Err(_) => {
                let name = df_abs.file_name().unwrap_or_default();
                let ignore = PathBuf::from(format!("{}.dockerignore", df_abs.display()));
                if ignore.is_file() {
                    let _ = std::fs::copy(&ignore, root.join(format!("{}.dockerignore", name.to_string_lossy())));
                }
                root.join(name)
            }
        };
        std::fs::write(&df, content).map_err(|e| e.to_string())?;
        if label == "rewritten" {
            for (p, bytes) in &input.other_files {
                let abs = p.canonicalize().unwrap_or_else(|_| std::env::current_dir().unwrap_or_default().join(p));
                let target = match abs.strip_prefix(&ctx_abs) {
                    Ok(rel) => ctx.join(rel),
                    Err(_) => match df_abs.parent().and_then(|d| abs.strip_prefix(d).ok()) {
                        Some(rel) => df.parent().unwrap_or(&root).join(rel),
                        None => continue,
                    },
                };
                if let Some(parent) = target.parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
                std::fs::write(&target, bytes).map_err(|e| e.to_string())?;
            }
        }
        sides.push((df, ctx, format!("dockfix-verify/{id}:{label}")));
    }

    let target = svc.target.as_deref();
    let mut builds: Vec<BuildReport> = Vec::new();
    let mut facts: Vec<Option<Facts>> = Vec::new();
    for (i, (df, ctx, tag)) in sides.iter().enumerate() {
        let label = if i == 0 { "original" } else { "rewritten" };
        let b = docker.build(df, ctx, tag, target, &svc.build_args, true, &mut |l| progress(label, l))?;
        let log = progress::parse(&b.log);
        let f = if b.ok { docker.facts(tag).ok() } else { None };
        builds.push(BuildReport {
            ok: b.ok,
            seconds: b.seconds,
            context_bytes: log.context_bytes,
            image_bytes: f.as_ref().map(|f| f.size),
            error: if b.ok { None } else { error_of(&b.log) },
            tag: tag.clone(),
        });
        facts.push(f);
    }
    let rewritten = builds.pop().unwrap_or_default();
    let original = builds.pop().unwrap_or_default();

    let mut report = Report {
        dockerfile: svc.dockerfile.display().to_string(),
        context: svc.context.display().to_string(),
        verdict: Verdict::BuildFailed,
        original,
        rewritten,
        comparison: None,
        edit: None,
    };
    let mut edited_tags: Vec<String> = Vec::new();
    if let (Some(Some(a)), Some(Some(b))) = (facts.first(), facts.get(1)) {
        let doc = dockfix_syntax::parse(&input.original).map_err(|e| e.to_string())?;
        let new_doc = dockfix_syntax::parse(&input.rewritten).map_err(|e| e.to_string())?;
        let protected = protected_dirs(&doc, target);
        let structural = input.applied_passes.iter().any(|p| p == "multi-stage" || p == "cargo-chef");
        let expected = Expected {
            structural,
            protected: protected.clone(),
            excluded_by_dockerignore: newly_ignored(&ctx_abs, &df_abs, &input.other_files),
            env_may_change: if structural { ["PATH".to_string()].into() } else { Default::default() },
            rewritten_names: std::iter::once(&svc.dockerfile)
                .chain(input.other_files.iter().map(|(p, _)| p))
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect(),
            mount_points: added_mount_points(&doc, &new_doc),
        };
        let mut patterns: Vec<String> = compare::DEFAULT_IGNORE.iter().map(|s| s.to_string()).collect();
        patterns.extend(opts.ignore.iter().cloned());
        let set = compare::ignore_set(&patterns)?;
        let cmp = compare::compare(a, b, &set, &expected);
        report.verdict = if cmp.equivalent() { Verdict::Equivalent } else { Verdict::Different };
        report.comparison = Some(cmp);

        if !opts.no_edit {
            if let Some(file) = pick_edit_file(&sides[0].1, a, &protected) {
                let rel = file.strip_prefix(&sides[0].1).map(Path::to_path_buf).unwrap_or_default();
                // A line no earlier build has seen, so the cache cannot answer for it.
                let nonce =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
                let line =
                    comment_for(&file).unwrap_or("\n").replace("a one-line edit", &format!("a one-line edit {nonce}"));
                let mut edit = EditReport { file: rel.display().to_string(), ..EditReport::default() };
                for (i, (df, ctx, tag)) in sides.iter().enumerate() {
                    let path = ctx.join(&rel);
                    let mut content = std::fs::read(&path).map_err(|e| e.to_string())?;
                    content.extend_from_slice(line.as_bytes());
                    std::fs::write(&path, content).map_err(|e| e.to_string())?;
                    let label = if i == 0 { "original, edited" } else { "rewritten, edited" };
                    // A tag of its own: rebuilding under the first tag would
                    // leave the first image behind untagged.
                    let edited = format!("{tag}-edited");
                    let b =
                        docker.build(df, ctx, &edited, target, &svc.build_args, false, &mut |l| progress(label, l))?;
                    edited_tags.push(edited);
                    if i == 0 {
                        edit.original_rerun = steps(&b.log);
                        edit.original_seconds = b.seconds;
                    } else {
                        edit.rewritten_rerun = steps(&b.log);
                        edit.rewritten_seconds = b.seconds;
                    }
                }
                report.edit = Some(edit);
            }
        }
    }
    if !opts.keep {
        let mut tags = vec![report.original.tag.as_str(), report.rewritten.tag.as_str()];
        tags.extend(edited_tags.iter().map(String::as_str));
        docker.remove(&tags);
    }
    Ok(report)
}

/// A human-readable report.
pub fn render_text(r: &Report) -> String {
    let mut s = String::new();
    let verdict = match r.verdict {
        Verdict::Equivalent => "equivalent",
        Verdict::Different => "NOT equivalent",
        Verdict::BuildFailed => "build failed",
    };
    s.push_str(&format!("{} (context {}): {verdict}\n", r.dockerfile, r.context));
    let mb = |b: Option<u64>| match b {
        None => "?".to_string(),
        Some(b) if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        Some(b) if b >= 1_000 => format!("{:.1} kB", b as f64 / 1e3),
        Some(b) => format!("{b} B"),
    };
    for (label, b) in [("original ", &r.original), ("rewritten", &r.rewritten)] {
        let status = if b.ok { "built".to_string() } else { format!("FAILED: {}", b.error.as_deref().unwrap_or("?")) };
        s.push_str(&format!(
            "  {label}  {status} in {:.1}s, context {}, image {}\n",
            b.seconds,
            mb(b.context_bytes),
            mb(b.image_bytes)
        ));
    }
    if let Some(c) = &r.comparison {
        for d in &c.differences {
            match &d.expected {
                Some(why) => {
                    s.push_str(&format!("  expected  {}: {} -> {} ({why})\n", d.what, d.original, d.rewritten))
                }
                None => s.push_str(&format!("  DIFFERS   {}: {} -> {}\n", d.what, d.original, d.rewritten)),
            }
        }
        if c.ignored > 0 {
            s.push_str(&format!("  ({} differences in caches and other ignored paths)\n", c.ignored));
        }
    }
    if let Some(e) = &r.edit {
        s.push_str(&format!(
            "  one-line edit of {}: original re-runs {} steps in {:.1}s, rewritten {} steps in {:.1}s\n",
            e.file,
            e.original_rerun.len(),
            e.original_seconds,
            e.rewritten_rerun.len(),
            e.rewritten_seconds
        ));
        for st in &e.original_rerun {
            s.push_str(&format!("    original  re-runs {st}\n"));
        }
        for st in &e.rewritten_rerun {
            s.push_str(&format!("    rewritten re-runs {st}\n"));
        }
    }
    s
}

/// Options that map to service build settings (for callers).
pub type BuildArgs = BTreeMap<String, String>;

/// Context files (relative paths) that the rewrite's `.dockerignore` keeps
/// out and the original one let in: the image may lack them on purpose.
/// BuildKit reads `<Dockerfile>.dockerignore` next to the Dockerfile when
/// there is one, else `.dockerignore` at the context root.
fn newly_ignored(ctx: &Path, dockerfile: &Path, other_files: &[(PathBuf, Vec<u8>)]) -> BTreeSet<String> {
    use dockfix_dockerignore::Matcher;
    let own = PathBuf::from(format!("{}.dockerignore", dockerfile.display()));
    let path = if own.is_file() { own } else { ctx.join(".dockerignore") };
    // Paths of files that may not exist yet: canonical parent + name.
    let abs = |p: &Path| -> PathBuf {
        p.canonicalize().unwrap_or_else(|_| match (p.parent(), p.file_name()) {
            (Some(d), Some(n)) => d.canonicalize().map(|d| d.join(n)).unwrap_or_else(|_| p.to_path_buf()),
            _ => p.to_path_buf(),
        })
    };
    let want = abs(&path);
    let same = |p: &Path| abs(p) == want;
    let Some((_, new_bytes)) = other_files.iter().find(|(p, _)| same(p)) else {
        return BTreeSet::new();
    };
    let old = std::fs::read(&path).ok().and_then(|b| Matcher::parse(&b).ok()).unwrap_or_default();
    let Ok(new) = Matcher::parse(new_bytes) else { return BTreeSet::new() };
    let mut out = BTreeSet::new();
    let mut stack = vec![PathBuf::new()];
    let mut seen = 0usize;
    while let Some(rel) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(ctx.join(&rel)) else { continue };
        for e in rd.flatten() {
            seen += 1;
            if seen > 200_000 {
                return out;
            }
            let r = rel.join(e.file_name());
            let rs = r.to_string_lossy().replace('\\', "/");
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if new.is_excluded(&rs) && !old.is_excluded(&rs) {
                out.insert(rs);
            }
            if is_dir {
                stack.push(r);
            }
        }
    }
    out
}
