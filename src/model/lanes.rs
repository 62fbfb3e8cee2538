//! The CPU line in lane groups: [`LANES`] consecutive cells share each Philox call and each
//! inverse-CDF normal as structure-of-arrays vectors, then every cell goes through the same
//! [`super::line`] as [`super::simulate_cell`]. The records are bit for bit the scalar path's (the
//! lane loops are the scalar operations side by side; the only fused multiply-adds are the
//! normals' explicit `mul_add`s, fused on every path), so the GPU,
//! the cells table and the attribution, which regenerate cells one by one, agree with the line.

use super::{CellRecord, Draws, LineParams, LotDraws, STAGE_STREAMS, draws, line, simulate_cell};
use super::{calendering, coating, filling, formation, sorting, winding};
use crate::rng::{Philox, philox4x32_lanes};

/// Where a lane group's Philox words and `exp`s come from: the portable lane loops and libm, or
/// AVX2 intrinsics and glibc's `expf` ported to 8 lanes (the same bits; chosen with the rest of
/// the code path at run time).
trait LaneWords {
    /// The four words of cells `first..first + LANES` at `(stream, draw 0)`.
    fn words(key: [u32; 2], first: u64, stream: u32) -> [[u32; LANES]; 4];
    /// [`LaneWords::words`] of the stages' streams ([`STAGE_STREAMS`]), in their order.
    #[inline(always)]
    fn stages(key: [u32; 2], first: u64) -> [[[u32; LANES]; 4]; 6] {
        // A loop, not `array::map` (whose std helpers would not inline into the AVX2 code).
        let mut words = [[[0u32; LANES]; 4]; 6];
        for (w, s) in words.iter_mut().zip(STAGE_STREAMS) {
            *w = Self::words(key, first, s);
        }
        words
    }
    /// Whether [`LaneWords::stages_pair`] is one call (the line then goes two groups at a time).
    const PAIRS: bool = false;
    /// [`LaneWords::stages`] of the two groups `first..first + LANES` and the next.
    #[inline(always)]
    fn stages_pair(key: [u32; 2], first: u64) -> [[[[u32; LANES]; 4]; 6]; 2] {
        [
            Self::stages(key, first),
            Self::stages(key, first.wrapping_add(LANES as u64)),
        ]
    }
    /// `x.map(f32::exp)`, bit for bit.
    #[inline(always)]
    fn exp(x: [f32; LANES]) -> [f32; LANES] {
        libm_exp(x)
    }
}

/// `f32::exp` of each lane: the system's `expf`, a call per lane.
#[inline(always)]
fn libm_exp(mut x: [f32; LANES]) -> [f32; LANES] {
    for v in &mut x {
        *v = v.exp();
    }
    x
}

/// [`philox4x32_lanes`]: any CPU.
struct Portable;

impl LaneWords for Portable {
    #[inline(always)]
    fn words(key: [u32; 2], first: u64, stream: u32) -> [[u32; LANES]; 4] {
        philox4x32_lanes::<LANES>(key, first, stream, 0)
    }
}

/// [`crate::rng::philox4x32_x8_avx2`]: only used from [`simulate_cells_avx2`].
#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl LaneWords for Avx2 {
    #[inline(always)]
    fn words(key: [u32; 2], first: u64, stream: u32) -> [[u32; LANES]; 4] {
        // SAFETY: `Avx2` is only instantiated in `simulate_cells_avx2`, entered once AVX2 was
        // detected.
        unsafe { crate::rng::philox4x32_x8_avx2(key, first, stream, 0) }
    }
    #[inline(always)]
    fn stages(key: [u32; 2], first: u64) -> [[[u32; LANES]; 4]; 6] {
        use crate::rng::philox4x32_x8_avx2_streams as streams;
        let [a, b, c, d, e, f] = STAGE_STREAMS;
        // Three streams at a time: their state fills 12 of the 16 vector registers.
        // SAFETY: as in `words`.
        let (x, y) = unsafe {
            (
                streams(key, first, [a, b, c], 0),
                streams(key, first, [d, e, f], 0),
            )
        };
        [x[0], x[1], x[2], y[0], y[1], y[2]]
    }
    #[inline(always)]
    fn exp(x: [f32; LANES]) -> [f32; LANES] {
        // Eight lanes at once where the system's `expf` is glibc's FMA variant (bit for bit).
        super::expf::exp8(x)
    }
}

/// [`Avx2`] with each pair of groups' words from one AVX-512 call
/// ([`crate::rng::philox4x32_x16_avx512_streams`]): only used from [`simulate_cells_avx2`] where
/// the CPU has AVX-512F. The line itself stays 8 lanes wide: its lane loops fill a 256-bit
/// register, and only the generator gains from 16 lanes.
#[cfg(target_arch = "x86_64")]
struct Avx512;

#[cfg(target_arch = "x86_64")]
impl LaneWords for Avx512 {
    const PAIRS: bool = true;
    #[inline(always)]
    fn words(key: [u32; 2], first: u64, stream: u32) -> [[u32; LANES]; 4] {
        Avx2::words(key, first, stream)
    }
    #[inline(always)]
    fn stages(key: [u32; 2], first: u64) -> [[[u32; LANES]; 4]; 6] {
        Avx2::stages(key, first)
    }
    #[inline(always)]
    fn stages_pair(key: [u32; 2], first: u64) -> [[[[u32; LANES]; 4]; 6]; 2] {
        // SAFETY: `Avx512` is only instantiated where AVX-512F was detected.
        unsafe { crate::rng::philox4x32_x16_avx512_streams(key, first, STAGE_STREAMS, 0) }
    }
    #[inline(always)]
    fn exp(x: [f32; LANES]) -> [f32; LANES] {
        Avx2::exp(x)
    }
}

/// Cells per lane group: eight u32 lanes fill one AVX2 register.
pub const LANES: usize = 8;

/// The lot draws of ascending cells, redrawn when a cell passes its lot's or rack's last index
/// (a compare per cell instead of [`LotDraws::refresh`]'s two 64-bit divisions).
struct LotCursor {
    lots: LotDraws,
    lot_end: u64,
    rack_end: u64,
}

impl LotCursor {
    fn new(p: &LineParams, rng: &Philox, cell: u64) -> LotCursor {
        let lots = LotDraws::for_cell(p, rng, cell);
        LotCursor {
            lot_end: (lots.coating_lot + 1).saturating_mul(u64::from(p.coating_lot_size)),
            rack_end: (lots.rack + 1).saturating_mul(u64::from(p.rack_size)),
            lots,
        }
    }

    /// The lot draws of `cell`, which must not be below the last cell asked for.
    #[inline(always)]
    fn at(&mut self, p: &LineParams, rng: &Philox, cell: u64) -> &LotDraws {
        if cell >= self.lot_end || cell >= self.rack_end {
            *self = LotCursor::new(p, rng, cell);
        }
        &self.lots
    }
}

/// The records of cells `start..start + out.len()`: each equal to [`simulate_cell`]'s. With AVX2
/// and FMA (detected at run time; the default target is plain x86-64) the lane loops run 8 wide
/// and the normals' multiply-adds are one instruction each.
pub fn simulate_cells(p: &LineParams, start: u64, out: &mut [CellRecord]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (and AVX-512F where `Avx512` is chosen).
        unsafe {
            if std::is_x86_feature_detected!("avx512f") {
                simulate_cells_avx2::<Avx512>(p, start, out);
            } else {
                simulate_cells_avx2::<Avx2>(p, start, out);
            }
        }
        return;
    }
    simulate_cells_body::<Portable>(p, start, out);
}

/// [`simulate_cells`] compiled for AVX2 and FMA: the same operations (Rust does not contract
/// `a * b + c`; the only fused ones are the normals' explicit `mul_add`s, fused on every path), so
/// the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn simulate_cells_avx2<G: LaneWords>(p: &LineParams, start: u64, out: &mut [CellRecord]) {
    simulate_cells_body::<G>(p, start, out);
}

#[allow(clippy::needless_range_loop)] // lane-indexed SoA loops, as in `rng::philox4x32_lanes`
#[inline(always)]
fn simulate_cells_body<G: LaneWords>(p: &LineParams, start: u64, out: &mut [CellRecord]) {
    let rng = p.rng();
    let mut lots = LotCursor::new(p, &rng, start);
    let mut first = start;
    // Two groups a generator call where the generator is 16 lanes wide (AVX-512), then a last
    // group. (Elsewhere no pairs: their words, moved into place, were 1.4 % more instructions.)
    let rest = if G::PAIRS {
        let mut pairs = out.chunks_exact_mut(2 * LANES);
        for pair in &mut pairs {
            let words = G::stages_pair(rng.key(), first);
            for (group, w) in pair.chunks_exact_mut(LANES).zip(&words) {
                group_line::<G>(
                    p,
                    &rng,
                    first,
                    &draws(w),
                    &lot_normals(p, &rng, &mut lots, first),
                    group,
                );
                first += LANES as u64;
            }
        }
        pairs.into_remainder()
    } else {
        out
    };
    let mut groups = rest.chunks_exact_mut(LANES);
    for group in &mut groups {
        let d = group_draws::<G>(&rng, first);
        group_line::<G>(
            p,
            &rng,
            first,
            &d,
            &lot_normals(p, &rng, &mut lots, first),
            group,
        );
        first += LANES as u64;
    }
    for (l, r) in groups.into_remainder().iter_mut().enumerate() {
        let cell = first + l as u64;
        *r = simulate_cell(p, &rng, cell, lots.at(p, &rng, cell));
    }
}

/// The lot normals of the cells `first..first + LANES`, lane by lane: cathode, anode, rack.
#[allow(clippy::needless_range_loop)] // lane-indexed SoA columns
#[inline(always)]
fn lot_normals(
    p: &LineParams,
    rng: &Philox,
    lots: &mut LotCursor,
    first: u64,
) -> [[f32; LANES]; 3] {
    let mut z = [[0.0; LANES]; 3];
    for l in 0..LANES {
        let lot = lots.at(p, rng, first + l as u64);
        (z[0][l], z[1][l], z[2][l]) = (lot.z_cathode, lot.z_anode, lot.z_rack);
    }
    z
}

/// The cells `first..first + LANES` from their draws and lot normals `z` (cathode, anode, rack),
/// each what [`line`] makes of it: its stage functions lane by lane in one loop over the group,
/// which vectorises (a cell's divisions were a fifth of the line), for a cell with no breach and
/// no defect; the rare cells with either (an X-ray draw, a defect's self-discharge) are made again
/// by [`line`] itself. Keep in step with [`line`].
#[inline(always)]
fn group_line<G: LaneWords>(
    p: &LineParams,
    rng: &Philox,
    first: u64,
    d: &Draws<[f32; LANES]>,
    z: &[[f32; LANES]; 3],
    out: &mut [CellRecord],
) {
    // The `exp`s first (eight at a time; a loop with a call does not vectorise): the lanes of
    // `winding::tab_spread` and `formation::k_spread`.
    let (mut tab, mut k_spread) = ([0.0; LANES], [0.0; LANES]);
    for l in 0..LANES {
        tab[l] = winding::tab_spread_arg(p, d.winding[2][l]);
        k_spread[l] = formation::k_spread_arg(p, d.formation[1][l]);
    }
    let (tab, k_spread) = (G::exp(tab), G::exp(k_spread));
    let mut rare = [false; LANES];
    for (l, r) in out.iter_mut().enumerate() {
        let dl = d.lane(l);
        let c = coating::coating(p, dl.coating, z[0][l], z[1][l]);
        let k = calendering::calendering(p, dl.calendering, c.cathode);
        let w = winding::wind(p, dl.winding, tab[l]);
        let loading = 0.5 * (c.cathode + c.anode);
        let f = filling::filling(p, dl.filling, w.area, loading, k.porosity);
        let fo = formation::form(p, dl.formation, z[2][l], k_spread[l]);
        *r = sorting::test_and_sort(p, dl.eol, &c, &k, &w, &f, &fo);
        rare[l] = w.breach | c.defect;
    }
    for (l, r) in out.iter_mut().enumerate() {
        if rare[l] {
            let lots = LotDraws {
                z_cathode: z[0][l],
                z_anode: z[1][l],
                z_rack: z[2][l],
                ..LotDraws::default()
            };
            *r = line(p, rng, first + l as u64, &d.lane(l), &lots);
        }
    }
}

/// The draws of cells `first..first + LANES`: six lane Philox calls and their normals.
#[inline(always)]
fn group_draws<G: LaneWords>(rng: &Philox, first: u64) -> Draws<[f32; LANES]> {
    draws(&G::stages(rng.key(), first))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records of cells `start..start + n` by every lane path this CPU can run, named.
    fn paths(p: &LineParams, start: u64, n: usize) -> Vec<(&'static str, Vec<CellRecord>)> {
        let run = |f: &dyn Fn(&mut [CellRecord])| {
            let mut out = vec![CellRecord::default(); n];
            f(&mut out);
            out
        };
        #[allow(unused_mut)]
        let mut paths = vec![
            ("dispatched", run(&|o| simulate_cells(p, start, o))),
            (
                "portable",
                run(&|o| simulate_cells_body::<Portable>(p, start, o)),
            ),
        ];
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA.
            paths.push((
                "AVX2",
                run(&|o| unsafe { simulate_cells_avx2::<Avx2>(p, start, o) }),
            ));
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: and AVX-512F.
                paths.push((
                    "AVX-512",
                    run(&|o| unsafe { simulate_cells_avx2::<Avx512>(p, start, o) }),
                ));
            } else {
                eprintln!("no AVX-512F on this CPU: its path is not checked here");
            }
        }
        paths
    }

    /// The lane path's records equal `simulate_cell`'s bit for bit: ranges off the lane grid,
    /// shorter than a group, across lots and racks of 3 and 5 cells, and across 2³².
    #[test]
    fn lanes_equal_scalar_cells() {
        let scenes = [
            crate::scene::load(None, &[]).expect("default scene"),
            crate::scene::load(
                None,
                &[
                    "coating.lot_size=3".into(),
                    "formation.rack_size=5".into(),
                    "coating.defects_per_cell=0.5".into(),
                    "line.spread_scale=6".into(),
                ],
            )
            .expect("small lots"),
        ];
        for s in &scenes {
            let p = LineParams::from_scene(s);
            let rng = p.rng();
            // 4099: pairs of groups and three cells; 77 across 2³²: four pairs (the second
            // straddling the carry), a group and five cells; 5: cells only.
            for (start, n) in [(0u64, 4099usize), (13, 5), ((1 << 32) - 21, 77)] {
                for (path, out) in paths(&p, start, n) {
                    for (i, r) in out.iter().enumerate() {
                        let cell = start + i as u64;
                        let want =
                            simulate_cell(&p, &rng, cell, &LotDraws::for_cell(&p, &rng, cell));
                        assert_eq!(
                            bytemuck::bytes_of(r),
                            bytemuck::bytes_of(&want),
                            "{path} path, cell {cell}"
                        );
                    }
                }
            }
        }
    }
}
