//! Talking to the engine through the `docker` CLI: build with BuildKit and
//! plain progress, inspect an image, list its files, remove it.

use std::collections::BTreeMap;
use std::hash::Hasher;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::compare::{Config, Entry, Facts, Kind};

/// A docker CLI that can build with BuildKit.
#[derive(Debug, Clone)]
pub struct Docker {
    pub bin: PathBuf,
    /// `--network` for builds (`host` on machines without a bridge).
    pub network: Option<String>,
}

/// The result of one build.
#[derive(Debug, Clone)]
pub struct Build {
    pub ok: bool,
    pub seconds: f64,
    /// The plain progress log.
    pub log: String,
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

impl Docker {
    /// Finds a docker CLI whose daemon answers and that builds with
    /// BuildKit: `explicit`, `$DOCKER`, `docker` on PATH, `/usr/bin/docker`.
    /// A client of version 23 or later needs the buildx plugin.
    pub fn detect(explicit: Option<&Path>, network: Option<String>) -> Result<Docker, String> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(p) = explicit {
            candidates.push(p.to_path_buf());
        }
        if let Some(p) = std::env::var_os("DOCKER") {
            candidates.push(PathBuf::from(p));
        }
        candidates.push(PathBuf::from("docker"));
        candidates.push(PathBuf::from("/usr/bin/docker"));
        let mut why = Vec::new();
        for bin in candidates {
            let version = match run(Command::new(&bin).args([
                "version",
                "--format",
                "{{.Client.Version}}|{{.Server.Version}}",
            ])) {
                Ok(v) => v.trim().to_string(),
                Err(e) => {
                    why.push(format!("{}: {}", bin.display(), e.lines().last().unwrap_or("no answer")));
                    continue;
                }
            };
            let client_major: u32 =
                version.split('|').next().and_then(|v| v.split('.').next()).and_then(|m| m.parse().ok()).unwrap_or(0);
            if client_major >= 23 && run(Command::new(&bin).args(["buildx", "version"])).is_err() {
                why.push(format!("{}: client {} has no buildx plugin", bin.display(), version));
                continue;
            }
            return Ok(Docker { bin, network });
        }
        Err(format!("no usable Docker engine ({})", why.join("; ")))
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.env("DOCKER_BUILDKIT", "1");
        c
    }

    /// Builds `dockerfile` with `context`, streaming progress lines to `progress`.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        &self,
        dockerfile: &Path,
        context: &Path,
        tag: &str,
        target: Option<&str>,
        args: &BTreeMap<String, String>,
        no_cache: bool,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Build, String> {
        let mut c = self.cmd();
        c.arg("build").arg("--progress=plain").arg("-f").arg(dockerfile).arg("-t").arg(tag);
        if no_cache {
            c.arg("--no-cache");
        }
        if let Some(t) = target {
            c.arg("--target").arg(t);
        }
        for (k, v) in args {
            c.arg("--build-arg").arg(format!("{k}={v}"));
        }
        if let Some(n) = &self.network {
            c.arg("--network").arg(n);
        }
        c.arg(context);
        c.stdout(Stdio::null()).stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = c.spawn().map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        let mut log = String::new();
        if let Some(err) = child.stderr.take() {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                progress(&line);
                log.push_str(&line);
                log.push('\n');
            }
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        Ok(Build { ok: status.success(), seconds: start.elapsed().as_secs_f64(), log })
    }

    /// Configuration, size and file listing of an image.
    pub fn facts(&self, tag: &str) -> Result<Facts, String> {
        let json = run(self.cmd().args(["image", "inspect", tag]))?;
        let v: serde_json::Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        let img = &v[0];
        let c = &img["Config"];
        let strings = |x: &serde_json::Value| -> Option<Vec<String>> {
            x.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        };
        let keys = |x: &serde_json::Value| -> std::collections::BTreeSet<String> {
            x.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
        };
        let config = Config {
            cmd: strings(&c["Cmd"]),
            entrypoint: strings(&c["Entrypoint"]),
            env: strings(&c["Env"])
                .unwrap_or_default()
                .into_iter()
                .map(|e| match e.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (e, String::new()),
                })
                .collect(),
            user: c["User"].as_str().unwrap_or_default().to_string(),
            workdir: c["WorkingDir"].as_str().unwrap_or_default().to_string(),
            exposed_ports: keys(&c["ExposedPorts"]),
            labels: c["Labels"]
                .as_object()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                .unwrap_or_default(),
            healthcheck: (!c["Healthcheck"].is_null()).then(|| c["Healthcheck"].to_string()),
            stop_signal: c["StopSignal"].as_str().map(str::to_string),
            volumes: keys(&c["Volumes"]),
        };
        let size = img["Size"].as_u64().unwrap_or(0);
        let files = self.files(tag)?;
        Ok(Facts { config, files, size })
    }

    /// Lists an image's files through `docker export` of a created (never
    /// started) container.
    fn files(&self, tag: &str) -> Result<BTreeMap<String, Entry>, String> {
        let id =
            run(self.cmd().args(["create", "--entrypoint", "/dockfix-verify-never-runs", tag]))?.trim().to_string();
        let result = (|| {
            let mut child = self
                .cmd()
                .args(["export", &id])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())?;
            let stdout = child.stdout.take().ok_or("no export stream")?;
            let listing = list_tar(stdout);
            let _ = child.wait();
            listing
        })();
        let _ = run(self.cmd().args(["rm", "-f", &id]));
        result
    }

    /// Removes images (errors ignored).
    pub fn remove(&self, tags: &[&str]) {
        let mut c = self.cmd();
        c.arg("rmi").arg("-f").args(tags).stdout(Stdio::null()).stderr(Stdio::null());
        let _ = c.status();
    }
}

/// Lists a tar stream: path → entry, with content hashes.
pub fn list_tar(r: impl Read) -> Result<BTreeMap<String, Entry>, String> {
    let mut out = BTreeMap::new();
    let mut ar = tar::Archive::new(r);
    for e in ar.entries().map_err(|e| e.to_string())? {
        let mut e = e.map_err(|e| e.to_string())?;
        let path = e.path().map_err(|e| e.to_string())?.to_string_lossy().trim_end_matches('/').to_string();
        let path = format!("/{}", path.trim_start_matches("./").trim_start_matches('/'));
        let h = e.header();
        let kind = match h.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Symlink,
            tar::EntryType::Link => Kind::Hardlink,
            _ => Kind::Other,
        };
        let mode = h.mode().unwrap_or(0) & 0o7777;
        let uid = h.uid().unwrap_or(0);
        let gid = h.gid().unwrap_or(0);
        let link = e.link_name().ok().flatten().map(|l| l.to_string_lossy().into_owned());
        let mut size = 0;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        if kind == Kind::File {
            let mut buf = [0u8; 64 * 1024];
            loop {
                let n = e.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                hasher.write(&buf[..n]);
                size += n as u64;
            }
        }
        out.insert(path, Entry { kind, mode, uid, gid, size, hash: hasher.finish(), link });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_a_tar() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o755);
        h.set_cksum();
        b.append_data(&mut h, "app/run.sh", &b"hello"[..]).unwrap();
        let mut d = tar::Header::new_gnu();
        d.set_entry_type(tar::EntryType::Directory);
        d.set_mode(0o755);
        d.set_size(0);
        d.set_cksum();
        b.append_data(&mut d, "app/", &b""[..]).unwrap();
        let data = b.into_inner().unwrap();
        let l = list_tar(&data[..]).unwrap();
        assert_eq!(l["/app/run.sh"].size, 5);
        assert_eq!(l["/app/run.sh"].mode, 0o755);
        assert_eq!(l["/app"].kind, Kind::Dir);
    }
}
