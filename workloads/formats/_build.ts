/**
 * The step every reader shares: numeric columns in file order -> validated, time-ordered
 * requests rebased to the first arrival.
 *
 * Checks, per record, against what a run can do: a time that parsed, is >= the format's minimum
 * and within {@linkcode MAX_TIME_MS} (the run clock counts int64 nanoseconds); integer token
 * counts in [0, {@linkcode MAX_TRACE_TOKENS}]; and times that never go back (unless sorting was
 * asked for). A value the file holds as NaN is named so, apart from one that is absent. Bad records become
 * findings that the bad-row policy settles; rows removed by a filter option (BurstGPT `Model`)
 * and failures recorded by the source (BurstGPT 0 response tokens) are counted separately.
 *
 * @module
 */
import type { TraceRequest } from "../base/request.ts";
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
  /** 1 where a value was absent (NULL), not a NaN the file holds; by column. */
  missing?: { time?: Uint8Array; input?: Uint8Array; output?: Uint8Array };
}

/**
 * The longest request length a trace may give, in tokens: 16 Mi, beyond every model's context
 * (the longest served today are ~10 M). A larger count is a broken trace, not a request: sent, it
 * would make a prompt of gigabytes or a `max_tokens` no server takes.
 */
export const MAX_TRACE_TOKENS = 2 ** 24;

/**
 * The largest time a trace may give, in milliseconds from its origin: 2^62 ns (146 years), so
 * every offset between two records fits the run clock's int64 nanoseconds.
 */
export const MAX_TIME_MS = 2 ** 62 / 1e6;

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
  const { timeMs, input, output, keep, failed, bad, missing } = raw;
  const minMs = fields.timeMinMs ?? 0;
  const sort = opts.sortByTime ?? false;
  const dropFailed = (opts.sourceFailures ?? "drop") === "drop";
  const findings: BadRowFinding[] = [];
  const lazy: {
    f: BadRowFinding;
    rec: number;
    prevRec?: number;
    range?: boolean;
  }[] = [];
  // Absent (NULL) reads as missing; a NaN the file holds is named NaN.
  const seen = (v: number, absent: Uint8Array | undefined, rec: number) =>
    Number.isNaN(v) && (absent === undefined || absent[rec] === 1)
      ? "nothing (missing)"
      : String(v);
  const show = (v: number, rec?: number) =>
    Number.isNaN(v)
      ? seen(v, rec === undefined ? undefined : missing?.time, rec ?? 0)
      : String(v / fields.timeUnitMs);
  const count = (
    v: number,
    field: string,
    rec: number,
    absent: Uint8Array | undefined,
  ): boolean => {
    if (Number.isInteger(v) && v >= 0 && v <= MAX_TRACE_TOKENS) return true;
    findings.push({
      rec,
      field,
      detail: Number.isInteger(v) && v > MAX_TRACE_TOKENS
        ? `expected an integer token count in [0, ${MAX_TRACE_TOKENS}] (16 Mi tokens, beyond every model's context), got ${v}`
        : `expected an integer token count >= 0, got ${seen(v, absent, rec)}`,
    });
    return false;
  };
  const maxShown = MAX_TIME_MS / fields.timeUnitMs;
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
        detail: `expected ${fields.timeExpected}, got ${show(t, i)}`,
      };
      findings.push(f);
      if (fields.rawTime && Number.isNaN(t)) lazy.push({ f, rec: i });
      continue;
    }
    if (Math.abs(t) > MAX_TIME_MS) {
      const f = {
        rec: i,
        field: fields.time,
        detail: `expected ${fields.timeExpected} and at most ${
          String(maxShown)
        } (2^62 ns: what the run clock holds), got ${show(t)}`,
      };
      findings.push(f);
      if (fields.rawTime) lazy.push({ f, rec: i, range: true });
      continue;
    }
    if (!count(input[i], fields.input, i, missing?.input)) continue;
    if (!count(output[i], fields.output, i, missing?.output)) continue;
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
  for (const { f, rec, prevRec, range } of lazy.slice(0, SKIPPED_EXAMPLES)) {
    const seen = await fields.rawTime!(rec);
    f.detail = range
      ? `expected a time within 146 years (2^62 ns: what the run clock holds) of the first record's, got "${seen}"`
      : prevRec === undefined
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
