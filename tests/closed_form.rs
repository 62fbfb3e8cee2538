//! The closed-form statistical checks of MODEL.md §3, with tolerances from the sample size.

mod common;
use common::*;

/// The tabulated expected minima the model card quotes agree with the integral used below.
#[test]
fn expected_minimum_of_normals_matches_the_tables() {
    for (n, want) in [(12, 1.629), (96, 2.493), (100, 2.508), (192, 2.732)] {
        let (m, _) = min_of_normals(n);
        assert!((-m - want).abs() < 2e-3, "n={n}: {m} vs -{want}");
    }
}

/// Only within-lot capacity spread (CV c), random matching, no rejects: a series string's
/// initial capacity is the minimum of its cells, mean Q̄·(1 − e_n·c), for 12, 96 and 192 cells.
#[test]
fn series_string_minimum() {
    let c = 0.01;
    for n in [12u32, 96, 192] {
        let mut sets: Vec<String> = QUIET.iter().map(|s| s.to_string()).collect();
        sets.push(format!("coating.cathode_loading_cv={c}"));
        sets.push(format!("pack.series={n}"));
        sets.extend(
            ["pack.matching=random", "pack.life_packs=0", "cells=1000000"].map(String::from),
        );
        let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
        let s = run(&scene(None, &sets));
        let q = s.capacity.true_.mean;
        let packs = s.packs.packs as f64;
        let (e_min, sd_min) = min_of_normals(n);
        let want = q * (1.0 + e_min * c);
        let got = s.packs.initial_capacity_ah.mean;
        // Standard error of a mean of `packs` minima, plus the f32 rounding of the capacities.
        let se = sd_min * c * q / packs.sqrt();
        assert!(
            (got - want).abs() < 5.0 * se + 1e-5 * q,
            "{n}S: mean pack capacity {got:.5} vs closed form {want:.5} (5 SE = {:.5})",
            5.0 * se
        );
        assert_eq!(s.yield_, 1.0, "no rejects in this scene");
    }
}

/// A one-sided capacity limit at μ − kσ passes Φ(k) of the cells (gauge noise off), within 5 SE.
#[test]
fn one_sided_limit_passes_phi_k() {
    let c = 0.01;
    for k in [0.5f64, 1.0, 2.0] {
        let mut sets: Vec<String> = QUIET.iter().map(|s| s.to_string()).collect();
        sets.push(format!("coating.cathode_loading_cv={c}"));
        sets.push(format!("eol.capacity_min={}", 1.0 - k * c));
        sets.extend(["pack.life_packs=0", "cells=400000"].map(String::from));
        let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
        let s = run(&scene(None, &sets));
        let want = phi(k);
        let n = s.cells as f64;
        let se = (want * (1.0 - want) / n).sqrt();
        assert!(
            (s.yield_ - want).abs() < 5.0 * se,
            "k={k}: yield {:.5} vs Φ(k) {want:.5} (5 SE = {:.5})",
            s.yield_,
            5.0 * se
        );
        let low = s
            .scrap_pareto
            .iter()
            .find(|l| l.reason == celltwin::model::Scrap::LowCapacity)
            .unwrap();
        assert_eq!(
            low.cells,
            s.cells - (s.yield_ * n).round() as u64,
            "every reject is for capacity"
        );
    }
}

/// Gauge noise widens the measured spread by exactly the noise: σ_meas² = σ_true² + (noise·Q)².
#[test]
fn gauge_noise_adds_in_quadrature() {
    let s = run(&scene(
        None,
        &[
            "pack.life_packs=0",
            "cells=400000",
            "eol.capacity_noise=0.004",
        ],
    ));
    let t = s.capacity.true_.sd;
    let m = s.capacity.measured.sd;
    let want = (t * t + (0.004 * s.capacity.true_.mean).powi(2)).sqrt();
    // SE of a sample SD is σ/√(2n).
    let se = want / (2.0 * s.capacity.measured.n as f64).sqrt();
    assert!((m - want).abs() < 5.0 * se, "measured SD {m} vs {want}");
}

/// Fraction of cells under-filled (fill ratio below the optimum) and the mean shortfall of the
/// first `n` cells of a scene, straight from the line.
fn underfill(sets: &[&str], n: usize) -> (f64, f64) {
    let s = scene(None, sets);
    let p = celltwin::model::LineParams::from_scene(&s);
    let mut out = vec![celltwin::model::CellRecord::default(); n];
    celltwin::engine::simulate_range(&p, 0, &mut out);
    let under = out.iter().filter(|r| r.fill_shortfall > 0.0).count() as f64 / n as f64;
    let mean = out.iter().map(|r| f64::from(r.fill_shortfall)).sum::<f64>() / n as f64;
    (under, mean)
}

/// Fill mass spread alone (CV 5 %, design ratio 1.2 against the optimum 1.16): the fill ratio is
/// normal, so the under-filled share is Φ((1.16/1.2 − 1)/0.05) = Φ(−2/3) and the mean shortfall
/// b·(φ(d) − d·(1 − Φ(d))) with d = 2/3, b = 1.2·0.05/1.16 (the normal partial expectation).
#[test]
fn underfill_from_the_fill_mass_is_a_normal_tail() {
    let n = 200_000;
    let mut sets = QUIET.to_vec();
    // 1.2 × the pore mass of 0.963 g/Ah.
    sets.extend(["filling.fill_cv=0.05", "filling.g_per_ah=1.1556"]);
    let (under, mean) = underfill(&sets, n);
    let d = 1.0 - 1.16 / 1.2;
    let d = d / 0.05;
    let want = phi(-d);
    let se = (want * (1.0 - want) / n as f64).sqrt();
    assert!(
        (under - want).abs() < 4.0 * se + 1e-4,
        "under-filled {under:.4} vs Φ(−{d:.3}) = {want:.4}"
    );
    let b = 1.2 * 0.05 / 1.16;
    let want_mean = b * (pdf(d) - d * (1.0 - phi(d)));
    assert!(
        (mean - want_mean).abs() < 0.02 * want_mean,
        "mean shortfall {mean:.5} vs {want_mean:.5}"
    );
}

/// Porosity spread alone (SD 1.5 points at 0.30, default fill 1.35× the pores): a more porous
/// electrode has more pore volume, ε/(1−ε), to wet, so the under-filled cells are those above the
/// porosity where ε/(1−ε) = (1.35/1.16)·0.3/0.7 — a one-sided normal tail. A sign error (denser
/// electrodes under-filled) or a linear pore law would miss it.
#[test]
fn underfill_from_porosity_is_the_porous_tail() {
    let n = 200_000;
    let mut sets = QUIET.to_vec();
    sets.push("calendering.porosity_sd=0.015");
    let (under, _) = underfill(&sets, n);
    let s = scene(None, &sets);
    let ratio = s.filling.g_per_ah / s.filling.pore_g_per_ah / s.filling.optimum_fill_ratio;
    let x = ratio * 0.3 / 0.7;
    let e_star = x / (1.0 + x);
    let z = (e_star - 0.3) / 0.015;
    let want = 1.0 - phi(z);
    let se = (want * (1.0 - want) / n as f64).sqrt();
    assert!(
        (under - want).abs() < 4.0 * se,
        "under-filled {under:.5} vs porosity above {e_star:.4} (z {z:.3}): {want:.5}"
    );
    assert!(
        want > 0.005 && want < 0.05,
        "the default margin leaves a small tail: {want}"
    );
}
