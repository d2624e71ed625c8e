//! Insertion: a build that downloads its dependencies (`go build`, `mvn
//! package`) right after the source copy gets a download step before it.

use std::collections::BTreeSet;

use dockfix_core::layout;
use dockfix_core::walk::State;
use dockfix_core::{Finding, Fix};
use dockfix_syntax::Kind;

use crate::commands::{self, Build, Role, RunAnalysis};
use crate::edits::{display_files, manifest_copies};
use crate::{context, go, java, BroadCopy, Planner, NAME};

pub(crate) enum Insertion {
    /// Not a build the pass knows how to prepare.
    NotApplicable,
    Finding(Finding),
}

impl Planner<'_> {
    /// A build (`go build`, `mvn package`) right after the copy: a download
    /// step goes before the copy.
    pub(crate) fn insertion(
        &self,
        copy_idx: usize,
        copy: &BroadCopy,
        run_idx: usize,
        a: &RunAnalysis,
        done: &BTreeSet<&'static str>,
    ) -> Insertion {
        // The first command that needs the sources (`chmod +x mvnw` before
        // the wrapper runs is part of the build).
        let wrapper_chmod = |c: &commands::Cmd| {
            c.name() == "chmod"
                && c.words
                    .iter()
                    .skip(1)
                    .filter(|w| !w.starts_with(['-', '+']) && !w.chars().all(|ch| ch.is_ascii_digit()))
                    .all(|w| matches!(w.rsplit('/').next(), Some("mvnw" | "gradlew")))
        };
        let Some(j) =
            a.roles.iter().zip(&a.cmds).position(|(r, c)| matches!(r, Role::Source { .. }) && !wrapper_chmod(c))
        else {
            return Insertion::NotApplicable;
        };
        let Role::Source { build: Some(build), .. } = &a.roles[j] else {
            return Insertion::NotApplicable;
        };
        let ins = &self.doc.instructions[run_idx];
        let (manager, noun) = match build {
            Build::Go(_) => ("go", "module"),
            Build::Maven(_) => ("maven", "dependency"),
        };
        if done.contains(manager) {
            return Insertion::NotApplicable;
        }
        // A cache mount already keeps the downloads.
        let keeps_downloads = |v: &str| {
            let target = v.split(',').find_map(|kv| {
                kv.strip_prefix("target=")
                    .or_else(|| kv.strip_prefix("dst="))
                    .or_else(|| kv.strip_prefix("destination="))
            });
            v.contains("type=cache")
                && target.is_some_and(|t| match manager {
                    "go" => t.trim_end_matches('/').ends_with("pkg/mod"),
                    _ => t.contains(".m2"),
                })
        };
        if ins.flags.iter().any(|f| f.name() == "mount" && f.value().is_some_and(keeps_downloads)) {
            return Insertion::NotApplicable;
        }
        let cmd = &a.cmds[j];
        let build_label = cmd.raw.join(" ");
        let copy_range = self.doc.instructions[copy_idx].span.clone();
        let copy_state = self.state(copy_idx);
        let run_state = self.state(run_idx);
        let refuse = |why: String| {
            Insertion::Finding(
                Finding::new(
                    NAME,
                    copy_range.clone(),
                    format!("`{build_label}` after `{}` downloads every {noun} again on each source change", copy.text),
                )
                .why(format!("{why}. dockfix leaves the order as it is."))
                .fix(Fix::display_only("Keep the current order")),
            )
        };
        // The build's directory, in the context; go looks up for go.mod.
        let Some(mut dir) = copy.context_dir_of(&cmd.cwd) else { return Insertion::NotApplicable };
        if manager == "go" {
            let mut d = cmd.cwd.clone();
            while !self.view.is_file(&context::join(&dir, "go.mod")) {
                d = d.join("..");
                match copy.context_dir_of(&d) {
                    Some(up) if up != dir => dir = up,
                    _ => return Insertion::NotApplicable,
                }
            }
        }
        let scope = self.scope(copy, dir.clone(), Vec::new());
        let step = match build {
            Build::Go(b) => go::download_step(&scope, b),
            Build::Maven(b) => java::go_offline_step(&scope, b),
        };
        let (files, mut command) = match step {
            Ok(Some(s)) => s,
            Ok(None) => return Insertion::NotApplicable,
            Err(why) => return refuse(why),
        };
        // The step runs where the copy is: same directory, same settings.
        let cwd_needed = if manager == "go" { copy.image_dir(&dir) } else { cmd.cwd.clone() };
        if cwd_needed != copy_state.workdir {
            return refuse(format!("`{build_label}` runs in another directory than `{}`", copy.text));
        }
        let relevant = |s: &State| -> Vec<(String, String)> {
            s.env
                .iter()
                .filter(|(k, _)| k.starts_with("GO") || k.starts_with("MAVEN") || k.starts_with("JAVA") || *k == "HOME")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        if relevant(copy_state) != relevant(run_state) || copy_state.user != run_state.user {
            return refuse(format!(
                "an ENV or USER between `{}` and `{build_label}` changes how it downloads",
                copy.text
            ));
        }
        // `chmod +x mvnw` before the wrapper runs.
        if let Build::Maven(java::MavenBuild { wrapper: Some(w), .. }) = build {
            let base = w.trim_start_matches("./");
            let chmod = (copy_idx + 1..=run_idx)
                .filter(|&i| self.doc.instructions[i].kind == Kind::Run)
                .flat_map(|i| self.run_analysis(i, copy).cmds)
                .find(|c| c.name() == "chmod" && c.words.iter().skip(1).any(|a| a.trim_start_matches("./") == base));
            if let Some(c) = chmod {
                command = format!("{} && {command}", c.text());
            }
        }
        let mounts: Vec<String> = ins
            .flags
            .iter()
            .filter(|f| {
                f.name() == "mount" && f.value().is_some_and(|v| v.contains("type=secret") || v.contains("type=ssh"))
            })
            .map(|f| ins.text_of(&f.span).to_string())
            .collect();
        let run_kw =
            if self.doc.instructions[copy_idx].keyword.chars().all(|c| c.is_ascii_lowercase()) { "run" } else { "RUN" };
        let mut lines = manifest_copies(self.doc, copy_idx, copy, &files, self.view);
        let mut run_line = vec![run_kw.to_string()];
        run_line.extend(mounts);
        run_line.push(command.clone());
        lines.push(run_line.join(" "));
        let edit = layout::insert_before(self.doc, copy_idx, &lines);
        let list = display_files(copy, &files);
        let download = command.rsplit(" && ").next().unwrap_or(&command).to_string();
        Insertion::Finding(
            Finding::new(
                NAME,
                copy_range,
                format!("`{build_label}` after `{}` downloads every {noun} again on each source change", copy.text),
            )
            .why(format!(
                "BuildKit re-runs every step after the first one whose inputs changed. `{}` changes with any source edit, so `{build_label}` after it starts without the {noun} cache and downloads every {noun} again.",
                copy.text
            ))
            .gain(format!(
                "A source edit re-runs only the build; `{download}` stays cached until {list} {}.",
                if files.len() == 1 { "changes" } else { "change" }
            ))
            .fix(Fix::safe(format!("Copy {list} and run `{download}` before the sources"), vec![edit])),
        )
    }
}
