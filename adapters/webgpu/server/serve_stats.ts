/**
 * Latency histograms and token counters the HTTP layer of `tokentrace serve` keeps, exported at
 * `/metrics` beside the engine's counters (Prometheus histograms, seconds, as vLLM exports its
 * `time_to_first_token_seconds` and `inter_token_latency_seconds`).
 *
 * Times are on the engine loop's clock: a request's arrival is when the app submitted it, a
 * token's delivery when its step's readback reached the host (what a client can see at the
 * earliest), a token's GPU time the end of the step that sampled it. With several steps in
 * flight, delivery gaps are bursty (several tokens per readback) while GPU gaps are not: both
 * are exported so the difference is visible.
 *
 * @module
 */

/** Bucket upper bounds in seconds (vLLM's TTFT buckets, extended down to 1 ms). */
export const LATENCY_BUCKETS_S = [
  0.001,
  0.005,
  0.01,
  0.02,
  0.04,
  0.06,
  0.08,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  2.5,
  5,
  7.5,
  10,
  20,
  40,
  80,
];

/**
 * A cumulative Prometheus histogram.
 *
 * @example
 * ```ts
 * import { Histogram } from "./serve_stats.ts";
 * const h = new Histogram([0.1, 1]);
 * h.observe(0.05);
 * h.observe(2);
 * console.log(h.render("x_seconds", "help")[3]); // x_seconds_bucket{le="1"} 1
 * ```
 */
export class Histogram {
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[] = LATENCY_BUCKETS_S) {
    this.#bounds = bounds;
    this.#counts = bounds.map(() => 0);
  }

  /** Adds one observation (seconds). */
  observe(v: number): void {
    this.#sum += v;
    this.#count++;
    for (let i = 0; i < this.#bounds.length; i++) {
      if (v <= this.#bounds[i]) this.#counts[i]++;
    }
  }

  /** Observations so far. */
  get count(): number {
    return this.#count;
  }

  /** The exposition lines of this histogram under `name`. */
  render(name: string, help: string): string[] {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    this.#bounds.forEach((b, i) =>
      lines.push(`${name}_bucket{le="${b}"} ${this.#counts[i]}`)
    );
    lines.push(`${name}_bucket{le="+Inf"} ${this.#count}`);
    lines.push(`${name}_sum ${this.#sum}`);
    lines.push(`${name}_count ${this.#count}`);
    return lines;
  }
}

/** What the app records per request (see the module doc for the clocks). */
export class ServeStats {
  /** Arrival to the delivery of the first token. */
  readonly ttft = new Histogram();
  /** Gaps between the deliveries of consecutive tokens of a request. */
  readonly itl = new Histogram();
  /** Gaps between the GPU times of consecutive tokens of a request. */
  readonly engineItl = new Histogram();
  /** Arrival to the end of the request. */
  readonly e2e = new Histogram();
  /** Prompt tokens of the requests admitted. */
  promptTokens = 0;
  /** Output tokens delivered. */
  generationTokens = 0;

  /** The exposition lines of every histogram and counter. */
  render(): string[] {
    const counter = (name: string, help: string, v: number) => [
      `# HELP ${name} ${help}`,
      `# TYPE ${name} counter`,
      `${name} ${v}`,
    ];
    return [
      ...this.ttft.render(
        "tokentrace_time_to_first_token_seconds",
        "Arrival of a request to the delivery of its first token.",
      ),
      ...this.itl.render(
        "tokentrace_inter_token_latency_seconds",
        "Gaps between the deliveries of consecutive tokens (bursty with several steps in flight).",
      ),
      ...this.engineItl.render(
        "tokentrace_engine_inter_token_latency_seconds",
        "Gaps between the GPU end times of the steps that sampled consecutive tokens.",
      ),
      ...this.e2e.render(
        "tokentrace_e2e_request_latency_seconds",
        "Arrival of a request to its end.",
      ),
      ...counter(
        "tokentrace_prompt_tokens_total",
        "Prompt tokens of the requests admitted.",
        this.promptTokens,
      ),
      ...counter(
        "tokentrace_generation_tokens_total",
        "Output tokens delivered to requests.",
        this.generationTokens,
      ),
    ];
  }
}
