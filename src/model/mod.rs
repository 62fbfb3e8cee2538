//! The physics of the line, backend-free: one cell from coating to its grade as a pure function of
//! `(LineParams, cell index)`.
//!
//! Each stage lives in a module named after it and reads like its WGSL twin in `shaders/`
//! (`cell_line.wgsl` calls the same stage functions in the same order with the same draws), so the
//! two can be compared line by line. Arithmetic is f32 on purpose: it is what the GPU computes, so
//! the CPU reference and the GPU agree to rounding.

pub mod aging;
pub mod calendering;
pub mod coating;
pub mod cost;
pub mod filling;
pub mod formation;
pub mod life_plan;
pub mod pack;
pub mod params;
pub mod sorting;
pub mod winding;

pub use params::LineParams;

use crate::rng::Philox;
use bytemuck::{Pod, Zeroable};
use serde::Serialize;

/// The stations of the line, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Electrode coating (the beta gauge scraps off-tolerance loadings here).
    Coating,
    /// Calendering: porosity.
    Calendering,
    /// Winding or stacking (the X-ray scraps overhang breaches here).
    Winding,
    /// Electrolyte filling.
    Filling,
    /// Formation and the aging (K-value) test.
    Formation,
    /// End-of-line test and grading.
    Eol,
}

impl Stage {
    /// Every station in line order (the index is the stage's position in per-stage arrays).
    pub const ALL: [Stage; 6] = [
        Stage::Coating,
        Stage::Calendering,
        Stage::Winding,
        Stage::Filling,
        Stage::Formation,
        Stage::Eol,
    ];

    /// The scene-file key of the stage.
    pub fn key(self) -> &'static str {
        match self {
            Stage::Coating => "coating",
            Stage::Calendering => "calendering",
            Stage::Winding => "winding",
            Stage::Filling => "filling",
            Stage::Formation => "formation",
            Stage::Eol => "eol",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Coating => "Coating",
            Stage::Calendering => "Calendering",
            Stage::Winding => "Winding",
            Stage::Filling => "Filling",
            Stage::Formation => "Formation & aging",
            Stage::Eol => "End-of-line test",
        }
    }
}

/// Why a cell was scrapped; the numeric value is what the GPU writes into [`CellRecord::flags`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
pub enum Scrap {
    /// Beta gauge: cathode or anode loading outside tolerance (coating).
    Loading = 1,
    /// X-ray after winding: anode overhang breached (winding).
    Overhang = 2,
    /// K-value test at the end of aging: self-discharge above limit (formation & aging).
    SelfDischarge = 3,
    /// End-of-line: measured capacity below limit.
    LowCapacity = 4,
    /// End-of-line: measured DCIR above limit.
    HighDcir = 5,
}

impl Scrap {
    /// Every reason in code order (index = code − 1).
    pub const ALL: [Scrap; 5] = [
        Scrap::Loading,
        Scrap::Overhang,
        Scrap::SelfDischarge,
        Scrap::LowCapacity,
        Scrap::HighDcir,
    ];

    /// The station that scraps for this reason.
    pub fn stage(self) -> Stage {
        match self {
            Scrap::Loading => Stage::Coating,
            Scrap::Overhang => Stage::Winding,
            Scrap::SelfDischarge => Stage::Formation,
            Scrap::LowCapacity | Scrap::HighDcir => Stage::Eol,
        }
    }

    /// The reason of a scrap code as [`CellRecord::flags`] holds it (0 = passed: `None`).
    pub fn from_code(code: u32) -> Option<Scrap> {
        Scrap::ALL.get((code as usize).wrapping_sub(1)).copied()
    }

    /// The summary's and the JSON's key.
    pub fn key(self) -> &'static str {
        match self {
            Scrap::Loading => "loading",
            Scrap::Overhang => "overhang",
            Scrap::SelfDischarge => "self_discharge",
            Scrap::LowCapacity => "low_capacity",
            Scrap::HighDcir => "high_dcir",
        }
    }
}

/// Bits of [`CellRecord::flags`]. Keep in sync with `shaders/shared/layout.wgsl`.
pub mod flags {
    /// The cell carries a latent particle defect.
    pub const DEFECT: u32 = 1 << 0;
    /// Anode overhang breached (caught by X-ray or not).
    pub const BREACH: u32 = 1 << 1;
    /// N/P below the plating threshold or an escaped breach: lithium plating in life.
    pub const PLATING: u32 = 1 << 2;
    /// Scrap reason (0 = passed) in bits 4..8.
    pub const SCRAP_SHIFT: u32 = 4;
    /// The scrap reason's bits.
    pub const SCRAP_MASK: u32 = 0xF << SCRAP_SHIFT;
    /// Grade bin in bits 8..16.
    pub const GRADE_SHIFT: u32 = 8;
    /// The grade bin's bits.
    pub const GRADE_MASK: u32 = 0xFF << GRADE_SHIFT;
}

/// What one cell leaves the line with: true and measured values, pass/scrap and grade.
/// The layout is shared with WGSL (`CellRecord` in `shaders/shared/layout.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct CellRecord {
    /// True capacity after formation, Ah.
    pub q_true: f32,
    /// Capacity as the EOL gauge reads it, Ah.
    pub q_meas: f32,
    /// True DC internal resistance, mΩ.
    pub r_true: f32,
    /// DCIR as measured, mΩ.
    pub r_meas: f32,
    /// Self-discharge once any latent defect has fully developed, mV/day.
    pub k_true: f32,
    /// K-value as the aging test measured it, mV/day.
    pub k_meas: f32,
    /// Anode-to-cathode capacity ratio.
    pub np_ratio: f32,
    /// Electrolyte fill ratio's shortfall below the optimum, fraction (0 at or above it).
    pub fill_shortfall: f32,
    /// [`flags`] bits.
    pub flags: u32,
    /// First-cycle loss at formation, fraction: how much lithium the SEI took (calendar aging).
    pub first_cycle_loss: f32,
    /// Tab-weld resistance, mΩ (part of `r_true`): its heat is local, at the tab.
    pub r_tab: f32,
}

impl CellRecord {
    /// Why the cell was scrapped; `None` if it passed every test.
    pub fn scrap(&self) -> Option<Scrap> {
        Scrap::from_code((self.flags & flags::SCRAP_MASK) >> flags::SCRAP_SHIFT)
    }
    /// Whether the cell passed every test.
    pub fn passed(&self) -> bool {
        self.flags & flags::SCRAP_MASK == 0
    }
    /// Its capacity grade bin (0 = lowest).
    pub fn grade(&self) -> u32 {
        (self.flags & flags::GRADE_MASK) >> flags::GRADE_SHIFT
    }
    /// Whether a [`flags`] bit is set.
    pub fn has(&self, bit: u32) -> bool {
        self.flags & bit != 0
    }
    /// The last station this cell entered: where it was scrapped, or EOL if it passed.
    pub fn last_stage(&self) -> Stage {
        self.scrap().map_or(Stage::Eol, Scrap::stage)
    }
}

const _: () = assert!(std::mem::size_of::<CellRecord>() == 44);

/// Lot-level draws a cell shares with its lot (coil) and formation rack. The CPU engine caches
/// these per lot; the GPU recomputes them (one Philox call each).
#[derive(Clone, Copy, Debug, Default)]
pub struct LotDraws {
    /// The coating lot the draws belong to (cell index / lot size).
    pub coating_lot: u64,
    /// The formation rack the draw belongs to (cell index / rack size).
    pub rack: u64,
    /// Cathode loading lot normal.
    pub z_cathode: f32,
    /// Anode loading lot normal.
    pub z_anode: f32,
    /// Rack temperature normal.
    pub z_rack: f32,
}

impl LotDraws {
    /// The draws of the lot and rack of cell `cell`.
    pub fn for_cell(p: &LineParams, rng: &Philox, cell: u64) -> LotDraws {
        let coating_lot = cell / u64::from(p.coating_lot_size);
        let rack = cell / u64::from(p.rack_size);
        let (zc, za) = coating::lot_normals(rng, coating_lot);
        LotDraws {
            coating_lot,
            rack,
            z_cathode: zc,
            z_anode: za,
            z_rack: formation::rack_normal(rng, rack),
        }
    }

    /// Reuse `self` if the cell is in the same lots, else draw again.
    #[inline]
    pub fn refresh(&mut self, p: &LineParams, rng: &Philox, cell: u64) {
        let lot = cell / u64::from(p.coating_lot_size);
        if lot != self.coating_lot {
            self.coating_lot = lot;
            (self.z_cathode, self.z_anode) = coating::lot_normals(rng, lot);
        }
        let rack = cell / u64::from(p.rack_size);
        if rack != self.rack {
            self.rack = rack;
            self.z_rack = formation::rack_normal(rng, rack);
        }
    }
}

/// One cell through the whole line. `lots` must be the draws of this cell's lots.
#[inline]
pub fn simulate_cell(p: &LineParams, rng: &Philox, cell: u64, lots: &LotDraws) -> CellRecord {
    let c = coating::coating(p, rng, cell, lots.z_cathode, lots.z_anode);
    let k = calendering::calendering(p, rng, cell, c.cathode);
    let w = winding::winding(p, rng, cell);
    let f = filling::filling(
        p,
        rng,
        cell,
        w.area,
        0.5 * (c.cathode + c.anode),
        k.porosity,
    );
    let fo = formation::formation(p, rng, cell, lots.z_rack, c.defect);
    sorting::test_and_sort(p, rng, cell, &c, &k, &w, &f, &fo)
}
