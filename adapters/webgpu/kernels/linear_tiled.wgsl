// linear_tiled.wgsl: linear layer for many rows (prefill chunks, large decode batches), a
// register-blocked matmul staged through workgroup memory.
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
// Workgroup TILE_WG = (TILE_M / TILE_RM) * (TILE_N / TILE_RN); grid (ceil(N / TILE_N),
// ceil(M / TILE_M), 1) (geometry.ts grids.tiled). Workgroup (bx, by) computes the TILE_M x
// TILE_N block at rows by * TILE_M, columns bx * TILE_N, staging TILE_K-wide slices of a and W
// (f32, transposed: [k][m], [k][n]) in workgroup memory, zero past M, N and K (tiled_stage.wgsl,
// appended: TILE_PF 0 stages each slice at its step, 1 and 2 load the next slice while this
// one is computed, 2 into a second buffer). Invocation
// (tx, ty) = (lid % (TILE_N / TILE_RN), lid / (TILE_N / TILE_RN)) owns the TILE_RM x TILE_RN
// (4 x 4 or 8 x 8) outputs at rows ty * TILE_RM + i, columns tx * TILE_RN + j of the block (with
// TILE_SW and 8 x 8: columns 4 tx + j and TILE_N / 2 + 4 tx + j, j < 4), held
// in mat4x4<f32> registers (no private arrays: a dynamically indexed array would live in local
// memory on NVIDIA's Vulkan compiler), and writes those inside M x N.
// Host asserts: K % 8 == 0; XS % 4 == 0; flags without NORM and GATHER; checkTileGeometry
// (TILE_RM == TILE_RN in {4, 8}, TILE_K % 8 == 0, at most 4 x and 2 W loads per invocation and
// slice, TILE_PF <= 2, TILE_SW <= 1); loop passes per invocation (loop_passes.ts
// tiled(K)) within the adapter's loop budget.

alias VS4 = vec4<f32>; // workgroup staging
alias MS = mat4x4<f32>; // per-slice accumulators
fn ST(v: f32) -> f32 { return v; }

const BIAS: u32 = 1u;
const RESIDUAL: u32 = 2u;
const SILU_MUL: u32 = 4u;
const KSPLIT: u32 = 32u;

// With KSPLIT: this workgroup's K range (grid z), and its partials are written raw to y.
var<private> split_z: u32 = 0u;
var<private> split_on: bool = false;

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
const RM4: u32 = TILE_RM / 4u;       // 1 or 2
const RN4: u32 = TILE_RN / 4u;
const A_ELEMS: u32 = TILE_M * TILE_K / 4u; // vec4 of x per slice
const W_ELEMS: u32 = TILE_N * TILE_K / 8u; // W8 per slice
const A_LOADS: u32 = (A_ELEMS + TILE_WG - 1u) / TILE_WG; // per invocation
const W_LOADS: u32 = (W_ELEMS + TILE_WG - 1u) / TILE_WG;
const BIG: bool = TILE_RM == 8u; // 8 x 8 outputs per invocation (four 4 x 4 blocks), else 4 x 4

// acc + the outer product a b^T as a 4 x 4 block (column i of the matrix holds output row i).
fn outer4(acc: MS, a: VS4, b: VS4) -> MS {
  return MS(
    fma(VS4(a.x), b, acc[0]),
    fma(VS4(a.y), b, acc[1]),
    fma(VS4(a.z), b, acc[2]),
    fma(VS4(a.w), b, acc[3]),
  );
}

// Writes columns n .. n + 3 of row m (inside M x N) with bias and residual.
fn store4(m: u32, M: u32, n: u32, v: vec4<f32>) {
  if (m >= M) {
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    if (split_on && n + j < P.N) {
      y[(split_z * M + m) * P.N + n + j] = v[j];
    } else if (n + j < P.N) {
      var o = v[j];
      if ((P.flags & BIAS) != 0u) {
        o += bias[n + j];
      }
      if ((P.flags & RESIDUAL) != 0u) {
        o += y[m * P.N + n + j];
      }
      y[m * P.N + n + j] = o;
    }
  }
}

@compute @workgroup_size(TILE_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let M = step[P.m_hdr];
  // KSPLIT: K range wid.z of ksplit(M, N, K) (the prelude's split_range).
  split_on = (P.flags & KSPLIT) != 0u;
  split_z = wid.z;
  let kr = split_range(M, P.N, 8u * P.K8, wid.z, split_on);
  let kb = kr.x;
  let ke = kr.y;
  let m0 = wid.y * TILE_M;
  let n0 = wid.x * TILE_N;
  let tx = lid % TWX;
  let ty = lid / TWX;
  // The invocation's two vec4 columns of W (8 x 8 outputs): adjacent (tx RN4, + 1), or with
  // TILE_SW tx and TWX + tx, so that a warp's loads of w_s are consecutive vec4s.
  let bc0 = select(tx * RN4, tx, TILE_SW != 0u);
  let bc1 = select(tx * RN4 + 1u, TWX + tx, TILE_SW != 0u);
  // Accumulators: c00 rows 0-3 x the columns of bc0 of the invocation's block; c01 those of bc1,
  // c10 rows 4-7.
  var c00 = mat4x4<f32>();
  var c01 = mat4x4<f32>();
  var c10 = mat4x4<f32>();
  var c11 = mat4x4<f32>();
  // Staging (tiled_stage.wgsl): with TILE_PF the first slice is fetched here, every next one
  // while the slice before is computed.
  if (TILE_PF != 0u && kb < ke) {
    fetch_slice(lid, kb, m0, n0, M);
    if (TILE_PF == 2u) {
      put_slice(lid, 0u);
      workgroupBarrier();
    }
  }
  var buf = 0u; // the staging buffer being computed (TILE_PF 2 alternates two)
  for (var k0 = kb; k0 < ke; k0 += TILE_K) {
    let next = k0 + TILE_K < ke;
    if (TILE_PF == 0u) {
      fetch_slice(lid, k0, m0, n0, M);
    }
    if (TILE_PF < 2u) {
      put_slice(lid, 0u);
      workgroupBarrier();
    }
    if (TILE_PF != 0u && next) {
      fetch_slice(lid, k0 + TILE_K, m0, n0, M);
    }
    let ab = buf * A_BUF;
    let wb = buf * W_BUF;
    for (var k = 0u; k < TILE_K; k++) {
      let a0 = a_s[ab + k * TM4 + ty * RM4];
      let b0 = w_s[wb + k * TN4 + bc0];
      c00 = outer4(c00, a0, b0);
      if (BIG) {
        let a1 = a_s[ab + k * TM4 + ty * RM4 + 1u];
        let b1 = w_s[wb + k * TN4 + bc1];
        c01 = outer4(c01, a0, b1);
        c10 = outer4(c10, a1, b0);
        c11 = outer4(c11, a1, b1);
      }
    }
    if (TILE_PF == 2u) {
      // The next slice into the other buffer (read after the barrier; the one computed above is
      // refilled only after the next barrier).
      if (next) {
        put_slice(lid, 1u - buf);
      }
      buf = 1u - buf;
    }
    workgroupBarrier();
  }
  let r = m0 + ty * TILE_RM;
  let c = n0 + 4u * bc0;
  let c1 = n0 + 4u * bc1;
  store4(r, M, c, c00[0]);
  store4(r + 1u, M, c, c00[1]);
  store4(r + 2u, M, c, c00[2]);
  store4(r + 3u, M, c, c00[3]);
  if (BIG) {
    store4(r, M, c1, c01[0]);
    store4(r + 1u, M, c1, c01[1]);
    store4(r + 2u, M, c1, c01[2]);
    store4(r + 3u, M, c1, c01[3]);
    store4(r + 4u, M, c, c10[0]);
    store4(r + 5u, M, c, c10[1]);
    store4(r + 6u, M, c, c10[2]);
    store4(r + 7u, M, c, c10[3]);
    store4(r + 4u, M, c1, c11[0]);
    store4(r + 5u, M, c1, c11[1]);
    store4(r + 6u, M, c1, c11[2]);
    store4(r + 7u, M, c1, c11[3]);
  }
}
