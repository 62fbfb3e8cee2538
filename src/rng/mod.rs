//! Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11).
//!
//! Every random draw in celltwin is a pure function of `(seed, cell, stream, draw)`, so a cell can be
//! regenerated anywhere — on any thread, in any chunk, on the CPU or in WGSL — and give the same
//! integers. The WGSL twin is `shaders/shared/philox.wgsl`; both are pinned by Random123's
//! known-answer vectors in the tests.
//!
//! Counter layout (four 32-bit words): `[index_lo, index_hi, stream, draw]`, key `[seed_lo, seed_hi]`.
//! `index` is a cell index, a lot index or a pack index depending on the stream; the stream ids live
//! in [`stream`] so that no two stages ever share a counter. What the words become (uniforms,
//! normals, Poisson counts) is in `numbers`, re-exported here.

#[cfg(target_arch = "x86_64")]
mod avx512;
mod numbers;
#[cfg(target_arch = "x86_64")]
pub use avx512::{WIDE, philox4x32_x16_avx512_streams};
pub use numbers::*;

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
    let (hi1, lo1) = mulhilo_sigma(c2, m1);
    let mut c = [[c0; 4]; S];
    for (cs, &s) in c.iter_mut().zip(&streams) {
        let [x0, x2, w3] = shared_round_words(key, hi, s);
        *cs = [
            _mm256_xor_si256(hi1, _mm256_set1_epi32(x0 as i32)),
            lo1,
            _mm256_xor_si256(lo0, _mm256_set1_epi32(x2 as i32)),
            _mm256_set1_epi32(w3 as i32),
        ];
    }
    c
}

/// The scalar part of the first two rounds of stream `s` where the lanes share the high index
/// word `hi` (`first_two_rounds` here and in `avx512`): after round 1, what word 0's lanes are
/// XORed with, what word 2's lanes are XORed with, and word 3 (the same in every lane).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn shared_round_words(key: [u32; 2], hi: u32, s: u32) -> [u32; 3] {
    let k = [key[0].wrapping_add(W0), key[1].wrapping_add(W1)];
    let [a, b, _, _] = philox_round([0, hi, s, 0], key);
    let [_, _, h, l] = philox_round([a, 0, 0, 0], [0, 0]);
    [b ^ k[0], h ^ k[1], l]
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
}
