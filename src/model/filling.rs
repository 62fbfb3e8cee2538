//! Electrolyte filling: fill mass spread. Under-filled cells are not scrapped (a real line tops them
//! up or lets them pass the weight check within tolerance); their shortfall raises the bulk
//! resistance here and the cycling fade in life. Twin: `filling()` in `shaders/cell_line.wgsl`.

use super::LineParams;
use crate::rng::{Philox, box_muller, stream};

#[derive(Clone, Copy, Debug)]
pub struct Filled {
    /// Shortfall below the target fill, fraction (0 at or above target).
    pub shortfall: f32,
    /// Electrolyte and bulk resistance, mΩ.
    pub r_bulk: f32,
}

#[inline]
pub fn filling(p: &LineParams, rng: &Philox, cell: u64) -> Filled {
    let u = rng.uniforms(cell, stream::FILLING, 0);
    let (z, _) = box_muller(u[0], u[1]);
    let shortfall = (-p.fill_cv * z).max(0.0);
    Filled {
        shortfall,
        r_bulk: p.r_bulk * (1.0 + p.r_per_shortfall * shortfall),
    }
}
