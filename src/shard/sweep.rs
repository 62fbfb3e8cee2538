//! A sweep split over machines: shard K of N runs a contiguous range of the sweep's points and
//! writes their rows; the merge joins the rows in point order. Apart from the run's shards because
//! its payload is the sweep's table, not an engine partial.

use super::file::framed;
use super::set::load_set;
use super::{SWEEP_FORMAT, ShardError, ShardId};
use crate::scene::Scene;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Shard `k` of `n` of a sweep of `points` points: a contiguous range of them.
pub fn sweep_points(points: usize, k: u64, n: u64) -> std::ops::Range<usize> {
    let (p, n, k) = (points as u128, u128::from(n.max(1)), u128::from(k));
    (k * p / n) as usize..((k + 1) * p / n) as usize
}

/// The file name of sweep shard `k` of `n`.
pub fn sweep_file_name(k: u64, n: u64) -> String {
    format!("sweep-shard-{k:05}-of-{n:05}.json")
}

/// What one sweep shard hands to the merge.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SweepPayload {
    crate_version: String,
    /// The scene before the swept key is set, as TOML.
    scene_toml: String,
    /// The swept key and every value of the whole sweep, e.g. `line.spread_scale=0.5,1,2`.
    sweep: String,
    k: u64,
    n: u64,
    rows: Vec<crate::sweep::SweepRow>,
}

/// One sweep shard's rows as file contents.
pub fn encode_sweep(
    scene: &Scene,
    param: &str,
    values: &[String],
    id: &ShardId,
    rows: Vec<crate::sweep::SweepRow>,
) -> Result<Vec<u8>, String> {
    let payload = SweepPayload {
        crate_version: env!("CARGO_PKG_VERSION").into(),
        scene_toml: toml::to_string(scene).map_err(|e| e.to_string())?,
        sweep: format!("{param}={}", values.join(",")),
        k: id.k,
        n: id.n,
        rows,
    };
    framed(SWEEP_FORMAT, &payload)
}

/// Check a complete set of sweep shards and join their rows in point order: the swept key and
/// the table.
pub fn merge_sweep(files: &[PathBuf]) -> Result<(String, Vec<crate::sweep::SweepRow>), ShardError> {
    let shards: Vec<(PathBuf, SweepPayload)> =
        load_set(files, SWEEP_FORMAT, |s: &SweepPayload| {
            (
                s.k,
                s.n,
                s.crate_version.as_str(),
                s.scene_toml.as_str(),
                s.sweep.as_str(),
            )
        })?;
    let param = shards[0]
        .1
        .sweep
        .split_once('=')
        .map_or("", |(p, _)| p)
        .to_string();
    let rows = shards.into_iter().flat_map(|(_, s)| s.rows).collect();
    Ok((param, rows))
}
