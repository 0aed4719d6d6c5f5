// The WGSL kernels against their TypeScript references on random inputs, f32 and f16 storage
// (the linear kernels: linear_test.ts).
import assert from "node:assert/strict";
import {
  readBuffer,
  roundToStorage,
  toStorageBytes,
  uniformBuffer,
} from "../../../../adapters/webgpu/step/gpu_buffers.ts";
import {
  grids,
  type StorageDtype,
} from "../../../../adapters/webgpu/kernels/geometry.ts";
import {
  attentionParams,
  embedParams,
  rmsnormParams,
  ropeKvParams,
} from "../../../../adapters/webgpu/kernels/params.ts";
import {
  logprobRef,
  rmsnormRef,
  ropeKvAttentionRef,
  sampleRef,
  sampleRow,
} from "../../../../adapters/webgpu/reference/reference_kernels.ts";
import { ropeInvFreq } from "../../../../adapters/webgpu/model/config.ts";
import {
  type PackedStep,
  packStep,
  type StepBatch,
} from "../../../../adapters/webgpu/batch/step_batch.ts";
import { runSample } from "./_sample.ts";
import {
  bufferOf,
  randomF32,
  readF32,
  relErr,
  runKernels,
  testDtypes,
  testKernels,
} from "../_gpu.ts";
import { webgpuTest } from "../../../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const kernels = (dtype: StorageDtype) => testKernels(dtype);
const dtypes = testDtypes;
const LIM = {
  maxTokens: 64,
  maxSeqs: 4,
  numPages: 12,
  vocab: 1000,
  maxContext: 64,
  logSize: 16,
};
const greedy = { temperature: 0, topP: 1, seed: 0 };

/** A hybrid batch: a fresh prefill (20 tokens, 2 pages), a decode at 17, a later prefill chunk. */
function hybridStep(): PackedStep {
  const batch: StepBatch = {
    seqs: [
      {
        slot: 0,
        start: 0,
        tokens: Array.from({ length: 20 }, (_, i) => i + 1),
        pages: [7, 2],
        sample: greedy,
      },
      {
        slot: 1,
        start: 17,
        tokens: null,
        pages: [5, 11],
        sample: { temperature: 0.7, topP: 1, seed: 9 },
      },
      {
        slot: 2,
        start: 5,
        tokens: [4, 5, 6, 7, 8, 9, 10],
        pages: [0],
        sample: null,
      },
    ],
    logBase: 3,
  };
  return packStep(batch, LIM);
}

webgpuTest({
  name:
    "rmsnorm.wgsl equals rmsnormRef on all rows and on gathered sample rows",
  ...opts,
  fn: async (t) => {
    const { device, k } = await kernels("f32");
    const packed = hybridStep(); // T = 28, R = 2
    const C = 72;
    const T = packed.numTokens;
    const x = randomF32(T * C, 1, 3);
    const g = randomF32(C, 2, 1);
    for (const gather of [false, true]) {
      await t.step(gather ? "gather" : "all rows", async () => {
        const M = gather ? packed.numRows : T;
        const y = bufferOf(device, "y", new Float32Array(M * C));
        await runKernels(device, [{
          kernel: k.rmsnorm,
          buffers: [
            uniformBuffer(device, "p", rmsnormParams(C, gather, 1e-5)),
            bufferOf(device, "meta", packed.meta),
            bufferOf(device, "x", x),
            bufferOf(device, "g", g),
            y,
          ],
          grid: grids.rmsnorm(M),
        }]);
        const rows = gather
          ? [0, 1].map((r) => sampleRow(packed.meta, r).tokenRow)
          : undefined;
        const want = rmsnormRef(x, g, C, 1e-5, rows);
        assert.ok(relErr(await readF32(device, y, M * C), want) < 1e-6);
      });
    }
  },
});

webgpuTest({
  name:
    "rope_kv.wgsl + attention.wgsl equal the reference on a hybrid batch over shuffled pages",
  ...opts,
  fn: async (t) => {
    for (const dtype of await dtypes()) {
      await t.step(dtype, async () => {
        const { device, k } = await kernels(dtype);
        const packed = hybridStep();
        const [H, G, D, L] = [4, 2, 16, 2];
        const layer = 1;
        const T = packed.numTokens;
        const W = (H + 2 * G) * D;
        const kvLayer = LIM.numPages * 2 * G * 16 * D;
        const layerBase = layer * kvLayer;
        // Earlier positions of the decode and chunk sequences are already in the cache.
        const kv0 = roundToStorage(randomF32(L * kvLayer, 3, 1), dtype);
        const qkv = randomF32(T * W, 4, 1);
        const invFreq = Float32Array.from(
          ropeInvFreq(D, 10000, { type: "default" }),
        );
        const kvRef = Float64Array.from(kv0);
        const want = ropeKvAttentionRef(
          packed.meta,
          qkv,
          kvRef,
          { H, G, D },
          layerBase,
          invFreq,
        );
        const meta = bufferOf(device, "meta", packed.meta);
        const qkvBuf = bufferOf(device, "qkv", qkv);
        const kvBuf = bufferOf(device, "kv", toStorageBytes(kv0, dtype));
        const out = bufferOf(device, "out", new Float32Array(T * H * D));
        await runKernels(device, [
          {
            kernel: k.rope_kv,
            buffers: [
              uniformBuffer(device, "p", ropeKvParams(H, G, D, layerBase)),
              meta,
              bufferOf(device, "f", invFreq),
              qkvBuf,
              kvBuf,
            ],
            grid: grids.ropeKv(T, H, G, D),
          },
          {
            kernel: k.attention,
            buffers: [
              uniformBuffer(device, "p", attentionParams(H, G, D, layerBase)),
              meta,
              qkvBuf,
              kvBuf,
              out,
            ],
            grid: grids.attention(T, H),
          },
        ]);
        const tol = dtype === "f32" ? 1e-5 : 2e-3;
        const err = relErr(await readF32(device, out, T * H * D), want);
        assert.ok(err < tol, `attention relative error ${err}`);
        const kvBytes = new Uint8Array(
          await readBuffer(
            device,
            kvBuf,
            0,
            L * kvLayer * (dtype === "f16" ? 2 : 4),
          ),
        );
        const kvGot = dtype === "f16"
          ? Float32Array.from(new Float16Array(kvBytes.buffer))
          : new Float32Array(kvBytes.buffer);
        const kvErr = relErr(kvGot, kvRef);
        assert.ok(
          kvErr < (dtype === "f32" ? 1e-6 : 1e-3),
          `kv cache relative error ${kvErr}`,
        );
      });
    }
  },
});

webgpuTest({
  name: "embed.wgsl gathers literal ids and ids sampled into slots",
  ...opts,
  fn: async () => {
    for (const dtype of await dtypes()) {
      const { device, k } = await kernels(dtype);
      const packed = hybridStep();
      const [V, C] = [LIM.vocab, 8];
      const emb = roundToStorage(randomF32(V * C, 8, 1), dtype);
      const lastTok = new Uint32Array([0, 321, 0, 0]);
      const T = packed.numTokens;
      const x = bufferOf(device, "x", new Float32Array(T * C));
      await runKernels(device, [{
        kernel: k.embed,
        buffers: [
          uniformBuffer(device, "p", embedParams(C)),
          bufferOf(device, "meta", packed.meta),
          bufferOf(device, "last", lastTok),
          bufferOf(device, "emb", toStorageBytes(emb, dtype)),
          x,
        ],
        grid: grids.embed(T, C),
      }]);
      const got = await readF32(device, x, T * C);
      // Row 20 is the decode token of slot 1: id 321 from last_tok.
      const ids = [
        ...Array.from({ length: 20 }, (_, i) => i + 1),
        321,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
      ];
      const want = ids.flatMap((id) =>
        Array.from(emb.subarray(id * C, id * C + C))
      );
      assert.deepEqual(Array.from(got), want);
    }
  },
});

webgpuTest({
  name:
    "sample.wgsl equals sampleRef (greedy, temperature, top-p), logprobRef, and feeds slot and logs",
  ...opts,
  fn: async (t) => {
    const { device, k } = await kernels("f32");
    const V = 1000;
    const cases = [
      { temperature: 0, topP: 1 },
      { temperature: 0.7, topP: 1 },
      { temperature: 1.3, topP: 0.5 },
      { temperature: 1, topP: 0.05 },
    ];
    for (const seed of [1, 2, 3, 4, 5]) {
      await t.step(`seed ${seed}`, async () => {
        const batch: StepBatch = {
          seqs: cases.map((c, i) => ({
            slot: i,
            start: 0,
            tokens: [i + 1, i + 2],
            pages: [i],
            sample: { ...c, seed },
          })),
          logBase: 10,
        };
        const packed = packStep(batch, LIM);
        const R = packed.numRows;
        const logits = randomF32(R * V, 100 + seed, 4);
        const got = await runSample(device, k, packed, logits, V, 4, 16);
        const want = cases.map((c, r) =>
          sampleRef(
            logits.subarray(r * V, (r + 1) * V),
            Math.fround(c.temperature),
            Math.fround(c.topP),
            seed,
            2,
          )
        );
        assert.deepEqual(got.lastTok, want);
        assert.deepEqual(got.log, [
          ...Array(10).fill(0xffffffff),
          ...want,
          0xffffffff,
          0xffffffff,
        ]);
        // Log-probabilities of the sampled ids, written beside them (raw logits).
        want.forEach((tok, r) => {
          const ref = logprobRef(logits.subarray(r * V, (r + 1) * V), tok);
          assert.ok(
            Math.abs(got.logprobs[10 + r] - ref) < 1e-4,
            `row ${r}: ${got.logprobs[10 + r]} vs ${ref}`,
          );
        });
        assert.ok(got.logprobs.slice(0, 10).every(Number.isNaN));
      });
    }
  },
});

webgpuTest({
  name:
    "l2_touch.wgsl reads every whole vec4 of its buffer (the first and last reach the sink) and writes nothing else",
  ...opts,
  fn: async () => {
    const { device, k } = await kernels("f32");
    const MAGIC = [0x9e3779b9, 0x7f4a7c15, 0x85ebca6b, 0xc2b2ae35];
    const SENTINEL = [1, 2, 3, 4];
    // 3 workgroups of TOUCH_LOADS x TOUCH_WG vec4s and 5 more, plus 12 bytes past the last vec4.
    const n4 = 3 * 4 * 256 + 5;
    const run = async (at: number | null, fill: (w: Uint32Array) => void) => {
      const w = new Uint32Array(n4 * 4 + 3);
      fill(w);
      if (at !== null) w.set(MAGIC, at * 4);
      const sink = bufferOf(device, "sink", new Uint32Array(SENTINEL));
      const grid = grids.touch(w.byteLength);
      assert.deepEqual(grid, [4, 1, 1]);
      await runKernels(device, [{
        kernel: k.l2_touch,
        buffers: [bufferOf(device, "w", w), sink],
        grid,
      }]);
      return Array.from(new Uint32Array(await readBuffer(device, sink, 0, 16)));
    };
    const zeros = () => {};
    assert.deepEqual(await run(0, zeros), MAGIC, "the first vec4");
    assert.deepEqual(await run(n4 - 1, zeros), MAGIC, "the last vec4");
    assert.deepEqual(
      await run(2 * 1024 + 3 * 256 + 7, zeros),
      MAGIC,
      "a 4th load",
    );
    assert.deepEqual(await run(null, zeros), SENTINEL, "all zeros");
    let s = 12345;
    const random = (w: Uint32Array) => {
      for (let i = 0; i < w.length; i++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        w[i] = s;
      }
    };
    assert.deepEqual(await run(null, random), SENTINEL, "random words");
  },
});
