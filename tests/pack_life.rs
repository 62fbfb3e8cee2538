//! Pack life: a uniform pack ages as its cells' law, spread shortens life, matching helps.

mod common;
use common::*;

/// A pack of identical cells (no process spread, no fade scalar, no gradient, no self-heating, no
/// defects) reaches 80 % when a nominal cell does: NMC 21700 at 25 °C, day 925 of BLAST-Lite's
/// reference at one cycle a day, within one step.
#[test]
fn uniform_pack_ages_like_its_cell() {
    let s = run(&scene(
        None,
        &[
            "line.spread_scale=0",
            "line.defect_scale=0",
            "life.cell_fade_sigma=0",
            "life.gradient_k=0",
            "life.thermal_resistance_k_per_w=0",
            "cells=20000",
            "pack.life_packs=20",
        ],
    ));
    let life = s.packs.life_cycles.p50;
    assert!(
        (life - 925.0).abs() <= 10.0,
        "uniform pack life {life} cycles vs 925"
    );
    assert_eq!(
        s.packs.life_cycles.p5, s.packs.life_cycles.p95,
        "identical packs, identical lives"
    );
}

/// Pack life falls as the process spread grows (same seed: common random numbers).
#[test]
fn life_falls_as_spread_grows() {
    let mut last = f64::INFINITY;
    for scale in [0.0, 1.0, 2.0, 3.0, 4.0] {
        let s = run(&scene(
            None,
            &[
                &format!("line.spread_scale={scale}"),
                "cells=300000",
                "pack.life_packs=300",
            ],
        ));
        let mean = s.packs.life_cycles.mean;
        assert!(
            mean < last,
            "spread ×{scale}: mean life {mean} not below {last}"
        );
        last = mean;
    }
}

/// `sorted` matching never gives a worse mean pack life than `random` for the same cells, and
/// `binned` sits between (not worse than random). Tolerance: 2 SE of the difference of means. No
/// coolant gradient, so that only matching — not where a group sits — can make a difference.
#[test]
fn sorted_matching_is_not_worse_than_random() {
    let base = [
        "line.spread_scale=3",
        "cells=400000",
        "pack.life_packs=500",
        "life.gradient_k=0",
    ];
    let life = |m: &str| {
        let mut sets = base.to_vec();
        let key = format!("pack.matching={m}");
        sets.push(&key);
        run(&scene(None, &sets))
    };
    let (r, so, b) = (life("random"), life("sorted"), life("binned"));
    let sd = (r.packs.life_cycles.p95 - r.packs.life_cycles.p5) / 3.29;
    let se = sd * (2.0 / r.packs.life_packs as f64).sqrt();
    assert!(
        so.packs.life_cycles.mean >= r.packs.life_cycles.mean - 2.0 * se,
        "sorted {} random {}",
        so.packs.life_cycles.mean,
        r.packs.life_cycles.mean
    );
    assert!(
        b.packs.life_cycles.mean >= r.packs.life_cycles.mean - 2.0 * se,
        "binned {} random {}",
        b.packs.life_cycles.mean,
        r.packs.life_cycles.mean
    );
    // Initial capacity is where matching shows most: sorted packs start higher.
    assert!(so.packs.initial_capacity_ah.mean > r.packs.initial_capacity_ah.mean);
}

/// Parallel cells: a 96S2P pack's rated capacity doubles and its initial capacity is the weakest
/// pair; the fade curve starts at the initial capacity fraction.
#[test]
fn parallel_groups_add_capacity() {
    let s = run(&scene(
        None,
        &["pack.parallel=2", "cells=200000", "pack.life_packs=20"],
    ));
    assert_eq!(s.packs.topology, "96S2P");
    assert!((s.packs.rated_ah - 10.0).abs() < 1e-9);
    assert!((0.98..1.0).contains(&s.packs.initial_capacity_fraction));
    let c0 = s.packs.fade_curve.p50[0];
    assert!((c0 - s.packs.initial_capacity_fraction).abs() < 0.01);
}
