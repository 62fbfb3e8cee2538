// Pack assembly on the GPU: the twin of `match_window`, `place_groups` and `initial_capacity`
// (src/model/pack.rs) over a chunk of whole matching windows, in the device's passed-cell buffer.
//
// Every matching is a stable sort by (segment, key32) with the window position breaking ties:
// segment = the cell's window in the chunk (× grade bins + its bin for `binned`), key32 =
// `match_key` (a Philox word of the cell for `random`, the total-order bits of q_meas or r_meas for
// `sorted`/`sorted_dcir`; none for `binned`, which keeps production order). An LSD radix sort with
// 8-bit digits sorts key32 first, then the segment's digits; each pass is stable and the input is
// in cell-index order, so ties fall to the position as on the CPU.
//
// Entry points, in order:
//   count_input    (cells made on the device) the passed cells of the line's tiles: asm_meta[META_N]
//   keys           key32 and segment of every cell, positions 0..n, cells per segment, windows
//   radix_hist     per block of BLOCK elements, how many have each digit
//   radix_scan     exclusive prefix over (digit, block): where each block's digit run starts
//   radix_scatter  stable scatter (rank among equal digits of earlier rounds and invocations)
//   seg_scan       each segment's first cell and first pack; total packs
//   groups         per (pack, group): first position (= first cell index), Σq0 in order, defects
//   place          the group's cells written at its place along the string (`place_groups`)
//   pack_stats     per pack: initial capacity (min over groups), defects, window and pack number
//   gather_ids     the kept packs' cell indices (8 B a cell, not the 48 B cells) for the host
//
// lavapipe ends every loop of an invocation after 65 535 iterations: the loops here run at most
// BLOCK/WG rounds of WG, the scans `len / WG`, a group its `parallel` cells, a pack its `series`.
#import shared/philox.wgsl
#import shared/layout.wgsl

struct AsmParams {
    // Cells per window, the chunk's first started cell (its window's first) as (lo, hi).
    window: u32,
    base_lo: u32,
    base_hi: u32,
    // MATCH_* code, grade bins, segments (windows × bins for binned, else windows).
    matching: u32,
    grade_bins: u32,
    n_seg: u32,
    pack_size: u32,
    parallel: u32,
    series: u32,
    // Radix blocks (BLOCK elements each) the dispatch covers.
    n_blocks: u32,
    seed_lo: u32,
    seed_hi: u32,
    // Tiles of the cell line whose passed counts `count_input` adds (0: the host set the count).
    tiles: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct RadixPass {
    shift: u32,
    // 1: the digit is the segment's, 0: key32's.
    from_seg: u32,
    _pad0: u32,
    _pad1: u32,
}

struct GroupInfo {
    // Position in the chunk of the group's first cell (positions follow cell indices).
    first: u32,
    q: f32,
    defects: u32,
    seg: u32,
}

struct PackOut {
    q_initial: f32,
    defects: u32,
    // Window in the chunk and pack number within the window: the slot is the host's.
    window: u32,
    pack: u32,
}

const MATCH_RANDOM: u32 = 0u;
const MATCH_BINNED: u32 = 1u;
const MATCH_SORTED: u32 = 2u;
const MATCH_SORTED_DCIR: u32 = 3u;
// asm_meta[]: input cells, non-empty windows, packs.
const META_N: u32 = 0u;
const META_WINDOWS: u32 = 1u;
const META_PACKS: u32 = 2u;

const AWG: u32 = 256u;
const ROUNDS: u32 = 16u;
const BLOCK: u32 = 4096u;
const NO_DIGIT: u32 = 0xFFFFFFFFu;

@group(0) @binding(0) var<uniform> ap: AsmParams;
@group(0) @binding(1) var<uniform> rp: RadixPass;
@group(0) @binding(2) var<storage, read> cells: array<PackCell>;
@group(0) @binding(3) var<storage, read_write> asm_meta: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> keys: array<u32>;
@group(0) @binding(5) var<storage, read_write> segs: array<u32>;
@group(0) @binding(6) var<storage, read_write> src: array<u32>;
@group(0) @binding(7) var<storage, read_write> dst: array<u32>;
@group(0) @binding(8) var<storage, read_write> counts: array<u32>;
@group(0) @binding(9) var<storage, read_write> seg_count: array<atomic<u32>>;
@group(0) @binding(10) var<storage, read_write> seg_start: array<u32>;
@group(0) @binding(11) var<storage, read_write> pack_start: array<u32>;
@group(0) @binding(12) var<storage, read_write> grp: array<GroupInfo>;
@group(0) @binding(13) var<storage, read_write> assembled: array<PackCell>;
@group(0) @binding(14) var<storage, read_write> pack_out: array<PackOut>;
@group(0) @binding(15) var<storage, read> tile_counts: array<u32>;
// gather_ids: [count, pack numbers...] of the kept packs, and their cells' indices out.
@group(0) @binding(16) var<storage, read> kept_packs: array<u32>;
@group(0) @binding(17) var<storage, read_write> kept_ids: array<vec2<u32>>;

// The radix's 256 digits (8 bits a pass). `radix_hist` clears and writes its histogram one digit
// an invocation, and `workgroup_exclusive` scans one value an invocation: both need AWG = DIGITS.
const DIGITS: u32 = 256u;
const_assert AWG == DIGITS;
var<workgroup> w_hist: array<atomic<u32>, DIGITS>;
// Which invocations of a scatter round hold each digit: DIGITS × MASK_WORDS words of 32
// invocations (cleared before the first round and after each). From AWG, so no other width
// can overrun a digit's words.
const MASK_WORDS: u32 = AWG / 32u;
const_assert AWG % 32u == 0u;
var<workgroup> w_mask: array<atomic<u32>, DIGITS * MASK_WORDS>;
var<workgroup> w_scan: array<vec2<u32>, AWG>;
// keys_main: the workgroup's cells per segment, from the segment of its first cell's window (a
// workgroup of consecutive cells spans one or two windows), so that a segment's count takes one
// global atomic a workgroup instead of one a cell.
const SEG_LOCAL: u32 = 64u;
var<workgroup> w_seg: array<atomic<u32>, 64>;

// The invocation's flat id in a 1-D or 2-D grid of AWG-wide workgroups.
fn flat_id(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * AWG + lid;
}

fn total_order_bits(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    if ((b & 0x80000000u) != 0u) {
        return ~b;
    }
    return b | 0x80000000u;
}

// Twin of `match_key` (src/model/pack.rs).
fn match_key(c: PackCell) -> u32 {
    if (ap.matching == MATCH_RANDOM) {
        return words(vec2<u32>(c.index_lo, c.index_hi), STREAM_MATCHING, 0u).x;
    }
    if (ap.matching == MATCH_SORTED_DCIR) {
        return total_order_bits(c.r_meas);
    }
    return total_order_bits(c.q_meas);
}

// The cell's window in the chunk: (index − base) / window, the difference fitting in u32.
fn window_in_chunk(c: PackCell) -> u32 {
    let rel = c.index_lo - ap.base_lo;
    return rel / ap.window;
}

fn bins_per_window() -> u32 {
    return select(1u, ap.grade_bins, ap.matching == MATCH_BINNED);
}

@compute @workgroup_size(AWG)
fn keys_main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    rng_key = vec2<u32>(ap.seed_lo, ap.seed_hi);
    let i = flat_id(wid, nwg, lid);
    let first = flat_id(wid, nwg, 0u);
    let n = atomicLoad(&asm_meta[META_N]);
    if (lid < SEG_LOCAL) {
        atomicStore(&w_seg[lid], 0u);
    }
    workgroupBarrier();
    // The first segment the workgroup's cells can fall in (read by every invocation alike).
    var base = 0u;
    if (first < n) {
        base = window_in_chunk(cells[first]) * bins_per_window();
    }
    if (i < n) {
        let c = cells[i];
        let w = window_in_chunk(c);
        var seg = w;
        if (ap.matching == MATCH_BINNED) {
            seg = w * ap.grade_bins + min((c.flags & GRADE_MASK) >> GRADE_SHIFT, ap.grade_bins - 1u);
            keys[i] = 0u;
        } else {
            keys[i] = match_key(c);
        }
        segs[i] = seg;
        src[i] = i;
        if (seg - base < SEG_LOCAL) {
            atomicAdd(&w_seg[seg - base], 1u);
        } else {
            atomicAdd(&seg_count[seg], 1u);
        }
        if (i == 0u || window_in_chunk(cells[i - 1u]) != w) {
            atomicAdd(&asm_meta[META_WINDOWS], 1u);
        }
    }
    workgroupBarrier();
    if (lid < SEG_LOCAL) {
        let k = atomicLoad(&w_seg[lid]);
        if (k != 0u) {
            atomicAdd(&seg_count[base + lid], k);
        }
    }
}

// One workgroup: the cell line's passed cells, Σ of its tiles' counts, as the chunk's count.
@compute @workgroup_size(AWG)
fn count_input(@builtin(local_invocation_index) lid: u32) {
    var sum = 0u;
    for (var t = lid; t < ap.tiles; t += AWG) {
        sum += tile_counts[t];
    }
    let before = workgroup_exclusive(lid, vec2<u32>(sum, 0u)).x;
    if (lid == AWG - 1u) {
        atomicStore(&asm_meta[META_N], before + sum);
    }
}

fn digit_of(pos: u32) -> u32 {
    let v = select(keys[pos], segs[pos], rp.from_seg == 1u);
    return (v >> rp.shift) & (DIGITS - 1u);
}

@compute @workgroup_size(AWG)
fn radix_hist(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let b = wid.x + wid.y * nwg.x;
    atomicStore(&w_hist[lid], 0u);
    workgroupBarrier();
    let n = atomicLoad(&asm_meta[META_N]);
    for (var r = 0u; r < ROUNDS; r++) {
        let i = b * BLOCK + r * AWG + lid;
        if (i < n) {
            atomicAdd(&w_hist[digit_of(src[i])], 1u);
        }
    }
    workgroupBarrier();
    if (b < ap.n_blocks) {
        counts[lid * ap.n_blocks + b] = atomicLoad(&w_hist[lid]);
    }
}

// Exclusive prefix sums of two channels over `len` values of the workgroup: each invocation
// holds `own` (its range's totals) and gets the sum over the invocations before it.
fn workgroup_exclusive(lid: u32, own: vec2<u32>) -> vec2<u32> {
    w_scan[lid] = own;
    workgroupBarrier();
    for (var d = 1u; d < AWG; d = d * 2u) {
        var v = w_scan[lid];
        if (lid >= d) {
            v = v + w_scan[lid - d];
        }
        workgroupBarrier();
        w_scan[lid] = v;
        workgroupBarrier();
    }
    return w_scan[lid] - own;
}

// One workgroup: exclusive prefix over counts[0 .. DIGITS · n_blocks] (digit-major).
@compute @workgroup_size(AWG)
fn radix_scan(@builtin(local_invocation_index) lid: u32) {
    let len = DIGITS * ap.n_blocks;
    let per = (len + AWG - 1u) / AWG;
    let lo = min(lid * per, len);
    let hi = min(lo + per, len);
    var sum = 0u;
    for (var i = lo; i < hi; i++) {
        sum += counts[i];
    }
    var run = workgroup_exclusive(lid, vec2<u32>(sum, 0u)).x;
    for (var i = lo; i < hi; i++) {
        let c = counts[i];
        counts[i] = run;
        run += c;
    }
}

@compute @workgroup_size(AWG)
fn radix_scatter(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let b = wid.x + wid.y * nwg.x;
    let valid_block = b < ap.n_blocks;
    if (valid_block) {
        atomicStore(&w_hist[lid], counts[lid * ap.n_blocks + b]);
    }
    let n = atomicLoad(&asm_meta[META_N]);
    // The masks start at zero (the pipelines skip workgroup memory's zero-initialisation).
    for (var k = lid; k < DIGITS * MASK_WORDS; k += AWG) {
        atomicStore(&w_mask[k], 0u);
    }
    workgroupBarrier();
    for (var r = 0u; r < ROUNDS; r++) {
        let i = b * BLOCK + r * AWG + lid;
        let valid = valid_block && i < n;
        var d = NO_DIGIT;
        var pos = 0u;
        if (valid) {
            pos = src[i];
            d = digit_of(pos);
        }
        // Stable rank: the digit's base plus the earlier invocations of this round with the same
        // digit, counted from the digit's bit mask (at most MASK_WORDS popcounts, where a loop
        // over the earlier invocations averaged 128 reads).
        let word = lid / 32u;
        if (valid) {
            atomicOr(&w_mask[d * MASK_WORDS + word], 1u << (lid % 32u));
        }
        workgroupBarrier();
        if (valid) {
            var rank = atomicLoad(&w_hist[d]);
            for (var k = 0u; k < word; k++) {
                rank += countOneBits(atomicLoad(&w_mask[d * MASK_WORDS + k]));
            }
            let below = (1u << (lid % 32u)) - 1u;
            rank += countOneBits(atomicLoad(&w_mask[d * MASK_WORDS + word]) & below);
            dst[rank] = pos;
        }
        workgroupBarrier();
        if (valid) {
            atomicAdd(&w_hist[d], 1u);
            // Every set word is cleared by the invocations that set it.
            atomicStore(&w_mask[d * MASK_WORDS + word], 0u);
        }
        workgroupBarrier();
    }
}

// One workgroup: each segment's first position and first pack (exclusive prefixes of cells and
// of whole packs), the total of packs.
@compute @workgroup_size(AWG)
fn seg_scan(@builtin(local_invocation_index) lid: u32) {
    let len = ap.n_seg;
    let per = (len + AWG - 1u) / AWG;
    let lo = min(lid * per, len);
    let hi = min(lo + per, len);
    var sum = vec2<u32>(0u, 0u);
    for (var s = lo; s < hi; s++) {
        let c = atomicLoad(&seg_count[s]);
        sum += vec2<u32>(c, c / ap.pack_size);
    }
    var run = workgroup_exclusive(lid, sum);
    for (var s = lo; s < hi; s++) {
        let c = atomicLoad(&seg_count[s]);
        seg_start[s] = run.x;
        pack_start[s] = run.y;
        run += vec2<u32>(c, c / ap.pack_size);
    }
    if (lid == AWG - 1u) {
        pack_start[len] = run.y;
        atomicStore(&asm_meta[META_PACKS], run.y);
    }
}

// The segment of pack p: the last s with pack_start[s] <= p (it has p's pack).
fn segment_of(p: u32) -> u32 {
    var lo = 0u;
    var hi = ap.n_seg;
    while (hi - lo > 1u) {
        let mid = (lo + hi) / 2u;
        if (pack_start[mid] <= p) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

// Where group g of pack p starts in the sorted positions (`dst` holds them after the sort).
fn group_base(p: u32, g: u32, s: u32) -> u32 {
    return seg_start[s] + (p - pack_start[s]) * ap.pack_size + g * ap.parallel;
}

@compute @workgroup_size(AWG)
fn groups(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let id = flat_id(wid, nwg, lid);
    let packs = atomicLoad(&asm_meta[META_PACKS]);
    if (id >= packs * ap.series) {
        return;
    }
    let p = id / ap.series;
    let g = id % ap.series;
    let s = segment_of(p);
    let base = group_base(p, g, s);
    var first = 0xFFFFFFFFu;
    var q = 0.0;
    var defects = 0u;
    for (var k = 0u; k < ap.parallel; k++) {
        let pos = dst[base + k];
        let c = cells[pos];
        first = min(first, pos);
        // `initial_capacity`: the group's Σq0 in the group's order.
        q = q + c.q0;
        defects += select(0u, 1u, (c.flags & FLAG_DEFECT) != 0u);
    }
    grp[id] = GroupInfo(first, q, defects, s);
}

// `place_groups`: a group's place along the string is the number of the pack's groups whose
// first cell comes earlier.
@compute @workgroup_size(AWG)
fn place(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let id = flat_id(wid, nwg, lid);
    let packs = atomicLoad(&asm_meta[META_PACKS]);
    if (id >= packs * ap.series) {
        return;
    }
    let p = id / ap.series;
    let g = id % ap.series;
    let me = grp[id];
    var rank = 0u;
    for (var h = 0u; h < ap.series; h++) {
        rank += select(0u, 1u, grp[p * ap.series + h].first < me.first);
    }
    let base = group_base(p, g, me.seg);
    let out = p * ap.pack_size + rank * ap.parallel;
    for (var k = 0u; k < ap.parallel; k++) {
        assembled[out + k] = cells[dst[base + k]];
    }
}

@compute @workgroup_size(AWG)
fn pack_stats(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let p = flat_id(wid, nwg, lid);
    if (p >= atomicLoad(&asm_meta[META_PACKS])) {
        return;
    }
    var q = bitcast<f32>(0x7F800000u);
    var defects = 0u;
    for (var g = 0u; g < ap.series; g++) {
        let gi = grp[p * ap.series + g];
        q = min(q, gi.q);
        defects += gi.defects;
    }
    let s = grp[p * ap.series].seg;
    let bins = bins_per_window();
    let w = s / bins;
    pack_out[p] = PackOut(q, defects, w, p - pack_start[w * bins]);
}

// The cell indices of the kept packs, in pack order: what `KeptPack::cells` holds.
@compute @workgroup_size(AWG)
fn gather_ids(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let id = flat_id(wid, nwg, lid);
    let k = id / ap.pack_size;
    if (k >= kept_packs[0]) {
        return;
    }
    let c = assembled[kept_packs[1u + k] * ap.pack_size + id % ap.pack_size];
    kept_ids[id] = vec2<u32>(c.index_lo, c.index_hi);
}
