//! What dockfix knows about package managers, in one table used by every
//! pass: manifests and lock files, install commands, cache directories (and
//! the environment variables that move them), and what disables caching.

/// A language ecosystem (or the OS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    Python,
    Node,
    Go,
    Rust,
    Java,
    Ruby,
    Php,
    System,
}

/// Where a package manager keeps its download cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheDir {
    /// Under the user's home: `~/<rel>`.
    Home(&'static str),
    /// A fixed absolute path.
    Absolute(&'static str),
}

/// Everything dockfix knows about one package manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Manager {
    pub name: &'static str,
    pub ecosystem: Ecosystem,
    /// Executables that run it.
    pub programs: &'static [&'static str],
    /// Subcommands that install or download dependencies.
    pub install_verbs: &'static [&'static str],
    /// Files that declare dependencies.
    pub manifests: &'static [&'static str],
    /// Files that pin them.
    pub lockfiles: &'static [&'static str],
    /// Other files the install reads when present (config, release bundles).
    pub config_files: &'static [&'static str],
    /// Default cache directories.
    pub caches: &'static [CacheDir],
    /// Environment variables that move the cache (the first one set wins).
    pub cache_env: &'static [&'static str],
    /// Command-line flags that turn the cache off.
    pub no_cache_flags: &'static [&'static str],
    /// Environment variables that turn the cache off.
    pub no_cache_env: &'static [&'static str],
    /// Subcommands (after the program, space-separated) that empty the cache.
    pub clean_commands: &'static [&'static str],
    /// Flags that make it work from what is already on disk, without the
    /// network (so an earlier download must stay in the image).
    pub offline_flags: &'static [&'static str],
    /// Its cache must not be used by two builds at once (`sharing=locked`).
    pub locked_cache: bool,
    /// What the install writes inside the project directory (an environment,
    /// installed packages): a source copy after the install must not bring
    /// its own copy of these.
    pub project_outputs: &'static [&'static str],
}

const fn m(name: &'static str, ecosystem: Ecosystem) -> Manager {
    Manager {
        name,
        ecosystem,
        programs: &[],
        install_verbs: &[],
        manifests: &[],
        lockfiles: &[],
        config_files: &[],
        caches: &[],
        cache_env: &[],
        no_cache_flags: &[],
        no_cache_env: &[],
        clean_commands: &[],
        offline_flags: &[],
        locked_cache: false,
        project_outputs: &[],
    }
}

/// The table.
pub static MANAGERS: &[Manager] = &[
    Manager {
        programs: &["pip", "pip3"],
        install_verbs: &["install", "download", "wheel"],
        manifests: &["requirements.txt", "pyproject.toml", "setup.py", "setup.cfg"],
        lockfiles: &["requirements.lock", "constraints.txt"],
        config_files: &["pip.conf"],
        caches: &[CacheDir::Home(".cache/pip")],
        cache_env: &["PIP_CACHE_DIR"],
        no_cache_flags: &["--no-cache-dir"],
        no_cache_env: &["PIP_NO_CACHE_DIR"],
        clean_commands: &["cache purge", "cache remove"],
        offline_flags: &["--no-index"],
        ..m("pip", Ecosystem::Python)
    },
    Manager {
        programs: &["uv"],
        install_verbs: &["sync", "pip"],
        manifests: &["pyproject.toml"],
        lockfiles: &["uv.lock"],
        config_files: &["uv.toml", ".python-version"],
        caches: &[CacheDir::Home(".cache/uv")],
        cache_env: &["UV_CACHE_DIR"],
        no_cache_flags: &["--no-cache", "-n"],
        no_cache_env: &["UV_NO_CACHE"],
        clean_commands: &["cache clean", "cache prune"],
        offline_flags: &["--offline"],
        project_outputs: &[".venv"],
        ..m("uv", Ecosystem::Python)
    },
    Manager {
        programs: &["poetry"],
        install_verbs: &["install", "sync"],
        manifests: &["pyproject.toml"],
        lockfiles: &["poetry.lock"],
        config_files: &["poetry.toml"],
        caches: &[CacheDir::Home(".cache/pypoetry")],
        cache_env: &["POETRY_CACHE_DIR"],
        no_cache_flags: &["--no-cache"],
        no_cache_env: &[],
        clean_commands: &["cache clear"],
        project_outputs: &[".venv"],
        ..m("poetry", Ecosystem::Python)
    },
    Manager {
        programs: &["pdm"],
        install_verbs: &["install", "sync"],
        manifests: &["pyproject.toml"],
        lockfiles: &["pdm.lock"],
        config_files: &["pdm.toml", ".pdm-python"],
        caches: &[CacheDir::Home(".cache/pdm")],
        cache_env: &["PDM_CACHE_DIR"],
        clean_commands: &["cache clear"],
        project_outputs: &[".venv", "__pypackages__"],
        ..m("pdm", Ecosystem::Python)
    },
    Manager {
        programs: &["pipenv"],
        install_verbs: &["install", "sync"],
        manifests: &["Pipfile"],
        lockfiles: &["Pipfile.lock"],
        caches: &[CacheDir::Home(".cache/pipenv"), CacheDir::Home(".cache/pip")],
        cache_env: &["PIPENV_CACHE_DIR"],
        project_outputs: &[".venv"],
        ..m("pipenv", Ecosystem::Python)
    },
    Manager {
        programs: &["npm"],
        install_verbs: &["install", "i", "ci", "add"],
        manifests: &["package.json"],
        lockfiles: &["package-lock.json", "npm-shrinkwrap.json"],
        config_files: &[".npmrc"],
        caches: &[CacheDir::Home(".npm")],
        cache_env: &["npm_config_cache", "NPM_CONFIG_CACHE"],
        clean_commands: &["cache clean"],
        offline_flags: &["--offline"],
        project_outputs: &["node_modules"],
        ..m("npm", Ecosystem::Node)
    },
    Manager {
        programs: &["yarn"],
        install_verbs: &["install", ""],
        manifests: &["package.json"],
        lockfiles: &["yarn.lock"],
        config_files: &[
            ".yarnrc",
            ".yarnrc.yml",
            ".npmrc",
            ".yarn/releases",
            ".yarn/plugins",
            ".yarn/patches",
            ".yarn/cache",
        ],
        caches: &[CacheDir::Home(".cache/yarn")],
        cache_env: &["YARN_CACHE_FOLDER"],
        clean_commands: &["cache clean"],
        offline_flags: &["--offline"],
        locked_cache: true,
        project_outputs: &[
            "node_modules",
            ".pnp.cjs",
            ".pnp.js",
            ".pnp.loader.mjs",
            ".yarn/unplugged",
            ".yarn/install-state.gz",
        ],
        ..m("yarn", Ecosystem::Node)
    },
    Manager {
        programs: &["pnpm"],
        install_verbs: &["install", "i", "fetch"],
        manifests: &["package.json", "pnpm-workspace.yaml"],
        lockfiles: &["pnpm-lock.yaml"],
        config_files: &[".npmrc", ".pnpmfile.cjs"],
        caches: &[CacheDir::Home(".local/share/pnpm/store")],
        cache_env: &["npm_config_store_dir", "PNPM_STORE_DIR"],
        clean_commands: &["store prune"],
        offline_flags: &["--offline"],
        project_outputs: &["node_modules"],
        ..m("pnpm", Ecosystem::Node)
    },
    Manager {
        programs: &["bun"],
        install_verbs: &["install", "i"],
        manifests: &["package.json"],
        lockfiles: &["bun.lockb", "bun.lock"],
        config_files: &["bunfig.toml", ".npmrc"],
        caches: &[CacheDir::Home(".bun/install/cache")],
        cache_env: &["BUN_INSTALL_CACHE_DIR"],
        no_cache_flags: &["--no-cache"],
        clean_commands: &["pm cache rm"],
        project_outputs: &["node_modules"],
        ..m("bun", Ecosystem::Node)
    },
    Manager {
        programs: &["go"],
        install_verbs: &["mod", "build", "install", "get"],
        manifests: &["go.mod"],
        lockfiles: &["go.sum"],
        config_files: &["go.work", "go.work.sum"],
        caches: &[CacheDir::Absolute("/go/pkg/mod"), CacheDir::Home(".cache/go-build")],
        cache_env: &["GOMODCACHE", "GOCACHE"],
        clean_commands: &["clean -modcache", "clean -cache"],
        ..m("go", Ecosystem::Go)
    },
    Manager {
        programs: &["cargo"],
        install_verbs: &["build", "install", "fetch", "chef"],
        manifests: &["Cargo.toml"],
        lockfiles: &["Cargo.lock"],
        config_files: &[".cargo/config.toml", ".cargo/config", "rust-toolchain.toml", "rust-toolchain"],
        caches: &[CacheDir::Home(".cargo/registry"), CacheDir::Home(".cargo/git")],
        cache_env: &["CARGO_HOME"],
        offline_flags: &["--offline", "--frozen"],
        locked_cache: true,
        ..m("cargo", Ecosystem::Rust)
    },
    Manager {
        programs: &["mvn", "mvnw", "./mvnw"],
        install_verbs: &["dependency:go-offline", "dependency:resolve", "package", "install", "verify"],
        manifests: &["pom.xml"],
        config_files: &[".mvn", "mvnw"],
        caches: &[CacheDir::Home(".m2/repository")],
        cache_env: &["MAVEN_OPTS"],
        offline_flags: &["-o", "--offline"],
        locked_cache: true,
        ..m("maven", Ecosystem::Java)
    },
    Manager {
        programs: &["gradle", "gradlew", "./gradlew"],
        install_verbs: &["dependencies", "build", "assemble", "bootJar", "shadowJar", "installDist"],
        manifests: &["build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts"],
        lockfiles: &["gradle.lockfile"],
        config_files: &["gradle.properties", "gradle", "gradlew", "buildSrc"],
        caches: &[CacheDir::Home(".gradle/caches")],
        cache_env: &["GRADLE_USER_HOME"],
        offline_flags: &["--offline"],
        ..m("gradle", Ecosystem::Java)
    },
    Manager {
        programs: &["bundle", "bundler"],
        install_verbs: &["install"],
        manifests: &["Gemfile"],
        lockfiles: &["Gemfile.lock"],
        config_files: &[".bundle/config"],
        caches: &[CacheDir::Home(".bundle/cache")],
        cache_env: &["BUNDLE_USER_CACHE"],
        offline_flags: &["--local"],
        ..m("bundler", Ecosystem::Ruby)
    },
    Manager {
        programs: &["composer"],
        install_verbs: &["install"],
        manifests: &["composer.json"],
        lockfiles: &["composer.lock"],
        config_files: &["auth.json", "symfony.lock"],
        caches: &[CacheDir::Home(".composer/cache")],
        cache_env: &["COMPOSER_CACHE_DIR", "COMPOSER_HOME"],
        no_cache_flags: &["--no-cache"],
        clean_commands: &["clear-cache", "clearcache", "cc"],
        project_outputs: &["vendor"],
        ..m("composer", Ecosystem::Php)
    },
    Manager {
        programs: &["apt-get", "apt"],
        install_verbs: &["install", "update", "upgrade", "dist-upgrade"],
        caches: &[CacheDir::Absolute("/var/cache/apt"), CacheDir::Absolute("/var/lib/apt")],
        clean_commands: &["clean", "autoclean"],
        locked_cache: true,
        ..m("apt", Ecosystem::System)
    },
    Manager {
        programs: &["apk"],
        install_verbs: &["add", "update", "upgrade"],
        caches: &[CacheDir::Absolute("/etc/apk/cache")],
        no_cache_flags: &["--no-cache"],
        clean_commands: &["cache clean", "cache purge"],
        locked_cache: true,
        ..m("apk", Ecosystem::System)
    },
    Manager {
        programs: &["dnf", "microdnf", "yum"],
        install_verbs: &["install", "update", "upgrade", "makecache"],
        caches: &[CacheDir::Absolute("/var/cache/dnf"), CacheDir::Absolute("/var/cache/yum")],
        clean_commands: &["clean"],
        locked_cache: true,
        ..m("dnf", Ecosystem::System)
    },
    Manager {
        programs: &["zypper"],
        install_verbs: &["install", "in", "refresh", "ref", "update", "up"],
        caches: &[CacheDir::Absolute("/var/cache/zypp")],
        clean_commands: &["clean", "cc"],
        locked_cache: true,
        ..m("zypper", Ecosystem::System)
    },
];

/// A user an official base image creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageUser {
    pub name: &'static str,
    pub uid: u32,
    pub gid: u32,
    pub home: &'static str,
}

/// What an official base image sets that moves package caches: its `ENV`
/// and the users it creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageDefaults {
    /// Repository (`golang`, `oven/bun`), without registry or tag.
    pub repository: &'static str,
    pub env: &'static [(&'static str, &'static str)],
    pub users: &'static [ImageUser],
}

/// Official images whose `ENV` or users move caches.
pub static IMAGE_DEFAULTS: &[ImageDefaults] = &[
    ImageDefaults { repository: "golang", env: &[("GOPATH", "/go")], users: &[] },
    ImageDefaults {
        repository: "rust",
        env: &[("CARGO_HOME", "/usr/local/cargo"), ("RUSTUP_HOME", "/usr/local/rustup")],
        users: &[],
    },
    ImageDefaults {
        repository: "node",
        env: &[],
        users: &[ImageUser { name: "node", uid: 1000, gid: 1000, home: "/home/node" }],
    },
    ImageDefaults {
        repository: "ruby",
        env: &[("GEM_HOME", "/usr/local/bundle"), ("BUNDLE_APP_CONFIG", "/usr/local/bundle")],
        users: &[],
    },
    ImageDefaults { repository: "composer", env: &[("COMPOSER_HOME", "/tmp")], users: &[] },
    ImageDefaults {
        repository: "gradle",
        env: &[("GRADLE_HOME", "/opt/gradle")],
        users: &[ImageUser { name: "gradle", uid: 1000, gid: 1000, home: "/home/gradle" }],
    },
    ImageDefaults {
        repository: "oven/bun",
        env: &[],
        users: &[ImageUser { name: "bun", uid: 1000, gid: 1000, home: "/home/bun" }],
    },
];

/// The repository of an image reference: `docker.io/library/golang:1.22` →
/// `golang`, `ghcr.io/o/x@sha256:…` → `ghcr.io/o/x`.
pub fn image_repository(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    // A tag is a `:` after the last `/` (a registry port comes before it).
    let slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    let repo = match no_digest[slash..].find(':') {
        Some(c) => &no_digest[..slash + c],
        None => no_digest,
    };
    let repo = repo.strip_prefix("docker.io/").or_else(|| repo.strip_prefix("index.docker.io/")).unwrap_or(repo);
    repo.strip_prefix("library/").unwrap_or(repo)
}

/// The tag of an image reference (`3.12-slim`), if any.
pub fn image_tag(image: &str) -> Option<&str> {
    let no_digest = image.split('@').next().unwrap_or(image);
    let slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    no_digest[slash..].split_once(':').map(|(_, t)| t)
}

/// The defaults of an official image, by reference.
pub fn image_defaults(image: &str) -> Option<&'static ImageDefaults> {
    let repo = image_repository(image);
    IMAGE_DEFAULTS.iter().find(|d| d.repository == repo)
}

/// Where the RPM package manager of an image keeps its cache: dnf 4 uses
/// `/var/cache/dnf`, dnf 5 (Fedora 41 on) `/var/cache/libdnf5`, microdnf and
/// the yum of EL 7 `/var/cache/yum`.
pub fn rpm_cache_dir(program: &str, image: &str) -> &'static str {
    let repo = image_repository(image);
    let tag = image_tag(image).unwrap_or("latest");
    let major = |t: &str| t.split(|c: char| !c.is_ascii_digit()).next().and_then(|n| n.parse::<u32>().ok());
    match program {
        "microdnf" => "/var/cache/yum",
        "yum" => {
            let el7 = matches!(repo, "centos" | "oraclelinux" | "scientificlinux") && major(tag) == Some(7)
                || repo == "amazonlinux" && major(tag) == Some(2)
                || repo.ends_with("ubi7")
                || repo.contains("rhel7");
            if el7 {
                "/var/cache/yum"
            } else {
                "/var/cache/dnf"
            }
        }
        _ => {
            let dnf5 = repo == "fedora" && (major(tag).is_none_or(|m| m >= 41));
            if dnf5 {
                "/var/cache/libdnf5"
            } else {
                "/var/cache/dnf"
            }
        }
    }
}

/// A manager by name.
pub fn manager(name: &str) -> Option<&'static Manager> {
    MANAGERS.iter().find(|m| m.name == name)
}

/// The manager a program name belongs to (`pip3` → pip).
pub fn manager_for_program(program: &str) -> Option<&'static Manager> {
    let p = program.rsplit('/').next().unwrap_or(program);
    // pip3.11, python3.12 -m pip are handled by callers; strip a version suffix.
    let base = p.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    MANAGERS.iter().find(|m| m.programs.iter().any(|x| x.rsplit('/').next() == Some(p) || *x == base))
}

/// True for a file name that looks like a pip requirements file.
pub fn is_requirements_file(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    (base.starts_with("requirements") && (base.ends_with(".txt") || base.ends_with(".in")))
        || base.ends_with(".lock") && base.starts_with("requirements")
        || base == "constraints.txt"
}

/// A family of Linux distributions that share package names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DistroFamily {
    /// Debian and Ubuntu (`apt-get`).
    Debian,
    /// Alpine (`apk`).
    Alpine,
}

/// What a build-time package becomes in a runtime image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeOf {
    /// Only needed to build: compilers, headers, build systems.
    Drop,
    /// The runtime library, the same in every release of the family.
    Lib(&'static str),
    /// The runtime library by release (`bookworm`, `bullseye`, `jammy`,
    /// `noble`, `3.18`…); the first entry is the default when the release is
    /// unknown.
    ByRelease(&'static [(&'static str, &'static str)]),
}

/// One build-time package of a distribution family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildPackage {
    pub family: DistroFamily,
    pub name: &'static str,
    pub runtime: RuntimeOf,
}

const fn bp(family: DistroFamily, name: &'static str, runtime: RuntimeOf) -> BuildPackage {
    BuildPackage { family, name, runtime }
}

use DistroFamily::{Alpine, Debian};
use RuntimeOf::{ByRelease, Drop, Lib};

/// Build tools and development packages, and what each needs at run time.
/// Debian and Ubuntu share a row unless a release says otherwise (Ubuntu
/// releases by codename and number: `jammy`/`22.04`, `noble`/`24.04`).
pub static BUILD_PACKAGES: &[BuildPackage] = &[
    // Debian / Ubuntu: toolchains.
    bp(Debian, "build-essential", Drop),
    bp(Debian, "gcc", Drop),
    bp(Debian, "g++", Drop),
    bp(Debian, "cpp", Drop),
    bp(Debian, "clang", Drop),
    bp(Debian, "gfortran", Drop),
    bp(Debian, "make", Drop),
    bp(Debian, "cmake", Drop),
    bp(Debian, "ninja-build", Drop),
    bp(Debian, "meson", Drop),
    bp(Debian, "autoconf", Drop),
    bp(Debian, "automake", Drop),
    bp(Debian, "libtool", Drop),
    bp(Debian, "pkg-config", Drop),
    bp(Debian, "pkgconf", Drop),
    bp(Debian, "swig", Drop),
    bp(Debian, "cargo", Drop),
    bp(Debian, "rustc", Drop),
    bp(Debian, "libc6-dev", Drop),
    bp(Debian, "libc-dev", Drop),
    bp(Debian, "linux-libc-dev", Drop),
    bp(Debian, "python3-dev", Lib("python3")),
    bp(Debian, "python-dev", Lib("python3")),
    bp(Debian, "python-dev-is-python3", Drop),
    // Debian / Ubuntu: headers → runtime libraries.
    bp(Debian, "libpq-dev", Lib("libpq5")),
    bp(
        Debian,
        "libssl-dev",
        ByRelease(&[
            ("bookworm", "libssl3"),
            ("bullseye", "libssl1.1"),
            ("buster", "libssl1.1"),
            ("trixie", "libssl3t64"),
            ("jammy", "libssl3"),
            ("noble", "libssl3t64"),
            ("focal", "libssl1.1"),
        ]),
    ),
    bp(
        Debian,
        "libffi-dev",
        ByRelease(&[
            ("bookworm", "libffi8"),
            ("bullseye", "libffi7"),
            ("buster", "libffi6"),
            ("trixie", "libffi8"),
            ("jammy", "libffi8"),
            ("noble", "libffi8"),
            ("focal", "libffi7"),
        ]),
    ),
    bp(
        Debian,
        "default-libmysqlclient-dev",
        ByRelease(&[
            ("bookworm", "libmariadb3"),
            ("bullseye", "libmariadb3"),
            ("buster", "libmariadb3"),
            ("trixie", "libmariadb3"),
            ("jammy", "libmysqlclient21"),
            ("noble", "libmysqlclient21"),
            ("focal", "libmysqlclient21"),
        ]),
    ),
    bp(Debian, "libmariadb-dev", Lib("libmariadb3")),
    bp(Debian, "libmariadb-dev-compat", Lib("libmariadb3")),
    bp(Debian, "libmysqlclient-dev", Lib("libmysqlclient21")),
    bp(
        Debian,
        "libxml2-dev",
        ByRelease(&[
            ("bookworm", "libxml2"),
            ("bullseye", "libxml2"),
            ("buster", "libxml2"),
            ("trixie", "libxml2"),
            ("jammy", "libxml2"),
            ("noble", "libxml2"),
        ]),
    ),
    bp(Debian, "libxslt1-dev", Lib("libxslt1.1")),
    bp(
        Debian,
        "libjpeg-dev",
        ByRelease(&[
            ("bookworm", "libjpeg62-turbo"),
            ("bullseye", "libjpeg62-turbo"),
            ("buster", "libjpeg62-turbo"),
            ("trixie", "libjpeg62-turbo"),
            ("jammy", "libjpeg-turbo8"),
            ("noble", "libjpeg-turbo8"),
            ("focal", "libjpeg-turbo8"),
        ]),
    ),
    bp(Debian, "libjpeg62-turbo-dev", Lib("libjpeg62-turbo")),
    bp(Debian, "libjpeg-turbo8-dev", Lib("libjpeg-turbo8")),
    bp(Debian, "zlib1g-dev", Lib("zlib1g")),
    bp(
        Debian,
        "libgeos-dev",
        ByRelease(&[
            ("bookworm", "libgeos-c1v5"),
            ("bullseye", "libgeos-c1v5"),
            ("buster", "libgeos-c1v5"),
            ("trixie", "libgeos-c1t64"),
            ("jammy", "libgeos-c1v5"),
            ("noble", "libgeos-c1t64"),
        ]),
    ),
    bp(
        Debian,
        "libpng-dev",
        ByRelease(&[
            ("bookworm", "libpng16-16"),
            ("bullseye", "libpng16-16"),
            ("trixie", "libpng16-16t64"),
            ("jammy", "libpng16-16"),
            ("noble", "libpng16-16t64"),
        ]),
    ),
    bp(Debian, "libfreetype-dev", Lib("libfreetype6")),
    bp(Debian, "libfreetype6-dev", Lib("libfreetype6")),
    bp(Debian, "liblcms2-dev", Lib("liblcms2-2")),
    bp(Debian, "libwebp-dev", ByRelease(&[("bookworm", "libwebp7"), ("bullseye", "libwebp6"), ("jammy", "libwebp7")])),
    bp(Debian, "libtiff-dev", ByRelease(&[("bookworm", "libtiff6"), ("bullseye", "libtiff5"), ("jammy", "libtiff5")])),
    bp(Debian, "libtiff5-dev", Lib("libtiff5")),
    bp(Debian, "libopenjp2-7-dev", Lib("libopenjp2-7")),
    bp(Debian, "libyaml-dev", Lib("libyaml-0-2")),
    bp(Debian, "libsqlite3-dev", Lib("libsqlite3-0")),
    bp(
        Debian,
        "libcurl4-openssl-dev",
        ByRelease(&[
            ("bookworm", "libcurl4"),
            ("bullseye", "libcurl4"),
            ("trixie", "libcurl4t64"),
            ("noble", "libcurl4t64"),
        ]),
    ),
    bp(Debian, "libkrb5-dev", Lib("libkrb5-3")),
    bp(Debian, "libsasl2-dev", Lib("libsasl2-2")),
    bp(
        Debian,
        "libldap2-dev",
        ByRelease(&[("bookworm", "libldap-2.5-0"), ("bullseye", "libldap-2.4-2"), ("jammy", "libldap-2.5-0")]),
    ),
    bp(Debian, "libldap-dev", Lib("libldap-2.5-0")),
    bp(Debian, "unixodbc-dev", Lib("unixodbc")),
    bp(Debian, "libgmp-dev", Lib("libgmp10")),
    bp(Debian, "libsodium-dev", Lib("libsodium23")),
    bp(Debian, "libmagic-dev", Lib("libmagic1")),
    bp(Debian, "libcairo2-dev", Lib("libcairo2")),
    bp(Debian, "libbz2-dev", Lib("libbz2-1.0")),
    bp(Debian, "liblzma-dev", Lib("liblzma5")),
    bp(Debian, "libzstd-dev", Lib("libzstd1")),
    bp(Debian, "libsnappy-dev", Lib("libsnappy1v5")),
    bp(Debian, "librdkafka-dev", Lib("librdkafka1")),
    bp(Debian, "libsystemd-dev", Lib("libsystemd0")),
    bp(Debian, "libblas-dev", Lib("libblas3")),
    bp(Debian, "liblapack-dev", Lib("liblapack3")),
    bp(Debian, "libopenblas-dev", Lib("libopenblas0")),
    bp(Debian, "libhdf5-dev", ByRelease(&[("bookworm", "libhdf5-103-1"), ("bullseye", "libhdf5-103-1")])),
    // Alpine: toolchains.
    bp(Alpine, "build-base", Drop),
    bp(Alpine, "gcc", Drop),
    bp(Alpine, "g++", Drop),
    bp(Alpine, "clang", Drop),
    bp(Alpine, "make", Drop),
    bp(Alpine, "cmake", Drop),
    bp(Alpine, "musl-dev", Drop),
    bp(Alpine, "libc-dev", Drop),
    bp(Alpine, "linux-headers", Drop),
    bp(Alpine, "autoconf", Drop),
    bp(Alpine, "automake", Drop),
    bp(Alpine, "libtool", Drop),
    bp(Alpine, "pkgconf", Drop),
    bp(Alpine, "pkgconfig", Drop),
    bp(Alpine, "cargo", Drop),
    bp(Alpine, "rust", Drop),
    bp(Alpine, "python3-dev", Lib("python3")),
    // Alpine: headers → runtime libraries.
    bp(Alpine, "postgresql-dev", Lib("libpq")),
    bp(Alpine, "libpq-dev", Lib("libpq")),
    bp(
        Alpine,
        "openssl-dev",
        ByRelease(&[
            ("3.21", "libssl3"),
            ("3.22", "libssl3"),
            ("3.20", "libssl3"),
            ("3.19", "libssl3"),
            ("3.18", "libssl3"),
            ("3.17", "libssl3"),
            ("3.16", "libssl1.1"),
            ("3.15", "libssl1.1"),
            ("3.14", "libssl1.1"),
        ]),
    ),
    bp(Alpine, "libffi-dev", Lib("libffi")),
    bp(Alpine, "jpeg-dev", Lib("libjpeg-turbo")),
    bp(Alpine, "libjpeg-turbo-dev", Lib("libjpeg-turbo")),
    bp(Alpine, "zlib-dev", Lib("zlib")),
    bp(Alpine, "libxml2-dev", Lib("libxml2")),
    bp(Alpine, "libxslt-dev", Lib("libxslt")),
    bp(Alpine, "mariadb-dev", Lib("mariadb-connector-c")),
    bp(Alpine, "mariadb-connector-c-dev", Lib("mariadb-connector-c")),
    bp(Alpine, "geos-dev", Lib("geos")),
    bp(Alpine, "freetype-dev", Lib("freetype")),
    bp(Alpine, "lcms2-dev", Lib("lcms2")),
    bp(Alpine, "libwebp-dev", Lib("libwebp")),
    bp(Alpine, "tiff-dev", Lib("tiff")),
    bp(Alpine, "openjpeg-dev", Lib("openjpeg")),
    bp(Alpine, "libpng-dev", Lib("libpng")),
    bp(Alpine, "yaml-dev", Lib("yaml")),
    bp(Alpine, "sqlite-dev", Lib("sqlite-libs")),
    bp(Alpine, "curl-dev", Lib("libcurl")),
    bp(Alpine, "krb5-dev", Lib("krb5-libs")),
    bp(Alpine, "cyrus-sasl-dev", Lib("cyrus-sasl")),
    bp(Alpine, "openldap-dev", Lib("libldap")),
    bp(Alpine, "unixodbc-dev", Lib("unixodbc")),
    bp(Alpine, "gmp-dev", Lib("gmp")),
    bp(Alpine, "libsodium-dev", Lib("libsodium")),
    bp(Alpine, "cairo-dev", Lib("cairo")),
    bp(Alpine, "bzip2-dev", Lib("libbz2")),
    bp(Alpine, "xz-dev", Lib("xz-libs")),
    bp(Alpine, "zstd-dev", Lib("zstd-libs")),
    bp(Alpine, "librdkafka-dev", Lib("librdkafka")),
    bp(Alpine, "openblas-dev", Lib("openblas")),
];

/// Disk space (MB) that installing a build package takes on a minimal Debian
/// bookworm (amd64, `--no-install-recommends`, dependencies included), as
/// `apt-get install` reports it: what leaves an image with it.
pub static DEBIAN_INSTALLED_MB: &[(&str, u32)] = &[
    ("build-essential", 323),
    ("g++", 267),
    ("gcc", 180),
    ("cmake", 96),
    ("default-libmysqlclient-dev", 45),
    ("libpq-dev", 23),
    ("libssl-dev", 19),
];

/// A build package of a family by name (a version pin `=1.2` or `~1.2` is ignored).
pub fn build_package(family: DistroFamily, name: &str) -> Option<&'static BuildPackage> {
    let bare = name.split(['=', '~', '>', '<']).next().unwrap_or(name);
    BUILD_PACKAGES.iter().find(|p| p.family == family && p.name == bare)
}

/// True for a package name that looks like development files (`*-dev`,
/// `python3.12-dev`), whether or not the table knows it.
pub fn looks_like_dev_package(name: &str) -> bool {
    let bare = name.split(['=', '~', '>', '<']).next().unwrap_or(name);
    bare.ends_with("-dev") || bare.ends_with("-devel") || bare.ends_with("-headers")
}

/// The runtime package for a build package, with whether the release was
/// known: `(package, sure)`. `None` when it is only needed to build.
pub fn runtime_of(p: &BuildPackage, release: Option<&str>) -> Option<(&'static str, bool)> {
    match p.runtime {
        RuntimeOf::Drop => None,
        RuntimeOf::Lib(l) => Some((l, true)),
        RuntimeOf::ByRelease(list) => match release.and_then(|r| list.iter().find(|(rel, _)| *rel == r)) {
            Some((_, l)) => Some((l, true)),
            None => list.first().map(|(_, l)| (*l, false)),
        },
    }
}

/// What `apt-get install --no-install-recommends` leaves out for a Debian
/// package: measured by installing the package alone (with and without
/// recommends) on a minimal Debian 12 (bookworm, amd64) system — a
/// debootstrap minbase like the `debian:bookworm` image. On a system that
/// already has some of these packages the difference is smaller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AptRecommends {
    pub package: &'static str,
    /// Packages installed only because of recommends (the package's own or
    /// its dependencies').
    pub extra_packages: u32,
    /// Their installed size, in MiB (`Installed-Size` summed).
    pub extra_mib: u32,
    /// Notable ones among them (the package's own recommends first).
    pub brings: &'static [&'static str],
    /// Recommended packages the package's main use needs: a fix that drops
    /// recommends installs these by name (HTTPS clients need
    /// `ca-certificates`, `gcc` needs `libc6-dev` to compile anything).
    pub keep: &'static [&'static str],
    /// What else stops working without them, if something known does.
    pub caveat: &'static str,
}

const fn rec(
    package: &'static str,
    extra_packages: u32,
    extra_mib: u32,
    brings: &'static [&'static str],
) -> AptRecommends {
    AptRecommends { package, extra_packages, extra_mib, brings, keep: &[], caveat: "" }
}

/// Debian 12 packages whose recommends weigh something, or bring
/// something their main use needs.
pub static APT_RECOMMENDS: &[AptRecommends] = &[
    AptRecommends {
        caveat: "pip builds packages that have no wheel with `build-essential` and `python3-dev`",
        ..rec("python3-pip", 122, 408, &["build-essential", "python3-dev"])
    },
    AptRecommends { keep: &["ca-certificates"], ..rec("python3", 4, 2, &["ca-certificates", "openssl"]) },
    AptRecommends { keep: &["ca-certificates"], ..rec("python3-dev", 40, 57, &["ca-certificates", "libc-devtools"]) },
    rec("build-essential", 69, 75, &["fakeroot", "gnupg", "libalgorithm-merge-perl"]),
    AptRecommends { keep: &["libc6-dev"], ..rec("gcc", 53, 84, &["libc6-dev", "libc-devtools"]) },
    rec("g++", 37, 55, &["libc-devtools"]),
    rec("gfortran", 37, 55, &["libc-devtools"]),
    AptRecommends {
        keep: &["ca-certificates"],
        caveat: "SSH remotes need `openssh-client`",
        ..rec("git", 22, 14, &["ca-certificates", "patch", "less", "openssh-client"])
    },
    AptRecommends {
        keep: &["ca-certificates"],
        caveat: "SSH remotes need `openssh-client`",
        ..rec("git-lfs", 22, 14, &["ca-certificates", "less", "openssh-client"])
    },
    AptRecommends { keep: &["ca-certificates"], ..rec("curl", 6, 3, &["ca-certificates", "openssl", "publicsuffix"]) },
    AptRecommends { keep: &["ca-certificates"], ..rec("wget", 4, 8, &["ca-certificates", "openssl", "publicsuffix"]) },
    AptRecommends { keep: &["ca-certificates"], ..rec("nodejs", 3, 17, &["ca-certificates", "nodejs-doc"]) },
    AptRecommends {
        caveat: "git dependencies need `git`, native modules `build-essential`",
        ..rec("npm", 282, 646, &["git", "node-tap", "build-essential"])
    },
    AptRecommends {
        caveat: "PDF and PostScript need `ghostscript`",
        ..rec("imagemagick", 69, 113, &["ghostscript", "fonts-urw-base35", "fonts-noto-mono", "dbus"])
    },
    rec("ffmpeg", 43, 149, &["i965-va-driver", "intel-media-va-driver", "dbus", "alsa-ucm-conf"]),
    rec("default-jdk-headless", 14, 54, &["dbus", "alsa-ucm-conf", "libglib2.0-data"]),
    rec("default-jre-headless", 14, 54, &["dbus", "alsa-ucm-conf", "libglib2.0-data"]),
    rec("openjdk-17-jdk-headless", 14, 54, &["dbus", "alsa-ucm-conf", "libglib2.0-data"]),
    rec("openjdk-17-jre-headless", 14, 54, &["dbus", "alsa-ucm-conf", "libglib2.0-data"]),
    rec("maven", 14, 54, &["dbus", "alsa-ucm-conf", "libglib2.0-data"]),
    AptRecommends {
        caveat: "cron mails job output through a mail transport agent",
        ..rec("cron", 25, 18, &["exim4-daemon-light", "bsd-mailx"])
    },
    rec("libxml2-dev", 37, 55, &["libc-devtools"]),
    rec("zlib1g-dev", 37, 55, &["libc-devtools"]),
    rec("libjpeg-dev", 36, 54, &["libc-devtools"]),
    rec("libsqlite3-dev", 37, 55, &["libc-devtools"]),
    rec("default-libmysqlclient-dev", 37, 55, &["libc-devtools"]),
    rec("libmariadb-dev", 37, 55, &["libc-devtools"]),
    rec("libcairo2-dev", 32, 90, &["libc-devtools", "ca-certificates"]),
    rec("libgdal-dev", 52, 188, &["gcc", "binutils", "file"]),
    rec("texlive-latex-base", 150, 426, &["dvisvgm", "fonts-droid-fallback", "fonts-noto-mono", "dbus"]),
    rec(
        "libreoffice-core",
        413,
        865,
        &["gstreamer1.0-plugins-base", "gstreamer1.0-plugins-good", "gstreamer1.0-libav", "libpaper-utils"],
    ),
    rec("graphviz", 7, 56, &["fonts-liberation2", "libgts-bin"]),
    rec("chromium", 152, 203, &["chromium-sandbox", "avahi-daemon", "at-spi2-core"]),
    rec("wkhtmltopdf", 150, 195, &["xvfb", "avahi-daemon", "at-spi2-core"]),
    AptRecommends { caveat: "builds need a compiler and `make`", ..rec("cmake", 78, 252, &["gcc", "make"]) },
    AptRecommends { caveat: "cgo needs `gcc`", ..rec("golang-go", 85, 310, &["gcc", "g++", "binutils"]) },
    rec("software-properties-common", 24, 22, &["gnupg", "dirmngr", "appstream"]),
    AptRecommends {
        caveat: "R's recommended packages and building packages from source come through recommends",
        ..rec("r-base-core", 250, 713, &["r-recommended", "r-base-dev", "r-doc-html"])
    },
    rec("libglib2.0-0", 5, 51, &["libglib2.0-data", "shared-mime-info", "xdg-user-dirs"]),
];

/// The recommends of a Debian package, when dockfix knows them.
pub fn apt_recommends(package: &str) -> Option<&'static AptRecommends> {
    APT_RECOMMENDS.iter().find(|r| r.package == package)
}

impl AptRecommends {
    /// One clause for a message: `` `git` brings 22 more packages (≈ 14 MB)
    /// through recommends, among them ca-certificates, patch, less and
    /// openssh-client``.
    pub fn describe(&self) -> String {
        let list = match self.brings {
            [] => String::new(),
            [one] => one.to_string(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        };
        let among = if self.extra_packages as usize > self.brings.len() { "among them " } else { "" };
        format!(
            "`{}` brings {} more packages (≈ {} MB) through recommends, {among}{list}",
            self.package, self.extra_packages, self.extra_mib
        )
    }
}

/// Python distributions that provide the same import package: a full
/// distribution and its core (or headless, or binary, or CPU-only) variant.
/// Installing two of one group puts one over the other in the same
/// directory (`cv2/`, `psycopg2/`, `tensorflow/`): whichever pip installed
/// last wins, and the image carries both downloads. Names are normalized
/// (PEP 503). Each group: (import name, distributions).
pub static PYTHON_ALTERNATIVES: &[(&str, &[&str])] = &[
    ("cv2", &["opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"]),
    ("psycopg2", &["psycopg2", "psycopg2-binary"]),
    ("tensorflow", &["tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel"]),
    ("PIL", &["pillow", "pillow-simd"]),
    ("onnxruntime", &["onnxruntime", "onnxruntime-gpu"]),
    ("faiss", &["faiss-cpu", "faiss-gpu"]),
];

/// The group of [`PYTHON_ALTERNATIVES`] a normalized distribution name is in.
pub fn python_alternatives(name: &str) -> Option<(&'static str, &'static [&'static str])> {
    PYTHON_ALTERNATIVES.iter().find(|(_, g)| g.contains(&name)).copied()
}

/// npm packages whose command is not named like the package (the others
/// install a command of their own name, the scope left out).
pub static NPM_BINARIES: &[(&str, &[&str])] = &[
    ("typescript", &["tsc", "tsserver"]),
    ("@angular/cli", &["ng"]),
    ("@nestjs/cli", &["nest"]),
    ("@vue/cli", &["vue"]),
    ("pm2", &["pm2", "pm2-runtime", "pm2-docker", "pm2-dev"]),
    ("sequelize-cli", &["sequelize", "sequelize-cli"]),
    ("@prisma/cli", &["prisma"]),
    ("http-server", &["http-server", "hs"]),
    ("npm-run-all", &["npm-run-all", "run-p", "run-s"]),
    ("concurrently", &["concurrently", "conc"]),
];

/// The commands an npm package puts on `PATH` when installed globally.
pub fn npm_binaries(package: &str) -> Vec<&'static str> {
    if let Some((_, bins)) = NPM_BINARIES.iter().find(|(p, _)| *p == package) {
        return bins.to_vec();
    }
    Vec::new()
}

/// Whether a Python distribution with compiled code ships manylinux
/// (glibc, x86_64 and aarch64) wheels on PyPI for current CPython releases:
/// a table, kept by hand, not a query of PyPI. `true`: pip installs a wheel
/// and needs no compiler; `false`: only an sdist for Linux, so pip builds
/// it (a compiler and the library's headers are needed). Names normalized
/// (PEP 503). Packages not listed are unknown.
pub static PYTHON_WHEELS: &[(&str, bool)] = &[
    ("aiohttp", true),
    ("bcrypt", true),
    ("cffi", true),
    ("charset-normalizer", true),
    ("cryptography", true),
    ("frozenlist", true),
    ("gevent", true),
    ("greenlet", true),
    ("grpcio", true),
    ("httptools", true),
    ("llvmlite", true),
    ("lxml", true),
    ("markupsafe", true),
    ("matplotlib", true),
    ("msgpack", true),
    ("multidict", true),
    ("numba", true),
    ("numpy", true),
    ("opencv-python", true),
    ("opencv-python-headless", true),
    ("orjson", true),
    ("pandas", true),
    ("pillow", true),
    ("psutil", true),
    ("psycopg-binary", true),
    ("psycopg2-binary", true),
    ("pyarrow", true),
    ("pydantic-core", true),
    ("pyodbc", true),
    ("pyyaml", true),
    ("pyzmq", true),
    ("regex", true),
    ("scikit-learn", true),
    ("scipy", true),
    ("sqlalchemy", true),
    ("ujson", true),
    ("uvloop", true),
    ("watchfiles", true),
    ("yarl", true),
    ("zstandard", true),
    ("dlib", false),
    ("gssapi", false),
    ("m2crypto", false),
    ("mysqlclient", false),
    ("psycopg2", false),
    ("pycairo", false),
    ("pygraphviz", false),
    ("python-ldap", false),
    ("uwsgi", false),
    ("xmlsec", false),
];

/// What [`PYTHON_WHEELS`] says of a normalized name.
pub fn python_ships_wheels(name: &str) -> Option<bool> {
    PYTHON_WHEELS.iter().find(|(n, _)| *n == name).map(|(_, w)| *w)
}

/// Options of `uv` (global and `sync`, `pip`) that take a value: the word
/// after them is not a command or a path to read.
pub const UV_VALUE_OPTS: &[&str] = &[
    "--extra",
    "--group",
    "--no-group",
    "--only-group",
    "--package",
    "--project",
    "--directory",
    "-p",
    "--python",
    "--index",
    "--default-index",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--cache-dir",
    "--config-file",
    "--no-install-package",
    "--reinstall-package",
    "--refresh-package",
    "-P",
    "--upgrade-package",
    "--prerelease",
    "--resolution",
    "--index-strategy",
    "--keyring-provider",
    "--link-mode",
    "--python-platform",
    "--color",
    "--exclude-newer",
    "-C",
    "--config-setting",
    "--no-binary-package",
    "--no-build-package",
    "--script",
    "--allow-insecure-host",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_map_to_managers() {
        assert_eq!(manager_for_program("pip3").unwrap().name, "pip");
        assert_eq!(manager_for_program("/usr/local/bin/pip3.11").unwrap().name, "pip");
        assert_eq!(manager_for_program("apt-get").unwrap().name, "apt");
        assert_eq!(manager_for_program("./gradlew").unwrap().name, "gradle");
        assert!(manager_for_program("make").is_none());
        assert!(is_requirements_file("requirements-dev.txt"));
        assert_eq!(manager("npm").unwrap().project_outputs, ["node_modules"]);
        assert!(manager("composer").unwrap().config_files.contains(&"auth.json"));
        assert!(!is_requirements_file("setup.py"));
    }

    #[test]
    fn apt_recommends_table() {
        let git = apt_recommends("git").unwrap();
        assert_eq!(git.keep, ["ca-certificates"]);
        assert_eq!(
            git.describe(),
            "`git` brings 22 more packages (≈ 14 MB) through recommends, among them ca-certificates, patch, less and openssh-client"
        );
        assert!(apt_recommends("tzdata").is_none());
        for r in APT_RECOMMENDS {
            assert!(r.keep.iter().all(|k| r.brings.contains(k)), "{}", r.package);
            assert_eq!(APT_RECOMMENDS.iter().filter(|x| x.package == r.package).count(), 1, "{}", r.package);
        }
    }

    #[test]
    fn images() {
        assert_eq!(image_repository("docker.io/library/golang:1.22-bookworm"), "golang");
        assert_eq!(image_repository("localhost:5000/x/y:1"), "localhost:5000/x/y");
        assert_eq!(image_repository("oven/bun@sha256:abc"), "oven/bun");
        assert_eq!(image_tag("python:3.12-slim"), Some("3.12-slim"));
        assert_eq!(image_defaults("rust:1.80").unwrap().env[0], ("CARGO_HOME", "/usr/local/cargo"));
        assert!(image_defaults("python:3.12").is_none());
        assert_eq!(rpm_cache_dir("dnf", "fedora:40"), "/var/cache/dnf");
        assert_eq!(rpm_cache_dir("dnf", "fedora:42"), "/var/cache/libdnf5");
        assert_eq!(rpm_cache_dir("yum", "centos:7"), "/var/cache/yum");
        assert_eq!(rpm_cache_dir("yum", "rockylinux:9"), "/var/cache/dnf");
        assert_eq!(rpm_cache_dir("microdnf", "registry.access.redhat.com/ubi9/ubi-minimal"), "/var/cache/yum");
    }

    #[test]
    fn runtime_libraries() {
        let dev = build_package(DistroFamily::Debian, "libpq-dev=15.6-0+deb12u1").unwrap();
        assert_eq!(runtime_of(dev, None), Some(("libpq5", true)));
        let ssl = build_package(DistroFamily::Debian, "libssl-dev").unwrap();
        assert_eq!(runtime_of(ssl, Some("bullseye")), Some(("libssl1.1", true)));
        assert_eq!(runtime_of(ssl, None), Some(("libssl3", false)));
        assert_eq!(runtime_of(build_package(DistroFamily::Debian, "gcc").unwrap(), None), None);
        let pq = build_package(DistroFamily::Alpine, "postgresql-dev").unwrap();
        assert_eq!(runtime_of(pq, Some("3.19")), Some(("libpq", true)));
        assert!(build_package(DistroFamily::Alpine, "libpq5").is_none());
        assert!(looks_like_dev_package("libfoo-dev") && !looks_like_dev_package("curl"));
        // Every row names a package once per family.
        for (i, a) in BUILD_PACKAGES.iter().enumerate() {
            assert!(!BUILD_PACKAGES[..i].iter().any(|b| b.family == a.family && b.name == a.name), "{}", a.name);
        }
    }
}
