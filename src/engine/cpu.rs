//! The rayon backend: the reference every GPU result is held to, and the fallback where no GPU is.
//!
//! Cells are simulated in fixed blocks of [`BLOCK`] indices; each block keeps its lot draws cached
//! and its statistics local, and blocks merge in index order. Statistics merge exactly (integers),
//! so the summary is the same for any thread count and chunk size.

use super::{Backend, ChunkResult, EngineError, simulate_range};
use crate::model::aging::{AgingParams, RateTable};
use crate::model::pack::{Follow, PackCell, PackLife, PackPlaces, simulate_pack_placed};
use crate::model::{CellRecord, LineParams};
use crate::summary::{HistSpec, LineStats, Tally};
use rayon::prelude::*;
use std::mem::MaybeUninit;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Cells per work item: large enough to amortise a block's statistics, small enough to balance.
pub const BLOCK: u64 = 16_384;

/// The CPU engine: the model's cells in blocks of [`BLOCK`] on a rayon pool of its own (so a
/// run's thread count does not depend on the caller's pool), and pack life a pack per task.
pub struct CpuBackend {
    pool: rayon::ThreadPool,
    /// A chunk result's cell buffer handed back ([`Backend::recycle`]): the next chunk writes into
    /// memory already mapped instead of faulting in ~48 MB of fresh pages.
    spare: Vec<PackCell>,
}

impl CpuBackend {
    /// `threads`: None uses every core.
    pub fn new(threads: Option<usize>) -> CpuBackend {
        let mut b = rayon::ThreadPoolBuilder::new();
        // 0, like None, means every core (rayon's default).
        if let Some(t) = threads.filter(|&t| t > 0) {
            b = b.num_threads(t);
        }
        CpuBackend {
            pool: b
                .build()
                .expect("a rayon pool with a positive thread count"),
            spare: Vec::new(),
        }
    }

    /// Threads in the pool (for reports; results do not depend on it).
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }
}

/// Cells the line simulates before counting them: the statistics' own slice, small enough that
/// the records stay in the first-level cache between the model and the statistics.
const SLICE: usize = Tally::SLICE;

/// One block: its cells simulated slice by slice, counted, and the passed ones written in index
/// order to the front of `out` (the block's own stretch of the chunk's result, one slot per cell);
/// returns the statistics and how many passed. With AVX2 (detected at run time) the counting is
/// compiled for it too (the moments' rounding and the grade's floor become single instructions;
/// the same results).
fn line_block(
    p: &LineParams,
    spec: &HistSpec,
    start: u64,
    out: &mut [MaybeUninit<PackCell>],
) -> (LineStats, usize) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { line_block_avx2(p, spec, start, out) };
    }
    line_block_body(p, spec, start, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn line_block_avx2(
    p: &LineParams,
    spec: &HistSpec,
    start: u64,
    out: &mut [MaybeUninit<PackCell>],
) -> (LineStats, usize) {
    line_block_body(p, spec, start, out)
}

#[inline(always)]
fn line_block_body(
    p: &LineParams,
    spec: &HistSpec,
    start: u64,
    out: &mut [MaybeUninit<PackCell>],
) -> (LineStats, usize) {
    let n = out.len();
    let mut tally = Tally::new(LineStats::new(spec, p.grade_bins));
    let mut passed = 0;
    let mut records = [CellRecord::default(); SLICE];
    let mut done = 0;
    while done < n {
        let s = start + done as u64;
        let records = &mut records[..SLICE.min(n - done)];
        simulate_range(p, s, records);
        tally.push(records);
        for (i, r) in records.iter().enumerate() {
            if r.passed() {
                out[passed].write(PackCell::from_record(r, s + i as u64));
                passed += 1;
            }
        }
        done += records.len();
    }
    (tally.finish(), passed)
}

/// The blocks of a chunk as they are placed: block `next` is the first whose passed cells are
/// not yet at their place in the result, which `len` cells fill so far; `stats` holds the placed
/// blocks' statistics, merged in block order as they are placed.
struct Placer {
    next: usize,
    len: usize,
    stats: LineStats,
    /// Each finished, not yet placed block's statistics and passed count.
    done: Vec<Option<(LineStats, usize)>>,
}

/// The result buffer's slots, shared by the threads of [`line_chunk`].
#[derive(Clone, Copy)]
struct Slots(*mut MaybeUninit<PackCell>);

impl Slots {
    /// The first slot (a method, so that closures capture the `Slots`, not the bare pointer).
    fn ptr(self) -> *mut MaybeUninit<PackCell> {
        self.0
    }
}

// SAFETY: a running block writes only its own stretch of the slots, which nothing else touches
// until the block is placed; every move (`place`) runs under the `Placer` mutex and touches only
// placed slots and the stretches of blocks marked done under that same mutex, whose writes the
// lock orders before the move (see `line_chunk`).
unsafe impl Send for Slots {}
// SAFETY: as above.
unsafe impl Sync for Slots {}

/// Cells `start .. start + count` through the line into `passed` (empty, with room for `count`),
/// returning their statistics. Every thread of `pool` takes the next block in index order and
/// writes its passed cells into the block's own stretch, one slot a cell; a finished block whose
/// predecessors are all placed is moved down to its place, with any finished blocks behind it,
/// while the other threads go on. Closing the stretches up after the whole chunk was a serial
/// move of the chunk's 48 MB, a tenth of the line on two threads; now the moves overlap the work
/// and the cells moved were just written (in cache).
fn line_chunk(
    pool: &rayon::ThreadPool,
    p: &LineParams,
    spec: &HistSpec,
    start: u64,
    passed: &mut Vec<PackCell>,
    count: usize,
) -> LineStats {
    let block = BLOCK as usize;
    let blocks = count.div_ceil(block);
    let slots = Slots(passed.spare_capacity_mut()[..count].as_mut_ptr());
    let taken = AtomicUsize::new(0);
    let placer = Mutex::new(Placer {
        next: 0,
        len: 0,
        stats: LineStats::new(spec, p.grade_bins),
        done: (0..blocks).map(|_| None).collect(),
    });
    pool.broadcast(|_| {
        loop {
            let b = taken.fetch_add(1, Ordering::Relaxed);
            if b >= blocks {
                break;
            }
            let first = b * block;
            // SAFETY: block b alone was handed out (the counter), and its stretch
            // `first .. first + n` is written by no one else until the block is placed: moves only
            // write below the place of the first unplaced block, at most its stretch's start.
            let out = unsafe {
                std::slice::from_raw_parts_mut(slots.ptr().add(first), block.min(count - first))
            };
            let stretch = out.len();
            let (s, n) = line_block(p, spec, start + first as u64, out);
            assert!(n <= stretch, "a block passes at most its own cells");
            let mut pl = placer.lock().expect("no block panicked");
            pl.done[b] = Some((s, n));
            place(&mut pl, slots, block);
        }
    });
    let pl = placer.into_inner().expect("no block panicked");
    // Each finished block places all finished blocks behind the first unplaced one, so the last
    // to finish placed the rest.
    assert_eq!(pl.next, blocks, "every block placed");
    // SAFETY: every block was placed (just checked), so the first `len` slots hold the passed
    // cells in index order.
    unsafe { passed.set_len(pl.len) };
    pl.stats
}

/// Move every finished block from the first unplaced one on to its place, in block order, and
/// merge its statistics.
fn place(pl: &mut Placer, slots: Slots, block: usize) {
    while let Some((s, n)) = pl.done.get_mut(pl.next).and_then(Option::take) {
        // SAFETY: block `next` initialised the first n slots of its stretch `next·block ..`
        // (n ≤ the stretch: asserted when it finished), and `len ≤ next·block` (each earlier
        // block placed at most a stretch's worth), so the (possibly overlapping) move stays in
        // the buffer and in slots no running block writes.
        unsafe { std::ptr::copy(slots.ptr().add(pl.next * block), slots.ptr().add(pl.len), n) };
        pl.stats.merge(&s);
        pl.len += n;
        pl.next += 1;
    }
}

impl Backend for CpuBackend {
    fn kind(&self) -> &'static str {
        "cpu"
    }

    fn device(&self) -> String {
        format!("rayon, {} threads", self.threads())
    }

    fn cell_line(
        &mut self,
        p: &LineParams,
        spec: &HistSpec,
        start: u64,
        count: u64,
    ) -> Result<ChunkResult, EngineError> {
        let mut passed = std::mem::take(&mut self.spare);
        passed.clear();
        if passed.capacity() < count as usize {
            // A fresh buffer, not `reserve`: growing would copy the old capacity's bytes.
            passed = Vec::with_capacity(count as usize);
        }
        let stats = line_chunk(&self.pool, p, spec, start, &mut passed, count as usize);
        Ok(ChunkResult { stats, passed })
    }

    fn recycle(&mut self, passed: Vec<PackCell>) {
        if passed.capacity() > self.spare.capacity() {
            self.spare = passed;
        }
    }

    fn on_threads(&self, work: &mut (dyn FnMut() + Send)) {
        self.pool.install(work);
    }

    fn pack_life(
        &mut self,
        a: &AgingParams,
        table: &RateTable,
        cells: &[PackCell],
        follow: &[Follow],
    ) -> Result<Vec<PackLife>, EngineError> {
        let size = (a.series * a.parallel) as usize;
        assert_eq!(
            follow.len(),
            cells.len() / size.max(1),
            "one Follow per pack"
        );
        let rng = crate::rng::Philox::new(u64::from(a.seed_lo) | (u64::from(a.seed_hi) << 32));
        let places = PackPlaces::new(a, &table.values);
        Ok(self.pool.install(|| {
            cells
                .par_chunks_exact(size)
                .zip(follow)
                // A pack a task: rayon otherwise cuts a batch into as many pieces as it has
                // threads, twice, and ages a piece nobody stole from in one go, so at the end of
                // every batch one thread waited ≈ 4 ms for the other's last piece (a perf
                // timeline of a 10⁶-cell run: the pool busy 87 % of pack life, 94 % a pack a
                // task). A task is ≈ 50 µs of aging; rayon's split costs far less.
                .with_max_len(1)
                .map(|(pack, &how)| {
                    simulate_pack_placed(a, &table.values, &places, &rng, pack, how)
                })
                .collect()
        }))
    }
}
