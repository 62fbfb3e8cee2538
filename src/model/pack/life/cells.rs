//! The pack's cells during life as a structure of arrays, and the vectorised pass that takes
//! them through one step ([`age_cells`]): the per-cell half of [`super`]'s step.

#[cfg(doc)]
use super::fade_scalar;
use super::{cycling_factor_with, fade_exponent, np_exponent, overpotential_factor, sei_factor};
use crate::model::aging::{
    AgingParams, CurrentTerms, HoistedStep, PowerLaws, PowerStates, RestTerms, power_steps_body,
    step_rates_of, table_fits, table_lookups,
};
use crate::model::expf::exp8;
use crate::model::flags;
use crate::model::pack::PackCell;
use crate::rng::{Philox, philox4x32_lanes_at, stream};

/// A pack's cells during life, one array per quantity (structure of arrays), in series-group
/// order: each pass over the pack is then one fixed-width loop over plain slices that the compiler
/// vectorises (8 cells a lane group with AVX2), where a loop over per-cell structs stayed scalar
/// and the rate arithmetic was most of pack life's time.
pub(super) struct Cells {
    /// The fade laws' exponents and step series.
    pub(super) laws: PowerLaws,
    /// Calendar fade (loss: fraction of initial capacity).
    pub(super) cal: PowerStates,
    /// Cycling fade (loss: fraction of initial capacity).
    pub(super) cyc: PowerStates,
    /// Capacity now, Ah.
    pub(super) q: Vec<f32>,
    /// Resistance now, mΩ.
    pub(super) r: Vec<f32>,
    /// `1 / r`, kept with `r` in a group of more than one cell: the group's conductance and the
    /// cell's current share read it. A 1P cell's current is the pack's and its group's
    /// resistance its own, so there it stays at its initial value (its share stays exactly 1).
    pub(super) inv_r: Vec<f32>,
    /// Initial capacity, Ah.
    pub(super) q0: Vec<f32>,
    /// Initial resistance, mΩ.
    pub(super) r0: Vec<f32>,
    /// Tab-weld resistance, mΩ.
    pub(super) r_tab: Vec<f32>,
    /// What the cell's make does to its cycling rate ([`cycling_factor`]).
    pub(super) cyc_factor: Vec<f32>,
    /// What formation's SEI does to its calendar rate ([`sei_factor`]).
    pub(super) cal_factor: Vec<f32>,
    /// Calendar stress-time a step: `scalar · days_per_step · time_scale`.
    pub(super) dt: Vec<f32>,
    /// `scalar · cycles_per_step`.
    pub(super) scalar_cycles: Vec<f32>,
    /// Self-discharge's Ah a step per Ah held, before the days: `k · 1e-3 / ocv_slope_v`.
    pub(super) sd_per_ah: Vec<f32>,
    /// Its group's [`RestTerms::cal`] (the rest temperature is the group's, fixed for life).
    pub(super) rest_cal: Vec<f32>,
    /// Its group's [`RestTerms::cyc`].
    pub(super) rest_cyc: Vec<f32>,
    /// Production index (keys its shorts).
    pub(super) index: Vec<u64>,
    /// Cells with a latent defect, by position in the pack.
    pub(super) defects: Vec<usize>,
}

/// A step's per-cell operands and results, one slot per cell. The current terms persist between
/// steps: a cell of a 1P group carries the pack current, which is the same every step, so they
/// are computed once for its life (the old per-cell memo, now by construction).
#[derive(Default)]
pub(super) struct Work {
    /// Its group's conductance (the current split reads it).
    pub(super) g_sum: Vec<f32>,
    /// Its group's coolant temperature, K.
    pub(super) t_cool: Vec<f32>,
    /// Its group's DOD (and EFC per cycle).
    pub(super) dod: Vec<f32>,
    /// [`dod_term`] of that DOD.
    pub(super) dod_term: Vec<f32>,
    /// The cell's current while cycling, A.
    pub(super) i_cell: Vec<f32>,
    /// [`CurrentTerms::sqrt_c`].
    pub(super) sqrt_c: Vec<f32>,
    /// [`CurrentTerms::base`].
    pub(super) base: Vec<f32>,
    /// [`CurrentTerms::rest_exp`].
    pub(super) rest_exp: Vec<f32>,
    /// [`overpotential_factor`] at the cell's current.
    pub(super) overpotential: Vec<f32>,
    /// Calendar rate of the step.
    pub(super) k_cal: Vec<f32>,
    /// Cycling rate of the step.
    pub(super) k_cyc: Vec<f32>,
    /// Cycling stress-time of the step.
    pub(super) defc: Vec<f32>,
    /// Temperature while cycling, K.
    pub(super) t_cyc: Vec<f32>,
    /// The rate table's cycling average at that temperature.
    pub(super) table_cyc: Vec<f32>,
    /// Self-discharge over the step, Ah.
    pub(super) sd: Vec<f32>,
    /// Per group: `1 / conductance`, mΩ.
    pub(super) g_r: Vec<f32>,
    /// Per group: coolant temperature, K.
    pub(super) g_t_cool: Vec<f32>,
    /// Per group: DOD.
    pub(super) g_dod: Vec<f32>,
    /// Per group: [`dod_term`].
    pub(super) g_term: Vec<f32>,
}

thread_local! {
    /// The work arrays of the last pack this thread aged, lent to its next ([`Work::take`]):
    /// making 19 arrays a pack cost ≈ 1.6 % of a run (one thread, 10⁶ cells).
    static SPARE: std::cell::Cell<Work> = std::cell::Cell::new(Work::default());
}

impl Work {
    /// The work arrays of a pack of `n` cells in `ns` groups (the thread's spare ones, refilled):
    /// zeros, and ones for the overpotential factor.
    pub(super) fn take(n: usize, ns: usize) -> Work {
        let mut w = SPARE.take();
        let Work {
            g_sum,
            t_cool,
            dod,
            dod_term,
            i_cell,
            sqrt_c,
            base,
            rest_exp,
            overpotential,
            k_cal,
            k_cyc,
            defc,
            t_cyc,
            table_cyc,
            sd,
            g_r,
            g_t_cool,
            g_dod,
            g_term,
        } = &mut w;
        for v in [
            g_sum, t_cool, dod, dod_term, i_cell, sqrt_c, base, rest_exp, k_cal, k_cyc, defc,
            t_cyc, table_cyc, sd,
        ] {
            v.clear();
            v.resize(n, 0.0);
        }
        overpotential.clear();
        overpotential.resize(n, 1.0);
        for v in [g_r, g_t_cool, g_dod, g_term] {
            v.clear();
            v.resize(ns, 0.0);
        }
        w
    }

    /// Back to the thread's spare, for its next pack.
    pub(super) fn give_back(self) {
        SPARE.set(self);
    }
}

/// The cells' life state before the first step (`pack_init` in pack_life.wgsl), with `rest` the
/// rate terms of each group's rest temperature. Column by column (the fade scalars and N/P
/// factors eight cells at a time, [`lane_exps`]); each value what the scalar functions give.
#[inline(always)]
pub(super) fn init_cells(
    a: &AgingParams,
    rng: &Philox,
    cells: &[PackCell],
    rest: &[RestTerms],
) -> Cells {
    let np = a.parallel as usize;
    let n = cells.len();
    let (scalar, np_f) = lane_exps(a, rng, cells);
    let (q0, r0) = (column(cells, |c| c.q0), column(cells, |c| c.r0));
    // Each group's rest terms to each of its cells.
    let group = |f: fn(&RestTerms) -> f32| -> Vec<f32> {
        rest.iter()
            .flat_map(|g| std::iter::repeat_n(f(g), np))
            .take(n)
            .collect()
    };
    Cells {
        laws: PowerLaws::new(a),
        cal: PowerStates::new(n),
        cyc: PowerStates::new(n),
        q: q0.clone(),
        r: r0.clone(),
        inv_r: r0.iter().map(|r| 1.0 / r).collect(),
        r_tab: column(cells, |c| c.r_tab),
        cyc_factor: cells
            .iter()
            .zip(&np_f)
            .map(|(c, &f)| cycling_factor_with(a, c, f))
            .collect(),
        cal_factor: sei_factors(a, cells),
        dt: scalar
            .iter()
            .map(|s| s * a.days_per_step * a.time_scale)
            .collect(),
        scalar_cycles: scalar.iter().map(|s| s * a.cycles_per_step).collect(),
        // mV/day → SOC/day through the OCV slope → Ah per Ah held.
        sd_per_ah: column(cells, |c| c.k * 1e-3 / a.ocv_slope_v),
        rest_cal: group(|g| g.cal),
        rest_cyc: group(|g| g.cyc),
        index: cells.iter().map(PackCell::index).collect(),
        defects: (0..n)
            .filter(|&i| cells[i].flags & flags::DEFECT != 0)
            .collect(),
        q0,
        r0,
    }
}

/// Each cell's [`sei_factor`], in a loop of its own: inside `column`'s closure, which is not
/// inlined, [`pow2`](crate::model::aging::pow2)'s `mul_add`s were calls to a software `fmaf`.
/// (`column` itself as such a loop, for every column, was measured: +32 M instructions in
/// `simulate_pack_avx2` over a one-thread 2·10⁵-cell run, callgrind; its other columns have no
/// `mul_add`, and `collect` serves them better.)
#[inline(always)]
fn sei_factors(a: &AgingParams, cells: &[PackCell]) -> Vec<f32> {
    let mut f = vec![0.0f32; cells.len()];
    for (f, c) in f.iter_mut().zip(cells) {
        *f = sei_factor(a, c.first_cycle_loss);
    }
    f
}

/// `f` of each item, collected (a column of the pack's cells).
#[inline(always)]
fn column<T>(items: &[T], f: impl Fn(&T) -> f32) -> Vec<f32> {
    items.iter().map(f).collect()
}

/// Each cell's [`fade_scalar`] and [`np_factor`](super::np_factor), eight cells at a time: their
/// Philox words side by side ([`philox4x32_lanes_at`]) and their `exp`s by [`exp8`], bit for bit
/// the scalar functions' values. A call of each and a scalar Philox call per cell were a third of
/// a pack's set-up; with the set-up's columns and the rest terms made once a run, a one-thread
/// 10⁶-cell run aged a single step (`life.max_cycles=10`) went from 0.286 to 0.271 s.
#[inline(always)]
fn lane_exps(a: &AgingParams, rng: &Philox, cells: &[PackCell]) -> (Vec<f32>, Vec<f32>) {
    let n = cells.len();
    let (mut scalar, mut np_f) = (vec![0.0f32; n], vec![0.0f32; n]);
    for ((cs, s), f) in cells
        .chunks(8)
        .zip(scalar.chunks_mut(8))
        .zip(np_f.chunks_mut(8))
    {
        // Lanes past the pack's end draw cell 0 at N/P 0: finite, and dropped.
        let (mut index, mut np_arg) = ([0u64; 8], [0.0f32; 8]);
        for ((i, e), c) in index.iter_mut().zip(&mut np_arg).zip(cs) {
            (*i, *e) = (c.index(), np_exponent(a, c.np_ratio));
        }
        let w = philox4x32_lanes_at(rng.key(), index, stream::AGING_CELL, 0);
        // A plain loop, not `array::from_fn`: its closure was not inlined, so the normals ran
        // outside this AVX2 function, one lane at a time.
        let mut fade_arg = [0.0f32; 8];
        for (f, &w0) in fade_arg.iter_mut().zip(&w[0]) {
            *f = fade_exponent(a, w0);
        }
        let (e, g) = (exp8(fade_arg), exp8(np_arg));
        s.copy_from_slice(&e[..s.len()]);
        f.copy_from_slice(&g[..f.len()]);
    }
    (scalar, np_f)
}

/// The pack's cells through one step: their current terms where `current` (see [`Work`]), rates,
/// both power steps and their new capacity, resistance and self-discharge. Compiled for AVX2 and
/// FMA where the CPU has them (the same operations on 8 lanes instead of 4; the only fused
/// operations are the series' explicit `mul_add`s, fused on every path, so the bits do not depend
/// on the path).
pub(super) fn age_cells(
    a: &AgingParams,
    table: &[f32],
    c: &mut Cells,
    w: &mut Work,
    pack_current: f32,
    current: bool,
) {
    assert!(table_fits(table, a));
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        // SAFETY: the CPU has AVX-512F, AVX2 and FMA; the table fits (checked above).
        unsafe { age_cells_avx512(a, table, c, w, pack_current, current) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA; the table fits (checked above).
        unsafe { age_cells_avx2(a, table, c, w, pack_current, current) };
        return;
    }
    // SAFETY: the table fits (checked above).
    unsafe { age_cells_body(a, table, c, w, pack_current, current) };
}

/// [`age_cells`] for AVX2.
///
/// # Safety
/// The CPU has AVX2 and `table_fits(table, a)`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn age_cells_avx2(
    a: &AgingParams,
    table: &[f32],
    c: &mut Cells,
    w: &mut Work,
    pack_current: f32,
    current: bool,
) {
    // SAFETY: passed on from the caller.
    unsafe { age_cells_body(a, table, c, w, pack_current, current) };
}

/// [`age_cells`] for AVX-512: the compiler's loops 16 lanes wide. With the series pass at 16
/// lanes too, a one-thread 10⁶-cell run with every pack aged went from 0.678 to 0.662 s (and to
/// 0.649 s with the pack's step loop at 16 lanes as well; medians of 9 alternated). Beside the
/// 8-lane series pass, an earlier session's wider loops had gained nothing (BENCHMARKS.md).
///
/// # Safety
/// The CPU has AVX-512F, AVX2 and FMA, and `table_fits(table, a)`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f")]
unsafe fn age_cells_avx512(
    a: &AgingParams,
    table: &[f32],
    c: &mut Cells,
    w: &mut Work,
    pack_current: f32,
    current: bool,
) {
    // SAFETY: passed on from the caller.
    unsafe { age_cells_body(a, table, c, w, pack_current, current) };
}

/// The body of [`age_cells`].
///
/// # Safety
/// `table_fits(table, a)`.
#[inline(always)]
unsafe fn age_cells_body(
    a: &AgingParams,
    table: &[f32],
    c: &mut Cells,
    w: &mut Work,
    pack_current: f32,
    current: bool,
) {
    if current {
        current_pass(a, c, w, pack_current);
    }
    // SAFETY: passed on from the caller.
    unsafe {
        if a.law == 0 {
            rate_pass::<false>(a, table, c, w);
        } else {
            rate_pass::<true>(a, table, c, w);
        }
    }
    power_steps_body(&mut c.cal, &c.laws.cal, &w.k_cal, &c.dt);
    power_steps_body(&mut c.cyc, &c.laws.cyc, &w.k_cyc, &w.defc);
    fade_pass(a, c, w);
}

/// Each cell's current (its conductance's share of the pack current) and what the laws read of
/// it: [`CurrentTerms`] and [`overpotential_factor`].
#[inline(always)]
fn current_pass(a: &AgingParams, c: &Cells, w: &mut Work, pack_current: f32) {
    let n = c.q0.len();
    let (inv_r, q0, r0, rest_cyc) = (&c.inv_r[..n], &c.q0[..n], &c.r0[..n], &c.rest_cyc[..n]);
    let g_sum = &w.g_sum[..n];
    let (i_out, sqrt_c, base) = (&mut w.i_cell[..n], &mut w.sqrt_c[..n], &mut w.base[..n]);
    let (rest_exp, over) = (&mut w.rest_exp[..n], &mut w.overpotential[..n]);
    for i in 0..n {
        // Current divides by conductance: `inv_r / g_sum` is exactly 1 in a 1P group.
        let i_cell = pack_current * (inv_r[i] / g_sum[i]);
        let rest = RestTerms {
            cal: 0.0,
            cyc: rest_cyc[i],
        };
        let t = CurrentTerms::new(a, &rest, i_cell / q0[i]);
        i_out[i] = i_cell;
        sqrt_c[i] = t.sqrt_c;
        base[i] = t.base;
        rest_exp[i] = t.rest_exp;
        over[i] = overpotential_factor(a, i_cell, r0[i]);
    }
}

/// Each cell's conditions (its own and its tab's heat over its group's coolant), the rate table
/// at its cycling temperature ([`table_lookups`], a pass of its own: its reads are gathers) and
/// its fade rates for the step ([`step_rates_of`] of the law `NMC`).
///
/// # Safety
/// `table_fits(table, a)`.
#[inline(always)]
unsafe fn rate_pass<const NMC: bool>(a: &AgingParams, table: &[f32], c: &Cells, w: &mut Work) {
    let n = c.q0.len();
    let (r, r_tab, cyc_factor) = (&c.r[..n], &c.r_tab[..n], &c.cyc_factor[..n]);
    let (i_cell, t_cool, t_cyc) = (&w.i_cell[..n], &w.t_cool[..n], &mut w.t_cyc[..n]);
    for i in 0..n {
        let heat_w = i_cell[i] * i_cell[i] * r[i] * 1e-3;
        let tab_w = i_cell[i] * i_cell[i] * r_tab[i] * 1e-3;
        t_cyc[i] = t_cool[i] + heat_w * a.r_th + tab_w * a.tab_k_per_w;
    }
    // SAFETY: the caller's promise.
    unsafe { table_lookups(table, a, &w.t_cyc[..n], 0, &mut w.table_cyc[..n]) };
    let (cal_factor, dt, scalar_cycles) = (&c.cal_factor[..n], &c.dt[..n], &c.scalar_cycles[..n]);
    let (rest_cal, rest_cyc) = (&c.rest_cal[..n], &c.rest_cyc[..n]);
    let (t_cyc, table_cyc) = (&w.t_cyc[..n], &w.table_cyc[..n]);
    let (dod, dod_term) = (&w.dod[..n], &w.dod_term[..n]);
    let (sqrt_c, base, rest_exp, over) = (
        &w.sqrt_c[..n],
        &w.base[..n],
        &w.rest_exp[..n],
        &w.overpotential[..n],
    );
    let (k_cal, k_cyc, defc) = (&mut w.k_cal[..n], &mut w.k_cyc[..n], &mut w.defc[..n]);
    for i in 0..n {
        let rest = RestTerms {
            cal: rest_cal[i],
            cyc: rest_cyc[i],
        };
        let step = HoistedStep {
            t_cyc_k: t_cyc[i],
            efc_per_cycle: dod[i],
            dod_term: dod_term[i],
            current: CurrentTerms {
                sqrt_c: sqrt_c[i],
                base: base[i],
                rest_exp: rest_exp[i],
            },
            cyc_factor: cyc_factor[i] * over[i],
            cal_factor: cal_factor[i],
            dt: dt[i],
            scalar_cycles: scalar_cycles[i],
        };
        let rates = step_rates_of::<NMC>(a, table_cyc[i], &rest, &step);
        k_cal[i] = rates.k_cal;
        k_cyc[i] = rates.k_cyc;
        defc[i] = rates.defc;
    }
}

/// Each cell's new capacity, resistance (and, in a group of more than one, conductance) from its
/// losses, and its self-discharge over the step.
#[inline(always)]
fn fade_pass(a: &AgingParams, c: &mut Cells, w: &mut Work) {
    let n = c.q0.len();
    let (loss_cal, loss_cyc) = (&c.cal.loss[..n], &c.cyc.loss[..n]);
    let (q0, r0) = (&c.q0[..n], &c.r0[..n]);
    let sd_per_ah = &c.sd_per_ah[..n];
    let (q, r, sd) = (&mut c.q[..n], &mut c.r[..n], &mut w.sd[..n]);
    for i in 0..n {
        let loss = loss_cal[i] + loss_cyc[i];
        q[i] = q0[i] * (1.0 - loss);
        r[i] = r0[i] * (1.0 + a.r_growth * loss);
        sd[i] = sd_per_ah[i] * q[i] * a.days_per_step;
    }
    if a.parallel > 1 {
        for (g, r) in c.inv_r[..n].iter_mut().zip(&c.r[..n]) {
            *g = 1.0 / r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pack::life::{PackPlaces, cycling_factor, fade_scalar};

    /// A pack's columns, made eight cells at a time, hold each cell's scalar functions' values bit
    /// for bit: 13 cells (a partial lane group), indices scattered across the 2³² carry, N/P
    /// ratios and first-cycle losses on both sides of design, a breached cell; 13S1P and, with
    /// the rest terms spread to every cell of a group, a 3-cell-group pack's first 12.
    #[test]
    fn columns_are_the_scalar_functions() {
        let s = crate::scene::load(None, &["line.spread_scale=5".into()]).expect("default scene");
        let rng = Philox::new(s.seed);
        let nominal = PackCell::nominal(&s);
        let cells: Vec<PackCell> = (0..13u64)
            .map(|i| {
                let index = (i * 0x9E37_79B9_7F4A) ^ (i << 31);
                PackCell {
                    index_lo: index as u32,
                    index_hi: (index >> 32) as u32,
                    np_ratio: nominal.np_ratio * (0.9 + 0.02 * i as f32),
                    first_cycle_loss: nominal.first_cycle_loss * (0.85 + 0.025 * i as f32),
                    fill_shortfall: 0.01 * (i % 3) as f32,
                    flags: if i == 4 { flags::BREACH } else { 0 },
                    r0: nominal.r0 * (1.0 + 0.01 * i as f32),
                    ..nominal
                }
            })
            .collect();
        for (series, parallel, n) in [(13, 1, 13), (4, 3, 12)] {
            let mut a = AgingParams::from_scene(&s);
            (a.series, a.parallel) = (series, parallel);
            let table = crate::model::aging::RateTable::new(&a, &s.life);
            let places = PackPlaces::new(&a, &table.values);
            let c = init_cells(&a, &rng, &cells[..n], &places.rest);
            for (i, cell) in cells[..n].iter().enumerate() {
                let scalar = fade_scalar(&rng, &a, cell.index());
                assert!(scalar != 1.0, "cell {i} draws a fade scalar");
                assert_eq!(c.dt[i], scalar * a.days_per_step * a.time_scale, "cell {i}");
                assert_eq!(c.scalar_cycles[i], scalar * a.cycles_per_step, "cell {i}");
                assert_eq!(c.cyc_factor[i], cycling_factor(&a, cell), "cell {i}");
                assert_eq!(
                    c.cal_factor[i],
                    sei_factor(&a, cell.first_cycle_loss),
                    "cell {i}"
                );
                let g = &places.rest[i / parallel as usize];
                assert_eq!((c.rest_cal[i], c.rest_cyc[i]), (g.cal, g.cyc), "cell {i}");
                assert_eq!((c.q[i], c.inv_r[i]), (cell.q0, 1.0 / cell.r0), "cell {i}");
            }
        }
    }
}
