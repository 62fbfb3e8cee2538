//! `celltwin run --shard`, `celltwin sweep --shard` and `celltwin merge`: one shard's file, and a
//! complete set joined into what the one-machine command writes.

use super::*;
use crate::shard::ShardId;
use std::path::Path;

/// One line on stderr: which shard runs, where K and N came from, and its range.
fn announce(what: &str, unit: &str, id: &ShardId, range: std::ops::Range<u64>) {
    let _ = writeln!(
        std::io::stderr(),
        "{what} {} of {} ({}): {unit} {}..{}",
        id.k,
        id.n,
        id.source,
        range.start,
        range.end
    );
}

/// A shard's file into `dir` through a temporary name, and where it went on stdout.
fn write_one(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), CliError> {
    let path = dir.join(name);
    crate::summary::atomic::write_dir(dir, &[], (name, bytes))
        .map_err(|e| CliError::Io(format!("cannot write {}: {e}", path.display())))?;
    emit_line(&format!("wrote {}", path.display()))
}

/// One shard of a run into `--out`.
pub(super) fn cmd_shard(a: &RunArgs) -> Result<(), CliError> {
    let spec = a.shard.as_deref().unwrap_or_default();
    let id = crate::shard::parse_shard(spec, a.shards)?;
    let scene = load_scene(&a.common)?;
    let dir = a
        .out
        .as_deref()
        .ok_or_else(|| CliError::OutDir("--shard needs --out DIR".into()))?;
    check_out(Some(dir))?;
    let cells = engine::shard_cells(&scene, id.k, id.n);
    announce("shard", "cells", &id, cells.clone());
    let mut backend = make_backend(a.common.backend, a.common.threads)?;
    let opts = RunOptions {
        chunk: a.common.chunk,
        cancel: None,
    };
    let mut bar = Bar::new();
    let part = engine::run_range(&scene, backend.as_mut(), &opts, cells.clone(), &mut |p| {
        bar.update(p)
    });
    bar.finish();
    let (kind, device) = (backend.kind(), backend.device());
    let bytes =
        crate::shard::encode(&scene, &id, cells, kind, &device, part?).map_err(CliError::Other)?;
    write_one(dir, &crate::shard::file_name(id.k, id.n), &bytes)
}

/// One shard of a sweep's points (already run: `rows`) into `dir`.
pub(super) fn write_sweep_shard(
    a: &SweepArgs,
    id: &ShardId,
    dir: &Path,
    points: std::ops::Range<usize>,
    rows: Vec<crate::sweep::SweepRow>,
) -> Result<(), CliError> {
    announce(
        "sweep shard",
        "points",
        id,
        points.start as u64..points.end as u64,
    );
    let base = load_scene(&a.common)?;
    let values: Vec<String> = a.values.iter().map(|v| v.trim().to_string()).collect();
    let bytes =
        crate::shard::encode_sweep(&base, &a.param, &values, id, rows).map_err(CliError::Other)?;
    write_one(dir, &crate::shard::sweep_file_name(id.k, id.n), &bytes)
}

/// A complete set of shards into the one-machine run's summary (text or JSON, and --out), or a
/// sweep's shards into its table.
pub(super) fn cmd_merge(a: &MergeArgs) -> Result<(), CliError> {
    check_out(a.out.as_deref())?;
    let files = crate::shard::shard_files(&a.inputs)?;
    if crate::shard::format_of(&files[0])? == crate::shard::SWEEP_FORMAT {
        let (param, rows) = crate::shard::merge_sweep(&files)?;
        return write_sweep(&param, &rows, a.out.as_deref(), a.json);
    }
    let m = crate::shard::merge(&files)?;
    let packs = m.partial.packs.clone();
    let summary = m.partial.summary(&m.scene, m.backend, m.device);
    if let Some(dir) = &a.out {
        write_tables(&summary, dir, a.format, &m.scene, &packs, None)?;
    }
    if a.json {
        emit_line(&json(&summary)?)
    } else {
        emit(&report::text(&summary, &m.scene))
    }
}
