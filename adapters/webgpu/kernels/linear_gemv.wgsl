// linear_gemv.wgsl: linear layer for few rows (decode-heavy steps), weight-bandwidth bound.
//
//   y[m, n] = (RESIDUAL ? y[m, n] : 0) + s(m) * sum_k a(m, k) * W[n, k] + (BIAS ? bias[n] : 0)
//   a(m, k) = x[row(m), k]                          (plain)
//           = silu(x[row(m), k]) * x[row(m), K + k] (SILU_MUL: gate | up halves of the input row)
//           = x[row(m), k] * g[k]                   (NORM: the RMSNorm of the input, fused)
//   s(m)    = 1 / sqrt(mean_k x[row(m), k]^2 + eps) with NORM, else 1
//   row(m)  = step.rows[m].token_row with GATHER (the sample rows), else m
//   for m < M = step[P.m_hdr] (T or R rows), n < N, k < K.
//
// Bindings (group 0):
//   0 P    uniform             Params
//   1 step storage, read       [metaWords] u32        packed step (gives M; rows with GATHER)
//   2 x    storage, read       [rows, XS/4] vec4<f32> input rows, row stride XS (K, or 2K for SILU_MUL)
//   3 w    storage, read       [N, K/8] W8            weight, nn.Linear layout [out, in], 8 per W8
//   4 bias storage, read       [N] f32                (a 16-byte dummy when BIAS is off)
//   5 g    storage, read       [K] f32                RMSNorm weight (dummy when NORM is off)
//   6 y    storage, read_write [M, N] f32             output (read first when RESIDUAL)
// Workgroup GEMV_ROWS * GEMV_LANES; grid (ceil(N / GEMV_ROWS), 1, 1) (geometry.ts grids.gemv).
// Invocation (r, lane) = (lid / GEMV_LANES, lid % GEMV_LANES) of workgroup wx accumulates, for
// column n = wx * GEMV_ROWS + r and every row m < M, the dot products over W8 units k8 = lane,
// lane + GEMV_LANES, ... (GEMV_UNROLL loads in flight), and with NORM the squares of x; the
// lanes' partial sums meet in workgroup memory and invocation (r, m) (m < M) writes y[m, n].
// Host asserts: M <= GEMV_MB <= GEMV_LANES; K % 8 == 0; XS % 4 == 0; NORM and SILU_MUL not
// together; loop passes per invocation (loop_passes.ts gemv(K)) within the adapter's loop budget.

const BIAS: u32 = 1u;
const RESIDUAL: u32 = 2u;
const SILU_MUL: u32 = 4u;
const NORM: u32 = 8u;
const GATHER: u32 = 16u;

struct Params {
  N: u32,
  K8: u32,    // K / 8
  XS4: u32,   // row stride of x / 4
  flags: u32, // BIAS | RESIDUAL | SILU_MUL | NORM | GATHER
  m_hdr: u32, // header word holding M: HDR_T or HDR_R
  eps: f32,   // RMSNorm epsilon (NORM)
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w: array<W8>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

var<workgroup> red: array<f32, GEMV_ROWS * GEMV_MB * GEMV_LANES>;
var<workgroup> red_ss: array<f32, GEMV_MB * GEMV_LANES>;

@compute @workgroup_size(GEMV_ROWS * GEMV_LANES)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % GEMV_LANES;
  let r = lid / GEMV_LANES;
  let n = wid.x * GEMV_ROWS + r;
  let M = step[P.m_hdr];
  let silu = (P.flags & SILU_MUL) != 0u;
  let norm = (P.flags & NORM) != 0u;
  var xrow: array<u32, GEMV_MB>; // vec4 offset of each input row
  for (var m = 0u; m < GEMV_MB; m++) {
    var row = m;
    if ((P.flags & GATHER) != 0u && m < M) {
      row = step[step[HDR_ROWS] + m * ROW_WORDS];
    }
    xrow[m] = row * P.XS4;
  }
  var acc: array<f32, GEMV_MB>;
  var ss: array<f32, GEMV_MB>;
  let nn = min(n, P.N - 1u); // rows past N compute a copy of the last row and write nothing
  let wrow = nn * P.K8;
  for (var k0 = lane; k0 < P.K8; k0 += GEMV_LANES * GEMV_UNROLL) {
    var wv: array<W8, GEMV_UNROLL>;
    for (var u = 0u; u < GEMV_UNROLL; u++) {
      let k8 = min(k0 + u * GEMV_LANES, P.K8 - 1u);
      wv[u] = w[wrow + k8];
    }
    for (var u = 0u; u < GEMV_UNROLL; u++) {
      let k8 = k0 + u * GEMV_LANES;
      if (k8 < P.K8) {
        let lo = w8_lo(wv[u]);
        let hi = w8_hi(wv[u]);
        var ga = vec4<f32>(1.0);
        var gb = vec4<f32>(1.0);
        if (norm) {
          ga = g[2u * k8];
          gb = g[2u * k8 + 1u];
        }
        for (var m = 0u; m < GEMV_MB; m++) {
          if (m < M) {
            var xa = x[xrow[m] + 2u * k8];
            var xb = x[xrow[m] + 2u * k8 + 1u];
            if (silu) {
              xa = xa / (1.0 + exp(-xa)) * x[xrow[m] + P.K8 * 2u + 2u * k8];
              xb = xb / (1.0 + exp(-xb)) * x[xrow[m] + P.K8 * 2u + 2u * k8 + 1u];
            }
            if (norm) {
              ss[m] += dot(xa, xa) + dot(xb, xb);
            }
            acc[m] += dot(lo, xa * ga) + dot(hi, xb * gb);
          }
        }
      }
    }
  }
  for (var m = 0u; m < GEMV_MB; m++) {
    red[(r * GEMV_MB + m) * GEMV_LANES + lane] = acc[m];
  }
  if (r == 0u) {
    for (var m = 0u; m < GEMV_MB; m++) {
      red_ss[m * GEMV_LANES + lane] = ss[m];
    }
  }
  workgroupBarrier();
  let m = lane;
  if (n < P.N && m < M) {
    var v = 0.0;
    var sq = 0.0;
    for (var i = 0u; i < GEMV_LANES; i++) {
      v += red[(r * GEMV_MB + m) * GEMV_LANES + i];
      sq += red_ss[m * GEMV_LANES + i];
    }
    if (norm) {
      v *= inverseSqrt(sq / f32(8u * P.K8) + P.eps);
    }
    if ((P.flags & BIAS) != 0u) {
      v += bias[n];
    }
    if ((P.flags & RESIDUAL) != 0u) {
      v += y[m * P.N + n];
    }
    y[m * P.N + n] = v;
  }
}
