// attention_merge.wgsl: merges the split-KV partials of attention_hybrid.wgsl (flash-decoding's
// second pass).
//
//   Entry e = step[HDR_MERGE + 4 e ..]: output row o (= t * H + h), first partial p0, stride,
//   count n. Partials i < n live at part[p0 + i * stride] = (o_i[0 .. D), m_i, l_i).
//     M = max_{i: l_i > 0} m_i      w_i = exp(m_i - M) (0 when l_i == 0), computed online
//     out[o, d] = sum_i w_i o_i[d] / sum_i w_i l_i
//
// Bindings (group 0):
//   0 P    uniform             Params
//   1 step storage, read       [metaWords] u32            packed step + merge list (HDR_MERGE)
//   2 part storage, read       [partialRows, D + 2] f32   split partials
//   3 out  storage, read_write [T, H * D] f32             attention output
// Workgroup MERGE_WG; grid (entries, 1, 1) (geometry.ts grids.attnMerge). Workgroup e merges
// entry e: invocation i merges dims i, i + MERGE_WG, ... < D in one online pass over the n
// partials (each reducing M and the denominator itself). Every dim of the row is written (0 if
// no partial saw a key).
// Host asserts (planAttention): p0 + (n - 1) * stride < partialRows; o < T * H; loop passes per
// invocation (loop_passes.ts merge(n, D)) within the adapter's loop budget.

struct Params {
  D: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> part: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(MERGE_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = step[HDR_MERGE] + wid.x * MERGE_WORDS;
  let row = step[e];
  let p0 = step[e + 1u];
  let stride = step[e + 2u];
  let n = step[e + 3u];
  let D = P.D;
  let W = D + 2u;
  // One pass per dim, online (rescaled whenever the running max rises): the loads of one
  // partial do not wait on the previous partial's.
  for (var d = lid; d < D; d += MERGE_WG) {
    var M = -3.0e38;
    var num = 0.0;
    var den = 0.0;
    for (var i = 0u; i < n; i++) {
      let p = (p0 + i * stride) * W;
      let li = part[p + D + 1u];
      let mi = part[p + D];
      let oi = part[p + d];
      if (li > 0.0) {
        let m_new = max(M, mi);
        let c = exp(M - m_new);
        let w = exp(mi - m_new);
        num = fma(num, c, w * oi);
        den = fma(den, c, w * li);
        M = m_new;
      }
    }
    var o = 0.0;
    if (den > 0.0) {
      o = num / den;
    }
    out[row * D + d] = o;
  }
}
