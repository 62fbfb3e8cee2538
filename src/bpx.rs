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

mod mapping;
mod schema;

pub use mapping::import;
pub use schema::{Bpx, Cell, Header, Layer, Parameterisation};

use crate::scene::{Scene, SceneError};
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
    /// The scene: valid (it passed [`scene::validate`](crate::scene::validate)).
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
