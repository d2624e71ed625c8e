//! Is `uv.lock` up to date with `pyproject.toml`? uv records, for the
//! project itself, the requirements it locked (`[package.metadata]
//! requires-dist`, `requires-dev`) and the `requires-python` it resolved
//! for. When they equal what `pyproject.toml` declares, `uv sync` would not
//! re-lock, so `uv sync --frozen` installs the same packages.

use std::collections::BTreeMap;

use crate::pep440::{normalize_name, Requirement};

/// One requirement in a comparable form: (name, extras, specifier clauses,
/// marker), every part normalized.
type Key = (String, Vec<String>, Vec<String>, String);

fn marker_norm(m: &str) -> String {
    m.replace('"', "'").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn spec_norm(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split(',')
        .map(|c| c.chars().filter(|ch| !ch.is_whitespace()).collect::<String>())
        .filter(|c| !c.is_empty())
        .collect();
    v.sort();
    v
}

fn from_pep508(s: &str, extra: Option<&str>) -> Result<Key, String> {
    let r = Requirement::parse(s).ok_or_else(|| format!("cannot read the requirement `{s}`"))?;
    if r.url.is_some() {
        return Err(format!("`{s}` is a direct reference"));
    }
    let mut extras = r.extras.clone();
    extras.sort();
    let marker = match (r.marker.as_deref(), extra) {
        (None, None) => String::new(),
        (Some(m), None) => marker_norm(m),
        (None, Some(e)) => format!("extra == '{e}'"),
        (Some(_), Some(_)) => return Err(format!("`{s}` combines a marker with an extra")),
    };
    Ok((r.name, extras, spec_norm(&r.specifier), marker))
}

fn from_lock(t: &toml::Value) -> Result<Key, String> {
    let t = t.as_table().ok_or("an entry of uv.lock is not a table")?;
    for k in t.keys() {
        if !matches!(k.as_str(), "name" | "specifier" | "marker" | "extras") {
            return Err(format!("uv.lock records a `{k}` source for a requirement"));
        }
    }
    let name = normalize_name(t.get("name").and_then(|v| v.as_str()).ok_or("an entry of uv.lock has no name")?);
    let mut extras: Vec<String> = t
        .get("extras")
        .and_then(|e| e.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str()).map(normalize_name).collect())
        .unwrap_or_default();
    extras.sort();
    let spec = spec_norm(t.get("specifier").and_then(|v| v.as_str()).unwrap_or(""));
    let marker = marker_norm(t.get("marker").and_then(|v| v.as_str()).unwrap_or(""));
    Ok((name, extras, spec, marker))
}

fn strings(v: Option<&toml::Value>) -> Result<Vec<String>, String> {
    match v {
        None => Ok(Vec::new()),
        Some(toml::Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or_else(|| "a dependency group includes another".to_string()))
            .collect(),
        Some(_) => Err("a dependency list is not an array".into()),
    }
}

/// `Ok(summary)` when uv.lock locks exactly what pyproject.toml declares,
/// `Err(why not)` when it does not or dockfix cannot tell.
pub fn fresh(pyproject: &str, lock: &str) -> Result<String, String> {
    let py: toml::Table = pyproject.parse().map_err(|_| "pyproject.toml cannot be read as TOML".to_string())?;
    let lk: toml::Table = lock.parse().map_err(|_| "uv.lock cannot be read as TOML".to_string())?;
    let tool_uv = py.get("tool").and_then(|t| t.get("uv")).and_then(|t| t.as_table());
    if tool_uv.is_some_and(|u| u.contains_key("workspace")) {
        return Err("the project is a uv workspace, whose lock also covers its members".into());
    }
    for key in ["sources", "constraint-dependencies", "override-dependencies", "index"] {
        if tool_uv.is_some_and(|u| u.contains_key(key)) {
            return Err(format!("pyproject.toml sets `tool.uv.{key}`, which dockfix does not compare"));
        }
    }
    let project = py.get("project").and_then(|p| p.as_table());
    if project
        .and_then(|p| p.get("dynamic"))
        .and_then(|d| d.as_array())
        .is_some_and(|d| d.iter().any(|x| matches!(x.as_str(), Some("dependencies" | "optional-dependencies"))))
    {
        return Err("pyproject.toml declares its dependencies as dynamic".into());
    }
    let name = project.and_then(|p| p.get("name")).and_then(|n| n.as_str()).map(normalize_name);

    // What pyproject.toml declares.
    let mut want: Vec<Key> = Vec::new();
    for s in strings(project.and_then(|p| p.get("dependencies")))? {
        want.push(from_pep508(&s, None)?);
    }
    if let Some(opt) = project.and_then(|p| p.get("optional-dependencies")).and_then(|o| o.as_table()) {
        for (extra, list) in opt {
            let e = normalize_name(extra);
            for s in strings(Some(list))? {
                want.push(from_pep508(&s, Some(&e))?);
            }
        }
    }
    let mut want_dev: BTreeMap<String, Vec<Key>> = BTreeMap::new();
    if let Some(groups) = py.get("dependency-groups").and_then(|g| g.as_table()) {
        for (g, list) in groups {
            let keys = strings(Some(list))?.iter().map(|s| from_pep508(s, None)).collect::<Result<Vec<_>, _>>()?;
            want_dev.entry(normalize_name(g)).or_default().extend(keys);
        }
    }
    if let Some(dev) = tool_uv.and_then(|u| u.get("dev-dependencies")) {
        let keys = strings(Some(dev))?.iter().map(|s| from_pep508(s, None)).collect::<Result<Vec<_>, _>>()?;
        want_dev.entry("dev".into()).or_default().extend(keys);
    }

    // What uv.lock locked for the project.
    let packages = lk.get("package").and_then(|p| p.as_array()).ok_or("uv.lock has no packages")?;
    let root = packages
        .iter()
        .filter_map(|p| p.as_table())
        .find(|p| {
            let src = p.get("source").and_then(|s| s.as_table());
            let local = src.is_some_and(|s| {
                ["editable", "virtual", "directory"].iter().any(|k| s.get(*k).and_then(|v| v.as_str()) == Some("."))
            });
            local
                || (name.is_some()
                    && p.get("name").and_then(|n| n.as_str()).map(normalize_name) == name
                    && src.is_some_and(|s| s.contains_key("editable") || s.contains_key("virtual")))
        })
        .ok_or("uv.lock has no entry for the project itself")?;
    let meta = root.get("metadata").and_then(|m| m.as_table());
    let mut have: Vec<Key> = Vec::new();
    if let Some(list) = meta.and_then(|m| m.get("requires-dist")).and_then(|r| r.as_array()) {
        for t in list {
            have.push(from_lock(t)?);
        }
    }
    let mut have_dev: BTreeMap<String, Vec<Key>> = BTreeMap::new();
    if let Some(groups) = meta.and_then(|m| m.get("requires-dev")).and_then(|r| r.as_table()) {
        for (g, list) in groups {
            let keys = list
                .as_array()
                .map(|a| a.iter().map(from_lock).collect::<Result<Vec<_>, _>>())
                .transpose()?
                .unwrap_or_default();
            if !keys.is_empty() {
                have_dev.insert(normalize_name(g), keys);
            }
        }
    }
    want_dev.retain(|_, v| !v.is_empty());
    want.sort();
    have.sort();
    for v in want_dev.values_mut().chain(have_dev.values_mut()) {
        v.sort();
    }
    if want != have {
        let missing: Vec<&str> = want.iter().filter(|k| !have.contains(k)).map(|k| k.0.as_str()).collect();
        let extra: Vec<&str> = have.iter().filter(|k| !want.contains(k)).map(|k| k.0.as_str()).collect();
        return Err(describe_diff(&missing, &extra));
    }
    if want_dev != have_dev {
        return Err("uv.lock was locked for other dependency groups than pyproject.toml declares".into());
    }
    let rp_want = project.and_then(|p| p.get("requires-python")).and_then(|v| v.as_str()).map(spec_norm);
    let rp_have = lk.get("requires-python").and_then(|v| v.as_str()).map(spec_norm);
    if rp_want.is_some() && rp_want != rp_have {
        return Err("uv.lock was resolved for another `requires-python` than pyproject.toml declares".into());
    }
    let n = want.len() + want_dev.values().map(Vec::len).sum::<usize>();
    Ok(format!(
        "uv.lock records the same {n} requirement{}{} as pyproject.toml",
        if n == 1 { "" } else { "s" },
        if rp_want.is_some() { " and `requires-python`" } else { "" }
    ))
}

fn describe_diff(missing: &[&str], extra: &[&str]) -> String {
    let list = |v: &[&str]| v.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    match (missing.is_empty(), extra.is_empty()) {
        (false, _) => format!("pyproject.toml declares {} otherwise than uv.lock was locked for", list(missing)),
        (true, false) => format!("uv.lock was locked for {}, which pyproject.toml no longer declares so", list(extra)),
        (true, true) => "uv.lock was locked for other requirements than pyproject.toml declares".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY: &str = r#"
[project]
name = "svc"
version = "0.1.0"
requires-python = ">=3.12"
dependencies = ["Flask>=3.0", "gunicorn>=22,<23 ; sys_platform == \"linux\""]

[project.optional-dependencies]
redis = ["redis>=5"]

[dependency-groups]
dev = ["pytest>=8"]
"#;

    const LOCK: &str = r#"
version = 1
requires-python = ">=3.12"

[[package]]
name = "flask"
version = "3.0.3"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "svc"
version = "0.1.0"
source = { editable = "." }

[package.metadata]
requires-dist = [
    { name = "flask", specifier = ">=3.0" },
    { name = "gunicorn", marker = "sys_platform == 'linux'", specifier = ">=22,<23" },
    { name = "redis", marker = "extra == 'redis'", specifier = ">=5" },
]
provides-extras = ["redis"]

[package.metadata.requires-dev]
dev = [{ name = "pytest", specifier = ">=8" }]
"#;

    #[test]
    fn same_requirements_are_fresh() {
        let ok = fresh(PY, LOCK).unwrap();
        assert!(ok.contains("same 4 requirements"), "{ok}");
    }

    #[test]
    fn a_new_dependency_is_stale() {
        let py = PY.replace("\"Flask>=3.0\"", "\"Flask>=3.0\", \"httpx\"");
        let err = fresh(&py, LOCK).unwrap_err();
        assert!(err.contains("httpx"), "{err}");
        let py = PY.replace(">=3.12", ">=3.11");
        assert!(fresh(&py, LOCK).is_err());
        let py = PY.replace("pytest>=8", "pytest>=8.2");
        assert!(fresh(&py, LOCK).is_err());
        assert!(fresh("[tool.uv.workspace]\nmembers = []\n", LOCK).is_err());
    }
}
