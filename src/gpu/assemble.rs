//! Runner of `shaders/assemble.wgsl`: a chunk of whole matching windows, already on the device
//! (the cell line's passed cells), into packs — `match_window`'s order by a stable device radix
//! sort, `place_groups`, `initial_capacity` — with the assembled cells left on the device for
//! pack life and one 16-byte [`PackOut`] a pack for the host.
//!
//! Buffers grow to the largest chunk seen and are reused; bind groups are kept per side of the
//! ping-pong (assembled) buffer with the buffers they were made for, and made again only when
//! one of those changes (a grown buffer, another line cell buffer).

use super::context::{GpuContext, entry, made_for, pod_vec};
use super::layout::{AsmParams, PackOut, RadixPass};
use crate::engine::EngineError;
use crate::model::pack::PackCell;
use crate::scene::Matching;

/// Invocations per workgroup (`AWG`).
pub const AWG: u32 = 256;
/// The radix's digits, 8 bits a pass (`DIGITS`): a histogram and a scan take one an invocation,
/// so a workgroup is one digit an invocation.
pub const DIGITS: u32 = 256;
const _: () = assert!(AWG == DIGITS);
/// Rounds of `AWG` elements a radix workgroup takes (`ROUNDS`).
pub const ROUNDS: u32 = 16;
/// Elements per radix block (`BLOCK`).
pub const BLOCK: u32 = AWG * ROUNDS;
/// `asm_meta` slot: cells in the chunk (set before the pass).
pub const META_N: u32 = 0;
/// `asm_meta` slot: windows with at least one passed cell.
pub const META_WINDOWS: u32 = 1;
/// `asm_meta` slot: packs assembled.
pub const META_PACKS: u32 = 2;
/// Radix passes at most: four of the key, four of the segment.
const MAX_PASSES: usize = 8;

/// `MATCH_*` in assemble.wgsl.
pub fn matching_code(m: Matching) -> u32 {
    match m {
        Matching::Random => 0,
        Matching::Binned => 1,
        Matching::Sorted => 2,
        Matching::SortedDcir => 3,
    }
}

/// What a chunk's assembly needs beyond its cells.
#[derive(Clone, Copy, Debug)]
pub struct AsmJob {
    /// The matching.
    pub matching: Matching,
    /// Started cells per window.
    pub window: u64,
    /// The chunk's first started cell: a multiple of `window`.
    pub base: u64,
    /// Windows the chunk's started cells cover.
    pub windows: u32,
    /// Capacity grade bins.
    pub grade_bins: u32,
    /// Cells per group and groups per pack.
    pub parallel: u32,
    /// Groups per pack.
    pub series: u32,
    /// The run's seed (`random`'s keys).
    pub seed: u64,
}

impl AsmJob {
    fn segments(&self) -> u32 {
        let bins = if self.matching == Matching::Binned {
            self.grade_bins.max(1)
        } else {
            1
        };
        self.windows.max(1) * bins
    }

    /// The radix passes: key32's four bytes (none for `binned`), then the segment's bytes.
    fn passes(&self) -> Vec<RadixPass> {
        let mut out = Vec::new();
        if self.matching != Matching::Binned {
            out.extend((0..4).map(|b| RadixPass {
                shift: 8 * b,
                ..Default::default()
            }));
        }
        let top = self.segments() - 1;
        let bytes = (32 - top.leading_zeros()).div_ceil(8);
        out.extend((0..bytes).map(|b| RadixPass {
            shift: 8 * b,
            from_seg: 1,
            ..Default::default()
        }));
        out
    }
}

/// The device buffers, sized for `cells` cells, `segs` segments.
struct AsmBuffers {
    cells: u32,
    segs: u32,
    groups: u32,
    packs: u32,
    keys: wgpu::Buffer,
    seg_of: wgpu::Buffer,
    pos: [wgpu::Buffer; 2],
    counts: wgpu::Buffer,
    seg_count: wgpu::Buffer,
    seg_start: wgpu::Buffer,
    pack_start: wgpu::Buffer,
    grp: wgpu::Buffer,
    /// Two sides: chunk k+1 is assembled into one while chunk k's packs age from the other.
    assembled: [wgpu::Buffer; 2],
    pack_out: wgpu::Buffer,
}

impl AsmBuffers {
    fn new(
        ctx: &GpuContext,
        cells: u32,
        segs: u32,
        groups: u32,
        packs: u32,
    ) -> Result<AsmBuffers, EngineError> {
        use wgpu::BufferUsages as U;
        let st = U::STORAGE | U::COPY_SRC | U::COPY_DST;
        let n = u64::from(cells);
        let blocks = u64::from(cells.div_ceil(BLOCK));
        Ok(AsmBuffers {
            cells,
            segs,
            groups,
            packs,
            keys: ctx.buffer("sort keys", n * 4, st)?,
            seg_of: ctx.buffer("sort segments", n * 4, st)?,
            pos: [
                ctx.buffer("sort positions A", n * 4, st)?,
                ctx.buffer("sort positions B", n * 4, st)?,
            ],
            counts: ctx.buffer("radix counts", DIGITS as u64 * blocks * 4, st)?,
            seg_count: ctx.buffer("segment counts", u64::from(segs) * 4, st)?,
            seg_start: ctx.buffer("segment starts", u64::from(segs) * 4, st)?,
            pack_start: ctx.buffer("segment packs", u64::from(segs + 1) * 4, st)?,
            grp: ctx.buffer("groups", u64::from(groups) * 16, st)?,
            assembled: [
                ctx.buffer("assembled cells A", n * 48, st)?,
                ctx.buffer("assembled cells B", n * 48, st)?,
            ],
            pack_out: ctx.buffer("pack results", u64::from(packs) * 16, st)?,
        })
    }

    fn release(self, ctx: &GpuContext) {
        let [a, b] = self.pos;
        let [c, d] = self.assembled;
        for buf in [
            self.keys,
            self.seg_of,
            a,
            b,
            c,
            d,
            self.counts,
            self.seg_count,
            self.seg_start,
            self.pack_start,
            self.grp,
            self.pack_out,
        ] {
            ctx.release(buf);
        }
    }
}

/// A side's bind groups, pass by pass: they name that side of the assembled buffer and the line's
/// cell buffer, so they are kept with those ([`made_for`]) and made again only when one changes.
struct AsmBindGroups {
    keys: wgpu::BindGroup,
    /// Each radix pass's histogram and scatter.
    sort: Vec<(wgpu::BindGroup, wgpu::BindGroup)>,
    scan: wgpu::BindGroup,
    seg: wgpu::BindGroup,
    groups: wgpu::BindGroup,
    place: wgpu::BindGroup,
    stats: wgpu::BindGroup,
    /// The passed-cell count from the line's tiles (when the line ran on the device).
    count: Option<wgpu::BindGroup>,
}

/// The assembly pass: pipelines made once, buffers grown as needed.
pub struct AssemblePass {
    count: wgpu::ComputePipeline,
    keys: wgpu::ComputePipeline,
    hist: wgpu::ComputePipeline,
    scan: wgpu::ComputePipeline,
    scatter: wgpu::ComputePipeline,
    seg_scan: wgpu::ComputePipeline,
    groups: wgpu::ComputePipeline,
    place: wgpu::ComputePipeline,
    stats: wgpu::ComputePipeline,
    gather: wgpu::ComputePipeline,
    params: wgpu::Buffer,
    radix: wgpu::Buffer,
    radix_stride: u64,
    /// `asm_meta`: cells in, windows, packs (`META_*`).
    pub meta: wgpu::Buffer,
    bufs: Option<AsmBuffers>,
    /// The side of `assembled` the last chunk was written to.
    side: usize,
    /// Each side's bind groups and what they were made for: a run's chunks reuse them (made
    /// again only when the input, the sort's pass count or the buffers change).
    bound: [Option<(BindKey, AsmBindGroups)>; 2],
    /// `kept_ids`' buffers, grown as needed.
    kept: KeptBuffers,
}

/// `kept_ids`' pack list, cell ids and read-back, kept between calls, and its bind group with
/// the (assembled side, list, ids) buffers it names.
#[derive(Default)]
struct KeptBuffers {
    list: Option<wgpu::Buffer>,
    ids: Option<wgpu::Buffer>,
    readback: Option<wgpu::Buffer>,
    bound: Option<([wgpu::Buffer; 3], wgpu::BindGroup)>,
}

/// What a chunk's bind groups depend on besides the assembly's own buffers.
#[derive(Clone, PartialEq, Eq)]
struct BindKey {
    cells: wgpu::Buffer,
    tile_counts: Option<wgpu::Buffer>,
    passes: usize,
}

/// Workgroups for `n` in a grid of at most 65 535 a dimension.
pub fn grid(n: u32) -> (u32, u32) {
    let n = n.max(1);
    if n <= 65_535 {
        (n, 1)
    } else {
        (65_535, n.div_ceil(65_535))
    }
}

impl AssemblePass {
    /// Pipelines and the small buffers.
    pub fn new(ctx: &GpuContext) -> Result<AssemblePass, EngineError> {
        use wgpu::BufferUsages as U;
        let module = ctx.module("assemble.wgsl", &super::shaders::assemble())?;
        let p = |e: &str| ctx.pipeline(e, &module, e);
        let radix_stride = u64::from(ctx.device.limits().min_uniform_buffer_offset_alignment)
            .max(size_of::<RadixPass>() as u64);
        Ok(AssemblePass {
            count: p("count_input")?,
            keys: p("keys_main")?,
            hist: p("radix_hist")?,
            scan: p("radix_scan")?,
            scatter: p("radix_scatter")?,
            seg_scan: p("seg_scan")?,
            groups: p("groups")?,
            place: p("place")?,
            stats: p("pack_stats")?,
            gather: p("gather_ids")?,
            params: ctx.buffer(
                "assembly params",
                size_of::<AsmParams>() as u64,
                U::UNIFORM | U::COPY_DST,
            )?,
            radix: ctx.buffer(
                "radix passes",
                radix_stride * MAX_PASSES as u64,
                U::UNIFORM | U::COPY_DST,
            )?,
            radix_stride,
            meta: ctx.buffer(
                "assembly counts",
                16,
                U::STORAGE | U::COPY_SRC | U::COPY_DST,
            )?,
            bufs: None,
            side: 1,
            bound: [None, None],
            kept: KeptBuffers::default(),
        })
    }

    /// Buffers for up to `cells` cells of `job`'s shape.
    fn ensure(&mut self, ctx: &GpuContext, cells: u32, job: &AsmJob) -> Result<(), EngineError> {
        let segs = job.segments();
        let groups = cells / job.parallel.max(1);
        let packs = cells / (job.parallel * job.series).max(1);
        let fits = self.bufs.as_ref().is_some_and(|b| {
            b.cells >= cells && b.segs >= segs && b.groups >= groups && b.packs >= packs
        });
        if !fits {
            if let Some(b) = self.bufs.take() {
                b.release(ctx);
            }
            self.bound = [None, None];
            self.bufs = Some(AsmBuffers::new(ctx, cells, segs, groups, packs)?);
        }
        Ok(())
    }

    /// The last chunk's assembled cells (pack after pack, groups placed), for pack life.
    pub fn assembled(&self) -> Option<&wgpu::Buffer> {
        self.assembled_on(self.side)
    }

    /// The side of the assembled cells the last chunk was written to: it stays intact through
    /// one more chunk's assembly (which takes the other side).
    pub fn side(&self) -> usize {
        self.side
    }

    /// The assembled cells on `side`.
    pub fn assembled_on(&self, side: usize) -> Option<&wgpu::Buffer> {
        self.bufs.as_ref().map(|b| &b.assembled[side % 2])
    }

    /// The packs' [`PackOut`]s.
    pub fn pack_out(&self) -> Option<&wgpu::Buffer> {
        self.bufs.as_ref().map(|b| &b.pack_out)
    }

    fn bind(
        &self,
        ctx: &GpuContext,
        pipeline: &wgpu::ComputePipeline,
        entries: &[wgpu::BindGroupEntry],
    ) -> Result<wgpu::BindGroup, EngineError> {
        ctx.bind_group("assembly", &pipeline.get_bind_group_layout(0), entries)
    }

    /// Encode the assembly of the cells in `cells`, at most `max_cells`: their count is the sum
    /// of `line_tiles`' first `tiles` counts (the cell line's compaction) or, with None, what the
    /// host wrote in `meta[META_N]`; `meta`'s other slots are cleared here. Uploads the
    /// parameters (queued before the next submit). Returns the most packs the chunk can hold.
    pub fn encode(
        &mut self,
        ctx: &GpuContext,
        enc: &mut wgpu::CommandEncoder,
        (cells, max_cells): (&wgpu::Buffer, u32),
        line_tiles: Option<(&wgpu::Buffer, u32)>,
        job: &AsmJob,
    ) -> Result<u32, EngineError> {
        let pack_size = job.parallel * job.series;
        if pack_size == 0 || job.window == 0 || job.window > u64::from(u32::MAX) {
            return Err(EngineError::Gpu(format!(
                "assembly: {}×{} packs, window {} are out of range",
                job.series, job.parallel, job.window
            )));
        }
        self.ensure(ctx, max_cells.max(1), job)?;
        self.side ^= 1;
        let n_blocks = max_cells.div_ceil(BLOCK).max(1);
        let passes = self.upload_job(ctx, job, n_blocks, line_tiles.map_or(0, |t| t.1));
        let b = self.bufs.as_ref().expect("made by ensure");
        enc.clear_buffer(&self.meta, 4, Some(12));
        enc.clear_buffer(&b.seg_count, 0, Some(u64::from(job.segments()) * 4));
        let key = BindKey {
            cells: cells.clone(),
            tile_counts: line_tiles.map(|t| t.0.clone()),
            passes,
        };
        // Out of `self` while `bind_groups` borrows it.
        let mut slot = self.bound[self.side].take();
        made_for(&mut slot, key, || {
            self.bind_groups(ctx, cells, line_tiles.map(|t| t.0), passes)
        })?;
        self.bound[self.side] = slot;
        let bgs = &self.bound[self.side].as_ref().expect("bound above").1;
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("assemble"),
            timestamp_writes: None,
        });
        let mut run = |pl: &wgpu::ComputePipeline, bg: &wgpu::BindGroup, n: u32| {
            let (x, y) = grid(n);
            pass.set_pipeline(pl);
            pass.set_bind_group(0, bg, &[]);
            pass.dispatch_workgroups(x, y, 1);
        };
        if let Some(bg) = &bgs.count {
            run(&self.count, bg, 1);
        }
        run(&self.keys, &bgs.keys, max_cells.div_ceil(AWG));
        for (hist, scatter) in &bgs.sort {
            run(&self.hist, hist, n_blocks);
            run(&self.scan, &bgs.scan, 1);
            run(&self.scatter, scatter, n_blocks);
        }
        run(&self.seg_scan, &bgs.seg, 1);
        let max_groups = max_cells / job.parallel;
        run(&self.groups, &bgs.groups, max_groups.div_ceil(AWG));
        run(&self.place, &bgs.place, max_groups.div_ceil(AWG));
        let max_packs = max_cells / pack_size;
        run(&self.stats, &bgs.stats, max_packs.div_ceil(AWG));
        Ok(max_packs)
    }

    /// The chunk's parameters and each radix pass's digit, uploaded; returns the passes' count.
    fn upload_job(&self, ctx: &GpuContext, job: &AsmJob, n_blocks: u32, tiles: u32) -> usize {
        let params = AsmParams {
            window: job.window as u32,
            base_lo: job.base as u32,
            base_hi: (job.base >> 32) as u32,
            matching: matching_code(job.matching),
            grade_bins: job.grade_bins.max(1),
            n_seg: job.segments(),
            pack_size: job.parallel * job.series,
            parallel: job.parallel,
            series: job.series,
            n_blocks,
            seed_lo: job.seed as u32,
            seed_hi: (job.seed >> 32) as u32,
            tiles,
            ..Default::default()
        };
        ctx.upload(&self.params, 0, bytemuck::bytes_of(&params));
        let passes = job.passes();
        let mut radix = vec![0u8; self.radix_stride as usize * MAX_PASSES];
        for (k, rp) in passes.iter().enumerate() {
            let o = k * self.radix_stride as usize;
            radix[o..o + 16].copy_from_slice(bytemuck::bytes_of(rp));
        }
        ctx.upload(&self.radix, 0, &radix);
        passes.len()
    }

    /// Every pass's bind group for this chunk (the sort's alternate between the two position
    /// buffers; the placement writes this chunk's side of the assembled buffer).
    fn bind_groups(
        &self,
        ctx: &GpuContext,
        cells: &wgpu::Buffer,
        tile_counts: Option<&wgpu::Buffer>,
        passes: usize,
    ) -> Result<AsmBindGroups, EngineError> {
        let b = self.bufs.as_ref().expect("made by ensure");
        let rp = |k: usize| wgpu::BindGroupEntry {
            binding: 1,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.radix,
                offset: k as u64 * self.radix_stride,
                size: wgpu::BufferSize::new(16),
            }),
        };
        let keys = self.bind(
            ctx,
            &self.keys,
            &[
                entry(0, &self.params),
                entry(2, cells),
                entry(3, &self.meta),
                entry(4, &b.keys),
                entry(5, &b.seg_of),
                entry(6, &b.pos[0]),
                entry(9, &b.seg_count),
            ],
        )?;
        let mut sort = Vec::new();
        for k in 0..passes {
            let (from, to) = (&b.pos[k % 2], &b.pos[(k + 1) % 2]);
            let common = [
                entry(0, &self.params),
                rp(k),
                entry(3, &self.meta),
                entry(4, &b.keys),
                entry(5, &b.seg_of),
                entry(6, from),
                entry(8, &b.counts),
            ];
            let hist = self.bind(ctx, &self.hist, &common)?;
            let mut with_to = common.to_vec();
            with_to.push(entry(7, to));
            let scatter = self.bind(ctx, &self.scatter, &with_to)?;
            sort.push((hist, scatter));
        }
        let scan = self.bind(
            ctx,
            &self.scan,
            &[entry(0, &self.params), entry(8, &b.counts)],
        )?;
        let seg = self.bind(
            ctx,
            &self.seg_scan,
            &[
                entry(0, &self.params),
                entry(3, &self.meta),
                entry(9, &b.seg_count),
                entry(10, &b.seg_start),
                entry(11, &b.pack_start),
            ],
        )?;
        let pack_entries = [
            entry(0, &self.params),
            entry(2, cells),
            entry(3, &self.meta),
            entry(7, &b.pos[passes % 2]),
            entry(10, &b.seg_start),
            entry(11, &b.pack_start),
            entry(12, &b.grp),
            entry(13, &b.assembled[self.side]),
        ];
        let groups = self.bind(ctx, &self.groups, &pack_entries[..7])?;
        let place = self.bind(ctx, &self.place, &pack_entries)?;
        let stats = self.bind(
            ctx,
            &self.stats,
            &[
                entry(0, &self.params),
                entry(3, &self.meta),
                entry(11, &b.pack_start),
                entry(12, &b.grp),
                entry(14, &b.pack_out),
            ],
        )?;
        let count = match tile_counts {
            Some(tc) => Some(self.bind(
                ctx,
                &self.count,
                &[entry(0, &self.params), entry(3, &self.meta), entry(15, tc)],
            )?),
            None => None,
        };
        Ok(AsmBindGroups {
            keys,
            sort,
            scan,
            seg,
            groups,
            place,
            stats,
            count,
        })
    }

    /// The cell indices of the assembled packs `kept` (pack numbers of the chunk on `side`), pack
    /// after pack: 8 bytes a cell read back. `pack_size` must be that chunk's (the last upload of
    /// the parameters: a shape change between chunks does not happen within a run).
    pub fn kept_ids(
        &mut self,
        ctx: &GpuContext,
        (kept, side): (&[u32], usize),
        pack_size: u32,
    ) -> Result<Vec<u64>, EngineError> {
        use wgpu::BufferUsages as U;
        let Some(b) = self.bufs.as_ref().filter(|_| !kept.is_empty()) else {
            return Ok(Vec::new());
        };
        let list: Vec<u32> = std::iter::once(kept.len() as u32)
            .chain(kept.iter().copied())
            .collect();
        let n = kept.len() as u32 * pack_size;
        let bytes = u64::from(n) * 8;
        let k = &mut self.kept;
        let list_bytes = list.len() as u64 * 4;
        let list_buf = ctx.buffer_in(
            &mut k.list,
            "kept packs",
            list_bytes,
            U::STORAGE | U::COPY_DST,
        )?;
        let ids = ctx.buffer_in(&mut k.ids, "kept ids", bytes, U::STORAGE | U::COPY_SRC)?;
        let rb = ctx.readback_in(&mut k.readback, "kept ids readback", bytes)?;
        ctx.upload(list_buf, 0, bytemuck::cast_slice(&list));
        let assembled = &b.assembled[side % 2];
        let key = [assembled.clone(), list_buf.clone(), ids.clone()];
        let bg = made_for(&mut k.bound, key, || {
            ctx.bind_group(
                "kept ids",
                &self.gather.get_bind_group_layout(0),
                &[
                    entry(0, &self.params),
                    entry(13, assembled),
                    entry(16, list_buf),
                    entry(17, ids),
                ],
            )
        })?;
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("kept ids"),
            });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("gather_ids"),
                timestamp_writes: None,
            });
            let (x, y) = grid(n.div_ceil(AWG));
            pass.set_pipeline(&self.gather);
            pass.set_bind_group(0, bg, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        enc.copy_buffer_to_buffer(ids, 0, rb, 0, bytes);
        ctx.submit("reading the kept packs' cells", enc)?;
        ctx.read_with(rb, bytes, |b| {
            pod_vec::<[u32; 2]>(b)
                .into_iter()
                .map(|[lo, hi]| u64::from(lo) | u64::from(hi) << 32)
                .collect()
        })
    }

    /// Assemble CPU-made cells (uploaded): the packs' results, (windows, packs) and the assembled
    /// cells read back — for the parity tests, which hold the device to `match_window`,
    /// `place_groups` and `initial_capacity` on identical input.
    pub fn run_cells(
        &mut self,
        ctx: &GpuContext,
        cells: &[PackCell],
        job: &AsmJob,
    ) -> Result<AssembledChunk, EngineError> {
        use wgpu::BufferUsages as U;
        let n = cells.len() as u32;
        let buf = ctx.buffer(
            "uploaded cells",
            u64::from(n.max(1)) * 48,
            U::STORAGE | U::COPY_DST,
        )?;
        ctx.upload(&buf, 0, bytemuck::cast_slice(cells));
        ctx.upload(&self.meta, 0, bytemuck::bytes_of(&n));
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("assemble"),
            });
        let max_packs = self.encode(ctx, &mut enc, (&buf, n), None, job)?;
        let b = self.bufs.as_ref().expect("made by encode");
        let cells_bytes = u64::from(n) * 48;
        let packs_bytes = u64::from(max_packs) * 16;
        let rb = ctx.buffer(
            "assembly readback",
            16 + packs_bytes + cells_bytes,
            U::MAP_READ | U::COPY_DST,
        )?;
        enc.copy_buffer_to_buffer(&self.meta, 0, &rb, 0, 16);
        if packs_bytes > 0 {
            enc.copy_buffer_to_buffer(&b.pack_out, 0, &rb, 16, packs_bytes);
        }
        if cells_bytes > 0 {
            let assembled = &b.assembled[self.side];
            enc.copy_buffer_to_buffer(assembled, 0, &rb, 16 + packs_bytes, cells_bytes);
        }
        ctx.submit("assembling packs", enc)?;
        let bytes = ctx.read(&rb, 16 + packs_bytes + cells_bytes)?;
        ctx.release(rb);
        ctx.release(buf);
        let meta: Vec<u32> = pod_vec(&bytes[..16]);
        let packs = meta[META_PACKS as usize] as usize;
        let pack_size = (job.parallel * job.series) as usize;
        let mut out: Vec<PackOut> = pod_vec(&bytes[16..16 + packs_bytes as usize]);
        out.truncate(packs);
        let mut assembled: Vec<PackCell> = pod_vec(&bytes[(16 + packs_bytes) as usize..]);
        assembled.truncate(packs * pack_size);
        Ok(AssembledChunk {
            windows: meta[META_WINDOWS as usize],
            packs: out,
            cells: assembled,
        })
    }
}

/// One chunk assembled on the device and read back whole (tests).
#[derive(Clone, Debug)]
pub struct AssembledChunk {
    /// Windows with a passed cell.
    pub windows: u32,
    /// Every pack's result, in (window, pack) order.
    pub packs: Vec<PackOut>,
    /// The packs' cells, pack after pack, groups placed.
    pub cells: Vec<PackCell>,
}
