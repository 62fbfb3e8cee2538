//! What a run reports: per-stage flow and scrap, distributions, capability, defects, packs, life,
//! cost. One [`Summary`] feeds the CLI's text and JSON, the CSV export and the app.

pub mod atomic;
pub mod columnar;
mod export;
mod packs;
mod stats;
mod tally;

pub use export::write_out_dir;
pub use packs::{AgedPack, KeptPack, PackTotals};
pub use stats::{HistSpec, Histogram, LineStats, Moments, Stat};
pub use tally::Tally;

use crate::model::cost::{CostSummary, cost_summary};
use crate::model::pack::{EndOfLife, nominal_cell_life};
use crate::model::{Scrap, Stage};
use crate::scene::{Matching, Scene};
use serde::Serialize;
use std::collections::BTreeMap;

/// Flow through one station.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageSummary {
    /// The station.
    pub stage: Stage,
    /// Its label for people.
    pub label: &'static str,
    /// Cells that entered the station.
    pub cells_in: u64,
    /// Cells that left it for the next.
    pub cells_out: u64,
    /// Cells scrapped at it.
    pub scrapped: u64,
    /// cells_out / cells_in.
    #[serde(rename = "yield")]
    pub yield_: f64,
    /// Its scrap split by reason key.
    pub scrap_by_reason: BTreeMap<&'static str, u64>,
}

/// One scrap reason, for the Pareto.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScrapLine {
    /// The reason.
    pub reason: Scrap,
    /// The station that scraps for it.
    pub stage: Stage,
    /// Cells scrapped for it.
    pub cells: u64,
    /// Fraction of started cells.
    pub fraction: f64,
}

/// A tested characteristic: true and measured spread, limits, capability.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Characteristic {
    /// Unit of every value: "Ah" or "mΩ".
    pub unit: &'static str,
    /// True values of every cell tested at end of line.
    #[serde(rename = "true")]
    pub true_: Stat,
    /// Values as the end-of-line gauge measured them.
    pub measured: Stat,
    /// Cells that passed (what packs are built from), true values.
    pub passed: Stat,
    /// Lower spec limit, absolute (None for an upper-only spec).
    pub lower_limit: Option<f64>,
    /// Upper spec limit, absolute (None for a lower-only spec).
    pub upper_limit: Option<f64>,
    /// Cp needs both limits; None for one-sided specs.
    pub cp: Option<f64>,
    /// Cpk of the measured values against the limit(s), normal assumption.
    pub cpk: Option<f64>,
}

/// A characteristic only its gauge sees: the K-value exists as a measurement over the aging test
/// (the cell's true self-discharge is reported through the defects and pack life instead).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measured {
    /// Unit: "mV/day".
    pub unit: &'static str,
    /// Every cell that reached the aging test.
    pub measured: Stat,
    /// The upper limit the aging test scraps above, mV/day.
    pub upper_limit: Option<f64>,
    /// Cpk against the upper limit, normal assumption (K is skewed: read it as a rough index).
    pub cpk: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
/// Latent defects and overhang breaches: made, caught, escaped to packs.
pub struct Defects {
    /// Cells with a latent particle defect.
    pub latent: u64,
    /// Defect cells scrapped on any test.
    pub caught: u64,
    /// Defect cells that passed every test.
    pub escaped: u64,
    /// Escaped defect cells per million passed cells.
    pub escaped_ppm: f64,
    /// Escaped defect cells that went into the life-simulated packs, and those packs.
    pub escaped_in_life_packs: u64,
    /// Life-simulated packs with at least one escaped defect cell.
    pub life_packs_with_defect: u64,
    /// Cells whose anode overhang was breached.
    pub overhang_breaches: u64,
    /// Breached cells the X-ray missed (passed every test).
    pub breaches_escaped: u64,
    /// Passed cells that plate lithium in life (low N/P or escaped breach).
    pub plating_passed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
/// Mean and P5/P50/P95 of a sample, in the sample's unit.
pub struct Percentiles {
    /// Mean.
    pub mean: f64,
    /// 5th percentile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
/// The fade band: pack capacity percentiles after each step.
pub struct FadeCurve {
    /// Cycles at each point.
    pub cycles: Vec<u32>,
    /// 5th percentile pack capacity, fraction of rated.
    pub p5: Vec<f64>,
    /// Median pack capacity, fraction of rated.
    pub p50: Vec<f64>,
    /// 95th percentile pack capacity, fraction of rated.
    pub p95: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
/// Packs: initial capacity of every pack and the life sample's lives.
pub struct PacksSummary {
    /// Series × parallel, e.g. "96S1P".
    pub topology: String,
    /// How cells were matched into packs.
    pub matching: Matching,
    /// Matching window, passed cells.
    pub window: u64,
    /// Packs assembled.
    pub packs: u64,
    /// Matching windows filled.
    pub windows: u64,
    /// Passed cells left over when a window did not fill a pack (or a bin's pack).
    pub unpacked_cells: u64,
    /// Rated pack capacity, Ah (rated cell capacity × parallel).
    pub rated_ah: f64,
    /// Initial pack capacity of every pack, Ah.
    pub initial_capacity_ah: Percentiles,
    /// As a fraction of rated.
    pub initial_capacity_fraction: f64,
    /// Packs whose life was simulated.
    pub life_packs: u64,
    /// Every how-many-th pack slot was aged: 1 = every pack (`pack.life_packs = "all"` up to 10⁷
    /// cells); k > 1 = an evenly spread sample.
    pub life_every: u64,
    /// Packs kept whole, whose curves make the fade band.
    pub fade_band_packs: u64,
    /// Cycles to end of life.
    pub life_cycles: Percentiles,
    /// The same lives in years of the scene's duty (365.25-day years).
    pub life_years: Percentiles,
    /// Calendar share of the capacity the cells had lost at end of life (the rest is cycling).
    pub life_calendar_share: Percentiles,
    /// Equivalent full cycles delivered to end of life: Ah delivered over rated pack Ah (the duty
    /// asks the SOC window's Ah each cycle and gets what a faded pack still holds).
    pub life_efc: Percentiles,
    /// Cycles to end of life of the nominal cell aged alone under the same duty, without the
    /// residual aging scalar: what pack life is measured against.
    pub nominal_cell_life_cycles: f64,
    /// 1 − pack P50 life / nominal cell life (rule of thumb, NREL BLAST-Lite: 0.2–0.3).
    pub p50_below_cell: f64,
    /// Cycles to end of life of each aged pack, in pack order (for attribution and tables).
    #[serde(skip)]
    pub life_each: Vec<u32>,
    /// Packs by what ended their life (reason key → count).
    pub eol_reasons: BTreeMap<&'static str, u64>,
    /// The fade band of the life sample.
    pub fade_curve: FadeCurve,
}

/// Histograms users read (MODEL.md §4).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Histograms {
    /// True capacity of cells tested at end of line, Ah.
    pub capacity_true_ah: Histogram,
    /// Measured capacity of cells tested at end of line, Ah.
    pub capacity_measured_ah: Histogram,
    /// Measured capacity of cells scrapped at end of line, Ah (the shaded tail).
    pub capacity_scrapped_ah: Histogram,
    /// Measured DCIR of cells tested at end of line, mΩ.
    pub dcir_measured_mohm: Histogram,
    /// Measured K-value of cells that reached the aging test, mV/day.
    pub k_measured_mv_day: Histogram,
    /// N/P of every started cell.
    pub np_ratio: Histogram,
    /// Initial capacity of every pack, Ah.
    pub pack_initial_capacity_ah: Histogram,
    /// Cycles to end of life of the life sample's packs.
    pub pack_life_cycles: Histogram,
}

/// Everything a run reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// The scene's name.
    pub scene: String,
    /// The scene's chemistry.
    pub chemistry: crate::scene::Chemistry,
    /// Cells started.
    pub cells: u64,
    /// The seed.
    pub seed: u64,
    /// Backend: "cpu" or "gpu".
    pub backend: &'static str,
    /// Thread count, or the adapter and its API.
    pub device: String,
    /// Flow through each station in line order.
    pub stages: Vec<StageSummary>,
    /// Fraction of started cells that pass every test (first-pass yield).
    #[serde(rename = "yield")]
    pub yield_: f64,
    /// Scrap reasons, most cells first.
    pub scrap_pareto: Vec<ScrapLine>,
    /// Capacity at end of line, Ah.
    pub capacity: Characteristic,
    /// DCIR at end of line, mΩ.
    pub dcir: Characteristic,
    /// K-value at the aging test, mV/day.
    pub k_value: Measured,
    /// N/P of every started cell.
    pub np_ratio: Stat,
    /// Passed cells per capacity grade bin, low to high.
    pub grades: Vec<u64>,
    /// Latent defects and breaches.
    pub defects: Defects,
    /// Packs and their life.
    pub packs: PacksSummary,
    /// Spend per stage, per good cell and per kWh.
    pub cost: CostSummary,
    /// The histograms users read.
    pub histograms: Histograms,
    /// Seconds in the cell line (incl. matching).
    pub line_s: f64,
    /// Seconds of the whole run.
    pub elapsed_s: f64,
    /// Started cells per second of the whole run.
    pub cells_per_s: f64,
}

/// What ran a scene and how long it took: the summary records it, it does not ask a backend.
pub struct RunInfo {
    /// "cpu" or "gpu".
    pub backend: &'static str,
    /// Thread count, or the adapter and its API.
    pub device: String,
    /// Seconds in the cell line (incl. matching).
    pub line_s: f64,
    /// Seconds of the whole run.
    pub elapsed_s: f64,
}

fn capability(m: &Stat, lo: Option<f64>, hi: Option<f64>) -> (Option<f64>, Option<f64>) {
    let cp = match (lo, hi) {
        (Some(l), Some(h)) => Some((h - l) / (6.0 * m.sd)),
        _ => None,
    };
    let lower = lo.map(|l| (m.mean - l) / (3.0 * m.sd));
    let upper = hi.map(|h| (h - m.mean) / (3.0 * m.sd));
    let cpk = match (lower, upper) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    (cp, cpk.filter(|c| c.is_finite()))
}

fn characteristic(
    unit: &'static str,
    t: &Moments,
    m: &Moments,
    passed: &Moments,
    lo: Option<f64>,
    hi: Option<f64>,
) -> Characteristic {
    let measured = m.stats();
    let (cp, cpk) = capability(&measured, lo, hi);
    Characteristic {
        unit,
        true_: t.stats(),
        measured,
        passed: passed.stats(),
        lower_limit: lo,
        upper_limit: hi,
        cp,
        cpk,
    }
}

/// Percentile of a sorted slice (nearest-rank with linear interpolation).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let x = q * (sorted.len() - 1) as f64;
    let i = x.floor() as usize;
    let f = x - i as f64;
    if i + 1 < sorted.len() {
        sorted[i] * (1.0 - f) + sorted[i + 1] * f
    } else {
        sorted[i]
    }
}

fn percentiles(mut v: Vec<f64>) -> Percentiles {
    v.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    Percentiles {
        mean: if v.is_empty() { f64::NAN } else { mean },
        p5: percentile(&v, 0.05),
        p50: percentile(&v, 0.50),
        p95: percentile(&v, 0.95),
    }
}

/// P5/P50/P95 of pack capacity after each step. Packs are followed to `stop_fraction` (0.1 below
/// end of life) and then stop; a stopped pack keeps its last value, which is below end of life, so
/// the band stays honest about which packs have ended. The band runs to the P95 life (so the median
/// and the P95 pack visibly cross the end-of-life line) or, if later, to where 5 % of packs have
/// stopped; never past the longest pack.
fn fade_curve(kept: &[KeptPack], cycles_per_step: u32, p95_cycles: f64) -> FadeCurve {
    let longest = kept.iter().map(|l| l.curve.len()).max().unwrap_or(0);
    let mut steps = longest;
    for s in 0..longest {
        let stopped = kept.iter().filter(|l| l.curve.len() <= s).count();
        if stopped * 20 > kept.len() {
            steps = s;
            break;
        }
    }
    let to_p95 = if p95_cycles.is_finite() {
        (p95_cycles.max(0.0) / f64::from(cycles_per_step.max(1))) as usize + 2
    } else {
        0
    };
    let steps = steps.max(to_p95).min(longest);
    let mut out = FadeCurve {
        cycles: Vec::with_capacity(steps),
        p5: Vec::with_capacity(steps),
        p50: Vec::with_capacity(steps),
        p95: Vec::with_capacity(steps),
    };
    let mut col = Vec::with_capacity(kept.len());
    for s in 0..steps {
        col.clear();
        col.extend(
            kept.iter()
                .filter_map(|l| l.curve.get(s).or(l.curve.last()))
                .map(|&x| f64::from(x)),
        );
        col.sort_by(f64::total_cmp);
        out.cycles.push(s as u32 * cycles_per_step);
        out.p5.push(percentile(&col, 0.05));
        out.p50.push(percentile(&col, 0.50));
        out.p95.push(percentile(&col, 0.95));
    }
    out
}

/// Pack life histogram over the sample's own range (the sample is complete when the summary is
/// built, so the bins can follow it: 60 bins from 0.9·min to 1.05·max).
fn life_histogram(lives: &[AgedPack], max_cycles: u32) -> Histogram {
    let lo = lives.iter().map(|l| l.cycles).min().unwrap_or(0);
    let hi = lives.iter().map(|l| l.cycles).max().unwrap_or(max_cycles);
    let lo = (0.9 * f64::from(lo)).floor();
    let hi = (1.05 * f64::from(hi)).ceil().max(lo + 60.0);
    let mut h = Histogram::new(lo, hi, 60);
    for l in lives {
        h.push(l.cycles as f32);
    }
    h
}

impl Summary {
    /// Assemble the summary from the scene, what ran it, the line's statistics and the packs.
    pub fn build(scene: &Scene, run: RunInfo, s: &LineStats, packs: PackTotals) -> Summary {
        let RunInfo {
            backend,
            device,
            line_s,
            elapsed_s,
        } = run;
        let by_stage = s.scrapped_by_stage();
        let stages = stage_summaries(s, &by_stage);
        let started = s.entered[0];
        let scrap_pareto = scrap_pareto(s, started);
        let (capacity, dcir, k_value) = tested_characteristics(scene, s);
        let defects = defects(s, &packs);
        let hist_life = life_histogram(&packs.aged, scene.life.max_cycles);
        let packs_summary = packs_summary(scene, &packs);
        let cost = cost_summary(scene, &s.entered, &by_stage, s.passed);
        Summary {
            scene: scene.name.clone(),
            chemistry: scene.chemistry,
            cells: scene.cells,
            seed: scene.seed,
            backend,
            device,
            stages,
            yield_: s.passed as f64 / started.max(1) as f64,
            scrap_pareto,
            capacity,
            dcir,
            k_value,
            np_ratio: s.np.stats(),
            grades: s.grades.clone(),
            defects,
            packs: packs_summary,
            cost,
            histograms: Histograms {
                capacity_true_ah: s.hist_q_true.clone(),
                capacity_measured_ah: s.hist_q_meas.clone(),
                capacity_scrapped_ah: s.hist_q_scrapped.clone(),
                dcir_measured_mohm: s.hist_r_meas.clone(),
                k_measured_mv_day: s.hist_k_meas.clone(),
                np_ratio: s.hist_np.clone(),
                pack_initial_capacity_ah: packs.hist_initial,
                pack_life_cycles: hist_life,
            },
            line_s,
            elapsed_s,
            cells_per_s: scene.cells as f64 / elapsed_s.max(1e-9),
        }
    }
}

/// Flow through each station in line order, with its scrap split by reason.
fn stage_summaries(s: &LineStats, by_stage: &[u64]) -> Vec<StageSummary> {
    Stage::ALL
        .iter()
        .enumerate()
        .map(|(i, &stage)| {
            let cells_in = s.entered[i];
            let scrapped = by_stage[i];
            let scrap_by_reason = Scrap::ALL
                .iter()
                .enumerate()
                .filter(|(_, r)| r.stage() == stage)
                .map(|(j, r)| (r.key(), s.scrapped[j]))
                .collect();
            StageSummary {
                stage,
                label: stage.label(),
                cells_in,
                cells_out: cells_in - scrapped,
                scrapped,
                yield_: if cells_in > 0 {
                    (cells_in - scrapped) as f64 / cells_in as f64
                } else {
                    f64::NAN
                },
                scrap_by_reason,
            }
        })
        .collect()
}

/// Every scrap reason, largest first, as a fraction of the `started` cells.
fn scrap_pareto(s: &LineStats, started: u64) -> Vec<ScrapLine> {
    let mut scrap_pareto: Vec<ScrapLine> = Scrap::ALL
        .iter()
        .enumerate()
        .map(|(j, &reason)| ScrapLine {
            reason,
            stage: reason.stage(),
            cells: s.scrapped[j],
            fraction: s.scrapped[j] as f64 / started.max(1) as f64,
        })
        .collect();
    scrap_pareto.sort_by_key(|l| std::cmp::Reverse(l.cells));
    scrap_pareto
}

/// Capacity, DCIR and K-value at the end-of-line test against the scene's limits.
fn tested_characteristics(
    scene: &Scene,
    s: &LineStats,
) -> (Characteristic, Characteristic, Measured) {
    let q = scene.cell.capacity_ah;
    let r = scene.cell.dcir_mohm;
    let capacity = characteristic(
        "Ah",
        &s.q_true,
        &s.q_meas,
        &s.q_passed,
        Some(scene.eol.capacity_min * q),
        None,
    );
    let dcir = characteristic(
        "mΩ",
        &s.r_true,
        &s.r_meas,
        &s.r_passed,
        None,
        Some(scene.eol.dcir_max * r),
    );
    let k_measured = s.k_meas.stats();
    let k_value = Measured {
        unit: "mV/day",
        measured: k_measured,
        upper_limit: Some(scene.eol.k_max_mv_day),
        cpk: capability(&k_measured, None, Some(scene.eol.k_max_mv_day)).1,
    };
    (capacity, dcir, k_value)
}

/// Latent defects and breaches through the line, and the escaped ones in the life sample's packs
/// of `pack_size` cells.
fn defects(s: &LineStats, packs: &PackTotals) -> Defects {
    let mut escaped_in_life = 0;
    let mut packs_with_defect = 0;
    for pack in &packs.aged {
        let d = u64::from(pack.defects);
        escaped_in_life += d;
        packs_with_defect += u64::from(d > 0);
    }
    Defects {
        latent: s.defects,
        caught: s.defects - s.defects_passed,
        escaped: s.defects_passed,
        escaped_ppm: 1e6 * s.defects_passed as f64 / s.passed.max(1) as f64,
        escaped_in_life_packs: escaped_in_life,
        life_packs_with_defect: packs_with_defect,
        overhang_breaches: s.breaches,
        breaches_escaped: s.breaches_passed,
        plating_passed: s.plating_passed,
    }
}

/// Every pack's initial capacity and the life sample's lives, end-of-life reasons and fade band.
fn packs_summary(scene: &Scene, packs: &PackTotals) -> PacksSummary {
    let q = scene.cell.capacity_ah;
    let life_packs = packs.aged.len() as u64;
    let rated_pack = q * f64::from(scene.pack.parallel);
    let initial = packs.initial.stats();
    let mut eol_reasons: BTreeMap<&'static str, u64> =
        EndOfLife::ALL.iter().map(|r| (r.key(), 0)).collect();
    for l in &packs.aged {
        *eol_reasons.entry(l.reason.key()).or_default() += 1;
    }
    let life_cycles = percentiles(packs.aged.iter().map(|l| f64::from(l.cycles)).collect());
    let fade_curve = fade_curve(&packs.kept, scene.life.cycles_per_step, life_cycles.p95);
    let (life_years, life_efc, life_calendar_share) = life_percentiles(scene, &packs.aged);
    let nominal = f64::from(nominal_cell_life(scene).cycles);
    let hi = &packs.hist_initial;
    PacksSummary {
        topology: format!("{}S{}P", scene.pack.series, scene.pack.parallel),
        matching: scene.pack.matching,
        window: scene.pack.window,
        packs: packs.packs,
        windows: packs.windows,
        unpacked_cells: packs.unpacked,
        rated_ah: rated_pack,
        initial_capacity_ah: Percentiles {
            mean: initial.mean,
            p5: hi.quantile(0.05),
            p50: hi.quantile(0.5),
            p95: hi.quantile(0.95),
        },
        initial_capacity_fraction: initial.mean / rated_pack,
        life_packs,
        life_every: crate::model::life_plan::LifePlan::new(scene).stride,
        fade_band_packs: packs.kept.len() as u64,
        p50_below_cell: 1.0 - life_cycles.p50 / nominal,
        life_cycles,
        life_years,
        life_efc,
        life_calendar_share,
        nominal_cell_life_cycles: nominal,
        life_each: packs.aged.iter().map(|l| l.cycles).collect(),
        eol_reasons,
        fade_curve,
    }
}

/// The life sample in years of the duty, in equivalent full cycles and as calendar share.
fn life_percentiles(scene: &Scene, lives: &[AgedPack]) -> (Percentiles, Percentiles, Percentiles) {
    let per_year = 365.25 * scene.life.cycles_per_day;
    let life_years = percentiles(
        lives
            .iter()
            .map(|l| f64::from(l.cycles) / per_year)
            .collect(),
    );
    let life_efc = percentiles(lives.iter().map(|l| f64::from(l.efc)).collect());
    let life_calendar_share =
        percentiles(lives.iter().map(|l| f64::from(l.calendar_share)).collect());
    (life_years, life_efc, life_calendar_share)
}
