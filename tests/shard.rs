//! Sharded runs: shards of whole windows merge into the one-machine run's files byte for byte
//! (timing and device fields aside); an incomplete, mixed or damaged set is refused with exit 2
//! and the problem named; `--shard auto` reads Slurm's and Kubernetes' environment.

use std::path::{Path, PathBuf};
use std::process::Command;

const SCENE: [&str; 4] = ["--cells", "120000", "--set", "pack.window=20000"];

fn celltwin(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_celltwin"));
    // A test run inside a Slurm or Kubernetes job must not see its own scheduler's variables.
    for v in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_STEP",
        "SLURM_ARRAY_TASK_COUNT",
        "JOB_COMPLETION_INDEX",
    ] {
        cmd.env_remove(v);
    }
    let out = cmd
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("celltwin_shard_{tag}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Run shard k of n of SCENE (plus `extra`) into `dir`.
fn shard(k: u64, n: u64, dir: &Path, extra: &[&str]) {
    let spec = format!("{k}/{n}");
    let mut args = vec!["run"];
    args.extend(SCENE);
    args.extend(extra);
    args.extend(["--shard", &spec, "--out", dir.to_str().unwrap()]);
    let (code, _, err) = celltwin(&args, &[]);
    assert_eq!(code, 0, "shard {spec}: {err}");
}

/// summary.json without the fields that say how and how fast it ran.
fn summary_sans_timing(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for k in ["device", "line_s", "elapsed_s", "cells_per_s"] {
        v.as_object_mut()
            .unwrap()
            .remove(k)
            .expect("the field exists");
    }
    v
}

#[test]
fn shards_merge_into_the_one_machine_run() {
    let d = tmp("merge");
    let parts = d.join("parts");
    // 6 windows over 4 shards: shards of one and two windows.
    for k in 0..4 {
        shard(k, 4, &parts, &[]);
    }
    let merged = d.join("merged");
    let (code, _, err) = celltwin(
        &[
            "merge",
            parts.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let one = d.join("one");
    let mut args = vec!["run"];
    args.extend(SCENE);
    args.extend(["--out", one.to_str().unwrap()]);
    let (code, _, err) = celltwin(&args, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary_sans_timing(&merged), summary_sans_timing(&one));
    // The summary has packs and aged packs to compare, not only line counts.
    let s = summary_sans_timing(&one);
    assert!(
        s["packs"]["packs"].as_u64().unwrap() > 1000,
        "{}",
        s["packs"]
    );
    for e in std::fs::read_dir(&one).unwrap() {
        let name = e.unwrap().file_name();
        if name.to_string_lossy().ends_with(".csv") {
            assert_eq!(
                std::fs::read(one.join(&name)).unwrap(),
                std::fs::read(merged.join(&name)).unwrap(),
                "{name:?} byte for byte"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// Each broken set is refused with exit 2 and its problem named.
#[test]
fn merge_refuses_broken_sets() {
    let d = tmp("refuse");
    let good = d.join("good");
    for k in 0..3 {
        shard(k, 3, &good, &[]);
    }
    let file = |dir: &Path, k: u64, n: u64| dir.join(format!("shard-{k:05}-of-{n:05}.json"));
    let refuse = |inputs: &[&Path], expect: &str| {
        let mut args = vec!["merge".to_string()];
        args.extend(inputs.iter().map(|p| p.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, err) = celltwin(&args, &[]);
        assert_eq!(code, 2, "{expect}: {err}");
        assert!(err.contains(expect), "expected `{expect}` in: {err}");
        assert!(!err.contains("panicked"));
    };
    let (f0, f1, f2) = (file(&good, 0, 3), file(&good, 1, 3), file(&good, 2, 3));
    refuse(&[&f0, &f2], "shard(s) 1 of 3 missing");
    let copy = d.join("copy.json");
    std::fs::copy(&f1, &copy).unwrap();
    refuse(&[&f0, &f1, &copy, &f2], "given twice");
    let seeded = d.join("seeded");
    shard(1, 3, &seeded, &["--set", "seed=2"]);
    refuse(&[&f0, &file(&seeded, 1, 3), &f2], "different seeds");
    let other = d.join("other");
    shard(1, 3, &other, &["--set", "line.spread_scale=2"]);
    refuse(&[&f0, &file(&other, 1, 3), &f2], "different scenes");
    let four = d.join("four");
    shard(1, 4, &four, &[]);
    refuse(&[&f0, &file(&four, 1, 4), &f2], "different splits");
    // One changed digit deep in the payload: the checksum catches it.
    let bytes = std::fs::read(&f1).unwrap();
    let mut bad = bytes.clone();
    let at = bad.len() - 200;
    let pos = at + bad[at..].iter().position(u8::is_ascii_digit).unwrap();
    bad[pos] = if bad[pos] == b'9' { b'8' } else { bad[pos] + 1 };
    let corrupt = d.join("corrupt.json");
    std::fs::write(&corrupt, &bad).unwrap();
    refuse(&[&f0, &corrupt, &f2], "checksum");
    std::fs::write(&corrupt, &bytes[..bytes.len() / 2]).unwrap();
    refuse(&[&f0, &corrupt, &f2], "checksum");
    let text = String::from_utf8(bytes).unwrap();
    std::fs::write(
        &corrupt,
        text.replacen(
            &format!("\"version\":{}", celltwin::shard::VERSION),
            "\"version\":99",
            1,
        ),
    )
    .unwrap();
    refuse(&[&f0, &corrupt, &f2], "version 99");
    std::fs::write(&corrupt, "{\"hello\": 1}\n").unwrap();
    refuse(&[&corrupt], "not a celltwin shard file");
    let _ = std::fs::remove_dir_all(&d);
}

/// `--shard auto` under a Slurm array and a Kubernetes Indexed Job; without either, exit 2.
#[test]
fn shard_auto_reads_the_scheduler() {
    let d = tmp("auto");
    let out = d.to_str().unwrap();
    let mut args = vec!["run"];
    args.extend(SCENE);
    args.extend(["--shard", "auto", "--out", out]);
    let slurm = [
        ("SLURM_ARRAY_TASK_ID", "7"),
        ("SLURM_ARRAY_TASK_MIN", "1"),
        ("SLURM_ARRAY_TASK_STEP", "2"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ];
    let (code, _, err) = celltwin(&args, &slurm);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Slurm array task 7"), "{err}");
    assert!(d.join("shard-00003-of-00004.json").is_file());
    let (code, _, err) = celltwin(&args, &[("JOB_COMPLETION_INDEX", "2")]);
    assert_eq!(code, 2, "Kubernetes needs --shards: {err}");
    assert!(err.contains("--shards"), "{err}");
    let mut k8s = args.clone();
    k8s.extend(["--shards", "5"]);
    let (code, _, err) = celltwin(&k8s, &[("JOB_COMPLETION_INDEX", "2")]);
    assert_eq!(code, 0, "{err}");
    assert!(d.join("shard-00002-of-00005.json").is_file());
    let (code, _, err) = celltwin(&args, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("neither a Slurm array"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

/// A sweep's points split over shards merge into the one-machine sweep table, byte for byte; a
/// run's shard among a sweep's is refused.
#[test]
fn sweep_shards_merge_into_the_table() {
    let d = tmp("sweep");
    let parts = d.join("parts");
    let sweep = |extra: &[&str]| {
        let mut args = vec![
            "sweep",
            "--cells",
            "30000",
            "--param",
            "line.spread_scale",
            "--values",
            "0.5,1,2",
        ];
        args.extend(extra);
        let (code, _, err) = celltwin(&args, &[]);
        assert_eq!(code, 0, "{err}");
    };
    for k in 0..2 {
        let spec = format!("{k}/2");
        sweep(&["--shard", &spec, "--out", parts.to_str().unwrap()]);
    }
    let merged = d.join("merged");
    let (code, _, err) = celltwin(
        &[
            "merge",
            parts.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let one = d.join("one");
    sweep(&["--out", one.to_str().unwrap()]);
    for f in ["sweep.csv", "sweep.json"] {
        assert_eq!(
            std::fs::read(one.join(f)).unwrap(),
            std::fs::read(merged.join(f)).unwrap(),
            "{f} byte for byte"
        );
    }
    let csv = std::fs::read_to_string(merged.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "header and three points: {csv}");
    let run_part = d.join("run");
    shard(0, 2, &run_part, &[]);
    let (code, _, err) = celltwin(
        &[
            "merge",
            parts
                .join("sweep-shard-00000-of-00002.json")
                .to_str()
                .unwrap(),
            run_part.join("shard-00000-of-00002.json").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("do not merge"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}
