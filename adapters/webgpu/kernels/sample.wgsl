// sample.wgsl: next-token selection on the GPU (greedy, or temperature + top-p with a seed), fed
// back as the next step's input without a readback. The second pass after sample_blocks.wgsl.
//
//   Row r (step.rows[r] = token_row, slot, temperature, top_p, seed, counter, log_index):
//   temperature == 0:  tok = argmax_v logits[r, v]  (lowest v on ties)
//   temperature > 0:   p_v = exp((logits[r, v] - max) / temperature)
//                      tau = largest value (bisection, SAMPLE_BISECT steps on [0, 1]) with
//                            sum_{p_v >= tau} p_v >= top_p * sum_v p_v   (tau = 0 when top_p == 1)
//                      u   = uniform(seed, counter) * sum_{p_v >= tau} p_v
//                      tok = smallest v with sum_{w <= v, p_w >= tau} p_w > u
//   uniform(seed, c) = (pcg(seed ^ pcg(c)) >> 8) / 2^24; the draw depends on (seed, position) only.
//   Outputs: last_tok[slot] = tok (read by embed.wgsl next step); token_log[log_index] = tok;
//   logprob_log[log_index] = logits[r, tok] - LSE, the log-probability of tok under the raw
//   logits (temperature 1, no top-p: the model's distribution, as vLLM reports it), where
//   LSE = max + log(sum_b z_b exp(m_b - max)) over the block partials.
//
// Bindings (group 0):
//   0 P         uniform             Params { V, NB }
//   1 step      storage, read       [metaWords] u32   packed step (rows)
//   2 logits    storage, read       [R, V] f32        LM head output of the sample rows
//   3 part      storage, read       [R, NB, 4] f32    block partials (m_b, a_b, s_b, z_b) of sample_blocks.wgsl
//   4 last_tok  storage, read_write [maxSeqs] u32     last sampled id per slot
//   5 token_log storage, read_write [logSize] u32     sampled ids, read back in batches
//   6 logprob_log storage, read_write [logSize] f32   their log-probabilities, beside them
// Workgroup SAMPLE_WG; grid (R, 1, 1) (geometry.ts grids.sample).
// Workgroup r handles row r. The max and argmax come from the NB block partials (one invocation
// per block, a tree). top_p == 1: block b's mass is s_b exp((m_b - max) / temperature); invocation
// 0 picks the block holding u, then the draw scans that block alone. top_p < 1 (not parallel over
// the vocabulary): SAMPLE_BISECT strided passes over all V logits find tau, and the draw scans
// all V. The draw over a range: invocation i owns a contiguous chunk of it, invocation 0 scans
// the chunk masses and the owning invocation scans its chunk. Invocation 0 sums the NB raw block
// masses for LSE and writes all three outputs.
// Host asserts: temperature >= 0, 0 < top_p <= 1, log_index < logSize, slot < maxSeqs (packStep);
// NB = ceil(V / SAMPLE_BLOCK) <= SAMPLE_WG; loop passes per invocation (loop_passes.ts
// sample(V)) within the adapter's loop budget.

struct Params {
  V: u32,
  NB: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read> part: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> last_tok: array<u32>;
@group(0) @binding(5) var<storage, read_write> token_log: array<u32>;
@group(0) @binding(6) var<storage, read_write> logprob_log: array<f32>;

var<workgroup> red_f: array<f32, SAMPLE_WG>;
var<workgroup> red_i: array<u32, SAMPLE_WG>;
var<workgroup> temp_s: f32;
var<workgroup> top_p_s: f32;
var<workgroup> chosen: u32;
var<workgroup> target_s: f32;
var<workgroup> tok_s: u32;

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn sum_all(lid: u32, v: f32) -> f32 {
  red_f[lid] = v;
  workgroupBarrier();
  for (var s = SAMPLE_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red_f[lid] += red_f[lid + s];
    }
    workgroupBarrier();
  }
  let r = red_f[0];
  workgroupBarrier();
  return r;
}

// Mass of the probabilities >= tau (strided pass over all V).
fn mass_above(lid: u32, base: u32, mx: f32, inv_t: f32, tau: f32) -> f32 {
  var acc = 0.0;
  for (var v = lid; v < P.V; v += SAMPLE_WG) {
    let p = exp((logits[base + v] - mx) * inv_t);
    if (p >= tau) {
      acc += p;
    }
  }
  return sum_all(lid, acc);
}

// Invocation 0: the first non-empty entry i of red_f[0 .. n) whose running sum passes u; sets
// `chosen` = i and `target_s` = u minus the mass before it (or the last non-empty entry, all of
// its mass, when rounding leaves u past the total).
fn pick_entry(n: u32, u: f32) {
  var prefix = 0.0;
  var c = 0u;
  var last_nonempty = 0u;
  var found = false;
  for (var i = 0u; i < n; i++) {
    if (red_f[i] > 0.0) {
      last_nonempty = i;
      if (!found && u < prefix + red_f[i]) {
        c = i;
        found = true;
        target_s = u - prefix;
      }
    }
    prefix += red_f[i];
  }
  if (!found) {
    c = last_nonempty;
    target_s = red_f[c];
  }
  chosen = c;
}

// The draw within [v0, v1): the smallest v with sum_{v0 <= w <= v, p_w >= tau} p_w > u, where
// invocation 0 computes u from the range's mass (draw_u) or is given it (u_given >= 0).
fn draw_range(lid: u32, base: u32, v0: u32, v1: u32, mx: f32, inv_t: f32, tau: f32,
              row: u32, u_given: f32) -> u32 {
  let chunk = (v1 - v0 + SAMPLE_WG - 1u) / SAMPLE_WG;
  let c0 = min(v0 + lid * chunk, v1);
  let c1 = min(c0 + chunk, v1);
  var cm = 0.0;
  for (var v = c0; v < c1; v++) {
    let p = exp((logits[base + v] - mx) * inv_t);
    if (p >= tau) {
      cm += p;
    }
  }
  red_f[lid] = cm;
  workgroupBarrier();
  if (lid == 0u) {
    var u = u_given;
    if (u < 0.0) {
      var total = 0.0;
      for (var i = 0u; i < SAMPLE_WG; i++) {
        total += red_f[i];
      }
      let h = pcg(step[row + 4u] ^ pcg(step[row + 5u]));
      u = f32(h >> 8u) * (1.0 / 16777216.0) * total;
    }
    pick_entry(SAMPLE_WG, u);
  }
  workgroupBarrier();
  if (lid == chosen) {
    let t = target_s;
    var acc = 0.0;
    var pick = c0;
    var done = false;
    for (var v = c0; v < c1; v++) {
      let p = exp((logits[base + v] - mx) * inv_t);
      if (p >= tau && !done) {
        pick = v;
        acc += p;
        if (acc > t) {
          done = true;
        }
      }
    }
    tok_s = pick;
  }
  workgroupBarrier();
  return tok_s;
}

@compute @workgroup_size(SAMPLE_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  let row = step[HDR_ROWS] + r * ROW_WORDS;
  let base = r * P.V;
  // Max and argmax of the row from its block partials, lowest index on ties.
  var best = -3.4e38;
  var best_i = 0xffffffffu;
  if (lid < P.NB) {
    let pb = part[r * P.NB + lid];
    best = pb.x;
    best_i = bitcast<u32>(pb.y);
  }
  red_f[lid] = best;
  red_i[lid] = best_i;
  if (lid == 0u) {
    temp_s = bitcast<f32>(step[row + 2u]);
    top_p_s = bitcast<f32>(step[row + 3u]);
    tok_s = 0u;
  }
  workgroupBarrier();
  for (var s = SAMPLE_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let a = red_f[lid];
      let b = red_f[lid + s];
      if (b > a || (b == a && red_i[lid + s] < red_i[lid])) {
        red_f[lid] = b;
        red_i[lid] = red_i[lid + s];
      }
    }
    workgroupBarrier();
  }
  let mx = red_f[0];
  let argmax = red_i[0];
  let temperature = workgroupUniformLoad(&temp_s);
  let top_p = workgroupUniformLoad(&top_p_s);
  var tok = argmax;
  if (temperature > 0.0) {
    let inv_t = 1.0 / temperature;
    if (top_p < 1.0) {
      let goal = top_p * mass_above(lid, base, mx, inv_t, 0.0);
      var lo = 0.0;
      var hi = 1.0;
      for (var it = 0u; it < SAMPLE_BISECT; it++) {
        let mid = 0.5 * (lo + hi);
        if (mass_above(lid, base, mx, inv_t, mid) >= goal) {
          lo = mid;
        } else {
          hi = mid;
        }
      }
      tok = draw_range(lid, base, 0u, P.V, mx, inv_t, lo, row, -1.0);
    } else {
      // Block masses relative to the row max; invocation 0 picks the block holding u.
      var w = 0.0;
      if (lid < P.NB) {
        let pb = part[r * P.NB + lid];
        w = pb.z * exp((pb.x - mx) * inv_t);
      }
      red_f[lid] = w;
      workgroupBarrier();
      if (lid == 0u) {
        var total = 0.0;
        for (var i = 0u; i < P.NB; i++) {
          total += red_f[i];
        }
        let h = pcg(step[row + 4u] ^ pcg(step[row + 5u]));
        pick_entry(P.NB, f32(h >> 8u) * (1.0 / 16777216.0) * total);
      }
      workgroupBarrier();
      let c = workgroupUniformLoad(&chosen);
      let u = workgroupUniformLoad(&target_s);
      let v0 = c * SAMPLE_BLOCK;
      tok = draw_range(lid, base, v0, min(P.V, v0 + SAMPLE_BLOCK), mx, inv_t, 0.0, row, u);
    }
  }
  if (lid == 0u) {
    var z = 0.0;
    for (var i = 0u; i < P.NB; i++) {
      let pb = part[r * P.NB + i];
      z += pb.w * exp(pb.x - mx);
    }
    last_tok[step[row + 1u]] = tok;
    token_log[step[row + 6u]] = tok;
    logprob_log[step[row + 6u]] = logits[base + tok] - (mx + log(z));
  }
}
