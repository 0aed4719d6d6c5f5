// The GPU forward against the Hugging Face oracle (tests/fixtures/models/tiny-llama-f32) and against
// the CPU reference: hybrid steps, chunked prefill, page boundaries, f16 storage, generation.
import assert from "node:assert/strict";
import { modelDir } from "../../../_fixtures.ts";
import { parseModelConfig } from "../../../../adapters/webgpu/model/config.ts";
import { EngineLoop } from "../../../../adapters/webgpu/serving/engine_loop.ts";
import { runRequest } from "../../../../adapters/webgpu/serving/engine_request.ts";
import { ForwardEngine } from "../../../../adapters/webgpu/step/forward.ts";
import { roundToStorage } from "../../../../adapters/webgpu/step/gpu_buffers.ts";
import { openCheckpoint } from "../../../../adapters/webgpu/model/model_source.ts";
import {
  argmax,
  parseOracle,
  relRmsError,
} from "../../../../adapters/webgpu/reference/oracle.ts";
import { presetSource } from "../../../../adapters/webgpu/model/presets.ts";
import { ReferenceSequence } from "../../../../adapters/webgpu/reference/reference_forward.ts";
import { sampleRef } from "../../../../adapters/webgpu/reference/reference_kernels.ts";
import {
  GREEDY,
  type SamplingParams,
  type StepSequence,
} from "../../../../adapters/webgpu/batch/step_batch.ts";
import {
  loadHostWeights,
  type ModelWeights,
} from "../../../../adapters/webgpu/model/weights.ts";
import { testDevice } from "../_gpu.ts";
import {
  gemvSVariant,
  type Geometry,
  TILE_VARIANTS,
} from "../../../../adapters/webgpu/kernels/geometry.ts";
import { skip, webgpuTest } from "../../../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const oracleDir = () => modelDir("tiny-llama-f32");
const loadOracle = async () =>
  parseOracle(
    JSON.parse(await Deno.readTextFile(`${oracleDir()}/expected.json`)),
    "expected.json",
  );
const pagesFrom = (first: number, n: number) =>
  Array.from({ length: n }, (_, i) => first + i);

/** The ids of one request run alone through a fresh loop on `engine` (no stop id but `stop`). */
async function generateAlone(
  engine: ForwardEngine,
  prompt: number[],
  maxTokens: number,
  o: { stepsInFlight?: number; sampling?: SamplingParams; stop?: number[] } =
    {},
): Promise<number[]> {
  const loop = await EngineLoop.create(engine, {
    stepsInFlight: o.stepsInFlight,
  });
  const { ids } = await runRequest(loop, {
    id: "alone",
    prompt,
    maxTokens,
    ignoreEos: true,
    stopTokenIds: o.stop,
    sampling: o.sampling,
  });
  const { used, available } = loop.blocks.stats();
  await loop.close();
  assert.equal(used, 0, "blocks still used after the request ended");
  assert.equal(available, engine.limits.numPages);
  return ids;
}

async function oracleEngine(dtype: "f32" | "f16" = "f32") {
  const src = await openCheckpoint(oracleDir());
  const engine = await ForwardEngine.create(await testDevice(), src, {
    dtype,
    maxTokens: 64,
    maxSeqs: 4,
    maxContext: 64,
  });
  return { src, engine };
}

webgpuTest({
  name:
    "ForwardEngine last-position logits match the oracle within 1e-3 relative RMS",
  ...opts,
  fn: async (t) => {
    const oracle = await loadOracle();
    const { engine } = await oracleEngine();
    for (const [i, c] of oracle.cases.entries()) {
      await t.step(`prompt ${i} (${c.prompt.length} tokens)`, async () => {
        engine.submitStep({
          seqs: [{
            slot: 0,
            start: 0,
            tokens: c.prompt,
            pages: pagesFrom(0, 3),
            sample: GREEDY,
          }],
          logBase: 0,
        });
        const err = relRmsError(await engine.readLogits(1), c.lastLogits);
        assert.ok(err < 1e-3, `relative RMS error ${err}`);
      });
    }
    engine.destroy();
  },
});

webgpuTest({
  name:
    "One request through the engine loop reproduces the oracle's 24-token greedy continuations",
  ...opts,
  fn: async (t) => {
    const oracle = await loadOracle();
    const { engine } = await oracleEngine();
    for (const [i, c] of oracle.cases.entries()) {
      await t.step(`prompt ${i}`, async () => {
        const got = await generateAlone(engine, c.prompt, c.greedy.length, {
          stepsInFlight: 5,
        });
        assert.deepEqual(got, c.greedy);
      });
    }
    engine.destroy();
  },
});

webgpuTest({
  name:
    "Each layer's own one-row GEMV geometry (linear.gemvS, 2 and 4 columns per invocation) keeps the oracle's greedy continuations and the logits of one-token steps",
  ...opts,
  fn: async (t) => {
    const oracle = await loadOracle();
    const src = await openCheckpoint(oracleDir());
    const sizes = { maxTokens: 64, maxSeqs: 4, maxContext: 64 };
    const over = gemvSVariant;
    const engine = await ForwardEngine.create(await testDevice(), src, {
      dtype: "f32",
      ...sizes,
      linear: {
        gemvS: {
          qkv: over("s r8 l32 c4"),
          o: over("s r2 l128 c4"),
          gateUp: over("s r16 l16 c2"),
          down: over("s r4 l64 c2"),
          lmHead: over("s r8 l32 c4"),
        },
      },
    });
    const plain = await ForwardEngine.create(await testDevice(), src, {
      dtype: "f32",
      ...sizes,
    });
    for (const [i, c] of oracle.cases.entries()) {
      await t.step(`prompt ${i}`, async () => {
        const got = await generateAlone(engine, c.prompt, c.greedy.length);
        assert.deepEqual(got, c.greedy);
        // One token of the prompt: every linear layer on linear_gemv_s.
        const logits = [];
        for (const e of [engine, plain]) {
          e.submitStep({
            seqs: [{
              slot: 0,
              start: 0,
              tokens: c.prompt.slice(0, 1),
              pages: [0],
              sample: GREEDY,
            }],
            logBase: 0,
          });
          logits.push(await e.readLogits(1));
        }
        const err = relRmsError(logits[0], logits[1]);
        assert.ok(err < 1e-5, `relative RMS difference ${err}`);
      });
    }
    engine.destroy();
    plain.destroy();
  },
});

webgpuTest({
  name:
    "encodeStep with a pass per dispatch gives the one-pass step's logits and names every dispatch",
  ...opts,
  fn: async () => {
    const oracle = await loadOracle();
    const { engine } = await oracleEngine();
    const gpu = engine.gpu;
    assert.ok(gpu.timestamps, `${gpu.description} lacks timestamp-query`);
    const c = oracle.cases[3];
    const pages = pagesFrom(0, 3);
    engine.submitStep({
      seqs: [{ slot: 0, start: 0, tokens: c.prompt, pages, sample: GREEDY }],
      logBase: 0,
    });
    // One decode row (linear_gemv_s per layer), as one pass and as a pass per dispatch.
    const decode = {
      seqs: [{
        slot: 0,
        start: c.prompt.length,
        tokens: [c.greedy[0]],
        pages,
        sample: GREEDY,
      }],
      logBase: 1,
    };
    engine.submitStep(decode);
    const onePass = await engine.readLogits(1);
    const querySet = gpu.device.createQuerySet({
      type: "timestamp",
      count: 512,
    });
    const names: string[] = [];
    const enc = gpu.device.createCommandEncoder();
    engine.encodeStep(enc, engine.prepareStep(decode), undefined, {
      querySet,
      names,
    });
    gpu.device.queue.submit([enc.finish()]);
    assert.deepEqual(await engine.readLogits(1), onePass);
    const L = engine.config.numLayers;
    const count = (n: string) => names.filter((x) => x === n).length;
    assert.equal(names[0], "embed");
    assert.equal(names.at(-1), "sample");
    // One token: qkv, rope and the cache write in one dispatch (linear_gemv_rope).
    for (const n of ["linear_gemv_rope qkv", "linear_gemv_s down"]) {
      assert.equal(count(n), L, n);
    }
    assert.equal(count("rope_kv"), 0);
    assert.equal(count("linear_gemv_s lmHead"), 1);
    querySet.destroy();
    engine.destroy();
  },
});

webgpuTest({
  name:
    "l2Prefetch adds l2_touch beside attention and down in GEMV steps and changes no logit",
  ...opts,
  fn: async () => {
    const oracle = await loadOracle();
    const src = await openCheckpoint(oracleDir());
    const gpu = await testDevice();
    const make = (l2Prefetch: boolean) =>
      ForwardEngine.create(gpu, src, {
        dtype: "f32",
        maxTokens: 64,
        maxSeqs: 4,
        maxContext: 64,
        l2Prefetch,
      });
    const plain = await make(false);
    const touched = await make(true);
    const c = oracle.cases[3];
    const pages = pagesFrom(0, 3);
    const steps = [
      { tokens: c.prompt, start: 0 },
      { tokens: [c.greedy[0]], start: c.prompt.length },
      { tokens: [c.greedy[1]], start: c.prompt.length + 1 },
    ];
    for (const [i, s] of steps.entries()) {
      const batch = {
        seqs: [{ slot: 0, ...s, pages, sample: GREEDY }],
        logBase: i,
      };
      plain.submitStep(batch);
      touched.submitStep(batch);
      assert.deepEqual(
        await touched.readLogits(1),
        await plain.readLogits(1),
        `step ${i} (${s.tokens.length} tokens)`,
      );
    }
    // Where the touches go: after each layer's attention, and after down but the last layer's.
    const querySet = gpu.device.createQuerySet({
      type: "timestamp",
      count: 512,
    });
    const names: string[] = [];
    const enc = gpu.device.createCommandEncoder();
    const decode = {
      seqs: [{
        slot: 0,
        start: c.prompt.length + 2,
        tokens: [c.greedy[2]],
        pages,
        sample: GREEDY,
      }],
      logBase: 3,
    };
    touched.encodeStep(enc, touched.prepareStep(decode), undefined, {
      querySet,
      names,
    });
    gpu.device.queue.submit([enc.finish()]);
    plain.submitStep(decode);
    assert.deepEqual(await touched.readLogits(1), await plain.readLogits(1));
    const L = touched.config.numLayers;
    const after = (n: string) =>
      names.filter((x, i) => x === "l2_touch" && names[i - 1] === n).length;
    assert.equal(after("attention_hybrid"), L);
    assert.equal(after("linear_gemv_s down"), L - 1);
    assert.equal(names.filter((x) => x === "l2_touch").length, 2 * L - 1);
    querySet.destroy();
    plain.destroy();
    touched.destroy();
  },
});

webgpuTest({
  name:
    "ForwardEngine one-token steps on linear_gemv_rope (qkv + rope_kv in one dispatch) give the unfused engine's logits and greedy ids",
  ...opts,
  fn: async (t) => {
    const oracle = await loadOracle();
    const src = await openCheckpoint(oracleDir());
    const sizes = {
      dtype: "f32" as const,
      maxTokens: 64,
      maxSeqs: 4,
      maxContext: 64,
    };
    const gpu = await testDevice();
    // The default geometry, and 8 rows (4 rotary pairs per workgroup) with rotated passes.
    for (
      const [what, linear] of [
        ["default geometry", undefined],
        ["s r8 l32 t", { gemvS: { qkv: gemvSVariant("s r8 l32 t") } }],
      ] as const
    ) {
      const fused = await ForwardEngine.create(gpu, src, { ...sizes, linear });
      const plain = await ForwardEngine.create(gpu, src, {
        ...sizes,
        linear,
        fuseRope: false,
      });
      for (const [i, c] of oracle.cases.entries()) {
        await t.step(`${what}, prompt ${i}`, async () => {
          // The prompt's prefill, then 6 decode steps (one query token each) past a page
          // boundary, fed each engine's own greedy id; the KV rows the fused steps wrote are read
          // by the next steps' attention.
          const ids: number[][] = [];
          const logits: Float32Array[][] = [];
          for (const e of [fused, plain]) {
            const got: number[] = [];
            const rows: Float32Array[] = [];
            let tok = c.prompt;
            for (let s = 0; s < 7; s++) {
              const start = s === 0 ? 0 : c.prompt.length + s - 1;
              e.submitStep({
                seqs: [{
                  slot: 0,
                  start,
                  tokens: tok,
                  pages: pagesFrom(0, 4),
                  sample: GREEDY,
                }],
                logBase: s,
              });
              const l = await e.readLogits(1);
              rows.push(l);
              const next = argmax(l);
              got.push(next);
              tok = [next];
            }
            ids.push(got);
            logits.push(rows);
          }
          assert.deepEqual(ids[0], ids[1]);
          assert.deepEqual(ids[0].slice(0, 7), c.greedy.slice(0, 7));
          for (let s = 1; s < 7; s++) {
            const err = relRmsError(logits[0][s], logits[1][s]);
            assert.ok(
              err < 1e-6,
              `decode step ${s}: relative RMS difference ${err}`,
            );
          }
        });
      }
      fused.destroy();
      plain.destroy();
    }
  },
});

webgpuTest({
  name:
    "ForwardEngine runs the four prompts in one hybrid step exactly as each alone",
  ...opts,
  fn: async () => {
    const oracle = await loadOracle();
    const { engine } = await oracleEngine();
    const V = engine.config.vocab;
    const alone: Float32Array[] = [];
    for (const c of oracle.cases) {
      engine.submitStep({
        seqs: [{
          slot: 0,
          start: 0,
          tokens: c.prompt,
          pages: [0, 1, 2],
          sample: GREEDY,
        }],
        logBase: 0,
      });
      alone.push(await engine.readLogits(1));
    }
    // Different slots and pages (interleaved, out of order) in one step.
    const seqs: StepSequence[] = oracle.cases.map((c, i) => ({
      slot: 3 - i,
      start: 0,
      tokens: c.prompt,
      pages: [11 - i, 7 - i, 3 - i],
      sample: GREEDY,
    }));
    const packed = engine.submitStep({ seqs, logBase: 0 });
    assert.equal(packed.numTokens, 1 + 7 + 16 + 33);
    const together = await engine.readLogits(4);
    for (let i = 0; i < 4; i++) {
      const err = relRmsError(together.subarray(i * V, (i + 1) * V), alone[i]);
      assert.ok(err < 1e-6, `prompt ${i}: relative difference ${err}`);
    }
    engine.destroy();
  },
});

webgpuTest({
  name:
    "ForwardEngine chunked prefill (chunks of 5) and a mixed prefill+decode step equal one prefill",
  ...opts,
  fn: async () => {
    const oracle = await loadOracle();
    const { engine } = await oracleEngine();
    const p = oracle.cases[3].prompt; // 33 tokens: chunks cross both page boundaries (16, 32)
    const pages = [9, 4, 6];
    for (let s = 0; s < p.length; s += 5) {
      const end = Math.min(s + 5, p.length);
      // A decode of another sequence rides along in every chunk step.
      const other: StepSequence = {
        slot: 1,
        start: 0,
        tokens: [7, 8],
        pages: [1],
        sample: null,
      };
      engine.submitStep({
        seqs: [other, {
          slot: 0,
          start: s,
          tokens: p.slice(s, end),
          pages,
          sample: end === p.length ? GREEDY : null,
        }],
        logBase: 0,
      });
    }
    const chunked = await engine.readLogits(1);
    assert.ok(relRmsError(chunked, oracle.cases[3].lastLogits) < 1e-3);
    engine.submitStep({
      seqs: [{
        slot: 0,
        start: 0,
        tokens: p,
        pages: [0, 1, 2],
        sample: GREEDY,
      }],
      logBase: 0,
    });
    const whole = await engine.readLogits(1);
    assert.ok(relRmsError(chunked, whole) < 1e-6);
    engine.destroy();
  },
});

/** A config that exercises the paths the oracle model does not: biases, llama3 RoPE, head_dim != C/H, tied. */
const exoticConfig = parseModelConfig({
  architectures: ["Qwen2ForCausalLM"],
  hidden_size: 48,
  intermediate_size: 80,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 1,
  head_dim: 20,
  vocab_size: 96,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: true,
  max_position_embeddings: 256,
  rope_scaling: {
    rope_type: "llama3",
    factor: 8,
    low_freq_factor: 1,
    high_freq_factor: 4,
    original_max_position_embeddings: 16,
  },
  rope_theta: 500,
}, "exotic");

async function compareWithReference(
  dtype: "f32" | "f16",
  tol: number,
  linear?: { geometry?: Partial<Geometry>; tiledF16?: boolean },
) {
  const src = presetSource("exotic", 3, exoticConfig);
  const host = await loadHostWeights(src);
  const rounded: ModelWeights = {
    embed: roundToStorage(host.embed, dtype),
    lmHead: roundToStorage(host.lmHead, dtype),
    norm: host.norm,
    layers: host.layers.map((l) => ({
      ...l,
      qkv: roundToStorage(l.qkv, dtype),
      o: roundToStorage(l.o, dtype),
      gateUp: roundToStorage(l.gateUp, dtype),
      down: roundToStorage(l.down, dtype),
    })),
  };
  const engine = await ForwardEngine.create(await testDevice(), src, {
    dtype,
    maxTokens: 32,
    maxSeqs: 2,
    maxContext: 64,
    // GEMV_NARROW_M 16 unless the caller sets it: the 21-token prompt then runs through the
    // tiled matmul, o and down split over K (with 32, through two 16-row slices of
    // linear_gemv).
    linear: {
      ...linear,
      geometry: { GEMV_NARROW_M: 16, SPLIT_MAX: 8, ...linear?.geometry },
    },
  });
  // 21 tokens: past GEMV_MB.
  const prompt = Array.from({ length: 21 }, (_, i) => (i * 37 + 5) % 96);
  const ref = new ReferenceSequence(exoticConfig, rounded);
  const want = ref.forward(prompt);
  engine.submitStep({
    seqs: [{
      slot: 0,
      start: 0,
      tokens: prompt,
      pages: [2, 0],
      sample: GREEDY,
    }],
    logBase: 0,
  });
  const err = relRmsError(await engine.readLogits(1), want[want.length - 1]);
  assert.ok(err < tol, `${dtype}: relative RMS error ${err}`);
  // Sampled generation (temperature + top-p) follows the CPU reference draw for draw.
  const sampling = { temperature: 0.9, topP: 0.8, seed: 42 };
  const got = await generateAlone(engine, prompt, 12, {
    sampling,
    stepsInFlight: 4,
  });
  const seq = new ReferenceSequence(exoticConfig, rounded);
  let logits = seq.forward(prompt);
  const expect: number[] = [];
  for (let i = 0; i < 12; i++) {
    const id = sampleRef(
      logits[logits.length - 1],
      Math.fround(0.9),
      Math.fround(0.8),
      42,
      prompt.length + i,
    );
    expect.push(id);
    logits = seq.forward([id]);
  }
  if (dtype === "f32") assert.deepEqual(got, expect);
  else {assert.ok(
      got.filter((id, i) => id === expect[i]).length >= 6,
      `f16 sampled ${got} vs ${expect}`,
    );}
  engine.destroy();
}

webgpuTest({
  name:
    "ForwardEngine equals the CPU reference with QKV bias, llama3 RoPE, head_dim 20, tied head (f32)",
  ...opts,
  fn: () => compareWithReference("f32", 1e-5),
});

webgpuTest({
  name:
    "f32 storage, 21-token prompt through two 16-row slices of linear_gemv (GEMV_NARROW_M 32): logits and sampled generation equal the CPU reference",
  ...opts,
  fn: () =>
    compareWithReference("f32", 1e-5, { geometry: { GEMV_NARROW_M: 32 } }),
});

webgpuTest({
  name:
    "ForwardEngine f16 storage stays within 1e-2 of the CPU reference on f16-rounded weights",
  ...opts,
  ignore: skip.f16,
  fn: async () => {
    await compareWithReference("f16", 1e-2);
  },
});

webgpuTest({
  name:
    "ForwardEngine f16 storage with f16-arithmetic matmul (8x8 tiles) stays within 1e-2 of the CPU reference",
  ...opts,
  ignore: skip.f16,
  fn: async () => {
    await compareWithReference("f16", 1e-2, {
      geometry: TILE_VARIANTS["64x128x16 8x8"],
      tiledF16: true,
    });
  },
});

webgpuTest({
  name:
    "One request through the engine loop stops at a stop token and yields it last",
  ...opts,
  fn: async () => {
    const src = presetSource("tiny", 1);
    const engine = await ForwardEngine.create(await testDevice(), src, {
      dtype: "f32",
      maxTokens: 16,
      maxSeqs: 2,
      maxContext: 64,
    });
    const all = await generateAlone(engine, [5, 6, 7], 10, {
      stepsInFlight: 3,
    });
    const stopAt = all[4];
    // generateAlone asserts that every block is available again afterwards.
    const cut = await generateAlone(engine, [5, 6, 7], 10, { stop: [stopAt] });
    assert.deepEqual(cut, all.slice(0, all.indexOf(stopAt) + 1));
    const host = await loadHostWeights(src);
    const ref = new ReferenceSequence(src.config, host);
    let logits = ref.forward([5, 6, 7]);
    const want: number[] = [];
    for (let i = 0; i < 10; i++) {
      want.push(argmax(logits[logits.length - 1]));
      logits = ref.forward([want[i]]);
    }
    assert.deepEqual(all, want);
    engine.destroy();
  },
});
