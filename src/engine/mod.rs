//! The run: cells through the line in chunks, passed cells into matching windows, windows into
//! packs, a spread-out sample of packs through life, everything into a [`Summary`].
//!
//! The per-cell and per-pack work is a [`Backend`]'s (rayon on the CPU, wgpu compute on the GPU);
//! what joins the chunks — windows, matching, the pack sample — is here, once, for both. Memory is
//! bounded by one chunk, one window and the life sample, whatever the cell count.

pub mod cpu;

use crate::model::aging::{AgingParams, RateTable};
use crate::model::pack::{PackCell, PackLife, initial_capacity, match_window, place_groups};
use crate::model::{CellRecord, LineParams};
use crate::scene::Scene;
use crate::summary::{HistSpec, Histogram, LineStats, Moments, Summary};
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
    /// Life of `cells.len() / (series·parallel)` packs laid out pack after pack.
    fn pack_life(
        &mut self,
        a: &AgingParams,
        table: &RateTable,
        cells: &[PackCell],
    ) -> Result<Vec<PackLife>, EngineError>;
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
    /// Set to stop the run between chunks (a newer request in the app).
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
    /// 0 while the line runs, then packs simulated out of the sample.
    pub packs_done: u64,
    /// Packs in the life sample (0 while the line runs).
    pub packs_total: u64,
}

/// Packs formed so far, their initial capacities, and the pack sample kept for life.
///
/// A matching window is a warehouse batch: the passed cells among `pack.window` consecutive
/// *started* cells (window `w` holds cells `w·W .. (w+1)·W`). So a window, its packs and which of
/// them are aged depend only on the window's own cells: a run split into shards of whole windows
/// makes exactly the packs of the one-machine run.
struct Assembly {
    pack_size: usize,
    parallel: usize,
    /// Started cells per window.
    window: u64,
    /// Pack slots per window (`min(window, cells) / pack_size`, the packs its started cells could
    /// fill): pack `j` of window `w` is slot `w · slots + j`, a number no other window's packs take.
    slots: u64,
    /// Every `stride`-th slot is aged, so the life sample spreads over the whole run.
    stride: u64,
    packs: u64,
    unpacked: u64,
    windows: u64,
    initial: Moments,
    hist_initial: Histogram,
    life_cells: Vec<PackCell>,
    /// The aged packs' slots.
    life_slots: Vec<u64>,
    /// The window being gathered and its passed cells so far.
    current: Option<u64>,
    gathered: Vec<PackCell>,
}

impl Assembly {
    /// Nothing formed yet; the stride over pack slots gives about `pack.life_packs` aged packs.
    fn new(scene: &Scene, spec: &HistSpec) -> Assembly {
        let pack_size = scene.cells_per_pack() as usize;
        let rated_pack = scene.cell.capacity_ah * f64::from(scene.pack.parallel);
        let window = scene.pack.window.max(1);
        // A window larger than the run holds only the run's cells: count the slots it can fill.
        let slots = (window.min(scene.cells) / pack_size as u64).max(1);
        let total_slots = scene.cells.div_ceil(window).saturating_mul(slots);
        let stride = if scene.pack.life_packs == 0 {
            u64::MAX
        } else {
            total_slots
                .div_ceil(u64::from(scene.pack.life_packs))
                .max(1)
        };
        Assembly {
            pack_size,
            parallel: scene.pack.parallel as usize,
            window,
            slots,
            stride,
            packs: 0,
            unpacked: 0,
            windows: 0,
            initial: Moments::default(),
            hist_initial: spec.pack_capacity(rated_pack),
            life_cells: Vec::new(),
            life_slots: Vec::new(),
            current: None,
            gathered: Vec::with_capacity(window.min(1 << 24) as usize),
        }
    }

    /// Match window `w`'s passed cells into packs (the matching's draws are keyed by `w`).
    fn assemble(&mut self, scene: &Scene, w: u64, cells_in: &[PackCell], rng: &crate::rng::Philox) {
        let (order, left) = match_window(
            cells_in,
            scene.pack.matching,
            self.pack_size,
            scene.eol.grade_bins,
            rng,
            w,
        );
        self.windows += 1;
        self.unpacked += left as u64;
        let mut cells = Vec::with_capacity(self.pack_size);
        for (j, pack) in order.chunks_exact(self.pack_size).enumerate() {
            cells.clear();
            cells.extend(pack.iter().map(|&i| cells_in[i as usize]));
            place_groups(&mut cells, self.parallel);
            let q = initial_capacity(&cells, self.parallel);
            self.initial.push(q);
            self.hist_initial.push(q);
            let slot = w * self.slots + j as u64;
            if slot.is_multiple_of(self.stride) {
                self.life_cells.extend_from_slice(&cells);
                self.life_slots.push(slot);
            }
            self.packs += 1;
        }
    }

    /// Passed cells (in index order) into their windows; a window is matched once a cell of a
    /// later window arrives, or at [`Assembly::finish`].
    fn take(&mut self, scene: &Scene, cells: &[PackCell], rng: &crate::rng::Philox) {
        for c in cells {
            let w = (u64::from(c.index_hi) << 32 | u64::from(c.index_lo)) / self.window;
            if self.current != Some(w) {
                self.finish(scene, rng);
                self.current = Some(w);
            }
            self.gathered.push(*c);
        }
    }

    /// Match the window being gathered (the last one of a run or shard).
    fn finish(&mut self, scene: &Scene, rng: &crate::rng::Philox) {
        if let Some(w) = self.current.take() {
            let gathered = std::mem::take(&mut self.gathered);
            if !gathered.is_empty() {
                self.assemble(scene, w, &gathered, rng);
            }
            self.gathered = gathered;
            self.gathered.clear();
        }
    }
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
/// windows' packs and the life of the sample's packs among them.
pub fn run_range(
    scene: &Scene,
    backend: &mut dyn Backend,
    opts: &RunOptions,
    range: std::ops::Range<u64>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Partial, EngineError> {
    let t0 = Instant::now();
    let params = LineParams::from_scene(scene);
    let spec = HistSpec::for_params(&params);
    let mut asm = Assembly::new(scene, &spec);
    let stats = run_line(
        scene,
        backend,
        opts,
        (&params, &spec),
        range,
        &mut asm,
        progress,
    )?;
    let line_s = t0.elapsed().as_secs_f64();
    let lives = run_life(scene, backend, opts, &asm, progress)?;
    Ok(Partial {
        stats,
        packs: crate::summary::PackTotals {
            packs: asm.packs,
            unpacked: asm.unpacked,
            windows: asm.windows,
            initial: asm.initial,
            hist_initial: asm.hist_initial,
            lives,
            life_cells: asm.life_cells,
            life_slots: asm.life_slots,
        },
        line_s,
        elapsed_s: t0.elapsed().as_secs_f64(),
    })
}

fn is_cancelled(opts: &RunOptions) -> bool {
    opts.cancel
        .as_ref()
        .is_some_and(|c| c.load(Ordering::Relaxed))
}

/// The line phase: every cell of the scene through `backend` chunk by chunk, the statistics
/// merged and the passed cells matched into packs (the last, partial window too).
fn run_line(
    scene: &Scene,
    backend: &mut dyn Backend,
    opts: &RunOptions,
    (params, spec): (&LineParams, &HistSpec),
    range: std::ops::Range<u64>,
    asm: &mut Assembly,
    progress: &mut dyn FnMut(Progress),
) -> Result<LineStats, EngineError> {
    let rng = params.rng();
    let mut stats = LineStats::new(spec, params.grade_bins);
    let chunk = opts.chunk.max(1);
    let (first, end) = (range.start, range.end.max(range.start));
    let total = end - first;
    let mut failure: Option<EngineError> = None;
    // Pipelined: a producer thread runs the backend chunk after chunk while this thread merges
    // statistics and matches windows, so a GPU computes chunk k+1 while the CPU matches chunk k.
    // The channel holds one finished chunk: memory stays at about three chunks. Order is kept, so
    // the result is the same as a serial loop.
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<(u64, ChunkResult), EngineError>>(1);
        let producer: &mut dyn Backend = &mut *backend;
        let cancel = &opts.cancel;
        scope.spawn(move || {
            let mut start = first;
            while start < end {
                if cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
                    let _ = tx.send(Err(EngineError::Cancelled));
                    return;
                }
                let count = chunk.min(end - start);
                let res = producer.cell_line(params, spec, start, count);
                let failed = res.is_err();
                start += count;
                // A closed channel means the consumer stopped (cancel or error): stop too.
                if tx.send(res.map(|r| (start - first, r))).is_err() || failed {
                    return;
                }
            }
        });
        for msg in rx {
            let (done, res) = match msg {
                Ok(m) => m,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            stats.merge(&res.stats);
            asm.take(scene, &res.passed, &rng);
            progress(Progress {
                cells_done: done,
                cells_total: total,
                packs_done: 0,
                packs_total: 0,
            });
            if is_cancelled(opts) {
                failure = Some(EngineError::Cancelled);
                break;
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    // The last window is matched too.
    asm.finish(scene, &rng);
    Ok(stats)
}

/// The life phase: the pack sample aged on `backend` in batches, which keep progress moving and
/// let a cancel land within a fraction of the phase.
fn run_life(
    scene: &Scene,
    backend: &mut dyn Backend,
    opts: &RunOptions,
    asm: &Assembly,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<PackLife>, EngineError> {
    let aging = AgingParams::from_scene(scene);
    let table = RateTable::new(&aging, &scene.life);
    let sample = asm.life_cells.len() / asm.pack_size;
    let mut lives = Vec::with_capacity(sample);
    let batch = 256usize;
    for cells in asm.life_cells.chunks(batch * asm.pack_size) {
        if is_cancelled(opts) {
            return Err(EngineError::Cancelled);
        }
        lives.extend(backend.pack_life(&aging, &table, cells)?);
        progress(Progress {
            cells_done: scene.cells,
            cells_total: scene.cells,
            packs_done: lives.len() as u64,
            packs_total: sample as u64,
        });
    }
    Ok(lives)
}

/// The per-cell loop both CPU paths share: records for `start..start+count` into `out`, in lane
/// groups (`model::lanes`), each record equal to `model::simulate_cell`'s.
#[inline]
pub fn simulate_range(p: &LineParams, start: u64, out: &mut [CellRecord]) {
    crate::model::lanes::simulate_cells(p, start, out);
}
