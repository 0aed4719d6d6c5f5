/**
 * The step every reader shares: numeric columns in file order -> validated, time-ordered
 * requests rebased to the first arrival.
 *
 * Checks, per record: a time that parsed (and is >= the format's minimum), integer token counts
 * >= 0, and times that never go back (unless sorting was asked for). Bad records become
 * findings that the bad-row policy settles; rows removed by a filter option (BurstGPT `Model`)
 * and failures recorded by the source (BurstGPT 0 response tokens) are counted separately.
 *
 * @module
 */
import type { TraceRequest } from "./request.ts";
import { type BadRowFinding, SKIPPED_EXAMPLES } from "./bad_rows.ts";

/** A trace's numeric columns in file order, one entry per record. */
export interface RawTrace {
  rows: number;
  /** Arrival time in milliseconds (any origin); NaN when missing or unparseable. */
  timeMs: Float64Array;
  /** Input tokens; NaN when missing. */
  input: Float64Array;
  /** Output tokens; NaN when missing. */
  output: Float64Array;
  /** 0 where a filter option drops the record (not an error). */
  keep?: Float64Array;
  /** 1 where the source marks the request failed. */
  failed?: Float64Array;
  /** 1 where the reader already reported the record as bad (it is left out silently). */
  bad?: Float64Array;
}

/** How a format names its fields, for messages. */
export interface FieldSpec {
  time: string;
  input: string;
  output: string;
  /** What a valid time looks like, e.g. `milliseconds >= 0`. */
  timeExpected: string;
  /** Smallest valid time in ms (0 for offsets, -Infinity for wall-clock times). Default 0. */
  timeMinMs?: number;
  /** Milliseconds per unit of the file's time field, to print values as the file has them. */
  timeUnitMs: number;
  /** The time exactly as written in record `rec` (wall-clock strings). */
  rawTime?: (rec: number) => Promise<string>;
}

/** Options of {@linkcode buildRequests}. */
export interface BuildOptions {
  /** Sort records by time instead of rejecting times that go back. Default false. */
  sortByTime?: boolean;
  /** `drop` (default) leaves out requests the source marks failed; `keep` flags them. */
  sourceFailures?: "drop" | "keep";
}

/** Requests plus what was left out and why. */
export interface BuiltRequests {
  requests: TraceRequest[];
  findings: BadRowFinding[];
  /** Records removed by a filter option. */
  filtered: number;
  /** Records the source marks failed (dropped or kept per the option). */
  sourceFailures: number;
  /** Arrival of the first request before rebasing, in the time column's ms. */
  originMs: number;
}

/**
 * Validates and orders a raw trace; `extra(rec, req)` adds format-specific fields.
 *
 * @example
 * ```ts
 * import { buildRequests } from "./_build.ts";
 * const f = (a: number[]) => Float64Array.from(a);
 * const b = await buildRequests(
 *   { rows: 2, timeMs: f([5000, 6000]), input: f([10, 20]), output: f([1, 2]) },
 *   { time: "t", input: "i", output: "o", timeExpected: "seconds >= 0", timeUnitMs: 1000 },
 * );
 * console.log(b.requests.map((r) => r.arrivalMs)); // [ 0, 1000 ]
 * ```
 */
export async function buildRequests(
  raw: RawTrace,
  fields: FieldSpec,
  opts: BuildOptions = {},
  extra?: (rec: number, req: TraceRequest) => void,
): Promise<BuiltRequests> {
  const { timeMs, input, output, keep, failed, bad } = raw;
  const minMs = fields.timeMinMs ?? 0;
  const sort = opts.sortByTime ?? false;
  const dropFailed = (opts.sourceFailures ?? "drop") === "drop";
  const findings: BadRowFinding[] = [];
  const lazy: { f: BadRowFinding; rec: number; prevRec?: number }[] = [];
  const show = (v: number) =>
    Number.isNaN(v) ? "nothing (missing)" : String(v / fields.timeUnitMs);
  const count = (v: number, field: string, rec: number): boolean => {
    if (Number.isInteger(v) && v >= 0) return true;
    findings.push({
      rec,
      field,
      detail: `expected an integer token count >= 0, got ${
        Number.isNaN(v) ? "nothing (missing)" : v
      }`,
    });
    return false;
  };
  const good: number[] = [];
  let filtered = 0;
  let sourceFailures = 0;
  let maxT = -Infinity;
  let maxRec = -1;
  for (let i = 0; i < raw.rows; i++) {
    if (bad && bad[i] === 1) continue;
    if (keep && keep[i] === 0) {
      filtered++;
      continue;
    }
    const t = timeMs[i];
    if (!(t >= minMs) || !Number.isFinite(t)) {
      const f = {
        rec: i,
        field: fields.time,
        detail: `expected ${fields.timeExpected}, got ${show(t)}`,
      };
      findings.push(f);
      if (fields.rawTime && Number.isNaN(t)) lazy.push({ f, rec: i });
      continue;
    }
    if (!count(input[i], fields.input, i)) continue;
    if (!count(output[i], fields.output, i)) continue;
    if (!sort && t < maxT) {
      const f = {
        rec: i,
        field: fields.time,
        detail: `expected a time >= ${show(maxT)} (an earlier record's), got ${
          show(t)
        }: the records are not in time order; pass --sort-by-time to replay them sorted`,
      };
      findings.push(f);
      if (fields.rawTime) lazy.push({ f, rec: i, prevRec: maxRec });
      continue;
    }
    if (t > maxT) {
      maxT = t;
      maxRec = i;
    }
    if (failed && failed[i] === 1) {
      sourceFailures++;
      if (dropFailed) continue;
    }
    good.push(i);
  }
  // Wall-clock formats print times as written; only for the findings a person will see.
  for (const { f, rec, prevRec } of lazy.slice(0, SKIPPED_EXAMPLES)) {
    const seen = await fields.rawTime!(rec);
    f.detail = prevRec === undefined
      ? `expected ${fields.timeExpected}, got "${seen}"`
      : `expected a time >= "${await fields.rawTime!(
        prevRec,
      )}" (an earlier record's), got "${seen}": the records are not in time order; ` +
        "pass --sort-by-time to replay them sorted";
  }
  if (sort) good.sort((a, b) => timeMs[a] - timeMs[b] || a - b);
  const originMs = good.length > 0 ? timeMs[good[0]] : 0;
  const requests = new Array<TraceRequest>(good.length);
  for (let k = 0; k < good.length; k++) {
    const i = good[k];
    const req: TraceRequest = {
      id: String(i),
      traceIndex: i,
      arrivalMs: timeMs[i] - originMs,
      inputTokens: input[i],
      outputTokens: output[i],
    };
    if (failed && failed[i] === 1) req.sourceFailed = true;
    if (extra) extra(i, req);
    requests[k] = req;
  }
  return { requests, findings, filtered, sourceFailures, originMs };
}
