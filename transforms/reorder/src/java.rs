//! Java: maven (`pom.xml`, `.mvn/`, the wrapper; `mvn dependency:go-offline`)
//! and gradle (build and settings scripts, `gradle.properties`, `gradle/`,
//! the wrapper, `buildSrc/`; `gradle dependencies`). A `mvn package` straight
//! after the source copy downloads every dependency again on each edit: a
//! `dependency:go-offline` step after copying the poms keeps them cached.

use crate::commands::{Build, Check, Cmdx, Install, Parsed, Read, Role};
use crate::context::{join, join_within, Checked, Scope};

/// A maven build that downloads what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MavenBuild {
    /// The program as written (`mvn`, `./mvnw`).
    pub program: String,
    /// The wrapper script, when the program is one (`mvnw`).
    pub wrapper: Option<String>,
    /// Options to keep for the download step, as written.
    pub opts: Vec<String>,
    /// `-o`: nothing is downloaded.
    pub offline: bool,
    /// `-f`: the pom, relative to the working directory.
    pub pom: Option<String>,
    /// `-s`/`-gs` settings files given by path.
    pub settings: Vec<String>,
}

const MVN_VALUE_OPTS: &[&str] = &[
    "-f",
    "--file",
    "-s",
    "--settings",
    "-gs",
    "--global-settings",
    "-P",
    "--activate-profiles",
    "-pl",
    "--projects",
    "-rf",
    "--resume-from",
    "-T",
    "--threads",
    "-D",
    "--define",
    "-l",
    "--log-file",
    "-t",
    "--toolchains",
    "-gt",
    "--global-toolchains",
    "-b",
    "--builder",
    "--color",
];

/// Goals that only resolve and download.
fn is_download_goal(g: &str) -> bool {
    let last = g.rsplit(':').next().unwrap_or(g);
    let plugin = g.starts_with("dependency:") || g.contains("maven-dependency-plugin:");
    (plugin && matches!(last, "go-offline" | "resolve" | "resolve-plugins" | "resolve-sources" | "tree"))
        || (g.contains("go-offline-maven-plugin") && last == "resolve-dependencies")
}

pub fn classify(x: &Cmdx<'_>) -> Option<Role> {
    match x.cmd.name() {
        "mvn" | "mvnw" | "mvnd" => Some(maven(x)),
        "gradle" | "gradlew" => Some(gradle(x)),
        _ => None,
    }
}

fn maven(x: &Cmdx<'_>) -> Role {
    let w = x.words();
    let p = Parsed::parse(w, 1, MVN_VALUE_OPTS);
    let goals: Vec<&str> = p.args.iter().map(|(_, a)| a.as_str()).collect();
    if goals.is_empty() {
        return Role::neutral();
    }
    let wrapper = (x.cmd.name() == "mvnw").then(|| w[0].clone());
    let pom = p.value(&["-f", "--file"]).map(str::to_string);
    let settings: Vec<String> =
        p.values(&["-s", "--settings", "-gs", "--global-settings"]).map(str::to_string).collect();
    if goals.iter().all(|g| is_download_goal(g)) {
        let dir = match &pom {
            Some(f) if f.ends_with(".xml") => parent_of(x.path(f)),
            Some(d) => x.path(d),
            None => x.cwd().clone(),
        };
        let mut inst = Install::new("maven", x.label(), dir.clone());
        let pom_path = match &pom {
            Some(f) if f.ends_with(".xml") => x.path(f),
            _ => dir.join("pom.xml"),
        };
        inst.reads.push(Read::required(pom_path));
        inst.reads.push(Read::optional(dir.join(".mvn")));
        if let Some(wr) = &wrapper {
            inst.reads.push(Read::required(x.path(wr)));
        }
        for s in &settings {
            inst.reads.push(Read::required(x.path(s)));
        }
        inst.check = Check::Maven;
        return Role::Install(inst);
    }
    let offline = p.has(&["-o", "--offline"]);
    let mut opts = Vec::new();
    let mut skip_next = false;
    for (i, (word, raw)) in w.iter().zip(&x.cmd.raw).enumerate().skip(1) {
        if skip_next {
            skip_next = false;
            continue;
        }
        if !word.starts_with('-') {
            continue;
        }
        let (name, attached) = crate::commands::flag_parts(word);
        let takes = MVN_VALUE_OPTS.contains(&name) && attached.is_none();
        let drop = matches!(
            name,
            "-pl"
                | "--projects"
                | "-rf"
                | "--resume-from"
                | "-am"
                | "--also-make"
                | "-amd"
                | "--also-make-dependents"
                | "-l"
                | "--log-file"
        ) || ["-DskipTests", "-Dmaven.test.skip", "-DskipITs"].iter().any(|d| word.starts_with(d));
        if !drop {
            opts.push(raw.clone());
            if takes {
                if let Some(v) = x.cmd.raw.get(i + 1) {
                    opts.push(v.clone());
                }
            }
        }
        skip_next = takes;
    }
    Role::Source {
        why: format!("`{}` builds from the sources", x.label()),
        build: Some(Build::Maven(MavenBuild { program: x.cmd.raw[0].clone(), wrapper, opts, offline, pom, settings })),
    }
}

fn parent_of(p: dockfix_core::walk::Workdir) -> dockfix_core::walk::Workdir {
    p.join("..")
}

const GRADLE_VALUE_OPTS: &[&str] = &[
    "-p",
    "--project-dir",
    "-c",
    "--settings-file",
    "-b",
    "--build-file",
    "-x",
    "--exclude-task",
    "-g",
    "--gradle-user-home",
    "-I",
    "--init-script",
    "--console",
    "--warning-mode",
    "--max-workers",
    "--priority",
    "-D",
    "-P",
    "--include-build",
];

fn gradle(x: &Cmdx<'_>) -> Role {
    let w = x.words();
    let p = Parsed::parse(w, 1, GRADLE_VALUE_OPTS);
    let tasks: Vec<&str> = p.args.iter().map(|(_, a)| a.as_str()).collect();
    if tasks.is_empty() {
        return Role::neutral();
    }
    if !tasks.iter().all(|t| {
        matches!(t.trim_start_matches(':'), "dependencies" | "buildEnvironment" | "help" | "androidDependencies")
    }) {
        return Role::source(format!("`{}` builds from the sources", x.label()));
    }
    let dir = match p.value(&["-p", "--project-dir"]) {
        Some(d) => x.path(d),
        None => x.cwd().clone(),
    };
    let wrapper = x.cmd.name() == "gradlew";
    let mut inst = Install::new("gradle", x.label(), dir.clone()).with_known_files("gradle");
    for r in &mut inst.reads {
        r.required = false;
    }
    if !wrapper {
        inst.reads.retain(|r| r.path.relative_to(&dir).is_none_or(|f| f != "gradlew"));
    } else {
        inst.reads.push(Read::required(x.path(&w[0])));
    }
    for f in p.values(&["-b", "--build-file", "-c", "--settings-file", "-I", "--init-script"]) {
        inst.reads.push(Read::required(x.path(f)));
    }
    if p.has(&["--include-build"]) {
        return Role::source(format!("`{}` includes another build from the sources", x.label()));
    }
    inst.check = Check::Gradle;
    Role::Install(inst)
}

/// The text of a pom without comments.
fn strip_xml_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(p) = rest.find("<!--") {
        out.push_str(&rest[..p]);
        rest = match rest[p..].find("-->") {
            Some(e) => &rest[p + e + 3..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// The text of every `<tag>…</tag>` element.
fn elements<'a>(text: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(p) = rest.find(&open) {
        let after = &rest[p + open.len()..];
        let Some(e) = after.find(&close) else { break };
        out.push(after[..e].trim());
        rest = &after[e + close.len()..];
    }
    out
}

/// Why a pom reads more of the sources than poms, if it does.
fn pom_blocker(f: &str, text: &str) -> Option<String> {
    for act in elements(text, "activation") {
        if act.contains("<file>") {
            return Some(format!("`{f}` activates a profile by the presence of a file"));
        }
    }
    if let Some(p) = elements(text, "systemPath").first() {
        return Some(format!("`{f}` has a system-scoped dependency from `{p}`"));
    }
    if let Some(u) = elements(text, "url").into_iter().find(|u| u.starts_with("file:")) {
        return Some(format!("`{f}` uses the local repository `{u}`"));
    }
    None
}

/// Every pom of the build: the root, its modules (recursively) and parents
/// found by `relativePath` inside the copied directory.
fn poms(scope: &Scope<'_>, root: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    let mut queue = std::collections::VecDeque::from([root.to_string()]);
    while let Some(f) = queue.pop_front() {
        if out.contains(&f) {
            continue;
        }
        let Some(text) = scope.view.read(&f) else { return Err(scope.missing(&f)) };
        let text = strip_xml_comments(&text);
        if let Some(why) = pom_blocker(&f, &text) {
            return Err(why);
        }
        let dir = f.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
        out.push(f.clone());
        if out.len() > 13 {
            return Err("the build has more than 12 modules: each one's pom.xml would need its own COPY".to_string());
        }
        for parent in elements(&text, "parent") {
            if let Some(rp) = elements(parent, "relativePath").first().filter(|r| !r.is_empty()) {
                let target = if rp.ends_with(".xml") { rp.to_string() } else { format!("{rp}/pom.xml") };
                if let Some(p) = join_within(&dir, &target).filter(|p| scope.within_copy(p) && scope.view.is_file(p)) {
                    queue.push_back(p);
                }
            }
        }
        for m in elements(&text, "module") {
            let target = if m.ends_with(".xml") { m.to_string() } else { format!("{m}/pom.xml") };
            let Some(p) = join_within(&dir, &target).filter(|p| scope.within_copy(p)) else {
                return Err(format!("`{f}` has the module `{m}`, outside the copied directory"));
            };
            queue.push_back(p);
        }
    }
    Ok(out)
}

/// `dependency:go-offline` after copying the poms: every module's pom is
/// copied too.
pub fn check_maven(scope: &Scope<'_>, _inst: &Install) -> Result<Checked, String> {
    let root = scope.required.first().cloned().unwrap_or_else(|| join(&scope.dir, "pom.xml"));
    let all = poms(scope, &root)?;
    Ok(Checked { extra: all.into_iter().filter(|p| *p != root).collect(), ..Checked::default() })
}

/// What to insert before the sources for a maven build: the files to copy
/// and the download command. `Ok(None)` when nothing would be gained.
pub fn go_offline_step(scope: &Scope<'_>, b: &MavenBuild) -> Result<Option<(Vec<String>, String)>, String> {
    if b.offline {
        return Ok(None);
    }
    let pom = match &b.pom {
        Some(f) if f.ends_with(".xml") => join(&scope.dir, f),
        Some(d) => join(&join(&scope.dir, d), "pom.xml"),
        None => join(&scope.dir, "pom.xml"),
    };
    if !scope.view.is_file(&pom) {
        return Ok(None);
    }
    let all = poms(scope, &pom)?;
    if all.len() > 1 {
        return Err(format!(
            "`{pom}` is a multi-module build: `dependency:go-offline` would look for the modules' own artifacts in the repositories"
        ));
    }
    let mut files = vec![pom];
    let mvn = join(&scope.dir, ".mvn");
    if scope.view.is_dir(&mvn) {
        files.push(mvn);
    }
    if let Some(wr) = &b.wrapper {
        let f = join(&scope.dir, wr);
        if !scope.view.is_file(&f) {
            return Ok(None);
        }
        files.push(f);
    }
    for s in &b.settings {
        if s.starts_with('/') || s.starts_with('~') || s.contains('$') {
            continue;
        }
        let f = join(&scope.dir, s);
        if !scope.view.is_file(&f) {
            return Err(scope.missing(&f));
        }
        files.push(f);
    }
    let mut cmd = vec![b.program.clone()];
    cmd.extend(b.opts.iter().cloned());
    cmd.push("dependency:go-offline".into());
    Ok(Some((files, cmd.join(" "))))
}

/// `include 'a', ':b:c'` / `include("a")` projects of a settings script.
fn gradle_includes(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.split("//").next().unwrap_or("").trim();
        if l.starts_with("includeBuild") {
            return Err("it includes another build (`includeBuild`)".into());
        }
        if l.contains("projectDir") {
            return Err("it moves a project's directory (`projectDir`)".into());
        }
        let Some(rest) = l.strip_prefix("include") else { continue };
        if !rest.starts_with([' ', '(', '\t']) {
            continue;
        }
        let mut q: Option<char> = None;
        let mut cur = String::new();
        for c in rest.chars() {
            match (q, c) {
                (None, '\'' | '"') => q = Some(c),
                (Some(x), c) if c == x => {
                    out.push(cur.trim_start_matches(':').replace(':', "/"));
                    cur.clear();
                    q = None;
                }
                (Some(_), c) => cur.push(c),
                _ => {}
            }
        }
    }
    Ok(out)
}

/// Why a build script reads more than build scripts, if it does.
fn gradle_blocker(f: &str, text: &str) -> Option<String> {
    for needle in ["files(", "fileTree(", "flatDir"] {
        if text.contains(needle) {
            return Some(format!("`{f}` uses local files as dependencies (`{}`)", needle.trim_end_matches('(')));
        }
    }
    None
}

/// `apply from: 'x.gradle'` / `apply(from = "x.gradle.kts")` scripts.
fn applied_scripts(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if !l.starts_with("apply") || !l.contains("from") {
            continue;
        }
        let Some(q) = l.find(['\'', '"']) else { continue };
        let qc = l[q..].chars().next().unwrap_or('"');
        if let Some(end) = l[q + 1..].find(qc) {
            out.push(l[q + 1..q + 1 + end].to_string());
        }
    }
    out
}

/// `gradle dependencies` after copying the build scripts: subprojects'
/// scripts and applied scripts come too.
pub fn check_gradle(scope: &Scope<'_>, _inst: &Install) -> Result<Checked, String> {
    let scripts = ["build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts"];
    if !scripts.iter().any(|s| scope.view.is_file(&join(&scope.dir, s))) {
        return Err(format!(
            "no build script (build.gradle, settings.gradle) is in `{}`",
            if scope.dir.is_empty() { "." } else { &scope.dir }
        ));
    }
    let mut extra = Vec::new();
    let check_script = |f: &str, extra: &mut Vec<String>| -> Result<(), String> {
        let Some(text) = scope.view.read(f) else { return Ok(()) };
        if let Some(why) = gradle_blocker(f, &text) {
            return Err(why);
        }
        let dir = f.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
        for a in applied_scripts(&text) {
            if a.contains("://") {
                continue;
            }
            let Some(p) = join_within(&dir, &a).filter(|p| scope.within_copy(p)) else {
                return Err(format!("`{f}` applies `{a}`, outside the copied directory"));
            };
            if !scope.view.is_file(&p) {
                return Err(scope.missing(&p));
            }
            extra.push(p);
        }
        Ok(())
    };
    for s in scripts {
        check_script(&join(&scope.dir, s), &mut extra)?;
    }
    for s in ["settings.gradle", "settings.gradle.kts"] {
        let f = join(&scope.dir, s);
        let Some(text) = scope.view.read(&f) else { continue };
        let subs = gradle_includes(&text).map_err(|e| format!("`{f}`: {e}"))?;
        if subs.len() > 12 {
            return Err(format!(
                "`{f}` includes {} projects: each one's build script would need its own COPY",
                subs.len()
            ));
        }
        for sub in subs {
            let d = join(&scope.dir, &sub);
            for b in ["build.gradle", "build.gradle.kts"] {
                let p = join(&d, b);
                if scope.view.is_file(&p) {
                    check_script(&p, &mut extra)?;
                    extra.push(p);
                }
            }
        }
    }
    extra.dedup();
    Ok(Checked { extra, ..Checked::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals() {
        assert!(is_download_goal("dependency:go-offline"));
        assert!(is_download_goal("org.apache.maven.plugins:maven-dependency-plugin:3.6.1:go-offline"));
        assert!(!is_download_goal("package"));
    }

    #[test]
    fn pom_parts() {
        let pom = "<project><!-- <module>old</module> --><modules><module>api</module><module>web</module></modules></project>";
        assert_eq!(elements(&strip_xml_comments(pom), "module"), ["api", "web"]);
        assert!(
            pom_blocker("p", "<profile><activation><file><exists>x</exists></file></activation></profile>").is_some()
        );
        assert!(pom_blocker(
            "p",
            "<dependency><scope>system</scope><systemPath>${basedir}/lib/x.jar</systemPath></dependency>"
        )
        .is_some());
    }

    #[test]
    fn gradle_settings() {
        assert_eq!(
            gradle_includes("rootProject.name = 'x'\ninclude 'app', ':lib:core'\ninclude(\"web\")\n").unwrap(),
            ["app", "lib/core", "web"]
        );
        assert!(gradle_includes("includeBuild('build-logic')\n").is_err());
        assert_eq!(applied_scripts("apply from: 'gradle/deps.gradle'\n"), ["gradle/deps.gradle"]);
        assert!(gradle_blocker("b", "implementation files('libs/a.jar')").is_some());
    }
}
