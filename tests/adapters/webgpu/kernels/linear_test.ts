// The linear kernels (linear_gemv.wgsl, linear_tiled.wgsl, linear_tiled_h.wgsl) against
// linearRef on random inputs: every flag, both storage dtypes, every swept tile geometry.
import assert from "node:assert/strict";
import {
  roundToStorage,
  toStorageBytes,
  uniformBuffer,
} from "../../../../adapters/webgpu/step/gpu_buffers.ts";
import {
  GEMV_S_VARIANTS,
  GEMV_VARIANTS,
  GEOMETRY,
  type Geometry,
  grids,
  splitPartials,
  type StorageDtype,
  TILE_VARIANTS,
  tiledSplit,
} from "../../../../adapters/webgpu/kernels/geometry.ts";
import {
  LINEAR_FLAGS,
  linearParams,
} from "../../../../adapters/webgpu/kernels/params.ts";
import {
  compileKernels,
  dispatch,
  type Kernel,
} from "../../../../adapters/webgpu/kernels/pipelines.ts";
import {
  linearRef,
  rmsnormRef,
} from "../../../../adapters/webgpu/reference/reference_kernels.ts";
import { HDR } from "../../../../adapters/webgpu/batch/step_batch.ts";
import {
  bufferOf,
  randomF32,
  readF32,
  relErr,
  runKernels,
  testDevice,
  testDtypes,
  testKernels,
} from "../_gpu.ts";
import { webgpuTest } from "../../../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const kernels = (dtype: StorageDtype) => testKernels(dtype);
const dtypes = testDtypes;

webgpuTest({
  name:
    "linear_gemv.wgsl and linear_tiled.wgsl equal linearRef for every flag, both dtypes",
  ...opts,
  fn: async (t) => {
    const { BIAS, RESIDUAL, SILU_MUL, NORM, GATHER } = LINEAR_FLAGS;
    for (const dtype of await dtypes()) {
      const { device, k } = await kernels(dtype);
      // M = 0 stands for M = 1 through linear_gemv (the engine runs one row through
      // linear_gemv_s).
      for (const M0 of [0, 1, 3, 8, 13, 16, 17, 29, 70]) {
        const M = Math.max(M0, 1);
        const gemv = M <= 2 * GEOMETRY.GEMV_MB; // up to two 16-row slices
        const small = M0 !== 0 && M <= GEOMETRY.GEMV_SMB;
        const flagSets = [0, BIAS, RESIDUAL | SILU_MUL | BIAS];
        if (gemv) flagSets.push(NORM | BIAS, NORM | GATHER | RESIDUAL);
        for (const flags of flagSets) {
          const N = 70;
          const K = 56; // 7 W8 units: not a whole tiled slice of 16
          const silu = (flags & SILU_MUL) !== 0;
          const XS = silu ? 2 * K : K;
          const kernel = small
            ? k.linear_gemv_s
            : gemv
            ? k.linear_gemv
            : k.linear_tiled;
          await t.step(
            `${dtype} ${kernel.name} M=${M} flags=${flags}`,
            async () => {
              // GATHER reads input row rows[m] (of 2M rows), here in reverse order.
              const rows = Array.from({ length: M }, (_, m) => 2 * (M - m) - 1);
              const xRows = flags & GATHER ? 2 * M : M;
              const x = randomF32(xRows * XS, M + 10 * flags, 2);
              const w = roundToStorage(randomF32(N * K, 77 + M, 0.5), dtype);
              const bias = randomF32(N, 5, 1);
              const g = randomF32(K, 8, 1);
              const y0 = randomF32(M * N, 6, 1);
              const meta = new Uint32Array(16 + 8 * M);
              meta[HDR.T] = M;
              meta[HDR.R] = M;
              meta[HDR.ROWS] = 16;
              rows.forEach((row, m) => meta[16 + 8 * m] = row);
              const y = bufferOf(device, "y", y0);
              const eps = 1e-5;
              await runKernels(device, [{
                kernel,
                buffers: [
                  uniformBuffer(
                    device,
                    "p",
                    linearParams(N, K, XS, flags, HDR.T, eps),
                  ),
                  bufferOf(device, "meta", meta),
                  bufferOf(device, "x", x),
                  bufferOf(device, "w", toStorageBytes(w, dtype)),
                  bufferOf(device, "bias", bias),
                  bufferOf(device, "g", g),
                  y,
                ],
                grid: small
                  ? grids.gemvS(N)
                  : gemv
                  ? grids.gemv(N, GEOMETRY, M)
                  : grids.tiled(M, N),
              }]);
              let input: ArrayLike<number> = flags & GATHER
                ? Float32Array.from(
                  rows.flatMap((row) =>
                    Array.from(x.subarray(row * XS, row * XS + XS))
                  ),
                )
                : x;
              if (flags & NORM) input = rmsnormRef(input, g, K, eps);
              const want = linearRef(input, w, M, N, K, {
                bias: flags & BIAS ? bias : null,
                residual: flags & RESIDUAL ? y0 : null,
                siluMul: silu,
              });
              const err = relErr(await readF32(device, y, M * N), want);
              assert.ok(err < 1e-5, `relative error ${err}`);
            },
          );
        }
      }
    }
  },
});

webgpuTest({
  name:
    "linear_tiled.wgsl at every swept tile geometry equals linearRef; linear_tiled_h within f16 rounding",
  ...opts,
  fn: async (t) => {
    const gpu = await testDevice();
    const { SILU_MUL, RESIDUAL } = LINEAR_FLAGS;
    const [M, N, K] = [150, 136, 72];
    for (const dtype of await dtypes()) {
      for (const [variant, over] of Object.entries(TILE_VARIANTS)) {
        const geo = { ...GEOMETRY, ...over };
        const k = await compileKernels(gpu.device, dtype, 16, geo, [
          "linear_tiled",
          "linear_tiled_h",
        ]);
        for (const kernel of [k.linear_tiled, k.linear_tiled_h]) {
          if (!kernel) continue;
          await t.step(`${dtype} ${kernel.name} ${variant}`, async () => {
            const device = gpu.device;
            const flags = SILU_MUL | RESIDUAL;
            const x = randomF32(M * 2 * K, 3, 2);
            const w = roundToStorage(randomF32(N * K, 4, 0.5), dtype);
            const y0 = randomF32(M * N, 5, 1);
            const meta = new Uint32Array(16);
            meta[HDR.T] = M;
            const y = bufferOf(device, "y", y0);
            await runKernels(device, [{
              kernel,
              buffers: [
                uniformBuffer(
                  device,
                  "p",
                  linearParams(N, K, 2 * K, flags, HDR.T),
                ),
                bufferOf(device, "meta", meta),
                bufferOf(device, "x", x),
                bufferOf(device, "w", toStorageBytes(w, dtype)),
                bufferOf(device, "bias", new Float32Array(4)),
                bufferOf(device, "g", new Float32Array(4)),
                y,
              ],
              grid: grids.tiled(M, N, geo),
            }]);
            const want = linearRef(x, w, M, N, K, {
              residual: y0,
              siluMul: true,
            });
            const err = relErr(await readF32(device, y, M * N), want);
            // f16 arithmetic: activations and partial sums rounded to f16 (2^-11 relative).
            const tol = kernel.name === "linear_tiled_h" ? 2e-3 : 1e-5;
            assert.ok(err < tol, `relative error ${err}`);
          });
        }
      }
    }
  },
});

webgpuTest({
  name:
    "linear_tiled.wgsl / linear_tiled_h.wgsl give the same outputs bit for bit at every TILE_PF (loads one slice ahead) and TILE_SW (rows-first staging, interleaved columns)",
  ...opts,
  fn: async (t) => {
    const gpu = await testDevice();
    const { SILU_MUL, RESIDUAL, BIAS } = LINEAR_FLAGS;
    // K = 200: 12 whole TILE_K slices of 16 and a short one (6 + 1 of 32); M, N not whole tiles.
    const [M, N, K] = [150, 136, 200];
    const tiles: [string, Partial<Geometry>][] = [
      ["128x128x16 8x8", TILE_VARIANTS["128x128x16 8x8"]],
      ["128x128x32 8x8", { ...TILE_VARIANTS["128x128x16 8x8"], TILE_K: 32 }],
      ["32x64x16 4x4", TILE_VARIANTS["32x64x16 4x4"]],
    ];
    for (const dtype of await dtypes()) {
      const x = randomF32(M * 2 * K, 21, 2);
      const w = toStorageBytes(
        roundToStorage(randomF32(N * K, 22, 0.5), dtype),
        dtype,
      );
      const bias = randomF32(N, 23, 1);
      const y0 = randomF32(M * N, 24, 1);
      for (const [tile, over] of tiles) {
        for (const name of ["linear_tiled", "linear_tiled_h"] as const) {
          if (name === "linear_tiled_h" && dtype !== "f16") continue;
          await t.step(`${dtype} ${name} ${tile}`, async () => {
            const device = gpu.device;
            const outs: Float32Array[] = [];
            const modes = [[0, 0], [1, 0], [2, 0], [0, 1], [2, 1]];
            for (const [TILE_PF, TILE_SW] of modes) {
              const geo = { ...GEOMETRY, ...over, TILE_PF, TILE_SW };
              const k = await compileKernels(device, dtype, 16, geo, [name]);
              const meta = new Uint32Array(16);
              meta[HDR.T] = M;
              const y = bufferOf(device, "y", y0);
              await runKernels(device, [{
                kernel: k[name]!,
                buffers: [
                  uniformBuffer(
                    device,
                    "p",
                    linearParams(
                      N,
                      K,
                      2 * K,
                      SILU_MUL | RESIDUAL | BIAS,
                      HDR.T,
                    ),
                  ),
                  bufferOf(device, "meta", meta),
                  bufferOf(device, "x", x),
                  bufferOf(device, "w", w),
                  bufferOf(device, "bias", bias),
                  bufferOf(device, "g", new Float32Array(4)),
                  y,
                ],
                grid: grids.tiled(M, N, geo),
              }]);
              outs.push(await readF32(device, y, M * N));
            }
            assert.ok(outs[0].every(Number.isFinite), "finite outputs");
            modes.forEach(([pf, sw], i) =>
              assert.deepEqual(
                outs[i],
                outs[0],
                `TILE_PF ${pf} TILE_SW ${sw} against TILE_PF 0 TILE_SW 0`,
              )
            );
          });
        }
      }
    }
  },
});

/**
 * One dispatch of linear_gemv or linear_gemv_s (`kernel`, compiled with `geo`) over M rows of
 * the given inputs (y starts as y0); returns y.
 */
async function runGemv(
  device: GPUDevice,
  kernel: Kernel,
  geo: Geometry,
  M: number,
  N: number,
  K: number,
  flags: number,
  d: {
    x: Float32Array;
    w: ArrayBufferView;
    bias: Float32Array;
    g: Float32Array;
    y0: Float32Array;
  },
): Promise<Float32Array> {
  const XS = flags & LINEAR_FLAGS.SILU_MUL ? 2 * K : K;
  const meta = new Uint32Array(16);
  meta[HDR.T] = M;
  const y = bufferOf(device, "y", d.y0);
  await runKernels(device, [{
    kernel,
    buffers: [
      uniformBuffer(device, "p", linearParams(N, K, XS, flags, HDR.T, 1e-5)),
      bufferOf(device, "meta", meta),
      bufferOf(device, "x", d.x),
      bufferOf(device, "w", d.w),
      bufferOf(device, "bias", d.bias),
      bufferOf(device, "g", d.g),
      y,
    ],
    grid: kernel.name === "linear_gemv_s"
      ? grids.gemvS(N, geo, M)
      : grids.gemv(N, geo, M),
  }]);
  return await readF32(device, y, M * N);
}

webgpuTest({
  name:
    "linear_gemv.wgsl at every swept GEMV geometry (linear_gemv at M 16, linear_gemv_s at M 1) equals linearRef over several K steps",
  ...opts,
  fn: async (t) => {
    const gpu = await testDevice();
    const { NORM, BIAS, RESIDUAL, SILU_MUL } = LINEAR_FLAGS;
    // K8 = 1,029 W8 units: two steps of the widest variant (4 x 256 lanes) and a ragged tail.
    const [N, K] = [37, 8 * 1029];
    const cases = [
      ...Object.entries(GEMV_VARIANTS).map(([v, over]) => ({
        v,
        over,
        name: "linear_gemv" as const,
        M: GEOMETRY.GEMV_MB,
      })),
      ...Object.entries(GEMV_S_VARIANTS).map(([v, over]) => ({
        v,
        over,
        name: "linear_gemv_s" as const,
        M: GEOMETRY.GEMV_SMB,
      })),
    ];
    for (const dtype of await dtypes()) {
      for (const { v, over, name, M } of cases) {
        const geo = { ...GEOMETRY, ...over };
        const k = await compileKernels(gpu.device, dtype, 16, geo, [name]);
        for (const flags of [NORM | BIAS, SILU_MUL | RESIDUAL]) {
          await t.step(`${dtype} ${name} ${v} flags=${flags}`, async () => {
            const device = gpu.device;
            const XS = flags & SILU_MUL ? 2 * K : K;
            const x = randomF32(M * XS, 31 + flags, 2);
            const w = roundToStorage(randomF32(N * K, 32, 0.5), dtype);
            const bias = randomF32(N, 33, 1);
            const g = randomF32(K, 34, 1);
            const y0 = randomF32(M * N, 35, 1);
            const got = await runGemv(device, k[name]!, geo, M, N, K, flags, {
              x,
              w: toStorageBytes(w, dtype),
              bias,
              g,
              y0,
            });
            const input = flags & NORM ? rmsnormRef(x, g, K, 1e-5) : x;
            const want = linearRef(input, w, M, N, K, {
              bias: flags & BIAS ? bias : null,
              residual: flags & RESIDUAL ? y0 : null,
              siluMul: (flags & SILU_MUL) !== 0,
            });
            const err = relErr(got, want);
            assert.ok(err < 1e-5, `relative error ${err}`);
          });
        }
      }
    }
  },
});

webgpuTest({
  name:
    "linear_gemv_s with one column per invocation: eight weight loads in flight (GEMV_SLD 8) give the same outputs bit for bit as four",
  ...opts,
  fn: async (t) => {
    const gpu = await testDevice();
    const device = gpu.device;
    const { NORM, BIAS, RESIDUAL, SILU_MUL } = LINEAR_FLAGS;
    const [N, K] = [37, 8 * 1029];
    const run = async (geo: Geometry, flags: number) => {
      const k = await compileKernels(device, "f32", 16, geo, ["linear_gemv_s"]);
      const XS = flags & SILU_MUL ? 2 * K : K;
      return await runGemv(device, k.linear_gemv_s!, geo, 1, N, K, flags, {
        x: randomF32(XS, 41 + flags, 2),
        w: randomF32(N * K, 42, 0.5),
        bias: randomF32(N, 43, 1),
        g: randomF32(K, 44, 1),
        y0: randomF32(N, 45, 1),
      });
    };
    for (const v of ["s r4 l64", "s r16 l16", "s r8 l32"]) {
      const four = { ...GEOMETRY, ...GEMV_S_VARIANTS[v] };
      assert.equal(four.GEMV_SLD, 4);
      const eight = { ...four, GEMV_SLD: 8 };
      for (const flags of [NORM | BIAS, SILU_MUL | RESIDUAL]) {
        await t.step(`${v} flags=${flags}`, async () => {
          assert.deepEqual(await run(eight, flags), await run(four, flags));
        });
      }
    }
  },
});

webgpuTest({
  name:
    "dispatch() refuses a grid past 65,535 workgroups in a dimension (one column per workgroup over a 128,256-row head)",
  ...opts,
  fn: async () => {
    const { device, k } = await kernels("f32");
    const geo = { ...GEOMETRY, GEMV_SROWS: 1, GEMV_SLANES: 256 };
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    const group = device.createBindGroup({
      layout: k.linear_gemv_s.layout,
      entries: [
        uniformBuffer(device, "p", linearParams(128256, 64, 64, 0, HDR.T)),
        ...Array.from(
          { length: 6 },
          (_, i) => bufferOf(device, `b${i}`, new Float32Array(16)),
        ),
      ].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    assert.throws(
      () => dispatch(pass, k.linear_gemv_s, group, grids.gemvS(128256, geo)),
      new Error(
        "Dispatch linear_gemv_s: grid 128256 x 1 x 1 workgroups: expected at most 65535 per dimension (use a geometry with more outputs per workgroup)",
      ),
    );
    pass.end();
    enc.finish();
  },
});

webgpuTest({
  name:
    "linear_tiled.wgsl / linear_tiled_h.wgsl split over K (KSPLIT) plus linear_reduce.wgsl equal linearRef at every swept tile geometry",
  ...opts,
  fn: async (t) => {
    const gpu = await testDevice();
    const { SILU_MUL, RESIDUAL, BIAS, KSPLIT } = LINEAR_FLAGS;
    // K = 200: 13 TILE_K slices of 16 (the last one short), split S ways.
    const [M, N, K] = [37, 72, 200];
    for (const dtype of await dtypes()) {
      for (const [variant, over] of Object.entries(TILE_VARIANTS)) {
        const geo = { ...GEOMETRY, ...over };
        const S = tiledSplit(M, N, K, geo);
        const k = await compileKernels(gpu.device, dtype, 16, geo, [
          "linear_tiled",
          "linear_tiled_h",
          "linear_reduce",
        ]);
        for (const kernel of [k.linear_tiled, k.linear_tiled_h]) {
          if (!kernel) continue;
          await t.step(
            `${dtype} ${kernel.name} ${variant} S=${S}`,
            async () => {
              assert.ok(S > 1, `split ${S}`);
              const device = gpu.device;
              const flags = KSPLIT | SILU_MUL | RESIDUAL | BIAS;
              const x = randomF32(M * 2 * K, 13, 2);
              const w = roundToStorage(randomF32(N * K, 14, 0.5), dtype);
              const bias = randomF32(N, 15, 1);
              const y0 = randomF32(M * N, 16, 1);
              const meta = new Uint32Array(16);
              meta[HDR.T] = M;
              const y = bufferOf(device, "y", y0);
              const part = bufferOf(
                device,
                "part",
                new Float32Array(splitPartials(M, N, [K], geo)).fill(NaN),
              );
              const p = uniformBuffer(
                device,
                "p",
                linearParams(N, K, 2 * K, flags, HDR.T),
              );
              const m = bufferOf(device, "meta", meta);
              const b = bufferOf(device, "bias", bias);
              await runKernels(device, [{
                kernel,
                buffers: [
                  p,
                  m,
                  bufferOf(device, "x", x),
                  bufferOf(device, "w", toStorageBytes(w, dtype)),
                  b,
                  bufferOf(device, "g", new Float32Array(4)),
                  part,
                ],
                grid: grids.tiled(M, N, geo, K),
              }, {
                kernel: k.linear_reduce,
                buffers: [p, m, part, b, y],
                grid: grids.reduce(M, N),
              }]);
              const want = linearRef(x, w, M, N, K, {
                bias,
                residual: y0,
                siluMul: true,
              });
              const err = relErr(await readF32(device, y, M * N), want);
              const tol = kernel.name === "linear_tiled_h" ? 2e-3 : 1e-5;
              assert.ok(err < tol, `relative error ${err}`);
            },
          );
        }
      }
    }
  },
});
