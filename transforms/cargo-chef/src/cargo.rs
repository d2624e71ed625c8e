//! `cargo` command lines as they appear in `RUN`, `CMD` and `ENTRYPOINT`:
//! which subcommand, which profile, target, features and package selection,
//! and how `cargo chef cook` must mirror a build so that its output is reused.

use std::collections::BTreeSet;

/// One word of a command: its value (quotes removed, variables kept) and
/// how it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct W {
    pub value: String,
    pub raw: String,
}

impl W {
    pub fn new(value: impl Into<String>, raw: impl Into<String>) -> W {
        W { value: value.into(), raw: raw.into() }
    }
}

/// The cargo subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sub {
    Build,
    Zigbuild,
    Install,
    Run,
    ChefCook,
    ChefPrepare,
    Other(String),
}

/// A flag of a build, in the order written, with its value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    /// Canonical long name without dashes (`release`, `features`, `package`…).
    pub name: &'static str,
    pub value: Option<W>,
}

/// A parsed `cargo …` invocation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Call {
    pub sub: Option<Sub>,
    /// `+nightly`.
    pub toolchain: Option<String>,
    /// Flags that matter for what is compiled, in order.
    pub opts: Vec<Opt>,
    /// Flags dockfix does not know (or that cook cannot mirror).
    pub unsupported: Vec<String>,
    /// Positional words (for `cargo install <crate>`).
    pub positional: Vec<W>,
    /// Words after `--` (`cargo run -- args`).
    pub trailing: Vec<W>,
}

fn takes_value(name: &str) -> bool {
    matches!(
        name,
        "profile"
            | "target"
            | "features"
            | "package"
            | "bin"
            | "exclude"
            | "target-dir"
            | "manifest-path"
            | "jobs"
            | "path"
            | "root"
            | "recipe-path"
            | "color"
            | "message-format"
            | "example"
            | "test"
            | "bench"
            | "config"
            | "Z"
            | "version"
            | "git"
            | "branch"
            | "tag"
            | "rev"
            | "registry"
            | "index"
            | "timings"
    )
}

/// Flags that change nothing about what is compiled.
fn ignorable(name: &str) -> bool {
    matches!(
        name,
        "verbose"
            | "quiet"
            | "color"
            | "message-format"
            | "timings"
            | "keep-going"
            | "future-incompat-report"
            | "force"
            | "no-track"
            | "ignore-rust-version"
            | "jobs"
    )
}

fn canonical(long: &str) -> Option<&'static str> {
    Some(match long {
        "release" => "release",
        "profile" => "profile",
        "debug" => "debug",
        "target" => "target",
        "features" => "features",
        "all-features" => "all-features",
        "no-default-features" => "no-default-features",
        "package" => "package",
        "bin" => "bin",
        "bins" => "bins",
        "lib" => "lib",
        "workspace" | "all" => "workspace",
        "exclude" => "exclude",
        "locked" => "locked",
        "frozen" => "frozen",
        "offline" => "offline",
        "target-dir" => "target-dir",
        "manifest-path" => "manifest-path",
        "jobs" => "jobs",
        "path" => "path",
        "root" => "root",
        "recipe-path" => "recipe-path",
        "zigbuild" => "zigbuild",
        "check" => "check",
        "clippy" => "clippy",
        "no-std" => "no-std",
        "no-build" => "no-build",
        "example" => "example",
        "examples" => "examples",
        "test" => "test",
        "tests" => "tests",
        "bench" => "bench",
        "benches" => "benches",
        "all-targets" => "all-targets",
        "config" => "config",
        "Z" => "Z",
        "git" => "git",
        "verbose" => "verbose",
        "quiet" => "quiet",
        "color" => "color",
        "message-format" => "message-format",
        "timings" => "timings",
        "keep-going" => "keep-going",
        "future-incompat-report" => "future-incompat-report",
        "force" => "force",
        "no-track" => "no-track",
        "ignore-rust-version" => "ignore-rust-version",
        "version" => "version",
        _ => return None,
    })
}

fn short(c: char) -> Option<&'static str> {
    Some(match c {
        'r' => "release",
        'F' => "features",
        'p' => "package",
        'j' => "jobs",
        'v' => "verbose",
        'q' => "quiet",
        'Z' => "Z",
        'f' => "force",
        _ => return None,
    })
}

/// Parses the words of a command whose name is `cargo` (the name included).
/// Returns `None` if it is not a cargo command.
pub fn parse(words: &[W]) -> Option<Call> {
    let first = words.first()?;
    if first.value.rsplit('/').next() != Some("cargo") {
        return None;
    }
    let mut call = Call::default();
    let mut i = 1;
    // Global options and the toolchain before the subcommand.
    while i < words.len() {
        let v = words[i].value.as_str();
        if let Some(tc) = v.strip_prefix('+') {
            call.toolchain = Some(tc.to_string());
            i += 1;
        } else if v.starts_with('-') {
            let (name, inline) = split_flag(v);
            match name {
                Some("locked" | "frozen" | "offline") => {
                    call.opts.push(Opt { name: canonical(name.unwrap_or_default())?, value: None });
                }
                Some(n) if ignorable(n) => {
                    if takes_value(n) && inline.is_none() && !matches!(n, "timings" | "jobs") {
                        i += 1;
                    }
                }
                _ => {
                    call.unsupported.push(words[i].raw.clone());
                    if matches!(name, Some("config" | "Z")) && inline.is_none() {
                        i += 1;
                    }
                    if v == "-C" {
                        i += 1;
                    }
                }
            }
            i += 1;
        } else {
            break;
        }
    }
    let sub = words.get(i)?.value.as_str();
    i += 1;
    call.sub = Some(match sub {
        "build" | "b" => Sub::Build,
        "zigbuild" => Sub::Zigbuild,
        "install" => Sub::Install,
        "run" | "r" => Sub::Run,
        "chef" => {
            let s = words.get(i).map(|w| w.value.as_str());
            i += 1;
            match s {
                Some("cook") => Sub::ChefCook,
                Some("prepare") => Sub::ChefPrepare,
                other => Sub::Other(format!("chef {}", other.unwrap_or_default())),
            }
        }
        other => Sub::Other(other.to_string()),
    });
    parse_flags(&words[i..], &mut call);
    Some(call)
}

/// `--name=value` → (name, Some(value)); `-p` → short names.
fn split_flag(v: &str) -> (Option<&'static str>, Option<&str>) {
    if let Some(long) = v.strip_prefix("--") {
        let (n, val) = match long.split_once('=') {
            Some((n, val)) => (n, Some(val)),
            None => (long, None),
        };
        return (canonical(n), val);
    }
    let rest = v.strip_prefix('-').unwrap_or(v);
    let mut chars = rest.chars();
    let Some(c) = chars.next() else { return (None, None) };
    let tail = chars.as_str();
    match short(c) {
        Some(n) if n == "verbose" && tail.chars().all(|c| c == 'v') => (Some(n), None),
        Some(n) if tail.is_empty() => (Some(n), None),
        Some(n) if takes_value(n) => (Some(n), Some(tail.trim_start_matches('='))),
        _ => (None, None),
    }
}

fn parse_flags(words: &[W], call: &mut Call) {
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let v = w.value.as_str();
        if v == "--" {
            call.trailing = words[i + 1..].to_vec();
            return;
        }
        if !v.starts_with('-') || v == "-" {
            call.positional.push(w.clone());
            i += 1;
            continue;
        }
        let (name, inline) = split_flag(v);
        let Some(name) = name else {
            call.unsupported.push(w.raw.clone());
            i += 1;
            continue;
        };
        let optional_value = matches!(name, "timings" | "bin");
        let value = if takes_value(name) {
            match inline {
                Some(val) => {
                    // Keep the raw spelling of the value part.
                    let raw = match w.raw.strip_prefix("--") {
                        Some(long) => long.split_once('=').map(|(_, r)| r.to_string()),
                        None => w.raw.get(2..).map(|s| s.trim_start_matches('=').to_string()),
                    };
                    Some(W::new(val, raw.unwrap_or_else(|| val.to_string())))
                }
                None if optional_value => match words.get(i + 1) {
                    Some(n) if !n.value.starts_with('-') => {
                        i += 1;
                        Some(n.clone())
                    }
                    _ => None,
                },
                None => {
                    i += 1;
                    words.get(i).cloned()
                }
            }
        } else {
            None
        };
        i += 1;
        if ignorable(name) {
            continue;
        }
        if matches!(name, "config" | "Z" | "git") {
            call.unsupported.push(w.raw.clone());
            continue;
        }
        call.opts.push(Opt { name, value });
    }
}

impl Call {
    pub fn is_build(&self) -> bool {
        matches!(self.sub, Some(Sub::Build | Sub::Zigbuild))
            || (self.sub == Some(Sub::Install) && self.has("path") && self.positional.is_empty())
    }

    pub fn has(&self, name: &str) -> bool {
        self.opts.iter().any(|o| o.name == name)
    }

    /// Values of a flag (expanded values).
    pub fn values(&self, name: &str) -> Vec<&W> {
        self.opts.iter().filter(|o| o.name == name).filter_map(|o| o.value.as_ref()).collect()
    }

    pub fn value(&self, name: &str) -> Option<&W> {
        self.values(name).into_iter().last()
    }

    /// The profile the call compiles with (`dev`, `release`, or a custom one).
    pub fn profile(&self) -> String {
        if let Some(p) = self.value("profile") {
            return p.value.clone();
        }
        if self.has("release") {
            return "release".into();
        }
        if self.sub == Some(Sub::Install) {
            return if self.has("debug") { "dev".into() } else { "release".into() };
        }
        "dev".into()
    }

    /// Feature names, normalized (split on commas and blanks).
    pub fn feature_set(&self) -> BTreeSet<String> {
        self.values("features")
            .iter()
            .flat_map(|w| w.value.split([',', ' ']).filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>())
            .collect()
    }

    fn set(&self, name: &str) -> BTreeSet<String> {
        self.values(name).iter().map(|w| w.value.clone()).collect()
    }

    /// What must be equal between `cargo chef cook` and the build for the
    /// cooked dependencies to be reused: (aspect, cook's, build's).
    pub fn mismatches(cook: &Call, build: &Call) -> Vec<(&'static str, String, String)> {
        let mut out = Vec::new();
        let norm = |p: String| {
            if p == "bench" {
                "release".to_string()
            } else if p == "test" {
                "dev".into()
            } else {
                p
            }
        };
        let (pc, pb) = (norm(cook.profile_for_cook()), norm(build.profile()));
        if pc != pb {
            out.push(("profile", pc, pb));
        }
        let show = |s: &BTreeSet<String>| {
            if s.is_empty() {
                "none".to_string()
            } else {
                s.iter().cloned().collect::<Vec<_>>().join(", ")
            }
        };
        let (ta, tb) = (cook.set("target"), build.set("target"));
        if ta != tb {
            out.push(("target", show(&ta), show(&tb)));
        }
        let (fa, fb) = (cook.feature_set(), build.feature_set());
        if fa != fb {
            out.push(("features", show(&fa), show(&fb)));
        }
        for (aspect, name) in [("--no-default-features", "no-default-features"), ("--all-features", "all-features")] {
            if cook.has(name) != build.has(name) {
                let yn = |b: bool| if b { "yes" } else { "no" }.to_string();
                out.push((aspect, yn(cook.has(name)), yn(build.has(name))));
            }
        }
        let pkgs = |c: &Call| {
            let mut s = c.set("package");
            if c.has("workspace") {
                s.insert("--workspace".into());
            }
            s
        };
        let (ka, kb) = (pkgs(cook), pkgs(build));
        // `cargo install --path` selects its package by path; cook cannot see that.
        if ka != kb && build.sub != Some(Sub::Install) {
            out.push(("packages", show(&ka), show(&kb)));
        }
        let (ta, tb) = (cook.zigbuild(), build.sub == Some(Sub::Zigbuild));
        if ta != tb {
            out.push(("zigbuild", ta.to_string(), tb.to_string()));
        }
        out
    }

    fn zigbuild(&self) -> bool {
        self.has("zigbuild")
    }

    /// A cook's profile (cook has no `--debug`, and defaults to dev).
    fn profile_for_cook(&self) -> String {
        if let Some(p) = self.value("profile") {
            return p.value.clone();
        }
        if self.has("release") {
            "release".into()
        } else {
            "dev".into()
        }
    }

    /// The arguments of `cargo chef cook` that mirror this build, as written
    /// (variables and quotes kept), without `--recipe-path`.
    /// `package_for_path`: the package `cargo install --path` selects, when
    /// it is not the root one.
    pub fn cook_args(&self, package_for_path: Option<&str>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut profile_done = false;
        if self.sub == Some(Sub::Install) && !self.has("debug") && !self.has("profile") {
            out.push("--release".into());
            profile_done = true;
        }
        if let Some(p) = package_for_path {
            out.push("-p".into());
            out.push(quote(p));
        }
        for o in &self.opts {
            let v = o.value.as_ref().map(|w| w.raw.clone());
            match (o.name, v) {
                ("release", _) if !profile_done => {
                    out.push("--release".into());
                    profile_done = true;
                }
                ("profile", Some(v)) => {
                    if o.value.as_ref().is_some_and(|w| w.value == "release") {
                        out.push("--release".into());
                    } else {
                        out.push("--profile".into());
                        out.push(v);
                    }
                    profile_done = true;
                }
                ("target" | "features" | "bin" | "target-dir" | "manifest-path", Some(v)) => {
                    out.push(format!("--{}", o.name));
                    out.push(v);
                }
                ("package", Some(v)) => {
                    out.push("-p".into());
                    out.push(v);
                }
                ("example" | "examples", _) => out.push("--examples".into()),
                ("test" | "tests", _) => out.push("--tests".into()),
                ("bench" | "benches", _) => out.push("--benches".into()),
                (
                    "all-features"
                    | "no-default-features"
                    | "bins"
                    | "workspace"
                    | "locked"
                    | "frozen"
                    | "offline"
                    | "all-targets",
                    _,
                ) => {
                    out.push(format!("--{}", o.name));
                }
                _ => {}
            }
        }
        if self.sub == Some(Sub::Zigbuild) {
            out.push("--zigbuild".into());
        }
        // One spelling per flag that takes none.
        let mut seen = BTreeSet::new();
        let mut dedup = Vec::new();
        let mut k = 0;
        while k < out.len() {
            let a = &out[k];
            let takes = matches!(
                a.as_str(),
                "--profile" | "--target" | "--features" | "--bin" | "--target-dir" | "--manifest-path" | "-p"
            );
            if takes {
                dedup.push(a.clone());
                if let Some(v) = out.get(k + 1) {
                    dedup.push(v.clone());
                }
                k += 2;
                continue;
            }
            if seen.insert(a.clone()) {
                dedup.push(a.clone());
            }
            k += 1;
        }
        dedup
    }
}

/// Quotes a word for a shell command line when it needs it.
pub fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,~".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(s: &str) -> Vec<W> {
        s.split_whitespace().map(|w| W::new(w, w)).collect()
    }

    #[test]
    fn parses_build_flags() {
        let c =
            parse(&ws("cargo build --release --locked -p server --bin api -F a,b --target=x86_64-unknown-linux-musl"))
                .unwrap();
        assert!(c.is_build());
        assert_eq!(c.profile(), "release");
        assert_eq!(c.value("package").unwrap().value, "server");
        assert_eq!(c.value("bin").unwrap().value, "api");
        assert_eq!(c.value("target").unwrap().value, "x86_64-unknown-linux-musl");
        assert_eq!(c.feature_set().into_iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            c.cook_args(None).join(" "),
            "--release --locked -p server --bin api --features a,b --target x86_64-unknown-linux-musl"
        );
        assert!(c.unsupported.is_empty());
    }

    #[test]
    fn profiles() {
        assert_eq!(parse(&ws("cargo build")).unwrap().profile(), "dev");
        assert_eq!(parse(&ws("cargo b -r")).unwrap().profile(), "release");
        assert_eq!(parse(&ws("cargo build --profile=dist")).unwrap().profile(), "dist");
        let i = parse(&ws("cargo install --path . --locked")).unwrap();
        assert!(i.is_build());
        assert_eq!(i.profile(), "release");
        assert_eq!(i.cook_args(None).join(" "), "--release --locked");
        assert!(!parse(&ws("cargo install sqlx-cli")).unwrap().is_build());
        assert_eq!(parse(&ws("cargo install --path . --debug")).unwrap().profile(), "dev");
    }

    #[test]
    fn toolchain_globals_and_unsupported() {
        let c = parse(&ws("cargo +nightly --locked build -Zbuild-std --config x=1")).unwrap();
        assert_eq!(c.toolchain.as_deref(), Some("nightly"));
        assert!(c.has("locked"));
        assert_eq!(c.unsupported, ["-Zbuild-std", "--config"]);
        let r = parse(&ws("cargo run --release --bin app -- --port 80")).unwrap();
        assert_eq!(r.sub, Some(Sub::Run));
        assert_eq!(r.trailing.len(), 2);
    }

    #[test]
    fn cook_mismatch() {
        let cook = parse(&ws("cargo chef cook --recipe-path recipe.json")).unwrap();
        let build = parse(&ws("cargo build --release --features x")).unwrap();
        let m = Call::mismatches(&cook, &build);
        assert_eq!(m[0], ("profile", "dev".into(), "release".into()));
        assert_eq!(m[1].0, "features");
        let cook = parse(&ws("cargo chef cook --release --features x --recipe-path r.json")).unwrap();
        assert!(Call::mismatches(&cook, &build).is_empty());
    }
}
