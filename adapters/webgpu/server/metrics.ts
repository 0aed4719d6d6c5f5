/**
 * `/metrics` of `tokentrace serve`: the engine's counters and gauges in the Prometheus text
 * exposition format (version 0.0.4).
 *
 * @module
 */
import type { EngineLoop } from "../serving/engine_loop.ts";
import type { ServeStats } from "./serve_stats.ts";

/** Counters the HTTP layer keeps beside the engine's. */
export interface HttpCounters {
  /** Requests refused with 429 (queue full). */
  rejected: number;
  /** Requests refused with 400. */
  invalid: number;
}

/**
 * Renders the metrics of `loop`, the HTTP counters and the latency histograms.
 *
 * @example
 * ```ts ignore
 * const text = renderMetrics(loop, { rejected: 0, invalid: 0 }, new ServeStats());
 * ```
 */
export function renderMetrics(
  loop: EngineLoop,
  http: HttpCounters,
  stats: ServeStats,
): string {
  const c = loop.counters;
  const b = loop.blocks.stats();
  const load = loop.load;
  const lines: string[] = [];
  const metric = (
    name: string,
    type: "counter" | "gauge",
    help: string,
    value: number,
  ) => {
    const n = `tokentrace_${name}`;
    lines.push(`# HELP ${n} ${help}`, `# TYPE ${n} ${type}`);
    lines.push(`${n} ${Number.isFinite(value) ? value : "NaN"}`);
  };
  metric("engine_steps_total", "counter", "Engine steps submitted.", c.steps);
  metric(
    "engine_prefill_tokens_total",
    "counter",
    "Prompt tokens computed (prefill chunks, recomputation included).",
    c.prefillTokens,
  );
  metric(
    "engine_decode_tokens_total",
    "counter",
    "Decode tokens computed.",
    c.decodeTokens,
  );
  metric(
    "engine_generated_tokens_total",
    "counter",
    "Sampled tokens delivered to requests.",
    c.generatedTokens,
  );
  metric(
    "engine_preemptions_total",
    "counter",
    "Sequences preempted for recomputation.",
    c.preemptions,
  );
  metric(
    "requests_finished_total",
    "counter",
    "Requests finished (stop or length).",
    c.finished,
  );
  metric(
    "requests_cancelled_total",
    "counter",
    "Requests cancelled (client disconnected).",
    c.cancelled,
  );
  metric(
    "requests_rejected_total",
    "counter",
    "Requests refused with 429 (queue full).",
    http.rejected,
  );
  metric(
    "requests_invalid_total",
    "counter",
    "Requests refused with 400.",
    http.invalid,
  );
  metric(
    "requests_waiting",
    "gauge",
    "Requests waiting for admission.",
    load.waiting,
  );
  metric(
    "requests_running",
    "gauge",
    "Sequences holding a slot.",
    load.running,
  );
  metric("kv_blocks_total", "gauge", "KV cache blocks of 16 tokens.", b.total);
  metric(
    "kv_blocks_used",
    "gauge",
    "KV blocks referenced by sequences.",
    b.used,
  );
  metric(
    "kv_blocks_cached",
    "gauge",
    "KV blocks held by the prefix cache.",
    b.cached,
  );
  metric(
    "prefix_cache_query_tokens_total",
    "counter",
    "Prompt tokens looked up in the prefix cache.",
    b.prefixQueryTokens,
  );
  metric(
    "prefix_cache_hit_tokens_total",
    "counter",
    "Prompt tokens served from the prefix cache.",
    b.prefixHitTokens,
  );
  metric(
    "engine_steps_in_flight",
    "gauge",
    "Steps submitted ahead of their readback (tokens reach clients in bursts of up to this many steps).",
    loop.stepsInFlight,
  );
  lines.push(...stats.render());
  return lines.join("\n") + "\n";
}
