//! The WGSL sources, assembled by a tiny `#import` preprocessor (vello's): a line
//! `#import shared/NAME.wgsl` is replaced by that file. Sources are compiled into the binary.

const PHILOX: &str = include_str!("../../shaders/shared/philox.wgsl");
const LAYOUT: &str = include_str!("../../shaders/shared/layout.wgsl");
const POWER: &str = include_str!("../../shaders/shared/power.wgsl");
const CELL_LINE: &str = include_str!("../../shaders/cell_line.wgsl");
const PACK_LIFE: &str = include_str!("../../shaders/pack_life.wgsl");
const PACK_EFC: &str = include_str!("../../shaders/pack_efc.wgsl");
const ASSEMBLE: &str = include_str!("../../shaders/assemble.wgsl");
const RNG_CHECK: &str = include_str!("../../shaders/rng_check.wgsl");

/// Replace each `#import shared/NAME.wgsl` line by the shared file.
pub fn preprocess(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + PHILOX.len() + LAYOUT.len());
    for line in src.lines() {
        match line.trim().strip_prefix("#import ") {
            Some("shared/philox.wgsl") => out.push_str(PHILOX),
            Some("shared/layout.wgsl") => out.push_str(LAYOUT),
            Some("shared/power.wgsl") => out.push_str(POWER),
            Some(other) => panic!("unknown WGSL import {other}"),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The cell-line pass (`cell_line`, `compact`, `cell_records`).
pub fn cell_line() -> String {
    preprocess(CELL_LINE)
}

/// The pack-life pass (`pack_life`).
pub fn pack_life() -> String {
    preprocess(PACK_LIFE)
}

/// Pack assembly (`keys_main`, `radix_hist`, `radix_scan`, `radix_scatter`, `seg_scan`,
/// `groups`, `place`, `pack_stats`).
pub fn assemble() -> String {
    preprocess(ASSEMBLE)
}

/// Equivalent full cycles of aged packs on the device (`pack_efc`).
pub fn pack_efc() -> String {
    preprocess(PACK_EFC)
}

/// Generator checks (`philox_kat`, `draws`).
pub fn rng_check() -> String {
    preprocess(RNG_CHECK)
}

/// Every shader by name, assembled.
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("cell_line.wgsl", cell_line()),
        ("pack_life.wgsl", pack_life()),
        ("rng_check.wgsl", rng_check()),
        ("assemble.wgsl", assemble()),
        ("pack_efc.wgsl", pack_efc()),
    ]
}

/// Parse and validate with naga (what wgpu does at pipeline creation), for tests and clear errors.
pub fn validate(name: &str, src: &str) -> Result<naga::Module, String> {
    let module = naga::front::wgsl::parse_str(src)
        .map_err(|e| format!("{name}: {}", e.emit_to_string(src)))?;
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .map_err(|e| format!("{name}: {}", e.emit_to_string(src)))?;
    Ok(module)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shader parses and validates with baseline capabilities (no f64, int64, subgroups).
    #[test]
    fn shaders_validate() {
        for (name, src) in all() {
            if let Err(e) = validate(name, &src) {
                panic!("{e}");
            }
        }
    }
}
