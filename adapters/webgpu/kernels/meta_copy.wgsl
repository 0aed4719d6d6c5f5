// meta_copy.wgsl: a step's metadata from its slot of the metadata ring into the buffer every
// other kernel reads (`step`, binding 1 of each); the first dispatch of a step whose metadata
// was written ahead with the other steps of its batch (forward.ts prepareSteps), so that one
// queue write serves several steps.
//
//   slot = ring[s, 0 .. stride): [n0, a1, n1, 0, words 0 .. n0, words a1 .. a1 + n1]
//   step[i]      = ring[s, 4 + i]           for i < n0
//   step[a1 + j] = ring[s, 4 + n0 + j]      for j < n1       (s = P.slot, stride = P.stride)
// Bindings (group 0):
//   0 P    uniform             { slot, stride, 0, 0 }
//   1 ring storage, read       [slots, stride] u32     the metadata ring
//   2 step storage, read_write [metaTotal] u32         the step's metadata (`meta` is reserved)
// Workgroup META_WG; grid (ceil(n / META_WG), 1, 1), n = n0 + n1 (geometry.ts grids.metaCopy, the
// host packing the slot knows n). Invocation g copies word g of the two ranges in order: the
// words the step uses (the rest of `step` is not read by the step: the other kernels read only the
// packed step, its work items and its merge entries, as when written by the queue directly).
// Host asserts: 4 + n0 + n1 <= stride; a1 + n1 <= metaTotal; n <= grid * META_WG.

struct Params {
  slot: u32,
  stride: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> ring: array<u32>;
@group(0) @binding(2) var<storage, read_write> step: array<u32>;

@compute @workgroup_size(META_WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let base = P.slot * P.stride;
  let n0 = ring[base];
  let a1 = ring[base + 1u];
  let n1 = ring[base + 2u];
  let g = gid.x;
  if (g < n0) {
    step[g] = ring[base + 4u + g];
  } else if (g < n0 + n1) {
    step[a1 + g - n0] = ring[base + 4u + g];
  }
}
