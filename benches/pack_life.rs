//! Pack life on the CPU engine: packs/s for 96S1P NMC and LFP packs from the default line
//! (`cargo bench --bench pack_life`).

use celltwin::engine::{Backend, cpu::CpuBackend};
use celltwin::model::LineParams;
use celltwin::model::aging::{AgingParams, RateTable};
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
}

criterion_group!(benches, bench);
criterion_main!(benches);
