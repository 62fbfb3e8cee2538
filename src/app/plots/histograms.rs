//! The six histograms of MODEL.md §4: their grid and specs, the share axis (linear or log), the
//! bars, the true and pinned outlines, the limits and scrap zones, and the cells beyond the bins.
//! Apart from the other plots because a histogram is drawn from a spec, the same way six times.

use super::{Views, fitted_plot, marks_every, note_view};
use crate::app::Pin;
use crate::app::format::fmt_value;
use crate::app::style::{CURRENT, LIMIT, PIN_COLOURS, SCRAP, TRUE_COL};
use crate::summary::{Histogram, Summary};
use egui::{Color32, RichText};
use egui_plot::{
    AxisHints, Bar, BarChart, GridInput, GridMark, HoverPosition, Legend, Line, LineStyle, Plot,
    PlotPoint, PlotPoints, Span, Text, VLine,
};

/// The six histograms of MODEL.md §4 in their grid, with the scene's spec limits.
pub(super) fn hist_grid(s: &Summary) -> [[HistSpec; 3]; 2] {
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

pub(super) struct HistSpec {
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
pub(super) struct HistFrame<'p> {
    pub(super) generation: u64,
    pub(super) pins: &'p [(usize, &'p Pin)],
    pub(super) h: f32,
    pub(super) log: bool,
}

/// One histogram with its limits, scrap zone, true outline, pinned outlines, and the cells beyond
/// its range as labelled bars just outside it ("+16 402 > 0.5").
pub(super) fn histogram(
    ui: &mut egui::Ui,
    views: &mut Views,
    f: &HistFrame,
    spec: &HistSpec,
    s: &Summary,
) {
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
            crate::app::format::fmt_count(count),
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
