//! Philox4x32-10 for 16 consecutive indices with AVX-512: two of the CPU line's 8-lane groups per
//! call. The same schedule as the AVX2 generator ([`super::philox4x32_x8_avx2_streams`]: σ-ordered
//! words 2 and 3, the first two rounds shared where the lanes share the high index word), at
//! twice the width, with the 32 vector registers holding three streams' state without spilling
//! (the AVX2 loop spilled five of its sixteen) and each round's two XORs one `vpternlogd`. A
//! one-thread run of 3·10⁶ cells' line and matching went from 0.395 to 0.370 s with it.

use super::{M0, M1, W0, W1, shared_round_words};
use std::arch::x86_64::*;

/// Cells per call: two of the line's lane groups of 8.
pub const WIDE: usize = 16;

/// [`super::philox4x32_lanes`] of `S` streams for the 16 cells `first..first + 16`, returned as
/// two groups of 8 (`[group][stream][word][lane]`): stream `s` of group `g` is
/// `philox4x32_lanes::<8>(key, first + 8·g, streams[s], draw)`, word for word. Three streams at
/// a time: their state and the constants fill the registers.
///
/// # Safety
/// The CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
pub unsafe fn philox4x32_x16_avx512_streams<const S: usize>(
    key: [u32; 2],
    first: u64,
    streams: [u32; S],
    draw: u32,
) -> [[[[u32; 8]; 4]; S]; 2] {
    let mut out = [[[[0u32; 8]; 4]; S]; 2];
    let mut at = 0;
    while at < S {
        let n = (S - at).min(3);
        let mut three = [0u32; 3];
        three[..n].copy_from_slice(&streams[at..at + n]);
        let words = three_streams(key, first, three, draw);
        for (o, w) in out.iter_mut().zip(&words) {
            o[at..at + n].copy_from_slice(&w[..n]);
        }
        at += n;
    }
    out
}

/// [`philox4x32_x16_avx512_streams`] of three streams.
#[target_feature(enable = "avx512f")]
#[inline]
fn three_streams(
    key: [u32; 2],
    first: u64,
    streams: [u32; 3],
    draw: u32,
) -> [[[[u32; 8]; 4]; 3]; 2] {
    let (mut lo, mut hi) = ([0u32; WIDE], [0u32; WIDE]);
    for l in 0..WIDE {
        let index = first.wrapping_add(l as u64);
        lo[l] = index as u32;
        hi[l] = (index >> 32) as u32;
    }
    // SAFETY: unaligned loads of 64-byte arrays.
    let (c0, c1) = unsafe {
        (
            _mm512_loadu_si512(lo.as_ptr().cast()),
            _mm512_loadu_si512(hi.as_ptr().cast()),
        )
    };
    let mut c = [[c0, c1, c0, c0]; 3];
    for (cs, &s) in c.iter_mut().zip(&streams) {
        cs[2] = _mm512_set1_epi32(s as i32);
        cs[3] = _mm512_set1_epi32(draw as i32);
    }
    let m0 = _mm512_set1_epi64(i64::from(M0));
    let m1 = _mm512_set1_epi64(i64::from(M1));
    let mut k = key;
    let mut first_round = 0;
    if (first >> 32) == (first.wrapping_add(WIDE as u64 - 1) >> 32) {
        // Every lane has the same high index word (all but 15 calls in 2³² cells).
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
        let k0 = _mm512_set1_epi32(k[0] as i32);
        let k1 = _mm512_set1_epi32(k[1] as i32);
        for cs in &mut c {
            let (hi0, lo0) = mulhilo_sigma(cs[0], m0);
            let (hi1, lo1) = mulhilo_sigma(cs[2], m1);
            // 0x96: a ^ b ^ c.
            *cs = [
                _mm512_ternarylogic_epi32::<0x96>(hi1, cs[1], k0),
                lo1,
                _mm512_ternarylogic_epi32::<0x96>(hi0, cs[3], k1),
                lo0,
            ];
        }
    }
    let mut out = [[[[0u32; 8]; 4]; 3]; 2];
    let unswap = |v: __m512i| {
        _mm512_castps_si512(_mm512_permute_ps::<0b11_01_10_00>(_mm512_castsi512_ps(v)))
    };
    for (s, cs) in c.iter().enumerate() {
        let words = [cs[0], cs[1], unswap(cs[2]), unswap(cs[3])];
        for (w, v) in words.into_iter().enumerate() {
            // SAFETY: unaligned stores of 32-byte arrays.
            unsafe {
                _mm256_storeu_si256(out[0][s][w].as_mut_ptr().cast(), _mm512_castsi512_si256(v));
                _mm256_storeu_si256(
                    out[1][s][w].as_mut_ptr().cast(),
                    _mm512_extracti64x4_epi64::<1>(v),
                );
            }
        }
    }
    out
}

/// `super::mulhilo_sigma` at 16 lanes: (hi, lo) of `a·m`, lanes 1 and 2 of each 128-bit quarter
/// swapped (`vshufps` works within 128-bit lanes at every width).
#[target_feature(enable = "avx512f")]
#[inline]
fn mulhilo_sigma(a: __m512i, m: __m512i) -> (__m512i, __m512i) {
    let even = _mm512_castsi512_ps(_mm512_mul_epu32(a, m));
    let odd = _mm512_castsi512_ps(_mm512_mul_epu32(_mm512_srli_epi64::<32>(a), m));
    (
        _mm512_castps_si512(_mm512_shuffle_ps::<0b11_01_11_01>(even, odd)),
        _mm512_castps_si512(_mm512_shuffle_ps::<0b10_00_10_00>(even, odd)),
    )
}

/// `super::first_two_rounds` at 16 lanes: rounds 0 and 1 where the lanes share the high index
/// word `hi` (`c0` their low words); the state after round 1, words 2 and 3 in σ order.
#[target_feature(enable = "avx512f")]
#[inline]
fn first_two_rounds<const S: usize>(
    key: [u32; 2],
    c0: __m512i,
    hi: u32,
    streams: [u32; S],
    draw: u32,
) -> [[__m512i; 4]; S] {
    let (m0, m1) = (
        _mm512_set1_epi64(i64::from(M0)),
        _mm512_set1_epi64(i64::from(M1)),
    );
    let (hi0, lo0) = mulhilo_sigma(c0, m0);
    let c2 = _mm512_xor_si512(hi0, _mm512_set1_epi32((draw ^ key[1]) as i32));
    let (hi1, lo1) = mulhilo_sigma(c2, m1);
    let mut c = [[c0; 4]; S];
    for (cs, &s) in c.iter_mut().zip(&streams) {
        let [x0, x2, w3] = shared_round_words(key, hi, s);
        *cs = [
            _mm512_xor_si512(hi1, _mm512_set1_epi32(x0 as i32)),
            lo1,
            _mm512_xor_si512(lo0, _mm512_set1_epi32(x2 as i32)),
            _mm512_set1_epi32(w3 as i32),
        ];
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Philox, philox4x32_lanes, stream};

    /// Each group's words are the portable lane generator's, stream by stream, for runs of 16
    /// that share the high index word (the shortcut) and that cross the 2³² carry at every place
    /// within the run.
    #[test]
    fn sixteen_lanes_equal_the_lane_generator() {
        if !std::is_x86_feature_detected!("avx512f") {
            eprintln!("no AVX-512F on this CPU: the 16-lane generator is not used here");
            return;
        }
        let g = Philox::new(0x1234_5678_9abc_def0);
        // Five streams: a call's first three and a last two.
        let streams = [
            stream::COATING,
            stream::WINDING,
            stream::EOL,
            stream::FILLING,
            stream::FORMATION,
        ];
        let carry = (1u64 << 32) - 16..(1u64 << 32);
        for first in [0u64, 5, (7 << 32) + 9, u64::MAX - 20]
            .into_iter()
            .chain(carry)
        {
            // SAFETY: the CPU has AVX-512F (checked above).
            let v = unsafe { philox4x32_x16_avx512_streams(g.key(), first, streams, 1) };
            for (h, group) in v.iter().enumerate() {
                let at = first.wrapping_add(8 * h as u64);
                for (words, s) in group.iter().zip(streams) {
                    assert_eq!(
                        *words,
                        philox4x32_lanes::<8>(g.key(), at, s, 1),
                        "first {first} group {h} stream {s}"
                    );
                }
            }
        }
    }
}
