//! Pack life fed from cells already on the device (the resident run's assembled packs): copied
//! device to device, aged, each pack's equivalent full cycles computed by `pack_efc.wgsl`, and only
//! a record a pack — and the kept packs' curves — read back.

use super::{Buffers, MAX_PACKS, PackLifePass, all_done};
use crate::engine::EngineError;
use crate::gpu::context::{GpuContext, entry, made_for, pod_vec};
use crate::gpu::layout::{EfcJob, LifeOut, PackState};
use crate::model::aging::AgingParams;
use crate::model::pack::{EndOfLife, Follow, PackCell, PackLife};

/// What [`PackLifePass::run_device`] adds: `pack_efc.wgsl`'s pipeline, its job and output, and a
/// read-back sized for the packs' 20-byte life records and the kept packs' curves.
pub(super) struct DeviceLife {
    pipeline: wgpu::ComputePipeline,
    job: wgpu::Buffer,
    efc: wgpu::Buffer,
    readback: Option<wgpu::Buffer>,
    /// The EFC pass's bind group and the (curve, state) buffers it binds: made again only when
    /// pack life's buffers are.
    bound: Option<((wgpu::Buffer, wgpu::Buffer), wgpu::BindGroup)>,
}

impl DeviceLife {
    fn new(ctx: &GpuContext) -> Result<DeviceLife, EngineError> {
        use wgpu::BufferUsages as U;
        let module = ctx.module("pack_efc.wgsl", &crate::gpu::shaders::pack_efc())?;
        Ok(DeviceLife {
            pipeline: ctx.pipeline("pack_efc", &module, "pack_efc")?,
            job: ctx.buffer("efc job", 16, U::UNIFORM | U::COPY_DST)?,
            efc: ctx.buffer(
                "pack life records",
                MAX_PACKS as u64 * size_of::<LifeOut>() as u64,
                U::STORAGE | U::COPY_SRC,
            )?,
            readback: None,
            bound: None,
        })
    }

    /// Each pack's equivalent full cycles from its curve and state (`pack_efc.wgsl`), into
    /// `efc` with the pack's 20-byte life record.
    fn encode_efc(
        &mut self,
        ctx: &GpuContext,
        enc: &mut wgpu::CommandEncoder,
        job: &EfcJob,
        b: &Buffers,
    ) -> Result<(), EngineError> {
        ctx.upload(&self.job, 0, bytemuck::bytes_of(job));
        let key = (b.curve.clone(), b.state.clone());
        let bg = made_for(&mut self.bound, key, || {
            ctx.bind_group(
                "pack_efc",
                &self.pipeline.get_bind_group_layout(0),
                &[
                    entry(0, &self.job),
                    entry(1, &b.curve),
                    entry(2, &b.state),
                    entry(3, &self.efc),
                ],
            )
        })?;
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("pack_efc"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, bg, &[]);
        pass.dispatch_workgroups(job.packs.div_ceil(64), 1, 1);
        Ok(())
    }

    fn readback(&mut self, ctx: &GpuContext, bytes: u64) -> Result<&wgpu::Buffer, EngineError> {
        ctx.readback_in(&mut self.readback, "device life readback", bytes)
    }
}

impl PackLifePass {
    /// Life of packs already on the device: pack `packs[k]` of `src` (packs of `series·parallel`
    /// cells one after another, e.g. the assembly's output), copied on the device, never through
    /// the host. Only a 20-byte record a pack comes back (its life, reason, calendar share and
    /// curve length), and the fade curves of the packs with `keep[k]` (the others' curves are
    /// empty), with each pack's equivalent full cycles computed on the device from its curve (`efc`: cycles per step and the duty's SOC window; `summary::pack_efc`'s
    /// twin in `pack_efc.wgsl`).
    #[allow(clippy::too_many_arguments)]
    pub fn run_device(
        &mut self,
        ctx: &GpuContext,
        a: &AgingParams,
        table: &[f32],
        src: &wgpu::Buffer,
        packs: &[u32],
        keep: &[bool],
        efc: (u32, f32),
    ) -> Result<Vec<(PackLife, f32)>, EngineError> {
        let size = (a.series * a.parallel) as usize;
        if size == 0 || packs.is_empty() {
            return Ok(Vec::new());
        }
        let (pipes, steps) = self.setup(ctx, a, table)?;
        let mut lives = Vec::with_capacity(packs.len());
        for (batch, keep) in packs.chunks(MAX_PACKS).zip(keep.chunks(MAX_PACKS)) {
            let shape = (&pipes, steps);
            lives.extend(self.device_batch(ctx, a, table, src, (batch, keep), shape, efc)?);
        }
        Ok(lives)
    }

    #[allow(clippy::too_many_arguments)]
    fn device_batch(
        &mut self,
        ctx: &GpuContext,
        a: &AgingParams,
        table: &[f32],
        src: &wgpu::Buffer,
        (batch, keep): (&[u32], &[bool]),
        (pipes, steps): (&(wgpu::ComputePipeline, wgpu::ComputePipeline), u32),
        (cycles_per_step, window): (u32, f32),
    ) -> Result<Vec<(PackLife, f32)>, EngineError> {
        let size = (a.series * a.parallel) as u64;
        if self.device.is_none() {
            self.device = Some(DeviceLife::new(ctx)?);
        }
        let packs = batch.len();
        let steps_total = a.max_steps + 1;
        let follow: Vec<Follow> = keep.iter().map(|&k| Follow::kept(k)).collect();
        let stride = self.prepare(ctx, a, table, &follow, steps)?;
        let b = self.bufs.as_ref().expect("prepared");
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("pack life on device cells"),
            });
        copy_packs(&mut enc, src, &b.cells, batch, size * PACK_BYTES);
        Self::dispatch(&mut enc, b, packs as u32, steps_total, steps, pipes);
        let dev = self.device.as_mut().expect("made above");
        let job = EfcJob {
            packs: packs as u32,
            curve_stride: stride as u32,
            cycles_per_step: cycles_per_step as f32,
            window,
        };
        dev.encode_efc(ctx, &mut enc, &job, b)?;
        // Read back every pack's 20-byte record; then only the kept packs' curves, each as long
        // as it is (a curve stops at end of life, far short of the `stride` reserved).
        let rec_bytes = (packs * size_of::<LifeOut>()) as u64;
        dev.readback(ctx, rec_bytes.max((stride * 4 * packs) as u64))?;
        let rb = dev.readback.as_ref().expect("made above");
        enc.copy_buffer_to_buffer(&dev.efc, 0, rb, 0, rec_bytes);
        ctx.submit("running pack life", enc)?;
        let recs: Vec<LifeOut> = ctx.read_with(rb, rec_bytes, pod_vec)?;
        let lens: Vec<usize> = recs
            .iter()
            .map(|r| (r.curve_len as usize).min(stride))
            .collect();
        let kept: Vec<usize> = (0..packs).filter(|&k| keep[k] && lens[k] > 0).collect();
        let curves = kept_curves(ctx, (&b.curve, rb), &kept, &lens, stride)?;
        let lives: Vec<(bool, (PackLife, f32))> = recs
            .iter()
            .zip(curves)
            .map(|(r, curve)| {
                let reason = EndOfLife::from_code(r.code & 0xFF);
                let done = (r.code >> 8) & PackState::DONE != 0 && reason.is_some();
                let life = PackLife {
                    cycles: r.cycles,
                    reason: reason.unwrap_or(EndOfLife::Cap),
                    calendar_share: r.calendar_share,
                    curve,
                };
                (done, (life, r.efc))
            })
            .collect();
        all_done(lives)
    }
}

/// Bytes of one cell in a pack buffer.
const PACK_BYTES: u64 = size_of::<PackCell>() as u64;

/// Copy packs `batch` (pack numbers of `src`, `pack_bytes` each) to `dst` one after another, a
/// run of consecutive packs in one copy.
fn copy_packs(
    enc: &mut wgpu::CommandEncoder,
    src: &wgpu::Buffer,
    dst: &wgpu::Buffer,
    batch: &[u32],
    pack_bytes: u64,
) {
    let mut k = 0;
    while k < batch.len() {
        let mut e = k + 1;
        while e < batch.len() && batch[e] == batch[e - 1] + 1 {
            e += 1;
        }
        let from = u64::from(batch[k]) * pack_bytes;
        let bytes = (e - k) as u64 * pack_bytes;
        enc.copy_buffer_to_buffer(src, from, dst, k as u64 * pack_bytes, bytes);
        k = e;
    }
}

/// The fade curves of the batch's packs `kept`, each read back at its own length `lens[k]` (a
/// curve stops at end of life, far short of the `stride` reserved); the others stay empty.
fn kept_curves(
    ctx: &GpuContext,
    (curve, rb): (&wgpu::Buffer, &wgpu::Buffer),
    kept: &[usize],
    lens: &[usize],
    stride: usize,
) -> Result<Vec<Vec<f32>>, EngineError> {
    let mut curves: Vec<Vec<f32>> = vec![Vec::new(); lens.len()];
    let kept_bytes: u64 = kept.iter().map(|&k| lens[k] as u64 * 4).sum();
    if kept_bytes == 0 {
        return Ok(curves);
    }
    let mut enc = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("kept curves"),
        });
    let mut at = 0;
    for &k in kept {
        let bytes = lens[k] as u64 * 4;
        enc.copy_buffer_to_buffer(curve, (k * stride * 4) as u64, rb, at, bytes);
        at += bytes;
    }
    ctx.submit("reading kept curves", enc)?;
    let flat: Vec<f32> = ctx.read_with(rb, kept_bytes, pod_vec)?;
    let mut off = 0;
    for &k in kept {
        curves[k] = flat[off..off + lens[k]].to_vec();
        off += lens[k];
    }
    Ok(curves)
}
