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
    let w = wind(p, d, tab_spread(p, d[2]));
    Wound {
        caught: xray(p, rng, cell, w.breach),
        ..w
    }
}

/// [`winding`] before the X-ray (`caught` false), given the tab weld's lognormal factor
/// ([`tab_spread`]): no branch and no call, so that the CPU's lane groups compute it for eight
/// cells at once.
#[inline(always)]
pub fn wind(p: &LineParams, d: [f32; 3], tab: f32) -> Wound {
    let [z_area, z_mis, _] = d;
    Wound {
        area: 1.0 + p.area_cv * z_area,
        breach: (p.misalignment_sd * z_mis).abs() > p.overhang,
        caught: false,
        r_tab: p.tab_median * tab,
    }
}

/// The tab weld's lognormal factor `e^(σ·z)` of its normal `z`.
#[inline(always)]
pub fn tab_spread(p: &LineParams, z_tab: f32) -> f32 {
    tab_spread_arg(p, z_tab).exp()
}

/// What [`tab_spread`] takes `exp` of (the lane loop takes it eight at a time).
#[inline(always)]
pub fn tab_spread_arg(p: &LineParams, z_tab: f32) -> f32 {
    p.tab_sigma * z_tab
}

/// Whether the X-ray sees cell `cell`'s breach. The draw is taken only for a breached cell
/// (rare): a second Philox call.
#[inline(always)]
pub fn xray(p: &LineParams, rng: &Philox, cell: u64, breach: bool) -> bool {
    breach && rng.uniforms(cell, stream::WINDING, 1)[0] < p.xray_detect
}
