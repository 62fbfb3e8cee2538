//! Streaming statistics of the line: counts, histograms and moments, merged from any number of
//! blocks in any order with the same result.
//!
//! Moments are kept in fixed point (i128 sums of values scaled by 2²⁴), so merging is integer
//! addition: associative, hence independent of thread count and chunk size bit for bit.

use crate::model::{CellRecord, LineParams, Scrap, Stage, flags};
use serde::{Deserialize, Serialize};

/// The moments' fixed-point scale, 2²⁴.
pub(super) const FIX: f64 = 16_777_216.0;

/// Count, mean and SD of a value, merged exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moments {
    /// Values pushed.
    pub n: u64,
    sum: i128,
    sum_sq: i128,
}

/// `v.round() as i64` (half away from zero, saturating, NaN → 0) without the C library's `round`,
/// which plain x86-64 calls out of line (SSE4.1's `roundsd` has no half-away mode): a truncation
/// and an exact comparison of the remainder. Every line cell's moments pass here eight times.
#[inline(always)]
fn round_half_away(v: f64) -> i64 {
    let t = v as i64;
    let r = v - t as f64;
    t.saturating_add(i64::from(r >= 0.5))
        .saturating_sub(i64::from(r <= -0.5))
}

impl Moments {
    #[inline(always)]
    /// Add one value (rounded to 2⁻²⁴).
    pub fn push(&mut self, x: f32) {
        let v = i128::from(round_half_away(f64::from(x) * FIX));
        self.n += 1;
        self.sum += v;
        self.sum_sq += v * v;
    }
    /// From a backend's own partial sums (e.g. a GPU's per-workgroup f32 sums, added in f64):
    /// exact from here on, but only as exact as the sums given.
    pub fn from_sums(n: u64, sum: f64, sum_sq: f64) -> Moments {
        Moments {
            n,
            sum: (sum * FIX).round() as i128,
            sum_sq: (sum_sq * FIX * FIX).round() as i128,
        }
    }

    /// The exact sums, Σv and Σv², v in units of 2⁻²⁴ (for [`super::tally`]).
    pub(super) fn sums(&self) -> (i128, i128) {
        (self.sum, self.sum_sq)
    }
    /// Add `n` values given by their exact sums (as [`Moments::sums`] gives them).
    pub(super) fn add_sums(&mut self, n: u64, sum: i128, sum_sq: i128) {
        self.n += n;
        self.sum += sum;
        self.sum_sq += sum_sq;
    }
    /// Add another block's moments (exact: integer sums).
    pub fn merge(&mut self, o: &Moments) {
        self.n += o.n;
        self.sum += o.sum;
        self.sum_sq += o.sum_sq;
    }
    /// Mean of the values; NaN when empty.
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        self.sum as f64 / self.n as f64 / FIX
    }
    /// Sample SD (n − 1). The sums are exact integers; the variance is formed in f64 from them
    /// (a product of two sums would overflow i128 beyond ~10⁹ large values). The cancellation in
    /// `Σx² − (Σx)²/n` costs ~1e-16 / CV² relative: 1e-11 at a CV of 0.3 %.
    pub fn sd(&self) -> f64 {
        if self.n < 2 {
            return f64::NAN;
        }
        let n = self.n as f64;
        let (s, s2) = (self.sum as f64, self.sum_sq as f64);
        ((s2 - s * s / n) / (n - 1.0)).max(0.0).sqrt() / FIX
    }
    /// Count, mean, SD and CV as reported.
    pub fn stats(&self) -> Stat {
        let (mean, sd) = (self.mean(), self.sd());
        Stat {
            n: self.n,
            mean,
            sd,
            cv: sd / mean,
        }
    }
}

/// Mean, SD and CV, as reported.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stat {
    /// Values counted.
    pub n: u64,
    /// Mean, in the value's unit.
    pub mean: f64,
    /// Sample SD (n − 1), in the value's unit.
    pub sd: f64,
    /// SD over mean (a fraction, not per cent).
    pub cv: f64,
}

/// A fixed-range histogram with under- and overflow counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Lower edge of the first bin.
    pub lo: f64,
    /// Upper edge of the last bin.
    pub hi: f64,
    /// Counts per bin, equal widths from `lo` to `hi`.
    pub counts: Vec<u64>,
    /// Values below `lo` (and NaN).
    pub underflow: u64,
    /// Values at or above `hi`.
    pub overflow: u64,
}

impl Histogram {
    /// An empty histogram of `bins` equal bins over `[lo, hi)`.
    pub fn new(lo: f64, hi: f64, bins: usize) -> Histogram {
        Histogram {
            lo,
            hi,
            counts: vec![0; bins],
            underflow: 0,
            overflow: 0,
        }
    }
    #[inline(always)]
    /// Count one value.
    pub fn push(&mut self, x: f32) {
        let t = (f64::from(x) - self.lo) / (self.hi - self.lo);
        if t < 0.0 || t.is_nan() {
            self.underflow += 1;
        } else if t >= 1.0 {
            self.overflow += 1;
        } else {
            let bins = self.counts.len();
            self.counts[((t * bins as f64) as usize).min(bins - 1)] += 1;
        }
    }
    /// Add another block's counts (same range and bins).
    pub fn merge(&mut self, o: &Histogram) {
        debug_assert_eq!(self.counts.len(), o.counts.len());
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        self.underflow += o.underflow;
        self.overflow += o.overflow;
    }
    /// Every value counted, under- and overflow included.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.underflow + self.overflow
    }
    /// Width of one bin, in the value's unit.
    pub fn bin_width(&self) -> f64 {
        (self.hi - self.lo) / self.counts.len() as f64
    }
    /// Bin centres and counts, for plots and CSV.
    pub fn centres(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let w = self.bin_width();
        self.counts
            .iter()
            .enumerate()
            .map(move |(i, &c)| (self.lo + (i as f64 + 0.5) * w, c))
    }
    /// Quantile by linear interpolation within the bin (under/overflow clamp to the range).
    pub fn quantile(&self, q: f64) -> f64 {
        let total = self.total();
        if total == 0 {
            return f64::NAN;
        }
        let target = q * total as f64;
        let mut acc = self.underflow as f64;
        if acc >= target {
            return self.lo;
        }
        let w = self.bin_width();
        for (i, &c) in self.counts.iter().enumerate() {
            if acc + c as f64 >= target && c > 0 {
                return self.lo + w * (i as f64 + (target - acc) / c as f64);
            }
            acc += c as f64;
        }
        self.hi
    }
}

/// A range of `bins` to `2·bins` bins covering `lo..hi` (60 keeps 14 or more bins per σ and bins
/// wide enough that the backends' last-bit differences move few values across an edge), its bin width a power of two and its edges
/// multiples of it: the GPU bins in f32 as `(x − lo)·(1/width)`, and with these the scaling is exact
/// and every edge representable, so both backends put each value in the same bin.
fn snapped(lo: f64, hi: f64, bins: usize) -> (f64, f64, usize) {
    let raw = (hi - lo) / bins as f64;
    let w = 2f64.powi(raw.log2().floor() as i32);
    let lo = (lo / w).floor() * w;
    let n = ((hi - lo) / w).ceil() as usize;
    (lo, lo + n as f64 * w, n)
}

/// Histogram ranges of a scene, fixed before the run so that blocks can merge exactly. They
/// follow the scene's effective spreads (mean ± 6σ, σ from the spreads as `LineParams` holds them,
/// `spread_scale` included), so a wide line's tails stay in view and a tight line's bars are not
/// a handful of bins; what falls outside is counted as under/overflow and drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistSpec {
    /// Cell capacity, Ah: (lo, hi, bins).
    pub capacity: (f64, f64, usize),
    /// Cell DCIR, mΩ: (lo, hi, bins).
    pub dcir: (f64, f64, usize),
    /// Measured K-value, mV/day: (lo, hi, bins).
    pub k: (f64, f64, usize),
    /// N/P ratio: (lo, hi, bins).
    pub np: (f64, f64, usize),
    /// Relative SD of a cell's measured capacity (for the pack histogram's range).
    pub capacity_rel_sd: f64,
}

impl HistSpec {
    /// The ranges for a scene's line parameters.
    pub fn for_params(p: &LineParams) -> HistSpec {
        let f = f64::from;
        let q = f(p.q_rated);
        let r = f(p.r_nominal);
        let np = f(p.np_design);
        let hyp = |xs: &[f64]| xs.iter().map(|x| x * x).sum::<f64>().sqrt();
        // Capacity: cathode loading (within and lot), area, first-cycle loss (cell and rack).
        let loss_sd = hyp(&[
            f(p.first_cycle_loss_sd),
            f(p.rack_temp_sd) * f(p.loss_per_degc),
        ]) / (1.0 - f(p.first_cycle_loss));
        let q_sd = hyp(&[
            f(p.cathode_cv),
            f(p.cathode_lot_cv),
            f(p.area_cv),
            loss_sd,
            f(p.capacity_noise),
        ]);
        // DCIR: tab (lognormal σ), ionic (loading and Bruggeman's ε^-1.5), SEI (∝ loss), the
        // area, the gauge; under-fill only adds, so the upper side gets more room.
        let ionic = f(p.r_ionic)
            * hyp(&[
                f(p.cathode_cv),
                f(p.cathode_lot_cv),
                1.5 * f(p.porosity_sd) / f(p.porosity_target),
            ]);
        let r_sd = hyp(&[
            f(p.tab_median) * f(p.tab_sigma),
            ionic,
            f(p.r_sei)
                * hyp(&[
                    f(p.first_cycle_loss_sd),
                    f(p.rack_temp_sd) * f(p.loss_per_degc),
                ])
                / f(p.first_cycle_loss).max(1e-6),
            r * f(p.area_cv),
            r * f(p.dcir_noise),
        ]) / r;
        let np_sd = hyp(&[
            f(p.cathode_cv),
            f(p.cathode_lot_cv),
            f(p.anode_cv),
            f(p.anode_lot_cv),
        ]);
        let band = |sd: f64, min: f64| (6.0 * sd).max(min);
        HistSpec {
            capacity: snapped(
                q * (1.0 - band(q_sd, 0.01)),
                q * (1.0 + band(q_sd, 0.01)),
                60,
            ),
            dcir: snapped(
                (r * (1.0 - band(r_sd, 0.05))).max(0.0),
                r * (1.0 + 1.5 * band(r_sd, 0.05)),
                60,
            ),
            // Five times the K limit: the passed cells and the scrapped tail, for either chemistry.
            k: snapped(0.0, 5.0 * f(p.k_max), 200),
            np: snapped(
                np * (1.0 - band(np_sd, 0.01)),
                np * (1.0 + band(np_sd, 0.01)),
                60,
            ),
            capacity_rel_sd: q_sd,
        }
    }

    /// The initial pack capacity's histogram for a pack rated `rated` Ah: a series string sits near
    /// its weakest cell, 2–3 σ below the cells' mean, so the range runs from 8σ below to 3σ above.
    pub fn pack_capacity(&self, rated: f64) -> Histogram {
        let sd = self.capacity_rel_sd.max(1e-3);
        Histogram::new(rated * (1.0 - 8.0 * sd), rated * (1.0 + 3.0 * sd), 300)
    }
}

/// Everything the line's summary needs, accumulated per block and merged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineStats {
    /// Cells that entered each stage (started = entered coating).
    pub entered: [u64; 6],
    /// Cells scrapped for each reason ([`Scrap::ALL`] order).
    pub scrapped: [u64; 5],
    /// Cells that passed every test.
    pub passed: u64,
    /// Passed cells per grade bin.
    pub grades: Vec<u64>,
    /// Cells with a latent particle defect.
    pub defects: u64,
    /// Latent-defect cells that passed every test (escaped toward packs).
    pub defects_passed: u64,
    /// Cells whose anode overhang was breached (caught by the X-ray or not).
    pub breaches: u64,
    /// Breached cells that passed every test (the X-ray missed them).
    pub breaches_passed: u64,
    /// Passed cells that will plate lithium (low N/P or escaped breach).
    pub plating_passed: u64,
    /// Tested at EOL (reached the capacity/DCIR gauges): true and measured.
    pub q_true: Moments,
    /// Measured capacity, Ah.
    pub q_meas: Moments,
    /// True DCIR, mΩ.
    pub r_true: Moments,
    /// Measured DCIR, mΩ.
    pub r_meas: Moments,
    /// Passed cells' true capacity and DCIR (what packs are built from).
    pub q_passed: Moments,
    /// Passed cells' true DCIR, mΩ.
    pub r_passed: Moments,
    /// K-value as measured, every cell that reached the aging test.
    pub k_meas: Moments,
    /// N/P of every started cell.
    pub np: Moments,
    /// True capacity of cells tested at EOL, Ah.
    pub hist_q_true: Histogram,
    /// Measured capacity of cells tested at EOL, Ah.
    pub hist_q_meas: Histogram,
    /// Measured capacity of cells scrapped at EOL (the shaded tail).
    pub hist_q_scrapped: Histogram,
    /// Measured DCIR of cells tested at EOL, mΩ.
    pub hist_r_meas: Histogram,
    /// Measured K-value of cells that reached the aging test, mV/day.
    pub hist_k_meas: Histogram,
    /// N/P of every started cell.
    pub hist_np: Histogram,
}

impl LineStats {
    /// Empty statistics with the ranges of `h` and `grade_bins` grade bins.
    pub fn new(h: &HistSpec, grade_bins: u32) -> LineStats {
        let hist = |(lo, hi, n): (f64, f64, usize)| Histogram::new(lo, hi, n);
        LineStats {
            entered: [0; 6],
            scrapped: [0; 5],
            passed: 0,
            grades: vec![0; grade_bins as usize],
            defects: 0,
            defects_passed: 0,
            breaches: 0,
            breaches_passed: 0,
            plating_passed: 0,
            q_true: Moments::default(),
            q_meas: Moments::default(),
            r_true: Moments::default(),
            r_meas: Moments::default(),
            q_passed: Moments::default(),
            r_passed: Moments::default(),
            k_meas: Moments::default(),
            np: Moments::default(),
            hist_q_true: hist(h.capacity),
            hist_q_meas: hist(h.capacity),
            hist_q_scrapped: hist(h.capacity),
            hist_r_meas: hist(h.dcir),
            hist_k_meas: hist(h.k),
            hist_np: hist(h.np),
        }
    }

    /// Count one cell. Always inlined: the CPU line calls it once a cell from its AVX2-compiled
    /// block loop (`engine::cpu`), where it then compiles for AVX2 too (≈ 15 % of the line's time).
    #[inline(always)]
    pub fn push(&mut self, r: &CellRecord) {
        let last = r.last_stage() as usize;
        for e in &mut self.entered[..=last] {
            *e += 1;
        }
        self.np.push(r.np_ratio);
        self.hist_np.push(r.np_ratio);
        if r.has(flags::DEFECT) {
            self.defects += 1;
        }
        if r.has(flags::BREACH) {
            self.breaches += 1;
        }
        if last >= Stage::Formation as usize {
            self.k_meas.push(r.k_meas);
            self.hist_k_meas.push(r.k_meas);
        }
        let scrap = r.scrap();
        if let Some(s) = scrap {
            self.scrapped[s as usize - 1] += 1;
        }
        let tested = matches!(scrap, None | Some(Scrap::LowCapacity | Scrap::HighDcir));
        if tested {
            self.q_true.push(r.q_true);
            self.q_meas.push(r.q_meas);
            self.r_true.push(r.r_true);
            self.r_meas.push(r.r_meas);
            self.hist_q_true.push(r.q_true);
            self.hist_q_meas.push(r.q_meas);
            self.hist_r_meas.push(r.r_meas);
            if scrap.is_some() {
                self.hist_q_scrapped.push(r.q_meas);
            }
        }
        if scrap.is_none() {
            self.passed += 1;
            self.grades[r.grade() as usize] += 1;
            self.q_passed.push(r.q_true);
            self.r_passed.push(r.r_true);
            if r.has(flags::DEFECT) {
                self.defects_passed += 1;
            }
            if r.has(flags::BREACH) {
                self.breaches_passed += 1;
            }
            if r.has(flags::PLATING) {
                self.plating_passed += 1;
            }
        }
    }

    /// Add another block's statistics (exact, in any order).
    pub fn merge(&mut self, o: &LineStats) {
        for (a, b) in self.entered.iter_mut().zip(o.entered) {
            *a += b;
        }
        for (a, b) in self.scrapped.iter_mut().zip(o.scrapped) {
            *a += b;
        }
        for (a, b) in self.grades.iter_mut().zip(&o.grades) {
            *a += b;
        }
        self.passed += o.passed;
        self.defects += o.defects;
        self.defects_passed += o.defects_passed;
        self.breaches += o.breaches;
        self.breaches_passed += o.breaches_passed;
        self.plating_passed += o.plating_passed;
        for (a, b) in [
            (&mut self.q_true, &o.q_true),
            (&mut self.q_meas, &o.q_meas),
            (&mut self.r_true, &o.r_true),
            (&mut self.r_meas, &o.r_meas),
            (&mut self.q_passed, &o.q_passed),
            (&mut self.r_passed, &o.r_passed),
            (&mut self.k_meas, &o.k_meas),
            (&mut self.np, &o.np),
        ] {
            a.merge(b);
        }
        for (a, b) in [
            (&mut self.hist_q_true, &o.hist_q_true),
            (&mut self.hist_q_meas, &o.hist_q_meas),
            (&mut self.hist_q_scrapped, &o.hist_q_scrapped),
            (&mut self.hist_r_meas, &o.hist_r_meas),
            (&mut self.hist_k_meas, &o.hist_k_meas),
            (&mut self.hist_np, &o.hist_np),
        ] {
            a.merge(b);
        }
    }

    /// Scrapped cells by the stage that scrapped them.
    pub fn scrapped_by_stage(&self) -> [u64; 6] {
        let mut s = [0; 6];
        for (i, reason) in Scrap::ALL.iter().enumerate() {
            s[reason.stage() as usize] += self.scrapped[i];
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inline rounding is `f64::round` as i64 on halves, near-halves, the f32 values the
    /// moments see scaled by 2²⁴, the saturating ends and NaN.
    #[test]
    fn round_half_away_is_round() {
        let mut vals = vec![
            0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1e300, -1e300, 9.3e18, -9.3e18,
        ];
        vals.extend([
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            0.49999999999999994,
        ]);
        for k in 0..100_000u32 {
            let x = f32::from_bits(k.wrapping_mul(2_654_435_761) >> 1)
                * if k % 2 == 0 { 1.0 } else { -1.0 };
            vals.push(f64::from(x) * FIX);
            vals.push(f64::from(k) + 0.5);
            vals.push(-(f64::from(k) + 0.5));
        }
        for v in vals {
            assert_eq!(round_half_away(v), v.round() as i64, "{v}");
        }
    }

    #[test]
    fn moments_match_two_pass() {
        let xs: Vec<f32> = (0..1000)
            .map(|i| 5.0 + 0.01 * ((i * 37 % 101) as f32 - 50.0))
            .collect();
        let mut m = Moments::default();
        xs.iter().for_each(|&x| m.push(x));
        let mean = xs.iter().map(|&x| f64::from(x)).sum::<f64>() / 1000.0;
        let var = xs
            .iter()
            .map(|&x| (f64::from(x) - mean).powi(2))
            .sum::<f64>()
            / 999.0;
        assert!((m.mean() - mean).abs() < 1e-7);
        assert!((m.sd() - var.sqrt()).abs() < 1e-6);
    }

    /// 10¹⁰ values of 250 (an LFP run's capacities) must not overflow: mean and SD stay right.
    #[test]
    fn moments_do_not_overflow_at_scale() {
        let mut a = Moments::default();
        a.push(249.0);
        a.push(251.0);
        let mut big = Moments::default();
        for _ in 0..33 {
            // Doubling by merging: 2 · 2³³ ≈ 1.7e10 values.
            let c = a;
            a.merge(&c);
        }
        big.merge(&a);
        assert!((big.mean() - 250.0).abs() < 1e-9, "{}", big.mean());
        assert!((big.sd() - 1.0).abs() < 1e-6, "{}", big.sd());
    }

    #[test]
    fn histogram_quantile_of_uniform() {
        let mut h = Histogram::new(0.0, 1.0, 100);
        for i in 0..10_000 {
            h.push((i as f32 + 0.5) / 10_000.0);
        }
        assert!((h.quantile(0.5) - 0.5).abs() < 1e-3);
        assert!((h.quantile(0.05) - 0.05).abs() < 1e-3);
        h.push(2.0);
        h.push(-1.0);
        assert_eq!((h.underflow, h.overflow), (1, 1));
    }
}
