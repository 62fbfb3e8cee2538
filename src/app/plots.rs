//! The plots (egui_plot): the headline chart (pack life against a process spread), the pack fade
//! curve, and the histograms of MODEL.md §4, with up to two pinned runs overlaid.

mod headline;
mod histograms;

use super::format::fmt_value;
use super::style::{CURRENT, LIMIT, PIN_COLOURS};
use super::{CellTwinApp, Pin};
use crate::summary::Summary;
use egui::RichText;
use egui_plot::{
    AxisHints, FilledArea, GridInput, GridMark, HLine, HoverPosition, Legend, Line, LineStyle,
    Plot, PlotPoints,
};
use headline::headline_chart;
use histograms::{HistFrame, hist_grid, histogram};

/// The headline chart, the waterfall and the fade curve in a row, then the six histograms.
pub fn show(app: &mut CellTwinApp, ui: &mut egui::Ui) {
    let Some(s) = app.current.clone() else { return };
    let w = ui.available_width();
    let row_h = 200.0;
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(w * 0.4 - 8.0);
            headline_chart(app, &s, ui, row_h);
        });
        ui.vertical(|ui| {
            ui.set_width(w * 0.3 - 8.0);
            super::waterfall::show(app, ui, row_h);
        });
        ui.vertical(|ui| {
            ui.set_width(w * 0.3 - 8.0);
            fade_chart(app, &s, ui, row_h + 26.0);
        });
    });
    ui.add_space(6.0);
    ui.checkbox(&mut app.hist_log, "log share axis")
        .on_hover_text("histograms on a log scale, so a tail of a few cells in a million shows");
    let log = app.hist_log;
    let generation = app.result_gen;
    let CellTwinApp {
        pins, plot_views, ..
    } = app;
    let views = plot_views;
    let pins: Vec<(usize, &Pin)> = pins
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
        .collect();
    let h = 125.0;
    let cw = w / 3.0 - 8.0;
    let grid = hist_grid(&s);
    for row in &grid {
        ui.horizontal_top(|ui| {
            for spec in row {
                ui.vertical(|ui| {
                    ui.set_width(cw);
                    let frame = HistFrame {
                        generation,
                        pins: &pins,
                        h,
                        log,
                    };
                    histogram(ui, views, &frame, spec, &s);
                });
            }
        });
    }
}

/// A plot that refits to each new result unless the engineer has moved its view (drag or zoom);
/// a double-click hands the view back to the fit. Axis labels are fully drawn 28 px apart, so even a small
/// plot carries three or more, and hover names the nearest value with its units.
fn fitted_plot<'a>(
    views: &mut Views,
    generation: u64,
    id: &'static str,
    h: f32,
    x_label: &str,
    y_label: &str,
) -> Plot<'a> {
    let (seen, moved) = views
        .get(id)
        .map_or((u64::MAX, false), |v| (v.generation, v.moved));
    let (xu, yu) = (x_label.to_string(), y_label.to_string());
    let mut plot = Plot::new(id)
        .height(h)
        .custom_x_axes(vec![
            AxisHints::new_x()
                .label(x_label.to_string())
                .label_spacing(14.0..=28.0)
                .formatter(tick_label),
        ])
        .custom_y_axes(vec![
            AxisHints::new_y()
                .label(y_label.to_string())
                .label_spacing(14.0..=28.0)
                .formatter(tick_label),
        ])
        .x_grid_spacer(nice_marks)
        .y_grid_spacer(nice_marks)
        .label_formatter(move |pos| {
            Some(match pos {
                HoverPosition::NearDataPoint {
                    plot_name,
                    position,
                    ..
                } => format!(
                    "{plot_name}\n{}: {}\n{}: {}",
                    xu,
                    fmt_value(position.x),
                    yu,
                    fmt_value(position.y)
                ),
                HoverPosition::Elsewhere { position } => {
                    format!("{}: {}", xu, fmt_value(position.x))
                }
            })
        });
    if seen != generation && !moved {
        plot = plot.reset();
    }
    let v = views.entry(id).or_default();
    (v.generation, v.moved) = (generation, moved);
    plot
}

/// What the app remembers of a plot's view.
#[derive(Clone, Copy, Debug, Default)]
pub struct View {
    /// The result generation the view last fitted.
    pub generation: u64,
    /// The engineer dragged or zoomed it: new results keep the view.
    pub moved: bool,
    /// The x range shown at the last frame.
    pub x: (f64, f64),
    /// The y range shown at the last frame.
    pub y: (f64, f64),
}

/// Per plot id (its title).
pub type Views = std::collections::HashMap<&'static str, View>;

/// A tick's label with as many decimals as its step needs (0.05 → "4.95", 200 → "600").
pub(super) fn tick_label(mark: GridMark, _range: &std::ops::RangeInclusive<f64>) -> String {
    let decimals = (-mark.step_size.log10().floor()).max(0.0) as usize;
    format!("{:.*}", decimals.min(6), mark.value)
}

/// Grid marks at a 1-2-5 step that puts three to twelve of them across the view, so every axis
/// carries at least three labelled ticks however small the plot.
pub(super) fn nice_marks(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return Vec::new();
    }
    let raw = span / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * mag);
    marks_every(lo, hi, step)
}

/// Grid marks at every multiple of `step` within `lo..=hi`.
fn marks_every(lo: f64, hi: f64, step: f64) -> Vec<GridMark> {
    let (first, last) = ((lo / step).ceil() as i64, (hi / step).floor() as i64);
    (first..=last)
        .map(|i| GridMark {
            value: i as f64 * step,
            step_size: step,
        })
        .collect()
}

/// After a plot is shown: a drag or a zoom on it keeps its view through new results, a
/// double-click gives it back; the x range shown is remembered for tests and exports.
fn note_view(views: &mut Views, id: &'static str, r: &egui_plot::PlotResponse<()>) {
    let resp = &r.response;
    // Scrolling never pans these plots (`allow_scroll(false)`: the wheel scrolls the page), so
    // only a zoom (Ctrl/⌘ + wheel, pinch) counts as moving the view.
    let zoomed = resp.hovered() && resp.ctx.input(|i| i.zoom_delta() != 1.0);
    if let Some(v) = views.get_mut(id) {
        if resp.double_clicked() {
            v.moved = false;
        } else if resp.dragged() || zoomed {
            v.moved = true;
        }
        let b = r.transform.bounds();
        v.x = (b.min()[0], b.max()[0]);
        v.y = (b.min()[1], b.max()[1]);
    }
}

fn fade_chart(app: &mut CellTwinApp, s: &Summary, ui: &mut egui::Ui, h: f32) {
    ui.label(
        RichText::new("Pack capacity vs cycles: median, P5–P95 band, end-of-life line").strong(),
    )
    .on_hover_text("drawn to the P95 pack's end of life; a pack followed down to 10 points below end of life keeps its last value");
    let eol = app.scene.life.eol_fraction;
    let plot = fitted_plot(
        &mut app.plot_views,
        app.result_gen,
        "fade",
        h,
        "cycles",
        "pack capacity (× rated)",
    )
    .allow_scroll(false)
    .legend(Legend::default().position(egui_plot::Corner::RightTop))
    .include_y(eol - 0.05);
    let pins = &app.pins;
    let r = plot.show(ui, |pu| {
        let c = &s.packs.fade_curve;
        let xs: Vec<f64> = c.cycles.iter().map(|&x| f64::from(x)).collect();
        if !xs.is_empty() {
            pu.add(
                FilledArea::new("P5–P95", &xs, &c.p5, &c.p95)
                    .fill_color(CURRENT.gamma_multiply(0.25)),
            );
            let med: Vec<[f64; 2]> = xs.iter().zip(&c.p50).map(|(&x, &y)| [x, y]).collect();
            pu.line(
                Line::new("median (current)", PlotPoints::new(med))
                    .color(CURRENT)
                    .width(2.0),
            );
        }
        for (i, p) in pins.iter().enumerate() {
            let Some(p) = p else { continue };
            let c = &p.summary.packs.fade_curve;
            let med: Vec<[f64; 2]> = c
                .cycles
                .iter()
                .zip(&c.p50)
                .map(|(&x, &y)| [f64::from(x), y])
                .collect();
            pu.line(
                Line::new(format!("median pin {}", i + 1), PlotPoints::new(med))
                    .color(PIN_COLOURS[i])
                    .width(1.5),
            );
        }
        pu.hline(
            HLine::new(format!("{:.0} % end of life", 100.0 * eol), eol)
                .color(LIMIT)
                .style(LineStyle::dashed_loose()),
        );
    });
    note_view(&mut app.plot_views, "fade", &r);
}
