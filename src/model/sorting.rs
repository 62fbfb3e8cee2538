//! End-of-line test and sorting: the true cell is assembled from what every stage decided, gauged
//! with noise, held against the limits (in line order: the first station that rejects a cell is
//! where it is scrapped) and graded into capacity bins. Twin: `test_and_sort()` in
//! `shaders/cell_line.wgsl`.

use super::calendering::Calendered;
use super::coating::Coated;
use super::filling::Filled;
use super::formation::Formed;
use super::winding::Wound;
use super::{CellRecord, LineParams, Scrap, flags};

/// Capacity: `Q = Q_rated · min(cathode, anode·N/P_design / N/P_min) · area · (1−loss)/(1−loss₀)`,
/// so a nominal cell has the rated capacity. Resistance: tab + (ionic + SEI + bulk)/area. `d` is
/// the gauges' draws ([`super::Draws::eol`]: capacity, DCIR and K-value noise normals).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn test_and_sort(
    p: &LineParams,
    d: [f32; 3],
    c: &Coated,
    k: &Calendered,
    w: &Wound,
    f: &Filled,
    fo: &Formed,
) -> CellRecord {
    let electrode = c.cathode.min(c.anode * p.np_design / p.np_min);
    let q_true =
        p.q_rated * electrode * w.area * (1.0 - fo.first_cycle_loss) / (1.0 - p.first_cycle_loss);
    let r_true = w.r_tab + (k.r_ionic + fo.r_sei + f.r_bulk) / w.area;

    let [z_q, z_r, z_k] = d;
    let q_meas = q_true * (1.0 + p.capacity_noise * z_q);
    let r_meas = r_true * (1.0 + p.dcir_noise * z_r);
    let k_meas = fo.k_during_test + p.k_noise * z_k;

    let scrap = if c.out_of_tolerance {
        Some(Scrap::Loading)
    } else if w.breach && w.caught {
        Some(Scrap::Overhang)
    } else if k_meas > p.k_max {
        Some(Scrap::SelfDischarge)
    } else if q_meas < p.capacity_min {
        Some(Scrap::LowCapacity)
    } else if r_meas > p.dcir_max {
        Some(Scrap::HighDcir)
    } else {
        None
    };

    let grade = ((q_meas - p.grade_lo) / p.grade_width)
        .floor()
        .clamp(0.0, (p.grade_bins - 1) as f32) as u32;
    let mut bits = grade << flags::GRADE_SHIFT;
    if let Some(s) = scrap {
        bits |= (s as u32) << flags::SCRAP_SHIFT;
    }
    if c.defect {
        bits |= flags::DEFECT;
    }
    if w.breach {
        bits |= flags::BREACH;
    }
    if c.np_ratio < p.plating_np || w.breach {
        bits |= flags::PLATING;
    }
    CellRecord {
        q_true,
        q_meas,
        r_true,
        r_meas,
        k_true: fo.k_true,
        k_meas,
        np_ratio: c.np_ratio,
        fill_shortfall: f.shortfall,
        flags: bits,
        first_cycle_loss: fo.first_cycle_loss,
        r_tab: w.r_tab,
    }
}
