/**
 * The dashboard as a hono app: runs list, run detail with the report's charts, a compare view,
 * and a SQL console that runs DuckDB-Wasm in the browser on the run's rows.
 *
 * Security rules (each has a test named after it in tests/reports/dashboard/app_test.ts):
 * - read-only methods: only GET and HEAD are answered; anything else is 405, so no request
 *   can carry a body to act on;
 * - read-only database: the store is opened read-only and no route runs SQL a request sent
 *   (SQL typed in the console runs in the browser on a copy);
 * - no file outside the assets: static files are looked up by name in a fixed table, never by
 *   a path from the request;
 * - known hosts only: a request whose Host header is not one of the allowed names is refused
 *   (a DNS-rebinding page cannot read the dashboard);
 * - a strict Content-Security-Policy: scripts only from the dashboard itself (plus WebAssembly
 *   compilation for DuckDB-Wasm), no framing.
 *
 * @module
 */
import { Hono } from "hono";
import type { Store } from "../../harness/store.ts";
import { compareSides } from "../results/compare.ts";
import { DEFAULT_GATES, evaluateGates, parseGates } from "../results/gate.ts";
import { refusalMessage, sideDifferences } from "../results/like_with_like.ts";
import { recordedSlo, sweepRunIds } from "../results/recorded.ts";
import { renderComparisonMarkdown } from "../render/comparison.ts";
import { resolveSide } from "../results/resolve_group.ts";
import { renderReportBody } from "../render/html.ts";
import { resolveRun } from "../results/resolve_run.ts";
import { collectRunReport } from "../results/run_report.ts";
import { parseSlo } from "../results/slo.ts";
import { openSnapshot } from "../results/snapshot.ts";
import { ASSET_NAMES, type AssetName } from "./assets.ts";
import {
  type CompareChoices,
  comparePage,
  errorPage,
  page,
  runsPage,
  sqlPage,
} from "./pages.ts";
import { runOverview, SORT_KEYS, type SortKey, sortRuns } from "./overview.ts";
import {
  CONSOLE_TABLES,
  consoleSchema,
  type ConsoleTable,
  exportTableCsv,
} from "./run_data.ts";
import { escapeMarkup as esc } from "../render/_escape.ts";
import {
  type DashboardEnv,
  knownHosts,
  readOnlyMethods,
  securityHeaders,
  storePerRequest,
} from "./middleware.ts";

export { CONTENT_SECURITY_POLICY, type DashboardEnv } from "./middleware.ts";

/** What the dashboard app needs; the caller opens and closes them. */
export interface DashboardDeps {
  /** The result database, opened read-only and held by the caller (tests). */
  store?: Store;
  /**
   * Opens the result database for one request (closed once it is answered), so the dashboard
   * holds no lock between requests and runs can record into the file meanwhile; a store that is
   * a running run's live snapshot (`Store.live`) gets a banner saying so. Used instead of
   * `store` when given.
   */
  openStore?: () => Promise<Store>;
  /** The browser assets by name (`loadAssets(locateAssets())`). */
  assets: ReadonlyMap<
    AssetName,
    { body: Uint8Array<ArrayBuffer>; contentType: string }
  >;
  /** A folder the app may write CSV exports into (removed after each is sent). */
  exportDir: string;
  /**
   * Host header names accepted (without port). Default `localhost`, `127.0.0.1`, `[::1]`; add
   * the name you bind when serving on another address.
   */
  allowedHosts?: readonly string[];
  /** Token events exported to the console at most. Default 2,000,000. */
  tokenEventsLimit?: number;
}

/**
 * Builds the dashboard app (it does not listen: pass `app.fetch` to `Deno.serve`).
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { createApp } from "./app.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * (await Store.open(path)).close();
 * const store = await Store.open(path, { readOnly: true });
 * const app = createApp({ store, assets: new Map(), exportDir: await Deno.makeTempDir() });
 * console.log((await app.request("/")).status); // 200
 * console.log((await app.request("/", { method: "POST" })).status); // 405
 * store.close();
 * ```
 */
export function createApp(deps: DashboardDeps): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();
  app.use(securityHeaders());
  app.use(readOnlyMethods());
  app.use(
    knownHosts(deps.allowedHosts ?? ["localhost", "127.0.0.1", "[::1]"]),
  );
  app.use(storePerRequest(deps));

  app.get("/", async (c) => {
    const store = c.var.store;
    const key =
      (SORT_KEYS as readonly string[]).includes(c.req.query("sort") ?? "")
        ? c.req.query("sort") as SortKey
        : "started";
    const dir = c.req.query("dir") === "asc" ? "asc" : "desc";
    const rows = sortRuns(await runOverview(store), key, dir);
    return c.html(runsPage(rows, { key, dir }));
  });

  app.get("/runs/:ref", async (c) => {
    const store = c.var.store;
    let runId: string;
    try {
      runId = (await resolveRun(store, c.req.param("ref"))).runId;
    } catch (e) {
      return c.html(errorPage("Run not found", (e as Error).message), 404);
    }
    const sloParam = c.req.query("slo");
    let slo;
    try {
      slo = sloParam ? parseSlo(sloParam) : await recordedSlo(store, runId);
    } catch (e) {
      return c.html(errorPage("Bad SLO", (e as Error).message), 400);
    }
    const snapshot = await openSnapshot(store, {
      runIds: await sweepRunIds(store, runId),
    });
    try {
      const report = await collectRunReport(snapshot, runId, { slo });
      return c.html(page(
        `Run ${report.summary.run.label ?? runId}`,
        `<p><a href="/sql?run=${
          encodeURIComponent(runId)
        }">Open this run in the SQL console</a></p>
${await renderReportBody(report)}`,
      ));
    } finally {
      snapshot.close();
    }
  });

  app.get("/compare", async (c) => {
    const store = c.var.store;
    const baseline = c.req.query("baseline");
    const candidate = c.req.query("candidate");
    const sloParam = c.req.query("slo");
    const gateParam = c.req.query("gate");
    const allowDifferent = c.req.query("allow_different") === "1";
    const values = {
      baseline,
      candidate,
      slo: sloParam,
      gate: gateParam,
      allowDifferent,
    };
    const choices = await compareChoices(store);
    if (!baseline || !candidate) {
      return c.html(comparePage(values, choices, ""));
    }
    let result: string;
    try {
      const b = await resolveSide(store, baseline);
      const k = await resolveSide(store, candidate);
      const slo = sloParam
        ? parseSlo(sloParam)
        : (await recordedSlo(store, b.runIds[0])) ??
          await recordedSlo(store, k.runIds[0]);
      const gates = parseGates(gateParam || DEFAULT_GATES);
      const differences = await sideDifferences(store, b.runIds, k.runIds);
      if (differences.length > 0 && !allowDifferent) {
        throw new Error(refusalMessage(baseline, candidate, differences));
      }
      const snapshot = await openSnapshot(store, {
        runIds: [...b.runIds, ...k.runIds],
      });
      try {
        const comparison = await compareSides(snapshot, b, k, {
          slo,
          differences,
        });
        result = markdownTable(
          renderComparisonMarkdown(
            comparison,
            evaluateGates(gates, comparison),
          ),
        );
      } finally {
        snapshot.close();
      }
    } catch (e) {
      return c.html(
        comparePage(
          values,
          choices,
          `<p class="banner" style="white-space:pre-wrap">${
            esc((e as Error).message)
          }</p>`,
        ),
        400,
      );
    }
    return c.html(comparePage(values, choices, result));
  });

  app.get("/sql", async (c) => {
    const store = c.var.store;
    const ref = c.req.query("run");
    if (!ref) return c.html(sqlPage(null));
    try {
      return c.html(sqlPage((await resolveRun(store, ref)).runId));
    } catch (e) {
      return c.html(errorPage("Run not found", (e as Error).message), 404);
    }
  });

  app.get(
    "/data/schema.json",
    async (c) => c.json(await consoleSchema(c.var.store)),
  );

  app.get("/data/:ref/:file", async (c) => {
    const store = c.var.store;
    const file = c.req.param("file");
    const table = file.endsWith(".csv") ? file.slice(0, -4) : "";
    if (!(CONSOLE_TABLES as readonly string[]).includes(table)) {
      return c.text(
        `Unknown table file "${file}": expected one of ${
          CONSOLE_TABLES.map((t) => `${t}.csv`).join(", ")
        }`,
        404,
      );
    }
    const ref = c.req.param("ref");
    let runIds: string[];
    if (ref === "_all") {
      runIds = (await store.query("select run_id from runs")).map((r) =>
        r.run_id as string
      );
    } else {
      try {
        runIds = await sweepRunIds(store, (await resolveRun(store, ref)).runId);
      } catch (e) {
        return c.text((e as Error).message, 404);
      }
    }
    const out = await exportTableCsv(
      store,
      table as ConsoleTable,
      runIds,
      deps.exportDir,
      { tokenEventsLimit: deps.tokenEventsLimit },
    );
    try {
      const body = await Deno.readFile(out.path);
      return c.body(body, 200, {
        "content-type": "text/csv; charset=utf-8",
        "x-tokentrace-rows": String(out.rows),
        "x-tokentrace-truncated": String(out.truncated),
      });
    } finally {
      await Deno.remove(out.path).catch(() => {});
    }
  });

  app.get("/assets/:name", (c) => {
    const name = c.req.param("name");
    if (!(ASSET_NAMES as readonly string[]).includes(name)) {
      return c.text(`No asset "${name}"`, 404);
    }
    const asset = deps.assets.get(name as AssetName);
    if (asset === undefined) return c.text(`Asset "${name}" not loaded`, 404);
    return c.body(asset.body, 200, {
      "content-type": asset.contentType,
      "cache-control": "no-cache",
    });
  });

  app.get("/favicon.ico", (c) => c.body(null, 204));

  app.notFound((c) =>
    c.html(
      errorPage("Not found", `No page at ${new URL(c.req.url).pathname}`),
      404,
    )
  );
  app.onError((e, c) => c.html(errorPage("Error", (e as Error).message), 500));
  return app;
}

/** The runs and groups the compare form offers, newest first. */
async function compareChoices(store: Store): Promise<CompareChoices> {
  const runs = (await store.query(
    `select run_id, label, strftime(timezone('UTC', started_at), '%Y-%m-%d %H:%M') as started
     from runs order by started_at desc, run_id`,
  )).map((r) => ({
    runId: r.run_id as string,
    label: r.label === null ? null : String(r.label),
    startedAt: r.started as string,
  }));
  const groups = (await store.query(
    `select g.group_id, g.label, count(r.run_id) as n
     from run_groups as g join runs as r using (group_id)
     group by g.group_id, g.label order by max(r.started_at) desc`,
  )).map((r) => ({
    groupId: r.group_id as string,
    label: r.label === null ? null : String(r.label),
    runs: Number(r.n),
  }));
  return { runs, groups };
}

/** The Markdown tables of a comparison as HTML tables (the dashboard's compare view). */
function markdownTable(md: string): string {
  const out: string[] = [];
  let inTable = false;
  for (const line of md.split("\n")) {
    if (line.startsWith("|")) {
      if (/^\|[-:|\s]+\|$/.test(line)) continue;
      const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((x) =>
        esc(x.trim().replaceAll("\\|", "|").replaceAll("**", ""))
      );
      out.push(
        inTable
          ? `<tr>${cells.map((x) => `<td>${x}</td>`).join("")}</tr>`
          : `<table id="comparison"><tr>${
            cells.map((x) => `<th>${x}</th>`).join("")
          }</tr>`,
      );
      inTable = true;
    } else {
      if (inTable) out.push("</table>");
      inTable = false;
      if (line.startsWith("# ")) out.push(`<h2>${esc(line.slice(2))}</h2>`);
      else if (line.startsWith("**") && line.endsWith("**")) {
        out.push(
          `<p class="headline" id="verdict">${esc(line.slice(2, -2))}</p>`,
        );
      } else if (line.startsWith("- ")) {
        out.push(`<p>${esc(line.slice(2))}</p>`);
      } else if (line.trim() !== "") out.push(`<p>${esc(line)}</p>`);
    }
  }
  if (inTable) out.push("</table>");
  return out.join("\n");
}
