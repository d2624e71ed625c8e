//! Python installs: what `pip install` reads, and what a requirements file
//! pulls in.

use dockfix_core::walk::{State, Workdir};

use crate::commands::Install;

/// Options of `pip install` that take a value.
const PIP_VALUE_OPTS: &[&str] = &[
    "-i",
    "--index-url",
    "--extra-index-url",
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
    "--dry-run-report",
];

/// The words after `pip` when this is a pip invocation (`pip`, `pip3`,
/// `pip3.12`, `python -m pip`, `python3.12 -m pip`).
fn pip_args(words: &[String]) -> Option<&[String]> {
    let name = words.first()?.rsplit('/').next()?;
    let is = |prefix: &str| {
        name.strip_prefix(prefix).is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    if is("pip") {
        return Some(&words[1..]);
    }
    if is("python") && words.get(1).map(String::as_str) == Some("-m") && words.get(2).map(String::as_str) == Some("pip")
    {
        return Some(&words[3..]);
    }
    None
}

/// True for an argument that names a local path rather than a package.
pub fn is_local_path(arg: &str) -> bool {
    let a = arg.trim();
    a == "."
        || a.starts_with("./")
        || a.starts_with("../")
        || a.starts_with('/')
        || a.starts_with('~')
        || a.starts_with("file:")
        || a.contains("@ file:")
        || (!a.contains("://")
            && (a.ends_with(".whl") || a.ends_with(".tar.gz") || a.ends_with(".zip") || a.contains('/')))
}

/// Analyzes `pip install …`; `None` when the command is not a pip install.
pub fn pip(words: &[String], cwd: &Workdir, state: &State) -> Option<Install> {
    let args = pip_args(words)?;
    if args.first().map(String::as_str) != Some("install") {
        return None;
    }
    let label = words.join(" ");
    let mut inst = Install {
        manager: "pip",
        label,
        reads: Vec::new(),
        optional_reads: Vec::new(),
        needs_source: None,
        requirement_files: Vec::new(),
    };
    let resolve = |p: &str| -> Workdir {
        match state.expand(p) {
            Some(p) => cwd.join(&p),
            None => Workdir::Unknown,
        }
    };
    let mut i = 1;
    while i < args.len() {
        let a = args[i].as_str();
        let (flag, attached) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a, None),
        };
        let short_attached = |p: &str| a.strip_prefix(p).filter(|r| !r.is_empty() && !a.starts_with("--"));
        let value = |i: &mut usize| -> Option<String> {
            if let Some(v) = &attached {
                return Some(v.clone());
            }
            *i += 1;
            args.get(*i).cloned()
        };
        match flag {
            "-r" | "--requirement" | "-c" | "--constraint" => {
                if let Some(v) = value(&mut i) {
                    let p = resolve(&v);
                    inst.reads.push(p.clone());
                    inst.requirement_files.push(p);
                }
            }
            "-e" | "--editable" => {
                if let Some(v) = value(&mut i) {
                    if is_local_path(&v) {
                        inst.needs_source =
                            Some(format!("it installs `{v}` in editable mode, which needs the sources"));
                    }
                }
            }
            "-f" | "--find-links" => {
                if let Some(v) = value(&mut i) {
                    if !v.contains("://") {
                        inst.needs_source = Some(format!("it finds packages in the local directory `{v}`"));
                    }
                }
            }
            f if PIP_VALUE_OPTS.contains(&f) => {
                value(&mut i);
            }
            _ if short_attached("-r").is_some() || short_attached("-c").is_some() => {
                let p = resolve(&a[2..]);
                inst.reads.push(p.clone());
                inst.requirement_files.push(p);
            }
            _ if a.starts_with('-') => {}
            _ => {
                if a.contains('$') || a.contains('`') {
                    inst.needs_source = Some(format!("cannot tell what `{a}` installs"));
                } else if is_local_path(a) {
                    inst.needs_source = Some(format!("it installs `{a}` from the build context"));
                }
            }
        }
        i += 1;
    }
    if inst.reads.is_empty() && inst.needs_source.is_none() {
        // `pip install flask gunicorn`: reads nothing; not an install we move.
        return Some(Install { reads: Vec::new(), ..inst });
    }
    Some(inst)
}

/// One requirements file: the files it includes (`-r`, `-c`, relative to
/// its own directory) and, if any, why it needs the sources.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    pub includes: Vec<String>,
    pub needs_source: Option<String>,
}

/// Parses a requirements file.
pub fn parse_requirements(text: &str) -> Requirements {
    let mut out = Requirements::default();
    // Join continuation lines first.
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    for raw in joined.lines() {
        let line = match raw.find(" #") {
            Some(p) => &raw[..p],
            None => raw,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let first = parts.next().unwrap_or_default();
        let (flag, attached) = match first.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (first, None),
        };
        let value = attached.or_else(|| parts.next().map(str::to_string));
        match flag {
            "-r" | "--requirement" | "-c" | "--constraint" => {
                if let Some(v) = value {
                    out.includes.push(v);
                }
            }
            "-e" | "--editable" => {
                if value.as_deref().is_some_and(is_local_path) {
                    out.needs_source = Some(format!("it lists `{line}`, which needs the sources"));
                }
            }
            "-f" | "--find-links" => {
                if value.as_deref().is_some_and(|v| !v.contains("://")) {
                    out.needs_source = Some(format!("it finds packages in a local directory (`{line}`)"));
                }
            }
            f if f.starts_with("-r") && f.len() > 2 && !f.starts_with("--") => out.includes.push(f[2..].to_string()),
            f if f.starts_with("-c") && f.len() > 2 && !f.starts_with("--") => out.includes.push(f[2..].to_string()),
            f if f.starts_with('-') => {}
            _ => {
                let spec = line.split(';').next().unwrap_or(line).trim();
                if is_local_path(spec) && !spec.contains("://") || spec.contains("file:") {
                    out.needs_source = Some(format!("it lists the local path `{spec}`"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn st() -> State {
        State { workdir: Workdir::Abs("/app".into()), user: None, env: BTreeMap::new(), args: BTreeMap::new() }
    }

    fn w(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn pip_reads_requirements() {
        let s = st();
        let i = pip(&w("pip install --no-cache-dir -r requirements.txt -c constraints.txt"), &s.workdir, &s).unwrap();
        assert_eq!(
            i.reads,
            [Workdir::Abs("/app/requirements.txt".into()), Workdir::Abs("/app/constraints.txt".into())]
        );
        assert!(i.needs_source.is_none());
        let i = pip(&w("python3 -m pip install --requirement=/tmp/r.txt"), &s.workdir, &s).unwrap();
        assert_eq!(i.reads, [Workdir::Abs("/tmp/r.txt".into())]);
        let i = pip(&w("pip install -e ."), &s.workdir, &s).unwrap();
        assert!(i.needs_source.is_some());
        let i = pip(&w("pip3 install ."), &s.workdir, &s).unwrap();
        assert!(i.needs_source.is_some());
        let i = pip(&w("pip install -i https://x/simple flask==3.0"), &s.workdir, &s).unwrap();
        assert!(i.reads.is_empty() && i.needs_source.is_none());
        assert!(pip(&w("pip freeze"), &s.workdir, &s).is_none());
        assert!(pip(&w("pipenv install"), &s.workdir, &s).is_none());
    }

    #[test]
    fn requirements_files() {
        let r = parse_requirements("flask==3.0  # web\n-r base.txt\n--constraint=c.txt\nrequests \\\n  >=2\n");
        assert_eq!(r.includes, ["base.txt", "c.txt"]);
        assert!(r.needs_source.is_none());
        assert!(parse_requirements("-e .\n").needs_source.is_some());
        assert!(parse_requirements("./libs/mylib\n").needs_source.is_some());
        assert!(parse_requirements("pkg @ file:///src/pkg\n").needs_source.is_some());
        assert!(parse_requirements("-e git+https://github.com/a/b#egg=b\n").needs_source.is_none());
        assert!(parse_requirements("pkg @ https://example.com/pkg-1.0.tar.gz\n").needs_source.is_none());
    }
}
