//! The run: cells through the line in chunks, passed cells into matching windows, windows into
//! packs, the aged packs through life as they form, everything into a [`Summary`].
//!
//! The per-cell and per-pack work is a [`Backend`]'s (rayon on the CPU, wgpu compute on the GPU);
//! what joins the chunks — windows, matching, which packs are aged — is here, once, for both.
//! Complete windows are matched in parallel on rayon's global pool: each is keyed by its window,
//! so the result does not depend on it. Memory is bounded by a chunk, a window, a life batch and
//! a few numbers per aged pack, whatever the cell count.

mod assembly;
pub mod cpu;

use assembly::Assembly;

use crate::model::aging::{AgingParams, RateTable};
pub use crate::model::life_plan::LifePlan;
use crate::model::pack::{Follow, PackCell, PackLife};
use crate::model::{CellRecord, LineParams};
use crate::scene::Scene;
use crate::summary::{HistSpec, LineStats, PackTotals, Summary};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Cells per chunk handed to a backend: bounds host memory (36 B a record) at any run size.
pub const DEFAULT_CHUNK: u64 = 1 << 20;

/// Why a run did not finish.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// `RunOptions::cancel` was set: a newer request replaced this run.
    #[error("run cancelled")]
    Cancelled,
    /// No adapter the policy allows (`--backend gpu` fails; `auto` falls back to the CPU).
    #[error("no GPU backend: {0}")]
    NoGpu(String),
    /// A device error, loss, out-of-memory or a limit, with the adapter's name.
    #[error("GPU error: {0}")]
    Gpu(String),
}

/// One chunk's result: merged statistics and the passed cells in index order.
pub struct ChunkResult {
    /// The chunk's counts, histograms and exact moments, merged into the run's.
    pub stats: LineStats,
    /// The chunk's passed cells in cell-index order (windows and matching rely on the order).
    pub passed: Vec<PackCell>,
}

/// What a compute backend does: the cell line over a range of cell indices, and pack life.
/// `Send` so that the app can run it on a worker thread.
pub trait Backend: Send {
    /// "cpu" or "gpu".
    fn kind(&self) -> &'static str;
    /// What ran it: thread count, or the adapter's name and API.
    fn device(&self) -> String;
    /// Peak bytes of device buffers held at once (GPU backends); None for the CPU.
    fn device_memory(&self) -> Option<u64> {
        None
    }
    /// Bytes moved between host and device so far (GPU backends); None for the CPU.
    fn transfers(&self) -> Option<Transfers> {
        None
    }
    /// Cells `start .. start + count` through the line.
    fn cell_line(
        &mut self,
        p: &LineParams,
        spec: &HistSpec,
        start: u64,
        count: u64,
    ) -> Result<ChunkResult, EngineError>;
    /// Hand back a chunk result's `passed` once it has been read, for the next chunk to reuse
    /// (the CPU backend keeps one; others drop it).
    fn recycle(&mut self, _passed: Vec<PackCell>) {}
    /// Run `work` (the engine's host-side matching) on the backend's threads: the CPU backend's
    /// own pool, so that a run's `--threads` holds for matching too; others run it in place
    /// (rayon's global pool).
    fn on_threads(&self, work: &mut (dyn FnMut() + Send)) {
        work();
    }
    /// Life of `cells.len() / (series·parallel)` packs laid out pack after pack, pack `k`
    /// followed as far as `follow[k]` says (past its end only if it is kept whole).
    fn pack_life(
        &mut self,
        a: &AgingParams,
        table: &RateTable,
        cells: &[PackCell],
        follow: &[Follow],
    ) -> Result<Vec<PackLife>, EngineError>;
    /// The whole of `range` (whole windows) with everything after the line kept on the device —
    /// matching, assembly, initial capacity, the life of every aged pack — and only statistics
    /// and per-pack results read back (the GPU backend: docs/GPU.md). None: the engine's host
    /// path runs it (the CPU backend; a GPU when a window is larger than one dispatch).
    fn run_windows(
        &mut self,
        _scene: &Scene,
        _range: std::ops::Range<u64>,
        _plan: &LifePlan,
        _cancel: Option<&Arc<AtomicBool>>,
        _progress: &mut dyn FnMut(Progress),
    ) -> Option<Result<(LineStats, PackTotals), EngineError>> {
        None
    }
}

/// Bytes a backend has moved between host and device (GPU backends).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transfers {
    /// Host → device.
    pub uploaded: u64,
    /// Device → host (mapped read-backs).
    pub read_back: u64,
}

/// Run settings that are not part of the scene.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Cells per chunk handed to the backend: bounds memory; results do not depend on it.
    pub chunk: u64,
    /// Set to stop the run between chunks and between batches of pack life (a newer request in
    /// the app).
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            chunk: DEFAULT_CHUNK,
            cancel: None,
        }
    }
}

/// Progress of a run, for bars and status lines.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Cells through the line so far.
    pub cells_done: u64,
    /// Cells in the run.
    pub cells_total: u64,
    /// Packs aged so far (they age a batch at a time as the line forms them).
    pub packs_done: u64,
    /// Packs the run is expected to age (an upper bound until the run ends).
    pub packs_total: u64,
}

/// The windows of a run split into `n` shards of whole windows: shard `k`'s started cells.
/// Shards may be empty when there are fewer windows than shards.
pub fn shard_cells(scene: &Scene, k: u64, n: u64) -> std::ops::Range<u64> {
    let window = scene.pack.window.max(1);
    let windows = u128::from(scene.cells.div_ceil(window));
    let (n, k) = (u128::from(n.max(1)), u128::from(k));
    let w0 = (k * windows / n) as u64;
    let w1 = ((k + 1) * windows / n) as u64;
    let cell = |w: u64| w.saturating_mul(window).min(scene.cells);
    cell(w0)..cell(w1)
}

/// What a run of a range of cells hands over: everything the summary needs, in a form that merges
/// exactly (integer counts, fixed-point moments, lives in pack order).
pub struct Partial {
    /// The line's statistics.
    pub stats: LineStats,
    /// Packs, their initial capacities and the life sample.
    pub packs: crate::summary::PackTotals,
    /// Seconds in the line (incl. matching).
    pub line_s: f64,
    /// Seconds of the whole range.
    pub elapsed_s: f64,
}

impl Partial {
    /// Append the next range's partial (ranges in cell order): the one-machine run's result.
    pub fn merge(&mut self, o: Partial) {
        self.stats.merge(&o.stats);
        self.packs.merge(o.packs);
        self.line_s += o.line_s;
        self.elapsed_s += o.elapsed_s;
    }

    /// The summary of a whole run from its partial(s).
    pub fn summary(self, scene: &Scene, backend: &'static str, device: String) -> Summary {
        Summary::build(
            scene,
            crate::summary::RunInfo {
                backend,
                device,
                line_s: self.line_s,
                elapsed_s: self.elapsed_s,
            },
            &self.stats,
            self.packs,
        )
    }
}

/// Run a scene on a backend. `progress` is called after every chunk and pack batch.
pub fn run(
    scene: &Scene,
    backend: &mut dyn Backend,
    opts: &RunOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, EngineError> {
    let partial = run_range(scene, backend, opts, 0..scene.cells, progress)?;
    Ok(partial.summary(scene, backend.kind(), backend.device()))
}

/// Run the started cells `range` of a scene (whole windows: see [`shard_cells`]): the line, the
/// windows' packs and the life of the aged packs among them.
pub fn run_range(
    scene: &Scene,
    backend: &mut dyn Backend,
    opts: &RunOptions,
    range: std::ops::Range<u64>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Partial, EngineError> {
    let t0 = Instant::now();
    let plan = LifePlan::new(scene);
    let cancel = opts.cancel.as_ref();
    if let Some(r) = backend.run_windows(scene, range.clone(), &plan, cancel, progress) {
        let (stats, packs) = r?;
        let elapsed_s = t0.elapsed().as_secs_f64();
        // Line, matching and life run interleaved on the device: all of it is line time.
        return Ok(Partial {
            stats,
            packs,
            line_s: elapsed_s,
            elapsed_s,
        });
    }
    let params = LineParams::from_scene(scene);
    let spec = HistSpec::for_params(&params);
    let mut asm = Assembly::new(scene, &spec);
    let (stats, life_s) = run_line(
        scene,
        backend,
        opts,
        (&params, &spec),
        range,
        &mut asm,
        progress,
    )?;
    let elapsed_s = t0.elapsed().as_secs_f64();
    Ok(Partial {
        stats,
        packs: asm.totals,
        line_s: elapsed_s - life_s,
        elapsed_s,
    })
}

fn is_cancelled(opts: &RunOptions) -> bool {
    opts.cancel
        .as_ref()
        .is_some_and(|c| c.load(Ordering::Relaxed))
}

/// Every cell of `range` through `backend` chunk by chunk: the statistics merged, the passed cells
/// matched into packs window by window, and the aged packs through life a batch at a time as they
/// form — memory stays at a chunk, a window and a batch whatever the run's size. Returns the
/// statistics and the seconds spent in pack life.
fn run_line(
    scene: &Scene,
    backend: &mut dyn Backend,
    opts: &RunOptions,
    (params, spec): (&LineParams, &HistSpec),
    range: std::ops::Range<u64>,
    asm: &mut Assembly,
    progress: &mut dyn FnMut(Progress),
) -> Result<(LineStats, f64), EngineError> {
    let rng = params.rng();
    let aging = AgingParams::from_scene(scene);
    let table = RateTable::new(&aging, &scene.life);
    let mut stats = LineStats::new(spec, params.grade_bins);
    let chunk = opts.chunk.max(1);
    let (first, end) = (range.start, range.end.max(range.start));
    // The aged slots this range can hold, for the progress bar (packs are known as they form).
    let packs_total = asm.plan.aged_slots() * (end - first) / scene.cells.max(1);
    let mut life_s = 0.0;
    let mut start = first;
    while start < end || asm.pending_packs() > 0 {
        if is_cancelled(opts) {
            return Err(EngineError::Cancelled);
        }
        if start < end {
            let count = chunk.min(end - start);
            let res = backend.cell_line(params, spec, start, count)?;
            start += count;
            stats.merge(&res.stats);
            asm.take(res.passed);
            if start >= end {
                // The last window is complete: matched now, with the others of this chunk
                // (alone on one thread a step later, it was 13 ms of a 10⁶-cell run's 170 ms of
                // line and matching).
                asm.finish();
            }
        }
        backend.on_threads(&mut || asm.match_ready(scene, &rng));
        // As the line's buffer goes back for the next chunk.
        backend.recycle(asm.release());
        let t = Instant::now();
        asm.age(scene, backend, (&aging, &table), start >= end, opts)?;
        life_s += t.elapsed().as_secs_f64();
        progress(Progress {
            cells_done: start - first,
            cells_total: end - first,
            packs_done: asm.totals.aged.len() as u64,
            packs_total: packs_total.max(asm.totals.aged.len() as u64),
        });
    }
    Ok((stats, life_s))
}

/// The per-cell loop both CPU paths share: records for `start..start+count` into `out`, in lane
/// groups (`model::lanes`), each record equal to `model::simulate_cell`'s.
#[inline]
pub fn simulate_range(p: &LineParams, start: u64, out: &mut [CellRecord]) {
    crate::model::lanes::simulate_cells(p, start, out);
}
