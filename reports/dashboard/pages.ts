/**
 * The dashboard's HTML pages (layout, runs list, compare form, SQL console), as strings. Every
 * value from the database is escaped; pages carry no inline script (the Content-Security-Policy
 * forbids it).
 *
 * @module
 */
import { escapeMarkup as esc } from "../render/_escape.ts";
import {
  formatCount,
  formatDecimal,
  formatLatencyMs,
  formatPercent,
  MISSING,
} from "../render/_text.ts";
import { REPORT_CSS } from "../render/html.ts";
import { formatSlo } from "../results/slo.ts";
import type { RunOverviewRow, SortKey } from "./overview.ts";

/**
 * A full page around `body`, with the navigation and the shared stylesheet.
 *
 * @example
 * ```ts
 * import { page } from "./pages.ts";
 * console.log(page("Runs", "<p>none</p>").includes("<title>Runs · tokentrace</title>")); // true
 * ```
 */
export function page(
  title: string,
  body: string,
  head = "",
): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · tokentrace</title><style>${REPORT_CSS}
.console textarea{width:100%;height:110px;font:13px ui-monospace,monospace}
.results{overflow:auto;max-height:480px}#status{margin:6px 0;white-space:pre-wrap}
th a{color:inherit;text-decoration:none}th a.sorted{text-decoration:underline}
form.compare label{display:block;margin:4px 0}form.compare select,form.compare input{min-width:320px}
form.inline input{margin-right:8px}</style>${head}</head>
<body><main>
<nav><a href="/">Runs</a><a href="/compare">Compare</a><a href="/sql">SQL console</a></nav>
${body}
</main></body></html>
`;
}

/**
 * The runs list: goodput, attainment, p99 TTFT / TPOT and the fidelity flag of every run, sorted
 * by `sort` (each header links to sorting by it; a second click reverses).
 *
 * @example
 * ```ts
 * import { runsPage } from "./pages.ts";
 * console.log(runsPage([], { key: "started", dir: "desc" }).includes("No runs")); // true
 * ```
 */
export function runsPage(
  rows: readonly RunOverviewRow[],
  sort: { key: SortKey; dir: "asc" | "desc" },
): string {
  if (rows.length === 0) {
    return page(
      "Runs",
      `<h1>Runs</h1><p>No runs in this database yet: record one with <code>tokentrace run</code>.</p>`,
    );
  }
  const head = (key: SortKey, title: string) => {
    const dir = sort.key === key && sort.dir === "desc" ? "asc" : "desc";
    return `<th><a href="/?sort=${key}&amp;dir=${dir}"${
      sort.key === key ? ' class="sorted"' : ""
    }>${esc(title)}${
      sort.key === key ? (sort.dir === "desc" ? " ▼" : " ▲") : ""
    }</a></th>`;
  };
  const body = rows.map((r) =>
    `<tr data-run="${esc(r.runId)}"><td><a href="/runs/${
      encodeURIComponent(r.runId)
    }">${esc(r.label ?? r.runId.slice(0, 8))}</a></td><td>${
      esc(r.status)
    }</td><td>${esc(r.startedAt)}</td><td>${esc(r.backend)}</td><td>${
      formatCount(r.requests)
    }</td><td>${
      r.goodputRps === null ? MISSING : esc(formatDecimal(r.goodputRps))
    }</td><td>${formatPercent(r.attainment)}</td><td>${
      esc(r.slo === null ? "(none)" : formatSlo(r.slo))
    }</td><td>${esc(formatLatencyMs(r.ttftP99Ms))}</td><td>${
      esc(formatLatencyMs(r.tpotP99Ms))
    }</td><td>${
      r.flagged.length === 0
        ? '<span class="ok">OK</span>'
        : `<span class="flag" title="${
          esc(r.flagged.join(", "))
        }">FLAGGED</span>`
    }</td><td>${
      esc(
        [
          r.groupId === null ? "" : `group ${r.groupId.slice(0, 8)}`,
          r.sweepId === null ? "" : `sweep ${r.sweepId.slice(0, 8)}`,
          r.suite === null ? "" : `${r.suite}/${r.scenario}`,
        ].filter((x) => x !== "").join(" "),
      )
    }</td><td><a href="/sql?run=${
      encodeURIComponent(r.runId)
    }">SQL</a></td></tr>`
  ).join("\n");
  return page(
    "Runs",
    `<h1>Runs</h1>
<p class="note">Goodput (req/s) and attainment under the SLO each run recorded; p99 in ms (10 s
and more in s); fidelity: any flagged check of run_fidelity (hover for which).</p>
<table id="runs"><tr>${head("label", "label")}${head("status", "status")}${
      head("started", "started (UTC)")
    }<th>backend</th>${head("requests", "requests")}${
      head("goodput", "goodput")
    }${head("attainment", "attainment")}<th>SLO</th>${
      head("ttft_p99", "p99 TTFT")
    }${head("tpot_p99", "p99 TPOT")}${
      head("fidelity", "fidelity")
    }<th>group</th><th></th></tr>
${body}</table>`,
  );
}

/** What the compare form offers: runs and groups of repeated runs. */
export interface CompareChoices {
  runs: { runId: string; label: string | null; startedAt: string }[];
  groups: { groupId: string; label: string | null; runs: number }[];
}

/**
 * The compare form (baseline and candidate picked from the runs and groups, an SLO, a gate, and
 * whether differing settings may be compared), with the comparison's HTML below it.
 *
 * @example
 * ```ts
 * import { comparePage } from "./pages.ts";
 * console.log(comparePage({}, { runs: [], groups: [] }, "").includes('name="baseline"')); // true
 * ```
 */
export function comparePage(
  values: {
    baseline?: string;
    candidate?: string;
    slo?: string;
    gate?: string;
    allowDifferent?: boolean;
  },
  choices: CompareChoices,
  result: string,
): string {
  const select = (name: string, chosen: string | undefined) => {
    const option = (value: string, text: string) =>
      `<option value="${esc(value)}"${value === chosen ? " selected" : ""}>${
        esc(text)
      }</option>`;
    return `<label>${name} <select name="${name}"><option value="">(choose)</option>
<optgroup label="groups of repeated runs">${
      choices.groups.map((g) =>
        option(
          g.groupId,
          `${g.label ?? g.groupId.slice(0, 8)} (group of ${g.runs} runs)`,
        )
      ).join("")
    }</optgroup><optgroup label="runs">${
      choices.runs.map((r) =>
        option(
          r.runId,
          `${r.label ?? r.runId.slice(0, 8)} (run, ${r.startedAt})`,
        )
      ).join("")
    }</optgroup></select></label>`;
  };
  const input = (name: string, v: string | undefined, hint: string) =>
    `<label>${name} <input name="${name}" value="${
      esc(v ?? "")
    }" placeholder="${esc(hint)}"></label>`;
  return page(
    "Compare",
    `<h1>Compare runs or groups</h1>
<form class="compare" method="get" action="/compare">
${select("baseline", values.baseline)}
${select("candidate", values.candidate)}
${input("slo", values.slo, "recorded, e.g. ttft=500,tpot=50")}
${input("gate", values.gate, "default gates, e.g. p99_ttft:+10%,goodput:-5%")}
<label><input type="checkbox" name="allow_different" value="1"${
      values.allowDifferent ? " checked" : ""
    }> compare even if workload, backend or load settings differ</label>
<button type="submit">Compare</button></form>
${result}`,
  );
}

/**
 * The SQL console: DuckDB-Wasm in the browser over the rows of `runId` (all runs when `null`).
 *
 * @example
 * ```ts
 * import { sqlPage } from "./pages.ts";
 * console.log(sqlPage("r1").includes('data-run="r1"')); // true
 * ```
 */
export function sqlPage(runId: string | null): string {
  return page(
    "SQL console",
    `<h1>SQL console${
      runId === null ? "" : ` · run <code>${esc(runId)}</code>`
    }</h1>
<p class="note">Runs DuckDB-Wasm in this browser on a copy of the run's rows (tables runs,
requests, token_events, sweeps) with every metric view of reports/sql/ (request_metrics,
run_latency_summary, slo_attainment(...), ...). Nothing you type reaches the server.</p>
<div class="console" id="console" data-run="${esc(runId ?? "")}">
<textarea id="sql" spellcheck="false">select metric, n, p50_ms, p99_ms from run_latency_summary order by metric_order</textarea>
<button id="run" disabled>Run (Ctrl+Enter)</button>
<button id="download" disabled>Download CSV</button>
<div id="status">Loading DuckDB-Wasm…</div>
<div class="results" id="results"></div></div>`,
    `<script src="/assets/arrow.js"></script><script type="module" src="/assets/console.js"></script>`,
  );
}

/**
 * An error page body: what went wrong, in words.
 *
 * @example
 * ```ts
 * import { errorPage } from "./pages.ts";
 * console.log(errorPage("Not found", "No run x").includes("No run x")); // true
 * ```
 */
export function errorPage(title: string, message: string): string {
  return page(
    title,
    `<h1>${esc(title)}</h1><p class="banner">${esc(message)}</p>`,
  );
}
