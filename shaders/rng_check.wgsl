// Checks of the generator on the device: Philox known-answer vectors and the draws built on it,
// compared word for word (integers) and within a tolerance (floats) with `src/rng` in the tests.
//
#import shared/philox.wgsl

struct RngJob {
    count: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
}

@group(0) @binding(0) var<uniform> job: RngJob;
// philox_kat: (counter) and (key.xy, 0, 0) pairs in; words out.
@group(0) @binding(1) var<storage, read> kat_in: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> words_out: array<vec4<u32>>;
// draws: per index i, normals(i, stream, 0) and (poisson(0.3, u.x), ...) of uniforms(i, stream, 1).
@group(0) @binding(3) var<storage, read_write> normals_out: array<vec4<f32>>;

@compute @workgroup_size(64)
fn philox_kat(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= job.count) {
        return;
    }
    words_out[i] = philox4x32(kat_in[2u * i], kat_in[2u * i + 1u].xy);
}

@compute @workgroup_size(64)
fn draws(@builtin(global_invocation_id) gid: vec3<u32>) {
    rng_key = vec2<u32>(job.seed_lo, job.seed_hi);
    let i = gid.x;
    if (i >= job.count) {
        return;
    }
    let index = vec2<u32>(i, 0u);
    normals_out[i] = normals(index, job.stream, 0u);
    let u = uniforms(index, job.stream, 1u);
    words_out[i] = vec4<u32>(poisson(0.3, u.x), poisson(1.0, u.y), words(index, job.stream, 2u).xy);
}
