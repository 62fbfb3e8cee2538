//! Cell aging: NREL BLAST-Lite's fade laws, one per chemistry, integrated in BLAST-Lite's
//! incremental form (MODEL.md §3).
//!
//! Capacity is `q = 1 − q_cal − q_cyc`, each a power law in its own stress-time
//! (`q_cal = k_cal·t^p_cal`, `q_cyc = k_cyc·EFC^p_cyc`). Conditions change from step to step
//! (a fading cell cycles deeper, heats more), so each step inverts the law for the stress-time that
//! gives today's loss under today's rate, adds today's stress-time and evaluates again — exact for
//! constant rates, so the step length only matters where conditions change.
//!
//! BLAST-Lite time-averages its rates over the day's SOC and temperature trajectory. A day here is
//! `cycles_per_day` full sweeps of the SOC window at `c_rate` (every SOC of the window visited at
//! the same speed) and rest at `soc_rest`. The SOC average of `k_cal` at the cycling temperature
//! depends only on temperature, so it is tabulated once per scene over temperature ([`RateTable`]);
//! a cell's step then needs one table lookup instead of a quadrature. The same table is the GPU's.

use crate::scene::{Chemistry, Duty, Life};
use bytemuck::{Pod, Zeroable};

/// Graphite potential vs Li (Safari & Delacourt 2011), as BLAST-Lite's `_get_Ua`.
pub fn graphite_ua(soc: f64) -> f64 {
    let xa = 0.0085 + soc * (0.78 - 0.0085);
    0.6379 + 0.5416 * (-305.5309 * xa).exp() + 0.044 * (-(xa - 0.1958) / 0.1088).tanh()
        - 0.1978 * ((xa - 1.0571) / 0.0854).tanh()
        - 0.6875 * ((xa + 0.0117) / 0.0529).tanh()
        - 0.0175 * ((xa - 0.5692) / 0.0875).tanh()
}

/// BLAST-Lite 1.1.1 calendar rate at one instant.
pub fn k_cal_at(chem: Chemistry, t_k: f64, soc: f64) -> f64 {
    let ua = graphite_ua(soc);
    match chem {
        // Lfp_Gr_250AhPrismatic: p1·exp(p2/T)·exp(p3·Ua/T).
        Chemistry::LfpPrismatic => 8.37e4 * (-5210.0 / t_k).exp() * (-3560.0 * ua / t_k).exp(),
        // Nmc811_GrSi_LGM50_5Ah_Battery, temperature normalised by 308.15 K, Ua by 0.123 V.
        Chemistry::Nmc21700 => {
            let tn = t_k / 308.15;
            let tn3 = tn * tn * tn;
            let uan = ua / 0.123;
            -2.39156628786525 + 2.44205317834185 * (tn3 * uan.powf(-1.0 / 3.0)).exp()
                - 4.45998246136905 * tn3 * uan.powf(-0.5)
                + 0.448140062203916 * (soc.sqrt() / (tn * tn)).exp()
                - 0.185337797906876 * (soc * soc * soc).exp()
        }
    }
}

/// Fade-law exponents and stress-time scales (the NMC law counts days and EFC in units of 1e4).
pub fn exponents(chem: Chemistry) -> (f32, f32, f32) {
    match chem {
        Chemistry::LfpPrismatic => (0.526, 0.828, 1.0),
        Chemistry::Nmc21700 => (0.651_697_74, 0.441_996_8, 1e-4),
    }
}

/// Everything a cell's aging step reads, flattened for the GPU (`AgingParams` in
/// `shaders/shared/layout.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct AgingParams {
    /// 0 = LFP law, 1 = NMC law.
    pub law: u32,
    /// Rate table entries per column ([`RateTable`]: ambient − 5 K to ambient + gradient + 60 K).
    pub table_len: u32,
    /// Rate table: first temperature, K.
    pub table_t0: f32,
    /// Rate table: temperature spacing, K (0.05).
    pub table_dt: f32,
    /// Calendar fade-law exponent on stress-time (BLAST-Lite's law of the chemistry).
    pub p_cal: f32,
    /// Cycling fade-law exponent on equivalent full cycles (BLAST-Lite's law of the chemistry).
    pub p_cyc: f32,
    /// Stress-time scale (1 for LFP, 1e-4 for NMC).
    pub time_scale: f32,
    /// Fraction of the day spent cycling (the duty's hours at `c_rate` over 24).
    pub f_cyc: f32,
    /// Fraction of the day at rest, 1 − `f_cyc`.
    pub f_rest: f32,
    /// Full cycles a day (`life.cycles_per_day`).
    pub cycles_per_day: f32,
    /// Cycles per simulation step (`life.cycles_per_step`).
    pub cycles_per_step: f32,
    /// Days per simulation step: cycles per step / cycles per day.
    pub days_per_step: f32,
    /// Charge and discharge rate, C (`life.c_rate`).
    pub c_rate: f32,
    /// Pack SOC window (soc_hi − soc_lo), fraction.
    pub dod_window: f32,
    /// Ambient (coolant inlet) temperature, K.
    pub ambient_k: f32,
    /// Positional temperature offset from the first to the last series group, K.
    pub gradient_k: f32,
    /// Cell thermal resistance to coolant, K/W (`life.thermal_resistance_k_per_w`).
    pub r_th: f32,
    /// End of life: pack capacity below this fraction of rated (`life.eol_fraction`).
    pub eol_fraction: f32,
    /// Packs are followed past end of life down to this fraction, so the fade band has data below
    /// the 80 % line.
    pub stop_fraction: f32,
    /// Balancing charge a step, Ah.
    pub balance_ah: f32,
    /// OCV slope that turns self-discharge (mV/day) into charge, V per unit SOC.
    pub ocv_slope_v: f32,
    /// Cycling-rate multiple of a cell below `plating_np` (`life.plating_factor`).
    pub plating_factor: f32,
    /// Under-fill multiplies cycling fade by 1 + this × fill shortfall (`life.underfill_factor`).
    pub underfill_factor: f32,
    /// Lognormal σ of the residual cell-to-cell aging scalar (`life.cell_fade_sigma`).
    pub fade_sigma: f32,
    /// Resistance growth per unit capacity loss: R = R0 (1 + this × loss).
    pub r_growth: f32,
    /// Internal-short hazard per cycle of a cell with a latent defect.
    pub short_hazard: f32,
    /// Series groups per pack.
    pub series: u32,
    /// Cells in parallel per group.
    pub parallel: u32,
    /// Steps to simulate at most: whole steps within the cycle and calendar caps.
    pub max_steps: u32,
    /// Rated cell capacity, Ah.
    pub q_rated: f32,
    /// Philox key: the seed's low word.
    pub seed_lo: u32,
    /// Philox key: the seed's high word.
    pub seed_hi: u32,
    /// Design N/P: a cell coated at it has no N/P term.
    pub np_design: f32,
    /// Cycling-fade slope per unit of N/P below design, 1/(N/P) (`life.np_fade_per_np`).
    pub np_fade_per_np: f32,
    /// Nominal cell DCIR, mΩ: a cell at it has no overpotential term.
    pub r_nominal: f32,
    /// Tafel voltage of the plating/side reaction, mV (`life.plating_tafel_mv`; 0 = link off).
    pub plating_tafel_mv: f32,
    /// Nominal first-cycle loss, fraction: a cell formed at it has no SEI term.
    pub first_cycle_loss: f32,
    /// Exponent of the SEI → calendar relation (`life.sei_calendar_exponent`; 0 = link off).
    pub sei_calendar_exponent: f32,
    /// N/P below which a cell plates lithium (`life.plating_np`).
    pub plating_np: f32,
    /// Cycling-rate multiple of an escaped overhang breach (`life.breach_plating_factor`).
    pub breach_plating_factor: f32,
    /// 1: NMC cycling follows each cell's DOD (Schmalstieg 2014), 0: BLAST-Lite's law alone.
    pub nmc_dod_fade: u32,
    /// 1: the duty is the SOC window of the present capacity, 0: the rated window's Ah.
    pub duty_soc_window: u32,
    /// Local tab temperature rise per watt of tab-weld heat, K/W.
    pub tab_k_per_w: f32,
    /// Coolant rise at the outlet per watt of string heat, K/W (1 / flow·cp; 0 = none).
    pub coolant_k_per_w: f32,
    /// Power end of life at this multiple of the pack's initial resistance (0 = off).
    pub eol_resistance_factor: f32,
    /// Padding to a multiple of 16 bytes (the uniform buffer's alignment).
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

/// The nominal cell that a cell's made properties are measured against in life.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Nominal {
    /// Rated capacity, Ah.
    pub q_rated: f64,
    /// Nominal DCIR, mΩ.
    pub r_mohm: f64,
    /// Design N/P.
    pub np_design: f64,
    /// Nominal first-cycle loss, fraction.
    pub first_cycle_loss: f64,
}

impl Nominal {
    /// The scene's nominal cell.
    pub fn from_scene(s: &crate::scene::Scene) -> Nominal {
        Nominal {
            q_rated: s.cell.capacity_ah,
            r_mohm: s.cell.dcir_mohm,
            np_design: s.coating.np_design,
            first_cycle_loss: s.formation.first_cycle_loss,
        }
    }
}

const _: () = assert!(std::mem::size_of::<AgingParams>().is_multiple_of(16));

/// `k_cal` tabulated over temperature, two entries per temperature: the SOC-sweep average while
/// cycling, and the value at the rest SOC.
#[derive(Clone, Debug, PartialEq)]
pub struct RateTable {
    /// `k_cal` as `(cycling average, rest)` pairs, from `table_t0` in steps of `table_dt`.
    pub values: Vec<f32>,
}

/// Cycles the duty runs in `years` (365.25-day years), rounded down.
pub fn cycles_in_years(life: &Life, years: f64) -> u32 {
    (years * 365.25 * life.cycles_per_day)
        .floor()
        .min(f64::from(u32::MAX)) as u32
}

/// Midpoint quadrature points over the SOC window. 16 points land within 3e-4 of BLAST-Lite's
/// 30-s sampled day (checked against the reference values in the tests).
const SOC_POINTS: usize = 16;

impl AgingParams {
    /// Flatten a chemistry's law, the scene's life settings, its nominal cell and the pack
    /// topology; `seed` keys the cells' fade scalars and shorts.
    pub fn new(
        chem: Chemistry,
        life: &Life,
        nominal: &Nominal,
        series: u32,
        parallel: u32,
        seed: u64,
    ) -> Self {
        let (p_cal, p_cyc, time_scale) = exponents(chem);
        let dod = life.soc_hi - life.soc_lo;
        let hours_cycling = life.cycles_per_day * 2.0 * dod / life.c_rate;
        let f_cyc = (hours_cycling / 24.0).min(1.0);
        // Temperatures the table must cover: ambient − 5 K to ambient + gradient + 60 K of self-heating.
        let table_t0 = life.ambient_c + 273.15 - 5.0;
        let table_dt = 0.05;
        let table_len = ((life.gradient_k + 65.0) / table_dt).ceil() as u32 + 1;
        AgingParams {
            law: u32::from(chem == Chemistry::Nmc21700),
            table_len,
            table_t0: table_t0 as f32,
            table_dt: table_dt as f32,
            p_cal,
            p_cyc,
            time_scale,
            f_cyc: f_cyc as f32,
            f_rest: (1.0 - f_cyc) as f32,
            cycles_per_day: life.cycles_per_day as f32,
            cycles_per_step: life.cycles_per_step as f32,
            days_per_step: (f64::from(life.cycles_per_step) / life.cycles_per_day) as f32,
            c_rate: life.c_rate as f32,
            dod_window: dod as f32,
            ambient_k: (life.ambient_c + 273.15) as f32,
            gradient_k: life.gradient_k as f32,
            r_th: life.thermal_resistance_k_per_w as f32,
            eol_fraction: life.eol_fraction as f32,
            stop_fraction: (life.eol_fraction - 0.1).max(0.05) as f32,
            balance_ah: (life.balance_current_a
                * life.balance_hours
                * f64::from(life.cycles_per_step)) as f32,
            ocv_slope_v: life.ocv_slope_v as f32,
            plating_factor: life.plating_factor as f32,
            underfill_factor: life.underfill_factor as f32,
            fade_sigma: life.cell_fade_sigma as f32,
            r_growth: life.resistance_growth as f32,
            short_hazard: life.short_hazard as f32,
            series,
            parallel,
            // Whole steps within both caps (validation keeps each ≥ one step).
            max_steps: life.max_cycles.min(cycles_in_years(life, life.max_years))
                / life.cycles_per_step,
            q_rated: nominal.q_rated as f32,
            seed_lo: seed as u32,
            seed_hi: (seed >> 32) as u32,
            np_design: nominal.np_design as f32,
            np_fade_per_np: life.np_fade_per_np as f32,
            r_nominal: nominal.r_mohm as f32,
            plating_tafel_mv: life.plating_tafel_mv as f32,
            first_cycle_loss: nominal.first_cycle_loss as f32,
            sei_calendar_exponent: life.sei_calendar_exponent as f32,
            plating_np: life.plating_np as f32,
            breach_plating_factor: life.breach_plating_factor as f32,
            nmc_dod_fade: u32::from(life.nmc_dod_fade),
            duty_soc_window: u32::from(life.duty == Duty::SocWindow),
            tab_k_per_w: life.tab_heat_k_per_w as f32,
            coolant_k_per_w: if life.coolant_flow_kg_s > 0.0 {
                (1.0 / (life.coolant_flow_kg_s * life.coolant_cp_j_per_kg_k)) as f32
            } else {
                0.0
            },
            eol_resistance_factor: life.eol_resistance_factor as f32,
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
        }
    }

    /// Probability that a latent defect shorts within one step, `1 − (1 − h)^n`, formed in f64
    /// (in f32 it loses 1e-3 relative at h = 1e-5 and collapses to 0 below 6e-8). Both backends
    /// use this value.
    pub fn short_probability_per_step(&self) -> f32 {
        let h = f64::from(self.short_hazard);
        -(f64::from(self.cycles_per_step) * (-h).ln_1p()).exp_m1() as f32
    }

    /// The aging parameters of a scene's packs (its chemistry, duty, cell and topology).
    pub fn from_scene(s: &crate::scene::Scene) -> Self {
        AgingParams::new(
            s.chemistry,
            &s.life,
            &Nominal::from_scene(s),
            s.pack.series,
            s.pack.parallel,
            s.seed,
        )
    }

    /// The chemistry whose fade law `law` selects.
    pub fn chemistry(&self) -> Chemistry {
        if self.law == 1 {
            Chemistry::Nmc21700
        } else {
            Chemistry::LfpPrismatic
        }
    }
}

impl RateTable {
    /// Tabulate in f64, store f32 (what the GPU reads too).
    pub fn new(a: &AgingParams, life: &Life) -> RateTable {
        let chem = a.chemistry();
        let mut values = Vec::with_capacity(2 * a.table_len as usize);
        for i in 0..a.table_len {
            let t = f64::from(a.table_t0) + f64::from(i) * f64::from(a.table_dt);
            let sweep = (0..SOC_POINTS)
                .map(|j| {
                    let soc = life.soc_lo
                        + (life.soc_hi - life.soc_lo) * (j as f64 + 0.5) / SOC_POINTS as f64;
                    k_cal_at(chem, t, soc)
                })
                .sum::<f64>()
                / SOC_POINTS as f64;
            values.push(sweep as f32);
            values.push(k_cal_at(chem, t, life.soc_rest) as f32);
        }
        RateTable { values }
    }
}

/// Linear interpolation of the rate table `values` at temperature `t_k`; `which` 0 = cycling
/// average, 1 = rest. On a plain slice, as the shader reads its storage buffer.
#[inline]
pub fn table_lookup(values: &[f32], a: &AgingParams, t_k: f32, which: usize) -> f32 {
    assert!(table_fits(values, a) && which < 2);
    // SAFETY: checked just above.
    unsafe { table_lookup_unchecked(values, a, t_k, which) }
}

/// Whether `values` holds the `table_len` pairs that `a` describes (at least two): what
/// [`table_lookup_unchecked`] needs.
#[inline]
pub fn table_fits(values: &[f32], a: &AgingParams) -> bool {
    a.table_len >= 2 && values.len() >= 2 * a.table_len as usize
}

/// [`table_lookup`] without its check, for the pack's vectorised rate pass (a bounds check per
/// cell would keep the loop scalar; the pass checks [`table_fits`] once).
///
/// # Safety
/// [`table_fits`]`(values, a)` and `which < 2`.
#[inline(always)]
pub unsafe fn table_lookup_unchecked(
    values: &[f32],
    a: &AgingParams,
    t_k: f32,
    which: usize,
) -> f32 {
    let x = ((t_k - a.table_t0) / a.table_dt).clamp(0.0, (a.table_len - 1) as f32);
    // `x` is clamped to ≥ 0 (or NaN), where the cast's truncation is the shader's `floor` (a NaN
    // casts to 0 either way): without SSE4.1 `floor` is a libm call. (As i32: the same for x in
    // [0, table_len), and a conversion the vector units have.)
    let i = ((x as i32) as u32).min(a.table_len - 2) as usize;
    let f = x - i as f32;
    // SAFETY: i ≤ table_len − 2, so 2i + 3 < 2·table_len ≤ values.len() (the caller's promise).
    let (v0, v1) = unsafe {
        (
            *values.get_unchecked(2 * i + which),
            *values.get_unchecked(2 * i + 2 + which),
        )
    };
    v0 + (v1 - v0) * f
}

/// Cycling rate at one instant: LFP from DOD and the day-average C-rate, NMC from the discharge
/// C-rate; both from temperature.
#[inline]
pub fn k_cyc_at(a: &AgingParams, t_k: f32, dod: f32, c_avg: f32, c_dis: f32) -> f32 {
    if a.law == 0 {
        // BLAST-Lite's second Arrhenius term, exp(−1.55e5/T), is below 1e-150 at any temperature
        // the rate table covers, far under f32 resolution next to exp(2190/T) ≈ 10³: clamping its
        // exponent at −80 leaves the sum bit for bit unchanged and spares libm's underflow path
        // (17 % of LFP pack-life time). The WGSL twin clamps the same way.
        (4.38e-8 + 1.55e-8 * dod + 1.68e-7 * c_avg) * lfp_arrhenius(t_k)
    } else {
        let tn = t_k / 308.15;
        0.181_235_02
            * exp_f32(-0.123_779_21 * c_dis * c_dis * c_dis)
            * exp_f32(1.244_595_4 * tn * tn * tn * c_dis.sqrt())
            * nmc_dod_factor(a, dod)
    }
}

/// LFP's Arrhenius sum `exp(2190/T) + exp(max(−1.55e5/T, −80))` (see [`k_cyc_at`]).
#[inline(always)]
pub fn lfp_arrhenius(t_k: f32) -> f32 {
    exp_f32(2190.0 / t_k) + exp_f32((-1.55e5 / t_k).max(-80.0))
}

/// NMC cycling against the cell's own DOD, relative to the pack's window (1 there, so a cell that
/// swings the window keeps BLAST-Lite's law): Schmalstieg et al. 2014 (J. Power Sources 257, 325,
/// Sanyo UR18650E, the Baumhöfer cell) fitted the capacity-fade factor
/// `β = 7.348e-3·(V̄ − 3.667)² + 7.6e-4 + 4.081e-3·ΔDOD` per √Ah; the mean-voltage term is the
/// same for every cell of a string and cancels.
#[inline]
pub fn nmc_dod_factor(a: &AgingParams, dod: f32) -> f32 {
    if a.nmc_dod_fade == 0 {
        return 1.0;
    }
    (7.6e-4 + 4.081e-3 * dod) / (7.6e-4 + 4.081e-3 * a.dod_window)
}

/// One step of `loss = k·x^p` from `loss` by `dx` of stress-time, in the incremental form.
#[inline]
pub fn power_step(loss: f32, k: f32, p: f32, dx: f32) -> f32 {
    power_step_inv(loss, k, p, 1.0 / p, dx)
}

/// [`power_step`] with `1 / p` given (`inv_p` must be `1.0 / p`): the same result bit for bit,
/// the division done once instead of every step.
#[inline]
pub fn power_step_inv(loss: f32, k: f32, p: f32, inv_p: f32, dx: f32) -> f32 {
    if k <= 0.0 || dx <= 0.0 {
        return loss;
    }
    let x_eq = if loss > 0.0 {
        pow2(loss / k, inv_p)
    } else {
        0.0
    };
    k * pow2(x_eq + dx, p)
}

/// `e^x` for an f32, evaluated as `2^(x·log2 e)` in f64 by [`exp2_f64`]'s series (relative error
/// ≈ 1e-12 before the rounding to f32): libm's `expf` is a call per cell that keeps the pack's
/// rate pass scalar; this one is inline and vectorises. The WGSL twin writes `exp`.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    exp2_f64(f64::from(x) * std::f64::consts::LOG2_E) as f32
}

/// `x^p` as `exp2(p · log2 x)` for a positive `x` (the WGSL twin writes the same), evaluated in
/// f64 by short series (relative error ≈ 1e-12 before the final rounding to f32, so the result
/// is the correctly rounded one but in rare near-ties): inline, branch-free and vectorisable,
/// where libm's `powf` is a call per cell.
#[inline(always)]
pub fn pow2(x: f32, p: f32) -> f32 {
    exp2_f64(f64::from(p) * log2_f64(x)) as f32
}

/// log2 of a positive f32, in f64: exponent plus `log2(1 + f)`, `m = 1 + f` in [√½, √2), from the
/// series `ln(1 + f) = 2·atanh(s)`, `s = f / (2 + f)`, `|s| ≤ 0.172`, to s¹³.
#[inline(always)]
fn log2_f64(x: f32) -> f64 {
    const C: [f64; 7] = [
        2.885_390_081_777_926_8,
        0.961_796_693_925_975_6,
        0.577_078_016_355_585_4,
        0.412_198_583_111_132_4,
        0.320_598_897_975_325_2,
        0.262_308_189_252_538_8,
        0.221_953_083_213_686_67,
    ];
    // Subnormals scaled up by 2²⁴ first.
    let sub = x < f32::MIN_POSITIVE;
    let xs = if sub { x * 16_777_216.0 } else { x };
    let bits = xs.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127 - if sub { 24 } else { 0 };
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let e = e + i32::from(big);
    let f = f64::from(m - 1.0);
    let s = f / (2.0 + f);
    let s2 = s * s;
    // Horner by fused multiply-adds: one rounding a term instead of two, and half the
    // instructions where the CPU has FMA (`mul_add` is fused on every path, so the bits are the
    // same with or without it).
    let mut poly = C[6];
    for c in C[..6].iter().rev() {
        poly = poly.mul_add(s2, *c);
    }
    s.mul_add(poly, f64::from(e))
}

/// 2^y in f64 for |y| ≤ 200 (clamped; enough for an f32 result): `2^n · 2^f`, `n` the nearest
/// integer (by the 1.5·2⁵² trick, which also leaves `n` in the low bits), `|f| ≤ ½` by Taylor
/// series to f¹⁰.
#[inline(always)]
fn exp2_f64(y: f64) -> f64 {
    const C: [f64; 11] = [
        1.0,
        std::f64::consts::LN_2,
        0.240_226_506_959_100_7,
        0.055_504_108_664_821_576,
        0.009_618_129_107_628_477,
        0.001_333_355_814_642_844_1,
        0.000_154_035_303_933_816_06,
        1.525_273_380_405_983_8e-5,
        1.321_548_679_014_430_5e-6,
        1.017_808_600_923_969_6e-7,
        7.054_911_620_801_121e-9,
    ];
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let y = y.clamp(-200.0, 200.0);
    let t = y + MAGIC;
    let n = t - MAGIC;
    let f = y - n;
    let mut poly = C[10];
    for c in C[..10].iter().rev() {
        poly = poly.mul_add(f, *c);
    }
    let scale = f64::from_bits(t.to_bits().wrapping_add(1023) << 52);
    poly * scale
}

/// The fade state of one cell.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CellAge {
    /// Calendar capacity loss, fraction of initial capacity.
    pub loss_cal: f32,
    /// Cycling capacity loss, fraction of initial capacity.
    pub loss_cyc: f32,
}

impl CellAge {
    /// Total capacity loss, fraction of initial capacity.
    pub fn loss(&self) -> f32 {
        self.loss_cal + self.loss_cyc
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
    age.loss_cal = power_step(age.loss_cal, k_cal, a.p_cal, dt);
    age.loss_cyc = power_step(age.loss_cyc, c.cyc_factor * k_cyc, a.p_cyc, defc);
}

/// The parts of [`step_cell`] fixed for a group's whole life: those of the rest temperature (the
/// group's coolant-inlet temperature, set by its position) and the exponents' reciprocals. Computed
/// once per group and pack instead of every cell and step (the CPU's pack life; the WGSL twin
/// evaluates them each step).
#[derive(Clone, Copy, Debug)]
pub struct RestTerms {
    /// `f_rest · k_cal(T_rest)`, the rest half of the calendar rate.
    pub cal: f32,
    /// LFP: the Arrhenius sum `exp(2190/T) + exp(max(−1.55e5/T, −80))` at `T_rest`; NMC: the
    /// exponent's temperature factor `1.2445954·tn³`, `tn = T_rest / 308.15`.
    pub cyc: f32,
    /// `1 / p_cal`.
    pub inv_p_cal: f32,
    /// `1 / p_cyc`.
    pub inv_p_cyc: f32,
}

impl RestTerms {
    /// The rest terms at `t_rest_k`.
    pub fn new(a: &AgingParams, table: &[f32], t_rest_k: f32) -> RestTerms {
        let cyc = if a.law == 0 {
            lfp_arrhenius(t_rest_k)
        } else {
            let tn = t_rest_k / 308.15;
            1.244_595_4 * tn * tn * tn
        };
        RestTerms {
            cal: a.f_rest * table_lookup(table, a, t_rest_k, 1),
            cyc,
            inv_p_cal: 1.0 / a.p_cal,
            inv_p_cyc: 1.0 / a.p_cyc,
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

/// [`step_cell`] with the rest temperature's terms, the group's DOD terms and the cell's
/// constant stress-time factors computed beforehand: the same operations in the same order on
/// the same values, so the same result bit for bit (checked against [`step_cell`] in the tests).
#[inline]
pub fn step_cell_hoisted(
    a: &AgingParams,
    table: &[f32],
    rest: &RestTerms,
    age: &mut CellAge,
    c: &HoistedStep,
) {
    let r = step_rates(a, table, rest, c);
    age.loss_cal = power_step_inv(age.loss_cal, r.k_cal, a.p_cal, rest.inv_p_cal, c.dt);
    age.loss_cyc = power_step_inv(age.loss_cyc, r.k_cyc, a.p_cyc, rest.inv_p_cyc, r.defc);
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
        let tn = c.t_cyc_k / 308.15;
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

/// [`power_step_inv`] over many cells at once (`loss[i]` by `dx[i]` at rate `k[i]`), each element
/// bit for bit the scalar step; one loop over plain slices, for the pack's cells in one pass.
#[inline]
pub fn power_steps(loss: &mut [f32], k: &[f32], dx: &[f32], p: f32, inv_p: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA.
        unsafe { power_steps_avx2(loss, k, dx, p, inv_p) };
        return;
    }
    power_steps_body(loss, k, dx, p, inv_p);
}

/// [`power_steps`] compiled for AVX2 and FMA (the same operations, 4 f64 lanes instead of 2; the
/// series' `mul_add`s one instruction each instead of a libm call).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn power_steps_avx2(loss: &mut [f32], k: &[f32], dx: &[f32], p: f32, inv_p: f32) {
    power_steps_body(loss, k, dx, p, inv_p);
}

/// The loop of [`power_steps`], inlined into a caller's own multiversioned pass (pack life's).
///
/// [`pow2`]'s series are chains of dependent multiply-adds; a loop whose body holds two of them
/// (about 80 dependent operations) keeps one vector in flight and waits on each result. So the
/// cells go through in blocks of [`POWER_BLOCK`], one stage at a time (ratio, log, exp, log, exp),
/// each stage a short loop over the block whose iterations the core overlaps. Every element
/// still takes the scalar step's operations in the scalar step's order: the same bits.
#[inline(always)]
pub fn power_steps_body(loss: &mut [f32], k: &[f32], dx: &[f32], p: f32, inv_p: f32) {
    let n = loss.len().min(k.len()).min(dx.len());
    let mut start = 0;
    while start < n {
        let m = POWER_BLOCK.min(n - start);
        let range = start..start + m;
        if let (Ok(l), Ok(kk), Ok(d)) = (
            <&mut [f32; POWER_BLOCK]>::try_from(&mut loss[range.clone()]),
            <&[f32; POWER_BLOCK]>::try_from(&k[range.clone()]),
            <&[f32; POWER_BLOCK]>::try_from(&dx[range.clone()]),
        ) {
            // A whole block in place.
            power_block(l, kk, d, p, inv_p);
            start += m;
            continue;
        }
        // Padding lanes (beyond `m`) step from a harmless 1 and are dropped.
        let mut l = [1.0f32; POWER_BLOCK];
        let mut kk = [1.0f32; POWER_BLOCK];
        let mut d = [1.0f32; POWER_BLOCK];
        l[..m].copy_from_slice(&loss[range.clone()]);
        kk[..m].copy_from_slice(&k[range.clone()]);
        d[..m].copy_from_slice(&dx[range.clone()]);
        power_block(&mut l, &kk, &d, p, inv_p);
        loss[range].copy_from_slice(&l[..m]);
        start += m;
    }
}

/// Cells a block of [`power_steps_body`]: 8 AVX2 vectors of 4 f64 lanes, as many chains in flight.
pub const POWER_BLOCK: usize = 32;

/// One block of [`power_steps_body`], stage by stage. Branch-free (both sides computed, then
/// selected) so that each stage vectorises; each selected value is the scalar step's.
#[inline(always)]
fn power_block(
    loss: &mut [f32; POWER_BLOCK],
    k: &[f32; POWER_BLOCK],
    dx: &[f32; POWER_BLOCK],
    p: f32,
    inv_p: f32,
) {
    let mut y = [0.0f64; POWER_BLOCK];
    let mut x = [0.0f32; POWER_BLOCK];
    for i in 0..POWER_BLOCK {
        x[i] = if loss[i] > 0.0 { loss[i] / k[i] } else { 1.0 };
    }
    for i in 0..POWER_BLOCK {
        y[i] = f64::from(inv_p) * log2_f64(x[i]);
    }
    for i in 0..POWER_BLOCK {
        let x_eq = exp2_f64(y[i]) as f32;
        let x_eq = if loss[i] > 0.0 { x_eq } else { 0.0 };
        x[i] = x_eq + dx[i];
    }
    for i in 0..POWER_BLOCK {
        y[i] = f64::from(p) * log2_f64(x[i]);
    }
    for i in 0..POWER_BLOCK {
        let next = k[i] * (exp2_f64(y[i]) as f32);
        let step = k[i] > 0.0 && dx[i] > 0.0;
        loss[i] = if step { next } else { loss[i] };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::Scene;

    /// A nominal cell, no spread, 25/35 °C, the default duty (1 cycle a day, SOC 0.1–0.9 at C/2, rest
    /// at 0.5): relative capacity at years 1, 2, 5, 10 against BLAST-Lite 1.1.1 in constant-input
    /// mode (MODEL.md §3), within 0.005.
    #[test]
    fn nominal_cell_matches_blast_lite() {
        let cases = [
            (
                Chemistry::LfpPrismatic,
                25.0,
                [0.9775, 0.9638, 0.9309, 0.8859],
            ),
            (
                Chemistry::LfpPrismatic,
                35.0,
                [0.9706, 0.9547, 0.9184, 0.8710],
            ),
            (Chemistry::Nmc21700, 25.0, [0.8760, 0.8231, 0.7145, 0.5876]),
            (Chemistry::Nmc21700, 35.0, [0.8536, 0.7894, 0.6565, 0.4997]),
        ];
        for (chem, temp, want) in cases {
            let mut life = Scene::preset(chem).life;
            life.ambient_c = temp;
            // 5-day steps land exactly on 365·years.
            life.cycles_per_step = 5;
            let nominal = Nominal {
                q_rated: 1.0,
                r_mohm: 18.0,
                np_design: 1.08,
                first_cycle_loss: 0.09,
            };
            let a = AgingParams::new(chem, &life, &nominal, 1, 1, 0);
            let table = RateTable::new(&a, &life);
            let t = temp as f32 + 273.15;
            let c = Conditions {
                t_rest_k: t,
                t_cyc_k: t,
                dod: 0.8,
                efc_per_cycle: 0.8,
                c_dis: 0.5,
                scalar: 1.0,
                cyc_factor: 1.0,
                cal_factor: 1.0,
            };
            let mut age = CellAge::default();
            let mut day = 0.0f32;
            for (years, q_ref) in [1.0f32, 2.0, 5.0, 10.0].into_iter().zip(want) {
                while day < years * 365.0 - 1e-3 {
                    step_cell(&a, &table.values, &mut age, &c);
                    day += a.days_per_step;
                }
                let q = 1.0 - age.loss();
                assert!(
                    (q - q_ref).abs() < 0.005,
                    "{chem:?} {temp} °C year {years}: {q:.4} vs BLAST-Lite {q_ref}"
                );
            }
        }
    }

    /// The hoisted step is [`step_cell`] bit for bit, both laws, over temperatures, DODs and
    /// currents, from fresh to well faded.
    #[test]
    fn hoisted_step_is_step_cell_bit_for_bit() {
        for chem in [Chemistry::LfpPrismatic, Chemistry::Nmc21700] {
            let life = Scene::preset(chem).life;
            let nominal = Nominal {
                q_rated: 5.0,
                r_mohm: 18.0,
                np_design: 1.08,
                first_cycle_loss: 0.09,
            };
            let a = AgingParams::new(chem, &life, &nominal, 1, 1, 0);
            let table = RateTable::new(&a, &life);
            for (t_rest, heat) in [(298.15f32, 0.0f32), (301.7, 3.3), (305.0, 17.9)] {
                let rest = RestTerms::new(&a, &table.values, t_rest);
                for (dod, c_dis, scalar) in [
                    (0.8f32, 0.5f32, 1.0f32),
                    (0.93, 0.61, 1.13),
                    (1.0, 0.37, 0.87),
                ] {
                    let cond = Conditions {
                        t_rest_k: t_rest,
                        t_cyc_k: t_rest + heat,
                        dod,
                        efc_per_cycle: dod,
                        c_dis,
                        scalar,
                        cyc_factor: 1.21,
                        cal_factor: 0.93,
                    };
                    let hoisted = HoistedStep {
                        t_cyc_k: cond.t_cyc_k,
                        efc_per_cycle: dod,
                        dod_term: dod_term(&a, dod),
                        current: CurrentTerms::new(&a, &rest, c_dis),
                        cyc_factor: cond.cyc_factor,
                        cal_factor: cond.cal_factor,
                        dt: scalar * a.days_per_step * a.time_scale,
                        scalar_cycles: scalar * a.cycles_per_step,
                    };
                    let (mut want, mut got) = (CellAge::default(), CellAge::default());
                    for _ in 0..200 {
                        step_cell(&a, &table.values, &mut want, &cond);
                        step_cell_hoisted(&a, &table.values, &rest, &mut got, &hoisted);
                        assert_eq!(want.loss_cal.to_bits(), got.loss_cal.to_bits());
                        assert_eq!(want.loss_cyc.to_bits(), got.loss_cyc.to_bits());
                    }
                }
            }
        }
    }

    /// `pow2` is within one ulp of the correctly rounded power (f64 `powf`) over the range pack
    /// life uses and beyond, subnormal inputs included.
    #[test]
    fn pow2_is_within_an_ulp() {
        let mut worst = 0.0f64;
        for i in 0..200_000u32 {
            // Inputs from 1e-40 to 1e6, log-spaced; exponents 0.3 to 2.5.
            let x = (10f64.powf(-40.0 + 46.0 * f64::from(i) / 200_000.0)) as f32;
            let p = 0.3 + 2.2 * f64::from(i % 97) / 96.0;
            let p = p as f32;
            let want = f64::from(x).powf(f64::from(p));
            if !(want > 1e-37 && want < 1e37) {
                continue;
            }
            let got = f64::from(pow2(x, p));
            let ulp = f64::from(f32::EPSILON) * want;
            worst = worst.max((got - want).abs() / ulp);
        }
        assert!(worst <= 1.0, "pow2 off by {worst} ulp");
    }

    /// The batched steps (vectorised, AVX2 where the CPU has it) are the scalar step bit for bit,
    /// the no-step and from-zero cases included.
    #[test]
    fn power_steps_are_the_scalar_step() {
        let n = 1003;
        let f = |i: usize, m: usize| ((i * m) % 1009) as f32 / 1009.0;
        let loss: Vec<f32> = (0..n)
            .map(|i| if i % 7 == 0 { 0.0 } else { 0.4 * f(i, 31) })
            .collect();
        let k: Vec<f32> = (0..n)
            .map(|i| {
                if i % 11 == 0 {
                    0.0
                } else {
                    0.05 * f(i, 17) + 1e-4
                }
            })
            .collect();
        let dx: Vec<f32> = (0..n)
            .map(|i| if i % 13 == 0 { 0.0 } else { 0.01 * f(i, 7) })
            .collect();
        for (p, inv_p) in [
            (0.651_697_74f32, 1.0 / 0.651_697_74f32),
            (0.441_996_8, 1.0 / 0.441_996_8),
        ] {
            let mut got = loss.clone();
            power_steps(&mut got, &k, &dx, p, inv_p);
            for i in 0..n {
                let want = power_step_inv(loss[i], k[i], p, inv_p, dx[i]);
                assert_eq!(got[i].to_bits(), want.to_bits(), "element {i}");
            }
        }
    }

    #[test]
    fn power_step_is_exact_for_constant_rates() {
        let (k, p) = (0.01f32, 0.5f32);
        let mut loss = 0.0;
        for _ in 0..100 {
            loss = power_step(loss, k, p, 3.0);
        }
        let exact = k * 300f32.powf(p);
        assert!((loss - exact).abs() < 1e-5 * exact, "{loss} vs {exact}");
    }
}
