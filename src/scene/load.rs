//! Reading scenes: built-in presets, TOML files and `--set key=value` overrides.
//!
//! The user's TOML is merged over the chemistry preset *as TOML*, before serde sees it. That is
//! where unknown keys and wrong types are caught, with the full dotted key in the message; serde
//! then only decodes a tree already known to have the right shape.

use super::{Chemistry, Scene};
use std::path::Path;
use toml::{Table, Value};

/// Scenes compiled into the binary, by name; the first is the default.
const BUILTIN: &[(&str, &str)] = &[
    (
        "nmc21700_mature",
        include_str!("../../scenes/nmc21700_mature.toml"),
    ),
    (
        "nmc21700_ramp_up",
        include_str!("../../scenes/nmc21700_ramp_up.toml"),
    ),
    (
        "lfp_prismatic_mature",
        include_str!("../../scenes/lfp_prismatic_mature.toml"),
    ),
    (
        "lfp_prismatic_ramp_up",
        include_str!("../../scenes/lfp_prismatic_ramp_up.toml"),
    ),
    (
        "story_manual_line_2015",
        include_str!("../../scenes/story_manual_line_2015.toml"),
    ),
    (
        "story_automated_line",
        include_str!("../../scenes/story_automated_line.toml"),
    ),
    (
        "story_aging_10d",
        include_str!("../../scenes/story_aging_10d.toml"),
    ),
    (
        "story_aging_6d",
        include_str!("../../scenes/story_aging_6d.toml"),
    ),
    ("story_400v", include_str!("../../scenes/story_400v.toml")),
    ("story_800v", include_str!("../../scenes/story_800v.toml")),
];

/// Short aliases: a chemistry name means its mature preset.
const ALIASES: &[(&str, &str)] = &[
    ("nmc21700", "nmc21700_mature"),
    ("lfp_prismatic", "lfp_prismatic_mature"),
    ("default", "nmc21700_mature"),
];

/// Everything that can be wrong with a scene; each names what and where.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    /// A scene file that could not be read.
    #[error("cannot read scene file {path}: {err}")]
    Io {
        /// The path as given.
        path: String,
        /// Why it could not be read.
        err: std::io::Error,
    },
    /// A name that is neither a file nor a built-in scene.
    #[error("scene `{name}` is neither a file nor a built-in scene; built-ins: {known}")]
    UnknownScene {
        /// The name as given.
        name: String,
        /// The built-in names, comma-separated.
        known: String,
    },
    /// Text that is not TOML.
    #[error("{source_name}: not valid TOML: {msg}")]
    Parse {
        /// The file or built-in scene the text came from.
        source_name: String,
        /// The TOML parser's message.
        msg: String,
    },
    /// A key the preset does not have (a misspelling).
    #[error("unknown key `{key}`; allowed here: {allowed}")]
    UnknownKey {
        /// The dotted key.
        key: String,
        /// The keys of its section.
        allowed: String,
    },
    /// A value of the wrong TOML type.
    #[error("key `{key}`: expected {expected}, got {got}")]
    WrongType {
        /// The dotted key.
        key: String,
        /// The type the preset has there.
        expected: String,
        /// The type given.
        got: String,
    },
    /// A value out of its allowed range (or a combination of values).
    #[error("`{key}` = {value} is out of range: allowed {range}")]
    Invalid {
        /// The dotted key, or every key of a combination.
        key: String,
        /// The value (or how the combination's value was formed).
        value: String,
        /// The allowed range.
        range: String,
    },
    /// A `--set` argument that is not `KEY=VALUE`.
    #[error(
        "--set `{arg}`: expected KEY=VALUE with KEY `key` or `section.key`, e.g. coating.cathode_loading_cv=0.004"
    )]
    BadSet {
        /// The argument as given.
        arg: String,
    },
}

/// Names of the built-in scenes (and their aliases).
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN
        .iter()
        .map(|(n, _)| *n)
        .chain(ALIASES.iter().map(|(a, _)| *a))
        .collect()
}

fn builtin(name: &str) -> Option<&'static str> {
    let name = ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map_or(name, |(_, n)| n);
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Load a scene: `spec` is a file path or a built-in name (None: the embedded default), then each
/// `key=value` of `sets` overrides, then the whole is validated.
pub fn load(spec: Option<&str>, sets: &[String]) -> Result<Scene, SceneError> {
    let (source_name, text) = match spec {
        None => ("nmc21700_mature".to_string(), BUILTIN[0].1.to_string()),
        Some(s) if Path::new(s).is_file() => {
            let text = std::fs::read_to_string(s).map_err(|err| SceneError::Io {
                path: s.to_string(),
                err,
            })?;
            (s.to_string(), text)
        }
        Some(s) => match builtin(s) {
            Some(t) => (s.to_string(), t.to_string()),
            None => {
                return Err(SceneError::UnknownScene {
                    name: s.to_string(),
                    known: builtin_names().join(", "),
                });
            }
        },
    };
    let mut user = parse_table(&source_name, &text)?;
    for s in sets {
        let (key, value) = parse_set(s)?;
        apply_set(&mut user, &key, value);
    }
    resolve(user)
}

/// Parse a scene from TOML text (no overrides), e.g. a scene the app saved.
pub fn from_toml_str(text: &str) -> Result<Scene, SceneError> {
    resolve(parse_table("scene", text)?)
}

fn parse_table(source_name: &str, text: &str) -> Result<Table, SceneError> {
    text.parse::<Table>().map_err(|e| SceneError::Parse {
        source_name: source_name.to_string(),
        msg: e.to_string(),
    })
}

/// `key=value` → (dotted key, TOML value). A value that is not TOML (e.g. `sorted`) is a string.
fn parse_set(arg: &str) -> Result<(String, Value), SceneError> {
    let Some((key, raw)) = arg.split_once('=') else {
        return Err(SceneError::BadSet {
            arg: arg.to_string(),
        });
    };
    let key = key.trim();
    // Scene keys are `key` or `section.key`: a deeper path is a mistake, and a very deep one would
    // otherwise build a table nested as deep (and overflow the stack when it is dropped).
    if key.is_empty() || key.split('.').any(str::is_empty) || key.split('.').count() > 2 {
        let shown: String = arg.chars().take(80).collect();
        return Err(SceneError::BadSet {
            arg: if shown.len() < arg.len() {
                format!("{shown}… ({} characters)", arg.chars().count())
            } else {
                shown
            },
        });
    }
    let raw = raw.trim();
    let value = format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()));
    Ok((key.to_string(), value))
}

/// Set a dotted key in a user table, creating intermediate tables.
fn apply_set(table: &mut Table, key: &str, value: Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().expect("parse_set rejects empty keys");
    let mut t = table;
    for p in parts {
        let entry = t
            .entry(p.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        t = entry.as_table_mut().expect("just made a table");
    }
    t.insert(last.to_string(), value);
}

/// Merge the user's table over the preset of its chemistry, decode, validate.
fn resolve(user: Table) -> Result<Scene, SceneError> {
    let chemistry = match user.get("chemistry") {
        None => Chemistry::Nmc21700,
        Some(v) => Chemistry::deserialize_value(v)?,
    };
    let preset = Scene::preset(chemistry);
    let mut merged = Value::try_from(&preset).expect("a preset always serialises");
    merge(&mut merged, &user, "")?;
    let scene: Scene = serde_path_to_error::deserialize(merged).map_err(|e| {
        let key = e.path().to_string();
        SceneError::WrongType {
            key,
            expected: "a valid value".into(),
            got: e.into_inner().to_string(),
        }
    })?;
    super::validate(&scene)?;
    Ok(scene)
}

impl Chemistry {
    fn deserialize_value(v: &Value) -> Result<Chemistry, SceneError> {
        match v.as_str() {
            Some("nmc21700") => Ok(Chemistry::Nmc21700),
            Some("lfp_prismatic") => Ok(Chemistry::LfpPrismatic),
            _ => Err(SceneError::WrongType {
                key: "chemistry".into(),
                expected: "\"nmc21700\" or \"lfp_prismatic\"".into(),
                got: v.to_string(),
            }),
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// Keys whose value is a word or a whole number.
const WORD_OR_COUNT: &[&str] = &["pack.life_packs"];

fn merge(base: &mut Value, user: &Table, prefix: &str) -> Result<(), SceneError> {
    let base_table = base.as_table_mut().expect("merge is called on tables");
    for (k, uv) in user {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let Some(bv) = base_table.get_mut(k) else {
            let mut allowed: Vec<&str> = base_table.keys().map(String::as_str).collect();
            allowed.sort_unstable();
            return Err(SceneError::UnknownKey {
                key,
                allowed: allowed.join(", "),
            });
        };
        let wrong = |expected: &str| SceneError::WrongType {
            key: key.clone(),
            expected: expected.to_string(),
            got: format!("{} ({uv})", type_name(uv)),
        };
        match (&mut *bv, uv) {
            // A key that takes a word or a count (`pack.life_packs = "all"` or `= 500`); the
            // count's own range is the validator's.
            _ if WORD_OR_COUNT.contains(&key.as_str()) => match uv {
                Value::Integer(i) if (0..=i64::from(u32::MAX)).contains(i) => *bv = uv.clone(),
                Value::String(w) if w == "all" => *bv = uv.clone(),
                Value::Integer(_) | Value::String(_) => {
                    return Err(SceneError::Invalid {
                        key,
                        value: uv.to_string(),
                        range: "\"all\" or a whole number in [0, 1000000]".into(),
                    });
                }
                _ => return Err(wrong("\"all\" or a whole number")),
            },
            (Value::Table(_), Value::Table(ut)) => merge(bv, ut, &key)?,
            (Value::Table(_), _) => return Err(wrong("a table")),
            (Value::Float(_), Value::Float(_) | Value::Integer(_)) => {
                *bv = Value::Float(
                    uv.as_float()
                        .unwrap_or_else(|| uv.as_integer().unwrap_or(0) as f64),
                );
            }
            (Value::Integer(_), Value::Integer(i)) => {
                if *i < 0 {
                    return Err(SceneError::Invalid {
                        key,
                        value: i.to_string(),
                        range: "a whole number ≥ 0".into(),
                    });
                }
                *bv = uv.clone();
            }
            (Value::Integer(_), Value::Float(f))
                if f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15 =>
            {
                // 1e6 for a count is common shorthand; accept whole numbers written as floats.
                *bv = Value::Integer(*f as i64);
            }
            (Value::Integer(_), _) => return Err(wrong("a whole number")),
            (Value::Float(_), _) => return Err(wrong("a number")),
            (Value::String(_), Value::String(_)) => *bv = uv.clone(),
            (Value::String(_), _) => return Err(wrong("a string")),
            (Value::Boolean(_), Value::Boolean(_)) => *bv = uv.clone(),
            (b, _) => return Err(wrong(type_name(b))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_loads() {
        for name in builtin_names() {
            load(Some(name), &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    /// `pack.life_packs` takes "all" or a count, and a scene written out reads back the same.
    #[test]
    fn life_packs_takes_all_or_a_count() {
        use super::super::LifePacks;
        let all = load(None, &[]).unwrap();
        assert_eq!(all.pack.life_packs, LifePacks::All);
        let n = load(None, &["pack.life_packs=250".into()]).unwrap();
        assert_eq!(n.pack.life_packs, LifePacks::Sample(250));
        for s in [all, n] {
            let text = toml::to_string(&s).unwrap();
            assert_eq!(
                from_toml_str(&text).unwrap().pack.life_packs,
                s.pack.life_packs
            );
        }
        let e = load(None, &["pack.life_packs=some".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("pack.life_packs") && e.contains("\"some\""),
            "{e}"
        );
    }

    #[test]
    fn set_overrides_and_coerces() {
        let s = load(
            None,
            &[
                "coating.cathode_loading_cv=0.004".into(),
                "pack.matching=random".into(),
                "cells=2e5".into(),
                "life.ambient_c=35".into(),
            ],
        )
        .unwrap();
        assert_eq!(s.coating.cathode_loading_cv, 0.004);
        assert_eq!(s.pack.matching, super::super::Matching::Random);
        assert_eq!(s.cells, 200_000);
        assert_eq!(s.life.ambient_c, 35.0);
    }
}
