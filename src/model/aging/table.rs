//! The rate table: BLAST-Lite's calendar rate averaged over the duty's SOC sweep, tabulated once a
//! scene over temperature (see [`super`]'s doc), and its lookups — one at a time, eight at a time
//! with AVX2. Apart from the laws because it is their numerics' table, read by both engines (the
//! GPU's storage buffer holds the same values).

use super::{AgingParams, k_cal_at};
use crate::scene::Life;

/// `k_cal` tabulated over temperature, two entries per temperature: the SOC-sweep average while
/// cycling, and the value at the rest SOC.
#[derive(Clone, Debug, PartialEq)]
pub struct RateTable {
    /// `k_cal` as `(cycling average, rest)` pairs, from `table_t0` in steps of `table_dt`.
    pub values: Vec<f32>,
}

/// Midpoint quadrature points over the SOC window. 16 points land within 3e-4 of BLAST-Lite's
/// 30-s sampled day (checked against the reference values in the tests).
const SOC_POINTS: usize = 16;

/// What a [`RateTable`] is made from: the law, the temperature grid and the SOC window and rest
/// (as bits, so that equal means the same table).
#[derive(Clone, Copy, PartialEq, Eq)]
struct TableKey {
    law: u32,
    grid: [u32; 3],
    soc: [u64; 3],
}

/// The last table made and its key. A run makes the table for its packs and again for the
/// nominal cell, and the app's runs after a process slider (a sweep's, an attribution's) have the
/// same duty: ≈ 24 000 evaluations of BLAST-Lite's calendar law (≈ 4 ms, a twentieth of a
/// 10⁵-cell preview) each time, for the same numbers.
static LAST_TABLE: std::sync::Mutex<Option<(TableKey, RateTable)>> = std::sync::Mutex::new(None);

impl RateTable {
    /// Tabulate in f64, store f32 (what the GPU reads too); the last table made is reused when
    /// asked for again.
    pub fn new(a: &AgingParams, life: &Life) -> RateTable {
        let key = TableKey {
            law: a.law,
            grid: [a.table_t0.to_bits(), a.table_per_k.to_bits(), a.table_len],
            soc: [life.soc_lo, life.soc_hi, life.soc_rest].map(f64::to_bits),
        };
        // A poisoned lock only means another thread panicked while holding a finished table.
        let mut last = LAST_TABLE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, t)) = last.as_ref()
            && *k == key
        {
            return t.clone();
        }
        let table = RateTable::tabulate(a, life);
        *last = Some((key, table.clone()));
        table
    }

    fn tabulate(a: &AgingParams, life: &Life) -> RateTable {
        let chem = a.chemistry();
        let mut values = Vec::with_capacity(2 * a.table_len as usize);
        for i in 0..a.table_len {
            let t = f64::from(a.table_t0) + f64::from(i) / f64::from(a.table_per_k);
            let sweep = (0..SOC_POINTS)
                .map(|j| {
                    let soc = life.soc_lo
                        + (life.soc_hi - life.soc_lo) * (j as f64 + 0.5) / SOC_POINTS as f64;
                    k_cal_at(chem, t, soc)
                })
                .sum::<f64>()
                / SOC_POINTS as f64;
            values.push(sweep as f32);
            values.push(k_cal_at(chem, t, life.soc_rest) as f32);
        }
        RateTable { values }
    }
}

/// Linear interpolation of the rate table `values` at temperature `t_k`; `which` 0 = cycling
/// average, 1 = rest. On a plain slice, as the shader reads its storage buffer.
#[inline]
pub fn table_lookup(values: &[f32], a: &AgingParams, t_k: f32, which: usize) -> f32 {
    assert!(table_fits(values, a) && which < 2);
    // SAFETY: checked just above.
    unsafe { table_lookup_unchecked(values, a, t_k, which) }
}

/// Whether `values` holds the `table_len` pairs that `a` describes (at least two): what
/// [`table_lookup_unchecked`] needs.
#[inline]
pub fn table_fits(values: &[f32], a: &AgingParams) -> bool {
    a.table_len >= 2 && values.len() >= 2 * a.table_len as usize
}

/// [`table_lookup`] without its check, for the pack's vectorised rate pass (a bounds check per
/// cell would keep the loop scalar; the pass checks [`table_fits`] once).
///
/// # Safety
/// [`table_fits`]`(values, a)` and `which < 2`.
#[inline(always)]
pub unsafe fn table_lookup_unchecked(
    values: &[f32],
    a: &AgingParams,
    t_k: f32,
    which: usize,
) -> f32 {
    let x = ((t_k - a.table_t0) * a.table_per_k).clamp(0.0, (a.table_len - 1) as f32);
    // `x` is clamped to ≥ 0 (or NaN), where the cast's truncation is the shader's `floor` (a NaN
    // indexes 0 either way): without SSE4.1 `floor` is a libm call. `as i32` is a saturating
    // conversion that compiled to scalar code with range checks on every lane; with the NaN
    // taken to 0 first, `x` is in [0, table_len) and the plain conversion is exact and
    // vectorises (`f` below still reads the NaN, as before).
    let x_or_0 = if x >= 0.0 { x } else { 0.0 };
    // SAFETY: `x_or_0` is finite and in [0, table_len − 1], within i32.
    let i = (unsafe { x_or_0.to_int_unchecked::<i32>() } as u32).min(a.table_len - 2) as usize;
    let f = x - i as f32;
    // SAFETY: i ≤ table_len − 2, so 2i + 3 < 2·table_len ≤ values.len() (the caller's promise).
    let (v0, v1) = unsafe {
        (
            *values.get_unchecked(2 * i + which),
            *values.get_unchecked(2 * i + 2 + which),
        )
    };
    v0 + (v1 - v0) * f
}

/// [`table_lookup_unchecked`] of column `which` at each temperature of `t_k`, into `out`: with
/// AVX2 eight at a time, each table read a gather (the scalar reads were 16 loads and inserts
/// per 8 cells, with their indices moved out of the vector one by one). The same operations in
/// the same order, so the same bits.
///
/// # Safety
/// [`table_fits`]`(values, a)` and `which < 2`.
#[inline(always)]
pub unsafe fn table_lookups(
    values: &[f32],
    a: &AgingParams,
    t_k: &[f32],
    which: usize,
    out: &mut [f32],
) {
    let n = t_k.len().min(out.len());
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2; the rest is the caller's promise.
        done = unsafe { table_lookups_avx2(values, a, &t_k[..n], which, &mut out[..n]) };
    }
    for (o, &t) in out[done..n].iter_mut().zip(&t_k[done..n]) {
        // SAFETY: the caller's promise.
        *o = unsafe { table_lookup_unchecked(values, a, t, which) };
    }
}

/// [`table_lookups`]' whole vectors of 8; how many cells it did.
///
/// # Safety
/// The CPU has AVX2, [`table_fits`]`(values, a)` and `which < 2`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn table_lookups_avx2(
    values: &[f32],
    a: &AgingParams,
    t_k: &[f32],
    which: usize,
    out: &mut [f32],
) -> usize {
    use std::arch::x86_64::*;
    let (t0, per_k) = (_mm256_set1_ps(a.table_t0), _mm256_set1_ps(a.table_per_k));
    let (zero, hi) = (
        _mm256_setzero_ps(),
        _mm256_set1_ps((a.table_len - 1) as f32),
    );
    let last = _mm256_set1_epi32((a.table_len - 2) as i32);
    // SAFETY: `which < 2` and the table holds at least two pairs.
    let base = unsafe { values.as_ptr().add(which) };
    let n = t_k.len().min(out.len()) / 8 * 8;
    for i in (0..n).step_by(8) {
        // SAFETY: i + 8 ≤ n ≤ both lengths; every gathered index is 2j + which or 2j + 2 + which
        // with j ≤ table_len − 2, within the table (the caller's promise).
        unsafe {
            let t = _mm256_loadu_ps(t_k.as_ptr().add(i));
            let x = _mm256_mul_ps(_mm256_sub_ps(t, t0), per_k);
            // `f32::clamp(0, hi)`: `max`/`min` return their second operand when either is NaN
            // or both are zeros, so a NaN or −0 stays, as with `clamp`.
            let x = _mm256_min_ps(hi, _mm256_max_ps(zero, x));
            // `x_or_0` (NaN → 0), truncated, at most `table_len − 2`.
            let x_or_0 = _mm256_and_ps(x, _mm256_cmp_ps::<_CMP_GE_OQ>(x, zero));
            let j = _mm256_min_epu32(_mm256_cvttps_epi32(x_or_0), last);
            let f = _mm256_sub_ps(x, _mm256_cvtepi32_ps(j));
            let at = _mm256_slli_epi32::<1>(j);
            let v0 = _mm256_i32gather_ps::<4>(base, at);
            let v1 = _mm256_i32gather_ps::<4>(base.add(2), at);
            let v = _mm256_add_ps(v0, _mm256_mul_ps(_mm256_sub_ps(v1, v0), f));
            _mm256_storeu_ps(out.as_mut_ptr().add(i), v);
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::aging::Nominal;
    use crate::scene::{Chemistry, Scene};

    /// The vectorised lookups are [`table_lookup`]'s bit for bit: both columns, below, across and
    /// above the table (clamped), at its ends and at NaN, over a length that leaves a tail.
    #[test]
    fn table_lookups_are_table_lookup() {
        let life = Scene::preset(Chemistry::Nmc21700).life;
        let a = AgingParams::new(
            Chemistry::Nmc21700,
            &life,
            &Nominal::from_scene(&Scene::preset(Chemistry::Nmc21700)),
            96,
            1,
            0,
        );
        let table = RateTable::new(&a, &life);
        let span = (a.table_len - 1) as f32 / a.table_per_k;
        // The edges first, in the vectors' part (the last 207 % 8 = 7 take the scalar path).
        let mut t = vec![a.table_t0, a.table_t0 + span, f32::NAN, a.table_t0 - 1e-3];
        t.extend((0..203).map(|i| a.table_t0 - 3.0 + (span + 6.0) * i as f32 / 202.0));
        for which in 0..2 {
            let mut got = vec![0.0f32; t.len()];
            // SAFETY: the table is `a`'s, `which < 2`.
            unsafe { table_lookups(&table.values, &a, &t, which, &mut got) };
            for (&tk, g) in t.iter().zip(&got) {
                let want = table_lookup(&table.values, &a, tk, which);
                assert_eq!(want.to_bits(), g.to_bits(), "T {tk}, column {which}");
            }
        }
    }
}
