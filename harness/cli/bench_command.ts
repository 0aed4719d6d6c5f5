/**
 * `tokentrace bench` (`deno task bench`): the default benchmark, runnable with no arguments.
 *
 * The backend is the built-in WebGPU engine (`tiny` preset) on whatever adapter exists (a GPU,
 * else the CPU's software adapter), in-process. The workload is the shipped Azure LLM 2023
 * conversation excerpt: its arrival times (scaled by `--speedup`) and its length distribution
 * scaled down by `--length-scale` so a tiny model on 2 CPU cores keeps up; the whole bench takes
 * about two minutes there. `--backend scripted` replays against the scripted streaming server
 * instead (the harness's calibration peer). An HTML report is written beside the database.
 *
 * @module
 */
import { OpenAIBackend } from "../../adapters/openai/backend.ts";
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import { WebGPUBackend } from "../../adapters/webgpu/mod.ts";
import type { Backend } from "../../adapters/backend.ts";
import { reportCommand } from "./report_command.ts";
import {
  readTrace,
  scaleTime,
  synthesizePrompts,
  timeWindow,
} from "../../workloads/mod.ts";
import { parseSlo } from "../../reports/mod.ts";
import { RunClock } from "../clock.ts";
import { oneOf, positiveNumber } from "./flags.ts";
import { recordRun, type RunCommandResult } from "./run_command.ts";

/** The shipped trace excerpt the bench replays. */
export const BENCH_TRACE = new URL(
  "../../workloads/data/azure_conv_2023_first660.csv",
  import.meta.url,
);

/** Raw `bench` flags. */
export interface BenchFlags {
  db: string;
  duration: string;
  speedup: string;
  slo: string;
  json?: boolean;
  /** `webgpu` (default) or `scripted`. */
  backend?: string;
  /** Divide trace lengths by this (default 8). */
  lengthScale?: string;
  /** Where the HTML report goes (default: the database path with .html). */
  html?: string;
}

/** Runs the default benchmark and prints its summary. */
export async function benchCommand(f: BenchFlags): Promise<RunCommandResult> {
  const durationS = positiveNumber("--duration", f.duration);
  const speedup = positiveNumber("--speedup", f.speedup);
  const slo = parseSlo(f.slo);
  const kind = oneOf(
    "--backend",
    f.backend ?? "webgpu",
    [
      "webgpu",
      "scripted",
    ] as const,
  );
  if (kind === "webgpu") {
    return await engineBench(f, durationS, speedup, slo);
  }
  const tracePath = decodeURIComponent(BENCH_TRACE.pathname);
  const trace = await readTrace(tracePath);
  let requests = timeWindow(trace.requests, 0, durationS * 1000 * speedup);
  requests = synthesizePrompts(scaleTime(requests, speedup), {
    kind: "token_ids",
  });

  const timing = { ttftBaseMs: 20, ttftPerInputTokenMs: 0.02, itlMs: 10 };
  // Its own thread, so its work does not share the event loop that times the tokens.
  const server = await startScriptedWorker({ timing, recordSends: false });
  const url = server.url;
  const t = timing;
  console.error(
    `Backend: tokentrace's SCRIPTED streaming server (in-process worker thread, ${url}), ` +
      `not a model.\n` +
      `  It sends max_tokens one-token chunks: first after ${t.ttftBaseMs} ms + ` +
      `${t.ttftPerInputTokenMs} ms/prompt token, then every ${t.itlMs} ms.\n` +
      `  The built-in WebGPU engine replaces it as the default backend once it can serve.\n` +
      `Workload: ${
        trace.source.path.split("/").pop()
      } (Azure LLM 2023 conversation), ` +
      `first ${
        durationS * speedup
      } s at ${speedup}x speed: ${requests.length} requests ` +
      `over ~${durationS} s.\nDatabase: ${f.db}`,
  );
  const clock = new RunClock();
  const backend = new OpenAIBackend({
    baseUrl: url,
    api: "completions",
    endpointKind: "vllm",
    timeoutMs: 120_000,
    nowNs: () => clock.nowNs(),
  });
  try {
    return await recordRun(
      { db: f.db, label: "bench", slo, json: f.json ?? false, quiet: false },
      backend,
      clock,
      requests,
      {
        source: trace.source,
        transforms: {
          window: { startMs: 0, durationMs: durationS * 1000 * speedup },
          speedup,
        },
        prompt: { kind: "token_ids" },
        requests: requests.length,
      },
      { bench: true, backend: "scripted", timing: t, durationS, speedup, slo },
    );
  } finally {
    await server.close();
  }
}

/** Prompt tokens + output tokens of a bench request stay within the tiny preset's context. */
const BENCH_CONTEXT = 512;

/** The default bench: the built-in engine, tiny preset, scaled Azure conversation lengths. */
async function engineBench(
  f: BenchFlags,
  durationS: number,
  speedup: number,
  slo: ReturnType<typeof parseSlo>,
): Promise<RunCommandResult> {
  const lengthScale = positiveNumber("--length-scale", f.lengthScale ?? "8");
  const tracePath = decodeURIComponent(BENCH_TRACE.pathname);
  const trace = await readTrace(tracePath);
  const half = BENCH_CONTEXT / 2;
  const scaled = timeWindow(trace.requests, 0, durationS * 1000 * speedup).map(
    (r) => ({
      ...r,
      inputTokens: Math.min(
        half,
        Math.max(1, Math.round(r.inputTokens / lengthScale)),
      ),
      outputTokens: Math.min(
        half - 1,
        Math.max(1, Math.round(r.outputTokens / lengthScale)),
      ),
    }),
  );
  const requests = synthesizePrompts(scaleTime(scaled, speedup), {
    kind: "token_ids",
    vocabSize: 32000,
  });
  const clock = new RunClock();
  const engine = {
    model: "tiny",
    maxSeqs: 16,
    tokenBudget: 256,
    maxContext: BENCH_CONTEXT,
  };
  const backend: Backend = await WebGPUBackend.open({
    ...engine,
    nowNs: () => clock.nowNs(),
  });
  const info = await backend.describe();
  console.error(
    `Backend: tokentrace's built-in WebGPU engine, preset tiny (random weights), in-process on ` +
      `${info.adapter}${
        info.softwareAdapter ? " (software adapter)" : ""
      }, policy ${info.policy}, ` +
      `attention ${info.attention}.\n` +
      `Workload: ${
        trace.source.path.split("/").pop()
      } (Azure LLM 2023 conversation), first ${
        durationS * speedup
      } s at ${speedup}x speed, lengths / ${lengthScale}: ${requests.length} requests over ~${durationS} s.\n` +
      `Database: ${f.db}`,
  );
  const result = await recordRun(
    { db: f.db, label: "bench", slo, json: f.json ?? false, quiet: false },
    backend,
    clock,
    requests,
    {
      source: trace.source,
      transforms: {
        window: { startMs: 0, durationMs: durationS * 1000 * speedup },
        speedup,
        lengthScale,
        maxLength: half,
      },
      prompt: { kind: "token_ids" },
      requests: requests.length,
    },
    {
      bench: true,
      backend: "webgpu",
      engine,
      durationS,
      speedup,
      lengthScale,
      slo,
    },
  );
  const html = f.html ?? f.db.replace(/\.duckdb$/, "") + ".html";
  await reportCommand(
    {
      db: f.db,
      run: result.runId,
      format: "html",
      out: html,
      slo: f.slo,
    } as Parameters<typeof reportCommand>[0],
  );
  return result;
}
