//! Formation and aging: first-cycle loss on a formation rack (its temperature shared by the rack),
//! the SEI resistance it leaves, self-discharge, and the latent defects that develop into
//! micro-shorts during the aging test. Twin: `formation()` in `shaders/cell_line.wgsl`.

use super::LineParams;
use crate::rng::{Philox, normal, stream};

/// What formation and the aging test leave in one cell.
#[derive(Clone, Copy, Debug)]
pub struct Formed {
    /// First-cycle loss, fraction of the formed capacity.
    pub first_cycle_loss: f32,
    /// SEI resistance, mΩ: scales with the loss (more lithium in the SEI, thicker SEI).
    pub r_sei: f32,
    /// Self-discharge with any defect fully developed, mV/day.
    pub k_true: f32,
    /// Self-discharge averaged over the aging test (a late-starting defect shows part of it).
    pub k_during_test: f32,
}

/// The rack temperature normal shared by every cell of a formation rack.
#[inline]
pub fn rack_normal(rng: &Philox, rack: u64) -> f32 {
    normal(rng.words(rack, stream::FORMATION | stream::LOT, 0)[0])
}

/// Form one cell on its rack (`z_rack`, the rack's temperature normal); `defect` is whether
/// coating put a latent particle defect in it. `d` is the cell's formation draws
/// ([`super::Draws::formation`]: loss and K normals, defect severity and onset uniforms).
#[inline(always)]
pub fn formation(p: &LineParams, d: [f32; 4], z_rack: f32, defect: bool) -> Formed {
    let mut f = form(p, d, z_rack, k_spread(p, d[1]));
    if defect {
        develop(p, d, &mut f);
    }
    f
}

/// [`formation`] of a cell without a defect, given its self-discharge's lognormal factor
/// ([`k_spread`]): no call, so that the CPU's lane groups compute it for eight cells at once.
#[inline(always)]
pub fn form(p: &LineParams, d: [f32; 4], z_rack: f32, k_spread: f32) -> Formed {
    let [z_loss, _, _, _] = d;
    let d_temp = p.rack_temp_sd * z_rack;
    let loss = (p.first_cycle_loss + p.first_cycle_loss_sd * z_loss + p.loss_per_degc * d_temp)
        .clamp(0.0, 0.9);
    let k_base = p.k_median * k_spread;
    let loss_ratio = if p.first_cycle_loss > 0.0 {
        loss / p.first_cycle_loss
    } else {
        1.0
    };
    Formed {
        first_cycle_loss: loss,
        r_sei: p.r_sei * loss_ratio,
        k_true: k_base,
        k_during_test: k_base,
    }
}

/// The self-discharge's lognormal factor `e^(σ·z)` of its normal `z`.
#[inline(always)]
pub fn k_spread(p: &LineParams, z_k: f32) -> f32 {
    k_spread_arg(p, z_k).exp()
}

/// What [`k_spread`] takes `exp` of (the lane loop takes it eight at a time).
#[inline(always)]
pub fn k_spread_arg(p: &LineParams, z_k: f32) -> f32 {
    p.k_sigma * z_k
}

/// A latent defect's self-discharge added to a formed cell: severity uniform in [min, max]; onset
/// exponential: a defect that starts at t_on contributes (D - t_on)/D of its rate to a K-value
/// measured over D days.
#[inline(always)]
pub fn develop(p: &LineParams, d: [f32; 4], f: &mut Formed) {
    let [_, _, u_severity, u_onset] = d;
    let severity = p.defect_k_min + (p.defect_k_max - p.defect_k_min) * u_severity;
    let onset = -p.defect_onset_mean * u_onset.ln();
    f.k_true += severity;
    f.k_during_test += severity * ((p.aging_days - onset) / p.aging_days).max(0.0);
}
