/**
 * Renders a {@linkcode RunSummary} as compact text for a terminal, at most 100 columns wide.
 *
 * @module
 */
import type { LatencyRow, RunSummary } from "../results/run_summary.ts";
import { formatSlo } from "../results/slo.ts";
import {
  formatCount,
  formatDecimal,
  formatLatencyMs,
  formatPercent,
  MISSING,
  padEnd,
  padStart,
  wrap,
} from "./_text.ts";
import { runHeadline } from "./headline.ts";
import type { FailureSummary } from "../results/failures.ts";

/** Options of {@linkcode renderTerminal}. */
export interface TerminalOptions {
  /** Maximum line width in columns. Default 100; the latency table needs at least 90. */
  width?: number;
}

const LABEL_WIDTH = 12;
const METRIC_WIDTH = 32;
const N_WIDTH = 8;
const VALUE_WIDTH = 10;
const COLUMNS: { title: string; value: (r: LatencyRow) => number | null }[] = [
  { title: "mean", value: (r) => r.meanMs },
  { title: "p50", value: (r) => r.p50Ms },
  { title: "p90", value: (r) => r.p90Ms },
  { title: "p99", value: (r) => r.p99Ms },
  { title: "max", value: (r) => r.maxMs },
];

/**
 * Formats the summary as lines of text (joined with "\n", with a trailing newline).
 *
 * Latency values are milliseconds with precision following magnitude; a missing value (NULL,
 * e.g. no sample) shows as "—", never 0. Runs that are not `completed` get a loud banner.
 *
 * @example
 * ```ts
 * import { renderTerminal } from "./terminal.ts";
 * import type { RunSummary } from "../results/run_summary.ts";
 * const summary: RunSummary = {
 *   run: {
 *     runId: "r1", label: "demo", backend: "openai", status: "completed", incomplete: false,
 *     startedAt: "2026-11-20T10:00:00.000Z", finishedAt: "2026-11-20T10:01:00.000Z",
 *     endReason: null, toolVersion: "0.1.0", gitRev: null, clockOriginUnixNs: 0n,
 *     sweepId: null, suite: null, scenario: null, group: null,
 *   },
 *   window: {
 *     startNs: 0n, endNs: 1_000_000_000n, seconds: 1, policy: "first_sent_to_last_completion",
 *     warmupS: 0, cooldownS: 0,
 *   },
 *   counts: { total: 1, ok: 1, error: 0, timeout: 0, cancelled: 0, outsideWindow: 0 },
 *   throughput: {
 *     requestsPerS: 1, outputTokensPerS: 8, totalTokensPerS: 16, maxOutputTokensPerS1sBin: 8,
 *     outputTokens: 8, inputTokens: 8,
 *   },
 *   latency: [{
 *     metric: "ttft_ms", n: 1, meanMs: 50, p50Ms: 50, p90Ms: 50, p95Ms: 50, p99Ms: 50,
 *     p999Ms: 50, maxMs: 50,
 *   }],
 *   percentileMethod: "quantile_cont",
 *   slo: null,
 *   notes: [],
 *   fidelity: [],
 *   verdict: { ok: true, reasons: [] },
 *   failures: { failed: 0, kinds: [], httpStatuses: [], messages: [], distinctMessages: 0 },
 * };
 * console.log(renderTerminal(summary));
 * ```
 */
export function renderTerminal(
  summary: RunSummary,
  options: TerminalOptions = {},
): string {
  const maxWidth = options.width ?? 100;
  const { run, window, counts, throughput: tp, slo } = summary;
  const lines: string[] = [];
  const group = [
    run.sweepId === null ? "" : `sweep ${run.sweepId}`,
    run.suite === null ? "" : `suite "${run.suite}" scenario "${run.scenario}"`,
  ].filter((g) => g !== "").join(", ");
  const field = (label: string, value: string) =>
    lines.push(...wrap(value, maxWidth, padEnd(label, LABEL_WIDTH)));

  lines.push(...wrap(runHeadline(summary), maxWidth, "== ", "   "));
  field("run", run.runId + (run.label === null ? "" : ` label "${run.label}"`));
  field("backend", run.backend);
  if (group !== "") field("group", group);
  if (run.group !== null) {
    field(
      "repeat",
      `run ${
        run.group.index + 1
      } of ${run.group.repeats} of group ${run.group.groupId}`,
    );
  }
  field(
    "status",
    `${run.status} (started ${run.startedAt}, finished ${
      run.finishedAt ?? MISSING
    })`,
  );
  if (run.incomplete) {
    lines.push(
      ...wrap(
        `!! INCOMPLETE RUN: status ${run.status}, results are partial (see notes) !!`,
        maxWidth,
      ),
    );
  }
  const trims = window.warmupS > 0 || window.cooldownS > 0
    ? `, warm-up ${window.warmupS} s, cool-down ${window.cooldownS} s`
    : "";
  field(
    "window",
    window.seconds === null
      ? `${MISSING} (${window.policy}${trims})`
      : `${formatDecimal(window.seconds)} s (${window.policy}${trims})`,
  );
  field(
    "requests",
    `${formatCount(counts.total)} total: ${formatCount(counts.ok)} ok, ` +
      `${formatCount(counts.error)} error, ${
        formatCount(counts.timeout)
      } timeout, ` +
      `${formatCount(counts.cancelled)} cancelled` +
      (counts.inFlight ? `, ${formatCount(counts.inFlight)} in flight` : "") +
      (counts.outsideWindow > 0
        ? `; ${formatCount(counts.outsideWindow)} outside the window`
        : ""),
  );
  if (summary.failures.failed > 0) {
    lines.push(...failureLines(summary.failures, maxWidth));
  }
  lines.push("");

  lines.push(
    ...wrap(
      `latency in ms (10 s and more in s) over completed requests (percentiles: ${summary.percentileMethod})`,
      maxWidth,
    ),
  );
  lines.push(
    padEnd("metric", METRIC_WIDTH) + padStart("n", N_WIDTH) +
      COLUMNS.map((c) => padStart(c.title, VALUE_WIDTH)).join(""),
  );
  for (const row of summary.latency) {
    lines.push(
      padEnd(row.metric, METRIC_WIDTH) + padStart(formatCount(row.n), N_WIDTH) +
        COLUMNS.map((c) => padStart(formatLatencyMs(c.value(row)), VALUE_WIDTH))
          .join(""),
    );
  }
  if (summary.calibration !== undefined) {
    const c = summary.calibration;
    field(
      "floor",
      c === null
        ? `${MISSING} harness error not measured in this database (tokentrace calibrate)`
        : `harness error p99: TTFT ${
          formatDecimal(c.ttftErrP99Ms)
        }, token gap ${formatDecimal(c.gapErrP99Ms)}, token time ${
          formatDecimal(c.tokenErrP99Ms)
        }, schedule lag ${
          formatDecimal(c.scheduleLagP99Ms)
        } ms (calibrated ${c.createdAt} at ${formatDecimal(c.rateRps)} req/s, ${
          formatCount(c.streams)
        } streams, ${c.workers} sender thread${c.workers === 1 ? "" : "s"})`,
    );
  }
  lines.push("");

  field(
    "throughput",
    `${formatDecimal(tp.requestsPerS)} req/s, ${
      formatDecimal(tp.outputTokensPerS)
    } output tok/s, ${formatDecimal(tp.totalTokensPerS)} total tok/s, peak ${
      tp.maxOutputTokensPerS1sBin === null
        ? MISSING
        : formatCount(tp.maxOutputTokensPerS1sBin)
    } output tok/s (1 s bin)`,
  );
  if (slo === null) {
    field(
      "goodput",
      `${MISSING} (no SLO given: pass --slo ttft=..,tpot=..,e2e=..)`,
    );
  } else {
    field(
      "goodput",
      `${formatDecimal(slo.goodputRps)} req/s, ${
        formatDecimal(slo.tokenGoodputPerS)
      } output tok/s; attainment ${formatPercent(slo.attainment)} (${
        formatCount(slo.met)
      } of ${formatCount(slo.counted)} counted met)`,
    );
    field("slo", `${formatSlo(slo.bounds)} (inclusive)`);
    field("policy", `${slo.failurePolicyText}`);
  }
  if (summary.notes.length > 0) {
    lines.push("");
    lines.push("notes");
    for (const note of summary.notes) {
      lines.push(...wrap(note, maxWidth, "  - ", "    "));
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * The failure lines of a summary: counts by kind and HTTP status, then the commonest messages
 * (whitespace folded to one space, cut to the line).
 */
function failureLines(f: FailureSummary, maxWidth: number): string[] {
  const counts = (rows: FailureSummary["kinds"]) =>
    rows.map((r) => `${r.key} ${formatCount(r.n)}`).join(", ");
  const out = wrap(
    `${formatCount(f.failed)} failed: ${counts(f.kinds)}; ${
      counts(f.httpStatuses)
    }`,
    maxWidth,
    padEnd("failures", LABEL_WIDTH),
  );
  const indent = " ".repeat(LABEL_WIDTH);
  for (const m of f.messages) {
    const prefix = `${indent}${formatCount(m.n)}x `;
    const room = maxWidth - prefix.length - 2;
    const text = m.key === ""
      ? "(no message)"
      : m.key.replace(/\s+/g, " ").trim();
    const cut = [...text].length > room
      ? [...text].slice(0, room - 3).join("") + "..."
      : text;
    out.push(m.key === "" ? prefix + cut : `${prefix}"${cut}"`);
  }
  if (f.distinctMessages > f.messages.length) {
    out.push(
      `${indent}(${
        f.distinctMessages - f.messages.length
      } more distinct messages: ` +
        "select * from run_errors)",
    );
  }
  return out;
}
