//! Shared bases: several Dockerfiles that start the same way (the same
//! `FROM` and the same system-package installs) build those layers once per
//! service. Reported for a batch run; `dockfix apply --extract-base PATH`
//! writes the common start to PATH and has each service start `FROM` the
//! image built from it.

use std::ops::Range;
use std::path::{Path, PathBuf};

use dockfix_syntax::shell::parse_script;
use dockfix_syntax::{Document, Instruction, Kind};
use serde::Serialize;

use crate::plan::FilePlan;

/// One group of Dockerfiles with the same start.
#[derive(Debug, Clone, Serialize)]
pub struct SharedBase {
    /// The base image of the common `FROM`.
    pub image: String,
    /// The common instructions, as written in the first member.
    pub instructions: Vec<String>,
    /// The Dockerfiles (and their services) that start this way.
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub dockerfile: PathBuf,
    pub services: Vec<String>,
    /// The stage name of the common `FROM` (`AS build`), if any.
    #[serde(skip)]
    pub stage_name: Option<String>,
    /// Source bytes of the `FROM` line and of each common install.
    #[serde(skip)]
    pub ranges: Vec<Range<usize>>,
}

/// Package managers whose installs make a base worth sharing.
const SYSTEM: &[&str] = &["apt-get", "apt", "apk", "dnf", "yum", "microdnf", "zypper"];

/// A RUN made only of system-package steps (and their cleanup), with at
/// least one install. Exec form, heredocs and flags other than cache
/// mounts are left out.
fn is_system_install(ins: &Instruction) -> bool {
    if ins.kind != Kind::Run || ins.json || !ins.heredocs.is_empty() {
        return false;
    }
    // Cache mounts (cache-mounts adds them) are fine; other flags are not.
    if !ins.flags.iter().all(|f| f.name() == "mount" && f.value().is_some_and(|v| v.contains("type=cache"))) {
        return false;
    }
    let script = parse_script(ins.args_text());
    let mut installs = 0;
    for c in &script.commands {
        let Some(name) = c.name() else { continue };
        let prog = name.rsplit('/').next().unwrap_or(name);
        if SYSTEM.contains(&prog) {
            if c.args().any(|a| matches!(a, "install" | "add")) {
                installs += 1;
            }
            continue;
        }
        let cleanup = prog == "rm" && c.args().any(|a| a.starts_with("/var/lib/apt") || a.starts_with("/var/cache"));
        if !(cleanup || matches!(prog, "set" | "true")) {
            return false;
        }
    }
    installs > 0 && !ins.args_text().contains('$')
}

/// The start of a document's first stage worth sharing: its `FROM` and
/// the system installs right after it (nothing else in between).
fn start(doc: &Document) -> Option<(String, Option<String>, Vec<usize>)> {
    let stages = doc.stage_list();
    let first = stages.first()?;
    // Global ARGs could change the FROM: leave such files alone.
    if !doc.global_args().is_empty() {
        return None;
    }
    let from = &doc.instructions[first.from];
    if from.flags.iter().any(|f| f.name() == "platform") {
        return None;
    }
    let (image, _) = from.from_image()?;
    if image.contains('$') || image.eq_ignore_ascii_case("scratch") {
        return None;
    }
    let mut idx = vec![first.from];
    for i in first.body.clone() {
        if is_system_install(&doc.instructions[i]) {
            idx.push(i);
        } else {
            break;
        }
    }
    (idx.len() > 1).then(|| (image.to_string(), first.name.clone(), idx))
}

/// Whitespace-insensitive text of an instruction, for grouping.
fn key_text(ins: &Instruction) -> String {
    ins.line.text().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Groups of two or more planned Dockerfiles with the same start, largest first.
pub fn find(plans: &[(FilePlan, Vec<String>)]) -> Vec<SharedBase> {
    let mut groups: Vec<(Vec<String>, SharedBase)> = Vec::new();
    for (p, services) in plans {
        let name = p.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !crate::discover::is_dockerfile_name(&name) {
            continue;
        }
        // What the Dockerfile is after this run's fixes.
        let Ok(doc) = dockfix_syntax::parse(&p.outcome.fixed) else { continue };
        let Some((image, stage_name, idx)) = start(&doc) else { continue };
        // The FROM's stage name does not matter; the rest must be the same.
        let mut key = vec![image.clone()];
        key.extend(idx[1..].iter().map(|&i| key_text(&doc.instructions[i])));
        let member = Member {
            dockerfile: p.path.clone(),
            services: services.clone(),
            stage_name,
            ranges: idx.iter().map(|&i| whole_lines(&doc, i)).collect(),
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.members.push(member),
            None => {
                let instructions = idx[1..].iter().map(|&i| source_text(&doc, i)).collect();
                groups.push((key, SharedBase { image, instructions, members: vec![member] }));
            }
        }
    }
    let mut out: Vec<SharedBase> = groups.into_iter().map(|(_, g)| g).filter(|g| g.members.len() > 1).collect();
    out.sort_by(|a, b| b.members.len().cmp(&a.members.len()).then(a.image.cmp(&b.image)));
    out
}

fn whole_lines(doc: &Document, i: usize) -> Range<usize> {
    let ins = &doc.instructions[i];
    let src = doc.source();
    let mut end = ins.span.end;
    while end < src.len() && src[end] != b'\n' {
        end += 1;
    }
    if end < src.len() {
        end += 1;
    }
    ins.span.start..end
}

fn source_text(doc: &Document, i: usize) -> String {
    let r = whole_lines(doc, i);
    String::from_utf8_lossy(&doc.source()[r]).into_owned()
}

/// The image name for a base written to `path`: `local/<name>` from the
/// file name (`base.Dockerfile` → `local/base`; `docker/base/Dockerfile` →
/// `local/base`).
pub fn image_name(path: &Path) -> String {
    let file = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let stem = if file == "dockerfile" {
        path.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().to_ascii_lowercase())
    } else {
        Some(file.trim_end_matches(".dockerfile").trim_start_matches("dockerfile.").to_string())
    };
    let slug: String = stem
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' })
        .collect();
    let slug = slug.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    format!("local/{}", if slug.is_empty() { "base" } else { slug })
}

/// The base Dockerfile's text.
pub fn base_dockerfile(g: &SharedBase, image: &str, path: &Path) -> String {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut s = String::from("# Shared base, written by `dockfix apply --extract-base`. Build it before the\n");
    s.push_str("# services that start FROM it:\n");
    s.push_str(&format!("#   docker build -t {image} -f {} {}\n", path.display(), dir.display()));
    s.push_str("# Used by:");
    for m in &g.members {
        s.push_str(&format!(" {}", m.dockerfile.display()));
    }
    s.push('\n');
    s.push_str(&format!("FROM {}\n", g.image));
    for i in &g.instructions {
        s.push_str(i);
        if !i.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

/// A member's Dockerfile starting `FROM image` instead of the common start.
pub fn rewrite_member(source: &[u8], m: &Member, image: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(source.len());
    let mut at = 0;
    for (k, r) in m.ranges.iter().enumerate() {
        out.extend_from_slice(&source[at..r.start]);
        if k == 0 {
            let eol = if source[r.clone()].ends_with(b"\r\n") { "\r\n" } else { "\n" };
            let kw = String::from_utf8_lossy(&source[r.start..r.start + 4]).into_owned();
            let as_kw = if kw == "from" { "as" } else { "AS" };
            let name = m.stage_name.as_ref().map(|n| format!(" {as_kw} {n}")).unwrap_or_default();
            out.extend_from_slice(format!("{kw} {image}{name}{eol}").as_bytes());
        }
        at = r.end;
    }
    out.extend_from_slice(&source[at..]);
    out
}

/// The report of a batch run: one paragraph per group.
pub fn text(groups: &[SharedBase]) -> String {
    let mut s = String::new();
    for g in groups {
        s.push_str(&format!(
            "shared base: {} Dockerfiles start with `FROM {}` and the same {}:\n",
            g.members.len(),
            g.image,
            if g.instructions.len() == 1 {
                "system-package install".to_string()
            } else {
                format!("{} system-package installs", g.instructions.len())
            }
        ));
        for m in &g.members {
            let svc = if m.services.is_empty() { String::new() } else { format!(" ({})", m.services.join(", ")) };
            s.push_str(&format!("  {}{svc}\n", m.dockerfile.display()));
        }
        s.push_str(
            "  each builds these layers itself; a shared base image builds them once and every service reuses it\n",
        );
        s.push_str("  fix: `dockfix apply --extract-base docker/base.Dockerfile` writes the base and points the services at it (display-only)\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(path: &str, src: &str) -> (FilePlan, Vec<String>) {
        let outcome = dockfix_core::engine::Outcome {
            source: src.as_bytes().to_vec(),
            fixed: src.as_bytes().to_vec(),
            findings: Vec::new(),
            files: Vec::new(),
            dropped: Vec::new(),
            rounds: 1,
            converged: true,
            unused_suppressions: Vec::new(),
        };
        (FilePlan { path: PathBuf::from(path), service: dockfix_core::Service::for_dockerfile(path), outcome }, vec![])
    }

    const A: &str = "FROM python:3.12-slim\n# system libraries\nRUN apt-get update && apt-get install -y --no-install-recommends libpq5 \\\n    && rm -rf /var/lib/apt/lists/*\nWORKDIR /app\nCOPY . .\n";
    const B: &str = "FROM python:3.12-slim AS runtime\nRUN apt-get update &&   apt-get install -y --no-install-recommends libpq5 \\\n && rm -rf /var/lib/apt/lists/*\nWORKDIR /srv\n";

    #[test]
    fn groups_and_rewrites() {
        let plans = vec![
            plan("a/Dockerfile", A),
            plan("b/Dockerfile", B),
            plan("c/Dockerfile", "FROM python:3.12-slim\nRUN pip install x\n"),
        ];
        let groups = find(&plans);
        assert_eq!(groups.len(), 1);
        let g = &groups[0];
        assert_eq!(g.members.len(), 2);
        let img = image_name(Path::new("docker/base.Dockerfile"));
        assert_eq!(img, "local/base");
        let base = base_dockerfile(g, &img, Path::new("docker/base.Dockerfile"));
        assert!(base.contains("FROM python:3.12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends libpq5 \\\n    && rm -rf /var/lib/apt/lists/*\n"), "{base}");
        let a = String::from_utf8(rewrite_member(A.as_bytes(), &g.members[0], &img)).unwrap();
        assert_eq!(a, "FROM local/base\n# system libraries\nWORKDIR /app\nCOPY . .\n");
        let b = String::from_utf8(rewrite_member(B.as_bytes(), &g.members[1], &img)).unwrap();
        assert_eq!(b, "FROM local/base AS runtime\nWORKDIR /srv\n");
        assert!(text(&groups).contains("2 Dockerfiles start with `FROM python:3.12-slim`"));
    }

    #[test]
    fn different_installs_do_not_group() {
        let b = B.replace("libpq5", "libpq5 curl");
        assert!(find(&[plan("a/Dockerfile", A), plan("b/Dockerfile", &b)]).is_empty());
        let global_arg = format!("ARG V=1\n{A}");
        assert!(find(&[plan("a/Dockerfile", &global_arg), plan("b/Dockerfile", B)]).is_empty());
    }
}
