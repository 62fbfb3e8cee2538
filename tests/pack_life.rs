//! Pack life: a uniform pack ages as its cells' law, spread shortens life, matching helps.

mod common;
use celltwin::model::pack::PackCell;
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

/// N/P margin → cycling fade, at a stated operating point: a nominal NMC 21700 cell aged alone
/// (default duty: C/2, SOC 0.1–0.9, one cycle a day, 25 °C) with N/P 1.03, 1.08 (design) and 1.20.
/// Sign: a thinner anode margin fades faster (Abe & Kumagai 2018's ordering). Size: the link moves
/// only the cycling law, so the life ratio 1.03 : 1.20 lies between the all-calendar bound (1) and
/// the all-cycling bound exp(−4·0.17/0.442) ≈ 0.21. With the link off the three lives are equal.
#[test]
fn np_margin_orders_cell_life() {
    let lives = |np_slope: &str| {
        let s = scene(None, &["life.cell_fade_sigma=0", np_slope]);
        let cells: Vec<_> = [1.03f32, 1.08, 1.20]
            .iter()
            .map(|&np| PackCell {
                np_ratio: np,
                ..PackCell::nominal(&s)
            })
            .collect();
        lives_alone(&s, &cells)
    };
    let on = lives("life.np_fade_per_np=4");
    assert!(
        on[0] < on[1] && on[1] < on[2],
        "lives at N/P 1.03/1.08/1.20: {on:?}"
    );
    let ratio = on[0] / on[2];
    assert!((0.21..1.0).contains(&ratio), "life ratio {ratio}");
    let off = lives("life.np_fade_per_np=0");
    assert!(off[0] == off[1] && off[1] == off[2], "link off: {off:?}");
    eprintln!("N/P 1.03/1.08/1.20 lives {on:?} (ratio {ratio:.3}); link off {off:?}");
}

/// Resistance → charge overpotential → plating, at a stated operating point: a nominal NMC 21700
/// cell aged alone at 2C (else the default duty) with an initial DCIR of 17, 18 (nominal) and
/// 20 mΩ. Sign: more resistance, shorter life; the gap grows with C-rate (C/2 against 2C). With the
/// link off (`plating_tafel_mv = 0`; self-heating is off here) the three lives are equal.
#[test]
fn resistance_shortens_life_through_overpotential() {
    let lives = |sets: &[&str]| {
        let mut all = vec![
            "life.cell_fade_sigma=0",
            "life.thermal_resistance_k_per_w=0",
        ];
        all.extend_from_slice(sets);
        let s = scene(None, &all);
        let cells: Vec<_> = [17.0f32, 18.0, 20.0]
            .iter()
            .map(|&r| PackCell {
                r0: r,
                r_meas: r,
                ..PackCell::nominal(&s)
            })
            .collect();
        lives_alone(&s, &cells)
    };
    let fast = lives(&["life.c_rate=2"]);
    assert!(fast[0] > fast[1] && fast[1] > fast[2], "2C lives {fast:?}");
    let slow = lives(&["life.c_rate=0.5"]);
    assert!(
        slow[0] >= slow[1] && slow[1] >= slow[2],
        "C/2 lives {slow:?}"
    );
    let gap = |l: &[f64]| (l[0] - l[2]) / l[1];
    assert!(gap(&fast) > gap(&slow), "2C gap {fast:?} vs C/2 {slow:?}");
    let off = lives(&["life.c_rate=2", "life.plating_tafel_mv=0"]);
    assert!(off[0] == off[1] && off[1] == off[2], "link off: {off:?}");
    eprintln!("DCIR 17/18/20 mΩ: 2C {fast:?}, C/2 {slow:?}, link off {off:?}");
}

/// Formation → SEI → calendar fade, at a stated operating point: a nominal NMC 21700 cell aged alone
/// under the default duty with a first-cycle loss of 8.5, 9 (nominal) and 10 %, its capacity held
/// at rated so that only the SEI link differs. Sign: the cell whose formation built more SEI fades
/// slower on the shelf and lives longer; with the link off the three lives are equal.
#[test]
fn formation_loss_orders_calendar_fade() {
    let lives = |sets: &[&str]| {
        let mut all = vec!["life.cell_fade_sigma=0"];
        all.extend_from_slice(sets);
        let s = scene(None, &all);
        let cells: Vec<_> = [0.085f32, 0.09, 0.10]
            .iter()
            .map(|&loss| PackCell {
                first_cycle_loss: loss,
                ..PackCell::nominal(&s)
            })
            .collect();
        lives_alone(&s, &cells)
    };
    let on = lives(&[]);
    assert!(on[0] < on[1] && on[1] < on[2], "lives {on:?}");
    let off = lives(&["life.sei_calendar_exponent=0"]);
    assert!(off[0] == off[1] && off[1] == off[2], "link off: {off:?}");
    eprintln!("first-cycle loss 8.5/9/10 %: lives {on:?}, link off {off:?}");
}

/// Electrolyte under-fill → cycling fade, at a stated operating point: a nominal NMC 21700 cell
/// aged alone under the default duty with a fill ratio 0, 5 and 10 % below the optimum. Sign: a
/// drier cell fades faster. Size: the link multiplies only the cycling rate, by 1 + 5·shortfall, so
/// the life ratio at 10 % lies between the all-cycling bound 1.5^(−1/0.442) ≈ 0.40 and the
/// all-calendar bound 1; with `life.underfill_factor = 0` the three lives are equal.
#[test]
fn underfill_shortens_life() {
    let lives = |factor: &str| {
        let s = scene(None, &["life.cell_fade_sigma=0", factor]);
        let cells: Vec<_> = [0.0f32, 0.05, 0.10]
            .iter()
            .map(|&short| PackCell {
                fill_shortfall: short,
                ..PackCell::nominal(&s)
            })
            .collect();
        lives_alone(&s, &cells)
    };
    let on = lives("life.underfill_factor=5");
    assert!(on[0] > on[1] && on[1] > on[2], "lives {on:?}");
    let ratio = on[2] / on[0];
    let bound = 1.5f64.powf(-1.0 / 0.442);
    assert!(
        (bound..1.0).contains(&ratio),
        "life ratio {ratio} vs [{bound:.3}, 1)"
    );
    let off = lives("life.underfill_factor=0");
    assert!(off[0] == off[1] && off[1] == off[2], "link off: {off:?}");
    eprintln!("fill 0/5/10 % short: lives {on:?} (ratio {ratio:.3}); link off {off:?}");
}

/// Matching pays as much as the physics says: sorting by measured DCIR beats random matching on P5
/// pack life by more than 3 standard errors when resistance ages the cell (the overpotential link,
/// at 2C where it is strong), and the gain vanishes (within 3 SE) when that link is switched off.
/// The standard error of a P5 is `√(p(1−p)/n) / f(P5)` with the density from a normal fitted to the
/// P5–P95 range; the difference of two such quantiles is taken as independent (√2). No coolant
/// gradient, so that only matching can make the difference.
#[test]
fn dcir_sorting_pays_only_when_resistance_ages_cells() {
    let life = |matching: &str, link: &str| {
        let m = format!("pack.matching={matching}");
        run(&scene(
            None,
            &[
                "life.c_rate=2",
                "life.gradient_k=0",
                "line.spread_scale=2",
                "cells=400000",
                "pack.life_packs=1000",
                &m,
                link,
            ],
        ))
    };
    let gain = |link: &str| {
        let (r, s) = (life("random", link), life("sorted_dcir", link));
        let (l, n) = (&r.packs.life_cycles, r.packs.life_packs as f64);
        let sd = (l.p95 - l.p5) / 3.29;
        let density = (-0.5f64 * 1.645 * 1.645).exp() / (2.0 * std::f64::consts::PI).sqrt() / sd;
        let se = (0.05f64 * 0.95 / n).sqrt() / density * 2f64.sqrt();
        (s.packs.life_cycles.p5 - l.p5, se)
    };
    let (on, se_on) = gain("life.plating_tafel_mv=51");
    assert!(
        on > 3.0 * se_on,
        "link on: P5 gain {on:.1} cycles, SE {se_on:.1}"
    );
    let (off, se_off) = gain("life.plating_tafel_mv=0");
    assert!(
        off.abs() < 3.0 * se_off,
        "link off: P5 gain {off:.1} cycles, SE {se_off:.1}"
    );
    eprintln!(
        "DCIR sorting P5 gain: link on {on:.1} (SE {se_on:.1}), off {off:.1} (SE {se_off:.1})"
    );
}

/// The pack path (not only the law) against BLAST-Lite 1.1.1: a nominal cell as a 1S1P pack under
/// the SOC-window duty, no self-heating (BLAST-Lite is given the cell temperature), relative
/// capacity at years 1, 2, 5 and 10 within 0.005 of BLAST-Lite's reference (the values
/// `aging.rs::nominal_cell_matches_blast_lite` holds the law to), LFP and NMC at 25 and 35 °C.
/// 5-cycle steps at one cycle a day land on 365·years; the pack is followed down to 40 %.
#[test]
fn nominal_pack_path_matches_blast_lite() {
    let cases = [
        (
            "lfp_prismatic_mature",
            "25",
            [0.9775, 0.9638, 0.9309, 0.8859],
        ),
        (
            "lfp_prismatic_mature",
            "35",
            [0.9706, 0.9547, 0.9184, 0.8710],
        ),
        ("nmc21700_mature", "25", [0.8760, 0.8231, 0.7145, 0.5876]),
        ("nmc21700_mature", "35", [0.8536, 0.7894, 0.6565, 0.4997]),
    ];
    for (name, temp, want) in cases {
        let t = format!("life.ambient_c={temp}");
        let s = scene(
            Some(name),
            &[
                &t,
                "life.duty=soc_window",
                "life.cycles_per_step=5",
                "life.cell_fade_sigma=0",
                "life.thermal_resistance_k_per_w=0",
                "life.tab_heat_k_per_w=0",
                "life.eol_fraction=0.5",
            ],
        );
        let life = &age_alone(&s, &[PackCell::nominal(&s)])[0];
        for (years, q_ref) in [1usize, 2, 5, 10].into_iter().zip(want) {
            let q = f64::from(life.curve[73 * years]);
            assert!(
                (q - q_ref).abs() < 0.005,
                "{name} {temp} °C year {years}: pack path {q:.4} vs BLAST-Lite {q_ref}"
            );
        }
    }
}

/// Power end of life: with the resistance limit at 1.2× and resistance growing as
/// R0·(1 + 2·loss), a pack of identical cells reaches it when it has lost 10 %, i.e. where its own
/// capacity curve (run with the power limit off) crosses 0.9 — within one step. The reason is
/// `power`, and with the limit off it is `fade` at 80 %.
#[test]
fn power_end_of_life_where_resistance_rises_by_the_limit() {
    let base = [
        "line.spread_scale=0",
        "line.defect_scale=0",
        "life.cell_fade_sigma=0",
        "life.gradient_k=0",
        "life.thermal_resistance_k_per_w=0",
        "life.tab_heat_k_per_w=0",
        "cells=20000",
        "pack.life_packs=5",
    ];
    let with = |extra: &str| run(&scene(None, &[&base[..], &[extra]].concat()));
    let off = with("life.eol_resistance_factor=0");
    let on = with("life.eol_resistance_factor=1.2");
    assert_eq!(on.packs.eol_reasons["power"], on.packs.life_packs);
    assert_eq!(off.packs.eol_reasons["fade"], off.packs.life_packs);
    let curve = &off.packs.fade_curve;
    let k = curve
        .p50
        .iter()
        .position(|&q| q < 0.9)
        .expect("crosses 0.9");
    let (c0, c1) = (f64::from(curve.cycles[k - 1]), f64::from(curve.cycles[k]));
    let (q0, q1) = (curve.p50[k - 1], curve.p50[k]);
    let at_09 = c0 + (c1 - c0) * (q0 - 0.9) / (q0 - q1);
    let life = on.packs.life_cycles.p50;
    assert!(
        (life - at_09).abs() <= 10.0,
        "power end of life at {life} cycles, capacity 0.9 at {at_09:.0}"
    );
    assert!(life < off.packs.life_cycles.p50);
}

/// The NMC DOD term (Schmalstieg et al. 2014): under the energy duty a fading cell swings deeper
/// (the rated window's Ah from less capacity), so with the term on it lives shorter than with it
/// off — by less than the all-cycling bound at DOD 1, ((7.6e-4 + 4.081e-3)/(7.6e-4 + 4.081e-3·0.8))
/// ^(−1/0.442) ≈ 0.66. Under the SOC-window duty a lone cell always swings the window, where the
/// term is 1: on and off give the same life (BLAST-Lite recovered).
#[test]
fn nmc_dod_term_shortens_deep_swings_only() {
    let life = |duty: &str, dod: &str| {
        let s = scene(None, &["life.cell_fade_sigma=0", duty, dod]);
        lives_alone(&s, &[PackCell::nominal(&s)])[0]
    };
    let on = life("life.duty=energy", "life.nmc_dod_fade=true");
    let off = life("life.duty=energy", "life.nmc_dod_fade=false");
    let bound = ((7.6e-4 + 4.081e-3) / (7.6e-4f64 + 4.081e-3 * 0.8)).powf(-1.0 / 0.442);
    assert!(on < off, "energy duty: {on} with the term, {off} without");
    assert!(on / off > bound, "ratio {} vs bound {bound:.3}", on / off);
    let w_on = life("life.duty=soc_window", "life.nmc_dod_fade=true");
    let w_off = life("life.duty=soc_window", "life.nmc_dod_fade=false");
    assert_eq!(w_on, w_off, "SOC window: the term is 1");
    eprintln!("DOD term: energy duty {on} vs {off} cycles; SOC window {w_on}");
}

/// Tab weld → local heat: a cell whose weld is 5× the median (10 mΩ against 2) at 2C, its total
/// resistance held equal so that only the hot spot differs, lives shorter (NMC fades faster warm);
/// with `life.tab_heat_k_per_w = 0` the two are equal.
#[test]
fn a_poor_tab_weld_is_a_hot_spot() {
    let lives = |k: &str| {
        let s = scene(None, &["life.cell_fade_sigma=0", "life.c_rate=2", k]);
        let cells: Vec<_> = [2.0f32, 10.0]
            .iter()
            .map(|&r_tab| PackCell {
                r_tab,
                ..PackCell::nominal(&s)
            })
            .collect();
        lives_alone(&s, &cells)
    };
    let on = lives("life.tab_heat_k_per_w=10");
    assert!(on[1] < on[0], "tab 2 vs 10 mΩ: {on:?}");
    let off = lives("life.tab_heat_k_per_w=0");
    assert_eq!(off[0], off[1], "no local heat: {off:?}");
}

/// Overhang breach → edge plating: a passed cell with a breach (the X-ray missed it) cycles at
/// `breach_plating_factor` × the rate; at factor 1 it ages as a nominal cell.
#[test]
fn an_escaped_breach_plates_at_the_edge() {
    let lives = |f: &str| {
        let s = scene(None, &["life.cell_fade_sigma=0", f]);
        let breached = PackCell {
            flags: celltwin::model::flags::BREACH,
            ..PackCell::nominal(&s)
        };
        lives_alone(&s, &[PackCell::nominal(&s), breached])
    };
    let on = lives("life.breach_plating_factor=3");
    assert!(on[1] < 0.7 * on[0], "breach {on:?}");
    let off = lives("life.breach_plating_factor=1");
    assert_eq!(off[0], off[1]);
}

/// The coolant's rise from the string's heat: with no fixed gradient, a 96S pack at 2C whose
/// coolant flows slowly (the string's I²R heat warms it toward the outlet) lives shorter than the
/// same pack with a fast flow.
#[test]
fn slow_coolant_warms_the_outlet_end() {
    let life = |flow: &str| {
        run(&scene(
            None,
            &[
                "life.gradient_k=0",
                "life.c_rate=2",
                flow,
                "cells=100000",
                "pack.life_packs=100",
            ],
        ))
        .packs
        .life_cycles
        .p50
    };
    let slow = life("life.coolant_flow_kg_s=0.002");
    let fast = life("life.coolant_flow_kg_s=1");
    assert!(slow < fast - 20.0, "slow flow {slow}, fast {fast}");
}

/// Gogoana et al. 2014: two parallel cells with a 20 % resistance mismatch. In the model the
/// low-resistance cell carries more of the current, runs warmer and ages apart from its partner
/// (uneven cycling loss); what it does to group life is printed (see docs/MODEL.md for why the
/// model gives far less than the paper's ~40 %).
#[test]
fn a_mismatched_parallel_pair_ages_unevenly() {
    use celltwin::model::aging::{AgingParams, Nominal, RateTable};
    use celltwin::model::pack::{Follow, simulate_pack_cells};
    let s = scene(
        None,
        &[
            "pack.series=1",
            "pack.parallel=2",
            "life.cell_fade_sigma=0",
            "life.c_rate=2",
        ],
    );
    let a = AgingParams::new(s.chemistry, &s.life, &Nominal::from_scene(&s), 1, 2, s.seed);
    let table = RateTable::new(&a, &s.life);
    let rng = celltwin::rng::Philox::new(s.seed);
    let n = PackCell::nominal(&s);
    let pair = |r1: f32, r2: f32| {
        let c = |r0: f32| PackCell {
            r0,
            r_meas: r0,
            ..n
        };
        simulate_pack_cells(&a, &table.values, &rng, &[c(r1), c(r2)], Follow::PastEnd)
    };
    let r = n.r0;
    let (matched, m) = pair(r, r);
    let (mismatched, x) = pair(r / 1.1, 1.2 * r / 1.1);
    assert_eq!(m[0], m[1], "a matched pair ages alike");
    let gap = (x[0].cyc.loss - x[1].cyc.loss).abs() / x[1].cyc.loss;
    assert!(gap > 0.05, "cycling losses {x:?}");
    assert!(
        x[0].cal.loss > x[1].cal.loss,
        "the low-R cell runs warmer: {x:?}"
    );
    eprintln!(
        "2P at 2C: matched {} cycles, 20 % mismatch {} cycles; losses {x:?}",
        matched.cycles, mismatched.cycles
    );
}

/// The calendar/cycling split of the loss at end of life follows the duty: a pack cycled once
/// every five days dies mostly of calendar aging, one cycled three times a day mostly of cycling;
/// the share falls as cycling rises.
#[test]
fn calendar_share_follows_the_duty() {
    let share = |per_day: &str| {
        let s = run(&scene(
            None,
            &[per_day, "cells=20000", "pack.life_packs=20"],
        ));
        (s.packs.life_calendar_share.p50, s.packs.life_years.p50)
    };
    let (rare, rare_years) = share("life.cycles_per_day=0.2");
    let (daily, _) = share("life.cycles_per_day=1");
    let (often, often_years) = share("life.cycles_per_day=3");
    assert!(
        rare > 0.5 && often < 0.5,
        "shares {rare} / {daily} / {often}"
    );
    assert!(
        rare > daily && daily > often,
        "shares {rare} / {daily} / {often}"
    );
    assert!(rare_years > often_years);
}

/// A pack followed only to its end of life (as a run follows every pack it does not keep whole)
/// leaves the record of the same pack followed on past it: the same cycles, reason and calendar
/// share bit for bit, the same equivalent full cycles, and its curve is the other's up to the
/// end's step. Packs of a wide, defect-rich line with the power limit near, so that packs end by
/// fade, power and short.
#[test]
fn following_a_pack_to_its_end_leaves_its_record() {
    use celltwin::engine::{Backend, cpu::CpuBackend};
    use celltwin::model::LineParams;
    use celltwin::model::aging::{AgingParams, RateTable};
    use celltwin::model::pack::{EndOfLife, Follow, simulate_pack_to};
    use celltwin::summary::{AgedPack, HistSpec};
    let s = scene(
        None,
        &[
            "line.spread_scale=3",
            "line.defect_scale=40",
            "life.short_hazard=2e-4",
            "life.eol_resistance_factor=1.33",
            "pack.series=12",
        ],
    );
    let p = LineParams::from_scene(&s);
    let cells = CpuBackend::new(Some(1))
        .cell_line(&p, &HistSpec::for_params(&p), 0, 20_000)
        .expect("cells")
        .passed;
    let a = AgingParams::from_scene(&s);
    let table = RateTable::new(&a, &s.life);
    let rng = p.rng();
    let mut seen = std::collections::BTreeMap::new();
    let mut shorter = 0;
    for pack in cells.chunks_exact(s.cells_per_pack() as usize) {
        let to_end = simulate_pack_to(&a, &table.values, &rng, pack, Follow::ToEnd);
        let past = simulate_pack_to(&a, &table.values, &rng, pack, Follow::PastEnd);
        assert_eq!(
            (
                to_end.cycles,
                to_end.reason,
                to_end.calendar_share.to_bits()
            ),
            (past.cycles, past.reason, past.calendar_share.to_bits())
        );
        assert_eq!(to_end.curve[..], past.curve[..to_end.curve.len()]);
        let efc = |l| AgedPack::new((0, 0.0), pack, l, &s).efc;
        assert_eq!(efc(&to_end), efc(&past));
        shorter += usize::from(to_end.curve.len() < past.curve.len());
        *seen.entry(to_end.reason.key()).or_insert(0) += 1;
    }
    eprintln!("ends {seen:?}, {shorter} curves shorter to the end");
    for reason in [EndOfLife::Fade, EndOfLife::Power, EndOfLife::Short] {
        assert!(
            seen.contains_key(reason.key()),
            "no pack ended by {reason:?}: {seen:?}"
        );
    }
    assert!(
        shorter * 2 > seen.values().sum::<usize>(),
        "few curves stop at the end"
    );
}
