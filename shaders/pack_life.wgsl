// Pack life on the GPU: one workgroup per pack, the twin of `simulate_pack` (src/model/pack.rs) and
// `step_cell` (src/model/aging.rs). Each invocation owns whole parallel groups (g = lid, lid + PWG,
// ...), so every group sum runs over its cells in the CPU's order, once per step like the CPU's
// `q_groups`/`g_groups` (kept in `groups` for the step); the pack-wide reductions are minima (exact
// in any order) and two sums taken by invocation 0 in the CPU's order (the pack's resistance every
// step, the calendar share where the CPU takes it). Shorts and the fade scalar use the CPU's keys.
//
// Entry points:
//   pack_init  the cells' life state, the groups' charge offsets, the pack's state;
//   pack_life  up to `job.steps` steps of each pack from its saved state, saved again at the end.
// Life runs in several dispatches because lavapipe (llvmpipe) ends every loop of an invocation
// once 65 535 loop iterations in total have run; the host sizes `job.steps` to stay well below.
//
#import shared/philox.wgsl
#import shared/layout.wgsl
#import shared/power.wgsl

@group(0) @binding(0) var<uniform> a: AgingParams;
@group(0) @binding(1) var<uniform> job: PackJob;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read> cells: array<PackCell>;
@group(0) @binding(4) var<storage, read_write> live: array<Live>;
@group(0) @binding(5) var<storage, read_write> curve: array<f32>;
@group(0) @binding(6) var<storage, read_write> state: array<PackState>;
@group(0) @binding(7) var<storage, read_write> offsets: array<f32>;
// Each group's (capacity Ah, conductance 1/mΩ, resistance mΩ, unused) at the start of the step,
// summed once by the invocation that owns the group (`q_groups`, `g_groups` in
// `simulate_pack_cells`; a 1P group's resistance is its cell's, a wider one's 1 / conductance).
@group(0) @binding(8) var<storage, read_write> groups: array<vec4<f32>>;
// Bit `pack` set: the pack is kept whole and followed past its end of life down to
// `stop_fraction` (`Follow::PastEnd`); clear: it stops at the step that ends its life.
@group(0) @binding(9) var<storage, read> past_end: array<u32>;

// Invocations per pack, set by the host (a power of two <= MAX_PWG).
override PWG: u32 = 32u;
const MAX_PWG: u32 = 64u;
const BIG: f32 = 3.4028235e38;
// 1 / 308.15 K as an f32 (`INV_T_REF` in aging.rs): the NMC law's T / 308.15 as a product.
const INV_T_REF: f32 = 0.0032451728;

// Per-cell state in a pack during life (`Live` in gpu/layout.rs: `CellAge` inlined, each law's
// loss, stress-time and last rate).
struct Live {
    loss_cal: f32,
    loss_cyc: f32,
    q: f32,
    r: f32,
    scalar: f32,
    cyc_factor: f32,
    defect: u32,
    cal_factor: f32,
    x_cal: f32,
    x_cyc: f32,
    k_cal: f32,
    k_cyc: f32,
}

// A pack between dispatches, and at the end its `PackLife` without the curve: cycles, reason
// (EndOfLife), curve length.
struct PackState {
    cycles: u32,
    reason: u32,
    curve_len: u32,
    next_step: u32,
    // The last curve point (`curve.last()`), valid when HAVE_LAST.
    last: f32,
    flags: u32,
    // The pack's resistance at its first step (0 until then) and its ratio to it at the last.
    r_pack0: f32,
    last_ratio: f32,
    // `PackLife::calendar_share`, valid when HAVE_SHARE.
    calendar_share: f32,
    _pad0: u32,
}

const END_SET: u32 = 1u;
const DONE: u32 = 2u;
const HAVE_LAST: u32 = 4u;
const HAVE_SHARE: u32 = 8u;

const EOL_FADE: u32 = 0u;
const EOL_SHORT: u32 = 1u;
const EOL_CAP: u32 = 2u;
const EOL_POWER: u32 = 3u;

var<workgroup> w_red: array<f32, MAX_PWG>;
var<workgroup> w_short: atomic<u32>;
var<workgroup> w_state: PackState;
var<workgroup> w_r_pack: f32;

// ---- model::aging -------------------------------------------------------------------------------

fn table_lookup(t_k: f32, which: u32) -> f32 {
    let x = clamp((t_k - a.table_t0) * a.table_per_k, 0.0, f32(a.table_len - 1u));
    let i = min(u32(floor(x)), a.table_len - 2u);
    let f = x - f32(i);
    let v0 = table[2u * i + which];
    let v1 = table[2u * i + 2u + which];
    return v0 + (v1 - v0) * f;
}

fn k_cyc_at(t_k: f32, dod: f32, c_avg: f32, c_dis: f32) -> f32 {
    if (a.law == 0u) {
        // exp(-1.55e5/T) clamped like the CPU twin (below f32 resolution beside exp(2190/T)).
        return (4.38e-8 + 1.55e-8 * dod + 1.68e-7 * c_avg) * (exp_f32(2190.0 / t_k) + exp_f32(max(-1.55e5 / t_k, -80.0)));
    } else {
        let tn = t_k * INV_T_REF;
        return 0.18123502 * exp_f32(-0.12377921 * c_dis * c_dis * c_dis)
            * exp_f32(1.2445954 * tn * tn * tn * sqrt(c_dis)) * nmc_dod_factor(dod);
    }
}

// NMC cycling against the cell's own DOD, relative to the window (`nmc_dod_factor` in aging.rs).
fn nmc_dod_factor(dod: f32) -> f32 {
    if (a.nmc_dod_fade == 0u) {
        return 1.0;
    }
    return (7.6e-4 + 4.081e-3 * dod) * (1.0 / (7.6e-4 + 4.081e-3 * a.dod_window));
}

struct Conditions {
    t_rest_k: f32,
    t_cyc_k: f32,
    dod: f32,
    efc_per_cycle: f32,
    c_dis: f32,
    scalar: f32,
    cyc_factor: f32,
    cal_factor: f32,
}

// The two laws of the scene, set by `pack_life` before its steps.
var<private> law_cal: PowerLaw;
var<private> law_cyc: PowerLaw;

// `step_cell` on the laws' states of a Live.
fn step_cell(l: ptr<function, Live>, c: Conditions) {
    let k_cal = c.cal_factor * (a.f_cyc * table_lookup(c.t_cyc_k, 0u) + a.f_rest * table_lookup(c.t_rest_k, 1u));
    let c_avg = a.cycles_per_day * 2.0 * c.efc_per_cycle / 24.0;
    let k_cyc = a.f_cyc * k_cyc_at(c.t_cyc_k, c.dod, c_avg, c.c_dis)
        + a.f_rest * k_cyc_at(c.t_rest_k, c.dod, c_avg, c.c_dis);
    // The residual scalar stretches stress-time (BLAST-Lite's degradation_scalar), not the rate.
    let dt = c.scalar * a.days_per_step * a.time_scale;
    let defc = c.scalar * a.cycles_per_step * c.efc_per_cycle * a.time_scale;
    let cal_before = PowerState((*l).loss_cal, (*l).x_cal, (*l).k_cal);
    let cyc_before = PowerState((*l).loss_cyc, (*l).x_cyc, (*l).k_cyc);
    let cal = power_step(cal_before, law_cal, k_cal, dt);
    let cyc = power_step(cyc_before, law_cyc, c.cyc_factor * k_cyc, defc);
    (*l).loss_cal = cal.loss;
    (*l).x_cal = cal.x;
    (*l).k_cal = cal.k;
    (*l).loss_cyc = cyc.loss;
    (*l).x_cyc = cyc.x;
    (*l).k_cyc = cyc.k;
}

// ---- model::pack --------------------------------------------------------------------------------

// The cell's fade scalar: lognormal, its normal by the inverse CDF of the cell's first word
// (`fade_scalar` in pack/life.rs).
fn fade_scalar(index: vec2<u32>) -> f32 {
    let w = words(index, STREAM_AGING_CELL, 0u);
    return exp(a.fade_sigma * normal(w.x));
}

// N/P margin -> cycling fade (`np_factor` in pack.rs).
fn np_factor(np_ratio: f32) -> f32 {
    return exp(a.np_fade_per_np * (a.np_design - np_ratio));
}

// Resistance -> overpotential -> plating at C-rate, from the cell's own current
// (`overpotential_factor` in pack.rs).
fn overpotential_factor(i_cell: f32, r0_mohm: f32) -> f32 {
    if (a.plating_tafel_mv <= 0.0) {
        return 1.0;
    }
    let eta_mv = i_cell * r0_mohm - a.c_rate * a.q_rated * a.r_nominal;
    return exp_f32(eta_mv / a.plating_tafel_mv);
}

// What a cell's make does to its cycling rate once and for all (`cycling_factor` in pack.rs).
fn cycling_factor(c: PackCell) -> f32 {
    var np_plating = 1.0;
    if (c.np_ratio < a.plating_np) {
        np_plating = a.plating_factor;
    }
    var edge_plating = 1.0;
    if ((c.flags & FLAG_BREACH) != 0u) {
        edge_plating = a.breach_plating_factor;
    }
    return np_plating * edge_plating * (1.0 + a.underfill_factor * c.fill_shortfall)
        * np_factor(c.np_ratio);
}

// Formation -> SEI -> calendar fade (`sei_factor` in pack.rs).
fn sei_factor(first_cycle_loss: f32) -> f32 {
    if (a.sei_calendar_exponent <= 0.0 || a.first_cycle_loss <= 0.0) {
        return 1.0;
    }
    return pow2(a.first_cycle_loss / max(first_cycle_loss, 1e-4), a.sei_calendar_exponent);
}

// Minimum over the workgroup, the same value (and uniform) in every invocation.
fn reduce_min(lid: u32, x: f32) -> f32 {
    w_red[lid] = x;
    workgroupBarrier();
    for (var s = PWG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            w_red[lid] = min(w_red[lid], w_red[lid + s]);
        }
        workgroupBarrier();
    }
    let m = workgroupUniformLoad(&w_red[0]);
    workgroupBarrier();
    return m;
}

// The pack's resistance, its groups' resistances in series (a 1P group's its cell's, a wider
// one's 1 / conductance), summed by invocation 0 in `sum_of`'s order (group g into lane g % 8,
// the lanes added pairwise): the same bits whatever the workgroup size. The groups' sums were
// stored by their owners before a storage barrier.
fn pack_resistance(lid: u32, ob: u32) -> f32 {
    if (lid == 0u) {
        var l = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for (var g = 0u; g < a.series; g++) {
            l[g & 7u] += groups[ob + g].z;
        }
        w_r_pack = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    }
    return workgroupUniformLoad(&w_r_pack);
}

// Σ calendar loss / Σ loss over the pack's cells in cell order (`calendar_share_of` in pack.rs),
// by one invocation; called only at the steps where the CPU calls it.
fn calendar_share_of(base: u32) -> f32 {
    var cal = 0.0;
    var all = 0.0;
    for (var k = 0u; k < a.series * a.parallel; k++) {
        let l = live[base + k];
        cal += l.loss_cal;
        all += l.loss_cal + l.loss_cyc;
    }
    return select(0.0, cal / all, all > 0.0);
}

// The cycle at which a falling quantity crossed `level` within the step ending at `cycles`
// (`crossing` in pack.rs).
fn crossing(prev: f32, now: f32, level: f32, cycles: u32) -> u32 {
    var within = 0.0;
    if (prev > now) {
        within = (prev - level) / (prev - now);
    }
    let at = f32(cycles) - a.cycles_per_step * (1.0 - clamp(within, 0.0, 1.0));
    return u32(round_half_up(max(at, 0.0)));
}

// Rust's f32::round for x >= 0 (half away from zero; WGSL's round is half to even).
fn round_half_up(x: f32) -> f32 {
    let f = floor(x);
    return select(f, f + 1.0, x - f >= 0.5);
}

// The `live` initialisation of `simulate_pack`.
@compute @workgroup_size(PWG)
fn pack_init(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    rng_key = vec2<u32>(a.seed_lo, a.seed_hi);
    let lid = lid3.x;
    let pack = wid.x;
    let np = a.parallel;
    let ns = a.series;
    let base = pack * np * ns;
    for (var g = lid; g < ns; g += PWG) {
        for (var j = 0u; j < np; j++) {
            let c = cells[base + g * np + j];
            live[base + g * np + j] = Live(
                0.0,
                0.0,
                c.q0,
                c.r0,
                fade_scalar(vec2<u32>(c.index_lo, c.index_hi)),
                cycling_factor(c),
                select(0u, 1u, (c.flags & FLAG_DEFECT) != 0u),
                sei_factor(c.first_cycle_loss),
                0.0,
                0.0,
                0.0,
                0.0,
            );
        }
        offsets[pack * ns + g] = 0.0;
    }
    if (lid == 0u) {
        state[pack] = PackState(0u, EOL_CAP, 0u, 0u, 0.0, 0u, 0.0, 1.0, 0.0, 0u);
    }
}

// A pack's life between steps: `PackState` unpacked into the loop's variables of `simulate_pack`
// (`end`, `curve.last()`, `r_pack0`, `last_ratio`, `calendar_share`).
struct Walk {
    end_set: bool,
    end_cycles: u32,
    end_reason: u32,
    last: f32,
    have_last: bool,
    curve_len: u32,
    r_pack0: f32,
    last_ratio: f32,
    // Only invocation 0 keeps and writes the share.
    calendar_share: f32,
    have_share: bool,
    share_last: f32,
    done: bool,
}

fn walk_from(st: PackState) -> Walk {
    return Walk(
        (st.flags & END_SET) != 0u,
        st.cycles,
        st.reason,
        st.last,
        (st.flags & HAVE_LAST) != 0u,
        st.curve_len,
        st.r_pack0,
        st.last_ratio,
        st.calendar_share,
        (st.flags & HAVE_SHARE) != 0u,
        0.0,
        false,
    );
}

// The end of `simulate_pack` (cap, the share where life stopped) and the pack's state saved for
// the next dispatch, by invocation 0.
fn save_walk(lid: u32, pack: u32, w: Walk, next_step: u32) {
    var v = w;
    if (v.done && !v.end_set) {
        v.end_cycles = a.max_steps * u32(a.cycles_per_step);
        v.end_reason = EOL_CAP;
    }
    if (v.done && !v.have_share) {
        v.calendar_share = v.share_last;
        v.have_share = true;
    }
    if (lid == 0u) {
        var flags = 0u;
        if (v.end_set) {
            flags |= END_SET;
        }
        if (v.done) {
            flags |= DONE;
        }
        if (v.have_last) {
            flags |= HAVE_LAST;
        }
        if (v.have_share) {
            flags |= HAVE_SHARE;
        }
        state[pack] = PackState(v.end_cycles, v.end_reason, v.curve_len, next_step, v.last, flags, v.r_pack0, v.last_ratio, v.calendar_share, 0u);
    }
}

// Pack capacity: the smallest group, less its charge offset from the best-charged group. Each
// group's capacity and conductance is summed here once per step in cell order (`q_groups`,
// `g_groups`) and kept in `groups` for the rest of the step.
fn pack_capacity(lid: u32, base: u32, ob: u32) -> f32 {
    let np = a.parallel;
    var my_off = BIG;
    for (var g = lid; g < a.series; g += PWG) {
        my_off = min(my_off, offsets[ob + g]);
    }
    let min_off = reduce_min(lid, my_off);
    var my_q = BIG;
    for (var g = lid; g < a.series; g += PWG) {
        var q_g = 0.0;
        var g_sum = 0.0;
        var r_g = 0.0;
        for (var j = 0u; j < np; j++) {
            let l = live[base + g * np + j];
            q_g += l.q;
            g_sum += 1.0 / l.r;
            r_g = l.r;
        }
        if (np > 1u) {
            r_g = 1.0 / g_sum;
        }
        groups[ob + g] = vec4<f32>(q_g, g_sum, r_g, 0.0);
        my_q = min(my_q, q_g - (offsets[ob + g] - min_off));
    }
    storageBarrier();
    return reduce_min(lid, my_q);
}

// Whichever limit the pack crossed first within the step ending at `cycles`; fade on a tie.
fn check_end(w: ptr<function, Walk>, frac: f32, ratio: f32, cycles: u32) {
    if ((*w).end_set) {
        return;
    }
    var prev = frac;
    if ((*w).have_last) {
        prev = (*w).last;
    }
    let fade = frac < a.eol_fraction;
    let power = a.eol_resistance_factor > 0.0 && ratio >= a.eol_resistance_factor;
    let at_fade = crossing(prev, frac, a.eol_fraction, cycles);
    let at_power = crossing(-(*w).last_ratio, -ratio, -a.eol_resistance_factor, cycles);
    if (power && (!fade || at_power < at_fade)) {
        (*w).end_set = true;
        (*w).end_cycles = at_power;
        (*w).end_reason = EOL_POWER;
    } else if (fade) {
        (*w).end_set = true;
        (*w).end_cycles = at_fade;
        (*w).end_reason = EOL_FADE;
    }
}

// What every cell of a step shares: the duty's Ah per cycle, the pack current (A), the coolant's
// rise at the outlet (K) and whether shorts still count.
struct Duty {
    ah_cycle: f32,
    pack_current: f32,
    coolant_rise: f32,
    end_set: bool,
}

// One cell's step in its group (the cell loop's body of `simulate_pack_cells`); returns its
// self-discharge, Ah, and flags a short in `w_short`.
fn age_cell(k: u32, t_base: f32, t_cool: f32, dod: f32, g_sum: f32, d: Duty, step: u32) -> f32 {
    let c = cells[k];
    var l = live[k];
    // Current divides by conductance (its share exactly 1 in a 1P group, as on the CPU); charge
    // over a cycle by capacity.
    let i_cell = d.pack_current * ((1.0 / l.r) / g_sum);
    let heat_w = i_cell * i_cell * l.r * 1e-3;
    let tab_w = i_cell * i_cell * c.r_tab * 1e-3;
    let cond = Conditions(
        t_base,
        t_cool + heat_w * a.r_th + tab_w * a.tab_k_per_w,
        dod,
        dod,
        i_cell / c.q0,
        l.scalar,
        l.cyc_factor * overpotential_factor(i_cell, c.r0),
        l.cal_factor,
    );
    step_cell(&l, cond);
    let loss = l.loss_cal + l.loss_cyc;
    l.q = c.q0 * (1.0 - loss);
    l.r = c.r0 * (1.0 + a.r_growth * loss);
    if (l.defect != 0u && !d.end_set) {
        let u = uniforms(vec2<u32>(c.index_lo, c.index_hi), STREAM_AGING_SHORT, step).x;
        if (u < job.short_p) {
            atomicStore(&w_short, 1u);
        }
    }
    live[k] = l;
    // mV/day -> SOC/day through the OCV slope -> Ah.
    return c.k * 1e-3 / a.ocv_slope_v * l.q * a.days_per_step;
}

// Every cell of this invocation's groups ages one step; each group's charge offset grows by its
// cells' self-discharge.
fn age_groups(lid: u32, base: u32, ob: u32, d: Duty, step: u32) {
    let np = a.parallel;
    let ns = a.series;
    for (var g = lid; g < ns; g += PWG) {
        let gb = base + g * np;
        // This invocation's own group: its sums from the top of the step.
        let sums = groups[ob + g];
        var pos = 0.0;
        if (ns > 1u) {
            pos = f32(g) / f32(ns - 1u);
        }
        let t_base = a.ambient_k + a.gradient_k * pos;
        let t_cool = t_base + d.coolant_rise * pos;
        let dod = min(d.ah_cycle / sums.x, 1.0);
        var sd_ah = 0.0;
        for (var j = 0u; j < np; j++) {
            sd_ah += age_cell(gb + j, t_base, t_cool, dod, sums.y, d, step);
        }
        offsets[ob + g] += sd_ah;
    }
}

// Passive balancing pulls every group toward the best-charged one.
fn balance(lid: u32, ob: u32) {
    var my_min = BIG;
    for (var g = lid; g < a.series; g += PWG) {
        my_min = min(my_min, offsets[ob + g]);
    }
    let min_off = reduce_min(lid, my_min);
    for (var g = lid; g < a.series; g += PWG) {
        offsets[ob + g] = max(offsets[ob + g] - a.balance_ah, min_off);
    }
}

// The step loop of `simulate_pack`, from the pack's saved state, for up to `job.steps` steps.
@compute @workgroup_size(PWG)
fn pack_life(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    rng_key = vec2<u32>(a.seed_lo, a.seed_hi);
    law_cal = power_law(a.p_cal);
    law_cyc = power_law(a.p_cyc);
    let lid = lid3.x;
    let pack = wid.x;
    let base = pack * a.parallel * a.series;
    let ob = pack * a.series;
    if (lid == 0u) {
        w_state = state[pack];
        atomicStore(&w_short, 0u);
    }
    let st = workgroupUniformLoad(&w_state);
    if ((st.flags & DONE) != 0u) {
        return;
    }
    var w = walk_from(st);
    let rated = a.q_rated * f32(a.parallel);
    let pack_current = a.c_rate * rated;
    let ah_demand = a.dod_window * rated;
    let step_end = min(st.next_step + job.steps, a.max_steps + 1u);
    var step = st.next_step;
    for (; step < step_end; step++) {
        let q_pack = pack_capacity(lid, base, ob);
        let r_pack = pack_resistance(lid, ob);
        let frac = q_pack / rated;
        if (step == 0u) {
            w.r_pack0 = r_pack;
        }
        let ratio = r_pack / w.r_pack0;
        let cycles = step * u32(a.cycles_per_step);
        check_end(&w, frac, ratio, cycles);
        w.last_ratio = ratio;
        // The calendar share, when the CPU takes it: at the first step after the end, or where
        // life stops. Only invocation 0 sums (and keeps) it; the barrier keeps every invocation
        // from writing `live` below while it reads.
        let ended = ((past_end[pack >> 5u] >> (pack & 31u)) & 1u) == 0u && w.end_set;
        let stopping = ended || frac < a.stop_fraction || step == a.max_steps;
        var share_now = 0.0;
        if (lid == 0u && ((w.end_set && !w.have_share) || stopping)) {
            share_now = calendar_share_of(base);
            w.share_last = share_now;
        }
        storageBarrier();
        if (w.end_set && !w.have_share) {
            w.calendar_share = share_now;
            w.have_share = true;
        }
        if (lid == 0u) {
            curve[pack * job.curve_stride + step] = frac;
        }
        w.last = frac;
        w.have_last = true;
        w.curve_len = step + 1u;
        if (stopping) {
            w.done = true;
            break;
        }
        // The duty: the rated window's Ah (energy) or the window of what the pack holds now.
        var ah_cycle = min(ah_demand, max(q_pack, 0.0));
        if (a.duty_soc_window != 0u) {
            ah_cycle = a.dod_window * max(q_pack, 0.0);
        }
        // The string's I²R heat while current flows warms the coolant toward the outlet.
        let coolant_rise = a.coolant_k_per_w * pack_current * pack_current * r_pack * 1e-3;
        age_groups(lid, base, ob, Duty(ah_cycle, pack_current, coolant_rise, w.end_set), step);
        workgroupBarrier();
        if (!w.end_set && atomicLoad(&w_short) != 0u) {
            w.end_set = true;
            w.end_cycles = cycles + u32(a.cycles_per_step);
            w.end_reason = EOL_SHORT;
        }
        balance(lid, ob);
    }
    save_walk(lid, pack, w, step);
}
