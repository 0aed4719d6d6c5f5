/**
 * Resolving the run a user names (`--run`, `--baseline`, ...) to one run id of a result database.
 *
 * @module
 */
import type { ReportSource } from "./snapshot.ts";
import { editDistance } from "./_edit_distance.ts";

/** How a reference matched. */
export type RunMatch = "id" | "label" | "prefix" | "latest";

/** The run a reference resolved to. */
export interface ResolvedRun {
  /** Run id. */
  runId: string;
  /** The run's label, else `null`. */
  label: string | null;
  /** How the reference matched: exact id, label (latest run with it), unique id prefix, or none given. */
  matchedBy: RunMatch;
}

/** How many close matches an unknown reference lists at most. */
const MAX_SUGGESTIONS = 5;

interface RunRow {
  runId: string;
  label: string | null;
}

/**
 * Finds the run that `ref` names in `store`.
 *
 * Tried in order: an exact run id; a label (the latest run, by `started_at`, carrying it); a
 * prefix of exactly one run id. Without `ref`, the latest run of the file. Errors: an empty
 * database, an ambiguous prefix (the matching ids are listed), or no match (up to 5 close ids
 * and labels are listed, by prefix and edit distance).
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { resolveRun } from "./resolve_run.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createRun({
 *   runId: "3f2a9c1e-5b7d-4e21-9c3a-0d1e2f3a4b5c",
 *   label: "baseline",
 *   backend: "openai",
 *   toolVersion: "0.1.0",
 *   clockOriginUnixNs: 1_795_000_000_000_000_000n,
 * });
 * console.log(await resolveRun(store, "baseline")); // matchedBy "label"
 * console.log(await resolveRun(store, "3f2a")); // matchedBy "prefix"
 * store.close();
 * ```
 */
export async function resolveRun(
  store: ReportSource,
  ref?: string,
): Promise<ResolvedRun> {
  const rows = await store.query(
    `select run_id, label from runs order by started_at desc, run_id desc`,
  );
  const runs: RunRow[] = rows.map((r) => ({
    runId: r.run_id as string,
    label: (r.label as string | null) ?? null,
  }));
  if (runs.length === 0) {
    throw new Error(
      `Result database "${store.path}" has no runs: record one with tokentrace run --db "${store.path}"`,
    );
  }
  if (ref === undefined) return { ...runs[0], matchedBy: "latest" };

  const byId = runs.find((r) => r.runId === ref);
  if (byId) return { ...byId, matchedBy: "id" };
  // `runs` is newest first, so the first run with the label is the latest.
  const byLabel = runs.find((r) => r.label === ref);
  if (byLabel) return { ...byLabel, matchedBy: "label" };
  const byPrefix = ref === ""
    ? []
    : runs.filter((r) => r.runId.startsWith(ref));
  if (byPrefix.length === 1) return { ...byPrefix[0], matchedBy: "prefix" };
  if (byPrefix.length > 1) {
    const ids = byPrefix.map((r) => r.runId).sort();
    const listed = ids.slice(0, MAX_SUGGESTIONS).join(", ") +
      (ids.length > MAX_SUGGESTIONS ? ", ..." : "");
    throw new Error(
      `Run "${ref}" in "${store.path}" is ambiguous: it is a prefix of ${ids.length} run ids ` +
        `(${listed}): give more characters or a label`,
    );
  }

  const suggestions = closeMatches(ref, runs);
  const labels = new Set(
    runs.flatMap((r) => r.label === null ? [] : [r.label]),
  );
  const tail = suggestions.length > 0
    ? `close matches: ${suggestions.join(", ")}`
    : `none is close among ${runs.length} run ids and ${labels.size} labels`;
  throw new Error(
    `No run "${ref}" in "${store.path}": expected a run id, a unique run id prefix or a label; ${tail}`,
  );
}

/**
 * Up to {@linkcode MAX_SUGGESTIONS} ids and labels close to `ref`, closest first, formatted as
 * `label "x"` / `run id "y"`. Case is ignored; an id is also compared by its first
 * `ref.length` characters, so a mistyped prefix finds its id.
 */
function closeMatches(ref: string, runs: RunRow[]): string[] {
  const needle = ref.toLowerCase();
  const limit = Math.max(1, Math.floor(needle.length / 3));
  const candidates = new Map<string, { text: string; score: number }>();
  const consider = (kind: "label" | "run id", value: string) => {
    const hay = value.toLowerCase();
    let score: number;
    if (needle.length >= 3 && hay.includes(needle)) {
      score = 0;
    } else {
      score = Math.min(
        editDistance(needle, hay),
        editDistance(needle, hay.slice(0, needle.length)),
      );
    }
    if (score > limit) return;
    const text = `${kind} "${value}"`;
    const known = candidates.get(text);
    if (known === undefined || score < known.score) {
      candidates.set(text, { text, score });
    }
  };
  for (const r of runs) {
    if (r.label !== null) consider("label", r.label);
    consider("run id", r.runId);
  }
  return [...candidates.values()]
    .sort((a, b) => a.score - b.score || compareText(a.text, b.text))
    .slice(0, MAX_SUGGESTIONS)
    .map((c) => c.text);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
