//! Winding: electrode area, layer misalignment against the anode overhang, tab-weld resistance,
//! and the in-line X-ray that looks for overhang breaches. Twin: `winding()` in
//! `shaders/cell_line.wgsl`.

use super::LineParams;
use crate::rng::{Philox, stream};

/// What winding decides for one cell.
#[derive(Clone, Copy, Debug)]
pub struct Wound {
    /// Electrode area relative to design.
    pub area: f32,
    /// |misalignment| beyond the overhang: the cathode faces no anode at the edge.
    pub breach: bool,
    /// The X-ray saw the breach (only meaningful when `breach`).
    pub caught: bool,
    /// Tab-weld resistance, mΩ (lognormal).
    pub r_tab: f32,
}

/// Wind one cell: its area, its alignment against the overhang and the X-ray's verdict, its tab
/// weld. `d` is the cell's winding draws ([`super::Draws::winding`]: area, misalignment and tab
/// normals).
#[inline(always)]
pub fn winding(p: &LineParams, rng: &Philox, cell: u64, d: [f32; 3]) -> Wound {
    let [z_area, z_mis, z_tab] = d;
    let breach = (p.misalignment_sd * z_mis).abs() > p.overhang;
    // The X-ray draw is taken only for a breached cell (rare): a second Philox call.
    let caught = breach && rng.uniforms(cell, stream::WINDING, 1)[0] < p.xray_detect;
    Wound {
        area: 1.0 + p.area_cv * z_area,
        breach,
        caught,
        r_tab: p.tab_median * (p.tab_sigma * z_tab).exp(),
    }
}
