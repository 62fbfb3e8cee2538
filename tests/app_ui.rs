//! The app driven headless with egui_kittest: controls by their labels, results from the real
//! engine (small runs, the app blocking until each result is in), a wgpu-rendered snapshot.
//!
//! `UPDATE_SNAPSHOTS=1 cargo test --release --test app_ui` rewrites `tests/snapshots/*.png`.
#![cfg(feature = "app")]

use celltwin::app::CellTwinApp;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT, Queryable};

/// The default scene at 10⁵ cells with a small life sample: a run takes well under a second.
fn small_app(auto_sweep: bool) -> CellTwinApp {
    let scene = celltwin::scene::load(None, &["cells=100000".into(), "pack.life_packs=200".into()])
        .unwrap();
    let mut app = CellTwinApp::new_headless(scene, true);
    app.cell_cap = Some(100_000);
    app.sweep.auto = auto_sweep;
    app.sweep.points_n = 3;
    app
}

fn harness(app: CellTwinApp) -> Harness<'static, CellTwinApp> {
    // A run wakes the window from the worker several times (progress, preview, full run, the
    // sweep and waterfall it then asks for): `run` may need more than kittest's default 4 frames
    // to settle, however quickly each result lands.
    Harness::builder()
        .with_max_steps(16)
        .with_size(egui::vec2(1400.0, 900.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut CellTwinApp| app.ui_contents(ui), app)
}

#[test]
fn moving_a_slider_reruns_and_changes_the_summary() {
    let mut h = harness(small_app(false));
    h.run();
    let before = h.state().current.clone().expect("the first run is in");
    assert_eq!(before.cells, 100_000);
    // The status bar's latency: a run this small has no preview, only its full picture.
    let [preview, full] = h.state().answered_s;
    assert!(
        preview.is_none() && full.is_some_and(|t| t > 0.0),
        "{preview:?} {full:?}"
    );

    h.get(By::new().role(Role::Slider).label("Spread scale (×)"))
        .set_value_accesskit(4.0);
    h.run();
    let app = h.state();
    assert_eq!(app.scene.line.spread_scale, 4.0);
    let after = app.current.clone().expect("the rerun is in");
    assert!(
        !std::sync::Arc::ptr_eq(&before, &after),
        "a new summary arrived"
    );
    assert!(
        after.capacity.true_.cv > 2.0 * before.capacity.true_.cv,
        "4× spreads widen capacity: CV {} -> {}",
        before.capacity.true_.cv,
        after.capacity.true_.cv
    );
    assert!(after.yield_ < before.yield_, "and cost yield");

    // The changed value is marked and can be reset from its button.
    // (Only the changed control's button is enabled: clicking the others does nothing.)
    let n = h.get_all_by_label("reset").count();
    for i in 0..n {
        h.get_all_by_label("reset").nth(i).unwrap().click();
        h.run();
    }
    assert_eq!(h.state().scene.line.spread_scale, 1.0);
}

#[test]
fn loading_a_builtin_scene_resets_the_controls() {
    let mut h = harness(small_app(false));
    h.run();
    h.get(By::new().role(Role::ComboBox).label("Scene")).click();
    h.run();
    h.get_by_label("story_aging_6d").click();
    h.run();
    let app = h.state();
    assert_eq!(app.base_source, "story_aging_6d");
    assert_eq!(app.scene.formation.aging_days, 6.0);
    assert_eq!(app.scene.line.defect_scale, 5.0);
    let s = app.current.clone().expect("the story ran");
    assert_eq!(s.scene, "Aging test 6 days");
    assert_eq!(s.cells, 100_000, "the test cap keeps the run small");
}

#[test]
fn pinning_a_run_overlays_it() {
    let mut h = harness(small_app(false));
    h.run();
    h.get_by_label("Pin current run").click();
    h.run();
    assert!(h.state().pins[0].is_some());
    // A changed run next to the pin: both stay.
    h.get(By::new().role(Role::Slider).label("Defect scale (×)"))
        .set_value_accesskit(10.0);
    h.run();
    let app = h.state();
    let pin = app.pins[0].as_ref().unwrap();
    let cur = app.current.as_ref().unwrap();
    assert!(cur.defects.latent > 5 * pin.summary.defects.latent);
    // The comparison reads as numbers: escaped defects pinned → current with the change.
    let change = format!(
        "{:+.1} %",
        100.0 * (cur.defects.escaped_ppm / pin.summary.defects.escaped_ppm - 1.0)
    );
    assert!(shows(&h, "against the current run"));
    assert!(shows(&h, &change), "change {change} shown");
    h.get_by_label("unpin 1").click();
    h.run();
    assert!(h.state().pins[0].is_none());
}

#[test]
fn the_headline_sweep_runs_in_the_background() {
    let mut h = harness(small_app(true));
    h.run();
    let app = h.state();
    assert_eq!(app.sweep.points.len(), 3);
    assert_eq!(app.sweep.points_key, "line.spread_scale");
    let (first, last) = (&app.sweep.points[0], &app.sweep.points[2]);
    assert!(first.value < last.value);
    assert!(
        last.row.life_p5 <= first.row.life_p5,
        "wider spreads do not lengthen the worst packs' life: {} -> {}",
        first.row.life_p5,
        last.row.life_p5
    );
}

#[test]
fn exporting_the_summary_writes_json_and_csv() {
    let dir = std::env::temp_dir().join(format!("celltwin_app_export_{}", std::process::id()));
    let mut app = small_app(false);
    app.export_dir = dir.display().to_string();
    let mut h = harness(app);
    h.run();
    h.get_by_label("Summary JSON+CSV").click();
    h.run();
    let json = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json written");
    assert!(json.contains("\"stages\""));
    assert!(dir.join("fade_curve.csv").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn snapshot_of_the_default_view() {
    let mut h = harness(small_app(true));
    h.run();
    h.snapshot("app_default_view");
}

#[test]
fn without_a_display_the_app_points_to_run() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_celltwin"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run celltwin");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("celltwin run"), "stderr: {err}");
    assert!(!err.contains("panicked"), "stderr: {err}");
}

/// After a run the waterfall beside the headline chart explains the loss: its shares take the
/// nominal cell's life down to the attributed scene's pack life, and the window says how much was
/// lost. A slider move marks it stale until the next run's attribution replaces it.
#[test]
fn the_waterfall_explains_the_lost_life() {
    let mut h = harness(small_app(false));
    h.run();
    let a = h
        .state()
        .attribution
        .result
        .clone()
        .expect("attribution after a run");
    let lost: f64 = a.sources.iter().map(|s| s.p50_cycles).sum();
    assert!(
        (a.nominal_cell_life_cycles - lost - a.pack_life_p50_cycles).abs() < 1e-6,
        "shares {lost} vs nominal {} − pack {}",
        a.nominal_cell_life_cycles,
        a.pack_life_p50_cycles
    );
    let expected = format!(
        "{:.0} cycles lost",
        a.nominal_cell_life_cycles - a.pack_life_p50_cycles
    );
    assert!(
        h.query_by_label_contains(&expected).is_some(),
        "the window shows '{expected}'"
    );
    let thermal = a
        .sources
        .iter()
        .find(|s| s.name == "thermal field")
        .unwrap();
    assert!(
        thermal.p50_cycles > 3.0 * thermal.se_cycles,
        "the 5 K gradient costs life"
    );
}

/// Whether any widget's label contains `text`.
fn shows(h: &Harness<'static, CellTwinApp>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

/// A sweep over a value the scene does not allow fails: the chart says why, in full, and greys its
/// curve; the next sweep, kept inside the allowed range, succeeds and clears the message.
#[test]
fn a_failed_sweep_is_marked_and_cleared() {
    let mut h = harness(small_app(false));
    h.run();
    // spread 8 × porosity SD 0.015 exceeds the porosity SD's bound: invalid.
    h.state_mut().request_sweep_values(vec![1.0, 8.0]);
    h.run();
    let err = h.state().sweep.error.clone().expect("the sweep failed");
    assert!(err.contains("calendering.porosity_sd"), "{err}");
    assert!(shows(&h, "sweep failed"));
    // The automatic range stays inside what the scene allows.
    let app = h.state_mut();
    app.sweep.lo = 0.5;
    app.sweep.hi = 8.0;
    app.request_sweep();
    h.run();
    let app = h.state();
    assert!(app.sweep.error.is_none(), "{:?}", app.sweep.error);
    assert!(
        app.sweep.hi < 8.0 && app.sweep.hi > 6.0,
        "hi {}",
        app.sweep.hi
    );
    assert!(!shows(&h, "sweep failed"), "the message is cleared");
}

/// An invalid value runs nothing and says so above the results and in the status bar; the
/// spread slider's range stops where the rest of the scene stops being valid.
#[test]
fn an_invalid_value_is_shown_not_run() {
    let mut h = harness(small_app(false));
    h.run();
    let before = h.state().current.clone().unwrap();
    h.state_mut().scene.line.spread_scale = 8.0;
    h.run();
    let app = h.state();
    let err = app.scene_error.clone().expect("invalid");
    assert!(err.contains("porosity_sd"), "{err}");
    assert!(
        std::sync::Arc::ptr_eq(&before, app.current.as_ref().unwrap()),
        "nothing ran"
    );
    assert!(shows(&h, "Not run —"), "above the results");
    assert!(shows(&h, "not run:"), "in the status bar");
    // Back to a valid value: the slider now offers at most what the scene allows.
    h.state_mut().scene.line.spread_scale = 1.0;
    h.run();
    let k = celltwin::app::knobs::groups()[0].knobs[0].clone();
    let (_, hi) = celltwin::app::knobs::valid_range(&k, &h.state().scene);
    assert!((6.0..8.0).contains(&hi), "spread scale allowed up to {hi}");
    assert!(h.state().scene_error.is_none());
}

/// After a 6× spread the pack-life histogram refits to the new lives (P50 far below the mature
/// line's), and the fade chart reaches the P95 pack's end of life.
#[test]
fn plots_refit_to_a_new_result() {
    let mut h = harness(small_app(false));
    h.run();
    let id = "Pack life (cycles to end of life)";
    let (a0, b0) = h.state().plot_x_range(id).expect("shown");
    h.state_mut().scene.line.spread_scale = 6.0;
    h.run();
    h.run();
    let s = h.state().current.clone().unwrap();
    let (a1, b1) = h.state().plot_x_range(id).expect("shown");
    let p50 = s.packs.life_cycles.p50;
    assert!(
        p50 < a0,
        "the new lives ({p50}) lie outside the old view {a0}..{b0}"
    );
    assert!(
        a1 <= p50 && p50 <= b1,
        "refit view {a1}..{b1} holds P50 {p50}"
    );
    let (_, fade_hi) = h.state().plot_x_range("fade").expect("fade shown");
    assert!(
        fade_hi >= s.packs.life_cycles.p95,
        "fade view to {fade_hi}, P95 {}",
        s.packs.life_cycles.p95
    );
}

fn snapshot_at(w: f32, hgt: f32, name: &str) {
    let mut h = Harness::builder()
        .with_max_steps(16)
        .with_size(egui::vec2(w, hgt))
        .wgpu()
        .build_ui_state(
            |ui, app: &mut CellTwinApp| app.ui_contents(ui),
            small_app(true),
        );
    h.run();
    h.snapshot(name);
}

/// The layout at a laptop's 1280×720 and a desktop's 1600×1000.
#[test]
fn snapshot_at_1280x720() {
    snapshot_at(1280.0, 720.0, "app_1280x720");
}

#[test]
fn snapshot_at_1600x1000() {
    snapshot_at(1600.0, 1000.0, "app_1600x1000");
}

/// Ctrl+Z steps a slider edit back (and the run follows), Ctrl+Shift+Z steps it forward again;
/// the buttons say when there is nothing to undo.
#[test]
fn undo_and_redo_step_through_scene_edits() {
    use egui::{Key, Modifiers};
    let mut h = harness(small_app(false));
    h.run();
    assert!(
        h.get_by_label("Undo").accesskit_node().is_disabled(),
        "nothing to undo yet"
    );
    let cv1 = h.state().current.as_ref().unwrap().capacity.true_.cv;
    h.get(By::new().role(Role::Slider).label("Spread scale (×)"))
        .set_value_accesskit(4.0);
    h.run();
    assert_eq!(h.state().scene.line.spread_scale, 4.0);
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    let app = h.state();
    assert_eq!(app.scene.line.spread_scale, 1.0, "undone");
    let cv = app.current.as_ref().unwrap().capacity.true_.cv;
    assert!(
        (cv - cv1).abs() < 1e-12,
        "the run follows the undo: CV {cv} vs {cv1}"
    );
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    h.run();
    assert_eq!(h.state().scene.line.spread_scale, 4.0, "redone");
    // The button does the same as the key.
    h.get_by_label("Undo").click();
    h.run();
    assert_eq!(h.state().scene.line.spread_scale, 1.0);
    // A new edit after an undo drops the redo.
    h.state_mut().scene.line.defect_scale = 3.0;
    h.run();
    h.run();
    assert!(h.get_by_label("Redo").accesskit_node().is_disabled());
}

/// The theme follows the menu: light and dark, or the system's.
#[test]
fn the_theme_can_be_chosen() {
    let mut h = harness(small_app(false));
    h.run();
    assert_eq!(h.ctx.theme(), egui::Theme::Dark);
    h.get(By::new().role(Role::ComboBox).label("Theme")).click();
    h.run();
    h.get_by_label("Light").click();
    h.run();
    assert_eq!(h.ctx.theme(), egui::Theme::Light);
    assert_eq!(
        h.ctx.options(|o| o.theme_preference),
        egui::ThemePreference::Light
    );
}

/// A dropped file as the window receives it.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// A scene TOML dropped on the window loads as the base scene, a BPX cell (.json) imports; a bad
/// file says why and keeps the scene. Without a desktop portal the dialog buttons are greyed, and the path field stays.
#[test]
fn a_dropped_scene_file_loads() {
    let dir = std::env::temp_dir().join(format!("celltwin_drop_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut story = celltwin::scene::load(Some("story_aging_6d"), &[]).unwrap();
    story.cells = 100_000;
    let good = dir.join("aging6.toml");
    std::fs::write(&good, toml::to_string(&story).unwrap()).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[line]\nspread_scale = -1\n").unwrap();

    let mut h = harness(small_app(false));
    h.run();
    assert!(h.get_by_label("Open…").accesskit_node().is_disabled());
    assert!(h.get_by_label("Save as…").accesskit_node().is_disabled());
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(good.clone())));
    h.run();
    let app = h.state();
    assert_eq!(app.base_source, good.display().to_string());
    assert_eq!(app.scene.formation.aging_days, 6.0);
    assert_eq!(app.current.as_ref().unwrap().scene, "Aging test 6 days");

    // A BPX cell (.json) imports onto its nearest preset at its own capacity.
    let bpx = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/bpx/nmc_pouch_cell_BPX.json");
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(bpx)));
    h.run();
    let app = h.state();
    assert_eq!(app.scene.cell.capacity_ah, 12.5, "BPX nominal capacity");
    assert!(app.base_source.ends_with("(BPX)"), "{}", app.base_source);
    let note = app.note.as_ref().expect("a note");
    assert!(
        !note.error && note.text.contains("nmc21700"),
        "{}",
        note.text
    );

    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(bad.clone())));
    h.run();
    let app = h.state();
    let note = app.note.as_ref().expect("a note");
    assert!(
        note.error && note.text.contains("spread_scale"),
        "{}",
        note.text
    );
    assert_eq!(app.scene.cell.capacity_ah, 12.5, "the scene stays");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A storage in memory, as eframe's file storage would hold it.
#[derive(Default)]
struct MemStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.into(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

/// The session outlives the app: the edited scene, its base, the paths and the log axis come back
/// at the next launch; a scene named on the command line wins; a session whose scene no longer
/// validates is dropped with a note.
#[test]
fn the_session_persists_across_launches() {
    use celltwin::app::files;
    use eframe::App;
    let mut first = small_app(false);
    first.load_scene(
        celltwin::scene::load(Some("story_aging_6d"), &["cells=100000".into()]).unwrap(),
        "story_aging_6d".into(),
    );
    first.scene.line.spread_scale = 2.0;
    first.file_path = "/tmp/mine.toml".into();
    first.hist_log = true;
    let mut storage = MemStorage::default();
    first.save(&mut storage);

    let session = files::stored_session(Some(&storage)).expect("kept");
    let mut next = small_app(false);
    next.restore_session(session.clone(), true);
    assert_eq!(next.base_source, "story_aging_6d");
    assert_eq!(next.base.formation.aging_days, 6.0);
    assert_eq!(next.scene.line.spread_scale, 2.0, "the edit is kept");
    assert_eq!(
        next.base.line.spread_scale, 1.0,
        "and reset still goes back"
    );
    assert_eq!(next.file_path, "/tmp/mine.toml");
    assert!(next.hist_log);

    let mut named = small_app(false);
    named.restore_session(session.clone(), false);
    assert_eq!(
        named.scene.formation.aging_days, 10.0,
        "the named scene wins"
    );
    assert_eq!(named.file_path, "/tmp/mine.toml");

    let mut broken = session;
    broken.scene_toml = broken
        .scene_toml
        .replace("spread_scale = 2.0", "spread_scale = -2.0");
    let mut stale = small_app(false);
    stale.restore_session(broken, true);
    assert_eq!(stale.scene.line.spread_scale, 1.0);
    let note = stale.note.as_ref().expect("said");
    assert!(
        note.error && note.text.contains("spread_scale"),
        "{}",
        note.text
    );
}

/// The log share axis shows the tails: its view reaches shares of a few cells in 10⁵, where the
/// linear axis starts at zero.
#[test]
fn histograms_have_a_log_share_axis() {
    let mut h = harness(small_app(false));
    h.run();
    let id = "N/P ratio";
    let (lo, hi) = h.state().plot_y_range(id).expect("shown");
    assert!(lo > -0.05 && hi < 1.0, "linear share axis {lo}..{hi}");
    h.get_by_label("log share axis").click();
    h.run();
    h.run();
    assert!(h.state().hist_log);
    let (lo, hi) = h.state().plot_y_range(id).expect("shown");
    // 10⁵ cells: one cell is a share of 1e-5; the floor sits half a cell lower, at 1e-6.
    assert!(lo <= -5.5 && hi >= -1.0, "log share axis {lo}..{hi}");
}
