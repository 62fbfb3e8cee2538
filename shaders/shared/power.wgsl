// The power-law step and the series under it: the twin of src/model/aging/power.rs (the scalar
// step; its blocked CPU pass is aging/power/block.rs), imported by pack_life.wgsl. The same f32
// operations in the same order, `fma` where the CPU writes `mul_add`, so both backends run the
// same series (WGSL's built-in exp2/log2 differ from them, and between drivers, by a few ulps).

// One fade law's state in a cell (`PowerState` in aging/power.rs): loss = k * x^p.
struct PowerState {
    loss: f32,
    x: f32,
    k: f32,
}

// An exponent with its step's binomial series (`PowerLaw`): (1 + e)^(1/p) to e^4, (1 + u)^p to u^7,
// the coefficients by the CPU's recurrence C(a, n + 1) = C(a, n) * (a - n) * (1 / (n + 1)).
struct PowerLaw {
    p: f32,
    inv_p: f32,
    rebase: vec4<f32>,
    grow_lo: vec4<f32>,
    grow_hi: vec3<f32>,
}

const REBASE_MAX: f32 = 0.0625;
const GROW_MAX: f32 = 0.125;

fn power_law(p: f32) -> PowerLaw {
    let q = 1.0 / p;
    let r1 = q * (q - 1.0) * 0.5;
    let r2 = r1 * (q - 2.0) * 0.33333334;
    let r3 = r2 * (q - 3.0) * 0.25;
    let g1 = p * (p - 1.0) * 0.5;
    let g2 = g1 * (p - 2.0) * 0.33333334;
    let g3 = g2 * (p - 3.0) * 0.25;
    let g4 = g3 * (p - 4.0) * 0.2;
    let g5 = g4 * (p - 5.0) * 0.16666667;
    let g6 = g5 * (p - 6.0) * 0.14285715;
    return PowerLaw(
        p,
        q,
        vec4<f32>(q, r1, r2, r3),
        vec4<f32>(p, g1, g2, g3),
        vec3<f32>(g4, g5, g6),
    );
}

// 1 + c1 t + c2 t^2 + ... by fused multiply-adds (`series`).
fn rebase_series(l: PowerLaw, e: f32) -> f32 {
    var poly = l.rebase.w;
    poly = fma(poly, e, l.rebase.z);
    poly = fma(poly, e, l.rebase.y);
    poly = fma(poly, e, l.rebase.x);
    return fma(poly, e, 1.0);
}

fn grow_series(l: PowerLaw, u: f32) -> f32 {
    var poly = l.grow_hi.z;
    poly = fma(poly, u, l.grow_hi.y);
    poly = fma(poly, u, l.grow_hi.x);
    poly = fma(poly, u, l.grow_lo.w);
    poly = fma(poly, u, l.grow_lo.z);
    poly = fma(poly, u, l.grow_lo.y);
    poly = fma(poly, u, l.grow_lo.x);
    return fma(poly, u, 1.0);
}

// One step of loss = k * x^p by dx at rate k in the incremental form (`power_step`): by the
// series where they hold (the rate's change since the last step, |e| <= 1/16, and the step's
// share of the stress-time, u <= 1/8), else (`exact_step`) the stress-time rebased by its series
// where the rate barely moved (a cell's first steps) or by its power (a first loss: 0; a rate
// jump), plus dx, to the power p; no step unless k > 0 and dx > 0.
fn power_step(s: PowerState, l: PowerLaw, k: f32, dx: f32) -> PowerState {
    if (!(k > 0.0 && dx > 0.0)) {
        return s;
    }
    let e = s.k / k - 1.0;
    let rebases = s.loss > 0.0 && abs(e) <= REBASE_MAX;
    let x_eq = s.x * rebase_series(l, e);
    let u = dx / x_eq;
    var out = PowerState(s.loss * grow_series(l, u), x_eq + dx, k);
    if (!(rebases && u <= GROW_MAX)) {
        var x0 = 0.0;
        if (rebases) {
            x0 = x_eq;
        } else if (s.loss > 0.0) {
            x0 = pow2(s.loss / k, l.inv_p);
        }
        let x = x0 + dx;
        out = PowerState(k * pow2(x, l.p), x, k);
    }
    return out;
}

// x^p as 2^(p * log2(x)) for a positive x: the f32 operations of `pow2` in aging/power.rs, `fma`
// where it writes `mul_add`, so that both twins run the same series (the built-in exp2 and log2
// differ from them, and between drivers, by a few ulps). A device that does not fuse `fma` loses
// the hi + lo compensation (errors then grow with |p * log2 x|, as the built-ins' do).
fn pow2(x: f32, p: f32) -> f32 {
    let el = log2_parts(x);
    let hi = p * el.x;
    return exp2_split(hi, fma(p, el.y, fma(p, el.x, -hi)));
}

// e^x as 2^(x * log2 e), log2 e as two f32s (`exp_f32` in aging/power.rs).
fn exp_f32(x: f32) -> f32 {
    let hi = x * 1.442695;
    return exp2_split(hi, fma(x, 1.925963e-8, fma(x, 1.442695, -hi)));
}

// (exponent, log2 of the mantissa in [sqrt(1/2), sqrt(2))) of a positive x (`log2_parts`).
fn log2_parts(x: f32) -> vec2<f32> {
    let sub = x < 1.17549435e-38;
    let xs = select(x, x * 16777216.0, sub);
    let bits = bitcast<u32>(xs);
    var e = i32((bits >> 23u) & 0xffu) - 127 - select(0, 24, sub);
    var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);
    let big = m > 1.4142135;
    m = select(m, m * 0.5, big);
    e = e + select(0, 1, big);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let s2 = s * s;
    var poly = 0.3205989;
    poly = fma(poly, s2, 0.41219857);
    poly = fma(poly, s2, 0.57707804);
    poly = fma(poly, s2, 0.9617967);
    poly = fma(poly, s2, 2.88539);
    return vec2<f32>(f32(e), s * poly);
}

// 2^(hi + lo) by the integer parts of hi and then of the fraction, a Taylor series to g^7 and the
// exponent bits (`exp2_split`; `round` is to nearest even, as the CPU's 1.5 * 2^23 trick).
fn exp2_split(hi: f32, lo: f32) -> f32 {
    let n1 = round(hi);
    let f = (hi - n1) + lo;
    let n2 = round(f);
    let g = f - n2;
    var poly = 1.5252734e-5;
    poly = fma(poly, g, 0.0001540353);
    poly = fma(poly, g, 0.0013333558);
    poly = fma(poly, g, 0.009618129);
    poly = fma(poly, g, 0.05550411);
    poly = fma(poly, g, 0.2402265);
    poly = fma(poly, g, 0.6931472);
    poly = fma(poly, g, 1.0);
    let n = i32(clamp(n1 + n2, -127.0, 128.0));
    return poly * bitcast<f32>(u32(n + 127) << 23u);
}
