//! Which packs are aged, and which are kept whole: a rule on pack *slots*, so that a shard, the
//! GPU's device path and the one-machine run pick the same packs without talking to each other.
//!
//! Pack `j` of matching window `w` has slot `w · slots + j` (`slots` = the packs a window's
//! started cells could fill). Every `stride`-th slot is aged; every `keep_stride`-th slot (a
//! multiple of `stride`) is also kept whole — its cells' indices and its fade curve — for the fade
//! band and the packs table. Everything else about an aged pack is a few numbers (the summary's `AgedPack`),
//! so aging every pack of 10⁷ cells holds about 10⁵ × 40 bytes, not 10⁷ cells.

use crate::scene::{LifePacks, Scene};

/// The aging and keeping rule of a run (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LifePlan {
    /// Pack slots per matching window.
    pub slots: u64,
    /// Every `stride`-th slot is aged; 0: none.
    pub stride: u64,
    /// Every `keep_stride`-th slot is kept whole; 0: none. A multiple of `stride`.
    pub keep_stride: u64,
    /// Slots in the whole run (windows × slots); the packs actually made are fewer (scrap,
    /// a window's remainder).
    pub total_slots: u64,
}

impl LifePlan {
    /// The plan of `scene` (`pack.life_packs`, `pack.band_packs`, `pack.window`, `cells`).
    pub fn new(scene: &Scene) -> LifePlan {
        let pack_size = scene.cells_per_pack().max(1);
        let window = scene.pack.window.max(1);
        // A window larger than the run holds only the run's cells: count the slots it can fill.
        let slots = (window.min(scene.cells) / pack_size).max(1);
        let total_slots = scene.cells.div_ceil(window).saturating_mul(slots);
        let stride = match scene.pack.life_packs {
            LifePacks::All => scene.cells.div_ceil(LifePacks::ALL_CELLS).max(1),
            LifePacks::Sample(0) => 0,
            LifePacks::Sample(n) => total_slots.div_ceil(u64::from(n)).max(1),
        };
        let aged = if stride == 0 {
            0
        } else {
            total_slots.div_ceil(stride)
        };
        let keep_stride = stride.saturating_mul(aged.div_ceil(scene.pack.band_packs.max(1)).max(1));
        LifePlan {
            slots,
            stride,
            keep_stride,
            total_slots,
        }
    }

    /// Is the pack in `slot` aged?
    #[inline]
    pub fn aged(&self, slot: u64) -> bool {
        self.stride != 0 && slot.is_multiple_of(self.stride)
    }

    /// Is the pack in `slot` kept whole (cells and fade curve)?
    #[inline]
    pub fn kept(&self, slot: u64) -> bool {
        self.keep_stride != 0 && slot.is_multiple_of(self.keep_stride)
    }

    /// Aged slots in the run: an upper bound on the aged packs (for progress bars).
    pub fn aged_slots(&self) -> u64 {
        if self.stride == 0 {
            0
        } else {
            self.total_slots.div_ceil(self.stride)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(sets: &[&str]) -> Scene {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        crate::scene::load(None, &sets).expect("a valid scene")
    }

    /// "all" ages every slot up to 10⁷ cells and the packs of 10⁷ cells above; a count gives
    /// about that many; kept slots are aged slots and about `pack.band_packs` of them.
    #[test]
    fn strides_follow_the_setting() {
        let all = LifePlan::new(&scene(&["cells=1000000"]));
        assert_eq!(all.stride, 1);
        assert_eq!(all.slots, 100_000 / 96);
        assert_eq!(all.total_slots, 10 * (100_000 / 96));
        assert!((1..=all.total_slots).contains(&(all.aged_slots())));
        let big = LifePlan::new(&scene(&["cells=30000000"]));
        assert_eq!(big.stride, 3);
        let n = LifePlan::new(&scene(&["cells=1000000", "pack.life_packs=100"]));
        assert_eq!(n.aged_slots(), n.total_slots.div_ceil(n.stride));
        assert!((100..=105).contains(&n.aged_slots()), "{}", n.aged_slots());
        let none = LifePlan::new(&scene(&["cells=1000000", "pack.life_packs=0"]));
        assert!(!none.aged(0) && !none.kept(0) && none.aged_slots() == 0);
        let band = LifePlan::new(&scene(&["cells=1000000", "pack.band_packs=250"]));
        for (p, want) in [(all, 1000), (big, 1000), (n, 1000), (band, 250)] {
            assert_eq!(p.keep_stride % p.stride, 0);
            let kept = p.total_slots.div_ceil(p.keep_stride);
            assert!(
                kept <= want && kept * 2 > want.min(p.aged_slots()),
                "{kept} for {want}"
            );
        }
    }
}
