//! Writing changes: a temporary file in the same directory, then a rename,
//! so a file is either the old one or the new one, never half-written.
//! Symbolic links are not written through unless asked (and then only to a
//! target inside the given paths), read-only files are left alone, and the
//! temporary files are removed even when the run is interrupted (Ctrl-C).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What to do with a path that is a symbolic link.
#[derive(Clone, Copy, Debug)]
pub enum Links<'a> {
    /// Refuse to write (the default).
    Refuse,
    /// Write to the link's target if it is inside one of these paths.
    FollowWithin(&'a [PathBuf]),
}

/// The file to write for `path`: itself, or the target of a link when
/// links may be followed and it stays inside the given paths.
pub fn target(path: &Path, links: Links<'_>) -> std::io::Result<PathBuf> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(path.to_path_buf());
    }
    match links {
        Links::Refuse => Err(std::io::Error::other(
            "is a symbolic link; dockfix does not write through links (--follow-symlinks writes its target)",
        )),
        Links::FollowWithin(roots) => {
            let real = path.canonicalize()?;
            let inside = roots.iter().filter_map(|r| r.canonicalize().ok()).any(|r| real.starts_with(&r));
            if inside {
                Ok(real)
            } else {
                Err(std::io::Error::other(format!(
                    "is a symbolic link to {}, outside the given paths; dockfix does not write there",
                    real.display()
                )))
            }
        }
    }
}

/// Temporary files being written, removed by the interrupt handler; `true`
/// once interrupted (no new temporary file is made after that).
static PENDING: Mutex<(Vec<PathBuf>, bool)> = Mutex::new((Vec::new(), false));

/// Installs a Ctrl-C (SIGINT/SIGTERM) handler that removes the temporary
/// files of writes in progress, then exits with 130. Files already renamed
/// are complete; the one being written is left as it was. The handler holds
/// the lock until the process exits, so no write starts meanwhile.
pub fn clean_up_on_interrupt() {
    let _ = ctrlc::set_handler(|| {
        let mut g = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        g.1 = true;
        for p in std::mem::take(&mut g.0) {
            let _ = std::fs::remove_file(p);
        }
        std::process::exit(130);
    });
}

fn untrack(p: &Path) {
    let mut g = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    g.0.retain(|q| q != p);
}

/// Replaces (or creates) `path` with `content` atomically, keeping the
/// permissions of the file it replaces. Refuses symbolic links and
/// read-only files.
pub fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path).ok();
    if meta.as_ref().is_some_and(|m| m.file_type().is_symlink()) {
        return Err(std::io::Error::other("is a symbolic link; dockfix does not write through links"));
    }
    if meta.as_ref().is_some_and(|m| m.permissions().readonly()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "is read-only; dockfix leaves it as it is (make it writable to apply)",
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let (tmp, tmp_path) = {
        let mut g = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        if g.1 {
            return Err(std::io::Error::new(std::io::ErrorKind::Interrupted, "interrupted"));
        }
        let tmp = tempfile::Builder::new().prefix(".dockfix-").suffix(".tmp").tempfile_in(dir)?;
        let p = tmp.path().to_path_buf();
        g.0.push(p.clone());
        (tmp, p)
    };
    let result = (|| {
        let mut tmp = tmp;
        tmp.write_all(content)?;
        tmp.as_file().sync_all()?;
        let perms = match &meta {
            Some(m) => m.permissions(),
            None => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::Permissions::from_mode(0o644)
                }
                #[cfg(not(unix))]
                {
                    tmp.as_file().metadata()?.permissions()
                }
            }
        };
        std::fs::set_permissions(tmp.path(), perms)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    })();
    untrack(&tmp_path);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_mode_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("Dockerfile");
        std::fs::write(&p, "FROM a\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        }
        write_atomic(&p, b"FROM b\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"FROM b\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        }
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        let n = d.path().join(".dockerignore");
        write_atomic(&n, b".git\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&n).unwrap().permissions().mode() & 0o777, 0o644);
        }
        assert!(PENDING.lock().unwrap().0.is_empty());
    }

    #[test]
    fn read_only_files_are_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("Dockerfile");
        std::fs::write(&p, "FROM a\n").unwrap();
        let mut perms = std::fs::metadata(&p).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&p, perms).unwrap();
        let e = write_atomic(&p, b"FROM b\n").unwrap_err();
        assert!(e.to_string().contains("read-only"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"FROM a\n");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "no temporary file left");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_refused_or_followed_inside_the_paths() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let real = d.path().join("real.Dockerfile");
        std::fs::write(&real, "FROM a\n").unwrap();
        let link = d.path().join("Dockerfile");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(target(&link, Links::Refuse).is_err());
        let roots = [d.path().to_path_buf()];
        assert_eq!(target(&link, Links::FollowWithin(&roots)).unwrap(), real.canonicalize().unwrap());
        // A link out of the given paths is never followed.
        let far = outside.path().join("Dockerfile");
        std::fs::write(&far, "FROM a\n").unwrap();
        let out_link = d.path().join("other.Dockerfile");
        std::os::unix::fs::symlink(&far, &out_link).unwrap();
        let e = target(&out_link, Links::FollowWithin(&roots)).unwrap_err();
        assert!(e.to_string().contains("outside the given paths"), "{e}");
    }
}
