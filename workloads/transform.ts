/**
 * Transforms of a request stream. Each is pure: same input, same output.
 *
 * @module
 */
import type { TraceRequest } from "./request.ts";

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
  return requests.map((r) => ({ ...r, arrivalMs: r.arrivalMs / speedup }));
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
