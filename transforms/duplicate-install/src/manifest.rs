//! What a project declares, with where: pip requirement files (and the
//! files they include), `pyproject.toml` (PEP 621 `[project]`, Poetry's
//! `[tool.poetry]`) and `package.json`. Every entry knows its file and
//! line, for the finding.

use crate::pep440::{normalize_name, Requirement};

/// One declared dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// Normalized name (PEP 503 for Python; as written for npm).
    pub name: String,
    pub extras: Vec<String>,
    /// Version specifier without blanks; empty for any version.
    pub spec: String,
    /// `file:line` (context-relative) or `Dockerfile:line`.
    pub at: String,
    /// npm: only a development dependency.
    pub dev: bool,
}

/// The line (1-based) of the first line containing `needle`, at or after
/// the first line containing `after` (when given).
pub fn line_of(text: &str, after: Option<&str>, needle: &dyn Fn(&str) -> bool) -> Option<usize> {
    let mut started = after.is_none();
    for (n, l) in text.lines().enumerate() {
        if !started {
            started = after.is_some_and(|a| l.contains(a));
            if !started {
                continue;
            }
        }
        if needle(l) {
            return Some(n + 1);
        }
    }
    None
}

/// A pip requirements file: its requirements (with lines) and the files it
/// includes with `-r` (as written). Requirements with an environment marker
/// are left out: dockfix cannot tell whether pip installed them.
pub fn requirements(text: &str, path: &str) -> (Vec<Declared>, Vec<String>) {
    let mut out = Vec::new();
    let mut includes = Vec::new();
    let mut logical = String::new();
    let mut first_line = 0;
    for (n, raw) in text.lines().enumerate() {
        if logical.is_empty() {
            first_line = n + 1;
        }
        if let Some(body) = raw.strip_suffix('\\') {
            logical.push_str(body);
            logical.push(' ');
            continue;
        }
        logical.push_str(raw);
        let line = std::mem::take(&mut logical);
        let line = match line.find(" #").or_else(|| line.find("\t#")) {
            Some(p) => line[..p].to_string(),
            None => line,
        };
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if t.starts_with('-') {
            let mut parts = t.split_whitespace();
            let flag = parts.next().unwrap_or_default();
            let value = match flag.split_once('=') {
                Some((_, v)) => Some(v.to_string()),
                None if flag == "-r" || flag == "--requirement" => parts.next().map(str::to_string),
                None if flag.starts_with("-r") && flag.len() > 2 => Some(flag[2..].to_string()),
                None => None,
            };
            if flag.starts_with("-r") || flag.starts_with("--requirement") {
                includes.extend(value);
            }
            continue;
        }
        let spec = t.split(" --").next().unwrap_or(t);
        if let Some(r) = Requirement::parse(spec) {
            if r.marker.is_none() && r.url.is_none() {
                out.push(Declared {
                    name: r.name,
                    extras: r.extras,
                    spec: r.specifier,
                    at: format!("{path}:{first_line}"),
                    dev: false,
                });
            }
        }
    }
    (out, includes)
}

/// The dependencies `pip install <dir>[extras]` installs from a
/// `pyproject.toml`: `[project] dependencies` and the optional groups
/// named by the extras, or Poetry's `[tool.poetry.dependencies]` (without
/// `python` and optional ones). `None` when the file cannot be read.
pub fn pyproject(text: &str, path: &str, extras: &[String]) -> Option<Vec<Declared>> {
    let doc: toml::Table = text.parse().ok()?;
    let mut out = Vec::new();
    let push_pep508 = |s: &str, out: &mut Vec<Declared>| {
        let Some(r) = Requirement::parse(s) else { return };
        if r.marker.is_some() || r.url.is_some() {
            return;
        }
        let line = line_of(text, None, &|l: &str| l.contains(&format!("\"{s}\"")) || l.contains(&format!("'{s}'")))
            .unwrap_or(1);
        out.push(Declared {
            name: r.name,
            extras: r.extras,
            spec: r.specifier,
            at: format!("{path}:{line}"),
            dev: false,
        });
    };
    if let Some(project) = doc.get("project").and_then(|p| p.as_table()) {
        for d in project.get("dependencies").and_then(|d| d.as_array()).into_iter().flatten() {
            if let Some(s) = d.as_str() {
                push_pep508(s, &mut out);
            }
        }
        if let Some(opt) = project.get("optional-dependencies").and_then(|o| o.as_table()) {
            for (group, list) in opt {
                if !extras.iter().any(|e| *e == normalize_name(group)) {
                    continue;
                }
                for d in list.as_array().into_iter().flatten() {
                    if let Some(s) = d.as_str() {
                        push_pep508(s, &mut out);
                    }
                }
            }
        }
        return Some(out);
    }
    let poetry = doc.get("tool").and_then(|t| t.get("poetry")).and_then(|p| p.get("dependencies"))?.as_table()?;
    for (name, v) in poetry {
        if name == "python" {
            continue;
        }
        let spec = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Table(t) => {
                if t.get("optional").and_then(|o| o.as_bool()) == Some(true)
                    || t.contains_key("markers")
                    || t.contains_key("python")
                    || t.contains_key("path")
                    || t.contains_key("git")
                    || t.contains_key("url")
                {
                    continue;
                }
                t.get("version").and_then(|v| v.as_str()).unwrap_or("*").to_string()
            }
            _ => continue,
        };
        let spec: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
        let spec = if spec == "*" { String::new() } else { spec };
        let n = name.clone();
        let line = line_of(text, Some("[tool.poetry.dependencies]"), &|l: &str| {
            let t = l.trim_start().trim_start_matches('"');
            t.starts_with(n.as_str()) && t[n.len()..].trim_start_matches('"').trim_start().starts_with('=')
        })
        .unwrap_or(1);
        out.push(Declared {
            name: normalize_name(name),
            extras: Vec::new(),
            spec,
            at: format!("{path}:{line}"),
            dev: false,
        });
    }
    Some(out)
}

/// `dependencies`, `optionalDependencies` and `devDependencies` of a
/// `package.json` (`dev` set for the last).
pub fn package_json(text: &str, path: &str) -> Option<Vec<Declared>> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut out = Vec::new();
    for (key, dev) in [("dependencies", false), ("optionalDependencies", false), ("devDependencies", true)] {
        let Some(map) = v.get(key).and_then(|d| d.as_object()) else { continue };
        for (name, spec) in map {
            let quoted = format!("\"{name}\"");
            let line = line_of(text, Some(&format!("\"{key}\"")), &|l: &str| l.contains(&quoted)).unwrap_or(1);
            out.push(Declared {
                name: name.clone(),
                extras: Vec::new(),
                spec: spec.as_str().unwrap_or("").to_string(),
                at: format!("{path}:{line}"),
                dev,
            });
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requirements_with_lines() {
        let (d, inc) = requirements(
            "# c\nFlask==3.0 \\\n  --hash=sha256:x\n-r base.txt\nhttpx ; python_version<'3'\nrequests\n",
            "r.txt",
        );
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].name.as_str(), d[0].spec.as_str(), d[0].at.as_str()), ("flask", "==3.0", "r.txt:2"));
        assert_eq!(d[1].at, "r.txt:6");
        assert_eq!(inc, ["base.txt"]);
    }

    #[test]
    fn reads_pyproject() {
        let t = "[project]\nname = \"x\"\ndependencies = [\n  \"HTTPX>=0.27\",\n  \"rich\",\n]\n[project.optional-dependencies]\ndev = [\"pytest\"]\n";
        let d = pyproject(t, "pyproject.toml", &[]).unwrap();
        assert_eq!(d.iter().map(|x| x.at.as_str()).collect::<Vec<_>>(), ["pyproject.toml:4", "pyproject.toml:5"]);
        assert_eq!(d[0].name, "httpx");
        assert_eq!(pyproject(t, "p", &["dev".into()]).unwrap().len(), 3);
        let p = "[tool.poetry.dependencies]\npython = \"^3.12\"\nfastapi = \"^0.110\"\nuvicorn = { version = \"0.29.0\", extras = [\"standard\"] }\n";
        let d = pyproject(p, "pyproject.toml", &[]).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[1].name.as_str(), d[1].spec.as_str(), d[1].at.as_str()),
            ("uvicorn", "0.29.0", "pyproject.toml:4")
        );
    }

    #[test]
    fn reads_package_json() {
        let t = "{\n  \"dependencies\": {\"express\": \"^4\"},\n  \"devDependencies\": {\n    \"typescript\": \"5.4.5\"\n  }\n}\n";
        let d = package_json(t, "package.json").unwrap();
        assert_eq!(d[1].at, "package.json:4");
        assert!(d[1].dev && !d[0].dev);
    }
}
