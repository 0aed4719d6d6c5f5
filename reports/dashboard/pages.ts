/**
 * The dashboard's HTML pages (layout, runs list, compare form, SQL console), as strings. Every
 * value from the database is escaped; pages carry no inline script (the Content-Security-Policy
 * forbids it).
 *
 * @module
 */
import { escapeMarkup as esc } from "../render/_escape.ts";
import { REPORT_CSS } from "../render/html.ts";

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
.results{overflow:auto;max-height:480px}#status{margin:6px 0}
form.inline input{margin-right:8px}</style>${head}</head>
<body><main>
<nav><a href="/">Runs</a><a href="/compare">Compare</a><a href="/sql">SQL console</a></nav>
${body}
</main></body></html>
`;
}

/** One row of the runs list. */
export interface RunListRow {
  runId: string;
  label: string | null;
  status: string;
  startedAt: string;
  backend: string;
  requests: number;
  sweepId: string | null;
  suite: string | null;
  scenario: string | null;
}

/**
 * The runs list.
 *
 * @example
 * ```ts
 * import { runsPage } from "./pages.ts";
 * console.log(runsPage([]).includes("No runs")); // true
 * ```
 */
export function runsPage(rows: readonly RunListRow[]): string {
  if (rows.length === 0) {
    return page(
      "Runs",
      `<h1>Runs</h1><p>No runs in this database yet: record one with <code>tokentrace run</code>.</p>`,
    );
  }
  const body = rows.map((r) =>
    `<tr><td><a href="/runs/${encodeURIComponent(r.runId)}">${
      esc(r.label ?? r.runId.slice(0, 8))
    }</a></td><td><code>${esc(r.runId)}</code></td><td>${
      esc(r.status)
    }</td><td>${esc(r.startedAt)}</td><td>${
      esc(r.backend)
    }</td><td>${r.requests}</td><td>${
      esc(
        [
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
<table id="runs"><tr><th>label</th><th>run id</th><th>status</th><th>started (UTC)</th><th>backend</th><th>requests</th><th>group</th><th></th></tr>
${body}</table>`,
  );
}

/**
 * The compare form, with the comparison's HTML below it when one was made.
 *
 * @example
 * ```ts
 * import { comparePage } from "./pages.ts";
 * console.log(comparePage({}, "").includes('name="baseline"')); // true
 * ```
 */
export function comparePage(
  values: { baseline?: string; candidate?: string; slo?: string },
  result: string,
): string {
  const input = (name: string, v: string | undefined, hint: string) =>
    `<label>${name} <input name="${name}" value="${
      esc(v ?? "")
    }" placeholder="${esc(hint)}"></label>`;
  return page(
    "Compare",
    `<h1>Compare two runs</h1>
<form class="inline" method="get" action="/compare">
${input("baseline", values.baseline, "run id or label")}
${input("candidate", values.candidate, "run id or label")}
${input("slo", values.slo, "ttft=500,tpot=50")}
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
