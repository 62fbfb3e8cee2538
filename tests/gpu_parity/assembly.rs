//! Pack assembly on the device and the device-resident run against the CPU engine.

use super::*;

// ---- pack assembly on the device ----------------------------------------------------------------

/// Passed cells of `start .. start + n` made by the CPU engine in two line chunks split inside a
/// window (so a window straddles the chunks), in index order.
fn cpu_passed(scene: &Scene, start: u64, n: u64, split: u64) -> Vec<PackCell> {
    let p = LineParams::from_scene(scene);
    let spec = HistSpec::for_params(&p);
    let mut cpu = CpuBackend::new(None);
    let mut cells = cpu.cell_line(&p, &spec, start, split).unwrap().passed;
    cells.extend(
        cpu.cell_line(&p, &spec, start + split, n - split)
            .unwrap()
            .passed,
    );
    cells
}

/// The CPU's packs of a chunk of whole windows: per pack (window in the chunk, pack number, cell
/// indices in placed order, initial capacity's bits, defects).
type CpuPack = (u32, u32, Vec<u64>, u32, u32);

fn cpu_packs(scene: &Scene, cells: &[PackCell], base: u64) -> (u32, Vec<CpuPack>) {
    use celltwin::model::pack::{initial_capacity, match_window, place_groups};
    let rng = LineParams::from_scene(scene).rng();
    let (w_cells, ps, par) = (
        scene.pack.window,
        scene.cells_per_pack() as usize,
        scene.pack.parallel as usize,
    );
    let mut out = Vec::new();
    let mut windows = 0;
    let mut i = 0;
    while i < cells.len() {
        let w = (cells[i].index() - base) / w_cells;
        let mut j = i;
        while j < cells.len() && (cells[j].index() - base) / w_cells == w {
            j += 1;
        }
        let win = &cells[i..j];
        windows += 1;
        let (order, _) = match_window(win, scene.pack.matching, ps, scene.eol.grade_bins, &rng);
        for (k, pack) in order.chunks_exact(ps).enumerate() {
            let mut pc: Vec<PackCell> = pack.iter().map(|&x| win[x as usize]).collect();
            place_groups(&mut pc, par);
            let q = initial_capacity(&pc, par);
            let defects = pc.iter().filter(|c| c.flags & flags::DEFECT != 0).count() as u32;
            let ids = pc.iter().map(PackCell::index).collect();
            out.push((w as u32, k as u32, ids, q.to_bits(), defects));
        }
        i = j;
    }
    (windows, out)
}

/// Identical cells in ⇒ identical packs out: the device's radix-sorted matching (all four
/// matchings), group placement, initial capacity and defect counts equal the CPU's bit for bit,
/// over several windows (the last one partial, one straddling the CPU's line chunks) and 350 small
/// ones, with 1P, 2P and 3P packs, and just below 2³² (the index's low word wraps in the chunk).
#[test]
fn device_assembly_equals_cpu_on_identical_cells() {
    use celltwin::gpu::assemble::AsmJob;
    let Some(mut g) = gpu() else { return };
    for (matching, topo, base, w) in [
        (
            "random",
            ["pack.series=12", "pack.parallel=1"],
            60_000u64,
            20_000u64,
        ),
        ("binned", ["pack.series=4", "pack.parallel=3"], 0, 20_000),
        (
            "sorted",
            ["pack.series=4", "pack.parallel=3"],
            40_000,
            20_000,
        ),
        (
            "sorted_dcir",
            ["pack.series=12", "pack.parallel=1"],
            0,
            20_000,
        ),
        (
            "sorted",
            ["pack.series=96", "pack.parallel=1"],
            (1u64 << 32) - 50_000,
            25_000,
        ),
        ("random", ["pack.series=5", "pack.parallel=2"], 0, 1_000),
        ("binned", ["pack.series=5", "pack.parallel=2"], 3_000, 200),
        // 2-cell windows: a workgroup's 256 cells fall in over 64 segments, so the key pass
        // counts the rest one global atomic a cell (keys_main's fallback).
        ("sorted", ["pack.series=2", "pack.parallel=1"], 0, 2),
    ] {
        let scene = scene_with(&[
            &format!("pack.matching=\"{matching}\""),
            topo[0],
            topo[1],
            &format!("pack.window={w}"),
            "cells=10000000000",
        ]);
        // 3½ windows, or 350 (2800 segments of binned: two bytes of segment in the sort).
        let n = (3 * w + w / 2).max(70_000);
        let cells = cpu_passed(&scene, base, n, w + w / 3);
        let (windows, want) = cpu_packs(&scene, &cells, base);
        let job = AsmJob {
            matching: scene.pack.matching,
            window: w,
            base,
            windows: n.div_ceil(w) as u32,
            grade_bins: scene.eol.grade_bins,
            parallel: scene.pack.parallel,
            series: scene.pack.series,
            seed: scene.seed,
        };
        let got = g.assemble_cells(&cells, &job).expect("device assembly");
        let name = format!("{matching} {}·{} from {base}", topo[0], topo[1]);
        assert_eq!(got.windows, windows, "{name}: windows");
        assert_eq!(got.packs.len(), want.len(), "{name}: packs");
        let ps = scene.cells_per_pack() as usize;
        for (k, (o, (w, j, ids, q, defects))) in got.packs.iter().zip(&want).enumerate() {
            let gids: Vec<u64> = got.cells[k * ps..(k + 1) * ps]
                .iter()
                .map(PackCell::index)
                .collect();
            assert_eq!((o.window, o.pack), (*w, *j), "{name}: pack {k}'s place");
            assert_eq!(&gids, ids, "{name}: pack {k}'s cells");
            assert_eq!(
                o.q_initial.to_bits(),
                *q,
                "{name}: pack {k}'s initial capacity"
            );
            assert_eq!(o.defects, *defects, "{name}: pack {k}'s defects");
        }
        eprintln!("{name}: {} packs in {windows} windows equal", want.len());
    }
}

/// Life fed from the device's assembled cells (no upload) equals the CPU's life of the same packs
/// within the pack-life bounds (docs/GPU.md), EFC too; only kept packs bring their curve back;
/// across life batches (more aged packs than one batch holds).
#[test]
fn life_of_device_assembled_packs_matches_cpu() {
    use celltwin::gpu::assemble::AsmJob;
    use celltwin::model::pack::simulate_pack;
    use celltwin::summary::AgedPack;
    let Some(mut g) = gpu() else { return };
    for sets in [
        &["pack.matching=\"sorted\"", "pack.window=20000"][..],
        &[
            "pack.matching=\"random\"",
            "pack.window=20000",
            "pack.parallel=3",
            "pack.series=20",
            "line.defect_scale=20",
        ],
        // 2-cell packs: ≈ 6 500 aged, more than one life batch of 4096 packs.
        &[
            "pack.matching=\"binned\"",
            "pack.window=20000",
            "pack.series=2",
        ],
    ] {
        let scene = scene_with(sets);
        let w = scene.pack.window;
        let cells = cpu_passed(&scene, 0, 2 * w, w / 2);
        let job = AsmJob {
            matching: scene.pack.matching,
            window: w,
            base: 0,
            windows: 2,
            grade_bins: scene.eol.grade_bins,
            parallel: scene.pack.parallel,
            series: scene.pack.series,
            seed: scene.seed,
        };
        let (_, want) = cpu_packs(&scene, &cells, 0);
        // Every third pack aged, every ninth kept, as a stride over slots would pick them.
        let aged: Vec<u32> = (0..want.len() as u32).step_by(3).collect();
        let keep: Vec<bool> = aged.iter().map(|p| p % 9 == 0).collect();
        let (chunk, lives) = g
            .assemble_and_age(&scene, &cells, &job, (&aged, &keep))
            .expect("device assembly and life");
        assert_eq!(lives.len(), aged.len());
        let a = AgingParams::from_scene(&scene);
        let table = RateTable::new(&a, &scene.life);
        let rng = LineParams::from_scene(&scene).rng();
        let ps = scene.cells_per_pack() as usize;
        let step = a.cycles_per_step as u32;
        let (mut reason_diff, mut max_cyc, mut max_curve) = (0, 0u32, 0.0f32);
        let mut max_efc = 0.0f32;
        for ((&p, &k), (gl, efc)) in aged.iter().zip(&keep).zip(&lives) {
            let pack = &chunk.cells[p as usize * ps..(p as usize + 1) * ps];
            let ids: Vec<u64> = pack.iter().map(PackCell::index).collect();
            assert_eq!(ids, want[p as usize].2, "pack {p}: the same cells");
            let c = simulate_pack(&a, &table.values, &rng, pack);
            assert_eq!(gl.curve.is_empty(), !k, "pack {p}: a curve only where kept");
            // Only the equivalent full cycles are compared: slot and capacity do not enter them.
            let cpu_efc = AgedPack::new((0, 0.0), pack, &c, &scene).efc;
            if c.reason == gl.reason && c.cycles == gl.cycles {
                max_efc = max_efc.max((cpu_efc - efc).abs() / cpu_efc.max(1.0));
            }
            if c.reason != gl.reason {
                reason_diff += 1;
                continue;
            }
            max_cyc = max_cyc.max(c.cycles.abs_diff(gl.cycles));
            for (u, v) in c.curve.iter().zip(&gl.curve) {
                max_curve = max_curve.max((u - v).abs());
            }
        }
        eprintln!(
            "device-fed life {sets:?}: {} packs aged, reasons differ {reason_diff}, max |Δcycles| {max_cyc}, max |Δcurve| {max_curve:e}, max rel. |ΔEFC| {max_efc:e}",
            aged.len()
        );
        assert!(max_efc <= 1e-4, "EFC differs by {max_efc} relative");
        assert!(reason_diff <= 1 + aged.len() / 100);
        assert!(max_cyc <= 2 * step, "cycles differ by {max_cyc}");
        assert!(max_curve <= 1e-3, "curves differ by {max_curve}");
    }
}

/// The device-resident run (line, matching, assembly, life of every aged pack on the device:
/// what `engine::run` takes on a GPU) held to the CPU engine, for each matching, pack by pack where
/// the packs are the same: several chunks of whole windows and a partial last window; counts
/// within the decision bound; initial capacity's moments; aged and kept slots; the life, EFC and
/// calendar share of each slot both aged within the pack-life bounds; under 1 B read back a cell.
#[test]
fn resident_run_matches_cpu_engine() {
    let Some(_shared) = gpu() else { return };
    let mut g = GpuBackend::new(AdapterPolicy::Any)
        .expect("a second device")
        .with_dispatch(65_536);
    for matching in ["random", "binned", "sorted", "sorted_dcir"] {
        let scene = scene_with(&[
            "cells=290000",
            "pack.window=20000",
            "pack.life_packs=600",
            &format!("pack.matching=\"{matching}\""),
        ]);
        resident_like_cpu(&mut g, &scene, matching);
    }
}

/// A window larger than the backend's dispatch (100 000 cells against 65 536) grows the dispatch
/// to one window and stays on the device, with the CPU engine's packs: two whole windows and a
/// partial one.
#[test]
fn window_larger_than_the_dispatch_grows_it() {
    let Some(_shared) = gpu() else { return };
    let mut g = GpuBackend::new(AdapterPolicy::Any)
        .expect("a second device")
        .with_dispatch(65_536);
    let scene = scene_with(&["cells=250000", "pack.window=100000", "pack.life_packs=300"]);
    resident_like_cpu(&mut g, &scene, "sorted, window 100 000");
}

/// The device-resident run of `scene` on `g` against the CPU engine (see
/// [`resident_run_matches_cpu_engine`]); `label` names the case in messages.
fn resident_like_cpu(g: &mut GpuBackend, scene: &celltwin::scene::Scene, label: &str) {
    use celltwin::engine::LifePlan;
    let mut cpu = CpuBackend::new(None);
    let all = 0..scene.cells;
    let c = engine::run_range(
        scene,
        &mut cpu,
        &RunOptions::default(),
        all.clone(),
        &mut |_| {},
    )
    .unwrap()
    .packs;
    let plan = LifePlan::new(scene);
    let before = g.transfers().unwrap();
    let (_, r) = g
        .run_windows(scene, all, &plan, None, &mut |_| {})
        .expect("windows fit a dispatch")
        .expect("resident run");
    let moved = g.transfers().unwrap();
    let per_cell = (moved.read_back - before.read_back) as f64 / scene.cells as f64;
    let ps = scene.cells_per_pack();
    let bound = (DECISION_BOUND * scene.cells as f64).ceil() as u64;
    eprintln!(
        "resident {label}: packs {} vs {}, unpacked {} vs {}, windows {} vs {}, aged {} vs {}, kept {} vs {}, read back {per_cell:.3} B/cell",
        c.packs,
        r.packs,
        c.unpacked,
        r.unpacked,
        c.windows,
        r.windows,
        c.aged.len(),
        r.aged.len(),
        c.kept.len(),
        r.kept.len()
    );
    assert!(c.packs.abs_diff(r.packs) <= bound, "{label}: packs");
    assert!(
        c.unpacked.abs_diff(r.unpacked) <= bound * ps,
        "{label}: unpacked"
    );
    assert_eq!(c.windows, r.windows, "{label}: windows");
    assert!(
        c.aged.len().abs_diff(r.aged.len()) as u64 <= bound,
        "{label}: aged packs"
    );
    assert!(
        r.aged.windows(2).all(|x| x[0].slot < x[1].slot),
        "slot order"
    );
    assert!(
        r.kept
            .iter()
            .all(|k| k.cells.len() as u64 == ps && !k.curve.is_empty())
    );
    assert!(r.kept.iter().all(|k| plan.kept(k.slot)));
    assert!(
        c.kept.len().abs_diff(r.kept.len()) as u64 <= bound,
        "{label}: kept packs"
    );
    let (mc, mr) = (c.initial.stats(), r.initial.stats());
    assert!(
        (mc.mean - mr.mean).abs() <= 1e-5 * mc.mean,
        "{label}: initial mean"
    );
    assert!((mc.sd - mr.sd).abs() <= 1e-2 * mc.sd, "{label}: initial SD");
    aged_slots_alike(&c, &r, scene.life.cycles_per_step, label);
    // Kept packs (about 1000 a run, whatever its size) bring their cells' indices and their
    // curve back; everything else must stay under 1 B a cell.
    let kept_bytes: u64 = r
        .kept
        .iter()
        .map(|k| k.cells.len() as u64 * 8 + k.curve.len() as u64 * 4)
        .sum();
    let rest = (moved.read_back - before.read_back - kept_bytes) as f64 / scene.cells as f64;
    assert!(
        rest <= 1.0,
        "{label}: {rest} B a cell read back besides kept packs"
    );
}

/// Slot by slot where the CPU's and the device's runs (`c`, `r`) both made a pack with the same
/// initial capacity (the same cells, short of a flipped decision upstream): the pack-life bounds
/// of docs/GPU.md on cycles, calendar share and EFC, and nine slots in ten alike.
fn aged_slots_alike(
    c: &celltwin::summary::PackTotals,
    r: &celltwin::summary::PackTotals,
    step: u32,
    label: &str,
) {
    let (mut same, mut reason_diff) = (0, 0);
    for x in &c.aged {
        let Ok(k) = r.aged.binary_search_by_key(&x.slot, |y| y.slot) else {
            continue;
        };
        let y = &r.aged[k];
        if x.q_initial != y.q_initial || x.defects != y.defects {
            continue;
        }
        same += 1;
        if x.reason != y.reason {
            reason_diff += 1;
            continue;
        }
        assert!(
            x.cycles.abs_diff(y.cycles) <= 2 * step,
            "{label}: slot {} cycles",
            x.slot
        );
        assert!(
            (x.calendar_share - y.calendar_share).abs() <= 2e-3,
            "{label}: share"
        );
        assert!(
            (x.efc - y.efc).abs() <= 1e-3 * x.efc.max(1.0) + 2.0 * step as f32,
            "{label}: efc"
        );
    }
    assert!(
        same * 10 >= c.aged.len() * 9,
        "{label}: only {same} slots alike"
    );
    assert!(
        reason_diff <= 1 + same / 100,
        "{label}: {reason_diff} reasons differ"
    );
}

/// A cancel lands between chunks of the device-resident run (the app's newest-wins): the run
/// stops with `Cancelled`, reporting no chunk after it.
#[test]
fn resident_run_cancels_between_chunks() {
    use celltwin::engine::{EngineError, LifePlan};
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    let Some(mut g) = gpu() else { return };
    let scene = scene_with(&["cells=400000", "pack.window=20000", "pack.life_packs=0"]);
    let cancel = Arc::new(AtomicBool::new(true));
    let mut chunks = 0;
    let plan = LifePlan::new(&scene);
    let r = g
        .run_windows(&scene, 0..scene.cells, &plan, Some(&cancel), &mut |_| {
            chunks += 1
        })
        .expect("windows fit a dispatch");
    assert!(
        matches!(r, Err(EngineError::Cancelled)),
        "a cancelled run must say so"
    );
    assert_eq!(chunks, 0, "no chunk reported after the cancel");
    // And the backend runs the next request normally.
    cancel.store(false, std::sync::atomic::Ordering::Relaxed);
    let r = g.run_windows(&scene, 0..scene.cells, &plan, Some(&cancel), &mut |_| {
        chunks += 1
    });
    assert!(r.expect("fits").is_ok());
    assert!(chunks > 0);
}

/// A window larger than the dispatch may grow to (`with_dispatch_limit`; by default the device's
/// binding limit, 2 789 376 cells on llvmpipe) is not taken on the device: `run_windows` says None
/// and `engine::run` goes the host path (every passed cell read back, the CPU matches), with the
/// CPU's packs.
#[test]
fn window_beyond_the_dispatch_limit_takes_the_host_path() {
    use celltwin::engine::LifePlan;
    let Some(_shared) = gpu() else { return };
    let mut g = GpuBackend::new(AdapterPolicy::Any)
        .expect("a second device")
        .with_dispatch(65_536)
        .with_dispatch_limit(65_536);
    let scene = scene_with(&["cells=150000", "pack.window=100000", "pack.life_packs=0"]);
    let plan = LifePlan::new(&scene);
    assert!(
        g.run_windows(&scene, 0..scene.cells, &plan, None, &mut |_| {})
            .is_none()
    );
    // A limit between two whole tiles (a dispatch is whole tiles of 4 096) allows the lower one:
    // a window of 9 000 cells needs three tiles, 12 288 cells, over a limit of 10 000.
    let mut tight = GpuBackend::new(AdapterPolicy::Any)
        .expect("a third device")
        .with_dispatch(4096)
        .with_dispatch_limit(10_000);
    for (window, fits) in [(9_000u64, false), (8_000, true)] {
        let s = scene_with(&[
            "cells=20000",
            &format!("pack.window={window}"),
            "pack.life_packs=0",
        ]);
        let r = tight.run_windows(&s, 0..s.cells, &LifePlan::new(&s), None, &mut |_| {});
        assert_eq!(r.is_some(), fits, "window {window}, limit 10 000");
    }
    let gs = engine::run(&scene, &mut g, &RunOptions::default(), &mut |_| {}).expect("host path");
    let mut cpu = CpuBackend::new(None);
    let c = engine::run(&scene, &mut cpu, &RunOptions::default(), &mut |_| {}).unwrap();
    let bound = (DECISION_BOUND * scene.cells as f64).ceil() as u64;
    assert!(c.packs.packs.abs_diff(gs.packs.packs) <= bound);
}
