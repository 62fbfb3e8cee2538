//! Pack life on the CPU engine: packs/s for 96S1P NMC and LFP packs from the default line, and
//! the power steps alone (a pack's 96 cells, one law) by their series and by their two powers
//! (`cargo bench --bench pack_life`).

use celltwin::engine::{Backend, cpu::CpuBackend};
use celltwin::model::LineParams;
use celltwin::model::aging::{AgingParams, PowerLaw, PowerStates, RateTable, power_steps};
use celltwin::model::pack::{Follow, PackCell};
use celltwin::scene;
use celltwin::summary::HistSpec;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("pack_life");
    g.sample_size(10);
    for name in ["nmc21700_mature", "lfp_prismatic_mature"] {
        let s = scene::load(Some(name), &[]).expect("scene");
        let p = LineParams::from_scene(&s);
        let mut cpu = CpuBackend::new(None);
        let packs = 64usize;
        let size = s.cells_per_pack() as usize;
        let cells: Vec<PackCell> = cpu
            .cell_line(&p, &HistSpec::for_params(&p), 0, (packs * size * 2) as u64)
            .unwrap()
            .passed
            .into_iter()
            .take(packs * size)
            .collect();
        let a = AgingParams::from_scene(&s);
        let t = RateTable::new(&a, &s.life);
        // As a run's packs: followed to their end (the few kept whole go on past it).
        let follow = vec![Follow::ToEnd; packs];
        g.throughput(Throughput::Elements(packs as u64));
        g.bench_function(format!("{name}_64_packs"), |b| {
            b.iter(|| black_box(cpu.pack_life(&a, &t, &cells, &follow).unwrap().len()))
        });
    }
    g.finish();

    // A pack's cells, the NMC cycling law: 20 steps in (every later step by the series), and
    // the second step (every cell by the two powers: a step's share of its stress-time is ½).
    let mut g = c.benchmark_group("power_steps");
    let law = PowerLaw::new(0.441_996_8);
    let n = 96;
    let k = |step: usize| -> Vec<f32> {
        (0..n)
            .map(|i| 0.3 * (1.0 + 1e-3 * step as f32 + 1e-4 * i as f32))
            .collect()
    };
    let dx: Vec<f32> = (0..n).map(|i| 1e-3 * (1.0 + 1e-3 * i as f32)).collect();
    for (name, steps) in [("series", 20), ("two_powers", 1)] {
        let mut s = PowerStates::new(n);
        for step in 0..steps {
            power_steps(&mut s, &law, &k(step), &dx);
        }
        let next = k(steps);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("{name}_96_cells"), |b| {
            b.iter(|| {
                let mut t = s.clone();
                power_steps(&mut t, &law, &next, &dx);
                black_box(t.loss[0])
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
