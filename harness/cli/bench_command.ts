/**
 * `tokentrace bench` (`deno task bench`): the default benchmark, runnable with no arguments.
 *
 * Until the built-in engine serves, the backend is the scripted streaming server, started in
 * this process on 127.0.0.1; the output says so plainly.
 *
 * @module
 */
import { OpenAIBackend } from "../../adapters/openai/backend.ts";
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import {
  readTrace,
  scaleTime,
  synthesizePrompts,
  timeWindow,
} from "../../workloads/mod.ts";
import { parseSlo } from "../../reports/mod.ts";
import { RunClock } from "../clock.ts";
import { positiveNumber } from "./flags.ts";
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
}

/** Runs the default benchmark and prints its summary. */
export async function benchCommand(f: BenchFlags): Promise<RunCommandResult> {
  const durationS = positiveNumber("--duration", f.duration);
  const speedup = positiveNumber("--speedup", f.speedup);
  const slo = parseSlo(f.slo);
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
