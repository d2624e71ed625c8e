//! Python install commands: pip (and `python -m pip`, `uv pip`, a venv's
//! pip), `uv sync`, poetry, pdm and pipenv — which verb, which options,
//! which project directory.

use dockfix_core::knowledge::UV_VALUE_OPTS;
use dockfix_core::walk::{State, Workdir};

use crate::run::{Cmd, Parsed};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// pip or `uv pip`.
    Pip,
    /// `uv sync`.
    Uv,
    Poetry,
    Pdm,
    Pipenv,
}

impl Tool {
    /// The lock file the tool reads in the project directory.
    pub fn lockfile(self) -> &'static str {
        match self {
            Tool::Pip => "requirements.lock",
            Tool::Uv => "uv.lock",
            Tool::Poetry => "poetry.lock",
            Tool::Pdm => "pdm.lock",
            Tool::Pipenv => "Pipfile.lock",
        }
    }

    /// The manifest it reads.
    pub fn manifest(self) -> &'static str {
        match self {
            Tool::Pipenv => "Pipfile",
            _ => "pyproject.toml",
        }
    }

    /// How to make the lock.
    pub fn lock_command(self) -> &'static str {
        match self {
            Tool::Pip => "uv pip compile pyproject.toml -o requirements.lock",
            Tool::Uv => "uv lock",
            Tool::Poetry => "poetry lock",
            Tool::Pdm => "pdm lock",
            Tool::Pipenv => "pipenv lock",
        }
    }
}

/// Options of `pip install` (and `uv pip install`) that take a value.
pub const PIP_VALUE_OPTS: &[&str] = &[
    "-r",
    "--requirement",
    "--requirements",
    "-c",
    "--constraint",
    "--constraints",
    "--override",
    "-e",
    "--editable",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--trusted-host",
    "--src",
    "--upgrade-strategy",
    "--progress-bar",
    "--cache-dir",
    "--log",
    "--log-file",
    "--proxy",
    "--retries",
    "--timeout",
    "--exists-action",
    "--cert",
    "--client-cert",
    "--only-binary",
    "--no-binary",
    "-C",
    "--config-settings",
    "--global-option",
    "--install-option",
    "--report",
    "--python",
    "--root-user-action",
    "--keyring-provider",
    "--use-feature",
    "--use-deprecated",
    "--group",
    "--build-option",
    "-p",
    "--index",
    "--index-strategy",
    "--link-mode",
    "--python-platform",
    "--resolution",
    "--prerelease",
    "--exclude-newer",
    "--extra",
    "--no-build-isolation-package",
];

const POETRY_VALUE_OPTS: &[&str] =
    &["-E", "--extras", "--with", "--without", "--only", "-C", "--directory", "-P", "--project"];

const PDM_VALUE_OPTS: &[&str] = &["-G", "--group", "-L", "--lockfile", "-p", "--project", "--venv", "-k", "--skip"];

const PIPENV_VALUE_OPTS: &[&str] =
    &["--python", "--pypi-mirror", "--categories", "-r", "--requirements", "--extra-pip-args", "-i", "--index"];

/// A Python install command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Py {
    pub tool: Tool,
    /// The word index of the verb (`install`, `sync`).
    pub verb: usize,
    pub verb_name: String,
    /// Options and arguments after the verb.
    pub p: Parsed,
    /// The project directory.
    pub dir: Workdir,
}

impl Py {
    /// Positional arguments after the verb.
    pub fn args(&self) -> impl Iterator<Item = &(usize, String)> {
        self.p.args.iter()
    }
}

/// Where the pip verb is, when this is a pip invocation.
fn pip_verb(words: &[String]) -> Option<usize> {
    let name = words.first()?.rsplit('/').next()?;
    let versioned = |prefix: &str, s: &str| {
        s.strip_prefix(prefix).is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    if versioned("pip", name) {
        return Some(1);
    }
    if versioned("python", name)
        && words.get(1).map(String::as_str) == Some("-m")
        && words.get(2).is_some_and(|m| versioned("pip", m))
    {
        return Some(3);
    }
    if name == "uv" && words.get(1).map(String::as_str) == Some("pip") {
        return Some(2);
    }
    None
}

/// Reads one command; `None` for anything that is not a Python install.
pub fn classify(cmd: &Cmd, state: &State) -> Option<Py> {
    let w = &cmd.words;
    let path = |d: &str| match state.expand(d) {
        Some(d) if !d.starts_with('~') => cmd.cwd.join(&d),
        _ => Workdir::Unknown,
    };
    if let Some(v) = pip_verb(w) {
        let verb = w.get(v)?;
        if !matches!(verb.as_str(), "install" | "sync") {
            return None;
        }
        let p = Parsed::parse(w, v + 1, PIP_VALUE_OPTS);
        return Some(Py { tool: Tool::Pip, verb: v, verb_name: verb.clone(), p, dir: cmd.cwd.clone() });
    }
    let (tool, opts, verbs): (Tool, &[&str], &[&str]) = match cmd.name() {
        "uv" => (Tool::Uv, UV_VALUE_OPTS, &["sync"]),
        "poetry" => (Tool::Poetry, POETRY_VALUE_OPTS, &["install", "sync"]),
        "pdm" => (Tool::Pdm, PDM_VALUE_OPTS, &["install", "sync"]),
        "pipenv" => (Tool::Pipenv, PIPENV_VALUE_OPTS, &["install", "sync"]),
        _ => return None,
    };
    let all = Parsed::parse(w, 1, opts);
    let (verb, name) = all.args.first().cloned()?;
    if !verbs.contains(&name.as_str()) {
        return None;
    }
    let p = Parsed::parse(w, verb + 1, opts);
    let dir_opts: &[&str] = match tool {
        Tool::Uv => &["--project", "--directory"],
        Tool::Poetry => &["-C", "--directory", "-P", "--project"],
        Tool::Pdm => &["-p", "--project"],
        _ => &[],
    };
    let dir = match all.value(dir_opts) {
        Some(d) => path(d),
        None => cmd.cwd.clone(),
    };
    let dir = match (tool, cmd.var(state, "PIPENV_PIPFILE")) {
        (Tool::Pipenv, Some(f)) => match path(f) {
            Workdir::Abs(s) => Workdir::Abs(
                s.rsplit_once('/').map(|(d, _)| if d.is_empty() { "/" } else { d }).unwrap_or("/").to_string(),
            ),
            _ => Workdir::Unknown,
        },
        _ => dir,
    };
    Some(Py { tool, verb, verb_name: name, p, dir })
}

/// A pip install of the project directory itself: `pip install .`,
/// `pip install -e .`, `pip install ".[dev]"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectArg {
    /// The word index of the argument (`.[dev]`).
    pub at: usize,
    /// The directory, as written without extras.
    pub dir: String,
    /// Requested extras.
    pub extras: Vec<String>,
    pub editable: bool,
}

/// The project argument of a pip install, if it installs a directory of the
/// image that is where it runs (`.`), or another directory given by path.
pub fn pip_project(py: &Py) -> Option<ProjectArg> {
    let split = |a: &str| -> (String, Vec<String>) {
        match a.split_once('[') {
            Some((d, e)) => (
                d.to_string(),
                e.trim_end_matches(']')
                    .split(',')
                    .map(crate::pep440::normalize_name)
                    .filter(|x| !x.is_empty())
                    .collect(),
            ),
            None => (a.to_string(), Vec::new()),
        }
    };
    for (i, name, v) in &py.p.opts {
        if matches!(name.as_str(), "-e" | "--editable") {
            let v = v.as_deref()?;
            let (dir, extras) = split(v);
            if is_dir_arg(&dir) {
                return Some(ProjectArg { at: i + 1, dir, extras, editable: true });
            }
        }
    }
    for (i, a) in &py.p.args {
        let (dir, extras) = split(a);
        if is_dir_arg(&dir) {
            return Some(ProjectArg { at: *i, dir, extras, editable: false });
        }
    }
    None
}

/// `.`, `./`, `./svc`, `/app`: a directory, not an archive or a URL.
fn is_dir_arg(a: &str) -> bool {
    (a == "." || a.starts_with("./") || a.starts_with('/'))
        && !a.contains("://")
        && !a.ends_with(".whl")
        && !a.ends_with(".tar.gz")
        && !a.ends_with(".zip")
        && !a.contains('$')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn cmd(s: &str) -> Cmd {
        let words: Vec<String> = s.split(' ').map(str::to_string).collect();
        Cmd {
            raw: words.clone(),
            words,
            spans: Vec::new(),
            assigns: Vec::new(),
            cwd: Workdir::Abs("/app".into()),
            before: None,
        }
    }

    fn st() -> State {
        State { workdir: Workdir::Abs("/app".into()), user: None, env: BTreeMap::new(), args: BTreeMap::new() }
    }

    #[test]
    fn recognizes_installs() {
        let py = classify(&cmd("python3.12 -m pip install --no-cache-dir -r requirements.lock"), &st()).unwrap();
        assert_eq!(py.tool, Tool::Pip);
        assert_eq!(py.p.values(&["-r"]), [(5, "requirements.lock".to_string())]);
        let py = classify(&cmd("uv --no-cache sync --project svc --frozen"), &st()).unwrap();
        assert_eq!(py.tool, Tool::Uv);
        assert_eq!(py.dir, Workdir::Abs("/app/svc".into()));
        assert!(py.p.has(&["--frozen"]));
        assert!(classify(&cmd("uv pip compile pyproject.toml"), &st()).is_none());
        assert!(classify(&cmd("uv lock"), &st()).is_none());
        assert_eq!(classify(&cmd("poetry install --only main"), &st()).unwrap().tool, Tool::Poetry);
        let py = classify(&cmd("pip install --no-deps -e .[dev]"), &st()).unwrap();
        let proj = pip_project(&py).unwrap();
        assert!(proj.editable);
        assert_eq!(proj.extras, ["dev"]);
        assert_eq!(proj.at, 4);
        let py = classify(&cmd("pip install --user ./svc"), &st()).unwrap();
        assert_eq!(pip_project(&py).unwrap().dir, "./svc");
        let py = classify(&cmd("pip install ./dist/x.whl"), &st()).unwrap();
        assert!(pip_project(&py).is_none());
    }
}
