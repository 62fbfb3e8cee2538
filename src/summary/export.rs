//! `--out DIR`: summary.json plus one CSV per histogram and curve, the same files the app exports.

use super::{Histogram, Summary};
use std::io::Write;
use std::path::Path;

fn write_hist(dir: &Path, name: &str, h: &Histogram) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join(name))?);
    writeln!(f, "bin_lo,bin_hi,count")?;
    let w = h.bin_width();
    writeln!(f, "-inf,{},{}", h.lo, h.underflow)?;
    for (i, c) in h.counts.iter().enumerate() {
        let lo = h.lo + i as f64 * w;
        writeln!(f, "{lo},{},{c}", lo + w)?;
    }
    writeln!(f, "{},inf,{}", h.hi, h.overflow)?;
    f.flush()
}

/// Every CSV of a summary into `dir` (created if missing).
fn write_csvs(s: &Summary, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let h = &s.histograms;
    for (name, hist) in [
        ("hist_capacity_true.csv", &h.capacity_true_ah),
        ("hist_capacity_measured.csv", &h.capacity_measured_ah),
        ("hist_capacity_scrapped.csv", &h.capacity_scrapped_ah),
        ("hist_dcir_measured.csv", &h.dcir_measured_mohm),
        ("hist_k_measured.csv", &h.k_measured_mv_day),
        ("hist_np_ratio.csv", &h.np_ratio),
        (
            "hist_pack_initial_capacity.csv",
            &h.pack_initial_capacity_ah,
        ),
        ("hist_pack_life.csv", &h.pack_life_cycles),
    ] {
        write_hist(dir, name, hist)?;
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("fade_curve.csv"))?);
    writeln!(f, "cycles,p5,p50,p95")?;
    let c = &s.packs.fade_curve;
    for i in 0..c.cycles.len() {
        writeln!(f, "{},{},{},{}", c.cycles[i], c.p5[i], c.p50[i], c.p95[i])?;
    }
    f.flush()?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("stages.csv"))?);
    writeln!(f, "stage,cells_in,cells_out,scrapped,yield")?;
    for st in &s.stages {
        writeln!(
            f,
            "{},{},{},{},{}",
            st.stage.key(),
            st.cells_in,
            st.cells_out,
            st.scrapped,
            st.yield_
        )?;
    }
    f.flush()?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("scrap_pareto.csv"))?);
    writeln!(f, "reason,stage,cells,fraction_of_started")?;
    for l in &s.scrap_pareto {
        writeln!(
            f,
            "{},{},{},{}",
            l.reason.key(),
            l.stage.key(),
            l.cells,
            l.fraction
        )?;
    }
    f.flush()?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("grades.csv"))?);
    writeln!(f, "grade,cells")?;
    for (i, n) in s.grades.iter().enumerate() {
        writeln!(f, "{i},{n}")?;
    }
    f.flush()
}

/// summary.json and the CSVs.
pub fn write_out_dir(s: &Summary, dir: &Path) -> std::io::Result<()> {
    write_csvs(s, dir)?;
    let json = serde_json::to_string_pretty(s).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("summary.json"), json)
}
