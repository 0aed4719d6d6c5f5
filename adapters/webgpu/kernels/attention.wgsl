// attention.wgsl: causal attention over the paged KV cache for a hybrid batch (prefill chunks and
// decode tokens of different sequences in one dispatch).
//
// THE PART-1 BASELINE, not the engine's kernel: issue 3's first attention, one workgroup per
// (query head, token), kept to check the engine's attention_hybrid.wgsl (+ attention_merge.wgsl)
// against (tests/adapters/webgpu kernels tests) and to time it beside them (bench/attention.ts,
// the "part-1 kernel" column of docs/perf.md). ForwardEngine never dispatches it.
//
//   For token t of sequence s = step.seq[t] at position p = step.pos[t], query head h, kv head
//   g = h / (H / G):
//     out[t, h, :] = sum_{j <= p} softmax_j(scale * q[t, h] . K_s[j, g]) * V_s[j, g]
//   K_s[j, g] = kv[pages_s[j / 16], 0, g, j % 16, :]   pages_s = step.pages[indptr[s] .. indptr[s+1]]
//   (V likewise with index 1). Online softmax (running max and sum) in f32.
//
// Bindings (group 0):
//   0 P    uniform             Params
//   1 step storage, read       [metaWords] u32                       packed step (seq, pos, CSR pages)
//   2 qkv  storage, read       [T, (H + 2G) * D] f32                 q after RoPE (rope_kv.wgsl)
//   3 kv   storage, read       [pages, 2, G, PAGE_SIZE, D] WT        paged KV cache (one layer, or all at layer_base)
//   4 out  storage, read_write [T, H * D] f32                        attention output
// Workgroup ATTN_WG; grid (H, T, 1) (geometry.ts grids.attention).
// Workgroup (h, t) computes out[t, h, :]: keys are scored in blocks of ATTN_WG (invocation i
// scores key block + i), the block's max and sum are tree-reduced, and invocation i accumulates
// output dims i, i + ATTN_WG, ... < D. Every workgroup writes all D outputs of its (t, h).
// Host asserts: D <= ATTN_MAX_D; H % G == 0; K/V of positions <= p written (rope_kv.wgsl runs
// first in the same pass; earlier positions in earlier steps); loop passes per invocation
// (loop_passes.ts attention(p + 1, D)) within the adapter's loop budget.

struct Params {
  H: u32,
  G: u32,
  D: u32,
  layer_base: u32,
  scale: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read> kv: array<WT>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const DPT: u32 = ATTN_MAX_D / ATTN_WG; // output dims per invocation

var<workgroup> q_s: array<f32, ATTN_MAX_D>;
var<workgroup> p_s: array<f32, ATTN_WG>;
var<workgroup> red: array<f32, ATTN_WG>;
var<workgroup> n_keys: u32;

fn key_base(page_list: u32, j: u32, kind: u32, g: u32) -> u32 {
  let page = step[page_list + j / PAGE_SIZE];
  return P.layer_base + (((page * 2u + kind) * P.G + g) * PAGE_SIZE + j % PAGE_SIZE) * P.D;
}

fn reduce_max(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ATTN_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] = max(red[lid], red[lid + s]);
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ATTN_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(ATTN_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  let g = h / (P.H / P.G);
  let s = step[step[HDR_SEQ] + t];
  let page_list = step[HDR_PAGES] + step[step[HDR_INDPTR] + s];
  let W = (P.H + 2u * P.G) * P.D;
  for (var d = lid; d < P.D; d += ATTN_WG) {
    q_s[d] = qkv[t * W + h * P.D + d] * P.scale;
  }
  if (lid == 0u) {
    n_keys = step[step[HDR_POS] + t] + 1u;
  }
  let n = workgroupUniformLoad(&n_keys);
  var m = -3.0e38;
  var l = 0.0;
  var acc: array<f32, DPT>;
  for (var i = 0u; i < DPT; i++) {
    acc[i] = 0.0;
  }
  for (var kb = 0u; kb < n; kb += ATTN_WG) {
    let j = kb + lid;
    var score = -3.0e38;
    if (j < n) {
      let kbase = key_base(page_list, j, 0u, g);
      var dotv = 0.0;
      for (var d = 0u; d < P.D; d++) {
        dotv += q_s[d] * f32(kv[kbase + d]);
      }
      score = dotv;
    }
    let m_new = max(m, reduce_max(lid, score));
    var pj = 0.0;
    if (j < n) {
      pj = exp(score - m_new);
    }
    p_s[lid] = pj;
    let alpha = exp(m - m_new);
    l = l * alpha + reduce_sum(lid, pj);
    let nb = min(ATTN_WG, n - kb);
    for (var i = 0u; i < DPT; i++) {
      let d = lid + i * ATTN_WG;
      if (d < P.D) {
        var a = acc[i] * alpha;
        for (var jj = 0u; jj < nb; jj++) {
          a += p_s[jj] * f32(kv[key_base(page_list, kb + jj, 1u, g) + d]);
        }
        acc[i] = a;
      }
    }
    m = m_new;
    workgroupBarrier();
  }
  for (var i = 0u; i < DPT; i++) {
    let d = lid + i * ATTN_WG;
    if (d < P.D) {
      out[(t * P.H + h) * P.D + d] = acc[i] / l;
    }
  }
}
