//! One cell's aging step: its conditions, the laws' rates at them and the two power steps
//! ([`step_cell`]), and the same with what is fixed for a group's life or a step hoisted out
//! ([`step_cell_hoisted`], [`step_rates_of`]: the pack's vectorised pass runs the latter).

use super::{
    AgingParams, INV_T_REF, PowerLaw, PowerState, exp_f32, k_cyc_at, lfp_arrhenius, nmc_dod_factor,
    power_step, table_lookup,
};

/// The fade state of one cell: each law's loss and where it stands on its law.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CellAge {
    /// Calendar fade (loss: fraction of initial capacity).
    pub cal: PowerState,
    /// Cycling fade (loss: fraction of initial capacity).
    pub cyc: PowerState,
}

impl CellAge {
    /// Total capacity loss, fraction of initial capacity.
    pub fn loss(&self) -> f32 {
        self.cal.loss + self.cyc.loss
    }
}

/// The two laws' exponents and step series, fixed for a scene.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerLaws {
    /// The calendar law (`p_cal`).
    pub cal: PowerLaw,
    /// The cycling law (`p_cyc`).
    pub cyc: PowerLaw,
}

impl PowerLaws {
    /// The laws of `a`.
    pub fn new(a: &AgingParams) -> PowerLaws {
        PowerLaws {
            cal: PowerLaw::new(a.p_cal),
            cyc: PowerLaw::new(a.p_cyc),
        }
    }
}

/// A cell's conditions over one step.
#[derive(Clone, Copy, Debug)]
pub struct Conditions {
    /// Temperature at rest, K.
    pub t_rest_k: f32,
    /// Temperature while cycling (with its own and its tab's heat), K.
    pub t_cyc_k: f32,
    /// Depth of discharge of its group (fraction of its present capacity).
    pub dod: f32,
    /// Equivalent full cycles per cycle, in units of its own initial capacity.
    pub efc_per_cycle: f32,
    /// Discharge current over its own initial capacity, C.
    pub c_dis: f32,
    /// Stretches both stress-times (the cell's unexplained aging scalar, BLAST-Lite's
    /// `degradation_scalar`): life ∝ 1/scalar.
    pub scalar: f32,
    /// Multiplies the cycling rate (plating, under-fill, N/P, overpotential).
    pub cyc_factor: f32,
    /// Multiplies the calendar rate (the SEI formation left).
    pub cal_factor: f32,
}

/// Advance one cell by one step (`cycles_per_step` cycles).
#[inline]
pub fn step_cell(a: &AgingParams, table: &[f32], age: &mut CellAge, c: &Conditions) {
    let k_cal = c.cal_factor
        * (a.f_cyc * table_lookup(table, a, c.t_cyc_k, 0)
            + a.f_rest * table_lookup(table, a, c.t_rest_k, 1));
    // Day-average |C|: two sweeps of the cell's swing per cycle, over 24 h (rest counts as zero).
    let c_avg = a.cycles_per_day * 2.0 * c.efc_per_cycle / 24.0;
    let k_cyc = a.f_cyc * k_cyc_at(a, c.t_cyc_k, c.dod, c_avg, c.c_dis)
        + a.f_rest * k_cyc_at(a, c.t_rest_k, c.dod, c_avg, c.c_dis);
    // The residual scalar stretches the cell's stress-time (days and EFC), as BLAST-Lite's
    // `degradation_scalar` scales each loss increment: in the continuous limit both give
    // `q = k·(s·x)^p`, so life scales as 1/s whatever the exponent. Scaling the rate k instead
    // would scale life as s^(−1/p) and inflate the spread by 1/p (×2.3 for NMC cycling).
    let dt = c.scalar * a.days_per_step * a.time_scale;
    let defc = c.scalar * a.cycles_per_step * c.efc_per_cycle * a.time_scale;
    let laws = PowerLaws::new(a);
    power_step(&mut age.cal, &laws.cal, k_cal, dt);
    power_step(&mut age.cyc, &laws.cyc, c.cyc_factor * k_cyc, defc);
}

/// The parts of [`step_cell`] fixed for a group's whole life: those of the rest temperature (the
/// group's coolant-inlet temperature, set by its position). Computed once per group and pack
/// instead of every cell and step (the CPU's pack life; the WGSL twin evaluates them each step).
#[derive(Clone, Copy, Debug)]
pub struct RestTerms {
    /// `f_rest · k_cal(T_rest)`, the rest half of the calendar rate.
    pub cal: f32,
    /// LFP: the Arrhenius sum `exp(2190/T) + exp(max(−1.55e5/T, −80))` at `T_rest`; NMC: the
    /// exponent's temperature factor `1.2445954·tn³`, `tn = T_rest / 308.15` ([`INV_T_REF`]).
    pub cyc: f32,
}

impl RestTerms {
    /// The rest terms at `t_rest_k`.
    pub fn new(a: &AgingParams, table: &[f32], t_rest_k: f32) -> RestTerms {
        let cyc = if a.law == 0 {
            lfp_arrhenius(t_rest_k)
        } else {
            let tn = t_rest_k * INV_T_REF;
            1.244_595_4 * tn * tn * tn
        };
        RestTerms {
            cal: a.f_rest * table_lookup(table, a, t_rest_k, 1),
            cyc,
        }
    }
}

/// The DOD's part of the cycling rate, the same for every cell of a group within a step: LFP's
/// `4.38e-8 + 1.55e-8·DOD + 1.68e-7·C_avg` (with EFC per cycle = DOD, as in pack life), NMC's
/// [`nmc_dod_factor`].
#[inline]
pub fn dod_term(a: &AgingParams, dod: f32) -> f32 {
    if a.law == 0 {
        let c_avg = a.cycles_per_day * 2.0 * dod / 24.0;
        4.38e-8 + 1.55e-8 * dod + 1.68e-7 * c_avg
    } else {
        nmc_dod_factor(a, dod)
    }
}

/// The parts of the NMC cycling rate that depend only on the cell's discharge C-rate (and its
/// group's rest temperature): a cell whose current is bit for bit last step's reuses them.
#[derive(Clone, Copy, Debug, Default)]
pub struct CurrentTerms {
    /// `√C_dis`.
    pub sqrt_c: f32,
    /// `0.18123502 · exp(−0.12377921 · C_dis³)`.
    pub base: f32,
    /// `exp(1.2445954 · tn_rest³ · √C_dis)`.
    pub rest_exp: f32,
}

impl CurrentTerms {
    /// The terms at `c_dis` (zeros for LFP, whose law does not read the current).
    #[inline]
    pub fn new(a: &AgingParams, rest: &RestTerms, c_dis: f32) -> CurrentTerms {
        if a.law == 0 {
            return CurrentTerms::default();
        }
        let sqrt_c = c_dis.sqrt();
        CurrentTerms {
            sqrt_c,
            base: 0.181_235_02 * exp_f32(-0.123_779_21 * c_dis * c_dis * c_dis),
            rest_exp: exp_f32(rest.cyc * sqrt_c),
        }
    }
}

/// What [`step_cell_hoisted`] reads of one cell in one step.
#[derive(Clone, Copy, Debug)]
pub struct HoistedStep {
    /// Temperature while cycling, K.
    pub t_cyc_k: f32,
    /// Equivalent full cycles per cycle (the group's DOD).
    pub efc_per_cycle: f32,
    /// [`dod_term`] of the group's DOD.
    pub dod_term: f32,
    /// [`CurrentTerms`] of the discharge C-rate on the cell's initial capacity.
    pub current: CurrentTerms,
    /// Cycling-rate multiple (make and overpotential).
    pub cyc_factor: f32,
    /// Calendar-rate multiple (SEI).
    pub cal_factor: f32,
    /// Calendar stress-time a step: `scalar · days_per_step · time_scale`.
    pub dt: f32,
    /// `scalar · cycles_per_step` (the cycling stress-time is this · EFC · time_scale).
    pub scalar_cycles: f32,
}

/// [`step_cell`] with the laws' series, the rest temperature's terms, the group's DOD terms and
/// the cell's constant stress-time factors computed beforehand: the same operations in the same
/// order on the same values, so the same result bit for bit (checked against [`step_cell`] in the
/// tests).
#[inline]
pub fn step_cell_hoisted(
    a: &AgingParams,
    table: &[f32],
    (laws, rest): (&PowerLaws, &RestTerms),
    age: &mut CellAge,
    c: &HoistedStep,
) {
    let r = step_rates(a, table, rest, c);
    power_step(&mut age.cal, &laws.cal, r.k_cal, c.dt);
    power_step(&mut age.cyc, &laws.cyc, r.k_cyc, r.defc);
}

/// A cell's fade rates and cycling stress-time over one step: what its two power steps read.
#[derive(Clone, Copy, Debug)]
pub struct StepRates {
    /// Calendar rate (with the SEI factor).
    pub k_cal: f32,
    /// Cycling rate (with the make and overpotential factors).
    pub k_cyc: f32,
    /// Cycling stress-time of the step.
    pub defc: f32,
}

/// The rates of [`step_cell_hoisted`], before its power steps.
#[inline]
pub fn step_rates(a: &AgingParams, table: &[f32], rest: &RestTerms, c: &HoistedStep) -> StepRates {
    let table_cyc = table_lookup(table, a, c.t_cyc_k, 0);
    if a.law == 0 {
        step_rates_of::<false>(a, table_cyc, rest, c)
    } else {
        step_rates_of::<true>(a, table_cyc, rest, c)
    }
}

/// [`step_rates`] of one law (`NMC`) with the cycling-average table value at `t_cyc_k` given: the
/// one formula that the scalar step and the pack's vectorised rate pass both run (the law a
/// constant, so that the pass's loop has no branch).
#[inline(always)]
pub fn step_rates_of<const NMC: bool>(
    a: &AgingParams,
    table_cyc: f32,
    rest: &RestTerms,
    c: &HoistedStep,
) -> StepRates {
    let k_cal = c.cal_factor * (a.f_cyc * table_cyc + rest.cal);
    let k_cyc = if !NMC {
        let arrhenius = lfp_arrhenius(c.t_cyc_k);
        a.f_cyc * (c.dod_term * arrhenius) + a.f_rest * (c.dod_term * rest.cyc)
    } else {
        let tn = c.t_cyc_k * INV_T_REF;
        let cur = &c.current;
        let at_cyc = cur.base * exp_f32(1.244_595_4 * tn * tn * tn * cur.sqrt_c) * c.dod_term;
        let at_rest = cur.base * cur.rest_exp * c.dod_term;
        a.f_cyc * at_cyc + a.f_rest * at_rest
    };
    StepRates {
        k_cal,
        k_cyc: c.cyc_factor * k_cyc,
        defc: c.scalar_cycles * c.efc_per_cycle * a.time_scale,
    }
}
