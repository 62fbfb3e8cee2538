//! Where the pack's life went: the waterfall beside the headline chart, from the nominal cell's
//! life down to the pack's P50 or P5, one floating bar per source (`crate::attribution`).

use super::CellTwinApp;
use super::plots::{nice_marks, tick_label};
use super::style::{CURRENT, SCRAP, TRUE_COL};
use egui::{Color32, RichText};
use egui_plot::{AxisHints, Bar, BarChart, Plot, PlotPoint, Text};

/// One bar of the waterfall.
struct Row {
    label: &'static str,
    lo: f64,
    hi: f64,
    /// The figure written beside the bar: a life, or a signed change.
    value: f64,
    tip: String,
}

/// Shares smaller than this (cycles) are pooled into one bar, so the waterfall stays readable.
const WATERFALL_MIN_CYCLES: f64 = 1.0;

/// The waterfall beside the headline chart: from the nominal cell's life down to the pack's P50
/// (or P5), one floating bar per source of lost life (Shapley shares, `crate::attribution`).
pub fn show(app: &mut CellTwinApp, ui: &mut egui::Ui, h: f32) {
    let st = &mut app.attribution;
    ui.horizontal(|ui| {
        ui.label(
            RichText::new("Where the life went")
                .strong()
                .color(Color32::from_rgb(120, 200, 255)),
        )
        .on_hover_text(
            "From the nominal cell aged alone to the pack's life: the cycles each source costs, \
             by removing sources with the same seed and sharing interactions by Shapley values \
             (celltwin attribute). Bars: ± one standard error in the tooltip.",
        );
        ui.selectable_value(&mut st.p5, false, "P50");
        ui.selectable_value(&mut st.p5, true, "P5");
    });
    let Some(a) = st.result.clone() else {
        let text = match (&st.error, st.running) {
            (_, true) => format!("computing: run {}/{}…", st.progress.0, st.progress.1),
            (Some(e), false) => format!("attribution failed: {e}"),
            (None, false) => "no attribution yet".into(),
        };
        ui.add(egui::Label::new(RichText::new(text).weak()).wrap());
        return;
    };
    let p5 = st.p5;
    let stale = st.basis.as_ref() != Some(&app.scene);
    let rows = waterfall_rows(&a, p5);
    draw_waterfall(ui, &rows, stale, h);
    let nominal = a.nominal_cell_life_cycles;
    let pack = if p5 {
        a.pack_life_p5_cycles
    } else {
        a.pack_life_p50_cycles
    };
    let total = nominal - pack;
    let note = if stale {
        "from an earlier scene: recomputing after the next run".to_string()
    } else {
        format!(
            "{total:.0} cycles lost ({:.0} %); {} runs of {} cells, {} packs each",
            100.0 * total / nominal,
            a.runs,
            super::format::fmt_count(a.cells),
            a.life_packs
        )
    };
    ui.label(RichText::new(note).color(Color32::from_rgb(120, 200, 255)));
}

/// The waterfall's bars, top to bottom: the nominal cell, one per source (those under a cycle
/// pooled), the pack. Losses run left from the level the bar above left off.
fn waterfall_rows(a: &crate::attribution::Attribution, p5: bool) -> Vec<Row> {
    // (label, start, end, tooltip): bars run left from the nominal cell's life.
    let pick = |s: &crate::attribution::Share| {
        if p5 {
            (s.p5_cycles, s.p5_se_cycles)
        } else {
            (s.p50_cycles, s.se_cycles)
        }
    };
    let nominal = a.nominal_cell_life_cycles;
    let pack = if p5 {
        a.pack_life_p5_cycles
    } else {
        a.pack_life_p50_cycles
    };
    let mut rows: Vec<Row> = vec![Row {
        label: "nominal cell",
        lo: 0.0,
        hi: nominal,
        value: nominal,
        tip: format!("nominal cell aged alone: {nominal:.0} cycles"),
    }];
    let mut level = nominal;
    let (mut pooled, mut pooled_var, mut pooled_names) = (0.0, 0.0, Vec::new());
    for s in &a.sources {
        let (x, se) = pick(s);
        if x.abs() < WATERFALL_MIN_CYCLES {
            pooled += x;
            pooled_var += se * se;
            pooled_names.push(s.name);
            continue;
        }
        rows.push(Row {
            label: s.label,
            lo: level - x,
            hi: level,
            value: -x,
            tip: format!("{}: {x:.1} ± {se:.1} cycles lost ({})", s.name, s.removal),
        });
        level -= x;
    }
    if !pooled_names.is_empty() {
        rows.push(Row {
            label: "others",
            lo: level - pooled,
            hi: level,
            value: -pooled,
            tip: format!(
                "{}: {pooled:.1} ± {:.1} cycles lost together",
                pooled_names.join(", "),
                pooled_var.sqrt()
            ),
        });
        level -= pooled;
    }
    rows.push(Row {
        label: if p5 { "pack P5" } else { "pack P50" },
        lo: 0.0,
        hi: level,
        value: level,
        tip: format!("pack {}: {pack:.0} cycles", if p5 { "P5" } else { "P50" }),
    });
    rows
}

/// The bars as a horizontal bar chart, names at the view's left edge and each change beside its
/// bar; the view spans the steps, and resets every frame (interaction is off).
fn draw_waterfall(ui: &mut egui::Ui, rows: &[Row], stale: bool, h: f32) {
    let n = rows.len();
    // The view spans the steps (nominal and pack bars run on past its left edge, with their values
    // written in): the losses are a few percent of the cell's life and would vanish beside a bar
    // from zero.
    let lowest = rows[1..n - 1]
        .iter()
        .map(|r| r.lo.min(r.hi))
        .fold(f64::INFINITY, f64::min);
    let highest = rows[..n - 1]
        .iter()
        .map(|r| r.lo.max(r.hi))
        .fold(0.0, f64::max);
    let span = (highest - lowest).max(1.0);
    let (x_lo, x_hi) = (lowest - 0.9 * span, highest + 0.05 * span);
    let bars = waterfall_bars(rows, stale);
    // Interaction is off, so the view is reset every frame: it always fits the newest result.
    Plot::new("waterfall")
        .height(h)
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_boxed_zoom(false)
        .reset()
        .show_grid([true, false])
        .show_axes([true, false])
        .x_grid_spacer(nice_marks)
        .custom_x_axes(vec![
            AxisHints::new_x()
                .label("cycles to end of life")
                .label_spacing(14.0..=28.0)
                .formatter(tick_label),
        ])
        .default_x_bounds(x_lo, x_hi)
        .default_y_bounds(-0.6, n as f64 - 0.4)
        .show(ui, |pu| {
            pu.bar_chart(BarChart::new("waterfall", bars).horizontal());
            waterfall_labels(pu, rows, x_lo);
        });
}

/// Row `i`'s y: row 0 at the top.
fn row_y(n: usize, i: usize) -> f64 {
    (n - 1 - i) as f64
}

/// One floating bar per row: the nominal cell (green), each source's loss (red) or gain
/// (green), the pack (blue); faded when the result is from an earlier scene.
fn waterfall_bars(rows: &[Row], stale: bool) -> Vec<Bar> {
    let n = rows.len();
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let colour = match i {
                0 => TRUE_COL,
                _ if i == n - 1 => CURRENT,
                _ if r.hi >= r.lo => SCRAP,
                _ => TRUE_COL,
            };
            Bar::new(row_y(n, i), r.hi - r.lo)
                .base_offset(r.lo)
                .name(&r.tip)
                .fill(if stale {
                    colour.gamma_multiply(0.35)
                } else {
                    colour
                })
                .width(0.7)
        })
        .collect()
}

/// Names at the view's left edge, figures at each bar's left end; the ends' bars start at zero,
/// off the view, so their figure goes with the name.
fn waterfall_labels(pu: &mut egui_plot::PlotUi, rows: &[Row], x_lo: f64) {
    let n = rows.len();
    for (i, r) in rows.iter().enumerate() {
        // The ends' bars start at zero, off the view: their figure goes with the name.
        let end = i == 0 || i == n - 1;
        let name = if end {
            format!("{} {:.0}", r.label, r.value)
        } else {
            r.label.to_string()
        };
        pu.text(
            Text::new("", PlotPoint::new(x_lo, row_y(n, i)), name)
                .anchor(egui::Align2::LEFT_CENTER)
                .color(if end { Color32::BLACK } else { Color32::GRAY }),
        );
        if !end {
            pu.text(
                Text::new(
                    "",
                    PlotPoint::new(r.lo.min(r.hi), row_y(n, i)),
                    if r.value.abs() < 9.5 {
                        format!("{:+.1}", r.value)
                    } else {
                        format!("{:+.0}", r.value)
                    },
                )
                .anchor(egui::Align2::RIGHT_CENTER)
                .color(Color32::LIGHT_GRAY),
            );
        }
    }
}
