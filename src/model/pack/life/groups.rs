//! What a pack step reads and writes of its series groups as wholes: a group's value spread to
//! its cells, the pack's resistance as a sum and its capacity as a minimum over the groups, and
//! balancing of the groups' charge offsets. Kept apart from [`super`]'s step loop because these
//! are reductions whose order fixes their bits (the WGSL twin sums in the same order) or whose
//! result does not depend on it (minima).

/// Each group's value to each of its `np` cells.
#[inline(always)]
pub(super) fn spread(groups: &[f32], np: usize, cells: &mut [f32]) {
    if np == 1 {
        cells.copy_from_slice(groups);
    } else {
        for (chunk, v) in cells.chunks_exact_mut(np).zip(groups) {
            chunk.fill(*v);
        }
    }
}

/// Pack capacity: the smallest group, less its charge offset from the best-charged group (whose
/// offset is `min_off`, the smallest of `offset`).
#[inline(always)]
pub(super) fn pack_capacity(q_groups: &[f32], offset: &[f32], min_off: f32) -> f32 {
    min_of(q_groups, offset, |q, off| q - (off - min_off))
}

/// The smallest `f(a[i], b[i])` (∞ if none) in 16 lanes, element `i` in lane `i % 16`: a minimum
/// does not depend on the order, so this is the sequential fold's value, without its chain of
/// dependent compares (16 lanes are two vectors, two chains of half the length). Whole groups of
/// 16 first (fixed-size chunks, so that no index is checked and each lane is a register: an index
/// closure compiled to scalar compares). A compare and select, not `f32::min`, whose NaN handling
/// compiled to an unordered compare per element: the same value here (lanes are never NaN; a NaN
/// is skipped by both). With the lanes folded as a chain of `f32::min`s and one vector, the three
/// minima of each step were ≈ 5 % of a one-thread run.
#[inline(always)]
fn min_of(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let n = a.len().min(b.len());
    let sel = |a: f32, b: f32| if b < a { b } else { a };
    let ((ac, ar), (bc, br)) = (a[..n].as_chunks::<16>(), b[..n].as_chunks::<16>());
    let mut lanes = [f32::INFINITY; 16];
    for (x, y) in ac.iter().zip(bc) {
        for j in 0..16 {
            lanes[j] = sel(lanes[j], f(x[j], y[j]));
        }
    }
    for ((lane, &x), &y) in lanes.iter_mut().zip(ar).zip(br) {
        *lane = sel(*lane, f(x, y));
    }
    // The lanes folded as a tree, four compare-selects deep.
    let l: [f32; 8] = std::array::from_fn(|j| sel(lanes[j], lanes[j + 8]));
    let (m0, m1) = (sel(l[0], l[4]), sel(l[1], l[5]));
    let (m2, m3) = (sel(l[2], l[6]), sel(l[3], l[7]));
    sel(sel(m0, m2), sel(m1, m3))
}

/// `Σ v` in 8 lanes, element `i` into lane `i % 8` in order, the lanes then added pairwise
/// (`((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))`): eight short chains of dependent adds
/// instead of one long one (a 96S pack's resistance was a 96-add chain every step). The WGSL
/// twin sums in the same order (`pack_resistance`).
#[inline(always)]
pub(super) fn sum_of(v: &[f32]) -> f32 {
    let (chunks, rest) = v.as_chunks::<8>();
    let mut lanes = [0.0f32; 8];
    for c in chunks {
        for j in 0..8 {
            lanes[j] += c[j];
        }
    }
    for (lane, &x) in lanes.iter_mut().zip(rest) {
        *lane += x;
    }
    let l = lanes;
    ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

/// Passive balancing pulls every group toward the best-charged one by up to `balance_ah` (≥ 0,
/// as validation keeps it). Returns the smallest offset, before and after: each offset `o`
/// becomes `max(o − b, m) ≥ m`, and the smallest, `m`, becomes `max(m − b, m) = m` itself.
#[inline(always)]
pub(super) fn balance(offset: &mut [f32], balance_ah: f32) -> f32 {
    let min_off = min_of(offset, offset, |o, _| o);
    for o in offset.iter_mut() {
        *o = (*o - balance_ah).max(min_off);
    }
    min_off
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sequential fold that [`min_of`] stands for: the first smallest `f(a[i], b[i])`, a NaN
    /// skipped, ∞ if none.
    fn fold_min(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f(x, y))
            .fold(f32::INFINITY, |m, v| if v < m { v } else { m })
    }

    /// Values in [−1, 1) from a fixed Philox stream, one per index.
    fn values(n: usize, draw: u32) -> Vec<f32> {
        let rng = crate::rng::Philox::new(7);
        (0..n as u64)
            .map(|i| 2.0 * rng.uniforms(i, 0, draw)[0] - 1.0)
            .collect()
    }

    /// [`min_of`]'s 16 lanes and tree fold give the sequential minimum bit for bit, whichever lane
    /// (or the tail past the last 16) holds it: every length up to 50 and a 96-group pack, the
    /// minimum moved to each position in turn, with a NaN and an infinity among the values.
    #[test]
    fn min_of_is_the_sequential_minimum() {
        for n in (0..=50).chain([96]) {
            let (a, b) = (values(n, 0), values(n, 1));
            let f = |x: f32, y: f32| x - 0.5 * y;
            assert_eq!(
                min_of(&a, &b, f).to_bits(),
                fold_min(&a, &b, f).to_bits(),
                "n = {n}"
            );
            for at in 0..n {
                let mut a = a.clone();
                a[at] = -10.0;
                if n > 1 {
                    a[(at + 1) % n] = f32::NAN;
                }
                if n > 2 {
                    a[(at + 2) % n] = f32::INFINITY;
                }
                let got = min_of(&a, &b, f);
                assert_eq!(
                    got.to_bits(),
                    fold_min(&a, &b, f).to_bits(),
                    "n = {n}, at {at}"
                );
                assert!(got <= -9.5, "n = {n}, at {at}: {got}");
            }
        }
        assert_eq!(min_of(&[], &[], |x, _| x), f32::INFINITY);
    }

    /// [`balance`] returns the smallest offset it leaves (what the next step's pack capacity
    /// reads instead of a pass of its own): offsets apart by more and by less than the balancing
    /// Ah, and no balancing at all.
    #[test]
    fn balance_returns_the_minimum_it_leaves() {
        for (n, draw) in [(1, 0), (7, 1), (96, 2), (97, 3)] {
            let offsets: Vec<f32> = values(n, draw).iter().map(|v| 0.02 * (v + 1.0)).collect();
            for b in [0.0, 1e-4, 5e-3, 0.1] {
                let mut o = offsets.clone();
                let m = balance(&mut o, b);
                assert_eq!(
                    m.to_bits(),
                    fold_min(&o, &o, |x, _| x).to_bits(),
                    "n {n}, b {b}"
                );
                assert_eq!(
                    m.to_bits(),
                    fold_min(&offsets, &offsets, |x, _| x).to_bits()
                );
                // Every group moved toward the best-charged one by at most `b` (to f32's rounding
                // of `o − b`), none past it.
                for (after, before) in o.iter().zip(&offsets) {
                    assert!(*after <= *before && *after >= m, "n {n}, b {b}");
                    assert!(
                        before - after <= b + 2.0 * f32::EPSILON * before,
                        "n {n}, b {b}"
                    );
                }
            }
        }
    }
}
