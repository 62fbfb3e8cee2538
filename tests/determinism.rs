//! One model, one answer: the summary does not depend on thread count or chunk size.

mod common;
use common::*;

/// The summary as JSON without what legitimately differs between runs (timing, device).
fn comparable(s: &celltwin::summary::Summary) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap();
    let o = v.as_object_mut().unwrap();
    for k in ["elapsed_s", "line_s", "cells_per_s", "device"] {
        assert!(o.remove(k).is_some(), "summary has `{k}`");
    }
    v
}

#[test]
fn same_summary_for_any_thread_count_and_chunk_size() {
    // Ramp-up spreads so that every scrap reason and the pack life (with shorts) are exercised;
    // a window that does not divide the run so that matching crosses chunk boundaries.
    let s = scene(
        Some("nmc21700_ramp_up"),
        &[
            "cells=300000",
            "pack.window=7001",
            "pack.life_packs=60",
            "life.short_hazard=1e-3",
        ],
    );
    let reference = comparable(&run_with(&s, 1, 1 << 20));
    for (threads, chunk) in [
        (2, 1 << 20),
        (8, 1 << 20),
        (2, 10_007),
        (8, 65_536),
        (1, 4_099),
    ] {
        let got = comparable(&run_with(&s, threads, chunk));
        assert!(
            got == reference,
            "summary differs with {threads} threads, chunk {chunk}"
        );
    }
}

#[test]
fn different_seeds_give_different_cells() {
    let a = comparable(&run(&scene(None, &["cells=50000", "pack.life_packs=0"])));
    let b = comparable(&run(&scene(
        None,
        &["cells=50000", "pack.life_packs=0", "seed=2"],
    )));
    assert!(a["capacity"] != b["capacity"]);
}

/// A raised cancel flag stops a run between chunks with `Cancelled` (what the app's newest-wins
/// relies on), and the same engine then runs the next request normally.
#[test]
fn a_cancelled_run_stops_and_the_next_one_runs() {
    use celltwin::engine::{self, EngineError, RunOptions, cpu::CpuBackend};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let s = scene(None, &["cells=2000000", "pack.life_packs=50"]);
    let mut b = CpuBackend::new(Some(2));
    let cancel = Arc::new(AtomicBool::new(false));
    let opts = RunOptions {
        chunk: 1 << 16,
        cancel: Some(cancel.clone()),
    };
    let mut chunks = 0;
    let r = engine::run(&s, &mut b, &opts, &mut |p| {
        if p.cells_done < p.cells_total {
            chunks += 1;
        }
        if chunks == 3 {
            cancel.store(true, Ordering::Relaxed);
        }
    });
    assert!(
        matches!(r, Err(EngineError::Cancelled)),
        "expected Cancelled"
    );
    assert_eq!(
        chunks, 3,
        "stopped right after the chunk that raised the flag"
    );
    cancel.store(false, Ordering::Relaxed);
    let small = scene(None, &["cells=50000", "pack.life_packs=10"]);
    assert!(engine::run(&small, &mut b, &opts, &mut |_| {}).is_ok());
}

/// A cancel raised while a window's packs are in life stops the run before the next batch of
/// packs (the app's slider waits at most one batch, not a window's worth of packs): a backend
/// that raises the flag during its first `pack_life` is asked for no second one. The run is one
/// chunk and one window of 1 012 packs, four batches of 256, so without the check between
/// batches the flag would be read only after all four.
#[test]
fn a_cancel_during_pack_life_stops_before_the_next_batch() {
    use celltwin::engine::{self, Backend, ChunkResult, EngineError, RunOptions, cpu::CpuBackend};
    use celltwin::model::pack::{Follow, PackCell, PackLife};
    use celltwin::model::{LineParams, aging::AgingParams, aging::RateTable};
    use celltwin::summary::HistSpec;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// The CPU backend, raising `cancel` in its first `pack_life` and counting the calls.
    struct RaiseInLife {
        cpu: CpuBackend,
        cancel: Arc<AtomicBool>,
        calls: usize,
    }
    impl Backend for RaiseInLife {
        fn kind(&self) -> &'static str {
            self.cpu.kind()
        }
        fn device(&self) -> String {
            self.cpu.device()
        }
        fn cell_line(
            &mut self,
            p: &LineParams,
            spec: &HistSpec,
            start: u64,
            count: u64,
        ) -> Result<ChunkResult, EngineError> {
            self.cpu.cell_line(p, spec, start, count)
        }
        fn pack_life(
            &mut self,
            a: &AgingParams,
            table: &RateTable,
            cells: &[PackCell],
            follow: &[Follow],
        ) -> Result<Vec<PackLife>, EngineError> {
            self.calls += 1;
            self.cancel.store(true, Ordering::Relaxed);
            self.cpu.pack_life(a, table, cells, follow)
        }
    }

    let s = scene(None, &["cells=100000", "pack.window=100000"]);
    let cancel = Arc::new(AtomicBool::new(false));
    let mut b = RaiseInLife {
        cpu: CpuBackend::new(Some(2)),
        cancel: cancel.clone(),
        calls: 0,
    };
    let opts = RunOptions {
        chunk: 1 << 20,
        cancel: Some(cancel.clone()),
    };
    let r = engine::run(&s, &mut b, &opts, &mut |_| {});
    assert!(
        matches!(r, Err(EngineError::Cancelled)),
        "expected Cancelled"
    );
    assert_eq!(b.calls, 1, "pack-life batches asked for after the flag");
    // The same run without a cancel needs more than one batch, so the count above is the check's.
    cancel.store(false, Ordering::Relaxed);
    let mut plain = CpuBackend::new(Some(2));
    let whole = engine::run(&s, &mut plain, &RunOptions::default(), &mut |_| {}).expect("run");
    assert!(
        whole.packs.life_packs > 256,
        "{} packs",
        whole.packs.life_packs
    );
}
