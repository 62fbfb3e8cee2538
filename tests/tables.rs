//! `--format parquet` and `--cells-table`: the files read back (with the parquet crate's own
//! reader, as pandas/polars would read them) and hold the same numbers as the CSV form and the
//! summary.

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row, RowAccessor};
use std::path::{Path, PathBuf};
use std::process::Command;

fn celltwin(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_celltwin"))
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rows(path: &Path) -> Vec<Row> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = SerializedFileReader::new(file).expect("a Parquet file");
    assert_eq!(reader.metadata().num_row_groups(), 1);
    reader.into_iter().map(|r| r.expect("a row")).collect()
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|f| f.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("celltwin_tables_{tag}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The Parquet tables read back and agree with the CSV tables of the same run: the packs (ids,
/// windows, every cell index, lives), every histogram bin, the fade curve.
#[test]
fn parquet_tables_read_back_and_match_the_csv_tables() {
    let d = tmp("pq");
    let (pq, csv) = (d.join("pq"), d.join("csv"));
    let scene = [
        "--cells",
        "60000",
        "--set",
        "pack.window=20000",
        "--set",
        "pack.life_packs=100",
    ];
    for (dir, format) in [(&pq, "parquet"), (&csv, "csv")] {
        let mut args = vec!["run"];
        args.extend(scene);
        args.extend(["--out", dir.to_str().unwrap(), "--format", format]);
        celltwin(&args);
    }
    let packs = rows(&pq.join("packs.parquet"));
    let packs_csv = csv_rows(&csv.join("packs.csv"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pq.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        packs.len() as u64,
        summary["packs"]["life_packs"].as_u64().unwrap()
    );
    assert_eq!(packs.len(), packs_csv.len());
    for (r, c) in packs.iter().zip(&packs_csv) {
        let cells: Vec<i64> = match r.get_column_iter().find(|(n, _)| *n == "cells").unwrap().1 {
            Field::ListInternal(l) => l
                .elements()
                .iter()
                .map(|f| match f {
                    Field::Long(v) => *v,
                    other => panic!("cell index {other:?}"),
                })
                .collect(),
            other => panic!("cells column {other:?}"),
        };
        assert_eq!(cells.len(), 96, "a 96S1P pack");
        let window = r.get_long(1).unwrap();
        assert!(
            cells.iter().all(|&i| i / 20_000 == window),
            "every cell of pack {} in window {window}",
            r.get_long(0).unwrap()
        );
        assert_eq!(r.get_long(0).unwrap().to_string(), c[0], "slot");
        assert_eq!(
            cells
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            c[2],
            "cells"
        );
        assert_eq!(r.get_long(4).unwrap().to_string(), c[4], "life cycles");
        assert_eq!(r.get_string(6).unwrap(), &c[6], "end of life");
    }
    let hist = rows(&pq.join("histograms.parquet"));
    let life: Vec<&Row> = hist
        .iter()
        .filter(|r| r.get_string(0).unwrap() == "pack_life")
        .collect();
    let life_csv = csv_rows(&csv.join("hist_pack_life.csv"));
    assert_eq!(life.len(), life_csv.len());
    let total: i64 = life.iter().map(|r| r.get_long(3).unwrap()).sum();
    assert_eq!(
        total as usize,
        packs.len(),
        "the pack-life histogram counts every aged pack"
    );
    for (r, c) in life.iter().zip(&life_csv) {
        assert_eq!(r.get_long(3).unwrap().to_string(), c[2]);
    }
    let fade = rows(&pq.join("fade_curve.parquet"));
    let fade_csv = csv_rows(&csv.join("fade_curve.csv"));
    assert_eq!(fade.len(), fade_csv.len());
    for (r, c) in fade.iter().zip(&fade_csv) {
        assert_eq!(r.get_long(0).unwrap().to_string(), c[0]);
        assert_eq!(r.get_double(2).unwrap().to_string(), c[2]);
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// `--cells-table N` writes N evenly spread cells of a larger run (all of a smaller one): the
/// regenerated records agree with the run's yield within sampling error.
#[test]
fn the_cells_table_is_a_stated_sample() {
    let d = tmp("cells");
    celltwin(&[
        "run",
        "--cells",
        "100000",
        "--out",
        d.to_str().unwrap(),
        "--format",
        "parquet",
        "--cells-table",
        "4000",
    ]);
    let cells = rows(&d.join("cells.parquet"));
    assert_eq!(cells.len(), 4000);
    // Every pack is aged ("all"); the packs kept whole list their 96 cells, the others none.
    let summary_packs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap()).unwrap();
    let packs = rows(&d.join("packs.parquet"));
    assert_eq!(
        packs.len() as u64,
        summary_packs["packs"]["packs"].as_u64().unwrap()
    );
    let listed: Vec<usize> = packs
        .iter()
        .map(
            |r| match r.get_column_iter().find(|(n, _)| *n == "cells").unwrap().1 {
                Field::ListInternal(l) => l.elements().len(),
                other => panic!("cells column {other:?}"),
            },
        )
        .collect();
    assert!(
        listed.iter().all(|&n| n == 0 || n == 96),
        "whole packs or none"
    );
    assert_eq!(
        listed.iter().filter(|&&n| n == 96).count() as u64,
        summary_packs["packs"]["fade_band_packs"].as_u64().unwrap()
    );
    assert!(
        listed.contains(&0),
        "a run of 1040 packs keeps about 1000 of them whole, not all"
    );
    let idx: Vec<i64> = cells.iter().map(|r| r.get_long(0).unwrap()).collect();
    assert!(idx.windows(2).all(|w| w[1] - w[0] == 25), "every 25th cell");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap()).unwrap();
    let fpy = summary["yield"].as_f64().unwrap();
    let passed = cells
        .iter()
        .filter(|r| r.get_string(7).unwrap() == "passed")
        .count() as f64;
    let sd = (fpy * (1.0 - fpy) / 4000.0).sqrt();
    assert!(
        (passed / 4000.0 - fpy).abs() < 4.0 * sd,
        "sample yield {} vs run {fpy}",
        passed / 4000.0
    );
    // A run no larger than the request gets every cell.
    let small = d.join("small");
    celltwin(&[
        "run",
        "--cells",
        "3000",
        "--out",
        small.to_str().unwrap(),
        "--cells-table",
        "5000",
    ]);
    assert_eq!(csv_rows(&small.join("cells.csv")).len(), 3000);
    let _ = std::fs::remove_dir_all(&d);
}
