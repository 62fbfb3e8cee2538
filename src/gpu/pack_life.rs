//! Runner of `shaders/pack_life.wgsl`: one workgroup per pack; life in several dispatches of
//! `steps` steps each, every pack continuing from its saved state. Buffers grow to the largest
//! batch seen and are reused after that; pipelines are made once per workgroup width. Life fed
//! from cells already on the device (the resident run's) is in `device`.

mod device;

use super::context::{GpuContext, entry, pod_vec};
use super::layout::{Live, PackJob, PackState};
use crate::engine::EngineError;
use crate::model::aging::AgingParams;
use crate::model::pack::{EndOfLife, Follow, PackCell, PackLife};

/// Packs per dispatch.
const MAX_PACKS: usize = 4096;
/// Loop iterations one invocation may run in one dispatch. llvmpipe (lavapipe) ends every loop of
/// an invocation after 65 535 iterations in total; this leaves a wide margin under that.
const LOOP_BUDGET: u64 = 20_000;

/// Loop iterations of the busiest invocation (invocation 0): (per life step, once in a pack's
/// life, for the initialisation), from the loops of pack_life.wgsl (a Philox call counted as its
/// 10 rounds). Invocation 0 also sums the pack's resistance over every group each step, and the
/// calendar share over every cell once (at the end of life or where life stops).
pub fn loop_cost(series: u32, parallel: u32, pwg: u32) -> (u64, u64, u64) {
    let groups = u64::from(series.div_ceil(pwg));
    let np = u64::from(parallel);
    let per_step = groups * (4 + 14 * np) + u64::from(series) + 3 * 7 + 1;
    let once = u64::from(series) * np;
    let init = groups * (1 + 12 * np) + 1;
    (per_step, once, init)
}

struct Buffers {
    table: wgpu::Buffer,
    cells: wgpu::Buffer,
    live: wgpu::Buffer,
    curve: wgpu::Buffer,
    state: wgpu::Buffer,
    offsets: wgpu::Buffer,
    groups: wgpu::Buffer,
    readback: wgpu::Buffer,
    bind: wgpu::BindGroup,
}

/// The pack-life pass: its pipelines (one pair per workgroup width), uniforms and buffers.
pub struct PackLifePass {
    module: wgpu::ShaderModule,
    layout: wgpu::PipelineLayout,
    bind_layout: wgpu::BindGroupLayout,
    /// (invocations per pack, pack_init, pack_life)
    pipelines: Vec<(u32, wgpu::ComputePipeline, wgpu::ComputePipeline)>,
    aging: wgpu::Buffer,
    job: wgpu::Buffer,
    bufs: Option<Buffers>,
    /// Invocations per pack unless the pack is too large for it; None: by device type.
    pub workgroup: Option<u32>,
    /// Steps per dispatch, overriding the loop budget (tests).
    pub steps: Option<u32>,
    /// The device path's equivalent-full-cycles pass and read-back (made on first use).
    device: Option<device::DeviceLife>,
    /// The parameters and rate table now in the device's buffers: a run's batches (one every
    /// 256 packs on the engine's host path) upload them once.
    uploaded: Option<(AgingParams, Vec<f32>)>,
    /// The batch's packs followed past their end of life, a bit a pack (binding 9).
    past_end: wgpu::Buffer,
}

impl PackLifePass {
    /// Invocations per pack for a device: narrow workgroups suit a software rasteriser (8 runs
    /// pack life about 1.3–1.5× faster than 32 on lavapipe); a hardware GPU wants at least a warp.
    pub fn default_workgroup(ctx: &GpuContext) -> u32 {
        if ctx.info.device_type == wgpu::DeviceType::Cpu {
            8
        } else {
            32
        }
    }

    /// The module, bind-group and pipeline layouts and the uniforms; pipelines are made per
    /// workgroup width on first use, buffers on the first batch.
    pub fn new(ctx: &GpuContext) -> Result<PackLifePass, EngineError> {
        let module = ctx.module("pack_life.wgsl", &super::shaders::pack_life())?;
        let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let uniform = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let bind_layout = ctx.scoped("laying out the pack-life bindings", || {
            ctx.device
                .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some("pack_life"),
                    entries: &[
                        uniform(0),
                        uniform(1),
                        storage(2, true),
                        storage(3, true),
                        storage(4, false),
                        storage(5, false),
                        storage(6, false),
                        storage(7, false),
                        storage(8, false),
                        storage(9, true),
                    ],
                })
        })?;
        let layout = ctx.scoped("laying out the pack-life pipeline", || {
            ctx.device
                .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                    label: Some("pack_life"),
                    bind_group_layouts: &[Some(&bind_layout)],
                    immediate_size: 0,
                })
        })?;
        use wgpu::BufferUsages as U;
        let aging = ctx.buffer(
            "aging params",
            size_of::<AgingParams>() as u64,
            U::UNIFORM | U::COPY_DST,
        )?;
        let job = ctx.buffer(
            "pack job",
            size_of::<PackJob>() as u64,
            U::UNIFORM | U::COPY_DST,
        )?;
        let past_end = ctx.buffer(
            "packs followed past their end",
            MAX_PACKS.div_ceil(32) as u64 * 4,
            U::STORAGE | U::COPY_DST,
        )?;
        Ok(PackLifePass {
            past_end,
            module,
            layout,
            bind_layout,
            pipelines: Vec::new(),
            aging,
            job,
            bufs: None,
            workgroup: None,
            steps: None,
            device: None,
            uploaded: None,
        })
    }

    /// The pipelines for `pwg` invocations per pack, made on first use.
    fn pipelines(
        &mut self,
        ctx: &GpuContext,
        pwg: u32,
    ) -> Result<(wgpu::ComputePipeline, wgpu::ComputePipeline), EngineError> {
        if let Some((_, i, l)) = self.pipelines.iter().find(|p| p.0 == pwg) {
            return Ok((i.clone(), l.clone()));
        }
        let constants = [("PWG", f64::from(pwg))];
        let make = |entry: &str| {
            ctx.scoped(
                &format!("creating pipeline {entry} ({pwg} invocations)"),
                || {
                    ctx.device
                        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                            label: Some(entry),
                            layout: Some(&self.layout),
                            module: &self.module,
                            entry_point: Some(entry),
                            compilation_options: wgpu::PipelineCompilationOptions {
                                constants: &constants,
                                zero_initialize_workgroup_memory: false,
                            },
                            cache: None,
                        })
                },
            )
        };
        let init = make("pack_init")?;
        let life = make("pack_life")?;
        self.pipelines.push((pwg, init.clone(), life.clone()));
        Ok((init, life))
    }

    /// Make sure the buffers hold `cells` cells, `packs × stride` curve points, `packs × series`
    /// offsets and group sums, and `table` floats.
    fn ensure(
        &mut self,
        ctx: &GpuContext,
        table: usize,
        cells: usize,
        packs: usize,
        stride: usize,
        series: usize,
    ) -> Result<(), EngineError> {
        let need = [
            table * 4,
            cells * size_of::<PackCell>(),
            cells * size_of::<Live>(),
            packs * stride * 4,
            packs * size_of::<PackState>(),
            packs * series * 4,
            packs * series * 16,
        ];
        if let Some(b) = &self.bufs {
            let have = [
                b.table.size(),
                b.cells.size(),
                b.live.size(),
                b.curve.size(),
                b.state.size(),
                b.offsets.size(),
                b.groups.size(),
            ];
            if need.iter().zip(have).all(|(&n, h)| n as u64 <= h) {
                return Ok(());
            }
        }
        if let Some(b) = self.bufs.take() {
            for buf in [
                b.table, b.cells, b.live, b.curve, b.state, b.offsets, b.groups, b.readback,
            ] {
                ctx.release(buf);
            }
        }
        self.uploaded = None;
        self.bufs = Some(self.make_buffers(ctx, need)?);
        Ok(())
    }

    /// The storage buffers (bindings 2..=8, `need` bytes each), the read-back and the bind group.
    fn make_buffers(&self, ctx: &GpuContext, need: [usize; 7]) -> Result<Buffers, EngineError> {
        use wgpu::BufferUsages as U;
        let st = U::STORAGE | U::COPY_SRC | U::COPY_DST;
        // Bindings 2..=8 in order.
        let names = [
            "rate table",
            "pack cells",
            "live cells",
            "fade curves",
            "pack states",
            "group offsets",
            "group sums",
        ];
        let mut made = Vec::with_capacity(names.len());
        for (name, &bytes) in names.iter().zip(&need) {
            made.push(ctx.buffer(name, bytes as u64, st)?);
        }
        let readback = ctx.buffer(
            "pack readback",
            (need[3] + need[4]) as u64,
            U::MAP_READ | U::COPY_DST,
        )?;
        let entries: Vec<wgpu::BindGroupEntry> = [entry(0, &self.aging), entry(1, &self.job)]
            .into_iter()
            .chain(made.iter().zip(2..).map(|(buf, k)| entry(k, buf)))
            .chain([entry(9, &self.past_end)])
            .collect();
        let bind = ctx.bind_group("pack_life", &self.bind_layout, &entries)?;
        let [table, cells, live, curve, state, offsets, groups]: [wgpu::Buffer; 7] =
            made.try_into().expect("one buffer per name");
        Ok(Buffers {
            table,
            cells,
            live,
            curve,
            state,
            offsets,
            groups,
            readback,
            bind,
        })
    }

    /// Life of every pack in `cells` (packs laid out one after another), pack `k` followed as far
    /// as `follow[k]` says.
    pub fn run(
        &mut self,
        ctx: &GpuContext,
        a: &AgingParams,
        table: &[f32],
        cells: &[PackCell],
        follow: &[Follow],
    ) -> Result<Vec<PackLife>, EngineError> {
        let size = (a.series * a.parallel) as usize;
        if size == 0 || cells.is_empty() {
            return Ok(Vec::new());
        }
        let (pipes, steps) = self.setup(ctx, a, table)?;
        let packs_total = cells.len() / size;
        assert_eq!(follow.len(), packs_total, "one Follow per pack");
        let mut lives = Vec::with_capacity(packs_total);
        for (batch, how) in cells.chunks(MAX_PACKS * size).zip(follow.chunks(MAX_PACKS)) {
            lives.extend(self.run_batch(ctx, a, table, (batch, how), &pipes, steps)?);
        }
        Ok(lives)
    }

    /// Both run kinds' start: the rate table checked, the workgroup shape and steps per dispatch
    /// chosen, and the pipelines for that shape.
    fn setup(
        &mut self,
        ctx: &GpuContext,
        a: &AgingParams,
        table: &[f32],
    ) -> Result<((wgpu::ComputePipeline, wgpu::ComputePipeline), u32), EngineError> {
        if table.len() < 2 * a.table_len as usize || a.table_len < 2 {
            return Err(EngineError::Gpu("rate table shorter than table_len".into()));
        }
        let (pwg, steps) = self.shape(ctx, a)?;
        Ok((self.pipelines(ctx, pwg)?, steps))
    }

    /// Invocations per pack and steps per dispatch for `a`'s pack: the device's width unless its
    /// loop cost per step would leave fewer than 8 steps a dispatch (very large packs), then the
    /// widest; as many steps as the loop budget allows.
    fn shape(&self, ctx: &GpuContext, a: &AgingParams) -> Result<(u32, u32), EngineError> {
        let mut pwg = self
            .workgroup
            .unwrap_or_else(|| Self::default_workgroup(ctx));
        if !pwg.is_power_of_two() || pwg > 64 {
            return Err(EngineError::Gpu(format!(
                "pack-life workgroup {pwg}: must be a power of two ≤ 64"
            )));
        }
        if loop_cost(a.series, a.parallel, pwg).0 * 8 > LOOP_BUDGET {
            pwg = 64;
        }
        let (per_step, once, init) = loop_cost(a.series, a.parallel, pwg);
        if per_step > LOOP_BUDGET || init > LOOP_BUDGET {
            return Err(EngineError::Gpu(format!(
                "a {}S{}P pack is too large for the GPU engine's pack life",
                a.series, a.parallel
            )));
        }
        let steps = self
            .steps
            .unwrap_or((LOOP_BUDGET.saturating_sub(once).max(per_step) / per_step) as u32)
            .clamp(1, a.max_steps + 1);
        Ok((pwg, steps))
    }

    /// Buffers for the cells of `follow.len()` packs, and the batch's parameters, job, rate table
    /// and which packs go past their end uploaded; returns the curve stride (steps per pack's
    /// curve).
    fn prepare(
        &mut self,
        ctx: &GpuContext,
        a: &AgingParams,
        table: &[f32],
        follow: &[Follow],
        steps: u32,
    ) -> Result<usize, EngineError> {
        let (packs, cells) = (
            follow.len(),
            follow.len() * (a.series * a.parallel) as usize,
        );
        let stride = (a.max_steps + 1) as usize;
        self.ensure(ctx, table.len(), cells, packs, stride, a.series as usize)?;
        let b = self.bufs.as_ref().expect("ensured");
        let job = PackJob {
            packs: packs as u32,
            curve_stride: stride as u32,
            short_p: a.short_probability_per_step(),
            steps,
        };
        ctx.upload(&self.job, 0, bytemuck::bytes_of(&job));
        let mut bits = vec![0u32; packs.div_ceil(32)];
        for (k, &how) in follow.iter().enumerate() {
            bits[k / 32] |= u32::from(how == Follow::PastEnd) << (k % 32);
        }
        ctx.upload(&self.past_end, 0, bytemuck::cast_slice(&bits));
        if self
            .uploaded
            .as_ref()
            .is_none_or(|(ua, ut)| ua != a || ut[..] != table[..])
        {
            ctx.upload(&self.aging, 0, bytemuck::bytes_of(a));
            ctx.upload(&b.table, 0, bytemuck::cast_slice(table));
            self.uploaded = Some((*a, table.to_vec()));
        }
        Ok(stride)
    }

    /// Life of one batch of at most [`MAX_PACKS`] packs: initialised, then `steps` steps a
    /// dispatch until every pack's life is done, then read back.
    fn run_batch(
        &mut self,
        ctx: &GpuContext,
        a: &AgingParams,
        table: &[f32],
        (batch, follow): (&[PackCell], &[Follow]),
        pipes: &(wgpu::ComputePipeline, wgpu::ComputePipeline),
        steps: u32,
    ) -> Result<Vec<PackLife>, EngineError> {
        let packs = follow.len();
        let steps_total = a.max_steps + 1;
        let stride = self.prepare(ctx, a, table, follow, steps)?;
        let b = self.bufs.as_ref().expect("prepared");
        ctx.upload(&b.cells, 0, bytemuck::cast_slice(batch));
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("pack life"),
            });
        Self::dispatch(&mut enc, b, packs as u32, steps_total, steps, pipes);
        let curve_bytes = (packs * stride * 4) as u64;
        let state_bytes = (packs * size_of::<PackState>()) as u64;
        enc.copy_buffer_to_buffer(&b.curve, 0, &b.readback, 0, curve_bytes);
        enc.copy_buffer_to_buffer(&b.state, 0, &b.readback, curve_bytes, state_bytes);
        ctx.submit("running pack life", enc)?;
        let lives = ctx.read_with(&b.readback, curve_bytes + state_bytes, |bytes| {
            let (curve, states) = bytes.split_at(curve_bytes as usize);
            decode_lives(&pod_vec(curve), &pod_vec(states), stride)
        })?;
        all_done(lives)
    }
}

impl PackLifePass {
    /// Initialise `packs` packs and run `steps_total` steps of life, `steps` a dispatch.
    fn dispatch(
        enc: &mut wgpu::CommandEncoder,
        b: &Buffers,
        packs: u32,
        steps_total: u32,
        steps: u32,
        (init_pipe, life_pipe): &(wgpu::ComputePipeline, wgpu::ComputePipeline),
    ) {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("pack_life"),
            timestamp_writes: None,
        });
        pass.set_bind_group(0, &b.bind, &[]);
        pass.set_pipeline(init_pipe);
        pass.dispatch_workgroups(packs, 1, 1);
        pass.set_pipeline(life_pipe);
        for _ in 0..steps_total.div_ceil(steps) {
            pass.dispatch_workgroups(packs, 1, 1);
        }
    }
}

/// The lives of a batch once every pack has a `done` state with a known end-of-life code: an
/// unknown code or an unfinished pack is a shader bug, reported rather than guessed.
fn all_done<T>(lives: Vec<(bool, T)>) -> Result<Vec<T>, EngineError> {
    if lives.iter().any(|(done, _)| !done) {
        return Err(EngineError::Gpu(
            "pack life did not finish every pack, or wrote an unknown end-of-life code \
             (device stopped a loop early?)"
                .into(),
        ));
    }
    Ok(lives.into_iter().map(|(_, l)| l).collect())
}

/// Each pack's life from its final state and its curve (`stride` points reserved a pack), with
/// whether it is done with a known end-of-life code: an unknown code is a shader bug, reported
/// by the caller rather than guessed.
fn decode_lives(curve: &[f32], states: &[PackState], stride: usize) -> Vec<(bool, PackLife)> {
    states
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let len = (s.curve_len as usize).min(stride);
            let reason = EndOfLife::from_code(s.reason);
            (
                s.flags & PackState::DONE != 0 && reason.is_some(),
                PackLife {
                    cycles: s.cycles,
                    reason: reason.unwrap_or(EndOfLife::Cap),
                    calendar_share: s.calendar_share,
                    curve: curve[k * stride..k * stride + len].to_vec(),
                },
            )
        })
        .collect()
}

const _: () = assert!(size_of::<Live>() == 48);
