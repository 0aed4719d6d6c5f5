/**
 * The latency charts of a report (vega-lite specifications): latency CDFs that keep 0 ms
 * samples, latency over time and latency against a sweep's throughput, each with the SLO's
 * bounds drawn as dashed lines. Builders only lay out rows the views produced.
 *
 * @module
 */
import type { CdfPoint, TimeseriesRow } from "../results/run_report.ts";
import type { Slo } from "../results/slo.ts";
import type { SweepReport } from "../results/sweep.ts";
import { type ChartSpec, HEIGHT, WIDTH } from "./charts.ts";

/** Options of {@linkcode latencyCdfChart}. */
export interface CdfChartOptions {
  /** SLO bounds, drawn as vertical rules in their metric's colour. */
  slo?: Slo | null;
  /** Share (0..1) of chunk gaps that are exactly 0 ms (fidelity check coalesced_chunk_share). */
  zeroGapShare?: number | null;
}

const CDF_METRICS = ["ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"];

/**
 * Empirical CDFs of TTFT, TPOT, ITL and E2E (one line each) from `run_latency_cdf`, on a
 * symmetric-log x axis so that 0 ms samples (chunks read together) stay on the chart: a line
 * starts at the share of its 0 ms samples, and the subtitle states the zero-gap share. SLO
 * bounds are vertical rules. `null` when no metric has a sample.
 *
 * @example
 * ```ts
 * import { latencyCdfChart } from "./latency_charts.ts";
 * const spec = latencyCdfChart([{ metric: "itl_ms", fraction: 0.4, valueMs: 0, n: 5 }], {
 *   zeroGapShare: 0.4,
 * });
 * console.log(JSON.stringify(spec?.title)); // subtitle: 40.0% of chunk gaps are 0 ms ...
 * ```
 */
export function latencyCdfChart(
  cdf: readonly CdfPoint[],
  options: CdfChartOptions = {},
): ChartSpec | null {
  const values = cdf.filter((p) => p.valueMs !== null).map((
    p,
  ) => ({ metric: p.metric, value_ms: p.valueMs, fraction: p.fraction }));
  if (values.length === 0) return null;
  const rules = sloRules(options.slo).filter((r) =>
    CDF_METRICS.includes(r.metric)
  );
  const zero = options.zeroGapShare ?? null;
  const color = {
    field: "metric",
    type: "nominal" as const,
    title: "metric",
    scale: { domain: CDF_METRICS },
  };
  // deno-lint-ignore no-explicit-any
  const layers: any[] = [{
    data: { values },
    mark: { type: "line", interpolate: "step-after" },
    encoding: {
      x: {
        field: "value_ms",
        type: "quantitative",
        scale: { type: "symlog" },
        title: "latency (ms, symmetric log scale: 0 ms included)",
      },
      y: {
        field: "fraction",
        type: "quantitative",
        title: "fraction of samples <= x",
      },
      color,
    },
  }];
  if (rules.length > 0) {
    layers.push({
      data: { values: rules },
      mark: { type: "rule", strokeDash: [4, 3] },
      encoding: {
        x: { field: "bound_ms", type: "quantitative" },
        color,
      },
    });
  }
  return {
    title: {
      text: "Latency CDFs (completed requests in the window)",
      subtitle: [
        zero === null
          ? "no chunk gaps"
          : `${
            (zero * 100).toFixed(1)
          }% of chunk gaps are 0 ms (chunks read together)`,
        rules.length > 0 ? "dashed: SLO bounds" : "no SLO given",
      ].join("; "),
    },
    width: WIDTH,
    height: HEIGHT,
    layer: layers,
  } as ChartSpec;
}

/** The SLO bounds as rows `{ metric, panel, bound_ms }` for rule marks. */
function sloRules(
  slo: Slo | null | undefined,
): { metric: string; panel: string; bound_ms: number }[] {
  if (!slo) return [];
  const rows = [];
  if (slo.ttftMs !== undefined) {
    rows.push({ metric: "ttft_ms", panel: "TTFT", bound_ms: slo.ttftMs });
  }
  if (slo.tpotMs !== undefined) {
    rows.push({ metric: "tpot_ms", panel: "TPOT", bound_ms: slo.tpotMs });
  }
  if (slo.e2eMs !== undefined) {
    rows.push({ metric: "e2e_ms", panel: "E2E", bound_ms: slo.e2eMs });
  }
  if (slo.itlMs !== undefined) {
    rows.push({ metric: "itl_ms", panel: "ITL", bound_ms: slo.itlMs });
  }
  return rows;
}

/**
 * TTFT and TPOT p50/p99 per second of send time, two panels, from `run_timeseries`, with the
 * SLO's TTFT and TPOT bounds as dashed lines; `null` when no bin has a latency sample.
 *
 * @example
 * ```ts
 * import { latencyOverTimeChart } from "./latency_charts.ts";
 * console.log(latencyOverTimeChart([])); // null
 * ```
 */
export function latencyOverTimeChart(
  rows: readonly TimeseriesRow[],
  slo: Slo | null = null,
): ChartSpec | null {
  const values: Record<string, unknown>[] = [];
  for (const r of rows) {
    const add = (panel: string, series: string, v: number | null) => {
      if (v !== null) {
        values.push({ t_s: r.binStartS, panel, series, value_ms: v });
      }
    };
    add("TTFT", "p50", r.ttftP50Ms);
    add("TTFT", "p99", r.ttftP99Ms);
    add("TPOT", "p50", r.tpotP50Ms);
    add("TPOT", "p99", r.tpotP99Ms);
  }
  if (values.length === 0) return null;
  return panelsWithSlo({
    title: "TTFT and TPOT over time (requests by second sent)",
    values,
    slo,
    panels: ["TTFT", "TPOT"],
    x: { field: "t_s", title: "seconds since first send" },
    mark: { type: "line", point: true },
  });
}

/**
 * A chart with one row panel per latency metric, lines of `value_ms` by series, and the SLO
 * bound of each panel's metric as a dashed rule (rows carry `bound_ms` instead of `value_ms`).
 */
function panelsWithSlo(o: {
  title: string;
  values: Record<string, unknown>[];
  slo: Slo | null;
  panels: string[];
  x: { field: string; title: string };
  mark: Record<string, unknown>;
}): ChartSpec {
  const rules = sloRules(o.slo).filter((r) => o.panels.includes(r.panel));
  return {
    title: rules.length > 0 ? `${o.title}; dashed: SLO bound` : o.title,
    data: { values: [...o.values, ...rules] },
    facet: { row: { field: "panel", type: "nominal", title: null } },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: WIDTH,
      height: 150,
      layer: [
        {
          transform: [{ filter: "isValid(datum.value_ms)" }],
          mark: o.mark,
          encoding: {
            x: { field: o.x.field, type: "quantitative", title: o.x.title },
            y: { field: "value_ms", type: "quantitative", title: "ms" },
            color: { field: "series", type: "nominal", title: "percentile" },
          },
        },
        {
          transform: [{ filter: "isValid(datum.bound_ms)" }],
          mark: { type: "rule", strokeDash: [4, 3], color: "#c0392b" },
          encoding: { y: { field: "bound_ms", type: "quantitative" } },
        },
      ],
    },
  } as ChartSpec;
}

/**
 * Latency against achieved throughput for a sweep (vLLM's and GuideLLM's latency-throughput
 * curve): TTFT and TPOT p50 / p99 per point over its request throughput, SLO bounds dashed;
 * `null` when no point has both.
 *
 * @example
 * ```ts
 * import { latencyThroughputChart } from "./latency_charts.ts";
 * ```
 */
export function latencyThroughputChart(sweep: SweepReport): ChartSpec | null {
  const values: Record<string, unknown>[] = [];
  for (const p of sweep.points) {
    if (p.throughputRps === null) continue;
    const add = (panel: string, series: string, v: number | null) => {
      if (v !== null) {
        values.push({ rps: p.throughputRps, panel, series, value_ms: v });
      }
    };
    add("TTFT", "p50", p.ttftP50Ms);
    add("TTFT", "p99", p.ttftP99Ms);
    add("TPOT", "p50", p.tpotP50Ms);
    add("TPOT", "p99", p.tpotP99Ms);
  }
  if (values.length === 0) return null;
  return panelsWithSlo({
    title: "Latency vs achieved throughput (one point per sweep run)",
    values,
    slo: sweep.slo,
    panels: ["TTFT", "TPOT"],
    x: { field: "rps", title: "achieved throughput (requests / s)" },
    mark: { type: "line", point: { size: 50 } },
  });
}
