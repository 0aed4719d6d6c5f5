/**
 * `tokentrace bench` (`deno task bench`): the default benchmark, runnable with no arguments.
 *
 * By default it measures the built-in WebGPU engine's goodput capacity at a stated SLO on
 * whatever adapter exists (bench_capacity.ts). `--backend scripted` instead replays the first
 * `--duration` seconds of the shipped Azure LLM 2023 conversation excerpt against the scripted
 * streaming server (a peer with known send times, to check the harness itself, not a model).
 * Either way an HTML report is written beside the database.
 *
 * @module
 */
import { OpenAIBackend } from "../../adapters/openai/backend.ts";
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import { reportCommand } from "./report_command.ts";
import {
  readTrace,
  scaleTime,
  synthesizePrompts,
  timeWindow,
} from "../../workloads/mod.ts";
import { parseSlo } from "../../reports/mod.ts";
import { RunClock } from "../clock.ts";
import { capacityBench } from "./bench_capacity.ts";
import { FlagError, integerAtLeast, oneOf, positiveNumber } from "./flags.ts";
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
  /** Engine bench: attainment the capacity is read at, in % (default 90). */
  capacity?: string;
  /** Engine bench: seconds of the closed-loop service-rate run (default 10). */
  serviceSeconds?: string;
  /** Engine bench: seconds of arrivals per point (default 15). */
  pointSeconds?: string;
  /** Engine bench: points at most (default 4). */
  points?: string;
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
  const html = f.html ?? f.db.replace(/\.duckdb$/, "") + ".html";
  if (kind === "webgpu") {
    const capacity = positiveNumber("--capacity", f.capacity ?? "90");
    if (capacity > 100) {
      throw new FlagError(
        "--capacity",
        f.capacity ?? "",
        "a percentage in (0, 100]",
      );
    }
    return await capacityBench({
      db: f.db,
      html,
      slo,
      sloSpec: f.slo,
      target: capacity / 100,
      tracePath: decodeURIComponent(BENCH_TRACE.pathname),
      lengthScale: positiveNumber("--length-scale", f.lengthScale ?? "8"),
      serviceSeconds: positiveNumber(
        "--service-seconds",
        f.serviceSeconds ?? "10",
      ),
      pointSeconds: positiveNumber("--point-seconds", f.pointSeconds ?? "15"),
      maxPoints: integerAtLeast("--points", f.points ?? "4", 2),
      json: f.json ?? false,
    });
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
  let result: RunCommandResult;
  try {
    result = await recordRun(
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
