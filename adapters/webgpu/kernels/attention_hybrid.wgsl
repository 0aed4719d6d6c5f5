// attention_hybrid.wgsl: causal attention of a hybrid batch (prefill tiles and decode KV splits
// of different sequences) over the paged KV cache, ONE workgroup per work item of a flat list.
//
//   Work item (attention_plan.ts): kv head g, query tokens t0 .. t0 + nq - 1 (of one sequence),
//   keys k0 .. k1 - 1, output `out_base`. Its rows are r = i * hg + j (token t = t0 + i, query
//   head h = g * hg + j, hg = H / G: the GQA heads of one kv head share each K/V load).
//   For row r at position p = step.pos[t], keys j in [k0, min(k1, p + 1)):
//     s_j = scale * q[t, h] . K[j, g]       m = max_j s_j     l = sum_j exp(s_j - m)
//     o   = sum_j exp(s_j - m) * V[j, g]
//   out_base == DIRECT:  out[t, h, :] = o / l   (0 when the row saw no key)
//   otherwise (a split): part[out_base + r] = (o[0 .. D), m, l), merged by attention_merge.wgsl.
//   K[j, g] = kv[page(j), 0, g, j % 16, :] with page(j) = step.pages[indptr[s] + j / 16]
//   (V likewise with index 1). Online softmax, f32 throughout.
//
// Bindings (group 0):
//   0 P    uniform             Params
//   1 step storage, read       [metaWords] u32                 packed step + work list (HDR_WORK)
//   2 qkv  storage, read       [T, (H + 2G) * D] f32           q after RoPE (rope_kv.wgsl)
//   3 kv   storage, read       [pages, 2, G, PAGE_SIZE, D/4] vec4<WT>  this layer's paged cache
//   4 out  storage, read_write [T, H * D] f32                  attention output (direct items)
//   5 part storage, read_write [partialRows, D + 2] f32        split partials (o, m, l)
// Workgroup HYB_WG; grid (items, 1, 1) (geometry.ts grids.attnHybrid). Workgroup w runs item
// base + w, base = 0, or step[P.base_hdr] when P.base_hdr != 0 (the serial baseline's decode
// dispatch starts after the prefill items). The item's nq picks the path (uniform per workgroup):
//   nq > 1, a prefill tile: invocation r < R = nq * hg owns row r: q and the output accumulator
//     in registers (HV: D/4 vec4 fields, helpers generated per head size by head_vec.ts and
//     appended to this file). Per block of P.kb keys all invocations load K and V into
//     workgroup memory (f32), then each row scores its visible keys one at a time against the
//     broadcast K rows (rescaling only when its running max rises) and accumulates p * V.
//   nq == 1, a decode item (R = hg rows of one token), in blocks of kd = min(HYB_WG / hg,
//     HYB_ELEMS / D) keys (dec_keys): all invocations load the block's K rows (swizzled) and V
//     rows into workgroup memory (coalesced, every load independent of the others; with HYB_PF
//     the loads of block b + 1 are issued into registers right after block b is stored, so they
//     are in flight while block b is scored and accumulated, software pipelining); invocation
//     i < hg * kd keeps q of head i / kd in registers and scores key i % kd of the block from
//     workgroup memory; the scores replace the K block. Then invocation i = phase * NO + o
//     (NO = hg * D / 4 vec4 outputs, KS = HYB_WG / NO key phases) owns vec4 output o (head
//     o / (D/4), dims 4 (o % (D/4)) ..) over the block's keys phase, phase + KS, ... (online
//     softmax: rescaled when its running max rises), reading scores and V from workgroup
//     memory; the KS phases (each with its own max) are merged at the end.
//     With HYB_SC 1 (the default) the scores go to an array of their own (sc_s) instead,
//     without waiting for the other scorers to finish reading K: one barrier fewer per block,
//     the same arithmetic.
//     With HYB_SX 1 the scorers instead write p = exp(s - m) with m the head's running max
//     after the block (one exp per score, the rescale once per block and head), and the owners
//     only add p * V (all phases then share one max).
// HYB_DEC 1 compiles the decode path alone (the prefill path left out), for dispatches whose
// items all have nq == 1: a benchmark variant (bench/attention_decode.ts); on the H200 it was
// 2-43 % slower than both paths (docs/perf.md, engine14i), so the engine does not use it.
// Every row r < R of the item is written (out or part); invocations own no other outputs.
// Host asserts (hybridShape, planAttention): P.D == HEAD_D, H % G == 0, hg <= min(HYB_MAX_HG, D),
// hg * D / 4 <= HYB_WG, nq * hg <= HYB_ROWS, P.kb * D <= HYB_ELEMS,
// k1 <= p + 1 of the item's last token, pages cover k1 positions, out_base + R <= partialRows,
// k1 - k0 <= maxHybridKeys (loop passes per invocation, loop_passes.ts hybridItem, within the
// adapter's loop budget).

struct Params {
  H: u32,
  G: u32,
  D: u32,
  layer_base: u32, // element offset of this layer in kv (0: one buffer per layer)
  scale: f32,      // 1 / sqrt(D)
  kb: u32,         // keys per block of a prefill tile (hybridShape)
  hg: u32,         // H / G
  base_hdr: u32,   // 0, or the header word holding the first item of this dispatch
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> kv: array<WT4>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;

const DIRECT: u32 = 0xffffffffu;
const NO_KEY: u32 = 0xffffffffu; // dec_at: the element is past the block or its keys
const D4: u32 = HEAD_D / 4u;
const NEG: f32 = -3.0e38;
const V_AT: u32 = HYB_ELEMS / 4u; // V block after the K block in kv_s

// Prefill: K block [kb][D4] then V block [kb][D4]. Decode: K block [kd][D4] (rows swizzled,
// kswz) at 0, then its scores [hg][kd] (f32 in vec4s) in its place; V block [kd][D4] at V_AT; at
// the end the phase partials (acc at 0, l at L_AT, m at M_AT).
var<workgroup> kv_s: array<vec4<f32>, 2u * HYB_ELEMS / 4u>;
const L_AT: u32 = HYB_WG;
const M_AT: u32 = HYB_WG + HYB_WG / 4u;
// HYB_SX (f32 offsets in kv_s, in the dead K block after scoring): p of the scores [hg][kd] at
// SX_P, then (rescale, max) per head at SX_C (checkHybridGeometry: SX_C + 2 HYB_MAX_HG <=
// HYB_ELEMS).
const SX_P: u32 = HYB_WG;
const SX_C: u32 = 2u * HYB_WG;
// HYB_SC 1: the decode block's scores [hg][kd] (hg * kd <= HYB_WG), apart from the K block
// (one element with HYB_SC 0, so that the kernel's workgroup memory is as without it).
var<workgroup> sc_s: array<f32, HYB_WG * HYB_SC + 1u>;

// Score i of the decode block (HYB_SC: its own array; else over the K rows).
fn score_get(i: u32) -> f32 {
  if (HYB_SC != 0u) {
    return sc_s[i];
  }
  return kv_s[i / 4u][i % 4u];
}

// Keys per decode block (geometry.ts hybridDecodeKeys): one score per invocation
// (hg * kd <= HYB_WG), the K and V blocks [kd][D4] within V_AT each.
fn dec_keys(hg: u32) -> u32 {
  return min(HYB_WG / hg, V_AT / D4);
}

// Column of dims 4 d .. of decode K row j in workgroup memory: XOR-swizzled when D4 % 8 == 0, so
// that the scorers of 8 consecutive keys (one phase of a 16-byte load) hit distinct banks.
fn kswz(j: u32, d: u32) -> u32 {
  if (D4 % 8u == 0u) {
    return d ^ (j & 7u);
  }
  return d;
}

// One decode block's K and V rows as this invocation loads them: elements e = lid + i HYB_WG
// (i < DEC_SLOTS = V_AT / HYB_WG, host-asserted to be 4) of the block's kd * D4 vec4s, in the
// storage type (converted when stored to workgroup memory, so that no use waits on the loads
// before the block is needed). Named fields, no private array (see head_vec.ts).
struct DecKV {
  k0: WT4,
  k1: WT4,
  k2: WT4,
  k3: WT4,
  v0: WT4,
  v1: WT4,
  v2: WT4,
  v3: WT4,
}

// vec4 index of element e's K in the block at kb0, or NO_KEY when e is past the block's kd * D4
// elements or its key is at or past k1 (the element is then zero).
fn dec_at(page_list: u32, g: u32, kb0: u32, k1: u32, kd: u32, e: u32) -> u32 {
  let j = e / D4;
  if (e >= kd * D4 || kb0 + j >= k1) {
    return NO_KEY;
  }
  return kv_at(page_list, kb0 + j, 0u, g, e % D4);
}

// Issues the loads of the decode block at kb0 (keys below k1): every load independent.
fn dec_fetch(page_list: u32, g: u32, kb0: u32, k1: u32, kd: u32, lid: u32) -> DecKV {
  var r: DecKV;
  let vo = P.G * PAGE_SIZE * D4;
  let a0 = dec_at(page_list, g, kb0, k1, kd, lid);
  let a1 = dec_at(page_list, g, kb0, k1, kd, lid + HYB_WG);
  let a2 = dec_at(page_list, g, kb0, k1, kd, lid + 2u * HYB_WG);
  let a3 = dec_at(page_list, g, kb0, k1, kd, lid + 3u * HYB_WG);
  if (a0 != NO_KEY) {
    r.k0 = kv[a0];
    r.v0 = kv[a0 + vo];
  }
  if (a1 != NO_KEY) {
    r.k1 = kv[a1];
    r.v1 = kv[a1 + vo];
  }
  if (a2 != NO_KEY) {
    r.k2 = kv[a2];
    r.v2 = kv[a2 + vo];
  }
  if (a3 != NO_KEY) {
    r.k3 = kv[a3];
    r.v3 = kv[a3 + vo];
  }
  return r;
}

// Element e of the block into workgroup memory: K row swizzled, V row plain.
fn dec_put(e: u32, kd: u32, kk: WT4, vv: WT4) {
  if (e < kd * D4) {
    let j = e / D4;
    kv_s[j * D4 + kswz(j, e % D4)] = vec4<f32>(kk);
    kv_s[V_AT + e] = vec4<f32>(vv);
  }
}

fn dec_store(r: DecKV, kd: u32, lid: u32) {
  dec_put(lid, kd, r.k0, r.v0);
  dec_put(lid + HYB_WG, kd, r.k1, r.v1);
  dec_put(lid + 2u * HYB_WG, kd, r.k2, r.v2);
  dec_put(lid + 3u * HYB_WG, kd, r.k3, r.v3);
}

struct Item {
  g: u32,
  t0: u32,
  nq: u32,
  k0: u32,
  k1: u32,
  out_base: u32,
}

fn read_item(wid: u32) -> Item {
  var base = 0u;
  if (P.base_hdr != 0u) {
    base = step[P.base_hdr];
  }
  let w = step[HDR_WORK] + (base + wid) * WORK_WORDS;
  return Item(step[w + 1u], step[w + 2u], step[w + 3u], step[w + 4u], step[w + 5u], step[w + 6u]);
}

// vec4 index of K (kind 0) or V (kind 1) of key `key`, dims 4 d4 .., of kv head g.
fn kv_at(page_list: u32, key: u32, kind: u32, g: u32, d4: u32) -> u32 {
  let page = step[page_list + key / PAGE_SIZE];
  return P.layer_base / 4u + (((page * 2u + kind) * P.G + g) * PAGE_SIZE + key % PAGE_SIZE) * D4 + d4;
}

// Writes row r's result: out[t, h, 4 d4 ..] = acc / l, or the partial (acc, m, l).
fn write_row(it: Item, r: u32, d4: u32, acc: vec4<f32>, m: f32, l: f32) {
  let D = HEAD_D;
  if (it.out_base == DIRECT) {
    let t = it.t0 + r / P.hg;
    let h = it.g * P.hg + r % P.hg;
    var o = vec4<f32>(0.0);
    if (l > 0.0) {
      o = acc / l;
    }
    let ob = (t * P.H + h) * D + d4 * 4u;
    out[ob] = o.x;
    out[ob + 1u] = o.y;
    out[ob + 2u] = o.z;
    out[ob + 3u] = o.w;
  } else {
    let pb = (it.out_base + r) * (D + 2u);
    part[pb + d4 * 4u] = acc.x;
    part[pb + d4 * 4u + 1u] = acc.y;
    part[pb + d4 * 4u + 2u] = acc.z;
    part[pb + d4 * 4u + 3u] = acc.w;
    if (d4 == 0u) {
      part[pb + D] = m;
      part[pb + D + 1u] = l;
    }
  }
}

fn prefill_tile(it: Item, lid: u32, page_list: u32) {
  let hg = P.hg;
  let R = it.nq * hg;
  let W4 = (P.H + 2u * P.G) * D4;
  var q = HV();
  var acc = HV();
  var row_lim = 0u; // keys below it are visible to this row
  if (lid < R) {
    let t = it.t0 + lid / hg;
    q = hv_qkv(t * W4 + (it.g * hg + lid % hg) * D4, P.scale);
    row_lim = min(it.k1, step[step[HDR_POS] + t] + 1u);
  }
  var m = NEG;
  var l = 0.0;
  let kb = P.kb;
  for (var kb0 = it.k0; kb0 < it.k1; kb0 += kb) {
    let nk = min(kb, it.k1 - kb0);
    for (var e = lid; e < kb * D4; e += HYB_WG) {
      let j = e / D4;
      var kk = vec4<f32>(0.0);
      var vv = vec4<f32>(0.0);
      if (j < nk) {
        let at = kv_at(page_list, kb0 + j, 0u, it.g, e % D4);
        kk = vec4<f32>(kv[at]);
        vv = vec4<f32>(kv[at + P.G * PAGE_SIZE * D4]);
      }
      kv_s[e] = kk;
      kv_s[V_AT + e] = vv;
    }
    workgroupBarrier();
    // This row's visible keys of the block, one at a time: the output is rescaled only when the
    // running max rises (rarely after the first keys).
    var nv = 0u;
    if (row_lim > kb0) {
      nv = min(nk, row_lim - kb0);
    }
    for (var j = 0u; j < nv; j++) {
      let s = hv_dot(q, hv_smem(j * D4));
      if (s > m) {
        let corr = exp(m - s);
        acc = hv_scale(acc, corr);
        l *= corr;
        m = s;
      }
      let p = exp(s - m);
      l += p;
      acc = hv_axpy(acc, p, hv_smem(V_AT + j * D4));
    }
    workgroupBarrier();
  }
  if (lid < R) {
    hv_write(it, lid, acc, m, l);
  }
}

fn decode_item(it: Item, lid: u32, page_list: u32) {
  let hg = P.hg;
  let W4 = (P.H + 2u * P.G) * D4;
  let NO = hg * D4;               // vec4 outputs of the item
  let KS = HYB_WG / NO;           // key phases (>= 1, hybridShape)
  let o = lid % NO;
  let phase = lid / NO;
  let h = o / D4;
  let d4 = o % D4;
  let kd = dec_keys(hg);          // keys per block
  // Score owner: invocation lid < hg * kd scores key sj of every block for head sh.
  let sh = lid / kd;
  let sj = lid % kd;
  let scorer = lid < hg * kd;
  var q = HV();
  if (scorer) {
    q = hv_qkv(it.t0 * W4 + (it.g * hg + sh) * D4, P.scale);
  }
  var acc = vec4<f32>(0.0);
  var m = NEG;
  var l = 0.0;
  var ms = NEG; // HYB_SX: the scorer's running max of head sh
  // The first block's K and V rows in registers (HYB_PF: each block's loads are issued one block
  // ahead, so they are in flight while the block before is scored and accumulated).
  var blk = dec_fetch(page_list, it.g, it.k0, it.k1, kd, lid);
  for (var kb0 = it.k0; kb0 < it.k1; kb0 += kd) {
    let nk = min(kd, it.k1 - kb0);
    if (HYB_PF == 0u) {
      blk = dec_fetch(page_list, it.g, kb0, it.k1, kd, lid);
    }
    dec_store(blk, kd, lid);
    workgroupBarrier();
    if (HYB_PF != 0u && kb0 + kd < it.k1) {
      blk = dec_fetch(page_list, it.g, kb0 + kd, it.k1, kd, lid);
    }
    var s = NEG;
    if (scorer && sj < nk) {
      s = hv_dot(q, hv_krow(sj));
    }
    if (HYB_SC != 0u) {
      if (scorer) {
        sc_s[sh * kd + sj] = s;
      }
    } else {
      // Over the K rows: only once every scorer has read them.
      workgroupBarrier();
      if (scorer) {
        let si = sh * kd + sj;
        kv_s[si / 4u][si % 4u] = s;
      }
    }
    workgroupBarrier();
    if (HYB_SX != 0u) {
      // One exp per score: the scorers of head sh (all of them see the same scores, so they keep
      // the same running max ms) take the block's max, write p = exp(s - m_new) beside the
      // scores and, once per head, the rescale exp(ms - m_new) and m_new; the owners rescale
      // once per block and add p * V.
      if (scorer) {
        var mb = NEG;
        for (var j = 0u; j < nk; j++) {
          mb = max(mb, score_get(sh * kd + j));
        }
        let m_new = max(ms, mb);
        var p = 0.0;
        if (sj < nk) {
          p = exp(s - m_new);
        }
        let pi = SX_P + sh * kd + sj;
        kv_s[pi / 4u][pi % 4u] = p;
        if (sj == 0u) {
          let ci = SX_C + 2u * sh;
          kv_s[ci / 4u][ci % 4u] = exp(ms - m_new);
          kv_s[(ci + 1u) / 4u][(ci + 1u) % 4u] = m_new;
        }
        ms = m_new;
      }
      workgroupBarrier();
      if (phase < KS) {
        let ci = SX_C + 2u * h;
        let corr = kv_s[ci / 4u][ci % 4u];
        m = kv_s[(ci + 1u) / 4u][(ci + 1u) % 4u];
        acc *= corr;
        l *= corr;
        for (var j = phase; j < nk; j += KS) {
          let pi = SX_P + h * kd + j;
          let p = kv_s[pi / 4u][pi % 4u];
          l += p;
          acc = fma(vec4<f32>(p), kv_s[V_AT + j * D4 + d4], acc);
        }
      }
    } else if (phase < KS) {
      // Each owner's keys in order, online: rescaled only when its running max rises.
      for (var j = phase; j < nk; j += KS) {
        let sv = score_get(h * kd + j);
        if (sv > m) {
          let corr = exp(m - sv);
          acc *= corr;
          l *= corr;
          m = sv;
        }
        let p = exp(sv - m);
        l += p;
        acc = fma(vec4<f32>(p), kv_s[V_AT + j * D4 + d4], acc);
      }
    }
    workgroupBarrier();
  }
  // Merge the KS phases (each with its own max): partials to workgroup memory, phase 0 adds
  // them.
  if (phase < KS) {
    kv_s[lid] = acc;
    kv_s[L_AT + lid / 4u][lid % 4u] = l;
    kv_s[M_AT + lid / 4u][lid % 4u] = m;
  }
  workgroupBarrier();
  if (lid < NO) {
    var a = vec4<f32>(0.0);
    var ls = 0.0;
    var mm = NEG;
    for (var k = 0u; k < KS; k++) {
      let i = k * NO + lid;
      let mk = kv_s[M_AT + i / 4u][i % 4u];
      let m_new = max(mm, mk);
      let c = exp(mm - m_new);
      let w = exp(mk - m_new);
      a = a * c + kv_s[i] * w;
      ls = ls * c + kv_s[L_AT + i / 4u][i % 4u] * w;
      mm = m_new;
    }
    write_row(it, h, d4, a, mm, ls);
  }
}

@compute @workgroup_size(HYB_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let it = read_item(wid.x);
  let s = step[step[HDR_SEQ] + it.t0];
  let page_list = step[HDR_PAGES] + step[step[HDR_INDPTR] + s];
  if (HYB_DEC == 0u && it.nq > 1u) {
    prefill_tile(it, lid, page_list);
  } else {
    decode_item(it, lid, page_list);
  }
}
