//! The command line as a contract: exit codes, messages naming key/value/range, JSON keys, files.

use std::process::Command;

fn celltwin(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_celltwin"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `--set` arguments for each of `kv`.
fn sets(kv: &[&str]) -> Vec<String> {
    kv.iter()
        .flat_map(|s| ["--set".to_string(), s.to_string()])
        .collect()
}

/// Each bad input exits with status 2 and a message that names what is wrong; none panics.
#[test]
fn bad_input_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("celltwin-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_file = dir.join("bad.toml");
    std::fs::write(
        &bad_file,
        "chemistry = \"nmc21700\"\n[coating]\ncathod_loading_cv = 0.01\n",
    )
    .unwrap();
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "cells = = 3\n").unwrap();
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            vec!["--set".into(), "coating.cathod_loading_cv=0.01".into()],
            vec![
                "unknown key",
                "coating.cathod_loading_cv",
                "cathode_loading_cv",
            ],
        ),
        (
            vec![bad_file.display().to_string()],
            vec!["unknown key", "coating.cathod_loading_cv"],
        ),
        (vec![broken.display().to_string()], vec!["not valid TOML"]),
        (
            vec!["--set".into(), "winding.area_cv=abc".into()],
            vec!["winding.area_cv", "expected a number", "abc"],
        ),
        (
            vec!["--set".into(), "winding.area_cv=nan".into()],
            vec!["winding.area_cv", "NaN", "[0, 0.5]"],
        ),
        (
            vec!["--set".into(), "calendering.porosity_sd=-0.01".into()],
            vec!["calendering.porosity_sd", "-0.01", "[0, 0.1]"],
        ),
        (
            vec!["--set".into(), "winding.xray_detect=1.5".into()],
            vec!["winding.xray_detect", "1.5", "[0, 1]"],
        ),
        (
            vec!["--set".into(), "life.short_hazard=-1e-5".into()],
            vec!["life.short_hazard", "[0, 1]"],
        ),
        (
            vec!["--set".into(), "pack.series=0".into()],
            vec!["pack.series", "0", "[1, 1024]"],
        ),
        (
            vec!["--set".into(), "pack.window=50".into()],
            vec!["pack.window", "50", "[96,"],
        ),
        (
            vec!["--cells".into(), "50".into()],
            vec!["pack.series × pack.parallel", "96", "cells = 50"],
        ),
        (
            vec![
                "--set".into(),
                "pack.series=500".into(),
                "--set".into(),
                "pack.parallel=64".into(),
                "--set".into(),
                "pack.window=10000000".into(),
                "--cells".into(),
                "20000".into(),
            ],
            vec![
                "pack.series × pack.parallel",
                "32000",
                "cannot hold more cells",
            ],
        ),
        (
            sets(&["line.spread_scale=6", "coating.cathode_loading_cv=0.1"]),
            vec![
                "coating.cathode_loading_cv × line.spread_scale",
                "0.1 × 6",
                "[0, 0.5]",
            ],
        ),
        (
            sets(&[
                "winding.tab_weld_median_mohm=0",
                "calendering.r_ionic_mohm=0",
                "formation.r_sei_mohm=0",
                "filling.r_bulk_mohm=0",
            ]),
            vec!["filling.r_bulk_mohm", "(0,"],
        ),
        (
            sets(&["life.c_rate=5", "life.thermal_resistance_k_per_w=50"]),
            vec!["self-heating", "life.thermal_resistance_k_per_w", " K"],
        ),
        (
            sets(&["pack.life_packs=2000000"]),
            vec!["pack.life_packs", "2000000", "[0, 1000000]"],
        ),
        (
            sets(&["pack.life_packs=every"]),
            vec!["pack.life_packs", "\"every\"", "\"all\" or a whole number"],
        ),
        (
            sets(&["life.max_cycles=5"]),
            vec!["life.max_cycles", "[10,"],
        ),
        (
            vec!["--seed".into(), "18446744073709551615".into()],
            vec!["--seed", "18446744073709551615"],
        ),
        (
            vec!["--cells".into(), "0".into()],
            vec!["cells", "0", "[1, 10000000000]"],
        ),
        (
            vec!["--set".into(), "pack.matching=greedy".into()],
            vec!["pack.matching", "unknown variant", "sorted"],
        ),
        (
            vec!["--set".into(), "chemistry=nca".into()],
            vec!["chemistry", "nmc21700"],
        ),
        (
            vec!["--set".into(), "noequals".into()],
            vec!["--set", "KEY=VALUE"],
        ),
        (
            vec!["no_such_scene".into()],
            vec!["no_such_scene", "built-ins", "nmc21700_mature"],
        ),
    ];
    for (extra, needles) in cases {
        let mut args = vec!["run", "--backend", "cpu"];
        args.extend(extra.iter().map(String::as_str));
        let (code, _, err) = celltwin(&args);
        assert_eq!(code, 2, "{args:?} exited {code}: {err}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: message lacks `{n}`: {err}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `run --json` prints one JSON object with the contract's keys; `--out` writes summary.json and
/// the CSVs; stats are consistent with each other.
#[test]
fn run_json_and_out_dir() {
    let dir = std::env::temp_dir().join(format!("celltwin-out-{}", std::process::id()));
    let d = dir.display().to_string();
    let (code, out, err) = celltwin(&[
        "run",
        "--backend",
        "cpu",
        "--cells",
        "100000",
        "--seed",
        "7",
        "--json",
        "--out",
        &d,
        "--set",
        "pack.life_packs=20",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    for k in [
        "cells",
        "seed",
        "backend",
        "stages",
        "yield",
        "packs",
        "cost",
        "elapsed_s",
        "cells_per_s",
    ] {
        assert!(v.get(k).is_some(), "JSON lacks `{k}`");
    }
    assert_eq!(v["cells"], 100000);
    assert_eq!(v["seed"], 7);
    assert_eq!(v["backend"], "cpu");
    // Stage flow is conserved: what leaves one station enters the next.
    let stages = v["stages"].as_array().unwrap();
    for w in stages.windows(2) {
        assert_eq!(w[0]["cells_out"], w[1]["cells_in"]);
    }
    let passed = stages.last().unwrap()["cells_out"].as_f64().unwrap();
    assert!((v["yield"].as_f64().unwrap() - passed / 1e5).abs() < 1e-12);
    for f in [
        "summary.json",
        "fade_curve.csv",
        "hist_capacity_true.csv",
        "hist_capacity_measured.csv",
        "hist_dcir_measured.csv",
        "hist_k_measured.csv",
        "hist_np_ratio.csv",
        "hist_pack_initial_capacity.csv",
        "hist_pack_life.csv",
        "stages.csv",
        "scrap_pareto.csv",
        "grades.csv",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    let fade = std::fs::read_to_string(dir.join("fade_curve.csv")).unwrap();
    assert!(fade.starts_with("cycles,p5,p50,p95\n") && fade.lines().count() > 10);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_prints_resolved_values_and_sweep_prints_a_table() {
    let (code, out, err) = celltwin(&[
        "check",
        "nmc21700_ramp_up",
        "--set",
        "formation.aging_days=6",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("spread_scale = 4.0") && out.contains("aging_days = 6.0"),
        "{out}"
    );
    let (code, out, err) = celltwin(&[
        "sweep",
        "--backend",
        "cpu",
        "--cells",
        "40000",
        "--param",
        "line.spread_scale",
        "--values",
        "1,3",
        "--json",
        "--set",
        "pack.life_packs=10",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[1]["yield"].as_f64() < rows[0]["yield"].as_f64(),
        "more spread, less yield"
    );
}

#[test]
fn gpu_backend_is_a_clear_error_or_runs() {
    let (code, _, err) = celltwin(&[
        "run",
        "--backend",
        "gpu",
        "--cells",
        "20000",
        "--set",
        "pack.life_packs=0",
    ]);
    assert!(
        code == 0 || (code == 2 && err.contains("GPU")),
        "exit {code}: {err}"
    );
    assert!(!err.contains("panicked"));
}

/// The command line tried as a hostile user would: float notation for a count works, an absurd
/// count or a 50 000-part key is exit 2 with the problem named (no overflow, no panic), `--threads
/// 0` means every core and a huge count is capped with a note, a missing scene for the app is
/// exit 2 before any window.
#[test]
fn hostile_inputs_are_handled() {
    let (code, _, err) = celltwin(&["check", "nmc21700", "--set", "cells=2e4"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = celltwin(&["run", "--backend", "cpu", "--cells", "2e4", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\"cells\":20000"),
        "{}",
        &out[..200.min(out.len())]
    );
    let (code, _, err) = celltwin(&["run", "--backend", "cpu", "--cells", "18446744073709551615"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cells") && err.contains("18446744073709551615"),
        "{err}"
    );
    let deep = vec!["a"; 50_000].join(".");
    let (code, _, err) = celltwin(&["run", "--backend", "cpu", "--set", &format!("{deep}=1")]);
    assert_eq!(code, 2, "{}", &err[..300.min(err.len())]);
    assert!(
        err.contains("section.key") && !err.contains("overflow"),
        "{}",
        &err[..300.min(err.len())]
    );
    let (code, _, err) = celltwin(&[
        "run",
        "--backend",
        "cpu",
        "--cells",
        "20000",
        "--threads",
        "0",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = celltwin(&[
        "run",
        "--backend",
        "cpu",
        "--cells",
        "20000",
        "--threads",
        "100000",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("capped"), "{err}");
    let (code, _, err) = celltwin(&["app", "missing.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing.toml"), "{err}");
}

/// Run the binary through `bash -c` (for redirections); status and stderr.
fn shell(cmd: &str) -> (i32, String) {
    let bin = env!("CARGO_BIN_EXE_celltwin");
    let out = Command::new("bash")
        .arg("-c")
        .arg(cmd.replace("CELLTWIN", bin))
        .output()
        .expect("bash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One line on stderr saying stdout failed, a non-zero status, no panic.
fn assert_stdout_error(what: &str, code: i32, err: &str) {
    assert!(
        code != 0 && code != 101,
        "{what}: exit {code}, stderr {err}"
    );
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{what}: one line: {err}");
    assert!(err.contains("cannot write to stdout"), "{what}: {err}");
}

/// A closed or full stdout ends with a non-zero status and one line on stderr, never a panic
/// (`print!` would panic with "failed printing to stdout", exit 101).
#[test]
fn a_closed_or_full_stdout_is_an_error_not_a_panic() {
    // (A stdout closed outright, `>&-`, is a sink to Rust's std: writes to it succeed.)
    let cmd = "CELLTWIN check nmc21700_mature > /dev/full";
    let (code, err) = shell(cmd);
    assert_stdout_error(cmd, code, &err);
    // A pipe whose reader has gone: the read end is closed before celltwin starts, so its first
    // write meets a broken pipe whatever the machine's load.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_celltwin"))
        .args(["check", "nmc21700_mature"])
        .stdout(writer)
        .output()
        .expect("the binary runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_stdout_error("broken pipe", out.status.code().unwrap_or(-1), &err);
}

/// `--out` is checked before the run: a path under a plain file fails at once with exit 2; a good
/// one gets every file and no temporary ones.
#[test]
fn out_is_checked_first_and_written_whole() {
    let dir = std::env::temp_dir().join(format!("celltwin-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("plain");
    std::fs::write(&file, b"").unwrap();
    let bad = file.join("sub");
    // 10⁸ cells would take minutes: the refusal comes before the run (no progress, no backend).
    let (code, _, err) = celltwin(&["run", "--cells", "1e8", "--out", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--out") && err.contains("plain"), "{err}");
    assert!(
        !err.contains("backend"),
        "refused before a backend opened: {err}"
    );

    let good = dir.join("out");
    let (code, _, err) = celltwin(&["run", "--cells", "20000", "--out", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let names: Vec<String> = std::fs::read_dir(&good)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"summary.json".to_string()), "{names:?}");
    assert!(names.contains(&"stages.csv".to_string()), "{names:?}");
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "no temporary files: {names:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
