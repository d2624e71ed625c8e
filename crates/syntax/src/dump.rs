//! The conformance dump: what BuildKit's parser made of a file, in the format
//! of `../shared/conformance/*/EXPECTED.txt`.

use std::fmt::Write;

use crate::ast::{Document, Instruction, Kind};
use crate::parser::parse;
use crate::text::go_quote;

fn quote(s: &str) -> String {
    go_quote(s.as_bytes())
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<String> = items.map(quote).collect();
    format!("[{}]", v.join(" "))
}

fn args_of(ins: &Instruction) -> String {
    if ins.kind == Kind::Onbuild {
        return match &ins.sub {
            Some(sub) => format!("[{}]", quote(&format!("SUB({})", head(sub)))),
            None => "[]".into(),
        };
    }
    list(ins.args.iter().map(|a| a.value.as_str()))
}

fn head(ins: &Instruction) -> String {
    format!("{} flags={} args={}", ins.keyword, list(ins.flags.iter().map(|f| f.text.as_str())), args_of(ins))
}

/// Directives as BuildKit's `DetectSyntax` / `ParseDirective` report them.
fn detect_directives(src: &[u8]) -> Vec<String> {
    let src = src.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(src);
    let text = String::from_utf8_lossy(src);
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let shebang = lines.first().is_some_and(|l| l.starts_with("#!"));
    let mut out = Vec::new();
    let scan = |lines: &[&str], prefix: &str, key: &str, skip_first: bool| -> Option<String> {
        let mut seen = Vec::new();
        for l in lines.iter().skip(usize::from(skip_first)) {
            let rest = l.strip_prefix(prefix)?;
            let rest = rest.trim_start();
            let (name, value) = crate::parser::match_directive_pub(rest)?;
            let name = name.to_ascii_lowercase();
            if !matches!(name.as_str(), "syntax" | "escape" | "check") || seen.contains(&name) {
                return None;
            }
            if name == key {
                return Some(value);
            }
            seen.push(name);
        }
        None
    };
    if let Some(v) = scan(&lines, "#", "syntax", shebang).or_else(|| scan(&lines, "//", "syntax", shebang)) {
        let p = v.split(' ').next().unwrap_or_default().to_string();
        out.push(format!("directive syntax={} ({})", quote(&p), quote(&v)));
    }
    if let Some(v) = scan(&lines, "#", "check", shebang) {
        out.push(format!("directive check={}", quote(&v)));
    }
    out
}

/// Dumps one file's parse in the conformance format (without the `=== name`
/// header).
pub fn dump(src: &[u8]) -> String {
    let mut out = String::new();
    for d in detect_directives(src) {
        let _ = writeln!(out, "  {d}");
    }
    match parse(src) {
        Err(e) => {
            let _ = writeln!(out, "PARSE ERROR: {}", e.message);
            let ranges: Vec<String> = e.buildkit_lines.iter().map(|l| format!("{{{{{l} 0}} {{{l} 0}}}}")).collect();
            let _ = writeln!(out, "  at [[{}]]", ranges.join(" "));
        }
        Ok(doc) => dump_doc(&doc, &mut out),
    }
    out
}

fn dump_doc(doc: &Document, out: &mut String) {
    let _ = writeln!(out, "OK: {} instructions, escape={}", doc.instructions.len(), quote(&doc.escape.to_string()));
    for w in &doc.warnings {
        let _ = writeln!(out, "  WARNING: {}", w.message);
    }
    for ins in &doc.instructions {
        let _ = write!(out, "  L{}-{} {}", ins.start_line, ins.end_line, head(ins));
        if ins.json {
            out.push_str(" json");
        }
        out.push('\n');
        if !ins.prev_comment_ranges.is_empty() {
            let v: Vec<String> = ins.prev_comment_ranges.iter().map(|r| go_quote(&doc.source()[r.clone()])).collect();
            let _ = writeln!(out, "     prevcomment=[{}]", v.join(" "));
        }
        for h in &ins.heredocs {
            let _ = writeln!(
                out,
                "     heredoc name={} expand={} chomp={} fd={} content={}",
                quote(&h.name),
                h.expand,
                h.chomp,
                h.fd,
                go_quote(&doc.source()[h.body.clone()])
            );
        }
        if let Some(e) = &ins.error {
            let _ = writeln!(out, "     INSTRUCTION ERROR: {e}");
        }
    }
}
