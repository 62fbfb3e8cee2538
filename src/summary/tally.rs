//! [`LineStats::push`] for a block of records at once, as the CPU line counts them: the records
//! are turned into columns a slice at a time and counted in branch-free loops over the slice (the
//! moments' rounding, the histograms' bins, the masks) that vectorise, with integer partial sums
//! that are exact. The result is what pushing the cells one by one gives, bit for bit.

use super::stats::{FIX, Histogram, LineStats, Moments};
use crate::model::{CellRecord, Scrap, Stage, flags};

/// Cells counted per pass over the columns (the CPU line's slice: the columns stay in L1).
const SLICE: usize = 256;

/// Columns of a slice's records, in the order [`Cols::vals`] holds them.
const NP: usize = 0;
const K: usize = 1;
const Q_TRUE: usize = 2;
const Q_MEAS: usize = 3;
const R_TRUE: usize = 4;
const R_MEAS: usize = 5;

/// Which cells a moment or histogram counts: bits of [`Cols::mask`].
const ALL: u32 = 1 << 0;
/// Reached the aging test (scrapped at formation or later, or passed).
const AGED: u32 = 1 << 1;
/// Reached the EOL gauges (passed, or scrapped for capacity or DCIR).
const TESTED: u32 = 1 << 2;
const PASSED: u32 = 1 << 3;
/// Scrapped at EOL (the shaded tail).
const EOL_SCRAP: u32 = 1 << 4;

/// The moments of [`LineStats`] as (column, cells counted), in [`Tally::moments`] order. The
/// tested cells are the passed ones and the few scrapped at EOL: q_true's and r_true's moments
/// over them are counted over the latter only ([`EOL_SCRAP`], one by one) and the passed moments
/// are added at the end, which saves two passes over the slice.
const MOMENTS: [(usize, u32); 8] = [
    (Q_TRUE, EOL_SCRAP),
    (Q_MEAS, TESTED),
    (R_TRUE, EOL_SCRAP),
    (R_MEAS, TESTED),
    (Q_TRUE, PASSED),
    (R_TRUE, PASSED),
    (K, AGED),
    (NP, ALL),
];

/// The histograms of [`LineStats`] as (column, cells counted), in [`Tally::hists`] order.
const HISTS: [(usize, u32); 6] = [
    (Q_TRUE, TESTED),
    (Q_MEAS, TESTED),
    (Q_MEAS, EOL_SCRAP),
    (R_MEAS, TESTED),
    (K, AGED),
    (NP, ALL),
];

/// Below this magnitude a value scaled by 2²⁴ rounds exactly in f64 and converts to an integer by
/// the 2⁵²+2⁵¹ trick (AVX2 has no packed f64 → i64); a slice with a larger value (or a NaN)
/// takes [`Moments::push`] for that moment.
const FAST: f64 = 1.125_899_906_842_624e15; // 2⁵⁰

/// One slice as columns (kept by the [`Tally`] and overwritten slice after slice).
struct Cols {
    n: usize,
    vals: [[f32; SLICE]; 6],
    /// The values in units of 2⁻²⁴, rounded as [`Moments::push`] rounds them: valid where `fast`.
    fixed: [[i64; SLICE]; 6],
    /// Every value of the column below [`FAST`] in magnitude (after scaling).
    fast: [bool; 6],
    flags: [u32; SLICE],
    mask: [u32; SLICE],
    /// Scrap code (0 = passed).
    code: [u32; SLICE],
    /// The first `n_eol` entries: the cells scrapped at EOL ([`EOL_SCRAP`], few), ascending.
    eol: [u16; SLICE],
    n_eol: usize,
}

/// A histogram's counts with under- and overflow beside them and a slot for cells not counted:
/// `[under, bins…, over, skipped]`, so that every cell increments one slot; [`WAYS`] such rows
/// side by side (see [`count_slots`]), added up by [`Tally::finish`].
struct Bins {
    lo: f64,
    span: f64,
    bins: usize,
    counts: Vec<u64>,
}

/// Copies of each count array that consecutive cells increment in turn: a run of cells in one bin
/// was a chain of increments of one memory word, each waiting for the last (store to load), which
/// took a tenth of the CPU line's counting.
const WAYS: usize = 4;

/// Count `slots` (each below `stride`) into `counts`, [`WAYS`] rows of `stride` slots: cell `i`
/// into row `i % WAYS`. The slots' bound is checked once, on their maximum (one vector pass),
/// instead of at each increment (a compare and a branch each, a tenth of the counting).
#[inline(always)]
fn count_slots(counts: &mut [u64], stride: usize, slots: &[u32]) {
    let max = slots.iter().fold(0u32, |m, &s| m.max(s));
    assert!(
        (max as usize) < stride && counts.len() >= WAYS * stride,
        "slot {max} of {stride} in {} counts",
        counts.len()
    );
    let mut quads = slots.chunks_exact(WAYS);
    for q in &mut quads {
        for (w, &s) in q.iter().enumerate() {
            // SAFETY: `w < WAYS` and `s ≤ max < stride` (asserted above), so the index is below
            // `WAYS · stride ≤ counts.len()`.
            unsafe { *counts.get_unchecked_mut(w * stride + s as usize) += 1 };
        }
    }
    for &s in quads.remainder() {
        counts[s as usize] += 1;
    }
}

/// The sum of the [`WAYS`] rows of `stride` slots of `counts`, slot by slot.
fn fold(counts: &[u64], stride: usize) -> Vec<u64> {
    let mut total = counts[..stride].to_vec();
    for row in counts[stride..].chunks_exact(stride) {
        for (t, c) in total.iter_mut().zip(row) {
            *t += c;
        }
    }
    total
}

/// A block's statistics while its slices are counted; [`Tally::finish`] makes them [`LineStats`].
pub struct Tally {
    stats: LineStats,
    cols: Box<Cols>,
    /// Cells per scrap code (codes a record cannot carry count as passed, as `Scrap::from_code`).
    codes: [u64; 6],
    /// Grade counts of passed cells, and a last slot for the others: [`WAYS`] rows.
    grades: Vec<u64>,
    /// (n, Σv, Σv²) of [`MOMENTS`], v the value in units of 2⁻²⁴.
    moments: [(u64, i128, i128); 8],
    hists: [Bins; 6],
    /// Defects, breaches, and defects, breaches and plating among passed cells.
    flagged: [u64; 5],
}

impl Tally {
    /// Cells counted per pass over the columns: a caller that hands over this many records at a
    /// time has them counted while they are in the first-level cache.
    pub const SLICE: usize = SLICE;

    /// Nothing counted yet; `stats` gives the histograms' ranges and the grade count (and is what
    /// [`Tally::finish`] adds to).
    pub fn new(stats: LineStats) -> Tally {
        let bins = |h: &Histogram| Bins {
            lo: h.lo,
            span: h.hi - h.lo,
            bins: h.counts.len(),
            counts: vec![0; WAYS * (h.counts.len() + 3)],
        };
        let s = &stats;
        Tally {
            cols: Box::new(Cols {
                n: 0,
                vals: [[0.0; SLICE]; 6],
                fixed: [[0; SLICE]; 6],
                fast: [false; 6],
                flags: [0; SLICE],
                mask: [0; SLICE],
                code: [0; SLICE],
                eol: [0; SLICE],
                n_eol: 0,
            }),
            codes: [0; 6],
            grades: vec![0; WAYS * (s.grades.len() + 1)],
            moments: [(0, 0, 0); 8],
            hists: [
                bins(&s.hist_q_true),
                bins(&s.hist_q_meas),
                bins(&s.hist_q_scrapped),
                bins(&s.hist_r_meas),
                bins(&s.hist_k_meas),
                bins(&s.hist_np),
            ],
            flagged: [0; 5],
            stats,
        }
    }

    /// Count `records` as [`LineStats::push`] would one by one.
    #[inline(always)]
    pub fn push(&mut self, records: &[CellRecord]) {
        for rs in records.chunks(SLICE) {
            let c = &mut *self.cols;
            columns(c, rs);
            count_codes(&mut self.codes, &mut self.grades, &mut self.flagged, c);
            for (m, &(col, bit)) in self.moments.iter_mut().zip(&MOMENTS) {
                match bit {
                    EOL_SCRAP => add_moment_rare(m, c, col),
                    _ => add_moment(m, c, col, bit),
                }
            }
            for (h, &(col, bit)) in self.hists.iter_mut().zip(&HISTS) {
                match bit {
                    EOL_SCRAP => add_hist_rare(h, c, col),
                    _ => add_hist(h, c, col, bit),
                }
            }
        }
    }

    /// The block's statistics: what was given to [`Tally::new`] plus every cell pushed.
    pub fn finish(mut self) -> LineStats {
        let mut s = self.stats;
        // Tested = scrapped at EOL (counted so far) + passed (see `MOMENTS`).
        for (tested, passed) in [(0, 4), (2, 5)] {
            let (t, p) = (self.moments[tested], self.moments[passed]);
            self.moments[tested] = (t.0 + p.0, t.1 + p.1, t.2 + p.2);
        }
        for (code, &n) in self.codes.iter().enumerate() {
            let last = Scrap::from_code(code as u32).map_or(Stage::Eol, Scrap::stage) as usize;
            for e in &mut s.entered[..=last] {
                *e += n;
            }
            match code {
                0 => s.passed += n,
                _ => s.scrapped[code - 1] += n,
            }
        }
        let grades = fold(&self.grades, s.grades.len() + 1);
        for (a, b) in s.grades.iter_mut().zip(grades) {
            *a += b;
        }
        let [d, b, dp, bp, pp] = self.flagged;
        s.defects += d;
        s.breaches += b;
        s.defects_passed += dp;
        s.breaches_passed += bp;
        s.plating_passed += pp;
        let moments = [
            &mut s.q_true,
            &mut s.q_meas,
            &mut s.r_true,
            &mut s.r_meas,
            &mut s.q_passed,
            &mut s.r_passed,
            &mut s.k_meas,
            &mut s.np,
        ];
        for (m, &(n, sum, sum_sq)) in moments.into_iter().zip(&self.moments) {
            m.add_sums(n, sum, sum_sq);
        }
        let hists = [
            &mut s.hist_q_true,
            &mut s.hist_q_meas,
            &mut s.hist_q_scrapped,
            &mut s.hist_r_meas,
            &mut s.hist_k_meas,
            &mut s.hist_np,
        ];
        for (h, b) in hists.into_iter().zip(&self.hists) {
            let counts = fold(&b.counts, b.bins + 3);
            h.underflow += counts[0];
            for (a, c) in h.counts.iter_mut().zip(&counts[1..]) {
                *a += c;
            }
            h.overflow += counts[b.bins + 1];
        }
        s
    }
}

/// Scrap codes, grades (the last slot: not passed) and the flag counts of one slice. The codes are
/// counted in 9-bit fields of one word (a slice has fewer than 2⁹ cells), a sum that vectorises
/// where an increment per cell of `codes[code]` was a chain through memory.
#[inline(always)]
fn count_codes(codes: &mut [u64; 6], grades: &mut [u64], flagged: &mut [u64; 5], c: &Cols) {
    const _: () = assert!(SLICE < 1 << 9);
    let stride = grades.len() / WAYS;
    let skip = stride as u32 - 1;
    let mut slots = [0u32; SLICE];
    let (mut f, mut packed) = ([0u64; 5], 0u64);
    for (i, slot) in slots[..c.n].iter_mut().enumerate() {
        packed += 1 << (9 * c.code[i]);
        let passed = c.code[i] == 0;
        let g = (c.flags[i] & flags::GRADE_MASK) >> flags::GRADE_SHIFT;
        *slot = if passed { g } else { skip };
        let bit = |b: u32| u64::from(c.flags[i] & b != 0);
        let p = u64::from(passed);
        f[0] += bit(flags::DEFECT);
        f[1] += bit(flags::BREACH);
        f[2] += p & bit(flags::DEFECT);
        f[3] += p & bit(flags::BREACH);
        f[4] += p & bit(flags::PLATING);
    }
    count_slots(grades, stride, &slots[..c.n]);
    for (code, n) in codes.iter_mut().enumerate() {
        *n += (packed >> (9 * code)) & 0x1FF;
    }
    for (a, b) in flagged.iter_mut().zip(f) {
        *a += b;
    }
}

/// A slice's records as columns, with each cell's scrap code and the masks it is counted under,
/// and the list of the cells scrapped at EOL.
#[inline(always)]
fn columns(c: &mut Cols, rs: &[CellRecord]) {
    c.n = rs.len();
    for (i, r) in rs.iter().enumerate() {
        c.vals[NP][i] = r.np_ratio;
        c.vals[K][i] = r.k_meas;
        c.vals[Q_TRUE][i] = r.q_true;
        c.vals[Q_MEAS][i] = r.q_meas;
        c.vals[R_TRUE][i] = r.r_true;
        c.vals[R_MEAS][i] = r.r_meas;
        c.flags[i] = r.flags;
    }
    for i in 0..c.n {
        let raw = (c.flags[i] & flags::SCRAP_MASK) >> flags::SCRAP_SHIFT;
        // Codes beyond the last reason read as passed (`Scrap::from_code` gives None).
        let code = if raw as usize > Scrap::ALL.len() {
            0
        } else {
            raw
        };
        let late = code >= Scrap::SelfDischarge as u32;
        let eol = code >= Scrap::LowCapacity as u32;
        c.code[i] = code;
        c.mask[i] = ALL
            | if code == 0 || late { AGED } else { 0 }
            | if code == 0 || eol { TESTED } else { 0 }
            | if code == 0 { PASSED } else { 0 }
            | if eol { EOL_SCRAP } else { 0 };
    }
    // The EOL-scrapped cells listed once, without a branch, for the rare counts' three passes.
    // Counted first (a sum that vectorises) and listed only in the slices that have any.
    c.n_eol = (0..c.n)
        .map(|i| usize::from(c.mask[i] & EOL_SCRAP != 0))
        .sum();
    if c.n_eol > 0 {
        // (A local count: `c.n_eol` itself was a load and a store per cell.)
        let mut n_eol = 0;
        for i in 0..c.n {
            c.eol[n_eol] = i as u16;
            n_eol += usize::from(c.mask[i] & EOL_SCRAP != 0);
        }
    }
    for col in 0..6 {
        c.fast[col] = fixed(&c.vals[col][..c.n], &mut c.fixed[col]);
    }
}

/// `xs` in units of 2⁻²⁴ as `round_half_away` rounds them, into `out`, computed in f64 (every
/// step is exact below [`FAST`]) and converted by the 2⁵²+2⁵¹ trick; false if a value is not
/// below [`FAST`] (or is NaN), and then `out` is not to be read.
#[inline(always)]
fn fixed(xs: &[f32], out: &mut [i64; SLICE]) -> bool {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 2⁵² + 2⁵¹
    let mut fast = true;
    for (o, &x) in out.iter_mut().zip(xs) {
        let y = f64::from(x) * FIX;
        fast &= y.abs() < FAST;
        // `y` has at most 24 significant bits: `y ± ½` is exact for ½ ≤ |y| < 2⁵¹, and for
        // |y| < ½ it stays inside (−1, 1) however it rounds (the largest such |y| is ½ − 2⁻²⁵),
        // so truncating it rounds half away from zero wherever `fast` holds — two operations
        // where the remainder's two comparisons and conversions were eight.
        let rounded = (y + 0.5f64.copysign(y)).trunc();
        *o = ((rounded + MAGIC).to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64);
    }
    fast
}

/// The moment of column `col` over the cells with mask `bit`: exact integer sums. A value `v`
/// below 2⁵⁰ in magnitude splits as `h·2²⁵ + l` (h, l < 2²⁵), so `v² = h²·2⁵⁰ + 2hl·2²⁵ + l²`
/// from three u64 sums that cannot overflow within a slice.
#[inline(always)]
fn add_moment(m: &mut (u64, i128, i128), c: &Cols, col: usize, bit: u32) {
    if !c.fast[col] {
        let mut slow = Moments::default();
        for (i, &x) in c.vals[col][..c.n].iter().enumerate() {
            if c.mask[i] & bit != 0 {
                slow.push(x);
            }
        }
        let (sum, sum_sq) = slow.sums();
        *m = (m.0 + slow.n, m.1 + sum, m.2 + sum_sq);
        return;
    }
    const LOW: u32 = (1 << 25) - 1;
    let (mut n, mut sum, mut hh, mut hl, mut ll) = (0u64, 0i64, 0u64, 0u64, 0u64);
    for (i, &v) in c.fixed[col][..c.n].iter().enumerate() {
        let on = c.mask[i] & bit != 0;
        let v = if on { v } else { 0 };
        let w = v.unsigned_abs();
        // Both halves below 2²⁵: u32 × u32 products (one `vpmuludq` each).
        let (h, l) = (u64::from((w >> 25) as u32), u64::from(w as u32 & LOW));
        n += u64::from(on);
        sum += v;
        hh += h * h;
        hl += h * l;
        ll += l * l;
    }
    let sq = (i128::from(hh) << 50) + (i128::from(hl) << 26) + i128::from(ll);
    *m = (m.0 + n, m.1 + i128::from(sum), m.2 + sq);
}

/// [`add_moment`] over the cells scrapped at EOL (few): those cells one by one.
#[inline(always)]
fn add_moment_rare(m: &mut (u64, i128, i128), c: &Cols, col: usize) {
    let mut rare = Moments::default();
    for &i in &c.eol[..c.n_eol] {
        rare.push(c.vals[col][usize::from(i)]);
    }
    let (sum, sum_sq) = rare.sums();
    *m = (m.0 + rare.n, m.1 + sum, m.2 + sum_sq);
}

/// [`add_hist`] over the cells scrapped at EOL (few): those cells one by one.
#[inline(always)]
fn add_hist_rare(h: &mut Bins, c: &Cols, col: usize) {
    for &i in &c.eol[..c.n_eol] {
        let s = slot(h, c.vals[col][usize::from(i)]) as usize;
        h.counts[s] += 1;
    }
}

/// The slot of `x` in `h`'s counts (under, bins…, over), with [`Histogram::push`]'s operations.
#[inline(always)]
fn slot(h: &Bins, x: f32) -> u32 {
    let bins = h.bins as u32;
    let t = (f64::from(x) - h.lo) / h.span;
    // Only read for 0 ≤ t < 1 (the same product then); other t (NaN included) are replaced by 0
    // so that the conversion needs no saturation, which kept the loop scalar. i32, not u32: AVX2
    // converts packed f64 to i32 only.
    let u = if (0.0..1.0).contains(&t) { t } else { 0.0 };
    // SAFETY: 0 ≤ u < 1, so the product is finite and at most `bins`, which fits in an i32.
    let k = unsafe { (u * f64::from(bins)).to_int_unchecked::<i32>() };
    let k = k.min(bins as i32 - 1) as u32 + 1;
    if t < 0.0 || t.is_nan() {
        0
    } else if t >= 1.0 {
        bins + 1
    } else {
        k
    }
}

/// The histogram of column `col` over the cells with mask `bit`: each cell's slot computed as
/// [`Histogram::push`] bins it (the same f64 operations), then counted.
#[inline(always)]
fn add_hist(h: &mut Bins, c: &Cols, col: usize, bit: u32) {
    let xs = &c.vals[col][..c.n];
    let mut slots = [0u32; SLICE];
    let skip = h.bins as u32 + 2;
    for (i, &x) in xs.iter().enumerate() {
        let s = slot(h, x);
        slots[i] = if c.mask[i] & bit != 0 { s } else { skip };
    }
    count_slots(&mut h.counts, h.bins + 3, &slots[..c.n]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LineParams;
    use crate::summary::HistSpec;

    /// [`fixed`] rounds as [`Moments::push`] does: f32s of every magnitude with either sign, and
    /// the halves and near-halves of 2⁻²⁴ steps.
    #[test]
    fn fixed_rounds_as_push() {
        let mut xs: Vec<f32> = (0..400_000u32)
            .map(|k| {
                f32::from_bits(k.wrapping_mul(2_654_435_761) >> 1)
                    * if k % 2 == 0 { 1.0 } else { -1.0 }
            })
            .collect();
        for n in 0..2000 {
            let half = (n as f32 + 0.5) / 16_777_216.0;
            xs.extend([
                half,
                -half,
                half.next_up(),
                half.next_down(),
                -half.next_up(),
            ]);
        }
        let mut out = [0i64; SLICE];
        for x in xs {
            let fast = fixed(&[x], &mut out);
            if fast {
                let mut m = Moments::default();
                m.push(x);
                assert_eq!(i128::from(out[0]), m.sums().0, "{x:e}");
            }
        }
    }

    /// A tally equals cell-by-cell pushes on real cells, on cells with odd values (NaN, huge,
    /// negative, halves of 2⁻²⁴) and with every scrap code a record's bits can carry.
    #[test]
    fn tally_equals_push() {
        let scene = crate::scene::load(None, &["coating.defects_per_cell=0.3".into()]).unwrap();
        let p = LineParams::from_scene(&scene);
        let spec = HistSpec::for_params(&p);
        let mut rs = vec![CellRecord::default(); 3000];
        crate::model::lanes::simulate_cells(&p, 0, &mut rs);
        let odd = [
            f32::NAN,
            1e30,
            -1e30,
            -3.0,
            0.5 / 16_777_216.0,
            1.5 / 16_777_216.0,
        ];
        for (i, r) in rs.iter_mut().enumerate().skip(2000).step_by(7) {
            r.q_true = odd[i % odd.len()];
            r.k_meas = odd[(i / 3) % odd.len()];
            r.flags = (r.flags & !flags::SCRAP_MASK) | (((i as u32) % 16) << flags::SCRAP_SHIFT);
        }
        for range in [0..3000, 0..1000, 17..300, 2000..2001] {
            let mut want = LineStats::new(&spec, p.grade_bins);
            rs[range.clone()].iter().for_each(|r| want.push(r));
            let mut t = Tally::new(LineStats::new(&spec, p.grade_bins));
            t.push(&rs[range.clone()]);
            assert_eq!(t.finish(), want, "{range:?}");
        }
    }
}
