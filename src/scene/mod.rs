//! Scenes: every parameter of the line, the packs and their life, with the defaults of
//! `docs/MODEL.md` and their sources.
//!
//! A scene file is TOML. Every key is optional: a file names a `chemistry`, whose preset fills every
//! key, and then overrides what it sets. Keys are checked against the preset, so a misspelt key is
//! an error naming it rather than a silently ignored line (see [`load`]). Ranges are checked in
//! [`validate`], naming the field, the value and the allowed range.

mod load;
mod validate;

mod life_packs;
mod preview;
pub use life_packs::LifePacks;
pub use load::{SceneError, builtin_names, from_toml_str, load};
pub use preview::{PREVIEW_BAND_PACKS, PREVIEW_CELLS};
pub use validate::validate;

use serde::{Deserialize, Serialize};

/// The cell design and its BLAST-Lite fade law.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chemistry {
    /// Cylindrical 21700, NMC811 / graphite-SiOx, 5 Ah (LG M50 class); fade law
    /// `Nmc811_GrSi_LGM50_5Ah_Battery`.
    Nmc21700,
    /// Large prismatic LFP / graphite, 250 Ah; fade law `Lfp_Gr_250AhPrismatic`.
    LfpPrismatic,
}

/// How passed cells of one matching window are put into packs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Matching {
    /// No matching: a keyed shuffle of the window, consecutive cells form packs.
    Random,
    /// Cells of the same capacity grade bin go together; a bin's leftovers are counted unpacked.
    Binned,
    /// Sort the window by measured capacity; consecutive cells form packs.
    Sorted,
    /// Sort the window by measured DCIR; consecutive cells form packs. Cells of like resistance
    /// charge at like overpotential and heat alike, so they age alike (docs/MODEL.md §5).
    SortedDcir,
}

/// A whole scene: what the line makes, how packs are built and how they are used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    /// A readable name for plots and summaries.
    pub name: String,
    /// The chemistry preset whose defaults fill every key not set.
    pub chemistry: Chemistry,
    /// Cells started into the line (1 … 10¹⁰; the app offers 10⁴ … 10⁸).
    pub cells: u64,
    /// Seed of the counter-based generator: same seed, same cells, on any backend.
    pub seed: u64,
    /// Whole-line multipliers (the ramp-up presets set these).
    pub line: Line,
    /// The nominal cell: what spec limits and grades are relative to.
    pub cell: CellSpec,
    /// Electrode coating: loadings, N/P, particle defects.
    pub coating: Coating,
    /// Calendering: porosity and the ionic resistance it sets.
    pub calendering: Calendering,
    /// Winding or stacking: area, alignment, tab welds, the X-ray.
    pub winding: Winding,
    /// Electrolyte filling.
    pub filling: Filling,
    /// Formation and the self-discharge aging test.
    pub formation: Formation,
    /// End-of-line test and grading.
    pub eol: Eol,
    /// Pack topology, matching and the life sample.
    pub pack: Pack,
    /// Pack life: duty, thermal field, fade-law links.
    pub life: Life,
    /// Cost per started cell at each stage, and the learning curve.
    pub cost: Cost,
}

/// Line-wide multipliers, applied on top of every stage's own figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// Multiplies every process spread (CVs, SDs, lognormal σ). `ramp_up` presets: 4.
    pub spread_scale: f64,
    /// Multiplies every defect rate (particle defects). `ramp_up` presets: 5.
    pub defect_scale: f64,
}

/// The nominal cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellSpec {
    /// Rated capacity, Ah (NMC 21700: 5.0, LG M50 class; LFP prismatic: 250).
    pub capacity_ah: f64,
    /// Nominal voltage, V (NMC: 3.63; LFP: 3.2), for energy and cost per kWh.
    pub voltage_v: f64,
    /// Nominal DC internal resistance, mΩ (NMC 21700: 18; LFP 250 Ah: 0.5).
    pub dcir_mohm: f64,
}

/// Electrode coating: areal loading of both electrodes, averaged over a cell's electrode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coating {
    /// Cells per coating lot (one coil / slurry batch), sharing the lot draw.
    pub lot_size: u64,
    /// Cathode loading, within-lot CV, fraction (default 0.12 %; the card's 0.25 % leaves no room
    /// inside the mature capacity band, docs/MODEL.md).
    pub cathode_loading_cv: f64,
    /// Cathode loading, lot-to-lot CV, fraction (default 0.10 %; card 0.15 %).
    pub cathode_loading_lot_cv: f64,
    /// Anode loading, within-lot CV, fraction (default 0.12 %; card 0.25 %).
    pub anode_loading_cv: f64,
    /// Anode loading, lot-to-lot CV, fraction (default 0.10 %; card 0.15 %).
    pub anode_loading_lot_cv: f64,
    /// Design N/P (anode over cathode areal capacity), typically 1.05–1.15.
    pub np_design: f64,
    /// N/P below which the anode, not the cathode, limits capacity.
    pub np_min: f64,
    /// Beta-gauge tolerance: a cell whose cathode or anode loading is off by more than this
    /// fraction is cut out at coating (default ±3 %).
    pub loading_tolerance: f64,
    /// Latent particle defects (metal particles, burrs), Poisson mean per cell (default 0.02).
    pub defects_per_cell: f64,
}

/// Calendering sets porosity, and porosity the ionic resistance (Bruggeman).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendering {
    /// Target porosity (default 0.30).
    pub porosity_target: f64,
    /// Porosity SD, absolute (default 0.015 = 1.5 points).
    pub porosity_sd: f64,
    /// Ionic resistance at target porosity and nominal loading, mΩ.
    pub r_ionic_mohm: f64,
}

/// Winding (or stacking): electrode area, layer alignment, tab welding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Winding {
    /// Electrode area CV (default 0.1 %).
    pub area_cv: f64,
    /// Layer misalignment SD, mm (default 0.15).
    pub misalignment_sd_mm: f64,
    /// Anode overhang over the cathode, mm (default 1.0): a misalignment beyond it is a breach.
    pub overhang_mm: f64,
    /// Tab-weld resistance median, mΩ (default 2 for the 21700).
    pub tab_weld_median_mohm: f64,
    /// Tab-weld resistance lognormal σ (default 0.15).
    pub tab_weld_sigma: f64,
    /// Probability that the in-line X-ray after winding catches an overhang breach (0.95).
    pub xray_detect: f64,
}

/// Electrolyte filling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filling {
    /// Target electrolyte mass per Ah of rated capacity, g/Ah (default 1.3).
    pub g_per_ah: f64,
    /// Electrolyte mass that exactly fills a nominal cell's wetted pore volume (electrodes and
    /// separator at target porosity), per Ah, g/Ah (default 0.963: the default target fills 1.35×
    /// the pores, our assumption of a margin that keeps the optimum 2σ of pore-volume spread away).
    pub pore_g_per_ah: f64,
    /// Fill over pore volume at which cycle life is longest (default 1.16, the middle of the
    /// 1.14–1.19 Pritzlaff, Niehoff, Winter et al. measured); below it pores stay dry.
    pub optimum_fill_ratio: f64,
    /// Fill mass CV (default 1 %).
    pub fill_cv: f64,
    /// Electrolyte and bulk resistance at full fill, mΩ.
    pub r_bulk_mohm: f64,
    /// Relative rise of the bulk resistance per unit of fill-ratio shortfall below the optimum
    /// (3: 1 % short → +3 %).
    pub r_per_shortfall: f64,
}

/// Formation and aging: SEI formation on racks, then the self-discharge (K-value) test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Formation {
    /// Cells per formation rack, sharing the rack temperature draw.
    pub rack_size: u64,
    /// Rack temperature SD, °C (default 1.5), around the set point.
    pub rack_temp_sd_c: f64,
    /// First-cycle capacity loss (default 0.09).
    pub first_cycle_loss: f64,
    /// First-cycle loss SD, absolute (default 0.001: the ±0.2 points read as a ±2σ band).
    pub first_cycle_loss_sd: f64,
    /// First-cycle loss added per °C of rack temperature above set point (default 0.001).
    pub loss_per_degc: f64,
    /// SEI resistance at nominal first-cycle loss, mΩ; scales with the loss (more SEI, more R).
    pub r_sei_mohm: f64,
    /// Self-discharge median, mV/day (default 0.03).
    pub k_median_mv_day: f64,
    /// Self-discharge lognormal σ (default 0.5).
    pub k_sigma: f64,
    /// A developed latent defect adds a self-discharge uniform in [min, max] mV/day (0.5–5 for
    /// NMC, × 0.2 for LFP's flatter OCV): the lower end.
    pub defect_k_min_mv_day: f64,
    /// The upper end of a developed defect's added self-discharge, mV/day.
    pub defect_k_max_mv_day: f64,
    /// Mean onset of a latent defect's micro-short after formation, days (exponential). A defect
    /// that starts late in the aging test shows only part of its self-discharge: why shortening
    /// the test lets defects escape.
    pub defect_onset_mean_days: f64,
    /// Length of the self-discharge (K-value) aging test, days (default 10).
    pub aging_days: f64,
}

/// End-of-line test and sorting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eol {
    /// Capacity gauge noise, relative SD (default 0.1 %).
    pub capacity_noise: f64,
    /// DCIR gauge noise, relative SD (default 1 %).
    pub dcir_noise: f64,
    /// K-value gauge noise, mV/day SD over a 10-day test (default 0.01); scales as 10/aging_days.
    pub k_noise_mv_day: f64,
    /// Lower capacity limit, fraction of rated (default 0.97).
    pub capacity_min: f64,
    /// Upper DCIR limit, fraction of nominal (default 1.15).
    pub dcir_max: f64,
    /// Upper self-discharge limit, mV/day (default 0.1).
    pub k_max_mv_day: f64,
    /// Number of capacity grade bins (default 8).
    pub grade_bins: u32,
    /// Width of a grade bin, fraction of rated capacity (default 0.25 %); bins are centred on rated.
    pub bin_width: f64,
}

/// Pack assembly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    /// Series groups (default 96).
    pub series: u32,
    /// Cells in parallel per group (default 1).
    pub parallel: u32,
    /// Matching strategy within a window.
    pub matching: Matching,
    /// Matching window: started cells per warehouse batch (default 100 000); its passed cells
    /// are matched together, so a window is one production period's output.
    pub window: u64,
    /// Packs whose life is simulated: `"all"` (the default: every pack up to 10⁷ cells, above that
    /// an evenly spread sample of the packs 10⁷ cells would make, which the report states), or a
    /// count spread evenly over the run (P5/P50/P95 from 1000 packs are good to a few cycles).
    pub life_packs: LifePacks,
    /// Aged packs kept whole, at most (default 1000): every k-th aged pack, k the smallest that
    /// keeps no more than this (1 013 aged packs keep 507). Their cells and whole fade curve,
    /// followed on past end of life to 10 points below it, make the fade band and the packs
    /// table's cell lists. A kept pack takes about twice the steps of one followed only to its
    /// end. The app's preview keeps 250 ([`PREVIEW_BAND_PACKS`]).
    pub band_packs: u64,
}

/// What the pack is asked for each cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duty {
    /// The rated SOC window's Ah every cycle (a vehicle's daily kilometres): a faded pack delivers
    /// what it has and its cells swing deeper.
    Energy,
    /// The SOC window of the pack's present capacity (BLAST-Lite's reference profile): delivered Ah
    /// fade with the pack, each cell's swing stays the window.
    SocWindow,
}

/// Pack life: duty, thermal and fade-law settings (MODEL.md §3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Life {
    /// Ambient temperature, °C (default 25).
    pub ambient_c: f64,
    /// Fixed positional temperature offset from the first to the last series group, K (default 5:
    /// the inlet-to-outlet gradient of a cooling design, present at rest too).
    pub gradient_k: f64,
    /// Coolant mass flow past the string, kg/s (NMC 0.05, LFP 0.2; 0 = no rise): the string's I²R
    /// heat while current flows warms the coolant toward the outlet by heat / (flow · cp).
    pub coolant_flow_kg_s: f64,
    /// Coolant heat capacity, J/(kg·K) (default 3 400: 50/50 water-glycol).
    pub coolant_cp_j_per_kg_k: f64,
    /// Local temperature rise at the tab per watt of tab-weld heat, K/W (NMC 21700: 10, a thin
    /// nickel tab; LFP prismatic: 1, a thick terminal; our assumption): a poor weld is a hot spot.
    pub tab_heat_k_per_w: f64,
    /// Cell thermal resistance to coolant, K/W (21700: 4; prismatic on a cold plate: 0.5).
    pub thermal_resistance_k_per_w: f64,
    /// Charge and discharge rate, C (default 0.5).
    pub c_rate: f64,
    /// Pack SOC window, low end, fraction (default 0.1).
    pub soc_lo: f64,
    /// Pack SOC window, high end, fraction (default 0.9).
    pub soc_hi: f64,
    /// SOC at rest for the rest of the day (default 0.5).
    pub soc_rest: f64,
    /// Full cycles a day (default 1).
    pub cycles_per_day: f64,
    /// Cycles per simulation step (default 10).
    pub cycles_per_step: u32,
    /// What the pack is asked for each cycle (default `soc_window`: BLAST-Lite's reference profile,
    /// test-lab cycling between fixed limits, and a BMS that keeps its window as the pack fades).
    pub duty: Duty,
    /// NMC only: the cycling rate follows each cell's own DOD as Schmalstieg et al. 2014 fitted it
    /// on the Sanyo UR18650E (`β ∝ 7.6e-4 + 4.081e-3·DOD`), relative to the pack's SOC window, so a
    /// cell that swings deeper fades faster (default true; false recovers BLAST-Lite's law, which
    /// has no DOD term for NMC).
    pub nmc_dod_fade: bool,
    /// Cycle cap: a pack still alive here is reported as `cap`.
    pub max_cycles: u32,
    /// Calendar cap, years (default 25: past any warranty or plan): a pack still alive after this
    /// many years of its duty is reported as `cap`, whichever cap comes first.
    pub max_years: f64,
    /// End of life: pack capacity below this fraction of rated (default 0.8).
    pub eol_fraction: f64,
    /// End of life by power: pack resistance at or above this multiple of its initial resistance
    /// (default 2: the doubling most EV specifications use; 0 = off). Reported as `power`.
    pub eol_resistance_factor: f64,
    /// Passive balancing current, A (50 mA for a 21700; ~1 A for the 250 Ah LFP, scaled).
    pub balance_current_a: f64,
    /// Hours of balancing a cycle, h (default 2).
    pub balance_hours: f64,
    /// N/P below this plates lithium (default 1.03) …
    pub plating_np: f64,
    /// … and multiplies the cycling fade rate by this (default 3).
    pub plating_factor: f64,
    /// An escaped overhang breach (cathode facing no anode at the edge) plates lithium at the edge:
    /// the cycling rate × this (default 3, the card's plating factor).
    pub breach_plating_factor: f64,
    /// Under-fill multiplies cycling fade by 1 + this × shortfall (default 5).
    pub underfill_factor: f64,
    /// Residual cell-to-cell aging scalar (what no process variable explains), lognormal σ. It
    /// stretches each cell's stress-time as BLAST-Lite's `degradation_scalar` does, so a cell's life
    /// scales as 1/scalar. Default 0.083: with the process-explained spread (≈ 3.7 % CV) mature NMC
    /// cells aged alone spread as Baumhöfer et al. 2014's 47 production cells (cycles to 80 %:
    /// CV 8.8 %); tests/calibration.rs holds it there.
    pub cell_fade_sigma: f64,
    /// N/P margin → cycling fade: the rate is multiplied by `exp(this × (N/P_design − N/P))`, per
    /// unit of N/P (default 4: ×2 from N/P 1.20 to 1.03, our reading of Abe & Kumagai 2018's
    /// ordering; 0 switches the link off).
    pub np_fade_per_np: f64,
    /// Resistance → charge overpotential → plating at C-rate: the cycling rate is multiplied by
    /// `exp(I·(R0 − R_nominal)/this)`, mV (default 51 = RT/αF at 25 °C with α = 0.5, Tafel
    /// kinetics of the side reaction; 0 switches the link off).
    pub plating_tafel_mv: f64,
    /// Formation → SEI → calendar fade: the calendar rate is multiplied by
    /// `(first-cycle loss nominal / the cell's)^this` (default 1: SEI growth is parabolic, its rate
    /// ∝ 1/thickness, and the thickness follows the lithium formation put into it; 0 = link off).
    pub sei_calendar_exponent: f64,
    /// Resistance growth per unit capacity loss: R = R0 (1 + this × loss) (default 2.0).
    pub resistance_growth: f64,
    /// Internal-short hazard per cycle of a cell with a latent defect (default 1e-5).
    pub short_hazard: f64,
    /// OCV slope used to turn self-discharge (mV/day) into charge (V per unit SOC).
    pub ocv_slope_v: f64,
}

/// Cost per started cell at each stage, USD: material bought in at that stage and conversion
/// (labour, energy, depreciation). A cell scrapped at a stage has cost what was spent up to and
/// including that stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    /// Coating material (the electrodes), USD per started cell.
    pub coating_material: f64,
    /// Coating conversion, USD per started cell.
    pub coating_conversion: f64,
    /// Calendering material, USD per started cell.
    pub calendering_material: f64,
    /// Calendering conversion, USD per started cell.
    pub calendering_conversion: f64,
    /// Winding material (separator, tabs and housing), USD per started cell.
    pub winding_material: f64,
    /// Winding conversion, USD per started cell.
    pub winding_conversion: f64,
    /// Filling material (electrolyte), USD per started cell.
    pub filling_material: f64,
    /// Filling conversion, USD per started cell.
    pub filling_conversion: f64,
    /// Formation material, USD per started cell.
    pub formation_material: f64,
    /// Formation & aging conversion (about a third of all conversion, our synthesis), USD per
    /// started cell.
    pub formation_conversion: f64,
    /// End-of-line test material, USD per started cell.
    pub eol_material: f64,
    /// End-of-line test conversion, USD per started cell.
    pub eol_conversion: f64,
    /// Learning rate: cost falls by this fraction per doubling of cumulative volume (default 0.18,
    /// the battery-pack learning rate of BNEF's long-run price survey; Wright's law).
    pub learning_rate: f64,
    /// Cumulative volume at which the stage costs above hold, GWh (default 2 000: the world's
    /// cumulative Li-ion output around 2023–24, when the cost anchors were published; our reading).
    pub reference_gwh: f64,
    /// Cumulative volume the scene is costed at, GWh (default: the reference, factor 1). Every
    /// stage cost scales by (cumulative / reference)^log2(1 − learning_rate).
    pub cumulative_gwh: f64,
}

impl Cost {
    /// Wright's law: the factor on every stage cost at the scene's cumulative volume.
    pub fn learning_factor(&self) -> f64 {
        (self.cumulative_gwh / self.reference_gwh).powf((1.0 - self.learning_rate).log2())
    }

    /// The stations' keys in line order, as the cost keys spell them (`cost.<station>_material`).
    pub const STAGE_KEYS: [&'static str; 6] = [
        "coating",
        "calendering",
        "winding",
        "filling",
        "formation",
        "eol",
    ];

    /// (material, conversion) per stage in line order.
    pub fn per_stage(&self) -> [(f64, f64); 6] {
        [
            (self.coating_material, self.coating_conversion),
            (self.calendering_material, self.calendering_conversion),
            (self.winding_material, self.winding_conversion),
            (self.filling_material, self.filling_conversion),
            (self.formation_material, self.formation_conversion),
            (self.eol_material, self.eol_conversion),
        ]
    }
}

impl Scene {
    /// The preset of a chemistry: a mature line, every default of `docs/MODEL.md`.
    pub fn preset(chemistry: Chemistry) -> Scene {
        let nmc = chemistry == Chemistry::Nmc21700;
        let (r_tab, r_ionic, r_sei, r_bulk) = resistance_budget(chemistry);
        Scene {
            name: if nmc {
                "NMC 21700, mature line".into()
            } else {
                "LFP prismatic 250 Ah, mature line".into()
            },
            chemistry,
            cells: 1_000_000,
            seed: 1,
            line: Line {
                spread_scale: 1.0,
                defect_scale: 1.0,
            },
            cell: CellSpec {
                capacity_ah: if nmc { 5.0 } else { 250.0 },
                voltage_v: if nmc { 3.63 } else { 3.2 },
                dcir_mohm: r_tab + r_ionic + r_sei + r_bulk,
            },
            coating: Coating::preset(),
            calendering: Calendering::preset(chemistry),
            winding: Winding::preset(chemistry),
            filling: Filling::preset(chemistry),
            formation: Formation::preset(chemistry),
            eol: Eol::preset(chemistry),
            pack: Pack::preset(),
            life: Life::preset(chemistry),
            cost: Cost::preset(chemistry),
        }
    }

    /// Cells in one pack.
    pub fn cells_per_pack(&self) -> u64 {
        u64::from(self.pack.series) * u64::from(self.pack.parallel)
    }

    /// Rated energy of one cell, kWh.
    pub fn cell_kwh(&self) -> f64 {
        self.cell.capacity_ah * self.cell.voltage_v / 1000.0
    }
}

/// Resistance budget (mΩ): tab + ionic + SEI + bulk = nominal DCIR.
fn resistance_budget(chemistry: Chemistry) -> (f64, f64, f64, f64) {
    if chemistry == Chemistry::Nmc21700 {
        (2.0, 5.0, 4.0, 7.0)
    } else {
        (0.05, 0.15, 0.1, 0.2)
    }
}

/// Self-discharge is read as an OCV drop (K-value, mV/day). LFP's flat OCV (≈0.15 V per unit
/// SOC mid-window against ≈0.8 V for NMC) shows the same charge loss as a ~5× smaller K, so
/// the LFP preset's K figures (distribution, defects, limit) are the NMC ones × 0.2. The
/// gauge is a voltmeter: its noise is the same for both, so LFP needs a longer test to see
/// the smaller signal (21 days instead of 10, a common 2–4 weeks for LFP).
fn k_scale(chemistry: Chemistry) -> f64 {
    if chemistry == Chemistry::Nmc21700 {
        1.0
    } else {
        0.2
    }
}

impl Coating {
    /// The coating defaults (the same for both chemistries).
    fn preset() -> Coating {
        Coating {
            lot_size: 20_000,
            // The card's 0.25 % within + 0.15 % lot give 0.29 % capacity CV from coating alone,
            // leaving no room for area and formation inside the mature band (0.17–0.3 %,
            // Wildfeuer & Lienkamp 2021): 0.12 % and 0.10 % land the whole line at ≈ 0.28 %.
            cathode_loading_cv: 0.0012,
            cathode_loading_lot_cv: 0.0010,
            anode_loading_cv: 0.0012,
            anode_loading_lot_cv: 0.0010,
            np_design: 1.08,
            np_min: 1.0,
            loading_tolerance: 0.03,
            defects_per_cell: 0.02,
        }
    }
}

impl Calendering {
    /// The calendering defaults; the ionic resistance is its share of the DCIR budget.
    fn preset(chemistry: Chemistry) -> Calendering {
        let (_, r_ionic, _, _) = resistance_budget(chemistry);
        Calendering {
            porosity_target: 0.30,
            porosity_sd: 0.015,
            r_ionic_mohm: r_ionic,
        }
    }
}

impl Winding {
    /// The winding defaults; the tab weld is its share of the DCIR budget.
    fn preset(chemistry: Chemistry) -> Winding {
        let (r_tab, _, _, _) = resistance_budget(chemistry);
        Winding {
            area_cv: 0.001,
            misalignment_sd_mm: 0.15,
            overhang_mm: 1.0,
            tab_weld_median_mohm: r_tab,
            tab_weld_sigma: 0.15,
            xray_detect: 0.95,
        }
    }
}

impl Filling {
    /// The filling defaults; the bulk electrolyte resistance is its share of the DCIR budget.
    fn preset(chemistry: Chemistry) -> Filling {
        let (_, _, _, r_bulk) = resistance_budget(chemistry);
        Filling {
            g_per_ah: 1.3,
            pore_g_per_ah: 0.963,
            optimum_fill_ratio: 1.16,
            fill_cv: 0.01,
            r_bulk_mohm: r_bulk,
            r_per_shortfall: 3.0,
        }
    }
}

impl Formation {
    /// The formation and aging-test defaults; the SEI is its share of the DCIR budget.
    fn preset(chemistry: Chemistry) -> Formation {
        let nmc = chemistry == Chemistry::Nmc21700;
        let k_scale = k_scale(chemistry);
        let (_, _, r_sei, _) = resistance_budget(chemistry);
        Formation {
            rack_size: 500,
            rack_temp_sd_c: 1.5,
            first_cycle_loss: 0.09,
            first_cycle_loss_sd: 0.001,
            loss_per_degc: 0.001,
            r_sei_mohm: r_sei,
            k_median_mv_day: 0.03 * k_scale,
            k_sigma: 0.5,
            defect_k_min_mv_day: 0.5 * k_scale,
            defect_k_max_mv_day: 5.0 * k_scale,
            defect_onset_mean_days: 4.0,
            aging_days: if nmc { 10.0 } else { 21.0 },
        }
    }
}

impl Eol {
    /// The end-of-line test defaults.
    fn preset(chemistry: Chemistry) -> Eol {
        let k_scale = k_scale(chemistry);
        Eol {
            capacity_noise: 0.001,
            dcir_noise: 0.01,
            k_noise_mv_day: 0.01,
            capacity_min: 0.97,
            dcir_max: 1.15,
            k_max_mv_day: 0.1 * k_scale,
            grade_bins: 8,
            bin_width: 0.0025,
        }
    }
}

impl Pack {
    /// The pack defaults: a 96S1P string, sorted matching.
    fn preset() -> Pack {
        Pack {
            series: 96,
            parallel: 1,
            matching: Matching::Sorted,
            window: 100_000,
            life_packs: LifePacks::All,
            band_packs: 1000,
        }
    }
}

impl Life {
    /// The life defaults: the duty, cooling and the process-to-aging links.
    fn preset(chemistry: Chemistry) -> Life {
        let nmc = chemistry == Chemistry::Nmc21700;
        Life {
            ambient_c: 25.0,
            gradient_k: 5.0,
            coolant_flow_kg_s: if nmc { 0.05 } else { 0.2 },
            coolant_cp_j_per_kg_k: 3400.0,
            tab_heat_k_per_w: if nmc { 10.0 } else { 1.0 },
            thermal_resistance_k_per_w: if nmc { 4.0 } else { 0.5 },
            c_rate: 0.5,
            soc_lo: 0.1,
            soc_hi: 0.9,
            soc_rest: 0.5,
            cycles_per_day: 1.0,
            cycles_per_step: 10,
            duty: Duty::SocWindow,
            nmc_dod_fade: true,
            max_cycles: if nmc { 5000 } else { 12000 },
            max_years: 25.0,
            eol_fraction: 0.8,
            eol_resistance_factor: 2.0,
            // 50 mA for a 21700; a large-format BMS balances with ~1 A (scaled to 250 Ah cells).
            balance_current_a: if nmc { 0.05 } else { 1.0 },
            balance_hours: 2.0,
            plating_np: 1.03,
            plating_factor: 3.0,
            breach_plating_factor: 3.0,
            underfill_factor: 5.0,
            cell_fade_sigma: 0.083,
            np_fade_per_np: 4.0,
            plating_tafel_mv: 51.0,
            sei_calendar_exponent: 1.0,
            resistance_growth: 2.0,
            short_hazard: 1e-5,
            ocv_slope_v: if nmc { 0.8 } else { 0.15 },
        }
    }
}

impl Cost {
    /// Cost defaults per started cell (USD), docs/MODEL.md §Cost: cell cost anchored on published
    /// 2023–24 cell prices (BNEF battery price survey 2023: EV cells 89 USD/kWh; Fastmarkets 2024:
    /// NCM-811 cylindrical 67 USD/kWh, LFP prismatic 49 USD/kWh), split 75/25 (NMC) and 70/30 (LFP)
    /// into materials and conversion after BNEF's cell cost breakdown (manufacturing and
    /// depreciation 24 % of cell cost); materials are booked where they enter the line, conversion
    /// split by step with formation & aging about one third (our synthesis, see MODEL.md).
    pub fn preset(chemistry: Chemistry) -> Cost {
        let [cm, cc, km, kc, wm, wc, fm, fc, om, oc, em, ec] = match chemistry {
            // 18.15 Wh at 80 USD/kWh = 1.452 USD per cell.
            Chemistry::Nmc21700 => [
                0.893, 0.080, 0.0, 0.047, 0.142, 0.080, 0.054, 0.018, 0.0, 0.116, 0.0, 0.022,
            ],
            // 800 Wh at 55 USD/kWh = 44.0 USD per cell.
            Chemistry::LfpPrismatic => [
                20.33, 2.90, 0.0, 1.72, 7.39, 2.90, 3.08, 0.66, 0.0, 4.22, 0.0, 0.79,
            ],
        };
        Cost {
            coating_material: cm,
            coating_conversion: cc,
            calendering_material: km,
            calendering_conversion: kc,
            winding_material: wm,
            winding_conversion: wc,
            filling_material: fm,
            filling_conversion: fc,
            formation_material: om,
            formation_conversion: oc,
            eol_material: em,
            eol_conversion: ec,
            learning_rate: 0.18,
            reference_gwh: 2000.0,
            cumulative_gwh: 2000.0,
        }
    }
}
