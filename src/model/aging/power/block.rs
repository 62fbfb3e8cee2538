//! A law's step over many cells at once, for pack life's pass over a pack: the states as a
//! structure of arrays, taken in blocks of [`POWER_BLOCK`] lanes, each block by its series in one
//! pass (AVX-512 or AVX2 intrinsics where the CPU has them) and by the two powers, stage by
//! stage, only where some lane needs them. Every lane's result is [`super::power_step`]'s bit for
//! bit. Apart from the scalar step and its numerics in [`super`] because this is the vectorised
//! schedule of the same operations, not more of the model.

#[cfg(target_arch = "x86_64")]
use super::{GROW_MAX, REBASE_MAX};
use super::{PowerLaw, PowerState, exp2_mul, log2_parts, rebases, series_step, steps};

/// One fade law's states over many cells, one array per field (structure of arrays), for the
/// pack's vectorised pass.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PowerStates {
    /// [`PowerState::loss`] of each cell.
    pub loss: Vec<f32>,
    /// [`PowerState::x`] of each cell.
    pub x: Vec<f32>,
    /// [`PowerState::k`] of each cell.
    pub k: Vec<f32>,
}

impl PowerStates {
    /// `n` cells before their first step.
    pub fn new(n: usize) -> PowerStates {
        PowerStates {
            loss: vec![0.0; n],
            x: vec![0.0; n],
            k: vec![0.0; n],
        }
    }

    /// Cell `i`'s state.
    pub fn get(&self, i: usize) -> PowerState {
        PowerState {
            loss: self.loss[i],
            x: self.x[i],
            k: self.k[i],
        }
    }
}

/// [`super::power_step`] over many cells at once (cell `i` by `dx[i]` at rate `k[i]`), each
/// element bit for bit the scalar step; one loop over plain slices, for the pack's cells in one
/// pass.
#[inline]
pub fn power_steps(s: &mut PowerStates, law: &PowerLaw, k: &[f32], dx: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA.
        unsafe { power_steps_avx2(s, law, k, dx) };
        return;
    }
    power_steps_body(s, law, k, dx);
}

/// [`power_steps`] compiled for AVX2 and FMA (the same operations, 8 f32 lanes instead of 4; the
/// series' `mul_add`s one instruction each instead of a libm call).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn power_steps_avx2(s: &mut PowerStates, law: &PowerLaw, k: &[f32], dx: &[f32]) {
    power_steps_body(s, law, k, dx);
}

/// The loop of [`power_steps`], inlined into a caller's own multiversioned pass (pack life's).
///
/// The cells go through in blocks of [`POWER_BLOCK`] (`power_block`): the series pass over the
/// block, then, where some lane needs them, the two powers one stage at a time, each stage a
/// short loop over the block whose iterations the core overlaps ([`super::pow2`]'s series are
/// chains of dependent multiply-adds: a loop whose body held two of them kept one vector in
/// flight). Every element still takes the scalar step's operations in the scalar step's order:
/// the same bits.
#[inline(always)]
pub fn power_steps_body(s: &mut PowerStates, law: &PowerLaw, k: &[f32], dx: &[f32]) {
    let n = s.loss.len().min(s.x.len()).min(s.k.len());
    let n = n.min(k.len()).min(dx.len());
    let mut start = 0;
    while start < n {
        let m = POWER_BLOCK.min(n - start);
        let range = start..start + m;
        if let (Ok(loss), Ok(x), Ok(kp), Ok(kk), Ok(d)) = (
            <&mut [f32; POWER_BLOCK]>::try_from(&mut s.loss[range.clone()]),
            <&mut [f32; POWER_BLOCK]>::try_from(&mut s.x[range.clone()]),
            <&mut [f32; POWER_BLOCK]>::try_from(&mut s.k[range.clone()]),
            <&[f32; POWER_BLOCK]>::try_from(&k[range.clone()]),
            <&[f32; POWER_BLOCK]>::try_from(&dx[range.clone()]),
        ) {
            // A whole block in place.
            power_block(Block {
                states: [loss, x, kp],
                law,
                k: kk,
                dx: d,
            });
            start += m;
            continue;
        }
        // Padding lanes (beyond `m`) step from a harmless 1 and are dropped.
        let mut block = [[1.0f32; POWER_BLOCK]; 3];
        let (mut kk, mut d) = ([1.0f32; POWER_BLOCK], [1.0f32; POWER_BLOCK]);
        for (b, v) in block.iter_mut().zip([&s.loss, &s.x, &s.k]) {
            b[..m].copy_from_slice(&v[range.clone()]);
        }
        kk[..m].copy_from_slice(&k[range.clone()]);
        d[..m].copy_from_slice(&dx[range.clone()]);
        let [l, x, kp] = &mut block;
        power_block(Block {
            states: [l, x, kp],
            law,
            k: &kk,
            dx: &d,
        });
        for (b, v) in block.iter().zip([&mut s.loss, &mut s.x, &mut s.k]) {
            v[range.clone()].copy_from_slice(&b[..m]);
        }
        start += m;
    }
}

/// Cells a block of [`power_steps_body`]: 12 AVX2 vectors of 8 f32 lanes, as many chains in
/// flight, and a 96S1P pack in one block. Measured on the NMC single-thread run (with the two
/// powers a step, the same bits whatever the size): 32 cells 412 ms, 48 367, 64 383, 96 328, 128
/// 390, 192 466; a pack not a multiple of it pads its last block, and 96 was still the fastest on
/// LFP's 75 packs.
pub const POWER_BLOCK: usize = 96;

/// One block of a law's states (`[loss, x, k]`, the arrays of [`PowerStates`]) and its step's
/// rates and stress-times: what each pass of [`power_block`] reads and writes.
struct Block<'a> {
    states: [&'a mut [f32; POWER_BLOCK]; 3],
    law: &'a PowerLaw,
    k: &'a [f32; POWER_BLOCK],
    dx: &'a [f32; POWER_BLOCK],
}

/// One block of [`power_steps_body`] in two passes: the series in every lane, written where they
/// hold; then, only in a block where some lane needs them (a pack's first steps, a rate jump),
/// the two powers, stage by stage, written in those lanes. Each written value is the scalar
/// step's.
#[inline(always)]
fn power_block(mut b: Block) {
    let mut need = [0u32; POWER_BLOCK];
    #[cfg(target_arch = "x86_64")]
    let any = if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        unsafe { series_pass_avx512(&mut b, &mut need) }
    } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA.
        unsafe { series_pass_avx2(&mut b, &mut need) }
    } else {
        series_pass(&mut b, &mut need)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let any = series_pass(&mut b, &mut need);
    if any {
        exact_pass(&mut b, &need);
    }
}

/// The series step in every lane of a block, written where it holds (and the step is taken);
/// `need[i]` set to all ones where the lane takes the two powers instead. Whether any does.
#[inline(always)]
fn series_pass(b: &mut Block, need: &mut [u32; POWER_BLOCK]) -> bool {
    let ([loss, x, kp], law, k, dx) = (&mut b.states, b.law, b.k, b.dx);
    let mut any = false;
    for i in 0..POWER_BLOCK {
        let s = PowerState {
            loss: loss[i],
            x: x[i],
            k: kp[i],
        };
        let (l, xs, ok) = series_step(s, law, k[i], dx[i]);
        let step = steps(k[i], dx[i]);
        if step && ok {
            (loss[i], x[i], kp[i]) = (l, xs, k[i]);
        }
        need[i] = u32::from(step && !ok).wrapping_neg();
        any |= step && !ok;
    }
    any
}

/// [`series_pass`] in AVX2 intrinsics: the same operations (`fmadd` is `mul_add`, the compares
/// ordered like Rust's), 8 lanes a vector, each lane's old or new values blended and stored
/// whole. Written out because the compiler turned the plain loop's "keep the old value" into
/// masked stores, slow on AMD's cores, or into branches.
///
/// # Safety
/// The CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn series_pass_avx2(b: &mut Block, need: &mut [u32; POWER_BLOCK]) -> bool {
    use std::arch::x86_64::*;
    const _: () = assert!(POWER_BLOCK.is_multiple_of(8));
    let ([loss, x, kp], law, k, dx) = (&mut b.states, b.law, b.k, b.dx);
    let one = _mm256_set1_ps(1.0);
    let zero = _mm256_setzero_ps();
    let rebase = law.rebase.map(|c| _mm256_set1_ps(c));
    let grow = law.grow.map(|c| _mm256_set1_ps(c));
    let (e_max, u_max) = (_mm256_set1_ps(REBASE_MAX), _mm256_set1_ps(GROW_MAX));
    let abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
    let mut any = zero;
    // Four vectors at a time, stage by stage, so that independent chains sit side by side (one
    // vector's step is ≈ 17 dependent operations: two divisions, two series). Measured: 3.2 →
    // 3.0 ns a cell-step over one vector at a time; two, three or four alike, so the pass is
    // bound by throughput, not by the chains. Not by its divisions: reciprocal estimates in their
    // place (a ceiling only, other bits) took `power_steps/series_96_cells` from 183.5 to 176.6 ns.
    const V: usize = 4;
    const _: () = assert!(POWER_BLOCK.is_multiple_of(8 * V));
    for j in (0..POWER_BLOCK).step_by(8 * V) {
        let at = |v: usize| j + 8 * v;
        // SAFETY: at(v) + 8 ≤ POWER_BLOCK: every load and store is within its array.
        unsafe {
            let l0: [__m256; V] =
                std::array::from_fn(|v| opaque(_mm256_loadu_ps(loss.as_ptr().add(at(v)))));
            let x0: [__m256; V] =
                std::array::from_fn(|v| opaque(_mm256_loadu_ps(x.as_ptr().add(at(v)))));
            let k0: [__m256; V] =
                std::array::from_fn(|v| opaque(_mm256_loadu_ps(kp.as_ptr().add(at(v)))));
            let kk: [__m256; V] = std::array::from_fn(|v| _mm256_loadu_ps(k.as_ptr().add(at(v))));
            let d: [__m256; V] = std::array::from_fn(|v| _mm256_loadu_ps(dx.as_ptr().add(at(v))));
            let e: [__m256; V] =
                std::array::from_fn(|v| _mm256_sub_ps(_mm256_div_ps(k0[v], kk[v]), one));
            let x_eq: [__m256; V] =
                std::array::from_fn(|v| _mm256_mul_ps(x0[v], horner(&rebase, e[v], one)));
            let u: [__m256; V] = std::array::from_fn(|v| _mm256_div_ps(d[v], x_eq[v]));
            let l1: [__m256; V] =
                std::array::from_fn(|v| _mm256_mul_ps(l0[v], horner(&grow, u[v], one)));
            for v in 0..V {
                let x1 = _mm256_add_ps(x_eq[v], d[v]);
                let ok = _mm256_and_ps(
                    _mm256_cmp_ps::<_CMP_GT_OQ>(l0[v], zero),
                    _mm256_and_ps(
                        _mm256_cmp_ps::<_CMP_LE_OQ>(_mm256_and_ps(e[v], abs), e_max),
                        _mm256_cmp_ps::<_CMP_LE_OQ>(u[v], u_max),
                    ),
                );
                let step = _mm256_and_ps(
                    _mm256_cmp_ps::<_CMP_GT_OQ>(kk[v], zero),
                    _mm256_cmp_ps::<_CMP_GT_OQ>(d[v], zero),
                );
                let take = _mm256_and_ps(ok, step);
                let i = at(v);
                _mm256_storeu_ps(
                    loss.as_mut_ptr().add(i),
                    _mm256_blendv_ps(l0[v], l1[v], take),
                );
                _mm256_storeu_ps(x.as_mut_ptr().add(i), _mm256_blendv_ps(x0[v], x1, take));
                _mm256_storeu_ps(kp.as_mut_ptr().add(i), _mm256_blendv_ps(k0[v], kk[v], take));
                let exact = _mm256_andnot_ps(ok, step);
                _mm256_storeu_ps(need.as_mut_ptr().add(i).cast(), exact);
                any = _mm256_or_ps(any, exact);
            }
        }
    }
    _mm256_movemask_ps(any) != 0
}

/// [`series_pass_avx2`] at 16 lanes with AVX-512: the same operations, compares into masks and
/// each lane's old or new values picked by mask. A block is six vectors, taken two at a time.
/// The pass was a quarter of pack life's time at 8 lanes; at 16 a one-thread 10⁶-cell run with
/// every pack aged went from 0.838 to 0.714 s (medians of 7 alternated). The rest of pack life
/// at 512 bits had gained nothing beside the 8-lane pass; beside this one it gains ≈ 4 %
/// (`age_cells_avx512` in `model::pack::life::cells`).
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn series_pass_avx512(b: &mut Block, need: &mut [u32; POWER_BLOCK]) -> bool {
    use std::arch::x86_64::*;
    const W: usize = 16;
    const V: usize = 2;
    const _: () = assert!(POWER_BLOCK.is_multiple_of(W * V));
    let ([loss, x, kp], law, k, dx) = (&mut b.states, b.law, b.k, b.dx);
    let one = _mm512_set1_ps(1.0);
    let zero = _mm512_setzero_ps();
    let ones = _mm512_set1_epi32(-1);
    let rebase = law.rebase.map(|c| _mm512_set1_ps(c));
    let grow = law.grow.map(|c| _mm512_set1_ps(c));
    let (e_max, u_max) = (_mm512_set1_ps(REBASE_MAX), _mm512_set1_ps(GROW_MAX));
    let mut any: __mmask16 = 0;
    for j in (0..POWER_BLOCK).step_by(W * V) {
        let at = |v: usize| j + W * v;
        // SAFETY: at(v) + 16 ≤ POWER_BLOCK: every load and store is within its array.
        unsafe {
            let mut l0 = [zero; V];
            let mut x0 = [zero; V];
            let mut k0 = [zero; V];
            let mut kk = [zero; V];
            let mut d = [zero; V];
            for v in 0..V {
                l0[v] = _mm512_loadu_ps(loss.as_ptr().add(at(v)));
                x0[v] = _mm512_loadu_ps(x.as_ptr().add(at(v)));
                k0[v] = _mm512_loadu_ps(kp.as_ptr().add(at(v)));
                kk[v] = _mm512_loadu_ps(k.as_ptr().add(at(v)));
                d[v] = _mm512_loadu_ps(dx.as_ptr().add(at(v)));
            }
            let mut e = [zero; V];
            for v in 0..V {
                e[v] = _mm512_sub_ps(_mm512_div_ps(k0[v], kk[v]), one);
            }
            let mut x_eq = [zero; V];
            for v in 0..V {
                x_eq[v] = _mm512_mul_ps(x0[v], horner512(&rebase, e[v], one));
            }
            let mut u = [zero; V];
            for v in 0..V {
                u[v] = _mm512_div_ps(d[v], x_eq[v]);
            }
            let mut l1 = [zero; V];
            for v in 0..V {
                l1[v] = _mm512_mul_ps(l0[v], horner512(&grow, u[v], one));
            }
            for v in 0..V {
                let x1 = _mm512_add_ps(x_eq[v], d[v]);
                let ok = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(l0[v], zero)
                    & _mm512_cmp_ps_mask::<_CMP_LE_OQ>(_mm512_abs_ps(e[v]), e_max)
                    & _mm512_cmp_ps_mask::<_CMP_LE_OQ>(u[v], u_max);
                let step = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(kk[v], zero)
                    & _mm512_cmp_ps_mask::<_CMP_GT_OQ>(d[v], zero);
                let take = ok & step;
                let i = at(v);
                _mm512_storeu_ps(
                    loss.as_mut_ptr().add(i),
                    _mm512_mask_blend_ps(take, l0[v], l1[v]),
                );
                _mm512_storeu_ps(x.as_mut_ptr().add(i), _mm512_mask_blend_ps(take, x0[v], x1));
                _mm512_storeu_ps(
                    kp.as_mut_ptr().add(i),
                    _mm512_mask_blend_ps(take, k0[v], kk[v]),
                );
                let exact = !ok & step;
                _mm512_storeu_si512(
                    need.as_mut_ptr().add(i).cast(),
                    _mm512_maskz_mov_epi32(exact, ones),
                );
                any |= exact;
            }
        }
    }
    any != 0
}

/// [`horner`] at 16 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn horner512<const N: usize>(
    c: &[std::arch::x86_64::__m512; N],
    t: std::arch::x86_64::__m512,
    one: std::arch::x86_64::__m512,
) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::_mm512_fmadd_ps;
    let mut poly = c[N - 1];
    for &cn in c[..N - 1].iter().rev() {
        poly = _mm512_fmadd_ps(poly, t, cn);
    }
    _mm512_fmadd_ps(poly, t, one)
}

/// `1 + c₁t + c₂t² + …` as [`super::series`], 8 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn horner<const N: usize>(
    c: &[std::arch::x86_64::__m256; N],
    t: std::arch::x86_64::__m256,
    one: std::arch::x86_64::__m256,
) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::_mm256_fmadd_ps;
    let mut poly = c[N - 1];
    for &cn in c[..N - 1].iter().rev() {
        poly = _mm256_fmadd_ps(poly, t, cn);
    }
    _mm256_fmadd_ps(poly, t, one)
}

/// `v`, hidden from the optimiser: a blend of a new value with the one just loaded from the same
/// place, stored back there, was otherwise compiled to a masked store (microcoded and slow on
/// AMD's cores). An empty `asm!` with `v` in a register costs nothing.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn opaque(mut v: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    // SAFETY: the assembly is empty: it reads and writes nothing but `v`, left as it was.
    unsafe {
        std::arch::asm!(
            "/* {0} */",
            inout(ymm_reg) v,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    v
}

/// [`super::exact_step`] over a block, stage by stage (each a chain of dependent multiply-adds,
/// so a stage's lanes overlap), written in the lanes that `need` it: the rate's change; the
/// rebasing power (a log and an exp), only where some needing lane's rate jumped past
/// [`REBASE_MAX`](super::REBASE_MAX); the rebased stress-time plus `dx`; its power (a log and an
/// exp). A cell's first steps, where the block spent most of this pass, take the last power only.
#[inline(always)]
fn exact_pass(b: &mut Block, need: &[u32; POWER_BLOCK]) {
    let ([loss, x, kp], law, k, dx) = (&mut b.states, b.law, b.k, b.dx);
    let mut e = [0.0f32; POWER_BLOCK];
    let mut l = [0.0f32; POWER_BLOCK];
    let mut y = [0.0f32; POWER_BLOCK];
    let mut x_eq = [0.0f32; POWER_BLOCK];
    // All ones where the lane's loss is positive and its rate jumped: its stress-time by the power.
    let mut jumped = [0u32; POWER_BLOCK];
    // Whether a needing lane jumped, or-ed in the same loop: a separate short-circuiting `any`
    // over the block was a scalar loop with a branch per lane (+3 % of the pack pass's
    // instructions, callgrind).
    let mut any_jump = 0u32;
    for i in 0..POWER_BLOCK {
        let ratio = kp[i] / k[i] - 1.0;
        let rebased = rebases(loss[i], ratio);
        x_eq[i] = if rebased {
            x[i] * law.rebase(ratio)
        } else {
            0.0
        };
        jumped[i] = u32::from(!rebased & (loss[i] > 0.0)).wrapping_neg();
        any_jump |= need[i] & jumped[i];
    }
    if any_jump != 0 {
        for i in 0..POWER_BLOCK {
            y[i] = if loss[i] > 0.0 { loss[i] / k[i] } else { 1.0 };
        }
        for i in 0..POWER_BLOCK {
            (e[i], l[i]) = log2_parts(y[i]);
        }
        for i in 0..POWER_BLOCK {
            x_eq[i] = pick(jumped[i], exp2_mul(law.inv_p, e[i], l[i]), x_eq[i]);
        }
    }
    for i in 0..POWER_BLOCK {
        y[i] = x_eq[i] + dx[i];
    }
    for i in 0..POWER_BLOCK {
        (e[i], l[i]) = log2_parts(y[i]);
    }
    for i in 0..POWER_BLOCK {
        let next = k[i] * exp2_mul(law.p, e[i], l[i]);
        loss[i] = pick(need[i], next, loss[i]);
        x[i] = pick(need[i], y[i], x[i]);
        kp[i] = pick(need[i], k[i], kp[i]);
    }
}

/// `a` where the mask `m` is all ones, `b` where it is 0, by bits (branch-free).
#[inline(always)]
fn pick(m: u32, a: f32, b: f32) -> f32 {
    f32::from_bits((a.to_bits() & m) | (b.to_bits() & !m))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each vector series pass this CPU can run (AVX2, AVX-512) gives the portable pass's states,
    /// needs and `any`, bit for bit, over blocks that mix every case: steps by the series, lanes
    /// that need the powers (a rate jump, a large growth, a first loss), lanes that do not step
    /// (a zero rate or stress-time) and a NaN rate.
    #[test]
    fn vector_series_passes_are_the_portable_pass() {
        let law = PowerLaw::new(0.651_697_74);
        let f = |i: usize, m: usize| ((i * m) % 1009) as f32 / 1009.0;
        let mut checked = [0usize; 2];
        for round in 0..50 {
            let lane = |i: usize| i + POWER_BLOCK * round;
            let loss: Vec<f32> = (0..POWER_BLOCK)
                .map(|i| {
                    if lane(i) % 11 == 0 {
                        0.0
                    } else {
                        0.01 + 0.1 * f(lane(i), 13)
                    }
                })
                .collect();
            let x: Vec<f32> = (0..POWER_BLOCK)
                .map(|i| 1.0 + 10.0 * f(lane(i), 7))
                .collect();
            let kp: Vec<f32> = (0..POWER_BLOCK)
                .map(|i| 0.01 + 0.05 * f(lane(i), 17))
                .collect();
            let k: Vec<f32> = (0..POWER_BLOCK)
                .map(|i| match lane(i) % 19 {
                    0 => 0.0,
                    1 => f32::NAN,
                    // A jump of the rate.
                    2 => kp[i] * 1.5,
                    _ => kp[i] * (1.0 + 0.02 * (f(lane(i), 5) - 0.5)),
                })
                .collect();
            let dx: Vec<f32> = (0..POWER_BLOCK)
                .map(|i| match lane(i) % 23 {
                    0 => 0.0,
                    // A growth past the series' bound.
                    1 => 0.5 * x[i],
                    _ => 0.1 * f(lane(i), 3) * x[i] / 10.0,
                })
                .collect();
            let run = |pass: &dyn Fn(&mut Block, &mut [u32; POWER_BLOCK]) -> bool| {
                let (mut l, mut xs, mut ks) = (loss.clone(), x.clone(), kp.clone());
                let mut need = [0u32; POWER_BLOCK];
                let any = pass(
                    &mut Block {
                        states: [
                            (&mut l[..]).try_into().unwrap(),
                            (&mut xs[..]).try_into().unwrap(),
                            (&mut ks[..]).try_into().unwrap(),
                        ],
                        law: &law,
                        k: k[..].try_into().unwrap(),
                        dx: dx[..].try_into().unwrap(),
                    },
                    &mut need,
                );
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                (bits(&l), bits(&xs), bits(&ks), need, any)
            };
            let want = run(&|b, n| series_pass(b, n));
            assert!(want.4, "round {round}: some lane needs the powers");
            assert!(
                want.3.iter().filter(|&&m| m == 0).count() > POWER_BLOCK / 2,
                "round {round}: most lanes step by the series or not at all"
            );
            #[cfg(target_arch = "x86_64")]
            {
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has AVX2 and FMA.
                    let got = run(&|b, n| unsafe { series_pass_avx2(b, n) });
                    assert!(got == want, "AVX2, round {round}");
                    checked[0] += 1;
                }
                if std::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F.
                    let got = run(&|b, n| unsafe { series_pass_avx512(b, n) });
                    assert!(got == want, "AVX-512, round {round}");
                    checked[1] += 1;
                }
            }
        }
        eprintln!(
            "blocks checked: AVX2 {}, AVX-512 {}",
            checked[0], checked[1]
        );
    }
}
