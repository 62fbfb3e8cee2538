//! Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11).
//!
//! Every random draw in celltwin is a pure function of `(seed, cell, stream, draw)`, so a cell can be
//! regenerated anywhere — on any thread, in any chunk, on the CPU or in WGSL — and give the same
//! integers. The WGSL twin is `shaders/shared/philox.wgsl`; both are pinned by Random123's
//! known-answer vectors in the tests.
//!
//! Counter layout (four 32-bit words): `[index_lo, index_hi, stream, draw]`, key `[seed_lo, seed_hi]`.
//! `index` is a cell index, a lot index or a pack index depending on the stream; the stream ids live
//! in [`stream`] so that no two stages ever share a counter.

/// Stream ids: the third counter word. A stage that needs more than one Philox call per cell uses
/// consecutive `draw` values within its stream.
pub mod stream {
    /// Coating, within-lot: cathode/anode loading, particle defects.
    pub const COATING: u32 = 1;
    /// Calendering: porosity.
    pub const CALENDERING: u32 = 2;
    /// Winding: area, misalignment, tab weld.
    pub const WINDING: u32 = 3;
    /// Electrolyte filling.
    pub const FILLING: u32 = 4;
    /// Formation and aging: first-cycle loss, self-discharge, defect severity and onset.
    pub const FORMATION: u32 = 5;
    /// End-of-line gauges and X-ray.
    pub const EOL: u32 = 6;
    /// Pack life: the per-cell fade scalar.
    pub const AGING_CELL: u32 = 7;
    /// Pack life: latent-defect shorts, one draw per cell and step.
    pub const AGING_SHORT: u32 = 8;
    /// Pack assembly: the `random` matching's sort key (index = cell).
    pub const MATCHING: u32 = 9;
    /// Attribution: the orders of removal beyond forward and reverse (index = order). Host only.
    pub const ATTRIBUTION: u32 = 10;
    /// Lot-level draws set this bit; the index word is then the lot (coil, rack) number.
    pub const LOT: u32 = 0x8000_0000;
}

pub(crate) const M0: u32 = 0xD251_1F53;
pub(crate) const M1: u32 = 0xCD9E_8D57;
pub(crate) const W0: u32 = 0x9E37_79B9;
pub(crate) const W1: u32 = 0xBB67_AE85;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    ((p >> 32) as u32, p as u32)
}

/// Philox4x32 with 10 rounds: counter `c`, key `k` → four independent 32-bit words.
#[inline(always)]
pub fn philox4x32(mut c: [u32; 4], mut k: [u32; 2]) -> [u32; 4] {
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        c = philox_round(c, k);
    }
    c
}

/// One Philox4x32 round of `c` with the round's key `k`.
#[inline(always)]
fn philox_round(c: [u32; 4], k: [u32; 2]) -> [u32; 4] {
    let (hi0, lo0) = mulhilo(M0, c[0]);
    let (hi1, lo1) = mulhilo(M1, c[2]);
    [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0]
}

/// A generator bound to one seed: the key is fixed, the counter names the draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Philox {
    key: [u32; 2],
}

impl Philox {
    /// The key is the 64-bit seed split into two words.
    pub fn new(seed: u64) -> Self {
        Self {
            key: [seed as u32, (seed >> 32) as u32],
        }
    }

    /// The key words (what the GPU uniform carries).
    pub fn key(&self) -> [u32; 2] {
        self.key
    }

    /// Four raw words for `(index, stream, draw)`.
    #[inline(always)]
    pub fn words(&self, index: u64, stream: u32, draw: u32) -> [u32; 4] {
        philox4x32([index as u32, (index >> 32) as u32, stream, draw], self.key)
    }

    /// Four uniforms in the open interval (0, 1).
    #[inline(always)]
    pub fn uniforms(&self, index: u64, stream: u32, draw: u32) -> [f32; 4] {
        self.words(index, stream, draw).map(uniform_open)
    }

    /// Four standard normals, one per word, by the inverse CDF ([`normal`]).
    #[inline(always)]
    pub fn normals(&self, index: u64, stream: u32, draw: u32) -> [f32; 4] {
        self.words(index, stream, draw).map(normal)
    }
}

/// Philox4x32-10 for `L` consecutive indices at once: lane `l` is
/// `philox4x32([first + l (lo, hi)], stream, draw], key)`, word for word what [`Philox::words`]
/// gives ([`philox4x32_lanes_at`] of those indices).
#[inline(always)]
pub fn philox4x32_lanes<const L: usize>(
    key: [u32; 2],
    first: u64,
    stream: u32,
    draw: u32,
) -> [[u32; L]; 4] {
    philox4x32_lanes_at(
        key,
        std::array::from_fn(|l| first.wrapping_add(l as u64)),
        stream,
        draw,
    )
}

/// Philox4x32-10 for `L` indices at once: lane `l` is `philox4x32([index[l] (lo, hi), stream,
/// draw], key)`, word for word what [`Philox::words`] gives. Written as fixed-width loops over
/// the lanes (structure of arrays) so that the compiler turns each 32×32→64 multiply into vector
/// multiplies (`vpmuludq` with AVX2): the CPU line's generator cost is this, per cell, divided by
/// the lane width; pack life's fade scalars draw a pack's cells (indices anywhere in a window)
/// this way.
#[allow(clippy::needless_range_loop)] // lane-indexed SoA loops are what vectorises
#[inline(always)]
pub fn philox4x32_lanes_at<const L: usize>(
    key: [u32; 2],
    index: [u64; L],
    stream: u32,
    draw: u32,
) -> [[u32; L]; 4] {
    let mut c = [[0u32; L]; 4];
    for l in 0..L {
        c[0][l] = index[l] as u32;
        c[1][l] = (index[l] >> 32) as u32;
        c[2][l] = stream;
        c[3][l] = draw;
    }
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let mut n = [[0u32; L]; 4];
        for l in 0..L {
            let (hi0, lo0) = mulhilo(M0, c[0][l]);
            let (hi1, lo1) = mulhilo(M1, c[2][l]);
            n[0][l] = hi1 ^ c[1][l] ^ k[0];
            n[1][l] = lo1;
            n[2][l] = hi0 ^ c[3][l] ^ k[1];
            n[3][l] = lo0;
        }
        c = n;
    }
    c
}

/// [`philox4x32_lanes`] for 8 lanes with AVX2 intrinsics: each 32×32→64 multiply of the eight
/// lanes is two `vpmuludq` (even lanes, then odd lanes shifted down) and two shuffles that gather
/// the high and the low words (`mulhilo_sigma`) — what the compiler's portable
/// version spends more shuffles on. The same words (the tests hold it to the scalar generator).
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub unsafe fn philox4x32_x8_avx2(
    key: [u32; 2],
    first: u64,
    stream: u32,
    draw: u32,
) -> [[u32; 8]; 4] {
    // SAFETY: the caller guarantees AVX2.
    unsafe { philox4x32_x8_avx2_streams(key, first, [stream], draw)[0] }
}

/// [`philox4x32_x8_avx2`] of `S` streams of the same cells, their rounds interleaved: one
/// stream's ten rounds are a chain of dependent multiplies, and the streams side by side keep
/// the multipliers busy. Stream `s` gives what `philox4x32_x8_avx2(.., streams[s], draw)` gives.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub unsafe fn philox4x32_x8_avx2_streams<const S: usize>(
    key: [u32; 2],
    first: u64,
    streams: [u32; S],
    draw: u32,
) -> [[[u32; 8]; 4]; S] {
    use std::arch::x86_64::*;
    let (mut lo, mut hi) = ([0u32; 8], [0u32; 8]);
    for l in 0..8 {
        let index = first.wrapping_add(l as u64);
        lo[l] = index as u32;
        hi[l] = (index >> 32) as u32;
    }
    // SAFETY: unaligned loads and stores of 32-byte arrays; the caller guarantees AVX2.
    unsafe {
        let (c0, c1) = (
            _mm256_loadu_si256(lo.as_ptr().cast()),
            _mm256_loadu_si256(hi.as_ptr().cast()),
        );
        let mut c = [[c0, c1, c0, c0]; S];
        for (cs, &s) in c.iter_mut().zip(&streams) {
            cs[2] = _mm256_set1_epi32(s as i32);
            cs[3] = _mm256_set1_epi32(draw as i32);
        }
        let m0 = _mm256_set1_epi64x(i64::from(M0));
        let m1 = _mm256_set1_epi64x(i64::from(M1));
        let mut k = key;
        let mut first_round = 0;
        if (first >> 32) == (first.wrapping_add(7) >> 32) {
            // Every lane has the same high index word (all but 7 groups in 2³²).
            (c, k) = (
                first_two_rounds(key, c0, (first >> 32) as u32, streams, draw),
                [key[0].wrapping_add(W0), key[1].wrapping_add(W1)],
            );
            first_round = 2;
        }
        for round in first_round..10 {
            if round > 0 {
                k[0] = k[0].wrapping_add(W0);
                k[1] = k[1].wrapping_add(W1);
            }
            let k0 = _mm256_set1_epi32(k[0] as i32);
            let k1 = _mm256_set1_epi32(k[1] as i32);
            for cs in &mut c {
                let (hi0, lo0) = mulhilo_sigma(cs[0], m0);
                let (hi1, lo1) = mulhilo_sigma(cs[2], m1);
                *cs = [
                    _mm256_xor_si256(_mm256_xor_si256(hi1, cs[1]), k0),
                    lo1,
                    _mm256_xor_si256(_mm256_xor_si256(hi0, cs[3]), k1),
                    lo0,
                ];
            }
        }
        let mut out = [[[0u32; 8]; 4]; S];
        let unswap = |v: __m256i| {
            _mm256_castps_si256(_mm256_permute_ps::<0b11_01_10_00>(_mm256_castsi256_ps(v)))
        };
        for (o, cs) in out.iter_mut().zip(&c) {
            let words = [cs[0], cs[1], unswap(cs[2]), unswap(cs[3])];
            for (w, v) in o.iter_mut().zip(words) {
                _mm256_storeu_si256(w.as_mut_ptr().cast(), v);
            }
        }
        out
    }
}

/// (hi, lo) words of `a·m` in each 32-bit lane (`m` in every 64-bit lane), lanes 1 and 2 of each
/// 128-bit half swapped (σ): one `vshufps` gathers each from the even and odd products, where
/// putting them back in order took two shifts and two blends. σ is its own inverse, so in
/// [`philox4x32_x8_avx2_streams`] words 0 and 1 of the state stay in lane order and words 2 and 3
/// in σ order round after round (word 2 goes into the multiply whose products meet word 1, and
/// word 0 into the one whose products meet word 3); words 2 and 3 are put back at the end.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn mulhilo_sigma(
    a: std::arch::x86_64::__m256i,
    m: std::arch::x86_64::__m256i,
) -> (std::arch::x86_64::__m256i, std::arch::x86_64::__m256i) {
    use std::arch::x86_64::*;
    let even = _mm256_castsi256_ps(_mm256_mul_epu32(a, m));
    let odd = _mm256_castsi256_ps(_mm256_mul_epu32(_mm256_srli_epi64::<32>(a), m));
    (
        _mm256_castps_si256(_mm256_shuffle_ps::<0b11_01_11_01>(even, odd)),
        _mm256_castps_si256(_mm256_shuffle_ps::<0b10_00_10_00>(even, odd)),
    )
}

/// Rounds 0 and 1 of [`philox4x32_x8_avx2_streams`] where the 8 lanes share the high index word
/// `hi` (`c0` their low words): the first round's multiply of word 2 (the stream) and the second
/// round's of word 0 are then the same for all lanes, scalars, and the first round's of word 0
/// is the same for all streams — one lane multiply a stream and one for them all, instead of four
/// a stream. The state after round 1, words 2 and 3 in σ order ([`mulhilo_sigma`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn first_two_rounds<const S: usize>(
    key: [u32; 2],
    c0: std::arch::x86_64::__m256i,
    hi: u32,
    streams: [u32; S],
    draw: u32,
) -> [[std::arch::x86_64::__m256i; 4]; S] {
    use std::arch::x86_64::*;
    let (m0, m1) = (
        _mm256_set1_epi64x(i64::from(M0)),
        _mm256_set1_epi64x(i64::from(M1)),
    );
    let (hi0, lo0) = mulhilo_sigma(c0, m0);
    let c2 = _mm256_xor_si256(hi0, _mm256_set1_epi32((draw ^ key[1]) as i32));
    let k = [key[0].wrapping_add(W0), key[1].wrapping_add(W1)];
    let mut c = [[c0; 4]; S];
    for (cs, &s) in c.iter_mut().zip(&streams) {
        let [a, b, _, _] = philox_round([0, hi, s, 0], key);
        let [_, _, h, l] = philox_round([a, 0, 0, 0], [0, 0]);
        let (hi1, lo1) = mulhilo_sigma(c2, m1);
        *cs = [
            _mm256_xor_si256(hi1, _mm256_set1_epi32((b ^ k[0]) as i32)),
            lo1,
            _mm256_xor_si256(lo0, _mm256_set1_epi32((h ^ k[1]) as i32)),
            _mm256_set1_epi32(l as i32),
        ];
    }
    c
}

/// Uniform in the open interval (0, 1): the top 23 bits plus half a step, every operation exact in
/// f32, so the largest value is 1 − 2⁻²⁴ (with 24 bits and a half step the top value would round
/// to 1.0) and the smallest 2⁻²⁴ keeps `ln(u)` finite. The WGSL twin uses the same expression.
#[inline(always)]
pub fn uniform_open(x: u32) -> f32 {
    ((x >> 9) as f32 + 0.5) * (1.0 / 8_388_608.0)
}

/// Box–Muller: two uniforms in (0,1) → two independent standard normals. The smallest uniform,
/// 2⁻²⁴, bounds |z| below 5.8. The cell line draws its normals with [`normal`] (one uniform each,
/// no `sin`/`cos`); pack life's fade scalar still uses this pair.
#[inline(always)]
pub fn box_muller(u1: f32, u2: f32) -> (f32, f32) {
    let r = (-2.0 * u1.ln()).sqrt();
    let theta = std::f32::consts::TAU * u2;
    (r * theta.cos(), r * theta.sin())
}

/// A standard normal from one Philox word: the inverse normal CDF of [`uniform_open`]`(x)`.
/// One uniform per normal (Box–Muller needs two and a `sin`/`cos`), branch-free, so a loop of
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
    p = 3.432_739_39e-7 + p * a;
    p = -3.523_387_7e-6 + p * a;
    p = -4.391_506_54e-6 + p * a;
    p = 2.185_808_7e-4 + p * a;
    p = -1.253_725_03e-3 + p * a;
    p = -4.177_681_64e-3 + p * a;
    p = 2.466_407_27e-1 + p * a;
    1.501_409_41 + p * a
}

/// [`erfinv`]`(x) / x` for `w ≥ 5`.
// The coefficients as published (Giles; Cephes), though f32 holds fewer digits: they round to
// the values the WGSL twin writes.
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn erfinv_tail(w: f32) -> f32 {
    let b = w.sqrt() - 3.0;
    let mut q = -2.002_142_57e-4_f32;
    q = 1.009_505_58e-4 + q * b;
    q = 1.349_343_22e-3 + q * b;
    q = -3.673_428_44e-3 + q * b;
    q = 5.739_507_73e-3 + q * b;
    q = -7.622_461_3e-3 + q * b;
    q = 9.438_870_47e-3 + q * b;
    q = 1.001_674_06 + q * b;
    2.832_976_82 + q * b
}

/// Natural logarithm of a positive normal f32 (Cephes' `logf`: exponent split, a degree-9
/// polynomial on the mantissa in [√½, √2), within 2 ulp). Plain arithmetic and bit operations, so
/// it vectorises (the C library's `logf` does not) and the WGSL twin computes the same expression.
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
    y = y * x - 1.151_461_03e-1;
    y = y * x + 1.167_699_87e-1;
    y = y * x - 1.242_014_08e-1;
    y = y * x + 1.424_932_28e-1;
    y = y * x - 1.666_805_77e-1;
    y = y * x + 2.000_071_48e-1;
    y = y * x - 2.499_999_4e-1;
    y = y * x + 3.333_333_1e-1;
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

    /// Random123's known-answer vectors for Philox4x32-10 (kat_vectors).
    #[test]
    fn philox_known_answers() {
        assert_eq!(
            philox4x32([0; 4], [0; 2]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn uniforms_stay_open() {
        assert_eq!(uniform_open(0), 2f32.powi(-24));
        assert_eq!(uniform_open(u32::MAX), 1.0 - 2f32.powi(-24));
        assert!(box_muller(uniform_open(0), 0.0).0.is_finite());
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

    /// The lane generator gives, lane by lane, the scalar generator's words, across the 2³² carry
    /// of the index.
    #[test]
    #[allow(clippy::needless_range_loop)]
    fn lanes_equal_scalar_words() {
        let g = Philox::new(0x1234_5678_9abc_def0);
        // (The AVX2 streams take a shortcut where the 8 lanes share the high index word: the
        // first two and the fourth.)
        for first in [0u64, 5, (1 << 32) - 3, (7 << 32) + 9, u64::MAX - 2] {
            let w = philox4x32_lanes::<8>(g.key(), first, stream::WINDING, 1);
            for l in 0..8 {
                let s = g.words(first.wrapping_add(l as u64), stream::WINDING, 1);
                assert_eq!(
                    s,
                    [w[0][l], w[1][l], w[2][l], w[3][l]],
                    "first {first} lane {l}"
                );
            }
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                let v = unsafe { philox4x32_x8_avx2(g.key(), first, stream::WINDING, 1) };
                assert_eq!(v, w, "AVX2 lanes, first {first}");
                let streams = [stream::COATING, stream::WINDING, stream::EOL];
                // SAFETY: the CPU has AVX2.
                let v = unsafe { philox4x32_x8_avx2_streams(g.key(), first, streams, 1) };
                for (v, s) in v.iter().zip(streams) {
                    assert_eq!(
                        *v,
                        philox4x32_lanes::<8>(g.key(), first, s, 1),
                        "stream {s}"
                    );
                }
            }
        }
    }

    /// The lane generator at scattered indices (a pack's cells: anywhere in a window, across
    /// the 2³² carry) gives each lane the scalar generator's words.
    #[test]
    fn lanes_at_scattered_indices_equal_scalar_words() {
        let g = Philox::new(0x0fed_cba9_8765_4321);
        let index = [
            7u64,
            3,
            (1 << 32) + 11,
            0,
            u64::MAX,
            1 << 40,
            12_345_678_901,
            2,
        ];
        let w = philox4x32_lanes_at::<8>(g.key(), index, stream::AGING_CELL, 0);
        for (l, &i) in index.iter().enumerate() {
            let s = g.words(i, stream::AGING_CELL, 0);
            assert_eq!(s, [w[0][l], w[1][l], w[2][l], w[3][l]], "index {i}");
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
