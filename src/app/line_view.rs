//! The line as a flow, left to right: one box per station with cells in/out and yield, a band whose
//! thickness is the cells still in the line, and a red branch under each station for its scrap.
//! Hover a station for its numbers; click it for its parameters and scrap Pareto.

use super::CellTwinApp;
use super::format::{fmt_count, fmt_value};
use super::knobs::STATIONS;
use super::style::CHANGED;
use crate::summary::Summary;
use egui::{
    Align2, Color32, CornerRadius, FontId, Pos2, Rect, Sense, Stroke, StrokeKind, Vec2, pos2, vec2,
};

/// One station's flow.
pub struct Station {
    /// The station's name as the flow shows it.
    pub name: &'static str,
    /// Cells into the station.
    pub cells_in: u64,
    /// Cells out of it (passed on to the next).
    pub cells_out: u64,
    /// Scrap by reason, largest first.
    pub scrap: Vec<(String, u64)>,
}

impl Station {
    /// Cells out over cells in (1 for a station that received none).
    pub fn yield_(&self) -> f64 {
        if self.cells_in == 0 {
            f64::NAN
        } else {
            self.cells_out as f64 / self.cells_in as f64
        }
    }
}

/// The seven stations of a summary: the six stages and pack assembly.
pub fn stations(s: &Summary) -> Vec<Station> {
    let mut out: Vec<Station> = s
        .stages
        .iter()
        .zip(STATIONS)
        .map(|(st, name)| {
            let mut scrap: Vec<(String, u64)> = st
                .scrap_by_reason
                .iter()
                .map(|(k, v)| (k.replace('_', " "), *v))
                .collect();
            scrap.sort_by_key(|r| std::cmp::Reverse(r.1));
            Station {
                name,
                cells_in: st.cells_in,
                cells_out: st.cells_out,
                scrap,
            }
        })
        .collect();
    let passed = s.stages.last().map_or(0, |st| st.cells_out);
    let unpacked = s.packs.unpacked_cells.min(passed);
    out.push(Station {
        name: STATIONS[6],
        cells_in: passed,
        cells_out: passed - unpacked,
        scrap: vec![("unpacked".into(), unpacked)],
    });
    out
}

/// Green for a clean station, through amber, to red at 5 % loss or more.
pub fn loss_colour(loss: f64) -> Color32 {
    let t = (loss / 0.05).clamp(0.0, 1.0) as f32;
    let (g, a, r) = (
        [70.0, 170.0, 95.0],
        [230.0, 170.0, 50.0],
        [220.0, 60.0, 50.0],
    );
    let mix = |x: [f32; 3], y: [f32; 3], u: f32| {
        Color32::from_rgb(
            (x[0] + (y[0] - x[0]) * u) as u8,
            (x[1] + (y[1] - x[1]) * u) as u8,
            (x[2] + (y[2] - x[2]) * u) as u8,
        )
    };
    if t < 0.5 {
        mix(g, a, t * 2.0)
    } else {
        mix(a, r, (t - 0.5) * 2.0)
    }
}

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

/// The headline, the comparison with pins, the line as a flow of stations, and the details of
/// the hovered or selected station below it.
pub fn show(app: &mut CellTwinApp, ui: &mut egui::Ui) {
    let Some(s) = app.current.clone() else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Simulating the line…");
        });
        return;
    };
    headline(&s, ui);
    comparison(app, &s, ui);
    let st = stations(&s);
    flow(app, &s, &st, ui);
    // A fixed height: hovering a station changes what this shows, never where the charts sit.
    let h = 132.0;
    ui.allocate_ui(egui::vec2(ui.available_width(), h), |ui| {
        ui.set_min_height(h);
        egui::ScrollArea::vertical()
            .id_salt("station_details")
            .max_height(h)
            .auto_shrink([false, true])
            .show(ui, |ui| details(app, &s, &st, ui));
    });
}

/// Where the flow's boxes sit, and the started-cell count the bands are shares of.
struct FlowLayout {
    left: f32,
    top: f32,
    box_w: f32,
    box_h: f32,
    gap: f32,
    /// Band thickness of all started cells, px.
    band_max: f32,
    started: f64,
}

impl FlowLayout {
    fn station_box(&self, i: usize) -> Rect {
        let x0 = self.left + i as f32 * (self.box_w + self.gap);
        Rect::from_min_size(pos2(x0, self.top), vec2(self.box_w, self.box_h))
    }
}

/// One box per station, left to right, with the bands of cells between them and the scrap
/// branches under them; hover and click select a station.
fn flow(app: &mut CellTwinApp, s: &Summary, st: &[Station], ui: &mut egui::Ui) {
    let width = ui.available_width().max(700.0);
    let (rect, _) = ui.allocate_exact_size(vec2(width, 142.0), Sense::hover());
    let painter = ui.painter_at(rect);
    let n = st.len() as f32;
    let gap = 30.0;
    let layout = FlowLayout {
        left: rect.left(),
        top: rect.top() + 4.0,
        box_w: (width - gap * (n - 1.0)) / n,
        box_h: 70.0,
        gap,
        band_max: 40.0,
        started: st[0].cells_in.max(1) as f64,
    };
    app.hovered_station = None;
    for (i, station) in st.iter().enumerate() {
        if i + 1 < st.len() {
            band(&painter, &layout, i, station);
        }
        scrap_branch(&painter, &layout, i, station);
        let b = layout.station_box(i);
        let resp = ui.interact(b, ui.scope_id().with(("station", i)), Sense::click());
        let selected = app.selected_station == Some(i);
        station_box(
            &painter,
            ui.visuals().text_color(),
            b,
            station,
            selected,
            resp.hovered(),
        );
        if i == 6 {
            painter.text(
                Pos2::new(b.center().x, b.bottom() + 48.0),
                Align2::CENTER_TOP,
                format!("{} packs {}", fmt_count(s.packs.packs), s.packs.topology),
                FontId::proportional(11.0),
                ui.visuals().text_color(),
            );
        }
        if resp.hovered() {
            app.hovered_station = Some(i);
            resp.clone().on_hover_ui(|ui| station_tooltip(ui, station));
        }
        if resp.clicked() {
            app.selected_station = if selected { None } else { Some(i) };
        }
    }
}

/// The band into the next station: thickness = cells still in the line, colour = loss so far.
fn band(painter: &egui::Painter, l: &FlowLayout, i: usize, station: &Station) {
    let b = l.station_box(i);
    let cum_loss = 1.0 - station.cells_out as f64 / l.started;
    let t = (l.band_max * (station.cells_out as f64 / l.started) as f32).max(2.0);
    let mid_y = l.top + l.box_h / 2.0;
    let band = Rect::from_center_size(pos2(b.right() + l.gap / 2.0, mid_y), vec2(l.gap + 2.0, t));
    painter.rect_filled(
        band,
        CornerRadius::ZERO,
        loss_colour(cum_loss).gamma_multiply(0.8),
    );
}

/// The scrap branch under a station: thickness ∝ scrapped cells (a hairline when any), with the
/// top reason, the count and the share of started cells.
fn scrap_branch(painter: &egui::Painter, l: &FlowLayout, i: usize, station: &Station) {
    let scrapped = station.cells_in - station.cells_out;
    if scrapped == 0 {
        return;
    }
    let b = l.station_box(i);
    let t = (l.band_max * (scrapped as f64 / l.started) as f32).max(3.0);
    let br = Rect::from_min_size(pos2(b.center().x - t / 2.0, b.bottom()), vec2(t, 18.0));
    painter.rect_filled(br, CornerRadius::ZERO, Color32::from_rgb(200, 50, 45));
    let reason = station.scrap.first().map_or("", |r| r.0.as_str());
    painter.text(
        pos2(b.center().x, b.bottom() + 20.0),
        Align2::CENTER_TOP,
        format!("−{} {}", fmt_count(scrapped), reason),
        FontId::proportional(11.0),
        Color32::from_rgb(235, 110, 100),
    );
    painter.text(
        pos2(b.center().x, b.bottom() + 34.0),
        Align2::CENTER_TOP,
        format!("{} of started", pct(scrapped as f64 / l.started)),
        FontId::proportional(10.0),
        Color32::from_rgb(200, 120, 110),
    );
}

/// A station's box: its name, cells in and out, and its yield, coloured by its loss.
fn station_box(
    painter: &egui::Painter,
    text_col: Color32,
    b: Rect,
    station: &Station,
    selected: bool,
    hovered: bool,
) {
    let colour = loss_colour(1.0 - station.yield_());
    painter.rect_filled(b, CornerRadius::same(6), colour.gamma_multiply(0.25));
    let stroke = if selected {
        Stroke::new(2.5, text_col)
    } else if hovered {
        Stroke::new(2.0, colour)
    } else {
        Stroke::new(1.0, colour)
    };
    painter.rect_stroke(b, CornerRadius::same(6), stroke, StrokeKind::Inside);
    let c = b.center_top() + Vec2::new(0.0, 6.0);
    painter.text(
        c,
        Align2::CENTER_TOP,
        station.name,
        FontId::proportional(13.0),
        text_col,
    );
    let lines = [
        (format!("in {}", fmt_count(station.cells_in)), text_col),
        (format!("out {}", fmt_count(station.cells_out)), text_col),
        (format!("yield {}", pct(station.yield_())), colour),
    ];
    for (k, (t, col)) in lines.into_iter().enumerate() {
        painter.text(
            c + Vec2::new(0.0, 17.0 + 13.0 * k as f32),
            Align2::CENTER_TOP,
            t,
            FontId::proportional(11.0),
            col,
        );
    }
}

/// A station's numbers and every scrap reason.
fn station_tooltip(ui: &mut egui::Ui, station: &Station) {
    ui.strong(station.name);
    ui.label(format!(
        "in {}  out {}  yield {}",
        fmt_count(station.cells_in),
        fmt_count(station.cells_out),
        pct(station.yield_())
    ));
    for (r, n) in &station.scrap {
        ui.label(format!("  {r}: {}", fmt_count(*n)));
    }
    ui.weak("click for parameters and scrap Pareto");
}

/// A table of each pinned run's headline figures against the current run's.
fn comparison(app: &CellTwinApp, s: &Summary, ui: &mut egui::Ui) {
    for (slot, pin) in app.pins.iter().enumerate() {
        let Some(pin) = pin else { continue };
        let p = &pin.summary;
        let rows = comparison_rows(p, s);
        let colour = super::style::PIN_COLOURS[slot];
        egui::CollapsingHeader::new(
            egui::RichText::new(format!(
                "pin {} ({}) against the current run",
                slot + 1,
                pin.label
            ))
            .color(colour),
        )
        .id_salt(("comparison", slot))
        .default_open(true)
        .show(ui, |ui| {
            egui::Grid::new(("comparison_grid", slot))
                .num_columns(4)
                .spacing([18.0, 2.0])
                .striped(true)
                .show(ui, |ui| {
                    for h in ["", "pinned", "current", "change"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for (name, a, b, d) in rows {
                        ui.label(name);
                        ui.label(a);
                        ui.label(b);
                        ui.label(d);
                        ui.end_row();
                    }
                });
        });
    }
}

/// The headline figures of a pinned run and the current one, with the change: points for a
/// yield, per cent for the rest.
fn comparison_rows(p: &Summary, s: &Summary) -> [(&'static str, String, String, String); 7] {
    let rel = |a: f64, b: f64| format!("{:+.1} %", 100.0 * (b / a - 1.0));
    [
        (
            "first-pass yield",
            pct(p.yield_),
            pct(s.yield_),
            format!("{:+.2} pts", 100.0 * (s.yield_ - p.yield_)),
        ),
        (
            "cost per good cell (USD)",
            format!("{:.3}", p.cost.per_good_cell_usd),
            format!("{:.3}", s.cost.per_good_cell_usd),
            rel(p.cost.per_good_cell_usd, s.cost.per_good_cell_usd),
        ),
        (
            "cost per kWh (USD)",
            format!("{:.1}", p.cost.per_kwh_good_usd),
            format!("{:.1}", s.cost.per_kwh_good_usd),
            rel(p.cost.per_kwh_good_usd, s.cost.per_kwh_good_usd),
        ),
        (
            "pack life P5 (cycles)",
            format!("{:.0}", p.packs.life_cycles.p5),
            format!("{:.0}", s.packs.life_cycles.p5),
            rel(p.packs.life_cycles.p5, s.packs.life_cycles.p5),
        ),
        (
            "pack life P50 (cycles)",
            format!("{:.0}", p.packs.life_cycles.p50),
            format!("{:.0}", s.packs.life_cycles.p50),
            rel(p.packs.life_cycles.p50, s.packs.life_cycles.p50),
        ),
        (
            "pack life P95 (cycles)",
            format!("{:.0}", p.packs.life_cycles.p95),
            format!("{:.0}", s.packs.life_cycles.p95),
            rel(p.packs.life_cycles.p95, s.packs.life_cycles.p95),
        ),
        (
            "escaped defects (ppm)",
            format!("{:.0}", p.defects.escaped_ppm),
            format!("{:.0}", s.defects.escaped_ppm),
            rel(p.defects.escaped_ppm.max(1e-9), s.defects.escaped_ppm),
        ),
    ]
}

/// One line with what the engineer asks first.
fn headline(s: &Summary, ui: &mut egui::Ui) {
    let l = &s.packs.life_cycles;
    ui.horizontal_wrapped(|ui| {
        // Each item stays whole: one that does not fit moves to the next line.
        ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
        ui.label(RichText::new(&s.scene).strong().size(15.0));
        ui.separator();
        ui.label(format!(
            "{} cells started, first-pass yield {}",
            fmt_count(s.cells),
            pct(s.yield_)
        ));
        ui.separator();
        ui.label(format!(
            "{} packs {} ({:?} matching), initial {:.2} % of rated",
            fmt_count(s.packs.packs),
            s.packs.topology,
            s.packs.matching,
            100.0 * s.packs.initial_capacity_fraction
        ));
        ui.separator();
        let p = &s.packs;
        ui.label(
            RichText::new(format!(
                "pack life P50 {:.0} cycles = {:.1} years (P5 {:.0} · P95 {:.0}), {:.0} % below its cell",
                l.p50,
                p.life_years.p50,
                l.p5,
                l.p95,
                100.0 * p.p50_below_cell
            ))
            .strong()
            .color(Color32::from_rgb(120, 200, 255)),
        )
        .on_hover_text(format!(
            "P50: {:.0} equivalent full cycles delivered; loss at end of life {:.0} % calendar, \
             {:.0} % cycling. The nominal cell aged alone lives {:.0} cycles (rule of thumb: packs \
             20–30 % below their cells, NREL BLAST-Lite).",
            p.life_efc.p50,
            100.0 * p.life_calendar_share.p50,
            100.0 * (1.0 - p.life_calendar_share.p50),
            p.nominal_cell_life_cycles
        ));
        ui.separator();
        ui.label(format!("{:.1} USD/kWh", s.cost.per_kwh_good_usd));
        ui.separator();
        ui.label(format!("escaped defects {:.0} ppm", s.defects.escaped_ppm))
            .on_hover_text("latent defect cells that passed every test, per million passed cells");
    });
}

use egui::RichText;

/// Under the flow: the selected station's parameters and its scrap Pareto (or the whole line's).
fn details(app: &mut CellTwinApp, s: &Summary, st: &[Station], ui: &mut egui::Ui) {
    let shown = app.selected_station.or(app.hovered_station);
    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        match shown {
            Some(i) => {
                ui.label(RichText::new(format!("{} — parameters", STATIONS[i])).strong());
                let CellTwinApp { groups, scene, base, .. } = app;
                egui::Grid::new("station_params").num_columns(4).spacing([12.0, 2.0]).show(ui, |ui| {
                    let mut col = 0;
                    for g in groups.iter().filter(|g| g.station == Some(i)) {
                        for k in &g.knobs {
                            let v = k.get(scene);
                            let changed = v != k.get(base);
                            let t = RichText::new(format!("{} = {}", k.label, fmt_value(v)));
                            ui.label(if changed { t.color(CHANGED) } else { t }).on_hover_text(&k.key);
                            col += 1;
                            if col % 2 == 0 {
                                ui.end_row();
                            }
                        }
                    }
                    if i == 6 {
                        ui.label(format!("matching = {:?}", scene.pack.matching));
                    }
                    if i == 5 {
                        ui.end_row();
                        for (name, cpk) in [("capacity", s.capacity.cpk), ("DCIR", s.dcir.cpk), ("K-value", s.k_value.cpk)] {
                            let cpk = cpk.map_or("—".into(), |x| format!("{x:.2}"));
                            if name == "K-value" {
                                // Cpk assumes a normal distribution; K is lognormal with a defect tail.
                                ui.label(format!("Cpk {name} = {cpk} (K is not normal: a rough index)"))
                                    .on_hover_text("Cpk = (limit − mean)/3σ assumes a normal distribution; self-discharge is lognormal with a latent-defect tail, so read it as a rough index, and the histogram's overflow bar as the tail");
                            } else {
                                ui.label(format!("Cpk {name} = {cpk}"));
                            }
                        }
                    }
                });
                if app.selected_station.is_some() {
                    ui.weak("Sliders for this station are open in the side panel. Click the station again to close.");
                }
            }
            None => {
                ui.label(RichText::new("Whole line").strong());
                ui.weak("Hover or click a station for its parameters and its scrap Pareto.");
                ui.label(format!(
                    "Latent defects {} made, {} caught, {} escaped ({:.0} ppm of passed); {} life-simulated packs hold one",
                    fmt_count(s.defects.latent),
                    fmt_count(s.defects.caught),
                    fmt_count(s.defects.escaped),
                    s.defects.escaped_ppm,
                    s.defects.life_packs_with_defect
                ));
                let reasons: Vec<String> =
                    s.packs.eol_reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
                ui.label(format!("Pack end of life by: {}", reasons.join(", ")));
            }
        }
        let ui = &mut cols[1];
        let started = st[0].cells_in.max(1) as f64;
        let rows: Vec<(String, u64)> = match shown {
            Some(i) => st[i].scrap.clone(),
            None => s
                .scrap_pareto
                .iter()
                .map(|l| (format!("{} ({})", l.reason.key().replace('_', " "), l.stage.label()), l.cells))
                .collect(),
        };
        let title = match shown {
            Some(i) => format!("Scrap Pareto — {}", STATIONS[i]),
            None => "Scrap Pareto — whole line".into(),
        };
        ui.label(RichText::new(title).strong());
        pareto(ui, &rows, started);
    });
}

/// Horizontal bars, largest first, with counts and share of started cells.
fn pareto(ui: &mut egui::Ui, rows: &[(String, u64)], started: f64) {
    let mut rows = rows.to_vec();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f32;
    let w = ui.available_width();
    for (name, n) in rows {
        let (r, _) = ui.allocate_exact_size(vec2(w, 16.0), Sense::hover());
        let p = ui.painter_at(r);
        let label_w = 190.0;
        p.text(
            r.left_center(),
            Align2::LEFT_CENTER,
            &name,
            FontId::proportional(11.0),
            ui.visuals().text_color(),
        );
        let bar_w = ((w - label_w - 130.0).max(20.0)) * n as f32 / max;
        let bar = Rect::from_min_size(
            pos2(r.left() + label_w, r.top() + 3.0),
            vec2(bar_w.max(1.0), 10.0),
        );
        p.rect_filled(bar, CornerRadius::ZERO, Color32::from_rgb(200, 60, 50));
        p.text(
            pos2(bar.right() + 6.0, r.center().y),
            Align2::LEFT_CENTER,
            format!("{}  ({:.3} %)", fmt_count(n), 100.0 * n as f64 / started),
            FontId::proportional(11.0),
            ui.visuals().weak_text_color(),
        );
    }
}
