// rope_kv.wgsl: rotary embedding of q and k (rotate-half), and the paged KV-cache write.
//
//   For token t at position p = step.pos[t], rotary pair i < D/2, angle a = f32(p) * inv_freq[i]:
//     r(v)[i]       = v[i] * cos(a) - v[i + D/2] * sin(a)
//     r(v)[i + D/2] = v[i + D/2] * cos(a) + v[i] * sin(a)
//   q heads (h < H):  qkv[t, q_h] = r(qkv[t, q_h])                     (in place)
//   k heads (g < G):  kv[page, 0, g, off, :] = WT(r(qkv[t, k_g]))      (slot = step.kvslot[t])
//   v heads (g < G):  kv[page, 1, g, off, :] = WT(qkv[t, v_g])         page = slot / 16, off = slot % 16
//
// Bindings (group 0):
//   0 P        uniform             Params
//   1 step     storage, read       [metaWords] u32          packed step (pos, kvslot)
//   2 inv_freq storage, read       [D/2] f32                RoPE inverse frequencies (config.ts)
//   3 qkv      storage, read_write [T, (H + 2G) * D] f32    fused q | k | v projections
//   4 kv       storage, read_write [pages, 2, G, PAGE_SIZE, D] WT      this layer's paged KV cache (at layer_base)
// Workgroup ROPE_WG; grid (ceil(((H + G) * D/2 + G * D/2) / ROPE_WG), T, 1) (grids.ropeKv).
// Invocation (j, t): j < (H + G) * D/2 rotates pair i = j % (D/2) of q/k head j / (D/2);
// otherwise it copies the V pair (2 elements) number j - (H + G) * D/2 into the cache.
// Host asserts: kvslot pages lie in the sequence's page table (packStep); D even;
// P.layer_base + (pages * 2 * G * PAGE_SIZE * D) fits the kv buffer.

struct Params {
  H: u32,
  G: u32,
  D: u32,
  layer_base: u32, // element offset of this layer in kv
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(3) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(4) var<storage, read_write> kv: array<WT>;

fn cache_index(slot: u32, kind: u32, g: u32, d: u32) -> u32 {
  let page = slot / PAGE_SIZE;
  let off = slot % PAGE_SIZE;
  return P.layer_base + (((page * 2u + kind) * P.G + g) * PAGE_SIZE + off) * P.D + d;
}

@compute @workgroup_size(ROPE_WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.y;
  let j = gid.x;
  let half = P.D / 2u;
  let W = (P.H + 2u * P.G) * P.D;
  let n_rot = (P.H + P.G) * half;
  let slot = step[step[HDR_KVSLOT] + t];
  if (j < n_rot) {
    let head = j / half;
    let i = j % half;
    let a = f32(step[step[HDR_POS] + t]) * inv_freq[i];
    let c = cos(a);
    let s = sin(a);
    let base = t * W + head * P.D;
    let x0 = qkv[base + i];
    let x1 = qkv[base + i + half];
    let r0 = x0 * c - x1 * s;
    let r1 = x1 * c + x0 * s;
    if (head < P.H) {
      qkv[base + i] = r0;
      qkv[base + i + half] = r1;
    } else {
      let g = head - P.H;
      kv[cache_index(slot, 0u, g, i)] = WT(r0);
      kv[cache_index(slot, 0u, g, i + half)] = WT(r1);
    }
  } else if (j < n_rot + P.G * half) {
    let e = (j - n_rot) * 2u; // element within the G * D values of v
    let g = e / P.D;
    let d = e % P.D;
    let src = t * W + (P.H + P.G) * P.D + e;
    kv[cache_index(slot, 1u, g, d)] = WT(qkv[src]);
    kv[cache_index(slot, 1u, g, d + 1u)] = WT(qkv[src + 1u]);
  }
}
