//! Pack assembly (matching within a warehouse window) and pack life (MODEL.md §3).
//!
//! Pack life is the CPU twin of `shaders/pack_life.wgsl`: the same per-step order — group sums,
//! pack capacity, duty, each cell's conditions and fade, self-discharge and balancing, shorts.

use super::aging::{
    AgingParams, CellAge, CurrentTerms, HoistedStep, Nominal, RateTable, RestTerms, dod_term,
    power_steps, step_rates,
};
use super::{CellRecord, flags};
use crate::rng::{Philox, box_muller, stream};
use crate::scene::{Matching, Scene};
use bytemuck::{Pod, Zeroable};
use serde::Serialize;

/// What pack assembly and life need of a passed cell. Shared with WGSL (`PackCell`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct PackCell {
    /// Initial (true) capacity, Ah.
    pub q0: f32,
    /// Initial (true) DCIR, mΩ.
    pub r0: f32,
    /// Self-discharge, mV/day.
    pub k: f32,
    /// Electrolyte fill ratio's shortfall below the optimum, fraction: raises cycling fade.
    pub fill_shortfall: f32,
    /// Measured capacity, Ah: what matching sorts by.
    pub q_meas: f32,
    /// [`flags`] bits of the cell record (defect, plating, grade).
    pub flags: u32,
    /// Global cell index (keys the cell's draws in life), low word.
    pub index_lo: u32,
    /// Global cell index, high word.
    pub index_hi: u32,
    /// Anode-to-cathode capacity ratio as coated: its margin sets the cycling fade.
    pub np_ratio: f32,
    /// First-cycle loss at formation, fraction: its SEI sets the calendar fade.
    pub first_cycle_loss: f32,
    /// Measured DCIR, mΩ: what `sorted_dcir` matching sorts by.
    pub r_meas: f32,
    /// Tab-weld resistance, mΩ (part of `r0`): heats the tab locally.
    pub r_tab: f32,
}

const _: () = assert!(std::mem::size_of::<PackCell>() == 48);

impl PackCell {
    /// What a pack keeps of the passed cell `index`'s record.
    pub fn from_record(r: &CellRecord, index: u64) -> PackCell {
        PackCell {
            q0: r.q_true,
            r0: r.r_true,
            k: r.k_true,
            fill_shortfall: r.fill_shortfall,
            q_meas: r.q_meas,
            flags: r.flags,
            index_lo: index as u32,
            index_hi: (index >> 32) as u32,
            np_ratio: r.np_ratio,
            first_cycle_loss: r.first_cycle_loss,
            r_meas: r.r_meas,
            r_tab: r.r_tab,
        }
    }
    /// The scene's nominal cell: rated capacity, nominal DCIR, design N/P, nominal first-cycle
    /// loss, median self-discharge, no defect. Every process→aging factor is 1 for it.
    pub fn nominal(s: &Scene) -> PackCell {
        let (q, r) = (s.cell.capacity_ah as f32, s.cell.dcir_mohm as f32);
        PackCell {
            q0: q,
            r0: r,
            k: s.formation.k_median_mv_day as f32,
            q_meas: q,
            r_meas: r,
            np_ratio: s.coating.np_design as f32,
            first_cycle_loss: s.formation.first_cycle_loss as f32,
            r_tab: s.winding.tab_weld_median_mohm as f32,
            ..PackCell::default()
        }
    }
    /// The global cell index.
    pub fn index(&self) -> u64 {
        u64::from(self.index_lo) | (u64::from(self.index_hi) << 32)
    }
    /// Its capacity grade bin (0 = lowest).
    pub fn grade(&self) -> u32 {
        (self.flags & flags::GRADE_MASK) >> flags::GRADE_SHIFT
    }
}

/// Order a window's cells for assembly; consecutive runs of `pack_size` form packs (groups of
/// `parallel` consecutive cells within a pack). Returns the order and how many cells are left over
/// (not packed from this window; counted as unpacked, as stock a real line would carry over).
///
/// Every order is a stable sort by a 32-bit key with the window position breaking ties
/// ([`match_key`]; `binned`: the grade), so the GPU's radix sort makes the same packs from the same
/// cells. `random`'s key is keyed by the cell index alone, so `_window` no longer enters it.
pub fn match_window(
    cells: &[PackCell],
    matching: Matching,
    pack_size: usize,
    grade_bins: u32,
    rng: &Philox,
    _window: u64,
) -> (Vec<u32>, usize) {
    let n = cells.len();
    match matching {
        Matching::Random | Matching::Sorted | Matching::SortedDcir => {
            // Stable by a 32-bit key, the window position breaking ties. `random`'s key is a
            // Philox word keyed by the cell (not a Fisher–Yates shuffle, which is inherently
            // sequential): a keyed sort is a shuffle the GPU's radix sort computes identically
            // (`shaders/assemble.wgsl`), so both backends make the same random packs.
            let mut order = keyed_order(cells, |c| match_key(c, matching, rng));
            let packs = n / pack_size;
            order.truncate(packs * pack_size);
            (order, n - packs * pack_size)
        }
        Matching::Binned => {
            // Production order within each grade bin; a bin's remainder is left unpacked.
            let mut order = Vec::with_capacity(n);
            let mut left = 0;
            let mut bins: Vec<Vec<u32>> = vec![Vec::new(); grade_bins as usize];
            for (i, c) in cells.iter().enumerate() {
                bins[(c.grade() as usize).min(grade_bins as usize - 1)].push(i as u32);
            }
            for bin in bins {
                let packs = bin.len() / pack_size;
                order.extend_from_slice(&bin[..packs * pack_size]);
                left += bin.len() - packs * pack_size;
            }
            (order, left)
        }
    }
}

/// The 32-bit key a cell is ordered by in its window (`random`, `sorted`, `sorted_dcir`; ties by
/// window position): a Philox word keyed by the cell index for `random`, else the total-order bits
/// of the measured capacity or DCIR. Twin of `match_key` in `shaders/assemble.wgsl`.
pub fn match_key(c: &PackCell, matching: Matching, rng: &Philox) -> u32 {
    match matching {
        Matching::Random => rng.words(c.index(), stream::MATCHING, 0)[0],
        Matching::SortedDcir => total_order_bits(c.r_meas),
        _ => total_order_bits(c.q_meas),
    }
}

/// Window positions ordered by `(key, position)`.
fn keyed_order(cells: &[PackCell], key: impl Fn(&PackCell) -> u32) -> Vec<u32> {
    // One u64 per cell, the key above the position: an unstable sort of plain integers gives
    // exactly the stable (key, position) order, without chasing 48-byte cells through memory.
    let mut keyed: Vec<u64> = cells
        .iter()
        .enumerate()
        .map(|(i, c)| (u64::from(key(c)) << 32) | i as u64)
        .collect();
    keyed.sort_unstable();
    keyed.iter().map(|&k| k as u32).collect()
}

/// An f32's bits mapped so that unsigned order is `f32::total_cmp` order (negative values
/// reversed below the positive ones).
#[inline]
pub fn total_order_bits(x: f32) -> u32 {
    let b = x.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// Place a matched pack's parallel groups along the string in production order (by each group's
/// first cell index). Matching decides which cells share a pack and a group; where a group sits
/// (and so its coolant temperature) is not a matching decision. Without this, `sorted` would put
/// the weakest group at the cool inlet every time and mix a placement effect into the comparison.
pub fn place_groups(cells: &mut [PackCell], parallel: usize) {
    let mut groups: Vec<&[PackCell]> = cells.chunks(parallel).collect();
    groups.sort_by_key(|g| g.iter().map(PackCell::index).min());
    let placed: Vec<PackCell> = groups.concat();
    cells.copy_from_slice(&placed);
}

/// Initial capacity of a pack, Ah: the smallest parallel group.
pub fn initial_capacity(cells: &[PackCell], parallel: usize) -> f32 {
    cells
        .chunks(parallel)
        .map(|g| g.iter().map(|c| c.q0).sum::<f32>())
        .fold(f32::INFINITY, f32::min)
}

/// Why a pack's life ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
pub enum EndOfLife {
    /// Capacity below `eol_fraction` of rated.
    Fade = 0,
    /// A latent defect turned into an internal short.
    Short = 1,
    /// Still above end of life at the cycle or calendar cap.
    Cap = 2,
    /// Pack resistance at `eol_resistance_factor` × its initial value: not enough power left.
    Power = 3,
}

impl EndOfLife {
    /// The summary's key.
    pub fn key(self) -> &'static str {
        match self {
            EndOfLife::Fade => "fade",
            EndOfLife::Short => "short",
            EndOfLife::Cap => "cap",
            EndOfLife::Power => "power",
        }
    }
    /// Every reason in code order.
    pub const ALL: [EndOfLife; 4] = [
        EndOfLife::Fade,
        EndOfLife::Short,
        EndOfLife::Cap,
        EndOfLife::Power,
    ];
    /// The code the GPU writes (`EOL_*` in pack_life.wgsl).
    pub fn from_code(code: u32) -> Option<EndOfLife> {
        EndOfLife::ALL.get(code as usize).copied()
    }
}

/// One pack's life: cycles to end of life, why, and its capacity after every step (fraction of
/// rated, index 0 = before the first step).
#[derive(Clone, Debug, PartialEq)]
pub struct PackLife {
    /// Cycles to end of life (interpolated within the step that crossed), or the cap.
    pub cycles: u32,
    /// What ended the life.
    pub reason: EndOfLife,
    /// Calendar share of the capacity the pack's cells had lost when its life ended (the rest is
    /// cycling): Σ calendar loss / Σ loss over every cell, at the first step after the end.
    pub calendar_share: f32,
    /// Pack capacity, fraction of rated, before the first step and after every step.
    pub curve: Vec<f32>,
}

/// Per-cell state in a pack during life, with what the cell's steps read of its make (fixed for
/// its life) alongside.
#[derive(Clone, Copy, Debug)]
struct Live {
    age: CellAge,
    q: f32,
    r: f32,
    /// `1 / r`, kept with `r`: the group's conductance and the cell's current share both read it.
    inv_r: f32,
    cyc_factor: f32,
    cal_factor: f32,
    /// Calendar stress-time a step: `scalar · days_per_step · time_scale`.
    dt: f32,
    /// `scalar · cycles_per_step`.
    scalar_cycles: f32,
    /// Self-discharge's Ah a step per Ah held, before the days: `k · 1e-3 / ocv_slope_v`.
    sd_per_ah: f32,
    q0: f32,
    r0: f32,
    r_tab: f32,
    index: u64,
    defect: bool,
    /// The current (bits) that `current` and `overpotential` were computed at: in a 1P group
    /// the cell carries the pack current, so most steps reuse them.
    memo_i: Option<u32>,
    current: CurrentTerms,
    overpotential: f32,
}

/// What a group's cells read of its position along the string, fixed for the pack's life.
#[derive(Clone, Copy, Debug)]
struct GroupPlace {
    /// Position from the coolant inlet (0) to the outlet (1).
    pos: f32,
    /// Rest temperature: ambient plus the positional gradient, K.
    t_base: f32,
    /// The rest temperature's part of the fade rates.
    rest: RestTerms,
}

/// The cell's unexplained fade scalar: lognormal, keyed by the cell.
#[inline]
pub fn fade_scalar(rng: &Philox, a: &AgingParams, index: u64) -> f32 {
    let u = rng.uniforms(index, stream::AGING_CELL, 0);
    (a.fade_sigma * box_muller(u[0], u[1]).0).exp()
}

/// N/P margin → cycling fade: `exp(np_fade_per_np · (N/P_design − N/P))`, 1 for a cell coated at
/// design. A thinner anode margin runs the graphite to a higher lithiation at top of charge (closer
/// to plating, more SEI growth per cycle): Abe & Kumagai 2018 (LFP/graphite, N/P 0.87/1.03/1.20)
/// saw fade fall as N/P rose. The default slope (4 per unit N/P: ×2 from N/P 1.20 to 1.03) is our
/// reading of that ordering, not a fit (docs/MODEL.md).
#[inline]
pub fn np_factor(a: &AgingParams, np_ratio: f32) -> f32 {
    (a.np_fade_per_np * (a.np_design - np_ratio)).exp()
}

/// Resistance → overpotential → plating and side reactions at C-rate: the cycling rate is
/// multiplied by `exp((I·R0 − I_nom·R_nominal) / V_T)`, with `I` the cell's own current, `I_nom` a
/// nominal cell's current at the duty and `V_T` the Tafel voltage of the side reaction
/// (`life.plating_tafel_mv`; RT/αF ≈ 51 mV at 25 °C, α = 0.5). A cell with more ionic (porosity,
/// loading), SEI, electrolyte or tab resistance sees a larger charge overpotential, so its anode
/// sits closer to plating; the term grows with C-rate. In a parallel group the cells share one
/// voltage, so their overpotentials `I·R` are equal whatever their resistances. A nominal cell has
/// the factor 1 and keeps BLAST-Lite's law. The initial resistance is used: growth with fade is
/// already in the fitted law.
#[inline]
pub fn overpotential_factor(a: &AgingParams, i_cell: f32, r0_mohm: f32) -> f32 {
    if a.plating_tafel_mv <= 0.0 {
        return 1.0;
    }
    // A × mΩ = mV.
    let eta_mv = i_cell * r0_mohm - a.c_rate * a.q_rated * a.r_nominal;
    (eta_mv / a.plating_tafel_mv).exp()
}

/// What a cell's make does to its cycling rate once and for all: plating from a thin N/P margin
/// or at an escaped overhang breach's edge, under-fill and the N/P margin. (The overpotential
/// term depends on the cell's share of the current and is applied each step.)
#[inline]
pub fn cycling_factor(a: &AgingParams, c: &PackCell) -> f32 {
    let np_plating = if c.np_ratio < a.plating_np {
        a.plating_factor
    } else {
        1.0
    };
    // A passed cell with a breach is one the X-ray missed.
    let edge_plating = if c.flags & flags::BREACH != 0 {
        a.breach_plating_factor
    } else {
        1.0
    };
    np_plating
        * edge_plating
        * (1.0 + a.underfill_factor * c.fill_shortfall)
        * np_factor(a, c.np_ratio)
}

/// Formation → SEI → calendar fade: `(loss_nominal / loss)^exponent`. SEI grows parabolically
/// (thickness² ∝ time), so its growth rate is ∝ 1/thickness; a formation that put more lithium into
/// the SEI (a warmer rack, a higher first-cycle loss) leaves a thicker film and slower calendar
/// fade, at the price of capacity now. Our reasoning from the parabolic law, not a fit.
#[inline]
pub fn sei_factor(a: &AgingParams, first_cycle_loss: f32) -> f32 {
    if a.sei_calendar_exponent <= 0.0 || a.first_cycle_loss <= 0.0 {
        return 1.0;
    }
    // Validation keeps the loss within (0, 0.9]; the floor guards a zero from an absurd scene.
    (a.first_cycle_loss / first_cycle_loss.max(1e-4)).powf(a.sei_calendar_exponent)
}

/// The life of the scene's nominal cell aged alone (a 1S1P pack at the coolant inlet temperature)
/// under the scene's duty, without the residual aging scalar: where pack life is measured from.
pub fn nominal_cell_life(s: &Scene) -> PackLife {
    let mut a = AgingParams::new(s.chemistry, &s.life, &Nominal::from_scene(s), 1, 1, s.seed);
    a.fade_sigma = 0.0;
    let table = RateTable::new(&a, &s.life);
    simulate_pack(
        &a,
        &table.values,
        &Philox::new(s.seed),
        &[PackCell::nominal(s)],
    )
}

/// The cycle at which a falling quantity crossed `level` within the step that ends at `cycles`,
/// interpolated linearly from the step's start value `prev` (0 if it was below from the start).
#[inline]
fn crossing(prev: f32, now: f32, level: f32, cycles: u32, step: f32) -> u32 {
    let within = if prev > now {
        (prev - level) / (prev - now)
    } else {
        0.0
    };
    let at = cycles as f32 - step * (1.0 - within.clamp(0.0, 1.0));
    at.max(0.0).round() as u32
}

/// Σ calendar loss / Σ loss over the pack's cells, in cell order (0 before any loss).
fn calendar_share_of(live: &[Live]) -> f32 {
    let (mut cal, mut all) = (0.0f32, 0.0f32);
    for l in live {
        cal += l.age.loss_cal;
        all += l.age.loss();
    }
    if all > 0.0 { cal / all } else { 0.0 }
}

/// Simulate one pack (cells in series-group order, `parallel` per group) from its first cycle to
/// end of life, and on down to `stop_fraction` (for the fade band) or the cap.
pub fn simulate_pack(a: &AgingParams, table: &[f32], rng: &Philox, cells: &[PackCell]) -> PackLife {
    simulate_pack_cells(a, table, rng, cells).0
}

/// [`simulate_pack`], also returning each cell's fade state where the simulation stopped (the CPU
/// only: for tests of how a group's cells age apart).
pub fn simulate_pack_cells(
    a: &AgingParams,
    table: &[f32],
    rng: &Philox,
    cells: &[PackCell],
) -> (PackLife, Vec<CellAge>) {
    let np = a.parallel as usize;
    let ns = a.series as usize;
    debug_assert_eq!(cells.len(), np * ns);
    let mut run = PackRun::new(a, table, rng, cells);
    let rated = a.q_rated * np as f32;
    let mut curve = Vec::with_capacity(64);
    let mut end: Option<(u32, EndOfLife)> = None;
    let short_p = a.short_probability_per_step();
    let (mut r_pack0, mut last_ratio) = (0.0f32, 1.0f32);
    let mut calendar_share: Option<f32> = None;

    for step in 0..=a.max_steps {
        let r_pack = group_sums(&run.live, np, &mut run.q_groups, &mut run.g_groups);
        let q_pack = pack_capacity(&run.q_groups, &run.offset);
        let frac = q_pack / rated;
        if step == 0 {
            r_pack0 = r_pack;
        }
        let ratio = r_pack / r_pack0;
        let cycles = step * a.cycles_per_step as u32;
        if end.is_none() {
            let prev = curve.last().copied().unwrap_or(frac);
            end = end_in_step(a, prev, frac, last_ratio, ratio, cycles);
        }
        last_ratio = ratio;
        if end.is_some() && calendar_share.is_none() {
            calendar_share = Some(calendar_share_of(&run.live));
        }
        curve.push(frac);
        if frac < a.stop_fraction || step == a.max_steps {
            break;
        }
        let duty = step_duty(a, rated, q_pack, r_pack, short_p, (step, cycles));
        run.age(a, table, rng, &duty, &mut end);
    }
    let (cycles, reason) = end.unwrap_or((a.max_steps * a.cycles_per_step as u32, EndOfLife::Cap));
    (
        PackLife {
            cycles,
            reason,
            calendar_share: calendar_share.unwrap_or_else(|| calendar_share_of(&run.live)),
            curve,
        },
        run.live.iter().map(|l| l.age).collect(),
    )
}

/// A pack during life: its cells, its groups' places along the coolant path, their capacity and
/// conductance at the top of the step, the power steps' work arrays and the groups' charge
/// offsets.
struct PackRun {
    np: usize,
    live: Vec<Live>,
    places: Vec<GroupPlace>,
    work: PowerWork,
    offset: Vec<f32>,
    // Each group's capacity and conductance at the start of the step: the pack capacity, its
    // resistance, the duty and the current split all read them.
    q_groups: Vec<f32>,
    g_groups: Vec<f32>,
}

impl PackRun {
    fn new(a: &AgingParams, table: &[f32], rng: &Philox, cells: &[PackCell]) -> PackRun {
        let (np, ns) = (a.parallel as usize, a.series as usize);
        let live = init_live(a, rng, cells);
        let work = PowerWork::new(&live);
        PackRun {
            np,
            places: group_places(a, table, ns),
            live,
            work,
            offset: vec![0.0f32; ns],
            q_groups: vec![0.0f32; ns],
            g_groups: vec![0.0f32; ns],
        }
    }

    /// One step of aging under `duty`: every group's rates, the pack's power steps in one pass
    /// over its cells (calendar, then cycling), each group's fade and charge offset, balancing.
    fn age(
        &mut self,
        a: &AgingParams,
        table: &[f32],
        rng: &Philox,
        duty: &StepDuty,
        end: &mut Option<(u32, EndOfLife)>,
    ) {
        let np = self.np;
        for g in 0..self.places.len() {
            let range = g * np..(g + 1) * np;
            let sums = (self.q_groups[g], self.g_groups[g]);
            group_rates(
                a,
                table,
                &mut self.live[range.clone()],
                &self.places[g],
                sums,
                duty,
                &mut self.work,
                range,
            );
        }
        let w = &mut self.work;
        power_steps(&mut w.loss_cal, &w.k_cal, &w.dt, a.p_cal, 1.0 / a.p_cal);
        power_steps(&mut w.loss_cyc, &w.k_cyc, &w.defc, a.p_cyc, 1.0 / a.p_cyc);
        for (g, off) in self.offset.iter_mut().enumerate() {
            let range = g * np..(g + 1) * np;
            *off += group_fade(
                a,
                rng,
                &mut self.live[range.clone()],
                &self.work,
                range,
                duty,
                end,
            );
        }
        balance(&mut self.offset, a.balance_ah);
    }
}

/// The cells' life state before the first step (`pack_init` in pack_life.wgsl).
fn init_live(a: &AgingParams, rng: &Philox, cells: &[PackCell]) -> Vec<Live> {
    cells
        .iter()
        .map(|c| {
            let scalar = fade_scalar(rng, a, c.index());
            Live {
                age: CellAge::default(),
                q: c.q0,
                r: c.r0,
                inv_r: 1.0 / c.r0,
                cyc_factor: cycling_factor(a, c),
                cal_factor: sei_factor(a, c.first_cycle_loss),
                dt: scalar * a.days_per_step * a.time_scale,
                scalar_cycles: scalar * a.cycles_per_step,
                // mV/day → SOC/day through the OCV slope → Ah per Ah held.
                sd_per_ah: c.k * 1e-3 / a.ocv_slope_v,
                q0: c.q0,
                r0: c.r0,
                r_tab: c.r_tab,
                index: c.index(),
                defect: c.flags & flags::DEFECT != 0,
                memo_i: None,
                current: CurrentTerms::default(),
                overpotential: 1.0,
            }
        })
        .collect()
}

/// Each group's position, rest temperature and rest terms (group `g` of `ns`).
fn group_places(a: &AgingParams, table: &[f32], ns: usize) -> Vec<GroupPlace> {
    (0..ns)
        .map(|g| {
            let pos = if ns > 1 {
                g as f32 / (ns - 1) as f32
            } else {
                0.0
            };
            let t_base = a.ambient_k + a.gradient_k * pos;
            GroupPlace {
                pos,
                t_base,
                rest: RestTerms::new(a, table, t_base),
            }
        })
        .collect()
}

/// Each group's capacity and conductance into `q_groups` and `g_groups` (`parallel` = `np` cells
/// a group, summed in cell order), and the pack's resistance: the groups' 1 / conductance in
/// series, summed in group order.
fn group_sums(live: &[Live], np: usize, q_groups: &mut [f32], g_groups: &mut [f32]) -> f32 {
    let mut r_pack = 0.0f32;
    for g in 0..q_groups.len() {
        let group = &live[g * np..(g + 1) * np];
        q_groups[g] = group.iter().map(|l| l.q).sum();
        g_groups[g] = group.iter().map(|l| l.inv_r).sum();
        r_pack += 1.0 / g_groups[g];
    }
    r_pack
}

/// Pack capacity: the smallest group, less its charge offset from the best-charged group.
fn pack_capacity(q_groups: &[f32], offset: &[f32]) -> f32 {
    let min_off = offset.iter().copied().fold(f32::INFINITY, f32::min);
    q_groups
        .iter()
        .zip(offset)
        .map(|(q_g, off)| q_g - (off - min_off))
        .fold(f32::INFINITY, f32::min)
}

/// Whichever limit the pack crossed first within the step ending at `cycles` (capacity fraction
/// from `prev` to `frac`, resistance ratio from `last_ratio` to `ratio`); fade on a tie.
fn end_in_step(
    a: &AgingParams,
    prev: f32,
    frac: f32,
    last_ratio: f32,
    ratio: f32,
    cycles: u32,
) -> Option<(u32, EndOfLife)> {
    let fade = (frac < a.eol_fraction)
        .then(|| crossing(prev, frac, a.eol_fraction, cycles, a.cycles_per_step));
    let power = (a.eol_resistance_factor > 0.0 && ratio >= a.eol_resistance_factor).then(|| {
        crossing(
            -last_ratio,
            -ratio,
            -a.eol_resistance_factor,
            cycles,
            a.cycles_per_step,
        )
    });
    match (fade, power) {
        (Some(f), Some(p)) if p < f => Some((p, EndOfLife::Power)),
        (Some(f), _) => Some((f, EndOfLife::Fade)),
        (None, Some(p)) => Some((p, EndOfLife::Power)),
        (None, None) => None,
    }
}

/// What every group of the pack sees in one step.
struct StepDuty {
    /// Ah the duty takes from the pack each cycle.
    ah_cycle: f32,
    /// Pack current while cycling, A.
    pack_current: f32,
    /// The coolant's rise from inlet to outlet, K.
    coolant_rise: f32,
    /// Probability that a defect cell shorts within the step.
    short_p: f32,
    step: u32,
    /// Cycles at the start of the step.
    cycles: u32,
}

/// The duty of the step `(step, cycles)` of a pack of `rated` Ah that holds `q_pack` Ah and has
/// `r_pack` mΩ at its start; `short_p` is a defect cell's short probability per step.
fn step_duty(
    a: &AgingParams,
    rated: f32,
    q_pack: f32,
    r_pack: f32,
    short_p: f32,
    (step, cycles): (u32, u32),
) -> StepDuty {
    let pack_current = a.c_rate * rated;
    let ah_demand = a.dod_window * rated;
    // The duty: the rated window's Ah (energy) or the window of what the pack holds now.
    let ah_cycle = if a.duty_soc_window != 0 {
        a.dod_window * q_pack.max(0.0)
    } else {
        ah_demand.min(q_pack.max(0.0))
    };
    // The string's I²R heat while current flows (every group carries the pack current, a
    // group's resistance is 1/conductance) warms the coolant toward the outlet.
    let coolant_rise = a.coolant_k_per_w * pack_current * pack_current * r_pack * 1e-3;
    StepDuty {
        ah_cycle,
        pack_current,
        coolant_rise,
        short_p,
        step,
        cycles,
    }
}

/// The pack's cells' power-step operands in a step, one slot per cell (structure of arrays).
struct PowerWork {
    loss_cal: Vec<f32>,
    k_cal: Vec<f32>,
    dt: Vec<f32>,
    loss_cyc: Vec<f32>,
    k_cyc: Vec<f32>,
    defc: Vec<f32>,
}

impl PowerWork {
    fn new(live: &[Live]) -> PowerWork {
        let n = live.len();
        PowerWork {
            loss_cal: vec![0.0; n],
            k_cal: vec![0.0; n],
            dt: live.iter().map(|l| l.dt).collect(),
            loss_cyc: vec![0.0; n],
            k_cyc: vec![0.0; n],
            defc: vec![0.0; n],
        }
    }
}

/// One parallel group's (at `place`, capacity `q_g`, conductance `g_sum`; its cells the pack's
/// `range`) rates for the step into `work`, with each cell's loss so far.
#[allow(clippy::too_many_arguments)]
fn group_rates(
    a: &AgingParams,
    table: &[f32],
    group: &mut [Live],
    place: &GroupPlace,
    (q_g, g_sum): (f32, f32),
    duty: &StepDuty,
    work: &mut PowerWork,
    range: std::ops::Range<usize>,
) {
    let pack_current = duty.pack_current;
    let t_cool = place.t_base + duty.coolant_rise * place.pos;
    // Each cell's charge share is its capacity's share (shared voltage), so every cell
    // of the group swings the group's DOD of its own present capacity.
    let dod = (duty.ah_cycle / q_g).min(1.0);
    let dod_term = dod_term(a, dod);
    for (l, i) in group.iter_mut().zip(range) {
        // Current divides by conductance.
        let i_cell = pack_current * l.inv_r / g_sum;
        let heat_w = i_cell * i_cell * l.r * 1e-3;
        let tab_w = i_cell * i_cell * l.r_tab * 1e-3;
        if l.memo_i != Some(i_cell.to_bits()) {
            l.memo_i = Some(i_cell.to_bits());
            l.current = CurrentTerms::new(a, &place.rest, i_cell / l.q0);
            l.overpotential = overpotential_factor(a, i_cell, l.r0);
        }
        let step = HoistedStep {
            t_cyc_k: t_cool + heat_w * a.r_th + tab_w * a.tab_k_per_w,
            efc_per_cycle: dod,
            dod_term,
            current: l.current,
            cyc_factor: l.cyc_factor * l.overpotential,
            cal_factor: l.cal_factor,
            dt: l.dt,
            scalar_cycles: l.scalar_cycles,
        };
        let r = step_rates(a, table, &place.rest, &step);
        work.loss_cal[i] = l.age.loss_cal;
        work.k_cal[i] = r.k_cal;
        work.loss_cyc[i] = l.age.loss_cyc;
        work.k_cyc[i] = r.k_cyc;
        work.defc[i] = r.defc;
    }
}

/// One parallel group's cells take their new losses from `work` (the pack's `range`), ending the
/// pack on a short; returns the group's self-discharge over the step, Ah.
fn group_fade(
    a: &AgingParams,
    rng: &Philox,
    group: &mut [Live],
    work: &PowerWork,
    range: std::ops::Range<usize>,
    duty: &StepDuty,
    end: &mut Option<(u32, EndOfLife)>,
) -> f32 {
    let mut sd_ah = 0.0;
    for (l, i) in group.iter_mut().zip(range) {
        l.age.loss_cal = work.loss_cal[i];
        l.age.loss_cyc = work.loss_cyc[i];
        let loss = l.age.loss();
        l.q = l.q0 * (1.0 - loss);
        l.r = l.r0 * (1.0 + a.r_growth * loss);
        l.inv_r = 1.0 / l.r;
        sd_ah += l.sd_per_ah * l.q * a.days_per_step;
        if l.defect && end.is_none() {
            let u = rng.uniforms(l.index, stream::AGING_SHORT, duty.step)[0];
            if u < duty.short_p {
                *end = Some((duty.cycles + a.cycles_per_step as u32, EndOfLife::Short));
            }
        }
    }
    sd_ah
}

/// Passive balancing pulls every group toward the best-charged one by up to `balance_ah`.
fn balance(offset: &mut [f32], balance_ah: f32) {
    let min_off = offset.iter().copied().fold(f32::INFINITY, f32::min);
    for o in offset.iter_mut() {
        *o = (*o - balance_ah).max(min_off);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(index: u64, q: f32) -> PackCell {
        PackCell {
            q0: q,
            q_meas: q,
            index_lo: index as u32,
            index_hi: (index >> 32) as u32,
            ..PackCell::default()
        }
    }

    /// Sorted matching orders a window by capacity; placement then puts the groups back in
    /// production order, keeping each group's members together.
    #[test]
    fn groups_are_placed_in_production_order() {
        let window: Vec<PackCell> = [(7, 4.9), (3, 5.1), (9, 5.0), (1, 4.95)]
            .iter()
            .map(|&(i, q)| cell(i, q))
            .collect();
        let rng = Philox::new(1);
        let (order, left) = match_window(&window, Matching::Sorted, 4, 8, &rng, 0);
        assert_eq!(left, 0);
        let mut pack: Vec<PackCell> = order.iter().map(|&i| window[i as usize]).collect();
        assert_eq!(
            pack.iter().map(|c| c.index()).collect::<Vec<_>>(),
            [7, 1, 9, 3]
        );
        place_groups(&mut pack, 2);
        // Groups {7, 1} and {9, 3}: the first holds cell 1, so it goes first; members stay together.
        assert_eq!(
            pack.iter().map(|c| c.index()).collect::<Vec<_>>(),
            [7, 1, 9, 3]
        );
        place_groups(&mut pack, 1);
        assert_eq!(
            pack.iter().map(|c| c.index()).collect::<Vec<_>>(),
            [1, 3, 7, 9]
        );
    }

    /// The integer key orders as `f32::total_cmp`, across signs, zeros and magnitudes.
    #[test]
    fn total_order_bits_follow_total_cmp() {
        let xs = [
            -5.0f32, -1.5, -1e-30, -0.0, 0.0, 1e-30, 0.5, 4.999, 5.0, 5.001, 1e30,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(
                    total_order_bits(a).cmp(&total_order_bits(b)),
                    a.total_cmp(&b),
                    "{a} vs {b}"
                );
            }
        }
    }

    /// Random matching is a permutation keyed by the cells alone: the same cells keep their
    /// relative order wherever they sit in a window and whatever the window's number, and it is
    /// not production order.
    #[test]
    fn random_matching_is_a_cell_keyed_permutation() {
        let rng = Philox::new(7);
        let window: Vec<PackCell> = (100..300u64).map(|i| cell(i, 5.0)).collect();
        let (order, left) = match_window(&window, Matching::Random, 8, 8, &rng, 3);
        assert_eq!((order.len(), left), (200, 0));
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..200).collect::<Vec<u32>>());
        assert_ne!(order, (0..200).collect::<Vec<u32>>());
        let ids = |w: &[PackCell], o: &[u32]| {
            o.iter().map(|&i| w[i as usize].index()).collect::<Vec<_>>()
        };
        // The odd cells alone, in another window: their order is the full order's restriction.
        let odd: Vec<PackCell> = window
            .iter()
            .copied()
            .filter(|c| c.index() % 2 == 1)
            .collect();
        let (o2, _) = match_window(&odd, Matching::Random, 4, 8, &rng, 9);
        let restricted: Vec<u64> = ids(&window, &order)
            .into_iter()
            .filter(|i| i % 2 == 1)
            .collect();
        assert_eq!(ids(&odd, &o2), restricted);
    }

    /// Binned matching keeps each pack within one grade and counts a bin's remainder unpacked.
    #[test]
    fn binned_packs_stay_within_a_grade() {
        let mut window = Vec::new();
        for i in 0..23u64 {
            let mut c = cell(i, 5.0);
            c.flags = ((i % 3) as u32) << flags::GRADE_SHIFT;
            window.push(c);
        }
        let (order, left) = match_window(&window, Matching::Binned, 4, 8, &Philox::new(1), 0);
        // Bins hold 8, 8 and 7 cells: two packs each, one bin leaves 3 over, the others 0.
        assert_eq!((order.len(), left), (20, 3));
        for pack in order.chunks(4) {
            let g = window[pack[0] as usize].grade();
            assert!(pack.iter().all(|&i| window[i as usize].grade() == g));
        }
    }
}
