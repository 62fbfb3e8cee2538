//! The incremental power-law step and the series it runs on (`x^p` as `exp2(p·log2 x)`, `e^x` as
//! `exp2(x·log2 e)`, in f32): the numerics under [`super`]'s fade laws, kept apart from the laws themselves.

/// One step of `loss = k·x^p` from `loss` by `dx` of stress-time, in the incremental form.
#[inline]
pub fn power_step(loss: f32, k: f32, p: f32, dx: f32) -> f32 {
    power_step_inv(loss, k, p, 1.0 / p, dx)
}

/// [`power_step`] with `1 / p` given (`inv_p` must be `1.0 / p`): the same result bit for bit,
/// the division done once instead of every step.
#[inline]
pub fn power_step_inv(loss: f32, k: f32, p: f32, inv_p: f32, dx: f32) -> f32 {
    if k <= 0.0 || dx <= 0.0 {
        return loss;
    }
    let x_eq = if loss > 0.0 {
        pow2(loss / k, inv_p)
    } else {
        0.0
    };
    k * pow2(x_eq + dx, p)
}

/// `e^x` for an f32 as `2^(x·log2 e)` on [`exp2_split`]'s f32 series (8 lanes to an AVX2 vector),
/// `x·log2 e` carried as hi + lo (`log2 e` itself as two f32s, the product's rounding recovered by
/// a fused multiply-add) so that the error does not grow with `|x|`: within 1 unit of `2⁻²³·e^x`
/// (≈ an f32 ulp) wherever the result is a normal f32 ([`tests::exp_f32_error_bound`]; worst
/// seen 0.67; the f64 form this replaces was the correctly rounded result but in rare near-ties),
/// 0 below `e^−87.7`. libm's `expf` is a call per cell that keeps the pack's rate pass scalar;
/// this one is inline and vectorises. The WGSL twin writes the same operations.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    // log2 e = HI + LO, HI the nearest f32.
    const HI: f32 = std::f32::consts::LOG2_E;
    const LO: f32 = 1.925_963e-8;
    let hi = x * HI;
    exp2_split(hi, x.mul_add(LO, x.mul_add(HI, -hi)))
}

/// `x^p` as `2^(p · log2 x)` for a positive `x` (the WGSL twin runs the same operations), all in
/// f32 so that a power step's series run 8 lanes to an AVX2 vector instead of 4 f64 ones (they
/// were most of pack life's time). Inline, branch-free and vectorisable, where libm's `powf` is a
/// call per cell.
///
/// Error budget, against the exact power, in units of `2⁻²³·x^p` (≈ one f32 ulp): `log2 x` is the
/// exponent `e` (exact) plus `l = log2 m`, `|l| ≤ ½`, whose error is mostly the two roundings of
/// `s` below scaled by `2/ln 2·|s| ≤ 0.5`: ≈ 2⁻²⁴ absolute. `p·e` is carried as hi + lo by one
/// fused multiply-add (exact), so the exponent's error does not grow with `|log2 x|`: what
/// reaches `2^y` is `p·δl` (`p ≤ 2.5`) plus one rounding of the fraction, ≲ 1.5·2⁻²⁴, i.e.
/// ≲ 0.6 in these units after `exp2`, whose series and final roundings add ≈ 0.6–1.
/// [`tests::pow2_error_bound`] checks 2 over a dense grid of the model's inputs (worst seen 1.77,
/// at `m` near √2 and `p` = 2.2); the f64 form this replaces was within 1. Results below
/// 2⁻¹²⁶·⁵ flush to zero (the f64 form gave subnormals there; a loss of 1e-38 is zero to the
/// model).
#[inline(always)]
pub fn pow2(x: f32, p: f32) -> f32 {
    let (e, l) = log2_parts(x);
    exp2_mul(p, e, l)
}

/// `log2 x` of a positive f32 in two parts, `(e, l)`: `e` the exponent (an integer, exact as an
/// f32) and `l = log2 m`, `m = x / 2^e` in [√½, √2), from the series
/// `ln(1 + f) = 2·atanh(s)`, `s = f / (2 + f)`, `|s| ≤ 0.172`, to s⁹ (the next term is 1e-9).
/// Kept apart so that [`exp2_mul`] can multiply `e` by `p` exactly.
#[inline(always)]
fn log2_parts(x: f32) -> (f32, f32) {
    const C: [f32; 5] = [
        2.885_39,
        0.961_796_7,
        0.577_078_04,
        0.412_198_57,
        0.320_598_9,
    ];
    // Subnormals scaled up by 2²⁴ first.
    let sub = x < f32::MIN_POSITIVE;
    let xs = if sub { x * 16_777_216.0 } else { x };
    let bits = xs.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127 - if sub { 24 } else { 0 };
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let e = e + i32::from(big);
    // Exact: m is within a factor 2 of 1.
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let s2 = s * s;
    // Horner by fused multiply-adds: one rounding a term instead of two, and half the
    // instructions where the CPU has FMA (`mul_add` is fused on every path, so the bits are the
    // same with or without it: a CPU without FMA gets them from libm's `fmaf`, slower).
    let mut poly = C[4];
    for c in C[..4].iter().rev() {
        poly = poly.mul_add(s2, *c);
    }
    (e as f32, s * poly)
}

/// `2^(p·(e + l))` for [`log2_parts`]' `(e, l)`, `|p·e| < 2²²`: `p·e` as hi + lo (exact, by a
/// fused multiply-add), `p·l` added to lo.
#[inline(always)]
fn exp2_mul(p: f32, e: f32, l: f32) -> f32 {
    let hi = p * e;
    exp2_split(hi, p.mul_add(l, p.mul_add(e, -hi)))
}

/// `2^(hi + lo)`, `|hi| < 2²²`, `|lo|` a few units: the integer parts taken out of hi and then of
/// the fraction `(hi − n₁) + lo` (each subtraction exact, so lo's bits below hi's ulp count),
/// `2^g`, `|g| ≤ ½`, by Taylor series to g⁷ (the next term is 5e-9), scaled by `2^n` through the
/// exponent bits: 0 for `n ≤ −127`, infinite for `n ≥ 128`.
#[inline(always)]
fn exp2_split(hi: f32, lo: f32) -> f32 {
    const C: [f32; 8] = [
        1.0,
        std::f32::consts::LN_2,
        0.240_226_5,
        0.055_504_11,
        0.009_618_129,
        0.001_333_355_8,
        0.000_154_035_3,
        1.525_273_4e-5,
    ];
    // 1.5·2²³: adding and subtracting it rounds an |y| < 2²² to the nearest integer.
    const MAGIC: f32 = 12_582_912.0;
    let n1 = (hi + MAGIC) - MAGIC;
    let f = (hi - n1) + lo;
    let n2 = (f + MAGIC) - MAGIC;
    let g = f - n2;
    let mut poly = C[7];
    for c in C[..7].iter().rev() {
        poly = poly.mul_add(g, *c);
    }
    // `n + 127` into the exponent bits, read from `n + MAGIC`'s mantissa: an `as i32` would be a
    // saturating conversion, scalar code with range checks on every lane.
    let n = (n1 + n2).clamp(-127.0, 128.0);
    let biased = (n + MAGIC)
        .to_bits()
        .wrapping_sub(MAGIC.to_bits())
        .wrapping_add(127);
    poly * f32::from_bits(biased << 23)
}

/// [`power_step_inv`] over many cells at once (`loss[i]` by `dx[i]` at rate `k[i]`), each element
/// bit for bit the scalar step; one loop over plain slices, for the pack's cells in one pass.
#[inline]
pub fn power_steps(loss: &mut [f32], k: &[f32], dx: &[f32], p: f32, inv_p: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA.
        unsafe { power_steps_avx2(loss, k, dx, p, inv_p) };
        return;
    }
    power_steps_body(loss, k, dx, p, inv_p);
}

/// [`power_steps`] compiled for AVX2 and FMA (the same operations, 8 f32 lanes instead of 4; the
/// series' `mul_add`s one instruction each instead of a libm call).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn power_steps_avx2(loss: &mut [f32], k: &[f32], dx: &[f32], p: f32, inv_p: f32) {
    power_steps_body(loss, k, dx, p, inv_p);
}

/// The loop of [`power_steps`], inlined into a caller's own multiversioned pass (pack life's).
///
/// [`pow2`]'s series are chains of dependent multiply-adds; a loop whose body holds two of them
/// (about 80 dependent operations) keeps one vector in flight and waits on each result. So the
/// cells go through in blocks of [`POWER_BLOCK`], one stage at a time (ratio, log, exp, log, exp),
/// each stage a short loop over the block whose iterations the core overlaps. Every element
/// still takes the scalar step's operations in the scalar step's order: the same bits.
#[inline(always)]
pub fn power_steps_body(loss: &mut [f32], k: &[f32], dx: &[f32], p: f32, inv_p: f32) {
    let n = loss.len().min(k.len()).min(dx.len());
    let mut start = 0;
    while start < n {
        let m = POWER_BLOCK.min(n - start);
        let range = start..start + m;
        if let (Ok(l), Ok(kk), Ok(d)) = (
            <&mut [f32; POWER_BLOCK]>::try_from(&mut loss[range.clone()]),
            <&[f32; POWER_BLOCK]>::try_from(&k[range.clone()]),
            <&[f32; POWER_BLOCK]>::try_from(&dx[range.clone()]),
        ) {
            // A whole block in place.
            power_block(l, kk, d, p, inv_p);
            start += m;
            continue;
        }
        // Padding lanes (beyond `m`) step from a harmless 1 and are dropped.
        let mut l = [1.0f32; POWER_BLOCK];
        let mut kk = [1.0f32; POWER_BLOCK];
        let mut d = [1.0f32; POWER_BLOCK];
        l[..m].copy_from_slice(&loss[range.clone()]);
        kk[..m].copy_from_slice(&k[range.clone()]);
        d[..m].copy_from_slice(&dx[range.clone()]);
        power_block(&mut l, &kk, &d, p, inv_p);
        loss[range].copy_from_slice(&l[..m]);
        start += m;
    }
}

/// Cells a block of [`power_steps_body`]: 12 AVX2 vectors of 8 f32 lanes, as many chains in
/// flight, and a 96S1P pack in one block. Measured on the NMC single-thread run (the same bits
/// whatever the size): 32 cells 412 ms, 48 367, 64 383, 96 328, 128 390, 192 466; a pack not a
/// multiple of it pads its last block, and 96 was still the fastest on LFP's 75 packs.
pub const POWER_BLOCK: usize = 96;

/// One block of [`power_steps_body`], stage by stage. Branch-free (both sides computed, then
/// selected) so that each stage vectorises; each selected value is the scalar step's.
#[inline(always)]
fn power_block(
    loss: &mut [f32; POWER_BLOCK],
    k: &[f32; POWER_BLOCK],
    dx: &[f32; POWER_BLOCK],
    p: f32,
    inv_p: f32,
) {
    let mut e = [0.0f32; POWER_BLOCK];
    let mut l = [0.0f32; POWER_BLOCK];
    let mut x = [0.0f32; POWER_BLOCK];
    for i in 0..POWER_BLOCK {
        x[i] = if loss[i] > 0.0 { loss[i] / k[i] } else { 1.0 };
    }
    for i in 0..POWER_BLOCK {
        (e[i], l[i]) = log2_parts(x[i]);
    }
    for i in 0..POWER_BLOCK {
        let x_eq = exp2_mul(inv_p, e[i], l[i]);
        let x_eq = if loss[i] > 0.0 { x_eq } else { 0.0 };
        x[i] = x_eq + dx[i];
    }
    for i in 0..POWER_BLOCK {
        (e[i], l[i]) = log2_parts(x[i]);
    }
    for i in 0..POWER_BLOCK {
        let next = k[i] * exp2_mul(p, e[i], l[i]);
        let step = k[i] > 0.0 && dx[i] > 0.0;
        loss[i] = if step { next } else { loss[i] };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pow2` against the exact power (f64 `powf`, itself within 1e-16): at most 2 units of
    /// `2⁻²³·x^p` (≈ an f32 ulp; the budget in [`pow2`]'s note) over a dense grid of what pack life
    /// feeds it: bases from 1e-30 to 1e7 (losses over rates, stress-times in days·1e-4 to cycles),
    /// the four preset exponents and their inverses, and a sweep of exponents from 0.3 to 2.5.
    /// Subnormal inputs are checked where the result is a normal f32.
    #[test]
    fn pow2_error_bound() {
        let mut ps: Vec<f32> = vec![0.526, 0.828, 0.651_697_74, 0.441_996_8];
        ps.extend(ps.clone().iter().map(|p| 1.0 / p));
        ps.extend((0..=44).map(|j| 0.3 + 0.05 * j as f32));
        let mut worst = (0.0f64, 0.0f32, 0.0f32);
        let mut check = |x: f32, p: f32| {
            let want = f64::from(x).powf(f64::from(p));
            if !(want > 1e-37 && want < 1e37) {
                return;
            }
            let got = f64::from(pow2(x, p));
            let err = (got - want).abs() / (f64::from(f32::EPSILON) * want);
            if err > worst.0 {
                worst = (err, x, p);
            }
        };
        for &p in &ps {
            for i in 0..200_000u32 {
                let x = 10f64.powf(-30.0 + 37.0 * f64::from(i) / 200_000.0) as f32;
                check(x, p);
            }
            // Every f32 from ½ to 2 a stride apart: the series' whole range of m and s.
            for b in (0.5f32.to_bits()..2.0f32.to_bits()).step_by(97) {
                check(f32::from_bits(b), p);
            }
        }
        for i in 0..20_000u32 {
            check(f32::from_bits(1 + i * 419), 0.3 + 0.1 * (i % 8) as f32);
        }
        let (err, x, p) = worst;
        assert!(err <= 2.0, "pow2({x:e}, {p}) off by {err} units of 2^-23");
    }

    /// `exp_f32` against the exact exponential (f64 `exp`) over every 61st f32 in [−88, 87] whose
    /// exponential is a normal f32: at most 1 unit of `2⁻²³·e^x` (≈ an f32 ulp).
    #[test]
    fn exp_f32_error_bound() {
        let mut worst = (0.0f64, 0.0f32);
        let mut check = |x: f32| {
            let want = f64::from(x).exp();
            if want < f64::from(f32::MIN_POSITIVE) {
                return;
            }
            let err = (f64::from(exp_f32(x)) - want).abs() / (f64::from(f32::EPSILON) * want);
            if err > worst.0 {
                worst = (err, x);
            }
        };
        for b in (0..(87.0f32).to_bits()).step_by(61) {
            check(f32::from_bits(b));
        }
        for b in (0..(88.0f32).to_bits()).step_by(61) {
            check(-f32::from_bits(b));
        }
        let (err, x) = worst;
        assert!(err <= 1.0, "exp_f32({x}) off by {err} units of 2^-23");
    }

    /// The batched steps (vectorised, AVX2 where the CPU has it) are the scalar step bit for bit,
    /// the no-step and from-zero cases included.
    #[test]
    fn power_steps_are_the_scalar_step() {
        let n = 1003;
        let f = |i: usize, m: usize| ((i * m) % 1009) as f32 / 1009.0;
        let loss: Vec<f32> = (0..n)
            .map(|i| if i % 7 == 0 { 0.0 } else { 0.4 * f(i, 31) })
            .collect();
        let k: Vec<f32> = (0..n)
            .map(|i| {
                if i % 11 == 0 {
                    0.0
                } else {
                    0.05 * f(i, 17) + 1e-4
                }
            })
            .collect();
        let dx: Vec<f32> = (0..n)
            .map(|i| if i % 13 == 0 { 0.0 } else { 0.01 * f(i, 7) })
            .collect();
        for (p, inv_p) in [
            (0.651_697_74f32, 1.0 / 0.651_697_74f32),
            (0.441_996_8, 1.0 / 0.441_996_8),
        ] {
            let mut got = loss.clone();
            power_steps(&mut got, &k, &dx, p, inv_p);
            for i in 0..n {
                let want = power_step_inv(loss[i], k[i], p, inv_p, dx[i]);
                assert_eq!(got[i].to_bits(), want.to_bits(), "element {i}");
            }
        }
    }

    #[test]
    fn power_step_is_exact_for_constant_rates() {
        let (k, p) = (0.01f32, 0.5f32);
        let mut loss = 0.0;
        for _ in 0..100 {
            loss = power_step(loss, k, p, 3.0);
        }
        let exact = k * 300f32.powf(p);
        assert!((loss - exact).abs() < 1e-5 * exact, "{loss} vs {exact}");
    }
}
