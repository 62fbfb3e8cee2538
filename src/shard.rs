//! Runs split over machines: shard `K` of `N` runs a contiguous range of whole matching windows
//! ([`crate::engine::shard_cells`]) and writes everything mergeable to a versioned, checksummed
//! file; [`merge`] checks a complete, consistent set and joins it into the one-machine result.
//!
//! Everything merges exactly: counts are integers, moments fixed-point, histograms integer bins,
//! lives and their cells follow in pack order (shard order is cell order). So the merged summary
//! is the one-machine run's, byte for byte apart from the timing and device fields.
//!
//! File layout: line 1 is a small JSON header (`format`, `version`, `crc32` and `bytes` of the
//! payload), line 2 the payload JSON. A flipped byte fails the checksum; a file of another format
//! or version says so.

mod file;
mod id;
mod set;
mod sweep;

pub use file::{format_of, shard_files};
pub use id::{ShardId, from_env, parse_shard};
pub use sweep::{encode_sweep, merge_sweep, sweep_file_name, sweep_points};

use crate::engine::Partial;
use crate::model::pack::EndOfLife;
use crate::scene::Scene;
use crate::summary::{AgedPack, KeptPack, LineStats, PackTotals};
use file::framed;
use serde::{Deserialize, Serialize};
use set::load_set;
use std::path::PathBuf;

/// The header's `format` of a run's shard.
pub const FORMAT: &str = "celltwin-shard";
/// The header's `format` of a sweep's shard (a range of the sweep's points).
pub const SWEEP_FORMAT: &str = "celltwin-sweep-shard";
/// The file layout's version; a merge refuses any other.
pub const VERSION: u32 = 2;

/// Why a shard cannot run or a set cannot merge (exit status 2: the input is wrong).
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// `--shard` is not `K/N` with K < N, nor `auto` with a scheduler's environment.
    #[error("--shard {0}")]
    Spec(String),
    /// A shard file cannot be read or is not what a merge needs.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// The files do not make one complete set.
    #[error("{0}")]
    Set(String),
}

/// The file name of shard `k` of `n`.
pub fn file_name(k: u64, n: u64) -> String {
    format!("shard-{k:05}-of-{n:05}.json")
}

/// An aged pack as the file holds it, one JSON array a pack: slot, initial capacity (Ah), cycles,
/// end-of-life code, calendar share, equivalent full cycles, defect cells. (serde_json writes f32
/// in the shortest form that reads back to the same bits.)
type AgedRecord = (u64, f32, u32, u32, f32, f32, u32);

/// A kept pack as the file holds it: slot, cell indices, fade curve.
type KeptRecord = (u64, Vec<u64>, Vec<f32>);

/// What one shard hands to the merge.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Payload {
    crate_version: String,
    /// The resolved scene as TOML: shards of different scenes or seeds do not merge.
    scene_toml: String,
    k: u64,
    n: u64,
    cells: (u64, u64),
    backend: String,
    device: String,
    line_s: f64,
    elapsed_s: f64,
    stats: LineStats,
    packs: u64,
    unpacked: u64,
    windows: u64,
    initial: crate::summary::Moments,
    hist_initial: crate::summary::Histogram,
    /// Every aged pack, in slot order.
    aged: Vec<AgedRecord>,
    /// The packs kept whole, in slot order.
    kept: Vec<KeptRecord>,
}

/// One shard's result as file contents.
pub fn encode(
    scene: &Scene,
    id: &ShardId,
    cells: std::ops::Range<u64>,
    backend: &str,
    device: &str,
    p: Partial,
) -> Result<Vec<u8>, String> {
    let payload = Payload {
        crate_version: env!("CARGO_PKG_VERSION").into(),
        scene_toml: toml::to_string(scene).map_err(|e| e.to_string())?,
        k: id.k,
        n: id.n,
        cells: (cells.start, cells.end),
        backend: backend.into(),
        device: device.into(),
        line_s: p.line_s,
        elapsed_s: p.elapsed_s,
        stats: p.stats,
        packs: p.packs.packs,
        unpacked: p.packs.unpacked,
        windows: p.packs.windows,
        initial: p.packs.initial,
        hist_initial: p.packs.hist_initial,
        aged: p
            .packs
            .aged
            .iter()
            .map(|a| {
                let code = a.reason as u32;
                (
                    a.slot,
                    a.q_initial,
                    a.cycles,
                    code,
                    a.calendar_share,
                    a.efc,
                    a.defects,
                )
            })
            .collect(),
        kept: p
            .packs
            .kept
            .into_iter()
            .map(|k| (k.slot, k.cells, k.curve))
            .collect(),
    };
    framed(FORMAT, &payload)
}

/// A merged set: its scene, the joined partial, and the shards' backend and device.
pub struct Merged {
    /// The scene every shard ran.
    pub scene: Scene,
    /// The one-machine run's partial.
    pub partial: Partial,
    /// The backend the shards ran on ("cpu", "gpu", or "mixed").
    pub backend: &'static str,
    /// How many shards, and their devices.
    pub device: String,
}

/// Check that `files` are one complete set (same version, scene and N; every K once) and join
/// them in shard order.
pub fn merge(files: &[PathBuf]) -> Result<Merged, ShardError> {
    let shards: Vec<(PathBuf, Payload)> = load_set(files, FORMAT, |s: &Payload| {
        (
            s.k,
            s.n,
            s.crate_version.as_str(),
            s.scene_toml.as_str(),
            "",
        )
    })?;
    let first = &shards[0].1;
    let scene = crate::scene::from_toml_str(&first.scene_toml).map_err(|e| ShardError::File {
        path: shards[0].0.display().to_string(),
        why: format!("its scene does not load: {e}"),
    })?;
    let backends: std::collections::BTreeSet<&str> =
        shards.iter().map(|(_, p)| p.backend.as_str()).collect();
    let backend = match backends.iter().next() {
        Some(&"cpu") if backends.len() == 1 => "cpu",
        Some(&"gpu") if backends.len() == 1 => "gpu",
        _ => "mixed",
    };
    let devices: std::collections::BTreeSet<&str> =
        shards.iter().map(|(_, p)| p.device.as_str()).collect();
    let device = format!(
        "{} shards on {}",
        shards.len(),
        devices.into_iter().collect::<Vec<_>>().join("; ")
    );
    let mut joined: Option<Partial> = None;
    for (path, p) in shards {
        let part = to_partial(p).map_err(|why| ShardError::File {
            path: path.display().to_string(),
            why,
        })?;
        match &mut joined {
            None => joined = Some(part),
            Some(j) => j.merge(part),
        }
    }
    let partial = joined.expect("a set has at least one shard");
    Ok(Merged {
        scene,
        partial,
        backend,
        device,
    })
}

fn to_partial(p: Payload) -> Result<Partial, String> {
    let aged = p
        .aged
        .into_iter()
        .map(
            |(slot, q_initial, cycles, code, calendar_share, efc, defects)| {
                let reason = EndOfLife::from_code(code)
                    .ok_or_else(|| format!("end-of-life code {code} unknown"))?;
                Ok(AgedPack {
                    slot,
                    q_initial,
                    cycles,
                    reason,
                    calendar_share,
                    efc,
                    defects,
                })
            },
        )
        .collect::<Result<Vec<_>, String>>()?;
    let kept = p
        .kept
        .into_iter()
        .map(|(slot, cells, curve)| KeptPack { slot, cells, curve })
        .collect();
    Ok(Partial {
        stats: p.stats,
        packs: PackTotals {
            packs: p.packs,
            unpacked: p.unpacked,
            windows: p.windows,
            initial: p.initial,
            hist_initial: p.hist_initial,
            aged,
            kept,
        },
        line_s: p.line_s,
        elapsed_s: p.elapsed_s,
    })
}

#[cfg(test)]
mod tests {
    /// Shards cover the windows exactly once, in order, each on a window boundary.
    #[test]
    fn shards_tile_the_windows() {
        let mut scene = crate::scene::load(None, &[]).unwrap();
        scene.cells = 1_234_567;
        scene.pack.window = 100_000;
        for n in [1u64, 3, 8, 13, 20] {
            let mut next = 0;
            for k in 0..n {
                let r = crate::engine::shard_cells(&scene, k, n);
                assert_eq!(r.start, next, "n {n} k {k}");
                assert!(r.start.is_multiple_of(100_000) || r.start == scene.cells);
                next = r.end;
            }
            assert_eq!(next, scene.cells, "n {n}");
        }
    }
}
