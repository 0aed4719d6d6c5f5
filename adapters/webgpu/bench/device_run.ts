/**
 * The whole GPU measurement of the engine in one process (what a device call runs, beside the
 * transformers peer; bench/h200.sh runs both and bench/compare.ts prints the ratios): kernel
 * ceilings and kernels (bench/kernels.ts), the fused-vs-serial attention grid (bench/
 * attention.ts) and the engine runs (bench/_engine.ts) on the peer's workload. Writes every figure
 * to `<out>/tokentrace.json` and prints the tables.
 *
 * Usage: deno run -A adapters/webgpu/bench/device_run.ts --workload workload.json --out DIR
 *        [--preset llama-3.2-1b] [--budgets 512,2048] [--deadline S] (cancel a workload
 *        run's unfinished requests after S seconds) [--quick] (a tiny CPU smoke run)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { requestEngineDevice } from "../step/device.ts";
import type { Policy } from "../serving/scheduler.ts";
import {
  ATTENTION_GRID,
  type AttentionBenchOptions,
  type AttentionPoint,
  benchAttention,
  bestTarget,
  renderAttention,
} from "./attention.ts";
import { benchEngine, type Workload } from "./_engine.ts";
import { benchKernels } from "./kernels.ts";
import { bestGemv, bestGemvByLayer, bestTiled } from "./_linear.ts";
import {
  GEMV_S_VARIANTS,
  GEMV_VARIANTS,
  gemvSVariant,
  TILE_VARIANTS,
} from "../kernels/geometry.ts";
import { parseModelConfig } from "../model/config.ts";
import { PRESET_CONFIGS } from "../model/presets.ts";
import { renderTable } from "./_timing.ts";

const { values: args } = parseArgs({
  options: {
    workload: { type: "string" },
    out: { type: "string" },
    preset: { type: "string" },
    budgets: { type: "string" },
    policies: { type: "string" },
    quick: { type: "boolean", default: false },
    deadline: { type: "string" },
  },
});
if (!args.workload || !args.out) {
  throw new Error(
    "Usage: device_run.ts --workload workload.json --out DIR: expected both flags",
  );
}
const quick = args.quick;
const gpu = await requestEngineDevice();
const preset = args.preset ?? (quick ? "tiny" : "llama-3.2-1b");
const dtype = gpu.f16 ? "f16" : "f32";
const raw = JSON.parse(await Deno.readTextFile(args.workload)) as Workload;
const workload: Workload = quick
  ? {
    prompts: raw.prompts.slice(0, 6).map((p) =>
      p.slice(0, 40).map((v) => v % 256)
    ),
    output_tokens: 8,
    batch1_prompt: raw.batch1_prompt.slice(0, 16).map((v) => v % 256),
  }
  : raw;
const started = new Date().toISOString();
const t0 = performance.now();
const log = (s: string) =>
  console.error(
    `[tokentrace ${((performance.now() - t0) / 1000).toFixed(1)}s] ${s}`,
  );

log(`adapter ${gpu.description}, ${dtype}, preset ${preset}`);
const kernels = await benchKernels(gpu, preset, quick ? 2 : 5, {
  gemvVariants: [
    "r8 l32",
    "r4 l64",
    "r16 l16",
    "r8 l32 mb4",
    "r16 l16 mb4",
    "r8 l32 mb8",
  ],
  tileVariants: [
    "64x64x16 4x4",
    "32x64x16 4x4",
    "128x128x16 8x8",
    "64x128x16 8x8",
    "128x128x16 8x8 sw",
    "64x128x16 8x8 sw",
  ],
  sweepM: quick ? undefined : [4, 12, 16, 32, 64, 256, 512, 2048],
});
log("kernels done");
// The engine's matmul for large steps: the fastest tiled kernel and geometry at the largest M.
const tiledChoice = bestTiled(kernels.linear, quick ? 64 : 2048);
log(`tiled choice ${JSON.stringify(tiledChoice)}`);
// The engine's GEMVs: the geometries with the least GPU time of one decode step, linear_gemv_s
// at one row, linear_gemv at 4 and 16 rows.
const { numLayers } = parseModelConfig(PRESET_CONFIGS[preset], preset);
const gemvSChoice = bestGemv(kernels.linear, "linear_gemv_s", [1], numLayers);
const gemvChoice = bestGemv(kernels.linear, "linear_gemv", [4, 16], numLayers);
// And each layer's own linear_gemv_s geometry: the fastest at one row for that layer.
const gemvSLayers = bestGemvByLayer(kernels.linear, numLayers);
log(
  `gemv choices ${JSON.stringify({ gemvSChoice, gemvChoice, gemvSLayers })}`,
);
const grid = await benchAttention(gpu, {
  preset,
  grid: quick ? { chunks: [16], batches: [2], ctxs: [64] } : ATTENTION_GRID,
  runs: quick ? 2 : 5,
  reps: quick ? 1 : 10,
});
log("attention grid done");
// Decode-only attention points (ctx 256, 1024, 4096) at `batches`, with `extra` options.
const decodePoints = (
  batches: number[],
  extra: Partial<AttentionBenchOptions>,
) =>
  benchAttention(gpu, {
    preset,
    grid: quick
      ? { chunks: [0], batches: [1], ctxs: [64] }
      : { chunks: [0], batches, ctxs: [256, 1024, 4096] },
    runs: quick ? 2 : 5,
    reps: quick ? 1 : 10,
    part1: false,
    ...extra,
  });
// Decode attention by split target: the engine's target is the one with the least time relative
// to the best at each point (summed), over batch-1 to batch-16 decodes at short and long contexts.
const targetSweep = quick ? [4, 16] : [64, 128, 256, 512, 1024];
const decodeSplit: AttentionPoint[] = [];
for (const targetItems of targetSweep) {
  decodeSplit.push(...await decodePoints([1, 4, 16], { targetItems }));
}
const targetChoice = bestTarget(decodeSplit);
log(`attention target choice ${targetChoice}`);
// Decode attention with each block's loads at the block (HYB_PF 0) and one block ahead (the
// engine's HYB_PF 1), in the same run, at the engine's target.
const decodePrefetch: AttentionPoint[] = [];
for (const HYB_PF of [0, 1]) {
  decodePrefetch.push(
    ...await decodePoints([1, 16, 64], {
      targetItems: targetChoice,
      geometry: { HYB_PF },
    }),
  );
}
log("decode prefetch comparison done");
const budgets = (args.budgets ?? (quick ? "32" : "512,2048")).split(",").map(
  Number,
);
const policies = (args.policies ?? "sarathi").split(",") as Policy[];
const engine = await benchEngine(gpu, {
  preset,
  dtype,
  workload,
  runs: policies.flatMap((policy) =>
    budgets.map((tokenBudget) => ({ policy, tokenBudget }))
  ),
  maxSeqs: quick ? 4 : 256,
  decodeBatches: quick ? [1, 2] : undefined,
  decodeCtx: quick ? 60 : undefined,
  batch1Tokens: quick ? 32 : 256,
  linear: tiledChoice
    ? {
      geometry: {
        ...TILE_VARIANTS[tiledChoice.variant],
        ...(gemvSChoice ? GEMV_S_VARIANTS[gemvSChoice.variant] : {}),
        ...(gemvChoice ? GEMV_VARIANTS[gemvChoice.variant] : {}),
      },
      tiledF16: tiledChoice.kernel === "linear_tiled_h",
      gemvS: Object.fromEntries(
        Object.entries(gemvSLayers.layers).map((
          [layer, b],
        ) => [layer, gemvSVariant(b.variant)]),
      ),
    }
    : undefined,
  attnTargetItems: targetChoice,
  workloadDeadlineS: args.deadline ? Number(args.deadline) : undefined,
});
log("engine done");
const result = {
  tool: "tokentrace",
  started,
  adapter: gpu.description,
  preset,
  dtype,
  timing:
    "GPU time by timestamp queries around one compute pass; GPU warmed with copies before the ceilings; each kernel row timed until two medians agree within 5 % (at most four)",
  tiledChoice,
  gemvSChoice,
  gemvChoice,
  gemvSLayers,
  targetChoice,
  kernels,
  attentionGrid: grid,
  decodeSplit,
  decodePrefetch,
  engine,
};
await Deno.mkdir(args.out, { recursive: true });
await Deno.writeTextFile(
  `${args.out}/tokentrace.json`,
  JSON.stringify(result, null, 1),
);
console.log(
  `# tokentrace on ${gpu.description}, ${dtype}, preset ${preset} (${started})\n`,
);
console.log(
  renderTable(
    kernels.rows,
    kernels.ceilings.copyGBs,
    kernels.ceilings.fmaF32GFs,
  ),
);
console.log(
  "\n" + renderAttention(kernels.decodeAttention, kernels.ceilings.copyGBs),
);
console.log("\n" + renderAttention(grid, kernels.ceilings.copyGBs));
console.log(
  `\n## decode attention by split target (engine: ${targetChoice})\n\n` +
    renderAttention(decodeSplit, kernels.ceilings.copyGBs),
);
console.log(
  `\n## decode attention, loads at the block (HYB_PF 0) vs one block ahead (1), target ${targetChoice}\n\n` +
    renderAttention(decodePrefetch, kernels.ceilings.copyGBs),
);
console.log(
  "\n" +
    JSON.stringify(
      {
        batch1: engine.batch1,
        decodeSteps: engine.decodeSteps,
        prefillStep: engine.prefillStep,
      },
      null,
      1,
    ),
);
console.log(
  `\n## batch-1 decode step, a pass per dispatch (sum ${
    engine.batch1.dispatchSumMs.toFixed(3)
  } ms; one pass ${engine.batch1.stepGpuMs.toFixed(3)} ms)\n\n` +
    "| kernel | dispatches | GPU us | us each |\n|---|---:|---:|---:|\n" +
    engine.batch1.dispatches.toSorted((a, b) => b.us - a.us).map((t) =>
      `| ${t.name} | ${t.count} | ${t.us.toFixed(1)} | ${
        (t.us / t.count).toFixed(2)
      } |`
    ).join("\n"),
);
for (const w of engine.workload) {
  console.log(
    `workload ${w.policy} budget ${w.tokenBudget}: ${
      w.outputTokPerS.toFixed(0)
    } output tok/s, ${w.wallS.toFixed(1)} s, ${w.steps} steps, TTFT p50/p99 ${
      w.ttftMs.p50?.toFixed(0)
    }/${w.ttftMs.p99?.toFixed(0)} ms, TBT p50/p99 ${w.tbtMs.p50?.toFixed(1)}/${
      w.tbtMs.p99?.toFixed(1)
    } ms, preemptions ${w.preemptions}`,
  );
}
gpu.device.destroy();
