/**
 * Renders a {@linkcode Comparison} and its gate verdicts: a terminal table, Markdown, or the
 * versioned JSON `tokentrace.compare/v2`. Every rendering opens with the headline lines
 * (reports/render/headline.ts): the verdict and its trust, then each side's goodput,
 * attainment, SLO and fidelity.
 *
 * JSON shape: `{ schema: "tokentrace.compare/v2", headline: [string], baseline: { name,
 * group_id, run_ids, attainment: [..], fidelity: { ok, flagged_runs, reasons } }, candidate:
 * (same), slo: { ttft_ms, tpot_ms, e2e_ms, itl_ms }, failure_policy, method ("between_runs" |
 * "within_run"), optimistic, caveat, replicates, seed, ci_method, trusted, differences: [{ path,
 * baseline, candidate }], rows: [{ metric, statistic, n_baseline, n_candidate, runs_baseline,
 * runs_candidate, baseline, candidate, delta, delta_pct, ci_low, ci_high, ci_low_pct,
 * ci_high_pct, significant, scale }], gates: [{ gate, verdict, untrusted, message }], passed }`
 * with the value rules of `tokentrace.report/v2` (NULL -> null, never 0). v2 (issue 12): sides
 * are groups of runs, gates fail only beyond the noise, and trust is reported.
 *
 * @module
 */
import type { Comparison } from "../results/compare.ts";
import type { GateResult } from "../results/gate.ts";
import { escapeCell } from "./_escape.ts";
import {
  formatCount,
  formatDecimal,
  formatLatencyMs,
  MISSING,
  padEnd,
  padStart,
  wrap,
} from "./_text.ts";
import { comparisonHeadlines } from "./headline.ts";

/** The schema id of comparison JSON. */
export const COMPARE_SCHEMA = "tokentrace.compare/v2";

function statLabel(statistic: string, metric: string): string {
  return statistic === "value" ? metric : `${statistic} ${metric}`;
}

function pct(v: number | null): string {
  return v === null ? MISSING : `${v >= 0 ? "+" : ""}${v.toFixed(1)}%`;
}

function value(metric: string, v: number | null): string {
  return metric === "goodput_rps" ? formatDecimal(v) : formatLatencyMs(v);
}

function mark(r: GateResult): string {
  const m = r.verdict === "fail"
    ? "FAIL"
    : r.verdict === "noise"
    ? "noise"
    : r.verdict === "no_data"
    ? "skip"
    : "ok";
  return r.untrusted ? `${m} (untrusted)` : m;
}

/**
 * The comparison as terminal text (at most `width` columns, default 100): headline, method,
 * one line per statistic, then one line per gate.
 *
 * @example
 * ```ts ignore
 * console.log(renderComparisonText(comparison, evaluateGates(gates, comparison)));
 * ```
 */
export function renderComparisonText(
  c: Comparison,
  gates: readonly GateResult[] = [],
  width = 100,
): string {
  const [verdict, ...sides] = comparisonHeadlines(c, gates);
  const lines = [...wrap(verdict, width, "== ", "   ")];
  for (const s of sides) lines.push(...wrap(s, width, "   ", "     "));
  const field = (label: string, text: string) =>
    lines.push(...wrap(text, width, padEnd(label, 12)));
  field("baseline", c.baseline.runIds.join(", "));
  field("candidate", c.candidate.runIds.join(", "));
  field(
    "method",
    c.method === "within_run"
      ? `${c.ciMethod}, ${c.replicates} replicates, seed ${c.seed}`
      : c.ciMethod,
  );
  if (c.caveat !== null) field("caveat", c.caveat);
  if (c.differences.length > 0) {
    lines.push(
      "differences (allowed by --allow-different; baseline vs candidate):",
    );
    for (const d of c.differences) {
      lines.push(
        ...wrap(
          `${d.path}: ${d.baseline} vs ${d.candidate}`,
          width,
          "  ",
          "    ",
        ),
      );
    }
  }
  lines.push(
    "",
    padEnd("statistic", 16) + padStart("runs", 7) + padStart("n base", 9) +
      padStart("n cand", 9) + padStart("baseline", 11) +
      padStart("candidate", 11) +
      padStart("change", 9) + "  95% CI of change",
  );
  for (const r of c.rows) {
    lines.push(
      padEnd(statLabel(r.statistic, r.metric), 16) +
        padStart(`${r.runsBaseline}/${r.runsCandidate}`, 7) +
        padStart(formatCount(r.nBaseline), 9) +
        padStart(formatCount(r.nCandidate), 9) +
        padStart(value(r.metric, r.baseline), 11) +
        padStart(value(r.metric, r.candidate), 11) +
        padStart(pct(r.deltaPct), 9) +
        `  ${pct(r.ciLowPct)} .. ${pct(r.ciHighPct)}${
          r.significant ? " *" : ""
        }`,
    );
  }
  lines.push(
    ...wrap(
      "(latencies in ms, 10 s and more in s; goodput in req/s; a group's value is the geometric " +
        "mean of its runs' values; * = the interval excludes no change)",
      width,
    ),
  );
  if (gates.length > 0) {
    lines.push(
      "",
      "gates (fail only when the whole interval is past the bound)",
    );
    for (const g of gates) {
      lines.push(
        ...wrap(
          `${mark(g)} ${g.gate.spec}: ${g.message}`,
          width,
          "  ",
          "        ",
        ),
      );
    }
    lines.push(verdict);
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
  const [verdict, ...sides] = comparisonHeadlines(c, gates);
  const out = [
    `# Comparison: ${c.candidate.name} vs baseline ${c.baseline.name}`,
    "",
    `**${verdict}**`,
    "",
    ...sides.map((s) => `- ${s}`),
    "",
    `${c.ciMethod}${
      c.method === "within_run"
        ? `; ${c.replicates} replicates, seed ${c.seed}`
        : ""
    }.`,
  ];
  if (c.caveat !== null) out.push("", `> ${c.caveat}`);
  if (c.differences.length > 0) {
    out.push(
      "",
      "Differences (allowed by `--allow-different`):",
      "",
      "| setting | baseline | candidate |",
      "|---|---|---|",
      ...c.differences.map((d) =>
        `| ${escapeCell(d.path)} | ${escapeCell(d.baseline)} | ${
          escapeCell(d.candidate)
        } |`
      ),
    );
  }
  out.push(
    "",
    "| statistic | runs | n base | n cand | baseline | candidate | change | 95% CI of change |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
  );
  for (const r of c.rows) {
    out.push(
      `| ${
        statLabel(r.statistic, r.metric)
      } | ${r.runsBaseline}/${r.runsCandidate} | ${
        formatCount(r.nBaseline)
      } | ${formatCount(r.nCandidate)} | ${value(r.metric, r.baseline)} | ${
        value(r.metric, r.candidate)
      } | ${pct(r.deltaPct)} | ${pct(r.ciLowPct)} .. ${pct(r.ciHighPct)}${
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
        }${g.untrusted ? " (untrusted)" : ""} | ${escapeCell(g.message)} |`,
      );
    }
  }
  return out.join("\n") + "\n";
}

/**
 * The comparison as `tokentrace.compare/v2` JSON text.
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
  const side = (s: Comparison["baseline"]) => ({
    name: s.name,
    group_id: s.groupId,
    run_ids: s.runIds,
    attainment: s.attainment,
    fidelity: {
      ok: s.trust.flaggedRuns === 0,
      flagged_runs: s.trust.flaggedRuns,
      reasons: s.trust.reasons,
    },
  });
  return JSON.stringify(
    {
      schema: COMPARE_SCHEMA,
      headline: comparisonHeadlines(c, gates),
      baseline: side(c.baseline),
      candidate: side(c.candidate),
      slo: {
        ttft_ms: c.slo.ttftMs ?? null,
        tpot_ms: c.slo.tpotMs ?? null,
        e2e_ms: c.slo.e2eMs ?? null,
        itl_ms: c.slo.itlMs ?? null,
      },
      failure_policy: c.failurePolicy,
      method: c.method,
      optimistic: c.optimistic,
      caveat: c.caveat,
      replicates: c.replicates,
      seed: c.seed,
      ci_method: c.ciMethod,
      trusted: c.trusted,
      differences: c.differences,
      rows: c.rows.map((r) => ({
        metric: r.metric,
        statistic: r.statistic,
        n_baseline: r.nBaseline,
        n_candidate: r.nCandidate,
        runs_baseline: r.runsBaseline,
        runs_candidate: r.runsCandidate,
        baseline: r.baseline,
        candidate: r.candidate,
        delta: r.delta,
        delta_pct: r.deltaPct,
        ci_low: r.ciLow,
        ci_high: r.ciHigh,
        ci_low_pct: r.ciLowPct,
        ci_high_pct: r.ciHighPct,
        significant: r.significant,
        scale: r.scale,
      })),
      gates: gates.map((g) => ({
        gate: g.gate.spec,
        verdict: g.verdict,
        untrusted: g.untrusted,
        message: g.message,
      })),
      passed: gates.every((g) => g.verdict !== "fail"),
    },
    null,
    2,
  ) + "\n";
}
