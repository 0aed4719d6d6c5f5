/**
 * Calibration results: the harness's measurement error computed by
 * `reports/sql/calibration_errors.sql` from a run and the scripted server's own send times,
 * and the most recent calibration stored in a result database.
 *
 * @module
 */
import { msToNs } from "../../harness/clock.ts";
import type { Store } from "../../harness/store.ts";

/** Error statistics of one calibration run, in ms (NULL-able where there were no samples). */
export interface CalibrationErrors {
  n_requests: number;
  n_tokens: number;
  ttft_err_p50_ms: number | null;
  ttft_err_p99_ms: number | null;
  ttft_err_max_ms: number | null;
  gap_err_p50_ms: number | null;
  gap_err_p99_ms: number | null;
  gap_err_max_ms: number | null;
  token_err_p50_ms: number | null;
  token_err_p99_ms: number | null;
  token_err_max_ms: number | null;
  /** The first chunk's token error alone (`seq` 0). */
  first_token_err_p50_ms: number | null;
  first_token_err_p99_ms: number | null;
  first_token_err_max_ms: number | null;
  schedule_lag_p50_ms: number | null;
  schedule_lag_p99_ms: number | null;
  schedule_lag_max_ms: number | null;
}

/** The server's truth for one run: send times per request and arrival times, epoch ms. */
export interface ServerTruth {
  sends: Map<string, number[]>;
  arrivals: Map<string, number>;
}

/**
 * Loads the server's truth into temporary tables and computes the run's calibration errors.
 *
 * @example
 * ```ts ignore
 * const errs = await calibrationErrors(store, runId, { sends, arrivals });
 * console.log(errs.token_err_p99_ms);
 * ```
 */
export async function calibrationErrors(
  store: Store,
  runId: string,
  truth: ServerTruth,
): Promise<CalibrationErrors> {
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-calib-" });
  try {
    // Epoch ms (float) -> integer ns; written as CSV and read by DuckDB's own reader.
    const sends: string[] = ["req_id,seq,send_unix_ns"];
    for (const [id, times] of truth.sends) {
      times.forEach((t, k) => sends.push(`${csv(id)},${k},${msToNs(t)}`));
    }
    const arrivals: string[] = ["req_id,arrival_unix_ns"];
    for (const [id, t] of truth.arrivals) {
      arrivals.push(`${csv(id)},${msToNs(t)}`);
    }
    await Deno.writeTextFile(`${dir}/sends.csv`, sends.join("\n") + "\n");
    await Deno.writeTextFile(`${dir}/arrivals.csv`, arrivals.join("\n") + "\n");
    await store.exec(
      `create or replace temp table calib_sends as select * from read_csv('${dir}/sends.csv',
         header = true, columns = {'req_id': 'VARCHAR', 'seq': 'INTEGER', 'send_unix_ns': 'BIGINT'})`,
    );
    await store.exec(
      `create or replace temp table calib_arrivals as select * from read_csv('${dir}/arrivals.csv',
         header = true, columns = {'req_id': 'VARCHAR', 'arrival_unix_ns': 'BIGINT'})`,
    );
    await store.exec(
      await Deno.readTextFile(
        new URL("../sql/calibration_errors.sql", import.meta.url),
      ),
    );
    const rows = await store.query("select * from calibration_errors($1)", [
      runId,
    ]);
    return rows[0] as unknown as CalibrationErrors;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The harness's measured error floor from the newest `tokentrace calibrate` (ms). */
export interface CalibrationFloor {
  /** When the calibration was stored (`calibrations.created_at`), as `YYYY-MM-DD HH:MM:SS`. */
  createdAt: string;
  /** Offered request rate of the calibration run, req/s. */
  rateRps: number;
  /** Concurrent streams the calibration asked for. */
  streams: number;
  /** Sender threads of the calibration run (1 for calibrations before schema version 5). */
  workers: number;
  /** p99 of |measured TTFT - true TTFT|, ms. */
  ttftErrP99Ms: number | null;
  /** p99 of |client time - server send time| per chunk, ms. */
  tokenErrP99Ms: number | null;
  /** p99 of |client gap - server gap| between consecutive chunks, ms. */
  gapErrP99Ms: number | null;
  /** p99 of the pacer's schedule lag (sent - scheduled), ms. */
  scheduleLagP99Ms: number | null;
}

/**
 * The newest calibration stored in the database, or null when there is none.
 *
 * @example
 * ```ts ignore
 * const floor = await latestCalibration(store);
 * console.log(floor?.tokenErrP99Ms);
 * ```
 */
export async function latestCalibration(
  source: Pick<Store, "query">,
): Promise<CalibrationFloor | null> {
  const rows = await source.query(
    `select strftime(created_at, '%Y-%m-%d %H:%M:%S') as created_at, rate_rps, streams,
       coalesce(workers, 1) as workers, ttft_err_p99_ms, token_err_p99_ms, gap_err_p99_ms, schedule_lag_p99_ms
     from calibrations order by calibrations.created_at desc limit 1`,
  );
  if (rows.length === 0) return null;
  const r = rows[0];
  const num = (v: unknown) => (v === null ? null : Number(v));
  return {
    createdAt: String(r.created_at),
    rateRps: Number(r.rate_rps),
    streams: Number(r.streams),
    workers: Number(r.workers),
    ttftErrP99Ms: num(r.ttft_err_p99_ms),
    tokenErrP99Ms: num(r.token_err_p99_ms),
    gapErrP99Ms: num(r.gap_err_p99_ms),
    scheduleLagP99Ms: num(r.schedule_lag_p99_ms),
  };
}

function csv(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
