//! The app's preview of a scene: the quick first picture a slider change shows before the full
//! run, and what `celltwin bench` times as `preview_s`.

use super::Scene;

/// Cells of the app's quick first picture of a run ([`Scene::preview`]); the full count follows.
pub const PREVIEW_CELLS: u64 = 100_000;

/// Packs kept whole in the preview ([`Scene::preview`]). By `pack.band_packs`' default a 10⁵-cell
/// run keeps every other pack (507 of its 1 013), each followed on past its end at about twice
/// the steps of one that stops there: a third of the preview's pack life for a band that the full
/// run's replaces within half a second. With 203 kept (this bound) the preview's P5 curve stayed
/// within 0.11–0.49 % of capacity (mean 0.04–0.30 %) of the band of a 10⁶-cell run with every
/// pack kept, over three seeds; with the default's 507, within 0.27–0.30 % (0.14–0.20 %).
pub const PREVIEW_BAND_PACKS: u64 = 250;

impl Scene {
    /// The app's quick first picture of this scene (and `celltwin bench`'s `preview_s`):
    /// [`PREVIEW_CELLS`] cells in windows of at most that many, at most [`PREVIEW_BAND_PACKS`]
    /// packs kept whole; every other setting the scene's.
    pub fn preview(&self) -> Scene {
        let mut s = self.clone();
        s.cells = PREVIEW_CELLS;
        s.pack.window = s.pack.window.min(PREVIEW_CELLS).max(s.cells_per_pack());
        s.pack.band_packs = s.pack.band_packs.min(PREVIEW_BAND_PACKS);
        s
    }
}
