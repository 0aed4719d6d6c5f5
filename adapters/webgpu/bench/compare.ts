/**
 * Prints tokentrace's figures beside the transformers peer's from one device call, as ratios and
 * against issue 14's targets, and writes them to `<dir>/compare.md`. Reads `<dir>/tokentrace.json`
 * (bench/device_run.ts) and `<dir>/peer_a.json`, `<dir>/peer_b.json` (the peer's --part a / b).
 * A GEMV row's verdict is "cannot be met" where a read of the layer's weights alone, one dispatch
 * after a barrier as in a decode step (kernels.ts `readFloors`), is itself under 70 % of copy.
 *
 * Usage: deno run -A adapters/webgpu/bench/compare.ts DIR
 *
 * @module
 */
import type { KernelBench } from "./kernels.ts";
import type { AttentionPoint } from "./attention.ts";
import type { EngineBenchResult } from "./_engine.ts";
import { bestPoints, linearShapes } from "./_linear.ts";
import { parseModelConfig } from "../model/config.ts";
import { PRESET_CONFIGS } from "../model/presets.ts";
import { GEOMETRY } from "../kernels/geometry.ts";
import { readFloorGBs } from "./_gpu.ts";

interface TokentraceRun {
  adapter: string;
  preset: string;
  dtype: string;
  kernels: KernelBench;
  attentionGrid: AttentionPoint[];
  engine: EngineBenchResult;
}

type Json = Record<string, unknown>;
const dir = Deno.args[0];
if (!dir) {
  throw new Error(
    "Usage: compare.ts DIR: expected the folder of tokentrace.json",
  );
}
const read = async (f: string): Promise<Json | null> => {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/${f}`));
  } catch {
    return null;
  }
};
const tt = (await read("tokentrace.json")) as unknown as TokentraceRun;
if (!tt) throw new Error(`${dir}/tokentrace.json: file not found`);
const pa = (await read("peer_a.json")) ?? {};
const pb = (await read("peer_b.json")) ?? {};
const num = (v: unknown) => (typeof v === "number" ? v : null);
const get = (o: Json, ...path: string[]): number | null => {
  let v: unknown = o;
  for (const p of path) v = (v as Json | undefined)?.[p];
  return num(v);
};
const f = (v: number | null, d = 1) => (v === null ? "-" : v.toFixed(d));
const ratio = (a: number | null, b: number | null) =>
  a !== null && b !== null && b > 0 ? a / b : null;

const lines: string[] = [];
const out = (s = "") => lines.push(s);
const k = tt.kernels;
const copy = k.ceilings.copyGBs;
const torchCopy = get(pa, "copy_TBps_rw");
out(
  `# tokentrace vs transformers, ${tt.adapter}, preset ${tt.preset}, ${tt.dtype}`,
);
out();
out(
  `Ceilings: WGSL copy ${f(copy / 1000, 2)} TB/s (torch ${
    f(torchCopy, 2)
  }), WGSL FMA f32 ${f(k.ceilings.fmaF32GFs / 1000)} TFLOP/s, f16 ${
    f(k.ceilings.fmaF16GFs === null ? null : k.ceilings.fmaF16GFs / 1000)
  } TFLOP/s; torch bf16 matmul ${
    f(get(pa, "bf16_mm_8192_TFLOPs"))
  }, f32 (no TF32) ${f(get(pa, "fp32_mm_8192_notf32_TFLOPs"))} TFLOP/s.`,
);
out();
// Weights of the preset in storage dtype: what one decode step must read.
const cfg = parseModelConfig(PRESET_CONFIGS[tt.preset], `preset ${tt.preset}`);
const weightBytes = (tt.dtype === "f16" ? 2 : 4) * (
  cfg.numLayers * (
      (cfg.numHeads + 2 * cfg.numKvHeads) * cfg.headDim * cfg.hidden +
      cfg.hidden * cfg.numHeads * cfg.headDim +
      3 * cfg.intermediate * cfg.hidden
    ) + cfg.vocab * cfg.hidden
);
const e = tt.engine;
const rows: string[][] = [];
const target = (
  name: string,
  measured: string,
  goal: string,
  met: boolean | null | "cannot be met",
) =>
  rows.push([
    name,
    measured,
    goal,
    met === null ? "-" : met === true ? "met" : met || "missed",
  ]);

const roof = torchCopy ? (torchCopy * 1e12) / weightBytes : null;
const b1 = e.batch1.decodeTokPerS;
const hfStatic = get(pb, "hf_batch1_static_compiled", "decode_tok_s");
const hfDyn = get(pa, "hf_batch1_dynamic", "decode_tok_s");
target(
  "batch-1 decode tok/s (wall, n2 - n1)",
  `${f(b1)} (${f(e.batch1.decodeMsPerToken, 2)} ms/token; GPU step ${
    f(e.batch1.stepGpuMs, 2)
  } ms); roofline ${f(roof, 0)} (${f(weightBytes / 1e9, 2)} GB / torch copy): ${
    f(roof ? (100 * b1) / roof : null)
  }%; vs HF static+compile ${f(hfStatic)}: ${
    f(ratio(b1, hfStatic), 2)
  }x, vs HF dynamic ${f(hfDyn)}: ${f(ratio(b1, hfDyn), 2)}x${
    e.batch1.fixedQueue
      ? `; queue ${e.batch1.stepsInFlight}-${e.batch1.maxStepsInFlight} steps / ${e.batch1.queueAheadMs} ms (fixed at ${e.batch1.stepsInFlight}: ${
        f(e.batch1.fixedQueue.decodeTokPerS)
      } tok/s, ${f(e.batch1.fixedQueue.decodeMsPerToken, 2)} ms/token)`
      : ""
  }`,
  ">= 50% of roofline, > 2x HF static",
  roof ? b1 >= 0.5 * roof : null,
);
const cb = ["probe", "default"].map((n) => ({
  n,
  call: get(pa, `hf_generate_batch_${n}`, "output_tok_s_call"),
  span: get(pa, `hf_generate_batch_${n}`, "output_tok_s_span"),
}));
const bestHf = Math.max(...cb.map((c) => c.call ?? 0)) || null;
for (const w of e.workload) {
  target(
    `${w.requests} requests, ${w.policy}, budget ${w.tokenBudget}: output tok/s`,
    `${f(w.outputTokPerS, 0)} (${f(w.wallS)} s, ${w.steps} steps${
      w.cancelled ? `, ${w.cancelled} requests cancelled at the deadline` : ""
    }; TTFT p50/p99 ${f(w.ttftMs.p50, 0)}/${
      f(w.ttftMs.p99, 0)
    } ms, TBT p50/p99 ${f(w.tbtMs.p50)}/${
      f(w.tbtMs.p99)
    } ms); HF generate_batch ${
      cb.map((c) => `${c.n} ${f(c.call, 0)} (span ${f(c.span, 0)})`).join(", ")
    }: ${f(ratio(w.outputTokPerS, bestHf), 2)}x the best`,
    ">= 2x HF generate_batch",
    bestHf ? w.outputTokPerS >= 2 * bestHf : null,
  );
}
// The GEMV at the decode shapes: the few-rows kernel (one row) and the 16-row one at M 16.
const gemv = bestPoints(k.linear).filter((p) =>
  p.kernel === "linear_gemv_s" ||
  (p.kernel === "linear_gemv" && p.M === 16)
);
// Each layer's floor: a read of its weights in a chain of dependent dispatches (kernels.ts
// readFloors; absent from runs before it): where the floor itself is under 70 % of copy, the
// target cannot be met in a decode step's chain, and the row says so.
const floorOf = (shape: string) =>
  (k.readFloors ?? []).find((r) => r.name === shape)?.floor ?? null;
for (const p of gemv) {
  const gbs = p.row.bytes / p.row.seconds / 1e9;
  const fl = floorOf(p.shape);
  const floorPct = fl ? (100 * readFloorGBs(fl)) / copy : null;
  const met = gbs >= 0.7 * copy;
  target(
    `${p.kernel} ${p.shape} M=${p.M}`,
    `${f(p.row.seconds * 1e6)} us, ${f(gbs, 0)} GB/s = ${
      f((100 * gbs) / copy, 0)
    }% of copy [${p.variant}]` +
      (fl
        ? `; ${
          f((100 * fl.dramUs) / (p.row.seconds * 1e6), 0)
        }% of the speed of a chained read of its ${f(fl.bytes / 1e6)} MB (${
          f(fl.dramUs, 2)
        } us, ${f(floorPct, 0)}% of copy)`
        : ""),
    ">= 70% of copy",
    !met && floorPct !== null && floorPct < 70 ? "cannot be met" : met,
  );
}
for (const shape of ["gate_up", "down (silu-mul, +res)"]) {
  // The fastest variant at each M of the kernel the engine runs there (forward.ts onGemv).
  const byM = new Map<number, (typeof k.linear)[number]>();
  const N = linearShapes(cfg).find((s) => s.name === shape)!.N;
  const engineKernel = (p: (typeof k.linear)[number]) =>
    p.kernel.startsWith("linear_gemv") === (p.M <= GEOMETRY.GEMV_MAXM ||
      (p.M <= GEOMETRY.GEMV_NARROW_M && N <= GEOMETRY.GEMV_NARROW_N));
  for (
    const p of k.linear.filter((p) =>
      p.shape === shape && p.M > 1 && engineKernel(p)
    )
  ) {
    const b = byM.get(p.M);
    if (!b || p.row.seconds < b.row.seconds) byM.set(p.M, p);
  }
  const pts = [...byM.values()].sort((a, b) => a.M - b.M);
  let worst = 0;
  let at = "";
  for (let i = 1; i < pts.length; i++) {
    const r = (pts[i].row.seconds / pts[i].M) /
      (pts[i - 1].row.seconds / pts[i - 1].M);
    if (r > worst) [worst, at] = [r, `M ${pts[i - 1].M} -> ${pts[i].M}`];
  }
  const big = pts.filter((p) => p.M >= 512).map((p) =>
    `M=${p.M} ${f(p.row.flops / p.row.seconds / 1e12)} TFLOP/s (${
      f((100 * p.row.flops / p.row.seconds / 1e9) / k.ceilings.fmaF32GFs, 0)
    }% of f32 FMA) [${p.kernel} ${p.variant}]`
  );
  target(
    `matmul ${shape}: M sweep`,
    `time/row worst step ${f(worst, 2)}x at ${at}; ${
      big.join("; ")
    }; us by M: ${
      pts.map((p) => `${p.M}:${f(p.row.seconds * 1e6, 0)}`).join(" ")
    }`,
    "no cliff (time/row never rises > 1.05x); >= 50% of FMA peak",
    worst <= 1.05,
  );
}
const kv = k.decodeAttention.filter((p) => p.ctx >= 1024);
const kvShare = kv.map((p) => p.kvBytes / (p.fusedUs * 1e3) / copy);
target(
  "decode attention KV read BW, ctx >= 1024",
  kv.map((p, i) => `B${p.batch}/ctx${p.ctx} ${f(100 * kvShare[i], 0)}%`).join(
    ", ",
  ),
  ">= 50% of copy",
  kvShare.length ? Math.min(...kvShare) >= 0.5 : null,
);
const rs = tt.attentionGrid.filter((p) => p.serialUs).map((p) =>
  p.fusedUs / p.serialUs!
)
  .sort((a, b) => a - b);
const med = rs.length ? rs[Math.floor(rs.length / 2)] : null;
target(
  "fused / serial hybrid attention",
  `median ${f(med, 3)}, max ${
    f(rs.length ? rs[rs.length - 1] : null, 3)
  } over ${rs.length} points`,
  "median <= 0.9, never > 1.0",
  med !== null ? med <= 0.9 && rs[rs.length - 1] <= 1.0 : null,
);
const b128 = e.decodeSteps.find((d) => d.batch === 128);
target(
  "B = 128 decode at ctx ~1.2k",
  b128 ? `${f(b128.gpuMs, 2)} ms per step (GPU)` : "not run",
  "runs",
  b128 ? true : false,
);
target(
  "decode step time by B (GPU ms)",
  e.decodeSteps.map((d) => `B${d.batch}:${f(d.gpuMs, 2)}`).join(" "),
  "grows smoothly",
  null,
);
const samp = k.rows.filter((r) => r.kernel.startsWith("sample"));
target(
  "sampling (both passes)",
  samp.map((r) => `${r.kernel} ${r.shape} ${f(r.seconds * 1e6)} us`).join("; "),
  "parallel over V",
  null,
);
out("| target | measured | goal | |");
out("|---|---|---|---|");
for (const r of rows) out(`| ${r.join(" | ")} |`);
const text = lines.join("\n");
console.log(text);
await Deno.writeTextFile(`${dir}/compare.md`, text + "\n");
