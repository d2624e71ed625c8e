//! Ruby: `bundle install` reads the Gemfile, its lock and the project's
//! bundler config; a Gemfile is Ruby code, so what it loads from the
//! project (a gemspec, local paths, other files) is checked.

use crate::commands::{Check, Cmdx, Install, Parsed, Read, Role};
use crate::context::{join_within, Checked, Scope};

pub fn classify(x: &Cmdx<'_>) -> Option<Role> {
    match x.cmd.name() {
        "bundle" | "bundler" => Some(bundle(x)),
        _ => None,
    }
}

const VALUE_OPTS: &[&str] = &[
    "--jobs",
    "-j",
    "--retry",
    "--without",
    "--with",
    "--path",
    "--gemfile",
    "--trust-policy",
    "--shebang",
    "--target-rbconfig",
];

fn truthy(v: Option<String>) -> bool {
    v.is_some_and(|v| !matches!(v.as_str(), "" | "false" | "0"))
}

fn bundle(x: &Cmdx<'_>) -> Role {
    let w = x.words();
    let p = Parsed::parse(w, 1, VALUE_OPTS);
    let verb = p.args.first().map(|(_, a)| a.as_str());
    match verb {
        None if p.has(&["-v", "--version", "-h", "--help"]) => return Role::neutral(),
        None | Some("install") => {}
        Some("config") => {
            let global = p.has(&["--global"]) || x.var("BUNDLE_APP_CONFIG").is_some();
            let read_only = matches!(p.args.get(1).map(|(_, a)| a.as_str()), Some("get" | "list") | None);
            return Role::Neutral {
                outputs: if global || read_only { Vec::new() } else { vec![x.cwd().join(".bundle/config")] },
            };
        }
        Some("version" | "env" | "help") => return Role::neutral(),
        _ => return Role::source(format!("`{}` may read the sources", x.label())),
    }
    let gemfile = match p.value(&["--gemfile"]).map(str::to_string).or_else(|| x.var("BUNDLE_GEMFILE")) {
        Some(f) => x.path(&f),
        None => x.cwd().join("Gemfile"),
    };
    let dir = gemfile.join("..");
    let mut inst = Install::new("bundler", x.label(), dir.clone());
    let lock = match &gemfile {
        dockfix_core::walk::Workdir::Abs(s) => dockfix_core::walk::Workdir::Abs(format!("{s}.lock")),
        dockfix_core::walk::Workdir::Base(s) => dockfix_core::walk::Workdir::Base(format!("{s}.lock")),
        dockfix_core::walk::Workdir::Unknown => dockfix_core::walk::Workdir::Unknown,
    };
    inst.reads.push(Read::required(gemfile));
    inst.reads.push(Read::optional(lock));
    if x.var("BUNDLE_APP_CONFIG").is_none() {
        inst.reads.push(Read::optional(dir.join(".bundle/config")));
    }
    // Where gems go when they go inside the project.
    if let Some(path) = p.value(&["--path"]).map(str::to_string).or_else(|| x.var("BUNDLE_PATH")) {
        inst.outputs.push(x.path(&path));
    } else if p.has(&["--deployment"]) || truthy(x.var("BUNDLE_DEPLOYMENT")) {
        inst.outputs.push(dir.join("vendor/bundle"));
    }
    for (_, name, v) in &p.opts {
        match name.as_str() {
            "--binstubs" => inst.outputs.push(dir.join(v.as_deref().unwrap_or("bin"))),
            "--standalone" => inst.outputs.push(dir.join("bundle")),
            _ => {}
        }
    }
    inst.check = Check::Gemfile;
    Role::Install(inst)
}

/// Files a Gemfile may read that dockfix copies along.
const VERSION_FILES: &[&str] = &[".ruby-version", ".tool-versions"];

/// The Gemfile loads nothing from the project but version files.
pub fn check(scope: &Scope<'_>, inst: &Install) -> Result<Checked, String> {
    let Some(f) = scope.files.first() else { return Err(format!("`{}` has no Gemfile", inst.label)) };
    let Some(text) = scope.view.read(f) else { return Err(scope.missing(f)) };
    let dir = f.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let mut extra = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let word = line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or("");
        match word {
            "gemspec" => {
                return Err(format!("`{f}` reads the project's gemspec (`{line}`), which usually lists its files"))
            }
            "eval_gemfile" | "require_relative" | "load" | "instance_eval" => {
                return Err(format!("`{f}` loads other project files (`{line}`)"))
            }
            _ => {}
        }
        if line.contains("path:") || line.contains(":path") || line.contains("path =>") {
            return Err(format!("`{f}` has a local path gem (`{line}`)"));
        }
        if let Some(pos) = line.find("git:").or_else(|| line.find(":git =>")) {
            let v = quoted(&line[pos..]).unwrap_or_default();
            if !v.contains("://") && !v.contains('@') {
                return Err(format!("`{f}` has a gem from the local repository `{v}`"));
            }
        }
        let reads_file = ["File.read", "File.readlines", "IO.read", "File.open", "Dir[", "Dir.glob", "file:"]
            .iter()
            .find(|n| line.contains(**n));
        if let Some(n) = reads_file {
            let pos = line.find(n).unwrap_or(0);
            match quoted(&line[pos..]).filter(|v| VERSION_FILES.contains(&v.trim_start_matches("./"))) {
                Some(v) => {
                    let Some(p) = join_within(dir, &v).filter(|p| scope.view.is_file(p)) else {
                        return Err(format!("`{f}` reads `{v}`, which is not in the build context"));
                    };
                    extra.push(p);
                }
                None => return Err(format!("`{f}` reads files of the project (`{line}`)")),
            }
        }
    }
    Ok(Checked { extra, ..Checked::default() })
}

/// The first quoted string in a piece of Ruby.
fn quoted(s: &str) -> Option<String> {
    let start = s.find(['\'', '"'])?;
    let q = s[start..].chars().next()?;
    let end = s[start + 1..].find(q)?;
    Some(s[start + 1..start + 1 + end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings() {
        assert_eq!(quoted("ruby file: \".ruby-version\"").as_deref(), Some(".ruby-version"));
        assert_eq!(quoted("git: 'https://x/y.git'").as_deref(), Some("https://x/y.git"));
    }
}
