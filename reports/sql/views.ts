/**
 * Installs the metric views and macros of `reports/sql/` into a result database.
 *
 * Every metric is defined once, in SQL, in `reports/sql/<name>.sql` (see docs/METRICS.md); this module
 * only executes those files, in dependency order. On a writable store the views are persisted
 * into the database file, so anyone opening it later (duckdb CLI, Python, the dashboard) can
 * query `request_metrics`, `run_latency_summary`, `slo_attainment(...)` and the rest directly.
 * On a read-only store they are created as TEMP views and macros of this connection instead;
 * temp objects take precedence over persisted ones of the same name, so a file written by an
 * older tokentrace is still read with this build's definitions.
 *
 * @module
 */
import type { Store } from "../../harness/store.ts";

/** What a view file defines: a plain view, or a DuckDB table macro (a view with parameters). */
export type ViewKind = "view" | "macro";

/** One file of `reports/sql/`: the object it defines is named like the file. */
export interface ViewFile {
  /** Name of the view or macro, and of the file without `.sql`. */
  name: string;
  /** Whether the file defines a plain view or a table macro. */
  kind: ViewKind;
}

/**
 * The view files in dependency order: each reads only tables and the entries before it.
 *
 * @example
 * ```ts
 * import { VIEW_FILES } from "./views.ts";
 * console.log(VIEW_FILES.map((v) => v.name).join(" -> "));
 * ```
 */
export const VIEW_FILES: readonly ViewFile[] = [
  { name: "request_keys", kind: "view" },
  { name: "token_bearing_events", kind: "view" },
  { name: "token_chunks", kind: "view" },
  { name: "itl_gaps", kind: "view" },
  { name: "request_metrics", kind: "view" },
  { name: "run_window", kind: "view" },
  { name: "request_window", kind: "view" },
  { name: "run_latency_summary", kind: "view" },
  { name: "run_throughput", kind: "view" },
  { name: "anchor_request_metrics", kind: "view" },
  { name: "run_anchor_latency_summary", kind: "view" },
  { name: "run_latency_cdf", kind: "view" },
  { name: "run_timeseries", kind: "view" },
  { name: "run_offered_load", kind: "view" },
  { name: "request_length_drift", kind: "view" },
  { name: "request_server_timings", kind: "view" },
  { name: "run_server_latency_summary", kind: "view" },
  { name: "run_token_delivery", kind: "view" },
  { name: "run_engine_token_delivery", kind: "view" },
  { name: "run_shard_clock", kind: "view" },
  { name: "run_fidelity", kind: "view" },
  { name: "metric_samples", kind: "view" },
  { name: "run_errors", kind: "view" },
  { name: "run_length_summary", kind: "view" },
  { name: "request_token_times", kind: "view" },
  { name: "failure_policy_name", kind: "macro" },
  { name: "request_slo", kind: "macro" },
  { name: "slo_attainment", kind: "macro" },
  { name: "sweep_attainment", kind: "macro" },
  { name: "sweep_capacity", kind: "macro" },
  { name: "bootstrap_compare", kind: "macro" },
  { name: "run_statistics", kind: "macro" },
  { name: "between_run_compare", kind: "macro" },
  { name: "request_export", kind: "macro" },
];

/** What {@linkcode installViews} did. */
export interface InstalledViews {
  /** Names installed, in order. */
  names: string[];
  /** `true` when created as TEMP objects of this connection (read-only store). */
  temporary: boolean;
}

/**
 * Creates or replaces every view and macro of {@linkcode VIEW_FILES}; safe to call repeatedly.
 *
 * All statements run in one transaction: either every definition is replaced or none is. Needs
 * read access to `reports/sql/` (`--allow-read`; `deno compile` needs `--include reports/sql`).
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { installViews } from "./views.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * const installed = await installViews(store);
 * console.log(installed.names.length, installed.temporary); // 30 false
 * console.log(await store.query("select count(*) as n from request_metrics"));
 * store.close();
 * ```
 */
export async function installViews(store: Store): Promise<InstalledViews> {
  const temporary = store.readOnly;
  const statements = await viewStatements(temporary ? "temp" : "persist");
  await store.exec("begin transaction");
  for (const { file, sql } of statements) {
    try {
      await store.exec(sql);
    } catch (e) {
      await store.exec("rollback");
      throw new Error(
        `Installing the view defined in "${file}" into "${store.path}" failed: ${
          (e as Error).message
        }`,
      );
    }
  }
  await store.exec("commit");
  return { names: VIEW_FILES.map((v) => v.name), temporary };
}

/**
 * How a definition is created: `persist` into the database file, `temp` as a TEMP view or macro
 * of the connection, `materialize` as a TEMP table holding the view's rows (macros stay macros).
 */
export type ViewMode = "persist" | "temp" | "materialize";

/** One ready-to-run definition statement and the file it came from. */
export interface ViewStatement {
  /** Name of the view or macro. */
  name: string;
  /** Whether it is a plain view or a table macro. */
  kind: ViewKind;
  /** Path (or URL) of the `.sql` file. */
  file: string;
  /** The statement's SQL text. */
  sql: string;
}

/**
 * The statements that create every entry of {@linkcode VIEW_FILES}, in order, for `mode`
 * (`materialize` applies to the views named in `materialized`, default all; the others are TEMP
 * views).
 *
 * @example
 * ```ts
 * import { viewStatements } from "./views.ts";
 * const statements = await viewStatements("materialize", new Set(["request_metrics"]));
 * console.log(statements.find((s) => s.name === "request_metrics")?.sql.includes("temp table"));
 * ```
 */
export async function viewStatements(
  mode: ViewMode,
  materialized?: ReadonlySet<string>,
): Promise<ViewStatement[]> {
  const statements: ViewStatement[] = [];
  for (const view of VIEW_FILES) {
    const url = new URL(`./${view.name}.sql`, import.meta.url);
    const file = url.protocol === "file:" ? decodeURI(url.pathname) : url.href;
    let text: string;
    try {
      text = await Deno.readTextFile(url);
    } catch (e) {
      throw new Error(
        `Cannot read view definition "${file}": ${(e as Error).message}`,
      );
    }
    let header: string | undefined;
    if (mode === "temp") header = `create or replace temp ${view.kind}`;
    if (mode === "materialize") {
      header = view.kind === "view" &&
          (materialized === undefined || materialized.has(view.name))
        ? "create or replace temp table"
        : `create or replace temp ${view.kind}`;
    }
    statements.push({
      name: view.name,
      kind: view.kind,
      file,
      sql: prepareStatement(text, view, file, header),
    });
  }
  return statements;
}

/**
 * Checks that a file defines exactly the object it is named for, and rewrites its
 * `create or replace <kind>` to `header` when one is given.
 * The statement must start a line as `create or replace view <name>` (or `macro <name>`).
 */
function prepareStatement(
  text: string,
  view: ViewFile,
  file: string,
  header: string | undefined,
): string {
  const pattern = /^create or replace (view|macro) ([a-z_][a-z0-9_]*)\b/gim;
  const found = [...text.matchAll(pattern)];
  const expected = `create or replace ${view.kind} ${view.name}`;
  if (found.length !== 1) {
    throw new Error(
      `View file "${file}": expected exactly one statement starting a line with "${expected}", ` +
        `found ${found.length}`,
    );
  }
  const [match, kind, name] = found[0];
  if (kind.toLowerCase() !== view.kind || name !== view.name) {
    throw new Error(
      `View file "${file}": expected "${expected}", got "${match}"`,
    );
  }
  if (header === undefined) return text;
  const index = found[0].index;
  return text.slice(0, index) + `${header} ${view.name}` +
    text.slice(index + match.length);
}
