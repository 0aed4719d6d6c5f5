// sample_blocks.wgsl: the first, vocabulary-parallel pass of next-token selection (sample.wgsl
// is the second): per sample row and block of SAMPLE_BLOCK logits, the block's max, its argmax,
// when the row samples with a temperature its probability mass relative to the block max, and
// the mass of the raw logits (temperature 1), from which sample.wgsl computes log-probabilities.
//
//   Row r, block b, logits v in [b * SAMPLE_BLOCK, min(V, (b + 1) * SAMPLE_BLOCK)):
//     m_b = max_v logits[r, v]     a_b = lowest v with logits[r, v] == m_b
//     s_b = sum_v exp((logits[r, v] - m_b) / temperature)   (0 when temperature == 0)
//     z_b = sum_v exp(logits[r, v] - m_b)
//   part[r, b] = (m_b, bitcast<f32>(a_b), s_b, z_b)
//
// Bindings (group 0):
//   0 P      uniform             Params { V, NB }
//   1 step   storage, read       [metaWords] u32    packed step (rows: temperature)
//   2 logits storage, read       [R, V] f32         LM head output of the sample rows
//   3 part   storage, read_write [R, NB, 4] f32     block partials
// Workgroup SAMPLE_WG; grid (NB, R, 1), NB = ceil(V / SAMPLE_BLOCK) (geometry.ts grids.sampleBlocks).
// Workgroup (b, r) reduces block b of row r (strided over its invocations, then a tree; s_b and
// z_b share the second tree); invocation 0 writes part[r, b]. Every block of every row is written.
// Host asserts: NB <= SAMPLE_WG (sample.wgsl merges the blocks with one invocation each);
// loop passes per invocation (loop_passes.ts sampleBlocks) within the adapter's loop budget.

struct Params {
  V: u32,
  NB: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<vec4<f32>>;

var<workgroup> red_f: array<f32, SAMPLE_WG>;
var<workgroup> red_i: array<u32, SAMPLE_WG>;
var<workgroup> red_z: array<f32, SAMPLE_WG>;

@compute @workgroup_size(SAMPLE_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.x;
  let r = wid.y;
  let base = r * P.V;
  let v0 = b * SAMPLE_BLOCK;
  let v1 = min(P.V, v0 + SAMPLE_BLOCK);
  var best = -3.4e38;
  var best_i = v0;
  for (var v = v0 + lid; v < v1; v += SAMPLE_WG) {
    let x = logits[base + v];
    if (x > best) {
      best = x;
      best_i = v;
    }
  }
  red_f[lid] = best;
  red_i[lid] = best_i;
  workgroupBarrier();
  for (var s = SAMPLE_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let a = red_f[lid];
      let c = red_f[lid + s];
      if (c > a || (c == a && red_i[lid + s] < red_i[lid])) {
        red_f[lid] = c;
        red_i[lid] = red_i[lid + s];
      }
    }
    workgroupBarrier();
  }
  let mb = red_f[0];
  let ab = red_i[0];
  let temperature = bitcast<f32>(step[step[HDR_ROWS] + r * ROW_WORDS + 2u]);
  workgroupBarrier();
  var mass = 0.0;
  var raw = 0.0;
  let sampled = temperature > 0.0;
  let inv_t = select(0.0, 1.0 / temperature, sampled);
  for (var v = v0 + lid; v < v1; v += SAMPLE_WG) {
    let d = logits[base + v] - mb;
    raw += exp(d);
    if (sampled) {
      mass += exp(d * inv_t);
    }
  }
  red_f[lid] = mass;
  red_z[lid] = raw;
  workgroupBarrier();
  for (var s = SAMPLE_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red_f[lid] += red_f[lid + s];
      red_z[lid] += red_z[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    part[r * P.NB + b] = vec4<f32>(mb, bitcast<f32>(ab), red_f[0], red_z[0]);
  }
}
