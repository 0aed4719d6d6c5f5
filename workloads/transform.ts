/**
 * Time transforms of a request stream. Each is pure: same input, same output; none reorders.
 *
 * @module
 */
import type { TraceRequest } from "./base/request.ts";

/**
 * Divides every arrival offset by `speedup` (2 = twice the trace's rate).
 *
 * @example
 * ```ts
 * import { scaleTime } from "./transform.ts";
 * const out = scaleTime([{ id: "0", arrivalMs: 1000, inputTokens: 1, outputTokens: 1 }], 4);
 * console.log(out[0].arrivalMs); // 250
 * ```
 */
export function scaleTime(
  requests: readonly TraceRequest[],
  speedup: number,
): TraceRequest[] {
  if (!(speedup > 0) || !Number.isFinite(speedup)) {
    throw new RangeError(
      `Speedup must be a finite number > 0, got ${speedup}`,
    );
  }
  return requests.map((r) => ({
    ...r,
    arrivalMs: r.arrivalMs / speedup,
    ...(r.thinkTimeMs !== undefined
      ? { thinkTimeMs: r.thinkTimeMs / speedup }
      : {}),
  }));
}

/**
 * Keeps the first `n` requests in arrival order.
 *
 * @example
 * ```ts
 * import { firstN } from "./transform.ts";
 * const reqs = [0, 1, 2].map((i) => ({ id: String(i), arrivalMs: i, inputTokens: 1, outputTokens: 1 }));
 * console.log(firstN(reqs, 2).length); // 2
 * ```
 */
export function firstN(
  requests: readonly TraceRequest[],
  n: number,
): TraceRequest[] {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`Request count must be an integer >= 0, got ${n}`);
  }
  return requests.slice(0, n);
}

/**
 * Keeps requests arriving in `[startMs, startMs + durationMs)` and rebases them to start at 0.
 *
 * @example
 * ```ts
 * import { timeWindow } from "./transform.ts";
 * const reqs = [0, 500, 1500].map((t, i) => ({ id: String(i), arrivalMs: t, inputTokens: 1, outputTokens: 1 }));
 * console.log(timeWindow(reqs, 400, 1000).map((r) => r.arrivalMs)); // [ 100 ]
 * ```
 */
export function timeWindow(
  requests: readonly TraceRequest[],
  startMs: number,
  durationMs: number,
): TraceRequest[] {
  if (!(startMs >= 0) || !(durationMs > 0)) {
    throw new RangeError(
      `Window must have start >= 0 and duration > 0, got ${startMs}:${durationMs}`,
    );
  }
  return requests
    .filter((r) => r.arrivalMs >= startMs && r.arrivalMs < startMs + durationMs)
    .map((r) => ({ ...r, arrivalMs: r.arrivalMs - startMs }));
}

/**
 * The mean request rate of a stream in requests per second: (n - 1) / span, so that its inverse
 * is the mean inter-arrival time. NaN with fewer than 2 requests or a zero span.
 *
 * @example
 * ```ts
 * import { meanRate } from "./transform.ts";
 * const reqs = [0, 500, 1000].map((t, i) => ({ id: String(i), arrivalMs: t, inputTokens: 1, outputTokens: 1 }));
 * console.log(meanRate(reqs)); // 2
 * ```
 */
export function meanRate(requests: readonly TraceRequest[]): number {
  if (requests.length < 2) return NaN;
  const span = requests.at(-1)!.arrivalMs - requests[0].arrivalMs;
  return span > 0 ? ((requests.length - 1) * 1000) / span : NaN;
}

/**
 * Scales time so the mean rate becomes `rps` while the shape of the inter-arrival process
 * (its CV, bursts, diurnal pattern) stays: every gap is multiplied by the same factor.
 *
 * @example
 * ```ts
 * import { targetRate } from "./transform.ts";
 * const reqs = [0, 100, 300].map((t, i) => ({ id: String(i), arrivalMs: t, inputTokens: 1, outputTokens: 1 }));
 * console.log(targetRate(reqs, 1).map((r) => r.arrivalMs)); // [ 0, 1000, 3000 ]
 * ```
 */
export function targetRate(
  requests: readonly TraceRequest[],
  rps: number,
): TraceRequest[] {
  if (!(rps > 0) || !Number.isFinite(rps)) {
    throw new RangeError(`Rate must be a finite number > 0, got ${rps}`);
  }
  const now = meanRate(requests);
  if (Number.isNaN(now)) {
    throw new RangeError(
      `A target rate needs >= 2 requests spread over time, got ${requests.length} request(s) spanning ${
        requests.length ? requests.at(-1)!.arrivalMs - requests[0].arrivalMs : 0
      } ms`,
    );
  }
  return scaleTime(requests, rps / now);
}

/**
 * Shifts arrivals so the first request arrives at 0.
 *
 * @example
 * ```ts
 * import { rebase } from "./transform.ts";
 * console.log(rebase([{ id: "0", arrivalMs: 700, inputTokens: 1, outputTokens: 1 }])[0].arrivalMs); // 0
 * ```
 */
export function rebase(requests: readonly TraceRequest[]): TraceRequest[] {
  if (requests.length === 0) return [];
  let t0 = Infinity;
  for (const r of requests) t0 = Math.min(t0, r.arrivalMs);
  return requests.map((r) => ({ ...r, arrivalMs: r.arrivalMs - t0 }));
}

/**
 * Shortens every gap between consecutive arrivals that is longer than `maxGapMs` to `maxGapMs`
 * (idle periods of a trace cost wall time and measure nothing).
 *
 * @example
 * ```ts
 * import { compressIdleGaps } from "./transform.ts";
 * const reqs = [0, 100, 60_100].map((t, i) => ({ id: String(i), arrivalMs: t, inputTokens: 1, outputTokens: 1 }));
 * console.log(compressIdleGaps(reqs, 1000).map((r) => r.arrivalMs)); // [ 0, 100, 1100 ]
 * ```
 */
export function compressIdleGaps(
  requests: readonly TraceRequest[],
  maxGapMs: number,
): TraceRequest[] {
  if (!(maxGapMs >= 0) || !Number.isFinite(maxGapMs)) {
    throw new RangeError(
      `Maximum gap must be a finite number >= 0 ms, got ${maxGapMs}`,
    );
  }
  let removed = 0;
  return requests.map((r, i) => {
    if (i > 0) {
      const gap = r.arrivalMs - requests[i - 1].arrivalMs;
      if (gap > maxGapMs) removed += gap - maxGapMs;
    }
    return { ...r, arrivalMs: r.arrivalMs - removed };
  });
}

/**
 * Fits requests to a served context of `maxTokens` (prompt + output): a request over the limit
 * keeps its input/output ratio, both scaled down (each at least 1 token) until the sum fits;
 * one whose prompt the trace gave (text that cannot shrink) gets a shorter output instead, if
 * its prompt fits at all. Requests that fit are untouched. Returns how many were changed.
 * `maxTokens` must be >= 2.
 *
 * @example
 * ```ts
 * import { fitContext } from "./transform.ts";
 * const r = fitContext([{ id: "0", arrivalMs: 0, inputTokens: 900, outputTokens: 300 }], 512);
 * console.log(r.requests[0].inputTokens, r.requests[0].outputTokens, r.adjusted); // 384 128 1
 * ```
 */
export function fitContext(
  requests: readonly TraceRequest[],
  maxTokens: number,
): { requests: TraceRequest[]; adjusted: number } {
  if (!Number.isInteger(maxTokens) || maxTokens < 2) {
    throw new RangeError(
      `Context must be an integer >= 2 tokens, got ${maxTokens}`,
    );
  }
  let adjusted = 0;
  const out = requests.map((r) => {
    const total = r.inputTokens + r.outputTokens;
    if (total <= maxTokens) return r;
    if (r.prompt) {
      // A prompt the trace gave cannot shrink: only its output can, if the prompt fits at all.
      if (r.inputTokens >= maxTokens) return r;
      adjusted++;
      return { ...r, outputTokens: maxTokens - r.inputTokens };
    }
    adjusted++;
    const f = maxTokens / total;
    let input = Math.max(1, Math.floor(r.inputTokens * f));
    const output = Math.max(1, Math.floor(r.outputTokens * f));
    if (input + output > maxTokens) input = maxTokens - output;
    return { ...r, inputTokens: input, outputTokens: output };
  });
  return { requests: out, adjusted };
}
