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
        &dockfix_pass_apt_hygiene::AptHygiene,
        &dockfix_pass_duplicate_install::DuplicateInstall,
        &dockfix_pass_python_startup::PythonStartup,
        &dockfix_pass_dockerignore::Dockerignore,
        &dockfix_pass_compose_profiles::ComposeProfiles,
        &dockfix_pass_ci_cache::CiCache,
    ]
}

/// The passes a `--select`/`--ignore` pair leaves, plus the passes that are
/// off by default and that the config turns on with `enabled = true` in
/// their table (`[python-startup] enabled = true`), unless ignored.
pub fn select_with_options(
    selected: &[String],
    ignore: &[String],
    options: &dockfix_core::PassOptions,
) -> Result<Vec<&'static dyn Pass>, String> {
    let chosen = select(selected, ignore)?;
    Ok(all()
        .into_iter()
        .filter(|p| {
            chosen.iter().any(|c| c.name() == p.name())
                || (!p.default_enabled()
                    && options.get_bool(p.name(), "enabled") == Some(true)
                    && !ignore.iter().any(|s| s == p.name()))
        })
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enabled_option_adds_an_off_by_default_pass() {
        let mut opts = dockfix_core::PassOptions::default();
        let off: Vec<&str> = all().iter().filter(|p| !p.default_enabled()).map(|p| p.name()).collect();
        let Some(name) = off.first() else { return };
        let names = |v: Vec<&'static dyn Pass>| v.iter().map(|p| p.name()).collect::<Vec<_>>();
        assert!(!names(select_with_options(&[], &[], &opts).unwrap()).contains(name));
        let mut t = toml::Table::new();
        t.insert("enabled".into(), toml::Value::Boolean(true));
        opts.tables.insert(name.to_string(), t);
        let with = names(select_with_options(&[], &[], &opts).unwrap());
        assert!(with.contains(name));
        // Registry order is kept.
        let order: Vec<&str> = all().iter().map(|p| p.name()).filter(|n| with.contains(n)).collect();
        assert_eq!(with, order);
        assert!(!names(select_with_options(&[], &[name.to_string()], &opts).unwrap()).contains(name));
    }
}
