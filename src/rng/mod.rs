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
    /// Pack assembly: the `random` matching shuffle (index = window).
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
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
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

    /// Four standard normals (two Box–Muller pairs from one Philox call).
    #[inline(always)]
    pub fn normals(&self, index: u64, stream: u32, draw: u32) -> [f32; 4] {
        let u = self.uniforms(index, stream, draw);
        let (a, b) = box_muller(u[0], u[1]);
        let (c, d) = box_muller(u[2], u[3]);
        [a, b, c, d]
    }
}

/// Uniform in the open interval (0, 1): the top 23 bits plus half a step, every operation exact in
/// f32, so the largest value is 1 − 2⁻²⁴ (with 24 bits and a half step the top value would round
/// to 1.0) and the smallest 2⁻²⁴ keeps `ln(u)` finite. The WGSL twin uses the same expression.
#[inline(always)]
pub fn uniform_open(x: u32) -> f32 {
    ((x >> 9) as f32 + 0.5) * (1.0 / 8_388_608.0)
}

/// Box–Muller: two uniforms in (0,1) → two independent standard normals. The smallest uniform,
/// 2⁻²⁴, bounds |z| below 5.8, far beyond any spec limit the scenes use.
#[inline(always)]
pub fn box_muller(u1: f32, u2: f32) -> (f32, f32) {
    let r = (-2.0 * u1.ln()).sqrt();
    let theta = std::f32::consts::TAU * u2;
    (r * theta.cos(), r * theta.sin())
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

    /// Mean and variance of 400k normals within 5 standard errors of 0 and 1.
    #[test]
    fn normals_have_unit_moments() {
        let g = Philox::new(42);
        let n = 100_000u64;
        let (mut s, mut s2) = (0.0f64, 0.0f64);
        for i in 0..n {
            for z in g.normals(i, stream::COATING, 0) {
                s += z as f64;
                s2 += (z as f64) * (z as f64);
            }
        }
        let m = 4.0 * n as f64;
        let mean = s / m;
        let var = s2 / m - mean * mean;
        assert!(mean.abs() < 5.0 / m.sqrt(), "mean {mean}");
        // SE of the sample variance of normals is sqrt(2/m).
        assert!((var - 1.0).abs() < 5.0 * (2.0 / m).sqrt(), "var {var}");
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
