//! Build contexts as BuildKit sends them: which `.dockerignore` applies,
//! and how many bytes go over once it has been applied.

use std::path::{Path, PathBuf};

use dockfix_core::engine::FileChange;
use dockfix_dockerignore::Matcher;

/// The `.dockerignore` BuildKit reads for a build (`<Dockerfile>.dockerignore`
/// next to the Dockerfile, else the context's), as it is and as the plan
/// leaves it.
pub fn ignore_matchers(dockerfile: &Path, context: &Path, files: &[FileChange]) -> (Matcher, Matcher) {
    let own = PathBuf::from(format!("{}.dockerignore", dockerfile.display()));
    let shared = context.join(".dockerignore");
    let parse = |b: &[u8]| Matcher::parse(b).unwrap_or_default();
    let planned = |p: &Path| files.iter().find(|f| f.path == p).map(|f| parse(&f.after));
    let read = |p: &Path| std::fs::read(p).ok().map(|b| parse(&b));
    let now = read(&own).or_else(|| read(&shared)).unwrap_or_default();
    let proposed = planned(&own)
        .or_else(|| if own.is_file() { read(&own) } else { None })
        .or_else(|| planned(&shared))
        .unwrap_or_else(|| now.clone());
    (now, proposed)
}

/// Bytes of the regular files the context sends with this matcher
/// (directories it excludes for good are not walked). Symbolic links count
/// as links. At most `limit` entries are looked at: `None` beyond.
pub fn bytes(root: &Path, m: &Matcher, limit: usize) -> Option<u64> {
    let mut total = 0u64;
    let mut seen = 0usize;
    let mut stack: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let rd = std::fs::read_dir(&dir).ok()?;
        for e in rd.flatten() {
            seen += 1;
            if seen > limit {
                return None;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let Ok(meta) = e.path().symlink_metadata() else { continue };
            if meta.is_dir() {
                if m.is_excluded(&r) && !m.could_reinclude_under(&r) {
                    continue;
                }
                stack.push((e.path(), r));
            } else if !m.is_excluded(&r) {
                total += meta.len();
            }
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_after_the_ignore_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join(".git/objects")).unwrap();
        std::fs::write(d.path().join(".git/objects/pack"), vec![0u8; 5000]).unwrap();
        std::fs::write(d.path().join("app.py"), "print(1)\n").unwrap();
        std::fs::write(d.path().join("debug.log"), vec![b'x'; 300]).unwrap();
        assert_eq!(bytes(d.path(), &Matcher::default(), 1000), Some(5309));
        let m = Matcher::parse(b".git\n*.log\n").unwrap();
        assert_eq!(bytes(d.path(), &m, 1000), Some(9));
        let m = Matcher::parse(b".git\n!.git/objects/pack\n").unwrap();
        assert_eq!(bytes(d.path(), &m, 1000), Some(5309), "a re-included file is sent");
        assert_eq!(bytes(d.path(), &Matcher::default(), 2), None);
    }
}
