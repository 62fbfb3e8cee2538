//! The GPU engine held to the CPU engine (the reference), on whatever adapter there is — lavapipe
//! on CI. Tolerances and why: docs/GPU.md.
//!
//! No adapter: with CI=true the tests fail; otherwise each prints a loud SKIP and passes.
//! The GPU tests share one backend (pipeline creation costs about a second on lavapipe) and run
//! one at a time.

use celltwin::engine::{self, Backend, RunOptions, cpu::CpuBackend, simulate_range};
use celltwin::gpu::{AdapterPolicy, GpuBackend};
use celltwin::model::aging::{AgingParams, Nominal, RateTable};
use celltwin::model::pack::{EndOfLife, Follow, PackCell, PackLife};
use celltwin::model::{CellRecord, LineParams, flags};
use celltwin::rng::{Philox, philox4x32, poisson, stream};
use celltwin::scene::{self, Scene};
use celltwin::summary::{HistSpec, Histogram, LineStats, Moments, Summary};
use std::sync::{Mutex, MutexGuard, OnceLock};

mod assembly;
mod draws;
mod life;
mod line;
mod runs;

/// Cells whose scrap decision or grade may differ between the backends, per cell: decisions
/// that lie within float rounding of a limit (GPU exp/log/sin/cos are not the CPU's to the last
/// bit). Observed: 0–3 per 10⁶ on lavapipe; bound 1 per 10⁵.
const DECISION_BOUND: f64 = 1e-5;
/// Per-cell values: relative difference. The normals are the same polynomials on both (inverse
/// CDF; observed max 7.2e-7 over 4·10⁵ normals on lavapipe, 4.6e-5 with Box–Muller's GPU
/// sin/cos/log until 2026-11-24); through `exp(σ·z)` and the sums that is ≤ 1.4e-5 relative on a
/// value (observed). Bound 1e-4.
const VALUE_RTOL: f32 = 1e-4;

fn gpu() -> Option<MutexGuard<'static, GpuBackend>> {
    static GPU: OnceLock<Option<Mutex<GpuBackend>>> = OnceLock::new();
    let g = GPU.get_or_init(|| match GpuBackend::new(AdapterPolicy::Any) {
        Ok(b) => {
            eprintln!("GPU parity tests on {}", b.device());
            Some(Mutex::new(b))
        }
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true and no GPU adapter for the parity tests: {e}");
            }
            None
        }
    });
    match g {
        Some(m) => Some(m.lock().unwrap_or_else(|e| e.into_inner())),
        None => {
            eprintln!(
                "\n!!!!!!!! SKIPPED: no GPU adapter, GPU parity NOT tested !!!!!!!!\n\
                 install lavapipe (apt-get install mesa-vulkan-drivers libvulkan1) to run these tests\n"
            );
            None
        }
    }
}

fn scene_with(sets: &[&str]) -> Scene {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    scene::load(None, &sets).expect("scene")
}

/// Relative difference, with a floor on the scale for values that can cancel to near zero.
fn rel(a: f32, b: f32, floor: f32) -> f32 {
    (a - b).abs() / a.abs().max(b.abs()).max(floor)
}
