//! Pack life (MODEL.md §3): the CPU twin of `shaders/pack_life.wgsl`, with the same per-step
//! order — group sums, pack capacity, duty, each cell's conditions and fade, self-discharge and
//! balancing, shorts. Re-exported from [`crate::model::pack`].
//!
//! The pack's cells are held as a structure of arrays and each step is a few passes over all of
//! them (current terms, rates, power steps, fade), each a loop over plain slices that the compiler
//! vectorises: one formula per quantity (`aging::step_rates_of`, `aging::power_steps_body`), run
//! lane-wise.

mod cells;
mod groups;

use super::PackCell;
use crate::model::aging::{
    AgingParams, CellAge, Nominal, RateTable, RestTerms, dod_term, exp_f32, pow2,
};
use crate::model::flags;
use crate::rng::{Philox, normal, stream};
use crate::scene::Scene;
use cells::{Cells, Work, age_cells, init_cells};
use groups::{balance, pack_capacity, spread, sum_of};
use serde::Serialize;

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

/// The cell's unexplained fade scalar: lognormal, keyed by the cell.
#[inline]
pub fn fade_scalar(rng: &Philox, a: &AgingParams, index: u64) -> f32 {
    let w = rng.words(index, stream::AGING_CELL, 0);
    fade_exponent(a, w[0]).exp()
}

/// The exponent of [`fade_scalar`] from the cell's first Philox word: `σ·z`, `z` by the inverse
/// CDF ([`normal`]), as the line draws its normals. Box–Muller's `ln` and `cos` here, two libm
/// calls a cell, were ≈ 2.4 % of a one-thread 10⁶-cell run and kept the pack's set-up scalar.
#[inline(always)]
pub(crate) fn fade_exponent(a: &AgingParams, w0: u32) -> f32 {
    a.fade_sigma * normal(w0)
}

/// N/P margin → cycling fade: `exp(np_fade_per_np · (N/P_design − N/P))`, 1 for a cell coated at
/// design. A thinner anode margin runs the graphite to a higher lithiation at top of charge (closer
/// to plating, more SEI growth per cycle): Abe & Kumagai 2018 (LFP/graphite, N/P 0.87/1.03/1.20)
/// saw fade fall as N/P rose. The default slope (4 per unit N/P: ×2 from N/P 1.20 to 1.03) is our
/// reading of that ordering, not a fit (docs/MODEL.md).
#[inline]
pub fn np_factor(a: &AgingParams, np_ratio: f32) -> f32 {
    np_exponent(a, np_ratio).exp()
}

/// The exponent of [`np_factor`].
#[inline(always)]
pub(crate) fn np_exponent(a: &AgingParams, np_ratio: f32) -> f32 {
    a.np_fade_per_np * (a.np_design - np_ratio)
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
    exp_f32(eta_mv / a.plating_tafel_mv)
}

/// What a cell's make does to its cycling rate once and for all: plating from a thin N/P margin
/// or at an escaped overhang breach's edge, under-fill and the N/P margin. (The overpotential
/// term depends on the cell's share of the current and is applied each step.)
#[inline]
pub fn cycling_factor(a: &AgingParams, c: &PackCell) -> f32 {
    cycling_factor_with(a, c, np_factor(a, c.np_ratio))
}

/// [`cycling_factor`] with the cell's [`np_factor`] given (pack life computes those eight at a
/// time).
#[inline(always)]
pub(crate) fn cycling_factor_with(a: &AgingParams, c: &PackCell, np_factor: f32) -> f32 {
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
    np_plating * edge_plating * (1.0 + a.underfill_factor * c.fill_shortfall) * np_factor
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
    // `pow2`, not libm's `powf`: inline (the pack's set-up vectorises) and the WGSL twin's.
    pow2(
        a.first_cycle_loss / first_cycle_loss.max(1e-4),
        a.sei_calendar_exponent,
    )
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
fn calendar_share_of(c: &Cells) -> f32 {
    let (mut cal, mut all) = (0.0f32, 0.0f32);
    for (&lc, &ly) in c.cal.loss.iter().zip(&c.cyc.loss) {
        cal += lc;
        all += lc + ly;
    }
    if all > 0.0 { cal / all } else { 0.0 }
}

/// How far a pack's life is followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// To the step that ends its life: everything an aged pack's record reads (cycles, reason,
    /// calendar share, and the curve up to the end that its equivalent full cycles sum). Most
    /// packs of a run are followed only this far: the steps between 80 % and 70 % were more than
    /// half of pack life's steps (28 506 against 13 296 for the default scene's first 202 packs)
    /// and fed nothing but the fade band.
    ToEnd,
    /// On past end of life down to `stop_fraction` (or the cap): the whole fade curve, for the
    /// packs kept whole (the fade band) and the nominal cell.
    PastEnd,
}

impl Follow {
    /// How far a pack that is (or is not) kept whole is followed.
    pub fn kept(kept: bool) -> Follow {
        if kept { Follow::PastEnd } else { Follow::ToEnd }
    }
}

/// Simulate one pack (cells in series-group order, `parallel` per group) from its first cycle to
/// end of life, and on down to `stop_fraction` (for the fade band) or the cap.
pub fn simulate_pack(a: &AgingParams, table: &[f32], rng: &Philox, cells: &[PackCell]) -> PackLife {
    simulate_pack_to(a, table, rng, cells, Follow::PastEnd)
}

/// [`simulate_pack`] followed as far as `follow` says: up to the end, the same cycles, reason,
/// calendar share and curve (up to the end's step) as followed past it.
pub fn simulate_pack_to(
    a: &AgingParams,
    table: &[f32],
    rng: &Philox,
    cells: &[PackCell],
    follow: Follow,
) -> PackLife {
    simulate_pack_placed(a, table, &PackPlaces::new(a, table), rng, cells, follow)
}

/// [`simulate_pack_to`] with the groups' places made beforehand, once for all the packs of a run
/// (`places` made by [`PackPlaces::new`] of the same `a` and `table`).
pub fn simulate_pack_placed(
    a: &AgingParams,
    table: &[f32],
    places: &PackPlaces,
    rng: &Philox,
    cells: &[PackCell],
    follow: Follow,
) -> PackLife {
    simulate_pack_run(a, table, places, rng, cells, follow).0
}

/// [`simulate_pack`], also returning each cell's fade state where the simulation stopped (the CPU
/// only: for tests of how a group's cells age apart).
pub fn simulate_pack_cells(
    a: &AgingParams,
    table: &[f32],
    rng: &Philox,
    cells: &[PackCell],
    follow: Follow,
) -> (PackLife, Vec<CellAge>) {
    let places = PackPlaces::new(a, table);
    let (life, c) = simulate_pack_run(a, table, &places, rng, cells, follow);
    let ages = (0..c.q0.len())
        .map(|i| CellAge {
            cal: c.cal.get(i),
            cyc: c.cyc.get(i),
        })
        .collect();
    (life, ages)
}

/// A pack's life and its cells where it stopped. The whole step loop compiled for AVX-512 or
/// AVX2, and FMA, where the CPU has them: the per-group loops (DOD, its term, coolant
/// temperature, conductance) are a fifth of pack life's time and otherwise run 4 lanes wide (the
/// step's functions are `inline(always)` to be compiled into this); the same operations (no
/// contraction: the only fused ones are explicit `mul_add`s), so the same bits.
fn simulate_pack_run(
    a: &AgingParams,
    table: &[f32],
    places: &PackPlaces,
    rng: &Philox,
    cells: &[PackCell],
    follow: Follow,
) -> (PackLife, Cells) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        // SAFETY: the CPU has AVX-512F, AVX2 and FMA.
        return unsafe { simulate_pack_avx512(a, table, places, rng, cells, follow) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA.
        return unsafe { simulate_pack_avx2(a, table, places, rng, cells, follow) };
    }
    simulate_pack_body(a, table, places, rng, cells, follow)
}

/// [`simulate_pack_run`] for AVX-512 and FMA: the group loops 16 lanes wide, beside
/// `cells::age_cells`' AVX-512 path (the same operations, so the same bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f")]
unsafe fn simulate_pack_avx512(
    a: &AgingParams,
    table: &[f32],
    places: &PackPlaces,
    rng: &Philox,
    cells: &[PackCell],
    follow: Follow,
) -> (PackLife, Cells) {
    simulate_pack_body(a, table, places, rng, cells, follow)
}

/// [`simulate_pack_run`] for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn simulate_pack_avx2(
    a: &AgingParams,
    table: &[f32],
    places: &PackPlaces,
    rng: &Philox,
    cells: &[PackCell],
    follow: Follow,
) -> (PackLife, Cells) {
    simulate_pack_body(a, table, places, rng, cells, follow)
}

/// The body of [`simulate_pack_run`].
#[inline(always)]
fn simulate_pack_body(
    a: &AgingParams,
    table: &[f32],
    places: &PackPlaces,
    rng: &Philox,
    cells: &[PackCell],
    follow: Follow,
) -> (PackLife, Cells) {
    let np = a.parallel as usize;
    let ns = a.series as usize;
    debug_assert_eq!(cells.len(), np * ns);
    assert_eq!(places.pos.len(), ns, "places made for this pack's topology");
    let mut run = PackRun::new(a, places, rng, cells);
    let rated = a.q_rated * np as f32;
    let mut curve = Vec::with_capacity(64);
    let mut end: Option<(u32, EndOfLife)> = None;
    let short_p = a.short_probability_per_step();
    let (mut r_pack0, mut last_ratio) = (0.0f32, 1.0f32);
    let mut calendar_share: Option<f32> = None;

    for step in 0..=a.max_steps {
        let r_pack = run.group_sums();
        let q_pack = pack_capacity(run.q_groups(), &run.offset, run.min_offset);
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
            calendar_share = Some(calendar_share_of(&run.cells));
        }
        curve.push(frac);
        let ended = follow == Follow::ToEnd && end.is_some();
        if ended || frac < a.stop_fraction || step == a.max_steps {
            break;
        }
        let duty = step_duty(a, rated, q_pack, r_pack, short_p, (step, cycles));
        run.age(a, table, rng, &duty, &mut end);
    }
    let (cycles, reason) = end.unwrap_or((a.max_steps * a.cycles_per_step as u32, EndOfLife::Cap));
    let calendar_share = calendar_share.unwrap_or_else(|| calendar_share_of(&run.cells));
    run.work.give_back();
    (
        PackLife {
            cycles,
            reason,
            calendar_share,
            curve,
        },
        run.cells,
    )
}

/// What each group's cells read of its place along the string, fixed for a pack's life and the
/// same for every pack of a run: made once for a run's packs ([`simulate_pack_placed`]), not once
/// a pack (their rest terms' table lookups were 0.4 % of a one-thread 10⁶-cell run's samples, and
/// 1.7 % of one aged a single step).
pub struct PackPlaces {
    /// Each group's position from the coolant inlet (0) to the outlet (1).
    pos: Vec<f32>,
    /// Each group's rest temperature: ambient plus the positional gradient, K.
    t_base: Vec<f32>,
    /// The rate terms of each group's rest temperature.
    rest: Vec<RestTerms>,
}

impl PackPlaces {
    /// The places of `a`'s `series` groups (group `g` of `ns` at `g / (ns − 1)` along the
    /// coolant path), with the rest terms read from `table`.
    pub fn new(a: &AgingParams, table: &[f32]) -> PackPlaces {
        let ns = a.series as usize;
        let pos: Vec<f32> = (0..ns)
            .map(|g| {
                if ns > 1 {
                    g as f32 / (ns - 1) as f32
                } else {
                    0.0
                }
            })
            .collect();
        let t_base: Vec<f32> = pos.iter().map(|p| a.ambient_k + a.gradient_k * p).collect();
        let rest = t_base
            .iter()
            .map(|&t| RestTerms::new(a, table, t))
            .collect();
        PackPlaces { pos, t_base, rest }
    }
}

/// A pack during life: its cells, its groups' places along the coolant path, their capacity and
/// conductance at the top of the step, the step's work arrays and the groups' charge offsets.
struct PackRun<'p> {
    np: usize,
    cells: Cells,
    places: &'p PackPlaces,
    work: Work,
    /// The pack current (bits) that the work's current terms were computed at (`None` before).
    current_at: Option<u32>,
    offset: Vec<f32>,
    /// The smallest of `offset`: 0 before the first step, then what [`balance`] returns (its
    /// minimum is the minimum it leaves), so that the pack capacity needs no pass of its own.
    min_offset: f32,
    // Each group's capacity and conductance at the start of the step: the pack capacity, its
    // resistance, the duty and the current split all read them. Empty in a 1P pack, whose
    // groups' values are its cells' (read in place).
    q_groups: Vec<f32>,
    g_groups: Vec<f32>,
}
impl<'p> PackRun<'p> {
    #[inline(always)]
    fn new(a: &AgingParams, places: &'p PackPlaces, rng: &Philox, cells: &[PackCell]) -> Self {
        let (np, ns) = (a.parallel as usize, a.series as usize);
        PackRun {
            np,
            cells: init_cells(a, rng, cells, &places.rest),
            places,
            work: Work::take(cells.len(), ns),
            current_at: None,
            offset: vec![0.0f32; ns],
            min_offset: 0.0,
            q_groups: vec![0.0f32; if np > 1 { ns } else { 0 }],
            g_groups: vec![0.0f32; if np > 1 { ns } else { 0 }],
        }
    }

    /// Each group's capacity at the start of the step: a 1P group's is its cell's (a sum of one),
    /// read in place.
    #[inline(always)]
    fn q_groups(&self) -> &[f32] {
        if self.np == 1 {
            &self.cells.q
        } else {
            &self.q_groups
        }
    }

    /// Each group's capacity and conductance (summed in cell order), and the pack's resistance:
    /// the groups' resistances (1 / conductance) in series, summed by [`sum_of`]. A 1P group's
    /// capacity and resistance are its cell's, read in place ([`Self::q_groups`]; no reciprocal
    /// of a reciprocal); a wider group's reciprocals in one loop that vectorises.
    #[inline(always)]
    fn group_sums(&mut self) -> f32 {
        let (np, c) = (self.np, &self.cells);
        if np == 1 {
            return sum_of(&c.r);
        }
        for g in 0..self.q_groups.len() {
            let range = g * np..(g + 1) * np;
            self.q_groups[g] = c.q[range.clone()].iter().sum();
            self.g_groups[g] = c.inv_r[range].iter().sum();
        }
        let r_groups = &mut self.work.g_r;
        for (r, g) in r_groups.iter_mut().zip(&self.g_groups) {
            *r = 1.0 / g;
        }
        sum_of(r_groups)
    }

    /// One step of aging under `duty`: each group's share of the duty, then the pack's cells in
    /// one vectorised pass (rates, power steps, fade), shorts, each group's charge offset and
    /// balancing.
    #[inline(always)]
    fn age(
        &mut self,
        a: &AgingParams,
        table: &[f32],
        rng: &Philox,
        duty: &StepDuty,
        end: &mut Option<(u32, EndOfLife)>,
    ) {
        let np = self.np;
        let w = &mut self.work;
        let ns = self.places.pos.len();
        let q_g = if np == 1 {
            &self.cells.q[..ns]
        } else {
            &self.q_groups[..ns]
        };
        let (pos, t_base) = (&self.places.pos[..ns], &self.places.t_base[..ns]);
        // A 1P group's values are its cell's: written to the cells' arrays directly.
        let (g_t, g_dod, g_term) = if np == 1 {
            (&mut w.t_cool[..ns], &mut w.dod[..ns], &mut w.dod_term[..ns])
        } else {
            (
                &mut w.g_t_cool[..ns],
                &mut w.g_dod[..ns],
                &mut w.g_term[..ns],
            )
        };
        for g in 0..ns {
            g_t[g] = t_base[g] + duty.coolant_rise * pos[g];
            // Each cell's charge share is its capacity's share (shared voltage), so every cell
            // of the group swings the group's DOD of its own present capacity.
            let dod = (duty.ah_cycle / q_g[g]).min(1.0);
            g_dod[g] = dod;
            g_term[g] = dod_term(a, dod);
        }
        if np > 1 {
            spread(&w.g_t_cool, np, &mut w.t_cool);
            spread(&w.g_dod, np, &mut w.dod);
            spread(&w.g_term, np, &mut w.dod_term);
        }
        // A 1P cell's current is the pack's whatever its resistance; in a wider group the split
        // moves as the cells age apart.
        let bits = duty.pack_current.to_bits();
        let current = np > 1 || self.current_at != Some(bits);
        self.current_at = Some(bits);
        if current {
            // Only the current split reads the group's conductance.
            let g = if np == 1 {
                &self.cells.inv_r
            } else {
                &self.g_groups
            };
            spread(g, np, &mut w.g_sum);
        }
        age_cells(a, table, &mut self.cells, w, duty.pack_current, current);
        for &i in &self.cells.defects {
            if end.is_some() {
                break;
            }
            let u = rng.uniforms(self.cells.index[i], stream::AGING_SHORT, duty.step)[0];
            if u < duty.short_p {
                *end = Some((duty.cycles + a.cycles_per_step as u32, EndOfLife::Short));
            }
        }
        // Each group's self-discharge, summed from 0 in cell order (a 1P group's is its cell's,
        // ≥ 0, so 0 + it is it), onto its charge offset.
        if np == 1 {
            for (off, sd) in self.offset.iter_mut().zip(&w.sd) {
                *off += sd;
            }
        } else {
            for (off, group) in self.offset.iter_mut().zip(w.sd.chunks_exact(np)) {
                let mut sd_ah = 0.0;
                for sd in group {
                    sd_ah += sd;
                }
                *off += sd_ah;
            }
        }
        self.min_offset = balance(&mut self.offset, a.balance_ah);
    }
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
