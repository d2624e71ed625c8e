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
        ..m("poetry", Ecosystem::Python)
    },
    Manager {
        programs: &["pdm"],
        install_verbs: &["install", "sync"],
        manifests: &["pyproject.toml"],
        lockfiles: &["pdm.lock"],
        config_files: &["pdm.toml"],
        caches: &[CacheDir::Home(".cache/pdm")],
        cache_env: &["PDM_CACHE_DIR"],
        clean_commands: &["cache clear"],
        ..m("pdm", Ecosystem::Python)
    },
    Manager {
        programs: &["pipenv"],
        install_verbs: &["install", "sync"],
        manifests: &["Pipfile"],
        lockfiles: &["Pipfile.lock"],
        caches: &[CacheDir::Home(".cache/pipenv"), CacheDir::Home(".cache/pip")],
        cache_env: &["PIPENV_CACHE_DIR"],
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
        ..m("npm", Ecosystem::Node)
    },
    Manager {
        programs: &["yarn"],
        install_verbs: &["install", ""],
        manifests: &["package.json"],
        lockfiles: &["yarn.lock"],
        config_files: &[".yarnrc", ".yarnrc.yml", ".npmrc", ".yarn/releases", ".yarn/plugins", ".yarn/patches"],
        caches: &[CacheDir::Home(".cache/yarn")],
        cache_env: &["YARN_CACHE_FOLDER"],
        clean_commands: &["cache clean"],
        offline_flags: &["--offline"],
        locked_cache: true,
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
        config_files: &["gradle.properties", "gradle", "gradlew"],
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
        caches: &[CacheDir::Home(".composer/cache")],
        cache_env: &["COMPOSER_CACHE_DIR", "COMPOSER_HOME"],
        no_cache_flags: &["--no-cache"],
        clean_commands: &["clear-cache", "clearcache", "cc"],
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
}
