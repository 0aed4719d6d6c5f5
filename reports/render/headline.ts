/**
 * The headline: one line at the top of every summary, report and comparison that says what a
 * run achieved and whether to trust it: goodput, attainment, the SLO, and `fidelity OK` or
 * `fidelity FLAGGED (reasons)`. The terminal summary, Markdown, HTML, JSON, `compare` and the
 * bench all call these functions, so the line reads the same everywhere.
 *
 * @module
 */
import type { Comparison } from "../results/compare.ts";
import type { FidelityVerdict } from "../results/fidelity.ts";
import { type GateResult, trustNote } from "../results/gate.ts";
import { formatSlo, type Slo } from "../results/slo.ts";
import type { RunSummary } from "../results/run_summary.ts";
import { formatCount, formatDecimal, formatPercent, MISSING } from "./_text.ts";

/**
 * `fidelity OK`, or `fidelity FLAGGED (reason; reason)`.
 *
 * @example
 * ```ts
 * import { fidelityText } from "./headline.ts";
 * console.log(fidelityText({ ok: false, reasons: ["failed 100% > 1%"] })); // fidelity FLAGGED (failed 100% > 1%)
 * ```
 */
export function fidelityText(verdict: FidelityVerdict): string {
  return verdict.ok
    ? "fidelity OK"
    : `fidelity FLAGGED (${verdict.reasons.join("; ")})`;
}

/** What a headline states; {@linkcode headlineOf} takes it from a summary. */
export interface HeadlineParts {
  /** Met requests per second of window; `null` = no SLO judged or no window. */
  goodputRps: number | null;
  /** 0..1; `null` when nothing was counted. */
  attainment: number | null;
  /** Requests that met the SLO. */
  met: number;
  /** Requests counted toward attainment. */
  counted: number;
  /** The SLO judged; `null` when none was given. */
  slo: Slo | null;
  /** The run's fidelity verdict. */
  verdict: FidelityVerdict;
}

/**
 * The parts of a summary's headline.
 *
 * @example
 * ```ts ignore
 * const parts = headlineOf(await summarizeRun(snapshot, runId, slo));
 * ```
 */
export function headlineOf(summary: RunSummary): HeadlineParts {
  const s = summary.slo;
  return {
    goodputRps: s?.goodputRps ?? null,
    attainment: s?.attainment ?? null,
    met: s?.met ?? 0,
    counted: s?.counted ?? 0,
    slo: s?.bounds ?? null,
    verdict: summary.verdict,
  };
}

/**
 * The headline sentence, e.g. `goodput 9.358 req/s, attainment 100.0% (50 of 50) for SLO
 * ttft<=100ms tpot<=20ms, fidelity OK`.
 *
 * @example
 * ```ts
 * import { headline } from "./headline.ts";
 * console.log(headline({ goodputRps: 4.2, attainment: 0.5, met: 5, counted: 10,
 *   slo: { ttftMs: 200 }, verdict: { ok: true, reasons: [] } }));
 * // goodput 4.200 req/s, attainment 50.0% (5 of 10) for SLO ttft<=200ms, fidelity OK
 * ```
 */
export function headline(p: HeadlineParts): string {
  const judged = p.slo === null
    ? `goodput ${MISSING}, attainment ${MISSING} (no SLO given: pass --slo ttft=..,tpot=..)`
    : `goodput ${
      p.goodputRps === null ? MISSING : `${formatDecimal(p.goodputRps)} req/s`
    }, attainment ${formatPercent(p.attainment)} (${formatCount(p.met)} of ${
      formatCount(p.counted)
    }) for SLO ${formatSlo(p.slo)}`;
  return `${judged}, ${fidelityText(p.verdict)}`;
}

/**
 * The headline of a run summary (see {@linkcode headline}).
 *
 * @example
 * ```ts ignore
 * console.log(runHeadline(await summarizeRun(snapshot, runId, slo)));
 * ```
 */
export function runHeadline(summary: RunSummary): string {
  return headline(headlineOf(summary));
}

/**
 * The headline of one side of a comparison: `baseline "main" (3 runs): goodput 9.358 req/s,
 * attainment 98.0% .. 100.0% over runs for SLO ttft<=500ms, fidelity OK`. Goodput is the
 * comparison's value (a group's geometric mean of per-run goodput).
 *
 * @example
 * ```ts ignore
 * for (const line of comparisonHeadlines(comparison, gates)) console.log(line);
 * ```
 */
export function sideHeadline(
  role: "baseline" | "candidate",
  c: Comparison,
): string {
  const side = c[role];
  const goodput = c.rows.find((r) => r.metric === "goodput_rps")?.[role] ??
    null;
  const known = side.attainment.filter((a): a is number => a !== null);
  const runs = side.runIds.length;
  const attainment = known.length === 0
    ? MISSING
    : runs === 1
    ? formatPercent(known[0])
    : `${formatPercent(Math.min(...known))} .. ${
      formatPercent(Math.max(...known))
    } over runs`;
  const fidelity = side.trust.flaggedRuns === 0
    ? "fidelity OK"
    : `fidelity FLAGGED (${side.trust.reasons.join("; ")})`;
  const slo = Object.keys(c.slo).length === 0
    ? "no SLO (every completed request is good)"
    : `SLO ${formatSlo(c.slo)}`;
  return `${role} "${side.name}" (${runs} run${
    runs === 1 ? "" : "s"
  }): goodput ${
    goodput === null ? MISSING : `${formatDecimal(goodput)} req/s`
  }, attainment ${attainment} for ${slo}, ${fidelity}`;
}

/**
 * The overall verdict of a comparison's gates and its trust: `verdict: pass, trusted` or
 * `verdict: FAIL (1 of 5 gates), UNTRUSTED (candidate fidelity FLAGGED: ...)`.
 *
 * @example
 * ```ts ignore
 * console.log(comparisonVerdict(comparison, gates));
 * ```
 */
export function comparisonVerdict(
  c: Comparison,
  gates: readonly GateResult[],
): string {
  const failed = gates.filter((g) => g.verdict === "fail").length;
  const verdict = gates.length === 0
    ? "verdict: no gates"
    : failed === 0
    ? `verdict: pass (${gates.length} gate${gates.length === 1 ? "" : "s"})`
    : `verdict: FAIL (${failed} of ${gates.length} gates)`;
  const trust = c.trusted ? "trusted" : `UNTRUSTED (${trustNote(c)})`;
  const optimistic = c.optimistic
    ? ", intervals optimistic (1 run per side)"
    : "";
  return `${verdict}, ${trust}${optimistic}`;
}

/**
 * The headline lines of a comparison: the verdict, then each side's headline.
 *
 * @example
 * ```ts ignore
 * console.log(comparisonHeadlines(comparison, gates).join("\n"));
 * ```
 */
export function comparisonHeadlines(
  c: Comparison,
  gates: readonly GateResult[],
): string[] {
  return [
    comparisonVerdict(c, gates),
    sideHeadline("baseline", c),
    sideHeadline("candidate", c),
  ];
}
