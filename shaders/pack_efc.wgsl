// Equivalent full cycles of each aged pack from its fade curve, on the device where the curve
// lies (only kept packs' curves travel to the host): the twin of `summary::pack_efc`. With them,
// each pack's life in 20 bytes (`LifeOut`: what `summary::AgedPack` needs of it), the only
// per-pack life record the host reads (a `PackState` is 40); its curve length tells the host how
// much of a kept pack's curve to copy. The curve's
// point s is the capacity fraction the duty met during step s, so a step of n cycles delivers
// n · min(window, fraction) rated capacities; the step that crosses end of life counts up to the
// crossing. The CPU sums in f64, this in f32 (up to a few thousand terms: ~1e-6 relative).
//
// Reads pack life's buffers after its last dispatch: the curves and the packs' states (as u32
// words: `PackState` is pack_life.wgsl's; its word offsets are twinned with the Rust layout).

struct EfcJob {
    packs: u32,
    curve_stride: u32,
    cycles_per_step: f32,
    // The duty's state-of-charge window, fraction of rated.
    window: f32,
}

struct LifeOut {
    cycles: u32,
    // The end-of-life code in the low byte, the state's flags above it.
    code: u32,
    calendar_share: f32,
    efc: f32,
    curve_len: u32,
}

const STATE_WORDS: u32 = 10u;
const STATE_CYCLES: u32 = 0u;
const STATE_REASON: u32 = 1u;
const STATE_CURVE_LEN: u32 = 2u;
const STATE_FLAGS: u32 = 5u;
const STATE_SHARE: u32 = 8u;

@group(0) @binding(0) var<uniform> job: EfcJob;
@group(0) @binding(1) var<storage, read> curve: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<LifeOut>;

@compute @workgroup_size(64)
fn pack_efc(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    if (k >= job.packs) {
        return;
    }
    let st = k * STATE_WORDS;
    let end = f32(state[st + STATE_CYCLES]);
    let len = min(state[st + STATE_CURVE_LEN], job.curve_stride);
    let n = job.cycles_per_step;
    var sum = 0.0;
    for (var s = 0u; s < len; s++) {
        sum += clamp(end - f32(s) * n, 0.0, n) * min(job.window, curve[k * job.curve_stride + s]);
    }
    let code = min(state[st + STATE_REASON], 0xFFu) | (state[st + STATE_FLAGS] << 8u);
    let share = bitcast<f32>(state[st + STATE_SHARE]);
    out[k] = LifeOut(state[st + STATE_CYCLES], code, share, sum, state[st + STATE_CURVE_LEN]);
}
