//! Writing changes: a temporary file in the same directory, then a rename,
//! so a file is either the old one or the new one, never half-written.

use std::io::Write;
use std::path::Path;

/// Replaces (or creates) `path` with `content` atomically, keeping the
/// permissions of the file it replaces.
pub fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path).ok();
    if meta.as_ref().is_some_and(|m| m.file_type().is_symlink()) {
        return Err(std::io::Error::other("is a symbolic link; dockfix does not write through links"));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new().prefix(".dockfix-").suffix(".tmp").tempfile_in(dir)?;
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
    }
}
