// rmsnorm.wgsl: RMSNorm of whole rows, optionally of the sample rows only.
//
//   y[r, c] = g[c] * x[row(r), c] / sqrt(mean_c(x[row(r), c]^2) + eps)
//   row(r) = r                        when P.gather == 0 (r < T, every token)
//          = step.rows[r].token_row   when P.gather == 1 (r < R, final norm before the LM head)
//
// Bindings (group 0):
//   0 P    uniform             Params
//   1 step storage, read       [metaWords] u32  packed step
//   2 x    storage, read       [T, C] f32       input rows
//   3 g    storage, read       [C] f32          norm weight
//   4 y    storage, read_write [M, C] f32       output rows (M = T or R)
// Workgroup NORM_WG; grid (M, 1, 1) (geometry.ts grids.rmsnorm).
// Workgroup r computes row r: each invocation sums the squares of a strided slice of the row,
// a tree reduction gives the mean, then each invocation writes its strided slice of y[r].
// Host asserts: M <= rows of y; NORM_WG is a power of two; loop passes per invocation
// (loop_passes.ts rmsnorm(C)) within the adapter's loop budget.

struct Params {
  C: u32,
  gather: u32,
  eps: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, NORM_WG>;

@compute @workgroup_size(NORM_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x;
  var row = r;
  if (P.gather == 1u) {
    row = step[step[HDR_ROWS] + r * ROW_WORDS];
  }
  let xbase = row * P.C;
  var ss = 0.0;
  for (var c = lid; c < P.C; c += NORM_WG) {
    let v = x[xbase + c];
    ss += v * v;
  }
  partial[lid] = ss;
  workgroupBarrier();
  for (var s = NORM_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partial[lid] += partial[lid + s];
    }
    workgroupBarrier();
  }
  let inv = inverseSqrt(partial[0] / f32(P.C) + P.eps);
  for (var c = lid; c < P.C; c += NORM_WG) {
    y[r * P.C + c] = g[c] * (x[xbase + c] * inv);
  }
}
