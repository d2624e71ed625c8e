//! Planning: run the engine on one Dockerfile and keep what it proposes.

use std::path::{Path, PathBuf};

use dockfix_core::{Engine, EngineError, Mode, Outcome, Pass, PassOptions, RealFs, Service};

/// How many recent commits the change counts passes see cover.
pub const HISTORY_COMMITS: usize = 500;

/// What to run and how.
pub struct Settings {
    pub passes: Vec<&'static dyn Pass>,
    pub mode: Mode,
    pub options: PassOptions,
}

/// The plan for one Dockerfile.
pub struct FilePlan {
    /// The path as the user gave or discovery found it.
    pub path: PathBuf,
    pub service: Service,
    pub outcome: Outcome,
}

/// A file that could not be processed.
#[derive(Debug)]
pub struct FileError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.path.display(), self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.path.display(), self.message),
            _ => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// Plans one Dockerfile built from its own directory.
pub fn plan_file(path: &Path, settings: &Settings) -> Result<FilePlan, FileError> {
    plan_service(Service::for_dockerfile(path), path, settings)
}

/// Plans one service.
pub fn plan_service(service: Service, path: &Path, settings: &Settings) -> Result<FilePlan, FileError> {
    let source = std::fs::read(path).map_err(|e| FileError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        message: format!("cannot read: {e}"),
    })?;
    if let Err(e) = std::str::from_utf8(&source) {
        // Edits are text: a file that is not UTF-8 could come back with
        // replacement characters, so it is not touched.
        let at = e.valid_up_to();
        let line = source[..at].iter().filter(|b| **b == b'\n').count() + 1;
        let column = at - source[..at].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) + 1;
        return Err(FileError {
            path: path.to_path_buf(),
            line: Some(line),
            column: Some(column),
            message: format!(
                "not valid UTF-8 (byte 0x{:02x}); dockfix rewrites UTF-8 text only (file left untouched)",
                source[at]
            ),
        });
    }
    let engine = Engine::new(settings.passes.clone());
    // How often files change, from the git history of the build context,
    // read only if a pass asks (`lockfile` orders requirement layers by it).
    let history = dockfix_history::LazyChangeCounts::new(&service.context, HISTORY_COMMITS);
    let outcome = engine.run(&service, &RealFs, &settings.options, Some(&history), &source, settings.mode).map_err(
        |e: EngineError| FileError {
            path: path.to_path_buf(),
            line: Some(e.line()),
            column: Some(e.column()),
            message: format!("{} (file left untouched)", e.message()),
        },
    )?;
    Ok(FilePlan { path: path.to_path_buf(), service, outcome })
}
