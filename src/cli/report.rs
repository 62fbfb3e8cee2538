//! Readable text: the run summary, the sweep table, the bench report.

use super::{CliError, peak_rss};
use crate::attribution::Attribution;
use crate::engine::{self, Backend, RunOptions};
use crate::model::LineParams;
use crate::model::pack::Follow;
use crate::scene::Scene;
use crate::summary::{HistSpec, Stat, Summary};
use crate::sweep::SweepRow;
use std::fmt::Write;
use std::time::Instant;

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

fn stat(s: &Stat, unit: &str) -> String {
    format!(
        "mean {:.4} {unit}  SD {:.4}  CV {:.3} %",
        s.mean,
        s.sd,
        100.0 * s.cv
    )
}

fn opt(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{v:.2}"))
}

/// The run summary as people read it.
pub fn text(s: &Summary, scene: &Scene) -> String {
    let mut o = String::new();
    let w = &mut o;
    line_text(w, s);
    cells_text(w, s);
    defects_text(w, s);
    packs_text(w, s, scene);
    cost_text(w, s, scene);
    let _ = writeln!(
        w,
        "\nElapsed {:.2} s (line {:.2} s), {:.2} M cells/s",
        s.elapsed_s,
        s.line_s,
        s.cells_per_s / 1e6
    );
    o
}

/// The header and the flow through each station.
fn line_text(w: &mut String, s: &Summary) {
    let _ = writeln!(
        w,
        "celltwin — {} ({:?}), {} cells, seed {}",
        s.scene, s.chemistry, s.cells, s.seed
    );
    let _ = writeln!(w, "backend {} ({})", s.backend, s.device);
    let _ = writeln!(
        w,
        "\nLine                      in         out     scrap   yield   scrap by reason"
    );
    for st in &s.stages {
        let reasons: Vec<String> = st
            .scrap_by_reason
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            w,
            "  {:<20} {:>10} {:>10} {:>8} {:>8}   {}",
            st.label,
            st.cells_in,
            st.cells_out,
            st.scrapped,
            pct(st.yield_),
            reasons.join(", ")
        );
    }
    let _ = writeln!(w, "  first-pass yield {}", pct(s.yield_));
}

/// The end-of-line characteristics, their limits and capability.
fn cells_text(w: &mut String, s: &Summary) {
    let _ = writeln!(w, "\nCells tested at end of line");
    for (name, c) in [("capacity", &s.capacity), ("DCIR", &s.dcir)] {
        let _ = writeln!(w, "  {name:<9} true      {}", stat(&c.true_, c.unit));
        let _ = writeln!(w, "  {:<9} measured  {}", "", stat(&c.measured, c.unit));
        let _ = writeln!(
            w,
            "  {:<9} limits {} / {}  Cp {}  Cpk {}",
            "",
            opt(c.lower_limit),
            opt(c.upper_limit),
            opt(c.cp),
            opt(c.cpk)
        );
    }
    let _ = writeln!(
        w,
        "  K-value   measured  {}  limit {:.3}  Cpk {}",
        stat(&s.k_value.measured, "mV/day"),
        s.k_value.upper_limit.unwrap_or(f64::NAN),
        opt(s.k_value.cpk)
    );
    let _ = writeln!(w, "  N/P       {}", stat(&s.np_ratio, ""));
    let _ = writeln!(w, "  grades (capacity bins, low→high): {:?}", s.grades);
}

/// Latent defects and overhang breaches, made, caught and escaped.
fn defects_text(w: &mut String, s: &Summary) {
    let d = &s.defects;
    let _ = writeln!(
        w,
        "\nLatent defects: {} made, {} caught, {} escaped ({:.0} ppm of passed cells); \
         in life-simulated packs: {} cells in {} packs",
        d.latent,
        d.caught,
        d.escaped,
        d.escaped_ppm,
        d.escaped_in_life_packs,
        d.life_packs_with_defect
    );
    let _ = writeln!(
        w,
        "Overhang breaches: {} made, {} escaped X-ray; passed cells that will plate: {}",
        d.overhang_breaches, d.breaches_escaped, d.plating_passed
    );
}

/// Packs: initial capacity, life in cycles, years and equivalent full cycles, end-of-life reasons.
fn packs_text(w: &mut String, s: &Summary, scene: &Scene) {
    let p = &s.packs;
    let _ = writeln!(
        w,
        "\nPacks {} ({:?} matching, window {}): {} packs, {} cells unpacked",
        p.topology, p.matching, p.window, p.packs, p.unpacked_cells
    );
    let _ = writeln!(
        w,
        "  initial capacity  mean {:.3} Ah ({} of rated {:.2} Ah)  P5 {:.3}  P50 {:.3}  P95 {:.3}",
        p.initial_capacity_ah.mean,
        pct(p.initial_capacity_fraction),
        p.rated_ah,
        p.initial_capacity_ah.p5,
        p.initial_capacity_ah.p50,
        p.initial_capacity_ah.p95
    );
    let _ = writeln!(
        w,
        "  life to {:.0} % ({} packs simulated{}, {} cycles/day at {} C)  P5 {:.0}  P50 {:.0}  P95 {:.0} cycles",
        100.0 * scene.life.eol_fraction,
        p.life_packs,
        match p.life_every {
            0 | 1 => String::new(),
            k => format!(": 1 in {k} pack slots"),
        },
        scene.life.cycles_per_day,
        scene.life.c_rate,
        p.life_cycles.p5,
        p.life_cycles.p50,
        p.life_cycles.p95
    );
    let _ = writeln!(
        w,
        "    = P5 {:.1}  P50 {:.1}  P95 {:.1} years;  P50 {:.0} equivalent full cycles; \
         loss at end of life {:.0} % calendar, {:.0} % cycling (P50)",
        p.life_years.p5,
        p.life_years.p50,
        p.life_years.p95,
        p.life_efc.p50,
        100.0 * p.life_calendar_share.p50,
        100.0 * (1.0 - p.life_calendar_share.p50)
    );
    let _ = writeln!(
        w,
        "    nominal cell aged alone {:.0} cycles: pack P50 is {:.1} % below it \
         (rule of thumb 20–30 %)",
        p.nominal_cell_life_cycles,
        100.0 * p.p50_below_cell
    );
    let reasons: Vec<String> = p
        .eol_reasons
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(w, "  end of life by: {}", reasons.join(", "));
}

/// Cost per cell and per kWh, and the learning curve.
fn cost_text(w: &mut String, s: &Summary, scene: &Scene) {
    let c = &s.cost;
    let _ = writeln!(
        w,
        "\nCost: {:.3} USD per started cell, {:.3} per good cell, {:.1} USD/kWh of good cells; scrap {} of spend\n      \
         learning curve: ×{:.3} at {:.0} GWh cumulative ({:.0} % per doubling from {:.0} GWh)",
        c.per_started_cell_usd,
        c.per_good_cell_usd,
        c.per_kwh_good_usd,
        pct(c.scrap_share),
        c.learning_factor,
        scene.cost.cumulative_gwh,
        100.0 * scene.cost.learning_rate,
        scene.cost.reference_gwh
    );
}

/// Where the lost life went, as a waterfall table.
pub fn attribution(a: &Attribution) -> String {
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(
        w,
        "celltwin attribute — {}, {} cells, seed {}: {} ({} runs, {} packs aged each)",
        a.scene, a.cells, a.seed, a.method, a.runs, a.life_packs
    );
    let _ = writeln!(
        w,
        "\n  {:<36} {:>9} {:>7} {:>9} {:>7} {:>7}",
        "cycles", "P50", "± SE", "P5", "± SE", "P50 yr"
    );
    let row = |w: &mut String, name: &str, p50: f64, se: f64, p5: f64, se5: f64| {
        let _ = writeln!(
            w,
            "  {name:<36} {p50:>9.1} {se:>7.1} {p5:>9.1} {se5:>7.1} {:>7.2}",
            p50 / a.cycles_per_year
        );
    };
    let n = a.nominal_cell_life_cycles;
    row(w, "nominal cell, aged alone", n, 0.0, n, 0.0);
    for s in &a.sources {
        row(
            w,
            &format!("  lost to {}", s.name),
            s.p50_cycles,
            s.se_cycles,
            s.p5_cycles,
            s.p5_se_cycles,
        );
    }
    row(
        w,
        "pack life",
        a.pack_life_p50_cycles,
        0.0,
        a.pack_life_p5_cycles,
        0.0,
    );
    let _ = writeln!(
        w,
        "\n  Nominal cell less every loss = pack life; a negative loss is a gain. Shapley shares; SE by batch means over {} batches \
         of packs.",
        crate::attribution::BATCHES
    );
    o
}

/// The headline table of a sweep.
pub fn sweep_table(param: &str, rows: &[SweepRow]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{param:>28}  yield    cap CV   DCIR CV  pack Q0   life P5  P50    P95    USD/kWh  escaped ppm"
    );
    for r in rows {
        let _ = writeln!(
            o,
            "{:>28}  {:6.2}%  {:6.3}%  {:6.2}%  {:6.2}%  {:7.0}  {:5.0}  {:5.0}  {:7.2}  {:8.0}",
            r.value,
            100.0 * r.yield_,
            100.0 * r.capacity_cv,
            100.0 * r.dcir_cv,
            100.0 * r.pack_initial_fraction,
            r.life_p5,
            r.life_p50,
            r.life_p95,
            r.cost_per_kwh,
            r.escaped_defects_ppm
        );
    }
    o
}

/// What `celltwin bench` measured (its `--json` form).
#[derive(Debug, serde::Serialize)]
pub struct Bench {
    pub scene: String,
    pub cells: u64,
    pub backend: &'static str,
    pub device: String,
    /// First call of each pass (device, pipelines, buffers: a whole chunk of the line), s.
    pub setup_s: f64,
    /// The cell line alone: generation, statistics, compaction of passed cells.
    pub line_cells_per_s: f64,
    pub passed: u64,
    /// Line and matching into packs: a run of the scene with no pack aged.
    pub matching_cells_per_s: f64,
    pub packs: u64,
    /// Pack life of the scene's aged packs: their count over the end-to-end time less the
    /// no-life run's (the same measure on both backends; the GPU ages packs inside its run).
    pub pack_life_packs_per_s: f64,
    pub life_packs: u64,
    /// Of those, the packs kept whole (followed past their end of life for the fade band).
    pub kept_packs: u64,
    /// Cell-years of aging simulated per second of pack life (packs × cells × years lived).
    pub cell_years_per_s: f64,
    /// The whole run of the scene, s.
    pub end_to_end_s: f64,
    /// The app's path: its preview of the scene (10⁵ cells, every pack aged), s, the median of
    /// [`PREVIEW_RUNS`] runs.
    pub preview_s: f64,
    /// 10⁶ cells of the scene, every pack aged, s, the median of [`FULL_RUNS`] runs.
    pub full_s: f64,
    pub peak_device_memory_bytes: Option<u64>,
    pub peak_host_memory_bytes: Option<u64>,
    /// The end-to-end run's bytes read back from the device per cell (GPU; null for the CPU):
    /// on the device-resident path, statistics and per-pack results.
    pub readback_bytes_per_cell: Option<f64>,
    /// The end-to-end run's bytes uploaded to the device per cell (GPU; null for the CPU).
    pub upload_bytes_per_cell: Option<f64>,
    /// The cell line pass alone (pass 1): bytes read back per cell, every passed-cell slot of a
    /// chunk included — what the host path pays.
    pub line_pass_readback_bytes_per_cell: Option<f64>,
}

/// `celltwin bench`: each pass alone, end to end, and the app's two run sizes with every pack aged.
pub fn bench(scene: &Scene, backend: &mut dyn Backend) -> Result<Bench, CliError> {
    let p = LineParams::from_scene(scene);
    let spec = HistSpec::for_params(&p);
    // Setup: the first call of each pass makes the GPU's pipelines and buffers (shader compilation
    // on the device) and the CPU's result buffer (a whole chunk: its first touch of ≈ 50 MB of
    // fresh pages was 17 ms of the first chunk's 64, the steady ones' 45–50); timed apart so
    // that the passes below measure steady throughput.
    let t = Instant::now();
    let warm = backend
        .cell_line(&p, &spec, 0, engine::DEFAULT_CHUNK.min(scene.cells))?
        .passed;
    let pack_size = scene.cells_per_pack() as usize;
    if warm.len() >= pack_size {
        let aging = crate::model::aging::AgingParams::from_scene(scene);
        let table = crate::model::aging::RateTable::new(&aging, &scene.life);
        backend.pack_life(&aging, &table, &warm[..pack_size], &[Follow::PastEnd])?;
    }
    backend.recycle(warm);
    let setup_s = t.elapsed().as_secs_f64();
    // Pass 1: the cell line alone, with the bytes it moves over the bus.
    let moved0 = backend.transfers();
    let t = Instant::now();
    let mut start = 0;
    let mut passed = 0u64;
    while start < scene.cells {
        let n = engine::DEFAULT_CHUNK.min(scene.cells - start);
        let res = backend.cell_line(&p, &spec, start, n)?;
        passed += res.passed.len() as u64;
        // As the engine does: the buffer goes back for the next chunk.
        backend.recycle(res.passed);
        start += n;
    }
    let line = t.elapsed().as_secs_f64();
    let per_cell = |b: Option<engine::Transfers>, a: Option<engine::Transfers>| {
        b.zip(a).map(|(b, a)| {
            let n = scene.cells.max(1) as f64;
            (
                (b.read_back - a.read_back) as f64 / n,
                (b.uploaded - a.uploaded) as f64 / n,
            )
        })
    };
    let line_moved = per_cell(backend.transfers(), moved0);
    // Pass 2: line and matching, no pack aged.
    let mut no_life = scene.clone();
    no_life.pack.life_packs = crate::scene::LifePacks::Sample(0);
    let t = Instant::now();
    engine::run(&no_life, backend, &RunOptions::default(), &mut |_| {})?;
    let matched_s = t.elapsed().as_secs_f64();
    // End to end: line, matching, pack life, summary, with the bytes it moves.
    let moved0 = backend.transfers();
    let t = Instant::now();
    let s = engine::run(scene, backend, &RunOptions::default(), &mut |_| {})?;
    let total = t.elapsed().as_secs_f64();
    let moved = per_cell(backend.transfers(), moved0);
    let life = (total - matched_s).max(1e-9);
    let cell_years = s.packs.life_packs as f64
        * scene.cells_per_pack() as f64
        * s.packs.life_years.mean.max(0.0);
    let (preview_s, full_s) = app_path(scene, backend)?;
    Ok(Bench {
        scene: scene.name.clone(),
        cells: scene.cells,
        backend: backend.kind(),
        device: backend.device(),
        setup_s,
        line_cells_per_s: scene.cells as f64 / line,
        passed,
        matching_cells_per_s: scene.cells as f64 / matched_s,
        packs: s.packs.packs,
        pack_life_packs_per_s: s.packs.life_packs as f64 / life,
        life_packs: s.packs.life_packs,
        kept_packs: s.packs.fade_band_packs,
        cell_years_per_s: cell_years / life,
        end_to_end_s: total,
        preview_s,
        full_s,
        peak_device_memory_bytes: backend.device_memory(),
        peak_host_memory_bytes: peak_rss(),
        readback_bytes_per_cell: moved.map(|m| m.0),
        upload_bytes_per_cell: moved.map(|m| m.1),
        line_pass_readback_bytes_per_cell: line_moved.map(|m| m.0),
    })
}

/// Runs of the preview whose median is `preview_s`: one run of ~50 ms on a shared machine
/// varied by ±10 % from one bench to the next.
pub const PREVIEW_RUNS: usize = 5;
/// Runs of the 10⁶-cell run whose median is `full_s`.
pub const FULL_RUNS: usize = 3;

/// The app's path: its preview of this scene ([`Scene::preview`]: 10⁵ cells) and a run of 10⁶
/// cells, every pack aged: the median seconds of [`PREVIEW_RUNS`] and [`FULL_RUNS`] runs.
fn app_path(scene: &Scene, backend: &mut dyn Backend) -> Result<(f64, f64), CliError> {
    let mut timed = |mut s: Scene, runs: usize| -> Result<f64, CliError> {
        s.pack.life_packs = crate::scene::LifePacks::All;
        let mut secs = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            engine::run(&s, backend, &RunOptions::default(), &mut |_| {})?;
            secs.push(t.elapsed().as_secs_f64());
        }
        secs.sort_by(f64::total_cmp);
        Ok(secs[runs / 2])
    };
    let mut full = scene.clone();
    full.cells = 1_000_000;
    full.pack.window = full.pack.window.min(full.cells).max(full.cells_per_pack());
    Ok((
        timed(scene.preview(), PREVIEW_RUNS)?,
        timed(full, FULL_RUNS)?,
    ))
}

/// The bench as people read it.
pub fn bench_text(b: &Bench, scene: &Scene) -> String {
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(
        w,
        "celltwin bench: {} cells of {}, backend {} ({})",
        b.cells, b.scene, b.backend, b.device
    );
    let _ = writeln!(
        w,
        "  setup          {:8.3} s  (device, pipelines, buffers: a first chunk of each pass)",
        b.setup_s
    );
    let _ = writeln!(
        w,
        "  cell line      {:8.2} M cells/s  ({} passed)",
        b.line_cells_per_s / 1e6,
        b.passed
    );
    let _ = writeln!(
        w,
        "  line+matching  {:8.2} M cells/s  ({} packs)",
        b.matching_cells_per_s / 1e6,
        b.packs
    );
    let _ = writeln!(
        w,
        "  pack life      {:8.1} packs/s   ({} packs × {} cells, to end of life or {} cycles, \
         the {} kept whole on to {:.0} %; {:.0} cell-years/s)",
        b.pack_life_packs_per_s,
        b.life_packs,
        scene.cells_per_pack(),
        scene.life.max_cycles,
        b.kept_packs,
        100.0 * (scene.life.eol_fraction - 0.1),
        b.cell_years_per_s
    );
    let _ = writeln!(w, "  end to end     {:8.3} s", b.end_to_end_s);
    let _ = writeln!(
        w,
        "  app path       preview {:.3} s (10⁵ cells, every pack), full {:.3} s (10⁶ cells, every pack); medians of {PREVIEW_RUNS} and {FULL_RUNS} runs",
        b.preview_s, b.full_s
    );
    if let (Some(r), Some(u)) = (b.readback_bytes_per_cell, b.upload_bytes_per_cell) {
        let _ = writeln!(
            w,
            "  bus            {r:8.2} B/cell read back, {u:.4} B/cell uploaded (end to end)"
        );
    }
    if let Some(r) = b.line_pass_readback_bytes_per_cell {
        let _ = writeln!(
            w,
            "                 {r:8.2} B/cell read back by the cell line pass alone"
        );
    }
    if let Some(bytes) = b.peak_device_memory_bytes {
        let _ = writeln!(
            w,
            "  peak device memory {:.1} MiB (GPU buffers held at once)",
            bytes as f64 / 1048576.0
        );
    }
    if let Some(rss) = b.peak_host_memory_bytes {
        let _ = writeln!(w, "  peak host memory {:.1} MiB", rss as f64 / 1048576.0);
    }
    o
}
