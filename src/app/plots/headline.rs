//! The headline chart: pack life P5/P50/P95 against one scene value swept in the background, its
//! controls, and the answer in words under it. Apart from the other plots because it is the only
//! one with controls of its own and a sweep behind it.

use super::{fitted_plot, note_view};
use crate::app::CellTwinApp;
use crate::app::format::fmt_value;
use crate::app::knobs::Knob;
use crate::app::style::{CURRENT, PIN_COLOURS};
use crate::summary::Summary;
use egui::{Color32, RichText};
use egui_plot::{FilledArea, Legend, Line, MarkerShape, PlotPoints, Points, VLine};

/// The headline chart: pack life P5/P50/P95 against one scene value, swept in the background,
/// with the current run and the pins on it, and the answer in words under it.
pub(super) fn headline_chart(app: &mut CellTwinApp, s: &Summary, ui: &mut egui::Ui, h: f32) {
    let Some(knob) = app.sweepable.get(app.sweep.knob).cloned() else {
        return;
    };
    headline_controls(app, &knob, ui);
    let stale = app.sweep.basis.as_ref() != Some(&app.scene)
        || app.sweep.points_key != knob.key
        || app.sweep.error.is_some();
    headline_plot(app, s, &knob, stale, ui, h);
    let (note, error) = headline_note(app, &knob, stale);
    let colour = if error {
        Color32::LIGHT_RED
    } else {
        Color32::from_rgb(120, 200, 255)
    };
    ui.add(egui::Label::new(RichText::new(note).color(colour)).wrap());
}

/// The swept value, its range and points, Recompute and auto.
fn headline_controls(app: &mut CellTwinApp, knob: &Knob, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        let title = ui.label(
            RichText::new("Pack life vs")
                .strong()
                .color(Color32::from_rgb(120, 200, 255)),
        );
        let mut pick = app.sweep.knob;
        egui::ComboBox::from_id_salt("sweep_key")
            .selected_text(knob.label)
            .width(170.0)
            .show_ui(ui, |ui| {
                for (i, k) in app.sweepable.iter().enumerate() {
                    ui.selectable_value(&mut pick, i, k.label)
                        .on_hover_text(&k.key);
                }
            })
            .response
            .labelled_by(title.id);
        if pick != app.sweep.knob {
            app.sweep.knob = pick;
            app.reset_sweep_range();
            app.request_sweep();
        }
        let l = ui.label("from");
        ui.add(
            egui::DragValue::new(&mut app.sweep.lo)
                .speed(knob.hi * 0.005)
                .range(knob.lo..=knob.hi),
        )
        .labelled_by(l.id);
        let l = ui.label("to");
        ui.add(
            egui::DragValue::new(&mut app.sweep.hi)
                .speed(knob.hi * 0.005)
                .range(knob.lo..=knob.hi),
        )
        .labelled_by(l.id);
        let l = ui.label("points");
        ui.add(egui::DragValue::new(&mut app.sweep.points_n).range(2..=12))
            .labelled_by(l.id);
        if ui
            .add_enabled(!app.sweep.running, egui::Button::new("Recompute"))
            .on_hover_text(format!(
                "{} cells per point, in the background",
                crate::app::format::fmt_count(app.sweep.cells)
            ))
            .clicked()
        {
            app.request_sweep();
        }
        ui.checkbox(&mut app.sweep.auto, "auto")
            .on_hover_text("recompute after each change");
    });
}

/// The sweep's band and median, the current value and run, the pins at their own values.
fn headline_plot(
    app: &mut CellTwinApp,
    s: &Summary,
    knob: &Knob,
    stale: bool,
    ui: &mut egui::Ui,
    h: f32,
) {
    let mut scene = app.scene.clone();
    let current_x = knob.get(&mut scene);
    // Points of an earlier scene, or of a sweep that then failed, are drawn grey and say so.
    let (colour, tag) = if stale {
        (Color32::GRAY, " (stale)")
    } else {
        (CURRENT, "")
    };
    let plot = fitted_plot(
        &mut app.plot_views,
        app.result_gen,
        "headline",
        h,
        &format!("{}  ({})", knob.label, knob.key),
        "cycles to end of life",
    )
    .allow_scroll(false)
    .legend(Legend::default().position(egui_plot::Corner::RightTop));
    let r = plot.show(ui, |pu| {
        let pts = &app.sweep.points;
        if !pts.is_empty() && app.sweep.points_key == knob.key {
            let xs: Vec<f64> = pts.iter().map(|p| p.value).collect();
            let p5: Vec<f64> = pts.iter().map(|p| p.row.life_p5).collect();
            let p95: Vec<f64> = pts.iter().map(|p| p.row.life_p95).collect();
            pu.add(
                FilledArea::new(format!("life P5–P95{tag}"), &xs, &p5, &p95)
                    .fill_color(colour.gamma_multiply(0.25)),
            );
            let med: Vec<[f64; 2]> = pts.iter().map(|p| [p.value, p.row.life_p50]).collect();
            pu.line(
                Line::new(format!("life P50{tag}"), PlotPoints::new(med.clone()))
                    .color(colour)
                    .width(2.0),
            );
            pu.points(
                Points::new("", PlotPoints::new(med))
                    .color(colour)
                    .radius(3.0),
            );
        }
        pu.vline(
            VLine::new(format!("current {}", fmt_value(current_x)), current_x)
                .color(Color32::WHITE)
                .width(1.0),
        );
        let l = &s.packs.life_cycles;
        pu.points(
            Points::new("current run P50", PlotPoints::new(vec![[current_x, l.p50]]))
                .shape(MarkerShape::Diamond)
                .radius(6.0)
                .color(Color32::WHITE),
        );
        for (i, p) in app.pins.iter().enumerate() {
            let Some(p) = p else { continue };
            let mut ps = p.scene.clone();
            let x = knob.get(&mut ps);
            let l = &p.summary.packs.life_cycles;
            let name = format!("pin {}", i + 1);
            pu.line(
                Line::new(name.clone(), PlotPoints::new(vec![[x, l.p5], [x, l.p95]]))
                    .color(PIN_COLOURS[i])
                    .width(2.0),
            );
            pu.points(
                Points::new(name, PlotPoints::new(vec![[x, l.p50]]))
                    .color(PIN_COLOURS[i])
                    .radius(5.0),
            );
        }
    });
    note_view(&mut app.plot_views, "headline", &r);
}

/// The answer in words under the chart, or why there is none yet; and whether it is an error.
fn headline_note(app: &CellTwinApp, knob: &Knob, stale: bool) -> (String, bool) {
    if let Some(e) = &app.sweep.error {
        (
            format!("sweep failed: {e}. The grey curve is from an earlier sweep."),
            true,
        )
    } else if app.sweep.running {
        let (d, t) = app.sweep.progress;
        (
            format!("recomputing in the background: point {}/{t}…", d + 1),
            false,
        )
    } else if app.sweep.points.is_empty() {
        ("no sweep yet".into(), false)
    } else if stale && app.sweep.auto {
        (
            "the grey curve is from an earlier scene: it recomputes after the full run".into(),
            false,
        )
    } else if stale {
        (
            "the grey curve is from an earlier scene: Recompute (or tick auto)".into(),
            false,
        )
    } else {
        let (a, b) = (app.sweep.points.first(), app.sweep.points.last());
        let text = match (a, b) {
            (Some(a), Some(b)) => format!(
                "{} from {} to {}: pack life P50 {:.0} to {:.0} cycles, P5 {:.0} to {:.0} ({} cells a point)",
                knob.label,
                fmt_value(a.value),
                fmt_value(b.value),
                a.row.life_p50,
                b.row.life_p50,
                a.row.life_p5,
                b.row.life_p5,
                crate::app::format::fmt_count(app.sweep.cells.min(app.scene.cells))
            ),
            _ => String::new(),
        };
        (text, false)
    }
}
