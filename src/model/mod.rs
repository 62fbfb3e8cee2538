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
#[cfg(target_arch = "x86_64")]
mod expf;
pub mod filling;
pub mod formation;
pub mod lanes;
pub mod life_plan;
pub mod pack;
pub mod params;
pub mod sorting;
pub mod winding;

pub use params::LineParams;

use crate::rng::{
    ERFINV_TAIL, Philox, erfinv_central, erfinv_tail, erfinv_w, normal, stream, uniform_open,
};
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

/// The Philox stream of each stage's one call per cell, in line order (the order of the words in
/// [`draws`]).
pub const STAGE_STREAMS: [u32; 6] = [
    stream::COATING,
    stream::CALENDERING,
    stream::WINDING,
    stream::FILLING,
    stream::FORMATION,
    stream::EOL,
];

/// A Philox word, or `L` of them side by side (one per cell of a lane group): what turns into a
/// normal or a uniform. One trait for both, so that the scalar cell and the lane group draw
/// through the same [`draws`] and cannot drift apart.
pub trait Word: Copy {
    /// `f32`, or `[f32; L]` for lanes.
    type F: Copy;
    /// [`crate::rng::normal`] of each word.
    fn normal(self) -> Self::F;
    /// [`uniform_open`] of each word.
    fn uniform(self) -> Self::F;
    /// [`Word::normal`] of each of `N` words.
    #[inline(always)]
    fn normals<const N: usize>(words: [Self; N]) -> [Self::F; N] {
        words.map(Self::normal)
    }
}

impl Word for u32 {
    type F = f32;
    #[inline(always)]
    fn normal(self) -> f32 {
        normal(self)
    }
    #[inline(always)]
    fn uniform(self) -> f32 {
        uniform_open(self)
    }
}

impl<const L: usize> Word for [u32; L] {
    type F = [f32; L];
    #[inline(always)]
    fn normal(self) -> [f32; L] {
        let [z] = Self::normals([self]);
        z
    }
    /// `rng::normal` lane by lane over all `N·L` lanes, in fixed-width loops of branch-free
    /// arithmetic that vectorise; the tail polynomial (0.34 % of draws) only where some lane needs
    /// it. One pass over all the words, not word after word: a normal is two chains of dependent
    /// Horner steps (the logarithm's, then the central polynomial's), and a loop of many
    /// independent ones lets the vectoriser interleave them, where word after word left the core
    /// waiting on one chain at a time (one thread's line +8 %, the same bits).
    #[inline(always)]
    fn normals<const N: usize>(words: [Self; N]) -> [[f32; L]; N] {
        let (mut x, mut w, mut p) = ([[0.0f32; L]; N], [[0.0f32; L]; N], [[0.0f32; L]; N]);
        let n = N * L;
        let words = &words.as_flattened()[..n];
        let (xf, wf, pf) = (
            &mut x.as_flattened_mut()[..n],
            &mut w.as_flattened_mut()[..n],
            &mut p.as_flattened_mut()[..n],
        );
        // A count, not a `bool` or-ed per lane: that the compiler keeps as a vector compare.
        let mut tail = 0u32;
        for i in 0..n {
            xf[i] = 2.0 * uniform_open(words[i]) - 1.0;
            wf[i] = erfinv_w(xf[i]);
        }
        for i in 0..n {
            pf[i] = erfinv_central(wf[i]);
            tail += u32::from(wf[i] >= ERFINV_TAIL);
        }
        if tail > 0 {
            for i in 0..n {
                if wf[i] >= ERFINV_TAIL {
                    pf[i] = erfinv_tail(wf[i]);
                }
            }
        }
        let mut z = [[0.0f32; L]; N];
        for (zi, (&pi, &xi)) in z.as_flattened_mut()[..n]
            .iter_mut()
            .zip(pf.iter().zip(xf.iter()))
        {
            *zi = std::f32::consts::SQRT_2 * (pi * xi);
        }
        z
    }
    #[inline(always)]
    fn uniform(self) -> [f32; L] {
        let mut u = [0.0; L];
        for l in 0..L {
            u[l] = uniform_open(self[l]);
        }
        u
    }
}

/// The random inputs of one cell (`F = f32`) or of a lane group (`F = [f32; L]`), one Philox call
/// per stage ([`STAGE_STREAMS`], draw 0) with one word per draw: normals by the inverse CDF, so
/// no word is wasted on a Box–Muller partner. The WGSL stages take the same words.
#[derive(Clone, Copy, Debug)]
pub struct Draws<F> {
    /// Cathode and anode loading normals, the defect uniform (words 0, 1, 2).
    pub coating: [F; 3],
    /// Porosity normal (word 0).
    pub calendering: F,
    /// Area, misalignment and tab-weld normals (words 0, 1, 2).
    pub winding: [F; 3],
    /// Fill-mass normal (word 0).
    pub filling: F,
    /// First-cycle loss and K normals, defect severity and onset uniforms (words 0–3).
    pub formation: [F; 4],
    /// Capacity, DCIR and K gauge normals (words 0, 1, 2).
    pub eol: [F; 3],
}

/// A cell's (or a lane group's) [`Draws`] from its six stages' Philox words.
#[inline(always)]
pub fn draws<W: Word>(w: &[[W; 4]; 6]) -> Draws<W::F> {
    let [c, k, wi, f, fo, e] = w;
    let [c0, c1, k0, wi0, wi1, wi2, f0, fo0, fo1, e0, e1, e2] = W::normals([
        c[0], c[1], k[0], wi[0], wi[1], wi[2], f[0], fo[0], fo[1], e[0], e[1], e[2],
    ]);
    Draws {
        coating: [c0, c1, c[2].uniform()],
        calendering: k0,
        winding: [wi0, wi1, wi2],
        filling: f0,
        formation: [fo0, fo1, fo[2].uniform(), fo[3].uniform()],
        eol: [e0, e1, e2],
    }
}

impl<const L: usize> Draws<[f32; L]> {
    /// The draws of lane `l`.
    #[inline(always)]
    pub fn lane(&self, l: usize) -> Draws<f32> {
        // Indexing, not `array::map`: std's generic helpers are compiled without the caller's
        // target features and would not inline into the AVX2 loop.
        let (c, w, fo, e) = (&self.coating, &self.winding, &self.formation, &self.eol);
        Draws {
            coating: [c[0][l], c[1][l], c[2][l]],
            calendering: self.calendering[l],
            winding: [w[0][l], w[1][l], w[2][l]],
            filling: self.filling[l],
            formation: [fo[0][l], fo[1][l], fo[2][l], fo[3][l]],
            eol: [e[0][l], e[1][l], e[2][l]],
        }
    }
}

/// One cell through the whole line. `lots` must be the draws of this cell's lots.
#[inline]
pub fn simulate_cell(p: &LineParams, rng: &Philox, cell: u64, lots: &LotDraws) -> CellRecord {
    let words = STAGE_STREAMS.map(|s| rng.words(cell, s, 0));
    line(p, rng, cell, &draws(&words), lots)
}

/// The stages of one cell from its draws: the model, shared by [`simulate_cell`] and the lane
/// groups of [`lanes::simulate_cells`] (which give it the same draws, so the same cell).
#[inline(always)]
pub fn line(
    p: &LineParams,
    rng: &Philox,
    cell: u64,
    d: &Draws<f32>,
    lots: &LotDraws,
) -> CellRecord {
    let c = coating::coating(p, d.coating, lots.z_cathode, lots.z_anode);
    let k = calendering::calendering(p, d.calendering, c.cathode);
    let w = winding::winding(p, rng, cell, d.winding);
    let f = filling::filling(
        p,
        d.filling,
        w.area,
        0.5 * (c.cathode + c.anode),
        k.porosity,
    );
    let fo = formation::formation(p, d.formation, lots.z_rack, c.defect);
    sorting::test_and_sort(p, d.eol, &c, &k, &w, &f, &fo)
}
