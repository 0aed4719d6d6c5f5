// linear_gemv.wgsl: linear layer for few rows (decode-heavy steps), weight-bandwidth bound.
//
//   y[m, n] = (P.flags & RESIDUAL ? y[m, n] : 0) + sum_k a(m, k) * W[n, k] + (P.flags & BIAS ? bias[n] : 0)
//   a(m, k) = x[m, k]                                  (plain)
//           = silu(x[m, k]) * x[m, K + k]              (P.flags & SILU_MUL: gate | up rows of x)
//   for m < M = step[P.m_hdr] (T or R rows), n < N, k < K.
//
// Bindings (group 0):
//   0 P    uniform             Params
//   1 step storage, read       [metaWords] u32        packed step (gives M)
//   2 x    storage, read       [M, XS/4] vec4<f32>    input rows, row stride XS (K, or 2K for SILU_MUL)
//   3 w    storage, read       [N, K/4] vec4<WT>      weight, nn.Linear layout [out, in]
//   4 bias storage, read       [N] f32                (a 4-byte dummy when BIAS is off)
//   5 y    storage, read_write [M, N] f32             output (read first when RESIDUAL)
// Workgroup GEMV_ROWS * GEMV_LANES; grid (ceil(N / GEMV_ROWS), 1, 1) (geometry.ts grids.gemv).
// Invocation (r, lane) = (lid / GEMV_LANES, lid % GEMV_LANES) of workgroup wx accumulates, for
// column n = wx * GEMV_ROWS + r and every row m < M, the vec4 dot products k4 = lane, lane +
// GEMV_LANES, ...; a tree reduction over the lanes follows, and lane m (< M) writes y[m, n].
// Host asserts: M <= GEMV_MB; K % 4 == 0; XS % 4 == 0; loop passes per invocation (loop_passes.ts
// gemv(K)) within the adapter's loop budget.

const BIAS: u32 = 1u;
const RESIDUAL: u32 = 2u;
const SILU_MUL: u32 = 4u;

struct Params {
  N: u32,
  K4: u32,    // K / 4
  XS4: u32,   // row stride of x / 4
  flags: u32, // BIAS | RESIDUAL | SILU_MUL
  m_hdr: u32, // header word holding M: HDR_T or HDR_R
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w: array<WT4>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

var<workgroup> red: array<f32, GEMV_ROWS * GEMV_MB * GEMV_LANES>;

fn load_a(m: u32, k4: u32) -> vec4<f32> {
  let v = x[m * P.XS4 + k4];
  if ((P.flags & SILU_MUL) != 0u) {
    let up = x[m * P.XS4 + P.K4 + k4];
    return v / (1.0 + exp(-v)) * up;
  }
  return v;
}

@compute @workgroup_size(GEMV_ROWS * GEMV_LANES)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % GEMV_LANES;
  let r = lid / GEMV_LANES;
  let n = wid.x * GEMV_ROWS + r;
  let M = step[P.m_hdr];
  var acc: array<f32, GEMV_MB>;
  for (var m = 0u; m < GEMV_MB; m++) {
    acc[m] = 0.0;
  }
  if (n < P.N) {
    for (var k4 = lane; k4 < P.K4; k4 += GEMV_LANES) {
      let wv = vec4<f32>(w[n * P.K4 + k4]);
      for (var m = 0u; m < GEMV_MB; m++) {
        if (m < M) {
          acc[m] += dot(wv, load_a(m, k4));
        }
      }
    }
  }
  for (var m = 0u; m < GEMV_MB; m++) {
    red[(r * GEMV_MB + m) * GEMV_LANES + lane] = acc[m];
  }
  workgroupBarrier();
  for (var s = GEMV_LANES / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      for (var m = 0u; m < GEMV_MB; m++) {
        let i = (r * GEMV_MB + m) * GEMV_LANES + lane;
        red[i] += red[i + s];
      }
    }
    workgroupBarrier();
  }
  let m = lane;
  if (n < P.N && m < M && m < GEMV_MB) {
    var v = red[(r * GEMV_MB + m) * GEMV_LANES];
    if ((P.flags & BIAS) != 0u) {
      v += bias[n];
    }
    if ((P.flags & RESIDUAL) != 0u) {
      v += y[m * P.N + n];
    }
    y[m * P.N + n] = v;
  }
}
