//! The GPU engine: the cell line and pack life as wgpu compute passes (WGSL in `shaders/`), held to
//! the CPU engine by the parity tests in `tests/gpu_parity/`.
//!
//! - [`context`]: instance, adapter, device; errors as [`EngineError::Gpu`], never panics;
//! - [`shaders`]: the WGSL sources and their `#import` preprocessor;
//! - [`layout`]: Pod twins of the GPU-only WGSL structs (the model's own are in `model`);
//! - [`cell_line`], [`pack_life`]: one runner per pass, pipelines and buffers made once.
//!
//! How the adapter is chosen, and the parity tolerances: `docs/GPU.md`.

pub mod assemble;
pub mod cell_line;
pub mod context;
pub mod layout;
pub mod pack_life;
pub mod resident;
pub mod shaders;

pub use context::{AdapterPolicy, GpuContext};

use crate::engine::{Backend, ChunkResult, EngineError};
use crate::model::aging::{AgingParams, RateTable};
use crate::model::pack::{Follow, PackCell, PackLife};
use crate::model::{CellRecord, LineParams};
use crate::summary::{HistSpec, LineStats};
use cell_line::{CellLinePass, StatsLayout};
use context::{entry, pod_vec};
use layout::RngJob;
use pack_life::PackLifePass;

/// What [`GpuBackend::draws`] returns: normals, and Poisson counts with raw words.
pub type Draws = (Vec<[f32; 4]>, Vec<[u32; 4]>);

/// Cells per dispatch unless told otherwise: 32 MiB of passed-cell buffer, 256 workgroups.
pub const DEFAULT_DISPATCH: u32 = 1 << 20;

/// The wgpu backend. `Send`: the app runs it on a worker thread.
pub struct GpuBackend {
    ctx: GpuContext,
    dispatch: u32,
    /// Most cells a resident run may grow the dispatch to for one window (default: what the
    /// device's bindings hold).
    dispatch_limit: u32,
    /// Invocations per pack in pack life (None: by device type).
    pack_workgroup: Option<u32>,
    /// Life steps per dispatch (None: from the loop budget).
    pack_steps: Option<u32>,
    line: Option<CellLinePass>,
    life: Option<PackLifePass>,
    rng: Option<RngPass>,
    asm: Option<assemble::AssemblePass>,
    /// The resident run's assembly read-back, kept between runs.
    asm_readback: Option<wgpu::Buffer>,
    /// The moments' centres for the last scene's parameters (as bytes): a run's chunks reuse them.
    centres: Option<(Vec<u8>, [f32; 8])>,
}

impl GpuBackend {
    /// Open a device on the best adapter the policy allows.
    pub fn new(policy: AdapterPolicy) -> Result<GpuBackend, EngineError> {
        let b = GpuBackend::with_context(GpuContext::new(policy)?);
        b.check_limits()?;
        Ok(b)
    }

    /// Compute on a device opened elsewhere — eframe's, so the app's engine and its plots share
    /// one GPU: with `rs = cc.wgpu_render_state.as_ref()?`,
    /// `GpuBackend::from_device(&rs.adapter, &rs.device, &rs.queue)`. The handles are cloned (they
    /// are reference-counted). No error handlers are installed on the device (they would replace
    /// the owner's); our work runs inside error scopes. Fails with a clear message when the device
    /// was opened with limits too small for the shaders (e.g. eframe on GL asks for WebGL2 limits,
    /// which have no storage buffers). Prefer it only on hardware ([`GpuBackend::is_software`]):
    /// on a software rasteriser the CPU engine is faster.
    pub fn from_device(
        adapter: &wgpu::Adapter,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
    ) -> Result<GpuBackend, EngineError> {
        let downlevel = adapter.get_downlevel_capabilities();
        if !downlevel
            .flags
            .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        {
            return Err(EngineError::NoGpu(format!(
                "{} cannot run compute shaders",
                context::describe(&adapter.get_info())
            )));
        }
        let b = GpuBackend::from_parts(device.clone(), queue.clone(), adapter.get_info());
        b.check_limits()?;
        Ok(b)
    }

    /// The same from the bare handles and the adapter's info.
    pub fn from_parts(
        device: wgpu::Device,
        queue: wgpu::Queue,
        info: wgpu::AdapterInfo,
    ) -> GpuBackend {
        GpuBackend::with_context(GpuContext::wrap(device, queue, info))
    }

    /// Does the device allow what the shaders need (storage buffers, workgroup size and memory)?
    pub fn check_limits(&self) -> Result<(), EngineError> {
        let lim = self.ctx.device.limits();
        let fits = lim.max_storage_buffers_per_shader_stage >= 6
            && lim.max_compute_workgroup_storage_size >= 13_400
            && lim.max_compute_invocations_per_workgroup >= cell_line::WG
            && lim.max_compute_workgroup_size_x >= cell_line::WG
            && lim.max_storage_buffer_binding_size
                >= 2 * cell_line::PACK_CELL_BYTES * u64::from(cell_line::TILE);
        if fits {
            Ok(())
        } else {
            Err(EngineError::NoGpu(format!(
                "the device on {} was opened with limits too small for the GPU engine (it needs 6 \
                 storage buffers per stage, 13.4 KiB of workgroup memory, 256 invocations per \
                 workgroup; it has {}, {} B, {})",
                self.ctx.describe(),
                lim.max_storage_buffers_per_shader_stage,
                lim.max_compute_workgroup_storage_size,
                lim.max_compute_invocations_per_workgroup
            )))
        }
    }

    fn with_context(ctx: GpuContext) -> GpuBackend {
        GpuBackend {
            ctx,
            dispatch: DEFAULT_DISPATCH,
            dispatch_limit: u32::MAX,
            pack_workgroup: None,
            pack_steps: None,
            line: None,
            life: None,
            rng: None,
            asm: None,
            asm_readback: None,
            centres: None,
        }
    }

    /// Cells per dispatch (rounded down to whole tiles of 4096, at least one tile). Results do not
    /// depend on it (see `docs/GPU.md` for the one exception, moment rounding).
    pub fn with_dispatch(mut self, cells: u32) -> GpuBackend {
        self.dispatch = cells.max(cell_line::TILE);
        self.line = None;
        self
    }

    /// Most cells a resident run may grow the line's dispatch to, to hold one matching window
    /// (default: what the device's bindings hold; rounded down to whole tiles of 4096): bounds
    /// device memory on a shared device; a larger window takes the engine's host path.
    pub fn with_dispatch_limit(mut self, cells: u32) -> GpuBackend {
        self.dispatch_limit = cells;
        self
    }

    /// Invocations per pack in pack life (a power of two ≤ 64; default 8 on a software
    /// rasteriser, 32 on hardware). Results do not depend on it.
    pub fn with_pack_workgroup(mut self, invocations: u32) -> GpuBackend {
        self.pack_workgroup = Some(invocations);
        self.life = None;
        self
    }

    /// Life steps per dispatch (default: as many as keep every invocation well inside lavapipe's
    /// loop limit). Results do not depend on it.
    pub fn with_pack_steps(mut self, steps: u32) -> GpuBackend {
        self.pack_steps = Some(steps.max(1));
        self.life = None;
        self
    }

    /// The device and queue, for tests and tools that run their own passes on it.
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Is the adapter a software rasteriser (lavapipe, llvmpipe)?
    pub fn is_software(&self) -> bool {
        self.ctx.info.device_type == wgpu::DeviceType::Cpu
    }

    /// [`cell_line::moment_centres`] for `p`, computed once per parameter set.
    fn moment_centres(&mut self, p: &LineParams) -> [f32; 8] {
        let key = bytemuck::bytes_of(p);
        match &self.centres {
            Some((k, c)) if k.as_slice() == key => *c,
            _ => {
                let c = cell_line::moment_centres(p);
                self.centres = Some((key.to_vec(), c));
                c
            }
        }
    }

    /// What the cell-line shader cannot hold, refused up front.
    fn check_line(&self, p: &LineParams, layout: &StatsLayout) -> Result<(), EngineError> {
        if layout.n_stats > cell_line::MAX_STATS {
            return Err(EngineError::Gpu(format!(
                "the histograms need {} counters, the GPU engine holds {}",
                layout.n_stats,
                cell_line::MAX_STATS
            )));
        }
        if p.coating_lot_size == 0 || p.rack_size == 0 {
            return Err(EngineError::Gpu(
                "lot and rack sizes must be positive".into(),
            ));
        }
        Ok(())
    }

    fn life_pass(&mut self) -> Result<&mut PackLifePass, EngineError> {
        if self.life.is_none() {
            let mut life = PackLifePass::new(&self.ctx)?;
            life.workgroup = self.pack_workgroup;
            life.steps = self.pack_steps;
            self.life = Some(life);
        }
        Ok(self.life.as_mut().expect("made above"))
    }

    /// The line pass's dispatch, grown to hold one matching window of `window` cells where it is
    /// smaller (a resident run's chunk is whole windows): device memory then grows with the
    /// window, never with the run. None where the device's binding limits cannot hold the window
    /// (the engine's host path runs it). The scene's window is at most 10⁷ cells, which keeps the
    /// assembly's dispatches (a workgroup per 256 cells) within 65 535 workgroups.
    fn dispatch_for_window(&mut self, window: u64) -> Result<Option<u32>, EngineError> {
        // The cap a first line pass would have, without making one only to replace it.
        let cap = match &self.line {
            Some(line) => line.cap,
            None => CellLinePass::dispatch_cap(&self.ctx, self.dispatch)?,
        };
        if u64::from(cap) >= window {
            return Ok(Some(self.line_pass()?.cap));
        }
        let tile = u64::from(cell_line::TILE);
        let Ok(want) = u32::try_from(window.div_ceil(tile) * tile) else {
            return Ok(None);
        };
        // Whole tiles within the limit: a dispatch is whole tiles, so a limit between two tiles
        // allows the lower one (growing to `want` overshot it by up to a tile).
        let limit = self.dispatch_limit / cell_line::TILE * cell_line::TILE;
        let most = CellLinePass::dispatch_cap(&self.ctx, want)?.min(limit);
        if u64::from(most) < window {
            return Ok(None);
        }
        if let Some(old) = self.line.take() {
            old.release(&self.ctx);
        }
        let grown = CellLinePass::new(&self.ctx, most)?;
        let cap = grown.cap;
        self.line = Some(grown);
        Ok(Some(cap))
    }

    fn line_pass(&mut self) -> Result<&mut CellLinePass, EngineError> {
        if self.line.is_none() {
            self.line = Some(CellLinePass::new(&self.ctx, self.dispatch)?);
        }
        Ok(self.line.as_mut().expect("made above"))
    }

    /// Full records of cells `start .. start + count`, for parity tests and debugging.
    pub fn cell_records(
        &mut self,
        p: &LineParams,
        start: u64,
        count: u64,
    ) -> Result<Vec<CellRecord>, EngineError> {
        let mut out = Vec::with_capacity(count as usize);
        let mut s = start;
        while s < start + count {
            let n = (start + count - s).min(1 << 20) as u32;
            let ctx = &self.ctx;
            let pass = match self.line.as_mut() {
                Some(l) => l,
                None => {
                    self.line = Some(CellLinePass::new(ctx, self.dispatch)?);
                    self.line.as_mut().expect("made above")
                }
            };
            out.extend(pass.records(ctx, p, s, n)?);
            s += u64::from(n);
        }
        Ok(out)
    }

    /// Philox4x32-10 on the device: `(counter, key)` → words.
    pub fn philox(
        &mut self,
        inputs: &[([u32; 4], [u32; 2])],
    ) -> Result<Vec<[u32; 4]>, EngineError> {
        self.rng_pass()?;
        self.rng
            .as_ref()
            .expect("made above")
            .kat(&self.ctx, inputs)
    }

    /// On the device, for indices `0..count` of a seed and stream: `normals(i, stream, 0)`, and
    /// `[poisson(0.3, u0), poisson(1.0, u1), words(i, stream, 2)[0..2]]` with `u = uniforms(i, stream, 1)`.
    pub fn draws(&mut self, seed: u64, stream: u32, count: u32) -> Result<Draws, EngineError> {
        self.rng_pass()?;
        self.rng
            .as_ref()
            .expect("made above")
            .draws(&self.ctx, seed, stream, count)
    }

    /// Assemble CPU-made `cells` (a chunk of whole windows, in index order) on the device and read
    /// everything back: the parity tests hold the device's matching, group placement and initial
    /// capacity to the CPU's bit for bit on identical input.
    pub fn assemble_cells(
        &mut self,
        cells: &[PackCell],
        job: &assemble::AsmJob,
    ) -> Result<assemble::AssembledChunk, EngineError> {
        if self.asm.is_none() {
            self.asm = Some(assemble::AssemblePass::new(&self.ctx)?);
        }
        let asm = self.asm.as_mut().expect("made above");
        asm.run_cells(&self.ctx, cells, job)
    }

    fn rng_pass(&mut self) -> Result<(), EngineError> {
        if self.rng.is_none() {
            self.rng = Some(RngPass::new(&self.ctx)?);
        }
        Ok(())
    }
}

impl Backend for GpuBackend {
    fn kind(&self) -> &'static str {
        "gpu"
    }

    fn device(&self) -> String {
        self.ctx.describe()
    }

    fn device_memory(&self) -> Option<u64> {
        Some(self.ctx.peak_bytes())
    }

    fn transfers(&self) -> Option<crate::engine::Transfers> {
        Some(self.ctx.transfers())
    }

    fn cell_line(
        &mut self,
        p: &LineParams,
        spec: &HistSpec,
        start: u64,
        count: u64,
    ) -> Result<ChunkResult, EngineError> {
        let layout = StatsLayout::new(spec, p.grade_bins).with_centre(self.moment_centres(p));
        self.check_line(p, &layout)?;
        let mut stats = LineStats::new(spec, p.grade_bins);
        let mut passed = Vec::with_capacity(count as usize);
        let cap = u64::from(self.line_pass()?.cap);
        let mut s = start;
        while s < start + count {
            let n = (start + count - s).min(cap) as u32;
            let pass = self.line.as_mut().expect("made by line_pass");
            pass.run(&self.ctx, p, &layout, s, n, &mut stats, &mut passed)?;
            s += u64::from(n);
        }
        Ok(cell_line::chunk_result(stats, passed))
    }

    fn run_windows(
        &mut self,
        scene: &crate::scene::Scene,
        range: std::ops::Range<u64>,
        plan: &crate::engine::LifePlan,
        cancel: Option<&std::sync::Arc<std::sync::atomic::AtomicBool>>,
        progress: &mut dyn FnMut(crate::engine::Progress),
    ) -> Option<Result<(LineStats, crate::summary::PackTotals), EngineError>> {
        self.run_resident(scene, range, *plan, cancel, progress)
    }

    fn pack_life(
        &mut self,
        a: &AgingParams,
        table: &RateTable,
        cells: &[PackCell],
        follow: &[Follow],
    ) -> Result<Vec<PackLife>, EngineError> {
        let ctx = &self.ctx;
        if self.life.is_none() {
            let mut life = PackLifePass::new(ctx)?;
            life.workgroup = self.pack_workgroup;
            life.steps = self.pack_steps;
            self.life = Some(life);
        }
        let life = self.life.as_mut().expect("made above");
        life.run(ctx, a, &table.values, cells, follow)
    }
}

/// Runner of `shaders/rng_check.wgsl`.
struct RngPass {
    kat: wgpu::ComputePipeline,
    draws: wgpu::ComputePipeline,
}

impl RngPass {
    fn new(ctx: &GpuContext) -> Result<RngPass, EngineError> {
        let module = ctx.module("rng_check.wgsl", &shaders::rng_check())?;
        Ok(RngPass {
            kat: ctx.pipeline("philox_kat", &module, "philox_kat")?,
            draws: ctx.pipeline("draws", &module, "draws")?,
        })
    }

    fn run(
        &self,
        ctx: &GpuContext,
        pipeline: &wgpu::ComputePipeline,
        job: RngJob,
        input: &[[u32; 4]],
        want_normals: bool,
    ) -> Result<(Vec<u8>, Vec<u8>), EngineError> {
        use wgpu::BufferUsages as U;
        let n = u64::from(job.count);
        let job_buf = ctx.buffer("rng job", 16, U::UNIFORM | U::COPY_DST)?;
        let words = ctx.buffer("words", n * 16, U::STORAGE | U::COPY_SRC)?;
        let normals = ctx.buffer("normals", n * 16, U::STORAGE | U::COPY_SRC)?;
        let input_buf = ctx.buffer(
            "kat input",
            (input.len() as u64 * 16).max(16),
            U::STORAGE | U::COPY_DST,
        )?;
        let rb = ctx.buffer("rng readback", n * 32, U::MAP_READ | U::COPY_DST)?;
        ctx.upload(&job_buf, 0, bytemuck::bytes_of(&job));
        if !input.is_empty() {
            ctx.upload(&input_buf, 0, bytemuck::cast_slice(input));
        }
        let entries: Vec<wgpu::BindGroupEntry> = if want_normals {
            vec![entry(0, &job_buf), entry(2, &words), entry(3, &normals)]
        } else {
            vec![entry(0, &job_buf), entry(1, &input_buf), entry(2, &words)]
        };
        let bg = ctx.bind_group("rng", &pipeline.get_bind_group_layout(0), &entries)?;
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("rng") });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("rng"),
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bg, &[]);
            pass.dispatch_workgroups(job.count.div_ceil(64), 1, 1);
        }
        enc.copy_buffer_to_buffer(&words, 0, &rb, 0, n * 16);
        enc.copy_buffer_to_buffer(&normals, 0, &rb, n * 16, n * 16);
        ctx.submit("running the generator checks", enc)?;
        let bytes = ctx.read(&rb, n * 32)?;
        for b in [job_buf, words, normals, input_buf, rb] {
            ctx.release(b);
        }
        let (w, f) = bytes.split_at((n * 16) as usize);
        Ok((w.to_vec(), f.to_vec()))
    }

    fn kat(
        &self,
        ctx: &GpuContext,
        inputs: &[([u32; 4], [u32; 2])],
    ) -> Result<Vec<[u32; 4]>, EngineError> {
        let flat: Vec<[u32; 4]> = inputs
            .iter()
            .flat_map(|(c, k)| [*c, [k[0], k[1], 0, 0]])
            .collect();
        let job = RngJob {
            count: inputs.len() as u32,
            ..Default::default()
        };
        let (w, _) = self.run(ctx, &self.kat, job, &flat, false)?;
        Ok(pod_vec(&w))
    }

    fn draws(
        &self,
        ctx: &GpuContext,
        seed: u64,
        stream: u32,
        count: u32,
    ) -> Result<Draws, EngineError> {
        let job = RngJob {
            count,
            seed_lo: seed as u32,
            seed_hi: (seed >> 32) as u32,
            stream,
        };
        let (w, f) = self.run(ctx, &self.draws, job, &[], true)?;
        Ok((pod_vec(&f), pod_vec(&w)))
    }
}

// The app runs a backend on a worker thread.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<GpuBackend>();
};
