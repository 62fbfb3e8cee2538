//! What the engine hands the summary about packs: counts and moments of every pack, a few numbers
//! of each aged pack, and the packs kept whole (see `model::life_plan` for which are which).

use super::{Histogram, Moments};
use crate::model::flags;
use crate::model::pack::{EndOfLife, PackCell, PackLife};
use crate::scene::Scene;

/// One aged pack: what the life percentiles, histograms, end-of-life reasons and the packs table
/// read of it. A few numbers, so a run can age every pack (the GPU reads back just these).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AgedPack {
    /// Its slot (`window · slots per window + pack in window`): the pack's id, the same in a
    /// sharded run.
    pub slot: u64,
    /// Initial capacity, Ah (its smallest parallel group).
    pub q_initial: f32,
    /// Cycles to end of life (or the cap).
    pub cycles: u32,
    /// What ended its life.
    pub reason: EndOfLife,
    /// Calendar share of the capacity lost at end of life.
    pub calendar_share: f32,
    /// Equivalent full cycles delivered before end of life.
    pub efc: f32,
    /// Cells with a latent defect among its cells.
    pub defects: u32,
}

impl AgedPack {
    /// The record of a pack aged on the host: its slot and initial capacity (from assembly),
    /// its cells and its life.
    pub fn new(
        (slot, q_initial): (u64, f32),
        cells: &[PackCell],
        life: &PackLife,
        scene: &Scene,
    ) -> AgedPack {
        let window = scene.life.soc_hi - scene.life.soc_lo;
        AgedPack {
            slot,
            q_initial,
            cycles: life.cycles,
            reason: life.reason,
            calendar_share: life.calendar_share,
            efc: pack_efc(life, scene.life.cycles_per_step, window) as f32,
            defects: cells
                .iter()
                .filter(|c| c.flags & flags::DEFECT != 0)
                .count() as u32,
        }
    }
}

/// An aged pack kept whole: which cells it holds and its fade curve (the fade band, the packs
/// table's cell lists). About `pack.band_packs` per run.
#[derive(Clone, Debug, PartialEq)]
pub struct KeptPack {
    /// Its slot (an aged slot too).
    pub slot: u64,
    /// Its cells' indices in pack order (groups of `parallel` along the string).
    pub cells: Vec<u64>,
    /// Pack capacity, fraction of rated, before the first step and after every step.
    pub curve: Vec<f32>,
}

/// What the engine hands over about packs.
#[derive(Clone, Debug, PartialEq)]
pub struct PackTotals {
    /// Packs formed.
    pub packs: u64,
    /// Passed cells left over in windows (not packed).
    pub unpacked: u64,
    /// Matching windows filled.
    pub windows: u64,
    /// Initial capacity of every pack, Ah.
    pub initial: Moments,
    /// Histogram of every pack's initial capacity, Ah.
    pub hist_initial: Histogram,
    /// Every aged pack, in slot order.
    pub aged: Vec<AgedPack>,
    /// The aged packs kept whole, in slot order.
    pub kept: Vec<KeptPack>,
}

impl PackTotals {
    /// Nothing yet, with the initial-capacity histogram's bins.
    pub fn empty(hist_initial: Histogram) -> PackTotals {
        PackTotals {
            packs: 0,
            unpacked: 0,
            windows: 0,
            initial: Moments::default(),
            hist_initial,
            aged: Vec::new(),
            kept: Vec::new(),
        }
    }

    /// Append the next range's packs (ranges in cell order): counts add, moments and histograms
    /// merge exactly, aged and kept packs follow in slot order.
    pub fn merge(&mut self, o: PackTotals) {
        self.packs += o.packs;
        self.unpacked += o.unpacked;
        self.windows += o.windows;
        self.initial.merge(&o.initial);
        self.hist_initial.merge(&o.hist_initial);
        self.aged.extend(o.aged);
        self.kept.extend(o.kept);
    }
}

/// Equivalent full cycles a pack delivered before end of life. The curve's point `s` is the
/// capacity fraction the duty met during step `s`, so a step of `n` cycles delivers
/// `n · min(window, fraction)` rated capacities; the step that crosses end of life counts up to the
/// crossing.
fn pack_efc(l: &PackLife, cycles_per_step: u32, window: f64) -> f64 {
    let n = f64::from(cycles_per_step);
    let end = f64::from(l.cycles);
    l.curve
        .iter()
        .enumerate()
        .map(|(s, &f)| (end - s as f64 * n).clamp(0.0, n) * window.min(f64::from(f)))
        .sum()
}
