//! The app's path, end to end on the CPU engine: what a slider change costs before its picture is
//! on screen (`cargo bench --bench app_path`). The preview is 10⁵ cells of the default scene and
//! the full run 10⁶, each with every pack aged and the app's chunk size; the speed issue's budgets
//! are 50 ms and 300 ms. Measured, never asserted.

use celltwin::engine::{self, RunOptions, cpu::CpuBackend};
use celltwin::scene;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("app_path");
    g.sample_size(10);
    let mut cpu = CpuBackend::new(None);
    for (name, cells) in [
        ("preview_1e5_every_pack", 100_000u64),
        ("full_1e6_every_pack", 1_000_000),
    ] {
        let mut s = scene::load(None, &[]).expect("default scene");
        s.cells = cells;
        s.pack.life_packs = scene::LifePacks::All;
        s.pack.window = s.pack.window.min(cells);
        // The app's CPU chunk (`app::worker::APP_CHUNK`): small enough for a prompt cancel.
        let opts = RunOptions {
            chunk: 1 << 16,
            cancel: None,
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                let s = engine::run(&s, &mut cpu, &opts, &mut |_| {}).expect("run");
                black_box(s.packs.life_cycles.p50)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
