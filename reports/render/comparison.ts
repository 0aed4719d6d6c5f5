/**
 * Renders a {@linkcode Comparison} and its gate verdicts: a terminal table, Markdown, or the
 * versioned JSON `tokentrace.compare/v1`.
 *
 * JSON shape: `{ schema: "tokentrace.compare/v1", baseline_run_id, candidate_run_id, slo:
 * { ttft_ms, tpot_ms, e2e_ms, itl_ms }, failure_policy, replicates, seed, ci_method, rows: [{
 * metric, statistic, n_baseline, n_candidate, baseline, candidate, delta, delta_pct, ci_low,
 * ci_high, ci_low_pct, ci_high_pct, significant }], gates: [{ gate, verdict, message }], passed }`
 * with the value rules of `tokentrace.report/v1` (NULL -> null, never 0).
 *
 * @module
 */
import type { Comparison } from "../compare.ts";
import type { GateResult } from "../gate.ts";
import { escapeCell } from "./_escape.ts";
import {
  formatCount,
  formatDecimal,
  MISSING,
  padEnd,
  padStart,
} from "./_text.ts";

/** The schema id of comparison JSON. */
export const COMPARE_SCHEMA = "tokentrace.compare/v1";

function statLabel(statistic: string, metric: string): string {
  return statistic === "value" ? metric : `${statistic} ${metric}`;
}

function pct(v: number | null): string {
  return v === null ? MISSING : `${v >= 0 ? "+" : ""}${v.toFixed(1)}%`;
}

function verdictLine(r: GateResult): string {
  const mark = r.verdict === "fail"
    ? "FAIL "
    : r.verdict === "noise"
    ? "noise"
    : r.verdict === "no_data"
    ? "skip "
    : "ok   ";
  return `${mark} ${r.gate.spec}: ${r.message}`;
}

/**
 * The comparison as terminal text: one line per statistic, then one line per gate.
 *
 * @example
 * ```ts ignore
 * console.log(renderComparisonText(comparison, evaluateGates(gates, comparison)));
 * ```
 */
export function renderComparisonText(
  c: Comparison,
  gates: readonly GateResult[] = [],
): string {
  const lines = [
    `baseline  ${c.baselineRunId}`,
    `candidate ${c.candidateRunId}`,
    `method    ${c.ciMethod}, ${c.replicates} replicates, seed ${c.seed}`,
    "",
    padEnd("statistic", 18) + padStart("n base", 9) + padStart("n cand", 9) +
    padStart("baseline", 12) + padStart("candidate", 12) +
    padStart("change", 10) + "  95% CI of change",
  ];
  for (const r of c.rows) {
    lines.push(
      padEnd(statLabel(r.statistic, r.metric), 18) +
        padStart(formatCount(r.nBaseline), 9) +
        padStart(formatCount(r.nCandidate), 9) +
        padStart(formatDecimal(r.baseline), 12) +
        padStart(formatDecimal(r.candidate), 12) +
        padStart(pct(r.deltaPct), 10) +
        `  ${pct(r.ciLowPct)} .. ${pct(r.ciHighPct)}${
          r.significant ? " *" : ""
        }`,
    );
  }
  lines.push("(* = the interval excludes no change)");
  if (gates.length > 0) {
    lines.push("", "gates");
    for (const g of gates) lines.push(`  ${verdictLine(g)}`);
    const failed = gates.filter((g) => g.verdict === "fail").length;
    lines.push(
      failed === 0
        ? "verdict: pass"
        : `verdict: FAIL (${failed} of ${gates.length} gates)`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * The comparison as Markdown.
 *
 * @example
 * ```ts ignore
 * await Deno.writeTextFile("compare.md", renderComparisonMarkdown(comparison, results));
 * ```
 */
export function renderComparisonMarkdown(
  c: Comparison,
  gates: readonly GateResult[] = [],
): string {
  const out = [
    `# Comparison: ${c.candidateRunId} vs baseline ${c.baselineRunId}`,
    "",
    `${c.ciMethod}; ${c.replicates} replicates, seed ${c.seed}.`,
    "",
    "| statistic | n base | n cand | baseline | candidate | change | 95% CI of change |",
    "|---|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of c.rows) {
    out.push(
      `| ${statLabel(r.statistic, r.metric)} | ${formatCount(r.nBaseline)} | ${
        formatCount(r.nCandidate)
      } | ${formatDecimal(r.baseline)} | ${formatDecimal(r.candidate)} | ${
        pct(r.deltaPct)
      } | ${pct(r.ciLowPct)} .. ${pct(r.ciHighPct)}${
        r.significant ? " (significant)" : ""
      } |`,
    );
  }
  if (gates.length > 0) {
    out.push("", "| gate | verdict | detail |", "|---|---|---|");
    for (const g of gates) {
      out.push(
        `| ${escapeCell(g.gate.spec)} | ${
          g.verdict === "fail" ? "**FAIL**" : g.verdict
        } | ${escapeCell(g.message)} |`,
      );
    }
  }
  return out.join("\n") + "\n";
}

/**
 * The comparison as `tokentrace.compare/v1` JSON text.
 *
 * @example
 * ```ts ignore
 * console.log(renderComparisonJson(comparison, results));
 * ```
 */
export function renderComparisonJson(
  c: Comparison,
  gates: readonly GateResult[] = [],
): string {
  return JSON.stringify(
    {
      schema: COMPARE_SCHEMA,
      baseline_run_id: c.baselineRunId,
      candidate_run_id: c.candidateRunId,
      slo: {
        ttft_ms: c.slo.ttftMs ?? null,
        tpot_ms: c.slo.tpotMs ?? null,
        e2e_ms: c.slo.e2eMs ?? null,
        itl_ms: c.slo.itlMs ?? null,
      },
      failure_policy: c.failurePolicy,
      replicates: c.replicates,
      seed: c.seed,
      ci_method: c.ciMethod,
      rows: c.rows.map((r) => ({
        metric: r.metric,
        statistic: r.statistic,
        n_baseline: r.nBaseline,
        n_candidate: r.nCandidate,
        baseline: r.baseline,
        candidate: r.candidate,
        delta: r.delta,
        delta_pct: r.deltaPct,
        ci_low: r.ciLow,
        ci_high: r.ciHigh,
        ci_low_pct: r.ciLowPct,
        ci_high_pct: r.ciHighPct,
        significant: r.significant,
      })),
      gates: gates.map((g) => ({
        gate: g.gate.spec,
        verdict: g.verdict,
        message: g.message,
      })),
      passed: gates.every((g) => g.verdict !== "fail"),
    },
    null,
    2,
  ) + "\n";
}
