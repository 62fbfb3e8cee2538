//! Electrode coating: areal loading of cathode and anode (lot and within-lot spread) and latent
//! particle defects. Twin: `coating()` in `shaders/cell_line.wgsl`.

use super::LineParams;
use crate::rng::{Philox, normal, stream};

/// What coating decides for one cell.
#[derive(Clone, Copy, Debug)]
pub struct Coated {
    /// Cathode loading relative to target (1.0 = on target).
    pub cathode: f32,
    /// Anode loading relative to target (1.0 = on target).
    pub anode: f32,
    /// Anode-to-cathode capacity ratio.
    pub np_ratio: f32,
    /// The beta gauge rejects this cell's electrode section.
    pub out_of_tolerance: bool,
    /// A latent particle defect was coated into the cell.
    pub defect: bool,
}

/// The lot (coil) normals for cathode and anode loading.
#[inline]
pub fn lot_normals(rng: &Philox, lot: u64) -> (f32, f32) {
    let w = rng.words(lot, stream::COATING | stream::LOT, 0);
    (normal(w[0]), normal(w[1]))
}

/// `x = 1 + c_lot·z_lot + c_w·z_cell` for both electrodes; defects Poisson per cell. `d` is the
/// cell's coating draws ([`super::Draws::coating`]: the two loading normals and the defect uniform).
#[inline(always)]
pub fn coating(p: &LineParams, d: [f32; 3], z_lot_c: f32, z_lot_a: f32) -> Coated {
    let [zc, za, u_defect] = d;
    let cathode = 1.0 + p.cathode_lot_cv * z_lot_c + p.cathode_cv * zc;
    let anode = 1.0 + p.anode_lot_cv * z_lot_a + p.anode_cv * za;
    let out_of_tolerance =
        (cathode - 1.0).abs() > p.loading_tolerance || (anode - 1.0).abs() > p.loading_tolerance;
    Coated {
        cathode,
        anode,
        np_ratio: p.np_design * anode / cathode,
        out_of_tolerance,
        // A Poisson count is above 0 exactly when the uniform is above the probability of 0,
        // e^−mean: inversion's first step (`rng::poisson(mean, u) > 0`) without its loop.
        defect: u_defect > (-p.defects_per_cell).exp(),
    }
}
