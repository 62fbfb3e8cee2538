//! Whole runs for each matching strategy, and what the GPU cannot hold or loses (errors, not
//! panics).

use super::*;

// ---- whole runs, each matching strategy -----------------------------------------------------------

fn run_parity(matching: &str) {
    let Some(mut g) = gpu() else { return };
    let scene = scene_with(&[
        "cells=200000",
        "pack.life_packs=200",
        &format!("pack.matching=\"{matching}\""),
    ]);
    let mut cpu = CpuBackend::new(None);
    let c: Summary = engine::run(&scene, &mut cpu, &RunOptions::default(), &mut |_| {}).unwrap();
    let gs: Summary =
        engine::run(&scene, &mut *g, &RunOptions::default(), &mut |_| {}).expect("GPU run");
    let (pc, pg) = (&c.packs, &gs.packs);
    eprintln!(
        "{matching}: packs {} vs {}, unpacked {} vs {}, initial P50 {:.5} vs {:.5}, life P5/P50/P95 {:.0}/{:.0}/{:.0} vs {:.0}/{:.0}/{:.0}",
        pc.packs,
        pg.packs,
        pc.unpacked_cells,
        pg.unpacked_cells,
        pc.initial_capacity_ah.p50,
        pg.initial_capacity_ah.p50,
        pc.life_cycles.p5,
        pc.life_cycles.p50,
        pc.life_cycles.p95,
        pg.life_cycles.p5,
        pg.life_cycles.p50,
        pg.life_cycles.p95
    );
    let bound = (DECISION_BOUND * scene.cells as f64).ceil() as u64;
    assert!(
        pc.packs.abs_diff(pg.packs) <= bound,
        "{matching}: packs {} vs {}",
        pc.packs,
        pg.packs
    );
    assert_eq!(pc.life_packs, pg.life_packs);
    assert!((pc.initial_capacity_ah.p50 - pg.initial_capacity_ah.p50).abs() <= 1e-4 * pc.rated_ah);
    let step = f64::from(scene.life.cycles_per_step);
    for (x, y) in [
        (pc.life_cycles.p5, pg.life_cycles.p5),
        (pc.life_cycles.p50, pg.life_cycles.p50),
        (pc.life_cycles.p95, pg.life_cycles.p95),
    ] {
        assert!(
            (x - y).abs() <= 2.0 * step,
            "{matching}: life percentiles {x} vs {y}"
        );
    }
    assert!(
        (c.yield_ - gs.yield_).abs() <= DECISION_BOUND,
        "{matching}: yield"
    );
}

#[test]
fn run_parity_random_matching() {
    run_parity("random");
}

#[test]
fn run_parity_binned_matching() {
    run_parity("binned");
}

#[test]
fn run_parity_sorted_matching() {
    run_parity("sorted");
}

/// Sorting by measured DCIR: the GPU's passed cells carry the measured DCIR the host sorts by.
#[test]
fn run_parity_sorted_dcir_matching() {
    run_parity("sorted_dcir");
}

// ---- errors -------------------------------------------------------------------------------------

/// What the GPU engine cannot hold is an `EngineError::Gpu` with a message, not a panic.
#[test]
fn gpu_limits_are_errors() {
    let Some(mut g) = gpu() else { return };
    let scene = scene_with(&[]);
    let p = LineParams::from_scene(&scene);
    let mut spec = HistSpec::for_params(&p);
    spec.capacity.2 = 5000;
    match g.cell_line(&p, &spec, 0, 1000) {
        Err(engine::EngineError::Gpu(m)) => assert!(m.contains("counters"), "{m}"),
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("5000-bin histograms accepted"),
    }
    // Far beyond the scene limits (1024S64P): a pack whose step alone would exceed the loop budget.
    let a = AgingParams::new(
        scene.chemistry,
        &scene.life,
        &Nominal::from_scene(&scene),
        4000,
        200,
        1,
    );
    let table = RateTable::new(&a, &scene.life);
    let cells = vec![PackCell::default(); 4000 * 200];
    match g.pack_life(&a, &table, &cells, &[Follow::PastEnd]) {
        Err(engine::EngineError::Gpu(m)) => assert!(m.contains("too large"), "{m}"),
        other => panic!("a 4000S200P pack: {:?}", other.map(|v| v.len())),
    }
    // The backend still works after refusing.
    let spec = HistSpec::for_params(&p);
    assert!(g.cell_line(&p, &spec, 0, 1000).is_ok());
}

/// A lost device (here: destroyed under the backend) is an `EngineError::Gpu`, not a panic or a
/// hang.
#[test]
fn lost_device_is_an_error() {
    let Some(_g) = gpu() else { return };
    let scene = scene_with(&[]);
    let p = LineParams::from_scene(&scene);
    let spec = HistSpec::for_params(&p);
    let mut b = GpuBackend::new(AdapterPolicy::Any).expect("GPU backend");
    assert!(b.cell_line(&p, &spec, 0, 10_000).is_ok());
    b.context().device.destroy();
    match b.cell_line(&p, &spec, 0, 10_000) {
        Err(engine::EngineError::Gpu(m)) => eprintln!("after destroy: {m}"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a destroyed device ran the cell line"),
    }
}

/// The app's path: a device opened elsewhere (as eframe opens it, `Limits::default()`) runs the
/// engine with the same results; one opened with WebGL2 limits (eframe on GL) is refused clearly.
#[test]
fn backend_from_a_shared_device() {
    let Some(mut g) = gpu() else { return };
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter =
        pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
            .expect("an adapter");
    let open = |limits: wgpu::Limits| {
        pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("like eframe"),
            required_limits: limits,
            ..Default::default()
        }))
        .expect("a device")
    };
    let scene = scene_with(&[]);
    let p = LineParams::from_scene(&scene);
    let spec = HistSpec::for_params(&p);
    let (device, queue) = open(wgpu::Limits::default());
    let mut shared = GpuBackend::from_device(&adapter, &device, &queue).expect("from_device");
    let a = shared
        .cell_line(&p, &spec, 0, 100_000)
        .expect("cell line on the shared device");
    let b = g.cell_line(&p, &spec, 0, 100_000).expect("cell line");
    assert_eq!(a.stats, b.stats);
    assert_eq!(a.passed, b.passed);
    let (device, queue) = open(wgpu::Limits::downlevel_webgl2_defaults());
    match GpuBackend::from_device(&adapter, &device, &queue) {
        Err(engine::EngineError::NoGpu(m)) => assert!(m.contains("limits"), "{m}"),
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("a device without storage buffers accepted"),
    }
}
