//! The BPX file as decoded: the sections and fields the import uses, under their BPX names, and
//! the checks every decoded value passes. Apart from the mapping because it is BPX's side only:
//! nothing here knows a scene.

use super::{BpxError, path};
use serde::Deserialize;

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
    pub(super) fn stack(&self) -> Option<[(f64, f64); 3]> {
        let p = &self.parameterisation;
        let sep = p.separator.as_ref()?;
        Some([
            (p.negative.thickness_m, p.negative.porosity?),
            (p.positive.thickness_m, p.positive.porosity?),
            (sep.thickness_m, sep.porosity?),
        ])
    }
}
