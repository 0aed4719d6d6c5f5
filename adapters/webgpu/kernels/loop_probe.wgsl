// loop_probe.wgsl: measures a per-invocation loop budget of the adapter (loop_budget.ts).
//
//   Loop A asks for P.a iterations, then loop B for P.b iterations, in ONE invocation:
//     out[0] = iterations loop A ran, out[1] = iterations loop B ran,
//     out[2] = h, a hash chain over loop A's iterations (keeps the loop from being folded away).
//   On an adapter that runs every loop in full, out[0] = P.a and out[1] = P.b. Mesa's llvmpipe
//   (gallivm, LP_MAX_TGSI_LOOP_ITERATIONS = 65535) gives all loops of one invocation a shared
//   budget of loop passes: every pass of any loop, the one that exits included, takes one, and once
//   it is spent each loop runs its body once more and stops: out[0] = min(P.a, 65535) and out[1]
//   = 1 when loop A spent it.
//
// Bindings (group 0):
//   0 P   uniform             Params { a, b }
//   1 out storage, read_write [4] u32   counts (the probe reads out[0], out[1])
// Workgroup 1; grid (1, 1, 1). The single invocation writes out[0], out[1] and out[2].
// Host asserts: none (any a, b; the host picks a beyond every budget it wants to see).

struct Params {
  a: u32,
  b: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(1)
fn main() {
  var h = 2166136261u;
  var na = 0u;
  for (var i = 0u; i < P.a; i++) {
    h = (h ^ i) * 16777619u;
    na += 1u;
  }
  var nb = 0u;
  for (var j = 0u; j < P.b; j++) {
    nb += 1u;
  }
  out[0] = na;
  out[1] = nb;
  out[2] = h;
}
