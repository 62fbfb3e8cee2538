//! `celltwin import-bpx`: the two upstream BPX examples import onto valid, runnable scenes from
//! the right preset; bad BPX exits with status 2 and names the field.

mod common;

use celltwin::bpx::{self, Bpx};
use celltwin::scene::{self, Chemistry};
use std::path::{Path, PathBuf};
use std::process::Command;

const NMC: &str = "tests/data/bpx/nmc_pouch_cell_BPX.json";
const LFP: &str = "tests/data/bpx/lfp_18650_cell_BPX.json";

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

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

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("celltwin-bpx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The NMC example's JSON, for the bad-input cases to spoil.
fn nmc_json() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(data(NMC)).unwrap()).unwrap()
}

/// Each example imports through the binary, its scene file loads and validates as a scene, the
/// rated capacity is BPX's nominal capacity, the preset is the chemistry's, and a small run of
/// the scene makes cells at that capacity.
#[test]
fn examples_import_validate_and_run() {
    let dir = temp_dir();
    for (file, nominal_ah, preset, chemistry) in [
        (NMC, 12.5, "nmc21700_mature", Chemistry::Nmc21700),
        (LFP, 2.0, "lfp_prismatic_mature", Chemistry::LfpPrismatic),
    ] {
        let out = dir.join(format!("{preset}.toml"));
        let (code, stdout, stderr) = celltwin(&[
            "import-bpx",
            data(file).to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{file}: {stderr}");
        assert!(
            stdout.contains(&format!("Nearest preset: {preset}")),
            "{stdout}"
        );
        // The report accounts for what BPX gave and what the preset gave.
        for needle in [
            "cell.capacity_ah = ",
            "Nominal cell capacity [A.h]",
            "calendering.porosity_target",
            "cell.dcir_mohm",
            "K-value",
            "process spreads",
            "Upper voltage cut-off [V]",
        ] {
            assert!(
                stdout.contains(needle),
                "{file}: no `{needle}` in\n{stdout}"
            );
        }

        let mut s = scene::load(Some(out.to_str().unwrap()), &[])
            .unwrap_or_else(|e| panic!("{file}: the written scene does not load: {e}"));
        scene::validate(&s).unwrap();
        assert_eq!(s.chemistry, chemistry, "{file}");
        assert_eq!(s.cell.capacity_ah, nominal_ah, "{file}");
        // The same scene as the library makes.
        let lib = bpx::import_file(data(file).to_str().unwrap()).unwrap();
        assert_eq!(lib.scene, s, "{file}: the file and the library disagree");
        assert_eq!(lib.preset, preset);

        // A small run: cells come out at the BPX capacity, not the preset's.
        s.cells = 20_000;
        s.pack.window = 10_000;
        s.pack.life_packs = celltwin::scene::LifePacks::Sample(4);
        let summary = common::run(&s);
        assert!(summary.yield_ > 0.5, "{file}: yield {}", summary.yield_);
        let mean = summary.capacity.passed.mean;
        assert!(
            (mean / nominal_ah - 1.0).abs() < 0.05,
            "{file}: passed cells average {mean} Ah against a nominal {nominal_ah} Ah"
        );
        assert_eq!(summary.packs.rated_ah, nominal_ah, "{file}");
    }
}

/// Without `--out` the scene TOML goes to stdout (the report to stderr), and it is the same scene.
#[test]
fn stdout_is_the_scene() {
    let (code, stdout, stderr) = celltwin(&["import-bpx", data(LFP).to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("Nearest preset: lfp_prismatic_mature"),
        "{stderr}"
    );
    let s = scene::from_toml_str(&stdout).unwrap_or_else(|e| panic!("{e}\n{stdout}"));
    assert_eq!(s.cell.capacity_ah, 2.0);
    assert_eq!(s.chemistry, Chemistry::LfpPrismatic);
}

/// The mapped values themselves: the capacity, the thickness-weighted porosity of the electrodes,
/// the pore fill and the resistances at the preset's R·Ah.
#[test]
fn mapping_values() {
    let imp = bpx::import_file(data(NMC).to_str().unwrap()).unwrap();
    let s = &imp.scene;
    assert_eq!(s.cell.capacity_ah, 12.5);
    // (56.2 µm × 0.253991 + 52.3 µm × 0.277493) / 108.5 µm
    let eps = (56.2 * 0.253991 + 52.3 * 0.277493) / (56.2 + 52.3);
    assert!((s.calendering.porosity_target - eps).abs() < 1e-4);
    // 0.016808 m² × 34 × (56.2·0.253991 + 52.3·0.277493 + 20·0.47) µm × 1.2 g/cm³ / 12.5 Ah
    let pore_cm3 = 0.016808 * 34.0 * (56.2 * 0.253991 + 52.3 * 0.277493 + 20.0 * 0.47);
    let pore_g_per_ah = pore_cm3 * bpx::ELECTROLYTE_DENSITY_G_CM3 / 12.5;
    assert!((s.filling.pore_g_per_ah / pore_g_per_ah - 1.0).abs() < 1e-3);
    // The fill ratio the model sees is the preset's.
    let preset = scene::load(Some("nmc21700_mature"), &[]).unwrap();
    let ratio = |s: &scene::Scene| s.filling.g_per_ah / s.filling.pore_g_per_ah;
    assert!((ratio(s) / ratio(&preset) - 1.0).abs() < 1e-3);
    // R·Ah kept: 18 mΩ at 5 Ah is 7.2 mΩ at 12.5 Ah, and the budget still sums to the DCIR.
    assert!((s.cell.dcir_mohm - 7.2).abs() < 1e-9);
    let parts = s.winding.tab_weld_median_mohm
        + s.calendering.r_ionic_mohm
        + s.formation.r_sei_mohm
        + s.filling.r_bulk_mohm;
    assert!((parts - s.cell.dcir_mohm).abs() < 1e-9);
    // The K-value and the spreads are the preset's, untouched.
    assert_eq!(
        s.formation.k_median_mv_day,
        preset.formation.k_median_mv_day
    );
    assert_eq!(s.coating, preset.coating);
    assert_eq!(s.eol, preset.eol);
}

/// The nearest-preset rule: by the charge cut-off, LFP at or below 3.65 V.
#[test]
fn preset_rule() {
    let mut j = nmc_json();
    let at = |j: &serde_json::Value| {
        let b = Bpx::from_json_str("t", &j.to_string()).unwrap();
        bpx::nearest_preset(&b).0
    };
    assert_eq!(at(&j), "nmc21700_mature");
    j["Parameterisation"]["Cell"]["Upper voltage cut-off [V]"] = 3.65.into();
    assert_eq!(at(&j), "lfp_prismatic_mature");
    j["Parameterisation"]["Cell"]["Upper voltage cut-off [V]"] = 3.66.into();
    assert_eq!(at(&j), "nmc21700_mature");
    let lfp = Bpx::load(data(LFP).to_str().unwrap()).unwrap();
    assert_eq!(bpx::nearest_preset(&lfp).0, "lfp_prismatic_mature");
}

/// Bad BPX: each case exits with status 2 and a message that names the field (or the file), the
/// value and the range where there is one; none panics.
#[test]
fn bad_bpx_is_a_clear_error() {
    let dir = temp_dir();
    type Spoil = fn(&mut serde_json::Value);
    let cases: Vec<(&str, Spoil, Vec<&str>)> = vec![
        (
            "missing",
            |j| {
                j["Parameterisation"]["Cell"]
                    .as_object_mut()
                    .unwrap()
                    .remove("Nominal cell capacity [A.h]");
            },
            vec![
                "Parameterisation.Cell.Nominal cell capacity [A.h]",
                "missing",
            ],
        ),
        (
            "porosity",
            |j| j["Parameterisation"]["Positive electrode"]["Porosity"] = 1.3.into(),
            vec![
                "Parameterisation.Positive electrode.Porosity",
                "1.3",
                "(0, 1)",
            ],
        ),
        (
            "negative_thickness",
            |j| j["Parameterisation"]["Negative electrode"]["Thickness [m]"] = (-5.62e-5).into(),
            vec![
                "Parameterisation.Negative electrode.Thickness [m]",
                "-0.0000562",
                "(0, 0.01] m",
            ],
        ),
        (
            "nan_thickness",
            |j| j["Parameterisation"]["Separator"]["Thickness [m]"] = "NaN".into(),
            vec![
                "Parameterisation.Separator.Thickness [m]",
                "invalid type",
                "NaN",
            ],
        ),
        (
            "micrometres",
            |j| j["Parameterisation"]["Positive electrode"]["Thickness [m]"] = 52.3.into(),
            vec!["Parameterisation.Positive electrode.Thickness [m]", "52.3"],
        ),
        (
            "cutoffs",
            |j| j["Parameterisation"]["Cell"]["Upper voltage cut-off [V]"] = 2.5.into(),
            vec!["Parameterisation.Cell.Upper voltage cut-off [V]", "2.5"],
        ),
        (
            "zero_capacity",
            |j| j["Parameterisation"]["Cell"]["Nominal cell capacity [A.h]"] = 0.into(),
            vec![
                "Parameterisation.Cell.Nominal cell capacity [A.h]",
                "(0, 10000]",
            ],
        ),
        (
            "no_separator",
            |j| {
                j["Parameterisation"]
                    .as_object_mut()
                    .unwrap()
                    .remove("Separator");
            },
            vec!["Parameterisation.Separator", "missing"],
        ),
        (
            "model",
            |j| j["Header"]["Model"] = "P2D".into(),
            vec!["Header.Model", "P2D"],
        ),
    ];
    for (name, spoil, needles) in cases {
        let mut j = nmc_json();
        spoil(&mut j);
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, j.to_string()).unwrap();
        let (code, _, stderr) = celltwin(&["import-bpx", path.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: exit {code}, {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        for n in needles {
            assert!(stderr.contains(n), "{name}: no `{n}` in {stderr}");
        }
    }

    // Not JSON at all, and a file that is not there.
    let not_json = dir.join("not_json.json");
    std::fs::write(&not_json, "Header = 1\n").unwrap();
    let (code, _, stderr) = celltwin(&["import-bpx", not_json.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("not_json.json") && stderr.contains("not valid JSON"),
        "{stderr}"
    );
    let absent = dir.join("absent.json");
    let (code, _, stderr) = celltwin(&["import-bpx", absent.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("absent.json"), "{stderr}");
}

/// A single-particle-model file has no porosities: the importer takes them from the preset and
/// says so, rather than failing.
#[test]
fn spm_file_takes_porosity_from_the_preset() {
    let mut j = nmc_json();
    j["Header"]["Model"] = "SPM".into();
    let p = j["Parameterisation"].as_object_mut().unwrap();
    p.remove("Separator");
    for e in ["Negative electrode", "Positive electrode"] {
        p[e].as_object_mut().unwrap().remove("Porosity");
    }
    let b = Bpx::from_json_str("spm", &j.to_string()).unwrap();
    let imp = bpx::import(&b).unwrap();
    let preset = scene::load(Some("nmc21700_mature"), &[]).unwrap();
    assert_eq!(
        imp.scene.calendering.porosity_target,
        preset.calendering.porosity_target
    );
    assert!(
        imp.report().contains("gives no porosities"),
        "{}",
        imp.report()
    );
    // The same file as a DFN is missing its porosity.
    j["Header"]["Model"] = "DFN".into();
    let e = Bpx::from_json_str("dfn", &j.to_string())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Parameterisation.Negative electrode.Porosity"),
        "{e}"
    );
}
