//! `--format parquet`: the run's tables as Parquet files (the arrow-rs `parquet` crate's column
//! writer, Snappy pages), for analysts who load results in pandas or polars:
//!
//! - `packs.parquet`: one row per aged pack (the life sample): its slot id, window, its cells'
//!   indices, initial capacity, life in cycles and years, end-of-life reason, calendar share;
//! - `histograms.parquet`: every histogram's bins in one long table (under/overflow as ±inf edges);
//! - `fade_curve.parquet`: pack capacity P5/P50/P95 against cycles;
//! - `cells.parquet` (`--cells-table N`): per-cell records of every cell or an evenly spread,
//!   stated sample, regenerated from the counter-based generator (the same cells the run made).

use super::{PackTotals, Summary};
use crate::model::LineParams;
use crate::scene::Scene;
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::sync::Arc;

/// The most rows `--cells-table` writes: 10⁷ rows are ≈ 0.4 GB in memory while written.
pub const MAX_CELL_ROWS: u64 = 10_000_000;

/// One column of a table.
pub enum Column {
    /// 64-bit integers.
    I64(&'static str, Vec<i64>),
    /// Doubles.
    F64(&'static str, Vec<f64>),
    /// UTF-8 strings.
    Str(&'static str, Vec<String>),
    /// A list of 64-bit integers per row (a repeated field).
    ListI64(&'static str, Vec<Vec<i64>>),
}

impl Column {
    fn schema_line(&self) -> String {
        match self {
            Column::I64(n, _) => format!("REQUIRED INT64 {n};"),
            Column::F64(n, _) => format!("REQUIRED DOUBLE {n};"),
            Column::Str(n, _) => format!("REQUIRED BYTE_ARRAY {n} (UTF8);"),
            Column::ListI64(n, _) => format!("REPEATED INT64 {n};"),
        }
    }

    fn rows(&self) -> usize {
        match self {
            Column::I64(_, v) => v.len(),
            Column::F64(_, v) => v.len(),
            Column::Str(_, v) => v.len(),
            Column::ListI64(_, v) => v.len(),
        }
    }
}

/// A table as the bytes of a Parquet file (one row group).
pub fn encode(columns: &[Column]) -> Result<Vec<u8>, ParquetError> {
    let rows = columns.first().map_or(0, Column::rows);
    if columns.iter().any(|c| c.rows() != rows) {
        return Err(ParquetError::General("columns of unequal length".into()));
    }
    let lines: Vec<String> = columns.iter().map(Column::schema_line).collect();
    let schema = Arc::new(parse_message_type(&format!(
        "message celltwin {{ {} }}",
        lines.join(" ")
    ))?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let mut writer = SerializedFileWriter::new(Vec::new(), schema, props)?;
    let mut group = writer.next_row_group()?;
    for column in columns {
        let mut w = group
            .next_column()?
            .ok_or_else(|| ParquetError::General("schema and columns disagree".into()))?;
        match column {
            Column::I64(_, v) => {
                w.typed::<Int64Type>().write_batch(v, None, None)?;
            }
            Column::F64(_, v) => {
                w.typed::<DoubleType>().write_batch(v, None, None)?;
            }
            Column::Str(_, v) => {
                let b: Vec<ByteArray> = v.iter().map(|s| ByteArray::from(s.as_str())).collect();
                w.typed::<ByteArrayType>().write_batch(&b, None, None)?;
            }
            Column::ListI64(_, v) => {
                // Repetition level 0 starts a row, 1 continues its list; definition level 1 is a
                // value, 0 an empty list (one level pair and no value).
                let values: Vec<i64> = v.iter().flatten().copied().collect();
                let (mut rep, mut def) = (Vec::new(), Vec::new());
                for l in v {
                    if l.is_empty() {
                        rep.push(0i16);
                        def.push(0i16);
                    }
                    for i in 0..l.len() {
                        rep.push(i16::from(i > 0));
                        def.push(1i16);
                    }
                }
                w.typed::<Int64Type>()
                    .write_batch(&values, Some(&def), Some(&rep))?;
            }
        }
        w.close()?;
    }
    group.close()?;
    writer.into_inner()
}

/// The aged packs, one row each. `cells` lists the cell indices of the packs kept whole (about
/// 1000 a run, the fade band's packs) and is empty for the others: a run that ages every pack of
/// 10⁷ cells would otherwise carry every cell index, and the GPU path reads back only a few numbers
/// a pack.
pub fn packs_table(scene: &Scene, packs: &PackTotals) -> Vec<Column> {
    let per_year = 365.25 * scene.life.cycles_per_day;
    let slots = crate::model::life_plan::LifePlan::new(scene).slots;
    let a = &packs.aged;
    let mut kept = packs.kept.iter().peekable();
    let cells = a
        .iter()
        .map(|p| match kept.next_if(|k| k.slot == p.slot) {
            Some(k) => k.cells.iter().map(|&i| i as i64).collect(),
            None => Vec::new(),
        })
        .collect();
    vec![
        Column::I64("pack_slot", a.iter().map(|p| p.slot as i64).collect()),
        Column::I64(
            "window",
            a.iter().map(|p| (p.slot / slots) as i64).collect(),
        ),
        Column::ListI64("cells", cells),
        Column::F64(
            "initial_capacity_ah",
            a.iter().map(|p| f64::from(p.q_initial)).collect(),
        ),
        Column::I64(
            "life_cycles",
            a.iter().map(|p| i64::from(p.cycles)).collect(),
        ),
        Column::F64(
            "life_years",
            a.iter().map(|p| f64::from(p.cycles) / per_year).collect(),
        ),
        Column::Str(
            "end_of_life",
            a.iter().map(|p| p.reason.key().to_string()).collect(),
        ),
        Column::F64(
            "calendar_share",
            a.iter().map(|p| f64::from(p.calendar_share)).collect(),
        ),
        Column::F64("life_efc", a.iter().map(|p| f64::from(p.efc)).collect()),
        Column::I64(
            "defect_cells",
            a.iter().map(|p| i64::from(p.defects)).collect(),
        ),
    ]
}

/// Every histogram's bins in one long table.
pub fn histograms_table(s: &Summary) -> Vec<Column> {
    let (mut name, mut lo, mut hi, mut count) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (n, h) in super::export::named_histograms(s) {
        let w = h.bin_width();
        let mut row = |a: f64, b: f64, c: u64| {
            name.push(n.to_string());
            lo.push(a);
            hi.push(b);
            count.push(c as i64);
        };
        row(f64::NEG_INFINITY, h.lo, h.underflow);
        for (i, &c) in h.counts.iter().enumerate() {
            let a = h.lo + i as f64 * w;
            row(a, a + w, c);
        }
        row(h.hi, f64::INFINITY, h.overflow);
    }
    vec![
        Column::Str("histogram", name),
        Column::F64("bin_lo", lo),
        Column::F64("bin_hi", hi),
        Column::I64("count", count),
    ]
}

/// The fade curve.
pub fn fade_table(s: &Summary) -> Vec<Column> {
    let c = &s.packs.fade_curve;
    vec![
        Column::I64("cycles", c.cycles.iter().map(|&x| i64::from(x)).collect()),
        Column::F64("p5", c.p5.clone()),
        Column::F64("p50", c.p50.clone()),
        Column::F64("p95", c.p95.clone()),
    ]
}

/// Which cells `--cells-table rows` writes: every cell if the run has no more than `rows`
/// (capped at [`MAX_CELL_ROWS`]), else `rows` cells evenly spread: `(step, count)`.
pub fn cell_sample(cells: u64, rows: u64) -> (u64, u64) {
    let rows = rows.clamp(1, MAX_CELL_ROWS);
    if cells <= rows {
        (1, cells)
    } else {
        (cells.div_ceil(rows), cells / cells.div_ceil(rows))
    }
}

/// Per-cell records of the sample, regenerated from the generator (index `i · step`).
pub fn cells_table(scene: &Scene, step: u64, count: u64) -> Vec<Column> {
    let p = LineParams::from_scene(scene);
    let rng = p.rng();
    let (mut idx, mut qt, mut qm, mut rt, mut rm, mut km, mut np) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let (mut fate, mut grade) = (Vec::new(), Vec::new());
    for i in 0..count {
        let cell = i * step;
        let lots = crate::model::LotDraws::for_cell(&p, &rng, cell);
        let r = &crate::model::simulate_cell(&p, &rng, cell, &lots);
        idx.push(cell as i64);
        qt.push(f64::from(r.q_true));
        qm.push(f64::from(r.q_meas));
        rt.push(f64::from(r.r_true));
        rm.push(f64::from(r.r_meas));
        km.push(f64::from(r.k_meas));
        np.push(f64::from(r.np_ratio));
        fate.push(
            r.scrap()
                .map_or("passed".to_string(), |s| s.key().to_string()),
        );
        grade.push(if r.passed() { i64::from(r.grade()) } else { -1 });
    }
    vec![
        Column::I64("cell", idx),
        Column::F64("capacity_true_ah", qt),
        Column::F64("capacity_measured_ah", qm),
        Column::F64("dcir_true_mohm", rt),
        Column::F64("dcir_measured_mohm", rm),
        Column::F64("k_measured_mv_day", km),
        Column::F64("np_ratio", np),
        Column::Str("fate", fate),
        Column::I64("grade", grade),
    ]
}

/// A table as CSV (a list cell as its values separated by spaces).
pub fn encode_csv(columns: &[Column]) -> Vec<u8> {
    use std::fmt::Write;
    let rows = columns.first().map_or(0, Column::rows);
    let names: Vec<&str> = columns
        .iter()
        .map(|c| match c {
            Column::I64(n, _) | Column::F64(n, _) | Column::Str(n, _) | Column::ListI64(n, _) => *n,
        })
        .collect();
    let mut out = names.join(",");
    out.push('\n');
    for r in 0..rows {
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = match c {
                Column::I64(_, v) => write!(out, "{}", v[r]),
                Column::F64(_, v) => write!(out, "{}", v[r]),
                Column::Str(_, v) => write!(out, "\"{}\"", v[r].replace('"', "\"\"")),
                Column::ListI64(_, v) => {
                    let items: Vec<String> = v[r].iter().map(i64::to_string).collect();
                    write!(out, "\"{}\"", items.join(" "))
                }
            };
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// What `--out` writes its tables as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// CSV files (one per histogram and curve, plus packs.csv).
    Csv,
    /// Parquet files: packs, histograms, fade_curve (and cells).
    Parquet,
}

/// What the tables beyond the summary need: the scene, the packs (with the life sample) and the
/// cell sample (`(step, count)`, from [`cell_sample`]) if asked for.
pub struct Tables<'a> {
    /// The scene the run ran.
    pub scene: &'a Scene,
    /// The run's packs.
    pub packs: &'a PackTotals,
    /// Per-cell records to write: every `step`-th cell, `count` of them.
    pub cells: Option<(u64, u64)>,
}

/// summary.json and the tables into `dir` in `format`, through [`super::atomic`] (summary.json
/// last).
pub fn write_out(
    s: &Summary,
    dir: &std::path::Path,
    format: Format,
    t: &Tables,
) -> std::io::Result<()> {
    let io = |e: ParquetError| std::io::Error::other(e.to_string());
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let packs = packs_table(t.scene, t.packs);
    let cells = t
        .cells
        .map(|(step, count)| cells_table(t.scene, step, count));
    match format {
        Format::Csv => {
            files.extend(super::export::csvs(s));
            files.push(("packs.csv".into(), encode_csv(&packs)));
            if let Some(c) = &cells {
                files.push(("cells.csv".into(), encode_csv(c)));
            }
        }
        Format::Parquet => {
            files.push(("packs.parquet".into(), encode(&packs).map_err(io)?));
            files.push((
                "histograms.parquet".into(),
                encode(&histograms_table(s)).map_err(io)?,
            ));
            files.push((
                "fade_curve.parquet".into(),
                encode(&fade_table(s)).map_err(io)?,
            ));
            if let Some(c) = &cells {
                files.push(("cells.parquet".into(), encode(c).map_err(io)?));
            }
        }
    }
    let json = serde_json::to_string_pretty(s).map_err(std::io::Error::other)?;
    super::atomic::write_dir(dir, &files, ("summary.json", json.as_bytes()))
}
