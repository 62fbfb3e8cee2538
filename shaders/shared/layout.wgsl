// Structs that cross between Rust and WGSL. Keep in sync with:
//   Params      <-> model::params::LineParams
//   CellRecord  <-> model::CellRecord          (and the flag bits of model::flags)
//   PackCell    <-> model::pack::PackCell
//   AgingParams <-> model::aging::AgingParams
//   Chunk, Hist <-> gpu::layout::{ChunkParams, HistParams}
//   PackJob     <-> gpu::layout::PackJob
// A unit test (`gpu::layout::tests`) compares every size and field offset with naga's reflection of
// this file, so drift fails the build's tests.

struct Params {
    seed_lo: u32,
    seed_hi: u32,
    coating_lot_size: u32,
    rack_size: u32,
    cathode_cv: f32,
    cathode_lot_cv: f32,
    anode_cv: f32,
    anode_lot_cv: f32,
    np_design: f32,
    np_min: f32,
    loading_tolerance: f32,
    defects_per_cell: f32,
    porosity_target: f32,
    porosity_sd: f32,
    r_ionic: f32,
    area_cv: f32,
    misalignment_sd: f32,
    overhang: f32,
    tab_median: f32,
    tab_sigma: f32,
    xray_detect: f32,
    fill_cv: f32,
    r_bulk: f32,
    r_per_shortfall: f32,
    fill_ratio: f32,
    fill_ratio_opt: f32,
    rack_temp_sd: f32,
    first_cycle_loss: f32,
    first_cycle_loss_sd: f32,
    loss_per_degc: f32,
    r_sei: f32,
    k_median: f32,
    k_sigma: f32,
    defect_k_min: f32,
    defect_k_max: f32,
    defect_onset_mean: f32,
    aging_days: f32,
    q_rated: f32,
    r_nominal: f32,
    capacity_noise: f32,
    dcir_noise: f32,
    k_noise: f32,
    capacity_min: f32,
    dcir_max: f32,
    k_max: f32,
    grade_bins: u32,
    grade_lo: f32,
    grade_width: f32,
    plating_np: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// model::flags
const FLAG_DEFECT: u32 = 1u;
const FLAG_BREACH: u32 = 2u;
const FLAG_PLATING: u32 = 4u;
const SCRAP_SHIFT: u32 = 4u;
const SCRAP_MASK: u32 = 0xF0u;
const GRADE_SHIFT: u32 = 8u;
const GRADE_MASK: u32 = 0xFF00u;

// model::Scrap codes
const SCRAP_LOADING: u32 = 1u;
const SCRAP_OVERHANG: u32 = 2u;
const SCRAP_SELF_DISCHARGE: u32 = 3u;
const SCRAP_LOW_CAPACITY: u32 = 4u;
const SCRAP_HIGH_DCIR: u32 = 5u;

struct CellRecord {
    q_true: f32,
    q_meas: f32,
    r_true: f32,
    r_meas: f32,
    k_true: f32,
    k_meas: f32,
    np_ratio: f32,
    fill_shortfall: f32,
    flags: u32,
    first_cycle_loss: f32,
    r_tab: f32,
}

struct PackCell {
    q0: f32,
    r0: f32,
    k: f32,
    fill_shortfall: f32,
    q_meas: f32,
    flags: u32,
    index_lo: u32,
    index_hi: u32,
    np_ratio: f32,
    first_cycle_loss: f32,
    r_meas: f32,
    r_tab: f32,
}

struct AgingParams {
    law: u32,
    table_len: u32,
    table_t0: f32,
    table_per_k: f32,
    p_cal: f32,
    p_cyc: f32,
    time_scale: f32,
    f_cyc: f32,
    f_rest: f32,
    cycles_per_day: f32,
    cycles_per_step: f32,
    days_per_step: f32,
    c_rate: f32,
    dod_window: f32,
    ambient_k: f32,
    gradient_k: f32,
    r_th: f32,
    eol_fraction: f32,
    stop_fraction: f32,
    balance_ah: f32,
    ocv_slope_v: f32,
    plating_factor: f32,
    underfill_factor: f32,
    fade_sigma: f32,
    r_growth: f32,
    short_hazard: f32,
    series: u32,
    parallel: u32,
    max_steps: u32,
    q_rated: f32,
    seed_lo: u32,
    seed_hi: u32,
    np_design: f32,
    np_fade_per_np: f32,
    r_nominal: f32,
    plating_tafel_mv: f32,
    first_cycle_loss: f32,
    sei_calendar_exponent: f32,
    plating_np: f32,
    breach_plating_factor: f32,
    nmc_dod_fade: u32,
    duty_soc_window: u32,
    tab_k_per_w: f32,
    coolant_k_per_w: f32,
    eol_resistance_factor: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// One histogram of LineStats inside the stats buffer: bins at `offset`, then underflow, overflow.
struct Hist {
    lo: f32,
    // bins / (hi - lo)
    scale: f32,
    bins: u32,
    offset: u32,
}

// One dispatch of the cell line: cells start .. start + count, tiles aligned on global multiples
// of TILE (`first` = start mod TILE).
struct Chunk {
    start_lo: u32,
    start_hi: u32,
    count: u32,
    first: u32,
    // Coating lot and formation rack of the chunk's first cell, and that cell's offset in them.
    lot_lo: u32,
    lot_hi: u32,
    lot_offset: u32,
    n_stats: u32,
    rack_lo: u32,
    rack_hi: u32,
    rack_offset: u32,
    tiles: u32,
    hist: array<Hist, 6>,
    // Each moment's centre (M_* order: [0] holds 0..3, [1] 4..7), fixed for the run by the host.
    centre: array<vec4<f32>, 2>,
}

// One batch of pack life.
struct PackJob {
    packs: u32,
    curve_stride: u32,
    // AgingParams::short_probability_per_step(), computed on the host in f64 like the CPU's.
    short_p: f32,
    // Life steps per dispatch (a dispatch continues each pack from its saved state).
    steps: u32,
}
