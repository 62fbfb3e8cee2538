//! The rayon backend: the reference every GPU result is held to, and the fallback where no GPU is.
//!
//! Cells are simulated in fixed blocks of [`BLOCK`] indices; each block keeps its lot draws cached
//! and its statistics local, and blocks merge in index order. Statistics merge exactly (integers),
//! so the summary is the same for any thread count and chunk size.

use super::{Backend, ChunkResult, EngineError, simulate_range};
use crate::model::aging::{AgingParams, RateTable};
use crate::model::pack::{Follow, PackCell, PackLife, simulate_pack_to};
use crate::model::{CellRecord, LineParams};
use crate::summary::{HistSpec, LineStats, Tally};
use rayon::prelude::*;
use std::mem::MaybeUninit;

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

/// Cells the line simulates before counting them: small enough that the records stay in the
/// first-level cache between the model and the statistics.
const SLICE: usize = 256;

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
        // Blocks write their passed cells straight into the chunk's result, each into its own
        // stretch of one slot per cell; the stretches are then closed up in block order. No
        // per-block vectors and no second copy: at 48 B a cell, fresh memory (page faults) and
        // copies cost as much as a fifth of the line.
        let block = BLOCK as usize;
        let mut passed = std::mem::take(&mut self.spare);
        passed.clear();
        if passed.capacity() < count as usize {
            // A fresh buffer, not `reserve`: growing would copy the old capacity's bytes.
            passed = Vec::with_capacity(count as usize);
        }
        let slots = &mut passed.spare_capacity_mut()[..count as usize];
        let parts: Vec<(LineStats, usize)> = self.pool.install(|| {
            slots
                .par_chunks_mut(block)
                .enumerate()
                .map(|(b, out)| line_block(p, spec, start + (b * block) as u64, out))
                .collect()
        });
        let mut stats = LineStats::new(spec, p.grade_bins);
        let mut len = 0;
        for (b, (s, n)) in parts.iter().enumerate() {
            stats.merge(s);
            // SAFETY: block b initialised its first n slots, `b·block .. b·block + n`, and
            // `len ≤ b·block`, so the (possibly overlapping) move stays within the capacity and
            // only moves initialised cells below the initialised length.
            unsafe {
                let base = passed.as_mut_ptr();
                std::ptr::copy(base.add(b * block), base.add(len), *n);
            }
            len += n;
        }
        // SAFETY: the first `len` slots now hold the passed cells in index order.
        unsafe { passed.set_len(len) };
        Ok(ChunkResult { stats, passed })
    }

    fn recycle(&mut self, passed: Vec<PackCell>) {
        if passed.capacity() > self.spare.capacity() {
            self.spare = passed;
        }
    }

    fn pack_life(
        &mut self,
        a: &AgingParams,
        table: &RateTable,
        cells: &[PackCell],
        follow: &[Follow],
    ) -> Result<Vec<PackLife>, EngineError> {
        let size = (a.series * a.parallel) as usize;
        let rng = crate::rng::Philox::new(u64::from(a.seed_lo) | (u64::from(a.seed_hi) << 32));
        Ok(self.pool.install(|| {
            cells
                .par_chunks_exact(size)
                .zip(follow)
                .map(|(pack, &how)| simulate_pack_to(a, &table.values, &rng, pack, how))
                .collect()
        }))
    }
}
