// l2_touch.wgsl: reads a weight buffer so that its bytes sit in the GPU's L2 cache when the
// dispatch that needs them starts (an L2 prefetch, EngineOptions.l2Prefetch). forward.ts
// records it with no barrier before the next one that waits: it runs beside a latency-bound
// dispatch (decode attention, the down GEMV) instead of after it. It changes no output.
//
//   acc ^= src[i]   for the TOUCH_LOADS x TOUCH_WG vec4<u32> elements of workgroup w
//
// Bindings (group 0):
//   0 src  storage, read       [n4] vec4<u32> (any buffer; its first 16 floor(size / 16) bytes)
//   1 sink storage, read_write [1] vec4<u32>  (written only if acc holds one 128-bit value:
//                                              the write keeps the loads from being removed)
// Workgroup TOUCH_WG; grid (min(ceil(n4 / (TOUCH_LOADS TOUCH_WG)), 65535), 1, 1) (geometry.ts
// grids.touch). Loops: one of TOUCH_LOADS trips (constant, unrolled: no loop passes, loop_passes.ts).

@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<vec4<u32>>;

@compute @workgroup_size(TOUCH_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n4 = arrayLength(&src);
  let base = wid.x * (TOUCH_LOADS * TOUCH_WG) + lid;
  var acc = vec4<u32>(0u);
  for (var j = 0u; j < TOUCH_LOADS; j++) {
    let i = base + j * TOUCH_WG;
    if (i < n4) {
      acc ^= src[i];
    }
  }
  if (all(acc == vec4<u32>(0x9e3779b9u, 0x7f4a7c15u, 0x85ebca6bu, 0xc2b2ae35u))) {
    sink[0] = acc;
  }
}
