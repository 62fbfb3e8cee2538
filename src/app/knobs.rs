//! The scene values the engineer can turn, station by station: key, label, slider range.
//!
//! A knob reads and writes its field of a [`Scene`] directly; its `key` is the same dotted key the
//! TOML files and `celltwin run --set` use (a test checks that the two agree).

use crate::scene::Scene;

/// How a knob reaches its field.
#[derive(Clone, Copy)]
pub enum Acc {
    /// An f64 scene value.
    F(fn(&mut Scene) -> &mut f64),
    /// A u64 scene value (a count).
    U64(fn(&mut Scene) -> &mut u64),
    /// A u32 scene value (a count).
    U32(fn(&mut Scene) -> &mut u32),
}

/// One slider.
#[derive(Clone)]
pub struct Knob {
    /// Dotted scene key, e.g. `coating.cathode_loading_cv`.
    pub key: String,
    /// The slider's label, with its unit.
    pub label: &'static str,
    /// Slider's lower end (the scene's validation may allow less room).
    pub lo: f64,
    /// Slider's upper end.
    pub hi: f64,
    /// Logarithmic slider (values spanning decades).
    pub log: bool,
    /// The scene field it moves.
    pub acc: Acc,
}

impl Knob {
    /// The value in the scene, as f64.
    pub fn get(&self, s: &mut Scene) -> f64 {
        match self.acc {
            Acc::F(f) => *f(s),
            Acc::U64(f) => *f(s) as f64,
            Acc::U32(f) => f64::from(*f(s)),
        }
    }
    /// Set the value in the scene (rounded for counts).
    pub fn set(&self, s: &mut Scene, v: f64) {
        match self.acc {
            Acc::F(f) => *f(s) = v,
            Acc::U64(f) => *f(s) = v.round().max(0.0) as u64,
            Acc::U32(f) => *f(s) = v.round().clamp(0.0, f64::from(u32::MAX)) as u32,
        }
    }
    /// Whether the value is a count (the slider steps by whole numbers).
    pub fn is_integer(&self) -> bool {
        !matches!(self.acc, Acc::F(_))
    }
}

/// A collapsible group of knobs; `station` is the line view's station index it belongs to.
pub struct Group {
    /// The collapsible header's text.
    pub title: &'static str,
    /// The line station it belongs to (clicking the station opens it), if any.
    pub station: Option<usize>,
    /// Its sliders, in panel order.
    pub knobs: Vec<Knob>,
}

macro_rules! knob {
    ($kind:ident, $lo:expr, $hi:expr, $log:expr, $label:literal, $($path:ident).+) => {
        Knob {
            key: [$(stringify!($path)),+].join("."),
            label: $label,
            lo: $lo as f64,
            hi: $hi as f64,
            log: $log,
            acc: Acc::$kind(|s| &mut s.$($path).+),
        }
    };
}

// After `knob!`, which the groups' tables use.
mod line;
mod pack;

use line::{
    calendering_group, coating_group, cost_group, end_of_line_test_group, filling_group,
    formation_aging_group, line_group, winding_group,
};
use pack::{pack_assembly_group, pack_life_group};

/// Stations of the line view, in order (the first six are the model's stages).
pub const STATIONS: [&str; 7] = [
    "Coating",
    "Calendering",
    "Winding",
    "Filling",
    "Formation & aging",
    "End-of-line test",
    "Pack assembly",
];

/// Every group, in the order of the side panel.
pub fn groups() -> Vec<Group> {
    vec![
        line_group(),
        coating_group(),
        calendering_group(),
        winding_group(),
        filling_group(),
        formation_aging_group(),
        end_of_line_test_group(),
        cost_group(),
        pack_assembly_group(),
        pack_life_group(),
    ]
}

/// The part of a knob's slider range that the rest of the scene allows: from the current value
/// toward each end of the slider, the last value that still validates (bisection; validation is
/// microseconds). Where the current value is itself invalid the slider keeps its full range, so
/// the engineer can move back.
pub fn valid_range(k: &Knob, scene: &Scene) -> (f64, f64) {
    let mut s = scene.clone();
    let v = k.get(&mut s);
    if crate::scene::validate(&s).is_err() {
        return (k.lo, k.hi);
    }
    let mut ok = |x: f64| {
        k.set(&mut s, x);
        crate::scene::validate(&s).is_ok()
    };
    let mut edge = |target: f64| {
        if ok(target) {
            return target;
        }
        let (mut good, mut bad) = (v, target);
        for _ in 0..40 {
            let mid = 0.5 * (good + bad);
            if ok(mid) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        good
    };
    let lo = edge(k.lo.min(v));
    let hi = edge(k.hi.max(v));
    (lo, hi)
}

/// Where a knob's default comes from, for its tooltip: the model card, a published source, a
/// calibration, or our assumption (docs/MODEL.md gives each in full).
pub fn provenance(key: &str) -> &'static str {
    match key {
        "line.spread_scale" | "line.defect_scale" => {
            "card: 1 mature; ramp-up ×4 spreads, ×5 defects"
        }
        "coating.cathode_loading_cv"
        | "coating.cathode_loading_lot_cv"
        | "coating.anode_loading_cv"
        | "coating.anode_loading_lot_cv" => {
            "ours: 0.12 % / 0.10 % put the capacity CV in Wildfeuer & Lienkamp 2021's 0.17–0.3 % \
             (the card's 0.25 % / 0.15 % alone give 0.29 %)"
        }
        "coating.np_design" => "ours: within the usual 1.05–1.15",
        "coating.lot_size" | "formation.rack_size" | "pack.window" => {
            "ours: a coil, a rack, a warehouse batch"
        }
        "formation.defect_onset_mean_days" => "ours: makes the aging-test length matter",
        "filling.pore_g_per_ah" => "assumption: the default fill is 1.35× the pores (2σ margin)",
        "filling.optimum_fill_ratio" => {
            "sourced: Pritzlaff, Niehoff, Winter et al., 1.14–1.19× pore volume"
        }
        "filling.r_per_shortfall" => "card's first cut (under-fill raises resistance), not a fit",
        "eol.k_noise_mv_day" => "card: a voltmeter's 0.01 mV/day over 10 days, both chemistries",
        "cost.learning_rate" => "sourced: BNEF battery learning rate, 18 % per doubling",
        "cost.cumulative_gwh" => "ours: costs hold at 2 000 GWh cumulative (2023–24)",
        "pack.series" | "pack.parallel" => "card: 96S1P",
        "life.gradient_k" => "card: 5 K inlet-to-outlet, a fixed offset of the cooling design",
        "life.coolant_flow_kg_s" => "assumption: 0.05 kg/s (NMC), 0.2 kg/s (LFP) of water-glycol",
        "life.tab_heat_k_per_w" => "assumption: 10 K/W thin nickel tab (NMC), 1 K/W terminal (LFP)",
        "life.cell_fade_sigma" => {
            "calibrated: mature cells aged alone spread as Baumhöfer 2014 (CV 8.9 %)"
        }
        "life.np_fade_per_np" => "assumption: our reading of Abe & Kumagai 2018's ordering",
        "life.plating_tafel_mv" => "reasoned: RT/αF at 25 °C, α = 0.5 (Tafel), not a fit",
        "life.eol_resistance_factor" => "common EV specification: resistance doubled",
        "life.breach_plating_factor" => "card's plating factor (×3)",
        "life.max_years" => "ours: past any warranty or plan",
        _ => "card (docs/MODEL.md §2)",
    }
}

/// Every knob whose value is a real number: the keys the headline chart can sweep.
pub fn sweepable(groups: &[Group]) -> Vec<Knob> {
    groups
        .iter()
        .flat_map(|g| g.knobs.iter())
        .filter(|k| !k.is_integer())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each knob's key is the scene key: setting through `--set` and through the knob agree.
    #[test]
    fn knob_keys_are_scene_keys() {
        for g in groups() {
            for k in &g.knobs {
                let mut base = crate::scene::load(None, &[]).unwrap();
                let v = if k.is_integer() {
                    k.hi.round()
                } else {
                    (k.lo + k.hi) / 2.0
                };
                let text = if k.is_integer() {
                    format!("{}", v as u64)
                } else {
                    format!("{v}")
                };
                let via_set = crate::scene::load(None, &[format!("{}={text}", k.key)])
                    .unwrap_or_else(|e| panic!("{}: {e}", k.key));
                k.set(&mut base, v);
                assert_eq!(
                    base, via_set,
                    "knob {} writes another field than its key",
                    k.key
                );
            }
        }
    }
}
