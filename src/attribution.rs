//! Where the lost cycles went: from the nominal cell's life to the pack's P50 and P5 life, the
//! cycles each source of spread costs.
//!
//! A source is removed by setting its scene keys to their ideal (a station's spreads to zero, the
//! residual aging σ to zero, the coolant gradient to zero, no latent defects, random matching).
//! Every run keeps the scene's seed, so runs share their random numbers (common random numbers):
//! the difference between two runs is the source, not the draw. Sources interact (a sorted line
//! gains nothing once there is no spread to sort), so one source's share depends on what is
//! removed before it. The share is its Shapley value: the average, over orders of removal, of the
//! life gained when it is removed. `Method::Exact` averages over every order (2^(k−1) subsets per
//! source); `Method::Orders(m)` over the forward and reverse orders and m − 2 more keyed by the
//! seed (an unbiased estimate of the Shapley value; m = 2 already shares each pair's interaction
//! equally between them). Either way the shares sum to the total exactly, since each order's gains
//! telescope from the scene to the ideal line. What remains between the ideal line's pack and the
//! nominal cell is the string itself (a pack of identical cells), reported as its own part.
//!
//! Sampling error: the aged packs are split into [`BATCHES`] contiguous batches (by production
//! order); every share is recomputed on each batch alone, and the standard error is the batches'
//! standard deviation over √batches (batch means).

use crate::engine::{self, Backend, EngineError, RunOptions};
use crate::rng::Philox;
use crate::scene::{Matching, Scene};
use crate::summary::percentile;
use serde::Serialize;
use std::collections::HashMap;

/// Batches for the standard errors.
pub const BATCHES: usize = 10;
/// Fewest aged packs per batch for a quantile worth its name.
const MIN_PACKS_PER_BATCH: usize = 20;

/// A source of lost pack life and how a scene is rid of it.
pub struct Source {
    /// Name (JSON `name`, reports).
    pub name: &'static str,
    /// A few letters for the waterfall's axis.
    pub label: &'static str,
    /// What removing it sets, for reports and tooltips.
    pub removal: &'static str,
    remove: fn(&mut Scene),
}

fn no_coating_spread(s: &mut Scene) {
    let c = &mut s.coating;
    c.cathode_loading_cv = 0.0;
    c.cathode_loading_lot_cv = 0.0;
    c.anode_loading_cv = 0.0;
    c.anode_loading_lot_cv = 0.0;
}
fn no_calendering_spread(s: &mut Scene) {
    s.calendering.porosity_sd = 0.0;
}
fn no_winding_spread(s: &mut Scene) {
    let w = &mut s.winding;
    w.area_cv = 0.0;
    w.misalignment_sd_mm = 0.0;
    w.tab_weld_sigma = 0.0;
}
fn no_filling_spread(s: &mut Scene) {
    s.filling.fill_cv = 0.0;
}
fn no_formation_spread(s: &mut Scene) {
    let f = &mut s.formation;
    f.rack_temp_sd_c = 0.0;
    f.first_cycle_loss_sd = 0.0;
    f.k_sigma = 0.0;
}
fn no_residual_spread(s: &mut Scene) {
    s.life.cell_fade_sigma = 0.0;
}
fn no_thermal_field(s: &mut Scene) {
    s.life.gradient_k = 0.0;
}
fn no_defects(s: &mut Scene) {
    s.coating.defects_per_cell = 0.0;
}
fn random_matching(s: &mut Scene) {
    s.pack.matching = Matching::Random;
}

/// The sources, in the forward order of removal (line order, then life, then assembly).
pub const SOURCES: &[Source] = &[
    Source {
        name: "coating",
        label: "coating",
        removal: "cathode and anode loading CVs, within and lot-to-lot, = 0",
        remove: no_coating_spread,
    },
    Source {
        name: "calendering",
        label: "calendering",
        removal: "porosity SD = 0",
        remove: no_calendering_spread,
    },
    Source {
        name: "winding",
        label: "winding",
        removal: "area CV, misalignment SD and tab-weld σ = 0",
        remove: no_winding_spread,
    },
    Source {
        name: "filling",
        label: "filling",
        removal: "fill CV = 0",
        remove: no_filling_spread,
    },
    Source {
        name: "formation",
        label: "formation",
        removal: "rack temperature SD, first-cycle loss SD and self-discharge σ = 0",
        remove: no_formation_spread,
    },
    Source {
        name: "residual aging spread",
        label: "residual σ",
        removal: "life.cell_fade_sigma = 0",
        remove: no_residual_spread,
    },
    Source {
        name: "thermal field",
        label: "thermal",
        removal: "life.gradient_k = 0",
        remove: no_thermal_field,
    },
    Source {
        name: "escaped defects",
        label: "defects",
        removal: "coating.defects_per_cell = 0",
        remove: no_defects,
    },
    Source {
        name: "matching vs random",
        label: "matching",
        removal: "pack.matching = random (a negative share: the policy gains cycles)",
        remove: random_matching,
    },
];

/// The name of the part that no source removes: a pack of identical ideal-line cells against the
/// nominal cell aged alone.
pub const STRING_PART: &str = "string of identical cells";

/// How the interactions are shared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Shapley values over every subset: 2^k runs.
    Exact,
    /// Shapley values estimated over this many orders of removal (≥ 2: forward, reverse, then
    /// orders keyed by the seed); at most k·(orders−1)+2 runs.
    Orders(u32),
}

/// One source's share of the lost life.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Share {
    /// The source's name (the JSON's and the table's).
    pub name: &'static str,
    /// A short label for charts.
    #[serde(skip)]
    pub label: &'static str,
    /// What removing the source sets in the scene.
    pub removal: &'static str,
    /// Cycles of pack P50 life lost to the source; negative = gained.
    pub p50_cycles: f64,
    /// Cycles of pack P5 life lost to the source; negative = gained.
    pub p5_cycles: f64,
    /// Standard error of `p50_cycles` (batch means), cycles.
    pub se_cycles: f64,
    /// Standard error of `p5_cycles` (batch means), cycles.
    pub p5_se_cycles: f64,
    /// `p50_cycles` in years of the scene's duty.
    pub p50_years: f64,
}

/// The answer: the nominal cell's life, the pack's, and the shares that sum to the difference.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attribution {
    /// The scene's name.
    pub scene: String,
    /// The seed every run used.
    pub seed: u64,
    /// Cells started in each run.
    pub cells: u64,
    /// How the interactions were shared, in words.
    pub method: String,
    /// Engine runs made (distinct subsets of removed sources).
    pub runs: usize,
    /// Packs aged in each run.
    pub life_packs: usize,
    /// Cycles to end of life of the nominal cell aged alone.
    pub nominal_cell_life_cycles: f64,
    /// The scene's pack P50 life, cycles.
    pub pack_life_p50_cycles: f64,
    /// The scene's pack P5 life, cycles.
    pub pack_life_p5_cycles: f64,
    /// The pack's P50 with every source removed.
    pub ideal_pack_life_p50_cycles: f64,
    /// Cycles a year of the scene's duty (365.25 days).
    pub cycles_per_year: f64,
    /// Every source, then the string part; `p50_cycles` sum to nominal − pack P50, `p5_cycles` to
    /// nominal − pack P5.
    pub sources: Vec<Share>,
}

/// Why an attribution could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AttributionError {
    /// A run failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Too few packs aged for the batch-means standard errors.
    #[error(
        "attribution needs at least {need} aged packs for its standard errors, the scene ages \
         {have}: raise the cells or pack.life_packs"
    )]
    TooFewPacks {
        /// Packs needed.
        need: usize,
        /// Packs the scene ages.
        have: usize,
    },
    /// Fewer than two orders of removal.
    #[error("method: orders must be at least 2 (got {0})")]
    Orders(u32),
}

/// P50 and P5 of a set of lives.
fn quantiles(lives: &[u32]) -> [f64; 2] {
    let mut v: Vec<f64> = lives.iter().map(|&c| f64::from(c)).collect();
    v.sort_by(f64::total_cmp);
    [percentile(&v, 0.5), percentile(&v, 0.05)]
}

/// A run's P50/P5 on the whole sample and on each batch.
struct Point {
    all: [f64; 2],
    batches: Vec<[f64; 2]>,
}

impl Point {
    fn new(lives: &[u32]) -> Point {
        let n = lives.len();
        Point {
            all: quantiles(lives),
            batches: (0..BATCHES)
                .map(|b| quantiles(&lives[b * n / BATCHES..(b + 1) * n / BATCHES]))
                .collect(),
        }
    }
    /// Whole sample (`None`) or one batch.
    fn get(&self, batch: Option<usize>) -> [f64; 2] {
        batch.map_or(self.all, |b| self.batches[b])
    }
}

/// Shapley weights: for each source, the (weight, removed-with, removed-without) terms whose
/// weighted differences make its share.
fn terms(k: usize, method: Method, seed: u64) -> Vec<Vec<(f64, u32, u32)>> {
    let mut out = vec![Vec::new(); k];
    match method {
        Method::Exact => {
            let fact = |n: usize| (1..=n).map(|x| x as f64).product::<f64>();
            for (i, t) in out.iter_mut().enumerate() {
                for s in 0..1u32 << k {
                    if s & (1 << i) != 0 {
                        continue;
                    }
                    let n = s.count_ones() as usize;
                    let w = fact(n) * fact(k - n - 1) / fact(k);
                    t.push((w, s | 1 << i, s));
                }
            }
        }
        Method::Orders(m) => {
            let rng = Philox::new(seed);
            for o in 0..m {
                let mut order: Vec<usize> = (0..k).collect();
                match o {
                    0 => {}
                    1 => order.reverse(),
                    _ => {
                        // Fisher–Yates keyed by (seed, order): the same orders on every machine.
                        for j in (1..k).rev() {
                            let u = rng.uniforms(
                                u64::from(o),
                                crate::rng::stream::ATTRIBUTION,
                                j as u32,
                            )[0];
                            let pick = ((u * (j + 1) as f32) as usize).min(j);
                            order.swap(j, pick);
                        }
                    }
                }
                let mut removed = 0u32;
                for &i in &order {
                    out[i].push((1.0 / f64::from(m), removed | 1 << i, removed));
                    removed |= 1 << i;
                }
            }
        }
    }
    out
}

/// The scene with the sources in `mask` removed.
pub fn without(scene: &Scene, mask: u32) -> Scene {
    let mut s = scene.clone();
    for (i, src) in SOURCES.iter().enumerate() {
        if mask & (1 << i) != 0 {
            (src.remove)(&mut s);
        }
    }
    s
}

/// Run the scene once per subset of removed sources (`masks`, 0 = nothing removed): each run's
/// P50/P5 on the whole sample and per batch, and the summary of the scene as it is.
fn run_points(
    scene: &Scene,
    masks: &[u32],
    backend: &mut dyn Backend,
    opts: &RunOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(HashMap<u32, Point>, crate::summary::Summary), AttributionError> {
    let mut points: HashMap<u32, Point> = HashMap::with_capacity(masks.len());
    let mut base = None;
    for (done, &mask) in masks.iter().enumerate() {
        let s = engine::run(&without(scene, mask), backend, opts, &mut |_| {})?;
        let lives = &s.packs.life_each;
        let need = BATCHES * MIN_PACKS_PER_BATCH;
        if lives.len() < need {
            return Err(AttributionError::TooFewPacks {
                need,
                have: lives.len(),
            });
        }
        points.insert(mask, Point::new(lives));
        if mask == 0 {
            base = Some(s);
        }
        progress(done + 1, masks.len());
    }
    let base = base.expect("mask 0 is always among the masks");
    Ok((points, base))
}

/// Attribute the scene's lost pack life. `progress(done, total)` is called after every run;
/// `opts.cancel` stops between runs.
pub fn attribute(
    scene: &Scene,
    backend: &mut dyn Backend,
    method: Method,
    opts: &RunOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Attribution, AttributionError> {
    if let Method::Orders(m) = method
        && m < 2
    {
        return Err(AttributionError::Orders(m));
    }
    let k = SOURCES.len();
    let all = (1u32 << k) - 1;
    let terms = terms(k, method, scene.seed);
    let masks = masks(all, &terms);

    let (points, base) = run_points(scene, &masks, backend, opts, progress)?;
    let nominal = base.packs.nominal_cell_life_cycles;
    let per_year = 365.25 * scene.life.cycles_per_day;

    let mut sources: Vec<Share> = SOURCES
        .iter()
        .zip(&terms)
        .map(|(src, t)| {
            make_share(src.name, src.label, src.removal, per_year, &|b| {
                share(&points, t, b)
            })
        })
        .collect();
    let ideal = &points[&all];
    sources.push(make_share(
        STRING_PART,
        "string",
        "what remains with every source removed: the ideal line's pack against the nominal cell",
        per_year,
        &|b| {
            let v = ideal.get(b);
            [nominal - v[0], nominal - v[1]]
        },
    ));
    let p = points[&0].all;
    Ok(Attribution {
        scene: scene.name.clone(),
        seed: scene.seed,
        cells: scene.cells,
        method: match method {
            Method::Exact => "exact Shapley values over every subset of sources".into(),
            Method::Orders(m) => format!("Shapley values estimated over {m} orders of removal"),
        },
        runs: masks.len(),
        life_packs: base.packs.life_each.len(),
        nominal_cell_life_cycles: nominal,
        pack_life_p50_cycles: p[0],
        pack_life_p5_cycles: p[1],
        ideal_pack_life_p50_cycles: ideal.all[0],
        cycles_per_year: per_year,
        sources,
    })
}

/// Every subset of removed sources the terms need, with nothing (0) and everything (`all`)
/// removed, sorted and each once.
fn masks(all: u32, terms: &[Vec<(f64, u32, u32)>]) -> Vec<u32> {
    let mut masks: Vec<u32> = vec![0, all];
    for t in terms.iter().flatten() {
        masks.extend([t.1, t.2]);
    }
    masks.sort_unstable();
    masks.dedup();
    masks
}

/// A share on the whole sample (None) or one batch: Σ w · (v(with) − v(without)).
fn share(
    points: &HashMap<u32, Point>,
    terms: &[(f64, u32, u32)],
    batch: Option<usize>,
) -> [f64; 2] {
    let mut acc = [0.0; 2];
    for &(w, with, without) in terms {
        let (a, b) = (points[&with].get(batch), points[&without].get(batch));
        for q in 0..2 {
            acc[q] += w * (a[q] - b[q]);
        }
    }
    acc
}

/// Standard error of a share (P50 and P5) by batch means over the [`BATCHES`] batches.
fn batch_se(f: &dyn Fn(Option<usize>) -> [f64; 2]) -> [f64; 2] {
    let xs: Vec<[f64; 2]> = (0..BATCHES).map(|b| f(Some(b))).collect();
    let mut out = [0.0; 2];
    for (q, o) in out.iter_mut().enumerate() {
        let mean = xs.iter().map(|x| x[q]).sum::<f64>() / BATCHES as f64;
        let var = xs.iter().map(|x| (x[q] - mean).powi(2)).sum::<f64>() / (BATCHES - 1) as f64;
        *o = (var / BATCHES as f64).sqrt();
    }
    out
}

/// One row of the waterfall from its share on the whole sample and per batch (`f`).
fn make_share(
    name: &'static str,
    label: &'static str,
    removal: &'static str,
    per_year: f64,
    f: &dyn Fn(Option<usize>) -> [f64; 2],
) -> Share {
    let v = f(None);
    let e = batch_se(f);
    Share {
        name,
        label,
        removal,
        p50_cycles: v[0],
        p5_cycles: v[1],
        se_cycles: e[0],
        p5_se_cycles: e[1],
        p50_years: v[0] / per_year,
    }
}
