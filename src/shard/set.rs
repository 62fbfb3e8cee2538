//! Whether shard files make one set: every file read and checked, then the same version, scene
//! (and sweep) and N, each K exactly once. Shared by the run's and the sweep's merge.

use super::ShardError;
use super::file::decode;
use std::path::PathBuf;

/// Read every file of a set (each of `format`), check it is one complete set by `key` — (K, N,
/// version, scene, sweep) of a payload — and return the payloads in shard order.
pub(super) fn load_set<T: serde::de::DeserializeOwned>(
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
