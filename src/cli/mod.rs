//! The command line: `run`, `sweep`, `check`, `bench`, `import-bpx` (and, with no command, the app).

mod report;
mod shards;

use crate::engine::{self, Backend, EngineError, Progress, RunOptions};
use crate::scene::{self, Scene, SceneError};
use crate::summary::Summary;
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "celltwin",
    version,
    about = "Digital twin of lithium-ion cell production: cell line, sorting, packs and pack life",
    long_about = "With no command, opens the desktop app on the embedded default scene."
)]
/// The command line: a subcommand, or none for the app.
pub struct Cli {
    #[command(subcommand)]
    /// What to do (none: open the app).
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
/// The subcommands.
pub enum Command {
    /// Simulate a scene and print its summary (or one shard of it: --shard).
    Run(RunArgs),
    /// Join a complete set of shards into the one-machine run's summary.
    Merge(MergeArgs),
    /// Pack life and yield against one swept parameter (the headline table).
    Sweep(SweepArgs),
    /// Validate a scene and print the resolved values.
    Check(CheckArgs),
    /// Where the pack's lost life went: the cycles each source of spread costs (Shapley values).
    Attribute(AttributeArgs),
    /// Throughput of each pass and end to end, with memory and the device.
    Bench(BenchArgs),
    /// Open the desktop app (the default with no command).
    App(AppArgs),
    /// Map a Battery Parameter eXchange (BPX) cell onto a scene from the nearest preset.
    ImportBpx(ImportBpxArgs),
}

use crate::backend::BackendChoice;

#[derive(Args, Debug, Clone)]
/// What every simulating command takes: the scene, its overrides and the backend.
pub struct Common {
    /// A scene file or a built-in scene name (default: the embedded nmc21700_mature).
    pub scene: Option<String>,
    /// Cells to start (overrides the scene's `cells`); `2e7` and `20000000` both work.
    #[arg(long, value_parser = parse_count)]
    pub cells: Option<u64>,
    /// Seed (overrides the scene's `seed`; 0 … 2⁶³−1, a TOML integer).
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    pub seed: Option<u64>,
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    /// Where to run the simulation.
    pub backend: BackendChoice,
    /// CPU threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Override any scene key, e.g. --set coating.cathode_loading_cv=0.004 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Cells per chunk handed to the backend.
    #[arg(long, default_value_t = engine::DEFAULT_CHUNK, hide = true)]
    pub chunk: u64,
}

#[derive(Args, Debug)]
/// `celltwin run`.
pub struct RunArgs {
    #[command(flatten)]
    /// Scene, overrides and backend.
    pub common: Common,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write summary.json and CSVs of every histogram and curve into DIR (with --shard: the
    /// shard's file, for `celltwin merge`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Tables in --out as CSV (default) or Parquet (packs, histograms, fade curve, cells).
    #[arg(long, value_enum, default_value = "csv", requires = "out")]
    pub format: FormatArg,
    /// Also write per-cell records into --out (cells.csv / cells.parquet): every cell if the run
    /// has at most ROWS, else ROWS cells evenly spread (at most 10⁷ rows; the report says which).
    #[arg(long, value_name = "ROWS", value_parser = parse_count, requires = "out")]
    pub cells_table: Option<u64>,
    /// Run shard K of N (whole matching windows) and write it to --out: `K/N`, or `auto` to take
    /// K and N from a Slurm job array or a Kubernetes Indexed Job (with --shards).
    #[arg(long, value_name = "K/N|auto", requires = "out")]
    pub shard: Option<String>,
    /// Shards in all, for `--shard auto` under Kubernetes (which sets the index, not the count).
    #[arg(long, value_name = "N")]
    pub shards: Option<u64>,
}

#[derive(Args, Debug)]
/// `celltwin merge`.
pub struct MergeArgs {
    /// Shard files, or directories holding them (`shard-*.json`).
    #[arg(required = true, value_name = "DIR|FILE")]
    pub inputs: Vec<PathBuf>,
    /// Write summary.json and the CSVs into DIR, as `celltwin run --out` does (for a sweep's
    /// shards: sweep.json and sweep.csv, as `celltwin sweep --out` does).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the summary (or the sweep table) as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Tables in --out as CSV (default) or Parquet.
    #[arg(long, value_enum, default_value = "csv", requires = "out")]
    pub format: FormatArg,
}

/// `--format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    /// CSV files.
    Csv,
    /// Parquet files (arrow-rs `parquet`).
    Parquet,
}

impl From<FormatArg> for crate::summary::columnar::Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Csv => crate::summary::columnar::Format::Csv,
            FormatArg::Parquet => crate::summary::columnar::Format::Parquet,
        }
    }
}

#[derive(Args, Debug)]
/// `celltwin sweep`.
pub struct SweepArgs {
    #[command(flatten)]
    /// Scene, overrides and backend.
    pub common: Common,
    /// The scene key to sweep, e.g. line.spread_scale.
    #[arg(long)]
    pub param: String,
    /// Values, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub values: Vec<String>,
    #[arg(long)]
    /// Print the table as one JSON array on stdout.
    pub json: bool,
    /// Write sweep.csv and sweep.json into DIR (with --shard: the shard's file, for `celltwin merge`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run shard K of N of the sweep's points (a contiguous range) and write it to --out: `K/N`,
    /// or `auto` (Slurm job arrays; Kubernetes Indexed Jobs with --shards).
    #[arg(long, value_name = "K/N|auto", requires = "out")]
    pub shard: Option<String>,
    /// Shards in all, for `--shard auto` under Kubernetes.
    #[arg(long, value_name = "N")]
    pub shards: Option<u64>,
}

#[derive(Args, Debug)]
/// `celltwin attribute`.
pub struct AttributeArgs {
    #[command(flatten)]
    /// Scene, overrides and backend.
    pub common: Common,
    /// Orders of removal the Shapley values are averaged over (forward, reverse, then orders keyed
    /// by the seed); each order beyond the first two costs up to one run per source.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub orders: u32,
    /// Exact Shapley values over every subset of sources (2^9 = 512 runs).
    #[arg(long, conflicts_with = "orders")]
    pub exact: bool,
    /// Print the attribution as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
/// `celltwin check`.
pub struct CheckArgs {
    /// A scene file or built-in name.
    pub scene: String,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    /// Override any scene key, e.g. --set coating.cathode_loading_cv=0.004 (repeatable).
    pub sets: Vec<String>,
}

#[derive(Args, Debug)]
/// `celltwin bench`.
pub struct BenchArgs {
    #[arg(long, default_value_t = 10_000_000, value_parser = parse_count)]
    /// Cells to start; `2e7` and `20000000` both work.
    pub cells: u64,
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    /// Where to run the simulation.
    pub backend: BackendChoice,
    #[arg(long)]
    /// CPU threads (default: every core).
    pub threads: Option<usize>,
    /// Scene to bench (default: the embedded default scene).
    pub scene: Option<String>,
    /// Print the measurements as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Default)]
/// `celltwin app`.
pub struct AppArgs {
    /// A scene file or built-in name to open.
    pub scene: Option<String>,
}

#[derive(Args, Debug)]
/// `celltwin import-bpx`.
pub struct ImportBpxArgs {
    /// The BPX JSON file.
    pub file: String,
    /// Write the scene TOML here (default: stdout, after the report on stderr).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Errors the CLI reports; bad input exits with status 2.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    /// The scene could not be loaded or is invalid (exit status 2).
    Scene(#[from] SceneError),
    #[error(transparent)]
    /// The engine failed: no GPU where one was asked for (exit status 2), a lost device, memory.
    Engine(#[from] EngineError),
    #[error(transparent)]
    /// A BPX file that cannot be read, is not BPX or maps onto no valid scene (exit status 2).
    Bpx(#[from] crate::bpx::BpxError),
    #[error("{0}")]
    /// A file could not be written.
    Io(String),
    #[error("{0}")]
    /// `--out` cannot be written: found before the run (exit status 2).
    OutDir(String),
    #[error(transparent)]
    /// A shard that cannot run, or shards that do not merge (exit status 2).
    Shard(#[from] crate::shard::ShardError),
    #[error("cannot write to stdout: {0}")]
    /// stdout is closed or full (`| head -1`, `> /dev/full`): one line on stderr, exit status 1,
    /// never a panic.
    Stdout(String),
    #[error("{0}")]
    /// Anything else (exit status 1).
    Other(String),
}

impl CliError {
    /// The process exit status for the error: 2 for bad input, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Scene(_) | CliError::OutDir(_) | CliError::Shard(_) | CliError::Bpx(_) => 2,
            CliError::Engine(EngineError::NoGpu(_)) => 2,
            _ => 1,
        }
    }
}

/// A count written as an integer or in float notation with a whole value (`2e7`), as a scene's
/// `cells = 2e7` may be.
pub fn parse_count(s: &str) -> Result<u64, String> {
    if let Ok(n) = s.trim().parse::<u64>() {
        return Ok(n);
    }
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 1.8e19 => Ok(x as u64),
        Ok(x) => Err(format!("{x} is not a whole, non-negative count")),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

/// Threads for the CPU engine: 0 or none means every core; more than 4 per core is capped, with a
/// note (a pool of 100 000 threads only exhausts the machine).
pub fn thread_count(t: Option<usize>) -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match t {
        None | Some(0) => None,
        Some(n) if n > 4 * cores => {
            eprintln!("note: --threads {n} capped at {} (4 per core)", 4 * cores);
            Some(4 * cores)
        }
        Some(n) => Some(n),
    }
}

/// Load the scene of a command with its overrides.
pub fn load_scene(c: &Common) -> Result<Scene, CliError> {
    let mut sets = c.sets.clone();
    if let Some(s) = c.seed {
        sets.push(format!("seed={s}"));
    }
    // Through the scene's own keys, so every check sees it; a count past a TOML integer (2⁶³) is
    // set directly and validation names the allowed range.
    let huge = c.cells.filter(|&n| i64::try_from(n).is_err());
    if let Some(n) = c.cells.filter(|_| huge.is_none()) {
        sets.push(format!("cells={n}"));
    }
    let mut scene = scene::load(c.scene.as_deref(), &sets)?;
    if let Some(n) = huge {
        scene.cells = n;
        scene::validate(&scene)?;
    }
    Ok(scene)
}

/// Pick the backend (see [`crate::backend::select`]); `auto`'s choice is said on stderr.
pub fn make_backend(
    choice: BackendChoice,
    threads: Option<usize>,
) -> Result<Box<dyn Backend>, CliError> {
    let s = crate::backend::select(choice, thread_count(threads))?;
    if let Some(note) = s.note {
        eprintln!("{note}");
    }
    Ok(s.backend)
}

/// A progress bar on stderr, shown only when stderr is a terminal and the run passes one second.
pub struct Bar {
    t0: Instant,
    bar: Option<indicatif::ProgressBar>,
    enabled: bool,
}

impl Bar {
    /// A bar that shows itself after a second, on a terminal only.
    pub fn new() -> Bar {
        Bar {
            t0: Instant::now(),
            bar: None,
            enabled: std::io::stderr().is_terminal(),
        }
    }
    /// The bar, once the run has taken a second on a terminal.
    fn shown(&mut self) -> Option<&indicatif::ProgressBar> {
        if !self.enabled || self.t0.elapsed() < Duration::from_secs(1) {
            return None;
        }
        Some(self.bar.get_or_insert_with(|| {
            let b = indicatif::ProgressBar::new(1000);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg:24} [{bar:40}] {percent:>3}% {elapsed}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            b
        }))
    }
    /// Runs done out of a batch of runs (attribution).
    pub fn runs(&mut self, done: usize, total: usize) {
        if let Some(bar) = self.shown() {
            bar.set_message(format!("run {done}/{total}"));
            bar.set_position((1000 * done / total.max(1)) as u64);
        }
    }
    /// One run's progress: cells through the line and packs aged (packs age as the line forms
    /// them, so the bar follows the slower of the two).
    pub fn update(&mut self, p: Progress) {
        let Some(bar) = self.shown() else {
            return;
        };
        let line = p.cells_done as f64 / p.cells_total.max(1) as f64;
        let (frac, msg) = if p.packs_total == 0 {
            (line, format!("cells {:.1}M", p.cells_done as f64 / 1e6))
        } else {
            (
                line.min(p.packs_done as f64 / p.packs_total as f64),
                format!(
                    "cells {:.1}M, packs aged {}/{}",
                    p.cells_done as f64 / 1e6,
                    p.packs_done,
                    p.packs_total
                ),
            )
        };
        bar.set_message(msg);
        bar.set_position((frac * 1000.0) as u64);
    }
    /// Clear the bar.
    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Default for Bar {
    fn default() -> Self {
        Bar::new()
    }
}

/// Write to stdout, reporting a closed or full stdout as an error instead of panicking as
/// `print!` does.
fn emit(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Stdout(e.to_string()))
}

/// [`emit`] with a newline.
fn emit_line(text: &str) -> Result<(), CliError> {
    emit(&format!("{text}\n"))
}

/// Serialize to one line of JSON.
fn json<T: serde::Serialize>(v: &T) -> Result<String, CliError> {
    serde_json::to_string(v).map_err(|e| CliError::Other(e.to_string()))
}

/// Check `--out` before a run: create it, prove it writable (exit 2 if not).
fn check_out(dir: Option<&std::path::Path>) -> Result<(), CliError> {
    let Some(dir) = dir else { return Ok(()) };
    crate::summary::atomic::check_dir(dir)
        .map_err(|e| CliError::OutDir(format!("--out {}: cannot write there: {e}", dir.display())))
}

fn cmd_run(a: &RunArgs) -> Result<(), CliError> {
    let scene = load_scene(&a.common)?;
    check_out(a.out.as_deref())?;
    let mut backend = make_backend(a.common.backend, a.common.threads)?;
    let opts = RunOptions {
        chunk: a.common.chunk,
        cancel: None,
    };
    let mut bar = Bar::new();
    let part = engine::run_range(&scene, backend.as_mut(), &opts, 0..scene.cells, &mut |p| {
        bar.update(p)
    });
    bar.finish();
    let part = part?;
    let packs = part.packs.clone();
    let summary = part.summary(&scene, backend.kind(), backend.device());
    let cells = a
        .cells_table
        .map(|rows| crate::summary::columnar::cell_sample(scene.cells, rows));
    // The files first: a closed stdout must not cost the run's output.
    if let Some(dir) = &a.out {
        write_tables(&summary, dir, a.format, &scene, &packs, cells)?;
    }
    if a.json {
        emit_line(&json(&summary)?)?;
    } else {
        emit(&report::text(&summary, &scene))?;
        if let Some(dir) = &a.out {
            emit_line(&format!("wrote {}", dir.display()))?;
        }
        if let Some((step, count)) = cells {
            emit_line(&format!(
                "cells table: {count} cells{}",
                if step > 1 {
                    format!(" (every {step}th of {})", scene.cells)
                } else {
                    " (all)".into()
                }
            ))?;
        }
    }
    Ok(())
}

/// summary.json and the tables into `dir`.
fn write_tables(
    summary: &Summary,
    dir: &std::path::Path,
    format: FormatArg,
    scene: &Scene,
    packs: &crate::summary::PackTotals,
    cells: Option<(u64, u64)>,
) -> Result<(), CliError> {
    let tables = crate::summary::columnar::Tables {
        scene,
        packs,
        cells,
    };
    crate::summary::columnar::write_out(summary, dir, format.into(), &tables)
        .map_err(|e| CliError::Io(format!("cannot write {}: {e}", dir.display())))
}

fn cmd_sweep(a: &SweepArgs) -> Result<(), CliError> {
    let points = a
        .values
        .iter()
        .map(|v| {
            let mut c = a.common.clone();
            c.sets.push(format!("{}={}", a.param, v.trim()));
            Ok((v.trim().to_string(), load_scene(&c)?))
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    check_out(a.out.as_deref())?;
    let shard = match &a.shard {
        Some(spec) => Some(crate::shard::parse_shard(spec, a.shards)?),
        None => None,
    };
    let mine = match &shard {
        Some(id) => crate::shard::sweep_points(points.len(), id.k, id.n),
        None => 0..points.len(),
    };
    let mut backend = make_backend(a.common.backend, a.common.threads)?;
    let opts = RunOptions {
        chunk: a.common.chunk,
        cancel: None,
    };
    let mut bar = Bar::new();
    let rows = crate::sweep::run(
        &points[mine.clone()],
        backend.as_mut(),
        &opts,
        &mut |i, n| bar.runs(i, n),
    );
    bar.finish();
    let rows = rows.map_err(|e| match e {
        crate::sweep::SweepError::Engine(e) => CliError::from(e),
        other => CliError::Other(other.to_string()),
    })?;
    if let (Some(id), Some(dir)) = (&shard, &a.out) {
        return shards::write_sweep_shard(a, id, dir, mine, rows);
    }
    write_sweep(&a.param, &rows, a.out.as_deref(), a.json)
}

/// The sweep table: sweep.json and sweep.csv into `out` (sweep.json last), then stdout.
fn write_sweep(
    param: &str,
    rows: &[crate::sweep::SweepRow],
    out: Option<&std::path::Path>,
    as_json: bool,
) -> Result<(), CliError> {
    let table = json(&rows)?;
    if let Some(dir) = out {
        let csv = vec![(
            "sweep.csv".to_string(),
            crate::sweep::csv(rows).into_bytes(),
        )];
        crate::summary::atomic::write_dir(dir, &csv, ("sweep.json", table.as_bytes()))
            .map_err(|e| CliError::Io(format!("cannot write {}: {e}", dir.display())))?;
    }
    if as_json {
        emit_line(&table)
    } else {
        emit(&report::sweep_table(param, rows))
    }
}

fn cmd_attribute(a: &AttributeArgs) -> Result<(), CliError> {
    use crate::attribution::{Method, attribute};
    let scene = load_scene(&a.common)?;
    let mut backend = make_backend(a.common.backend, a.common.threads)?;
    let method = if a.exact {
        Method::Exact
    } else {
        Method::Orders(a.orders)
    };
    let opts = RunOptions {
        chunk: a.common.chunk,
        cancel: None,
    };
    let mut bar = Bar::new();
    let out = attribute(
        &scene,
        backend.as_mut(),
        method,
        &opts,
        &mut |done, total| bar.runs(done, total),
    );
    bar.finish();
    let out = out.map_err(|e| CliError::Other(e.to_string()))?;
    if a.json {
        emit_line(&json(&out)?)
    } else {
        emit(&report::attribution(&out))
    }
}

fn cmd_check(a: &CheckArgs) -> Result<(), CliError> {
    let scene = scene::load(Some(&a.scene), &a.sets)?;
    let toml = toml::to_string(&scene).map_err(|e| CliError::Other(e.to_string()))?;
    emit(&format!("# {}: valid. Resolved values:\n{toml}", a.scene))
}

fn cmd_import_bpx(a: &ImportBpxArgs) -> Result<(), CliError> {
    let import = crate::bpx::import_file(&a.file)?;
    let toml = import
        .toml(&a.file)
        .map_err(|e| CliError::Other(e.to_string()))?;
    match &a.out {
        Some(path) => {
            // Through a temporary name like every output: a failed write leaves no half scene.
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| {
                    CliError::OutDir(format!("--out {}: not a file name", path.display()))
                })?;
            crate::summary::atomic::write_dir(dir, &[], (&name, toml.as_bytes()))
                .map_err(|e| CliError::Io(format!("cannot write {}: {e}", path.display())))?;
            emit(&import.report())?;
            emit_line(&format!("Scene written to {}", path.display()))
        }
        None => {
            // The scene goes to stdout (pipe it to a file); the report to stderr.
            let _ = write!(std::io::stderr(), "{}", import.report());
            emit(&toml)
        }
    }
}

/// Peak resident memory of this process, bytes (Linux; None elsewhere).
pub fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn cmd_bench(a: &BenchArgs) -> Result<(), CliError> {
    let sets = vec![format!("cells={}", a.cells)];
    let scene = scene::load(a.scene.as_deref(), &sets)?;
    let mut backend = make_backend(a.backend, a.threads)?;
    let b = report::bench(&scene, backend.as_mut())?;
    if a.json {
        emit_line(&json(&b)?)
    } else {
        emit(&report::bench_text(&b, &scene))
    }
}

fn cmd_app(a: &AppArgs) -> Result<(), CliError> {
    // A scene that does not load is bad input (exit 2), found before any window opens.
    if let Some(name) = &a.scene {
        scene::load(Some(name), &[])?;
    }
    launch_app(a.scene.as_deref())
}

#[cfg(feature = "app")]
fn launch_app(scene: Option<&str>) -> Result<(), CliError> {
    crate::app::launch(scene).map_err(CliError::Other)
}

#[cfg(not(feature = "app"))]
fn launch_app(_scene: Option<&str>) -> Result<(), CliError> {
    Err(CliError::Other(
        "this celltwin was built without the desktop app (cargo feature `app`); \
         `celltwin run` runs a scene headless"
            .into(),
    ))
}

/// Parse the command line and run it; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Run(a)) if a.shard.is_some() => shards::cmd_shard(a),
        Some(Command::Run(a)) => cmd_run(a),
        Some(Command::Merge(a)) => shards::cmd_merge(a),
        Some(Command::Sweep(a)) => cmd_sweep(a),
        Some(Command::Check(a)) => cmd_check(a),
        Some(Command::Attribute(a)) => cmd_attribute(a),
        Some(Command::Bench(a)) => cmd_bench(a),
        Some(Command::App(a)) => cmd_app(a),
        Some(Command::ImportBpx(a)) => cmd_import_bpx(a),
        None => launch_app(None),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            // Not eprintln!: a closed stderr must not turn an error into a panic either.
            let _ = writeln!(std::io::stderr(), "error: {e}");
            e.exit_code()
        }
    }
}
