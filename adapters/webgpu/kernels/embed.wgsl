// embed.wgsl: embedding gather.
//
//   x[t, c] = f32(emb[id(t), c])     id(t) = step.tok[t], or last_tok[slot] when the entry is
//                                     TOK_FROM_SLOT | slot (a decode token sampled on the GPU)
//
// Bindings (group 0):
//   0 P        uniform             Params
//   1 step     storage, read       [metaWords] u32   packed step (step_batch.ts)
//   2 last_tok storage, read       [maxSeqs] u32     last sampled id per slot
//   3 emb      storage, read       [V, C/4] vec4<WT> embedding table
//   4 x        storage, read_write [T, C/4] vec4<f32> hidden state (output)
// Workgroup EMBED_WG; grid (ceil(C/4 / EMBED_WG), T, 1) (geometry.ts grids.embed).
// Invocation (gx, t) writes the 4 channels x[t, 4 gx .. 4 gx + 3] when gx < C/4.
// Host asserts: C % 4 == 0; literal ids < V (packStep); T <= maxTokens.

struct Params {
  C4: u32, // C / 4
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> last_tok: array<u32>;
@group(0) @binding(3) var<storage, read> emb: array<WT4>;
@group(0) @binding(4) var<storage, read_write> x: array<vec4<f32>>;

@compute @workgroup_size(EMBED_WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c4 = gid.x;
  let t = gid.y;
  if (c4 < P.C4) {
    var id = step[step[HDR_TOK] + t];
    if ((id & TOK_FROM_SLOT) != 0u) {
      id = last_tok[id & ~TOK_FROM_SLOT];
    }
    x[t * P.C4 + c4] = vec4<f32>(emb[id * P.C4 + c4]);
  }
}
