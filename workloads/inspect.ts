/**
 * Statistics of a trace, with the definitions of `../shared/traces/stats.json` (whose key
 * names they reuse): times in seconds relative to the earliest request; span = max - min;
 * inter-arrival statistics on sorted arrivals, CV = population std / mean; peak requests in
 * bins `floor((t - t_min) / w)`; percentiles by linear interpolation (numpy's default) and by
 * nearest rank; for block-hash traces, the hit ratio of an infinite prefix cache in file order
 * (a block hits when its id appeared in an earlier request).
 *
 * @module
 */
import type { TraceRequest } from "./base/request.ts";
import type { TraceWorkload } from "./formats/read_trace.ts";

/** Distribution summary of a token count. */
export interface LengthStats {
  /** Sum over the requests. */
  sum: number;
  /** Arithmetic mean. */
  mean: number;
  /** Population standard deviation. */
  std_pop: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
  /** Median, by linear interpolation (`quantile_cont`). */
  p50: number;
  /** Median, by nearest rank. */
  p50_nearest_rank: number;
  /** 90th percentile, by linear interpolation. */
  p90: number;
  /** 90th percentile, by nearest rank. */
  p90_nearest_rank: number;
  /** 95th percentile, by linear interpolation. */
  p95: number;
  /** 95th percentile, by nearest rank. */
  p95_nearest_rank: number;
  /** 99th percentile, by linear interpolation. */
  p99: number;
  /** 99th percentile, by nearest rank. */
  p99_nearest_rank: number;
}

/** The statistics `tokentrace workloads inspect` prints. */
export type TraceStats = Record<string, unknown> & {
  n_requests: number;
  span_s: number;
  input_tokens: LengthStats | null;
  output_tokens: LengthStats | null;
};

/**
 * Linear-interpolation percentile of sorted values (numpy's default), NaN when empty.
 *
 * @example
 * ```ts
 * import { percentileLinear } from "./inspect.ts";
 * console.log(percentileLinear([1, 2, 3, 4], 50)); // 2.5
 * ```
 */
export function percentileLinear(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const t = pos - lo;
  const a = sorted[lo], b = sorted[hi];
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/**
 * Nearest-rank percentile of sorted values: `sorted[ceil(q/100 * n) - 1]`.
 *
 * @example
 * ```ts
 * import { percentileNearestRank } from "./inspect.ts";
 * console.log(percentileNearestRank([1, 2, 3, 4], 50)); // 2
 * ```
 */
export function percentileNearestRank(
  sorted: ArrayLike<number>,
  q: number,
): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  return sorted[Math.max(0, Math.ceil((q / 100) * n) - 1)];
}

/** Summary of values (any order); null when empty. */
export function lengthStats(values: ArrayLike<number>): LengthStats | null {
  const n = values.length;
  if (n === 0) return null;
  const s = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (s[i] - mean) ** 2;
  const out: Record<string, number> = {
    sum,
    mean,
    std_pop: Math.sqrt(ss / n),
    min: s[0],
    max: s[n - 1],
  };
  for (const q of [50, 90, 95, 99]) {
    out[`p${q}`] = percentileLinear(s, q);
    out[`p${q}_nearest_rank`] = percentileNearestRank(s, q);
  }
  return out as unknown as LengthStats;
}

/** Options of {@linkcode traceStats}. */
export interface TraceStatsOptions {
  /** Tokens per hash block, for the block checks. Default 512. */
  blockSize?: number;
}

/**
 * Computes the statistics of a workload read with `sortByTime: true` and
 * `sourceFailures: "keep"` (so nothing the file holds is left out).
 *
 * @example
 * ```ts
 * import { traceStats } from "./inspect.ts";
 * import { readTrace } from "./formats/read_trace.ts";
 * const p = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(p, '{"timestamp": 0, "input_length": 10, "output_length": 2}\n{"timestamp": 2000, "input_length": 30, "output_length": 4}\n');
 * const s = traceStats(await readTrace(p, { sortByTime: true, sourceFailures: "keep" }));
 * console.log(s.n_requests, s.span_s, s.mean_rate_rps_n_over_span); // 2 2 1
 * ```
 */
export function traceStats(
  w: TraceWorkload,
  opts: TraceStatsOptions = {},
): TraceStats {
  const reqs = w.requests;
  const n = reqs.length;
  const fileOrder = reqs.slice().sort((a, b) =>
    (a.traceIndex ?? 0) - (b.traceIndex ?? 0) || a.id.localeCompare(b.id)
  );
  const t = Float64Array.from(reqs, (r) => r.arrivalMs).sort(); // ms, min = 0
  const tMin = n ? t[0] : 0;
  const span = n ? (t[n - 1] - tMin) / 1000 : 0;
  const gaps = new Float64Array(Math.max(0, n - 1));
  for (let i = 1; i < n; i++) gaps[i - 1] = (t[i] - t[i - 1]) / 1000;
  let gSum = 0, zeros = 0;
  for (const g of gaps) {
    gSum += g;
    if (g === 0) zeros++;
  }
  const gMean = gaps.length ? gSum / gaps.length : NaN;
  let gSs = 0;
  for (const g of gaps) gSs += (g - gMean) ** 2;
  const gStd = gaps.length ? Math.sqrt(gSs / gaps.length) : NaN;
  let outOfOrder = 0;
  for (let i = 1; i < fileOrder.length; i++) {
    if (fileOrder[i].arrivalMs < fileOrder[i - 1].arrivalMs) outOfOrder++;
  }
  const distinct = new Set(t).size;
  const ext = fileOrder.length
    ? (k: number) => (fileOrder[k].arrivalMs - tMin) / 1000
    : () => NaN;
  const fmt = {
    csv: "csv",
    json: "json",
    jsonl: "jsonl",
    ndjson: "jsonl",
    parquet: "parquet",
  };
  const ext2 =
    (w.source.path.replace(/\.gz$/, "").match(/\.([a-z]+)$/i)?.[1] ?? "")
      .toLowerCase();
  const stats: TraceStats = {
    file: w.source.path,
    format: fmt[ext2 as keyof typeof fmt] ?? ext2,
    trace_format: w.source.format,
    bytes: w.source.bytes,
    sha256: w.source.sha256,
    ...w.details,
    n_requests: n,
    n_distinct_timestamps: distinct,
    n_duplicate_timestamps: n - distinct,
    first_ts_s: ext(0),
    last_ts_s: ext(fileOrder.length - 1),
    min_ts_s: 0,
    max_ts_s: span,
    span_s: span,
    sorted_nondecreasing_in_file_order: outOfOrder === 0,
    n_out_of_order_adjacent_pairs: outOfOrder,
    mean_rate_rps_n_over_span: span > 0 ? n / span : null,
    mean_rate_rps_nminus1_over_span: span > 0 ? (n - 1) / span : null,
    interarrival_mean_s: gaps.length ? gMean : null,
    interarrival_cv: gaps.length && gMean > 0 ? gStd / gMean : null,
    interarrival_zero_fraction: gaps.length ? zeros / gaps.length : null,
    peak_requests_in_1s_bin: peakBin(t, 1000),
    peak_requests_in_60s_bin: peakBin(t, 60_000),
    n_60s_bins: n ? Math.floor((t[n - 1] - tMin) / 60_000) + 1 : 0,
    input_tokens: lengthStats(reqs.map((r) => r.inputTokens)),
    output_tokens: lengthStats(reqs.map((r) => r.outputTokens)),
    n_input_tokens_zero: reqs.filter((r) => r.inputTokens === 0).length,
    n_output_tokens_zero: reqs.filter((r) => r.outputTokens === 0).length,
    failed_fraction: w.source.format === "burstgpt" && n > 0
      ? reqs.filter((r) => r.sourceFailed).length / n
      : null,
    skipped_rows: w.skipped.count,
    filtered_rows: w.filtered,
    timed: w.timed,
    lengths: w.lengths,
  };
  if (reqs.some((r) => r.prefixBlocks)) {
    stats.hash_ids = blockStats(
      fileOrder,
      opts.blockSize ?? w.options.blockSize,
    );
  }
  return stats;
}

/** Most requests in one bin `floor((t - t_min) / w)` of sorted times `t` (ms). */
function peakBin(t: Float64Array, wMs: number): number {
  if (t.length === 0) return 0;
  let best = 0, cur = 0, bin = NaN;
  for (const x of t) {
    const b = Math.floor((x - t[0]) / wMs);
    if (b === bin) cur++;
    else {
      bin = b;
      cur = 1;
    }
    if (cur > best) best = cur;
  }
  return best;
}

/** Block-hash statistics in file order, with the infinite-cache hit ratio. */
function blockStats(
  fileOrder: readonly TraceRequest[],
  bs: number,
): Record<string, number> {
  const seen = new Set<number>();
  let total = 0, hits = 0, maxId = -Infinity, eq = 0;
  for (const r of fileOrder) {
    const ids = r.prefixBlocks ?? [];
    for (const id of ids) {
      total++;
      if (seen.has(id)) hits++;
      if (id > maxId) maxId = id;
    }
    for (const id of ids) seen.add(id);
    if (ids.length === Math.ceil(r.inputTokens / bs)) eq++;
  }
  return {
    block_size_tokens: bs,
    total_blocks: total,
    unique_block_ids: seen.size,
    max_block_id: maxId,
    mean_blocks_per_request: total / fileOrder.length,
    [`n_requests_len_hash_ids_eq_ceil_input_over_${bs}`]: eq,
    [`n_requests_len_hash_ids_ne_ceil_input_over_${bs}`]: fileOrder.length - eq,
    infinite_cache_block_hit_ratio: total ? hits / total : NaN,
  };
}
