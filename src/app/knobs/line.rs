//! The cell line's knob groups: the whole-line multipliers, the six stations from coating to the
//! end-of-line test, and the line's cost. Apart from the knob types and their helpers because
//! they are the tables of the panel, one function a group, in panel order.

use super::{Acc, Group, Knob};

/// The "Line (whole-line multipliers)" group.
pub(super) fn line_group() -> Group {
    Group {
        title: "Line (whole-line multipliers)",
        station: None,
        knobs: vec![
            knob!(F, 0.0, 8.0, false, "Spread scale (×)", line.spread_scale),
            knob!(F, 0.0, 20.0, false, "Defect scale (×)", line.defect_scale),
        ],
    }
}

/// The "Coating" group.
pub(super) fn coating_group() -> Group {
    Group {
        title: "Coating",
        station: Some(0),
        knobs: vec![
            knob!(
                F,
                0.0,
                0.02,
                false,
                "Cathode loading CV (fraction)",
                coating.cathode_loading_cv
            ),
            knob!(
                F,
                0.0,
                0.02,
                false,
                "Cathode lot-to-lot CV (fraction)",
                coating.cathode_loading_lot_cv
            ),
            knob!(
                F,
                0.0,
                0.02,
                false,
                "Anode loading CV (fraction)",
                coating.anode_loading_cv
            ),
            knob!(
                F,
                0.0,
                0.02,
                false,
                "Anode lot-to-lot CV (fraction)",
                coating.anode_loading_lot_cv
            ),
            knob!(F, 0.95, 1.3, false, "Design N/P (ratio)", coating.np_design),
            knob!(
                F,
                0.005,
                0.1,
                false,
                "Loading tolerance, beta gauge (fraction)",
                coating.loading_tolerance
            ),
            knob!(
                F,
                0.0,
                0.2,
                false,
                "Particle defects (mean per cell)",
                coating.defects_per_cell
            ),
            knob!(
                U64,
                100,
                1_000_000,
                true,
                "Coating lot (cells)",
                coating.lot_size
            ),
        ],
    }
}

/// The "Calendering" group.
pub(super) fn calendering_group() -> Group {
    Group {
        title: "Calendering",
        station: Some(1),
        knobs: vec![
            knob!(
                F,
                0.15,
                0.5,
                false,
                "Porosity target (fraction)",
                calendering.porosity_target
            ),
            knob!(
                F,
                0.0,
                0.05,
                false,
                "Porosity SD (fraction)",
                calendering.porosity_sd
            ),
        ],
    }
}

/// The "Winding" group.
pub(super) fn winding_group() -> Group {
    Group {
        title: "Winding",
        station: Some(2),
        knobs: vec![
            knob!(
                F,
                0.0,
                0.01,
                false,
                "Electrode area CV (fraction)",
                winding.area_cv
            ),
            knob!(
                F,
                0.0,
                0.6,
                false,
                "Misalignment SD (mm)",
                winding.misalignment_sd_mm
            ),
            knob!(
                F,
                0.2,
                2.0,
                false,
                "Anode overhang (mm)",
                winding.overhang_mm
            ),
            knob!(
                F,
                0.0,
                0.6,
                false,
                "Tab-weld resistance σ (lognormal)",
                winding.tab_weld_sigma
            ),
            knob!(
                F,
                0.0,
                1.0,
                false,
                "X-ray detection (probability)",
                winding.xray_detect
            ),
        ],
    }
}

/// The "Filling" group.
pub(super) fn filling_group() -> Group {
    Group {
        title: "Filling",
        station: Some(3),
        knobs: vec![
            knob!(F, 1.0, 1.6, false, "Electrolyte (g/Ah)", filling.g_per_ah),
            knob!(
                F,
                0.0,
                0.05,
                false,
                "Fill mass CV (fraction)",
                filling.fill_cv
            ),
            knob!(
                F,
                0.7,
                1.3,
                false,
                "Pore-filling mass (g/Ah)",
                filling.pore_g_per_ah
            ),
            knob!(
                F,
                1.0,
                1.4,
                false,
                "Optimum fill ratio (× pores)",
                filling.optimum_fill_ratio
            ),
            knob!(
                F,
                0.0,
                10.0,
                false,
                "Resistance rise (× per unit shortfall)",
                filling.r_per_shortfall
            ),
        ],
    }
}

/// The "Formation & aging" group.
pub(super) fn formation_aging_group() -> Group {
    Group {
        title: "Formation & aging",
        station: Some(4),
        knobs: vec![
            knob!(
                F,
                1.0,
                21.0,
                false,
                "Aging test (days)",
                formation.aging_days
            ),
            knob!(
                F,
                0.0,
                5.0,
                false,
                "Rack temperature SD (°C)",
                formation.rack_temp_sd_c
            ),
            knob!(
                F,
                0.05,
                0.15,
                false,
                "First-cycle loss (fraction)",
                formation.first_cycle_loss
            ),
            knob!(
                F,
                0.0,
                0.005,
                false,
                "First-cycle loss SD (fraction)",
                formation.first_cycle_loss_sd
            ),
            knob!(
                F,
                0.0,
                0.005,
                false,
                "Loss per °C (fraction/°C)",
                formation.loss_per_degc
            ),
            knob!(
                F,
                0.005,
                0.1,
                false,
                "Self-discharge median (mV/day)",
                formation.k_median_mv_day
            ),
            knob!(
                F,
                0.0,
                1.5,
                false,
                "Self-discharge σ (lognormal)",
                formation.k_sigma
            ),
            knob!(
                F,
                0.5,
                20.0,
                false,
                "Defect onset mean (days)",
                formation.defect_onset_mean_days
            ),
            knob!(
                U64,
                10,
                100_000,
                true,
                "Formation rack (cells)",
                formation.rack_size
            ),
        ],
    }
}

/// The "End-of-line test" group.
pub(super) fn end_of_line_test_group() -> Group {
    Group {
        title: "End-of-line test",
        station: Some(5),
        knobs: vec![
            knob!(
                F,
                0.0,
                0.01,
                false,
                "Capacity gauge noise (fraction)",
                eol.capacity_noise
            ),
            knob!(
                F,
                0.0,
                0.05,
                false,
                "DCIR gauge noise (fraction)",
                eol.dcir_noise
            ),
            knob!(
                F,
                0.0,
                0.05,
                false,
                "K-value gauge noise (mV/day)",
                eol.k_noise_mv_day
            ),
            knob!(
                F,
                0.9,
                1.0,
                false,
                "Capacity lower limit (× rated)",
                eol.capacity_min
            ),
            knob!(
                F,
                1.0,
                1.5,
                false,
                "DCIR upper limit (× nominal)",
                eol.dcir_max
            ),
            knob!(
                F,
                0.02,
                0.5,
                false,
                "K-value limit (mV/day)",
                eol.k_max_mv_day
            ),
            knob!(
                F,
                0.0005,
                0.01,
                false,
                "Grade bin width (× rated)",
                eol.bin_width
            ),
            knob!(U32, 1, 16, false, "Grade bins (count)", eol.grade_bins),
        ],
    }
}

/// The "Cost (learning curve)" group.
pub(super) fn cost_group() -> Group {
    Group {
        title: "Cost (learning curve)",
        station: None,
        knobs: vec![
            knob!(
                F,
                100.0,
                50_000.0,
                true,
                "Cumulative volume (GWh)",
                cost.cumulative_gwh
            ),
            knob!(
                F,
                0.0,
                0.3,
                false,
                "Learning rate (per doubling)",
                cost.learning_rate
            ),
        ],
    }
}
