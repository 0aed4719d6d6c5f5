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
// Workgroup GEMV_ROWS * GEMV_LANES; grid (ceil(N / (GEMV_ROWS GEMV_RPT)), ceil(M / GEMV_MB), 1) (geometry.ts
// grids.gemv): grid row y takes rows m0 = y * GEMV_MB .. m0 + GEMV_MB - 1 (the weight is read
// once per slice; the engine runs up to GEMV_MAXM rows so, past it the tiled matmul).
// Compiled twice (pipelines.ts): `linear_gemv` with GEMV_MB = 16 and `linear_gemv_s` with the
// small geometry (geometry.ts smallGemvGeometry: GEMV_MB = GEMV_SMB = 1, GEMV_SROWS x
// GEMV_SLANES), whose dead row groups take no registers.
// Invocation (r, lane) = (lid / GEMV_LANES, lid % GEMV_LANES) of workgroup wx accumulates, for
// column n = wx * GEMV_ROWS + r and every row m < M (in groups of 4 rows, vec4 registers), the
// dot products over W8 units k8 = lane, lane + GEMV_LANES, ... (four loads in flight), and with
// NORM the squares of x; the lanes' partial sums meet in workgroup memory, a tree of
// log2(GEMV_LANES) halvings adds them, and invocation (r, m) (m < M) writes y[m0 + m, n].
// With GEMV_MB == 1 (one_row): GEMV_RPT columns n0 = (wx * GEMV_ROWS + r) * GEMV_RPT .. + RPT - 1
// per invocation, accumulated componentwise; each input W8 (and its squares, its norm weight) is
// loaded once for all of them, GEMV_SLD (4 or 8) weight loads in flight ((GEMV_SLD / GEMV_RPT) k
// steps x GEMV_RPT columns); invocation (r, j) (j < GEMV_RPT) writes y[n0 + j]. GEMV_RPT 1 is the
// same arithmetic, in the same order, as before GEMV_RPT existed; GEMV_SLD keeps each lane's k
// steps (lane, lane + GEMV_LANES, ...) in the same order (bit for bit on llvmpipe with GEMV_RPT
// 1, linear_test.ts; with 2 or 4 columns llvmpipe's last bits differ between 4 and 8).
// GEMV_SROT 1 rotates each workgroup's passes over K (one_row, below).
// GEMV_ROPE 1 (compiled as `linear_gemv_rope`, one row, the qkv projection; gemv_rope.wgsl):
// workgroup wx computes the GEMV_ROWS / 2 rotary pairs (i, i + D/2) of rope_col's columns, and
// invocation (r, 0) applies rope_kv.wgsl's rotation to its column with its pair's value from
// workgroup memory: q columns are written rotated to y, k and v columns unrotated (as the GEMV
// leaves them), and k (rotated) and v go to the paged KV cache at the row's slot (rope_store).
// GEMV_ROPE 0 compiles a stub of rope_store, never called.
// Host asserts: GEMV_ROPE only with GEMV_MB 1, GEMV_RPT 1, GEMV_ROWS even and dividing D
// (geometry.ts ropeGemvFits), N = (H + 2G) D and no RESIDUAL (the engine's qkv);
// GEMV_MB <= GEMV_LANES, GEMV_MB 1 or a multiple of 4 up to 16, GEMV_LANES a power of two,
// GEMV_RPT 1, 2 or 4 and 1 unless GEMV_MB == 1, GEMV_SLD 4 or 8, GEMV_SROT 0 or 1
// (geometry.ts checkGemvGeometry);
// K % 8 == 0; XS % 4 == 0; NORM and SILU_MUL not together; loop passes per invocation
// (loop_passes.ts gemv(K)) within the loop budget.

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
  rope_h: u32,    // GEMV_ROPE: query heads H (N = (H + 2G) D), else 0
  rope_base: u32, // GEMV_ROPE: element offset of the layer in the KV cache, else 0
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w: array<W8>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

var<workgroup> red: array<f32, GEMV_ROWS * GEMV_MB * GEMV_RPT * GEMV_LANES>;
var<workgroup> red_ss: array<f32, GEMV_MB * GEMV_LANES>;

// vec4 offsets of input rows m0 + 4 q .. m0 + 4 q + 3 (rows past M read row m0: their sums are
// dropped).
fn rows4(m0: u32, q: u32, M: u32) -> vec4<u32> {
  var o = vec4<u32>(0u);
  for (var i = 0u; i < 4u; i++) {
    let m = 4u * q + i;
    var row = m0;
    if (m < M) {
      row = m0 + m;
      if ((P.flags & GATHER) != 0u) {
        row = step[step[HDR_ROWS] + (m0 + m) * ROW_WORDS];
      }
    }
    o[i] = row * P.XS4;
  }
  return o;
}

// The input a(m, k8 * 8 .. + 7) of one row at vec4 offset `at`, as (elements 0-3, 4-7).
fn input8(at: u32, k8: u32, ga: vec4<f32>, gb: vec4<f32>) -> mat2x4<f32> {
  var xa = x[at + 2u * k8];
  var xb = x[at + 2u * k8 + 1u];
  if ((P.flags & SILU_MUL) != 0u) {
    xa = xa / (1.0 + exp(-xa)) * x[at + 2u * P.K8 + 2u * k8];
    xb = xb / (1.0 + exp(-xb)) * x[at + 2u * P.K8 + 2u * k8 + 1u];
  }
  return mat2x4<f32>(xa, xb);
}

// Dot products of one W8 (lo, hi) with the inputs of 4 rows, and their squares (for NORM).
struct Dots {
  d: vec4<f32>,
  s: vec4<f32>,
}

fn dots4(rows: vec4<u32>, k8: u32, lo: vec4<f32>, hi: vec4<f32>, ga: vec4<f32>, gb: vec4<f32>) -> Dots {
  let i0 = input8(rows.x, k8, ga, gb);
  let i1 = input8(rows.y, k8, ga, gb);
  let i2 = input8(rows.z, k8, ga, gb);
  let i3 = input8(rows.w, k8, ga, gb);
  let wa = lo * ga;
  let wb = hi * gb;
  return Dots(
    vec4<f32>(
      dot(wa, i0[0]) + dot(wb, i0[1]),
      dot(wa, i1[0]) + dot(wb, i1[1]),
      dot(wa, i2[0]) + dot(wb, i2[1]),
      dot(wa, i3[0]) + dot(wb, i3[1]),
    ),
    vec4<f32>(
      dot(i0[0], i0[0]) + dot(i0[1], i0[1]),
      dot(i1[0], i1[0]) + dot(i1[1], i1[1]),
      dot(i2[0], i2[0]) + dot(i2[1], i2[1]),
      dot(i3[0], i3[0]) + dot(i3[1], i3[1]),
    ),
  );
}

fn hsum(v: vec4<f32>) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}

// GEMV_ROPE: the column of row r of workgroup wx. The workgroup takes GEMV_ROWS / 2 rotary
// pairs of one head: rows r < GEMV_ROWS / 2 columns i0 + r, the rest their partners + D/2.
fn rope_col(wx: u32, r: u32) -> u32 {
  let hp = GEMV_ROWS / 2u;
  let per_head = HEAD_D / 2u / hp;
  let base = (wx / per_head) * HEAD_D + (wx % per_head) * hp;
  return select(base + r, base + HEAD_D / 2u + r - hp, r >= hp);
}

// One input row (GEMV_MB == 1): GEMV_RPT columns per invocation, sums componentwise (the vec4
// lanes are added once at the end).
fn one_row(wx: u32, lid: u32) {
  let lane = lid % GEMV_LANES;
  let r = lid / GEMV_LANES;
  var n0 = (wx * GEMV_ROWS + r) * GEMV_RPT;
  if (GEMV_ROPE != 0u) {
    n0 = rope_col(wx, r);
  }
  let M = min(step[P.m_hdr], 1u);
  let norm = (P.flags & NORM) != 0u;
  let at = rows4(0u, 0u, M).x;
  let last = P.K8 - 1u;
  // Weight rows of the columns; columns past N compute a copy of the last one and write nothing.
  let cs = vec4<u32>(
    min(n0, P.N - 1u),
    min(n0 + 1u, P.N - 1u),
    min(n0 + 2u, P.N - 1u),
    min(n0 + 3u, P.N - 1u),
  ) * P.K8;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var ss = vec4<f32>(0.0);
  var xa = vec4<f32>(0.0);
  var xb = vec4<f32>(0.0);
  var ga = vec4<f32>(1.0);
  var gb = vec4<f32>(1.0);
  // Passes of GEMV_SLD loads over K: pass jt covers k steps from lane + jt * stride. With
  // GEMV_SROT 1 workgroup wx starts at pass wx % passes and wraps around, so workgroups that run
  // at the same time read different K ranges of their rows (different offsets within every row,
  // hence different memory channels) instead of all the same range; a lane's sum then adds its k
  // steps in another order. GEMV_SROT 0 keeps each lane's order (and its bits) unchanged.
  let stride = (GEMV_SLD / GEMV_RPT) * GEMV_LANES;
  let passes = (P.K8 + stride - 1u) / stride;
  var rot = 0u;
  if (GEMV_SROT != 0u) {
    rot = wx % passes;
  }
  for (var it = 0u; it < passes; it++) {
    var jt = it + rot;
    if (jt >= passes) {
      jt -= passes;
    }
    let k0 = lane + jt * stride;
    // GEMV_SLD (4 or 8) weight loads in flight, all issued before any is used: load q is column
    // q % GEMV_RPT at k step q / GEMV_RPT. With GEMV_SLD 4, w4 .. w7 are dead code.
    let w0 = w[cs[0u % GEMV_RPT] + min(k0 + (0u / GEMV_RPT) * GEMV_LANES, last)];
    let w1 = w[cs[1u % GEMV_RPT] + min(k0 + (1u / GEMV_RPT) * GEMV_LANES, last)];
    let w2 = w[cs[2u % GEMV_RPT] + min(k0 + (2u / GEMV_RPT) * GEMV_LANES, last)];
    let w3 = w[cs[3u % GEMV_RPT] + min(k0 + (3u / GEMV_RPT) * GEMV_LANES, last)];
    var w4 = w0;
    var w5 = w0;
    var w6 = w0;
    var w7 = w0;
    if (GEMV_SLD > 4u) {
      w4 = w[cs[4u % GEMV_RPT] + min(k0 + (4u / GEMV_RPT) * GEMV_LANES, last)];
      w5 = w[cs[5u % GEMV_RPT] + min(k0 + (5u / GEMV_RPT) * GEMV_LANES, last)];
      w6 = w[cs[6u % GEMV_RPT] + min(k0 + (6u / GEMV_RPT) * GEMV_LANES, last)];
      w7 = w[cs[7u % GEMV_RPT] + min(k0 + (7u / GEMV_RPT) * GEMV_LANES, last)];
    }
    for (var q = 0u; q < GEMV_SLD; q++) {
      let j = q % GEMV_RPT;
      let k8 = k0 + (q / GEMV_RPT) * GEMV_LANES;
      var wv = w0;
      if (q == 1u) {
        wv = w1;
      } else if (q == 2u) {
        wv = w2;
      } else if (q == 3u) {
        wv = w3;
      } else if (q == 4u) {
        wv = w4;
      } else if (q == 5u) {
        wv = w5;
      } else if (q == 6u) {
        wv = w6;
      } else if (q == 7u) {
        wv = w7;
      }
      if (k8 < P.K8) {
        if (j == 0u) {
          // A new k step: its input, norm weight and squares, for all GEMV_RPT columns.
          if (norm) {
            ga = g[2u * k8];
            gb = g[2u * k8 + 1u];
          }
          let i0 = input8(at, k8, ga, gb);
          xa = i0[0];
          xb = i0[1];
          ss += xa * xa + xb * xb;
        }
        let d = w8_lo(wv) * ga * xa + w8_hi(wv) * gb * xb;
        if (j == 0u) {
          acc0 += d;
        } else if (j == 1u) {
          acc1 += d;
        } else if (j == 2u) {
          acc2 += d;
        } else {
          acc3 += d;
        }
      }
    }
  }
  // Lanes' partial sums: red[r][j][lane], squares red_ss[lane] (from r == 0).
  let rb = r * GEMV_RPT * GEMV_LANES + lane;
  red[rb] = hsum(acc0);
  if (GEMV_RPT > 1u) {
    red[rb + GEMV_LANES] = hsum(acc1);
  }
  if (GEMV_RPT > 2u) {
    red[rb + 2u * GEMV_LANES] = hsum(acc2);
    red[rb + 3u * GEMV_LANES] = hsum(acc3);
  }
  if (r == 0u) {
    red_ss[lane] = hsum(ss);
  }
  for (var s = GEMV_LANES / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lane < s) {
      for (var j = 0u; j < GEMV_RPT; j++) {
        let i = rb + j * GEMV_LANES;
        red[i] += red[i + s];
      }
      if (r == 0u && norm) {
        red_ss[lane] += red_ss[lane + s];
      }
    }
  }
  workgroupBarrier();
  let n = n0 + lane;
  if (lane < GEMV_RPT && n < P.N && M > 0u) {
    var scale = 1.0;
    if (norm) {
      scale = inverseSqrt(red_ss[0] / f32(8u * P.K8) + P.eps);
    }
    var v = red[(r * GEMV_RPT + lane) * GEMV_LANES] * scale;
    if ((P.flags & BIAS) != 0u) {
      v += bias[n];
    }
    if (GEMV_ROPE != 0u) {
      // The rotary partner's value, from its row's sums (GEMV_RPT 1, no RESIDUAL).
      let hp = GEMV_ROWS / 2u;
      let pr = select(r + hp, r - hp, r >= hp);
      var pv = red[pr * GEMV_LANES] * scale;
      if ((P.flags & BIAS) != 0u) {
        pv += bias[rope_col(wx, pr)];
      }
      rope_store(n, v, pv);
    } else {
      if ((P.flags & RESIDUAL) != 0u) {
        v += y[n];
      }
      y[n] = v;
    }
  }
}

@compute @workgroup_size(GEMV_ROWS * GEMV_LANES)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (GEMV_MB == 1u) {
    one_row(wid.x, lid);
    return;
  }
  let lane = lid % GEMV_LANES;
  let r = lid / GEMV_LANES;
  let n = wid.x * GEMV_ROWS + r;
  // Rows m0 .. m0 + M - 1 of this row slice (grid y: ceil(rows / GEMV_MB) slices).
  let m0 = wid.y * GEMV_MB;
  let M = min(step[P.m_hdr] - m0, GEMV_MB);
  let norm = (P.flags & NORM) != 0u;
  // Up to GEMV_MB rows in groups of 4 (vec4 accumulators: no private arrays, which NVIDIA's
  // Vulkan compiler would put in local memory); GEMV_MB is a compile-time constant, so the
  // groups past it are dead code and take no registers.
  let rw0 = rows4(m0, 0u, M);
  let rw1 = rows4(m0, 1u, M);
  let rw2 = rows4(m0, 2u, M);
  let rw3 = rows4(m0, 3u, M);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var ss0 = vec4<f32>(0.0);
  var ss1 = vec4<f32>(0.0);
  var ss2 = vec4<f32>(0.0);
  var ss3 = vec4<f32>(0.0);
  let nn = min(n, P.N - 1u); // columns past N compute a copy of the last one and write nothing
  let wrow = nn * P.K8;
  let last = P.K8 - 1u;
  for (var k0 = lane; k0 < P.K8; k0 += 4u * GEMV_LANES) {
    // Four weight loads in flight per lane, all issued before any is used.
    let w0 = w[wrow + k0];
    let w1 = w[wrow + min(k0 + GEMV_LANES, last)];
    let w2 = w[wrow + min(k0 + 2u * GEMV_LANES, last)];
    let w3 = w[wrow + min(k0 + 3u * GEMV_LANES, last)];
    for (var u = 0u; u < 4u; u++) {
      let k8 = k0 + u * GEMV_LANES;
      var wv = w0;
      if (u == 1u) {
        wv = w1;
      } else if (u == 2u) {
        wv = w2;
      } else if (u == 3u) {
        wv = w3;
      }
      if (k8 < P.K8) {
        let lo = w8_lo(wv);
        let hi = w8_hi(wv);
        var ga = vec4<f32>(1.0);
        var gb = vec4<f32>(1.0);
        if (norm) {
          ga = g[2u * k8];
          gb = g[2u * k8 + 1u];
        }
        let d0 = dots4(rw0, k8, lo, hi, ga, gb);
        acc0 += d0.d;
        ss0 += d0.s;
        if (GEMV_MB > 4u && M > 4u) {
          let d1 = dots4(rw1, k8, lo, hi, ga, gb);
          acc1 += d1.d;
          ss1 += d1.s;
        }
        if (GEMV_MB > 8u && M > 8u) {
          let d2 = dots4(rw2, k8, lo, hi, ga, gb);
          acc2 += d2.d;
          ss2 += d2.s;
        }
        if (GEMV_MB > 12u && M > 12u) {
          let d3 = dots4(rw3, k8, lo, hi, ga, gb);
          acc3 += d3.d;
          ss3 += d3.s;
        }
      }
    }
  }
  // Lanes' partial sums: red[r][m][lane] (m < GEMV_MB), squares red_ss[m][lane] (from r == 0).
  let rb = r * GEMV_MB * GEMV_LANES + lane;
  for (var i = 0u; i < 4u; i++) {
    red[rb + i * GEMV_LANES] = acc0[i];
    if (GEMV_MB > 4u) {
      red[rb + (4u + i) * GEMV_LANES] = acc1[i];
    }
    if (GEMV_MB > 8u) {
      red[rb + (8u + i) * GEMV_LANES] = acc2[i];
    }
    if (GEMV_MB > 12u) {
      red[rb + (12u + i) * GEMV_LANES] = acc3[i];
    }
    if (r == 0u) {
      red_ss[i * GEMV_LANES + lane] = ss0[i];
      if (GEMV_MB > 4u) {
        red_ss[(4u + i) * GEMV_LANES + lane] = ss1[i];
      }
      if (GEMV_MB > 8u) {
        red_ss[(8u + i) * GEMV_LANES + lane] = ss2[i];
      }
      if (GEMV_MB > 12u) {
        red_ss[(12u + i) * GEMV_LANES + lane] = ss3[i];
      }
    }
  }
  // Tree over the lanes (log2(GEMV_LANES) halvings), each of the M rows' sums at once.
  let rows = M;
  for (var s = GEMV_LANES / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (lane < s) {
      for (var m = 0u; m < rows; m++) {
        let i = rb + m * GEMV_LANES;
        red[i] += red[i + s];
        if (r == 0u && norm) {
          let j = m * GEMV_LANES + lane;
          red_ss[j] += red_ss[j + s];
        }
      }
    }
  }
  workgroupBarrier();
  let m = lane;
  if (n < P.N && m < rows) {
    var v = red[(r * GEMV_MB + m) * GEMV_LANES];
    if (norm) {
      v *= inverseSqrt(red_ss[m * GEMV_LANES] / f32(8u * P.K8) + P.eps);
    }
    if ((P.flags & BIAS) != 0u) {
      v += bias[n];
    }
    if ((P.flags & RESIDUAL) != 0u) {
      v += y[(m0 + m) * P.N + n];
    }
    y[(m0 + m) * P.N + n] = v;
  }
}
