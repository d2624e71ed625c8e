//! Machine formats: SARIF 2.1.0 for code-scanning dashboards and GitHub
//! workflow annotations.

use std::path::Path;

use dockfix_core::{Applicability, Pass};
use serde_json::{json, Value};

use crate::plan::FilePlan;

/// A path as a SARIF/GitHub URI: relative, forward slashes, no `./`.
fn uri(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

fn level(a: Applicability) -> &'static str {
    match a {
        Applicability::DisplayOnly => "note",
        _ => "warning",
    }
}

/// A SARIF 2.1.0 log: one rule per pass (with its explanation as help), one
/// result per finding.
pub fn sarif(passes: &[&dyn Pass], plans: &[&FilePlan]) -> Value {
    let rules: Vec<Value> = passes
        .iter()
        .map(|p| {
            json!({
                "id": p.name(),
                "name": p.name(),
                "shortDescription": { "text": p.summary() },
                "fullDescription": { "text": p.summary() },
                "help": { "text": p.explanation(), "markdown": p.explanation() },
                "defaultConfiguration": { "level": "warning" },
                "properties": { "fix": p.applicability().as_str() }
            })
        })
        .collect();
    let mut results = Vec::new();
    for plan in plans {
        for r in &plan.outcome.findings {
            let rule_index = passes.iter().position(|p| p.name() == r.finding.pass);
            let mut text = r.finding.message.clone();
            if !r.finding.why.is_empty() {
                text.push_str("\n\n");
                text.push_str(&r.finding.why);
            }
            if let Some(g) = &r.finding.gain {
                text.push_str("\n\nExpected gain: ");
                text.push_str(g);
            }
            let mut result = json!({
                "ruleId": r.finding.pass,
                "level": level(r.finding.applicability()),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&plan.path) },
                        "region": { "startLine": r.line, "startColumn": r.column, "endLine": r.end_line.max(r.line) }
                    }
                }]
            });
            if let Some(i) = rule_index {
                result["ruleIndex"] = json!(i);
            }
            if let Some(f) = &r.finding.fix {
                result["properties"] = json!({ "fix": f.title, "fixApplicability": f.applicability.as_str() });
            }
            results.push(result);
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "dockfix",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/dockfix/dockfix",
                "rules": rules
            }},
            "results": results
        }]
    })
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_prop(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands, one annotation per finding.
pub fn github(plans: &[&FilePlan]) -> String {
    let mut out = String::new();
    for plan in plans {
        for r in &plan.outcome.findings {
            let kind = match r.finding.applicability() {
                Applicability::DisplayOnly => "notice",
                _ => "warning",
            };
            let mut msg = r.finding.message.clone();
            if let Some(f) = &r.finding.fix {
                msg.push_str(&format!(" (fix: {}, {})", f.title, f.applicability.as_str()));
            }
            out.push_str(&format!(
                "::{kind} file={},line={},col={},endLine={},title={}::{}\n",
                escape_prop(&uri(&plan.path)),
                r.line,
                r.column,
                r.end_line.max(r.line),
                escape_prop(&format!("dockfix ({})", r.finding.pass)),
                escape_data(&msg)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_prop("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(escape_data("x\ny"), "x%0Ay");
        assert_eq!(uri(Path::new("./svc/Dockerfile")), "svc/Dockerfile");
    }
}
