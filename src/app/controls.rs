//! The side panel of sliders (one collapsible group per station), the top bar (scenes, files,
//! pins, export) and the status bar (backend, cells, time, throughput).

use super::CellTwinApp;
use super::files::{self, DialogKind};
use super::format::{fmt_count, fmt_value};
use super::knobs::Knob;
use crate::scene::{Matching, Scene};
use egui::{Color32, RichText};

use super::style::CHANGED;

/// Built-in scenes offered in the scene menu (aliases left out).
pub fn builtin_scenes() -> Vec<&'static str> {
    let aliases = ["nmc21700", "lfp_prismatic", "default"];
    crate::scene::builtin_names()
        .into_iter()
        .filter(|n| !aliases.contains(n))
        .collect()
}

/// One slider with its reset button; returns whether the value changed. `allowed` is the range the
/// rest of the scene allows ([`super::knobs::valid_range`]): the slider and typed values stay in it.
pub fn knob_row(
    ui: &mut egui::Ui,
    k: &Knob,
    allowed: (f64, f64),
    scene: &mut Scene,
    base: &mut Scene,
) -> bool {
    let old = k.get(scene);
    let b = k.get(base);
    let mut v = old;
    let changed = old != b;
    ui.horizontal(|ui| {
        let reset = ui
            .add_enabled(changed, egui::Button::new("reset").small())
            .on_hover_text(format!("Reset to the scene's value {}", fmt_value(b)));
        if reset.clicked() {
            v = b;
        }
        let mut text = RichText::new(k.label);
        if changed {
            text = text.color(CHANGED).strong();
        }
        let (lo, hi) = (allowed.0.min(old), allowed.1.max(old));
        let mut slider = egui::Slider::new(&mut v, lo..=hi)
            .text(text)
            .logarithmic(k.log);
        if k.is_integer() {
            slider = slider.integer();
        } else {
            slider = slider.custom_formatter(|x, _| fmt_value(x));
        }
        ui.add(slider).on_hover_text(format!(
            "{}: {}  (scene value {}; allowed here {} … {})\n{}",
            k.label,
            k.key,
            fmt_value(b),
            fmt_value(lo),
            fmt_value(hi),
            super::knobs::provenance(&k.key)
        ));
    });
    if v != old {
        k.set(scene, v);
        true
    } else {
        false
    }
}

/// The side panel: run size and seed, then one collapsible group of sliders per station.
pub fn side_panel(app: &mut CellTwinApp, ui: &mut egui::Ui) {
    // A fixed width: the charts' layout does not move with the panel, at 1280 px as at 1600.
    egui::Panel::left("controls")
        .resizable(false)
        .exact_size(380.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
                ui.spacing_mut().slider_width = 130.0;
                ui.heading("Process controls");
                ui.add(
                    egui::Label::new(
                        RichText::new("Every change re-simulates. Orange = changed from the scene; reset returns it to the scene value.")
                            .small()
                            .weak(),
                    )
                    .wrap(),
                );
                ui.separator();
                run_size(app, ui);
                ui.separator();
                app.refresh_valid_ranges();
                let CellTwinApp { groups, scene, base, selected_station, valid_ranges, .. } = app;
                let mut ranges = valid_ranges.1.iter();
                for (gi, g) in groups.iter().enumerate() {
                    let n_changed = g.knobs.iter().filter(|k| k.get(scene) != k.get(base)).count();
                    let mut title = RichText::new(if n_changed > 0 {
                        format!("{}  ({n_changed} changed)", g.title)
                    } else {
                        g.title.to_string()
                    });
                    if n_changed > 0 {
                        title = title.color(CHANGED);
                    }
                    let open_for_station = g.station.is_some() && g.station == *selected_station;
                    let header = egui::CollapsingHeader::new(title)
                        .id_salt(("group", gi))
                        .default_open(gi == 0);
                    let header = if open_for_station { header.open(Some(true)) } else { header };
                    let group_ranges: Vec<(f64, f64)> = ranges.by_ref().take(g.knobs.len()).copied().collect();
                    header.show(ui, |ui| {
                        for (k, &r) in g.knobs.iter().zip(&group_ranges) {
                            knob_row(ui, k, r, scene, base);
                        }
                        if g.station == Some(6) {
                            matching_row(ui, scene, base);
                        }
                    });
                }

            });
        });
}

fn matching_row(ui: &mut egui::Ui, scene: &mut Scene, base: &Scene) {
    let changed = scene.pack.matching != base.pack.matching;
    ui.horizontal(|ui| {
        if ui
            .add_enabled(changed, egui::Button::new("reset").small())
            .on_hover_text(format!("Reset to {:?}", base.pack.matching))
            .clicked()
        {
            scene.pack.matching = base.pack.matching;
        }
        let combo = egui::ComboBox::from_id_salt("matching")
            .selected_text(format!("{:?}", scene.pack.matching))
            .show_ui(ui, |ui| {
                for m in [
                    Matching::Random,
                    Matching::Binned,
                    Matching::Sorted,
                    Matching::SortedDcir,
                ] {
                    ui.selectable_value(&mut scene.pack.matching, m, format!("{m:?}"));
                }
            });
        let t = RichText::new("Matching strategy");
        let l = ui.label(if changed {
            t.color(CHANGED).strong()
        } else {
            t
        });
        combo.response.labelled_by(l.id);
    });
}

fn run_size(app: &mut CellTwinApp, ui: &mut egui::Ui) {
    let scene = &mut app.scene;
    let base = &app.base;
    ui.horizontal(|ui| {
        let changed = scene.cells != base.cells;
        if ui
            .add_enabled(changed, egui::Button::new("reset").small())
            .on_hover_text(format!("Reset to {}", fmt_count(base.cells)))
            .clicked()
        {
            scene.cells = base.cells;
        }
        let mut cells = scene.cells as f64;
        let t = RichText::new("Cells");
        ui.add(
            egui::Slider::new(&mut cells, 1e4..=1e8)
                .logarithmic(true)
                .integer()
                .custom_formatter(|x, _| fmt_count(x as u64))
                .text(if changed {
                    t.color(CHANGED).strong()
                } else {
                    t
                }),
        )
        .on_hover_text("cells started into the line (a quick 100 000-cell picture comes first)");
        if cells as u64 != scene.cells {
            scene.cells = cells as u64;
        }
    });
    ui.horizontal(|ui| {
        for (label, n) in [("10⁵", 100_000u64), ("10⁶", 1_000_000), ("10⁷", 10_000_000)] {
            if ui.selectable_label(scene.cells == n, label).clicked() {
                scene.cells = n;
            }
        }
        ui.separator();
        let changed = scene.seed != base.seed;
        let t = RichText::new("Seed");
        let seed_label = ui.label(if changed {
            t.color(CHANGED).strong()
        } else {
            t
        });
        ui.add(egui::DragValue::new(&mut scene.seed).range(0..=u64::MAX))
            .labelled_by(seed_label.id);
    });
}

/// The top bar: scenes and files, edit history and theme, export, and comparisons.
pub fn top_bar(app: &mut CellTwinApp, ui: &mut egui::Ui) {
    egui::Panel::top("top_bar").show(ui, |ui| {
        ui.add_space(2.0);
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("celltwin").strong());
            ui.separator();
            scene_menu(app, ui);
            ui.separator();
            file_row(app, ui);
            ui.separator();
            edit_row(app, ui);
        });
        ui.horizontal_wrapped(|ui| {
            compare_row(app, ui);
            ui.separator();
            export_row(app, ui);
            ui.separator();
            theme_menu(ui);
        });
        ui.add_space(2.0);
    });
}

/// The built-in scenes.
fn scene_menu(app: &mut CellTwinApp, ui: &mut egui::Ui) {
    let scene_label = ui.label("Scene");
    let mut pick: Option<&str> = None;
    egui::ComboBox::from_id_salt("builtin")
        .selected_text(&app.base_source)
        .width(190.0)
        .show_ui(ui, |ui| {
            for n in builtin_scenes() {
                if ui.selectable_label(app.base_source == n, n).clicked() {
                    pick = Some(n);
                }
            }
        })
        .response
        .labelled_by(scene_label.id);
    if let Some(n) = pick {
        match crate::scene::load(Some(n), &[]) {
            Ok(s) => app.load_scene(s, n.to_string()),
            Err(e) => app.note(e.to_string(), true),
        }
    }
}

/// The scene file: a path field with Load/Save, and the native dialogs beside it.
fn file_row(app: &mut CellTwinApp, ui: &mut egui::Ui) {
    let file_label = ui.label("File");
    ui.add(egui::TextEdit::singleline(&mut app.file_path).desired_width(170.0))
        .labelled_by(file_label.id)
        .on_hover_text(
            "a scene TOML file: the same files `celltwin run` reads (or drop one on the window)",
        );
    if ui.button("Load").clicked() {
        let path = std::path::PathBuf::from(&app.file_path);
        files::load_file(app, &path);
    }
    if ui.button("Save").clicked() {
        let path = std::path::PathBuf::from(&app.file_path);
        files::save_file(app, &path);
    }
    let why = if app.dialogs.available {
        "a native file dialog"
    } else {
        "no file dialog here (no desktop portal on the session bus): type the path"
    };
    let enabled = app.dialogs.available && !app.dialogs.is_open();
    for (label, kind) in [("Open…", DialogKind::Open), ("Save as…", DialogKind::Save)] {
        if ui
            .add_enabled(enabled, egui::Button::new(label))
            .on_hover_text(why)
            .on_disabled_hover_text(why)
            .clicked()
        {
            files::open_dialog(app, kind, ui.ctx());
        }
    }
}

/// Undo/redo of scene edits.
fn edit_row(app: &mut CellTwinApp, ui: &mut egui::Ui) {
    let (can_undo, can_redo) = (
        app.history.can_undo(&app.scene),
        app.history.can_redo(&app.scene),
    );
    if ui
        .add_enabled(can_undo, egui::Button::new("Undo"))
        .on_hover_text("undo the last scene edit (Ctrl+Z)")
        .clicked()
    {
        app.history.undo(&mut app.scene);
    }
    if ui
        .add_enabled(can_redo, egui::Button::new("Redo"))
        .on_hover_text("redo (Ctrl+Shift+Z or Ctrl+Y)")
        .clicked()
    {
        app.history.redo(&mut app.scene);
    }
}

/// Light, dark, or the system's theme (egui keeps the choice across launches).
fn theme_menu(ui: &mut egui::Ui) {
    let theme_label = ui.label("Theme");
    let mut pref = ui.ctx().options(|o| o.theme_preference);
    let before = pref;
    egui::ComboBox::from_id_salt("theme")
        .selected_text(format!("{pref:?}"))
        .width(70.0)
        .show_ui(ui, |ui| {
            for p in [
                egui::ThemePreference::System,
                egui::ThemePreference::Light,
                egui::ThemePreference::Dark,
            ] {
                ui.selectable_value(&mut pref, p, format!("{p:?}"));
            }
        })
        .response
        .labelled_by(theme_label.id);
    if pref != before {
        ui.ctx().set_theme(pref);
    }
}

/// Where exports go, and the two exports.
fn export_row(app: &mut CellTwinApp, ui: &mut egui::Ui) {
    let export_label = ui.label("Export to");
    ui.add(egui::TextEdit::singleline(&mut app.export_dir).desired_width(140.0))
        .labelled_by(export_label.id);
    if ui.button("Plots PNG").clicked() {
        super::export::request_png(app, ui.ctx());
    }
    if ui.button("Summary JSON+CSV").clicked() {
        super::export::write_summary(app);
    }
}

/// Pin the current run, the seed stories, and the pins with their unpin buttons.
fn compare_row(app: &mut CellTwinApp, ui: &mut egui::Ui) {
    ui.label("Compare");
    if ui.button("Pin current run").clicked() {
        app.pin_current();
    }
    for (label, pinned, current, hover) in [
        (
            "Manual 2015 vs automated line",
            "story_manual_line_2015",
            "story_automated_line",
            "pins story_manual_line_2015, loads story_automated_line",
        ),
        (
            "Aging 10 d vs 6 d",
            "story_aging_10d",
            "story_aging_6d",
            "pins story_aging_10d, loads story_aging_6d",
        ),
        (
            "400 V vs 800 V",
            "story_400v",
            "story_800v",
            "pins story_400v (96S), loads story_800v (192S): the same cells",
        ),
    ] {
        if ui.button(label).on_hover_text(hover).clicked() {
            app.compare_stories(pinned, current);
        }
    }
    for slot in 0..2 {
        let colour = super::style::PIN_COLOURS[slot];
        if let Some(p) = &app.pins[slot] {
            ui.label(RichText::new(format!("pin {}: {}", slot + 1, p.label)).color(colour));
            if ui.small_button(format!("unpin {}", slot + 1)).clicked() {
                app.pins[slot] = None;
            }
        } else if let Some(name) = &app.pins_pending[slot] {
            ui.spinner();
            ui.label(RichText::new(format!("pin {}: running {name}…", slot + 1)).color(colour));
        }
    }
}

/// The status bar: backend, cells, run time split into line and pack life, progress, notes.
pub fn status_bar(app: &mut CellTwinApp, ui: &mut egui::Ui) {
    egui::Panel::bottom("status").show(ui, |ui| {
        ui.horizontal(|ui| {
            run_figures(app, ui);
            progress_bars(app, ui);
            notes(app, ui);
        });
    });
}

/// What ran and how fast: the line and pack life are separate costs, so a slow run is read right.
/// Tests leave the machine-dependent figures out.
fn run_figures(app: &CellTwinApp, ui: &mut egui::Ui) {
    if let Some(s) = app.current.as_ref().filter(|_| app.deterministic_status) {
        ui.label(format!("backend {}", s.backend));
        ui.separator();
        ui.label(format!(
            "{} cells{}",
            fmt_count(s.cells),
            if app.current_preview {
                " (preview)"
            } else {
                ""
            }
        ));
    } else if let Some(s) = &app.current {
        ui.label(format!("backend {} · {}", s.backend, s.device));
        ui.separator();
        let cells = if app.current_preview {
            format!(
                "{} cells (preview; refining to {})",
                fmt_count(s.cells),
                fmt_count(app.scene.cells)
            )
        } else {
            format!("{} cells", fmt_count(s.cells))
        };
        ui.label(cells);
        ui.separator();
        // The line and pack life are separate costs: say both, so a slow run is read right —
        // except on the GPU's device-resident path, where they run interleaved on the device and
        // the engine books the whole run as line time (`engine::run_range`).
        ui.label(if s.backend == "gpu" && s.line_s >= s.elapsed_s {
            format!(
                "run {:.2} s on the device (line, matching and life of {} packs interleaved)",
                s.elapsed_s, s.packs.life_packs
            )
        } else {
            format!(
                "run {:.2} s (line {:.2} s, {:.1} M cells/s; pack life {:.2} s, {} packs)",
                s.elapsed_s,
                s.line_s,
                s.cells as f64 / s.line_s.max(1e-9) / 1e6,
                s.elapsed_s - s.line_s,
                s.packs.life_packs
            )
        });
        ui.separator();
        ui.label(format!("{:.2} M cells/s end to end", s.cells_per_s / 1e6));
        // From the change to its picture, the worker's queue and hand-over included.
        let parts: Vec<String> = ["preview", "full run"]
            .iter()
            .zip(app.answered_s)
            .filter_map(|(what, t)| t.map(|t| format!("{what} {:.0} ms", 1e3 * t)))
            .collect();
        if !parts.is_empty() {
            ui.separator();
            ui.label(format!("answered: {}", parts.join(", ")))
                .on_hover_text(
                    "time from the last change to its preview's and its full run's picture",
                );
        }
    } else {
        ui.label("starting…");
    }
}

/// The run's progress (line, then pack life) and the sweep's.
fn progress_bars(app: &CellTwinApp, ui: &mut egui::Ui) {
    if app.running {
        ui.separator();
        let (frac, text) = match app.progress {
            Some((preview, p)) => {
                let line = p.cells_done as f32 / p.cells_total.max(1) as f32;
                let life = p.packs_done as f32 / p.packs_total.max(1) as f32;
                // Packs age as the line forms them: the bar is the slower of the two.
                let frac = if p.packs_total == 0 {
                    line
                } else {
                    line.min(life)
                };
                let what = if preview { "preview" } else { "full run" };
                (
                    frac,
                    format!(
                        "{what}: {} cells, packs {}/{}",
                        fmt_count(p.cells_done),
                        p.packs_done,
                        p.packs_total
                    ),
                )
            }
            None => (0.0, "starting run".into()),
        };
        ui.add(
            egui::ProgressBar::new(frac)
                .desired_width(260.0)
                .text(format!("{text} · {:.1} s", app.run_elapsed())),
        );
    }
    if app.sweep.running {
        ui.separator();
        let (d, t) = app.sweep.progress;
        ui.add(
            egui::ProgressBar::new(d as f32 / t.max(1) as f32)
                .desired_width(160.0)
                .text(format!("sweep {d}/{t}")),
        );
    }
}

/// Why nothing ran (an invalid value), or the latest note (errors stay until replaced).
fn notes(app: &CellTwinApp, ui: &mut egui::Ui) {
    if let Some(e) = &app.scene_error {
        ui.separator();
        ui.colored_label(Color32::LIGHT_RED, format!("not run: {e}"));
    } else if let Some(n) = &app.note
        && (n.at.elapsed().as_secs() < 15 || n.error)
    {
        ui.separator();
        let c = if n.error {
            Color32::LIGHT_RED
        } else {
            ui.visuals().text_color()
        };
        ui.colored_label(c, &n.text);
    }
}
