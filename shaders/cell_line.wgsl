// The cell line on the GPU: one fused pass from coating to grade, the twin of `src/model/*.rs`
// (`simulate_cell` and its stages, same draws, same streams, same f32 order of operations), with
// the `LineStats` of `src/summary/stats.rs` accumulated in workgroup memory and the passed cells
// compacted in cell-index order.
//
// Entry points:
//   cell_line     one workgroup per tile of TILE cells (tiles aligned on global multiples of TILE);
//                 each invocation walks ITEMS consecutive cells, caching its lot draws like
//                 `LotDraws::refresh`; counts and histograms go to workgroup atomics merged into
//                 `stats`; moments are per-tile partial sums (centred on `chunk.centre`); passed
//                 cells are written to `staging` at the invocation's own slots, with their count.
//   compact       one workgroup per tile: scans the counts and scatters `staging` to `passed_out`
//                 in cell-index order.
//   cell_records  one invocation per cell: the full `CellRecord` (parity tests, debugging).
//
#import shared/philox.wgsl
#import shared/layout.wgsl

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> chunk: Chunk;
@group(0) @binding(2) var<storage, read_write> stats: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> tile_counts: array<u32>;
@group(0) @binding(5) var<storage, read_write> thread_counts: array<u32>;
@group(0) @binding(6) var<storage, read_write> staging: array<PackCell>;
@group(0) @binding(7) var<storage, read_write> passed_out: array<PackCell>;
@group(0) @binding(8) var<storage, read_write> records: array<CellRecord>;

const WG: u32 = 256u;
const ITEMS: u32 = 16u;
const TILE: u32 = 4096u; // WG * ITEMS
const MAX_STATS: u32 = 2048u;
// Partial sums per tile, in vec4s: n[8], sum[8], sum_sq[8] of the moments below.
const PARTIAL_VEC4S: u32 = 6u;

// Counter layout of `stats` (gpu::cell_line::StatsLayout mirrors it).
const ST_ENTERED: u32 = 0u;
const ST_SCRAPPED: u32 = 6u;
const ST_PASSED: u32 = 11u;
const ST_DEFECTS: u32 = 12u;
const ST_DEFECTS_PASSED: u32 = 13u;
const ST_BREACHES: u32 = 14u;
const ST_BREACHES_PASSED: u32 = 15u;
const ST_PLATING_PASSED: u32 = 16u;
const ST_GRADES: u32 = 17u;

const H_Q_TRUE: u32 = 0u;
const H_Q_MEAS: u32 = 1u;
const H_Q_SCRAPPED: u32 = 2u;
const H_R_MEAS: u32 = 3u;
const H_K_MEAS: u32 = 4u;
const H_NP: u32 = 5u;

const M_Q_TRUE: u32 = 0u;
const M_Q_MEAS: u32 = 1u;
const M_R_TRUE: u32 = 2u;
const M_R_MEAS: u32 = 3u;
const M_Q_PASSED: u32 = 4u;
const M_R_PASSED: u32 = 5u;
const M_K_MEAS: u32 = 6u;
const M_NP: u32 = 7u;

// Stage index of `model::Stage`.
const STAGE_COATING: u32 = 0u;
const STAGE_WINDING: u32 = 2u;
const STAGE_FORMATION: u32 = 4u;
const STAGE_EOL: u32 = 5u;

var<workgroup> w_stats: array<atomic<u32>, MAX_STATS>;
var<workgroup> w_scan: array<u32, WG>;
var<workgroup> w_red: array<vec4<f32>, WG>;
var<workgroup> w_count: atomic<u32>;
var<workgroup> w_base: atomic<u32>;

// The invocation's own tallies of the 17 scalar counters (ST_ENTERED .. ST_GRADES), flushed to
// workgroup atomics once per invocation: atomics are the expensive part on some drivers.
var<private> tally_: array<u32, 17>;
var<private> m_n: array<f32, 8>;
var<private> m_sum: array<f32, 8>;
var<private> m_sq: array<f32, 8>;

// ---- model::coating -----------------------------------------------------------------------------

struct Coated {
    cathode: f32,
    anode: f32,
    np_ratio: f32,
    out_of_tolerance: bool,
    defect: bool,
}

fn lot_normals(lot: vec2<u32>) -> vec2<f32> {
    let w = words(lot, STREAM_COATING | STREAM_LOT, 0u);
    return vec2<f32>(normal(w.x), normal(w.y));
}

fn coating(cell: vec2<u32>, z_lot_c: f32, z_lot_a: f32) -> Coated {
    // `model::draws`: loading normals from words 0 and 1, the defect uniform from word 2.
    let w = words(cell, STREAM_COATING, 0u);
    let z = vec2<f32>(normal(w.x), normal(w.y));
    let cathode = 1.0 + p.cathode_lot_cv * z_lot_c + p.cathode_cv * z.x;
    let anode = 1.0 + p.anode_lot_cv * z_lot_a + p.anode_cv * z.y;
    let out_of_tolerance =
        abs(cathode - 1.0) > p.loading_tolerance || abs(anode - 1.0) > p.loading_tolerance;
    return Coated(
        cathode,
        anode,
        p.np_design * anode / cathode,
        out_of_tolerance,
        // poisson(mean, u) > 0 exactly when u > e^-mean (inversion's first step).
        uniform_open(w.z) > exp(-p.defects_per_cell),
    );
}

// ---- model::calendering -------------------------------------------------------------------------

struct Calendered {
    porosity: f32,
    r_ionic: f32,
}

fn calendering(cell: vec2<u32>, cathode_loading: f32) -> Calendered {
    let z = normal(words(cell, STREAM_CALENDERING, 0u).x);
    let porosity = max(p.porosity_target + p.porosity_sd * z, 0.02);
    let ratio = p.porosity_target / porosity;
    return Calendered(porosity, p.r_ionic * cathode_loading * ratio * sqrt(ratio));
}

// ---- model::winding -----------------------------------------------------------------------------

struct Wound {
    area: f32,
    breach: bool,
    caught: bool,
    r_tab: f32,
}

fn winding(cell: vec2<u32>) -> Wound {
    let u = words(cell, STREAM_WINDING, 0u);
    let z_am = vec2<f32>(normal(u.x), normal(u.y));
    let z_tab = normal(u.z);
    let breach = abs(p.misalignment_sd * z_am.y) > p.overhang;
    // The X-ray draw is taken only for a breached cell: a second Philox call.
    var caught = false;
    if (breach) {
        caught = uniforms(cell, STREAM_WINDING, 1u).x < p.xray_detect;
    }
    return Wound(1.0 + p.area_cv * z_am.x, breach, caught, p.tab_median * exp(p.tab_sigma * z_tab));
}

// ---- model::filling -----------------------------------------------------------------------------

struct Filled {
    shortfall: f32,
    r_bulk: f32,
}

fn filling(cell: vec2<u32>, area: f32, loading: f32, porosity: f32) -> Filled {
    let z = normal(words(cell, STREAM_FILLING, 0u).x);
    let mass = 1.0 + p.fill_cv * z;
    let e0 = p.porosity_target;
    let e = min(porosity, 0.95);
    let pore = area * loading * (e / (1.0 - e)) * ((1.0 - e0) / e0);
    let ratio = p.fill_ratio * mass / pore;
    let shortfall = max(1.0 - ratio / p.fill_ratio_opt, 0.0);
    return Filled(shortfall, p.r_bulk * (1.0 + p.r_per_shortfall * shortfall));
}

// ---- model::formation ---------------------------------------------------------------------------

struct Formed {
    first_cycle_loss: f32,
    r_sei: f32,
    k_true: f32,
    k_during_test: f32,
}

fn rack_normal(rack: vec2<u32>) -> f32 {
    return normal(words(rack, STREAM_FORMATION | STREAM_LOT, 0u).x);
}

fn formation(cell: vec2<u32>, z_rack: f32, defect: bool) -> Formed {
    let w = words(cell, STREAM_FORMATION, 0u);
    let z_loss = normal(w.x);
    let z_k = normal(w.y);
    let u = vec2<f32>(uniform_open(w.z), uniform_open(w.w));
    let d_temp = p.rack_temp_sd * z_rack;
    let loss = clamp(p.first_cycle_loss + p.first_cycle_loss_sd * z_loss + p.loss_per_degc * d_temp, 0.0, 0.9);
    let k_base = p.k_median * exp(p.k_sigma * z_k);
    var k_true = k_base;
    var k_test = k_base;
    if (defect) {
        let severity = p.defect_k_min + (p.defect_k_max - p.defect_k_min) * u.x;
        let onset = -p.defect_onset_mean * log(u.y);
        k_true += severity;
        k_test += severity * max((p.aging_days - onset) / p.aging_days, 0.0);
    }
    var loss_ratio = 1.0;
    if (p.first_cycle_loss > 0.0) {
        loss_ratio = loss / p.first_cycle_loss;
    }
    return Formed(loss, p.r_sei * loss_ratio, k_true, k_test);
}

// ---- model::sorting -----------------------------------------------------------------------------

fn test_and_sort(cell: vec2<u32>, c: Coated, k: Calendered, w: Wound, f: Filled, fo: Formed) -> CellRecord {
    let electrode = min(c.cathode, c.anode * p.np_design / p.np_min);
    let q_true = p.q_rated * electrode * w.area * (1.0 - fo.first_cycle_loss)
        / (1.0 - p.first_cycle_loss);
    let r_true = w.r_tab + (k.r_ionic + fo.r_sei + f.r_bulk) / w.area;

    let u = words(cell, STREAM_EOL, 0u);
    let z_qr = vec2<f32>(normal(u.x), normal(u.y));
    let z_k = normal(u.z);
    let q_meas = q_true * (1.0 + p.capacity_noise * z_qr.x);
    let r_meas = r_true * (1.0 + p.dcir_noise * z_qr.y);
    let k_meas = fo.k_during_test + p.k_noise * z_k;

    var scrap = 0u;
    if (c.out_of_tolerance) {
        scrap = SCRAP_LOADING;
    } else if (w.breach && w.caught) {
        scrap = SCRAP_OVERHANG;
    } else if (k_meas > p.k_max) {
        scrap = SCRAP_SELF_DISCHARGE;
    } else if (q_meas < p.capacity_min) {
        scrap = SCRAP_LOW_CAPACITY;
    } else if (r_meas > p.dcir_max) {
        scrap = SCRAP_HIGH_DCIR;
    }

    let grade = u32(clamp(floor((q_meas - p.grade_lo) / p.grade_width), 0.0, f32(p.grade_bins - 1u)));
    var bits = grade << GRADE_SHIFT;
    bits |= scrap << SCRAP_SHIFT;
    if (c.defect) {
        bits |= FLAG_DEFECT;
    }
    if (w.breach) {
        bits |= FLAG_BREACH;
    }
    if (c.np_ratio < p.plating_np || w.breach) {
        bits |= FLAG_PLATING;
    }
    return CellRecord(q_true, q_meas, r_true, r_meas, fo.k_true, k_meas, c.np_ratio, f.shortfall, bits, fo.first_cycle_loss, w.r_tab);
}

// ---- model::simulate_cell -----------------------------------------------------------------------

struct LotDraws {
    z_cathode: f32,
    z_anode: f32,
    z_rack: f32,
}

fn simulate_cell(cell: vec2<u32>, lots: LotDraws) -> CellRecord {
    let c = coating(cell, lots.z_cathode, lots.z_anode);
    let k = calendering(cell, c.cathode);
    let w = winding(cell);
    let f = filling(cell, w.area, 0.5 * (c.cathode + c.anode), k.porosity);
    let fo = formation(cell, lots.z_rack, c.defect);
    return test_and_sort(cell, c, k, w, f, fo);
}

// Lot and rack of the chunk's cell `i` without u64 division: the host passes the lot of the chunk's
// first cell and that cell's offset in it.
fn coating_lot(i: u32) -> vec2<u32> {
    return add64(vec2<u32>(chunk.lot_lo, chunk.lot_hi), (chunk.lot_offset + i) / p.coating_lot_size);
}

fn rack_of(i: u32) -> vec2<u32> {
    return add64(vec2<u32>(chunk.rack_lo, chunk.rack_hi), (chunk.rack_offset + i) / p.rack_size);
}

fn cell_index(i: u32) -> vec2<u32> {
    return add64(vec2<u32>(chunk.start_lo, chunk.start_hi), i);
}

fn pack_cell_from_record(r: CellRecord, index: vec2<u32>) -> PackCell {
    return PackCell(r.q_true, r.r_true, r.k_true, r.fill_shortfall, r.q_meas, r.flags, index.x, index.y, r.np_ratio, r.first_cycle_loss, r.r_meas, r.r_tab);
}

// ---- summary::LineStats::push -------------------------------------------------------------------

fn count(at: u32) {
    atomicAdd(&w_stats[at], 1u);
}

fn tally(at: u32) {
    tally_[at] += 1u;
}

fn hist_push(h: u32, x: f32) {
    let hp = chunk.hist[h];
    let t = (x - hp.lo) * hp.scale;
    var bin: u32;
    if (!(t >= 0.0)) {
        bin = hp.bins; // underflow (and NaN)
    } else if (t >= f32(hp.bins)) {
        bin = hp.bins + 1u; // overflow
    } else {
        bin = min(u32(t), hp.bins - 1u);
    }
    count(hp.offset + bin);
}

// Deviations from the run's centre for moment m (`chunk.centre`, an expected mean fixed before the
// run), so that f32 sums of squares do not cancel; the host adds the centre back in f64.
fn moment_push(m: u32, x: f32) {
    let d = x - chunk.centre[m >> 2u][m & 3u];
    m_n[m] += 1.0;
    m_sum[m] += d;
    m_sq[m] += d * d;
}

fn stats_push(r: CellRecord) {
    let scrap = (r.flags & SCRAP_MASK) >> SCRAP_SHIFT;
    var last = STAGE_EOL;
    if (scrap == SCRAP_LOADING) {
        last = STAGE_COATING;
    } else if (scrap == SCRAP_OVERHANG) {
        last = STAGE_WINDING;
    } else if (scrap == SCRAP_SELF_DISCHARGE) {
        last = STAGE_FORMATION;
    }
    for (var e = 0u; e <= last; e++) {
        tally(ST_ENTERED + e);
    }
    moment_push(M_NP, r.np_ratio);
    hist_push(H_NP, r.np_ratio);
    if ((r.flags & FLAG_DEFECT) != 0u) {
        tally(ST_DEFECTS);
    }
    if ((r.flags & FLAG_BREACH) != 0u) {
        tally(ST_BREACHES);
    }
    if (last >= STAGE_FORMATION) {
        moment_push(M_K_MEAS, r.k_meas);
        hist_push(H_K_MEAS, r.k_meas);
    }
    if (scrap != 0u) {
        tally(ST_SCRAPPED + scrap - 1u);
    }
    let tested = scrap == 0u || scrap == SCRAP_LOW_CAPACITY || scrap == SCRAP_HIGH_DCIR;
    if (tested) {
        moment_push(M_Q_TRUE, r.q_true);
        moment_push(M_Q_MEAS, r.q_meas);
        moment_push(M_R_TRUE, r.r_true);
        moment_push(M_R_MEAS, r.r_meas);
        hist_push(H_Q_TRUE, r.q_true);
        hist_push(H_Q_MEAS, r.q_meas);
        hist_push(H_R_MEAS, r.r_meas);
        if (scrap != 0u) {
            hist_push(H_Q_SCRAPPED, r.q_meas);
        }
    }
    if (scrap == 0u) {
        tally(ST_PASSED);
        count(ST_GRADES + ((r.flags & GRADE_MASK) >> GRADE_SHIFT));
        moment_push(M_Q_PASSED, r.q_true);
        moment_push(M_R_PASSED, r.r_true);
        if ((r.flags & FLAG_DEFECT) != 0u) {
            tally(ST_DEFECTS_PASSED);
        }
        if ((r.flags & FLAG_BREACH) != 0u) {
            tally(ST_BREACHES_PASSED);
        }
        if ((r.flags & FLAG_PLATING) != 0u) {
            tally(ST_PLATING_PASSED);
        }
    }
}

// Tree sum of one vec4 over the workgroup; invocation 0 gets the total.
fn reduce_sum(lid: u32, x: vec4<f32>) -> vec4<f32> {
    w_red[lid] = x;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            w_red[lid] = w_red[lid] + w_red[lid + s];
        }
        workgroupBarrier();
    }
    let total = w_red[0];
    workgroupBarrier();
    return total;
}

// Zero the tile's workgroup counters and the invocation's own tallies and moment sums.
fn clear_tile(lid: u32) {
    for (var s = lid; s < chunk.n_stats; s += WG) {
        atomicStore(&w_stats[s], 0u);
    }
    if (lid == 0u) {
        atomicStore(&w_count, 0u);
    }
    for (var t = 0u; t < ST_GRADES; t++) {
        tally_[t] = 0u;
    }
    for (var m = 0u; m < 8u; m++) {
        m_n[m] = 0.0;
        m_sum[m] = 0.0;
        m_sq[m] = 0.0;
    }
}

// This invocation's run of ITEMS consecutive cells (positions relative to the aligned base `seg`):
// each simulated (`simulate_range`), pushed to the statistics, and staged if it passed. Returns how
// many passed.
fn walk_cells(seg: u32) -> u32 {
    var kept = 0u;
    var lots: LotDraws;
    var lot_q = 0xFFFFFFFFu;
    var rack_q = 0xFFFFFFFFu;
    for (var j = 0u; j < ITEMS; j++) {
        let pos = seg + j;
        if (pos < chunk.first || pos - chunk.first >= chunk.count) {
            continue;
        }
        let i = pos - chunk.first;
        // LotDraws::refresh: draw again only when the cell is in another lot or rack.
        let lq = (chunk.lot_offset + i) / p.coating_lot_size;
        if (lq != lot_q) {
            lot_q = lq;
            let z = lot_normals(coating_lot(i));
            lots.z_cathode = z.x;
            lots.z_anode = z.y;
        }
        let rq = (chunk.rack_offset + i) / p.rack_size;
        if (rq != rack_q) {
            rack_q = rq;
            lots.z_rack = rack_normal(rack_of(i));
        }
        let cell = cell_index(i);
        let r = simulate_cell(cell, lots);
        stats_push(r);
        if ((r.flags & SCRAP_MASK) == 0u) {
            staging[seg + kept] = pack_cell_from_record(r, cell);
            kept += 1u;
        }
    }
    return kept;
}

// Moments: per-tile partial sums, reduced in a fixed tree (the same for any chunking whose
// boundaries are multiples of TILE).
fn write_moments(lid: u32, tile: u32) {
    let parts = array<vec4<f32>, 6>(
        vec4<f32>(m_n[0], m_n[1], m_n[2], m_n[3]),
        vec4<f32>(m_n[4], m_n[5], m_n[6], m_n[7]),
        vec4<f32>(m_sum[0], m_sum[1], m_sum[2], m_sum[3]),
        vec4<f32>(m_sum[4], m_sum[5], m_sum[6], m_sum[7]),
        vec4<f32>(m_sq[0], m_sq[1], m_sq[2], m_sq[3]),
        vec4<f32>(m_sq[4], m_sq[5], m_sq[6], m_sq[7]),
    );
    for (var v = 0u; v < PARTIAL_VEC4S; v++) {
        let total = reduce_sum(lid, parts[v]);
        if (lid == 0u) {
            partials[tile * PARTIAL_VEC4S + v] = total;
        }
    }
}

// Merge the workgroup's counts and histograms into `stats`, and the tile's passed count.
fn merge_tile(lid: u32, tile: u32) {
    for (var s = lid; s < chunk.n_stats; s += WG) {
        let c = atomicLoad(&w_stats[s]);
        if (c != 0u) {
            atomicAdd(&stats[s], c);
        }
    }
    if (lid == 0u) {
        tile_counts[tile] = atomicLoad(&w_count);
    }
}

@compute @workgroup_size(256)
fn cell_line(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    rng_key = vec2<u32>(p.seed_lo, p.seed_hi);
    let lid = lid3.x;
    let tile = wid.x;
    clear_tile(lid);
    workgroupBarrier();

    let kept = walk_cells(tile * TILE + lid * ITEMS);
    thread_counts[tile * WG + lid] = kept;
    atomicAdd(&w_count, kept);
    for (var t = 0u; t < ST_GRADES; t++) {
        if (tally_[t] != 0u) {
            atomicAdd(&w_stats[t], tally_[t]);
        }
    }
    write_moments(lid, tile);
    workgroupBarrier();
    merge_tile(lid, tile);
}

@compute @workgroup_size(256)
fn compact(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let lid = lid3.x;
    let tile = wid.x;
    if (lid == 0u) {
        atomicStore(&w_base, 0u);
    }
    workgroupBarrier();
    // The tile's offset: passed cells of every earlier tile.
    var before = 0u;
    for (var t = lid; t < tile; t += WG) {
        before += tile_counts[t];
    }
    atomicAdd(&w_base, before);
    // Inclusive scan of the invocations' counts (Hillis-Steele).
    let kept = thread_counts[tile * WG + lid];
    w_scan[lid] = kept;
    workgroupBarrier();
    for (var off = 1u; off < WG; off <<= 1u) {
        var add = 0u;
        if (lid >= off) {
            add = w_scan[lid - off];
        }
        workgroupBarrier();
        w_scan[lid] += add;
        workgroupBarrier();
    }
    let base = atomicLoad(&w_base) + w_scan[lid] - kept;
    let seg = tile * TILE + lid * ITEMS;
    for (var j = 0u; j < kept; j++) {
        passed_out[base + j] = staging[seg + j];
    }
}

@compute @workgroup_size(256)
fn cell_records(@builtin(global_invocation_id) gid: vec3<u32>) {
    rng_key = vec2<u32>(p.seed_lo, p.seed_hi);
    let i = gid.x;
    if (i >= chunk.count) {
        return;
    }
    // LotDraws::for_cell
    let z = lot_normals(coating_lot(i));
    let lots = LotDraws(z.x, z.y, rack_normal(rack_of(i)));
    records[i] = simulate_cell(cell_index(i), lots);
}
