//! File access for passes: the real file system, an in-memory one for tests,
//! and an overlay that shows the files as the fixes applied so far left them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub is_dir: bool,
    pub is_symlink: bool,
    /// Bytes on disk for files (0 for directories).
    pub size: u64,
}

/// Read-only file access.
pub trait Fs: Send + Sync {
    fn read(&self, path: &Path) -> Option<Vec<u8>>;
    fn is_file(&self, path: &Path) -> bool;
    fn is_dir(&self, path: &Path) -> bool;
    /// Entries of a directory, sorted by name.
    fn list(&self, path: &Path) -> Vec<DirEntry>;
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

impl Fs for RealFs {
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        std::fs::read(path).ok()
    }
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn list(&self, path: &Path) -> Vec<DirEntry> {
        let Ok(rd) = std::fs::read_dir(path) else {
            return Vec::new();
        };
        let mut out: Vec<DirEntry> = rd
            .filter_map(Result::ok)
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                let ft = e.file_type().ok()?;
                Some(DirEntry {
                    name: e.file_name().to_string_lossy().into_owned(),
                    is_dir: meta.is_dir() && !ft.is_symlink(),
                    is_symlink: ft.is_symlink(),
                    size: if meta.is_file() { allocated_or_len(&meta) } else { 0 },
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

/// The apparent size of a file (what `docker build` sends).
fn allocated_or_len(meta: &std::fs::Metadata) -> u64 {
    meta.len()
}

/// An in-memory tree, for tests and fuzzing.
#[derive(Debug, Default, Clone)]
pub struct MemFs {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemFs {
    pub fn new() -> MemFs {
        MemFs::default()
    }
    pub fn with(mut self, path: impl Into<PathBuf>, content: impl Into<Vec<u8>>) -> MemFs {
        self.files.insert(path.into(), content.into());
        self
    }
    pub fn insert(&mut self, path: impl Into<PathBuf>, content: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), content.into());
    }
}

impl MemFs {
    /// `path` and the files under it. Paths order component by component,
    /// so they are one run of the map starting at `path`.
    fn below<'s>(&'s self, path: &'s Path) -> impl Iterator<Item = (&'s PathBuf, &'s Vec<u8>)> + 's {
        self.files
            .range::<Path, _>((std::ops::Bound::Included(path), std::ops::Bound::Unbounded))
            .take_while(move |(p, _)| p.starts_with(path))
    }
}

impl Fs for MemFs {
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        self.files.get(path).cloned()
    }
    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.below(path).any(|(p, _)| p != path)
    }
    fn list(&self, path: &Path) -> Vec<DirEntry> {
        // One lookup per entry: after a directory, seek past its subtree
        // (`name\0` sorts after `name/…` and before any other sibling).
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let mut out = Vec::new();
        let mut from: std::ops::Bound<PathBuf> = Included(path.to_path_buf());
        while let Some((p, content)) = self.files.range((from.clone(), Unbounded)).next() {
            let Ok(rest) = p.strip_prefix(path) else { break };
            let mut comps = rest.components();
            let Some(first) = comps.next() else {
                from = Excluded(p.clone());
                continue;
            };
            let name = first.as_os_str().to_string_lossy().into_owned();
            if comps.next().is_some() {
                let mut skip = name.clone();
                skip.push('\0');
                from = Included(path.join(skip));
                out.push(DirEntry { name, is_dir: true, is_symlink: false, size: 0 });
            } else {
                from = Excluded(p.clone());
                out.push(DirEntry { name, is_dir: false, is_symlink: false, size: content.len() as u64 });
            }
        }
        out
    }
}

/// A file system that asks its base once per path: the passes of one run
/// read the same manifests and list the same directories again and again
/// (every pass, every round), and the base does not change during a run.
pub struct Cached<'a> {
    base: &'a dyn Fs,
    reads: Mutex<HashMap<PathBuf, Option<Vec<u8>>>>,
    lists: Mutex<HashMap<PathBuf, Vec<DirEntry>>>,
    files: Mutex<HashMap<PathBuf, bool>>,
    dirs: Mutex<HashMap<PathBuf, bool>>,
}

impl<'a> Cached<'a> {
    pub fn new(base: &'a dyn Fs) -> Cached<'a> {
        Cached {
            base,
            reads: Mutex::default(),
            lists: Mutex::default(),
            files: Mutex::default(),
            dirs: Mutex::default(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The answer remembered for `path`, else `ask`'s, remembered.
fn remembered<V: Clone>(memo: &Mutex<HashMap<PathBuf, V>>, path: &Path, ask: impl FnOnce() -> V) -> V {
    if let Some(v) = lock(memo).get(path) {
        return v.clone();
    }
    let v = ask();
    lock(memo).insert(path.to_path_buf(), v.clone());
    v
}

impl Fs for Cached<'_> {
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        remembered(&self.reads, path, || self.base.read(path))
    }
    fn is_file(&self, path: &Path) -> bool {
        remembered(&self.files, path, || self.base.is_file(path))
    }
    fn is_dir(&self, path: &Path) -> bool {
        remembered(&self.dirs, path, || self.base.is_dir(path))
    }
    fn list(&self, path: &Path) -> Vec<DirEntry> {
        remembered(&self.lists, path, || self.base.list(path))
    }
}

/// Files as the fixes applied so far left them, over a base file system.
pub struct Overlay<'a> {
    base: &'a dyn Fs,
    /// `None`: deleted.
    changed: RwLock<BTreeMap<PathBuf, Option<Vec<u8>>>>,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a dyn Fs) -> Overlay<'a> {
        Overlay { base, changed: RwLock::new(BTreeMap::new()) }
    }

    pub fn set(&self, path: &Path, content: Vec<u8>) {
        self.changed.write().unwrap_or_else(|e| e.into_inner()).insert(path.to_path_buf(), Some(content));
    }

    /// Files changed through the overlay: path → new content.
    pub fn changes(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        self.changed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|(p, c)| c.clone().map(|c| (p.clone(), c)))
            .collect()
    }

    pub fn base(&self) -> &'a dyn Fs {
        self.base
    }
}

impl Fs for Overlay<'_> {
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        if let Some(c) = self.changed.read().unwrap_or_else(|e| e.into_inner()).get(path) {
            return c.clone();
        }
        self.base.read(path)
    }
    fn is_file(&self, path: &Path) -> bool {
        if let Some(c) = self.changed.read().unwrap_or_else(|e| e.into_inner()).get(path) {
            return c.is_some();
        }
        self.base.is_file(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.base.is_dir(path)
    }
    fn list(&self, path: &Path) -> Vec<DirEntry> {
        let mut entries = self.base.list(path);
        for (p, c) in self.changed.read().unwrap_or_else(|e| e.into_inner()).iter() {
            if p.parent() == Some(path) {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                entries.retain(|e| e.name != name);
                if let Some(c) = c {
                    entries.push(DirEntry { name, is_dir: false, is_symlink: false, size: c.len() as u64 });
                }
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memfs_lists_dirs_and_files() {
        let fs = MemFs::new().with("/c/a.txt", "x").with("/c/sub/b.txt", "yy");
        let names: Vec<_> = fs.list(Path::new("/c")).into_iter().map(|e| (e.name, e.is_dir)).collect();
        assert_eq!(names, [("a.txt".to_string(), false), ("sub".to_string(), true)]);
        assert!(fs.is_dir(Path::new("/c/sub")));
    }

    #[test]
    fn memfs_lists_only_below_a_directory() {
        // Siblings that sort between `a` and its children byte-wise.
        let fs = MemFs::new()
            .with("/c/a-", "1")
            .with("/c/a b/x", "2")
            .with("/c/a.txt", "3")
            .with("/c/a/x", "44")
            .with("/c/a/y/z", "5")
            .with("/c/b", "6")
            .with("/ca/x", "7");
        let names: Vec<_> = fs.list(Path::new("/c/a")).into_iter().map(|e| (e.name, e.is_dir, e.size)).collect();
        assert_eq!(names, [("x".to_string(), false, 2), ("y".to_string(), true, 0)]);
        assert_eq!(fs.list(Path::new("/c")).len(), 5);
        assert_eq!(fs.list(Path::new("/c/./a/")).len(), 2);
        assert!(fs.is_dir(Path::new("/c/a")));
        assert!(!fs.is_dir(Path::new("/c/a.txt")));
        assert!(!fs.is_dir(Path::new("/c/a/x")));
        assert!(fs.list(Path::new("/c/nothing")).is_empty());
    }

    /// Counts the calls that reach it.
    struct Counting(MemFs, Mutex<usize>);

    impl Fs for Counting {
        fn read(&self, p: &Path) -> Option<Vec<u8>> {
            *lock(&self.1) += 1;
            self.0.read(p)
        }
        fn is_file(&self, p: &Path) -> bool {
            *lock(&self.1) += 1;
            self.0.is_file(p)
        }
        fn is_dir(&self, p: &Path) -> bool {
            *lock(&self.1) += 1;
            self.0.is_dir(p)
        }
        fn list(&self, p: &Path) -> Vec<DirEntry> {
            *lock(&self.1) += 1;
            self.0.list(p)
        }
    }

    #[test]
    fn cached_asks_the_base_once_per_question() {
        let base = Counting(MemFs::new().with("/c/a", "x").with("/c/d/b", "y"), Mutex::new(0));
        let c = Cached::new(&base);
        for _ in 0..3 {
            assert_eq!(c.read(Path::new("/c/a")).as_deref(), Some(&b"x"[..]));
            assert_eq!(c.read(Path::new("/c/missing")), None);
            assert!(c.is_file(Path::new("/c/a")));
            assert!(!c.is_dir(Path::new("/c/a")));
            assert!(c.is_dir(Path::new("/c/d")));
            assert_eq!(c.list(Path::new("/c")).len(), 2);
        }
        assert_eq!(*lock(&base.1), 6);
    }

    #[test]
    fn overlay_shadows_base() {
        let base = MemFs::new().with("/c/.dockerignore", "a");
        let o = Overlay::new(&base);
        o.set(Path::new("/c/.dockerignore"), b"b".to_vec());
        assert_eq!(o.read(Path::new("/c/.dockerignore")).unwrap(), b"b");
        assert_eq!(o.list(Path::new("/c"))[0].size, 1);
    }
}
