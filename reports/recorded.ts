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
 * import { Store } from "../harness/store.ts";
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
 * The SLO a run was recorded with: its sweep's, else the `slo` of its options JSON (what
 * `run --slo` stored), else `undefined`.
 *
 * @example
 * ```ts
 * import { Store } from "../harness/store.ts";
 * import { recordedSlo } from "./recorded.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createRun({ runId: "r1", backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n,
 *   options: { slo: { ttftMs: 200 } } });
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
       json_extract(r.options, '$.slo')::varchar as options_slo
     from runs as r left join sweeps as s on s.sweep_id = r.sweep_id
     where r.run_id = $1`,
    [runId],
  );
  if (rows.length === 0) return undefined;
  const r = rows[0];
  const fromSweep: Slo = {};
  if (r.slo_ttft_ms !== null) fromSweep.ttftMs = Number(r.slo_ttft_ms);
  if (r.slo_tpot_ms !== null) fromSweep.tpotMs = Number(r.slo_tpot_ms);
  if (r.slo_e2e_ms !== null) fromSweep.e2eMs = Number(r.slo_e2e_ms);
  if (r.slo_itl_ms !== null) fromSweep.itlMs = Number(r.slo_itl_ms);
  if (Object.keys(fromSweep).length > 0) return fromSweep;
  if (r.options_slo === null) return undefined;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(String(r.options_slo));
  } catch {
    return undefined;
  }
  const slo: Slo = {};
  for (const k of ["ttftMs", "tpotMs", "e2eMs", "itlMs"] as const) {
    if (typeof o?.[k] === "number") slo[k] = o[k] as number;
  }
  return Object.keys(slo).length > 0 ? slo : undefined;
}
