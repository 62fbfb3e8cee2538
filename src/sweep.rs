//! The sweep: one scene value over a list of values, one run each on one backend (a GPU keeps its
//! device and pipelines), a row of headline figures per point. The CLI's `sweep` and the app's
//! headline chart both call [`run`]; [`csv`] writes the table.

use crate::engine::{self, Backend, EngineError, RunOptions};
use crate::scene::Scene;
use crate::summary::Summary;

/// One row of the headline table.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// The swept value as given.
    pub value: String,
    #[serde(rename = "yield")]
    /// First-pass yield, fraction of started cells.
    pub yield_: f64,
    /// True capacity CV of cells tested at end of line (fraction).
    pub capacity_cv: f64,
    /// True DCIR CV of cells tested at end of line (fraction).
    pub dcir_cv: f64,
    /// Mean initial pack capacity, fraction of rated.
    pub pack_initial_fraction: f64,
    /// P5 pack life, cycles to end of life.
    pub life_p5: f64,
    /// P50 pack life, cycles.
    pub life_p50: f64,
    /// P95 pack life, cycles.
    pub life_p95: f64,
    /// Cost per kWh of good cells, USD/kWh.
    pub cost_per_kwh: f64,
    /// Escaped latent-defect cells per million passed cells.
    pub escaped_defects_ppm: f64,
}

impl SweepRow {
    /// The row of the run at `value`.
    pub fn from_summary(value: String, s: &Summary) -> SweepRow {
        SweepRow {
            value,
            yield_: s.yield_,
            capacity_cv: s.capacity.true_.cv,
            dcir_cv: s.dcir.true_.cv,
            pack_initial_fraction: s.packs.initial_capacity_fraction,
            life_p5: s.packs.life_cycles.p5,
            life_p50: s.packs.life_cycles.p50,
            life_p95: s.packs.life_cycles.p95,
            cost_per_kwh: s.cost.per_kwh_good_usd,
            escaped_defects_ppm: s.defects.escaped_ppm,
        }
    }
}

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{value}: {source}")]
    /// A swept value makes an invalid scene.
    Invalid {
        /// The value as given.
        value: String,
        /// Why the scene is invalid.
        source: crate::scene::SceneError,
    },
    #[error(transparent)]
    /// The engine failed.
    Engine(#[from] EngineError),
}

/// Run each `(value, scene)` point in order. Every scene is validated before the first run, so a
/// bad value fails at once, naming itself; `done(i, n)` is called before point `i`.
pub fn run(
    points: &[(String, Scene)],
    backend: &mut dyn Backend,
    opts: &RunOptions,
    done: &mut dyn FnMut(usize, usize),
) -> Result<Vec<SweepRow>, SweepError> {
    for (value, scene) in points {
        crate::scene::validate(scene).map_err(|source| SweepError::Invalid {
            value: value.clone(),
            source,
        })?;
    }
    let mut rows = Vec::with_capacity(points.len());
    for (i, (value, scene)) in points.iter().enumerate() {
        done(i, points.len());
        let s = engine::run(scene, backend, opts, &mut |_| {})?;
        rows.push(SweepRow::from_summary(value.clone(), &s));
    }
    Ok(rows)
}

/// The table as CSV, the value quoted (a value may hold a comma or a quote).
pub fn csv(rows: &[SweepRow]) -> String {
    let mut out = String::from(
        "value,yield,capacity_cv,dcir_cv,pack_initial_fraction,life_p5,life_p50,life_p95,cost_per_kwh,escaped_defects_ppm\n",
    );
    for r in rows {
        out += &format!(
            "\"{}\",{},{},{},{},{},{},{},{},{}\n",
            r.value.replace('"', "\"\""),
            r.yield_,
            r.capacity_cv,
            r.dcir_cv,
            r.pack_initial_fraction,
            r.life_p5,
            r.life_p50,
            r.life_p95,
            r.cost_per_kwh,
            r.escaped_defects_ppm
        );
    }
    out
}
