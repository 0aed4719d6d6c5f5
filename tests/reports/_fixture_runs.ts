/**
 * The hand-built runs of the reports tests (tests/reports/_fixture.ts writes them into a
 * database): each request's times in whole milliseconds, so that every expected value can be
 * worked out by hand.
 *
 * @module
 */

/** Milliseconds on the run clock as the stored nanoseconds. */
export function ms(v: number): bigint {
  return BigInt(v) * 1_000_000n;
}

/** A token-bearing chunk: [seq, time in ms, n_tokens, channel]. */
export type FixtureEvent = [
  number,
  number,
  number,
  ("content" | "reasoning" | "tool")?,
];

/** One request of a fixture run; times in ms. */
export interface FixtureRequest {
  reqId: string;
  status: "ok" | "error" | "timeout" | "cancelled";
  schedMs: number;
  sentMs: number | null;
  /** First response body byte (the anchor of vLLM's TTFT); absent = not recorded. */
  firstByteMs?: number;
  doneMs: number | null;
  inputTokensPlanned: number;
  outputTokensPlanned: number;
  promptTokensReported: number | null;
  completionTokensReported: number | null;
  httpStatus?: number;
  error?: string;
  /** Usage's cached prompt tokens. */
  cachedTokens?: number;
  finishReason?: string;
  events: FixtureEvent[];
}

/** One fixture run. */
export interface FixtureRun {
  runId: string;
  label: string | null;
  status: "running" | "completed" | "aborted" | "failed";
  backend: string;
  /** ISO 8601 UTC. */
  startedAt: string;
  finishedAt: string | null;
  endReason: string | null;
  /** Measurement window trims (runs.warmup_ns / cooldown_ns); absent = NULL. */
  warmupMs?: number;
  cooldownMs?: number;
  /** Sweep point: sweep id, axis and requested value. */
  sweep?: {
    id: string;
    axis: "speedup" | "rate" | "concurrency";
    value: number;
  };
  suite?: { suite: string; scenario: string };
  /** A group of repeated runs (runs.group_id) and the run's 0-based place in it. */
  group?: { id: string; index: number };
  /** The runs' JSON columns as a run would record them; absent = NULL. */
  workload?: unknown;
  options?: unknown;
  backendInfo?: unknown;
  requests: FixtureRequest[];
}

/**
 * Run A, "baseline": one request of each kind. Window: first sent 2 ms (r1) to last completion
 * 252 ms (r4's last token, done NULL) = 250 ms = 0.25 s.
 *
 * - r1 ok, 1 token: sched 0, sent 2, first byte 45, token at 52, done 55.
 * - r2 ok, 4 chunks: first byte 38, reasoning 1 token at 40, content 2 tokens at 60, 1 at 70,
 *   1 at 100; done 105; usage says 5 tokens (= counted).
 * - r3 error, HTTP 500, no token: sched 20, sent 21.
 * - r4 timeout, 1 token at 100 and 1 at 252, no done, no usage.
 * - r5 cancelled, 1 token at 90.
 * - r6 ok: first byte 60 with a 0-token chunk (ignored), 2 tokens at 75, 1 at 105; done 110;
 *   usage says 4 tokens (counted 3: drift +1); no prompt usage (planned 20 is used).
 */
export const RUN_A: FixtureRun = {
  runId: "a1b2c3d4-0000-4000-8000-00000000000a",
  label: "baseline",
  status: "completed",
  backend: "openai",
  startedAt: "2026-11-20T10:00:00.000Z",
  finishedAt: "2026-11-20T10:00:01.000Z",
  endReason: null,
  requests: [
    {
      reqId: "r1",
      status: "ok",
      schedMs: 0,
      sentMs: 2,
      firstByteMs: 45,
      doneMs: 55,
      inputTokensPlanned: 10,
      outputTokensPlanned: 1,
      promptTokensReported: 10,
      completionTokensReported: 1,
      events: [[0, 52, 1]],
    },
    {
      reqId: "r2",
      status: "ok",
      schedMs: 10,
      sentMs: 10,
      firstByteMs: 38,
      doneMs: 105,
      inputTokensPlanned: 20,
      outputTokensPlanned: 5,
      promptTokensReported: 20,
      completionTokensReported: 5,
      events: [[0, 40, 1, "reasoning"], [1, 60, 2], [2, 70, 1], [3, 100, 1]],
    },
    {
      reqId: "r3",
      status: "error",
      schedMs: 20,
      sentMs: 21,
      doneMs: null,
      inputTokensPlanned: 30,
      outputTokensPlanned: 8,
      promptTokensReported: null,
      completionTokensReported: null,
      httpStatus: 500,
      error: "HTTP 500: internal server error",
      events: [],
    },
    {
      reqId: "r4",
      status: "timeout",
      schedMs: 30,
      sentMs: 30,
      doneMs: null,
      inputTokensPlanned: 40,
      outputTokensPlanned: 8,
      promptTokensReported: null,
      completionTokensReported: null,
      error: "timed out after 200 ms",
      events: [[0, 100, 1], [1, 252, 1]],
    },
    {
      reqId: "r5",
      status: "cancelled",
      schedMs: 40,
      sentMs: 41,
      doneMs: null,
      inputTokensPlanned: 50,
      outputTokensPlanned: 8,
      promptTokensReported: null,
      completionTokensReported: null,
      events: [[0, 90, 1]],
    },
    {
      reqId: "r6",
      status: "ok",
      schedMs: 50,
      sentMs: 55,
      firstByteMs: 60,
      doneMs: 110,
      inputTokensPlanned: 20,
      outputTokensPlanned: 4,
      promptTokensReported: null,
      completionTokensReported: 4,
      events: [[0, 60, 0], [1, 75, 2], [2, 105, 1]],
    },
  ],
};

/**
 * Run B, "candidate": two completed requests over 2.5 s (window 0 to 2500 ms), tokens spread
 * over three 1 s bins: [0, 1 s) 2 tokens, [1 s, 2 s) 6, [2 s, 2.5 s] 1.
 *
 * - b1: sent 0; 1 token at 100, 1 at 600, 2 at 1100; done 1100; usage 4 / prompt 100.
 * - b2: sent 1000; 1 token at 1500, 3 at 1900, 1 at 2100; done 2500; usage 5 / prompt 200.
 */
export const RUN_B: FixtureRun = {
  runId: "b7e8f9a0-0000-4000-8000-00000000000b",
  label: "candidate",
  status: "completed",
  backend: "openai",
  startedAt: "2026-11-20T11:00:00.000Z",
  finishedAt: "2026-11-20T11:00:03.000Z",
  endReason: null,
  requests: [
    {
      reqId: "b1",
      status: "ok",
      schedMs: 0,
      sentMs: 0,
      doneMs: 1100,
      inputTokensPlanned: 100,
      outputTokensPlanned: 4,
      promptTokensReported: 100,
      completionTokensReported: 4,
      events: [[0, 100, 1], [1, 600, 1], [2, 1100, 2]],
    },
    {
      reqId: "b2",
      status: "ok",
      schedMs: 1000,
      sentMs: 1000,
      doneMs: 2500,
      inputTokensPlanned: 200,
      outputTokensPlanned: 5,
      promptTokensReported: 200,
      completionTokensReported: 5,
      events: [[0, 1500, 1], [1, 1900, 3], [2, 2100, 1]],
    },
  ],
};

/**
 * Run C: aborted by SIGINT with no completed request. Window 0 to 30 ms (c2's token).
 *
 * - c1 error, HTTP 503, sent 0, no token. - c2 cancelled, sent 5, 1 token at 30.
 * - c3 timeout, sent 10, no token.
 */
export const RUN_C: FixtureRun = {
  runId: "c0ffee00-0000-4000-8000-00000000000c",
  label: "no-completions",
  status: "aborted",
  backend: "webgpu",
  startedAt: "2026-11-20T12:00:00.000Z",
  finishedAt: "2026-11-20T12:00:01.000Z",
  endReason: "SIGINT",
  requests: [
    {
      reqId: "c1",
      status: "error",
      schedMs: 0,
      sentMs: 0,
      doneMs: null,
      inputTokensPlanned: 10,
      outputTokensPlanned: 4,
      promptTokensReported: null,
      completionTokensReported: null,
      httpStatus: 503,
      error: "HTTP 503: overloaded",
      events: [],
    },
    {
      reqId: "c2",
      status: "cancelled",
      schedMs: 5,
      sentMs: 5,
      doneMs: null,
      inputTokensPlanned: 10,
      outputTokensPlanned: 4,
      promptTokensReported: null,
      completionTokensReported: null,
      events: [[0, 30, 1]],
    },
    {
      reqId: "c3",
      status: "timeout",
      schedMs: 10,
      sentMs: 10,
      doneMs: null,
      inputTokensPlanned: 10,
      outputTokensPlanned: 4,
      promptTokensReported: null,
      completionTokensReported: null,
      events: [],
    },
  ],
};

/** Run D: still running (or its process died) before any request was recorded. */
export const RUN_D: FixtureRun = {
  runId: "d00d0000-0000-4000-8000-00000000000d",
  label: null,
  status: "running",
  backend: "openai",
  startedAt: "2026-11-20T13:00:00.000Z",
  finishedAt: null,
  endReason: null,
  requests: [],
};

/**
 * Run E, "trimmed": warm-up 100 ms and cool-down 100 ms. First send 0, last completion 600, so
 * the window is [100, 500] ms = 0.4 s; a request is placed by its completion (else its send).
 *
 * - e1 ok: sent 0, tokens at 50, done 60: ends in the warm-up, left out.
 * - e2 ok: sent 20, tokens at 150 and 200, done 210: in.
 * - e3 ok: sent 100, tokens at 300 and 400, done 400: in.
 * - e4 error: sent 250, no token: in (placed at its send time).
 * - e5 ok: sent 300, tokens at 520 and 600, done 600: ends in the cool-down, left out.
 */
export const RUN_E: FixtureRun = {
  runId: "e5e5e5e5-0000-4000-8000-00000000000e",
  label: "trimmed",
  status: "completed",
  backend: "openai",
  startedAt: "2026-11-20T15:00:00.000Z",
  finishedAt: "2026-11-20T15:00:01.000Z",
  endReason: null,
  warmupMs: 100,
  cooldownMs: 100,
  requests: [
    {
      reqId: "e1",
      status: "ok",
      schedMs: 0,
      sentMs: 0,
      doneMs: 60,
      inputTokensPlanned: 10,
      outputTokensPlanned: 2,
      promptTokensReported: 10,
      completionTokensReported: 1,
      events: [[0, 50, 1]],
    },
    {
      reqId: "e2",
      status: "ok",
      schedMs: 20,
      sentMs: 20,
      doneMs: 210,
      inputTokensPlanned: 10,
      outputTokensPlanned: 2,
      promptTokensReported: 10,
      completionTokensReported: 2,
      events: [[0, 150, 1], [1, 200, 1]],
    },
    {
      reqId: "e3",
      status: "ok",
      schedMs: 100,
      sentMs: 100,
      doneMs: 400,
      inputTokensPlanned: 10,
      outputTokensPlanned: 2,
      promptTokensReported: 10,
      completionTokensReported: 2,
      events: [[0, 300, 1], [1, 400, 1]],
    },
    {
      reqId: "e4",
      status: "error",
      schedMs: 250,
      sentMs: 250,
      doneMs: null,
      inputTokensPlanned: 10,
      outputTokensPlanned: 2,
      promptTokensReported: null,
      completionTokensReported: null,
      events: [],
    },
    {
      reqId: "e5",
      status: "ok",
      schedMs: 300,
      sentMs: 300,
      doneMs: 600,
      inputTokensPlanned: 10,
      outputTokensPlanned: 2,
      promptTokensReported: 10,
      completionTokensReported: 2,
      events: [[0, 520, 1], [1, 600, 1]],
    },
  ],
};
