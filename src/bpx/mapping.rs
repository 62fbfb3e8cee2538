//! A decoded BPX cell mapped onto a scene, section by section, each mapped value written into the
//! report with its source. Apart from the file's decoding and the result's types because it is
//! the rules of the mapping: what BPX gives, what the preset gives scaled, what it gives as is.

use super::{Bpx, BpxError, ELECTROLYTE_DENSITY_G_CM3, Import, ReportLine, nearest_preset, path};
use crate::scene::{self, Scene};

fn line(key: &str, value: impl std::fmt::Display, source: impl Into<String>) -> ReportLine {
    ReportLine {
        key: key.to_string(),
        value: value.to_string(),
        source: source.into(),
    }
}

/// Round to 4 significant digits, so the scene file reads like a hand-written one.
fn sig4(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let mag = 10f64.powi(3 - v.abs().log10().floor() as i32);
    (v * mag).round() / mag
}

/// Map a decoded, valid BPX cell onto a scene, from the nearest preset.
pub fn import(bpx: &Bpx) -> Result<Import, BpxError> {
    let (preset, rule) = nearest_preset(bpx);
    let mut s = scene::load(Some(preset), &[])?;
    let base = s.clone();
    let mut r = Report::default();
    name_and_capacity(bpx, &mut s, &mut r);
    stack(bpx, &base, &mut s, &mut r);
    read_not_mapped(bpx, &mut r);
    scale_with_capacity(bpx, &base, &mut s, &mut r);
    from_the_preset(&s, &mut r);
    scene::validate(&s)?;
    Ok(Import {
        scene: s,
        preset,
        rule,
        from_bpx: r.from_bpx,
        preset_scaled: r.preset_scaled,
        from_preset: r.from_preset,
        not_used: r.not_used,
    })
}

/// The import report's four lists, filled section by section.
#[derive(Default)]
struct Report {
    from_bpx: Vec<ReportLine>,
    preset_scaled: Vec<ReportLine>,
    from_preset: Vec<ReportLine>,
    not_used: Vec<ReportLine>,
}

/// The scene's name (BPX's title) and rated capacity (BPX's nominal capacity: the same quantity).
fn name_and_capacity(bpx: &Bpx, s: &mut Scene, r: &mut Report) {
    let c = &bpx.parameterisation.cell;
    let from_bpx = &mut r.from_bpx;
    if let Some(t) = bpx.header.title.as_deref().filter(|t| !t.trim().is_empty()) {
        s.name = t.trim().to_string();
        from_bpx.push(line("name", format!("{:?}", s.name), "Header.Title"));
    } else {
        s.name = format!("BPX cell, {} Ah", c.nominal_capacity_ah);
        from_bpx.push(line(
            "name",
            format!("{:?}", s.name),
            "no Header.Title: from the capacity",
        ));
    }

    // The rated capacity: BPX's nominal capacity is the same quantity.
    s.cell.capacity_ah = c.nominal_capacity_ah;
    from_bpx.push(line("cell.capacity_ah", s.cell.capacity_ah, path::CAPACITY));
}

/// The calendered porosity and the electrolyte pore volume from the layer stack (DFN/SPMe files),
/// or the preset's where the file gives no porosities.
fn stack(bpx: &Bpx, base: &Scene, s: &mut Scene, r: &mut Report) {
    let c = &bpx.parameterisation.cell;
    let (from_bpx, from_preset, not_used) = (&mut r.from_bpx, &mut r.from_preset, &mut r.not_used);
    match bpx.stack() {
        Some([(ln, en), (lp, ep), (ls, es)]) => {
            // The line calenders one target porosity for the cell's electrodes: the porosity of
            // the coated stack, the electrodes' porosities weighted by their thickness.
            let porosity = sig4((ln * en + lp * ep) / (ln + lp));
            s.calendering.porosity_target = porosity;
            from_bpx.push(line(
                "calendering.porosity_target",
                porosity,
                format!(
                    "{{Negative, Positive}} electrode.Porosity ({en}, {ep}) weighted by Thickness [m] ({ln}, {lp})"
                ),
            ));
            // Pore volume of the whole cell (both electrodes and the separator, every pair),
            // filled with electrolyte of the assumed density, per rated Ah.
            let area = c.electrode_area_m2 * f64::from(c.electrode_pairs);
            let pore_cm3 = area * (ln * en + lp * ep + ls * es) * 1e6;
            let pore_g_per_ah = sig4(pore_cm3 * ELECTROLYTE_DENSITY_G_CM3 / c.nominal_capacity_ah);
            s.filling.pore_g_per_ah = pore_g_per_ah;
            from_bpx.push(line(
                "filling.pore_g_per_ah",
                pore_g_per_ah,
                format!(
                    "Electrode area [m2] {} × electrode pairs {} × Σ Thickness·Porosity (negative, positive, separator) = {:.3} cm³ of pores, × {ELECTROLYTE_DENSITY_G_CM3} g/cm³ (assumed electrolyte density) / nominal capacity",
                    c.electrode_area_m2, c.electrode_pairs, pore_cm3
                ),
            ));
            // The line doses the preset's margin over the pores (the fill ratio the model sees).
            let margin = base.filling.g_per_ah / base.filling.pore_g_per_ah;
            s.filling.g_per_ah = sig4(pore_g_per_ah * margin);
            from_bpx.push(line(
                "filling.g_per_ah",
                s.filling.g_per_ah,
                format!(
                    "filling.pore_g_per_ah × the preset's fill margin {:.3} ({} / {})",
                    margin, base.filling.g_per_ah, base.filling.pore_g_per_ah
                ),
            ));
            for (at, l, e) in [
                (path::NEG, ln, en),
                (path::POS, lp, ep),
                (path::SEP, ls, es),
            ] {
                not_used.push(line(
                    &format!("{at}.Thickness [m], .Porosity"),
                    format!("{l}, {e}"),
                    "only through calendering.porosity_target and filling.pore_g_per_ah: the scene has no layer thickness (loadings are relative to design)",
                ));
            }
        }
        None => {
            from_preset.push(line(
                "calendering.porosity_target, filling.pore_g_per_ah, filling.g_per_ah",
                format!(
                    "{}, {}, {}",
                    s.calendering.porosity_target, s.filling.pore_g_per_ah, s.filling.g_per_ah
                ),
                "preset: the BPX file (single-particle model) gives no porosities",
            ));
        }
    }
}

/// BPX values read but with no scene key of their own.
fn read_not_mapped(bpx: &Bpx, r: &mut Report) {
    let c = &bpx.parameterisation.cell;
    let not_used = &mut r.not_used;
    not_used.push(line(
        path::AREA,
        c.electrode_area_m2,
        "only through filling.pore_g_per_ah: the scene has no electrode area (winding.area_cv is relative)",
    ));
    not_used.push(line(
        path::PAIRS,
        c.electrode_pairs,
        "only through filling.pore_g_per_ah",
    ));
    not_used.push(line(
        path::LOWER,
        c.lower_cutoff_v,
        "the scene has no voltage limits",
    ));
    not_used.push(line(
        path::UPPER,
        c.upper_cutoff_v,
        "the scene has no voltage limits; it picks the preset",
    ));
    not_used.push(line(
        "every other BPX field",
        "-",
        "particles, kinetics, OCP, electrolyte transport, thermal: the line model has no equivalent",
    ));
}

/// What the preset gives per cell, scaled to the BPX cell's capacity.
fn scale_with_capacity(bpx: &Bpx, base: &Scene, s: &mut Scene, r: &mut Report) {
    let c = &bpx.parameterisation.cell;
    let preset_scaled = &mut r.preset_scaled;
    // What the preset gives per cell scales with the cell: resistances at the preset's R·Ah
    // (the same area-specific resistance), the balancing current and cost per cell at the
    // preset's A per Ah and USD per kWh (the nominal voltage is the preset's).
    let f = c.nominal_capacity_ah / base.cell.capacity_ah;
    let scaled_note = |what: &str, v0: f64| {
        format!(
            "preset {v0} × {} ({what}, preset {} Ah → BPX {} Ah)",
            if what.starts_with("R·Ah") {
                format!("{:.4}", 1.0 / f)
            } else {
                format!("{f:.4}")
            },
            base.cell.capacity_ah,
            c.nominal_capacity_ah
        )
    };
    /// A scene key's place in the scene.
    type Field = fn(&mut Scene) -> &mut f64;
    let resistances: [(&str, Field); 5] = [
        ("cell.dcir_mohm", |s| &mut s.cell.dcir_mohm),
        ("winding.tab_weld_median_mohm", |s| {
            &mut s.winding.tab_weld_median_mohm
        }),
        ("calendering.r_ionic_mohm", |s| {
            &mut s.calendering.r_ionic_mohm
        }),
        ("formation.r_sei_mohm", |s| &mut s.formation.r_sei_mohm),
        ("filling.r_bulk_mohm", |s| &mut s.filling.r_bulk_mohm),
    ];
    let mut preset_copy = base.clone();
    for (key, field) in resistances {
        let v0 = *field(&mut preset_copy);
        let v = sig4(v0 / f);
        *field(s) = v;
        preset_scaled.push(line(key, v, scaled_note("R·Ah kept", v0)));
    }
    let v0 = base.life.balance_current_a;
    s.life.balance_current_a = sig4(v0 * f);
    preset_scaled.push(line(
        "life.balance_current_a",
        s.life.balance_current_a,
        scaled_note("A per Ah kept", v0),
    ));
    let c0 = base
        .cost
        .per_stage()
        .iter()
        .map(|(m, k)| m + k)
        .sum::<f64>();
    {
        let k = &mut s.cost;
        for v in [
            &mut k.coating_material,
            &mut k.coating_conversion,
            &mut k.calendering_material,
            &mut k.calendering_conversion,
            &mut k.winding_material,
            &mut k.winding_conversion,
            &mut k.filling_material,
            &mut k.filling_conversion,
            &mut k.formation_material,
            &mut k.formation_conversion,
            &mut k.eol_material,
            &mut k.eol_conversion,
        ] {
            *v = sig4(*v * f);
        }
    }
    let c1 = s.cost.per_stage().iter().map(|(m, k)| m + k).sum::<f64>();
    preset_scaled.push(line(
        "cost.*_material, cost.*_conversion",
        format!("{c1:.4} USD per cell in all"),
        format!(
            "preset {c0:.4} USD per cell × {f:.4} (USD per kWh kept, preset {} Ah → BPX {} Ah)",
            base.cell.capacity_ah, c.nominal_capacity_ah
        ),
    ));
}

/// What the preset gives as is, with why.
fn from_the_preset(s: &Scene, r: &mut Report) {
    let from_preset = &mut r.from_preset;
    from_preset.push(line(
        "cell.voltage_v",
        s.cell.voltage_v,
        "preset: BPX gives cut-offs, no nominal voltage",
    ));
    for (key, value, why) in [
        (
            "formation.k_median_mv_day, k_sigma, defect_k_*, aging_days; eol.k_max_mv_day",
            format!(
                "K median {} mV/day, limit {} mV/day, {} days",
                sig4(s.formation.k_median_mv_day),
                sig4(s.eol.k_max_mv_day),
                s.formation.aging_days
            ),
            "preset: the K-value (self-discharge) test is not in BPX",
        ),
        (
            "coating.*_cv, calendering.porosity_sd, winding.area_cv, misalignment_sd_mm, tab_weld_sigma, filling.fill_cv, formation.*_sd, eol.*_noise",
            "the preset's".to_string(),
            "preset: process spreads and gauge noise are the line's, not the cell's",
        ),
        (
            "coating.np_design, np_min, loading_tolerance, defects_per_cell",
            format!("N/P {}", s.coating.np_design),
            "preset: BPX gives the cycled stoichiometry windows, not the design N/P margin",
        ),
        (
            "formation.first_cycle_loss, eol.* limits and bins",
            format!(
                "loss {}, capacity ≥ {} of rated, DCIR ≤ {} of nominal",
                s.formation.first_cycle_loss, s.eol.capacity_min, s.eol.dcir_max
            ),
            "preset",
        ),
        (
            "pack.*, life.* (but balance_current_a), cost.learning_rate, *_gwh, line.*, cells, seed",
            format!("{}S{}P, {} cells", s.pack.series, s.pack.parallel, s.cells),
            "preset: the pack, its duty and the fade law are the chemistry's",
        ),
    ] {
        from_preset.push(line(key, value, why));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sig4_rounds() {
        assert_eq!(sig4(2.0937), 2.094);
        assert_eq!(sig4(0.26548), 0.2655);
        assert_eq!(sig4(7.2), 7.2);
    }
}
