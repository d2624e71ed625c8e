//! What a base image reference tells: its distribution family and release,
//! and which runtime image goes with an SDK image.

use dockfix_core::knowledge::DistroFamily;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// As written (`python:3.12-slim-bookworm`).
    pub text: String,
    /// The last path component of the repository (`python`, `golang`).
    pub name: String,
    /// The tag (`3.12-slim-bookworm`), empty when absent.
    pub tag: String,
}

impl Image {
    pub fn parse(text: &str) -> Image {
        let no_digest = text.split('@').next().unwrap_or(text);
        let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
        let (name, tag) = match last.split_once(':') {
            Some((n, t)) => (n.to_string(), t.to_string()),
            None => (last.to_string(), String::new()),
        };
        Image { text: text.to_string(), name: name.to_ascii_lowercase(), tag: tag.to_ascii_lowercase() }
    }

    /// The distribution family, when the reference says.
    pub fn family(&self) -> Option<DistroFamily> {
        let all = format!("{}:{}", self.name, self.tag);
        if all.contains("alpine") {
            return Some(DistroFamily::Alpine);
        }
        const DEBIAN: &[&str] =
            &["debian", "ubuntu", "bookworm", "bullseye", "buster", "trixie", "jammy", "noble", "focal", "slim"];
        if DEBIAN.iter().any(|d| all.contains(d)) {
            return Some(DistroFamily::Debian);
        }
        // The official language images are Debian-based unless they say otherwise.
        if matches!(
            self.name.as_str(),
            "python" | "node" | "golang" | "maven" | "gradle" | "openjdk" | "eclipse-temurin"
        ) {
            return Some(DistroFamily::Debian);
        }
        None
    }

    /// The release, when the reference names it (`bookworm`, `jammy`, `3.19`).
    pub fn release(&self) -> Option<String> {
        const CODENAMES: &[&str] = &["bookworm", "bullseye", "buster", "trixie", "jammy", "noble", "focal"];
        for c in CODENAMES {
            if self.tag.contains(c) {
                return Some(c.to_string());
            }
        }
        if let Some(p) = self.tag.find("alpine") {
            let v: String =
                self.tag[p + 6..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect::<String>();
            let v = two_parts(&v);
            if !v.is_empty() {
                return Some(v);
            }
            if self.name == "alpine" {
                return None;
            }
        }
        if self.name == "alpine" {
            let v = two_parts(&self.tag);
            return (!v.is_empty()).then_some(v);
        }
        if self.name == "ubuntu" {
            return match self.tag.as_str() {
                t if t.starts_with("24.04") => Some("noble".into()),
                t if t.starts_with("22.04") => Some("jammy".into()),
                t if t.starts_with("20.04") => Some("focal".into()),
                _ => None,
            };
        }
        if self.name == "debian" {
            return match self.tag.split(['-', '.']).next().unwrap_or("") {
                "13" => Some("trixie".into()),
                "12" => Some("bookworm".into()),
                "11" => Some("bullseye".into()),
                "10" => Some("buster".into()),
                _ => None,
            };
        }
        None
    }

    /// True for the official Python images (which ship their own Python in
    /// /usr/local, not Debian's).
    pub fn is_python(&self) -> bool {
        self.name == "python" || self.name == "pypy"
    }

    /// True for a full (non-slim, non-alpine) official language image, which
    /// itself ships compilers and headers.
    pub fn is_full_sdk(&self) -> bool {
        matches!(self.name.as_str(), "python" | "node") && !self.tag.contains("slim") && !self.tag.contains("alpine")
    }
}

fn two_parts(v: &str) -> String {
    let mut it = v.split('.').filter(|s| !s.is_empty());
    match (it.next(), it.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}"),
        _ => String::new(),
    }
}

/// The runtime image for a Go builder image: the same distribution, slim.
/// `(image, family, note when a guess)`.
pub fn go_runtime(img: &Image) -> Option<(String, DistroFamily, Option<String>)> {
    if img.name != "golang" {
        return None;
    }
    if img.tag.contains("alpine") {
        return Some(match img.release() {
            Some(r) => (format!("alpine:{r}"), DistroFamily::Alpine, None),
            None => (
                "alpine:3".into(),
                DistroFamily::Alpine,
                Some(format!("`{}` does not name its Alpine release: the runtime uses `alpine:3`", img.text)),
            ),
        });
    }
    if let Some(r) = img.release() {
        return Some((format!("debian:{r}-slim"), DistroFamily::Debian, None));
    }
    // golang:1.25 and later are trixie-based; earlier ones bookworm.
    let minor: Option<u32> = img.tag.strip_prefix("1.").and_then(|r| r.split(['.', '-']).next()?.parse().ok());
    let rel = if minor.is_some_and(|m| m >= 25) { "trixie" } else { "bookworm" };
    Some((
        format!("debian:{rel}-slim"),
        DistroFamily::Debian,
        Some(format!("`{}` does not name its Debian release: dockfix assumes {rel}", img.text)),
    ))
}

/// The JRE for a JDK builder image (same vendor and major version).
/// `(image, note)`.
pub fn jre_for(img: &Image) -> Option<(String, Option<String>)> {
    let alpine = img.tag.contains("alpine");
    let suffix = if alpine { "-alpine" } else { "" };
    let major = |s: &str| -> Option<String> {
        let d: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
        (!d.is_empty()).then_some(d)
    };
    match img.name.as_str() {
        "eclipse-temurin" => {
            let m = major(&img.tag)?;
            let rest = img.tag[m.len()..].trim_start_matches("-jdk");
            let rest = if rest.starts_with('-') || rest.is_empty() { rest } else { return None };
            Some((format!("eclipse-temurin:{m}-jre{rest}"), None))
        }
        "maven" | "gradle" => {
            // maven:3.9-eclipse-temurin-17[-alpine], gradle:8-jdk17[-alpine]
            let t = &img.tag;
            if let Some(p) = t.find("eclipse-temurin-") {
                let m = major(&t[p + 16..])?;
                return Some((format!("eclipse-temurin:{m}-jre{suffix}"), None));
            }
            if let Some(p) = t.find("jdk") {
                let m = major(&t[p + 3..])?;
                return Some((format!("eclipse-temurin:{m}-jre{suffix}"), None));
            }
            if let Some(p) = t.find("openjdk-") {
                let m = major(&t[p + 8..])?;
                return Some((
                    format!("eclipse-temurin:{m}-jre{suffix}"),
                    Some(format!(
                        "`{}` is an OpenJDK build: the runtime uses Eclipse Temurin's JRE {m}, the same Java version",
                        img.text
                    )),
                ));
            }
            None
        }
        "openjdk" => {
            let m = major(&img.tag)?;
            Some((
                format!("eclipse-temurin:{m}-jre{suffix}"),
                Some(format!(
                    "the `openjdk` images are deprecated and have no JRE for recent versions: the runtime uses Eclipse Temurin's JRE {m}, the same Java version"
                )),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_releases() {
        let i = Image::parse("python:3.12-slim-bookworm");
        assert_eq!((i.family(), i.release().as_deref()), (Some(DistroFamily::Debian), Some("bookworm")));
        let i = Image::parse("docker.io/library/python:3.11-alpine3.19");
        assert_eq!((i.family(), i.release().as_deref()), (Some(DistroFamily::Alpine), Some("3.19")));
        assert_eq!(Image::parse("python:3.12-slim").release(), None);
        assert_eq!(Image::parse("ubuntu:22.04").release().as_deref(), Some("jammy"));
        assert_eq!(Image::parse("alpine:3.20.1").release().as_deref(), Some("3.20"));
        assert_eq!(Image::parse("debian:12-slim").release().as_deref(), Some("bookworm"));
        assert!(Image::parse("python:3.12").is_full_sdk());
        assert!(!Image::parse("python:3.12-slim").is_full_sdk());
    }

    #[test]
    fn runtimes() {
        assert_eq!(go_runtime(&Image::parse("golang:1.22-bookworm")).unwrap().0, "debian:bookworm-slim");
        assert_eq!(go_runtime(&Image::parse("golang:1.22-alpine3.19")).unwrap().0, "alpine:3.19");
        let (img, _, note) = go_runtime(&Image::parse("golang:1.22")).unwrap();
        assert_eq!(img, "debian:bookworm-slim");
        assert!(note.is_some());
        assert_eq!(jre_for(&Image::parse("eclipse-temurin:17-jdk")).unwrap().0, "eclipse-temurin:17-jre");
        assert_eq!(jre_for(&Image::parse("eclipse-temurin:21-jdk-jammy")).unwrap().0, "eclipse-temurin:21-jre-jammy");
        assert_eq!(jre_for(&Image::parse("maven:3.9-eclipse-temurin-17")).unwrap().0, "eclipse-temurin:17-jre");
        assert_eq!(
            jre_for(&Image::parse("maven:3.9-eclipse-temurin-21-alpine")).unwrap().0,
            "eclipse-temurin:21-jre-alpine"
        );
        assert_eq!(jre_for(&Image::parse("gradle:8.7-jdk17")).unwrap().0, "eclipse-temurin:17-jre");
        let (img, note) = jre_for(&Image::parse("openjdk:17-slim")).unwrap();
        assert_eq!(img, "eclipse-temurin:17-jre");
        assert!(note.is_some());
        assert!(jre_for(&Image::parse("amazoncorretto:17")).is_none());
    }
}
