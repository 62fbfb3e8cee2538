//! Which shard this process runs: `--shard K/N`, or `auto` read from a scheduler's environment
//! (Slurm job arrays, Kubernetes Indexed Jobs). Apart from the files and the merge because it is
//! only the choice of K and N, made before anything runs.

use super::ShardError;

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
}
