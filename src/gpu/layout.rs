//! Pod types that exist only for the GPU, twins of the structs in `shaders/shared/layout.wgsl` and
//! `shaders/pack_life.wgsl`. The tests compare every shared struct's size and field offsets with
//! naga's reflection of the WGSL, so a layout drift fails a test rather than a run.

use bytemuck::{Pod, Zeroable};

/// One histogram of `LineStats` in the stats buffer (`Hist`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct HistParams {
    /// Lower edge of bin 0, in the histogram's unit (Ah, mΩ, mV/day, or N/P).
    pub lo: f32,
    /// bins / (hi − lo), per unit: a value's bin is `(x − lo) · scale`.
    pub scale: f32,
    /// Bins between `lo` and `hi`.
    pub bins: u32,
    /// Index of bin 0 in the stats buffer; underflow and overflow follow the bins.
    pub offset: u32,
}

const _: () = assert!(size_of::<HistParams>() == 16);

/// One dispatch of the cell line (`Chunk`). The 64-bit indices are split in two u32 words
/// because baseline WGSL has no 64-bit integers.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct ChunkParams {
    /// Global index of the chunk's first cell, low word.
    pub start_lo: u32,
    /// Global index of the chunk's first cell, high word.
    pub start_hi: u32,
    /// Cells in the chunk.
    pub count: u32,
    /// `start mod TILE`: tiles are aligned on global multiples of TILE.
    pub first: u32,
    /// Coating lot of the first cell, low word.
    pub lot_lo: u32,
    /// Coating lot of the first cell, high word.
    pub lot_hi: u32,
    /// The first cell's position within its coating lot (cells).
    pub lot_offset: u32,
    /// Counters in the stats buffer (`StatsLayout::n_stats`).
    pub n_stats: u32,
    /// Formation rack of the first cell, low word.
    pub rack_lo: u32,
    /// Formation rack of the first cell, high word.
    pub rack_hi: u32,
    /// The first cell's position within its rack (cells).
    pub rack_offset: u32,
    /// Workgroups (tiles of TILE cells) dispatched.
    pub tiles: u32,
    /// The six histograms, in `H_*` order.
    pub hist: [HistParams; 6],
    /// What each moment's deviations are taken from, in its unit (`M_*` order): the scene's
    /// expected mean from a CPU pilot (`cell_line::moment_centres`), the same for every chunk, so
    /// the GPU's f32 sums of squares do not cancel however far the mean is from nominal.
    pub centre: [f32; 8],
}

const _: () = assert!(size_of::<ChunkParams>() == 176);

/// One batch of pack life (`PackJob`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct PackJob {
    /// Packs in the batch (one workgroup each).
    pub packs: u32,
    /// Curve points reserved per pack in the curve buffer (max_steps + 1).
    pub curve_stride: u32,
    /// `AgingParams::short_probability_per_step()`, the value the CPU uses.
    pub short_p: f32,
    /// Life steps per dispatch.
    pub steps: u32,
}

const _: () = assert!(size_of::<PackJob>() == 16);

/// A cell's state during life (`Live` in pack_life.wgsl; `Live` with `CellAge` in pack.rs).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Live {
    /// Calendar capacity loss so far, fraction of the cell's initial capacity.
    pub loss_cal: f32,
    /// Cycling capacity loss so far, fraction of the cell's initial capacity.
    pub loss_cyc: f32,
    /// Present capacity, Ah.
    pub q: f32,
    /// Present DCIR, mΩ.
    pub r: f32,
    /// The cell's residual fade scalar (lognormal, stretches stress-time).
    pub scalar: f32,
    /// What the cell's make does to its cycling rate (`cycling_factor`), dimensionless.
    pub cyc_factor: f32,
    /// 1 if the cell carries a latent defect (may short), else 0.
    pub defect: u32,
    /// What formation's SEI does to its calendar rate (`sei_factor`), dimensionless.
    pub cal_factor: f32,
    /// Calendar law: the stress-time its loss was reached at (`PowerState::x`).
    pub x_cal: f32,
    /// Cycling law: the stress-time its loss was reached at.
    pub x_cyc: f32,
    /// Calendar law: the rate of its last step (`PowerState::k`).
    pub k_cal: f32,
    /// Cycling law: the rate of its last step.
    pub k_cyc: f32,
}

/// A pack between dispatches, and its end of life (`PackState` in pack_life.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct PackState {
    /// Cycles to end of life (valid with `END_SET`, or at the cap once `DONE`).
    pub cycles: u32,
    /// `EndOfLife` as u32.
    pub reason: u32,
    /// Curve points written so far.
    pub curve_len: u32,
    /// The step the next dispatch starts at.
    pub next_step: u32,
    /// The last curve point, fraction of rated (valid with `HAVE_LAST`).
    pub last: f32,
    /// `END_SET`, `DONE`, `HAVE_LAST`, `HAVE_SHARE` bits.
    pub flags: u32,
    /// The pack's resistance at its first step, mΩ (0 until then), and its ratio to it at the
    /// last step: power end of life interpolates between steps like fade.
    pub r_pack0: f32,
    /// The pack's resistance at the last step over `r_pack0`, dimensionless.
    pub last_ratio: f32,
    /// `PackLife::calendar_share`, valid when flag 8 is set.
    pub calendar_share: f32,
    /// Unused: keeps the struct at 40 bytes in both languages.
    pub _pad0: u32,
}

const _: () = assert!(size_of::<PackState>() == 40);

impl PackState {
    /// `flags`: an end of life has been found (`END_SET` in pack_life.wgsl).
    pub const END_SET: u32 = 1;
    /// `flags`: the pack's life is simulated to its stop (`DONE`).
    pub const DONE: u32 = 2;
    /// `flags`: `last` holds a curve point (`HAVE_LAST`).
    pub const HAVE_LAST: u32 = 4;
    /// `flags`: `calendar_share` is set (`HAVE_SHARE`).
    pub const HAVE_SHARE: u32 = 8;
}

/// Where the cell-line pass writes its counts in the stats buffer (`ST_*`, `H_*`, `M_*` in
/// cell_line.wgsl): the host decodes by these names, and a test holds them equal to the WGSL.
pub mod stats {
    /// Cells that entered each of the six stations.
    pub const ST_ENTERED: u32 = 0;
    /// Cells scrapped for each of the five reasons.
    pub const ST_SCRAPPED: u32 = 6;
    /// Cells that passed every station.
    pub const ST_PASSED: u32 = 11;
    /// Cells made with a latent defect.
    pub const ST_DEFECTS: u32 = 12;
    /// Passed cells with a latent defect (escapes).
    pub const ST_DEFECTS_PASSED: u32 = 13;
    /// Cells made with an overhang breach.
    pub const ST_BREACHES: u32 = 14;
    /// Passed cells with a breach (missed by the X-ray).
    pub const ST_BREACHES_PASSED: u32 = 15;
    /// Passed cells that will plate (N/P below the plating limit).
    pub const ST_PLATING_PASSED: u32 = 16;
    /// First of the grade counts; the histograms follow them.
    pub const ST_GRADES: u32 = 17;
    /// Histogram slot: true capacity of tested cells.
    pub const H_Q_TRUE: u32 = 0;
    /// Histogram slot: measured capacity of tested cells.
    pub const H_Q_MEAS: u32 = 1;
    /// Histogram slot: measured capacity of tested, scrapped cells.
    pub const H_Q_SCRAPPED: u32 = 2;
    /// Histogram slot: measured DCIR of tested cells.
    pub const H_R_MEAS: u32 = 3;
    /// Histogram slot: measured K-value of cells that reached formation.
    pub const H_K_MEAS: u32 = 4;
    /// Histogram slot: N/P of every cell.
    pub const H_NP: u32 = 5;
    /// Moment slot: true capacity of tested cells, Ah.
    pub const M_Q_TRUE: u32 = 0;
    /// Moment slot: measured capacity of tested cells, Ah.
    pub const M_Q_MEAS: u32 = 1;
    /// Moment slot: true DCIR of tested cells, mΩ.
    pub const M_R_TRUE: u32 = 2;
    /// Moment slot: measured DCIR of tested cells, mΩ.
    pub const M_R_MEAS: u32 = 3;
    /// Moment slot: true capacity of passed cells, Ah.
    pub const M_Q_PASSED: u32 = 4;
    /// Moment slot: true DCIR of passed cells, mΩ.
    pub const M_R_PASSED: u32 = 5;
    /// Moment slot: measured K-value of cells that reached formation, mV/day.
    pub const M_K_MEAS: u32 = 6;
    /// Moment slot: N/P of every cell.
    pub const M_NP: u32 = 7;
}

/// `RngJob` in rng_check.wgsl: draws for the parity tests.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct RngJob {
    /// Counters (cells) to draw for.
    pub count: u32,
    /// The seed's low word.
    pub seed_lo: u32,
    /// The seed's high word.
    pub seed_hi: u32,
    /// The stream id (`rng::stream`).
    pub stream: u32,
}

const _: () = assert!(size_of::<RngJob>() == 16);

/// `AsmParams` in assemble.wgsl: one chunk of whole matching windows to assemble into packs.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct AsmParams {
    /// Started cells per matching window (`pack.window`).
    pub window: u32,
    /// The chunk's first started cell (the first of its first window), low word.
    pub base_lo: u32,
    /// The same, high word.
    pub base_hi: u32,
    /// `MATCH_*` code of the matching (`assemble::matching_code`).
    pub matching: u32,
    /// Capacity grade bins.
    pub grade_bins: u32,
    /// Segments: windows in the chunk, × grade bins for `binned`.
    pub n_seg: u32,
    /// Cells per pack.
    pub pack_size: u32,
    /// Cells per parallel group.
    pub parallel: u32,
    /// Groups per pack.
    pub series: u32,
    /// Radix blocks (`assemble::BLOCK` elements each) the dispatch covers.
    pub n_blocks: u32,
    /// The seed's low word (`random`'s keys).
    pub seed_lo: u32,
    /// The seed's high word.
    pub seed_hi: u32,
    /// Cell-line tiles whose passed counts `count_input` adds (0: the host sets the count).
    pub tiles: u32,
    /// Padding (16-byte uniform).
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

const _: () = assert!(size_of::<AsmParams>() == 64);

/// `EfcJob` in pack_efc.wgsl: one batch of aged packs' equivalent full cycles.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct EfcJob {
    /// Packs in the batch.
    pub packs: u32,
    /// Curve points reserved per pack.
    pub curve_stride: u32,
    /// Cycles per life step.
    pub cycles_per_step: f32,
    /// The duty's state-of-charge window, fraction of rated (`soc_hi − soc_lo`).
    pub window: f32,
}

const _: () = assert!(size_of::<EfcJob>() == 16);

/// `LifeOut` in pack_efc.wgsl: one aged pack's life as the host reads it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct LifeOut {
    /// Cycles to end of life.
    pub cycles: u32,
    /// End-of-life code (low byte) and the pack state's flags (`PackState::flags << 8`).
    pub code: u32,
    /// Calendar share of the capacity lost.
    pub calendar_share: f32,
    /// Equivalent full cycles delivered before end of life.
    pub efc: f32,
    /// Points of its fade curve (`PackState::curve_len`).
    pub curve_len: u32,
}

const _: () = assert!(size_of::<LifeOut>() == 20);

/// `RadixPass` in assemble.wgsl: which 8-bit digit one radix pass sorts by.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct RadixPass {
    /// Bit position of the digit.
    pub shift: u32,
    /// 1: a digit of the segment, 0: of the 32-bit key.
    pub from_seg: u32,
    /// Padding (16-byte uniform).
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
}

const _: () = assert!(size_of::<RadixPass>() == 16);

/// `GroupInfo` in assemble.wgsl: one parallel group of an assembled pack.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct GroupInfo {
    /// Chunk position of the group's first cell (positions follow cell indices).
    pub first: u32,
    /// Σ q0 over the group's cells in their order, Ah.
    pub q: f32,
    /// Cells with `flags::DEFECT`.
    pub defects: u32,
    /// The segment the pack came from.
    pub seg: u32,
}

const _: () = assert!(size_of::<GroupInfo>() == 16);

/// `PackOut` in assemble.wgsl: what the host reads of every assembled pack.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct PackOut {
    /// Initial capacity, Ah: the smallest group's Σ q0 (`initial_capacity`).
    pub q_initial: f32,
    /// Cells with `flags::DEFECT`.
    pub defects: u32,
    /// The pack's window, counted from the chunk's first.
    pub window: u32,
    /// The pack's number within its window (`j`: slot `w · slots + j`).
    pub pack: u32,
}

const _: () = assert!(size_of::<PackOut>() == 16);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::aging::AgingParams;
    use crate::model::pack::PackCell;
    use crate::model::{CellRecord, LineParams};
    use std::mem::{offset_of, size_of};

    /// (field name, offset) of each field, in declaration order.
    macro_rules! fields {
        ($t:ty; $($f:ident),* $(,)?) => {
            (stringify!($t), size_of::<$t>(), vec![$((stringify!($f), offset_of!($t, $f))),*])
        };
    }

    fn find_struct<'a>(m: &'a naga::Module, name: &str) -> Option<(&'a [naga::StructMember], u32)> {
        m.types.iter().find_map(|(_, t)| match &t.inner {
            naga::TypeInner::Struct { members, span } if t.name.as_deref() == Some(name) => {
                Some((members.as_slice(), *span))
            }
            _ => None,
        })
    }

    /// Every `const` of every shader, with its value as naga evaluated it.
    fn wgsl_constants() -> Vec<(String, String, f64)> {
        let mut out = Vec::new();
        for (file, src) in super::super::shaders::all() {
            let m = super::super::shaders::validate(file, &src).unwrap();
            for (_, c) in m.constants.iter() {
                let Some(name) = &c.name else { continue };
                let value = match m.global_expressions[c.init] {
                    naga::Expression::Literal(naga::Literal::U32(v)) => f64::from(v),
                    naga::Expression::Literal(naga::Literal::I32(v)) => f64::from(v),
                    naga::Expression::Literal(naga::Literal::F32(v)) => f64::from(v),
                    ref e => panic!("{file}: const {name} is not a literal: {e:?}"),
                };
                out.push((file.to_string(), name.clone(), value));
            }
        }
        out
    }

    /// The Rust twins of the cell line's constants: tiling, the stats layout, stages, flags and
    /// scrap codes.
    fn line_twins() -> Vec<(&'static str, u32)> {
        use super::stats::*;
        use crate::model::{Scrap, Stage, flags};
        let stage = |s: Stage| Stage::ALL.iter().position(|&x| x == s).unwrap() as u32;
        vec![
            ("WG", crate::gpu::cell_line::WG),
            ("ITEMS", crate::gpu::cell_line::ITEMS),
            ("TILE", crate::gpu::cell_line::TILE),
            ("MAX_STATS", crate::gpu::cell_line::MAX_STATS),
            ("PARTIAL_VEC4S", crate::gpu::cell_line::PARTIAL_VEC4S),
            ("ST_ENTERED", ST_ENTERED),
            ("ST_SCRAPPED", ST_SCRAPPED),
            ("ST_PASSED", ST_PASSED),
            ("ST_DEFECTS", ST_DEFECTS),
            ("ST_DEFECTS_PASSED", ST_DEFECTS_PASSED),
            ("ST_BREACHES", ST_BREACHES),
            ("ST_BREACHES_PASSED", ST_BREACHES_PASSED),
            ("ST_PLATING_PASSED", ST_PLATING_PASSED),
            ("ST_GRADES", ST_GRADES),
            ("H_Q_TRUE", H_Q_TRUE),
            ("H_Q_MEAS", H_Q_MEAS),
            ("H_Q_SCRAPPED", H_Q_SCRAPPED),
            ("H_R_MEAS", H_R_MEAS),
            ("H_K_MEAS", H_K_MEAS),
            ("H_NP", H_NP),
            ("M_Q_TRUE", M_Q_TRUE),
            ("M_Q_MEAS", M_Q_MEAS),
            ("M_R_TRUE", M_R_TRUE),
            ("M_R_MEAS", M_R_MEAS),
            ("M_Q_PASSED", M_Q_PASSED),
            ("M_R_PASSED", M_R_PASSED),
            ("M_K_MEAS", M_K_MEAS),
            ("M_NP", M_NP),
            ("STAGE_COATING", stage(Stage::Coating)),
            ("STAGE_CALENDERING", stage(Stage::Calendering)),
            ("STAGE_WINDING", stage(Stage::Winding)),
            ("STAGE_FILLING", stage(Stage::Filling)),
            ("STAGE_FORMATION", stage(Stage::Formation)),
            ("STAGE_EOL", stage(Stage::Eol)),
            ("FLAG_DEFECT", flags::DEFECT),
            ("FLAG_BREACH", flags::BREACH),
            ("FLAG_PLATING", flags::PLATING),
            ("SCRAP_SHIFT", flags::SCRAP_SHIFT),
            ("SCRAP_MASK", flags::SCRAP_MASK),
            ("GRADE_SHIFT", flags::GRADE_SHIFT),
            ("GRADE_MASK", flags::GRADE_MASK),
            ("SCRAP_LOADING", Scrap::Loading as u32),
            ("SCRAP_OVERHANG", Scrap::Overhang as u32),
            ("SCRAP_SELF_DISCHARGE", Scrap::SelfDischarge as u32),
            ("SCRAP_LOW_CAPACITY", Scrap::LowCapacity as u32),
            ("SCRAP_HIGH_DCIR", Scrap::HighDcir as u32),
        ]
    }

    /// The Rust twins of the generator's and pack life's constants: streams, end-of-life codes,
    /// pack-state flags and Philox's multipliers and key increments.
    fn rng_and_life_twins() -> Vec<(&'static str, u32)> {
        use crate::gpu::assemble::{self, matching_code};
        use crate::model::pack::EndOfLife;
        use crate::rng::stream;
        vec![
            ("STREAM_COATING", stream::COATING),
            ("STREAM_CALENDERING", stream::CALENDERING),
            ("STREAM_WINDING", stream::WINDING),
            ("STREAM_FILLING", stream::FILLING),
            ("STREAM_FORMATION", stream::FORMATION),
            ("STREAM_EOL", stream::EOL),
            ("STREAM_AGING_CELL", stream::AGING_CELL),
            ("STREAM_AGING_SHORT", stream::AGING_SHORT),
            ("STREAM_MATCHING", stream::MATCHING),
            ("STREAM_LOT", stream::LOT),
            ("EOL_FADE", EndOfLife::Fade as u32),
            ("EOL_SHORT", EndOfLife::Short as u32),
            ("EOL_CAP", EndOfLife::Cap as u32),
            ("EOL_POWER", EndOfLife::Power as u32),
            ("END_SET", PackState::END_SET),
            ("DONE", PackState::DONE),
            ("HAVE_LAST", PackState::HAVE_LAST),
            ("HAVE_SHARE", PackState::HAVE_SHARE),
            ("PHILOX_M0", crate::rng::M0),
            ("PHILOX_M1", crate::rng::M1),
            ("PHILOX_W0", crate::rng::W0),
            ("PHILOX_W1", crate::rng::W1),
            ("STATE_WORDS", (size_of::<PackState>() / 4) as u32),
            ("STATE_CYCLES", (offset_of!(PackState, cycles) / 4) as u32),
            ("STATE_REASON", (offset_of!(PackState, reason) / 4) as u32),
            ("STATE_FLAGS", (offset_of!(PackState, flags) / 4) as u32),
            (
                "STATE_SHARE",
                (offset_of!(PackState, calendar_share) / 4) as u32,
            ),
            (
                "STATE_CURVE_LEN",
                (offset_of!(PackState, curve_len) / 4) as u32,
            ),
            (
                "MATCH_RANDOM",
                matching_code(crate::scene::Matching::Random),
            ),
            (
                "MATCH_BINNED",
                matching_code(crate::scene::Matching::Binned),
            ),
            (
                "MATCH_SORTED",
                matching_code(crate::scene::Matching::Sorted),
            ),
            (
                "MATCH_SORTED_DCIR",
                matching_code(crate::scene::Matching::SortedDcir),
            ),
            ("META_N", assemble::META_N),
            ("META_WINDOWS", assemble::META_WINDOWS),
            ("META_PACKS", assemble::META_PACKS),
            ("AWG", assemble::AWG),
            ("DIGITS", assemble::DIGITS),
            ("ROUNDS", assemble::ROUNDS),
            ("BLOCK", assemble::BLOCK),
            ("MASK_WORDS", assemble::AWG / 32),
        ]
    }

    /// Every WGSL constant equals its Rust twin, and none is left without one (a new shader
    /// constant must be added here, with its Rust value, or named as the shader's own).
    #[test]
    fn wgsl_constants_equal_their_rust_twins() {
        let mut twins = line_twins();
        twins.extend(rng_and_life_twins());
        // The shaders' own: workgroup sizing (and the key pass's workgroup-local segment
        // counters) and a sentinel, no Rust counterpart.
        let shader_only = ["MAX_PWG", "BIG", "NO_DIGIT", "SEG_LOCAL"];
        let consts = wgsl_constants();
        assert!(
            consts.len() > 40,
            "naga kept the constants: {}",
            consts.len()
        );
        // The f32 constants: the NMC law's reference temperature and the power step's series
        // ranges, each the f32 the CPU twin uses.
        let f32_twins = [
            ("INV_T_REF", crate::model::aging::INV_T_REF),
            ("REBASE_MAX", crate::model::aging::REBASE_MAX),
            ("GROW_MAX", crate::model::aging::GROW_MAX),
        ];
        for (file, name, value) in &consts {
            if let Some((_, rust)) = f32_twins.iter().find(|(n, _)| n == name) {
                assert_eq!(*value as f32, *rust, "{file}: const {name}");
                continue;
            }
            if shader_only.contains(&name.as_str()) {
                continue;
            }
            let Some((_, rust)) = twins.iter().find(|(n, _)| n == name) else {
                panic!("{file}: const {name} = {value} has no Rust twin in this test");
            };
            assert_eq!(*value, f64::from(*rust), "{file}: const {name}");
        }
    }

    /// (field names and offsets of a Rust struct): `fields!`'s output.
    type Fields = (&'static str, usize, Vec<(&'static str, usize)>);

    /// The cell line's shared structs: (module, WGSL name, Rust twin's fields).
    fn line_cases(cell: &naga::Module) -> Vec<(&naga::Module, &'static str, Fields)> {
        vec![
            (
                cell,
                "Params",
                fields!(LineParams; seed_lo, seed_hi, coating_lot_size, rack_size,
                cathode_cv, cathode_lot_cv, anode_cv, anode_lot_cv, np_design, np_min, loading_tolerance,
                defects_per_cell, porosity_target, porosity_sd, r_ionic, area_cv, misalignment_sd,
                overhang, tab_median, tab_sigma, xray_detect, fill_cv, r_bulk, r_per_shortfall, fill_ratio, fill_ratio_opt,
                rack_temp_sd, first_cycle_loss, first_cycle_loss_sd, loss_per_degc, r_sei, k_median,
                k_sigma, defect_k_min, defect_k_max, defect_onset_mean, aging_days, q_rated, r_nominal,
                capacity_noise, dcir_noise, k_noise, capacity_min, dcir_max, k_max, grade_bins,
                grade_lo, grade_width, plating_np, _pad0, _pad1, _pad2),
            ),
            (
                cell,
                "CellRecord",
                fields!(CellRecord; q_true, q_meas, r_true, r_meas, k_true, k_meas,
                np_ratio, fill_shortfall, flags, first_cycle_loss, r_tab),
            ),
            (
                cell,
                "PackCell",
                fields!(PackCell; q0, r0, k, fill_shortfall, q_meas, flags, index_lo, index_hi, np_ratio,
                first_cycle_loss, r_meas, r_tab),
            ),
            (cell, "Hist", fields!(HistParams; lo, scale, bins, offset)),
            (
                cell,
                "Chunk",
                fields!(ChunkParams; start_lo, start_hi, count, first, lot_lo, lot_hi,
                lot_offset, n_stats, rack_lo, rack_hi, rack_offset, tiles, hist, centre),
            ),
        ]
    }

    /// Pack life's and the generator's shared structs.
    fn life_cases<'a>(
        life: &'a naga::Module,
        rng: &'a naga::Module,
        asm: &'a naga::Module,
        efc: &'a naga::Module,
    ) -> Vec<(&'a naga::Module, &'static str, Fields)> {
        vec![
            (
                life,
                "AgingParams",
                fields!(AgingParams; law, table_len, table_t0, table_per_k, p_cal, p_cyc,
                time_scale, f_cyc, f_rest, cycles_per_day, cycles_per_step, days_per_step, c_rate,
                dod_window, ambient_k, gradient_k, r_th, eol_fraction, stop_fraction, balance_ah,
                ocv_slope_v, plating_factor, underfill_factor, fade_sigma, r_growth, short_hazard,
                series, parallel, max_steps, q_rated, seed_lo, seed_hi, np_design, np_fade_per_np,
                r_nominal, plating_tafel_mv, first_cycle_loss, sei_calendar_exponent, plating_np,
                breach_plating_factor, nmc_dod_fade, duty_soc_window, tab_k_per_w, coolant_k_per_w,
                eol_resistance_factor, _pad0, _pad1, _pad2),
            ),
            (
                life,
                "PackJob",
                fields!(PackJob; packs, curve_stride, short_p, steps),
            ),
            (
                life,
                "Live",
                fields!(Live; loss_cal, loss_cyc, q, r, scalar, cyc_factor, defect, cal_factor, x_cal,
                x_cyc, k_cal, k_cyc),
            ),
            (
                life,
                "PackState",
                fields!(PackState; cycles, reason, curve_len, next_step, last, flags, r_pack0, last_ratio,
                calendar_share, _pad0),
            ),
            (
                asm,
                "AsmParams",
                fields!(AsmParams; window, base_lo, base_hi, matching, grade_bins, n_seg, pack_size,
                parallel, series, n_blocks, seed_lo, seed_hi, tiles, _pad0, _pad1, _pad2),
            ),
            (
                efc,
                "LifeOut",
                fields!(LifeOut; cycles, code, calendar_share, efc, curve_len),
            ),
            (
                efc,
                "EfcJob",
                fields!(EfcJob; packs, curve_stride, cycles_per_step, window),
            ),
            (
                asm,
                "RadixPass",
                fields!(RadixPass; shift, from_seg, _pad0, _pad1),
            ),
            (asm, "GroupInfo", fields!(GroupInfo; first, q, defects, seg)),
            (
                asm,
                "PackOut",
                fields!(PackOut; q_initial, defects, window, pack),
            ),
            (
                rng,
                "RngJob",
                fields!(RngJob; count, seed_lo, seed_hi, stream),
            ),
        ]
    }

    /// Each Rust Pod struct has the size and the field names and offsets naga computes for its
    /// WGSL twin.
    #[test]
    fn rust_and_wgsl_layouts_agree() {
        let cell =
            super::super::shaders::validate("cell_line", &super::super::shaders::cell_line())
                .unwrap();
        let life =
            super::super::shaders::validate("pack_life", &super::super::shaders::pack_life())
                .unwrap();
        let rng = super::super::shaders::validate("rng_check", &super::super::shaders::rng_check())
            .unwrap();
        let asm = super::super::shaders::validate("assemble", &super::super::shaders::assemble())
            .unwrap();
        let mut cases = line_cases(&cell);
        let efc = super::super::shaders::validate("pack_efc", &super::super::shaders::pack_efc())
            .unwrap();
        cases.extend(life_cases(&life, &rng, &asm, &efc));
        for (module, wgsl_name, (rust_name, size, fields)) in cases {
            let (members, span) = find_struct(module, wgsl_name)
                .unwrap_or_else(|| panic!("struct {wgsl_name} not in the WGSL"));
            assert_eq!(
                span as usize, size,
                "{rust_name} is {size} B, WGSL {wgsl_name} is {span} B"
            );
            assert_eq!(
                members.len(),
                fields.len(),
                "{rust_name} vs {wgsl_name}: field count"
            );
            for (m, (name, off)) in members.iter().zip(&fields) {
                assert_eq!(
                    m.name.as_deref(),
                    Some(*name),
                    "{rust_name} vs {wgsl_name}: field name"
                );
                assert_eq!(m.offset as usize, *off, "{rust_name}.{name} offset vs WGSL");
            }
        }
    }
}
