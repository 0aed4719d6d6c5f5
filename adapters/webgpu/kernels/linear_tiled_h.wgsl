// linear_tiled_h.wgsl: linear_tiled.wgsl with f16 arithmetic (compiled only with f16 storage):
// the staged a and W slices are f16 in workgroup memory and each TILE_K slice is multiply-added in
// f16 (vec4<f16>: two packed f16 FMAs per instruction pair), then added to f32 accumulators, so
// rounding error grows over TILE_K products, not over K. The activations are rounded to f16.
//
//   y[m, n] = (RESIDUAL ? y[m, n] : 0) + sum_k a(m, k) * W[n, k] + (BIAS ? bias[n] : 0)
//   a(m, k) = x[m, k], or silu(x[m, k]) * x[m, K + k] with SILU_MUL
//   for m < M = step[P.m_hdr], n < N, k < K.  (linear_gemv.wgsl's contract without NORM/GATHER.)
//
// Bindings (group 0), identical to linear_gemv.wgsl so that one bind group serves both:
//   0 P    uniform             Params
//   1 step storage, read       [metaWords] u32      packed step (gives M)
//   2 x    storage, read       [M, XS/4] vec4<f32>  input rows
//   3 w    storage, read       [N, K/8] W8          weight [out, in], 8 per W8
//   4 bias storage, read       [N] f32              (dummy when BIAS is off)
//   5 g    storage, read       [4] f32              unused (linear_gemv's NORM weight slot)
//   6 y    storage, read_write [M, N] f32           output
// Workgroup (TILE_N / TILE_RN) x (TILE_M / TILE_RM) = TILE_WG; grid (ceil(N / TILE_N),
// ceil(M / TILE_M), 1) (geometry.ts grids.tiled). Workgroup (bx, by) computes the TILE_M x TILE_N
// block at rows by * TILE_M, columns bx * TILE_N, staging TILE_K-wide slices of a and W, f16,
// transposed ([k][m], [k][n]) in workgroup memory (zero past M, N and K). Invocation
// (tx, ty) = (lid % (TILE_N / TILE_RN), lid / (TILE_N / TILE_RN)) owns the TILE_RM x TILE_RN
// outputs at rows ty * TILE_RM + i, columns tx * TILE_RN + j of the block: per slice in f16
// registers, then in f32 registers; it writes those inside M x N.
// Host asserts: f16 storage (shader-f16); K % 8 == 0; XS % 4 == 0; flags without NORM and GATHER; TILE_K % 8 == 0;
// TILE_RM, TILE_RN multiples of 4 (checkTileGeometry); loop passes per invocation
// (loop_passes.ts tiled(K)) within the adapter's loop budget.

const BIAS: u32 = 1u;
const RESIDUAL: u32 = 2u;
const SILU_MUL: u32 = 4u;

struct Params {
  N: u32,
  K8: u32,
  XS4: u32,
  flags: u32,
  m_hdr: u32,
  eps: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w: array<W8>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

const TWX: u32 = TILE_N / TILE_RN;   // invocations along n
const TM4: u32 = TILE_M / 4u;
const TN4: u32 = TILE_N / 4u;
const RM4: u32 = TILE_RM / 4u;
const RN4: u32 = TILE_RN / 4u;
const A_ELEMS: u32 = TILE_M * TILE_K / 4u; // vec4 of x per slice
const W_ELEMS: u32 = TILE_N * TILE_K / 8u; // W8 per slice
const A_LOADS: u32 = (A_ELEMS + TILE_WG - 1u) / TILE_WG; // per invocation
const W_LOADS: u32 = (W_ELEMS + TILE_WG - 1u) / TILE_WG;

var<workgroup> a_s: array<vec4<f16>, TILE_K * TM4>; // [TILE_K][TILE_M / 4]
var<workgroup> w_s: array<vec4<f16>, TILE_K * TN4>; // [TILE_K][TILE_N / 4]

fn load_a(m: u32, k4: u32) -> vec4<f32> {
  let v = x[m * P.XS4 + k4];
  if ((P.flags & SILU_MUL) != 0u) {
    let up = x[m * P.XS4 + 2u * P.K8 + k4];
    return v / (1.0 + exp(-v)) * up;
  }
  return v;
}

@compute @workgroup_size(TILE_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let M = step[P.m_hdr];
  let m0 = wid.y * TILE_M;
  let n0 = wid.x * TILE_N;
  let tx = lid % TWX;
  let ty = lid / TWX;
  var acc: array<vec4<f32>, TILE_RM * RN4>; // [i][j4]: rows ty * TILE_RM + i, cols 4 (tx * RN4 + j4)
  for (var k0 = 0u; k0 < P.K8 * 8u; k0 += TILE_K) {
    // Stage a: TILE_M x TILE_K as vec4 along k, stored transposed.
    for (var u = 0u; u < A_LOADS; u++) {
      let e = lid + u * TILE_WG;
      let mi = e / (TILE_K / 4u);
      let kq = e % (TILE_K / 4u);
      let k4 = k0 / 4u + kq;
      var v = vec4<f32>(0.0);
      if (m0 + mi < M && k4 < 2u * P.K8) {
        v = load_a(m0 + mi, k4);
      }
      if (e < A_ELEMS) {
        for (var c = 0u; c < 4u; c++) {
          a_s[(kq * 4u + c) * TM4 + mi / 4u][mi % 4u] = f16(v[c]);
        }
      }
    }
    // Stage W: TILE_N x TILE_K as W8 along k, stored transposed.
    for (var u = 0u; u < W_LOADS; u++) {
      let e = lid + u * TILE_WG;
      let ni = e / (TILE_K / 8u);
      let ko = e % (TILE_K / 8u);
      let k8 = k0 / 8u + ko;
      var lo = vec4<f32>(0.0);
      var hi = vec4<f32>(0.0);
      if (e < W_ELEMS && n0 + ni < P.N && k8 < P.K8) {
        let wv = w[(n0 + ni) * P.K8 + k8];
        lo = w8_lo(wv);
        hi = w8_hi(wv);
      }
      if (e < W_ELEMS) {
        for (var c = 0u; c < 4u; c++) {
          w_s[(ko * 8u + c) * TN4 + ni / 4u][ni % 4u] = f16(lo[c]);
          w_s[(ko * 8u + 4u + c) * TN4 + ni / 4u][ni % 4u] = f16(hi[c]);
        }
      }
    }
    workgroupBarrier();
    var acc_h: array<vec4<f16>, TILE_RM * RN4>;
    for (var i = 0u; i < TILE_RM * RN4; i++) {
      acc_h[i] = vec4<f16>(0.0); // explicitly: naga hoists loop-body locals (no re-zeroing)
    }
    for (var k = 0u; k < TILE_K; k++) {
      var av: array<vec4<f16>, RM4>;
      var bv: array<vec4<f16>, RN4>;
      for (var i = 0u; i < RM4; i++) {
        av[i] = a_s[k * TM4 + ty * RM4 + i];
      }
      for (var j = 0u; j < RN4; j++) {
        bv[j] = w_s[k * TN4 + tx * RN4 + j];
      }
      for (var i = 0u; i < TILE_RM; i++) {
        let a = av[i / 4u][i % 4u];
        for (var j = 0u; j < RN4; j++) {
          acc_h[i * RN4 + j] = fma(vec4<f16>(a), bv[j], acc_h[i * RN4 + j]);
        }
      }
    }
    for (var i = 0u; i < TILE_RM * RN4; i++) {
      acc[i] += vec4<f32>(acc_h[i]);
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TILE_RM; i++) {
    let m = m0 + ty * TILE_RM + i;
    for (var j = 0u; j < TILE_RN; j++) {
      let n = n0 + tx * TILE_RN + j;
      if (m < M && n < P.N) {
        var v = acc[i * RN4 + j / 4u][j % 4u];
        if ((P.flags & BIAS) != 0u) {
          v += bias[n];
        }
        if ((P.flags & RESIDUAL) != 0u) {
          v += y[m * P.N + n];
        }
        y[m * P.N + n] = v;
      }
    }
  }
}
