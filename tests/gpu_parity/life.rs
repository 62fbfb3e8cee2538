//! Pack life on the GPU against the CPU's, pack by pack, and its independence of the workgroup
//! size and the steps per dispatch.

use super::*;

// ---- pack life ----------------------------------------------------------------------------------

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Pack by pack on the same cells: reasons agree for nearly every pack and cycles within a step
/// or two; curves within 1e-3 of rated.
#[test]
fn pack_life_matches_cpu() {
    let Some(mut g) = gpu() else { return };
    for (name, sets) in [
        (None, vec![]),
        (None, vec!["line.spread_scale=3", "line.defect_scale=20"]),
        // The energy duty (deeper swings as the pack fades), power end of life at a low limit,
        // a slow coolant and a hot tab: every branch of the step the defaults leave idle.
        (
            None,
            vec![
                "life.duty=energy",
                "life.eol_resistance_factor=1.15",
                "life.coolant_flow_kg_s=0.005",
                "life.tab_heat_k_per_w=50",
                "life.c_rate=1",
                "line.spread_scale=2",
            ],
        ),
        (
            Some("lfp_prismatic_mature"),
            vec!["pack.parallel=3", "pack.series=20"],
        ),
        // LFP 96S1P lives ~600 steps: far past lavapipe's per-invocation loop limit in one
        // dispatch (it once ended every pack at the cycle cap).
        (Some("lfp_prismatic_mature"), vec![]),
    ] {
        let scene = match scene::load(
            name,
            &sets.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ) {
            Ok(s) => s,
            Err(e) => panic!("scene {sets:?}: {e}"),
        };
        let p = LineParams::from_scene(&scene);
        let spec = HistSpec::for_params(&p);
        let mut cpu = CpuBackend::new(None);
        let size = scene.cells_per_pack() as usize;
        let cells: Vec<PackCell> = cpu.cell_line(&p, &spec, 0, 60_000).unwrap().passed;
        let packs = (cells.len() / size).min(300);
        let cells = &cells[..packs * size];
        let a = AgingParams::from_scene(&scene);
        let table = RateTable::new(&a, &scene.life);
        // Every third pack followed past its end (as a kept pack), the rest to it: both kinds in
        // one batch, each pack told apart by its bit.
        let follow: Vec<Follow> = (0..packs).map(|k| Follow::kept(k % 3 == 0)).collect();
        let c: Vec<PackLife> = cpu.pack_life(&a, &table, cells, &follow).unwrap();
        let gl: Vec<PackLife> = g
            .pack_life(&a, &table, cells, &follow)
            .expect("pack life on the GPU");
        assert_eq!(c.len(), gl.len());
        let step = a.cycles_per_step as u32;
        let (mut reason_diff, mut max_cyc, mut max_curve) = (0, 0u32, 0.0f32);
        let (mut max_share, mut max_len) = (0.0f32, 0usize);
        for (x, y) in c.iter().zip(&gl) {
            if x.reason != y.reason {
                reason_diff += 1;
                continue;
            }
            max_cyc = max_cyc.max(x.cycles.abs_diff(y.cycles));
            // A pack stopped at its end has a curve about half as long as one followed on to
            // `stop_fraction`: a pack followed the wrong way is tens of steps off.
            max_len = max_len.max(x.curve.len().abs_diff(y.curve.len()));
            max_share = max_share.max((x.calendar_share - y.calendar_share).abs());
            for (u, v) in x.curve.iter().zip(&y.curve) {
                max_curve = max_curve.max((u - v).abs());
            }
        }
        let shorts = c.iter().filter(|l| l.reason == EndOfLife::Short).count();
        let mut cc: Vec<f64> = c.iter().map(|l| l.cycles as f64).collect();
        let mut gc: Vec<f64> = gl.iter().map(|l| l.cycles as f64).collect();
        let pc: Vec<f64> = [0.05, 0.5, 0.95]
            .iter()
            .map(|&q| percentile(&mut cc, q))
            .collect();
        let pg: Vec<f64> = [0.05, 0.5, 0.95]
            .iter()
            .map(|&q| percentile(&mut gc, q))
            .collect();
        eprintln!(
            "pack life {name:?} {sets:?}: {packs} packs, {shorts} shorts, reasons differ {reason_diff}, max |Δcycles| {max_cyc}, \
             max |Δcurve| {max_curve:e}, max |Δcurve length| {max_len}, max |Δcalendar share| {max_share:e}, P5/P50/P95 CPU {pc:?} GPU {pg:?}"
        );
        assert!(
            reason_diff <= 1 + packs / 100,
            "{reason_diff} packs end for another reason"
        );
        assert!(max_cyc <= 2 * step, "cycles differ by {max_cyc}");
        assert!(max_len <= 2, "curves' lengths differ by {max_len} steps");
        assert!(max_curve <= 1e-3, "curves differ by {max_curve}");
        assert!(max_share <= 2e-3, "calendar shares differ by {max_share}");
        for (x, y) in pc.iter().zip(&pg) {
            assert!(
                (x - y).abs() <= f64::from(step),
                "percentiles {pc:?} vs {pg:?}"
            );
        }
    }
}

/// Pack life does not depend on how many invocations share a pack (each owns whole groups and
/// sums them in the CPU's order, and the pack-wide reductions are minima) nor on how many steps
/// one dispatch runs (each pack continues from its saved state).
#[test]
fn pack_life_independent_of_workgroup_and_steps_per_dispatch() {
    let Some(mut g) = gpu() else { return };
    let scene = scene_with(&["line.spread_scale=3", "line.defect_scale=20"]);
    let p = LineParams::from_scene(&scene);
    let spec = HistSpec::for_params(&p);
    let size = scene.cells_per_pack() as usize;
    let cells = g.cell_line(&p, &spec, 0, 20_000).expect("cells").passed;
    let cells = &cells[..(cells.len() / size).min(64) * size];
    let a = AgingParams::from_scene(&scene);
    let table = RateTable::new(&a, &scene.life);
    let follow: Vec<Follow> = (0..cells.len() / size)
        .map(|k| Follow::kept(k % 2 == 1))
        .collect();
    let reference = g.pack_life(&a, &table, cells, &follow).expect("pack life");
    for (pwg, steps) in [
        (1, None),
        (2, Some(7)),
        (32, None),
        (64, Some(1)),
        (8, Some(500)),
    ] {
        let mut other = GpuBackend::new(AdapterPolicy::Any)
            .expect("second GPU backend")
            .with_pack_workgroup(pwg);
        if let Some(k) = steps {
            other = other.with_pack_steps(k);
        }
        let lives = other
            .pack_life(&a, &table, cells, &follow)
            .expect("pack life");
        for (k, (x, y)) in lives.iter().zip(&reference).enumerate() {
            if x != y && std::env::var("PARITY_DEBUG").is_ok() {
                let d = x.curve.iter().zip(&y.curve).position(|(u, v)| u != v);
                eprintln!(
                    "pwg {pwg} pack {k}: {} {:?} len {} vs {} {:?} len {}; first curve diff at {d:?}",
                    x.cycles,
                    x.reason,
                    x.curve.len(),
                    y.cycles,
                    y.reason,
                    y.curve.len()
                );
            }
        }
        assert_eq!(
            lives, reference,
            "{pwg} invocations per pack, {steps:?} steps a dispatch"
        );
    }
}
