//! The incremental power-law step and the series it runs on (`x^p` as `exp2(p·log2 x)`, `e^x` as
//! `exp2(x·log2 e)`, in f32): the numerics under [`super`]'s fade laws, kept apart from the laws themselves.
//!
//! A law `loss = k·x^p` is integrated in the incremental form (MODEL.md §3): from the loss so far,
//! the stress-time `x_eq = (loss/k')^(1/p)` that gives it at today's rate `k'`, plus today's `dx`,
//! evaluated again: `loss' = k'·(x_eq + dx)^p` — two powers, a log and an exp each, and they were
//! half of pack life's time. The state also keeps the stress-time `x` and rate `k` that the loss
//! was reached at (`loss = k·x^p`), so the same step is, exactly in real numbers,
//!
//! ```text
//! x_eq  = x·(1 + ε)^(1/p),  ε = k/k' − 1      (the rate's change since the last step)
//! loss' = loss·(1 + u)^p,    u = dx / x_eq     (the step's share of the stress-time so far)
//! ```
//!
//! Rates move by well under a percent a step and after the first few steps a step adds less
//! than an eighth to the stress-time, so both powers are binomial series in a small argument
//! ([`PowerLaw`]): a division and a few multiply-adds each instead of a log and an exp. A cell's
//! first steps (`u > ⅛`) take the growth's power, `loss' = k'·(x_eq + dx)^p`, with `x_eq` still
//! by the series (their rates barely move: until 2026-11-24 they took both powers); a jump in its
//! rate (`|ε| > 1/16`) takes both, and its first loss the growth's alone (`x_eq = 0`). Within
//! those ranges the series' truncation is below 1e-8 relative (f32's ulp is 6e-8);
//! `tests::series_step_error_bound` and `tests::rebased_step_error_bound` hold the step to the
//! exact form.

mod block;
pub use block::{POWER_BLOCK, PowerStates, power_steps, power_steps_body};

/// One fade law's integrator state in one cell: the loss so far (fraction of initial capacity)
/// and the stress-time `x` and rate `k` it was reached at, `loss = k·x^p` (0 before the first
/// step).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PowerState {
    /// Capacity loss, fraction of initial capacity.
    pub loss: f32,
    /// Equivalent stress-time at the rate `k` (days or EFC, times the law's scale).
    pub x: f32,
    /// The rate of the last step.
    pub k: f32,
}

/// Largest rate change `|ε| = |k/k' − 1|` the rebasing series takes: its degree-4 truncation is
/// `|C(1/p, 5)|·ε⁵ ≤ 1e-8` there for the presets' `1/p` ∈ [1.2, 2.3].
pub const REBASE_MAX: f32 = 0.0625;

/// Largest stress-time share `u = dx/x_eq` the growth series takes: its degree-7 truncation is
/// `|C(p, 8)|·u⁸ ≤ 1e-9` there for `p` ∈ (0, 1).
pub const GROW_MAX: f32 = 0.125;

/// `1/2 … 1/8` as f32 (the WGSL twin writes the same literals): the binomial coefficients'
/// recurrence multiplies by them, so both backends round them alike.
const RECIP: [f32; 7] = [
    0.5,
    0.333_333_34,
    0.25,
    0.2,
    0.166_666_67,
    0.142_857_15,
    0.125,
];

/// One law's exponent with the binomial series of its step: `(1 + ε)^(1/p)` to ε⁴ and
/// `(1 + u)^p` to u⁷ (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerLaw {
    /// The exponent.
    pub p: f32,
    /// `1 / p`.
    pub inv_p: f32,
    /// `C(1/p, 1) … C(1/p, 4)`.
    rebase: [f32; 4],
    /// `C(p, 1) … C(p, 7)`.
    grow: [f32; 7],
}

impl PowerLaw {
    /// The law of exponent `p` (`0 < p < 1` for the series' bounds).
    pub fn new(p: f32) -> PowerLaw {
        let inv_p = 1.0 / p;
        PowerLaw {
            p,
            inv_p,
            rebase: binomial(inv_p),
            grow: binomial(p),
        }
    }

    /// `(1 + e)^(1/p)`, `|e| ≤` [`REBASE_MAX`].
    #[inline(always)]
    fn rebase(&self, e: f32) -> f32 {
        series(&self.rebase, e)
    }

    /// `(1 + u)^p`, `0 < u ≤` [`GROW_MAX`].
    #[inline(always)]
    fn grow(&self, u: f32) -> f32 {
        series(&self.grow, u)
    }
}

/// `C(a, 1) … C(a, N)` by `C(a, n + 1) = C(a, n)·(a − n)·(1/(n + 1))`, in f32.
fn binomial<const N: usize>(a: f32) -> [f32; N] {
    let mut c = [a; N];
    for n in 1..N {
        c[n] = c[n - 1] * (a - n as f32) * RECIP[n - 1];
    }
    c
}

/// `1 + c₁t + c₂t² + …` by fused multiply-adds (Horner).
#[inline(always)]
fn series<const N: usize>(c: &[f32; N], t: f32) -> f32 {
    let mut poly = c[N - 1];
    for &cn in c[..N - 1].iter().rev() {
        poly = poly.mul_add(t, cn);
    }
    poly.mul_add(t, 1.0)
}

/// The step by the series: the new loss and stress-time, and whether the series hold (a first
/// loss, a step too large or a rate jump take [`exact_step`] instead; so does a lane whose
/// values are meaningless here, e.g. `x = 0`, whose results are then never read).
#[inline(always)]
fn series_step(s: PowerState, law: &PowerLaw, k: f32, dx: f32) -> (f32, f32, bool) {
    let e = s.k / k - 1.0;
    let x_eq = s.x * law.rebase(e);
    let u = dx / x_eq;
    let ok = rebases(s.loss, e) && u <= GROW_MAX;
    (s.loss * law.grow(u), x_eq + dx, ok)
}

/// Can the stress-time at the new rate be rebased by the series? Where the loss is positive and
/// the rate moved by at most [`REBASE_MAX`]: only the growth's power is then left to take.
#[inline(always)]
fn rebases(loss: f32, e: f32) -> bool {
    (loss > 0.0) & (e.abs() <= REBASE_MAX)
}

/// The step where the series do not both hold: the stress-time at rate `k` that gives the loss
/// (0 before the first loss; by the rebasing series where [`rebases`], else by its power), plus
/// `dx`, evaluated again by its power. The new loss and stress-time. A cell's first steps, whose
/// stress-time grows by more than [`GROW_MAX`] a step but whose rate barely moves, so take one
/// power, not two.
#[inline(always)]
fn exact_step(s: PowerState, law: &PowerLaw, k: f32, dx: f32) -> (f32, f32) {
    let e = s.k / k - 1.0;
    let x_eq = if rebases(s.loss, e) {
        s.x * law.rebase(e)
    } else if s.loss > 0.0 {
        pow2(s.loss / k, law.inv_p)
    } else {
        0.0
    };
    let x = x_eq + dx;
    (k * pow2(x, law.p), x)
}

/// Does a law step at rate `k` by `dx`? Not where either is 0 (or NaN: a state is never
/// poisoned). Both compared, not short-circuited, so that a pass's select stays branch-free.
#[inline(always)]
fn steps(k: f32, dx: f32) -> bool {
    (k > 0.0) & (dx > 0.0)
}

/// One step of `loss = k·x^p` by `dx` of stress-time at rate `k`, in the incremental form (see
/// the module doc); no step unless `k > 0` and `dx > 0`.
#[inline]
pub fn power_step(s: &mut PowerState, law: &PowerLaw, k: f32, dx: f32) {
    if !steps(k, dx) {
        return;
    }
    let (loss, x, ok) = series_step(*s, law, k, dx);
    (s.loss, s.x) = if ok {
        (loss, x)
    } else {
        exact_step(*s, law, k, dx)
    };
    s.k = k;
}

/// `e^x` for an f32 as `2^(x·log2 e)` on `exp2_split`'s f32 series (8 lanes to an AVX2 vector),
/// `x·log2 e` carried as hi + lo (`log2 e` itself as two f32s, the product's rounding recovered by
/// a fused multiply-add) so that the error does not grow with `|x|`: within 1 unit of `2⁻²³·e^x`
/// (≈ an f32 ulp) wherever the result is a normal f32 (`tests::exp_f32_error_bound`; worst
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
/// `tests::pow2_error_bound` checks 2 over a dense grid of the model's inputs (worst seen 1.77,
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
    /// the no-step cases and the step's three ways among them (each asserted to occur): by the
    /// series; rebased by its series and grown by one power (a cell's first steps); by two powers
    /// or from zero (a rate jump, a first loss). Over 40 steps of changing rates.
    #[test]
    fn power_steps_are_the_scalar_step() {
        let n = 1003;
        let f = |i: usize, m: usize| ((i * m) % 1009) as f32 / 1009.0;
        for p in [0.651_697_74f32, 0.441_996_8, 0.526, 0.828] {
            let law = PowerLaw::new(p);
            let mut got = PowerStates::new(n);
            let mut want = vec![PowerState::default(); n];
            let (mut series, mut one_power, mut exact) = (0, 0, 0);
            for step in 0..40 {
                let k: Vec<f32> = (0..n)
                    .map(|i| match (i + step) % 23 {
                        0 => 0.0,
                        // A jump of the rate now and then.
                        5 if step % 7 == 3 => 0.2 * f(i, 17) + 1e-4,
                        _ => (0.05 * f(i, 17) + 1e-4) * (1.0 + 0.003 * step as f32),
                    })
                    .collect();
                let dx: Vec<f32> = (0..n)
                    .map(|i| {
                        if (i + step) % 13 == 0 {
                            0.0
                        } else {
                            0.01 * f(i, 7) + 1e-4
                        }
                    })
                    .collect();
                power_steps(&mut got, &law, &k, &dx);
                for i in 0..n {
                    let before = want[i];
                    power_step(&mut want[i], &law, k[i], dx[i]);
                    let (_, _, ok) = series_step(before, &law, k[i], dx[i]);
                    if steps(k[i], dx[i]) {
                        if ok {
                            series += 1;
                        } else if rebases(before.loss, before.k / k[i] - 1.0) {
                            one_power += 1;
                        } else {
                            exact += 1;
                        }
                    }
                    let g = got.get(i);
                    assert_eq!(
                        [g.loss, g.x, g.k].map(f32::to_bits),
                        [want[i].loss, want[i].x, want[i].k].map(f32::to_bits),
                        "p {p}, step {step}, element {i}"
                    );
                }
            }
            assert!(
                series > 10 * n && one_power > n && exact > n,
                "{series} by series, {one_power} by one power, {exact} by two or from zero"
            );
        }
    }

    /// Steps at a constant rate add up to the law itself: `k·(N·dx)^p` after N steps, within
    /// 2e-6 relative (an f32 step rounds to 6e-8; 400 of them drift by a few 1e-7) — the series
    /// steps included (all but the first eight).
    #[test]
    fn power_step_is_exact_for_constant_rates() {
        for p in [0.651_697_74f32, 0.441_996_8, 0.526, 0.828] {
            let law = PowerLaw::new(p);
            let (k, dx) = (0.01f32, 3.0f32);
            let mut s = PowerState::default();
            for n in 1..=400u32 {
                power_step(&mut s, &law, k, dx);
                let exact = f64::from(k) * (f64::from(n) * f64::from(dx)).powf(f64::from(p));
                let err = (f64::from(s.loss) - exact).abs() / exact;
                assert!(
                    err < 2e-6,
                    "p {p}, step {n}: {} vs {exact} ({err:e})",
                    s.loss
                );
            }
        }
    }

    /// The presets' four exponents.
    const PRESET_P: [f32; 4] = [0.651_697_74, 0.441_996_8, 0.526, 0.828];

    /// A state as the pass keeps it (`loss = k·x^p`, at `x` = 37.5 and `k` = 0.02), the new rate
    /// `k' = k/(1 + ε)` and a `dx` that is the share `u` of the exactly rebased stress-time.
    fn consistent_case(p: f32, e: f32, u: f32) -> (PowerState, f32, f32) {
        let (pd, k_old, x) = (f64::from(p), 0.02f64, 37.5f32);
        let s = PowerState {
            loss: (k_old * f64::from(x).powf(pd)) as f32,
            x,
            k: k_old as f32,
        };
        let k = s.k / (1.0 + e);
        let x_eq = f64::from(x) * (f64::from(s.k) / f64::from(k)).powf(1.0 / pd);
        (s, k, (f64::from(u) * x_eq) as f32)
    }

    /// How far `loss` is from the exact incremental step in f64 (`(loss/k')^(1/p)`, plus `dx`, to
    /// the `p`), in units of `2⁻²³·loss'`.
    fn units_off(loss: f32, s: PowerState, p: f32, k: f32, dx: f32) -> f64 {
        let (pd, kd) = (f64::from(p), f64::from(k));
        let want_x = (f64::from(s.loss) / kd).powf(1.0 / pd) + f64::from(dx);
        let want = kd * want_x.powf(pd);
        (f64::from(loss) - want).abs() / (f64::from(f32::EPSILON) * want)
    }

    /// The series step against the exact incremental step in f64 over the whole range it is
    /// taken in — rate changes `|ε| ≤ 1/16`, stress-time shares `u ≤ ⅛` — for the presets'
    /// exponents: within 3 units of `2⁻²³·loss'` (each of its seven roundings is half a unit; the
    /// series' truncation is 1e-8). The loss and stress-time given are consistent (`loss = k·x^p`),
    /// as the pass keeps them. Just outside the range the step falls back to the powers.
    #[test]
    fn series_step_error_bound() {
        let mut worst = (0.0f64, 0.0f32, 0.0f32, 0.0f32);
        for p in PRESET_P {
            let law = PowerLaw::new(p);
            for i in 0..=400 {
                let e = -REBASE_MAX + 2.0 * REBASE_MAX * i as f32 / 400.0;
                for j in 1..=400 {
                    let u = GROW_MAX * j as f32 / 400.0;
                    let (s, k, dx) = consistent_case(p, e, u);
                    let (loss, _, ok) = series_step(s, &law, k, dx);
                    if !ok {
                        // Only at the very edges of the range, where `u` or `ε` rounds over.
                        assert!(j == 400 || i == 0 || i == 400, "p {p}, ε {e}, u {u}");
                        continue;
                    }
                    let err = units_off(loss, s, p, k, dx);
                    if err > worst.0 {
                        worst = (err, p, e, u);
                    }
                }
            }
            let s = PowerState {
                loss: 0.1,
                x: 10.0,
                k: 0.01,
            };
            assert!(!series_step(s, &law, 0.01, 1.3).2, "u = 0.13 by the series");
            assert!(
                !series_step(s, &law, 0.01 / 1.07, 0.1).2,
                "ε = 0.07 by the series"
            );
            assert!(
                !series_step(PowerState::default(), &law, 0.01, 0.1).2,
                "a first loss"
            );
        }
        let (err, p, e, u) = worst;
        assert!(
            err <= 3.0,
            "p {p}, ε {e}, u {u}: off by {err} units of 2^-23"
        );
    }

    /// The step the series cannot take for its growth but can for its rate (a cell's first steps:
    /// `u > ⅛`, `|ε| ≤ 1/16`) — the stress-time rebased by its series, plus `dx`, to the power —
    /// against the exact incremental step in f64, for the presets' exponents, shares `u` from ⅛
    /// to 8 (a second step's is ≈ 1) and rate changes across the series' range: within 4 units of
    /// `2⁻²³·loss'`. Its budget: the rebased `x_eq` within ≈ 2 units (four multiply-adds and a
    /// product), weighed by `x_eq / x ≤ 1` and by `p < 1` through the power; the sum's rounding
    /// (½), `pow2`'s own 2 ([`pow2_error_bound`]) and the product by `k` (½).
    #[test]
    fn rebased_step_error_bound() {
        let mut worst = (0.0f64, 0.0f32, 0.0f32, 0.0f32);
        let mut taken = 0;
        for p in PRESET_P {
            let law = PowerLaw::new(p);
            for i in 0..=200 {
                let e = -REBASE_MAX + 2.0 * REBASE_MAX * i as f32 / 200.0;
                for j in 0..=400 {
                    // u from 1/8 to 8, evenly in its logarithm.
                    let u = GROW_MAX * 64f32.powf(j as f32 / 400.0);
                    let (s, k, dx) = consistent_case(p, e, u);
                    let (_, _, ok) = series_step(s, &law, k, dx);
                    if ok || !rebases(s.loss, s.k / k - 1.0) {
                        continue;
                    }
                    taken += 1;
                    let mut got = s;
                    power_step(&mut got, &law, k, dx);
                    let err = units_off(got.loss, s, p, k, dx);
                    if err > worst.0 {
                        worst = (err, p, e, u);
                    }
                }
            }
        }
        assert!(taken > 4 * 190 * 390, "{taken} steps by one power");
        let (err, p, e, u) = worst;
        assert!(
            err <= 4.0,
            "p {p}, ε {e}, u {u}: off by {err} units of 2^-23"
        );
    }
}
