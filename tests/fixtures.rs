//! Fixture tests: `tests/fixtures/<pass>/<case>/` holds a Dockerfile and the
//! files of its build context. Each case runs the pass (for `_combined`,
//! every pass on by default and those the case's `dockfix.toml` enables with
//! `[pass] enabled = true`) with unsafe fixes on, snapshots the findings and the diff
//! (`snapshots/<pass>__<case>.snap`), and checks that
//! - the output parses,
//! - a second run on the output proposes nothing,
//! - no line outside the edits' ranges changed.
//!
//! A case may hold a `dockfix.toml` with `[pass-name]` option tables and
//! `unsafe-fixes = false` (unsafe fixes are on by default in fixtures), and
//! a `.git-history`: one line per commit, oldest first, naming the files it
//! changed; the case then runs in a git repository with that history (the
//! files keep the fixture's content, uncommitted).
//!
//! A case may also hold a `tree.txt` describing files too big (or too
//! awkward, like `.git/`) to commit: one `path size` per line (`size` in
//! bytes, or with a decimal `k`/`M`/`G` suffix; a path ending in `/` is an
//! empty directory; `#` starts a comment). The harness creates them as
//! sparse files in the temporary copy; `tree.txt` itself is not copied.

use std::path::{Path, PathBuf};

use dockfix_cli::plan::{plan_file, Settings};
use dockfix_cli::{registry, render};
use dockfix_core::{Mode, PassOptions};
use libtest_mimic::{Arguments, Failed, Trial};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The file describing generated files of a case.
const TREE: &str = "tree.txt";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() == TREE {
            continue;
        }
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// `1234`, `12k`, `3M`, `2G` (decimal units).
fn parse_size(s: &str) -> Option<u64> {
    let (num, mult) = match s.char_indices().last()? {
        (i, 'k') => (&s[..i], 1_000),
        (i, 'M') => (&s[..i], 1_000_000),
        (i, 'G') => (&s[..i], 1_000_000_000),
        _ => (s, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

/// Creates the files a case's `tree.txt` describes, as sparse files.
fn make_tree(case: &Path, work: &Path) -> Result<(), String> {
    let Ok(text) = std::fs::read_to_string(case.join(TREE)) else {
        return Ok(());
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || format!("{TREE}:{}: expected `path size`, got {line:?}", n + 1);
        let (path, size) = match line.rsplit_once(char::is_whitespace) {
            Some((p, s)) => (p.trim(), parse_size(s).ok_or_else(bad)?),
            None if line.ends_with('/') => (line, 0),
            None => return Err(bad()),
        };
        if path.starts_with('/') || path.split('/').any(|c| c == "..") {
            return Err(bad());
        }
        let target = work.join(path);
        if path.ends_with('/') {
            std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let f = std::fs::File::create(&target).map_err(|e| format!("{}: {e}", target.display()))?;
        f.set_len(size).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The Dockerfile of a case: `Dockerfile`, or the one file named like one.
fn case_dockerfile(dir: &Path) -> Option<PathBuf> {
    let plain = dir.join("Dockerfile");
    if plain.is_file() {
        return Some(plain);
    }
    let mut named: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && dockfix_cli::discover::is_dockerfile_name(&p.file_name().unwrap().to_string_lossy()))
        .collect();
    named.sort();
    named.into_iter().next()
}

/// Pass options from the case's `dockfix.toml` (`[pass-name]` tables), and
/// whether unsafe fixes are on (`unsafe-fixes = false` at the top turns them off).
fn case_options(dir: &Path) -> (PassOptions, bool) {
    let Ok(text) = std::fs::read_to_string(dir.join("dockfix.toml")) else {
        return (PassOptions::default(), true);
    };
    let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut opts = PassOptions::default();
    let mut unsafe_fixes = true;
    for (k, v) in table {
        match v {
            toml::Value::Table(t) => {
                opts.tables.insert(k, t);
            }
            toml::Value::Boolean(b) if k == "unsafe-fixes" => unsafe_fixes = b,
            other => panic!("{}: unexpected key {k} = {other}", dir.display()),
        }
    }
    (opts, unsafe_fixes)
}

fn settings(pass: &str, dir: &Path) -> Settings {
    let (options, unsafe_fixes) = case_options(dir);
    let passes = if pass == "_combined" {
        // What `dockfix` runs with this config: the passes on by default,
        // and those its `[pass] enabled = true` turns on.
        registry::select_with_options(&[], &[], &options).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
    } else {
        vec![registry::find(pass).unwrap_or_else(|| panic!("fixture folder names an unknown pass: {pass}"))]
    };
    Settings { passes, mode: Mode { unsafe_fixes }, options }
}

/// Builds a git repository in `work` whose commits change the files each
/// line of `.git-history` names, then puts the fixture's files back.
fn build_history(work: &Path, fixture: &Path) -> Result<(), Failed> {
    let Ok(script) = std::fs::read_to_string(work.join(".git-history")) else { return Ok(()) };
    let git = |args: &[&str]| -> Result<(), Failed> {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(work)
            .env("GIT_AUTHOR_NAME", "fixture")
            .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
            .env("GIT_COMMITTER_NAME", "fixture")
            .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", work)
            .output()
            .map_err(|e| format!("git {args:?}: {e} (these fixtures need git)"))?;
        if !out.status.success() {
            return Err(format!("git {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok(())
    };
    git(&["init", "-q", "-b", "main"])?;
    let commits: Vec<&str> = script.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    for (n, line) in commits.iter().enumerate() {
        for f in line.split_whitespace() {
            let p = work.join(f);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
            }
            std::fs::write(&p, format!("# revision {n}\n")).map_err(|e| e.to_string())?;
            git(&["add", f])?;
        }
        git(&["commit", "-q", "-m", &format!("change {line}")])?;
    }
    copy_dir(fixture, work);
    Ok(())
}

fn run_case(pass: &str, case: &str, dir: &Path) -> Result<(), Failed> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let work = tmp.path().join(case);
    copy_dir(dir, &work);
    make_tree(dir, &work)?;
    build_history(&work, dir)?;
    let dockerfile = case_dockerfile(&work).ok_or("no Dockerfile in fixture")?;
    let settings = settings(pass, dir);
    let mut plan = plan_file(&dockerfile, &settings).map_err(|e| e.to_string())?;
    let o = &plan.outcome;

    // 1. The output parses.
    dockfix_syntax::parse(&o.fixed).map_err(|e| format!("output does not parse: {e}"))?;

    // 3. Nothing outside the edits changed.
    let before = String::from_utf8_lossy(&o.source).into_owned();
    let after = String::from_utf8_lossy(&o.fixed).into_owned();
    let edit_lines: Vec<std::ops::Range<usize>> =
        o.findings.iter().filter(|r| r.applied).flat_map(|r| r.edit_lines.iter().cloned()).collect();
    untouched_lines_kept(&before, &after, &edit_lines)?;

    // The snapshot: findings and the explained diff.
    let display = PathBuf::from(dockerfile.strip_prefix(&work).unwrap());
    plan.path = display.clone();
    for fc in &mut plan.outcome.files {
        fc.path = fc.path.strip_prefix(&work).map(Path::to_path_buf).unwrap_or(fc.path.clone());
    }
    for r in &mut plan.outcome.findings {
        for e in r.finding.fix.iter_mut().flat_map(|f| f.edits.iter_mut()) {
            if let dockfix_core::fix::Target::File(p) = &mut e.target {
                *p = p.strip_prefix(&work).map(Path::to_path_buf).unwrap_or(p.clone());
            }
        }
    }
    let mut buf = anstream::StripStream::new(Vec::new());
    render::dry_run(&mut buf, &plan).map_err(|e| e.to_string())?;
    let mut snap = String::from_utf8_lossy(&buf.into_inner()).into_owned();
    if snap.is_empty() {
        snap = "(no findings)\n".into();
    }
    let header: Vec<String> = plan
        .outcome
        .findings
        .iter()
        .map(|r| {
            let class = r.finding.fix.as_ref().map_or("none", |f| f.applicability.as_str());
            format!(
                "{}:{} {} [{}{}]",
                r.line,
                r.column,
                r.finding.pass,
                class,
                if r.applied { ", applied" } else { "" }
            )
        })
        .collect();
    let snap = format!("{}\n\n{}", header.join("\n"), snap);

    // 2. A second run on the output proposes nothing.
    if plan.outcome.changed() {
        std::fs::write(&dockerfile, &plan.outcome.fixed).map_err(|e| e.to_string())?;
        for fc in &plan.outcome.files {
            std::fs::write(work.join(&fc.path), &fc.after).map_err(|e| e.to_string())?;
        }
        let again = plan_file(&dockerfile, &settings).map_err(|e| e.to_string())?;
        if again.outcome.changed() {
            let proposals: Vec<String> =
                again.outcome.findings.iter().filter(|r| r.applied).map(|r| r.finding.message.clone()).collect();
            return Err(format!("second run is not empty: {proposals:?}").into());
        }
    }

    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(dir.join(display));
    settings.bind(|| {
        insta::assert_snapshot!(format!("{pass}__{case}"), snap);
    });
    Ok(())
}

/// The lines outside every edit (1-based ranges) are all in the output, in
/// their order: edits may only insert, delete or replace lines inside their
/// ranges. (A line diff cannot tell this when a move swaps two blocks of
/// the same size: it may report the block that stayed as the one that moved.)
fn untouched_lines_kept(before: &str, after: &str, edit_lines: &[std::ops::Range<usize>]) -> Result<(), Failed> {
    dockfix_cli::invariants::untouched_lines_kept(before, after, edit_lines).map_err(Failed::from)
}

fn harness_self_test() -> Result<(), Failed> {
    // Two blocks swapped by edits that cover only the moved one.
    let before = "FROM a\n# c\nCOPY . .\n\n# d\nRUN x\n";
    let after = "FROM a\n\n# d\nRUN y\n# c\nCOPY . .\n";
    untouched_lines_kept(before, after, &[2..5, 6..7])?;
    // A line outside the edits that changed is caught.
    if untouched_lines_kept("FROM a\nRUN x\nCMD y\n", "FROM a\nRUN x\nCMD z\n", std::slice::from_ref(&(2..3))).is_ok() {
        return Err("a changed line went unnoticed".into());
    }
    Ok(())
}

/// `.git-history` gives each file as many commits as lines name it, and
/// leaves the fixture's content in place.
fn history_self_test() -> Result<(), Failed> {
    let fixture = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::create_dir_all(fixture.path().join("req")).map_err(|e| e.to_string())?;
    std::fs::write(fixture.path().join("req/a.txt"), "a==1\n").map_err(|e| e.to_string())?;
    std::fs::write(fixture.path().join(".git-history"), "# comment\nreq/a.txt b.txt\n\nb.txt\n")
        .map_err(|e| e.to_string())?;
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    copy_dir(fixture.path(), work.path());
    build_history(work.path(), fixture.path())?;
    let count = |f: &str| -> Result<String, Failed> {
        let out = std::process::Command::new("git")
            .args(["rev-list", "--count", "HEAD", "--", f])
            .current_dir(work.path())
            .output()
            .map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    if count("req/a.txt")? != "1" || count("b.txt")? != "2" {
        return Err("commits per file do not follow .git-history".into());
    }
    if std::fs::read_to_string(work.path().join("req/a.txt")).map_err(|e| e.to_string())? != "a==1\n" {
        return Err("the fixture's content was not put back".into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let base = root().join("tests/fixtures");
    let mut trials = vec![
        Trial::test("harness::untouched_lines_kept", harness_self_test),
        Trial::test("harness::git_history", history_self_test),
    ];
    let mut passes: Vec<PathBuf> = std::fs::read_dir(&base).unwrap().map(|e| e.unwrap().path()).collect();
    passes.sort();
    for pass_dir in passes.into_iter().filter(|p| p.is_dir()) {
        let pass = pass_dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut cases: Vec<PathBuf> = std::fs::read_dir(&pass_dir).unwrap().map(|e| e.unwrap().path()).collect();
        cases.sort();
        for case_dir in cases.into_iter().filter(|p| p.is_dir()) {
            let case = case_dir.file_name().unwrap().to_string_lossy().into_owned();
            let pass = pass.clone();
            trials.push(Trial::test(format!("{pass}::{case}"), move || {
                std::panic::catch_unwind(|| run_case(&pass, &case, &case_dir)).unwrap_or_else(|e| {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Err(msg.into())
                })
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
