//! Every pass dockfix has, in the order they run.

use dockfix_core::Pass;

/// All passes.
pub fn all() -> Vec<&'static dyn Pass> {
    vec![
        &dockfix_pass_reorder::Reorder,
        &dockfix_pass_lockfile::Lockfile,
        &dockfix_pass_cargo_chef::CargoChef,
        &dockfix_pass_multi_stage::MultiStage,
        &dockfix_pass_cache_mounts::CacheMounts,
        &dockfix_pass_duplicate_install::DuplicateInstall,
        &dockfix_pass_dockerignore::Dockerignore,
        &dockfix_pass_compose_profiles::ComposeProfiles,
        &dockfix_pass_ci_cache::CiCache,
    ]
}

/// A pass by name.
pub fn find(name: &str) -> Option<&'static dyn Pass> {
    all().into_iter().find(|p| p.name() == name)
}

/// The passes a `--select`/`--ignore` pair leaves. Unknown names are errors.
pub fn select(select: &[String], ignore: &[String]) -> Result<Vec<&'static dyn Pass>, String> {
    for n in select.iter().chain(ignore) {
        if n != "ALL" && find(n).is_none() {
            let known: Vec<&str> = all().iter().map(|p| p.name()).collect();
            return Err(format!("unknown pass `{n}` (known: {})", known.join(", ")));
        }
    }
    Ok(all()
        .into_iter()
        .filter(|p| {
            if select.is_empty() {
                p.default_enabled()
            } else {
                select.iter().any(|s| s == "ALL" || s == p.name())
            }
        })
        .filter(|p| !ignore.iter().any(|s| s == p.name()))
        .collect())
}
