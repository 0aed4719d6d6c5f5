/**
 * The dashboard's runs list: every run with its goodput, attainment (under the SLO it recorded),
 * p99 TTFT / TPOT and fidelity flag, and the sort orders the list offers. Values come from the
 * views (`slo_attainment`, `run_latency_summary`, `run_fidelity`) over one snapshot.
 *
 * @module
 */
import type { Store } from "../../harness/store.ts";
import { recordedSlo } from "../results/recorded.ts";
import { formatSlo, type Slo } from "../results/slo.ts";
import { openSnapshot } from "../results/snapshot.ts";

/** One row of the runs list. */
export interface RunOverviewRow {
  runId: string;
  label: string | null;
  status: string;
  startedAt: string;
  backend: string;
  requests: number;
  sweepId: string | null;
  suite: string | null;
  scenario: string | null;
  groupId: string | null;
  /** The SLO the run recorded (`null`: none, so goodput and attainment are empty). */
  slo: Slo | null;
  goodputRps: number | null;
  attainment: number | null;
  ttftP99Ms: number | null;
  tpotP99Ms: number | null;
  /** Names of the flagged fidelity checks (empty: fidelity OK). */
  flagged: string[];
}

/** The columns the list sorts by. */
export const SORT_KEYS = [
  "started",
  "label",
  "status",
  "requests",
  "goodput",
  "attainment",
  "ttft_p99",
  "tpot_p99",
  "fidelity",
] as const;

/** A key of {@linkcode SORT_KEYS}. */
export type SortKey = typeof SORT_KEYS[number];

/**
 * Reads the runs list, newest first.
 *
 * @example
 * ```ts ignore
 * const rows = await runOverview(store);
 * ```
 */
export async function runOverview(store: Store): Promise<RunOverviewRow[]> {
  const snapshot = await openSnapshot(store);
  try {
    const rows = await snapshot.query(
      `select r.run_id, r.label, r.status, strftime(timezone('UTC', r.started_at),
         '%Y-%m-%d %H:%M:%S') as started, r.backend, r.sweep_id, r.suite, r.scenario,
         r.group_id,
         (select count(*) from requests as q where q.run_id = r.run_id) as n,
         (select p99_ms from run_latency_summary as l
          where l.run_id = r.run_id and l.metric = 'ttft_ms') as ttft_p99_ms,
         (select p99_ms from run_latency_summary as l
          where l.run_id = r.run_id and l.metric = 'tpot_ms') as tpot_p99_ms,
         (select list(check_name order by check_order) from run_fidelity as f
          where f.run_id = r.run_id and f.flagged) as flagged
       from runs as r order by r.started_at desc, r.run_id`,
    );
    const slos = new Map<string, Slo | undefined>();
    for (const r of rows) {
      slos.set(
        r.run_id as string,
        await recordedSlo(snapshot, r.run_id as string),
      );
    }
    // one slo_attainment query per distinct SLO
    const judged = new Map<
      string,
      { goodput: number | null; attainment: number | null }
    >();
    const distinct = new Map<string, Slo>();
    for (const slo of slos.values()) if (slo) distinct.set(formatSlo(slo), slo);
    for (const slo of distinct.values()) {
      const ids = [...slos].filter(([, s]) =>
        s && formatSlo(s) === formatSlo(slo)
      )
        .map(([id]) => id);
      const got = await snapshot.query(
        `select run_id, goodput_rps, attainment
         from slo_attainment($1, $2, $3, itl_ms_max := $4)`,
        [
          slo.ttftMs ?? null,
          slo.tpotMs ?? null,
          slo.e2eMs ?? null,
          slo.itlMs ?? null,
        ],
      );
      for (const g of got) {
        if (ids.includes(g.run_id as string)) {
          judged.set(g.run_id as string, {
            goodput: num(g.goodput_rps),
            attainment: num(g.attainment),
          });
        }
      }
    }
    return rows.map((r) => {
      const id = r.run_id as string;
      const flagged = r.flagged === null
        ? []
        : (r.flagged as unknown as { items: unknown[] }).items.map(String);
      return {
        runId: id,
        label: str(r.label),
        status: r.status as string,
        startedAt: r.started as string,
        backend: r.backend as string,
        requests: Number(r.n),
        sweepId: str(r.sweep_id),
        suite: str(r.suite),
        scenario: str(r.scenario),
        groupId: str(r.group_id),
        slo: slos.get(id) ?? null,
        goodputRps: judged.get(id)?.goodput ?? null,
        attainment: judged.get(id)?.attainment ?? null,
        ttftP99Ms: num(r.ttft_p99_ms),
        tpotP99Ms: num(r.tpot_p99_ms),
        flagged,
      };
    });
  } finally {
    snapshot.close();
  }
}

/**
 * The rows sorted by `key` (`asc` or `desc`); empty values always sort last, ties keep the
 * newest first.
 *
 * @example
 * ```ts
 * import { sortRuns } from "./overview.ts";
 * const row = (runId: string, goodputRps: number | null) => ({ runId, label: null,
 *   status: "completed", startedAt: runId, backend: "openai", requests: 1, sweepId: null,
 *   suite: null, scenario: null, groupId: null, slo: null, goodputRps, attainment: null,
 *   ttftP99Ms: null, tpotP99Ms: null, flagged: [] });
 * const sorted = sortRuns([row("a", 2), row("b", null), row("c", 5)], "goodput", "desc");
 * console.log(sorted.map((r) => r.runId)); // [ "c", "a", "b" ]
 * ```
 */
export function sortRuns(
  rows: readonly RunOverviewRow[],
  key: SortKey,
  dir: "asc" | "desc",
): RunOverviewRow[] {
  const value = (r: RunOverviewRow): number | string | null => {
    switch (key) {
      case "started":
        return r.startedAt;
      case "label":
        return r.label ?? r.runId;
      case "status":
        return r.status;
      case "requests":
        return r.requests;
      case "goodput":
        return r.goodputRps;
      case "attainment":
        return r.attainment;
      case "ttft_p99":
        return r.ttftP99Ms;
      case "tpot_p99":
        return r.tpotP99Ms;
      case "fidelity":
        return r.flagged.length;
    }
  };
  const sign = dir === "asc" ? 1 : -1;
  return rows.map((r, i) => ({ r, i })).sort((a, b) => {
    const x = value(a.r);
    const y = value(b.r);
    if (x === null || y === null) {
      return x === y ? a.i - b.i : x === null ? 1 : -1;
    }
    const c = x < y ? -1 : x > y ? 1 : 0;
    return c === 0 ? a.i - b.i : sign * c;
  }).map(({ r }) => r);
}

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}
