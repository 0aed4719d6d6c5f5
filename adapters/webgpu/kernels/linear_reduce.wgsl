// linear_reduce.wgsl: the second pass of the tiled matmul's split over K (KSPLIT).
//
//   y[m, n] = (RESIDUAL ? y[m, n] : 0) + sum_{z < S} part[z, m, n] + (BIAS ? bias[n] : 0)
//   S = ksplit(M, N, K) (the prelude; geometry.ts tiledSplit), m < M = step[P.m_hdr], n < N.
//
// Bindings (group 0):
//   0 P    uniform             Params (linear_gemv.wgsl's: N, K8, flags, m_hdr used)
//   1 step storage, read       [metaWords] u32   packed step (gives M)
//   2 part storage, read       [S, M, N] f32     linear_tiled(_h) partials with KSPLIT
//   3 bias storage, read       [N] f32           (dummy when BIAS is off)
//   4 y    storage, read_write [M, N] f32        output (read first when RESIDUAL)
// Workgroup REDUCE_WG; grid (ceil(M * N / REDUCE_WG), 1, 1) (geometry.ts grids.reduce): one
// invocation per output.
// Host asserts: the partials were written by the same step with the same P; loop passes per
// invocation SPLIT_MAX + 1 (loop_passes.ts reduce).

const BIAS: u32 = 1u;
const RESIDUAL: u32 = 2u;

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
@group(0) @binding(2) var<storage, read> part: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(REDUCE_WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = step[P.m_hdr];
  let i = gid.x;
  if (i >= M * P.N) {
    return;
  }
  let S = ksplit(M, P.N, 8u * P.K8);
  var v = 0.0;
  for (var z = 0u; z < S; z++) {
    v += part[z * M * P.N + i];
  }
  if ((P.flags & BIAS) != 0u) {
    v += bias[i % P.N];
  }
  if ((P.flags & RESIDUAL) != 0u) {
    v += y[i];
  }
  y[i] = v;
}
