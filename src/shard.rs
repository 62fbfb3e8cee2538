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

use crate::engine::Partial;
use crate::model::pack::EndOfLife;
use crate::scene::Scene;
use crate::summary::{AgedPack, KeptPack, LineStats, PackTotals};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The header's `format` of a run's shard.
pub const FORMAT: &str = "celltwin-shard";
/// The header's `format` of a sweep's shard (a range of the sweep's points).
pub const SWEEP_FORMAT: &str = "celltwin-sweep-shard";
/// The file layout's version; a merge refuses any other.
pub const VERSION: u32 = 2;

/// Which shard this process runs, and how that was decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardId {
    /// This shard, 0-based.
    pub k: u64,
    /// Shards in all.
    pub n: u64,
    /// Where K and N came from ("--shard 3/8", "Slurm array task 4 of 8", …).
    pub source: String,
}

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

/// Parse `--shard K/N` or `auto` (Slurm job arrays, Kubernetes Indexed Jobs with `--shards N`).
pub fn parse_shard(spec: &str, shards: Option<u64>) -> Result<ShardId, ShardError> {
    if spec == "auto" {
        return from_env(&|k| std::env::var(k).ok(), shards);
    }
    let bad = || ShardError::Spec(format!("`{spec}`: expected K/N with 0 ≤ K < N, or auto"));
    let (k, n) = spec.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || k >= n {
        return Err(bad());
    }
    Ok(ShardId {
        k,
        n,
        source: format!("--shard {k}/{n}"),
    })
}

/// K and N from a scheduler's environment (`var` reads a variable), and which one it was.
///
/// Slurm job arrays: K = (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP,
/// N = SLURM_ARRAY_TASK_COUNT. Kubernetes Indexed Jobs: K = JOB_COMPLETION_INDEX, N from
/// `--shards` (Kubernetes sets no count).
pub fn from_env(
    var: &dyn Fn(&str) -> Option<String>,
    shards: Option<u64>,
) -> Result<ShardId, ShardError> {
    let num =
        |name: &str| -> Result<Option<u64>, ShardError> {
            match var(name) {
                None => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| {
                    ShardError::Spec(format!("auto: {name}={v} is not a whole number"))
                }),
            }
        };
    if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        let n = num("SLURM_ARRAY_TASK_COUNT")?.ok_or_else(|| {
            ShardError::Spec(
                "auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not".into(),
            )
        })?;
        let k = id
            .checked_sub(min)
            .map(|d| d / step)
            .filter(|&k| k < n)
            .ok_or_else(|| {
                ShardError::Spec(format!(
                    "auto: Slurm task {id} (min {min}, step {step}) is not one of {n} tasks"
                ))
            })?;
        return Ok(ShardId {
            k,
            n,
            source: format!("Slurm array task {id} → shard {k} of {n}"),
        });
    }
    if let Some(k) = num("JOB_COMPLETION_INDEX")? {
        let n = shards.ok_or_else(|| {
            ShardError::Spec("auto: a Kubernetes Indexed Job sets JOB_COMPLETION_INDEX but no count: add --shards N (the Job's completions)".into())
        })?;
        if k >= n {
            return Err(ShardError::Spec(format!(
                "auto: JOB_COMPLETION_INDEX {k} is not below --shards {n}"
            )));
        }
        return Ok(ShardId {
            k,
            n,
            source: format!("Kubernetes completion index {k} → shard {k} of {n}"),
        });
    }
    Err(ShardError::Spec(
        "auto: neither a Slurm array (SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) is in the environment; use --shard K/N".into(),
    ))
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

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    crc32: u32,
    bytes: u64,
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

/// Header line + payload line, the header carrying the payload's CRC-32 and length.
fn framed<T: Serialize>(format: &str, payload: &T) -> Result<Vec<u8>, String> {
    let body = serde_json::to_vec(payload).map_err(|e| e.to_string())?;
    let header = Header {
        format: format.into(),
        version: VERSION,
        crc32: crc32fast::hash(&body),
        bytes: body.len() as u64,
    };
    let mut out = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    out.push(b'\n');
    out.extend_from_slice(&body);
    out.push(b'\n');
    Ok(out)
}

/// Read one shard file and check its header and checksum: its format and payload bytes.
fn unframe(path: &Path) -> Result<(String, Vec<u8>), ShardError> {
    let err = |why: String| ShardError::File {
        path: path.display().to_string(),
        why,
    };
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| err("not a celltwin shard file (no header line)".into()))?;
    let header: Header = serde_json::from_slice(&bytes[..nl])
        .map_err(|_| err("not a celltwin shard file (header unreadable)".into()))?;
    if header.format != FORMAT && header.format != SWEEP_FORMAT {
        return Err(err(format!(
            "format `{}`, not `{FORMAT}` or `{SWEEP_FORMAT}`",
            header.format
        )));
    }
    if header.version != VERSION {
        return Err(err(format!(
            "shard format version {}, this celltwin merges version {VERSION}",
            header.version
        )));
    }
    let body = bytes[nl + 1..]
        .strip_suffix(b"\n")
        .unwrap_or(&bytes[nl + 1..]);
    if body.len() as u64 != header.bytes || crc32fast::hash(body) != header.crc32 {
        return Err(err(
            "corrupted: the payload does not match its checksum (truncated or altered)".into(),
        ));
    }
    Ok((header.format, body.to_vec()))
}

/// Read a checked payload of the expected format.
fn decode<T: serde::de::DeserializeOwned>(path: &Path, format: &str) -> Result<T, ShardError> {
    let err = |why: String| ShardError::File {
        path: path.display().to_string(),
        why,
    };
    let (found, body) = unframe(path)?;
    if found != format {
        return Err(err(format!(
            "a `{found}` file among `{format}` files: a run's and a sweep's shards do not merge"
        )));
    }
    serde_json::from_slice(&body).map_err(|e| err(format!("corrupted payload: {e}")))
}

/// The format of a shard file: a run's shard ([`FORMAT`]) or a sweep's ([`SWEEP_FORMAT`]).
pub fn format_of(path: &Path) -> Result<String, ShardError> {
    unframe(path).map(|(f, _)| f)
}

/// The shard files in `inputs`: each a file, or a directory whose `shard-*.json` are taken.
pub fn shard_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, ShardError> {
    let mut files = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| ShardError::File {
                path: p.display().to_string(),
                why: format!("cannot list: {e}"),
            })?;
            let mut found: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|f| {
                    f.file_name().is_some_and(|n| {
                        let n = n.to_string_lossy();
                        (n.starts_with("shard-") || n.starts_with("sweep-shard-"))
                            && n.ends_with(".json")
                    })
                })
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        return Err(ShardError::Set(
            "no shard files (shard-*.json) in the given paths".into(),
        ));
    }
    Ok(files)
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

/// Read every file of a set (each of `format`), check it is one complete set by `key` — (K, N,
/// version, scene, sweep) of a payload — and return the payloads in shard order.
fn load_set<T: serde::de::DeserializeOwned>(
    files: &[PathBuf],
    format: &str,
    key: impl Fn(&T) -> (u64, u64, &str, &str, &str),
) -> Result<Vec<(PathBuf, T)>, ShardError> {
    if files.is_empty() {
        return Err(ShardError::Set("no shard files to merge".into()));
    }
    let mut shards: Vec<(PathBuf, T)> = Vec::with_capacity(files.len());
    for f in files {
        shards.push((f.clone(), decode(f, format)?));
    }
    let keys: Vec<SetKey> = shards
        .iter()
        .map(|(path, s)| {
            let (k, n, version, scene, what) = key(s);
            SetKey {
                path,
                k,
                n,
                version,
                scene,
                what,
            }
        })
        .collect();
    check_set(&keys)?;
    shards.sort_by_key(|(_, s)| key(s).0);
    Ok(shards)
}

/// What makes shards one set.
struct SetKey<'a> {
    path: &'a PathBuf,
    k: u64,
    n: u64,
    version: &'a str,
    scene: &'a str,
    /// A sweep's key and values (empty for a run).
    what: &'a str,
}

/// Every shard of the same version, scene (and sweep) and N, each K exactly once.
fn check_set(shards: &[SetKey]) -> Result<(), ShardError> {
    let first = &shards[0];
    for s in &shards[1..] {
        let differ = |what: &str| {
            Err(ShardError::Set(format!(
                "{} and {} are shards of different {what}",
                first.path.display(),
                s.path.display()
            )))
        };
        if s.version != first.version {
            return differ(&format!(
                "celltwin versions ({} vs {})",
                first.version, s.version
            ));
        }
        if s.n != first.n {
            return differ(&format!("splits (N = {} vs {})", first.n, s.n));
        }
        if s.what != first.what {
            return differ("sweeps");
        }
        if s.scene != first.scene {
            let seed = |t: &str| {
                t.lines()
                    .find(|l| l.starts_with("seed"))
                    .map(str::to_string)
            };
            if seed(s.scene) != seed(first.scene) {
                return differ("seeds");
            }
            return differ("scenes");
        }
    }
    let n = first.n;
    // A forged N is bounded: no set has a million shards.
    let mut seen: Vec<Option<&PathBuf>> = vec![None; n.min(1 << 20) as usize];
    for s in shards {
        match seen.get_mut(s.k as usize) {
            None => {
                return Err(ShardError::Set(format!(
                    "{}: shard {} of {n} is out of range",
                    s.path.display(),
                    s.k
                )));
            }
            Some(Some(q)) => {
                return Err(ShardError::Set(format!(
                    "shard {} of {n} is given twice: {} and {}",
                    s.k,
                    q.display(),
                    s.path.display()
                )));
            }
            Some(slot) => *slot = Some(s.path),
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(k, _)| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ShardError::Set(format!(
            "incomplete set: shard(s) {} of {n} missing",
            missing.join(", ")
        )));
    }
    Ok(())
}

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
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    /// Slurm's array arithmetic: ids 10, 12, …, 24 (min 10, step 2, count 8) are shards 0..7.
    #[test]
    fn slurm_array_tasks_map_to_shards() {
        let e = env(&[
            ("SLURM_ARRAY_TASK_ID", "16"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "8"),
        ]);
        let id = from_env(&e, None).unwrap();
        assert_eq!((id.k, id.n), (3, 8));
        assert!(id.source.contains("Slurm"));
        let past = env(&[
            ("SLURM_ARRAY_TASK_ID", "26"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "8"),
        ]);
        assert!(from_env(&past, None).is_err());
    }

    /// Kubernetes gives the index only: the count comes from --shards, and its absence is named.
    #[test]
    fn kubernetes_index_needs_a_count() {
        let e = env(&[("JOB_COMPLETION_INDEX", "5")]);
        let id = from_env(&e, Some(6)).unwrap();
        assert_eq!((id.k, id.n), (5, 6));
        assert!(id.source.contains("Kubernetes"));
        let msg = from_env(&e, None).unwrap_err().to_string();
        assert!(msg.contains("--shards"), "{msg}");
        assert!(from_env(&e, Some(5)).is_err());
        assert!(
            from_env(&env(&[]), None)
                .unwrap_err()
                .to_string()
                .contains("--shard K/N")
        );
    }

    #[test]
    fn explicit_shards_parse_and_refuse_nonsense() {
        assert_eq!(parse_shard("2/4", None).unwrap().k, 2);
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2"] {
            assert!(parse_shard(bad, None).is_err(), "{bad}");
        }
    }

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
