//! The plots (egui_plot): the headline chart (pack life against a process spread), the pack fade
//! curve, and the histograms of MODEL.md §4, with up to two pinned runs overlaid.

use super::format::fmt_value;
use super::knobs::Knob;
use super::style::{CURRENT, LIMIT, PIN_COLOURS, SCRAP, TRUE_COL};
use super::{CellTwinApp, Pin};
use crate::summary::{Histogram, Summary};
use egui::{Color32, RichText};
use egui_plot::{
    AxisHints, Bar, BarChart, FilledArea, GridInput, GridMark, HLine, HoverPosition, Legend, Line,
    LineStyle, MarkerShape, Plot, PlotPoint, PlotPoints, Points, Span, Text, VLine,
};

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

/// The six histograms of MODEL.md §4 in their grid, with the scene's spec limits.
fn hist_grid(s: &Summary) -> [[HistSpec; 3]; 2] {
    let q = s.capacity.lower_limit;
    [
        [
            HistSpec::new(
                "Cell capacity (Ah): measured bars, true line, scrap zone",
                |s| &s.histograms.capacity_measured_ah,
            )
            .axis("capacity (Ah)")
            .lo_limit(q)
            .with_true(|s| &s.histograms.capacity_true_ah)
            .with_scrapped(|s| &s.histograms.capacity_scrapped_ah),
            HistSpec::new(
                "DCIR (mΩ), measured; dashed = limit, red = scrap zone",
                |s| &s.histograms.dcir_measured_mohm,
            )
            .axis("DCIR (mΩ)")
            .hi_limit(s.dcir.upper_limit),
            HistSpec::new("K-value self-discharge (mV/day), measured", |s| {
                &s.histograms.k_measured_mv_day
            })
            .axis("K (mV/day)")
            .hi_limit(s.k_value.upper_limit),
        ],
        [
            HistSpec::new("N/P ratio", |s| &s.histograms.np_ratio).axis("N/P"),
            HistSpec::new("Initial pack capacity (Ah)", |s| {
                &s.histograms.pack_initial_capacity_ah
            })
            .axis("pack capacity (Ah)"),
            HistSpec::new("Pack life (cycles to end of life)", |s| {
                &s.histograms.pack_life_cycles
            })
            .axis("cycles"),
        ],
    ]
}

type Pick = fn(&Summary) -> &Histogram;

struct HistSpec {
    title: &'static str,
    /// The x axis's name and unit (axis label and hover).
    axis: &'static str,
    pick: Pick,
    true_: Option<Pick>,
    scrapped: Option<Pick>,
    lo: Option<f64>,
    hi: Option<f64>,
}

impl HistSpec {
    fn new(title: &'static str, pick: Pick) -> HistSpec {
        HistSpec {
            title,
            axis: "",
            pick,
            true_: None,
            scrapped: None,
            lo: None,
            hi: None,
        }
    }
    fn axis(mut self, axis: &'static str) -> Self {
        self.axis = axis;
        self
    }
    fn lo_limit(mut self, x: Option<f64>) -> Self {
        self.lo = x;
        self
    }
    fn hi_limit(mut self, x: Option<f64>) -> Self {
        self.hi = x;
        self
    }
    fn with_true(mut self, p: Pick) -> Self {
        self.true_ = Some(p);
        self
    }
    fn with_scrapped(mut self, p: Pick) -> Self {
        self.scrapped = Some(p);
        self
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

/// The share axis of a histogram: linear, or log10 down to a floor half a cell below the
/// smallest non-zero share (so one cell in the run still shows as a stub).
#[derive(Clone, Copy, Debug)]
struct ShareAxis {
    log: bool,
    floor: f64,
}

impl ShareAxis {
    fn new(log: bool, total: f64) -> ShareAxis {
        ShareAxis {
            log,
            floor: (0.5 / total.max(1.0)).log10().floor(),
        }
    }

    /// Where a share sits on the axis.
    fn y(self, share: f64) -> f64 {
        match (self.log, share > 0.0) {
            (false, _) => share,
            (true, true) => share.log10().max(self.floor),
            (true, false) => self.floor,
        }
    }

    /// A bar from the axis's bottom up to a share.
    fn bar(self, x: f64, share: f64, width: f64) -> Bar {
        if self.log {
            Bar::new(x, self.y(share) - self.floor)
                .base_offset(self.floor)
                .width(width)
        } else {
            Bar::new(x, share).width(width)
        }
    }

    /// Log axes label their decades ("1e-3") and hover in shares, not in log10 of them.
    fn apply<'a>(self, plot: Plot<'a>, x_label: &str) -> Plot<'a> {
        if !self.log {
            return plot.include_y(0.0);
        }
        let xu = x_label.to_string();
        plot.include_y(self.floor)
            .include_y(0.0)
            .custom_y_axes(vec![
                AxisHints::new_y()
                    .label("share (log)")
                    .label_spacing(14.0..=28.0)
                    .formatter(|m, _| format!("1e{}", m.value.round() as i32)),
            ])
            .y_grid_spacer(decade_marks)
            .label_formatter(move |pos| {
                let p = match pos {
                    HoverPosition::NearDataPoint { position, .. } => position,
                    HoverPosition::Elsewhere { position } => position,
                };
                Some(format!(
                    "{xu}: {}\nshare: {:.2e}",
                    fmt_value(p.x),
                    10f64.powf(p.y)
                ))
            })
    }
}

/// One grid mark per decade (every second one past twelve decades).
fn decade_marks(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    if !(hi > lo && (hi - lo).is_finite()) {
        return Vec::new();
    }
    marks_every(lo, hi, if hi - lo > 12.0 { 2.0 } else { 1.0 })
}

/// Bars of a histogram as shares of `norm` (its run's total, so runs of any size compare).
fn bars(h: &Histogram, name: &str, colour: Color32, norm: f64, axis: ShareAxis) -> BarChart {
    let w = h.bin_width();
    let bars = h
        .centres()
        .filter(|&(_, c)| !axis.log || c > 0)
        .map(|(x, c)| axis.bar(x, c as f64 / norm, w))
        .collect();
    BarChart::new(name, bars).color(colour)
}

/// A histogram as a step outline.
fn outline(h: &Histogram, name: &str, colour: Color32, axis: ShareAxis) -> Line<'static> {
    let total = h.total().max(1) as f64;
    let w = h.bin_width();
    let mut pts = Vec::with_capacity(2 * h.counts.len() + 2);
    for (i, &c) in h.counts.iter().enumerate() {
        let x = h.lo + i as f64 * w;
        let y = axis.y(c as f64 / total);
        pts.push([x, y]);
        pts.push([x + w, y]);
    }
    Line::new(name, PlotPoints::new(pts))
        .color(colour)
        .width(1.0)
}

/// The x range where a histogram has data (its bins are fixed and often much wider).
fn data_range(hs: &[&Histogram]) -> Option<(f64, f64)> {
    let mut r: Option<(f64, f64)> = None;
    for h in hs {
        let total = h.total();
        if total == 0 {
            continue;
        }
        let (a, b) = (h.quantile(0.0005), h.quantile(0.9995));
        let pad = 2.0 * h.bin_width();
        r = Some(match r {
            None => (a - pad, b + pad),
            Some((x, y)) => (x.min(a - pad), y.max(b + pad)),
        });
    }
    r
}

/// What every histogram of a frame shares: the result generation, the pinned runs, the height
/// and the share axis.
struct HistFrame<'p> {
    generation: u64,
    pins: &'p [(usize, &'p Pin)],
    h: f32,
    log: bool,
}

/// One histogram with its limits, scrap zone, true outline, pinned outlines, and the cells beyond
/// its range as labelled bars just outside it ("+16 402 > 0.5").
fn histogram(ui: &mut egui::Ui, views: &mut Views, f: &HistFrame, spec: &HistSpec, s: &Summary) {
    ui.label(RichText::new(spec.title).small().strong());
    let main = (spec.pick)(s);
    let norm = main.total().max(1) as f64;
    let axis = ShareAxis::new(f.log, norm);
    let range = view_range(spec, main, f.pins);
    // A legend only where it says something: several series, or pinned runs to tell apart.
    let corner = if spec.lo.is_some() {
        egui_plot::Corner::LeftTop
    } else {
        egui_plot::Corner::RightTop
    };
    let mut plot = fitted_plot(views, f.generation, spec.title, f.h, spec.axis, "share")
        .allow_scroll(false)
        .allow_drag(false)
        .auto_bounds(egui::Vec2b::new(false, true));
    plot = axis.apply(plot, spec.axis);
    if spec.true_.is_some() || !f.pins.is_empty() {
        plot = plot.legend(Legend::default().position(corner));
    }
    if let Some((a, b)) = range {
        plot = plot.default_x_bounds(a, b);
    }
    let r = plot.show(ui, |pu| {
        if let (Some(l), Some((a, _))) = (spec.lo, range) {
            pu.span(Span::new("", a.min(l)..=l).fill(SCRAP.gamma_multiply(0.15)));
        }
        if let (Some(l), Some((_, b))) = (spec.hi, range) {
            pu.span(Span::new("", l..=b.max(l)).fill(SCRAP.gamma_multiply(0.15)));
        }
        pu.bar_chart(bars(main, "current", CURRENT, norm, axis));
        if let Some(sc) = spec.scrapped {
            pu.bar_chart(bars(sc(s), "scrapped", SCRAP, norm, axis));
        }
        if let Some(t) = spec.true_ {
            pu.line(outline(t(s), "true", TRUE_COL.gamma_multiply(0.8), axis).width(1.0));
        }
        for (i, p) in f.pins {
            let name = format!("pin {}", i + 1);
            pu.line(outline(
                (spec.pick)(&p.summary),
                &name,
                PIN_COLOURS[*i],
                axis,
            ));
        }
        for l in [spec.lo, spec.hi].into_iter().flatten() {
            pu.vline(
                VLine::new("", l)
                    .color(LIMIT)
                    .width(1.5)
                    .style(LineStyle::dashed_loose()),
            );
        }
        tails(pu, main, norm, axis);
    });
    note_view(views, spec.title, &r);
}

/// The view: where the data are, the limits, and a bin's room each side for the tails' bars.
fn view_range(spec: &HistSpec, main: &Histogram, pins: &[(usize, &Pin)]) -> Option<(f64, f64)> {
    let mut all = vec![main];
    all.extend(pins.iter().map(|(_, p)| (spec.pick)(&p.summary)));
    let w = main.bin_width();
    data_range(&all).map(|(a, b)| {
        let a = if main.underflow > 0 {
            main.lo - 2.0 * w
        } else {
            a
        };
        let b = if main.overflow > 0 {
            main.hi + 2.0 * w
        } else {
            b
        };
        let a = spec.lo.map_or(a, |l| a.min(l - (b - a) * 0.05));
        let b = spec.hi.map_or(b, |l| b.max(l + (b - a) * 0.05));
        (a, b)
    })
}

/// The cells beyond the bins: one bar each side, as tall as their share, with their count.
fn tails(pu: &mut egui_plot::PlotUi, main: &Histogram, norm: f64, axis: ShareAxis) {
    let w = main.bin_width();
    let peak = main.counts.iter().copied().max().unwrap_or(0) as f64 / norm;
    for (count, x, edge, text) in [
        (main.underflow, main.lo - w, main.lo, "<"),
        (main.overflow, main.hi + w, main.hi, ">"),
    ] {
        if count == 0 {
            continue;
        }
        let share = count as f64 / norm;
        let label = format!(
            "+{} {text} {}",
            super::format::fmt_count(count),
            fmt_value(edge)
        );
        pu.bar_chart(
            BarChart::new(label.clone(), vec![axis.bar(x, share, 1.6 * w)]).color(Color32::GRAY),
        );
        let anchor = if text == "<" {
            egui::Align2::LEFT_BOTTOM
        } else {
            egui::Align2::RIGHT_BOTTOM
        };
        pu.text(
            Text::new("", PlotPoint::new(x, axis.y(share.max(0.5 * peak))), label)
                .anchor(anchor)
                .color(Color32::LIGHT_GRAY),
        );
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

/// The headline chart: pack life P5/P50/P95 against one scene value, swept in the background,
/// with the current run and the pins on it, and the answer in words under it.
fn headline_chart(app: &mut CellTwinApp, s: &Summary, ui: &mut egui::Ui, h: f32) {
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
                super::format::fmt_count(app.sweep.cells)
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
                super::format::fmt_count(app.sweep.cells.min(app.scene.cells))
            ),
            _ => String::new(),
        };
        (text, false)
    }
}
