// linear_tiled.wgsl: linear layer for many rows (prefill chunks), a shared-memory tiled matmul.
//
//   y[m, n] = (P.flags & RESIDUAL ? y[m, n] : 0) + sum_k a(m, k) * W[n, k] + (P.flags & BIAS ? bias[n] : 0)
//   a(m, k) = x[m, k], or silu(x[m, k]) * x[m, K + k] with SILU_MUL
//   for m < M = step[P.m_hdr], n < N, k < K.  (Same contract as linear_gemv.wgsl.)
//
// Bindings (group 0), identical to linear_gemv.wgsl so that one bind group serves both:
//   0 P    uniform             Params
//   1 step storage, read       [metaWords] u32      packed step (gives M)
//   2 x    storage, read       [M, XS/4] vec4<f32>  input rows
//   3 w    storage, read       [N, K/4] vec4<WT>    weight [out, in]
//   4 bias storage, read       [N] f32              (dummy when BIAS is off)
//   5 y    storage, read_write [M, N] f32           output
// Workgroup 16 x 16 = 256; grid (ceil(N / TILE_N), ceil(M / TILE_M), 1) (geometry.ts grids.tiled).
// Workgroup (bx, by) computes the TILE_M x TILE_N block at rows by * TILE_M, columns bx * TILE_N,
// staging TILE_K-wide slices of a and W in workgroup memory (zero-padded past M, N and K);
// invocation (tx, ty) = (lid % 16, lid / 16) owns the 4 x 4 outputs at rows ty * 4 + i and
// columns tx * 4 + j of the block and writes those inside M x N.
// Host asserts: K % 4 == 0; XS % 4 == 0; TILE_M == TILE_N == 64; TILE_K == 16; loop passes per
// invocation (loop_passes.ts tiled(K)) within the adapter's loop budget.

const BIAS: u32 = 1u;
const RESIDUAL: u32 = 2u;
const SILU_MUL: u32 = 4u;

struct Params {
  N: u32,
  K4: u32,
  XS4: u32,
  flags: u32,
  m_hdr: u32,
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

var<workgroup> a_s: array<vec4<f32>, TILE_K * TILE_M / 4u>; // [TILE_K][TILE_M / 4]
var<workgroup> w_s: array<vec4<f32>, TILE_K * TILE_N / 4u>; // [TILE_K][TILE_N / 4]

fn load_a(m: u32, k4: u32) -> vec4<f32> {
  let v = x[m * P.XS4 + k4];
  if ((P.flags & SILU_MUL) != 0u) {
    let up = x[m * P.XS4 + P.K4 + k4];
    return v / (1.0 + exp(-v)) * up;
  }
  return v;
}

fn put(buf: u32, k: u32, i: u32, v: f32) {
  // Scalar store into the transposed [k][i] tile (i = row or column within the block).
  if (buf == 0u) {
    a_s[k * (TILE_M / 4u) + i / 4u][i % 4u] = v;
  } else {
    w_s[k * (TILE_N / 4u) + i / 4u][i % 4u] = v;
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let M = step[P.m_hdr];
  let m0 = wid.y * TILE_M;
  let n0 = wid.x * TILE_N;
  let tx = lid % 16u;
  let ty = lid / 16u;
  // Loader mapping: 64 rows x 4 vec4 along k.
  let lr = lid / 4u;
  let lk = lid % 4u;
  var acc: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) {
    acc[i] = vec4<f32>(0.0);
  }
  for (var k0 = 0u; k0 < P.K4; k0 += TILE_K / 4u) {
    let k4 = k0 + lk;
    var av = vec4<f32>(0.0);
    if (m0 + lr < M && k4 < P.K4) {
      av = load_a(m0 + lr, k4);
    }
    var wv = vec4<f32>(0.0);
    if (n0 + lr < P.N && k4 < P.K4) {
      wv = vec4<f32>(w[(n0 + lr) * P.K4 + k4]);
    }
    for (var j = 0u; j < 4u; j++) {
      put(0u, lk * 4u + j, lr, av[j]);
      put(1u, lk * 4u + j, lr, wv[j]);
    }
    workgroupBarrier();
    for (var k = 0u; k < TILE_K; k++) {
      let a4 = a_s[k * (TILE_M / 4u) + ty];
      let b4 = w_s[k * (TILE_N / 4u) + tx];
      acc[0] += a4[0] * b4;
      acc[1] += a4[1] * b4;
      acc[2] += a4[2] * b4;
      acc[3] += a4[3] * b4;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + tx * 4u + j;
      if (m < M && n < P.N) {
        var v = acc[i][j];
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
