//! Pass `cargo-chef`: a Rust image that copies its sources and then runs
//! `cargo build` recompiles every dependency on each source edit. The pass
//! splits the build stage the way cargo-chef's README does:
//!
//! ```text
//! FROM rust:1.79 AS chef          # the original base + cargo-chef + setup steps
//! FROM chef AS planner            # COPY . . ; cargo chef prepare → recipe.json
//! FROM chef AS builder            # cargo chef cook (cached), COPY . . , cargo build
//! FROM debian:bookworm-slim       # only the binaries, ENV/EXPOSE/USER/CMD…
//! ```
//!
//! The edits are local: the original FROM line gets the `chef` name, the
//! planner and the builder header go right above the first source copy, and
//! the runtime stage replaces the tail of the stage (whose instructions move
//! into it, comments included). Stages that already use cargo-chef are only
//! checked: cook must mirror the build's flags.

mod cargo;
mod cmds;
mod convert;
mod existing;
mod glob;
mod image;
mod paths;
mod project;
mod runtime;

use std::collections::BTreeSet;

use dockfix_core::{Applicability, Context, Finding, Fix, Pass};
use dockfix_syntax::Document;

pub const NAME: &str = "cargo-chef";

/// The pass.
pub struct CargoChef;

/// Where the `chef` stage gets cargo-chef from. Without the option: the
/// original base image with the binary copied from the prebuilt image of the
/// same tag when there is one (official `rust` images), `cargo install`
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChefSource {
    /// `cargo install cargo-chef --locked` on the original base image.
    Install,
    /// `FROM` the prebuilt `lukemathwalker/cargo-chef:latest-rust-<tag>`
    /// image (or `chef-image`).
    Image,
}

/// `runtime = "slim" | "distroless" | "scratch"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    Slim,
    Distroless,
    Scratch,
}

impl RuntimeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeKind::Slim => "slim",
            RuntimeKind::Distroless => "distroless",
            RuntimeKind::Scratch => "scratch",
        }
    }
}

/// `[cargo-chef]` options of dockfix.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The runtime stage's image (default: the slim image of the builder's release).
    pub runtime_base: Option<String>,
    /// None: automatic (see [`ChefSource`]).
    pub chef_source: Option<ChefSource>,
    /// The image the `chef` stage starts from with `chef-source = "image"`.
    pub chef_image: Option<String>,
    /// `cargo install cargo-chef --version …`.
    pub chef_version: Option<String>,
    /// Extra packages for the runtime stage.
    pub runtime_packages: Vec<String>,
    /// The kind of runtime image asked for (`runtime`).
    pub runtime: RuntimeKind,
    /// Problems with the options themselves.
    pub problems: Vec<String>,
}

/// The `[cargo-chef]` keys of `dockfix.toml`.
const OPTIONS: &[dockfix_core::config::OptionSpec] = &[
    dockfix_core::config::OptionSpec {
        name: "runtime-base",
        kind: "string",
        help: "image of the runtime stage (default: the Debian slim image of the builder's release, so glibc matches)",
    },
    dockfix_core::config::OptionSpec {
        name: "runtime",
        kind: "string",
        help: "kind of runtime image when runtime-base names none: \"slim\" (default), \"distroless\" (gcr.io/distroless/cc-debian12 for a glibc binary built on Debian bookworm or older, static-debian12 for a static musl binary) or \"scratch\" (static musl binaries only, with the CA bundle and zoneinfo copied from the builder when needed). dockfix checks the image still works without a shell and otherwise keeps the slim image and says why",
    },
    dockfix_core::config::OptionSpec {
        name: "chef-source",
        kind: "string",
        help: "\"image\": the chef stage is FROM lukemathwalker/cargo-chef of the same Rust tag; \"install\": `cargo install cargo-chef --locked` on your base (default: your base, with the cargo-chef binary copied from the prebuilt image)",
    },
    dockfix_core::config::OptionSpec {
        name: "chef-image",
        kind: "string",
        help: "a cargo-chef image to take the chef stage from (implies chef-source = \"image\")",
    },
    dockfix_core::config::OptionSpec {
        name: "chef-version",
        kind: "string",
        help: "the cargo-chef version to install (`cargo install cargo-chef --locked --version …`)",
    },
    dockfix_core::config::OptionSpec {
        name: "runtime-packages",
        kind: "array",
        help: "extra packages to install in the runtime stage",
    },
];

impl Options {
    pub fn read(cx: &Context<'_>) -> Options {
        let o = cx.options;
        let mut problems = Vec::new();
        let chef_source = match o.get_str(NAME, "chef-source") {
            None => None,
            Some("install") => Some(ChefSource::Install),
            Some("image") => Some(ChefSource::Image),
            Some(other) => {
                problems.push(format!("`chef-source = \"{other}\"` is neither \"install\" nor \"image\"; ignored"));
                None
            }
        };
        let runtime = match o.get_str(NAME, "runtime") {
            None | Some("slim") => RuntimeKind::Slim,
            Some("distroless") => RuntimeKind::Distroless,
            Some("scratch") => RuntimeKind::Scratch,
            Some(other) => {
                problems
                    .push(format!("`runtime = \"{other}\"` is not \"slim\", \"distroless\" or \"scratch\"; ignored"));
                RuntimeKind::Slim
            }
        };
        let chef_image = o.get_str(NAME, "chef-image").map(str::to_string);
        let chef_source = if chef_image.is_some() { Some(ChefSource::Image) } else { chef_source };
        let runtime_packages = o
            .get(NAME, "runtime-packages")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        if let Some(t) = cx.options.tables.get(NAME) {
            for k in t.keys() {
                if !matches!(
                    k.as_str(),
                    "runtime-base" | "runtime" | "chef-source" | "chef-image" | "chef-version" | "runtime-packages"
                ) {
                    problems.push(format!("unknown option `{k}`"));
                }
            }
        }
        Options {
            runtime_base: o.get_str(NAME, "runtime-base").map(str::to_string),
            chef_source,
            chef_image,
            chef_version: o.get_str(NAME, "chef-version").map(str::to_string),
            runtime_packages,
            runtime,
            problems,
        }
    }
}

/// Stage names in use, so new stages get free ones.
#[derive(Clone)]
pub struct Names {
    used: BTreeSet<String>,
}

impl Names {
    pub fn new(doc: &Document) -> Names {
        Names { used: doc.stages().into_iter().filter_map(|s| s.name).collect() }
    }

    /// `want`, or `want-2`, `want-3`… when taken.
    pub fn take(&mut self, want: &str) -> String {
        let mut n = want.to_string();
        let mut i = 2;
        while self.used.contains(&n) {
            n = format!("{want}-{i}");
            i += 1;
        }
        self.used.insert(n.clone());
        n
    }
}

impl Pass for CargoChef {
    fn name(&self) -> &'static str {
        NAME
    }
    fn summary(&self) -> &'static str {
        "Cache Rust dependencies with cargo-chef and ship only the binary on a slim runtime image"
    }
    fn explanation(&self) -> &'static str {
        include_str!("../EXPLAIN.md")
    }
    fn applicability(&self) -> Applicability {
        Applicability::Unsafe
    }
    fn options(&self) -> &'static [dockfix_core::config::OptionSpec] {
        OPTIONS
    }
    fn check(&self, cx: &Context<'_>) -> Vec<Finding> {
        let opts = Options::read(cx);
        let mut out = Vec::new();
        for p in &opts.problems {
            out.push(
                Finding::new(NAME, 0..0, format!("[cargo-chef] in dockfix.toml: {p}"))
                    .why("Options: runtime-base, runtime (\"slim\", \"distroless\" or \"scratch\"), chef-source (\"install\" or \"image\"), chef-image, chef-version, runtime-packages.")
                    .fix(Fix::display_only("Fix the option")),
            );
        }
        let mut names = Names::new(cx.doc);
        for stage in cx.doc.stages() {
            if existing::uses_chef(cx, &stage) {
                out.extend(existing::check(cx, &stage));
                continue;
            }
            if let Some(f) = convert::plan(cx, &stage, &opts, &mut names) {
                out.push(f);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockfix_core::{Engine, MemFs, Mode, PassOptions, Service};
    use dockfix_syntax::parse_str;

    fn project(fs: &mut MemFs) {
        fs.insert("/c/Cargo.toml", "[package]\nname = \"app\"\nversion = \"0.1.0\"\n");
        fs.insert("/c/Cargo.lock", "version = 3\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n");
        fs.insert("/c/src/main.rs", "fn main() {}\n");
    }

    fn run(src: &str, opts: &str) -> (String, Vec<String>) {
        let mut fs = MemFs::new();
        project(&mut fs);
        let mut options = PassOptions::default();
        if !opts.is_empty() {
            options.tables.insert(NAME.to_string(), opts.parse().unwrap());
        }
        let pass = CargoChef;
        let out = Engine::new(vec![&pass])
            .run(
                &Service::for_dockerfile("/c/Dockerfile"),
                &fs,
                &options,
                None,
                src.as_bytes(),
                Mode { unsafe_fixes: true },
            )
            .unwrap();
        (String::from_utf8(out.fixed).unwrap(), out.findings.iter().map(|r| r.finding.message.clone()).collect())
    }

    const SIMPLE: &str =
        "FROM rust:1.79\nWORKDIR /app\nCOPY . .\nRUN cargo build --release\nCMD [\"./target/release/app\"]\n";

    #[test]
    fn names_avoid_existing_stages() {
        let doc = parse_str("FROM a AS chef\nFROM b AS chef-2\n").unwrap();
        let mut n = Names::new(&doc);
        assert_eq!(n.take("chef"), "chef-3");
        assert_eq!(n.take("planner"), "planner");
        assert_eq!(n.take("planner"), "planner-2");
    }

    #[test]
    fn bad_options_are_reported_and_ignored() {
        let (fixed, msgs) = run(SIMPLE, "chef-source = \"compile\"\nruntime-bse = \"x\"\n");
        assert!(msgs.iter().any(|m| m.contains("chef-source")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("unknown option `runtime-bse`")), "{msgs:?}");
        // The default still applies.
        assert!(fixed.contains("COPY --from=lukemathwalker/cargo-chef:latest-rust-1.79 "), "{fixed}");
    }

    #[test]
    fn chef_sources() {
        let (fixed, _) = run(SIMPLE, "chef-source = \"install\"\nchef-version = \"0.1.68\"\n");
        assert!(fixed.contains("RUN cargo install cargo-chef --locked --version 0.1.68\n"), "{fixed}");
        let (fixed, _) = run(SIMPLE, "chef-source = \"image\"\n");
        assert!(fixed.starts_with("FROM lukemathwalker/cargo-chef:latest-rust-1.79 AS chef\n"), "{fixed}");
        let (fixed, msgs) = run(SIMPLE, "chef-source = \"install\"\n");
        assert!(fixed.contains("RUN cargo install cargo-chef --locked\n"), "{fixed}");
        assert_eq!(msgs.len(), 1);
    }

    #[test]
    fn rewrite_is_stable() {
        let (fixed, _) = run(SIMPLE, "");
        let (again, msgs) = run(&fixed, "");
        assert_eq!(again, fixed);
        assert!(msgs.is_empty(), "{msgs:?}");
        // The runtime stage has the binary at the same path: CMD is unchanged.
        assert!(
            fixed.ends_with(
                "COPY --from=builder /app/target/release/app /app/target/release/app\nCMD [\"./target/release/app\"]\n"
            ),
            "{fixed}"
        );
    }

    #[test]
    fn target_cache_mounts() {
        // A mount inside target/ hides the build output too: it goes, the copy out stays.
        let src = "FROM rust:1.79\nWORKDIR /app\nCOPY . .\nRUN --mount=type=cache,target=/app/target/release \\\n    cargo build --release && cp target/release/app /usr/local/bin/\nCMD [\"app\"]\n";
        let (fixed, _) = run(src, "");
        assert!(fixed.contains("RUN cargo build --release && cp target/release/app /usr/local/bin/\n"), "{fixed}");
        assert!(fixed.contains("COPY --from=builder /usr/local/bin/app /usr/local/bin/app\n"), "{fixed}");
        // Without the copy out, the original image never had the binary: refused.
        let src = "FROM rust:1.79\nWORKDIR /app\nCOPY . .\nRUN --mount=type=cache,target=/app/target cargo build --release\nCMD [\"./target/release/app\"]\n";
        let (fixed, msgs) = run(src, "");
        assert_eq!(fixed, src);
        assert!(msgs[0].contains("dockfix cannot add cargo-chef"), "{msgs:?}");
    }

    #[test]
    fn cmd_into_target_after_a_copy_out() {
        let src = "FROM rust:1.79\nWORKDIR /app\nCOPY . .\nRUN cargo build --release && cp target/release/app /srv/app\nCMD [\"./target/release/app\"]\n";
        let (fixed, _) = run(src, "");
        assert!(fixed.contains("COPY --from=builder /srv/app /srv/app\n"), "{fixed}");
        assert!(fixed.ends_with("CMD [\"/srv/app\"]\n"), "{fixed}");
    }

    #[test]
    fn old_toolchain_install_warns() {
        let mut fs = MemFs::new();
        project(&mut fs);
        let src = "FROM rust:1.79\nWORKDIR /app\nCOPY . .\nRUN cargo build --release\n";
        let doc = parse_str(src).unwrap();
        let mut options = PassOptions::default();
        options.tables.insert(NAME.into(), "chef-source = \"install\"".parse().unwrap());
        let svc = Service::for_dockerfile("/c/Dockerfile");
        let cx = Context { doc: &doc, service: &svc, fs: &fs, options: &options, history: None, passes: &[] };
        let f = CargoChef.check(&cx);
        assert!(f[0].why.contains("need Rust 1.88 or newer"), "{}", f[0].why);
    }
}
