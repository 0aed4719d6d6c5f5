// Kernels whose loops grow with the model or the context, at the sizes where the test adapter's
// loop budget (llvmpipe: 65,535 passes per invocation, loop_budget_test.ts) bites: every output
// starts as a sentinel (NaN, or 0xffffffff for ids) and must be written and equal the reference.
import assert from "node:assert/strict";
import { parseModelConfig } from "../../../../adapters/webgpu/model/config.ts";
import { resolveEngineOptions } from "../../../../adapters/webgpu/step/engine_options.ts";
import { uniformBuffer } from "../../../../adapters/webgpu/step/gpu_buffers.ts";
import {
  GEMV_S_VARIANTS,
  GEOMETRY,
  type Geometry,
  grids,
  hybridShape,
  smallGemvGeometry,
} from "../../../../adapters/webgpu/kernels/geometry.ts";
import {
  compileKernels,
  type Kernel,
} from "../../../../adapters/webgpu/kernels/pipelines.ts";
import {
  HYBRID_MARGIN,
  loopPasses,
  maxHybridKeys,
} from "../../../../adapters/webgpu/kernels/loop_passes.ts";
import {
  linearParams,
  rmsnormParams,
} from "../../../../adapters/webgpu/kernels/params.ts";
import {
  PRESET_CONFIGS,
  presetSource,
} from "../../../../adapters/webgpu/model/presets.ts";
import {
  linearRef,
  logprobRef,
  rmsnormRef,
  sampleRef,
} from "../../../../adapters/webgpu/reference/reference_kernels.ts";
import {
  HDR,
  packStep,
  type StepLimits,
} from "../../../../adapters/webgpu/batch/step_batch.ts";
import {
  bufferOf,
  randomF32,
  readF32,
  relErr,
  runKernels,
  testDevice,
  testKernels,
} from "../_gpu.ts";
import { runHybridStep, unwritten } from "./_attention.ts";
import { runSample } from "./_sample.ts";
import { webgpuTest } from "../../../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const kernels = () => testKernels("f32", 64);

/** One sequence: `n` query tokens at `start` over `start + n` keys (n = 1: a decode). */
function oneSeq(start: number, n: number, lim: StepLimits) {
  const pages = Array.from(
    { length: Math.ceil((start + n) / 16) },
    (_, i) => (i * 5) % lim.numPages,
  );
  return packStep({
    seqs: [{
      slot: 0,
      start,
      tokens: n === 1 ? null : Array.from({ length: n }, (_, i) => i % 7),
      pages,
      sample: n === 1 ? { temperature: 0, topP: 1, seed: 0 } : null,
    }],
    logBase: 0,
  }, lim);
}

webgpuTest({
  name:
    "attention_hybrid.wgsl writes every output of long prefills and decodes, items cut to the loop budget",
  ...opts,
  fn: async (t) => {
    const gpu = await testDevice();
    // Past the bound where there is one: a chunk and a decode over more keys than one item may
    // cover (on llvmpipe, D 64: the items are cut, e.g. at 53k keys).
    const past = (hgd: [number, number, number]) =>
      Math.min(
        maxHybridKeys(hybridShape(...hgd), hgd[2], gpu.loopBudget),
        60000,
      ) + 500;
    const cases: { hgd: [number, number, number]; start: number; n: number }[] =
      [
        { hgd: [2, 1, 64], start: 0, n: 1040 }, // a whole 1,040-token prompt, head_dim 64
        { hgd: [2, 1, 64], start: past([2, 1, 64]), n: 16 }, // a chunk past the bound
        { hgd: [4, 2, 32], start: 6000, n: 64 }, // head_dim 32, 64-key blocks
        { hgd: [2, 2, 128], start: past([2, 2, 128]), n: 16 }, // head_dim 128, 16-key blocks
        { hgd: [8, 1, 64], start: past([8, 1, 64]), n: 1 }, // a decode, 8 GQA heads
      ];
    for (const { hgd, start, n } of cases) {
      const keys = start + n;
      const lim: StepLimits = {
        maxTokens: n,
        maxSeqs: 1,
        numPages: Math.ceil(keys / 16) + 3,
        vocab: 16,
        maxContext: keys,
        logSize: 4,
      };
      const shape = hybridShape(...hgd);
      const maxItemKeys = maxHybridKeys(shape, hgd[2], gpu.loopBudget);
      const forced = keys > maxItemKeys;
      await t.step(
        `H G D = ${hgd.join(" ")}, ${n} tokens at ${start}: ${
          forced ? `items cut to ${maxItemKeys} keys` : "unsplit"
        }`,
        async () => {
          const r = await runHybridStep(oneSeq(start, n, lim), lim, hgd, {
            targetItems: 1,
            maxItemKeys,
          });
          assert.deepEqual(unwritten(r.got), []);
          // f32 sums over `keys` terms: rounding grows with the number of keys.
          const err = relErr(r.got, r.want);
          const tol = keys > 8192 ? 2e-4 : 2e-5;
          assert.ok(err < tol, `relative error ${err}`);
          if (forced) {
            assert.ok(r.plan.splitKeys > 0 && r.plan.splitKeys <= maxItemKeys);
          } else assert.equal(r.plan.splitKeys, 0);
        },
      );
    }
  },
});

/** The largest K (a multiple of 16) whose passes fit `budget`, or `fallback` without a budget. */
function largestK(
  passes: (K: number) => number,
  budget: number | null,
  fallback: number,
): number {
  if (budget === null) return fallback;
  let K = 16;
  while (passes(K + 16) <= budget) K += 16;
  return K;
}

webgpuTest({
  name:
    "linear_tiled.wgsl and linear_gemv.wgsl write every output at the largest K the loop budget allows",
  ...opts,
  fn: async (t) => {
    const { gpu, device, k } = await kernels();
    const lanes4 = { ...GEOMETRY, ...GEMV_S_VARIANTS["s r32 l8 u8 t"] };
    const cases: {
      kernel: Kernel;
      M: number;
      N: number;
      K: number;
      geo?: Geometry;
    }[] = [
      {
        kernel: k.linear_tiled,
        M: 24,
        N: 72,
        K: largestK(loopPasses.tiled, gpu.loopBudget, 45056),
      },
      {
        kernel: k.linear_gemv,
        M: 8,
        N: 24,
        K: Math.min(
          largestK(loopPasses.gemv, gpu.loopBudget, 1 << 18),
          1 << 18,
        ),
      },
      {
        kernel: k.linear_gemv_s,
        M: 1,
        N: 24,
        K: Math.min(
          largestK(
            (K) => loopPasses.gemv(K, smallGemvGeometry(GEOMETRY)),
            gpu.loopBudget,
            1 << 18,
          ),
          1 << 18,
        ),
      },
      {
        // Eight loads in flight over eight lanes per column, passes rotated: the most passes per
        // K of the swept one-row geometries.
        kernel: (await compileKernels(device, "f32", 64, lanes4, [
          "linear_gemv_s",
        ])).linear_gemv_s!,
        M: 1,
        N: 24,
        K: Math.min(
          largestK(
            (K) => loopPasses.gemv(K, smallGemvGeometry(lanes4)),
            gpu.loopBudget,
            1 << 19,
          ),
          1 << 19,
        ),
        geo: lanes4,
      },
    ];
    for (const { kernel, M, N, K, geo } of cases) {
      await t.step(`${kernel.name} M=${M} N=${N} K=${K}`, async () => {
        const x = randomF32(M * K, 11, 1);
        const w = randomF32(N * K, 12, 0.5);
        const meta = new Uint32Array(16);
        meta[HDR.T] = M;
        const y = bufferOf(device, "y", new Float32Array(M * N).fill(NaN));
        await runKernels(device, [{
          kernel,
          buffers: [
            uniformBuffer(device, "p", linearParams(N, K, K, 0, HDR.T)),
            bufferOf(device, "meta", meta),
            bufferOf(device, "x", x),
            bufferOf(device, "w", w),
            bufferOf(device, "bias", new Float32Array(4)),
            bufferOf(device, "g", new Float32Array(4)),
            y,
          ],
          grid: kernel.name === "linear_gemv_s"
            ? grids.gemvS(N, geo)
            : M <= 8
            ? grids.gemv(N)
            : grids.tiled(M, N),
        }]);
        const got = await readF32(device, y, M * N);
        assert.deepEqual(unwritten(got), []);
        const err = relErr(got, linearRef(x, w, M, N, K));
        assert.ok(err < 1e-5, `relative error ${err}`);
      });
    }
  },
});

webgpuTest({
  name: "rmsnorm.wgsl writes every channel of rows of C = 2^21",
  ...opts,
  fn: async () => {
    const { device, k } = await kernels();
    const C = 1 << 21;
    const M = 2;
    const x = randomF32(M * C, 21, 2);
    const g = randomF32(C, 22, 1);
    const meta = new Uint32Array(16);
    const y = bufferOf(device, "y", new Float32Array(M * C).fill(NaN));
    await runKernels(device, [{
      kernel: k.rmsnorm,
      buffers: [
        uniformBuffer(device, "p", rmsnormParams(C, false, 1e-5)),
        bufferOf(device, "meta", meta),
        bufferOf(device, "x", x),
        bufferOf(device, "g", g),
        y,
      ],
      grid: grids.rmsnorm(M),
    }]);
    const got = await readF32(device, y, M * C);
    assert.deepEqual(unwritten(got), []);
    assert.ok(relErr(got, rmsnormRef(x, g, C, 1e-5)) < 1e-6);
  },
});

webgpuTest({
  name:
    "sample.wgsl picks over a 128,256-token vocabulary (Llama 3) exactly as sampleRef, with its log-probability",
  ...opts,
  fn: async () => {
    const { device, k } = await kernels();
    const V = 128256;
    const lim: StepLimits = {
      maxTokens: 8,
      maxSeqs: 8,
      numPages: 8,
      vocab: V,
      maxContext: 16,
      logSize: 12,
    };
    const cases = [
      { temperature: 0, topP: 1, plant: V - 1 }, // argmax in the last block of the vocabulary
      { temperature: 0, topP: 1, plant: 77_777 },
      { temperature: 0.8, topP: 0.9, plant: -1 }, // top-p: bisection over all V
      { temperature: 1, topP: 1, plant: -1 }, // temperature: the draw scans one block
      { temperature: 2, topP: 1, plant: -1 },
      { temperature: 0.5, topP: 1, plant: 128_000 },
      { temperature: 0.7, topP: 1, plant: -1 },
      { temperature: 1.5, topP: 1, plant: -1 },
    ];
    const packed = packStep({
      seqs: cases.map((c, i) => ({
        slot: i,
        start: 0,
        tokens: [i + 1],
        pages: [i],
        sample: { temperature: c.temperature, topP: c.topP, seed: 40 + i },
      })),
      logBase: 2,
    }, lim);
    const logits = randomF32(cases.length * V, 31, 3);
    cases.forEach((c, r) => {
      if (c.plant >= 0) logits[r * V + c.plant] = 10;
    });
    const got = await runSample(device, k, packed, logits, V, 8, 12);
    const want = cases.map((c, r) =>
      sampleRef(
        logits.subarray(r * V, (r + 1) * V),
        Math.fround(c.temperature),
        Math.fround(c.topP),
        40 + r,
        1, // the position of the sampled token
      )
    );
    assert.equal(want[0], V - 1);
    assert.equal(want[1], 77_777);
    // The draws land in different blocks of the vocabulary.
    assert.ok(new Set(want.slice(3).map((v) => Math.floor(v / 4096))).size > 2);
    // Their log-probabilities over all 128,256 logits (31 block partials summed).
    want.forEach((tok, r) => {
      const ref = logprobRef(logits.subarray(r * V, (r + 1) * V), tok);
      assert.ok(
        Math.abs(got.logprobs[2 + r] - ref) < 1e-3,
        `row ${r}: ${got.logprobs[2 + r]} vs ${ref}`,
      );
    });
    assert.deepEqual(got.lastTok, want);
    assert.deepEqual(got.log, [
      0xffffffff,
      0xffffffff,
      ...want,
      0xffffffff,
      0xffffffff,
    ]);
  },
});

webgpuTest({
  name:
    "resolveEngineOptions() refuses a model whose kernel loops exceed the adapter's loop budget",
  ...opts,
  fn: async (t) => {
    const gpu = { ...(await testDevice()), loopBudget: 65535 };
    const withConfig = (extra: Record<string, unknown>) =>
      presetSource(
        "tiny",
        0,
        parseModelConfig({ ...PRESET_CONFIGS.tiny, ...extra }, "test config"),
      );
    await t.step("intermediate_size 65,536: linear_tiled over K", () => {
      const I = 65536;
      assert.throws(
        () =>
          resolveEngineOptions(gpu, withConfig({ intermediate_size: I }), {}),
        new Error(
          `Kernel linear_tiled.wgsl (model preset:tiny on ${gpu.description}, intermediate_size K = ${I}): needs ${
            loopPasses.tiled(I)
          } loop passes per invocation, more than the adapter's loop budget of 65535`,
        ),
      );
    });
    await t.step("vocab_size 524,416: the GEMV grid over the LM head", () => {
      const V = 524416; // ceil(V / 8) = 65,552 workgroups of 8 columns
      assert.throws(
        () => resolveEngineOptions(gpu, withConfig({ vocab_size: V }), {}),
        new Error(
          `Linear geometry GEMV_ROWS 8 for model preset:tiny: the LM head (vocab_size ${V}) needs 65552 workgroups, expected at most 65535; use at least 9 output columns per workgroup`,
        ),
      );
    });
    await t.step("linear.gemvS: each layer's own geometry is checked", () => {
      const src = withConfig({ vocab_size: 70000 });
      const one = { GEMV_SROWS: 1, GEMV_SLANES: 256, GEMV_SRPT: 1 };
      assert.throws(
        () =>
          resolveEngineOptions(gpu, src, {
            linear: { gemvS: { lmHead: one } },
          }),
        new Error(
          `Linear option gemvS.lmHead for model preset:tiny: 1 output columns per workgroup give 70000 workgroups over N = 70000, expected at most 65535; use at least 2 columns per workgroup (GEMV_SROWS x GEMV_SRPT)`,
        ),
      );
      // Two columns per invocation halve the grid.
      const two = { ...one, GEMV_SRPT: 2 };
      const r = resolveEngineOptions(gpu, src, {
        linear: { gemvS: { lmHead: two } },
      });
      assert.equal(r.linear.gemvS.lmHead.GEMV_SRPT, 2);
      assert.equal(r.linear.gemvS.qkv, r.linear.geo);
      assert.throws(
        () =>
          resolveEngineOptions(gpu, src, {
            linear: { gemvS: { head: two } as never },
          }),
        /Linear option gemvS: unknown layer head, expected one of qkv, o, gateUp, down, lmHead/,
      );
      assert.throws(
        () =>
          resolveEngineOptions(gpu, src, {
            linear: { gemvS: { o: { GEMV_SRPT: 3 } } },
          }),
        /columns per invocation 1, 2 or 4/,
      );
    });
    await t.step("vocab_size 1,048,576: sample over V", () => {
      const V = 1 << 20;
      assert.throws(
        () => resolveEngineOptions(gpu, withConfig({ vocab_size: V }), {}),
        new Error(
          `Kernel sample.wgsl (model preset:tiny on ${gpu.description}, vocab_size V = ${V}): needs ${
            loopPasses.sample(V)
          } loop passes per invocation, more than the adapter's loop budget of 65535`,
        ),
      );
    });
    await t.step(
      "Llama-3.2-1B shapes fit, attention items cut at the last key block within budget",
      () => {
        const r = resolveEngineOptions(gpu, presetSource("llama-3.2-1b"), {
          maxSeqs: 1,
        });
        const shape = hybridShape(32, 8, 64);
        assert.equal(r.maxItemKeys, maxHybridKeys(shape, 64, 65535));
        const usable = 65535 / HYBRID_MARGIN;
        assert.ok(loopPasses.hybridItem(shape, 64, r.maxItemKeys) <= usable);
        assert.ok(
          loopPasses.hybridItem(shape, 64, r.maxItemKeys + shape.kb) > usable,
        );
      },
    );
    await t.step("no budget: no bound", () => {
      const r = resolveEngineOptions(
        { ...gpu, loopBudget: null },
        presetSource("tiny"),
        {},
      );
      assert.equal(r.maxItemKeys, Infinity);
    });
  },
});
