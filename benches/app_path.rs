//! The app's path, end to end on the CPU engine: what a slider change costs before its picture is
//! on screen (`cargo bench --bench app_path`). The preview is the app's (`Scene::preview`: 10⁵
//! cells, at most 250 packs kept whole) of the default scene and the full run 10⁶ cells, each
//! with every pack aged and the app's chunk size; the speed issue's budgets are 50 ms and 300 ms.
//! Measured, never asserted.

use celltwin::engine::{self, RunOptions, cpu::CpuBackend};
use celltwin::scene;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("app_path");
    g.sample_size(10);
    let mut cpu = CpuBackend::new(None);
    let default = scene::load(None, &[]).expect("default scene");
    let mut full = default.clone();
    full.cells = 1_000_000;
    for (name, mut s) in [
        ("preview_1e5_every_pack", default.preview()),
        ("full_1e6_every_pack", full),
    ] {
        s.pack.life_packs = scene::LifePacks::All;
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
