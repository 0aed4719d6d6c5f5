/**
 * Terminal rendering of {@linkcode TraceStats}.
 *
 * @module
 */
import type { LengthStats, TraceStats } from "./inspect.ts";

/**
 * Renders trace statistics as aligned text lines.
 *
 * @example
 * ```ts
 * import { renderStatsText } from "./inspect_text.ts";
 * console.log(renderStatsText({ n_requests: 0, span_s: 0, input_tokens: null, output_tokens: null }).includes("requests")); // true
 * ```
 */
export function renderStatsText(s: TraceStats): string {
  const f = (v: unknown, d = 4) =>
    v === null || v === undefined
      ? "n/a"
      : typeof v === "number"
      ? (Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(d))
      : String(v);
  const len = (name: string, l: LengthStats | null) =>
    l === null
      ? `${name}: n/a`
      : `${name}: mean ${f(l.mean, 2)}  p50 ${f(l.p50, 1)}  p90 ${
        f(l.p90, 1)
      }  p99 ${f(l.p99, 1)}  min ${f(l.min)}  max ${f(l.max)}  (sum ${
        f(l.sum)
      })`;
  const lines = [
    `file:            ${f(s.file)} (${f(s.trace_format)}, ${
      f(s.bytes)
    } bytes, sha256 ${String(s.sha256 ?? "").slice(0, 16)})`,
    `requests:        ${f(s.n_requests)}${
      s.timed === false ? " (no arrival times)" : ""
    }`,
    `span:            ${f(s.span_s, 3)} s`,
    `mean rate:       ${f(s.mean_rate_rps_n_over_span)} req/s (n/span)`,
    `inter-arrival:   mean ${f(s.interarrival_mean_s)} s, CV ${
      f(s.interarrival_cv, 3)
    }, zero gaps ${f(s.interarrival_zero_fraction, 3)}`,
    `peak:            ${f(s.peak_requests_in_1s_bin)} in a 1 s bin, ${
      f(s.peak_requests_in_60s_bin)
    } in a 60 s bin`,
    len("input tokens   ", s.input_tokens),
    len("output tokens  ", s.output_tokens),
  ];
  const h = s.hash_ids as Record<string, number> | undefined;
  if (h) {
    lines.push(
      `prefix blocks:   ${f(h.total_blocks)} (${
        f(h.unique_block_ids)
      } unique, ${
        f(h.block_size_tokens)
      } tokens each); infinite-cache hit ratio ${
        f(h.infinite_cache_block_hit_ratio)
      }`,
    );
  }
  if (s.failed_fraction !== null && s.failed_fraction !== undefined) {
    lines.push(`failed in source: ${f(s.failed_fraction)} of requests`);
  }
  if (s.skipped_rows) {
    lines.push(`skipped rows:    ${f(s.skipped_rows)} (--on-bad-row skip)`);
  }
  if (s.filtered_rows) lines.push(`filtered rows:   ${f(s.filtered_rows)}`);
  return lines.join("\n");
}
