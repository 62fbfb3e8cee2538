//! The desktop app: the line as a flow, the controls, the plots, all live (see `docs/APP.md`).
//!
//! [`CellTwinApp`] holds the scene being edited and the latest results; the simulation runs on the
//! [`worker`] threads, so the UI thread only draws. [`CellTwinApp::new_headless`] makes the same app
//! without a window for tests (egui_kittest), optionally blocking until each result is in.
//!
//! - [`worker`]: background runs, sweeps and pins;
//! - [`knobs`]: the scene values behind the sliders;
//! - [`controls`]: the side panel and the top bar;
//! - [`line_view`]: the stations as a flow, station details and scrap Pareto;
//! - [`plots`]: histograms, fade curve, the headline pack-life chart;
//! - [`export`]: PNG of the plots, summary JSON and CSV.

pub mod controls;
pub mod export;
pub mod files;
pub mod format;
pub mod history;
pub mod knobs;
pub mod line_view;
pub mod plots;
pub mod style;
pub mod waterfall;
pub mod worker;

mod results;
mod window;

pub use window::launch;

use crate::engine::Progress;
use crate::scene::{LifePacks, Scene};
use crate::summary::Summary;
use format::fmt_count;
use std::sync::Arc;
use std::time::{Duration, Instant};
use worker::{BackendFactory, SweepPoint, Worker};

/// A run pinned for comparison (up to two).
pub struct Pin {
    /// What the pin's label says: the scene and its cell count.
    pub label: String,
    /// The scene the pinned run ran.
    pub scene: Scene,
    /// The pinned run's summary.
    pub summary: Arc<Summary>,
}

/// The headline chart's settings and points.
pub struct SweepState {
    /// Index into [`knobs::sweepable`].
    pub knob: usize,
    /// Lower end of the swept range.
    pub lo: f64,
    /// Upper end of the swept range.
    pub hi: f64,
    /// Points across the range (2 to 12).
    pub points_n: usize,
    /// Cells per point (reduced).
    pub cells: u64,
    /// Recompute after each full run.
    pub auto: bool,
    /// The points of the last successful sweep.
    pub points: Vec<SweepPoint>,
    /// Key the points are for.
    pub points_key: String,
    /// Request id of the sweep in flight or last asked for (older results are dropped).
    pub id: u64,
    /// A sweep is in flight.
    pub running: bool,
    /// Points done and points asked for.
    pub progress: (usize, usize),
    /// The scene the points were asked for (to know when they are stale).
    pub basis: Option<Scene>,
    /// The last sweep failed, with this message; its points are stale until the next success.
    pub error: Option<String>,
}

/// The attribution waterfall: where the pack's lost life went, for the current scene.
#[derive(Default)]
pub struct AttributionState {
    /// The last result, for the scene in `basis`.
    pub result: Option<Arc<crate::attribution::Attribution>>,
    /// The scene the result was asked for (to know when it is stale).
    pub basis: Option<Scene>,
    /// Request id of the attribution in flight or last asked for.
    pub id: u64,
    /// An attribution is in flight.
    pub running: bool,
    /// Runs done and runs asked for.
    pub progress: (usize, usize),
    /// Show P5 instead of P50.
    pub p5: bool,
    /// The last attribution failed, with this message; cleared by the next success.
    pub error: Option<String>,
}

/// Cells and aged packs of the waterfall's runs: 18 runs of this size take a few seconds on two
/// cores, and at least 200 packs are aged for the batch standard errors.
pub const ATTRIBUTION_CELLS: u64 = 200_000;
/// Packs aged per attribution run: enough for batch standard errors (see ATTRIBUTION_CELLS).
pub const ATTRIBUTION_LIFE_PACKS: u32 = 400;

/// A message for the status bar.
pub struct Note {
    /// What the note says.
    pub text: String,
    /// An error (red, kept until replaced) rather than information (fades after 15 s).
    pub error: bool,
    /// When it was set.
    pub at: Instant,
}

/// The app: the scene being edited, the latest results, and what runs in the background.
pub struct CellTwinApp {
    /// The scene as loaded: what "reset" goes back to.
    pub base: Scene,
    /// Where the base came from (built-in name or file).
    pub base_source: String,
    /// The scene being edited.
    pub scene: Scene,
    /// The last scene sent to the worker.
    submitted: Option<Scene>,
    /// Why the edited scene cannot run (key, value, allowed range), if it cannot.
    pub scene_error: Option<String>,
    pub(crate) worker: Worker,
    pub(crate) groups: Vec<knobs::Group>,
    pub(crate) sweepable: Vec<knobs::Knob>,
    id: u64,
    /// The latest result and whether it is the quick preview.
    pub current: Option<Arc<Summary>>,
    /// The current result is the quick preview, the full run still to come.
    pub current_preview: bool,
    /// A run of the edited scene is in flight.
    pub running: bool,
    /// The run's progress: (preview, cells and packs done).
    pub progress: Option<(bool, Progress)>,
    run_started: Instant,
    /// Seconds from the last change to its preview's and its full run's picture (the speed
    /// issue's budgets: 50 ms and 300 ms); None until each arrives.
    pub answered_s: [Option<f64>; 2],
    /// The headline chart's sweep.
    pub sweep: SweepState,
    /// The waterfall of lost pack life.
    pub attribution: AttributionState,
    /// Each knob's allowed range (side-panel order) and the scene it was computed for.
    pub(crate) valid_ranges: (Option<Scene>, Vec<(f64, f64)>),
    /// Counts results taken in: plots refit when it moves (unless the engineer moved the view).
    pub result_gen: u64,
    /// Per plot: the result generation it last fitted, and whether the engineer moved its view.
    pub(crate) plot_views: plots::Views,
    /// Up to two pinned runs for comparison.
    pub pins: [Option<Pin>; 2],
    /// Story pins being computed: their names.
    pub pins_pending: [Option<String>; 2],
    /// The station clicked in the flow (its details stay below it).
    pub selected_station: Option<usize>,
    /// The station under the pointer this frame.
    pub hovered_station: Option<usize>,
    /// The top bar's scene file path.
    pub file_path: String,
    /// Where exports are written.
    pub export_dir: String,
    /// The status bar's latest note.
    pub note: Option<Note>,
    /// Block in `ui` until the worker is idle (tests).
    blocking: bool,
    /// Tests: cap the cell count of every scene loaded (keeps headless runs small).
    pub cell_cap: Option<u64>,
    /// Tests: leave machine-dependent text (timings, thread count) out of the status bar so
    /// snapshots compare across machines.
    pub deterministic_status: bool,
    wake_set: bool,
    pub(crate) export: export::ExportState,
    /// Native open/save dialogs, where they can open.
    pub dialogs: files::Dialogs,
    /// Undo points of the scene's edits.
    pub history: history::History,
    /// Histograms on a log share axis, so the tails' few cells show.
    pub hist_log: bool,
}

impl CellTwinApp {
    fn with_factory(
        scene: Scene,
        source: String,
        factory: BackendFactory,
        blocking: bool,
    ) -> CellTwinApp {
        let groups = knobs::groups();
        let sweepable = knobs::sweepable(&groups);
        let mut app = CellTwinApp {
            base: scene.clone(),
            base_source: source,
            scene,
            submitted: None,
            scene_error: None,
            worker: Worker::spawn(factory),
            groups,
            sweepable,
            id: 0,
            current: None,
            current_preview: false,
            running: false,
            progress: None,
            run_started: Instant::now(),
            answered_s: [None; 2],
            sweep: SweepState {
                knob: 0,
                lo: 0.5,
                hi: 4.0,
                points_n: 6,
                cells: 200_000,
                auto: true,
                points: Vec::new(),
                points_key: String::new(),
                id: 0,
                running: false,
                progress: (0, 0),
                basis: None,
                error: None,
            },
            attribution: AttributionState::default(),
            valid_ranges: (None, Vec::new()),
            result_gen: 0,
            plot_views: Default::default(),
            pins: [None, None],
            pins_pending: [None, None],
            selected_station: None,
            hovered_station: None,
            file_path: "my_scene.toml".into(),
            export_dir: "celltwin_export".into(),
            note: None,
            blocking,
            cell_cap: None,
            deterministic_status: false,
            wake_set: false,
            export: export::ExportState::default(),
            dialogs: files::Dialogs::detect(),
            history: history::History::default(),
            hist_log: false,
        };
        app.reset_sweep_range();
        app
    }

    /// The app on a scene, with the auto backend, for a window.
    pub fn new(scene: Scene, source: String, factory: BackendFactory) -> CellTwinApp {
        CellTwinApp::with_factory(scene, source, factory, false)
    }

    /// The app without a window (tests). With `blocking`, each frame that starts work waits until
    /// the worker is idle, so a test sees the result on the next frame.
    pub fn new_headless(scene: Scene, blocking: bool) -> CellTwinApp {
        let mut app =
            CellTwinApp::with_factory(scene, "test".into(), worker::default_factory(), blocking);
        app.deterministic_status = true;
        app.dialogs = files::Dialogs::none();
        app
    }

    /// Replace the base scene (load a preset or a file): every control resets to it.
    pub fn load_scene(&mut self, mut scene: Scene, source: String) {
        if let Some(cap) = self.cell_cap {
            scene.cells = scene.cells.min(cap).max(scene.cells_per_pack());
        }
        self.base = scene.clone();
        self.scene = scene;
        self.base_source = source;
        self.history = history::History::default();
        self.reset_sweep_range();
    }

    /// Default sweep range around the current value of the chosen key.
    pub fn reset_sweep_range(&mut self) {
        let Some(k) = self.sweepable.get(self.sweep.knob).cloned() else {
            return;
        };
        let v = k.get(&mut self.scene);
        if k.key == "line.spread_scale" {
            (self.sweep.lo, self.sweep.hi) = (0.5, (2.0 * v).max(4.0).min(k.hi));
        } else if v > 0.0 {
            self.sweep.lo = (0.5 * v).max(k.lo);
            self.sweep.hi = (2.5 * v).min(k.hi).max(self.sweep.lo * 1.01);
        } else {
            (self.sweep.lo, self.sweep.hi) = (k.lo, k.hi);
        }
        self.clamp_sweep_range(&k);
    }

    /// Keep the sweep inside what the rest of the scene allows (a ramp-up scene's ×4 spreads leave
    /// `line.spread_scale` room only up to 6.7, not the slider's 8).
    fn clamp_sweep_range(&mut self, k: &knobs::Knob) {
        let (a, b) = knobs::valid_range(k, &self.scene);
        self.sweep.lo = self.sweep.lo.clamp(a, b);
        self.sweep.hi = self.sweep.hi.clamp(a, b);
    }

    /// Say something in the status bar (an error stays until replaced).
    pub fn note(&mut self, text: impl Into<String>, error: bool) {
        self.note = Some(Note {
            text: text.into(),
            error,
            at: Instant::now(),
        });
    }

    /// Whether anything is being computed.
    pub fn busy(&self) -> bool {
        self.running
            || self.sweep.running
            || self.attribution.running
            || self.pins_pending.iter().any(Option::is_some)
    }

    /// Start a run if the scene changed since the last one.
    /// Returns whether the scene changed (the caller repaints, so a new error shows at once).
    fn submit_if_changed(&mut self) -> bool {
        if self.submitted.as_ref() == Some(&self.scene) {
            return false;
        }
        self.submitted = Some(self.scene.clone());
        if let Err(e) = crate::scene::validate(&self.scene) {
            self.scene_error = Some(e.to_string());
            return true;
        }
        self.scene_error = None;
        self.id += 1;
        self.running = true;
        self.progress = None;
        self.run_started = Instant::now();
        self.answered_s = [None; 2];
        // A sweep of an older scene is stale: stop it, the next full run asks again.
        if self.sweep.running && self.sweep.auto {
            self.worker.cancel_sweep();
            self.sweep.running = false;
        }
        if self.attribution.running {
            self.worker.cancel_attribution();
            self.attribution.running = false;
        }
        self.worker.run(self.id, self.scene.clone());
        true
    }

    /// Recompute every knob's allowed range when the scene changed.
    pub(crate) fn refresh_valid_ranges(&mut self) {
        if self.valid_ranges.0.as_ref() == Some(&self.scene) {
            return;
        }
        let ranges = self
            .groups
            .iter()
            .flat_map(|g| g.knobs.iter())
            .map(|k| knobs::valid_range(k, &self.scene))
            .collect();
        self.valid_ranges = (Some(self.scene.clone()), ranges);
    }

    /// Ask for the waterfall of the current scene, at a reduced size (the next full run asks again
    /// when the scene changes; a newer request cancels an older one).
    pub fn request_attribution(&mut self) {
        let mut s = self.scene.clone();
        s.cells = s.cells.min(ATTRIBUTION_CELLS).max(s.cells_per_pack());
        s.pack.life_packs = LifePacks::Sample(ATTRIBUTION_LIFE_PACKS);
        s.pack.window = s.pack.window.min(s.cells).max(s.cells_per_pack());
        self.id += 1;
        self.attribution.id = self.id;
        self.attribution.running = true;
        self.attribution.progress = (0, 0);
        self.attribution.basis = Some(self.scene.clone());
        self.worker.attribute(self.id, s);
    }

    /// Ask for the headline sweep of the current scene.
    pub fn request_sweep(&mut self) {
        let Some(k) = self.sweepable.get(self.sweep.knob).cloned() else {
            return;
        };
        // The current value is always on the chart: widen the range to take it in.
        let v = k.get(&mut self.scene);
        if v < self.sweep.lo.min(self.sweep.hi) {
            self.sweep.lo = v;
        } else if v > self.sweep.hi.max(self.sweep.lo) {
            self.sweep.hi = v;
        }
        self.clamp_sweep_range(&k);
        let n = self.sweep.points_n.max(2);
        let (lo, hi) = (
            self.sweep.lo.min(self.sweep.hi),
            self.sweep.hi.max(self.sweep.lo),
        );
        let values: Vec<f64> = (0..n)
            .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
            .collect();
        self.request_sweep_values(values);
    }

    /// Sweep the headline knob over exactly these values (no clamping: a value the scene does not
    /// allow fails the sweep with its message, which the chart shows).
    pub fn request_sweep_values(&mut self, values: Vec<f64>) {
        let Some(k) = self.sweepable.get(self.sweep.knob).cloned() else {
            return;
        };
        // The knob's accessor is a fn pointer, so it travels to the worker as is.
        let knobs::Acc::F(field) = k.acc else { return };
        let n = values.len();
        let mut s = self.scene.clone();
        s.cells = s.cells.min(self.sweep.cells).max(s.cells_per_pack());
        s.pack.life_packs = s.pack.life_packs.at_most(400);
        s.pack.window = s.pack.window.min(s.cells).max(s.cells_per_pack());
        self.id += 1;
        self.sweep.id = self.id;
        self.sweep.running = true;
        self.sweep.progress = (0, n);
        self.sweep.basis = Some(self.scene.clone());
        self.worker.sweep(self.id, s, k.key.clone(), field, values);
    }

    /// Pin the current result into the first free slot (or the second).
    pub fn pin_current(&mut self) {
        let Some(sum) = self.current.clone() else {
            return;
        };
        let slot = self.pins.iter().position(Option::is_none).unwrap_or(1);
        let label = format!("{} ({} cells)", self.scene.name, fmt_count(sum.cells));
        self.pins[slot] = Some(Pin {
            label,
            scene: self.scene.clone(),
            summary: sum,
        });
    }

    /// Pin a built-in story in slot 0 (computed in the background) and load its twin as current.
    pub fn compare_stories(&mut self, pinned: &str, current: &str) {
        let a = crate::scene::load(Some(pinned), &[]);
        let b = crate::scene::load(Some(current), &[]);
        match (a, b) {
            (Ok(a), Ok(b)) => {
                let mut a = a;
                a.cells = b.cells.min(self.scene.cells).max(a.cells_per_pack());
                let mut b = b;
                b.cells = a.cells;
                self.pins_pending[0] = Some(pinned.to_string());
                self.pins[0] = None;
                self.worker.pin(0, a.name.clone(), a);
                self.load_scene(b, current.to_string());
            }
            (Err(e), _) | (_, Err(e)) => self.note(e.to_string(), true),
        }
    }

    /// The x range a plot (by its title, or `headline`, `fade`) showed at the last frame.
    pub fn plot_x_range(&self, id: &str) -> Option<(f64, f64)> {
        self.plot_views.get(id).map(|v| v.x)
    }

    /// The y range a plot showed at the last frame.
    pub fn plot_y_range(&self, id: &str) -> Option<(f64, f64)> {
        self.plot_views.get(id).map(|v| v.y)
    }

    /// Seconds the current run has taken so far.
    pub fn run_elapsed(&self) -> f64 {
        self.run_started.elapsed().as_secs_f64()
    }

    /// The whole window's contents; `App::ui` calls this, and so do the tests.
    pub fn ui_contents(&mut self, ui: &mut egui::Ui) {
        if !self.wake_set {
            let ctx = ui.ctx().clone();
            self.worker
                .set_wake(Arc::new(move || ctx.request_repaint()));
            self.wake_set = true;
        }
        self.pump();
        export::handle_results(self, ui.ctx());
        files::poll_dialog(self);
        files::handle_drops(self, ui.ctx());
        history::shortcuts(&mut self.history, &mut self.scene, ui.ctx());

        controls::top_bar(self, ui);
        controls::status_bar(self, ui);
        controls::side_panel(self, ui);
        egui::CentralPanel::default().show(ui, |ui| {
            self.export.plots_rect = Some(ui.max_rect());
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    // An invalid value runs nothing: say so first, and grey what is shown, which
                    // is the last valid scene's result.
                    if let Some(e) = &self.scene_error {
                        ui.add(
                            egui::Label::new(
                                egui::RichText::new(format!(
                                    "Not run — {e}. The results below are from the last valid scene."
                                ))
                                .color(egui::Color32::LIGHT_RED)
                                .strong(),
                            )
                            .wrap(),
                        );
                        ui.multiply_opacity(0.4);
                    }
                    line_view::show(self, ui);
                    ui.add_space(4.0);
                    plots::show(self, ui);
                });
        });
        self.history.feed(ui.input(|i| i.time), &self.scene);
        // Changes made this frame start a run at once.
        if self.submit_if_changed() {
            ui.ctx().request_repaint();
        }
        if self.blocking {
            self.wait_idle(Duration::from_secs(120));
        }
        if self.busy() && !self.blocking {
            // Progress moves with the worker's wake-ups; this only keeps the clock ticking.
            ui.ctx().request_repaint_after(Duration::from_millis(250));
        }
    }
}
