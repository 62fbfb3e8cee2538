//! Attribution: the shares of lost pack life add up to what independent runs measure, a source the
//! scene does not have gets nothing, and a lone source gets the whole loss.

mod common;
use celltwin::attribution::{Attribution, Method, SOURCES, STRING_PART, attribute, without};
use celltwin::engine::{RunOptions, cpu::CpuBackend};
use celltwin::model::pack::PackCell;
use celltwin::scene::Scene;
use common::*;

/// A small pack (24S1P) so that every run ages 1 000 packs cheaply.
const SMALL: &[&str] = &["pack.series=24", "cells=24000", "pack.life_packs=1000"];

fn attribute_cpu(s: &Scene, method: Method) -> Attribution {
    attribute(
        s,
        &mut CpuBackend::new(Some(2)),
        method,
        &RunOptions::default(),
        &mut |_, _| {},
    )
    .expect("attribution")
}

fn share<'a>(a: &'a Attribution, name: &str) -> &'a celltwin::attribution::Share {
    a.sources
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no share {name}"))
}

/// The waterfall's ends are measured independently — the nominal cell aged alone through the pack
/// path, the scene's pack life from a plain run of the scene, the ideal line from a plain run with
/// every source removed — and the shares sum to the gap between them, for P50 and P5, with a
/// sampled order of removal in the average too.
#[test]
fn shares_sum_to_the_gap_between_independent_runs() {
    let s = scene(None, SMALL);
    let a = attribute_cpu(&s, Method::Orders(3));
    // The nominal cell carries no residual aging scalar.
    let mut bare = s.clone();
    bare.life.cell_fade_sigma = 0.0;
    let nominal = lives_alone(&bare, &[PackCell::nominal(&s)])[0];
    let plain = run(&s);
    let ideal = run(&without(&s, (1 << SOURCES.len()) - 1));
    assert_eq!(a.nominal_cell_life_cycles, nominal);
    assert_eq!(a.pack_life_p50_cycles, plain.packs.life_cycles.p50);
    assert_eq!(a.pack_life_p5_cycles, plain.packs.life_cycles.p5);
    assert_eq!(a.ideal_pack_life_p50_cycles, ideal.packs.life_cycles.p50);
    assert_eq!(a.sources.len(), SOURCES.len() + 1);
    let p50: f64 = a.sources.iter().map(|x| x.p50_cycles).sum();
    let p5: f64 = a.sources.iter().map(|x| x.p5_cycles).sum();
    assert!(
        (p50 - (nominal - plain.packs.life_cycles.p50)).abs() < 1e-6,
        "P50 shares {p50} vs nominal {nominal} − pack {}",
        plain.packs.life_cycles.p50
    );
    assert!(
        (p5 - (nominal - plain.packs.life_cycles.p5)).abs() < 1e-6,
        "P5 shares {p5} vs nominal {nominal} − pack {}",
        plain.packs.life_cycles.p5
    );
    // The mature line loses life to spread: the total is a real loss, not a rounding.
    assert!(nominal - plain.packs.life_cycles.p50 > 50.0);
}

/// Only the residual aging spread present (every process spread, the gradient and defects off,
/// random matching): removing any other source changes nothing, so each gets exactly zero, and the
/// residual spread gets the whole loss, a loss many standard errors above zero. Checks that each
/// source's removal touches its own keys and no other.
#[test]
fn a_lone_source_takes_the_whole_loss() {
    let mut sets: Vec<&str> = QUIET.to_vec();
    sets.extend_from_slice(SMALL);
    sets.extend_from_slice(&["life.gradient_k=0", "pack.matching=random"]);
    let s = scene(None, &sets);
    let a = attribute_cpu(&s, Method::Orders(2));
    let residual = share(&a, "residual aging spread");
    for x in &a.sources {
        if x.name != residual.name && x.name != STRING_PART {
            assert_eq!(
                (x.p50_cycles, x.p5_cycles),
                (0.0, 0.0),
                "{} is absent from the scene but got a share",
                x.name
            );
        }
    }
    let total = a.nominal_cell_life_cycles - a.pack_life_p50_cycles;
    let string = share(&a, STRING_PART).p50_cycles;
    assert!((residual.p50_cycles - (total - string)).abs() < 1e-9);
    assert!(
        residual.p50_cycles > 5.0 * residual.se_cycles && residual.p50_cycles > 20.0,
        "residual share {} ± {}",
        residual.p50_cycles,
        residual.se_cycles
    );
}

/// A coolant gradient alone (no spread of any kind): every pack is the same, so the thermal field's
/// share is exact and equals the life a uniform pack loses to the warm end of its string.
#[test]
fn the_thermal_field_alone_costs_what_the_warm_end_costs() {
    let mut sets: Vec<&str> = QUIET.to_vec();
    sets.extend_from_slice(SMALL);
    sets.extend_from_slice(&["life.cell_fade_sigma=0", "pack.matching=random"]);
    let s = scene(None, &sets);
    let a = attribute_cpu(&s, Method::Orders(2));
    let thermal = share(&a, "thermal field");
    let cool = run(&scene(None, &[&sets[..], &["life.gradient_k=0"]].concat()));
    let warm = run(&s);
    assert_eq!(
        thermal.p50_cycles,
        cool.packs.life_cycles.p50 - warm.packs.life_cycles.p50
    );
    assert_eq!(
        thermal.se_cycles, 0.0,
        "identical packs have no sampling error"
    );
    assert!(thermal.p50_cycles > 30.0, "a 5 K gradient shortens life");
}
