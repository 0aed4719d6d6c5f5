// fma_peak.wgsl: the adapter's SIMT arithmetic peak (benchmark ceiling), f32 or f16 (FT).
//
//   Every invocation runs P.iters rounds of 8 independent vec4<FT> multiply-add chains
//   (a = a * b + c: 8 FLOP per vec4 each), then writes their sum (so nothing is dead code):
//   FLOP = 2 * 4 * 8 * iters * invocations.
//
// Bindings (group 0):
//   0 P   uniform             Params { iters }
//   1 out storage, read_write [invocations] f32   one sum per invocation
// Workgroup FMA_WG; grid (groups, 1, 1). Invocation i writes out[i].
// Host asserts: out holds groups * FMA_WG values.

struct Params {
  iters: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

const FMA_WG: u32 = 256u;

@compute @workgroup_size(FMA_WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let s = FT(gid.x % 7u) * FT(0.001);
  let b = vec4<FT>(FT(0.999), FT(0.998), FT(0.997), FT(0.996));
  let c = vec4<FT>(s);
  var a0 = c + FT(0.1);
  var a1 = c + FT(0.2);
  var a2 = c + FT(0.3);
  var a3 = c + FT(0.4);
  var a4 = c + FT(0.5);
  var a5 = c + FT(0.6);
  var a6 = c + FT(0.7);
  var a7 = c + FT(0.8);
  for (var i = 0u; i < P.iters; i++) {
    a0 = fma(a0, b, c);
    a1 = fma(a1, b, c);
    a2 = fma(a2, b, c);
    a3 = fma(a3, b, c);
    a4 = fma(a4, b, c);
    a5 = fma(a5, b, c);
    a6 = fma(a6, b, c);
    a7 = fma(a7, b, c);
  }
  let t = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  out[gid.x] = f32(t.x + t.y + t.z + t.w);
}
