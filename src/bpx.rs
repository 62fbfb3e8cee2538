//! Import of a Battery Parameter eXchange (BPX) cell as a scene.
//!
//! BPX (<https://github.com/FaradayInstitution/BPX>) is a JSON format for the parameters of a
//! physics-based cell model: `Header` (format version, model) and `Parameterisation` (`Cell`,
//! `Electrolyte`, `Negative electrode`, `Positive electrode`, `Separator`). It describes one cell
//! design, not a production line, so an import takes the design from BPX and everything else
//! (DCIR, K-value, every process spread, the pack and its life, cost per kWh) from the nearest
//! built-in preset, and [`Import::report`] lists where each mapped value came from.
//!
//! The nearest preset ([`nearest_preset`]): a charge cut-off (`Upper voltage cut-off [V]`) of at
//! most [`LFP_MAX_UPPER_CUTOFF_V`] is an LFP cell (`lfp_prismatic_mature`), anything above it a
//! layered-oxide cell (`nmc21700_mature`). LFP charges to 3.6–3.65 V, NMC/NCA to 4.1–4.4 V.
//!
//! Only the fields used are decoded; a BPX file carries many more (particles, kinetics, OCP
//! curves, thermal data) and they are allowed and ignored. Every decoded value is checked: an
//! error names the BPX field path, the value and the allowed range, as [`SceneError::Invalid`]
//! does for scene keys.

use crate::scene::{self, Scene, SceneError};
use serde::Deserialize;
use std::fmt::Write as _;

/// A charge cut-off at or below this voltage picks the LFP preset, above it the NMC preset, V.
pub const LFP_MAX_UPPER_CUTOFF_V: f64 = 3.65;

/// Electrolyte density assumed to turn the BPX pore volume into a fill mass, g/cm³ (1 M LiPF6 in
/// carbonate blends: 1.2–1.3; BPX gives no density). Our assumption.
pub const ELECTROLYTE_DENSITY_G_CM3: f64 = 1.2;

/// Everything that can be wrong with a BPX file; each names the BPX field path.
#[derive(Debug, thiserror::Error)]
pub enum BpxError {
    /// The file could not be read.
    #[error("cannot read BPX file {path}: {err}")]
    Io {
        /// The path as given.
        path: String,
        /// Why it could not be read.
        err: std::io::Error,
    },
    /// Text that is not JSON at all.
    #[error("{source_name}: not valid JSON: {msg}")]
    NotJson {
        /// The file the text came from.
        source_name: String,
        /// The JSON parser's message (with line and column).
        msg: String,
    },
    /// A field the importer needs is absent.
    #[error("BPX field `{field}` is missing")]
    Missing {
        /// The field path, e.g. `Parameterisation.Cell.Nominal cell capacity [A.h]`.
        field: String,
    },
    /// A field of the wrong JSON type (a string where a number belongs, …).
    #[error("BPX field `{field}`: {msg}")]
    WrongType {
        /// The field path.
        field: String,
        /// What was expected and what was found.
        msg: String,
    },
    /// A value out of its allowed range (NaN-like and negative values included).
    #[error("BPX field `{field}` = {value} is out of range: allowed {range}")]
    Invalid {
        /// The field path, or every field of a combination.
        field: String,
        /// The value.
        value: String,
        /// The allowed range.
        range: String,
    },
    /// The scene the BPX values map onto fails the scene's own validation.
    #[error("the scene mapped from BPX is invalid: {0}")]
    Scene(#[from] SceneError),
}

/// The BPX top level: only the sections used.
#[derive(Debug, Clone, Deserialize)]
pub struct Bpx {
    /// File metadata.
    #[serde(rename = "Header")]
    pub header: Header,
    /// The cell's parameters.
    #[serde(rename = "Parameterisation")]
    pub parameterisation: Parameterisation,
}

/// `Header`: the format version, the model type and an optional title.
#[derive(Debug, Clone, Deserialize)]
pub struct Header {
    /// `BPX`: the format version (a string such as "0.5.0"; old files give a number).
    #[serde(rename = "BPX")]
    pub bpx: serde_json::Value,
    /// `Model`: "SPM", "SPMe", "DFN" or "Partial".
    #[serde(rename = "Model")]
    pub model: String,
    /// `Title`, if any: becomes the scene's name.
    #[serde(rename = "Title", default)]
    pub title: Option<String>,
}

/// `Parameterisation`: the sections used.
#[derive(Debug, Clone, Deserialize)]
pub struct Parameterisation {
    /// `Cell`.
    #[serde(rename = "Cell")]
    pub cell: Cell,
    /// `Negative electrode`.
    #[serde(rename = "Negative electrode")]
    pub negative: Layer,
    /// `Positive electrode`.
    #[serde(rename = "Positive electrode")]
    pub positive: Layer,
    /// `Separator` (absent in single-particle-model files).
    #[serde(rename = "Separator", default)]
    pub separator: Option<Layer>,
}

/// `Parameterisation.Cell`: the fields used.
#[derive(Debug, Clone, Deserialize)]
pub struct Cell {
    /// `Nominal cell capacity [A.h]`.
    #[serde(rename = "Nominal cell capacity [A.h]")]
    pub nominal_capacity_ah: f64,
    /// `Electrode area [m2]`: the area of one electrode pair.
    #[serde(rename = "Electrode area [m2]")]
    pub electrode_area_m2: f64,
    /// `Number of electrode pairs connected in parallel to make a cell`.
    #[serde(rename = "Number of electrode pairs connected in parallel to make a cell")]
    pub electrode_pairs: u32,
    /// `Lower voltage cut-off [V]`.
    #[serde(rename = "Lower voltage cut-off [V]")]
    pub lower_cutoff_v: f64,
    /// `Upper voltage cut-off [V]`.
    #[serde(rename = "Upper voltage cut-off [V]")]
    pub upper_cutoff_v: f64,
}

/// An electrode or the separator: thickness and porosity.
#[derive(Debug, Clone, Deserialize)]
pub struct Layer {
    /// `Thickness [m]`.
    #[serde(rename = "Thickness [m]")]
    pub thickness_m: f64,
    /// `Porosity` (absent in single-particle-model files).
    #[serde(rename = "Porosity", default)]
    pub porosity: Option<f64>,
}

/// The BPX field paths, as error messages and the report spell them.
mod path {
    pub const NEG: &str = "Parameterisation.Negative electrode";
    pub const POS: &str = "Parameterisation.Positive electrode";
    pub const SEP: &str = "Parameterisation.Separator";
    pub const CAPACITY: &str = "Parameterisation.Cell.Nominal cell capacity [A.h]";
    pub const AREA: &str = "Parameterisation.Cell.Electrode area [m2]";
    pub const PAIRS: &str =
        "Parameterisation.Cell.Number of electrode pairs connected in parallel to make a cell";
    pub const LOWER: &str = "Parameterisation.Cell.Lower voltage cut-off [V]";
    pub const UPPER: &str = "Parameterisation.Cell.Upper voltage cut-off [V]";
    pub const MODEL: &str = "Header.Model";
}

/// `lo < v <= hi`, finite; the error names `field`.
fn open_closed(field: &str, v: f64, lo: f64, hi: f64, range: &str) -> Result<(), BpxError> {
    if v.is_finite() && v > lo && v <= hi {
        Ok(())
    } else {
        Err(BpxError::Invalid {
            field: field.to_string(),
            value: format!("{v}"),
            range: range.to_string(),
        })
    }
}

impl Bpx {
    /// Decode BPX JSON text; `source_name` (the file) goes into the not-JSON message.
    pub fn from_json_str(source_name: &str, text: &str) -> Result<Bpx, BpxError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let bpx: Bpx = serde_path_to_error::deserialize(de).map_err(|e| {
            let at = e.path().to_string();
            let inner = e.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let msg = inner.to_string();
                    // serde names a missing field in the message, at the path of its parent.
                    if let Some(name) = msg
                        .strip_prefix("missing field `")
                        .and_then(|m| m.split('`').next())
                    {
                        let field = if at == "." {
                            name.to_string()
                        } else {
                            format!("{at}.{name}")
                        };
                        BpxError::Missing { field }
                    } else {
                        // Drop serde_json's " at line L column C" where the path says where.
                        let msg = match msg.rfind(" at line ") {
                            Some(i) => msg[..i].to_string(),
                            None => msg,
                        };
                        BpxError::WrongType { field: at, msg }
                    }
                }
                _ => BpxError::NotJson {
                    source_name: source_name.to_string(),
                    msg: inner.to_string(),
                },
            }
        })?;
        bpx.validate()?;
        Ok(bpx)
    }

    /// Read and decode a BPX file.
    pub fn load(path: &str) -> Result<Bpx, BpxError> {
        let text = std::fs::read_to_string(path).map_err(|err| BpxError::Io {
            path: path.to_string(),
            err,
        })?;
        Bpx::from_json_str(path, &text)
    }

    /// Whether the file is for a single-particle model (no porosities or separator required).
    pub fn is_spm(&self) -> bool {
        self.header.model == "SPM"
    }

    /// Check every decoded value; the first offending field is reported.
    pub fn validate(&self) -> Result<(), BpxError> {
        const MODELS: [&str; 4] = ["SPM", "SPMe", "DFN", "Partial"];
        if !MODELS.contains(&self.header.model.as_str()) {
            return Err(BpxError::Invalid {
                field: path::MODEL.into(),
                value: format!("{:?}", self.header.model),
                range: "one of \"SPM\", \"SPMe\", \"DFN\", \"Partial\"".into(),
            });
        }
        let c = &self.parameterisation.cell;
        open_closed(
            path::CAPACITY,
            c.nominal_capacity_ah,
            0.0,
            10_000.0,
            "(0, 10000] A.h",
        )?;
        open_closed(path::AREA, c.electrode_area_m2, 0.0, 100.0, "(0, 100] m2")?;
        if c.electrode_pairs == 0 {
            return Err(BpxError::Invalid {
                field: path::PAIRS.into(),
                value: "0".into(),
                range: "[1, 4294967295]".into(),
            });
        }
        open_closed(path::LOWER, c.lower_cutoff_v, 0.0, 10.0, "(0, 10] V")?;
        if !(c.upper_cutoff_v.is_finite()
            && c.upper_cutoff_v > c.lower_cutoff_v
            && c.upper_cutoff_v <= 10.0)
        {
            return Err(BpxError::Invalid {
                field: path::UPPER.into(),
                value: format!("{}", c.upper_cutoff_v),
                range: format!(
                    "({}, 10] V: above the lower cut-off {} V",
                    c.lower_cutoff_v, c.lower_cutoff_v
                ),
            });
        }
        let spm = self.is_spm();
        let p = &self.parameterisation;
        let layers = [
            (path::NEG, Some(&p.negative)),
            (path::POS, Some(&p.positive)),
            (path::SEP, p.separator.as_ref()),
        ];
        for (at, layer) in layers {
            let Some(l) = layer else {
                if spm {
                    continue;
                }
                return Err(BpxError::Missing { field: at.into() });
            };
            // A layer thicker than 1 cm is a unit slip (µm written as m), not an electrode.
            open_closed(
                &format!("{at}.Thickness [m]"),
                l.thickness_m,
                0.0,
                0.01,
                "(0, 0.01] m",
            )?;
            match l.porosity {
                Some(e) => {
                    if !(e.is_finite() && e > 0.0 && e < 1.0) {
                        return Err(BpxError::Invalid {
                            field: format!("{at}.Porosity"),
                            value: format!("{e}"),
                            range: "(0, 1)".into(),
                        });
                    }
                }
                None if spm => {}
                None => {
                    return Err(BpxError::Missing {
                        field: format!("{at}.Porosity"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The three layers' thickness and porosity, if every one is given (DFN/SPMe files).
    fn stack(&self) -> Option<[(f64, f64); 3]> {
        let p = &self.parameterisation;
        let sep = p.separator.as_ref()?;
        Some([
            (p.negative.thickness_m, p.negative.porosity?),
            (p.positive.thickness_m, p.positive.porosity?),
            (sep.thickness_m, sep.porosity?),
        ])
    }
}

/// The built-in preset a BPX cell starts from, and why: by the charge cut-off (see the module
/// docs). Returns (preset name, the rule as applied).
pub fn nearest_preset(bpx: &Bpx) -> (&'static str, String) {
    let v = bpx.parameterisation.cell.upper_cutoff_v;
    if v <= LFP_MAX_UPPER_CUTOFF_V {
        (
            "lfp_prismatic_mature",
            format!("upper cut-off {v} V ≤ {LFP_MAX_UPPER_CUTOFF_V} V: an LFP cell"),
        )
    } else {
        (
            "nmc21700_mature",
            format!("upper cut-off {v} V > {LFP_MAX_UPPER_CUTOFF_V} V: a layered-oxide (NMC) cell"),
        )
    }
}

/// One line of the import report: a scene key (or BPX field), its value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportLine {
    /// The scene key, e.g. `cell.capacity_ah` (for [`Import::not_used`]: the BPX field path).
    pub key: String,
    /// The value as written to the scene (or as read from BPX).
    pub value: String,
    /// Where it came from: the BPX field(s), the preset and any scaling.
    pub source: String,
}

/// A BPX cell mapped onto a scene, with the account of every value.
#[derive(Debug, Clone)]
pub struct Import {
    /// The scene: valid (it passed [`scene::validate`]).
    pub scene: Scene,
    /// The built-in preset the rest of the scene came from.
    pub preset: &'static str,
    /// The nearest-preset rule as applied to this file.
    pub rule: String,
    /// Scene keys set from BPX values (directly or derived).
    pub from_bpx: Vec<ReportLine>,
    /// Scene keys taken from the preset, scaled to the BPX capacity.
    pub preset_scaled: Vec<ReportLine>,
    /// Scene keys (or groups of keys) taken from the preset as they are.
    pub from_preset: Vec<ReportLine>,
    /// BPX fields read but with no scene equivalent.
    pub not_used: Vec<ReportLine>,
}

fn line(key: &str, value: impl std::fmt::Display, source: impl Into<String>) -> ReportLine {
    ReportLine {
        key: key.to_string(),
        value: value.to_string(),
        source: source.into(),
    }
}

/// Round to 4 significant digits, so the scene file reads like a hand-written one.
fn sig4(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let mag = 10f64.powi(3 - v.abs().log10().floor() as i32);
    (v * mag).round() / mag
}

/// Map a decoded, valid BPX cell onto a scene, from the nearest preset.
pub fn import(bpx: &Bpx) -> Result<Import, BpxError> {
    let (preset, rule) = nearest_preset(bpx);
    let mut s = scene::load(Some(preset), &[])?;
    let base = s.clone();
    let mut r = Report::default();
    name_and_capacity(bpx, &mut s, &mut r);
    stack(bpx, &base, &mut s, &mut r);
    read_not_mapped(bpx, &mut r);
    scale_with_capacity(bpx, &base, &mut s, &mut r);
    from_the_preset(&s, &mut r);
    scene::validate(&s)?;
    Ok(Import {
        scene: s,
        preset,
        rule,
        from_bpx: r.from_bpx,
        preset_scaled: r.preset_scaled,
        from_preset: r.from_preset,
        not_used: r.not_used,
    })
}

/// The import report's four lists, filled section by section.
#[derive(Default)]
struct Report {
    from_bpx: Vec<ReportLine>,
    preset_scaled: Vec<ReportLine>,
    from_preset: Vec<ReportLine>,
    not_used: Vec<ReportLine>,
}

/// The scene's name (BPX's title) and rated capacity (BPX's nominal capacity: the same quantity).
fn name_and_capacity(bpx: &Bpx, s: &mut Scene, r: &mut Report) {
    let c = &bpx.parameterisation.cell;
    let from_bpx = &mut r.from_bpx;
    if let Some(t) = bpx.header.title.as_deref().filter(|t| !t.trim().is_empty()) {
        s.name = t.trim().to_string();
        from_bpx.push(line("name", format!("{:?}", s.name), "Header.Title"));
    } else {
        s.name = format!("BPX cell, {} Ah", c.nominal_capacity_ah);
        from_bpx.push(line(
            "name",
            format!("{:?}", s.name),
            "no Header.Title: from the capacity",
        ));
    }

    // The rated capacity: BPX's nominal capacity is the same quantity.
    s.cell.capacity_ah = c.nominal_capacity_ah;
    from_bpx.push(line("cell.capacity_ah", s.cell.capacity_ah, path::CAPACITY));
}

/// The calendered porosity and the electrolyte pore volume from the layer stack (DFN/SPMe files),
/// or the preset's where the file gives no porosities.
fn stack(bpx: &Bpx, base: &Scene, s: &mut Scene, r: &mut Report) {
    let c = &bpx.parameterisation.cell;
    let (from_bpx, from_preset, not_used) = (&mut r.from_bpx, &mut r.from_preset, &mut r.not_used);
    match bpx.stack() {
        Some([(ln, en), (lp, ep), (ls, es)]) => {
            // The line calenders one target porosity for the cell's electrodes: the porosity of
            // the coated stack, the electrodes' porosities weighted by their thickness.
            let porosity = sig4((ln * en + lp * ep) / (ln + lp));
            s.calendering.porosity_target = porosity;
            from_bpx.push(line(
                "calendering.porosity_target",
                porosity,
                format!(
                    "{{Negative, Positive}} electrode.Porosity ({en}, {ep}) weighted by Thickness [m] ({ln}, {lp})"
                ),
            ));
            // Pore volume of the whole cell (both electrodes and the separator, every pair),
            // filled with electrolyte of the assumed density, per rated Ah.
            let area = c.electrode_area_m2 * f64::from(c.electrode_pairs);
            let pore_cm3 = area * (ln * en + lp * ep + ls * es) * 1e6;
            let pore_g_per_ah = sig4(pore_cm3 * ELECTROLYTE_DENSITY_G_CM3 / c.nominal_capacity_ah);
            s.filling.pore_g_per_ah = pore_g_per_ah;
            from_bpx.push(line(
                "filling.pore_g_per_ah",
                pore_g_per_ah,
                format!(
                    "Electrode area [m2] {} × electrode pairs {} × Σ Thickness·Porosity (negative, positive, separator) = {:.3} cm³ of pores, × {ELECTROLYTE_DENSITY_G_CM3} g/cm³ (assumed electrolyte density) / nominal capacity",
                    c.electrode_area_m2, c.electrode_pairs, pore_cm3
                ),
            ));
            // The line doses the preset's margin over the pores (the fill ratio the model sees).
            let margin = base.filling.g_per_ah / base.filling.pore_g_per_ah;
            s.filling.g_per_ah = sig4(pore_g_per_ah * margin);
            from_bpx.push(line(
                "filling.g_per_ah",
                s.filling.g_per_ah,
                format!(
                    "filling.pore_g_per_ah × the preset's fill margin {:.3} ({} / {})",
                    margin, base.filling.g_per_ah, base.filling.pore_g_per_ah
                ),
            ));
            for (at, l, e) in [
                (path::NEG, ln, en),
                (path::POS, lp, ep),
                (path::SEP, ls, es),
            ] {
                not_used.push(line(
                    &format!("{at}.Thickness [m], .Porosity"),
                    format!("{l}, {e}"),
                    "only through calendering.porosity_target and filling.pore_g_per_ah: the scene has no layer thickness (loadings are relative to design)",
                ));
            }
        }
        None => {
            from_preset.push(line(
                "calendering.porosity_target, filling.pore_g_per_ah, filling.g_per_ah",
                format!(
                    "{}, {}, {}",
                    s.calendering.porosity_target, s.filling.pore_g_per_ah, s.filling.g_per_ah
                ),
                "preset: the BPX file (single-particle model) gives no porosities",
            ));
        }
    }
}

/// BPX values read but with no scene key of their own.
fn read_not_mapped(bpx: &Bpx, r: &mut Report) {
    let c = &bpx.parameterisation.cell;
    let not_used = &mut r.not_used;
    not_used.push(line(
        path::AREA,
        c.electrode_area_m2,
        "only through filling.pore_g_per_ah: the scene has no electrode area (winding.area_cv is relative)",
    ));
    not_used.push(line(
        path::PAIRS,
        c.electrode_pairs,
        "only through filling.pore_g_per_ah",
    ));
    not_used.push(line(
        path::LOWER,
        c.lower_cutoff_v,
        "the scene has no voltage limits",
    ));
    not_used.push(line(
        path::UPPER,
        c.upper_cutoff_v,
        "the scene has no voltage limits; it picks the preset",
    ));
    not_used.push(line(
        "every other BPX field",
        "-",
        "particles, kinetics, OCP, electrolyte transport, thermal: the line model has no equivalent",
    ));
}

/// What the preset gives per cell, scaled to the BPX cell's capacity.
fn scale_with_capacity(bpx: &Bpx, base: &Scene, s: &mut Scene, r: &mut Report) {
    let c = &bpx.parameterisation.cell;
    let preset_scaled = &mut r.preset_scaled;
    // What the preset gives per cell scales with the cell: resistances at the preset's R·Ah
    // (the same area-specific resistance), the balancing current and cost per cell at the
    // preset's A per Ah and USD per kWh (the nominal voltage is the preset's).
    let f = c.nominal_capacity_ah / base.cell.capacity_ah;
    let scaled_note = |what: &str, v0: f64| {
        format!(
            "preset {v0} × {} ({what}, preset {} Ah → BPX {} Ah)",
            if what.starts_with("R·Ah") {
                format!("{:.4}", 1.0 / f)
            } else {
                format!("{f:.4}")
            },
            base.cell.capacity_ah,
            c.nominal_capacity_ah
        )
    };
    /// A scene key's place in the scene.
    type Field = fn(&mut Scene) -> &mut f64;
    let resistances: [(&str, Field); 5] = [
        ("cell.dcir_mohm", |s| &mut s.cell.dcir_mohm),
        ("winding.tab_weld_median_mohm", |s| {
            &mut s.winding.tab_weld_median_mohm
        }),
        ("calendering.r_ionic_mohm", |s| {
            &mut s.calendering.r_ionic_mohm
        }),
        ("formation.r_sei_mohm", |s| &mut s.formation.r_sei_mohm),
        ("filling.r_bulk_mohm", |s| &mut s.filling.r_bulk_mohm),
    ];
    let mut preset_copy = base.clone();
    for (key, field) in resistances {
        let v0 = *field(&mut preset_copy);
        let v = sig4(v0 / f);
        *field(s) = v;
        preset_scaled.push(line(key, v, scaled_note("R·Ah kept", v0)));
    }
    let v0 = base.life.balance_current_a;
    s.life.balance_current_a = sig4(v0 * f);
    preset_scaled.push(line(
        "life.balance_current_a",
        s.life.balance_current_a,
        scaled_note("A per Ah kept", v0),
    ));
    let c0 = base
        .cost
        .per_stage()
        .iter()
        .map(|(m, k)| m + k)
        .sum::<f64>();
    {
        let k = &mut s.cost;
        for v in [
            &mut k.coating_material,
            &mut k.coating_conversion,
            &mut k.calendering_material,
            &mut k.calendering_conversion,
            &mut k.winding_material,
            &mut k.winding_conversion,
            &mut k.filling_material,
            &mut k.filling_conversion,
            &mut k.formation_material,
            &mut k.formation_conversion,
            &mut k.eol_material,
            &mut k.eol_conversion,
        ] {
            *v = sig4(*v * f);
        }
    }
    let c1 = s.cost.per_stage().iter().map(|(m, k)| m + k).sum::<f64>();
    preset_scaled.push(line(
        "cost.*_material, cost.*_conversion",
        format!("{c1:.4} USD per cell in all"),
        format!(
            "preset {c0:.4} USD per cell × {f:.4} (USD per kWh kept, preset {} Ah → BPX {} Ah)",
            base.cell.capacity_ah, c.nominal_capacity_ah
        ),
    ));
}

/// What the preset gives as is, with why.
fn from_the_preset(s: &Scene, r: &mut Report) {
    let from_preset = &mut r.from_preset;
    from_preset.push(line(
        "cell.voltage_v",
        s.cell.voltage_v,
        "preset: BPX gives cut-offs, no nominal voltage",
    ));
    for (key, value, why) in [
        (
            "formation.k_median_mv_day, k_sigma, defect_k_*, aging_days; eol.k_max_mv_day",
            format!(
                "K median {} mV/day, limit {} mV/day, {} days",
                sig4(s.formation.k_median_mv_day),
                sig4(s.eol.k_max_mv_day),
                s.formation.aging_days
            ),
            "preset: the K-value (self-discharge) test is not in BPX",
        ),
        (
            "coating.*_cv, calendering.porosity_sd, winding.area_cv, misalignment_sd_mm, tab_weld_sigma, filling.fill_cv, formation.*_sd, eol.*_noise",
            "the preset's".to_string(),
            "preset: process spreads and gauge noise are the line's, not the cell's",
        ),
        (
            "coating.np_design, np_min, loading_tolerance, defects_per_cell",
            format!("N/P {}", s.coating.np_design),
            "preset: BPX gives the cycled stoichiometry windows, not the design N/P margin",
        ),
        (
            "formation.first_cycle_loss, eol.* limits and bins",
            format!(
                "loss {}, capacity ≥ {} of rated, DCIR ≤ {} of nominal",
                s.formation.first_cycle_loss, s.eol.capacity_min, s.eol.dcir_max
            ),
            "preset",
        ),
        (
            "pack.*, life.* (but balance_current_a), cost.learning_rate, *_gwh, line.*, cells, seed",
            format!("{}S{}P, {} cells", s.pack.series, s.pack.parallel, s.cells),
            "preset: the pack, its duty and the fade law are the chemistry's",
        ),
    ] {
        from_preset.push(line(key, value, why));
    }
}

/// Read, check and map a BPX file.
pub fn import_file(path: &str) -> Result<Import, BpxError> {
    import(&Bpx::load(path)?)
}

impl Import {
    /// The report as text: the preset and its rule, then every mapped value and its source.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Nearest preset: {} ({})", self.preset, self.rule);
        let sections = [
            ("From BPX:", &self.from_bpx),
            (
                "From the preset, scaled to the BPX capacity:",
                &self.preset_scaled,
            ),
            ("From the preset:", &self.from_preset),
            ("Read, with no scene key of their own:", &self.not_used),
        ];
        for (title, lines) in sections {
            let _ = writeln!(out, "{title}");
            for l in lines {
                let _ = writeln!(out, "  {} = {}\n      ({})", l.key, l.value, l.source);
            }
        }
        out
    }

    /// The scene as a TOML file, with a header saying where it came from.
    pub fn toml(&self, source_name: &str) -> Result<String, toml::ser::Error> {
        let mut out = format!(
            "# Imported from the BPX file {source_name} by `celltwin import-bpx`.\n\
             # Nearest preset: {} ({}).\n\
             # From BPX: {}.\n\
             # Everything else is the preset's (resistances, balancing current and cost scaled to\n\
             # the capacity); `celltwin import-bpx` prints the full account.\n",
            self.preset,
            self.rule,
            self.from_bpx
                .iter()
                .map(|l| l.key.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push_str(&toml::to_string(&self.scene)?);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sig4_rounds() {
        assert_eq!(sig4(2.0937), 2.094);
        assert_eq!(sig4(0.26548), 0.2655);
        assert_eq!(sig4(7.2), 7.2);
    }
}
