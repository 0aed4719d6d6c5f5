/**
 * `tokentrace calibrate`: measure the harness's own error. Replays a synthetic open-loop
 * workload against the scripted server (run as a process of its own, like a remote server),
 * whose send times are the truth, and reports the error of TTFT, every token time and every
 * token gap, and the schedule lag, at the rate and concurrency asked. The result is stored in
 * the `calibrations` table, so reports of ordinary runs can show the floor beside their numbers.
 *
 * @module
 */
import { OpenAIBackend } from "../../adapters/openai/mod.ts";
import {
  type CalibrationErrors,
  calibrationErrors,
} from "../../reports/results/calibration.ts";
import { synthesizePrompts, type TraceRequest } from "../../workloads/mod.ts";
import { RunClock } from "../clock.ts";
import { hostInfo, toolVersion } from "../provenance.ts";
import { autoWorkers } from "../parallel.ts";
import { executeRun } from "../run_session.ts";
import { startScriptedProcess } from "../../adapters/scripted/process.ts";
import { Store } from "../store.ts";
import { integerAtLeast, oneOf, positiveNumber } from "./flags.ts";
import { PACING_PRIORITIES } from "../pacing_priority.ts";
import { ProgressLine } from "./progress.ts";

/** Raw `calibrate` flags. */
export interface CalibrateFlags {
  rate: string;
  tokens: string;
  itlMs: string;
  ttftMs: string;
  duration: string;
  workers?: string;
  /** `auto`, `realtime` or `normal` (harness/pacing_priority.ts). */
  pacingPriority?: string;
  /** `auto`, `native` or `deno` (adapters/openai/options.ts `sockets`). */
  sockets?: string;
  db: string;
  json?: boolean;
  quiet?: boolean;
}

/** What one calibration measured. */
export interface CalibrationResult extends CalibrationErrors {
  calibration_id: string;
  run_id: string;
  rate_rps: number;
  streams: number;
  itl_ms: number;
  workers: number;
  /** How the sending and reading thread ran (`ExecuteRunResult.pacingThread`). */
  pacing_thread: string;
  /** Where token times came from: `kernel` (receive times) or `read` (reads returning). */
  receive_times: "kernel" | "read";
}

/** Runs a calibration and prints its errors; returns them. */
export async function calibrateCommand(
  f: CalibrateFlags,
): Promise<CalibrationResult> {
  const rate = positiveNumber("--rate", f.rate);
  const tokens = Math.round(positiveNumber("--tokens", f.tokens));
  const itlMs = positiveNumber("--itl-ms", f.itlMs);
  const ttftMs = positiveNumber("--ttft-ms", f.ttftMs);
  const durationS = positiveNumber("--duration", f.duration);
  const pacingPriority = oneOf(
    "--pacing-priority",
    f.pacingPriority ?? "auto",
    PACING_PRIORITIES,
  );
  const sockets = oneOf(
    "--sockets",
    f.sockets ?? "auto",
    [
      "auto",
      "native",
      "deno",
    ] as const,
  );
  const workersFlag = f.workers?.trim() ?? "auto";
  const workersAsked = workersFlag === "auto"
    ? undefined
    : integerAtLeast("--workers", workersFlag, 1);
  const n = Math.max(1, Math.round(rate * durationS));
  // Little's law: concurrent streams = arrival rate x time each request streams.
  const streams = Math.round(rate * (ttftMs + (tokens - 1) * itlMs) / 1000);

  // The peer stands in for a server on another machine: at nice 10 it yields the cores to the
  // client being measured when both want them (its send times are logged at the socket write,
  // so its own delays are not charged to the client).
  const server = await startScriptedProcess([
    "--nice",
    "10",
    "--ttft-ms",
    String(ttftMs),
    "--ttft-per-token-ms",
    "0",
    "--itl-ms",
    String(itlMs),
    "--send-log",
  ]);
  const requests: TraceRequest[] = synthesizePrompts(
    Array.from({ length: n }, (_, i) => ({
      id: String(i),
      arrivalMs: (i * 1000) / rate,
      inputTokens: 16,
      outputTokens: tokens,
    })),
    { kind: "token_ids" },
  );
  const workers = workersAsked ?? autoWorkers(requests, {});
  if (!f.quiet) {
    console.error(
      `Calibrating against the scripted server (${server.url}, own process): ${n} requests ` +
        `at ${rate} req/s, ${tokens} tokens each every ${itlMs} ms (~${streams} concurrent streams)`,
    );
  }
  const clock = new RunClock();
  const backend = new OpenAIBackend({
    baseUrl: server.url,
    model: "scripted",
    endpointKind: "vllm",
    sockets,
    nowNs: () => clock.nowNs(),
  });
  const progress = f.quiet ? undefined : new ProgressLine();
  let runId: string;
  let pacingThread: string;
  let truth;
  try {
    const r = await executeRun({
      dbPath: f.db,
      backend,
      clock,
      requests,
      label: "calibration",
      workload: {
        synthetic: "calibration",
        requests: n,
        rate_rps: rate,
        tokens,
      },
      options: {
        calibrate: { rate, tokens, itlMs, ttftMs, durationS, workers, sockets },
      },
      workers,
      pacingPriority,
      onProgress: (p) => progress?.update(p),
    });
    progress?.done(r.replay.progress);
    runId = r.runId;
    pacingThread = r.pacingThread;
    truth = {
      sends: await server.sendLog(),
      arrivals: await server.arrivals(),
    };
  } finally {
    await backend.close();
    await server.close();
  }
  const store = await Store.open(f.db);
  try {
    const errs = await calibrationErrors(store, runId, truth);
    const id = crypto.randomUUID();
    await store.exec(
      `insert into calibrations values ($1, now(), $2, $3::json, $4, $5, $6, $7, $8,
         $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
      [
        id,
        toolVersion(),
        JSON.stringify(hostInfo()),
        rate,
        streams,
        itlMs,
        errs.n_requests,
        errs.n_tokens,
        errs.ttft_err_p50_ms,
        errs.ttft_err_p99_ms,
        errs.ttft_err_max_ms,
        errs.gap_err_p50_ms,
        errs.gap_err_p99_ms,
        errs.gap_err_max_ms,
        errs.token_err_p50_ms,
        errs.token_err_p99_ms,
        errs.token_err_max_ms,
        errs.schedule_lag_p50_ms,
        errs.schedule_lag_p99_ms,
        errs.schedule_lag_max_ms,
        workers,
      ],
    );
    const result: CalibrationResult = {
      calibration_id: id,
      run_id: runId,
      rate_rps: rate,
      streams,
      itl_ms: itlMs,
      workers,
      pacing_thread: pacingThread,
      receive_times: backend.receiveTimes,
      ...errs,
    };
    console.log(
      f.json ? JSON.stringify(result, null, 2) : renderCalibration(result),
    );
    return result;
  } finally {
    store.close();
  }
}

/** The calibration as a small table (ms). */
export function renderCalibration(r: CalibrationResult): string {
  const fmt = (v: number | null) => v === null ? "—" : v.toFixed(3);
  const row = (
    name: string,
    p50: number | null,
    p99: number | null,
    max: number | null,
  ) =>
    `${name.padEnd(22)}${fmt(p50).padStart(10)}${fmt(p99).padStart(10)}${
      fmt(max).padStart(10)
    }`;
  return [
    `harness error vs scripted server (run ${r.run_id}, ${r.n_requests} requests, ${r.n_tokens} tokens, ` +
    `${r.workers} sender thread${r.workers === 1 ? "" : "s"}, token times: ${
      r.receive_times === "kernel"
        ? "kernel receive times"
        : "when reads returned"
    })`,
    `${"ms".padEnd(22)}${"p50".padStart(10)}${"p99".padStart(10)}${
      "max".padStart(10)
    }`,
    row("TTFT error", r.ttft_err_p50_ms, r.ttft_err_p99_ms, r.ttft_err_max_ms),
    row(
      "token time error",
      r.token_err_p50_ms,
      r.token_err_p99_ms,
      r.token_err_max_ms,
    ),
    row(
      "token gap error",
      r.gap_err_p50_ms,
      r.gap_err_p99_ms,
      r.gap_err_max_ms,
    ),
    row(
      "schedule lag",
      r.schedule_lag_p50_ms,
      r.schedule_lag_p99_ms,
      r.schedule_lag_max_ms,
    ),
  ].join("\n");
}
