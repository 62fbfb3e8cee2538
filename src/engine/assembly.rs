//! Assembly: a run's passed cells into matching windows, the windows into packs (in parallel,
//! each keyed by its window), and the aged packs through life a batch at a time as they form —
//! what joins the backend's chunks, once for both backends.

use super::{Backend, EngineError, RunOptions, is_cancelled};
use crate::model::aging::{AgingParams, RateTable};
use crate::model::life_plan::LifePlan;
use crate::model::pack::{Follow, PackCell, initial_capacity, match_window, placed_order};
use crate::scene::Scene;
use crate::summary::{AgedPack, HistSpec, KeptPack, PackTotals};
use rayon::prelude::*;
use std::collections::VecDeque;

/// Aged packs gathered before they go through life together: big enough to fill every core (and
/// a GPU's pack-life dispatch), small enough that a cancel lands quickly and memory stays small.
const LIFE_BATCH: usize = 256;

/// Packs formed so far, their initial capacities, and the aged and kept packs.
///
/// A matching window is a warehouse batch: the passed cells among `pack.window` consecutive
/// *started* cells (window `w` holds cells `w·W .. (w+1)·W`). So a window, its packs and which of
/// them are aged ([`LifePlan`]) depend only on the window's own cells: a run split into shards of
/// whole windows makes exactly the packs of the one-machine run.
pub(super) struct Assembly {
    pack_size: usize,
    parallel: usize,
    /// Started cells per window.
    window: u64,
    /// Which pack slots are aged, and which kept whole.
    pub(super) plan: LifePlan,
    /// What the run hands over about its packs.
    pub(super) totals: PackTotals,
    /// Aged packs waiting for life, as their windows matched them (moved, not copied: copying
    /// every window's aged cells into one queue was 6 % of a 10⁶-cell run); the front block's
    /// first `front_done` packs are aged.
    pending: VecDeque<AgedBlock>,
    front_done: usize,
    /// A batch that spans blocks, gathered (at most one a window boundary).
    spanning: AgedBlock,
    /// The window being gathered: its passed cells from earlier chunks (`gathered`, copied) and
    /// from the held chunk (`run`, in place).
    current: Option<u64>,
    gathered: Vec<PackCell>,
    run: std::ops::Range<usize>,
    /// The chunk's passed cells, held from [`Assembly::take`] until its windows are matched
    /// ([`Assembly::release`]): a window within it is matched in place. Copying every passed cell
    /// into its window was a serial 31 ms of a 10⁶-cell run's 460 ms.
    chunk: Vec<PackCell>,
    /// Complete windows waiting to be matched, in window order.
    ready: Vec<(u64, WindowCells)>,
}

/// Where a complete window's passed cells are.
enum WindowCells {
    /// A stretch of the held chunk.
    InChunk(std::ops::Range<usize>),
    /// Gathered across chunks.
    Owned(Vec<PackCell>),
}

/// Aged packs: their slots and initial capacities, and their cells pack after pack.
#[derive(Default)]
struct AgedBlock {
    slots: Vec<(u64, f32)>,
    cells: Vec<PackCell>,
}

/// Aged blocks' cell buffers whose packs have lived, lent to the next windows (of this run or a
/// later one: the app's runs follow one another). A fresh block a window was ≈ 12 000 pages
/// (48 MB) faulted in and zeroed in each 10⁶-cell run; a lent one is already mapped. At most
/// [`SPARE_BLOCKS_MAX`] are kept: no more than a run held at once (a chunk's windows).
static SPARE_BLOCKS: std::sync::Mutex<Vec<Vec<PackCell>>> = std::sync::Mutex::new(Vec::new());
const SPARE_BLOCKS_MAX: usize = 16;

/// `n` zeroed cells, in a spare block's buffer where one is left (else a fresh one, whose pages
/// the allocator may take already zeroed from the system).
fn block_of(n: usize) -> Vec<PackCell> {
    // A poisoned lock only means a thread panicked while holding finished buffers.
    let spare = SPARE_BLOCKS.lock().unwrap_or_else(|e| e.into_inner()).pop();
    match spare {
        Some(mut cells) => {
            cells.clear();
            cells.resize(n, bytemuck::Zeroable::zeroed());
            cells
        }
        None => bytemuck::zeroed_vec(n),
    }
}

/// A block's buffer back to the spares once its packs have lived.
fn give_back_block(cells: Vec<PackCell>) {
    let mut spare = SPARE_BLOCKS.lock().unwrap_or_else(|e| e.into_inner());
    if spare.len() < SPARE_BLOCKS_MAX {
        spare.push(cells);
    }
}

/// One window's packs: what [`Assembly`] counts of them and the aged packs' cells.
struct WindowPacks {
    /// Passed cells left unpacked.
    left: usize,
    /// Each pack's initial capacity, Ah, in pack order.
    initial: Vec<f32>,
    /// The aged packs.
    aged: AgedBlock,
}

/// A matching thread's buffers for one pack at a time: its cells as matched and as placed (a pack
/// not aged: an aged one is placed straight into its window's block).
#[derive(Default)]
struct Scratch {
    cells: Vec<PackCell>,
    placed: Vec<PackCell>,
}

/// `order` (a window's positions in match order, whole packs of `size`) with each pack's
/// positions in ascending order: the window's positions taken in order, each appended to its
/// pack's stretch (a counting sort by pack, two passes over the window). A sort of each pack's
/// 96 positions was ≈ 6 % of a one-thread run's line and matching; this is the same order.
fn positions_by_pack(order: &[u32], window_cells: usize, size: usize) -> Vec<u32> {
    const NONE: u32 = u32::MAX;
    let mut pack_of = vec![NONE; window_cells];
    for (rank, &pos) in order.iter().enumerate() {
        pack_of[pos as usize] = (rank / size) as u32;
    }
    let mut next: Vec<usize> = (0..order.len() / size).map(|p| p * size).collect();
    let mut by_pack = vec![0u32; order.len()];
    for (pos, &p) in pack_of.iter().enumerate() {
        if p != NONE {
            by_pack[next[p as usize]] = pos as u32;
            next[p as usize] += 1;
        }
    }
    by_pack
}

impl WindowPacks {
    /// Match window `w`'s passed cells into packs of `size` cells in groups of `parallel`. The
    /// packs are gathered, placed and measured in parallel (a run of one window, the app's
    /// preview, had its ~1 000 packs on one thread), each aged pack's cells written as placed
    /// straight to their place in the window's block.
    fn new(
        scene: &Scene,
        plan: &LifePlan,
        (size, parallel): (usize, usize),
        w: u64,
        cells_in: &[PackCell],
        rng: &crate::rng::Philox,
    ) -> WindowPacks {
        let m = scene.pack.matching;
        let (order, left) = match_window(cells_in, m, size, scene.eol.grade_bins, rng);
        let slot = |j: usize| w * plan.slots + j as u64;
        let aged: Vec<bool> = (0..order.len() / size)
            .map(|j| plan.aged(slot(j)))
            .collect();
        let mut cells = block_of(aged.iter().filter(|&&a| a).count() * size);
        let mut blocks = cells.chunks_exact_mut(size);
        let outs: Vec<Option<&mut [PackCell]>> = aged
            .iter()
            .map(|&a| if a { blocks.next() } else { None })
            .collect();
        // A 1P pack's groups are its cells, placed by index: by window position (positions
        // follow indices). Its positions in ascending order, pack after pack.
        let order = if parallel == 1 {
            positions_by_pack(&order, cells_in.len(), size)
        } else {
            order
        };
        let initial: Vec<f32> = order
            .par_chunks_exact(size)
            .zip(outs)
            .map_init(Scratch::default, |s, (pack, out)| {
                let Scratch {
                    cells,
                    placed: spare,
                } = s;
                // An aged pack's cells go straight to their place in the block (a copy through
                // scratch moved every aged cell twice); another's to scratch, for its capacity.
                let placed = match out {
                    Some(out) => out,
                    None => {
                        spare.resize(size, PackCell::default());
                        &mut spare[..]
                    }
                };
                if parallel == 1 {
                    // Its positions ascend (`positions_by_pack`): one gather in ascending order
                    // is `placed_order`'s order, without its keys or a second copy.
                    for (p, &k) in placed.iter_mut().zip(pack) {
                        *p = cells_in[k as usize];
                    }
                } else {
                    cells.clear();
                    cells.extend(pack.iter().map(|&k| cells_in[k as usize]));
                    let order = placed_order(cells, parallel);
                    for (p, &o) in placed.iter_mut().zip(&order) {
                        *p = cells[o as usize];
                    }
                }
                initial_capacity(placed, parallel)
            })
            .collect();
        let slots = (0..initial.len())
            .filter(|&j| aged[j])
            .map(|j| (slot(j), initial[j]))
            .collect();
        WindowPacks {
            left,
            initial,
            aged: AgedBlock { slots, cells },
        }
    }
}

impl Assembly {
    /// Nothing formed yet.
    pub(super) fn new(scene: &Scene, spec: &HistSpec) -> Assembly {
        let pack_size = scene.cells_per_pack() as usize;
        let rated_pack = scene.cell.capacity_ah * f64::from(scene.pack.parallel);
        let window = scene.pack.window.max(1);
        Assembly {
            pack_size,
            parallel: scene.pack.parallel as usize,
            window,
            plan: LifePlan::new(scene),
            totals: PackTotals::empty(spec.pack_capacity(rated_pack)),
            pending: VecDeque::new(),
            front_done: 0,
            spanning: AgedBlock::default(),
            current: None,
            gathered: Vec::new(),
            run: 0..0,
            chunk: Vec::new(),
            ready: Vec::new(),
        }
    }

    /// A chunk's passed cells (in index order), held until [`Assembly::release`], into their
    /// windows: each window's stretch found by binary search on the index. A window is ready to
    /// match once a cell of a later window arrives, or at [`Assembly::finish`].
    pub(super) fn take(&mut self, chunk: Vec<PackCell>) {
        debug_assert!(self.chunk.is_empty() && self.run.is_empty(), "released");
        self.chunk = chunk;
        let (n, window) = (self.chunk.len(), self.window);
        let mut at = 0;
        while at < n {
            let w = self.chunk[at].index() / window;
            let end = at + self.chunk[at..].partition_point(|c| c.index() / window == w);
            if self.current != Some(w) {
                self.finish();
                self.current = Some(w);
            }
            self.run = at..end;
            at = end;
        }
    }

    /// The window being gathered is complete (the last one of a run or shard): in place if all
    /// its cells are in the held chunk.
    pub(super) fn finish(&mut self) {
        let run = std::mem::replace(&mut self.run, 0..0);
        if let Some(w) = self.current.take() {
            let cells = if self.gathered.is_empty() {
                WindowCells::InChunk(run)
            } else {
                self.gathered.extend_from_slice(&self.chunk[run]);
                // The next window's passed cells fill about as many slots as this one's.
                let next = Vec::with_capacity(self.gathered.len());
                WindowCells::Owned(std::mem::replace(&mut self.gathered, next))
            };
            let empty = match &cells {
                WindowCells::InChunk(r) => r.is_empty(),
                WindowCells::Owned(v) => v.is_empty(),
            };
            if !empty {
                self.ready.push((w, cells));
            }
        }
    }

    /// The held chunk, once its complete windows are matched: the window still being gathered
    /// keeps a copy of its cells in it.
    pub(super) fn release(&mut self) -> Vec<PackCell> {
        debug_assert!(self.ready.is_empty(), "matched first");
        let run = std::mem::replace(&mut self.run, 0..0);
        self.gathered.extend_from_slice(&self.chunk[run]);
        std::mem::take(&mut self.chunk)
    }

    /// Match the complete windows into packs, windows in parallel (each is independent: its
    /// draws are keyed by the window), then count them in window order.
    pub(super) fn match_ready(&mut self, scene: &Scene, rng: &crate::rng::Philox) {
        let (plan, size, parallel) = (&self.plan, self.pack_size, self.parallel);
        let chunk = &self.chunk;
        let matched: Vec<WindowPacks> = self
            .ready
            .par_iter()
            .map(|(w, cells)| {
                let cells = match cells {
                    WindowCells::InChunk(r) => &chunk[r.clone()],
                    WindowCells::Owned(v) => &v[..],
                };
                WindowPacks::new(scene, plan, (size, parallel), *w, cells, rng)
            })
            .collect();
        self.ready.clear();
        let t = &mut self.totals;
        for m in matched {
            t.windows += 1;
            t.unpacked += m.left as u64;
            t.packs += m.initial.len() as u64;
            for &q in &m.initial {
                t.initial.push(q);
                t.hist_initial.push(q);
            }
            if !m.aged.slots.is_empty() {
                self.pending.push_back(m.aged);
            }
        }
    }

    /// Age the waiting packs on `backend` (all of them, or only whole batches unless `all`).
    /// A batch inside one block is read in place; one that spans blocks is gathered first. The
    /// run's cancel flag is read before each batch: a window's packs (1 012 in the default
    /// scene, ≈ 27 ms on two cores) were the longest stretch a cancel waited for.
    pub(super) fn age(
        &mut self,
        scene: &Scene,
        backend: &mut dyn Backend,
        life: (&AgingParams, &RateTable),
        all: bool,
        opts: &RunOptions,
    ) -> Result<(), EngineError> {
        let size = self.pack_size;
        loop {
            if is_cancelled(opts) {
                return Err(EngineError::Cancelled);
            }
            let pending = self.pending_packs();
            if pending < LIFE_BATCH && !(all && pending > 0) {
                break;
            }
            let n = pending.min(LIFE_BATCH);
            let in_place = self.pending[0].slots.len() - self.front_done >= n;
            if !in_place {
                self.gather_spanning(n);
            }
            let (slots, cells) = if in_place {
                let (front, at) = (&self.pending[0], self.front_done);
                (
                    &front.slots[at..at + n],
                    &front.cells[at * size..(at + n) * size],
                )
            } else {
                (&self.spanning.slots[..], &self.spanning.cells[..])
            };
            age_batch(
                &mut self.totals,
                &self.plan,
                scene,
                backend,
                life,
                slots,
                cells,
            )?;
            if in_place {
                self.take_front(n);
            }
        }
        Ok(())
    }

    /// Packs waiting for life (a run holds a few blocks at a time: a chunk's windows).
    pub(super) fn pending_packs(&self) -> usize {
        self.pending.iter().map(|b| b.slots.len()).sum::<usize>() - self.front_done
    }

    /// The next `n` pending packs, which span blocks, into `spanning`.
    fn gather_spanning(&mut self, n: usize) {
        let size = self.pack_size;
        self.spanning.slots.clear();
        self.spanning.cells.clear();
        while self.spanning.slots.len() < n {
            let (front, at) = (&self.pending[0], self.front_done);
            let take = (front.slots.len() - at).min(n - self.spanning.slots.len());
            let b = &mut self.spanning;
            b.slots.extend_from_slice(&front.slots[at..at + take]);
            b.cells
                .extend_from_slice(&front.cells[at * size..(at + take) * size]);
            self.take_front(take);
        }
    }

    /// `n` more packs of the front block are aged (it goes once all are).
    fn take_front(&mut self, n: usize) {
        self.front_done += n;
        if self.front_done == self.pending[0].slots.len() {
            if let Some(done) = self.pending.pop_front() {
                give_back_block(done.cells);
            }
            self.front_done = 0;
        }
    }
}

/// One batch of aged packs (`slots` and their cells, pack after pack) through life on
/// `backend`, into `totals` in pack order.
fn age_batch(
    totals: &mut PackTotals,
    plan: &LifePlan,
    scene: &Scene,
    backend: &mut dyn Backend,
    life: (&AgingParams, &RateTable),
    slots: &[(u64, f32)],
    cells: &[PackCell],
) -> Result<(), EngineError> {
    let size = scene.cells_per_pack() as usize;
    let follow: Vec<Follow> = slots
        .iter()
        .map(|&(slot, _)| Follow::kept(plan.kept(slot)))
        .collect();
    let lives = backend.pack_life(life.0, life.1, cells, &follow)?;
    for ((&(slot, q), pack), l) in slots.iter().zip(cells.chunks_exact(size)).zip(lives) {
        totals.aged.push(AgedPack::new((slot, q), pack, &l, scene));
        if plan.kept(slot) {
            totals.kept.push(KeptPack {
                slot,
                cells: pack.iter().map(PackCell::index).collect(),
                curve: l.curve,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pack's stretch of `positions_by_pack` is that pack's stretch of the match order,
    /// sorted: packs of 96 and of 5 drawn from a shuffled window with cells left out of every
    /// pack (at its start, its end and between).
    #[test]
    fn positions_by_pack_sorts_each_pack() {
        let rng = crate::rng::Philox::new(7);
        for (window, size, packs) in [(10_000usize, 96usize, 100usize), (1_003, 5, 190)] {
            // A shuffle of the window by keyed sort, then whole packs of it.
            let mut order: Vec<u32> = (0..window as u32).collect();
            order.sort_by_key(|&p| rng.words(u64::from(p), 0, 0)[0]);
            order.truncate(packs * size);
            let got = positions_by_pack(&order, window, size);
            assert_eq!(got.len(), order.len());
            for (j, (g, o)) in got.chunks(size).zip(order.chunks(size)).enumerate() {
                let mut want = o.to_vec();
                want.sort_unstable();
                assert_eq!(g, &want[..], "pack {j} of {size}");
            }
        }
    }
}
