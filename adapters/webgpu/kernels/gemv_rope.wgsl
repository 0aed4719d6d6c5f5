// gemv_rope.wgsl: the epilogue of linear_gemv.wgsl compiled as `linear_gemv_rope` (GEMV_ROPE 1):
// rope_kv.wgsl's rotation and KV-cache write for the one-row qkv projection, appended to
// linear_gemv.wgsl (pipelines.ts gemvSource; other compilations of linear_gemv.wgsl append a
// stub of rope_store that they never call).
//
//   For column n = head * D + i of the row (token 0 of the step) at position p = step.pos[0],
//   pair index j = i % (D/2), angle a = f32(p) * inv_freq[j], v its value and pv its pair's:
//     rot = v * cos(a) - pv * sin(a)          (i < D/2: v is the pair's first element)
//         = v * cos(a) + pv * sin(a)          (i >= D/2)
//   q heads (head < H):           y[n] = rot
//   k heads (g = head - H < G):   y[n] = v; kv[page, 0, g, off, i] = WT(rot)
//   v heads (g = head - H - G):   y[n] = v; kv[page, 1, g, off, i] = WT(v)
//   slot = step.kvslot[0], page = slot / PAGE_SIZE, off = slot % PAGE_SIZE.
//
// Bindings (group 0, after linear_gemv.wgsl's 0-6):
//   7 inv_freq storage, read       [D/2] f32                           RoPE inverse frequencies
//   8 kv       storage, read_write [pages, 2, G, PAGE_SIZE, D] WT      this layer's paged KV cache
//                                                                      (at P.rope_base)
// Invocation: the one of linear_gemv.wgsl's one_row that writes column n (rope_col).
// Host asserts (as rope_kv.wgsl): kvslot pages lie in the sequence's page table (packStep);
// N = (P.rope_h + 2G) D; P.rope_base + pages * 2 * G * PAGE_SIZE * D fits the kv buffer.

@group(0) @binding(7) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(8) var<storage, read_write> kv: array<WT>;

fn rope_store(n: u32, v: f32, pv: f32) {
  let half = HEAD_D / 2u;
  let head = n / HEAD_D;
  let i = n % HEAD_D;
  let first = i < half;
  let a = f32(step[step[HDR_POS]]) * inv_freq[i % half];
  let c = cos(a);
  let s = sin(a);
  // rope_kv.wgsl's r0 = x0 c - x1 s, r1 = x1 c + x0 s, with (x0, x1) the pair.
  let x0 = select(pv, v, first);
  let x1 = select(v, pv, first);
  let rot = select(x1 * c + x0 * s, x0 * c - x1 * s, first);
  let H = P.rope_h;
  if (head < H) {
    y[n] = rot;
    return;
  }
  y[n] = v;
  let G = (P.N / HEAD_D - H) / 2u;
  let slot = step[step[HDR_KVSLOT]];
  var kind = 0u;
  var g = head - H;
  var val = rot;
  if (g >= G) {
    kind = 1u;
    g -= G;
    val = v;
  }
  let page = slot / PAGE_SIZE;
  let off = slot % PAGE_SIZE;
  kv[P.rope_base + (((page * 2u + kind) * G + g) * PAGE_SIZE + off) * HEAD_D + i] = WT(val);
}
