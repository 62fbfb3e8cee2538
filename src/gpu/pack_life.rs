//! Runner of `shaders/pack_life.wgsl`: one workgroup per pack. Buffers grow to the largest batch
//! seen and are reused after that.

use super::context::{GpuContext, entry, pod_vec};
use super::layout::{Live, PackJob, PackResult};
use crate::engine::EngineError;
use crate::model::aging::AgingParams;
use crate::model::pack::{EndOfLife, PackCell, PackLife};

/// Mirror of `MAX_SERIES` in pack_life.wgsl (scene validation caps `pack.series` there too).
pub const MAX_SERIES: u32 = 1024;
/// Packs per dispatch.
const MAX_PACKS: usize = 4096;

struct Buffers {
    table: wgpu::Buffer,
    cells: wgpu::Buffer,
    live: wgpu::Buffer,
    curve: wgpu::Buffer,
    results: wgpu::Buffer,
    readback: wgpu::Buffer,
    bind: wgpu::BindGroup,
}

pub struct PackLifePass {
    pipeline: wgpu::ComputePipeline,
    aging: wgpu::Buffer,
    job: wgpu::Buffer,
    bufs: Option<Buffers>,
}

impl PackLifePass {
    pub fn new(ctx: &GpuContext) -> Result<PackLifePass, EngineError> {
        let module = ctx.module("pack_life.wgsl", &super::shaders::pack_life())?;
        let pipeline = ctx.pipeline("pack_life", &module, "pack_life")?;
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
        Ok(PackLifePass {
            pipeline,
            aging,
            job,
            bufs: None,
        })
    }

    /// Make sure the buffers hold `cells` cells, `packs × stride` curve points and `table` floats.
    fn ensure(
        &mut self,
        ctx: &GpuContext,
        table: usize,
        cells: usize,
        packs: usize,
        stride: usize,
    ) -> Result<(), EngineError> {
        let need = [
            table * 4,
            cells * 32,
            cells * 32,
            packs * stride * 4,
            packs * 16,
        ];
        if let Some(b) = &self.bufs {
            let have = [
                b.table.size(),
                b.cells.size(),
                b.live.size(),
                b.curve.size(),
                b.results.size(),
            ];
            if need.iter().zip(have).all(|(&n, h)| n as u64 <= h) {
                return Ok(());
            }
        }
        if let Some(b) = self.bufs.take() {
            for buf in [b.table, b.cells, b.live, b.curve, b.results, b.readback] {
                ctx.release(buf);
            }
        }
        use wgpu::BufferUsages as U;
        let st = U::STORAGE | U::COPY_SRC | U::COPY_DST;
        let table = ctx.buffer("rate table", need[0] as u64, st)?;
        let cells = ctx.buffer("pack cells", need[1] as u64, st)?;
        let live = ctx.buffer("live cells", need[2] as u64, st)?;
        let curve = ctx.buffer("fade curves", need[3] as u64, st)?;
        let results = ctx.buffer("pack results", need[4] as u64, st)?;
        let readback = ctx.buffer(
            "pack readback",
            (need[3] + need[4]) as u64,
            U::MAP_READ | U::COPY_DST,
        )?;
        let bind = ctx.scoped("binding the pack-life buffers", || {
            ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("pack_life"),
                layout: &self.pipeline.get_bind_group_layout(0),
                entries: &[
                    entry(0, &self.aging),
                    entry(1, &self.job),
                    entry(2, &table),
                    entry(3, &cells),
                    entry(4, &live),
                    entry(5, &curve),
                    entry(6, &results),
                ],
            })
        })?;
        self.bufs = Some(Buffers {
            table,
            cells,
            live,
            curve,
            results,
            readback,
            bind,
        });
        Ok(())
    }

    /// Life of every pack in `cells` (packs laid out one after another).
    pub fn run(
        &mut self,
        ctx: &GpuContext,
        a: &AgingParams,
        table: &[f32],
        cells: &[PackCell],
    ) -> Result<Vec<PackLife>, EngineError> {
        let size = (a.series * a.parallel) as usize;
        if a.series > MAX_SERIES {
            return Err(EngineError::Gpu(format!(
                "pack.series {} is above the GPU engine's {MAX_SERIES}",
                a.series
            )));
        }
        if size == 0 || cells.is_empty() {
            return Ok(Vec::new());
        }
        if table.len() < 2 * a.table_len as usize || a.table_len < 2 {
            return Err(EngineError::Gpu("rate table shorter than table_len".into()));
        }
        let stride = a.max_steps as usize + 1;
        let packs_total = cells.len() / size;
        let mut out = Vec::with_capacity(packs_total);
        let short_p = 1.0 - (1.0 - a.short_hazard).powf(a.cycles_per_step);
        for batch in cells[..packs_total * size].chunks(MAX_PACKS * size) {
            let packs = batch.len() / size;
            self.ensure(ctx, table.len(), batch.len(), packs, stride)?;
            let b = self.bufs.as_ref().expect("ensured");
            let job = PackJob {
                packs: packs as u32,
                curve_stride: stride as u32,
                short_p,
                _pad: 0,
            };
            ctx.queue
                .write_buffer(&self.aging, 0, bytemuck::bytes_of(a));
            ctx.queue
                .write_buffer(&self.job, 0, bytemuck::bytes_of(&job));
            ctx.queue
                .write_buffer(&b.table, 0, bytemuck::cast_slice(table));
            ctx.queue
                .write_buffer(&b.cells, 0, bytemuck::cast_slice(batch));
            let mut enc = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("pack life"),
                });
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("pack_life"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&self.pipeline);
                pass.set_bind_group(0, &b.bind, &[]);
                pass.dispatch_workgroups(packs as u32, 1, 1);
            }
            let curve_bytes = (packs * stride * 4) as u64;
            let res_bytes = (packs * 16) as u64;
            enc.copy_buffer_to_buffer(&b.curve, 0, &b.readback, 0, curve_bytes);
            enc.copy_buffer_to_buffer(&b.results, 0, &b.readback, curve_bytes, res_bytes);
            ctx.submit("running pack life", enc)?;
            let bytes = ctx.read(&b.readback, curve_bytes + res_bytes)?;
            let curve: Vec<f32> = pod_vec(&bytes[..curve_bytes as usize]);
            let results: Vec<PackResult> = pod_vec(&bytes[curve_bytes as usize..]);
            for (k, r) in results.iter().enumerate() {
                let len = (r.curve_len as usize).min(stride);
                let reason = match r.reason {
                    0 => EndOfLife::Fade,
                    1 => EndOfLife::Short,
                    _ => EndOfLife::Cap,
                };
                out.push(PackLife {
                    cycles: r.cycles,
                    reason,
                    curve: curve[k * stride..k * stride + len].to_vec(),
                });
            }
        }
        Ok(out)
    }
}

const _: () = assert!(size_of::<Live>() == 32);
