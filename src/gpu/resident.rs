//! The device-resident run (issue 10): the cell line, matching, assembly and the life of every
//! aged pack stay on the device; per chunk of whole windows the host reads the line's statistics,
//! a 16-byte [`PackOut`] a pack, the aged packs' end states (40 B each) and the fade curve and cells
//! of the few kept packs — never a cell of an unkept pack.
//!
//! A chunk is `⌊cap / W⌋` whole windows of `W` started cells (one line dispatch, `cap` its most
//! cells), so no window straddles chunks. A window larger than the backend's dispatch grows the
//! dispatch to one window (device memory grows with the window, not the run); only a window the
//! device's binding limits cannot hold (≈ 2.8 M cells on llvmpipe's 128 MiB, ≈ 89 M on a 4 GiB
//! binding) is left to the engine's host path ([`fits`]).

use super::GpuBackend;
use super::assemble::{AsmJob, AssemblePass};
use super::cell_line::{CellLinePass, PendingLine, StatsLayout};
use super::context::{GpuContext, pod_vec};
use super::layout::PackOut;
use super::pack_life::PackLifePass;
use crate::engine::{EngineError, Progress};
use crate::model::LineParams;
use crate::model::aging::{AgingParams, RateTable};
use crate::model::life_plan::LifePlan;
use crate::model::pack::PackCell;
use crate::scene::Scene;
use crate::summary::{AgedPack, HistSpec, KeptPack, LineStats, PackTotals};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the device-resident run of a range hands back: the line's statistics and the packs.
pub type ResidentRun = (LineStats, PackTotals);

/// Can the device run `scene` over `range` this way: the range starting on a window, and one
/// dispatch of `cap` cells holding a whole window, or the whole range where that is less.
pub fn fits(scene: &Scene, range: &std::ops::Range<u64>, cap: u32) -> bool {
    window_cells(scene, range) <= u64::from(cap) && starts_on_window(scene, range)
}

/// Does `range` start on one of the scene's matching windows?
fn starts_on_window(scene: &Scene, range: &std::ops::Range<u64>) -> bool {
    range.start.is_multiple_of(scene.pack.window.max(1))
}

/// The cells one dispatch must hold: a window, or the range where it is shorter.
fn window_cells(scene: &Scene, range: &std::ops::Range<u64>) -> u64 {
    scene.pack.window.max(1).min(range.end - range.start)
}

/// The passes a resident run uses, borrowed from the backend.
struct Passes<'a> {
    ctx: &'a GpuContext,
    line: &'a mut CellLinePass,
    asm: &'a mut AssemblePass,
    life: &'a mut PackLifePass,
    /// The read-back of one chunk's assembly (`asm_meta` and the packs' results), grown as needed.
    rb: &'a mut Option<wgpu::Buffer>,
}

impl GpuBackend {
    /// Run `range` (whole windows) with everything after the line on the device; None when the
    /// device cannot hold one of the scene's windows in a dispatch (the engine then runs its host
    /// path).
    pub fn run_resident(
        &mut self,
        scene: &Scene,
        range: std::ops::Range<u64>,
        plan: LifePlan,
        cancel: Option<&Arc<AtomicBool>>,
        progress: &mut dyn FnMut(Progress),
    ) -> Option<Result<ResidentRun, EngineError>> {
        // Checked before the dispatch is grown for a range that would not use it.
        if !starts_on_window(scene, &range) {
            return None;
        }
        let cap = match self.dispatch_for_window(window_cells(scene, &range)) {
            Ok(Some(cap)) => cap,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        if !fits(scene, &range, cap) {
            return None;
        }
        Some(self.resident(scene, range, plan, cancel, progress))
    }

    fn resident(
        &mut self,
        scene: &Scene,
        range: std::ops::Range<u64>,
        plan: LifePlan,
        cancel: Option<&Arc<AtomicBool>>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<ResidentRun, EngineError> {
        let p = LineParams::from_scene(scene);
        let spec = HistSpec::for_params(&p);
        let layout = StatsLayout::new(&spec, p.grade_bins).with_centre(self.moment_centres(&p));
        self.check_line(&p, &layout)?;
        if self.asm.is_none() {
            self.asm = Some(AssemblePass::new(&self.ctx)?);
        }
        self.life_pass()?;
        let aging = AgingParams::from_scene(scene);
        let table = RateTable::new(&aging, &scene.life);
        let rated = scene.cell.capacity_ah * f64::from(scene.pack.parallel);
        let mut stats = LineStats::new(&spec, p.grade_bins);
        let mut out = PackTotals::empty(spec.pack_capacity(rated));
        let mut passes = Passes {
            ctx: &self.ctx,
            line: self.line.as_mut().expect("made by line_pass"),
            asm: self.asm.as_mut().expect("made above"),
            life: self.life.as_mut().expect("made by life_pass"),
            rb: &mut self.asm_readback,
        };
        let w = scene.pack.window.max(1);
        // Whole windows a chunk, or the whole range where it is shorter than a window.
        let cap = u64::from(passes.line.cap);
        let per_chunk = if cap >= w {
            cap / w * w
        } else {
            range.end - range.start
        };
        let chunk_at = |start: u64| Chunk {
            scene,
            p: &p,
            layout: &layout,
            start,
            count: per_chunk.min(range.end - start) as u32,
            plan,
            aging: (&aging, &table.values),
        };
        passes.run_chunks(&chunk_at, &range, cancel, progress, (&mut stats, &mut out))?;
        Ok((stats, out))
    }
}

impl Passes<'_> {
    /// The range's chunks (`chunk_at(start)`), pipelined on the device's queue: chunk k+1's line
    /// and assembly are submitted (into the other side of the assembled buffer) before chunk k's
    /// packs age, so the device computes k+1 while the host reads k's results and queues its
    /// life. A cancel lands between chunks.
    fn run_chunks<'c>(
        &mut self,
        chunk_at: &dyn Fn(u64) -> Chunk<'c>,
        range: &std::ops::Range<u64>,
        cancel: Option<&Arc<AtomicBool>>,
        progress: &mut dyn FnMut(Progress),
        (stats, out): (&mut LineStats, &mut PackTotals),
    ) -> Result<(), EngineError> {
        let span = range.end - range.start;
        let cancelled = || cancel.is_some_and(|x| x.load(Ordering::Relaxed));
        if cancelled() {
            return Err(EngineError::Cancelled);
        }
        let mut result = Ok(());
        let mut next = (range.start < range.end).then(|| chunk_at(range.start));
        let mut submitted = match &next {
            Some(c) => self.submit(c).map(Some),
            None => Ok(None),
        };
        while let (Some(c), Ok(Some(sub))) = (next.take(), &submitted) {
            let sub = *sub;
            let read = self.collect(&c, &sub, stats, out);
            let end = c.start + u64::from(c.count);
            let stop = cancelled();
            if read.is_ok() && end < range.end && !stop {
                let n = chunk_at(end);
                submitted = self.submit(&n).map(Some);
                next = Some(n);
            } else {
                submitted = Ok(None);
            }
            if let Err(e) = read.and_then(|r| self.age(&c, sub.side, r, out)) {
                result = Err(e);
                break;
            }
            if stop {
                result = Err(EngineError::Cancelled);
                break;
            }
            let aged = out.aged.len() as u64;
            progress(Progress {
                cells_done: end - range.start,
                cells_total: span,
                packs_done: aged,
                packs_total: (c.plan.aged_slots() * span / c.scene.cells.max(1)).max(aged),
            });
        }
        result.and(submitted.map(|_| ()))
    }
}

/// One chunk of whole windows.
struct Chunk<'a> {
    scene: &'a Scene,
    p: &'a LineParams,
    layout: &'a StatsLayout,
    start: u64,
    count: u32,
    plan: LifePlan,
    aging: (&'a AgingParams, &'a [f32]),
}

/// A chunk's line and assembly, submitted.
#[derive(Clone, Copy)]
struct Submitted {
    pending: PendingLine,
    max_packs: u32,
    bytes: u64,
    /// The side of the assembled buffer it writes.
    side: usize,
}

/// What the host takes of a chunk's assembly to age it: the packs' results, and the aged packs'
/// numbers in the chunk, whether each is kept, and their slots.
struct Collected {
    packs: Vec<PackOut>,
    aged: Vec<u32>,
    keep: Vec<bool>,
    slots: Vec<u64>,
}

impl Passes<'_> {
    /// Queue the chunk's line and assembly, and the copies of what the host reads.
    fn submit(&mut self, c: &Chunk) -> Result<Submitted, EngineError> {
        let s = c.scene;
        let w = s.pack.window.max(1);
        let job = AsmJob {
            matching: s.pack.matching,
            window: w,
            base: c.start,
            windows: u64::from(c.count).div_ceil(w) as u32,
            grade_bins: s.eol.grade_bins,
            parallel: s.pack.parallel,
            series: s.pack.series,
            seed: s.seed,
        };
        let (mut enc, pending) = self
            .line
            .begin(self.ctx, c.p, c.layout, c.start, c.count, false);
        let cells = (self.line.passed_cells(), c.count);
        let tiles = Some((self.line.tile_counts(), pending.tiles));
        let max_packs = self.asm.encode(self.ctx, &mut enc, cells, tiles, &job)?;
        let bytes = 16 + u64::from(max_packs) * 16;
        let rb = self.ctx.readback_in(self.rb, "assembly readback", bytes)?;
        enc.copy_buffer_to_buffer(&self.asm.meta, 0, rb, 0, 16);
        if max_packs > 0 {
            let po = self.asm.pack_out().expect("made by encode");
            enc.copy_buffer_to_buffer(po, 0, rb, 16, u64::from(max_packs) * 16);
        }
        self.ctx.submit("running the line and assembly", enc)?;
        Ok(Submitted {
            pending,
            max_packs,
            bytes,
            side: self.asm.side(),
        })
    }

    /// Wait for a submitted chunk and read it: statistics, counts, every pack's initial
    /// capacity; which packs age. Both read-backs are unmapped after, ready for the next chunk.
    fn collect(
        &mut self,
        c: &Chunk,
        sub: &Submitted,
        stats: &mut LineStats,
        out: &mut PackTotals,
    ) -> Result<Collected, EngineError> {
        self.line
            .finish(self.ctx, c.p, c.layout, &sub.pending, stats, None)?;
        let rb = self.rb.as_ref().expect("made by submit");
        // The packs' results: exactly the packs made (asm_meta says how many), mapped once.
        let max_packs = sub.max_packs as usize;
        let (meta, packs) = self.ctx.read_with(rb, sub.bytes, |b| {
            let meta: Vec<u32> = pod_vec(&b[..16]);
            let n = (meta[2] as usize).min(max_packs);
            let packs: Vec<PackOut> = pod_vec(&b[16..16 + 16 * n]);
            (meta, packs)
        })?;
        let s = c.scene;
        let w = s.pack.window.max(1);
        let ps = u64::from(s.pack.series * s.pack.parallel);
        out.windows += u64::from(meta[1]);
        out.packs += packs.len() as u64;
        out.unpacked += u64::from(meta[0]) - packs.len() as u64 * ps;
        let w0 = c.start / w;
        let mut got = Collected {
            packs: Vec::new(),
            aged: Vec::new(),
            keep: Vec::new(),
            slots: Vec::new(),
        };
        for (k, o) in packs.iter().enumerate() {
            out.initial.push(o.q_initial);
            out.hist_initial.push(o.q_initial);
            let slot = (w0 + u64::from(o.window)) * c.plan.slots + u64::from(o.pack);
            if c.plan.aged(slot) {
                got.aged.push(k as u32);
                got.keep.push(c.plan.kept(slot));
                got.slots.push(slot);
            }
        }
        got.packs = packs;
        Ok(got)
    }

    /// Life of the chunk's aged packs from the assembled cells on the device; the kept packs'
    /// cell indices read back (their cells only).
    fn age(
        &mut self,
        c: &Chunk,
        side: usize,
        got: Collected,
        out: &mut PackTotals,
    ) -> Result<(), EngineError> {
        let (packs, aged, keep, slots) = (&got.packs, &got.aged, &got.keep, &got.slots);
        if aged.is_empty() {
            return Ok(());
        }
        let assembled = self.asm.assembled_on(side).expect("made by encode");
        let (a, table) = c.aging;
        let life = &c.scene.life;
        let efc = (life.cycles_per_step, (life.soc_hi - life.soc_lo) as f32);
        let lives = self
            .life
            .run_device(self.ctx, a, table, assembled, aged, keep, efc)?;
        let ps = (c.scene.pack.series * c.scene.pack.parallel) as usize;
        let kept: Vec<u32> = aged
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(p, _)| *p)
            .collect();
        let ids = self.asm.kept_ids(self.ctx, (&kept, side), ps as u32)?;
        let mut kept_iter = ids.chunks_exact(ps.max(1));
        for (i, (life, efc)) in lives.into_iter().enumerate() {
            let o = &packs[aged[i] as usize];
            out.aged.push(AgedPack {
                slot: slots[i],
                q_initial: o.q_initial,
                cycles: life.cycles,
                reason: life.reason,
                calendar_share: life.calendar_share,
                efc,
                defects: o.defects,
            });
            if keep[i] {
                let cells = kept_iter.next().expect("one run of cells per kept pack");
                out.kept.push(KeptPack {
                    slot: slots[i],
                    cells: cells.to_vec(),
                    curve: life.curve,
                });
            }
        }
        Ok(())
    }
}

impl GpuBackend {
    /// Assemble CPU-made `cells` on the device ([`GpuBackend::assemble_cells`]) and age the packs
    /// `aged` (pack numbers of the chunk) from the assembled cells where they lie, curves kept for
    /// `keep`, with each pack's equivalent full cycles: the parity tests hold device-fed life to
    /// `simulate_pack` on identical packs.
    pub fn assemble_and_age(
        &mut self,
        scene: &Scene,
        cells: &[PackCell],
        job: &AsmJob,
        (aged, keep): (&[u32], &[bool]),
    ) -> Result<
        (
            super::assemble::AssembledChunk,
            Vec<(crate::model::pack::PackLife, f32)>,
        ),
        EngineError,
    > {
        let chunk = self.assemble_cells(cells, job)?;
        let a = AgingParams::from_scene(scene);
        let table = RateTable::new(&a, &scene.life);
        self.life_pass()?;
        let asm = self.asm.as_ref().expect("made by assemble_cells");
        let assembled = asm.assembled().expect("made by assemble_cells");
        let life = self.life.as_mut().expect("made above");
        let efc = (
            scene.life.cycles_per_step,
            (scene.life.soc_hi - scene.life.soc_lo) as f32,
        );
        let lives = life.run_device(&self.ctx, &a, &table.values, assembled, aged, keep, efc)?;
        Ok((chunk, lives))
    }
}
