//! Philox words turned into numbers: open uniforms, inverse-CDF normals (Giles' erfinv on a
//! polynomial `ln`) and Poisson counts, each written as its WGSL twin in
//! `shaders/shared/philox.wgsl` writes it. Apart from the generator in [`super`], which only makes
//! the words.

/// Uniform in the open interval (0, 1): the top 23 bits plus half a step, every operation exact in
/// f32, so the largest value is 1 − 2⁻²⁴ (with 24 bits and a half step the top value would round
/// to 1.0) and the smallest 2⁻²⁴ keeps `ln(u)` finite. The WGSL twin uses the same expression.
#[inline(always)]
pub fn uniform_open(x: u32) -> f32 {
    ((x >> 9) as f32 + 0.5) * (1.0 / 8_388_608.0)
}

/// A standard normal from one Philox word: the inverse normal CDF of [`uniform_open`]`(x)`.
/// One uniform per normal (Box–Muller, which the line and then pack life's fade scalar used
/// until 2026-11-24, needs two and a `sin`/`cos`), branch-free, so a loop of
/// them vectorises. The smallest and largest uniforms give ±5.29.
#[inline(always)]
pub fn normal(x: u32) -> f32 {
    std::f32::consts::SQRT_2 * erfinv(2.0 * uniform_open(x) - 1.0)
}

/// The inverse error function for `x` in (−1, 1): Giles' single-precision approximation
/// ("Approximating the erfinv function", GPU Computing Gems Jade, 2011), branch-free (both
/// branches computed, one selected) so that it vectorises. `(1 − x)(1 + x)` is exact for our
/// uniforms' `2u − 1` but for one rounding; the logarithm is [`ln`], the same polynomial the WGSL
/// twin uses.
#[inline(always)]
pub fn erfinv(x: f32) -> f32 {
    let w = erfinv_w(x);
    (if w < ERFINV_TAIL {
        erfinv_central(w)
    } else {
        erfinv_tail(w)
    }) * x
}

/// Where Giles' tail branch starts (`w ≥ 5`: |x| > 0.9966, 0.34 % of draws).
pub const ERFINV_TAIL: f32 = 5.0;

/// `w = −ln((1 − x)(1 + x))`, the variable both branches of [`erfinv`] are polynomials in.
#[inline(always)]
pub fn erfinv_w(x: f32) -> f32 {
    -ln((1.0 - x) * (1.0 + x))
}

/// [`erfinv`]`(x) / x` for `w < 5`.
// The coefficients as published (Giles; Cephes), though f32 holds fewer digits: they round to
// the values the WGSL twin writes.
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn erfinv_central(w: f32) -> f32 {
    let a = w - 2.5;
    let mut p = 2.810_226_36e-8_f32;
    p = p.mul_add(a, 3.432_739_39e-7);
    p = p.mul_add(a, -3.523_387_7e-6);
    p = p.mul_add(a, -4.391_506_54e-6);
    p = p.mul_add(a, 2.185_808_7e-4);
    p = p.mul_add(a, -1.253_725_03e-3);
    p = p.mul_add(a, -4.177_681_64e-3);
    p = p.mul_add(a, 2.466_407_27e-1);
    p.mul_add(a, 1.501_409_41)
}

/// [`erfinv`]`(x) / x` for `w ≥ 5`.
// The coefficients as published (Giles; Cephes), though f32 holds fewer digits: they round to
// the values the WGSL twin writes.
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn erfinv_tail(w: f32) -> f32 {
    let b = w.sqrt() - 3.0;
    let mut q = -2.002_142_57e-4_f32;
    q = q.mul_add(b, 1.009_505_58e-4);
    q = q.mul_add(b, 1.349_343_22e-3);
    q = q.mul_add(b, -3.673_428_44e-3);
    q = q.mul_add(b, 5.739_507_73e-3);
    q = q.mul_add(b, -7.622_461_3e-3);
    q = q.mul_add(b, 9.438_870_47e-3);
    q = q.mul_add(b, 1.001_674_06);
    q.mul_add(b, 2.832_976_82)
}

/// Natural logarithm of a positive normal f32 (Cephes' `logf`: exponent split, a degree-9
/// polynomial on the mantissa in [√½, √2), within 2 ulp). Plain arithmetic and bit operations, so
/// it vectorises (the C library's `logf` does not) and the WGSL twin computes the same expression.
/// The polynomial's Horner steps are fused multiply-adds (`fma` in WGSL), here and in the
/// erfinv polynomials: one instruction each where the CPU has FMA, and one rounding (a line
/// pass ≈ 5 % faster than with a multiply and an add; since 2026-11-24, which moved every normal
/// by an ulp or so). A CPU without FMA gets the same bits from libm's `fmaf`, slower.
// The coefficients as published (Giles; Cephes), though f32 holds fewer digits: they round to
// the values the WGSL twin writes.
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn ln(v: f32) -> f32 {
    let bits = v.to_bits();
    // v = m · 2^e with m in [0.5, 1).
    let e = ((bits >> 23) & 0xFF) as i32 - 126;
    let m = f32::from_bits((bits & 0x007F_FFFF) | 0x3F00_0000);
    let small = m < std::f32::consts::FRAC_1_SQRT_2;
    let e = (e - i32::from(small)) as f32;
    let x = if small { m + m } else { m } - 1.0;
    let z = x * x;
    let mut y = 7.037_683_6e-2_f32;
    y = y.mul_add(x, -1.151_461_03e-1);
    y = y.mul_add(x, 1.167_699_87e-1);
    y = y.mul_add(x, -1.242_014_08e-1);
    y = y.mul_add(x, 1.424_932_28e-1);
    y = y.mul_add(x, -1.666_805_77e-1);
    y = y.mul_add(x, 2.000_071_48e-1);
    y = y.mul_add(x, -2.499_999_4e-1);
    y = y.mul_add(x, 3.333_333_1e-1);
    y = y * x * z;
    y += -2.121_944_4e-4 * e;
    y += -0.5 * z;
    x + y + 0.693_359_375 * e
}

/// Poisson count by inversion of one uniform; means here are ≤ 1, so the loop stops early. The cap
/// keeps the WGSL twin's loop bounded; it truncates a tail of probability < 1e-12 at mean 1.
#[inline(always)]
pub fn poisson(mean: f32, u: f32) -> u32 {
    let mut p = (-mean).exp();
    let mut cdf = p;
    let mut k = 0u32;
    while u > cdf && k < 16 {
        k += 1;
        p *= mean / k as f32;
        cdf += p;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Philox, stream};

    #[test]
    fn uniforms_stay_open() {
        assert_eq!(uniform_open(0), 2f32.powi(-24));
        assert_eq!(uniform_open(u32::MAX), 1.0 - 2f32.powi(-24));
    }

    /// Mean, variance and kurtosis of 400k normals within 5 standard errors of 0, 1 and 3.
    #[test]
    fn normals_have_unit_moments() {
        let g = Philox::new(42);
        let n = 100_000u64;
        let (mut s, mut s2, mut s4) = (0.0f64, 0.0f64, 0.0f64);
        for i in 0..n {
            for z in g.normals(i, stream::COATING, 0) {
                let z = f64::from(z);
                s += z;
                s2 += z * z;
                s4 += z * z * z * z;
            }
        }
        let m = 4.0 * n as f64;
        let mean = s / m;
        let var = s2 / m - mean * mean;
        assert!(mean.abs() < 5.0 / m.sqrt(), "mean {mean}");
        // SE of the sample variance of normals is sqrt(2/m).
        assert!((var - 1.0).abs() < 5.0 * (2.0 / m).sqrt(), "var {var}");
        // E z⁴ = 3 with variance E z⁸ − 9 = 96.
        let m4 = s4 / m;
        assert!(
            (m4 - 3.0).abs() < 5.0 * (96.0 / m).sqrt(),
            "fourth moment {m4}"
        );
    }

    /// f64 reference for the tests: erfc by its Taylor series (|x| ≤ 2, via erf) or its continued
    /// fraction (beyond), both to ~1e-15 relative.
    fn erfc64(x: f64) -> f64 {
        if x < 0.0 {
            return 2.0 - erfc64(-x);
        }
        if x <= 2.0 {
            let (mut term, mut sum, mut n) = (x, x, 0.0);
            while term.abs() > 1e-18 {
                n += 1.0;
                term *= -x * x / n;
                sum += term / (2.0 * n + 1.0);
            }
            return 1.0 - sum * 2.0 / std::f64::consts::PI.sqrt();
        }
        let mut f = 0.0;
        for k in (1..=80).rev() {
            f = (k as f64 / 2.0) / (x + f);
        }
        (-x * x).exp() / std::f64::consts::PI.sqrt() / (x + f)
    }

    /// Φ, the standard normal CDF, accurate in both tails.
    fn phi64(z: f64) -> f64 {
        0.5 * erfc64(-z / std::f64::consts::SQRT_2)
    }

    /// Φ⁻¹(u) in f64: Newton from the f32 value, on the tail nearer the uniform.
    fn quantile64(u: f64) -> f64 {
        if u > 0.5 {
            return -quantile64(1.0 - u);
        }
        let mut z = f64::from(normal(((u * 8_388_608.0 - 0.5) as u32) << 9));
        for _ in 0..4 {
            let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
            z -= (phi64(z) - u) / pdf;
        }
        z
    }

    /// [`ln`] within 2 ulp of the f64 logarithm over the range the normals use (2⁻²² to 1) and
    /// beyond.
    #[test]
    fn ln_within_two_ulp() {
        let mut x = 1e-30f32;
        while x < 1e30 {
            let want = f64::from(x).ln();
            let got = ln(x);
            let ulp =
                f64::from((want as f32).abs().max(f32::MIN_POSITIVE)) * f64::from(f32::EPSILON);
            assert!(
                (f64::from(got) - want).abs() <= 2.0 * ulp,
                "ln({x}) = {got}, want {want}"
            );
            x *= 1.000_37;
        }
    }

    /// Every one of the 2²³ uniform levels: the normal rises with the uniform (never falls),
    /// is antisymmetric (the complement word gives −z exactly) and agrees with the f64 quantile
    /// within 1e-6 absolute plus 4 ulp of the value (Giles' approximation and one f32 rounding
    /// per step; an error of 1e-6 in z moves a drawn value by a millionth of its spread).
    #[test]
    fn inverse_cdf_normals_against_f64() {
        let mut last = f32::NEG_INFINITY;
        let mut worst = 0.0f64;
        for k in 0..(1u32 << 23) {
            let x = k << 9;
            let z = normal(x);
            assert!(z >= last, "not monotone at level {k}: {last} then {z}");
            assert_eq!(z, -normal(!x), "antisymmetry at level {k}");
            last = z;
            if k % 61 == 0 || !(4096..=(1 << 23) - 4096).contains(&k) {
                let want = quantile64((f64::from(k) + 0.5) / 8_388_608.0);
                let err = (f64::from(z) - want).abs();
                let bound = 1e-6 + 4.0 * want.abs() * f64::from(f32::EPSILON);
                assert!(err <= bound, "level {k}: {z} against {want}");
                worst = worst.max(err / bound);
            }
        }
        assert!(
            (5.28..5.30).contains(&normal(u32::MAX)),
            "{}",
            normal(u32::MAX)
        );
        eprintln!("inverse CDF: worst error {worst:.2} of the bound");
    }

    /// Tail fractions of 10⁶ normals below −1, −2, −3 (and above +3) equal Φ within 5 standard
    /// errors of a binomial count.
    #[test]
    fn inverse_cdf_tail_fractions() {
        let g = Philox::new(3);
        let n = 250_000u64;
        let mut below = [0u64; 3];
        let mut above3 = 0u64;
        for i in 0..n {
            for z in g.normals(i, stream::EOL, 0) {
                for (b, t) in below.iter_mut().zip([-1.0, -2.0, -3.0]) {
                    *b += u64::from(z < t);
                }
                above3 += u64::from(z > 3.0);
            }
        }
        let m = (4 * n) as f64;
        for (count, t) in below
            .into_iter()
            .chain([above3])
            .zip([-1.0, -2.0, -3.0, -3.0])
        {
            let p = phi64(t);
            let se = (p * (1.0 - p) / m).sqrt();
            let f = count as f64 / m;
            assert!((f - p).abs() < 5.0 * se, "tail at {t}: {f} against {p}");
        }
    }

    /// Poisson inversion: the fraction of zeros is exp(-mean) within 5 standard errors.
    #[test]
    fn poisson_zero_fraction() {
        let g = Philox::new(7);
        let n = 200_000u64;
        let mean = 0.3f32;
        let zeros = (0..n)
            .filter(|&i| poisson(mean, g.uniforms(i, stream::COATING, 9)[0]) == 0)
            .count() as f64;
        let p = (-0.3f64).exp();
        let se = (p * (1.0 - p) / n as f64).sqrt();
        assert!((zeros / n as f64 - p).abs() < 5.0 * se);
    }
}
