//! Compose files: the services, what each builds (context, Dockerfile,
//! target, args) and the facts the batch features need (ports, depends_on,
//! profiles), with the line of each service key for lossless edits.

pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use yaml::Node;

/// File names compose looks for.
pub fn is_compose_file_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(n.as_str(), "compose.yaml" | "compose.yml" | "docker-compose.yml" | "docker-compose.yaml")
        || ((n.starts_with("docker-compose.") || n.starts_with("compose."))
            && (n.ends_with(".yml") || n.ends_with(".yaml")))
}

/// What a service builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// The build context directory.
    pub context: PathBuf,
    /// The Dockerfile (resolved: relative to the context when given relative).
    pub dockerfile: PathBuf,
    pub target: Option<String>,
    pub args: BTreeMap<String, String>,
    /// `dockerfile_inline`: nothing on disk to rewrite.
    pub inline: bool,
}

/// One service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    /// 1-based line and 0-based column of the service's key.
    pub line: usize,
    pub col: usize,
    pub build: Option<Build>,
    pub image: Option<String>,
    pub has_ports: bool,
    pub depends_on: Vec<String>,
    pub profiles: Vec<String>,
    /// `command`/`entrypoint` as written, for heuristics.
    pub command: Option<String>,
    pub restart: Option<String>,
}

/// A parsed compose file.
#[derive(Debug, Clone, PartialEq)]
pub struct ComposeFile {
    pub path: PathBuf,
    pub text: String,
    pub services: Vec<Service>,
}

/// Expands `${VAR:-default}`/`${VAR-default}` with only the defaults (no
/// environment is read: dockfix must see what the repository says).
fn interpolate(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let inner = &after[..end];
        if let Some(p) = inner.find(":-").or_else(|| inner.find('-')) {
            let skip = if inner[p..].starts_with(":-") { 2 } else { 1 };
            out.push_str(&inner[p + skip..]);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Joins and normalizes (`a/./b/../c` → `a/c`), keeping relative paths relative.
pub fn join_clean(base: &Path, rel: &str) -> PathBuf {
    let joined = if Path::new(rel).is_absolute() { PathBuf::from(rel) } else { base.join(rel) };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

fn scalar_string(n: &Node) -> Option<String> {
    n.as_str().map(interpolate)
}

fn args_of(n: Option<&Node>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match n {
        Some(Node::Map(es)) => {
            for e in es {
                out.insert(e.key.clone(), e.value.as_str().map(interpolate).unwrap_or_default());
            }
        }
        Some(Node::Seq(items)) => {
            for i in items {
                if let Some(s) = i.as_str() {
                    let (k, v) = s.split_once('=').unwrap_or((s, ""));
                    out.insert(k.to_string(), interpolate(v));
                }
            }
        }
        _ => {}
    }
    out
}

fn command_text(n: Option<&Node>) -> Option<String> {
    match n? {
        Node::Scalar(s) => Some(s.clone()),
        Node::Seq(v) => Some(v.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(" ")),
        _ => None,
    }
}

/// Parses a compose file's text; `path` locates relative contexts.
pub fn parse(path: &Path, text: &str) -> Result<ComposeFile, String> {
    let root = yaml::parse(text)?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let mut services = Vec::new();
    if let Some(svcs) = root.get("services") {
        for e in svcs.entries() {
            let s = &e.value;
            let build = match s.get("build") {
                None | Some(Node::Null) => None,
                Some(Node::Scalar(ctx)) => Some(Build {
                    context: join_clean(dir, &interpolate(ctx)),
                    dockerfile: join_clean(&join_clean(dir, &interpolate(ctx)), "Dockerfile"),
                    target: None,
                    args: BTreeMap::new(),
                    inline: false,
                }),
                Some(b) => {
                    let ctx = b.get("context").and_then(scalar_string).unwrap_or_else(|| ".".into());
                    let context = join_clean(dir, &ctx);
                    let df = b.get("dockerfile").and_then(scalar_string).unwrap_or_else(|| "Dockerfile".into());
                    Some(Build {
                        dockerfile: join_clean(&context, &df),
                        context,
                        target: b.get("target").and_then(scalar_string),
                        args: args_of(b.get("args")),
                        inline: b.get("dockerfile_inline").is_some(),
                    })
                }
            };
            services.push(Service {
                name: e.key.clone(),
                line: e.line,
                col: e.col,
                build,
                image: s.get("image").and_then(scalar_string),
                has_ports: s.get("ports").is_some_and(|p| !matches!(p, Node::Null)),
                depends_on: s.get("depends_on").map(Node::names).unwrap_or_default(),
                profiles: s.get("profiles").map(Node::names).unwrap_or_default(),
                command: command_text(s.get("command")).or_else(|| command_text(s.get("entrypoint"))),
                restart: s.get("restart").and_then(scalar_string),
            });
        }
    }
    Ok(ComposeFile { path: path.to_path_buf(), text: text.to_string(), services })
}

/// Reads and parses a compose file.
pub fn load(path: &Path) -> Result<ComposeFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(path, &text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Merges override files into a base (later files win, per service and
/// per build field), the way `docker compose -f a -f b` does for builds.
pub fn merge(files: &[ComposeFile]) -> Vec<Service> {
    let mut out: Vec<Service> = Vec::new();
    for f in files {
        for s in &f.services {
            match out.iter_mut().find(|o| o.name == s.name) {
                None => out.push(s.clone()),
                Some(o) => {
                    if s.build.is_some() {
                        o.build = s.build.clone();
                    }
                    if s.image.is_some() {
                        o.image = s.image.clone();
                    }
                    o.has_ports |= s.has_ports;
                    o.depends_on.extend(s.depends_on.iter().cloned());
                    if !s.profiles.is_empty() {
                        o.profiles = s.profiles.clone();
                    }
                    if s.command.is_some() {
                        o.command = s.command.clone();
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_builds() {
        let text = "services:\n  api:\n    build:\n      context: ./services/api\n      dockerfile: ../../docker/api.Dockerfile\n      target: prod\n      args:\n        - VERSION=${VERSION:-1.0}\n    ports: [\"8000:8000\"]\n    depends_on: [db]\n  web:\n    build: web\n    depends_on:\n      api:\n        condition: service_started\n  db:\n    image: postgres:16\n";
        let f = parse(Path::new("repo/compose.yaml"), text).unwrap();
        let api = &f.services[0];
        let b = api.build.as_ref().unwrap();
        assert_eq!(b.context, Path::new("repo/services/api"));
        assert_eq!(b.dockerfile, Path::new("repo/docker/api.Dockerfile"));
        assert_eq!(b.target.as_deref(), Some("prod"));
        assert_eq!(b.args.get("VERSION").map(String::as_str), Some("1.0"));
        assert!(api.has_ports);
        assert_eq!(f.services[1].build.as_ref().unwrap().dockerfile, Path::new("repo/web/Dockerfile"));
        assert_eq!(f.services[1].depends_on, ["api"]);
        assert!(f.services[2].build.is_none());
        assert_eq!(f.services[2].line, 16);
    }

    #[test]
    fn names_and_merge() {
        assert!(is_compose_file_name("docker-compose.override.yml"));
        assert!(is_compose_file_name("compose.yaml"));
        assert!(!is_compose_file_name("config.yml"));
        let a = parse(Path::new("c.yml"), "services:\n  x:\n    build: a\n").unwrap();
        let b = parse(Path::new("o.yml"), "services:\n  x:\n    build: b\n    profiles: [dev]\n").unwrap();
        let m = merge(&[a, b]);
        assert_eq!(m[0].build.as_ref().unwrap().context, Path::new("b"));
        assert_eq!(m[0].profiles, ["dev"]);
    }
}
