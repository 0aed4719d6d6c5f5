/**
 * Fidelity: is a run itself trustworthy? The checks of view `run_fidelity` and the verdict they
 * add up to (`fidelity OK` or `FLAGGED (reasons)`), which every summary, report and comparison
 * shows in its headline and `compare` uses to mark gates untrusted.
 *
 * Every value and threshold comes from `reports/sql/run_fidelity.sql`; this module reads rows
 * and words the flagged ones.
 *
 * @module
 */
import type { DuckDBValue } from "@duckdb/node-api";
import type { ReportSource } from "./snapshot.ts";

/** One check of `run_fidelity`. */
export interface FidelityCheck {
  /** Check name (`run_fidelity.check_name`), e.g. `schedule_lag_p99_ms`. */
  name: string;
  /** The measured value, in `unit`; `null` when it could not be measured. */
  value: number | null;
  /** Unit of `value` and `threshold`, e.g. `ms`, `fraction`, `count`. */
  unit: string;
  /** The run is flagged when `value` exceeds this, in `unit`; `null` = no threshold. */
  threshold: number | null;
  /** Samples behind `value`. */
  n: number;
  /** `null` = unknown (no data or no threshold). */
  flagged: boolean | null;
  /** What the check measures, in words. */
  description: string;
}

/** The verdict of a run's checks. */
export interface FidelityVerdict {
  /** `true` when no check is flagged (unknown checks do not flag). */
  ok: boolean;
  /** One phrase per flagged check, e.g. `schedule lag p99 170 ms > 10 ms`. */
  reasons: string[];
}

const DESCRIPTIONS: Record<string, string> = {
  run_status: "the run did not complete (aborted, failed or still running)",
  schedule_lag_p99_ms:
    "p99 of send time minus planned time: the pacer kept the schedule",
  send_rate_deviation:
    "achieved send rate vs the schedule's rate (|ratio - 1|)",
  input_length_mismatch_share:
    "completed requests whose server-reported prompt length differs from the plan",
  output_length_mismatch_share:
    "completed requests whose output length differs from the plan",
  usage_vs_stream_mismatch_share:
    "completed requests whose reported completion tokens differ from the tokens streamed",
  failed_share: "sent requests that ended in error or timeout",
  cached_prompt_share:
    "prompt tokens the server reported as cached (the reuse implied by the trace is not recorded)",
  harness_floor_ttft_p50_ms:
    "harness floor against a zero-latency backend: not measured per run (docs/perf.md)",
  coalesced_chunk_share:
    "chunk gaps of exactly 0 ms (chunks read together, so their own times are lost)",
  steps_in_flight:
    "steps the engine keeps in flight: with more than one, tokens reach the client in bursts",
  itl_burst_share:
    "chunk gaps under 1 ms: tokens delivered in bursts make ITL percentiles bimodal",
  skipped_trace_rows:
    "bad trace rows left out under --on-bad-row skip: the run did not replay the whole trace",
  shard_clock_disagreement_ms:
    "sharded run: how far apart the shards' clocks may have been at the shared start (run_shard_clock)",
};

/** Short names used in reasons. */
const REASON_NAMES: Record<string, string> = {
  run_status: "run not completed",
  schedule_lag_p99_ms: "schedule lag p99",
  send_rate_deviation: "send rate off by",
  input_length_mismatch_share: "input lengths differ in",
  output_length_mismatch_share: "output lengths differ in",
  usage_vs_stream_mismatch_share: "usage vs stream differ in",
  failed_share: "failed",
  coalesced_chunk_share: "0 ms chunk gaps",
  itl_burst_share: "chunk gaps under 1 ms",
  skipped_trace_rows: "trace rows skipped",
  shard_clock_disagreement_ms: "shard clocks may disagree by",
};

/**
 * Reads the fidelity checks of `runId` in check order.
 *
 * @example
 * ```ts
 * import { Store } from "../../harness/store.ts";
 * import { installViews } from "../sql/views.ts";
 * import { readFidelity } from "./fidelity.ts";
 * const path = await Deno.makeTempFile({ suffix: ".duckdb" });
 * await Deno.remove(path);
 * const store = await Store.open(path);
 * await store.createRun({ runId: "r1", backend: "openai", toolVersion: "0", clockOriginUnixNs: 0n });
 * await installViews(store);
 * console.log((await readFidelity(store, "r1"))[0]); // run_status, flagged: the run is still running
 * store.close();
 * ```
 */
export async function readFidelity(
  source: ReportSource,
  runId: string,
): Promise<FidelityCheck[]> {
  return (await source.query(
    `select check_name, value, unit, threshold, n, flagged from run_fidelity
     where run_id = $1 order by check_order`,
    [runId],
  )).map((r): FidelityCheck => ({
    name: r.check_name as string,
    value: num(r.value),
    unit: r.unit as string,
    threshold: num(r.threshold),
    n: num(r.n)!,
    flagged: r.flagged === null ? null : r.flagged === true,
    description: DESCRIPTIONS[r.check_name as string] ?? "",
  }));
}

/**
 * The verdict of a run's checks: OK unless a check is flagged, with one reason per flag.
 *
 * @example
 * ```ts
 * import { fidelityVerdict } from "./fidelity.ts";
 * const v = fidelityVerdict([{ name: "schedule_lag_p99_ms", value: 170, unit: "ms",
 *   threshold: 10, n: 200, flagged: true, description: "" }]);
 * console.log(v); // { ok: false, reasons: [ "schedule lag p99 170 ms > 10 ms" ] }
 * ```
 */
export function fidelityVerdict(
  checks: readonly FidelityCheck[],
): FidelityVerdict {
  const reasons = checks.filter((c) => c.flagged === true).map(reason);
  return { ok: reasons.length === 0, reasons };
}

/**
 * The reasons of a group of runs: one per check flagged in any of them, worded with its worst
 * value and in how many runs it was flagged, e.g. `schedule lag p99 46.6 ms > 10 ms in 2 of 3
 * runs (worst shown)`. With one run, the plain reasons of {@linkcode fidelityVerdict}.
 *
 * @example
 * ```ts
 * import { groupReasons } from "./fidelity.ts";
 * const lag = (value: number) => [{ name: "schedule_lag_p99_ms", value, unit: "ms",
 *   threshold: 10, n: 60, flagged: value > 10, description: "" }];
 * console.log(groupReasons([lag(3), lag(38.2), lag(12)]));
 * // [ "schedule lag p99 38.2 ms > 10 ms in 2 of 3 runs (worst shown)" ]
 * ```
 */
export function groupReasons(
  runs: readonly (readonly FidelityCheck[])[],
): string[] {
  if (runs.length === 1) return fidelityVerdict(runs[0]).reasons;
  const flagged = new Map<string, FidelityCheck[]>();
  for (const checks of runs) {
    for (const c of checks) {
      if (c.flagged === true) {
        flagged.set(c.name, [...flagged.get(c.name) ?? [], c]);
      }
    }
  }
  return [...flagged.values()].map((list) => {
    const worst = list.reduce((a, b) =>
      (b.value ?? 0) > (a.value ?? 0) ? b : a
    );
    return `${reason(worst)} in ${list.length} of ${runs.length} runs${
      list.length > 1 ? " (worst shown)" : ""
    }`;
  });
}

/** One flagged check in words: what, the value seen and the threshold. */
function reason(c: FidelityCheck): string {
  const name = REASON_NAMES[c.name] ?? c.name;
  if (c.name === "run_status") return name;
  const show = (v: number | null) => {
    if (v === null) return "—";
    if (c.unit === "fraction") return `${trim(v * 100)}%`;
    if (c.unit === "ms") return `${trim(v)} ms`;
    return trim(v);
  };
  return `${name} ${show(c.value)} > ${show(c.threshold)}`;
}

function trim(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 10 ? v.toFixed(1) : String(Number(v.toPrecision(2)));
}

function num(v: DuckDBValue): number | null {
  if (v === null) return null;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw new Error(
    `Expected a number from DuckDB, got ${typeof v}: ${String(v)}`,
  );
}
