//! Batch runs over many services: what to process (each Dockerfile once,
//! with every build context compose builds it from), in parallel, in a
//! deterministic order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dockfix_compose::{ComposeFile, Service as ComposeService};
use dockfix_core::Service;
use rayon::prelude::*;

use crate::plan::{plan_service, FileError, FilePlan, Settings};

/// One build of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextUse {
    pub context: PathBuf,
    /// Compose services built this way.
    pub services: Vec<String>,
    pub target: Option<String>,
    pub args: BTreeMap<String, String>,
}

/// One Dockerfile to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub dockerfile: PathBuf,
    pub uses: Vec<ContextUse>,
}

impl Unit {
    /// Compose service names built from this Dockerfile.
    pub fn services(&self) -> Vec<String> {
        self.uses.iter().flat_map(|u| u.services.iter().cloned()).collect()
    }
}

fn key(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Units from the Dockerfiles found on disk and the compose services.
pub fn units(dockerfiles: &[PathBuf], compose: &[ComposeFile]) -> Vec<Unit> {
    let mut by_key: BTreeMap<PathBuf, Unit> = BTreeMap::new();
    let mut order: Vec<PathBuf> = Vec::new();
    let all: Vec<&ComposeService> = compose.iter().flat_map(|c| c.services.iter()).collect();
    for s in &all {
        let Some(b) = &s.build else { continue };
        if b.inline {
            continue;
        }
        let k = key(&b.dockerfile);
        let unit = by_key.entry(k.clone()).or_insert_with(|| {
            order.push(k.clone());
            Unit { dockerfile: b.dockerfile.clone(), uses: Vec::new() }
        });
        let ctx = key(&b.context);
        match unit.uses.iter_mut().find(|u| key(&u.context) == ctx && u.target == b.target && u.args == b.args) {
            Some(u) => {
                if !u.services.contains(&s.name) {
                    u.services.push(s.name.clone());
                }
            }
            None => unit.uses.push(ContextUse {
                context: b.context.clone(),
                services: vec![s.name.clone()],
                target: b.target.clone(),
                args: b.args.clone(),
            }),
        }
    }
    for d in dockerfiles {
        let k = key(d);
        if by_key.contains_key(&k) {
            // Found on disk and used by compose: keep the path as discovered.
            if let Some(u) = by_key.get_mut(&k) {
                u.dockerfile = d.clone();
            }
            continue;
        }
        let context =
            d.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or(PathBuf::from("."));
        order.push(k.clone());
        by_key.insert(
            k,
            Unit {
                dockerfile: d.clone(),
                uses: vec![ContextUse { context, services: Vec::new(), target: None, args: BTreeMap::new() }],
            },
        );
    }
    let mut out: Vec<Unit> = order.into_iter().filter_map(|k| by_key.remove(&k)).collect();
    out.sort_by(|a, b| a.dockerfile.cmp(&b.dockerfile));
    out
}

/// Plans one unit: every build context it is built from must agree on the
/// rewrite, or the file is left as it is.
pub fn plan_unit(unit: &Unit, settings: &Settings) -> Result<FilePlan, FileError> {
    let mut plans = Vec::new();
    for u in &unit.uses {
        let service = Service {
            dockerfile: unit.dockerfile.clone(),
            context: u.context.clone(),
            name: u.services.first().cloned(),
            target: u.target.clone(),
            build_args: u.args.clone(),
        };
        plans.push(plan_service(service, &unit.dockerfile, settings)?);
    }
    let mut first = plans.remove(0);
    if let Some(other) = plans.iter().find(|p| p.outcome.fixed != first.outcome.fixed) {
        let msg = format!(
            "rewrites differ between the build contexts {} and {}; left unchanged (run dockfix on each separately to see why)",
            first.service.context.display(),
            other.service.context.display()
        );
        first.outcome.fixed = first.outcome.source.clone();
        first.outcome.files.clear();
        for r in &mut first.outcome.findings {
            r.applied = false;
        }
        first.outcome.dropped.push(msg);
    }
    Ok(first)
}

/// Plans every unit in parallel; results come back in unit order.
pub fn plan_all<F>(units: &[Unit], settings_for: F) -> Vec<Result<FilePlan, FileError>>
where
    F: Fn(&Unit) -> Result<Settings, FileError> + Sync,
{
    units.par_iter().map(|u| settings_for(u).and_then(|s| plan_unit(u, &s))).collect()
}

/// Runs the compose passes on one compose file.
pub fn plan_compose(file: &ComposeFile, all: &[ComposeService], settings: &Settings) -> Option<FilePlan> {
    let pass = settings.passes.iter().find(|p| p.name() == dockfix_pass_compose_profiles::NAME)?;
    let profile = settings.options.get_str(pass.name(), "profile").unwrap_or("dev");
    let findings = dockfix_pass_compose_profiles::check_compose(file, all, profile);
    Some(plan_findings(&file.path, &file.text, findings, settings))
}

/// Runs `ci-cache` on one GitHub Actions workflow. `facts` covers every
/// workflow of the run (how many images they build, bake jobs without a builder).
pub fn plan_workflow(
    file: &dockfix_pass_ci_cache::Workflow,
    facts: &dockfix_pass_ci_cache::Facts,
    settings: &Settings,
) -> Option<FilePlan> {
    settings.passes.iter().find(|p| p.name() == dockfix_pass_ci_cache::NAME)?;
    let findings = dockfix_pass_ci_cache::check_workflow(file, facts);
    Some(plan_findings(&file.path, &file.text, findings, settings))
}

/// Runs `ci-cache` on one `docker-bake.hcl`.
pub fn plan_bake(
    path: &Path,
    text: &str,
    facts: &dockfix_pass_ci_cache::Facts,
    settings: &Settings,
) -> Option<FilePlan> {
    settings.passes.iter().find(|p| p.name() == dockfix_pass_ci_cache::NAME)?;
    let findings = dockfix_pass_ci_cache::check_bake(path, text, facts);
    Some(plan_findings(path, text, findings, settings))
}

/// A plan for a file that is not a Dockerfile (compose, workflow, bake):
/// the findings of its pass, their fixes applied by class. The edits are
/// insertions and replacements in that file; overlapping ones leave it as is.
pub fn plan_findings(path: &Path, text: &str, findings: Vec<dockfix_core::Finding>, settings: &Settings) -> FilePlan {
    let src = text.as_bytes();
    let line_col = |off: usize| -> (usize, usize) {
        let before = &text[..off.min(text.len())];
        (before.matches('\n').count() + 1, before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1)
    };
    let mut reported = Vec::new();
    let mut edits = Vec::new();
    for f in findings {
        let applied = f.fix.as_ref().is_some_and(|fx| match fx.applicability {
            dockfix_core::Applicability::Safe => true,
            dockfix_core::Applicability::Unsafe => settings.mode.unsafe_fixes,
            dockfix_core::Applicability::DisplayOnly => false,
        });
        let edit_lines = f
            .fix
            .iter()
            .flat_map(|fx| fx.edits.iter())
            .map(|e| {
                let (l, _) = line_col(e.range.start);
                l..l + 1
            })
            .collect();
        if applied {
            edits.extend(f.fix.iter().flat_map(|fx| fx.edits.iter().cloned()));
        }
        let (line, column) = line_col(f.range.start);
        reported.push(dockfix_core::Reported {
            range: f.range.clone(),
            line,
            column,
            end_line: line,
            edit_lines,
            applied,
            finding: f,
        });
    }
    let refs: Vec<&dockfix_core::Edit> = edits.iter().collect();
    let fixed = dockfix_core::apply_edits(src, &refs).unwrap_or_else(|| src.to_vec());
    FilePlan {
        path: path.to_path_buf(),
        service: Service::for_dockerfile(path),
        outcome: dockfix_core::Outcome {
            source: src.to_vec(),
            fixed,
            findings: reported,
            files: Vec::new(),
            dropped: Vec::new(),
            rounds: 1,
            converged: true,
            unused_suppressions: Vec::new(),
        },
    }
}

/// Build targets of `docker-bake.hcl` files, as compose-like services so
/// that their Dockerfiles are planned with the contexts, targets and
/// arguments bake builds them with. Only simple targets: string
/// `context`/`dockerfile`/`target` without variables, flat `args`, no
/// `inherits`, `matrix` or nested blocks; others are left to discovery.
pub fn bake_services(files: &[PathBuf]) -> Vec<ComposeFile> {
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        let Ok(blocks) = dockfix_pass_ci_cache::bake::scan(&text) else { continue };
        let dir = f.parent().filter(|d| !d.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or(PathBuf::from("."));
        let mut services = Vec::new();
        for b in blocks.iter().filter(|b| b.kind == "target" && !b.nested) {
            let Some(name) = b.labels.first() else { continue };
            if b.attr("inherits").is_some() || b.attr("matrix").is_some() || b.attr("dockerfile-inline").is_some() {
                continue;
            }
            let string = |k: &str| -> Result<Option<String>, ()> {
                match b.attr(k) {
                    None => Ok(None),
                    Some(a) => {
                        let v = a.value.trim();
                        let inner = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).ok_or(())?;
                        if inner.contains("${") || inner.contains('"') {
                            return Err(());
                        }
                        Ok(Some(inner.to_string()))
                    }
                }
            };
            let (Ok(context), Ok(dockerfile), Ok(target)) = (string("context"), string("dockerfile"), string("target"))
            else {
                continue;
            };
            let Some(args) = b.attr("args").map_or(Some(BTreeMap::new()), |a| flat_map(&a.value)) else { continue };
            let context = dir.join(context.unwrap_or_else(|| ".".into()));
            let dockerfile = context.join(dockerfile.unwrap_or_else(|| "Dockerfile".into()));
            let line = text[..b.start.min(text.len())].matches('\n').count() + 1;
            services.push(dockfix_compose::Service {
                name: name.clone(),
                line,
                col: 0,
                build: Some(dockfix_compose::Build { context, dockerfile, target, args, inline: false }),
                image: None,
                has_ports: false,
                depends_on: Vec::new(),
                profiles: Vec::new(),
                command: None,
                restart: None,
            });
        }
        if !services.is_empty() {
            out.push(ComposeFile { path: f.clone(), text, services });
        }
    }
    out
}

/// `{ A = "1", B = "x" }` (also on several lines) as a map; None when a
/// value is not a plain string.
fn flat_map(v: &str) -> Option<BTreeMap<String, String>> {
    let inner = v.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut m = BTreeMap::new();
    for item in inner.split([',', '\n']).map(str::trim).filter(|i| !i.is_empty()) {
        let (k, val) = item.split_once('=')?;
        let k = k.trim().trim_matches('"');
        let val = val.trim().strip_prefix('"')?.strip_suffix('"')?;
        if val.contains("${") {
            return None;
        }
        m.insert(k.to_string(), val.to_string());
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_dockerfile_is_one_unit_with_two_contexts() {
        let text = "services:\n  a:\n    build: {context: svc/a, dockerfile: ../../docker/py.Dockerfile}\n  b:\n    build: {context: svc/b, dockerfile: ../../docker/py.Dockerfile}\n  c:\n    build: {context: svc/a, dockerfile: ../../docker/py.Dockerfile}\n";
        let c = dockfix_compose::parse(Path::new("compose.yaml"), text).unwrap();
        let u = units(&[PathBuf::from("other/Dockerfile")], &[c]);
        assert_eq!(u.len(), 2);
        let shared = u.iter().find(|x| x.dockerfile == Path::new("docker/py.Dockerfile")).unwrap();
        assert_eq!(shared.uses.len(), 2);
        assert_eq!(shared.uses[0].services, ["a", "c"]);
        assert_eq!(shared.services(), ["a", "c", "b"]);
    }
}
