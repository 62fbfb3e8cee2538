//! Electrolyte filling: a fill mass against the cell's own pore volume. The line doses a mass
//! (target ± fill CV); the pores it has to wet follow what coating, calendering and winding made:
//! `V ∝ area · thickness · ε/(1−ε)` at fixed solid density, the thickness following the loading.
//! Pritzlaff, Niehoff, Winter et al. found cycle life best at a fill of about 1.14–1.19× the pore
//! volume and falling below it (dry pores, higher resistance); above it more electrolyte buys
//! nothing. Under-filled cells are not scrapped (the weight check sees a correct mass); their
//! shortfall below the optimum raises the bulk resistance here and the cycling fade in life.
//! Twin: `filling()` in `shaders/cell_line.wgsl`.

use super::LineParams;

/// What filling leaves in one cell.
#[derive(Clone, Copy, Debug)]
pub struct Filled {
    /// Shortfall of the fill ratio below the optimum, fraction (0 at or above it).
    pub shortfall: f32,
    /// Electrolyte and bulk resistance, mΩ.
    pub r_bulk: f32,
}

/// `area` and `loading` relative to design (loading: the mean of cathode and anode), `porosity`
/// absolute; `z` is the fill-mass normal.
#[inline(always)]
pub fn filling(p: &LineParams, z: f32, area: f32, loading: f32, porosity: f32) -> Filled {
    let mass = 1.0 + p.fill_cv * z;
    let e0 = p.porosity_target;
    // The clamp only guards absurd scenes (validation keeps the target within 0.1–0.6).
    let e = porosity.min(0.95);
    let pore = area * loading * (e / (1.0 - e)) * ((1.0 - e0) / e0);
    let ratio = p.fill_ratio * mass / pore;
    let shortfall = (1.0 - ratio / p.fill_ratio_opt).max(0.0);
    Filled {
        shortfall,
        r_bulk: p.r_bulk * (1.0 + p.r_per_shortfall * shortfall),
    }
}
