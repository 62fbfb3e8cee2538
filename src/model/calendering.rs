//! Calendering: porosity, and through Bruggeman's relation the ionic resistance of the electrode.
//! Twin: `calendering()` in `shaders/cell_line.wgsl`.

use super::LineParams;

/// What calendering decides for one cell.
#[derive(Clone, Copy, Debug)]
pub struct Calendered {
    /// Porosity, absolute fraction.
    pub porosity: f32,
    /// Ionic resistance before the area correction, mΩ.
    pub r_ionic: f32,
}

/// Porosity lower than target lengthens the ionic path: `R ∝ L·(ε₀/ε)^1.5` (Bruggeman, with
/// tortuosity ε^-0.5), and the electrode thickness L follows the loading. `z` is the porosity
/// normal.
#[inline(always)]
pub fn calendering(p: &LineParams, z: f32, cathode_loading: f32) -> Calendered {
    // A porosity below 2 % is not an electrode; the clamp only guards absurd scenes.
    let porosity = (p.porosity_target + p.porosity_sd * z).max(0.02);
    let ratio = p.porosity_target / porosity;
    Calendered {
        porosity,
        r_ionic: p.r_ionic * cathode_loading * ratio * ratio.sqrt(),
    }
}
