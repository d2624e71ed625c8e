//! Several requirement files in one `pip install`: one layer each, the
//! file that changes least often first (by the repository's git history
//! when there is one, the command's order otherwise), so a change to one
//! file re-installs only its own layer and the ones after it.

use dockfix_core::layout;
use dockfix_core::walk::Workdir;
use dockfix_core::{Edit, Finding, Fix};
use dockfix_syntax::Kind;

use crate::context::join;
use crate::image::{provider, read_copy, Provided};
use crate::python::{self, Tool};
use crate::reqs::ReqFile;
use crate::{dir_of, join_and, keyword, same_state, RunSite, Scan, NAME};

/// One requirement file of the install.
struct File {
    /// The `-r` option word and the value word (the same when attached).
    opt: usize,
    value: usize,
    /// Context path.
    ctx: String,
    /// Where it is in the image.
    image: Workdir,
    prov: Provided,
    req: ReqFile,
    /// Context paths of the files it includes, transitively.
    includes: Vec<(String, Workdir)>,
}

pub fn check(scan: &mut Scan<'_>, site: &RunSite<'_>) {
    let run = site.run;
    if !run.editable || run.json || run.compound || run.cmds.is_empty() {
        return;
    }
    // The install is the last command; what comes before it (`pip install
    // --upgrade pip &&`) only installs named packages, and goes with the
    // first layer.
    let pc = run.cmds.len() - 1;
    let cmd = &run.cmds[pc];
    let setup_only = run.cmds[..pc].iter().all(|c| {
        c.before.is_none_or(|op| op == dockfix_syntax::shell::Op::And)
            && python::classify(c, site.state).is_some_and(|p| {
                p.tool == Tool::Pip
                    && p.verb_name == "install"
                    && python::pip_project(&p).is_none()
                    && !p.p.has(&[
                        "-r",
                        "--requirement",
                        "--requirements",
                        "-c",
                        "--constraint",
                        "--constraints",
                        "-e",
                        "--editable",
                    ])
            })
    });
    if !setup_only || (pc > 0 && cmd.before != Some(dockfix_syntax::shell::Op::And)) {
        return;
    }
    let prefix: Vec<String> = run.cmds[..pc]
        .iter()
        .map(|c| {
            let mut p: Vec<String> = c.assigns.iter().map(|(k, v)| format!("{k}={}", layout::quote_arg(v))).collect();
            p.extend(c.raw.iter().cloned());
            p.join(" ")
        })
        .collect();
    let Some(py) = python::classify(cmd, site.state) else { return };
    if py.tool != Tool::Pip || py.verb_name != "install" || python::pip_project(&py).is_some() || py.args().count() > 0
    {
        return;
    }
    if site.ins.flags_named("mount").any(|f| f.value().is_some_and(|v| v.contains("type=bind") || !v.contains("type=")))
    {
        return;
    }
    let opts: Vec<(usize, String)> =
        py.p.opts
            .iter()
            .filter(|(_, n, _)| matches!(n.as_str(), "-r" | "--requirement" | "--requirements"))
            .filter_map(|(i, _, v)| v.clone().map(|v| (*i, v)))
            .collect();
    if opts.len() < 2 {
        return;
    }
    let doc = scan.doc;
    let at_prov = |path: &Workdir| provider(doc, scan.view, site.chain, site.idx, path);
    let mut files: Vec<File> = Vec::new();
    for (i, v) in &opts {
        let attached = !matches!(cmd.words[*i].as_str(), "-r" | "--requirement" | "--requirements");
        let value = if attached { *i } else { i + 1 };
        let Some(x) = site.state.expand(v) else { return };
        let image = cmd.cwd.join(&x);
        let Some(prov) = at_prov(&image) else { return };
        if prov.mount || !site.stage.body.contains(&prov.idx) {
            return;
        }
        // A copy of a whole directory of sources is `reorder`'s to move first.
        if prov.source != prov.file && !prov.source.contains(['*', '?', '[']) && !requirements_dir(scan, &prov.source) {
            return;
        }
        let Some(text) = scan.view.read(&prov.file) else { return };
        let req = ReqFile::parse(&text);
        if req.local.is_some() {
            return;
        }
        // What it includes must be in the image too, next to it.
        let mut includes = Vec::new();
        let mut queue: Vec<(String, Workdir, ReqFile)> = vec![(prov.file.clone(), image.clone(), req.clone())];
        while let Some((f, img, r)) = queue.pop() {
            for (_, inc) in &r.includes {
                let ctx = join(dir_of(&f), inc);
                let img_inc = parent(&img).join(inc);
                let Some(p) = at_prov(&img_inc) else { return };
                if p.file != ctx || includes.iter().any(|(c, _)| c == &ctx) {
                    continue;
                }
                let Some(t) = scan.view.read(&ctx) else { return };
                includes.push((ctx.clone(), img_inc.clone()));
                queue.push((ctx, img_inc, ReqFile::parse(&t)));
            }
        }
        files.push(File { opt: *i, value, ctx: prov.file.clone(), image, prov, req, includes });
    }
    // Constraint files of the command go with the first layer.
    let mut constraints: Vec<(String, Workdir)> = Vec::new();
    for (_, v) in py.p.values(&["-c", "--constraint", "--constraints"]) {
        let Some(x) = site.state.expand(&v) else { return };
        let image = cmd.cwd.join(&x);
        let Some(p) = at_prov(&image) else { return };
        constraints.push((p.file, image));
    }

    // Where the layers go: before the first copy of one of the files.
    let Some(p_idx) = files.iter().map(|f| f.prov.idx).min() else { return };
    let Some(p_state) = site.chain.state(p_idx) else { return };
    let mut label: Vec<String> = cmd.raw.iter().take(py.verb + 1).filter(|w| !w.starts_with("--")).cloned().collect();
    label.extend(opts.iter().map(|(_, v)| format!("-r {v}")));
    let label = label.join(" ");
    let message = format!("`{label}` installs {} requirement files in one layer", files.len());
    let blocker = if !same_state(p_state, site.state) {
        Some(format!("the environment changes between `{}` and the install", crate::one_line(&doc.instructions[p_idx])))
    } else {
        crate::image::between(site.chain, p_idx, site.idx)
            .map(|(i, _)| &doc.instructions[*i])
            .find(|ins| !matches!(ins.kind, Kind::Copy | Kind::Add | Kind::Label | Kind::Expose))
            .map(|ins| format!("`{}` runs between the copy of the files and the install", crate::one_line(ins)))
    };
    if let Some(b) = blocker {
        scan.out.push(
            Finding::new(NAME, site.ins.span.clone(), message)
                .why(format!(
                    "BuildKit caches a RUN as a whole: a change to any of the {} files re-installs all of them. One layer per file would keep the others cached, but {b}, and the new layers would have to go before it, so dockfix leaves the install as it is.",
                    files.len()
                ))
                .fix(Fix::display_only("Install each requirement file in its own step, right after its copy")),
        );
        return;
    }

    // The order: least changed first, by git history when there is one.
    let effective = |f: &File, counts: &dyn Fn(&str) -> Option<usize>| -> Option<usize> {
        let own = counts(&f.ctx)?;
        let mut m = own;
        for (c, _) in &f.includes {
            m = m.max(counts(c)?);
        }
        Some(m)
    };
    let history = scan.cx.history;
    let count = |ctx: &str| -> Option<usize> { history?.commit_count(&scan.cx.context_path(ctx)?) };
    let counts: Option<Vec<usize>> = files.iter().map(|f| effective(f, &count)).collect();
    let mut order: Vec<usize> = (0..files.len()).collect();
    let order_note = match (&counts, history) {
        (Some(c), Some(h)) => {
            order.sort_by_key(|&k| c[k]);
            let listed: Vec<String> = order
                .iter()
                .enumerate()
                .map(|(n, &k)| {
                    if n == 0 {
                        format!("{} changed {}×", files[k].ctx, c[k])
                    } else {
                        format!("{} {}×", files[k].ctx, c[k])
                    }
                })
                .collect();
            let ties = if order.iter().map(|&k| c[k]).collect::<std::collections::BTreeSet<_>>().len() < files.len() {
                " Files that changed as often keep the order of the command."
            } else {
                ""
            };
            format!("Order, from the {}: {}.{ties}", h.describe(), listed.join(", "))
        }
        _ => {
            "There is no git history to tell how often each file changes, so the layers keep the order of the command."
                .to_string()
        }
    };
    let changed = order.iter().enumerate().any(|(n, &k)| n != k);

    // The layers before the last: a copy of the file (and what it needs
    // that is not there yet) and an install of it alone.
    let p_ins = &doc.instructions[p_idx];
    let p_copy = read_copy(p_ins, p_state);
    let copy_flags = p_copy.as_ref().map(|c| c.flags.clone()).unwrap_or_default();
    let mut copied: Vec<String> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let last = *order.last().expect("two files or more");
    for (n, &k) in order.iter().enumerate() {
        let f = &files[k];
        let mut need: Vec<(String, Workdir)> = Vec::new();
        if n == 0 {
            need.extend(constraints.iter().cloned());
        }
        need.extend(f.includes.iter().cloned());
        need.push((f.ctx.clone(), f.image.clone()));
        need.retain(|(c, _)| !copied.contains(c));
        if k == last {
            break;
        }
        let mut by_dir: Vec<(String, Vec<String>)> = Vec::new();
        for (c, img) in &need {
            let dir = parent(img);
            let written = p_copy
                .as_ref()
                .filter(|pc| pc.into_dir && pc.dest == dir)
                .and_then(|_| p_ins.arg_values().last().map(|d| d.to_string()));
            let Some(dest) = written.or_else(|| dest_dir(&dir, &site.state.workdir)) else { return };
            match by_dir.iter_mut().find(|(d, _)| *d == dest) {
                Some((_, v)) => v.push(layout::quote_arg(c)),
                None => by_dir.push((dest, vec![layout::quote_arg(c)])),
            }
            copied.push(c.clone());
        }
        for (dest, srcs) in by_dir {
            let mut w = vec![keyword(doc, Kind::Copy)];
            w.extend(copy_flags.iter().cloned());
            w.extend(srcs);
            w.push(dest);
            lines.push(w.join(" "));
        }
        // The install of this file alone: the other `-r` words left out.
        let drop: Vec<usize> = files.iter().filter(|o| o.opt != f.opt).flat_map(|o| [o.opt, o.value]).collect();
        let mut parts: Vec<String> = cmd.assigns.iter().map(|(k, v)| format!("{k}={}", layout::quote_arg(v))).collect();
        parts.extend(cmd.raw.iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, w)| w.clone()));
        let mut w = vec![keyword(doc, Kind::Run)];
        w.extend(site.ins.flags.iter().map(|fl| site.ins.text_of(&fl.span).to_string()));
        if n == 0 {
            w.extend(prefix.iter().map(|c| format!("{c} &&")));
        }
        w.push(parts.join(" "));
        lines.push(w.join(" "));
    }
    let ind = layout::indent(doc, p_ins);
    let eol = layout::eol(doc);
    let text: String = lines.iter().map(|l| format!("{ind}{l}{eol}")).collect();
    let mut edits = vec![Edit::insert(p_ins.lines.start, text)];

    // The setup commands moved to the first layer.
    if pc > 0 {
        let (Some(first), Some(install)) = (run.cmds[0].spans.first(), cmd.spans.first()) else { return };
        edits.push(Edit::delete(first.start..install.start));
    }
    // The install keeps the last file only.
    for f in files.iter().filter(|f| f.opt != files[last].opt) {
        let (Some(prev), Some(end)) = (cmd.spans.get(f.opt.wrapping_sub(1)), cmd.spans.get(f.value)) else { return };
        edits.push(Edit::delete(prev.end..end.end));
    }
    // A copy that names the files one by one loses the ones copied already.
    if let Some(c) = &p_copy {
        let explicit = c.sources.iter().all(|s| !s.contains(['*', '?', '[']) && scan.view.is_file(s));
        let dir_dest = p_ins.arg_values().last().is_some_and(|d| d.ends_with('/') || *d == "." || *d == "./");
        let keep: Vec<usize> = (0..c.sources.len()).filter(|&k| !copied.contains(&c.sources[k])).collect();
        if explicit && dir_dest && !keep.is_empty() && keep.len() < c.sources.len() {
            // Runs of dropped sources: after a kept one, from its end; at the
            // start, up to the next argument.
            let spans: Vec<Option<dockfix_syntax::Span>> = p_ins.args.iter().map(|a| a.span.clone()).collect();
            let mut k = 0;
            while k < c.sources.len() {
                if keep.contains(&k) {
                    k += 1;
                    continue;
                }
                let mut b = k;
                while b + 1 < c.sources.len() && !keep.contains(&(b + 1)) {
                    b += 1;
                }
                let range = if k > 0 {
                    spans[k - 1].as_ref().zip(spans[b].as_ref()).map(|(p, e)| p.end..e.end)
                } else {
                    spans[0].as_ref().zip(spans.get(b + 1).and_then(|s| s.as_ref())).map(|(s, n)| s.start..n.start)
                };
                let Some(r) = range else { return };
                edits.push(Edit::delete(p_ins.source_range(r)));
                k = b + 1;
            }
        }
    }

    // Safe when every file is a complete lock and no package is pinned twice
    // to different versions: installing them one after the other then ends
    // with the same packages as one resolution of all of them.
    let mut unsafe_why: Vec<String> = Vec::new();
    for f in &files {
        if f.req.lock_evidence(&f.ctx).is_none() {
            unsafe_why.push(format!("{} is not a complete lock", f.ctx));
        }
    }
    for (a, fa) in files.iter().enumerate() {
        for fb in &files[a + 1..] {
            for e in &fa.req.entries {
                if let Some(o) = fb.req.pin_of(&e.req.name) {
                    if o.req.specifier != e.req.specifier || o.req.url != e.req.url {
                        unsafe_why.push(format!("{} and {} pin `{}` differently", fa.ctx, fb.ctx, e.req.name));
                    }
                }
            }
        }
    }
    let names: Vec<String> = order.iter().map(|&k| files[k].ctx.clone()).collect();
    let mut why = format!(
        "BuildKit caches a RUN as a whole: a change to any of the {} files re-installs all of them. One layer per file, the one that changes least often first, keeps the layers before a changed file cached. {order_note}",
        files.len()
    );
    if !changed && counts.is_some() {
        why.push_str(" That is the order of the command already.");
    }
    let title = format!("Install {} in {} layers", join_and(&names), files.len());
    let fix = if unsafe_why.is_empty() {
        why.push_str(" Every file is a complete lock and no package is pinned twice, so installing them one after the other gives the same packages as one install.");
        Fix::safe(title, edits)
    } else {
        why.push_str(&format!(
            " The fix is unsafe: {}, so pip resolving each file on its own may pick other versions than one resolution of all of them.",
            join_and(&unsafe_why)
        ));
        Fix::unsafe_(title, edits)
    };
    let last_name = &files[last].ctx;
    let before: Vec<String> = order.iter().filter(|&&k| k != last).map(|&k| files[k].ctx.clone()).collect();
    scan.out.push(
        Finding::new(NAME, site.ins.span.clone(), message)
            .why(why)
            .gain(format!(
                "A change to {last_name} re-installs only its own layer; the layer{} of {} stay{} cached.",
                if before.len() == 1 { "" } else { "s" },
                join_and(&before),
                if before.len() == 1 { "s" } else { "" }
            ))
            .fix(fix),
    );
}

/// A context directory that holds requirement files only.
fn requirements_dir(scan: &Scan<'_>, dir: &str) -> bool {
    let cx = scan.view.cx();
    let Some(p) = cx.context_path(dir) else { return false };
    let entries = cx.fs.list(&p);
    !entries.is_empty()
        && entries.iter().all(|e| {
            !e.is_dir
                && (e.name.ends_with(".txt")
                    || e.name.ends_with(".in")
                    || e.name.ends_with(".lock")
                    || e.name.starts_with('.'))
        })
}

fn parent(p: &Workdir) -> Workdir {
    match p {
        Workdir::Abs(s) => {
            Workdir::Abs(s.rsplit_once('/').map(|(d, _)| if d.is_empty() { "/" } else { d }).unwrap_or("/").to_string())
        }
        Workdir::Base(s) => Workdir::Base(s.rsplit_once('/').map(|(d, _)| d).unwrap_or("").to_string()),
        Workdir::Unknown => Workdir::Unknown,
    }
}

/// A COPY destination for a directory of the image, relative to the
/// working directory when it is inside it.
fn dest_dir(dir: &Workdir, workdir: &Workdir) -> Option<String> {
    match dir.relative_to(workdir) {
        Some(r) if r.is_empty() => Some("./".into()),
        Some(r) => Some(format!("{r}/")),
        None => match dir {
            Workdir::Abs(a) if a == "/" => Some("/".into()),
            Workdir::Abs(a) => Some(format!("{a}/")),
            _ => None,
        },
    }
}
