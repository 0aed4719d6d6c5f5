/**
 * What a run recorded about how to report it: the SLO it was judged by, and the runs of the
 * sweep it belongs to (a report of a sweep point shows the whole curve).
 *
 * @module
 */
import type { Slo } from "./slo.ts";
import type { ReportSource } from "./snapshot.ts";

/**
 * The run and, when it is a sweep point, every point of its sweep.
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { sweepRunIds } from "./recorded.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createRun({ runId: "r1", backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n });
 * console.log(await sweepRunIds(store, "r1")); // [ "r1" ]
 * store.close();
 * ```
 */
export async function sweepRunIds(
  source: ReportSource,
  runId: string,
): Promise<string[]> {
  const rows = await source.query(
    `select run_id from runs
     where run_id = $1
        or sweep_id = (select sweep_id from runs where run_id = $1)
     order by run_id`,
    [runId],
  );
  return rows.map((r) => r.run_id as string);
}

/**
 * The SLO a run was recorded with: its sweep's, else its own (`runs.slo_*_ms`, schema version
 * 10: what `run --slo` and suites record, back-filled from the options JSON of older runs), else
 * `undefined`.
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { recordedSlo } from "./recorded.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createRun({ runId: "r1", backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n,
 *   slo: { ttftMs: 200 } });
 * console.log(await recordedSlo(store, "r1")); // { ttftMs: 200 }
 * store.close();
 * ```
 */
export async function recordedSlo(
  source: ReportSource,
  runId: string,
): Promise<Slo | undefined> {
  const rows = await source.query(
    `select s.slo_ttft_ms, s.slo_tpot_ms, s.slo_e2e_ms, s.slo_itl_ms,
       r.slo_ttft_ms as run_ttft_ms, r.slo_tpot_ms as run_tpot_ms,
       r.slo_e2e_ms as run_e2e_ms, r.slo_itl_ms as run_itl_ms
     from runs as r left join sweeps as s on s.sweep_id = r.sweep_id
     where r.run_id = $1`,
    [runId],
  );
  if (rows.length === 0) return undefined;
  const r = rows[0];
  const read = (prefix: "slo" | "run"): Slo => {
    const slo: Slo = {};
    for (const [k, col] of SLO_COLUMNS) {
      const v = r[`${prefix}_${col}`];
      if (v !== null && v !== undefined) slo[k] = Number(v);
    }
    return slo;
  };
  const fromSweep = read("slo");
  if (Object.keys(fromSweep).length > 0) return fromSweep;
  const own = read("run");
  return Object.keys(own).length > 0 ? own : undefined;
}

/** The bounds of an SLO and the column suffix each is stored under. */
const SLO_COLUMNS = [
  ["ttftMs", "ttft_ms"],
  ["tpotMs", "tpot_ms"],
  ["e2eMs", "e2e_ms"],
  ["itlMs", "itl_ms"],
] as const;
