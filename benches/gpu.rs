//! Criterion benches of the GPU engine: the cell line (1 M cells a dispatch: generation, stats,
//! ordered compaction, read-back) and pack life (64 packs of the default scene). Skips with a
//! message when there is no adapter; on lavapipe it measures the software rasteriser.

use celltwin::engine::Backend;
use celltwin::gpu::{AdapterPolicy, GpuBackend};
use celltwin::model::LineParams;
use celltwin::model::aging::{AgingParams, RateTable};
use celltwin::model::pack::Follow;
use celltwin::summary::HistSpec;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn gpu_benches(c: &mut Criterion) {
    let mut gpu = match GpuBackend::new(AdapterPolicy::Any) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("benches/gpu: SKIPPED, no GPU adapter: {e}");
            return;
        }
    };
    eprintln!("benches/gpu on {}", gpu.device());
    let scene = celltwin::scene::load(None, &[]).expect("default scene");
    let p = LineParams::from_scene(&scene);
    let spec = HistSpec::for_params(&p);
    let n = 1u64 << 20;

    let mut g = c.benchmark_group("gpu");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("cell_line_1M", |b| {
        b.iter(|| {
            gpu.cell_line(&p, &spec, 0, n)
                .expect("cell line")
                .passed
                .len()
        })
    });

    let cells = gpu.cell_line(&p, &spec, 0, 20_000).expect("cells").passed;
    let size = scene.cells_per_pack() as usize;
    let packs = (cells.len() / size).min(64);
    let cells = &cells[..packs * size];
    let a = AgingParams::from_scene(&scene);
    let table = RateTable::new(&a, &scene.life);
    let follow = vec![Follow::ToEnd; packs];
    g.throughput(Throughput::Elements(packs as u64));
    g.bench_function("pack_life_64_packs", |b| {
        b.iter(|| {
            gpu.pack_life(&a, &table, cells, &follow)
                .expect("pack life")
                .len()
        })
    });
    g.finish();
    eprintln!(
        "benches/gpu: peak device memory {:.1} MiB",
        gpu.device_memory().unwrap_or(0) as f64 / 1048576.0
    );
}

criterion_group!(benches, gpu_benches);
criterion_main!(benches);
