//! What the cell line's stats buffer holds and how it reads back: where each counter and
//! histogram sits ([`StatsLayout`]), the moments' centres, and the decoding of a dispatch's counts
//! and moment partials into [`LineStats`].

use super::super::layout::HistParams;
use super::super::layout::stats::*;
use crate::model::LineParams;
use crate::summary::{HistSpec, Histogram, LineStats, Moments};

/// Where each counter and histogram of [`LineStats`] sits in the stats buffer.
#[derive(Clone, Debug)]
pub struct StatsLayout {
    /// Counters in use: the scalar counts, the grades, then every histogram's bins with its under-
    /// and overflow.
    pub n_stats: u32,
    /// The six histograms in shader order (`H_*`).
    pub hist: [HistParams; 6],
    /// The histogram ranges it was made for.
    pub spec: HistSpec,
    /// The moments' centres (`M_*` order, their units): nominal values unless
    /// [`StatsLayout::with_centre`] sets the run's own.
    pub centre: [f32; 8],
}

impl StatsLayout {
    /// Histograms in shader order: q_true, q_meas, q_scrapped, r_meas, k_meas, np.
    pub fn new(spec: &HistSpec, grade_bins: u32) -> StatsLayout {
        let specs = [
            spec.capacity,
            spec.capacity,
            spec.capacity,
            spec.dcir,
            spec.k,
            spec.np,
        ];
        let mut offset = ST_GRADES + grade_bins;
        let mut hist = [HistParams::default(); 6];
        for (h, (lo, hi, bins)) in hist.iter_mut().zip(specs) {
            *h = HistParams {
                lo: lo as f32,
                scale: (bins as f64 / (hi - lo)) as f32,
                bins: bins as u32,
                offset,
            };
            offset += bins as u32 + 2;
        }
        StatsLayout {
            n_stats: offset,
            hist,
            spec: *spec,
            centre: [0.0; 8],
        }
    }

    /// The moments taken as deviations from `centre` (see [`moment_centres`]).
    pub fn with_centre(mut self, centre: [f32; 8]) -> StatsLayout {
        self.centre = centre;
        self
    }
}

/// Cells in the pilot that fixes the moments' centres, and the spacing of their indices (a prime,
/// so the pilot spans about 4·10⁶ cells: many coating lots and formation racks, not one).
const PILOT_CELLS: u64 = 4096;
const PILOT_SPACING: u64 = 997;

/// Each moment's centre for a scene (`M_*` order, the moment's unit): its mean over a pilot of
/// `PILOT_CELLS` cells simulated by the CPU twin, rounded to f32; the nominal value where the
/// pilot has no such cell. The GPU sums each tile's deviations from it in f32, so the centre has
/// to lie near the mean: centred on nominal values, a scene far from them (every cell capped at
/// about half its capacity by an N/P limit of 2, spreads × 0.3) lost 0.39 % of the capacity SD to
/// cancellation, against the 0.1 % bound. The pilot's
/// mean lies within a few hundredths of an SD of the run's. The centre is fixed before the run,
/// from the parameters alone (seed included), so every chunk and tile uses the same one and
/// merging stays exact; the CPU engine does not use it (its moments are exact fixed point).
pub fn moment_centres(p: &LineParams) -> [f32; 8] {
    let rng = p.rng();
    let mut pilot = LineStats::new(&HistSpec::for_params(p), p.grade_bins);
    for k in 0..PILOT_CELLS {
        let cell = k * PILOT_SPACING;
        let lots = crate::model::LotDraws::for_cell(p, &rng, cell);
        pilot.push(&crate::model::simulate_cell(p, &rng, cell, &lots));
    }
    let means = [
        &pilot.q_true,
        &pilot.q_meas,
        &pilot.r_true,
        &pilot.r_meas,
        &pilot.q_passed,
        &pilot.r_passed,
        &pilot.k_meas,
        &pilot.np,
    ];
    let mut centre = nominal_centres(p);
    for (c, m) in centre.iter_mut().zip(means) {
        if m.n > 0 {
            *c = m.mean() as f32;
        }
    }
    centre
}

fn fill_hist(h: &mut Histogram, p: &HistParams, s: &[u32]) {
    let o = p.offset as usize;
    let b = p.bins as usize;
    for (c, &v) in h.counts.iter_mut().zip(&s[o..o + b]) {
        *c = u64::from(v);
    }
    h.underflow = u64::from(s[o + b]);
    h.overflow = u64::from(s[o + b + 1]);
}

/// The counts and histograms of one dispatch's stats buffer `s` (moments are filled apart).
pub(super) fn decode_counts(p: &LineParams, layout: &StatsLayout, s: &[u32]) -> LineStats {
    let mut st = LineStats::new(&layout.spec, p.grade_bins);
    let u = |i: u32| u64::from(s[i as usize]);
    for (e, v) in st.entered.iter_mut().enumerate() {
        *v = u(ST_ENTERED + e as u32);
    }
    for (r, v) in st.scrapped.iter_mut().enumerate() {
        *v = u(ST_SCRAPPED + r as u32);
    }
    st.passed = u(ST_PASSED);
    st.defects = u(ST_DEFECTS);
    st.defects_passed = u(ST_DEFECTS_PASSED);
    st.breaches = u(ST_BREACHES);
    st.breaches_passed = u(ST_BREACHES_PASSED);
    st.plating_passed = u(ST_PLATING_PASSED);
    for (g, v) in st.grades.iter_mut().enumerate() {
        *v = u(ST_GRADES + g as u32);
    }
    let h = &layout.hist;
    fill_hist(&mut st.hist_q_true, &h[H_Q_TRUE as usize], s);
    fill_hist(&mut st.hist_q_meas, &h[H_Q_MEAS as usize], s);
    fill_hist(&mut st.hist_q_scrapped, &h[H_Q_SCRAPPED as usize], s);
    fill_hist(&mut st.hist_r_meas, &h[H_R_MEAS as usize], s);
    fill_hist(&mut st.hist_k_meas, &h[H_K_MEAS as usize], s);
    fill_hist(&mut st.hist_np, &h[H_NP as usize], s);
    st
}

/// The moments' nominal values in `M_*` order: rated capacity, nominal DCIR, K's median, design
/// N/P (the centres where a pilot has no cell to go by).
fn nominal_centres(p: &LineParams) -> [f32; 8] {
    [
        p.q_rated,
        p.q_rated,
        p.r_nominal,
        p.r_nominal,
        p.q_rated,
        p.r_nominal,
        p.k_median,
        p.np_design,
    ]
}

/// Exact moments (`M_*` order) from the tiles' f32 partial sums of deviations from `centres`,
/// added in f64 tile by tile.
pub(super) fn moments_from_partials(parts: &[f32], centres: &[f32; 8]) -> [Moments; 8] {
    let mut moments = [Moments::default(); 8];
    for t in parts.chunks_exact(24) {
        for (m, acc) in moments.iter_mut().enumerate() {
            let n = t[m] as f64;
            if n == 0.0 {
                continue;
            }
            let (d, dd) = (f64::from(t[8 + m]), f64::from(t[16 + m]));
            let c = f64::from(centres[m]);
            let sum = n * c + d;
            let sum_sq = n * c * c + 2.0 * c * d + dd;
            acc.merge(&Moments::from_sums(n as u64, sum, sum_sq));
        }
    }
    moments
}
