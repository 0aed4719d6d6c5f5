/**
 * Renders the default bench's verdict ({@linkcode BenchReport}): the headline (capacity at the
 * SLO and whether the measurement can be trusted), the service rate, one line per sweep point,
 * and the reasons for caution; as terminal text (fits 100 columns), JSON and an HTML document.
 *
 * @module
 */
import { benchFidelityOk, type BenchReport } from "../results/bench.ts";
import type { RunReport } from "../results/run_report.ts";
import { formatSlo } from "../results/slo.ts";
import { escapeMarkup as esc } from "./_escape.ts";
import { formatDecimal, formatPercent, MISSING, wrap } from "./_text.ts";
import { renderReportBody, REPORT_CSS, sweepSection } from "./html.ts";

/** What the bench measured, in words, for the headline's second line. */
export interface BenchSubject {
  /** e.g. `built-in engine, tiny preset (random weights), llvmpipe (software adapter)`. */
  backend: string;
  /** e.g. `Azure LLM 2023 conversation excerpt, lengths / 8`. */
  workload: string;
}

/** `capacity 5.62 req/s (± 0.31) at 90 % ...`: the capacity phrase of the headline. */
export function capacityPhrase(r: BenchReport): string {
  const c = r.sweep.capacity;
  const hw = r.capacityHalfWidthRps;
  const value = c.capacityRps === null
    ? MISSING
    : `${formatDecimal(c.capacityRps)} req/s${
      hw === null ? "" : ` (± ${formatDecimal(hw)})`
    }`;
  const bound = c.bound === "at_least_highest_rate"
    ? ">= "
    : c.bound === "below_lowest_rate"
    ? `< ${formatDecimal(r.sweep.points[0]?.loadRps ?? null)} req/s `
    : "";
  return `${bound}${c.bound === "below_lowest_rate" ? "" : value}`;
}

/** The verdict on trust: `fidelity OK` or `fidelity FLAGGED (reasons)`. */
export function fidelityPhrase(r: BenchReport): string {
  if (benchFidelityOk(r)) return "fidelity OK";
  const checks = new Map<string, number>();
  for (const f of r.flags) checks.set(f.check, (checks.get(f.check) ?? 0) + 1);
  const total = r.sweep.points.length + 1;
  return `fidelity FLAGGED (${
    [...checks].map(([c, n]) => `${c} in ${n} of ${total} runs`).join(", ")
  })`;
}

/**
 * The terminal summary: headline first, then the service rate, the points, the capacity's
 * bracket and every reason for caution.
 *
 * @example
 * ```ts ignore
 * console.log(benchTerminal(report, subject).join("\n"));
 * ```
 */
export function benchTerminal(r: BenchReport, s: BenchSubject): string[] {
  const c = r.sweep.capacity;
  const W = 100;
  const field = (label: string, text: string) =>
    wrap(text, W, label.padEnd(10), " ".repeat(10));
  const out = [
    ...wrap(
      `capacity ${capacityPhrase(r)} at ${
        formatPercent(c.targetAttainment)
      } attainment of ${formatSlo(r.sweep.slo)}; ${fidelityPhrase(r)}`,
      W,
      "tokentrace bench: ",
      "  ",
    ),
    ...field("backend", s.backend),
    ...field("workload", s.workload),
    ...field(
      "service",
      `${formatDecimal(r.serviceRun.requestThroughputRps)} req/s, ${
        formatDecimal(r.serviceRun.outputTokensPerS)
      } output tok/s with ${r.serviceRun.users} requests in flight (closed loop)`,
    ),
    "",
    "  offered req/s  requests  attainment  goodput req/s  p50/p99 TTFT ms  p50/p99 TPOT ms  lag p99 ms",
  ];
  const byLoad = [...r.sweep.points].sort((a, b) =>
    (a.loadRps ?? 0) - (b.loadRps ?? 0)
  );
  for (const p of byLoad) {
    const l = r.latency.find((x) => x.runId === p.runId);
    const pair = (a: number | null | undefined, b: number | null | undefined) =>
      `${formatDecimal(a ?? null)} / ${formatDecimal(b ?? null)}`;
    out.push(
      `  ${pad(formatDecimal(p.loadRps), 13)}  ${pad(String(p.counted), 8)}  ${
        pad(formatPercent(p.attainment), 10)
      }  ${pad(formatDecimal(p.goodputRps), 13)}  ${
        pad(pair(l?.ttftP50Ms, l?.ttftP99Ms), 15)
      }  ${pad(pair(l?.tpotP50Ms, l?.tpotP99Ms), 15)}  ${
        pad(formatDecimal(l?.scheduleLagP99Ms ?? null), 10)
      }`,
    );
  }
  out.push("");
  if (c.bound === "interpolated") {
    out.push(...field(
      "bracket",
      `${formatDecimal(c.lowerLoadRps)} req/s (${
        formatPercent(c.lowerAttainment)
      }) .. ${formatDecimal(c.upperLoadRps)} req/s (${
        formatPercent(c.upperAttainment)
      }), linear; ± is the 95 % sampling error of the two attainments`,
    ));
  }
  for (const f of r.flags) {
    out.push(...field(
      "flagged",
      `${f.label ?? f.runId}: ${f.check} ${
        formatDecimal(f.value)
      } ${f.unit} > ${formatDecimal(f.threshold)}`,
    ));
  }
  for (const why of r.cautions) out.push(...field("caution", why));
  return out;
}

/** The bench as JSON (`tokentrace.bench/v1`): everything the terminal shows, as numbers. */
export function benchJson(r: BenchReport, s: BenchSubject): string {
  return JSON.stringify(
    {
      schema: "tokentrace.bench/v1",
      subject: s,
      slo: r.sweep.slo,
      capacity: {
        ...r.sweep.capacity,
        halfWidthRps: r.capacityHalfWidthRps,
      },
      fidelity: {
        ok: benchFidelityOk(r),
        flags: r.flags,
        cautions: r.cautions,
      },
      serviceRate: r.serviceRun,
      points: r.sweep.points.map((p) => ({
        ...p,
        latency: r.latency.find((x) => x.runId === p.runId) ?? null,
      })),
      machine: r.machine,
      sweepId: r.sweep.sweepId,
    },
    null,
    2,
  );
}

/**
 * The bench as one offline HTML file: headline, the attainment curve and points, every
 * flag and caution, then the full report of the run at the capacity's lower bracket.
 */
export async function benchHtml(
  r: BenchReport,
  s: BenchSubject,
  pointReport: RunReport | null,
): Promise<string> {
  const c = r.sweep.capacity;
  const ok = benchFidelityOk(r);
  const reasons = [
    ...r.flags.map((f) =>
      `${f.label ?? f.runId}: ${f.check} ${
        formatDecimal(f.value)
      } ${f.unit} > ${formatDecimal(f.threshold)}`
    ),
    ...r.cautions,
  ];
  const body = [
    `<h1>tokentrace bench: capacity ${esc(capacityPhrase(r))} at ${
      esc(formatPercent(c.targetAttainment))
    } attainment</h1>`,
    `<p><b>SLO</b> ${esc(formatSlo(r.sweep.slo))} &middot; <span class="${
      ok ? "ok" : "flag"
    }">${esc(fidelityPhrase(r))}</span></p>`,
    `<p class="note">${esc(s.backend)}; ${esc(s.workload)}. Service rate ${
      esc(formatDecimal(r.serviceRun.requestThroughputRps))
    } req/s with ${r.serviceRun.users} requests in flight.</p>`,
    reasons.length === 0
      ? ""
      : `<div class="banner"><b>Read with care</b><ul>${
        reasons.map((x) => `<li>${esc(x)}</li>`).join("")
      }</ul></div>`,
    await sweepSection(r.sweep),
    pointReport === null
      ? ""
      : `<h2>The run at ${
        esc(formatDecimal(c.lowerLoadRps))
      } req/s, in full</h2>\n${await renderReportBody(pointReport)}`,
  ].filter(Boolean).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>tokentrace bench</title><style>${REPORT_CSS}</style></head>
<body><main>
${body}
</main></body></html>
`;
}

function pad(s: string, n: number): string {
  return s.padStart(n);
}
