//! The pack's knob groups: its assembly (topology, matching window) and its life in use (duty,
//! end of life, the links from the process to aging). Apart from the line's groups because they
//! are what happens to the cells after the line.

use super::{Acc, Group, Knob};

/// The "Pack assembly" group.
pub(super) fn pack_assembly_group() -> Group {
    Group {
        title: "Pack assembly",
        station: Some(6),
        knobs: vec![
            knob!(U32, 1, 200, false, "Cells in series (count)", pack.series),
            knob!(U32, 1, 8, false, "Cells in parallel (count)", pack.parallel),
            knob!(
                U64,
                1000,
                1_000_000,
                true,
                "Matching window (cells)",
                pack.window
            ),
        ],
    }
}

/// The "Pack life (use)" group.
pub(super) fn pack_life_group() -> Group {
    Group {
        title: "Pack life (use)",
        station: None,
        knobs: [use_knobs(), aging_link_knobs()].concat(),
    }
}

/// How the pack is used: temperature, rate, duty, end of life.
fn use_knobs() -> Vec<Knob> {
    vec![
        knob!(F, 0.0, 45.0, false, "Ambient (°C)", life.ambient_c),
        knob!(
            F,
            0.0,
            15.0,
            false,
            "Inlet→outlet offset (K)",
            life.gradient_k
        ),
        knob!(
            F,
            0.001,
            1.0,
            true,
            "Coolant flow (kg/s)",
            life.coolant_flow_kg_s
        ),
        knob!(F, 0.1, 3.0, false, "C-rate (1/h)", life.c_rate),
        knob!(
            F,
            0.2,
            3.0,
            false,
            "Cycles per day (1/day)",
            life.cycles_per_day
        ),
        knob!(
            F,
            0.6,
            0.9,
            false,
            "End of life (× rated)",
            life.eol_fraction
        ),
        knob!(
            F,
            1.05,
            4.0,
            false,
            "Power end of life (× R0)",
            life.eol_resistance_factor
        ),
        knob!(F, 1.0, 40.0, false, "Calendar cap (years)", life.max_years),
    ]
}

/// The residual spread and the links from the process to aging (MODEL.md §5).
fn aging_link_knobs() -> Vec<Knob> {
    vec![
        knob!(
            F,
            0.0,
            0.3,
            false,
            "Residual aging σ (lognormal)",
            life.cell_fade_sigma
        ),
        knob!(
            F,
            0.0,
            20.0,
            false,
            "N/P → cycle fade slope (per unit N/P)",
            life.np_fade_per_np
        ),
        knob!(
            F,
            0.0,
            200.0,
            false,
            "Plating Tafel voltage (mV)",
            life.plating_tafel_mv
        ),
        knob!(
            F,
            0.0,
            50.0,
            false,
            "Tab hot spot (K/W)",
            life.tab_heat_k_per_w
        ),
        knob!(
            F,
            1.0,
            10.0,
            false,
            "Breach edge plating (× rate)",
            life.breach_plating_factor
        ),
        knob!(
            F,
            0.0,
            1e-3,
            true,
            "Short hazard (per cycle)",
            life.short_hazard
        ),
    ]
}
