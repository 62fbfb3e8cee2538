//! The cell line on the CPU engine: cells/s through all six stations with statistics and the
//! compaction of passed cells (`cargo bench --bench cell_line`).

use celltwin::engine::{Backend, cpu::CpuBackend, simulate_range};
use celltwin::model::{CellRecord, LineParams};
use celltwin::scene::{self};
use celltwin::summary::HistSpec;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let scene = scene::load(None, &[]).expect("default scene");
    let p = LineParams::from_scene(&scene);
    let spec = HistSpec::for_params(&p);
    let n = 1u64 << 20;
    let mut g = c.benchmark_group("cell_line");
    g.sample_size(20);
    // Physics only, one thread: the per-cell cost.
    let mut out = vec![CellRecord::default(); 1 << 16];
    g.throughput(Throughput::Elements(out.len() as u64));
    g.bench_function("simulate_1thread_64k", |b| {
        b.iter(|| simulate_range(black_box(&p), 0, &mut out))
    });
    // The backend pass: statistics, passed cells out (the buffer handed back, as the engine does);
    // on every core, and on one thread: the per-cell cost of line, statistics and compaction
    // together, without the second core's share of a shared machine's noise.
    g.throughput(Throughput::Elements(n));
    for (name, threads) in [
        ("cpu_backend_1M", None),
        ("cpu_backend_1M_1thread", Some(1)),
    ] {
        let mut cpu = CpuBackend::new(threads);
        g.bench_function(name, |b| {
            b.iter(|| {
                let passed = cpu.cell_line(&p, &spec, 0, n).unwrap().passed;
                let len = black_box(passed.len());
                cpu.recycle(passed);
                len
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
