/**
 * Like with like: a comparison is only meaningful between runs that replayed the same workload
 * (trace hash, transforms, seed, prompts) against the same kind of backend (kind, model, API,
 * engine settings) under the same load settings (open or closed loop, rate, caps, timeouts,
 * measurement trims). This module reads what each run recorded (`runs.workload`, `backend`,
 * `backend_info`, `options`), flattens it to `path = value` settings, and lists the
 * differences; `compare` refuses a comparison with differences unless told
 * `--allow-different`.
 *
 * What is left out, because it does not change what is measured: where files and servers are
 * (trace path, tokenizer path, server URL), how the run was named and printed (db, label,
 * quiet, json), which gates and SLO judge it (the SLO is checked on its own by `compare`), and
 * values that differ on every run by design (the GPU clock offset).
 *
 * @module
 */
import type { ReportSource } from "./snapshot.ts";

/** One setting that differs. Values are JSON text; `(absent)` when a side lacks the setting. */
export interface SettingDifference {
  /** `workload.<...>`, `backend.<...>` or `options.<...>` (load and run settings). */
  path: string;
  /** The baseline's value, JSON text. */
  baseline: string;
  /** The candidate's value, JSON text. */
  candidate: string;
}

/** Option keys of `runs.options` that do not change what is measured. */
const IGNORED_OPTIONS = new Set([
  "db",
  "label",
  "quiet",
  "json",
  "slo",
  "failurePolicy",
  "url",
  "apiKeyEnv",
  "trace",
  "workload",
  "tokenizer",
  "format",
  "suiteGates",
  "suiteFailurePolicy",
  "repeat",
  "maxErrorRate",
  "summary",
  "grouping",
  "html",
  // when a sharded run started (run --start-at): not what it measured
  "startAtUnixNs",
]);

/** Flattened paths that do not change what is measured. */
const IGNORED_PATHS = [
  /^workload\.source\.path$/,
  /^workload\.prompt\.tokenizer$/,
  /^backend\.baseUrl$/,
  /^backend\.gpuClockOffsetNs$/,
];

/** What the word `(absent)` stands for in a difference. */
export const ABSENT = "(absent)";

/**
 * The comparable settings of `runId`, flattened: `{ "workload.seed": "0", ... }`.
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { runSettings } from "./like_with_like.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createRun({ runId: "r1", backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n,
 *   workload: { seed: 3 }, options: { db: "x.duckdb", load: { concurrency: 8 } } });
 * console.log(await runSettings(store, "r1"));
 * // { "workload.seed": "3", "backend.kind": "\"openai\"", "options.load.concurrency": "8" }
 * store.close();
 * ```
 */
export async function runSettings(
  source: ReportSource,
  runId: string,
): Promise<Record<string, string>> {
  const rows = await source.query(
    `select backend, workload::varchar as workload, options::varchar as options,
       backend_info::varchar as backend_info
     from runs where run_id = $1`,
    [runId],
  );
  if (rows.length === 0) {
    throw new Error(`Run "${runId}" not found in "${source.path}"`);
  }
  const r = rows[0];
  const parse = (v: unknown) => v === null ? null : JSON.parse(String(v));
  const out: Record<string, string> = {};
  flatten("workload", parse(r.workload), out);
  out["backend.kind"] = JSON.stringify(r.backend);
  const info = parse(r.backend_info);
  if (info !== null && typeof info === "object") {
    const { backend: _kind, ...rest } = info as Record<string, unknown>;
    flatten("backend", rest, out);
  }
  const options = parse(r.options);
  if (options !== null && typeof options === "object") {
    for (const [k, v] of Object.entries(options as Record<string, unknown>)) {
      if (!IGNORED_OPTIONS.has(k)) flatten(`options.${k}`, v, out);
    }
  }
  for (const path of Object.keys(out)) {
    if (IGNORED_PATHS.some((p) => p.test(path))) delete out[path];
  }
  return out;
}

/**
 * The settings that differ between two flattened setting maps, sorted by path.
 *
 * @example
 * ```ts
 * import { settingDifferences } from "./like_with_like.ts";
 * console.log(settingDifferences({ "workload.seed": "0" }, { "workload.seed": "1" }));
 * // [ { path: "workload.seed", baseline: "0", candidate: "1" } ]
 * ```
 */
export function settingDifferences(
  baseline: Record<string, string>,
  candidate: Record<string, string>,
): SettingDifference[] {
  const paths = [
    ...new Set([...Object.keys(baseline), ...Object.keys(candidate)]),
  ]
    .sort();
  return paths.flatMap((path) => {
    const b = baseline[path] ?? ABSENT;
    const c = candidate[path] ?? ABSENT;
    return b === c ? [] : [{ path, baseline: b, candidate: c }];
  });
}

/**
 * Every difference between two sides: between the first baseline run and the first candidate
 * run, and between the runs within each side (a group should be one configuration).
 *
 * @example
 * ```ts ignore
 * const diffs = await sideDifferences(snapshot, ["a1", "a2"], ["b1", "b2"]);
 * ```
 */
export async function sideDifferences(
  source: ReportSource,
  baselineRunIds: readonly string[],
  candidateRunIds: readonly string[],
): Promise<SettingDifference[]> {
  const settings = new Map<string, Record<string, string>>();
  for (const id of [...baselineRunIds, ...candidateRunIds]) {
    if (!settings.has(id)) settings.set(id, await runSettings(source, id));
  }
  const b0 = settings.get(baselineRunIds[0])!;
  const c0 = settings.get(candidateRunIds[0])!;
  const out = settingDifferences(b0, c0);
  const within = (side: string, ids: readonly string[]) => {
    for (const id of ids.slice(1)) {
      for (
        const d of settingDifferences(settings.get(ids[0])!, settings.get(id)!)
      ) {
        out.push({
          path: `${d.path} (within the ${side} group: run ${ids[0]} vs ${id})`,
          baseline: d.baseline,
          candidate: d.candidate,
        });
      }
    }
  };
  within("baseline", baselineRunIds);
  within("candidate", candidateRunIds);
  return out;
}

/**
 * The refusal message of a comparison between sides that were not run alike (one line per
 * difference, values cut at 60 characters).
 *
 * @example
 * ```ts
 * import { refusalMessage } from "./like_with_like.ts";
 * console.log(refusalMessage("main", "pr-1", [
 *   { path: "workload.seed", baseline: "0", candidate: "1" },
 * ]));
 * ```
 */
export function refusalMessage(
  baseline: string,
  candidate: string,
  differences: readonly SettingDifference[],
): string {
  return [
    `Baseline "${baseline}" and candidate "${candidate}" were not run alike: ${differences.length} ` +
    `setting${
      differences.length === 1 ? " differs" : "s differ"
    } (baseline vs candidate):`,
    ...differences.map((d) =>
      `  ${d.path}: ${cut(d.baseline)} vs ${cut(d.candidate)}`
    ),
    "Compare runs of the same workload, backend and load settings, or pass --allow-different " +
    "to compare them anyway (the differences are then printed with the result)",
  ].join("\n");
}

function cut(v: string): string {
  return v.length > 60 ? `${v.slice(0, 57)}...` : v;
}

function flatten(
  prefix: string,
  v: unknown,
  out: Record<string, string>,
): void {
  if (Array.isArray(v)) {
    if (v.length === 0) out[prefix] = "[]";
    v.forEach((x, i) => flatten(`${prefix}[${i}]`, x, out));
  } else if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) out[prefix] = "{}";
    for (const [k, x] of entries) flatten(`${prefix}.${k}`, x, out);
  } else if (v !== undefined) {
    out[prefix] = JSON.stringify(v);
  }
}
