//! Base images: which distribution and Rust version a builder image has, the
//! slim runtime image that matches it, the prebuilt cargo-chef image for it,
//! and the runtime package that goes with each `-dev` package.

/// An image reference split into name, tag and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    pub fn parse(s: &str) -> ImageRef {
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (s, None),
        };
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[slash..].split_once(':') {
            Some((n, t)) => (format!("{}{}", &rest[..slash], n), Some(t.to_string())),
            None => (rest.to_string(), None),
        };
        ImageRef { name, tag, digest }
    }

    /// The last path component (`rust` for `docker.io/library/rust`).
    pub fn short(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }

    /// `rust`, `library/rust` or `docker.io/library/rust`.
    pub fn is_official(&self, short: &str) -> bool {
        let n = self.name.as_str();
        n == short
            || n == format!("library/{short}")
            || n == format!("docker.io/library/{short}")
            || n == format!("index.docker.io/library/{short}")
            || n == format!("docker.io/{short}")
    }

    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }
}

/// A Debian release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Release {
    Buster,
    Bullseye,
    Bookworm,
    Trixie,
}

impl Release {
    pub fn name(self) -> &'static str {
        match self {
            Release::Buster => "buster",
            Release::Bullseye => "bullseye",
            Release::Bookworm => "bookworm",
            Release::Trixie => "trixie",
        }
    }
    fn from_word(w: &str) -> Option<Release> {
        Some(match w {
            "buster" | "10" => Release::Buster,
            "bullseye" | "11" => Release::Bullseye,
            "bookworm" | "12" => Release::Bookworm,
            "trixie" | "13" => Release::Trixie,
            _ => return None,
        })
    }
    fn number(self) -> u32 {
        match self {
            Release::Buster => 10,
            Release::Bullseye => 11,
            Release::Bookworm => 12,
            Release::Trixie => 13,
        }
    }
}

/// What a builder image runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Distro {
    Debian(Release),
    Ubuntu(String),
    /// Alpine, with its version when known (`3.20`).
    Alpine(Option<String>),
    Unknown,
}

/// A package manager family, for RUN lines in the runtime stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Apt,
    Apk,
    /// No shell, no package manager (distroless, scratch).
    None,
}

impl Distro {
    pub fn family(&self) -> Family {
        match self {
            Distro::Debian(_) | Distro::Ubuntu(_) => Family::Apt,
            Distro::Alpine(_) => Family::Apk,
            Distro::Unknown => Family::None,
        }
    }
}

/// What dockfix knows about a builder image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Builder {
    pub image: ImageRef,
    /// `1.79`, `1.79.0`, or None (floating or unknown).
    pub rust_version: Option<String>,
    pub distro: Distro,
    /// The distribution comes from a floating tag (`rust:latest`, `rust:1`).
    pub floating: bool,
    /// An official `rust` image (or `rustlang/rust`).
    pub rust_image: bool,
    /// Its default target is musl (rust:alpine, clux/muslrust…).
    pub musl: bool,
}

/// The Debian release an official `rust:<version>` tag without a release
/// name was built on: bullseye became the default with Rust 1.54, bookworm
/// with 1.70, trixie with 1.89.
fn default_release(version: Option<&str>) -> (Release, bool) {
    let minor = version.and_then(|v| {
        let mut it = v.split('.');
        let major = it.next()?.parse::<u32>().ok()?;
        let minor = it.next()?.parse::<u32>().ok()?;
        (major == 1).then_some(minor)
    });
    match minor {
        Some(m) if m < 54 => (Release::Buster, false),
        Some(m) if m < 70 => (Release::Bullseye, false),
        Some(m) if m < 89 => (Release::Bookworm, false),
        Some(_) => (Release::Trixie, false),
        None => (Release::Trixie, true),
    }
}

/// The Alpine release an official `rust:<version>-alpine` tag was built on.
fn default_alpine(version: Option<&str>) -> Option<&'static str> {
    let minor: u32 = version?.split('.').nth(1)?.parse().ok()?;
    Some(match minor {
        70..=74 => "3.18",
        75..=78 => "3.19",
        79..=83 => "3.20",
        84..=87 => "3.21",
        88..=91 => "3.22",
        92.. => "3.23",
        _ => return None,
    })
}

fn is_version(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Classifies a builder image.
pub fn classify(image: &str) -> Builder {
    let img = ImageRef::parse(image);
    let tag = img.tag_or_latest().to_string();
    let parts: Vec<&str> = tag.split('-').collect();
    let short = img.short().to_string();
    let rust_image = img.is_official("rust") || img.name == "rustlang/rust";
    let mut b = Builder {
        image: img.clone(),
        rust_version: None,
        distro: Distro::Unknown,
        floating: false,
        rust_image,
        musl: false,
    };
    if rust_image {
        b.rust_version = parts.first().filter(|p| is_version(p) && p.contains('.')).map(|s| s.to_string());
        if let Some(a) = parts.iter().find(|p| p.starts_with("alpine")) {
            let v = a.strip_prefix("alpine").filter(|v| !v.is_empty()).map(str::to_string);
            b.distro = Distro::Alpine(v.or_else(|| default_alpine(b.rust_version.as_deref()).map(str::to_string)));
            b.musl = true;
        } else if let Some(r) = parts.iter().find_map(|p| Release::from_word(p).filter(|_| !is_version(p))) {
            b.distro = Distro::Debian(r);
        } else {
            let (r, floating) = default_release(b.rust_version.as_deref());
            b.distro = Distro::Debian(r);
            b.floating = floating;
        }
        return b;
    }
    if short.contains("musl") {
        b.musl = true;
        b.rust_image = true;
        return b;
    }
    match short.as_str() {
        "debian" | "buildpack-deps" => {
            if let Some(r) = parts.iter().find_map(|p| Release::from_word(p)) {
                b.distro = Distro::Debian(r);
            }
        }
        "ubuntu" if is_version(parts[0]) => b.distro = Distro::Ubuntu(parts[0].to_string()),
        "alpine" => {
            b.distro = Distro::Alpine(is_version(parts[0]).then(|| parts[0].to_string()));
        }
        _ => {}
    }
    b
}

/// The runtime image for a builder: the slim image of the same release.
pub fn runtime_for(b: &Builder, static_binary: bool, needs_shell: bool) -> Option<(String, Distro)> {
    let release = match &b.distro {
        Distro::Debian(r) => Some(*r),
        _ => None,
    };
    if static_binary && !needs_shell {
        let n = release.map_or(12, Release::number).max(11);
        return Some((format!("gcr.io/distroless/static-debian{n}"), Distro::Unknown));
    }
    match &b.distro {
        Distro::Debian(r) => Some((format!("debian:{}-slim", r.name()), b.distro.clone())),
        Distro::Ubuntu(v) => Some((format!("ubuntu:{v}"), b.distro.clone())),
        Distro::Alpine(v) => Some((format!("alpine:{}", v.as_deref().unwrap_or("3")), b.distro.clone())),
        Distro::Unknown if static_binary => Some(("debian:bookworm-slim".into(), Distro::Debian(Release::Bookworm))),
        Distro::Unknown => None,
    }
}

/// What a user-chosen runtime image is.
pub fn classify_runtime(image: &str) -> Distro {
    let img = ImageRef::parse(image);
    let tag = img.tag_or_latest().to_string();
    let short = img.short();
    if short == "scratch" || img.name.contains("distroless") {
        return Distro::Unknown;
    }
    let c = classify(image);
    if c.distro != Distro::Unknown {
        return c.distro;
    }
    if short.contains("alpine") || tag.contains("alpine") {
        return Distro::Alpine(None);
    }
    if short.contains("debian") || tag.contains("bookworm") || tag.contains("slim") {
        return Distro::Debian(Release::Bookworm);
    }
    // Assume a Debian-like image with apt (the local test images are).
    Distro::Debian(Release::Bookworm)
}

/// The oldest Rust (1.x) that compiles the current cargo-chef release with
/// `--locked` (its locked dependencies declare rust-version 1.88).
pub const CHEF_MIN_RUST_MINOR: u32 = 88;

/// The prebuilt image `lukemathwalker/cargo-chef` publishes for an official
/// `rust` tag (`latest-rust-<tag>` for every tag of library/rust).
pub fn chef_image_for(b: &Builder) -> Option<String> {
    if !b.image.is_official("rust") || b.image.digest.is_some() {
        return None;
    }
    if b.image.tag.as_deref().is_some_and(|t| t.contains('$')) {
        return None;
    }
    Some(format!("lukemathwalker/cargo-chef:latest-rust-{}", b.image.tag_or_latest()))
}

/// What a package installed in the builder means for the runtime image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PkgRole {
    /// Needed to compile only.
    BuildOnly,
    /// A `-dev` package: the runtime needs this library package instead.
    Runtime(String),
    /// A `-dev` package dockfix has no runtime package for.
    UnknownDev,
    /// Anything else: the program may use it, install it as is.
    Keep,
}

const BUILD_TOOLS: &[&str] = &[
    "build-essential",
    "build-base",
    "gcc",
    "g++",
    "clang",
    "lld",
    "llvm",
    "make",
    "cmake",
    "pkg-config",
    "pkgconf",
    "pkgconfig",
    "protobuf-compiler",
    "protoc",
    "protobuf",
    "musl-tools",
    "musl-dev",
    "git",
    "mold",
    "nasm",
    "yasm",
    "perl",
    "autoconf",
    "automake",
    "libtool",
    "binutils",
    "cargo",
    "rust",
    "rustup",
    "unzip",
    "xz-utils",
    "gnupg",
    "lsb-release",
    "software-properties-common",
    "apt-transport-https",
    "wget",
    "curl",
    "python3",
    "ninja-build",
    "gcc-multilib",
    "g++-multilib",
    "gcc-x86-64-linux-gnu",
    "gcc-aarch64-linux-gnu",
    "libc6-dev",
    "linux-libc-dev",
    "linux-headers",
    "libclang-dev",
    "clang-dev",
    "llvm-dev",
    "libprotobuf-dev",
    "protobuf-dev",
    "openssl-libs-static",
    "zlib-static",
];

/// The runtime package of a `-dev` package, per distribution.
fn dev_to_runtime(pkg: &str, distro: &Distro) -> Option<String> {
    let rel = match distro {
        Distro::Debian(r) => Some(*r),
        _ => None,
    };
    let t64 = matches!(rel, Some(Release::Trixie)) || matches!(distro, Distro::Ubuntu(v) if v.as_str() >= "24.04");
    let s = match (distro.family(), pkg) {
        (Family::Apt, "libssl-dev") => match rel {
            Some(Release::Buster | Release::Bullseye) => "libssl1.1",
            _ if t64 => "libssl3t64",
            _ => "libssl3",
        },
        (Family::Apt, "libpq-dev") => "libpq5",
        (Family::Apt, "libsqlite3-dev") => "libsqlite3-0",
        (
            Family::Apt,
            "default-libmysqlclient-dev" | "libmariadb-dev" | "libmariadb-dev-compat" | "libmysqlclient-dev",
        ) => "libmariadb3",
        (Family::Apt, "zlib1g-dev") => "zlib1g",
        (Family::Apt, "libzstd-dev") => "libzstd1",
        (Family::Apt, "libcurl4-openssl-dev" | "libcurl4-gnutls-dev") => {
            if t64 {
                "libcurl4t64"
            } else {
                "libcurl4"
            }
        }
        (Family::Apt, "libdbus-1-dev") => "libdbus-1-3",
        (Family::Apt, "libudev-dev") => "libudev1",
        (Family::Apt, "libfontconfig1-dev" | "libfontconfig-dev") => "libfontconfig1",
        (Family::Apt, "libfreetype6-dev" | "libfreetype-dev") => "libfreetype6",
        (Family::Apt, "libasound2-dev") => {
            if t64 {
                "libasound2t64"
            } else {
                "libasound2"
            }
        }
        (Family::Apt, "libsasl2-dev") => "libsasl2-2",
        (Family::Apt, "libxml2-dev") => "libxml2",
        (Family::Apt, "libgit2-dev") => "libgit2-1.5",
        (Family::Apt, "libssh2-1-dev") => "libssh2-1",
        (Family::Apt, "libbz2-dev") => "libbz2-1.0",
        (Family::Apt, "liblzma-dev") => "liblzma5",
        (Family::Apt, "libgmp-dev") => "libgmp10",
        (Family::Apk, "openssl-dev" | "libressl-dev") => "libssl3",
        (Family::Apk, "postgresql-dev" | "libpq-dev") => "libpq",
        (Family::Apk, "sqlite-dev") => "sqlite-libs",
        (Family::Apk, "mariadb-dev" | "mariadb-connector-c-dev") => "mariadb-connector-c",
        (Family::Apk, "zlib-dev") => "zlib",
        (Family::Apk, "zstd-dev") => "zstd-libs",
        (Family::Apk, "curl-dev") => "libcurl",
        (Family::Apk, "libgcc") => "libgcc",
        _ => return None,
    };
    Some(s.to_string())
}

/// Classifies a package installed in the builder.
pub fn role(pkg: &str, distro: &Distro) -> PkgRole {
    let name = pkg.split(['=', ':']).next().unwrap_or(pkg);
    if BUILD_TOOLS.contains(&name) || name.starts_with("gcc-") || name.starts_with("g++-") || name.starts_with("clang-")
    {
        return PkgRole::BuildOnly;
    }
    if let Some(r) = dev_to_runtime(name, distro) {
        return PkgRole::Runtime(r);
    }
    if name.ends_with("-dev") || name.ends_with("-devel") || name.ends_with("-static") {
        return PkgRole::UnknownDev;
    }
    PkgRole::Keep
}

/// Crates of Cargo.lock that link a system library dynamically, with the
/// `-dev` package that stands for it (mapped to the runtime package per
/// distribution), and the crate that means it is vendored instead.
pub const LINKED: &[(&str, &str, &str, Option<&str>)] = &[
    // crate, debian -dev, alpine -dev, vendored-by
    ("openssl-sys", "libssl-dev", "openssl-dev", Some("openssl-src")),
    ("pq-sys", "libpq-dev", "postgresql-dev", Some("pq-src")),
    ("mysqlclient-sys", "default-libmysqlclient-dev", "mariadb-dev", None),
    ("libsqlite3-sys", "libsqlite3-dev", "sqlite-dev", None),
    ("curl-sys", "libcurl4-openssl-dev", "curl-dev", None),
    ("libdbus-sys", "libdbus-1-dev", "", None),
    ("libudev-sys", "libudev-dev", "", None),
    ("alsa-sys", "libasound2-dev", "", None),
    ("yeslogic-fontconfig-sys", "libfontconfig1-dev", "", None),
    ("servo-fontconfig-sys", "libfontconfig1-dev", "", None),
    ("freetype-sys", "libfreetype6-dev", "", None),
];

/// Crates that read the system's CA certificates.
pub const TLS_CRATES: &[&str] =
    &["openssl-sys", "native-tls", "rustls-native-certs", "rustls-platform-verifier", "openssl-probe", "hyper-tls"];

/// Crates that read the system's time zone database (/usr/share/zoneinfo).
pub const TZ_CRATES: &[&str] = &["jiff", "tz-rs", "tzfile", "iana-time-zone", "time-tz"];

/// True when a runtime image has no time zone database unless installed:
/// Debian from trixie on (tzdata left the required set), Ubuntu, Alpine.
pub fn lacks_tzdata(d: &Distro) -> bool {
    match d {
        Distro::Debian(r) => *r >= Release::Trixie,
        Distro::Ubuntu(_) | Distro::Alpine(_) => true,
        Distro::Unknown => false,
    }
}

/// A program a runtime command calls, and the package that provides it
/// (Debian, Alpine). `None`: part of the base image.
pub fn program_package(prog: &str, family: Family) -> Option<Option<&'static str>> {
    let base = matches!(
        prog,
        "sh" | "exec"
            | "echo"
            | "test"
            | "["
            | "cd"
            | "export"
            | "exit"
            | "true"
            | "false"
            | "sleep"
            | "printf"
            | "set"
            | "trap"
            | "wait"
            | "kill"
            | "env"
            | "cat"
            | "ls"
            | "mkdir"
            | "rm"
            | "cp"
            | "mv"
            | "chmod"
            | "chown"
            | "id"
            | "whoami"
            | "date"
            | "tee"
            | "grep"
            | "sed"
            | "awk"
            | "head"
            | "tail"
            | "touch"
            | "ln"
    );
    if base {
        return Some(None);
    }
    Some(match (prog, family) {
        ("bash", Family::Apt) => None,
        ("bash", Family::Apk) => Some("bash"),
        ("curl", _) => Some("curl"),
        ("wget", Family::Apt) => Some("wget"),
        ("wget", Family::Apk) => None,
        ("nc", Family::Apt) => Some("netcat-openbsd"),
        ("nc", Family::Apk) => None,
        ("tini", _) => Some("tini"),
        ("dumb-init", _) => Some("dumb-init"),
        ("gosu", Family::Apt) => Some("gosu"),
        ("su-exec", Family::Apk) => Some("su-exec"),
        ("jq", _) => Some("jq"),
        ("envsubst", Family::Apt) => Some("gettext-base"),
        ("envsubst", Family::Apk) => Some("gettext"),
        ("pg_isready", Family::Apt) => Some("postgresql-client"),
        ("pg_isready", Family::Apk) => Some("postgresql-client"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs() {
        let r = ImageRef::parse("docker.io/library/rust:1.79-bookworm@sha256:abc");
        assert_eq!(r.name, "docker.io/library/rust");
        assert_eq!(r.tag.as_deref(), Some("1.79-bookworm"));
        assert!(r.is_official("rust"));
        let r = ImageRef::parse("localhost:5000/rust");
        assert_eq!(r.name, "localhost:5000/rust");
        assert_eq!(r.tag, None);
    }

    #[test]
    fn runtimes() {
        let rt = |img: &str| runtime_for(&classify(img), false, true).map(|r| r.0);
        assert_eq!(rt("rust:1.79-bookworm").as_deref(), Some("debian:bookworm-slim"));
        assert_eq!(rt("rust:1.79").as_deref(), Some("debian:bookworm-slim"));
        assert_eq!(rt("rust:1.79.0-slim").as_deref(), Some("debian:bookworm-slim"));
        assert_eq!(rt("rust:1.65").as_deref(), Some("debian:bullseye-slim"));
        assert_eq!(rt("rust:1.90-slim-trixie").as_deref(), Some("debian:trixie-slim"));
        assert_eq!(rt("rust:1.79-alpine3.20").as_deref(), Some("alpine:3.20"));
        assert_eq!(rt("rust:1.79-alpine").as_deref(), Some("alpine:3.20"));
        assert_eq!(rt("rust:latest").as_deref(), Some("debian:trixie-slim"));
        assert!(classify("rust").floating);
        assert_eq!(rt("ubuntu:22.04").as_deref(), Some("ubuntu:22.04"));
        assert_eq!(rt("myorg/builder:1"), None);
        let s = runtime_for(&classify("rust:1.79-bookworm"), true, false).unwrap().0;
        assert_eq!(s, "gcr.io/distroless/static-debian12");
        assert_eq!(classify("rust:1.79-bookworm").rust_version.as_deref(), Some("1.79"));
    }

    #[test]
    fn chef_images_and_packages() {
        assert_eq!(
            chef_image_for(&classify("rust:1.79-bookworm")).as_deref(),
            Some("lukemathwalker/cargo-chef:latest-rust-1.79-bookworm")
        );
        assert_eq!(chef_image_for(&classify("rust")).as_deref(), Some("lukemathwalker/cargo-chef:latest-rust-latest"));
        assert_eq!(chef_image_for(&classify("rust:1.79@sha256:0123")), None);
        assert_eq!(chef_image_for(&classify("clux/muslrust:stable")), None);
        let bw = Distro::Debian(Release::Bookworm);
        assert_eq!(role("libssl-dev", &bw), PkgRole::Runtime("libssl3".into()));
        assert_eq!(role("libssl-dev", &Distro::Debian(Release::Trixie)), PkgRole::Runtime("libssl3t64".into()));
        assert_eq!(role("pkg-config", &bw), PkgRole::BuildOnly);
        assert_eq!(role("libfoo-dev", &bw), PkgRole::UnknownDev);
        assert_eq!(role("tini", &bw), PkgRole::Keep);
        assert_eq!(role("openssl-dev", &Distro::Alpine(None)), PkgRole::Runtime("libssl3".into()));
    }
}
