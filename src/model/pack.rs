//! Pack assembly (matching within a warehouse window) and pack life (MODEL.md §3; the life
//! simulation is in [`life`], re-exported here).

use super::{CellRecord, flags};
use crate::rng::{Philox, stream};
use crate::scene::{Matching, Scene};
use bytemuck::{Pod, Zeroable};

pub mod life;
pub use life::{
    EndOfLife, Follow, PackLife, PackPlaces, cycling_factor, fade_scalar, nominal_cell_life,
    np_factor, overpotential_factor, sei_factor, simulate_pack, simulate_pack_cells,
    simulate_pack_placed, simulate_pack_to,
};

/// What pack assembly and life need of a passed cell. Shared with WGSL (`PackCell`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct PackCell {
    /// Initial (true) capacity, Ah.
    pub q0: f32,
    /// Initial (true) DCIR, mΩ.
    pub r0: f32,
    /// Self-discharge, mV/day.
    pub k: f32,
    /// Electrolyte fill ratio's shortfall below the optimum, fraction: raises cycling fade.
    pub fill_shortfall: f32,
    /// Measured capacity, Ah: what matching sorts by.
    pub q_meas: f32,
    /// [`flags`] bits of the cell record (defect, plating, grade).
    pub flags: u32,
    /// Global cell index (keys the cell's draws in life), low word.
    pub index_lo: u32,
    /// Global cell index, high word.
    pub index_hi: u32,
    /// Anode-to-cathode capacity ratio as coated: its margin sets the cycling fade.
    pub np_ratio: f32,
    /// First-cycle loss at formation, fraction: its SEI sets the calendar fade.
    pub first_cycle_loss: f32,
    /// Measured DCIR, mΩ: what `sorted_dcir` matching sorts by.
    pub r_meas: f32,
    /// Tab-weld resistance, mΩ (part of `r0`): heats the tab locally.
    pub r_tab: f32,
}

const _: () = assert!(std::mem::size_of::<PackCell>() == 48);

impl PackCell {
    /// What a pack keeps of the passed cell `index`'s record.
    pub fn from_record(r: &CellRecord, index: u64) -> PackCell {
        PackCell {
            q0: r.q_true,
            r0: r.r_true,
            k: r.k_true,
            fill_shortfall: r.fill_shortfall,
            q_meas: r.q_meas,
            flags: r.flags,
            index_lo: index as u32,
            index_hi: (index >> 32) as u32,
            np_ratio: r.np_ratio,
            first_cycle_loss: r.first_cycle_loss,
            r_meas: r.r_meas,
            r_tab: r.r_tab,
        }
    }
    /// The scene's nominal cell: rated capacity, nominal DCIR, design N/P, nominal first-cycle
    /// loss, median self-discharge, no defect. Every process→aging factor is 1 for it.
    pub fn nominal(s: &Scene) -> PackCell {
        let (q, r) = (s.cell.capacity_ah as f32, s.cell.dcir_mohm as f32);
        PackCell {
            q0: q,
            r0: r,
            k: s.formation.k_median_mv_day as f32,
            q_meas: q,
            r_meas: r,
            np_ratio: s.coating.np_design as f32,
            first_cycle_loss: s.formation.first_cycle_loss as f32,
            r_tab: s.winding.tab_weld_median_mohm as f32,
            ..PackCell::default()
        }
    }
    /// The global cell index.
    pub fn index(&self) -> u64 {
        u64::from(self.index_lo) | (u64::from(self.index_hi) << 32)
    }
    /// Its capacity grade bin (0 = lowest).
    pub fn grade(&self) -> u32 {
        (self.flags & flags::GRADE_MASK) >> flags::GRADE_SHIFT
    }
}

/// Order a window's cells for assembly; consecutive runs of `pack_size` form packs (groups of
/// `parallel` consecutive cells within a pack). Returns the order and how many cells are left over
/// (not packed from this window; counted as unpacked, as stock a real line would carry over).
///
/// Every order is a stable sort by a 32-bit key with the window position breaking ties
/// ([`match_key`]; `binned`: the grade), so the GPU's radix sort makes the same packs from the same
/// cells. `random`'s key is keyed by the cell index alone, so the window's number does not enter.
pub fn match_window(
    cells: &[PackCell],
    matching: Matching,
    pack_size: usize,
    grade_bins: u32,
    rng: &Philox,
) -> (Vec<u32>, usize) {
    let n = cells.len();
    match matching {
        Matching::Random | Matching::Sorted | Matching::SortedDcir => {
            // Stable by a 32-bit key, the window position breaking ties. `random`'s key is a
            // Philox word keyed by the cell (not a Fisher–Yates shuffle, which is inherently
            // sequential): a keyed sort is a shuffle the GPU's radix sort computes identically
            // (`shaders/assemble.wgsl`), so both backends make the same random packs.
            let mut order = keyed_order(cells, |c| match_key(c, matching, rng));
            let packs = n / pack_size;
            order.truncate(packs * pack_size);
            (order, n - packs * pack_size)
        }
        Matching::Binned => {
            // Production order within each grade bin; a bin's remainder is left unpacked.
            let mut order = Vec::with_capacity(n);
            let mut left = 0;
            let mut bins: Vec<Vec<u32>> = vec![Vec::new(); grade_bins as usize];
            for (i, c) in cells.iter().enumerate() {
                bins[(c.grade() as usize).min(grade_bins as usize - 1)].push(i as u32);
            }
            for bin in bins {
                let packs = bin.len() / pack_size;
                order.extend_from_slice(&bin[..packs * pack_size]);
                left += bin.len() - packs * pack_size;
            }
            (order, left)
        }
    }
}

/// The 32-bit key a cell is ordered by in its window (`random`, `sorted`, `sorted_dcir`; ties by
/// window position): a Philox word keyed by the cell index for `random`, else the total-order bits
/// of the measured capacity or DCIR. Twin of `match_key` in `shaders/assemble.wgsl`.
pub fn match_key(c: &PackCell, matching: Matching, rng: &Philox) -> u32 {
    match matching {
        Matching::Random => rng.words(c.index(), stream::MATCHING, 0)[0],
        Matching::SortedDcir => total_order_bits(c.r_meas),
        _ => total_order_bits(c.q_meas),
    }
}

/// Window positions ordered by `(key, position)`.
fn keyed_order(cells: &[PackCell], key: impl Fn(&PackCell) -> u32) -> Vec<u32> {
    // One u64 per cell, the key above the position, in position order: a stable sort by the
    // key alone then gives exactly the (key, position) order, without chasing 48-byte cells
    // through memory.
    let keyed: Vec<u64> = cells
        .iter()
        .enumerate()
        .map(|(i, c)| (u64::from(key(c)) << 32) | i as u64)
        .collect();
    radix_sort_by_high_word(keyed)
        .iter()
        .map(|&k| k as u32)
        .collect()
}

/// Digit width of [`radix_sort_by_high_word`]: three passes cover a 32-bit key, and a pass's
/// 2 048 counters stay in the first-level cache.
const RADIX_BITS: u32 = 11;

/// `items` stably sorted by their high 32 bits: a least-significant-digit radix sort, three
/// counting passes of [`RADIX_BITS`]. For `keyed_order` the same order as `sort_unstable` of the
/// whole words (the low words ascend in `items`), in 0.65 ms a 10⁵-cell window against 1.42 ms
/// (a 10⁶-cell run's ten windows, two at a time).
fn radix_sort_by_high_word(mut items: Vec<u64>) -> Vec<u64> {
    let mut other = vec![0u64; items.len()];
    let buckets = 1usize << RADIX_BITS;
    let mut count = vec![0usize; buckets];
    for pass in 0..32u32.div_ceil(RADIX_BITS) {
        let shift = 32 + pass * RADIX_BITS;
        let digit = |x: u64| ((x >> shift) as usize) & (buckets - 1);
        count.fill(0);
        for &x in &items {
            count[digit(x)] += 1;
        }
        if count.contains(&items.len()) {
            // One digit value for every item: the pass would not move anything.
            continue;
        }
        let mut at = 0;
        for c in count.iter_mut() {
            (*c, at) = (at, at + *c);
        }
        for &x in &items {
            let d = digit(x);
            other[count[d]] = x;
            count[d] += 1;
        }
        std::mem::swap(&mut items, &mut other);
    }
    items
}

/// An f32's bits mapped so that unsigned order is `f32::total_cmp` order (negative values
/// reversed below the positive ones).
#[inline]
pub fn total_order_bits(x: f32) -> u32 {
    let b = x.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// Place a matched pack's parallel groups along the string in production order (by each group's
/// first cell index). Matching decides which cells share a pack and a group; where a group sits
/// (and so its coolant temperature) is not a matching decision. Without this, `sorted` would put
/// the weakest group at the cool inlet every time and mix a placement effect into the comparison.
pub fn place_groups(cells: &mut [PackCell], parallel: usize) {
    let placed: Vec<PackCell> = placed_order(cells, parallel)
        .into_iter()
        .map(|k| cells[k as usize])
        .collect();
    cells.copy_from_slice(&placed);
}

/// The order [`place_groups`] puts a pack's cells in: `order[k]` is the position in `cells` of
/// the `k`-th cell placed. Groups are ordered by (first cell index, group): the stable order by
/// first index, from an unstable sort of unique keys (a stable sort of group slices and their
/// concatenation was ~9 % of a run without pack life).
pub fn placed_order(cells: &[PackCell], parallel: usize) -> Vec<u32> {
    let parallel = parallel.max(1);
    let mut keys: Vec<(u64, u32)> = cells
        .chunks(parallel)
        .enumerate()
        .map(|(g, group)| {
            let first = group.iter().map(PackCell::index).min();
            (first.unwrap_or(u64::MAX), g as u32)
        })
        .collect();
    keys.sort_unstable();
    let mut order = Vec::with_capacity(cells.len());
    for (_, g) in keys {
        let start = g as usize * parallel;
        order.extend(start as u32..(start + parallel).min(cells.len()) as u32);
    }
    order
}

/// Initial capacity of a pack, Ah: the smallest parallel group.
pub fn initial_capacity(cells: &[PackCell], parallel: usize) -> f32 {
    cells
        .chunks(parallel)
        .map(|g| g.iter().map(|c| c.q0).sum::<f32>())
        .fold(f32::INFINITY, f32::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(index: u64, q: f32) -> PackCell {
        PackCell {
            q0: q,
            q_meas: q,
            index_lo: index as u32,
            index_hi: (index >> 32) as u32,
            ..PackCell::default()
        }
    }

    /// Sorted matching orders a window by capacity; placement then puts the groups back in
    /// production order, keeping each group's members together.
    #[test]
    fn groups_are_placed_in_production_order() {
        let window: Vec<PackCell> = [(7, 4.9), (3, 5.1), (9, 5.0), (1, 4.95)]
            .iter()
            .map(|&(i, q)| cell(i, q))
            .collect();
        let rng = Philox::new(1);
        let (order, left) = match_window(&window, Matching::Sorted, 4, 8, &rng);
        assert_eq!(left, 0);
        let mut pack: Vec<PackCell> = order.iter().map(|&i| window[i as usize]).collect();
        assert_eq!(
            pack.iter().map(|c| c.index()).collect::<Vec<_>>(),
            [7, 1, 9, 3]
        );
        place_groups(&mut pack, 2);
        // Groups {7, 1} and {9, 3}: the first holds cell 1, so it goes first; members stay together.
        assert_eq!(
            pack.iter().map(|c| c.index()).collect::<Vec<_>>(),
            [7, 1, 9, 3]
        );
        place_groups(&mut pack, 1);
        assert_eq!(
            pack.iter().map(|c| c.index()).collect::<Vec<_>>(),
            [1, 3, 7, 9]
        );
    }

    /// The radix sort orders by the high word and keeps the low words' order within a key
    /// (stable), as a stable sort by the key does: keys with few and many distinct values,
    /// including ones that share every digit of a pass.
    #[test]
    fn radix_sort_is_a_stable_sort_by_the_high_word() {
        let rng = Philox::new(11);
        for (n, mask) in [
            (0usize, u32::MAX),
            (1, u32::MAX),
            (5000, u32::MAX),
            (5000, 0x7),
            (3000, 0xF_F800),
        ] {
            let items: Vec<u64> = (0..n as u64)
                .map(|i| (u64::from(rng.words(i, 0, 0)[0] & mask) << 32) | (i * 7 + 3))
                .collect();
            let mut want = items.clone();
            want.sort_by_key(|&x| x >> 32);
            assert_eq!(
                radix_sort_by_high_word(items),
                want,
                "{n} items, mask {mask:#x}"
            );
        }
    }

    /// Placement is the stable sort of the groups by their first cell index, members kept in
    /// order: against that definition over shuffled packs of 1, 2 and 3 cells a group, with
    /// ties (groups sharing a first index) kept in their matched order.
    #[test]
    fn placement_is_the_stable_sort_of_groups_by_first_index() {
        let rng = Philox::new(5);
        for parallel in [1usize, 2, 3] {
            for trial in 0..50u64 {
                let n = parallel * 32;
                let mut pack: Vec<PackCell> = (0..n as u64)
                    .map(|i| cell(rng.words(trial * 1000 + i, 1, 0)[0] as u64 % 40, 5.0))
                    .collect();
                for (i, c) in pack.iter_mut().enumerate() {
                    c.q_meas = i as f32; // tells equal indices apart
                }
                let mut groups: Vec<Vec<PackCell>> =
                    pack.chunks(parallel).map(<[PackCell]>::to_vec).collect();
                groups.sort_by_key(|g| g.iter().map(PackCell::index).min());
                let want: Vec<f32> = groups.concat().iter().map(|c| c.q_meas).collect();
                place_groups(&mut pack, parallel);
                let got: Vec<f32> = pack.iter().map(|c| c.q_meas).collect();
                assert_eq!(got, want, "parallel {parallel}, trial {trial}");
            }
        }
    }

    /// The integer key orders as `f32::total_cmp`, across signs, zeros and magnitudes.
    #[test]
    fn total_order_bits_follow_total_cmp() {
        let xs = [
            -5.0f32, -1.5, -1e-30, -0.0, 0.0, 1e-30, 0.5, 4.999, 5.0, 5.001, 1e30,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(
                    total_order_bits(a).cmp(&total_order_bits(b)),
                    a.total_cmp(&b),
                    "{a} vs {b}"
                );
            }
        }
    }

    /// Random matching is a permutation keyed by the cells alone: the same cells keep their
    /// relative order wherever they sit in a window and whatever the window's number, and it is
    /// not production order.
    #[test]
    fn random_matching_is_a_cell_keyed_permutation() {
        let rng = Philox::new(7);
        let window: Vec<PackCell> = (100..300u64).map(|i| cell(i, 5.0)).collect();
        let (order, left) = match_window(&window, Matching::Random, 8, 8, &rng);
        assert_eq!((order.len(), left), (200, 0));
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..200).collect::<Vec<u32>>());
        assert_ne!(order, (0..200).collect::<Vec<u32>>());
        let ids = |w: &[PackCell], o: &[u32]| {
            o.iter().map(|&i| w[i as usize].index()).collect::<Vec<_>>()
        };
        // The odd cells alone, in another window: their order is the full order's restriction.
        let odd: Vec<PackCell> = window
            .iter()
            .copied()
            .filter(|c| c.index() % 2 == 1)
            .collect();
        let (o2, _) = match_window(&odd, Matching::Random, 4, 8, &rng);
        let restricted: Vec<u64> = ids(&window, &order)
            .into_iter()
            .filter(|i| i % 2 == 1)
            .collect();
        assert_eq!(ids(&odd, &o2), restricted);
    }

    /// Binned matching keeps each pack within one grade and counts a bin's remainder unpacked.
    #[test]
    fn binned_packs_stay_within_a_grade() {
        let mut window = Vec::new();
        for i in 0..23u64 {
            let mut c = cell(i, 5.0);
            c.flags = ((i % 3) as u32) << flags::GRADE_SHIFT;
            window.push(c);
        }
        let (order, left) = match_window(&window, Matching::Binned, 4, 8, &Philox::new(1));
        // Bins hold 8, 8 and 7 cells: two packs each, one bin leaves 3 over, the others 0.
        assert_eq!((order.len(), left), (20, 3));
        for pack in order.chunks(4) {
            let g = window[pack[0] as usize].grade();
            assert!(pack.iter().all(|&i| window[i as usize].grade() == g));
        }
    }
}
