/**
 * WGSL helpers for one head vector of HEAD_D values held in registers, generated for the model's
 * head_dim and appended to attention_hybrid.wgsl: a struct of D/4 vec4 fields (`HV`) and
 * unrolled dot, axpy, scale, loads and the row write. A private array indexed in a loop is put
 * in local memory by NVIDIA's Vulkan compiler unless every loop is unrolled; naga emits no unroll
 * hints, so the unrolling is done here, once per head size.
 *
 * @module
 */

/**
 * The helpers for head size D (a multiple of 4). They read the kernel's `qkv`, `kv` and `kv_s`
 * and call its `write_row`, so they compile only into attention_hybrid.wgsl.
 *
 * @example
 * ```ts
 * import { headVecWgsl } from "./head_vec.ts";
 * console.log(headVecWgsl(8).split("\n")[0]); // struct HV { h0: vec4<f32>, h1: vec4<f32> }
 * ```
 */
export function headVecWgsl(D: number): string {
  if (!(D >= 4 && D % 4 === 0)) {
    throw new Error(`Head vector: expected D a multiple of 4, got ${D}`);
  }
  const n = D / 4;
  const each = (f: (i: number) => string, sep: string) =>
    Array.from({ length: n }, (_, i) => f(i)).join(sep);
  return [
    `struct HV { ${each((i) => `h${i}: vec4<f32>`, ", ")} }`,
    `fn hv_dot(a: HV, b: HV) -> f32 { return ${
      each((i) => `dot(a.h${i}, b.h${i})`, " + ")
    }; }`,
    `fn hv_axpy(acc: HV, p: f32, b: HV) -> HV { return HV(${
      each((i) => `fma(vec4<f32>(p), b.h${i}, acc.h${i})`, ", ")
    }); }`,
    `fn hv_scale(a: HV, s: f32) -> HV { return HV(${
      each((i) => `a.h${i} * s`, ", ")
    }); }`,
    `fn hv_qkv(at: u32, s: f32) -> HV { return HV(${
      each((i) => `qkv[at + ${i}u] * s`, ", ")
    }); }`,
    `fn hv_kv(at: u32) -> HV { return HV(${
      each((i) => `vec4<f32>(kv[at + ${i}u])`, ", ")
    }); }`,
    `fn hv_smem(at: u32) -> HV { return HV(${
      each((i) => `kv_s[at + ${i}u]`, ", ")
    }); }`,
    `fn hv_krow(j: u32) -> HV { return HV(${
      each((i) => `kv_s[j * D4 + kswz(j, ${i}u)]`, ", ")
    }); }`,
    `fn hv_write(it: Item, r: u32, a: HV, m: f32, l: f32) { ${
      each((i) => `write_row(it, r, ${i}u, a.h${i}, m, l);`, " ")
    } }`,
    "",
  ].join("\n");
}
