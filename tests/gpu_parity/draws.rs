//! The generator and the cell line, cell by cell: Philox known answers, the draws and each
//! cell's record on the GPU against the CPU's.

use super::*;

// ---- the generator ------------------------------------------------------------------------------

#[test]
fn philox_known_answers_on_gpu() {
    let Some(mut g) = gpu() else { return };
    let cases = [
        (
            ([0u32; 4], [0u32; 2]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
        ),
        (
            ([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
        ),
        (
            (
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0],
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ),
    ];
    let inputs: Vec<_> = cases.iter().map(|c| c.0).collect();
    let out = g.philox(&inputs).expect("philox on the GPU");
    for ((input, want), got) in cases.iter().zip(out) {
        assert_eq!(got, *want, "Philox4x32-10 on the GPU for {input:x?}");
    }
}

/// Raw words match bit for bit on many counters (carries of the limb multiply included); normals
/// within float tolerance; Poisson counts equal except within rounding of a CDF step.
#[test]
fn gpu_draws_match_cpu() {
    let Some(mut g) = gpu() else { return };
    let n = 200_000u32;
    let seed = 0x0123_4567_89ab_cdef;
    let (normals, words) = g.draws(seed, stream::COATING, n).expect("draws on the GPU");
    let rng = Philox::new(seed);
    let inputs: Vec<_> = (0..1000u32)
        .map(|i| {
            (
                [i.wrapping_mul(0x9E37_79B9), !i, i ^ 0xdead_beef, i],
                [i, !i],
            )
        })
        .collect();
    let kat = g.philox(&inputs).expect("philox");
    for (inp, got) in inputs.iter().zip(kat) {
        assert_eq!(got, philox4x32(inp.0, inp.1));
    }
    let (mut max_err, mut poisson_diff) = (0.0f32, 0);
    for i in 0..n as usize {
        let want = rng.normals(i as u64, stream::COATING, 0);
        for k in 0..4 {
            max_err = max_err.max((normals[i][k] - want[k]).abs());
        }
        let u = rng.uniforms(i as u64, stream::COATING, 1);
        let w = rng.words(i as u64, stream::COATING, 2);
        assert_eq!([words[i][2], words[i][3]], [w[0], w[1]], "words at {i}");
        if words[i][0] != poisson(0.3, u[0]) || words[i][1] != poisson(1.0, u[1]) {
            poisson_diff += 1;
        }
    }
    eprintln!(
        "normals: max |GPU − CPU| {max_err:e}; Poisson counts differing {poisson_diff} of {}",
        2 * n
    );
    assert!(max_err < 2e-4, "normals differ by {max_err}");
    assert!(poisson_diff <= 2, "{poisson_diff} Poisson counts differ");
}

// ---- the cell line, cell by cell ----------------------------------------------------------------

fn compare_records(p: &LineParams, cpu: &[CellRecord], gpu: &[CellRecord]) -> (usize, f32) {
    let mut decisions = 0;
    let mut max_rel = 0.0f32;
    for (c, g) in cpu.iter().zip(gpu) {
        let mask = flags::SCRAP_MASK | flags::GRADE_MASK;
        // Latent defects, breaches and plating come from integers and exact comparisons of
        // uniforms with the same words: never allowed to differ.
        assert_eq!(
            c.flags & !mask & !flags::PLATING,
            g.flags & !mask & !flags::PLATING,
            "{c:?} vs {g:?}"
        );
        if c.flags & mask != g.flags & mask || c.has(flags::PLATING) != g.has(flags::PLATING) {
            decisions += 1;
            continue;
        }
        // k_meas = k_during_test + noise can cancel to ~0: its scale is the gauge noise.
        for (a, b, floor) in [
            (c.q_true, g.q_true, 1e-6),
            (c.q_meas, g.q_meas, 1e-6),
            (c.r_true, g.r_true, 1e-6),
            (c.r_meas, g.r_meas, 1e-6),
            (c.k_true, g.k_true, 1e-6),
            (c.k_meas, g.k_meas, p.k_noise),
            (c.np_ratio, g.np_ratio, 1e-6),
            (c.first_cycle_loss, g.first_cycle_loss, 1e-6),
        ] {
            if rel(a, b, floor) > VALUE_RTOL && std::env::var("PARITY_DEBUG").is_ok() {
                eprintln!("{c:?}\n{g:?}");
            }
            max_rel = max_rel.max(rel(a, b, floor));
        }
        max_rel = max_rel.max((c.fill_shortfall - g.fill_shortfall).abs());
    }
    (decisions, max_rel)
}

/// Per-cell records of a sample agree: flags within the decision bound, values within VALUE_RTOL.
/// The sample starts just below 2³² so the u64 cell index carries into its high word, and spans
/// lot and rack boundaries.
#[test]
fn cell_records_match_cpu() {
    let Some(mut g) = gpu() else { return };
    for (name, sets) in [
        ("default", vec![]),
        (
            "zero spreads",
            vec!["line.spread_scale=0", "line.defect_scale=0"],
        ),
        ("extreme spreads", vec!["line.spread_scale=6"]),
    ] {
        let p = LineParams::from_scene(&scene_with(&sets));
        for start in [0u64, (1u64 << 32) - 150_000] {
            let n = 300_000u64;
            let mut cpu = vec![CellRecord::default(); n as usize];
            simulate_range(&p, start, &mut cpu);
            let gpu = g.cell_records(&p, start, n).expect("records on the GPU");
            let (decisions, max_rel) = compare_records(&p, &cpu, &gpu);
            eprintln!(
                "{name} @ {start}: {decisions} decisions differ of {n}; max relative value difference {max_rel:e}"
            );
            assert!(
                decisions as f64 <= DECISION_BOUND * n as f64,
                "{name}: {decisions} decisions differ"
            );
            assert!(max_rel <= VALUE_RTOL, "{name}: values differ by {max_rel}");
        }
    }
}
