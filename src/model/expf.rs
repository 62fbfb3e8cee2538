//! `f32::exp` of eight lanes at once, bit for bit what the system's `expf` returns where it is
//! glibc's FMA variant (`__expf_fma`, which glibc picks on CPUs with AVX2 and FMA): the same
//! algorithm, table and constants, and the same fused operations in the same order, four lanes
//! of f64 at a time. The lane loop called `expf` sixteen times a group, each call spilling the
//! vector registers; a lane glibc treats as a special case (|x| ≳ 88, NaN, ∞) still calls it.
//! The algorithm and table are Arm's optimized-routines `expf` (Szabolcs Nagy; MIT OR Apache-2.0
//! WITH LLVM-exception), which glibc took for its `expf`.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// glibc's `__exp2f_data` table: 2^(i/32), less `i << 47` in the bits (added back below).
const TAB: [u64; 32] = [
    0x3ff0000000000000,
    0x3fefd9b0d3158574,
    0x3fefb5586cf9890f,
    0x3fef9301d0125b51,
    0x3fef72b83c7d517b,
    0x3fef54873168b9aa,
    0x3fef387a6e756238,
    0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715,
    0x3feef1a7373aa9cb,
    0x3feedea64c123422,
    0x3feece086061892d,
    0x3feebfdad5362a27,
    0x3feeb42b569d4f82,
    0x3feeab07dd485429,
    0x3feea47eb03a5585,
    0x3feea09e667f3bcd,
    0x3fee9f75e8ec5f74,
    0x3feea11473eb0187,
    0x3feea589994cce13,
    0x3feeace5422aa0db,
    0x3feeb737b0cdc5e5,
    0x3feec49182a3f090,
    0x3feed503b23e255d,
    0x3feee89f995ad3ad,
    0x3feeff76f2fb5e47,
    0x3fef199bdd85529c,
    0x3fef3720dcef9069,
    0x3fef5818dcfba487,
    0x3fef7c97337b9b5f,
    0x3fefa4afa2a490da,
    0x3fefd0765b6e4540,
];
/// 32/ln 2.
const INV_LN2_N: u64 = 0x40471547652b82fe;
/// 2⁵² + 2⁵¹: adding it rounds to an integer in the low bits.
const SHIFT: u64 = 0x4338000000000000;
/// The polynomial's coefficients, in glibc's order.
const C: [u64; 3] = [0x3ebc6af84b912394, 0x3f2ebfce50fac4f3, 0x3f962e42ff0c52d6];
/// A lane whose `(bits >> 20) & 0x7ff` is above this is one of glibc's special cases.
const SPECIAL: i32 = 0x42a;

/// `x.map(f32::exp)`, bit for bit: [`exp8_fma`] where the system's `expf` is glibc's FMA variant
/// (glibc on a CPU with AVX2 and FMA), else a call per lane.
#[inline(always)]
pub fn exp8(x: [f32; 8]) -> [f32; 8] {
    #[cfg(all(target_arch = "x86_64", target_env = "gnu"))]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: AVX2 and FMA were detected.
        return unsafe { exp8_fma(x) };
    }
    x.map(f32::exp)
}

/// `x.map(f32::exp)` where the system's `expf` is glibc's FMA variant (see the module).
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn exp8_fma(x: [f32; 8]) -> [f32; 8] {
    let d = |b: u64| _mm256_set1_pd(f64::from_bits(b));
    let (inv, shift, one) = (d(INV_LN2_N), d(SHIFT), _mm256_set1_pd(1.0));
    let (c0, c1, c2) = (d(C[0]), d(C[1]), d(C[2]));
    let mut out = [0.0f32; 8];
    // SAFETY: 8 lanes of `x`; an unaligned load.
    let top = _mm256_srli_epi32::<20>(unsafe { _mm256_loadu_si256(x.as_ptr().cast()) });
    let top = _mm256_and_si256(top, _mm256_set1_epi32(0x7ff));
    let special = _mm256_movemask_epi8(_mm256_cmpgt_epi32(top, _mm256_set1_epi32(SPECIAL)));
    for h in 0..2 {
        // SAFETY: 4·h + 4 ≤ 8 lanes of `x` and of `out`; unaligned loads and stores.
        unsafe {
            let xd = _mm256_cvtps_pd(_mm_loadu_ps(x.as_ptr().add(4 * h)));
            let z = _mm256_fmadd_pd(inv, xd, shift);
            let ki = _mm256_castpd_si256(z);
            let kd = _mm256_sub_pd(z, shift);
            let r = _mm256_fmsub_pd(inv, xd, kd);
            let idx = _mm256_and_si256(ki, _mm256_set1_epi64x(31));
            // Four loads, not a gather (slow on AMD).
            let mut i = [0u64; 4];
            _mm256_storeu_si256(i.as_mut_ptr().cast(), idx);
            let t = i.map(|i| TAB[i as usize & 31] as i64);
            let t = _mm256_set_epi64x(t[3], t[2], t[1], t[0]);
            let s = _mm256_castsi256_pd(_mm256_add_epi64(t, _mm256_slli_epi64::<47>(ki)));
            let p = _mm256_fmadd_pd(r, c0, c1);
            let r2 = _mm256_mul_pd(r, r);
            let y = _mm256_fmadd_pd(r, c2, one);
            let y = _mm256_mul_pd(_mm256_fmadd_pd(p, r2, y), s);
            _mm_storeu_ps(out.as_mut_ptr().add(4 * h), _mm256_cvtpd_ps(y));
        }
    }
    if special != 0 {
        for (o, &v) in out.iter_mut().zip(&x) {
            if (v.to_bits() >> 20) & 0x7ff > SPECIAL as u32 {
                *o = v.exp();
            }
        }
    }
    out
}

#[cfg(all(test, target_arch = "x86_64", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Every `step`-th f32 bit pattern from `first`, eight at a time, against `f32::exp`.
    fn check(first: u32, step: u32) {
        let mut bits = first;
        let mut x = [0.0f32; 8];
        while bits.checked_add(8 * step).is_some() {
            for v in &mut x {
                *v = f32::from_bits(bits);
                bits += step;
            }
            // SAFETY: AVX2 and FMA were detected by the caller.
            let y = unsafe { exp8_fma(x) };
            for (a, b) in x.iter().zip(y) {
                assert_eq!(b.to_bits(), a.exp().to_bits(), "exp({a:e})");
            }
        }
    }

    /// Equal to the system's `expf` on a spread of every f32 (both signs, specials included),
    /// where that is glibc's FMA variant (the CPU has FMA and the system is glibc).
    #[test]
    fn exp8_equals_expf() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return;
        }
        check(0, 97);
        check(5, 1021);
    }

    /// Every f32 (minutes): `cargo test --release -- --ignored exp8_every`. Ignored in the suite
    /// for its time on CI's two cores; `exp8_equals_expf` samples the same comparison there, and
    /// this one was run when the port was made (it passed).
    #[test]
    #[ignore = "every f32 bit pattern: minutes; sampled by exp8_equals_expf"]
    fn exp8_every_f32() {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            check(0, 1);
        }
    }
}
