/**
 * Generated fixture runs for the reports tests: requests with chosen arrival times and TTFTs and
 * a fixed decode rhythm, so expected values stay easy to work out by hand.
 *
 * @module
 */
import type { FixtureRequest, FixtureRun } from "./_fixture.ts";

/** Options of {@linkcode generatedRun}. */
export interface GeneratedRunOptions {
  runId: string;
  label?: string;
  /** Planned (and actual) send times, ms. */
  schedMs: number[];
  /** Time to first token of each request, ms (same length as schedMs). */
  ttftMs: number[];
  /** Tokens per request, one per chunk. Default 3. */
  tokens?: number;
  /** Gap between tokens, ms. Default 10. */
  itlMs?: number;
  sweep?: FixtureRun["sweep"];
  suite?: FixtureRun["suite"];
  group?: FixtureRun["group"];
  startedAt?: string;
}

/**
 * A completed run: request i is sent at schedMs[i], streams `tokens` one-token chunks starting
 * ttftMs[i] later, `itlMs` apart, and is done at its last token; usage matches.
 *
 * @example
 * ```ts ignore
 * const run = generatedRun({ runId: "x", schedMs: [0, 100], ttftMs: [50, 50] });
 * ```
 */
export function generatedRun(o: GeneratedRunOptions): FixtureRun {
  const tokens = o.tokens ?? 3;
  const itl = o.itlMs ?? 10;
  const requests: FixtureRequest[] = o.schedMs.map((sched, i) => {
    const first = sched + o.ttftMs[i];
    const events = Array.from(
      { length: tokens },
      (_, k) => [k, first + k * itl, 1] as [number, number, number],
    );
    return {
      reqId: `q${String(i).padStart(4, "0")}`,
      status: "ok",
      schedMs: sched,
      sentMs: sched,
      doneMs: first + (tokens - 1) * itl,
      inputTokensPlanned: 10,
      outputTokensPlanned: tokens,
      promptTokensReported: 10,
      completionTokensReported: tokens,
      events,
    };
  });
  return {
    runId: o.runId,
    label: o.label ?? o.runId,
    status: "completed",
    backend: "openai",
    startedAt: o.startedAt ?? "2026-11-21T00:00:00.000Z",
    finishedAt: null,
    endReason: null,
    sweep: o.sweep,
    suite: o.suite,
    group: o.group,
    requests,
  };
}
