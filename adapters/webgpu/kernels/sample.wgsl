// sample.wgsl: next-token selection on the GPU (greedy, or temperature + top-p with a seed), fed
// back as the next step's input without a readback.
//
//   Row r (step.rows[r] = token_row, slot, temperature, top_p, seed, counter, log_index):
//   temperature == 0:  tok = argmax_v logits[r, v]  (lowest v on ties)
//   temperature > 0:   p_v = exp((logits[r, v] - max) / temperature)
//                      tau = largest value (bisection, SAMPLE_BISECT steps on [0, 1]) with
//                            sum_{p_v >= tau} p_v >= top_p * sum_v p_v   (tau = 0 when top_p == 1)
//                      u   = uniform(seed, counter) * sum_{p_v >= tau} p_v
//                      tok = smallest v with sum_{w <= v, p_w >= tau} p_w > u
//   uniform(seed, c) = (pcg(seed ^ pcg(c)) >> 8) / 2^24; the draw depends on (seed, position) only.
//   Outputs: last_tok[slot] = tok (read by embed.wgsl next step); token_log[log_index] = tok.
//
// Bindings (group 0):
//   0 P         uniform             Params
//   1 step      storage, read       [metaWords] u32   packed step (rows)
//   2 logits    storage, read       [R, V] f32        LM head output of the sample rows
//   3 last_tok  storage, read_write [maxSeqs] u32     last sampled id per slot
//   4 token_log storage, read_write [logSize] u32     sampled ids, read back in batches
// Workgroup SAMPLE_WG; grid (R, 1, 1) (geometry.ts grids.sample).
// Workgroup r handles row r: strided passes reduce the max / argmax and the masses; for the
// draw, invocation i owns the contiguous chunk [i * ceil(V / SAMPLE_WG), ...) of the vocabulary,
// invocation 0 scans the chunk masses and the owning invocation scans its chunk. Invocation 0
// writes both outputs of the row.
// Host asserts: temperature >= 0, 0 < top_p <= 1, log_index < logSize, slot < maxSeqs (packStep);
// loop passes per invocation (loop_passes.ts sample(V)) within the adapter's loop budget.

struct Params {
  V: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> last_tok: array<u32>;
@group(0) @binding(4) var<storage, read_write> token_log: array<u32>;

var<workgroup> red_f: array<f32, SAMPLE_WG>;
var<workgroup> red_i: array<u32, SAMPLE_WG>;
var<workgroup> temp_s: f32;
var<workgroup> top_p_s: f32;
var<workgroup> chosen_chunk: u32;
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

// Mass of the probabilities >= tau (strided pass).
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

@compute @workgroup_size(SAMPLE_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  let row = step[HDR_ROWS] + r * ROW_WORDS;
  let base = r * P.V;
  // Argmax, lowest index on ties.
  var best = -3.4e38;
  var best_i = 0u;
  for (var v = lid; v < P.V; v += SAMPLE_WG) {
    let x = logits[base + v];
    if (x > best) {
      best = x;
      best_i = v;
    }
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
    var tau = 0.0;
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
      tau = lo;
    }
    // Chunk masses of the kept probabilities, in vocabulary order.
    let chunk = (P.V + SAMPLE_WG - 1u) / SAMPLE_WG;
    let v0 = min(lid * chunk, P.V);
    let v1 = min(v0 + chunk, P.V);
    var cm = 0.0;
    for (var v = v0; v < v1; v++) {
      let p = exp((logits[base + v] - mx) * inv_t);
      if (p >= tau) {
        cm += p;
      }
    }
    red_f[lid] = cm;
    workgroupBarrier();
    if (lid == 0u) {
      var total = 0.0;
      for (var i = 0u; i < SAMPLE_WG; i++) {
        total += red_f[i];
      }
      let h = pcg(step[row + 4u] ^ pcg(step[row + 5u]));
      let u = f32(h >> 8u) * (1.0 / 16777216.0) * total;
      var prefix = 0.0;
      var c = 0u;
      var last_nonempty = 0u;
      var found = false;
      for (var i = 0u; i < SAMPLE_WG; i++) {
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
      chosen_chunk = c;
    }
    workgroupBarrier();
    if (lid == chosen_chunk) {
      var acc = 0.0;
      var pick = v0;
      var done = false;
      for (var v = v0; v < v1; v++) {
        let p = exp((logits[base + v] - mx) * inv_t);
        if (p >= tau && !done) {
          pick = v;
          acc += p;
          if (acc > target_s) {
            done = true;
          }
        }
      }
      tok_s = pick;
    }
    workgroupBarrier();
    tok = tok_s;
  }
  if (lid == 0u) {
    last_tok[step[row + 1u]] = tok;
    token_log[step[row + 6u]] = tok;
  }
}
