//! `--out DIR`: summary.json plus one CSV per histogram and curve, the same files the app exports,
//! written through [`super::atomic`] so a reader never finds a half-written set.

use super::{Histogram, Summary};
use std::fmt::Write;
use std::path::Path;

fn hist_csv(h: &Histogram) -> String {
    let mut f = String::from("bin_lo,bin_hi,count\n");
    let w = h.bin_width();
    let _ = writeln!(f, "-inf,{},{}", h.lo, h.underflow);
    for (i, c) in h.counts.iter().enumerate() {
        let lo = h.lo + i as f64 * w;
        let _ = writeln!(f, "{lo},{},{c}", lo + w);
    }
    let _ = writeln!(f, "{},inf,{}", h.hi, h.overflow);
    f
}

/// Every histogram of a summary with its table name (`hist_<name>.csv`, the Parquet table's
/// `histogram` column).
pub(super) fn named_histograms(s: &Summary) -> [(&'static str, &Histogram); 8] {
    let h = &s.histograms;
    [
        ("capacity_true", &h.capacity_true_ah),
        ("capacity_measured", &h.capacity_measured_ah),
        ("capacity_scrapped", &h.capacity_scrapped_ah),
        ("dcir_measured", &h.dcir_measured_mohm),
        ("k_measured", &h.k_measured_mv_day),
        ("np_ratio", &h.np_ratio),
        ("pack_initial_capacity", &h.pack_initial_capacity_ah),
        ("pack_life", &h.pack_life_cycles),
    ]
}

/// Every CSV of a summary, by file name.
pub(super) fn csvs(s: &Summary) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, String)> = named_histograms(s)
        .into_iter()
        .map(|(name, hist)| (format!("hist_{name}.csv"), hist_csv(hist)))
        .collect();
    let mut f = String::from("cycles,p5,p50,p95\n");
    let c = &s.packs.fade_curve;
    for i in 0..c.cycles.len() {
        let _ = writeln!(f, "{},{},{},{}", c.cycles[i], c.p5[i], c.p50[i], c.p95[i]);
    }
    out.push(("fade_curve.csv".into(), f));
    let mut f = String::from("stage,cells_in,cells_out,scrapped,yield\n");
    for st in &s.stages {
        let _ = writeln!(
            f,
            "{},{},{},{},{}",
            st.stage.key(),
            st.cells_in,
            st.cells_out,
            st.scrapped,
            st.yield_
        );
    }
    out.push(("stages.csv".into(), f));
    let mut f = String::from("reason,stage,cells,fraction_of_started\n");
    for l in &s.scrap_pareto {
        let _ = writeln!(
            f,
            "{},{},{},{}",
            l.reason.key(),
            l.stage.key(),
            l.cells,
            l.fraction
        );
    }
    out.push(("scrap_pareto.csv".into(), f));
    let mut f = String::from("grade,cells\n");
    for (i, n) in s.grades.iter().enumerate() {
        let _ = writeln!(f, "{i},{n}");
    }
    out.push(("grades.csv".into(), f));
    out.into_iter().map(|(n, t)| (n, t.into_bytes())).collect()
}

/// summary.json and the CSVs into `dir` (created if missing); summary.json lands last and marks
/// the set complete.
pub fn write_out_dir(s: &Summary, dir: &Path) -> std::io::Result<()> {
    let json = serde_json::to_string_pretty(s).map_err(std::io::Error::other)?;
    super::atomic::write_dir(dir, &csvs(s), ("summary.json", json.as_bytes()))
}
