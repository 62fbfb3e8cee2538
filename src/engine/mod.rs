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
struct Assembly {
    pack_size: usize,
    parallel: usize,
    stride: u64,
    packs: u64,
    unpacked: u64,
    windows: u64,
    initial: Moments,
    hist_initial: Histogram,
    life_cells: Vec<PackCell>,
}

impl Assembly {
    /// Nothing formed yet; every `stride`-th pack of the run will be kept for life, so the life
    /// sample (`pack.life_packs` packs) spreads over the whole run.
    fn new(scene: &Scene, spec: &HistSpec) -> Assembly {
        let pack_size = scene.cells_per_pack() as usize;
        let rated_pack = scene.cell.capacity_ah * f64::from(scene.pack.parallel);
        let max_packs = scene.cells / pack_size as u64;
        let stride = if scene.pack.life_packs == 0 {
            u64::MAX
        } else {
            max_packs.div_ceil(u64::from(scene.pack.life_packs)).max(1)
        };
        Assembly {
            pack_size,
            parallel: scene.pack.parallel as usize,
            stride,
            packs: 0,
            unpacked: 0,
            windows: 0,
            initial: Moments::default(),
            hist_initial: spec.pack_capacity(rated_pack),
            life_cells: Vec::new(),
        }
    }

    fn assemble(&mut self, scene: &Scene, window: &[PackCell], rng: &crate::rng::Philox) {
        let (order, left) = match_window(
            window,
            scene.pack.matching,
            self.pack_size,
            scene.eol.grade_bins,
            rng,
            self.windows,
        );
        self.windows += 1;
        self.unpacked += left as u64;
        let mut cells = Vec::with_capacity(self.pack_size);
        for pack in order.chunks_exact(self.pack_size) {
            cells.clear();
            cells.extend(pack.iter().map(|&i| window[i as usize]));
            place_groups(&mut cells, self.parallel);
            let q = initial_capacity(&cells, self.parallel);
            self.initial.push(q);
            self.hist_initial.push(q);
            if self.packs.is_multiple_of(self.stride) {
                self.life_cells.extend_from_slice(&cells);
            }
            self.packs += 1;
        }
    }

    /// Passed cells (in index order) into the warehouse window; each full window is matched.
    fn take(
        &mut self,
        scene: &Scene,
        window: &mut Vec<PackCell>,
        cells: &[PackCell],
        rng: &crate::rng::Philox,
    ) {
        let window_size = scene.pack.window as usize;
        let mut rest = cells;
        while !rest.is_empty() {
            let take = (window_size - window.len()).min(rest.len());
            window.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if window.len() == window_size {
                self.assemble(scene, window, rng);
                window.clear();
            }
        }
    }
}

/// Run a scene on a backend. `progress` is called after every chunk and pack batch.
pub fn run(
    scene: &Scene,
    backend: &mut dyn Backend,
    opts: &RunOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, EngineError> {
    let t0 = Instant::now();
    let params = LineParams::from_scene(scene);
    let spec = HistSpec::for_params(&params);
    let mut asm = Assembly::new(scene, &spec);
    let stats = run_line(scene, backend, opts, (&params, &spec), &mut asm, progress)?;
    let line_s = t0.elapsed().as_secs_f64();
    let lives = run_life(scene, backend, opts, &asm, progress)?;
    let elapsed = t0.elapsed().as_secs_f64();
    Ok(Summary::build(
        scene,
        crate::summary::RunInfo {
            backend: backend.kind(),
            device: backend.device(),
            line_s,
            elapsed_s: elapsed,
        },
        &stats,
        crate::summary::PackTotals {
            packs: asm.packs,
            unpacked: asm.unpacked,
            windows: asm.windows,
            initial: asm.initial,
            hist_initial: asm.hist_initial,
            lives,
            life_cells: asm.life_cells,
        },
    ))
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
    asm: &mut Assembly,
    progress: &mut dyn FnMut(Progress),
) -> Result<LineStats, EngineError> {
    let rng = params.rng();
    let mut stats = LineStats::new(spec, params.grade_bins);
    let window_size = scene.pack.window as usize;
    let mut window: Vec<PackCell> = Vec::with_capacity(window_size.min(1 << 24));
    let chunk = opts.chunk.max(1);
    let total = scene.cells;
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
            let mut start = 0u64;
            while start < total {
                if cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
                    let _ = tx.send(Err(EngineError::Cancelled));
                    return;
                }
                let count = chunk.min(total - start);
                let res = producer.cell_line(params, spec, start, count);
                let failed = res.is_err();
                start += count;
                // A closed channel means the consumer stopped (cancel or error): stop too.
                if tx.send(res.map(|r| (start, r))).is_err() || failed {
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
            asm.take(scene, &mut window, &res.passed, &rng);
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
    // The last, partial warehouse batch is matched too.
    if !window.is_empty() {
        asm.assemble(scene, &window, &rng);
    }
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

/// The per-cell loop both CPU paths share: records for `start..start+count` into `out`.
#[inline]
pub fn simulate_range(p: &LineParams, start: u64, out: &mut [CellRecord]) {
    let rng = p.rng();
    let mut lots = crate::model::LotDraws::for_cell(p, &rng, start);
    for (i, r) in out.iter_mut().enumerate() {
        let cell = start + i as u64;
        lots.refresh(p, &rng, cell);
        *r = crate::model::simulate_cell(p, &rng, cell, &lots);
    }
}
