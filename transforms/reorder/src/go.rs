//! Go: `go mod download` reads `go.mod` and `go.sum` (and, in a workspace,
//! `go.work` and every used module's `go.mod`). A `go build` straight after
//! the source copy downloads every module again on each edit: a
//! `go mod download` step after copying the module files keeps them cached.

use crate::commands::{Build, Check, Cmdx, Install, Role};
use crate::context::{join, join_within, Checked, Scope};

/// A go command that builds from the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoBuild {
    /// It builds from `vendor/` (`-mod=vendor`).
    pub vendor: bool,
    /// It reads another module file (`-modfile`).
    pub modfile: bool,
    /// `GOPROXY=…`-style prefixes that change where modules come from.
    pub assigns: Vec<String>,
    /// `GOWORK=off`.
    pub no_work: bool,
}

/// Environment variables that change what `go mod download` fetches or where.
const MODULE_ENV: &[&str] = &[
    "GOPROXY",
    "GOPRIVATE",
    "GONOPROXY",
    "GONOSUMDB",
    "GONOSUMCHECK",
    "GOSUMDB",
    "GOINSECURE",
    "GOFLAGS",
    "GOTOOLCHAIN",
    "GOMODCACHE",
    "GOPATH",
    "GOWORK",
    "GO111MODULE",
];

pub fn classify(x: &Cmdx<'_>) -> Option<Role> {
    if x.cmd.name() != "go" {
        return None;
    }
    let w = x.words();
    // `go -C dir verb …`
    let mut at = 1;
    let mut dir = x.cwd().clone();
    while let Some(a) = w.get(at) {
        if a == "-C" {
            dir = x.path(w.get(at + 1).map(String::as_str).unwrap_or("."));
            at += 2;
        } else if let Some(d) = a.strip_prefix("-C=") {
            dir = x.path(d);
            at += 1;
        } else {
            break;
        }
    }
    let verb = w.get(at).map(String::as_str).unwrap_or("");
    let rest = &w[(at + 1).min(w.len())..];
    let source = || Role::source(format!("`{}` may read the sources", x.label()));
    Some(match verb {
        "mod" => match rest.first().map(String::as_str) {
            Some("download" | "verify") => {
                let mut inst = Install::new("go", x.label(), dir).with_known_files("go");
                if x.var("GOWORK").as_deref() == Some("off") {
                    inst.reads.retain(|r| !r.path.relative_to(&inst.dir).is_some_and(|f| f.starts_with("go.work")));
                }
                inst.check = Check::GoMod;
                Role::Install(inst)
            }
            _ => source(),
        },
        "build" | "install" | "test" | "vet" | "generate" | "run" | "list" | "get" => {
            let pkgs: Vec<&String> = rest.iter().filter(|a| !a.starts_with('-')).collect();
            if verb == "install" && pkgs.iter().any(|a| a.contains('@')) {
                // `go install golang.org/x/tools/cmd/x@v1`: outside the module.
                return Some(Role::neutral());
            }
            if verb == "get" && !pkgs.iter().all(|a| a.starts_with('.')) {
                // `go get example.com/x@v2` changes go.mod.
                return Some(source());
            }
            let goflags = x.var("GOFLAGS").unwrap_or_default();
            let vendor = rest.iter().any(|a| a == "-mod=vendor")
                || rest.windows(2).any(|p| p[0] == "-mod" && p[1] == "vendor")
                || goflags.contains("-mod=vendor");
            let modfile = rest.iter().any(|a| a.starts_with("-modfile")) || goflags.contains("-modfile");
            let assigns = x
                .cmd
                .assigns
                .iter()
                .filter(|a| a.split_once('=').is_some_and(|(k, _)| MODULE_ENV.contains(&k)))
                .cloned()
                .collect();
            Role::Source {
                why: format!("`{}` builds from the sources", x.label()),
                build: Some(Build::Go(GoBuild {
                    vendor,
                    modfile,
                    assigns,
                    no_work: x.var("GOWORK").as_deref() == Some("off"),
                })),
            }
        }
        "env" | "version" | "help" | "telemetry" => Role::neutral(),
        "clean"
            if rest
                .iter()
                .all(|a| matches!(a.as_str(), "-cache" | "-modcache" | "-testcache" | "-fuzzcache" | "-x" | "-n"))
                && !rest.is_empty() =>
        {
            Role::neutral()
        }
        _ => source(),
    })
}

/// Local replacements (`replace x => ../x`) in a go.mod or go.work.
fn local_replace(text: &str) -> Option<String> {
    let mut in_block = false;
    for line in text.lines() {
        let l = line.split("//").next().unwrap_or("").trim();
        let body = if in_block {
            if l == ")" {
                in_block = false;
                continue;
            }
            l
        } else if let Some(r) = l.strip_prefix("replace") {
            let r = r.trim();
            if r == "(" {
                in_block = true;
                continue;
            }
            r
        } else {
            continue;
        };
        if let Some((from, to)) = body.split_once("=>") {
            let target = to.split_whitespace().next().unwrap_or("");
            if target.starts_with("./")
                || target.starts_with("../")
                || target.starts_with('/')
                || target == "."
                || target == ".."
            {
                return Some(format!(
                    "`{}` with the local directory `{target}`",
                    from.split_whitespace().next().unwrap_or(from.trim())
                ));
            }
        }
    }
    None
}

/// The directories a go.work uses.
fn work_uses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let l = line.split("//").next().unwrap_or("").trim();
        if in_block {
            if l == ")" {
                in_block = false;
            } else if !l.is_empty() {
                out.push(l.trim_matches('"').to_string());
            }
        } else if let Some(r) = l.strip_prefix("use") {
            let r = r.trim();
            if r == "(" {
                in_block = true;
            } else if !r.is_empty() {
                out.push(r.trim_matches('"').to_string());
            }
        }
    }
    out
}

/// True when a go.mod requires any module.
fn has_requires(text: &str) -> bool {
    text.lines().any(|l| l.trim_start().starts_with("require"))
}

/// A go.work in a directory above the module (within the copy): go runs in
/// workspace mode there, reading files dockfix would not copy.
fn enclosing_work(scope: &Scope<'_>) -> Option<String> {
    let mut d = scope.dir.clone();
    while d != scope.copy_dir && !d.is_empty() {
        d = d.rsplit_once('/').map(|(p, _)| p.to_string()).unwrap_or_default();
        let w = join(&d, "go.work");
        if scope.view.is_file(&w) {
            return Some(w);
        }
    }
    None
}

/// `go mod download`: local replacements refuse; a workspace's modules'
/// files are copied too.
pub fn check(scope: &Scope<'_>, inst: &Install) -> Result<Checked, String> {
    let in_work = inst.reads.iter().any(|r| r.path.relative_to(&inst.dir).is_some_and(|f| f == "go.work"));
    if let Some(w) = enclosing_work(scope).filter(|_| in_work) {
        return Err(format!("the module is part of the workspace `{w}` above it"));
    }
    let gomod = join(&scope.dir, "go.mod");
    let Some(text) = scope.view.read(&gomod) else { return Err(scope.missing(&gomod)) };
    if let Some(r) = local_replace(&text) {
        return Err(format!("`{gomod}` replaces {r}"));
    }
    let work = join(&scope.dir, "go.work");
    let mut extra = Vec::new();
    if scope.files.contains(&work) {
        extra = workspace_files(scope, &work)?;
    }
    Ok(Checked { extra, ..Checked::default() })
}

fn workspace_files(scope: &Scope<'_>, work: &str) -> Result<Vec<String>, String> {
    let Some(text) = scope.view.read(work) else { return Err(scope.missing(work)) };
    if let Some(r) = local_replace(&text) {
        return Err(format!("`{work}` replaces {r}"));
    }
    let mut out = Vec::new();
    let uses = work_uses(&text);
    if uses.len() > 12 {
        return Err(format!("`{work}` uses {} modules: each one's go.mod would need its own COPY", uses.len()));
    }
    for u in uses {
        let Some(d) = join_within(&scope.dir, &u).filter(|d| scope.within_copy(d)) else {
            return Err(format!("`{work}` uses `{u}`, outside the copied directory"));
        };
        if d == scope.dir {
            continue;
        }
        let m = join(&d, "go.mod");
        let Some(mt) = scope.view.read(&m) else { return Err(scope.missing(&m)) };
        if let Some(r) = local_replace(&mt) {
            return Err(format!("`{m}` replaces {r}"));
        }
        out.push(m);
        let sum = join(&d, "go.sum");
        if scope.view.is_file(&sum) {
            out.push(sum);
        }
    }
    Ok(out)
}

/// What to insert before the sources for a `go build` that downloads its
/// modules: the files to copy and the download command. `Ok(None)` when a
/// download step would bring nothing (vendored modules, no requirements).
pub fn download_step(scope: &Scope<'_>, b: &GoBuild) -> Result<Option<(Vec<String>, String)>, String> {
    if b.vendor || b.modfile {
        return Ok(None);
    }
    let gomod = join(&scope.dir, "go.mod");
    let Some(text) = scope.view.read(&gomod) else { return Ok(None) };
    if scope.view.is_file(&join(&scope.dir, "vendor/modules.txt")) {
        return Ok(None);
    }
    if let Some(w) = enclosing_work(scope).filter(|_| !b.no_work) {
        return Err(format!(
            "the module is part of the workspace `{w}` above it, which `go mod download` would need too"
        ));
    }
    let work = join(&scope.dir, "go.work");
    let in_work = !b.no_work && scope.view.is_file(&work);
    if !has_requires(&text) && !in_work {
        return Ok(None);
    }
    if let Some(r) = local_replace(&text) {
        return Err(format!("`{gomod}` replaces {r}, which `go mod download` would read from the sources"));
    }
    let mut files = vec![gomod];
    let sum = join(&scope.dir, "go.sum");
    if scope.view.is_file(&sum) {
        files.push(sum);
    }
    if in_work {
        files.push(work.clone());
        let sum = join(&scope.dir, "go.work.sum");
        if scope.view.is_file(&sum) {
            files.push(sum);
        }
        files.extend(workspace_files(scope, &work)?);
    }
    let mut cmd = b.assigns.clone();
    cmd.push("go mod download".into());
    Ok(Some((files, cmd.join(" "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_uses() {
        assert!(local_replace("module a\nreplace example.com/x => ../x\n").is_some());
        assert!(local_replace("replace (\n\texample.com/x v1.0.0 => ./vendor/x\n)\n").is_some());
        assert!(local_replace("replace example.com/x => example.com/y v1.2.0\n").is_none());
        assert_eq!(
            work_uses("go 1.22\nuse (\n\t./api\n\t./cmd/tool\n)\nuse ./lib\n"),
            ["./api", "./cmd/tool", "./lib"]
        );
        assert!(has_requires("module a\n\nrequire github.com/x/y v1.0.0\n"));
        assert!(!has_requires("module a\n\ngo 1.22\n"));
    }
}
