//! The `dockfix` command line.
//!
//! Exit codes: 0 nothing to do (or `apply` succeeded), 1 changes or findings
//! pending (`--dry-run`, `check`), 2 an error (a file that cannot be read or
//! parsed, a bad option or config). A file that fails never stops the others.

pub mod batch;
pub mod context;
pub mod corpus;
pub mod discover;
pub mod formats;
pub mod invariants;
pub mod plan;
pub mod registry;
pub mod render;
pub mod shared_base;
pub mod summary;
pub mod write;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use dockfix_core::config::{self, Config, ConfigError, Effective};
use dockfix_core::{Applicability, Mode};

use plan::{FileError, FilePlan, Settings};

#[derive(Parser, Debug)]
#[command(
    name = "dockfix",
    version = env!("DOCKFIX_VERSION"),
    about = "Rewrites Dockerfiles so builds are fast and cache-friendly, without breaking them",
    args_conflicts_with_subcommands = true,
    after_help = "Without a subcommand, dockfix shows what it would change (like --dry-run) and writes nothing.\n\
Exit codes: 0 nothing to do, 1 changes or findings pending, 2 error."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write the changes (atomically), including new or extended .dockerignore files
    Apply(RunArgs),
    /// Report findings only, for CI
    Check(RunArgs),
    /// Explain what a pass does, why, and when it refuses
    Explain {
        /// Pass name (see `dockfix passes`)
        pass: String,
    },
    /// List the passes
    Passes,
    /// Print the effective configuration for a path
    Config {
        /// A Dockerfile or directory (default: the current directory)
        path: Option<PathBuf>,
        /// Use this config file instead of searching for dockfix.toml
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Build the original and the rewritten Dockerfiles for real and compare the images
    Verify(VerifyArgs),
    /// Count, from git history, which steps each commit re-ran — now and after the rewrite
    Audit(AuditArgs),
    /// Print the man page (roff)
    #[command(hide = true)]
    Man,
    /// Developer tools
    #[command(subcommand)]
    Debug(DebugCommand),
}

#[derive(Subcommand, Debug)]
enum DebugCommand {
    /// Print what the parser makes of files, in the conformance format
    Parse {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run the whole pipeline over every Dockerfile under the directories,
    /// check its invariants, and print counts (exit 1 on an invariant error)
    Corpus {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Findings and explained diffs for people
    Text,
    /// A stable JSON document (see README)
    Json,
    /// SARIF 2.1.0 for code-scanning dashboards
    Sarif,
    /// GitHub Actions workflow annotations
    Github,
    /// A Markdown summary for a pull-request description
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorMode {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug, Clone)]
struct RunArgs {
    /// Dockerfiles or directories to search (default: the current directory)
    paths: Vec<PathBuf>,
    /// Show the changes as a unified diff and write nothing; exit 1 if anything would change
    #[arg(long)]
    dry_run: bool,
    /// Run only these passes (comma-separated; ALL for every pass); replaces the config's `select`
    #[arg(long, value_delimiter = ',', value_name = "PASS")]
    select: Vec<String>,
    /// Skip these passes (comma-separated); adds to the config's `ignore`
    #[arg(long, value_delimiter = ',', value_name = "PASS")]
    ignore: Vec<String>,
    /// Also apply fixes that can change what the image does
    #[arg(long)]
    unsafe_fixes: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Colour: auto (terminal, honours NO_COLOR/FORCE_COLOR), always, never
    #[arg(long, value_enum, default_value_t = ColorMode::Auto)]
    color: ColorMode,
    /// Print only errors and the diff
    #[arg(short, long)]
    quiet: bool,
    /// Exit 0 even when changes or findings are pending (errors still exit 2)
    #[arg(long)]
    exit_zero: bool,
    /// Use this config file instead of searching for dockfix.toml
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Warn about suppression comments that silence nothing
    #[arg(long)]
    warn_unused_suppressions: bool,
    /// Compose file(s) to read services from (like `docker compose -f`); repeatable
    #[arg(short = 'f', long = "compose-file", value_name = "FILE")]
    compose_files: Vec<PathBuf>,
    /// apply: write through a Dockerfile (or .dockerignore) that is a symbolic
    /// link, to its target, when the target is inside the given paths
    #[arg(long)]
    follow_symlinks: bool,
    /// apply: write the start that several Dockerfiles share (FROM + system
    /// packages) to this Dockerfile, and start them FROM the image built from it
    #[arg(long, value_name = "PATH")]
    extract_base: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
struct VerifyArgs {
    /// Dockerfiles, directories or compose files (default: the current directory)
    paths: Vec<PathBuf>,
    /// Verify unsafe fixes too
    #[arg(long)]
    unsafe_fixes: bool,
    /// Run only these passes (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "PASS")]
    select: Vec<String>,
    /// Skip these passes (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "PASS")]
    ignore: Vec<String>,
    /// Network mode for the builds' RUN steps (e.g. `host` where the engine has no bridge)
    #[arg(long, value_name = "MODE")]
    network: Option<String>,
    /// Keep the built images (their tags are printed)
    #[arg(long)]
    keep: bool,
    /// The docker CLI to use (default: $DOCKER, then `docker`, then /usr/bin/docker)
    #[arg(long, value_name = "PATH")]
    docker: Option<PathBuf>,
    /// Also ignore these image paths when comparing files (globs; repeatable)
    #[arg(long = "ignore-path", value_name = "GLOB")]
    ignore_paths: Vec<String>,
    /// Skip the one-line-edit rebuild
    #[arg(long)]
    no_edit: bool,
    /// Write each build's plain progress log into this directory (for `dockfix audit --timings`)
    #[arg(long, value_name = "DIR")]
    save_logs: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Use this config file instead of searching for dockfix.toml
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Compose file(s) to read services from; repeatable
    #[arg(short = 'f', long = "compose-file", value_name = "FILE")]
    compose_files: Vec<PathBuf>,
    /// No progress on stderr
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Debug, Clone)]
struct AuditArgs {
    /// Dockerfiles, directories or compose files (default: the current directory)
    paths: Vec<PathBuf>,
    /// How many recent commits to replay
    #[arg(long, default_value_t = 200)]
    commits: usize,
    /// Only commits after this date (YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Include unsafe fixes in the proposed rewrite
    #[arg(long)]
    unsafe_fixes: bool,
    /// Run only these passes (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "PASS")]
    select: Vec<String>,
    /// Skip these passes (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "PASS")]
    ignore: Vec<String>,
    /// A BuildKit --progress=plain log to weigh steps by their measured time
    #[arg(long, value_name = "FILE")]
    timings: Option<PathBuf>,
    /// Output format (text, json, markdown)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Use this config file instead of searching for dockfix.toml
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Compose file(s) to read services from; repeatable
    #[arg(short = 'f', long = "compose-file", value_name = "FILE")]
    compose_files: Vec<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RunMode {
    DryRun,
    Apply,
    Check,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let _ = dockfix_core::suppress::KNOWN_PASSES.set(registry::all().iter().map(|p| p.name()).collect());
    let cli = Cli::parse();
    let code = match cli.command {
        None => run(RunMode::DryRun, cli.run),
        Some(Command::Apply(a)) => {
            let mode = if a.dry_run { RunMode::DryRun } else { RunMode::Apply };
            run(mode, a)
        }
        Some(Command::Check(a)) => run(RunMode::Check, a),
        Some(Command::Explain { pass }) => explain(&pass),
        Some(Command::Passes) => passes(),
        Some(Command::Config { path, config }) => show_config(path, config),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "dockfix", &mut std::io::stdout());
            0
        }
        Some(Command::Verify(a)) => verify(a),
        Some(Command::Audit(a)) => audit(a),
        Some(Command::Man) => match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
        Some(Command::Debug(DebugCommand::Parse { files })) => debug_parse(&files),
        Some(Command::Debug(DebugCommand::Corpus { dirs })) => {
            let files = corpus::files(&dirs);
            let counts = corpus::run(&files);
            let root = dirs.first().cloned().unwrap_or_default();
            print!("{}", corpus::text(&counts, &root));
            u8::from(!counts.errors.is_empty())
        }
    };
    ExitCode::from(code)
}

fn set_color(mode: ColorMode) {
    let choice = match mode {
        ColorMode::Always => anstream::ColorChoice::Always,
        ColorMode::Never => anstream::ColorChoice::Never,
        ColorMode::Auto => {
            if std::env::var_os("FORCE_COLOR").is_some_and(|v| !v.is_empty() && v != "0") {
                anstream::ColorChoice::Always
            } else {
                anstream::ColorChoice::Auto
            }
        }
    };
    choice.write_global();
}

fn explain(name: &str) -> u8 {
    if name == "audit" {
        println!("{}", include_str!("../../audit/EXPLAIN.md").trim_end());
        return 0;
    }
    match registry::find(name) {
        Some(p) => {
            let mut out = anstream::stdout();
            let _ = writeln!(out, "{}", p.explanation().trim_end());
            if !p.options().is_empty() {
                let _ = writeln!(out, "\nOptions (`[{}]` in dockfix.toml):", p.name());
                for o in p.options() {
                    let _ = writeln!(out, "  {} ({}): {}", o.name, o.kind, o.help);
                }
            }
            let _ = writeln!(out, "\nClass: {} (`dockfix passes` lists every pass)", p.applicability().as_str());
            0
        }
        None => {
            let known: Vec<&str> = registry::all().iter().map(|p| p.name()).collect();
            eprintln!("error: unknown pass `{name}` (known: {})", known.join(", "));
            2
        }
    }
}

fn passes() -> u8 {
    let mut out = anstream::stdout();
    for p in registry::all() {
        let class = match p.applicability() {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
            Applicability::DisplayOnly => "report",
        };
        let default = if p.default_enabled() { "" } else { " (off by default)" };
        let _ = writeln!(out, "{:<18} {:<7} {}{default}", p.name(), class, p.summary());
    }
    0
}

fn debug_parse(files: &[PathBuf]) -> u8 {
    let mut out = anstream::stdout();
    let mut code = 0;
    for f in files {
        match std::fs::read(f) {
            Ok(src) => {
                let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let _ = write!(out, "=== {name}\n{}", dockfix_syntax::dump(&src));
            }
            Err(e) => {
                eprintln!("error: {}: {e}", f.display());
                code = 2;
            }
        }
    }
    code
}

fn pass_options(name: &str) -> Option<&'static [config::OptionSpec]> {
    registry::find(name).map(|p| p.options())
}

/// Loads config files once each.
#[derive(Default)]
struct Configs {
    loaded: BTreeMap<PathBuf, Result<Config, ConfigError>>,
}

impl Configs {
    /// The settings in effect for a Dockerfile (explicit `--config`, or the
    /// nearest dockfix.toml above it, or defaults).
    fn effective(&mut self, explicit: Option<&Path>, file: &Path) -> Result<Effective, ConfigError> {
        let dir = if file.is_dir() { file } else { file.parent().unwrap_or(Path::new(".")) };
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => config::find(dir),
        };
        let Some(path) = path else {
            return Ok(Config::default().effective(file));
        };
        let cfg = self.loaded.entry(path.clone()).or_insert_with(|| config::load(&path, &pass_options));
        match cfg {
            Ok(c) => Ok(c.effective(file)),
            Err(e) => Err(e.clone()),
        }
    }
}

fn show_config(path: Option<PathBuf>, explicit: Option<PathBuf>) -> u8 {
    let path = path.unwrap_or_else(|| PathBuf::from("."));
    let probe = if path.is_dir() { path.join("Dockerfile") } else { path };
    match Configs::default().effective(explicit.as_deref(), &probe) {
        Ok(e) => {
            print!("{}", e.to_toml());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// CLI flags on top of the file's config.
fn settings_for(args: &RunArgs, eff: &Effective) -> Result<Settings, String> {
    let select = if args.select.is_empty() { eff.select.clone().unwrap_or_default() } else { args.select.clone() };
    let mut ignore = eff.ignore.clone();
    ignore.extend(args.ignore.iter().cloned());
    let passes = registry::select_with_options(&select, &ignore, &eff.options)?;
    Ok(Settings {
        passes,
        mode: Mode { unsafe_fixes: args.unsafe_fixes || eff.unsafe_fixes },
        options: eff.options.clone(),
    })
}

impl RunArgs {
    /// The settings of a quiet planning run (what verify and audit rewrite
    /// with): the pass selection and config of their own flags.
    fn planning(select: &[String], ignore: &[String], unsafe_fixes: bool, config: Option<PathBuf>) -> RunArgs {
        RunArgs {
            paths: Vec::new(),
            dry_run: true,
            select: select.to_vec(),
            ignore: ignore.to_vec(),
            unsafe_fixes,
            format: Format::Text,
            color: ColorMode::Never,
            quiet: true,
            exit_zero: false,
            config,
            warn_unused_suppressions: false,
            compose_files: Vec::new(),
            follow_symlinks: false,
            extract_base: None,
        }
    }
}

/// The units (Dockerfile + contexts) under `paths`, from the Dockerfiles
/// found, the compose files found or given, and simple bake targets.
fn discover_units(paths: &[PathBuf], compose_files: &[PathBuf]) -> Result<Vec<batch::Unit>, String> {
    let paths = if paths.is_empty() { vec![PathBuf::from(".")] } else { paths.to_vec() };
    let found = discover::discover(&paths).map_err(|e| e.to_string())?;
    let mut sources = Vec::new();
    for c in found.compose_files.iter().chain(compose_files) {
        sources.push(dockfix_compose::load(c).map_err(|e| e.to_string())?);
    }
    sources.extend(batch::bake_services(&found.bake_files));
    Ok(batch::units(&found.dockerfiles, &sources))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn run(mode: RunMode, args: RunArgs) -> u8 {
    set_color(args.color);
    // Fail early on bad pass names given on the command line.
    if let Err(e) = registry::select(&args.select, &args.ignore) {
        eprintln!("error: {e}");
        return 2;
    }
    let paths = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    let found = match discover::discover(&paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut errors: Vec<FileError> = Vec::new();
    let mut compose_paths = found.compose_files.clone();
    compose_paths.extend(args.compose_files.iter().cloned());
    let mut composes = Vec::new();
    for c in &compose_paths {
        match dockfix_compose::load(c) {
            Ok(f) => composes.push(f),
            Err(message) => errors.push(FileError { path: c.clone(), line: None, column: None, message }),
        }
    }
    let units = batch::units(&found.dockerfiles, &[composes.clone(), batch::bake_services(&found.bake_files)].concat());
    let configs = std::sync::Mutex::new(Configs::default());
    let settings_of = |path: &Path| -> Result<Settings, FileError> {
        let eff = configs.lock().unwrap_or_else(|e| e.into_inner()).effective(args.config.as_deref(), path);
        eff.map_err(|e| e.to_string()).and_then(|eff| settings_for(&args, &eff)).map_err(|message| FileError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message,
        })
    };
    let mut plans: Vec<(FilePlan, Vec<String>)> = Vec::new();
    let mut all_passes: Vec<&'static dyn dockfix_core::Pass> = Vec::new();
    for (unit, result) in units.iter().zip(batch::plan_all(&units, |u| settings_of(&u.dockerfile))) {
        match result {
            Ok(p) => plans.push((p, unit.services())),
            Err(e) => errors.push(e),
        }
    }
    let all_services = dockfix_compose::merge(&composes);
    for c in &composes {
        match settings_of(&c.path) {
            Ok(settings) => {
                if let Some(p) = batch::plan_compose(c, &all_services, &settings) {
                    // The services the compose passes talk about.
                    let names = c
                        .services
                        .iter()
                        .filter(|s| {
                            p.outcome.findings.iter().any(|r| r.finding.message.contains(&format!("`{}`", s.name)))
                        })
                        .map(|s| s.name.clone())
                        .collect();
                    plans.push((p, names));
                }
            }
            Err(e) => errors.push(e),
        }
    }
    // GitHub Actions workflows and bake files (`ci-cache`).
    let mut workflows = Vec::new();
    for w in &found.workflows {
        match dockfix_pass_ci_cache::workflow::load(w) {
            Ok(f) => workflows.push(f),
            Err(message) => errors.push(FileError { path: w.clone(), line: None, column: None, message }),
        }
    }
    let mut bakes = Vec::new();
    for b in &found.bake_files {
        match std::fs::read_to_string(b) {
            Ok(text) => bakes.push((b.clone(), text)),
            Err(e) => errors.push(FileError {
                path: b.clone(),
                line: None,
                column: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    let ci_facts = dockfix_pass_ci_cache::facts(&workflows);
    for w in &workflows {
        match settings_of(&w.path) {
            Ok(settings) => plans.extend(batch::plan_workflow(w, &ci_facts, &settings).map(|p| (p, Vec::new()))),
            Err(e) => errors.push(e),
        }
    }
    for (path, text) in &bakes {
        match settings_of(path) {
            Ok(settings) => plans.extend(batch::plan_bake(path, text, &ci_facts, &settings).map(|p| (p, Vec::new()))),
            Err(e) => errors.push(e),
        }
    }
    let held_back = hold_back_shared_files(&mut plans);
    for f in units
        .iter()
        .map(|u| u.dockerfile.as_path())
        .chain(composes.iter().map(|c| c.path.as_path()))
        .chain(workflows.iter().map(|w| w.path.as_path()))
        .chain(bakes.iter().map(|(p, _)| p.as_path()))
    {
        if let Ok(s) = settings_of(f) {
            for p in s.passes {
                if !all_passes.iter().any(|q| q.name() == p.name()) {
                    all_passes.push(p);
                }
            }
        }
    }
    let files_total = units.len();
    let batch_run = units.len() > 1 || !composes.is_empty() || !workflows.is_empty() || !bakes.is_empty();
    let mut stderr = anstream::stderr();
    for e in &errors {
        let _ = writeln!(stderr, "error: {e}");
    }
    for h in &held_back {
        let _ = writeln!(stderr, "warning: {h}");
    }
    if units.is_empty() && composes.is_empty() && workflows.is_empty() && bakes.is_empty() && !args.quiet {
        let _ = writeln!(stderr, "warning: no Dockerfiles found");
    }
    if args.warn_unused_suppressions {
        for (p, _) in &plans {
            for (line, passes) in &p.outcome.unused_suppressions {
                let what = if passes.is_empty() { "every pass".to_string() } else { passes.join(", ") };
                let _ =
                    writeln!(stderr, "warning: {}:{line}: suppression of {what} silences nothing", p.path.display());
            }
        }
    }
    let mut out = anstream::stdout();
    let bases = if batch_run { shared_base::find(&plans) } else { Vec::new() };
    let mut base_written: Option<String> = None;
    if let (RunMode::Apply, Some(path)) = (mode, &args.extract_base) {
        match extract_base(&mut plans, &bases, path) {
            Ok(msg) => base_written = Some(msg),
            Err(e) => {
                let _ = writeln!(stderr, "error: --extract-base {}: {e}", path.display());
                return 2;
            }
        }
    } else if args.extract_base.is_some() {
        let _ = writeln!(stderr, "error: --extract-base is an option of `dockfix apply`");
        return 2;
    }
    let pending = |plans: &[(FilePlan, Vec<String>)]| {
        if mode == RunMode::Check {
            plans.iter().any(|(p, _)| !p.outcome.findings.is_empty())
        } else {
            plans.iter().any(|(p, _)| p.outcome.changed())
        }
    };
    if mode == RunMode::Apply {
        // Write first, then report like the other modes.
        let mut changed = 0;
        let mut fixes = 0;
        write::clean_up_on_interrupt();
        let roots: Vec<PathBuf> = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
        let links = if args.follow_symlinks { write::Links::FollowWithin(&roots) } else { write::Links::Refuse };
        for (p, _) in &plans {
            if !p.outcome.changed() {
                continue;
            }
            match write_plan(p, links) {
                Ok(()) => {
                    changed += 1;
                    let applied: Vec<&str> =
                        p.outcome.findings.iter().filter(|r| r.applied).map(|r| r.finding.pass).collect();
                    fixes += applied.len();
                    if !args.quiet && args.format == Format::Text {
                        let mut names = applied.clone();
                        names.dedup();
                        let what = format!("{}: {}", plural(applied.len(), "fix", "fixes"), names.join(", "));
                        if p.outcome.source != p.outcome.fixed {
                            let _ = writeln!(out, "fixed {} ({what})", p.path.display());
                        }
                        for fc in &p.outcome.files {
                            let verb = if fc.before.is_some() { "updated" } else { "created" };
                            let _ = writeln!(out, "{verb} {} (for {})", fc.path.display(), p.path.display());
                        }
                    }
                }
                Err(e) => {
                    let _ = writeln!(stderr, "error: {}: {e} (file left untouched)", p.path.display());
                    errors.push(FileError { path: p.path.clone(), line: None, column: None, message: e.to_string() });
                }
            }
        }
        if args.format == Format::Text && !args.quiet {
            if let Some(msg) = &base_written {
                let _ = writeln!(out, "{msg}");
            }
            for (p, _) in &plans {
                for r in p.outcome.findings.iter().filter(|r| !r.applied) {
                    let _ = render::finding_block(&mut out, &p.path, r, false);
                }
            }
            if batch_run {
                let (rows, totals) = summary::rows(&plans, &errors);
                let _ = write!(out, "\n{}", summary::text(&rows, &totals));
                if base_written.is_none() && !bases.is_empty() {
                    let _ = write!(out, "\n{}", shared_base::text(&bases));
                }
            } else {
                summary(&mut stderr, &plans, files_total, changed, fixes, false);
            }
        }
    }
    let code = match args.format {
        Format::Json => {
            let mut report = json_report(&plans, &errors);
            report.shared_bases = bases.clone();
            let _ = writeln!(out, "{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            u8::from(pending(&plans))
        }
        Format::Sarif => {
            all_passes.sort_by_key(|p| registry::all().iter().position(|q| q.name() == p.name()));
            let just: Vec<&FilePlan> = plans.iter().map(|(p, _)| p).collect();
            let log = formats::sarif(&all_passes, &just);
            let _ = writeln!(out, "{}", serde_json::to_string_pretty(&log).unwrap_or_default());
            u8::from(pending(&plans))
        }
        Format::Github => {
            let just: Vec<&FilePlan> = plans.iter().map(|(p, _)| p).collect();
            let _ = write!(out, "{}", formats::github(&just));
            for e in &errors {
                let _ = writeln!(
                    out,
                    "::error file={},line={}::{}",
                    e.path.display(),
                    e.line.unwrap_or(1),
                    e.message.replace('%', "%25").replace('\n', "%0A")
                );
            }
            u8::from(pending(&plans))
        }
        Format::Markdown => {
            let (rows, totals) = summary::rows(&plans, &errors);
            let _ = write!(out, "{}", summary::markdown(&rows, &totals));
            if !bases.is_empty() {
                let _ = write!(out, "\n### Shared base\n\n```\n{}```\n", shared_base::text(&bases));
            }
            u8::from(pending(&plans))
        }
        Format::Text => match mode {
            RunMode::Check => {
                let mut n = 0;
                for (p, _) in &plans {
                    for r in &p.outcome.findings {
                        n += 1;
                        let _ = render::finding_block(&mut out, &p.path, r, false);
                    }
                }
                if !args.quiet {
                    let others = composes.len() + workflows.len() + bakes.len();
                    let mut files = plural(files_total, "Dockerfile", "Dockerfiles");
                    if others > 0 {
                        files.push_str(&format!(" and {}", plural(others, "other file", "other files")));
                    }
                    let _ = writeln!(stderr, "{} in {files}", plural(n, "finding", "findings"));
                }
                u8::from(n > 0)
            }
            RunMode::DryRun => {
                let mut changed = 0;
                let mut fixes = 0;
                for (p, _) in &plans {
                    if p.outcome.changed() || !p.outcome.findings.is_empty() || !p.outcome.dropped.is_empty() {
                        let _ = render::dry_run(&mut out, p);
                    }
                    if p.outcome.changed() {
                        changed += 1;
                        fixes += p.outcome.findings.iter().filter(|r| r.applied).count();
                    }
                }
                if !args.quiet {
                    if batch_run {
                        let (rows, totals) = summary::rows(&plans, &errors);
                        let _ = write!(out, "\n{}", summary::text(&rows, &totals));
                        if !bases.is_empty() {
                            let _ = write!(out, "\n{}", shared_base::text(&bases));
                        }
                    } else {
                        summary(&mut stderr, &plans, files_total, changed, fixes, true);
                    }
                }
                u8::from(changed > 0)
            }
            RunMode::Apply => 0,
        },
    };
    let code = if mode == RunMode::Apply { 0 } else { code };
    if !errors.is_empty() {
        return 2;
    }
    if args.exit_zero {
        0
    } else {
        code
    }
}

fn summary(
    w: &mut dyn Write,
    plans: &[(FilePlan, Vec<String>)],
    total: usize,
    changed: usize,
    fixes: usize,
    dry: bool,
) {
    let held: usize = plans.iter().map(|(p, _)| p.outcome.held_back()).sum();
    let verb = if dry { "would change" } else { "changed" };
    let mut line = if changed == 0 {
        format!("nothing to change in {}", plural(total, "Dockerfile", "Dockerfiles"))
    } else {
        format!("{verb} {} of {} ({})", plural(changed, "file", "files"), total, plural(fixes, "fix", "fixes"))
    };
    if held > 0 {
        line.push_str(&format!("; {} held back (add --unsafe-fixes)", plural(held, "unsafe fix", "unsafe fixes")));
    }
    let _ = writeln!(w, "{line}");
}

fn write_plan(p: &FilePlan, links: write::Links<'_>) -> std::io::Result<()> {
    // Other files first: a Dockerfile is only rewritten when what it relies on is in place.
    for fc in &p.outcome.files {
        write::write_atomic(&write::target(&fc.path, links)?, &fc.after)?;
    }
    if p.outcome.source != p.outcome.fixed {
        write::write_atomic(&write::target(&p.path, links)?, &p.outcome.fixed)?;
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct JsonFile<'a> {
    path: String,
    changed: bool,
    findings: Vec<render::JsonFinding<'a>>,
}

#[derive(serde::Serialize)]
struct JsonError {
    path: String,
    line: Option<usize>,
    column: Option<usize>,
    message: String,
}

#[derive(serde::Serialize)]
struct JsonSummary {
    rows: Vec<summary::Row>,
    totals: summary::Totals,
}

#[derive(serde::Serialize)]
struct JsonReport<'a> {
    version: u32,
    summary: JsonSummary,
    files: Vec<JsonFile<'a>>,
    errors: Vec<JsonError>,
    /// Groups of Dockerfiles with the same start (batch runs).
    shared_bases: Vec<shared_base::SharedBase>,
}

fn json_report<'a>(plans: &'a [(FilePlan, Vec<String>)], errors: &[FileError]) -> JsonReport<'a> {
    let (rows, totals) = summary::rows(plans, errors);
    JsonReport {
        version: 1,
        summary: JsonSummary { rows, totals },
        files: plans
            .iter()
            .map(|(p, _)| JsonFile {
                path: p.path.display().to_string(),
                changed: p.outcome.changed(),
                findings: render::json_findings(p),
            })
            .collect(),
        errors: errors
            .iter()
            .map(|e| JsonError {
                path: e.path.display().to_string(),
                line: e.line,
                column: e.column,
                message: e.message.clone(),
            })
            .collect(),
        shared_bases: Vec::new(),
    }
}

fn verify(args: VerifyArgs) -> u8 {
    let units = match discover_units(&args.paths, &args.compose_files) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let docker = match dockfix_verify::Docker::detect(args.docker.as_deref(), args.network.clone()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let run_args = RunArgs::planning(&args.select, &args.ignore, args.unsafe_fixes, args.config.clone());
    let mut configs = Configs::default();
    let mut reports = Vec::new();
    let mut code = 0u8;
    let opts = dockfix_verify::Options { keep: args.keep, ignore: args.ignore_paths.clone(), no_edit: args.no_edit };
    for unit in &units {
        let settings = match configs
            .effective(args.config.as_deref(), &unit.dockerfile)
            .map_err(|e| e.to_string())
            .and_then(|eff| settings_for(&run_args, &eff))
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {}: {e}", unit.dockerfile.display());
                code = 2;
                continue;
            }
        };
        for u in &unit.uses {
            let service = dockfix_core::Service {
                dockerfile: unit.dockerfile.clone(),
                context: u.context.clone(),
                name: u.services.first().cloned(),
                target: u.target.clone(),
                build_args: u.args.clone(),
            };
            let plan = match plan::plan_service(service.clone(), &unit.dockerfile, &settings) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("error: {e}");
                    code = 2;
                    continue;
                }
            };
            if !plan.outcome.changed() {
                if !args.quiet {
                    eprintln!("{}: nothing to verify (no change)", unit.dockerfile.display());
                }
                continue;
            }
            let mut applied: Vec<String> =
                plan.outcome.findings.iter().filter(|r| r.applied).map(|r| r.finding.pass.to_string()).collect();
            applied.dedup();
            let input = dockfix_verify::Input {
                service,
                original: plan.outcome.source.clone(),
                rewritten: plan.outcome.fixed.clone(),
                other_files: plan.outcome.files.iter().map(|f| (f.path.clone(), f.after.clone())).collect(),
                applied_passes: applied,
            };
            let quiet = args.quiet;
            let logs = args.save_logs.clone();
            let mut buffers: BTreeMap<String, String> = BTreeMap::new();
            let mut progress = |label: &str, line: &str| {
                buffers.entry(label.to_string()).or_default().push_str(line);
                buffers.entry(label.to_string()).or_default().push('\n');
                if !quiet && line.starts_with('#') && line.contains(" [") && !line.contains("[internal]") {
                    eprintln!("  [{label}] {line}");
                }
            };
            match dockfix_verify::verify(&docker, &input, &opts, &mut progress) {
                Ok(r) => {
                    code = code.max(r.exit_code());
                    if let Some(dir) = logs {
                        let _ = std::fs::create_dir_all(&dir);
                        let stem = unit.dockerfile.display().to_string().replace(['/', '\\'], "_");
                        for (label, log) in &buffers {
                            let _ =
                                std::fs::write(dir.join(format!("{stem}.{}.log", label.replace([',', ' '], ""))), log);
                        }
                    }
                    reports.push(r);
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", unit.dockerfile.display());
                    code = 2;
                }
            }
        }
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&reports).unwrap_or_default()),
        _ => {
            for r in &reports {
                print!("{}", dockfix_verify::render_text(r));
            }
        }
    }
    code
}

/// `YYYY-MM-DD` → seconds since the epoch (UTC midnight).
fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.split('-').map(|x| x.parse::<i64>());
    let (y, m, d) = (it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

fn audit(args: AuditArgs) -> u8 {
    let units = match discover_units(&args.paths, &args.compose_files) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let since = match &args.since {
        Some(s) => match parse_date(s) {
            Some(t) => Some(t),
            None => {
                eprintln!("error: --since takes a date like 2026-01-31");
                return 2;
            }
        },
        None => None,
    };
    let timings = match &args.timings {
        Some(f) => match std::fs::read_to_string(f) {
            Ok(log) => Some(dockfix_audit::timings_from_log(&log)),
            Err(e) => {
                eprintln!("error: {}: {e}", f.display());
                return 2;
            }
        },
        None => None,
    };
    let run_args = RunArgs::planning(&args.select, &args.ignore, args.unsafe_fixes, args.config.clone());
    let mut configs = Configs::default();
    let mut audits = Vec::new();
    let mut statics: Vec<(String, String, Vec<dockfix_audit::StaticEntry>)> = Vec::new();
    let mut code = 0;
    for unit in &units {
        let settings = match configs
            .effective(args.config.as_deref(), &unit.dockerfile)
            .map_err(|e| e.to_string())
            .and_then(|eff| settings_for(&run_args, &eff))
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {}: {e}", unit.dockerfile.display());
                code = 2;
                continue;
            }
        };
        let Some(u) = unit.uses.first() else { continue };
        let service = dockfix_core::Service {
            dockerfile: unit.dockerfile.clone(),
            context: u.context.clone(),
            name: u.services.first().cloned(),
            target: u.target.clone(),
            build_args: u.args.clone(),
        };
        let plan = match plan::plan_service(service, &unit.dockerfile, &settings) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                code = 2;
                continue;
            }
        };
        let repo = dockfix_history::Repo::discover(&u.context);
        let history = repo.as_ref().filter(|r| !r.is_shallow()).and_then(|r| {
            let commits = r.commits(args.commits, since).ok()?;
            Some((r.root().to_path_buf(), commits))
        });
        match history {
            Some((root, commits)) => {
                let desc = format!("git history of {}, last {} commits", root.display(), commits.len());
                if let Some(a) = summary::audit_plan(&plan, &root, &commits, timings.as_ref(), desc) {
                    audits.push(a);
                }
            }
            None => {
                let why = match &repo {
                    Some(r) if r.is_shallow() => "a shallow clone: the history is cut",
                    _ => "not in a git repository",
                };
                let mut entries: Vec<String> = std::fs::read_dir(&u.context)
                    .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
                    .unwrap_or_default();
                entries.sort();
                let Ok(current) = dockfix_syntax::parse(&plan.outcome.source) else { continue };
                let (ignore_now, _) = context::ignore_matchers(&unit.dockerfile, &u.context, &plan.outcome.files);
                let map = dockfix_audit::static_map(&current, u.target.as_deref(), &entries, &|p: &str| {
                    ignore_now.is_excluded(p)
                });
                statics.push((unit.dockerfile.display().to_string(), why.to_string(), map));
            }
        }
    }
    match args.format {
        Format::Json => {
            let v = serde_json::json!({
                "version": 1,
                "audits": audits,
                "static": statics.iter().map(|(f, why, m)| serde_json::json!({"dockerfile": f, "why": why, "map": m})).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        Format::Markdown => print!("{}", dockfix_audit::render_markdown(&audits)),
        _ => {
            for a in &audits {
                print!("{}", dockfix_audit::render_text(a));
            }
            for (f, why, map) in &statics {
                println!("{f}: no history to replay ({why}); which steps a change re-runs:");
                for e in map {
                    println!(
                        "  {:<30} {}",
                        e.path,
                        e.first_step.as_deref().map_or("nothing".to_string(), |s| format!(
                            "from `{s}` ({} {})",
                            e.reruns,
                            if e.reruns == 1 { "step" } else { "steps" }
                        ))
                    );
                }
            }
        }
    }
    code
}

/// Two plans that change the same other file (two Dockerfiles built from
/// one context, both extending its `.dockerignore`) would overwrite each
/// other. The first plan's change is kept; later different changes to that
/// file are held back, with a warning: the next run plans them against the
/// file as the first left it.
fn hold_back_shared_files(plans: &mut [(FilePlan, Vec<String>)]) -> Vec<String> {
    let mut owner: std::collections::BTreeMap<PathBuf, (PathBuf, Vec<u8>)> = Default::default();
    let mut notes = Vec::new();
    for (p, _) in plans.iter_mut() {
        let path = p.path.clone();
        p.outcome.files.retain(|fc| match owner.get(&fc.path) {
            None => {
                owner.insert(fc.path.clone(), (path.clone(), fc.after.clone()));
                true
            }
            Some((_, after)) if *after == fc.after => false,
            Some((first, _)) => {
                notes.push(format!(
                    "{}: its change to {} is held back: {} changes that file too; run dockfix again to plan it on top",
                    path.display(),
                    fc.path.display(),
                    first.display()
                ));
                false
            }
        });
    }
    notes
}

/// `apply --extract-base PATH`: the largest group of Dockerfiles with the
/// same start gets it from a base Dockerfile written to PATH.
fn extract_base(
    plans: &mut [(FilePlan, Vec<String>)],
    bases: &[shared_base::SharedBase],
    path: &Path,
) -> Result<String, String> {
    let Some(g) = bases.first() else {
        return Err("no two Dockerfiles start with the same FROM and system-package installs".into());
    };
    let image = shared_base::image_name(path);
    let text = shared_base::base_dockerfile(g, &image, path);
    match std::fs::read(path) {
        Ok(old) if old != text.as_bytes() => return Err("exists already; dockfix does not overwrite it".into()),
        _ => {}
    }
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    write::write_atomic(path, text.as_bytes()).map_err(|e| e.to_string())?;
    for m in &g.members {
        if let Some((p, _)) = plans.iter_mut().find(|(p, _)| p.path == m.dockerfile) {
            p.outcome.fixed = shared_base::rewrite_member(&p.outcome.fixed, m, &image);
        }
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Ok(format!(
        "created {} (shared base of {} Dockerfiles; build it first: docker build -t {image} -f {} {})",
        path.display(),
        g.members.len(),
        path.display(),
        dir.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(path: &str, files: &[(&str, &str)]) -> (FilePlan, Vec<String>) {
        let outcome = dockfix_core::engine::Outcome {
            source: b"FROM a\n".to_vec(),
            fixed: b"FROM a\n".to_vec(),
            findings: Vec::new(),
            files: files
                .iter()
                .map(|(p, a)| dockfix_core::engine::FileChange {
                    path: PathBuf::from(p),
                    before: None,
                    after: a.as_bytes().to_vec(),
                })
                .collect(),
            dropped: Vec::new(),
            rounds: 1,
            converged: true,
            unused_suppressions: Vec::new(),
        };
        (
            FilePlan { path: PathBuf::from(path), service: dockfix_core::Service::for_dockerfile(path), outcome },
            Vec::new(),
        )
    }

    #[test]
    fn a_file_two_plans_change_is_written_once() {
        let mut plans = vec![
            plan("c/Dockerfile", &[("c/.dockerignore", ".git\n")]),
            plan("c/other/Dockerfile", &[("c/.dockerignore", ".git\n")]),
            plan("c/third/Dockerfile", &[("c/.dockerignore", ".git\nnode_modules\n"), ("c/x", "y")]),
        ];
        let notes = hold_back_shared_files(&mut plans);
        assert_eq!(plans[0].0.outcome.files.len(), 1);
        // The same change: written once, no warning.
        assert!(plans[1].0.outcome.files.is_empty());
        // A different one: held back, with a warning; other files stay.
        assert_eq!(plans[2].0.outcome.files.len(), 1);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("c/third/Dockerfile") && notes[0].contains("run dockfix again"), "{notes:?}");
    }
}
