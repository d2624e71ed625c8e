//! The dockfix engine: findings and fixes, the pass API, file access with an
//! overlay of pending changes, the fixed-point fix engine, layout-preserving
//! edit helpers, suppression comments and the package-manager knowledge
//! table every pass shares.

pub mod cache;
pub mod config;
pub mod engine;
pub mod execform;
pub mod fix;
pub mod fs;
pub mod knowledge;
pub mod layout;
pub mod pass;
pub mod pep440;
pub mod runscript;
pub mod suppress;
pub mod walk;

pub use engine::{check_valid, Engine, EngineError, FileChange, Mode, Outcome, Reported};
pub use fix::{apply_edits, Applicability, Edit, Finding, Fix, Target};
pub use fs::{Cached, DirEntry, Fs, MemFs, Overlay, RealFs};
pub use pass::{Context, History, Pass, PassOptions, Service};
