//! Helpers shared by the integration tests.
#![allow(dead_code)]

use celltwin::engine::{self, RunOptions, cpu::CpuBackend};
use celltwin::scene::{self, Scene};
use celltwin::summary::Summary;

/// Load a built-in scene (None: the default) with overrides; panics with the scene error.
pub fn scene(spec: Option<&str>, sets: &[&str]) -> Scene {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scene::load(spec, &sets).unwrap_or_else(|e| panic!("scene: {e}"))
}

/// Run on the CPU engine with `threads` threads and `chunk` cells per chunk.
pub fn run_with(s: &Scene, threads: usize, chunk: u64) -> Summary {
    let mut b = CpuBackend::new(Some(threads));
    engine::run(
        s,
        &mut b,
        &RunOptions {
            chunk,
            cancel: None,
        },
        &mut |_| {},
    )
    .expect("run")
}

pub fn run(s: &Scene) -> Summary {
    run_with(s, 2, engine::DEFAULT_CHUNK)
}

/// Every spread, defect and gauge noise off; limits wide open: the scene for closed-form checks,
/// to which a test adds back the one spread it studies.
pub const QUIET: &[&str] = &[
    "coating.cathode_loading_cv=0",
    "coating.cathode_loading_lot_cv=0",
    "coating.anode_loading_cv=0",
    "coating.anode_loading_lot_cv=0",
    "coating.defects_per_cell=0",
    "coating.loading_tolerance=1",
    "calendering.porosity_sd=0",
    "winding.area_cv=0",
    "winding.misalignment_sd_mm=0",
    "winding.tab_weld_sigma=0",
    "filling.fill_cv=0",
    "formation.rack_temp_sd_c=0",
    "formation.first_cycle_loss_sd=0",
    "formation.k_sigma=0",
    "eol.capacity_noise=0",
    "eol.dcir_noise=0",
    "eol.k_noise_mv_day=0",
    "eol.capacity_min=0",
    "eol.dcir_max=10",
    "eol.k_max_mv_day=1000",
];

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 via erf, |error| < 1.5e-7).
pub fn phi(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.3275911 * z);
    let y = 1.0
        - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
            + 0.254829592)
            * t
            * (-z * z).exp();
    let erf = if x >= 0.0 { y } else { -y };
    0.5 * (1.0 + erf)
}

/// Standard normal density.
pub fn pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Mean and SD of the minimum of n standard normals, by numerical integration of its density
/// n·φ(x)·(1−Φ(x))^(n−1): the closed form the series-string check compares against.
pub fn min_of_normals(n: u32) -> (f64, f64) {
    let (mut m0, mut m1, mut m2) = (0.0, 0.0, 0.0);
    let h = 1e-3;
    let mut x = -9.0;
    while x < 9.0 {
        let f = f64::from(n) * pdf(x) * (1.0 - phi(x)).powi(n as i32 - 1);
        m0 += f * h;
        m1 += x * f * h;
        m2 += x * x * f * h;
        x += h;
    }
    let mean = m1 / m0;
    (mean, (m2 / m0 - mean * mean).sqrt())
}

/// Each cell aged alone (a 1S1P pack) under the scene's duty.
pub fn age_alone(
    s: &Scene,
    cells: &[celltwin::model::pack::PackCell],
) -> Vec<celltwin::model::pack::PackLife> {
    use celltwin::model::aging::{AgingParams, Nominal, RateTable};
    let a = AgingParams::new(s.chemistry, &s.life, &Nominal::from_scene(s), 1, 1, s.seed);
    let table = RateTable::new(&a, &s.life);
    let rng = celltwin::rng::Philox::new(s.seed);
    cells
        .iter()
        .map(|c| celltwin::model::pack::simulate_pack(&a, &table.values, &rng, &[*c]))
        .collect()
}

/// Cycles to end of life of each cell aged alone.
pub fn lives_alone(s: &Scene, cells: &[celltwin::model::pack::PackCell]) -> Vec<f64> {
    age_alone(s, cells)
        .iter()
        .map(|l| f64::from(l.cycles))
        .collect()
}
