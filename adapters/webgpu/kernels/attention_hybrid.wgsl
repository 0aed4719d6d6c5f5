// attention_hybrid.wgsl: causal attention of a hybrid batch (prefill tiles and decode KV splits
// of different sequences) over the paged KV cache, ONE workgroup per work item of a flat list.
//
//   Work item (attention_plan.ts): kv head g, query tokens t0 .. t0 + nq - 1 (of one sequence),
//   keys k0 .. k1 - 1, output `out_base`. Its rows are r = i * hg + j (token t = t0 + i, query
//   head h = g * hg + j, hg = H / G: the GQA heads of one kv head share each K/V block load).
//   For row r at position p = step.pos[t], keys j in [k0, min(k1, p + 1)):
//     s_j = scale * q[t, h] . K[j, g]       m = max_j s_j     l = sum_j exp(s_j - m)
//     o   = sum_j exp(s_j - m) * V[j, g]
//   out_base == DIRECT:  out[t, h, :] = o / l
//   otherwise (a split): part[out_base + r] = (o[0 .. D), m, l), merged by attention_merge.wgsl.
//   K[j, g] = kv[layer][page(j), 0, g, j % 16, :] with page(j) = step.pages[indptr[s] + j / 16]
//   (V likewise with index 1). Online softmax over key blocks of P.kb keys, f32 throughout.
//
// Bindings (group 0):
//   0 P    uniform             Params
//   1 step storage, read       [metaWords] u32                    packed step + work list (HDR_WORK)
//   2 qkv  storage, read       [T, (H + 2G) * D] f32              q after RoPE (rope_kv.wgsl)
//   3 kv   storage, read       [L, pages, 2, G, PAGE_SIZE, D] WT  paged KV cache
//   4 out  storage, read_write [T, H * D] f32                     attention output (direct items)
//   5 part storage, read_write [partialRows, D + 2] f32           split partials (o, m, l)
// Workgroup HYB_WG; grid (items, 1, 1) (geometry.ts grids.attnHybrid). Workgroup w runs item
// base + w, base = 0, or step[P.base_hdr] when P.base_hdr != 0 (the serial baseline's decode
// dispatch starts after the prefill items).
// Per block: invocation i loads K/V elements i, i + HYB_WG, ...; computes scores e = i + HYB_WG k
// (row e / kb, key e % kb); invocation r < rows runs row r's online softmax; invocation i owns
// outputs f = i + HYB_WG k (row f / D, dim f % D), HYB_OUT of them at most. Every invocation
// writes every output it owns (rows with no valid key write 0 / l = 0).
// Host asserts (hybridShape, planAttention): H % G == 0, nq * hg <= rowsMax, rowsMax * D <=
// HYB_WG * HYB_OUT, P.kb * D <= HYB_ELEMS, P.kb <= HYB_KB, k1 <= p + 1 of the item's last token,
// pages cover k1 positions, out_base + rows <= partialRows; k1 - k0 <= maxHybridKeys (loop
// passes per invocation, loop_passes.ts hybridItem, within the adapter's loop budget).

struct Params {
  H: u32,
  G: u32,
  D: u32,
  layer_base: u32, // element offset of this layer in kv
  scale: f32,      // 1 / sqrt(D)
  kb: u32,         // keys per block (hybridShape)
  hg: u32,         // H / G
  base_hdr: u32,   // 0, or the header word holding the first item of this dispatch
}

struct Item {
  g: u32,
  t0: u32,
  nq: u32,
  k0: u32,
  k1: u32,
  out_base: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read> kv: array<WT>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;

const DIRECT: u32 = 0xffffffffu;
const SCORE_ITERS: u32 = HYB_ROWS * HYB_KB / HYB_WG;
const S_STRIDE: u32 = HYB_KB + 1u; // padded row stride of the score block

var<workgroup> item_w: Item;
var<workgroup> k_s: array<f32, HYB_ELEMS>; // [D][kb], transposed: scores read consecutive keys
var<workgroup> v_s: array<f32, HYB_ELEMS>; // [kb][D]
var<workgroup> s_s: array<f32, HYB_ROWS * S_STRIDE>; // scores, then probabilities [rows][kb]
var<workgroup> alpha_s: array<f32, HYB_ROWS>;
var<workgroup> m_s: array<f32, HYB_ROWS>;
var<workgroup> l_s: array<f32, HYB_ROWS>;

@compute @workgroup_size(HYB_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) {
    var base = 0u;
    if (P.base_hdr != 0u) {
      base = step[P.base_hdr];
    }
    let w = step[HDR_WORK] + (base + wid.x) * WORK_WORDS;
    item_w = Item(step[w + 1u], step[w + 2u], step[w + 3u], step[w + 4u], step[w + 5u], step[w + 6u]);
  }
  let it = workgroupUniformLoad(&item_w);
  let D = P.D;
  let hg = P.hg;
  let kb = P.kb;
  let R = it.nq * hg;
  let RD = R * D;
  let W = (P.H + 2u * P.G) * D;
  let s = step[step[HDR_SEQ] + it.t0];
  let page_list = step[HDR_PAGES] + step[step[HDR_INDPTR] + s];
  let v_off = P.G * PAGE_SIZE * D; // V follows K within a page
  var m = -3.0e38;
  var l = 0.0;
  var row_lim = 0u; // keys below it are visible to row lid
  if (lid < R) {
    let t = it.t0 + lid / hg;
    row_lim = min(it.k1, step[step[HDR_POS] + t] + 1u);
  }
  var acc: array<f32, HYB_OUT>;
  for (var i = 0u; i < HYB_OUT; i++) {
    acc[i] = 0.0;
  }
  for (var kb0 = it.k0; kb0 < it.k1; kb0 += kb) {
    let nk = min(kb, it.k1 - kb0);
    for (var e = lid; e < kb * D; e += HYB_WG) {
      let j = e / D;
      let d = e % D;
      var kk = 0.0;
      var vv = 0.0;
      if (j < nk) {
        let key = kb0 + j;
        let page = step[page_list + key / PAGE_SIZE];
        let kbase = P.layer_base + ((page * 2u * P.G + it.g) * PAGE_SIZE + key % PAGE_SIZE) * D;
        kk = f32(kv[kbase + d]);
        vv = f32(kv[kbase + v_off + d]);
      }
      k_s[d * kb + j] = kk;
      v_s[j * D + d] = vv;
    }
    workgroupBarrier();
    for (var i = 0u; i < SCORE_ITERS; i++) {
      let e = lid + i * HYB_WG;
      if (e < R * kb) {
        let r = e / kb;
        let j = e % kb;
        let qb = (it.t0 + r / hg) * W + (it.g * hg + r % hg) * D;
        var dotv = 0.0;
        for (var d = 0u; d < D; d++) {
          dotv += qkv[qb + d] * k_s[d * kb + j];
        }
        s_s[r * S_STRIDE + j] = dotv * P.scale;
      }
    }
    workgroupBarrier();
    if (lid < R) {
      var bm = -3.0e38;
      for (var j = 0u; j < nk; j++) {
        if (kb0 + j < row_lim) {
          bm = max(bm, s_s[lid * S_STRIDE + j]);
        }
      }
      let m_new = max(m, bm);
      var sum = 0.0;
      for (var j = 0u; j < kb; j++) {
        var p = 0.0;
        if (j < nk && kb0 + j < row_lim) {
          p = exp(s_s[lid * S_STRIDE + j] - m_new);
        }
        s_s[lid * S_STRIDE + j] = p;
        sum += p;
      }
      let a = exp(m - m_new);
      l = l * a + sum;
      m = m_new;
      alpha_s[lid] = a;
    }
    workgroupBarrier();
    for (var i = 0u; i < HYB_OUT; i++) {
      let f = lid + i * HYB_WG;
      if (f < RD) {
        let r = f / D;
        let d = f % D;
        var a = acc[i] * alpha_s[r];
        for (var j = 0u; j < nk; j++) {
          a += s_s[r * S_STRIDE + j] * v_s[j * D + d];
        }
        acc[i] = a;
      }
    }
    workgroupBarrier();
  }
  if (lid < R) {
    m_s[lid] = m;
    l_s[lid] = l;
  }
  workgroupBarrier();
  for (var i = 0u; i < HYB_OUT; i++) {
    let f = lid + i * HYB_WG;
    if (f < RD) {
      let r = f / D;
      let d = f % D;
      if (it.out_base == DIRECT) {
        let t = it.t0 + r / hg;
        let h = it.g * hg + r % hg;
        var o = 0.0;
        if (l_s[r] > 0.0) {
          o = acc[i] / l_s[r];
        }
        out[(t * P.H + h) * D + d] = o;
      } else {
        let pb = (it.out_base + r) * (D + 2u);
        part[pb + d] = acc[i];
        if (d == 0u) {
          part[pb + D] = m_s[r];
          part[pb + D + 1u] = l_s[r];
        }
      }
    }
  }
}
