//! Range checks: every numeric key has an allowed range, and a value outside it (NaN included) is
//! an error that names the key, the value and the range.

use super::{LifePacks, Scene, SceneError};

fn range(key: &str, v: f64, lo: f64, hi: f64) -> Result<(), SceneError> {
    // NaN fails both comparisons, so it is caught here too.
    if v >= lo && v <= hi {
        Ok(())
    } else {
        Err(SceneError::Invalid {
            key: key.to_string(),
            value: format!("{v}"),
            range: format!("[{lo}, {hi}]"),
        })
    }
}

/// A process spread: itself in `[0, max]`, and still within `max` once `line.spread_scale`
/// multiplies it (a CV of 0.5 ×20 would make negative electrodes).
fn spread(key: &str, v: f64, max: f64, scale: f64) -> Result<(), SceneError> {
    range(key, v, 0.0, max)?;
    if v * scale > max {
        return Err(SceneError::Invalid {
            key: format!("{key} × line.spread_scale"),
            value: format!("{v} × {scale} = {}", v * scale),
            range: format!("[0, {max}]"),
        });
    }
    Ok(())
}

fn prob(key: &str, v: f64) -> Result<(), SceneError> {
    range(key, v, 0.0, 1.0)
}

fn positive(key: &str, v: f64, hi: f64) -> Result<(), SceneError> {
    if v > 0.0 && v <= hi {
        Ok(())
    } else {
        Err(SceneError::Invalid {
            key: key.to_string(),
            value: format!("{v}"),
            range: format!("(0, {hi}]"),
        })
    }
}

fn count(key: &str, v: u64, lo: u64, hi: u64) -> Result<(), SceneError> {
    if v >= lo && v <= hi {
        Ok(())
    } else {
        Err(SceneError::Invalid {
            key: key.to_string(),
            value: v.to_string(),
            range: format!("[{lo}, {hi}]"),
        })
    }
}

/// Check a decoded scene; the first offending key is reported (sections in scene order).
pub fn validate(s: &Scene) -> Result<(), SceneError> {
    run_and_cell(s)?;
    coating(s)?;
    calendering(s)?;
    winding(s)?;
    filling(s)?;
    formation(s)?;
    eol(s)?;
    pack(s)?;
    life_duty(s)?;
    life_links(s)?;
    self_heating(s)?;
    cost(s)
}

/// The run size, the line's scales and the nominal cell.
fn run_and_cell(s: &Scene) -> Result<(), SceneError> {
    count("cells", s.cells, 1, 10_000_000_000)?;
    range("line.spread_scale", s.line.spread_scale, 0.0, 20.0)?;
    range("line.defect_scale", s.line.defect_scale, 0.0, 50.0)?;

    positive("cell.capacity_ah", s.cell.capacity_ah, 10_000.0)?;
    positive("cell.voltage_v", s.cell.voltage_v, 10.0)?;
    positive("cell.dcir_mohm", s.cell.dcir_mohm, 10_000.0)?;
    Ok(())
}

/// `coating.*`: loadings and their lot-to-lot spread, N/P, defects.
fn coating(s: &Scene) -> Result<(), SceneError> {
    let sc = s.line.spread_scale;
    let c = &s.coating;
    count("coating.lot_size", c.lot_size, 1, 1 << 31)?;
    spread("coating.cathode_loading_cv", c.cathode_loading_cv, 0.5, sc)?;
    spread(
        "coating.cathode_loading_lot_cv",
        c.cathode_loading_lot_cv,
        0.5,
        sc,
    )?;
    spread("coating.anode_loading_cv", c.anode_loading_cv, 0.5, sc)?;
    spread(
        "coating.anode_loading_lot_cv",
        c.anode_loading_lot_cv,
        0.5,
        sc,
    )?;
    range("coating.np_design", c.np_design, 0.8, 2.0)?;
    range("coating.np_min", c.np_min, 0.5, 2.0)?;
    positive("coating.loading_tolerance", c.loading_tolerance, 1.0)?;
    range("coating.defects_per_cell", c.defects_per_cell, 0.0, 1.0)?;
    Ok(())
}

/// `calendering.*`: porosity and ionic resistance.
fn calendering(s: &Scene) -> Result<(), SceneError> {
    let sc = s.line.spread_scale;
    let k = &s.calendering;
    range("calendering.porosity_target", k.porosity_target, 0.05, 0.8)?;
    spread("calendering.porosity_sd", k.porosity_sd, 0.1, sc)?;
    range("calendering.r_ionic_mohm", k.r_ionic_mohm, 0.0, 10_000.0)?;
    Ok(())
}

/// `winding.*`: area, alignment, tab welds and the X-ray.
fn winding(s: &Scene) -> Result<(), SceneError> {
    let sc = s.line.spread_scale;
    let w = &s.winding;
    spread("winding.area_cv", w.area_cv, 0.5, sc)?;
    spread("winding.misalignment_sd_mm", w.misalignment_sd_mm, 10.0, sc)?;
    positive("winding.overhang_mm", w.overhang_mm, 20.0)?;
    range(
        "winding.tab_weld_median_mohm",
        w.tab_weld_median_mohm,
        0.0,
        10_000.0,
    )?;
    spread("winding.tab_weld_sigma", w.tab_weld_sigma, 2.0, sc)?;
    prob("winding.xray_detect", w.xray_detect)?;
    Ok(())
}

/// `filling.*`: electrolyte mass and its resistance.
fn filling(s: &Scene) -> Result<(), SceneError> {
    let sc = s.line.spread_scale;
    let f = &s.filling;
    positive("filling.g_per_ah", f.g_per_ah, 10.0)?;
    positive("filling.pore_g_per_ah", f.pore_g_per_ah, 10.0)?;
    range("filling.optimum_fill_ratio", f.optimum_fill_ratio, 0.5, 3.0)?;
    spread("filling.fill_cv", f.fill_cv, 0.5, sc)?;
    range("filling.r_bulk_mohm", f.r_bulk_mohm, 0.0, 10_000.0)?;
    range("filling.r_per_shortfall", f.r_per_shortfall, 0.0, 100.0)?;
    Ok(())
}

/// `formation.*`: racks, first-cycle loss, self-discharge and latent defects.
fn formation(s: &Scene) -> Result<(), SceneError> {
    let sc = s.line.spread_scale;
    let fo = &s.formation;
    count("formation.rack_size", fo.rack_size, 1, 1 << 31)?;
    spread("formation.rack_temp_sd_c", fo.rack_temp_sd_c, 20.0, sc)?;
    range("formation.first_cycle_loss", fo.first_cycle_loss, 0.0, 0.5)?;
    spread(
        "formation.first_cycle_loss_sd",
        fo.first_cycle_loss_sd,
        0.1,
        sc,
    )?;
    range("formation.loss_per_degc", fo.loss_per_degc, 0.0, 0.05)?;
    range("formation.r_sei_mohm", fo.r_sei_mohm, 0.0, 10_000.0)?;
    positive("formation.k_median_mv_day", fo.k_median_mv_day, 100.0)?;
    range("formation.k_sigma", fo.k_sigma, 0.0, 3.0)?;
    range(
        "formation.defect_k_min_mv_day",
        fo.defect_k_min_mv_day,
        0.0,
        1000.0,
    )?;
    range(
        "formation.defect_k_max_mv_day",
        fo.defect_k_max_mv_day,
        fo.defect_k_min_mv_day,
        1000.0,
    )?;
    positive(
        "formation.defect_onset_mean_days",
        fo.defect_onset_mean_days,
        1000.0,
    )?;
    positive("formation.aging_days", fo.aging_days, 100.0)?;
    Ok(())
}

/// `eol.*`: the end-of-line gauges, limits and grade bins.
fn eol(s: &Scene) -> Result<(), SceneError> {
    let e = &s.eol;
    range("eol.capacity_noise", e.capacity_noise, 0.0, 0.2)?;
    range("eol.dcir_noise", e.dcir_noise, 0.0, 0.5)?;
    range("eol.k_noise_mv_day", e.k_noise_mv_day, 0.0, 10.0)?;
    range("eol.capacity_min", e.capacity_min, 0.0, 1.5)?;
    range("eol.dcir_max", e.dcir_max, 0.5, 10.0)?;
    positive("eol.k_max_mv_day", e.k_max_mv_day, 1000.0)?;
    count("eol.grade_bins", u64::from(e.grade_bins), 1, 64)?;
    positive("eol.bin_width", e.bin_width, 0.2)?;
    Ok(())
}

/// `pack.*`: topology, matching window and the life sample (held in memory).
fn pack(s: &Scene) -> Result<(), SceneError> {
    let p = &s.pack;
    count("pack.series", u64::from(p.series), 1, 1024)?;
    count("pack.parallel", u64::from(p.parallel), 1, 64)?;
    let per_pack = s.cells_per_pack();
    count("pack.window", p.window, per_pack, 10_000_000)?;
    if per_pack > s.cells {
        return Err(SceneError::Invalid {
            key: "pack.series × pack.parallel".into(),
            value: per_pack.to_string(),
            range: format!(
                "[1, cells = {}]: a pack cannot hold more cells than the run makes",
                s.cells
            ),
        });
    }
    if let LifePacks::Sample(n) = p.life_packs {
        count("pack.life_packs", u64::from(n), 0, 1_000_000)?;
    }
    count("pack.band_packs", p.band_packs, 1, 100_000)?;
    Ok(())
}

/// `life.*` up to the end-of-life criteria: climate, duty, steps and caps.
fn life_duty(s: &Scene) -> Result<(), SceneError> {
    let l = &s.life;
    range("life.ambient_c", l.ambient_c, -30.0, 60.0)?;
    range("life.gradient_k", l.gradient_k, 0.0, 30.0)?;
    range(
        "life.thermal_resistance_k_per_w",
        l.thermal_resistance_k_per_w,
        0.0,
        50.0,
    )?;
    positive("life.c_rate", l.c_rate, 5.0)?;
    range("life.soc_lo", l.soc_lo, 0.0, 1.0)?;
    range("life.soc_hi", l.soc_hi, l.soc_lo + 0.01, 1.0)?;
    range("life.soc_rest", l.soc_rest, l.soc_lo, l.soc_hi)?;
    positive(
        "life.cycles_per_day",
        l.cycles_per_day,
        24.0 * l.c_rate / (2.0 * (l.soc_hi - l.soc_lo)),
    )?;
    count(
        "life.cycles_per_step",
        u64::from(l.cycles_per_step),
        1,
        1000,
    )?;
    count(
        "life.max_cycles",
        u64::from(l.max_cycles),
        u64::from(l.cycles_per_step),
        100_000,
    )?;
    // At least one step must fit under the calendar cap.
    range(
        "life.max_years",
        l.max_years,
        f64::from(l.cycles_per_step) / (365.25 * l.cycles_per_day),
        100.0,
    )?;
    range("life.eol_fraction", l.eol_fraction, 0.3, 0.99)?;
    // 0 switches power end of life off; otherwise a rise the pack can reach.
    if l.eol_resistance_factor != 0.0 {
        range(
            "life.eol_resistance_factor",
            l.eol_resistance_factor,
            1.05,
            100.0,
        )?;
    }
    Ok(())
}

/// `life.*` from cooling on: the links from process to aging and their switches.
fn life_links(s: &Scene) -> Result<(), SceneError> {
    let l = &s.life;
    range("life.coolant_flow_kg_s", l.coolant_flow_kg_s, 0.0, 100.0)?;
    positive(
        "life.coolant_cp_j_per_kg_k",
        l.coolant_cp_j_per_kg_k,
        10_000.0,
    )?;
    range("life.tab_heat_k_per_w", l.tab_heat_k_per_w, 0.0, 1000.0)?;
    range(
        "life.breach_plating_factor",
        l.breach_plating_factor,
        1.0,
        100.0,
    )?;
    range("life.balance_current_a", l.balance_current_a, 0.0, 100.0)?;
    range("life.balance_hours", l.balance_hours, 0.0, 24.0)?;
    range("life.plating_np", l.plating_np, 0.0, 2.0)?;
    range("life.plating_factor", l.plating_factor, 1.0, 100.0)?;
    range("life.underfill_factor", l.underfill_factor, 0.0, 100.0)?;
    range("life.cell_fade_sigma", l.cell_fade_sigma, 0.0, 2.0)?;
    range("life.np_fade_per_np", l.np_fade_per_np, 0.0, 50.0)?;
    range(
        "life.sei_calendar_exponent",
        l.sei_calendar_exponent,
        0.0,
        5.0,
    )?;
    // 0 switches the link off; below 5 mV one milliohm of excess resistance at 1C would multiply
    // the fade rate by e and more: not a side reaction, a typo.
    // (NaN fails the range test too.)
    let v = l.plating_tafel_mv;
    if v != 0.0 && !(5.0..=1000.0).contains(&v) {
        return Err(SceneError::Invalid {
            key: "life.plating_tafel_mv".into(),
            value: format!("{v}"),
            range: "0 (off) or [5, 1000]".into(),
        });
    }
    range("life.resistance_growth", l.resistance_growth, 0.0, 20.0)?;
    prob("life.short_hazard", l.short_hazard)?;
    positive("life.ocv_slope_v", l.ocv_slope_v, 10.0)?;
    Ok(())
}

/// The nominal cell's resistance and self-heating must stay inside the fade laws' rate table.
fn self_heating(s: &Scene) -> Result<(), SceneError> {
    let l = &s.life;
    // Pack life needs a resistance to split current by, and the fade laws' rate table covers
    // 60 K of self-heating: a nominal cell at the duty's current must stay well inside it
    // (resistance grows up to ×(1 + growth·0.3) before a pack is dropped).
    let r_parts = s.winding.tab_weld_median_mohm
        + s.calendering.r_ionic_mohm
        + s.formation.r_sei_mohm
        + s.filling.r_bulk_mohm;
    positive(
        "winding.tab_weld_median_mohm + calendering.r_ionic_mohm + formation.r_sei_mohm + filling.r_bulk_mohm",
        r_parts,
        1.0e5,
    )?;
    // Body and tab heat of a nominal cell, plus the coolant's rise at the outlet from a nominal
    // string's heat (its current through series × DCIR / parallel).
    let amps = l.c_rate * s.cell.capacity_ah;
    let watts = |mohm: f64| amps * amps * mohm * 1e-3;
    let string_w = watts(s.cell.dcir_mohm) * f64::from(s.pack.series) * f64::from(s.pack.parallel);
    let coolant_k = if l.coolant_flow_kg_s > 0.0 {
        string_w / (l.coolant_flow_kg_s * l.coolant_cp_j_per_kg_k)
    } else {
        0.0
    };
    let heat_k = watts(s.cell.dcir_mohm) * l.thermal_resistance_k_per_w
        + watts(s.winding.tab_weld_median_mohm) * l.tab_heat_k_per_w
        + coolant_k;
    if heat_k * (1.0 + 0.3 * l.resistance_growth) > 60.0 {
        return Err(SceneError::Invalid {
            key: "self-heating (life.c_rate, cell.capacity_ah, cell.dcir_mohm, life.thermal_resistance_k_per_w, life.tab_heat_k_per_w, life.coolant_flow_kg_s)".into(),
            value: format!("{heat_k:.1} K at the nominal cell"),
            range: format!("[0, {:.1}] K (the fade laws' temperature table)", 60.0 / (1.0 + 0.3 * l.resistance_growth)),
        });
    }
    Ok(())
}

/// `cost.*`: per-stage spend and the learning curve.
fn cost(s: &Scene) -> Result<(), SceneError> {
    for (i, (m, c)) in s.cost.per_stage().iter().enumerate() {
        let stage = super::Cost::STAGE_KEYS[i];
        range(&format!("cost.{stage}_material"), *m, 0.0, 1.0e6)?;
        range(&format!("cost.{stage}_conversion"), *c, 0.0, 1.0e6)?;
    }
    range("cost.learning_rate", s.cost.learning_rate, 0.0, 0.5)?;
    positive("cost.reference_gwh", s.cost.reference_gwh, 1.0e7)?;
    positive("cost.cumulative_gwh", s.cost.cumulative_gwh, 1.0e7)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Chemistry, Scene};
    use super::*;

    #[test]
    fn presets_are_valid() {
        validate(&Scene::preset(Chemistry::Nmc21700)).unwrap();
        validate(&Scene::preset(Chemistry::LfpPrismatic)).unwrap();
    }

    #[test]
    fn nan_is_caught() {
        let mut s = Scene::preset(Chemistry::Nmc21700);
        s.winding.area_cv = f64::NAN;
        let e = validate(&s).unwrap_err().to_string();
        assert!(e.contains("winding.area_cv") && e.contains("NaN"), "{e}");
    }

    /// A band of no packs is refused, naming the key, the value and the range.
    #[test]
    fn band_packs_needs_one() {
        let mut s = Scene::preset(Chemistry::Nmc21700);
        s.pack.band_packs = 0;
        let e = validate(&s).unwrap_err().to_string();
        assert!(
            e.contains("pack.band_packs") && e.contains('0') && e.contains("100000"),
            "{e}"
        );
        s.pack.band_packs = 1;
        validate(&s).unwrap();
    }
}
