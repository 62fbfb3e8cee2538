// Philox4x32-10 (Salmon et al., SC'11) and the draws built on it: the WGSL twin of
// `src/rng/mod.rs` (the generator) and `src/rng/numbers.rs` (the draws).
// Same constants, same counter layout `[index_lo, index_hi, stream, draw]`, key `[seed_lo, seed_hi]`,
// same float expressions. WGSL has no u64: the 32x32->64 multiply is built from 16-bit limbs and
// keeps the carries of the low partial products (pinned by Random123's known-answer vectors on the
// GPU in tests/gpu_parity.rs).

// Stream ids: keep in sync with `rng::stream`.
const STREAM_COATING: u32 = 1u;
const STREAM_CALENDERING: u32 = 2u;
const STREAM_WINDING: u32 = 3u;
const STREAM_FILLING: u32 = 4u;
const STREAM_FORMATION: u32 = 5u;
const STREAM_EOL: u32 = 6u;
const STREAM_AGING_CELL: u32 = 7u;
const STREAM_AGING_SHORT: u32 = 8u;
const STREAM_MATCHING: u32 = 9u;
const STREAM_LOT: u32 = 0x80000000u;

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// The generator's key (`Philox::key`): set once by each entry point from its uniform.
var<private> rng_key: vec2<u32>;

// (hi, lo) of the 64-bit product a*b.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let al = a & 0xFFFFu;
    let ah = a >> 16u;
    let bl = b & 0xFFFFu;
    let bh = b >> 16u;
    let ll = al * bl;
    let lh = al * bh;
    let hl = ah * bl;
    let hh = ah * bh;
    // Carry out of the low word: the top half of ll plus the low halves of the cross products.
    let mid = (ll >> 16u) + (lh & 0xFFFFu) + (hl & 0xFFFFu);
    let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox4x32(counter: vec4<u32>, key_in: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key_in;
    for (var round = 0u; round < 10u; round++) {
        if (round > 0u) {
            k.x = k.x + PHILOX_W0;
            k.y = k.y + PHILOX_W1;
        }
        let p0 = mulhilo(PHILOX_M0, c.x);
        let p1 = mulhilo(PHILOX_M1, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    }
    return c;
}

// Four raw words for `(index, stream, draw)`; `index` is a u64 as (lo, hi).
fn words(index: vec2<u32>, stream: u32, draw: u32) -> vec4<u32> {
    return philox4x32(vec4<u32>(index.x, index.y, stream, draw), rng_key);
}

// Uniform in the open interval (0, 1): the top 23 bits plus half a step, every operation exact in
// f32 (largest 1 - 2^-24, smallest 2^-24).
fn uniform_open(x: u32) -> f32 {
    return (f32(x >> 9u) + 0.5) * (1.0 / 8388608.0);
}

fn uniforms(index: vec2<u32>, stream: u32, draw: u32) -> vec4<f32> {
    let w = words(index, stream, draw);
    return vec4<f32>(uniform_open(w.x), uniform_open(w.y), uniform_open(w.z), uniform_open(w.w));
}

// `rng::ln`: Cephes' logf (exponent split, degree-9 polynomial on the mantissa in [sqrt(1/2),
// sqrt(2))), the CPU's expression, so both backends take the same logarithm in the normals.
fn ln(v: f32) -> f32 {
    let bits = bitcast<u32>(v);
    let e0 = i32((bits >> 23u) & 0xFFu) - 126;
    let m = bitcast<f32>((bits & 0x007FFFFFu) | 0x3F000000u);
    let small = m < 0.70710677;
    let e = f32(e0 - select(0, 1, small));
    let x = select(m, m + m, small) - 1.0;
    let z = x * x;
    var y = 7.0376836e-2;
    y = fma(y, x, -1.15146103e-1);
    y = fma(y, x, 1.16769987e-1);
    y = fma(y, x, -1.24201408e-1);
    y = fma(y, x, 1.42493228e-1);
    y = fma(y, x, -1.66680577e-1);
    y = fma(y, x, 2.00007148e-1);
    y = fma(y, x, -2.4999994e-1);
    y = fma(y, x, 3.3333331e-1);
    y = y * x * z;
    y += -2.1219444e-4 * e;
    y += -0.5 * z;
    return x + y + 0.693359375 * e;
}

// `rng::erfinv`: Giles' single-precision inverse error function (GPU Computing Gems Jade, 2011).
fn erfinv(x: f32) -> f32 {
    let w = -ln((1.0 - x) * (1.0 + x));
    var p: f32;
    if (w < 5.0) {
        let a = w - 2.5;
        p = 2.81022636e-8;
        p = fma(p, a, 3.43273939e-7);
        p = fma(p, a, -3.5233877e-6);
        p = fma(p, a, -4.39150654e-6);
        p = fma(p, a, 2.1858087e-4);
        p = fma(p, a, -1.25372503e-3);
        p = fma(p, a, -4.17768164e-3);
        p = fma(p, a, 2.46640727e-1);
        p = fma(p, a, 1.50140941);
    } else {
        let b = sqrt(w) - 3.0;
        p = -2.00214257e-4;
        p = fma(p, b, 1.00950558e-4);
        p = fma(p, b, 1.34934322e-3);
        p = fma(p, b, -3.67342844e-3);
        p = fma(p, b, 5.73950773e-3);
        p = fma(p, b, -7.6224613e-3);
        p = fma(p, b, 9.43887047e-3);
        p = fma(p, b, 1.00167406);
        p = fma(p, b, 2.83297682);
    }
    return p * x;
}

// `rng::normal`: a standard normal from one word, by the inverse CDF of its uniform (the factor
// is sqrt(2) in f32, `std::f32::consts::SQRT_2`).
fn normal(x: u32) -> f32 {
    return 1.4142135 * erfinv(2.0 * uniform_open(x) - 1.0);
}

// `Philox::normals`: four normals, one per word.
fn normals(index: vec2<u32>, stream: u32, draw: u32) -> vec4<f32> {
    let w = words(index, stream, draw);
    return vec4<f32>(normal(w.x), normal(w.y), normal(w.z), normal(w.w));
}

// Poisson count by inversion of one uniform, capped at 16 like the CPU.
fn poisson(mean: f32, u: f32) -> u32 {
    var p = exp(-mean);
    var cdf = p;
    var k = 0u;
    while (u > cdf && k < 16u) {
        k += 1u;
        p *= mean / f32(k);
        cdf += p;
    }
    return k;
}

// u64 helpers: (lo, hi) words.
fn add64(a: vec2<u32>, b: u32) -> vec2<u32> {
    let lo = a.x + b;
    return vec2<u32>(lo, a.y + select(0u, 1u, lo < b));
}
