//! Reading BuildKit's `--progress=plain` log: which steps ran, which came
//! from the cache, how long each took, and how many bytes of context were
//! sent.

use std::collections::BTreeMap;

/// One build step (an instruction of a stage).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `[2/4] RUN pip install …` without the vertex number.
    pub name: String,
    /// Came from the cache.
    pub cached: bool,
    /// Seconds, when BuildKit printed them.
    pub seconds: Option<f64>,
    pub error: bool,
}

/// What a build log says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Log {
    /// Instruction steps in the order BuildKit first mentioned them.
    pub steps: Vec<Step>,
    /// Bytes of build context transferred.
    pub context_bytes: Option<u64>,
}

impl Log {
    /// Steps that ran (not cached, not `FROM`).
    pub fn rerun(&self) -> Vec<&Step> {
        self.steps.iter().filter(|s| !s.cached && !is_from(&s.name)).collect()
    }
}

fn is_from(name: &str) -> bool {
    name.split_once("] ").is_some_and(|(_, ins)| ins.starts_with("FROM "))
}

/// Parses sizes such as `34B`, `1.23kB`, `12.5MB`, `1.1GB`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "B" => 1.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((n * mult).round() as u64)
}

/// Parses a plain progress log.
pub fn parse(log: &str) -> Log {
    let mut names: BTreeMap<u32, usize> = BTreeMap::new();
    let mut out = Log::default();
    let mut context_vertex: Option<u32> = None;
    for line in log.lines() {
        let Some(rest) = line.strip_prefix('#') else { continue };
        let Some((num, body)) = rest.split_once(' ') else { continue };
        let Ok(v) = num.parse::<u32>() else { continue };
        if body.starts_with('[') {
            if body.starts_with("[internal] load build context") {
                context_vertex = Some(v);
                continue;
            }
            if body.starts_with("[internal]") || body.starts_with("[auth]") {
                continue;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = names.entry(v) {
                e.insert(out.steps.len());
                out.steps.push(Step { name: body.to_string(), cached: false, seconds: None, error: false });
            }
            continue;
        }
        if let Some(sz) = body.strip_prefix("transferring context: ") {
            if context_vertex == Some(v) || context_vertex.is_none() {
                let size = sz.split_whitespace().next().and_then(parse_size);
                if size.is_some() {
                    out.context_bytes = size;
                }
            }
            continue;
        }
        let Some(&i) = names.get(&v) else { continue };
        if body == "CACHED" {
            out.steps[i].cached = true;
        } else if let Some(t) = body.strip_prefix("DONE ") {
            out.steps[i].seconds = t.trim_end_matches('s').parse().ok();
        } else if body.starts_with("ERROR") {
            out.steps[i].error = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 157B done\n#1 DONE 0.0s\n\n#7 [1/4] FROM docker.io/dockfix-test/busybox:latest\n#7 DONE 0.0s\n\n#8 [internal] load build context\n#8 transferring context: 1.5MB 0.2s\n#8 transferring context: 2.25MB 0.3s done\n#8 DONE 0.3s\n\n#4 [2/4] WORKDIR /app\n#4 CACHED\n\n#5 [3/4] COPY a.txt .\n#5 DONE 0.0s\n\n#6 [builder 4/4] RUN make\n#6 0.512 make: ok\n#6 DONE 1.5s\n";

    #[test]
    fn parses_steps_and_context() {
        let l = parse(LOG);
        assert_eq!(l.context_bytes, Some(2_250_000));
        let names: Vec<&str> = l.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "[1/4] FROM docker.io/dockfix-test/busybox:latest",
                "[2/4] WORKDIR /app",
                "[3/4] COPY a.txt .",
                "[builder 4/4] RUN make"
            ]
        );
        assert!(l.steps[1].cached);
        assert_eq!(l.steps[3].seconds, Some(1.5));
        let rerun: Vec<&str> = l.rerun().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(rerun, ["[3/4] COPY a.txt .", "[builder 4/4] RUN make"]);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("34B"), Some(34));
        assert_eq!(parse_size("1.23kB"), Some(1230));
        assert_eq!(parse_size("1.1GB"), Some(1_100_000_000));
        assert_eq!(parse_size("x"), None);
    }
}
