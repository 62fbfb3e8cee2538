//! The scene flattened into what one cell's simulation reads: every spread already multiplied by
//! the line's `spread_scale`, every unit converted, all f32/u32 so that the same bytes are the GPU's
//! uniform buffer (`Params` in `shaders/shared/layout.wgsl`; a test checks the layouts agree).

use crate::scene::Scene;
use bytemuck::{Pod, Zeroable};

/// One cell's simulation parameters: the scene's line sections flattened, spreads already
/// × `line.spread_scale` and defect rates × `line.defect_scale`, limits in absolute units. The
/// defaults and their sources are the scene's (see [`crate::scene`] and docs/MODEL.md).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct LineParams {
    /// Philox key: the seed's low word.
    pub seed_lo: u32,
    /// Philox key: the seed's high word.
    pub seed_hi: u32,
    /// Cells per coating lot, sharing the lot draw (`coating.lot_size`, capped at 2³¹).
    pub coating_lot_size: u32,
    /// Cells per formation rack, sharing the rack temperature draw (`formation.rack_size`).
    pub rack_size: u32,

    // Coating.
    /// Cathode loading within-lot CV, fraction (`coating.cathode_loading_cv` × spread scale).
    pub cathode_cv: f32,
    /// Cathode loading lot-to-lot CV, fraction (× spread scale).
    pub cathode_lot_cv: f32,
    /// Anode loading within-lot CV, fraction (× spread scale).
    pub anode_cv: f32,
    /// Anode loading lot-to-lot CV, fraction (× spread scale).
    pub anode_lot_cv: f32,
    /// Design N/P ratio (anode over cathode areal capacity).
    pub np_design: f32,
    /// N/P below which the anode limits capacity.
    pub np_min: f32,
    /// Beta-gauge tolerance on either loading, fraction: beyond it the cell is scrapped at coating.
    pub loading_tolerance: f32,
    /// Latent particle defects, Poisson mean per cell (`coating.defects_per_cell` × defect scale).
    pub defects_per_cell: f32,

    // Calendering.
    /// Target porosity, fraction.
    pub porosity_target: f32,
    /// Porosity SD, absolute fraction (× spread scale).
    pub porosity_sd: f32,
    /// Ionic resistance at target porosity and nominal loading, mΩ.
    pub r_ionic: f32,

    // Winding.
    /// Electrode area CV, fraction (× spread scale).
    pub area_cv: f32,
    /// Layer misalignment SD, mm (× spread scale).
    pub misalignment_sd: f32,
    /// Anode overhang over the cathode, mm: a misalignment beyond it is a breach.
    pub overhang: f32,
    /// Tab-weld resistance median, mΩ.
    pub tab_median: f32,
    /// Tab-weld resistance lognormal σ (× spread scale).
    pub tab_sigma: f32,
    /// Probability that the X-ray after winding catches an overhang breach.
    pub xray_detect: f32,

    // Filling.
    /// Fill mass CV, fraction (× spread scale).
    pub fill_cv: f32,
    /// Electrolyte and bulk resistance at full fill, mΩ.
    pub r_bulk: f32,
    /// Relative rise of the bulk resistance per unit of fill-ratio shortfall below the optimum.
    pub r_per_shortfall: f32,
    /// Design fill ratio: target electrolyte mass over the mass that fills a nominal cell's pores.
    pub fill_ratio: f32,
    /// Fill ratio of the longest life (1.14–1.19, Pritzlaff/Niehoff/Winter).
    pub fill_ratio_opt: f32,

    // Formation and aging.
    /// Rack temperature SD around the set point, °C (× spread scale).
    pub rack_temp_sd: f32,
    /// Nominal first-cycle capacity loss, fraction.
    pub first_cycle_loss: f32,
    /// First-cycle loss SD, absolute fraction (× spread scale).
    pub first_cycle_loss_sd: f32,
    /// First-cycle loss added per °C of rack temperature above set point, fraction/°C.
    pub loss_per_degc: f32,
    /// SEI resistance at the nominal first-cycle loss, mΩ.
    pub r_sei: f32,
    /// Self-discharge (K-value) median of a healthy cell, mV/day.
    pub k_median: f32,
    /// Self-discharge lognormal σ: the chemistry's own, not scaled by the line.
    pub k_sigma: f32,
    /// Lower end of a developed latent defect's added self-discharge, mV/day.
    pub defect_k_min: f32,
    /// Upper end of a developed latent defect's added self-discharge, mV/day.
    pub defect_k_max: f32,
    /// Mean onset of a latent defect's micro-short after formation, days (exponential).
    pub defect_onset_mean: f32,
    /// Length of the K-value aging test, days.
    pub aging_days: f32,

    // End of line.
    /// Rated capacity, Ah: a nominal cell (every draw zero) has exactly this.
    pub q_rated: f32,
    /// Nominal DCIR, mΩ.
    pub r_nominal: f32,
    /// Capacity gauge noise, relative SD.
    pub capacity_noise: f32,
    /// DCIR gauge noise, relative SD.
    pub dcir_noise: f32,
    /// K-value gauge noise for this aging test length, mV/day.
    pub k_noise: f32,
    /// Lower capacity limit, Ah.
    pub capacity_min: f32,
    /// Upper DCIR limit, mΩ.
    pub dcir_max: f32,
    /// Upper self-discharge limit, mV/day.
    pub k_max: f32,
    /// Number of capacity grade bins.
    pub grade_bins: u32,
    /// Lower edge of grade bin 0, Ah.
    pub grade_lo: f32,
    /// Width of a grade bin, Ah.
    pub grade_width: f32,
    /// N/P below which the cell plates lithium in life.
    pub plating_np: f32,
    /// Padding to a multiple of 16 bytes (the uniform buffer's alignment).
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

const _: () = assert!(std::mem::size_of::<LineParams>().is_multiple_of(16));

impl LineParams {
    /// Flatten a (validated) scene.
    pub fn from_scene(s: &Scene) -> LineParams {
        let sp = s.line.spread_scale;
        let f = |x: f64| x as f32;
        let spread = |x: f64| (x * sp) as f32;
        let c = &s.coating;
        let k = &s.calendering;
        let w = &s.winding;
        let fi = &s.filling;
        let fo = &s.formation;
        let e = &s.eol;
        let q = s.cell.capacity_ah;
        let bins = e.grade_bins;
        LineParams {
            seed_lo: s.seed as u32,
            seed_hi: (s.seed >> 32) as u32,
            coating_lot_size: c.lot_size.min(1 << 31) as u32,
            rack_size: fo.rack_size.min(1 << 31) as u32,
            cathode_cv: spread(c.cathode_loading_cv),
            cathode_lot_cv: spread(c.cathode_loading_lot_cv),
            anode_cv: spread(c.anode_loading_cv),
            anode_lot_cv: spread(c.anode_loading_lot_cv),
            np_design: f(c.np_design),
            np_min: f(c.np_min),
            loading_tolerance: f(c.loading_tolerance),
            defects_per_cell: f(c.defects_per_cell * s.line.defect_scale),
            porosity_target: f(k.porosity_target),
            porosity_sd: spread(k.porosity_sd),
            r_ionic: f(k.r_ionic_mohm),
            area_cv: spread(w.area_cv),
            misalignment_sd: spread(w.misalignment_sd_mm),
            overhang: f(w.overhang_mm),
            tab_median: f(w.tab_weld_median_mohm),
            tab_sigma: spread(w.tab_weld_sigma),
            xray_detect: f(w.xray_detect),
            fill_cv: spread(fi.fill_cv),
            r_bulk: f(fi.r_bulk_mohm),
            r_per_shortfall: f(fi.r_per_shortfall),
            fill_ratio: f(fi.g_per_ah / fi.pore_g_per_ah),
            fill_ratio_opt: f(fi.optimum_fill_ratio),
            rack_temp_sd: spread(fo.rack_temp_sd_c),
            first_cycle_loss: f(fo.first_cycle_loss),
            first_cycle_loss_sd: spread(fo.first_cycle_loss_sd),
            loss_per_degc: f(fo.loss_per_degc),
            r_sei: f(fo.r_sei_mohm),
            k_median: f(fo.k_median_mv_day),
            // Self-discharge spread is the chemistry's own, not the process's: a ramp-up line raises it
            // through contamination (defect_scale), not by widening the healthy cells' lognormal.
            k_sigma: f(fo.k_sigma),
            defect_k_min: f(fo.defect_k_min_mv_day),
            defect_k_max: f(fo.defect_k_max_mv_day),
            defect_onset_mean: f(fo.defect_onset_mean_days),
            aging_days: f(fo.aging_days),
            q_rated: f(q),
            r_nominal: f(s.cell.dcir_mohm),
            capacity_noise: f(e.capacity_noise),
            dcir_noise: f(e.dcir_noise),
            // A K-value is ΔOCV / days: the same voltmeter noise over a shorter test is larger.
            k_noise: f(e.k_noise_mv_day * 10.0 / fo.aging_days),
            capacity_min: f(e.capacity_min * q),
            dcir_max: f(e.dcir_max * s.cell.dcir_mohm),
            k_max: f(e.k_max_mv_day),
            grade_bins: bins,
            grade_lo: f(q * (1.0 - 0.5 * f64::from(bins) * e.bin_width)),
            grade_width: f(q * e.bin_width),
            plating_np: f(s.life.plating_np),
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
        }
    }

    /// The generator keyed by the scene's seed.
    pub fn rng(&self) -> crate::rng::Philox {
        crate::rng::Philox::new(u64::from(self.seed_lo) | (u64::from(self.seed_hi) << 32))
    }
}
