//! Narrowing: a manifest copy that also copies a file the install does
//! not read (a README), while a source copy after the install brings it.

use dockfix_core::walk::Workdir;
use dockfix_core::{Edit, Finding, Fix};
use dockfix_syntax::Kind;

use crate::commands::{analyze, Install, Project};
use crate::edits::one_line;
use crate::{BroadCopy, Planner, NAME};

impl Planner<'_> {
    /// A manifest copy that also copies a file the install does not read
    /// (a README), while a source copy after the install brings it anyway.
    pub(crate) fn narrow(&self, idx: usize) -> Option<Finding> {
        let doc = self.doc;
        let ins = &doc.instructions[idx];
        if !matches!(ins.kind, Kind::Copy | Kind::Add) || !ins.heredocs.is_empty() || ins.json {
            return None;
        }
        if ins.flags.iter().any(|f| !matches!(f.name(), "chown" | "chmod" | "link")) {
            return None;
        }
        let state = self.state(idx);
        let args = &ins.args;
        if args.len() < 3 {
            return None;
        }
        let (srcs, dest) = args.split_at(args.len() - 1);
        let dest_dir = state.workdir.join(&state.expand(&dest[0].value)?);
        let mut files: Vec<(usize, String, Workdir)> = Vec::new();
        for (k, a) in srcs.iter().enumerate() {
            let v = a.value.as_str();
            if v.contains(['*', '?', '[', '$']) || v.contains("://") || v.ends_with('/') {
                return None;
            }
            let ctx = v.trim_start_matches("./").to_string();
            if !self.view.is_file(&ctx) {
                return None;
            }
            let base = ctx.rsplit('/').next().unwrap_or(&ctx).to_string();
            files.push((k, ctx, dest_dir.join(&base)));
        }
        // The install this copy feeds.
        let mut install: Option<(usize, Install)> = None;
        for j in idx + 1..self.body.end {
            let other = &doc.instructions[j];
            match other.kind {
                Kind::Run => {
                    let a = analyze(other, self.state(j), &dest_dir, &self.facts);
                    if let Some((_, i)) =
                        a.installs().find(|(_, i)| i.reads.iter().any(|r| files.iter().any(|(_, _, p)| *p == r.path)))
                    {
                        if i.project == Project::DepsOnly && a.blockers().next().is_none() {
                            install = Some((j, i.clone()));
                        }
                        break;
                    }
                    if a.blockers().next().is_some() {
                        return None;
                    }
                }
                Kind::Onbuild | Kind::Volume => return None,
                _ => {}
            }
        }
        let (run_idx, inst) = install?;
        let unread: Vec<&(usize, String, Workdir)> =
            files.iter().filter(|(_, ctx, p)| is_doc_file(ctx) && !inst.reads.iter().any(|r| r.path == *p)).collect();
        if unread.is_empty() || unread.len() == files.len() {
            return None;
        }
        // A later source copy brings the same files to the same place, and
        // nothing before it reads them.
        let mut provided = false;
        for j in run_idx + 1..self.body.end {
            let other = &doc.instructions[j];
            if let Some(b) = BroadCopy::new(self.cx, other, self.state(j)) {
                provided = unread.iter().all(|(_, ctx, p)| b.context_path(p).as_deref() == Some(ctx.as_str()));
                break;
            }
            if other.kind == Kind::Run {
                let a = analyze(other, self.state(j), &dest_dir, &self.facts);
                if a.blockers().next().is_some() || a.installs().any(|(_, i)| i.project != Project::DepsOnly) {
                    return None;
                }
            }
            if matches!(other.kind, Kind::Onbuild | Kind::Volume) {
                return None;
            }
        }
        if !provided {
            return None;
        }
        let mut edits = Vec::new();
        for (k, _, _) in &unread {
            let k = *k;
            let this = args[k].span.clone()?;
            let span =
                if k > 0 { args[k - 1].span.clone()?.end..this.end } else { this.start..args[1].span.clone()?.start };
            if !ins.line.is_contiguous(span.clone()) {
                return None;
            }
            edits.push(Edit::delete(ins.source_range(span)));
        }
        let names: Vec<String> = unread.iter().map(|(_, c, _)| c.clone()).collect();
        let list = names.join(", ");
        let verb = if names.len() == 1 { "changes" } else { "change" };
        Some(
            Finding::new(
                NAME,
                ins.span.clone(),
                format!("`{}` copies {list}, which `{}` does not read", one_line(ins), inst.label),
            )
            .why(format!(
                "A step's cache key covers every file copied before it: each edit to {list} re-runs `{}`, although the install never reads {}. The source copy after it brings {list} anyway.",
                inst.label,
                if names.len() == 1 { "it" } else { "them" }
            ))
            .gain(format!("`{}` stays cached when {list} {verb}.", inst.label))
            .fix(Fix::safe(format!("Copy {list} with the sources only"), edits)),
        )
    }
}

/// Files the narrowing may leave to the source copy.
fn is_doc_file(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    let upper = base.to_ascii_uppercase();
    [
        "README",
        "CHANGELOG",
        "CHANGES",
        "HISTORY",
        "NEWS",
        "AUTHORS",
        "CONTRIBUTING",
        "LICENSE",
        "LICENCE",
        "COPYING",
        "NOTICE",
    ]
    .iter()
    .any(|p| upper.starts_with(p))
        || upper.ends_with(".MD")
        || upper.ends_with(".RST")
}
