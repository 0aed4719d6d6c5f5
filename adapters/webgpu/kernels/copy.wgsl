// copy.wgsl: device copy, the bandwidth ceiling of the kernel benchmark.
//
//   dst[i] = src[i]   for i < n4 (vec4<f32> elements)
//
// Bindings (group 0):
//   0 src storage, read       [n4] vec4<f32>
//   1 dst storage, read_write [n4] vec4<f32>
// Workgroup COPY_WG; grid (min(ceil(n4 / COPY_WG), 65535), 1, 1) (geometry.ts grids.copy).
// Invocation i copies elements i, i + stride, i + 2 stride, ... (stride = grid threads).
// Host asserts: n4 == arrayLength(src) == arrayLength(dst).

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(COPY_WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * COPY_WG;
  let n4 = arrayLength(&src);
  for (var i = gid.x; i < n4; i += stride) {
    dst[i] = src[i];
  }
}
