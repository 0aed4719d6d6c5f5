/**
 * Charts of a run report as vega-lite specifications, rendered to SVG text on the server (vega's
 * headless renderer), so an HTML report needs no script and no network to show them.
 *
 * Each builder takes rows the views produced and only lays them out; it computes no metric.
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import type {
  CdfPoint,
  TimelineRequest,
  TimeseriesRow,
} from "../run_report.ts";
import type { SweepReport } from "../sweep.ts";
import type { Slo } from "../slo.ts";

/** A vega-lite specification (top level). */
export type ChartSpec = vl.TopLevelSpec;

const WIDTH = 560;
const HEIGHT = 220;
const CONFIG = {
  font: "system-ui, sans-serif",
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
};

/**
 * Renders a vega-lite specification to a standalone SVG document string.
 *
 * @example
 * ```ts
 * import { renderSvg } from "./charts.ts";
 * const svg = await renderSvg({
 *   data: { values: [{ x: 1, y: 2 }, { x: 2, y: 3 }] },
 *   mark: "line",
 *   encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
 * });
 * console.log(svg.startsWith("<svg")); // true
 * ```
 */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const compiled =
    vl.compile({ ...spec, config: { ...CONFIG, ...spec.config } })
      .spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

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
 * import { latencyCdfChart } from "./charts.ts";
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
 * import { latencyOverTimeChart } from "./charts.ts";
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
 * import { latencyThroughputChart } from "./charts.ts";
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

/**
 * Output tokens per second, completions per second and requests in flight over time, from
 * `run_timeseries`; `null` for a run without bins.
 *
 * @example
 * ```ts
 * import { throughputChart } from "./charts.ts";
 * console.log(throughputChart([])); // null
 * ```
 */
export function throughputChart(
  rows: readonly TimeseriesRow[],
): ChartSpec | null {
  if (rows.length === 0) return null;
  const values = rows.flatMap((r) => [
    {
      t_s: r.binStartS,
      panel: "output tokens / s",
      value: r.outputTokensPerS,
    },
    { t_s: r.binStartS, panel: "completed requests / s", value: r.completed },
    { t_s: r.binStartS, panel: "in flight (end of second)", value: r.inFlight },
  ]);
  return {
    title: "Throughput timeline (1 s bins)",
    data: { values },
    facet: { row: { field: "panel", type: "nominal", title: null } },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: WIDTH,
      height: 110,
      mark: { type: "line", interpolate: "step-after" },
      encoding: {
        x: {
          field: "t_s",
          type: "quantitative",
          title: "seconds since first send",
        },
        y: { field: "value", type: "quantitative", title: null },
      },
    },
  };
}

/**
 * SLO attainment against offered rate for a sweep, with the target and the capacity marked;
 * `null` when no point has both values.
 *
 * @example
 * ```ts
 * import { attainmentChart } from "./charts.ts";
 * ```
 */
export function attainmentChart(sweep: SweepReport): ChartSpec | null {
  const points = sweep.points.filter((p) =>
    p.loadRps !== null && p.attainment !== null
  ).map((p) => ({
    load_rps: p.loadRps,
    attainment_pct: p.attainment! * 100,
    label: p.label ?? p.runId,
  }));
  if (points.length === 0) return null;
  const target = sweep.capacity.targetAttainment * 100;
  // deno-lint-ignore no-explicit-any
  const layers: any[] = [
    {
      data: { values: points },
      mark: { type: "line", point: { size: 60 } },
      encoding: {
        x: {
          field: "load_rps",
          type: "quantitative",
          title: sweep.axis === "concurrency"
            ? "achieved throughput (requests / s)"
            : "offered load (requests / s)",
        },
        y: {
          field: "attainment_pct",
          type: "quantitative",
          title: "SLO attainment (%)",
          scale: { domain: [0, 100] },
        },
        tooltip: [{ field: "label" }, { field: "attainment_pct" }],
      },
    },
    {
      data: { values: [{ y: target }] },
      mark: { type: "rule", strokeDash: [4, 4], color: "#c0392b" },
      encoding: { y: { field: "y", type: "quantitative" } },
    },
  ];
  if (sweep.capacity.capacityRps !== null) {
    layers.push({
      data: { values: [{ x: sweep.capacity.capacityRps }] },
      mark: { type: "rule", color: "#27ae60" },
      encoding: { x: { field: "x", type: "quantitative" } },
    });
  }
  return {
    title: `Attainment vs offered rate (target ${target}% dashed${
      sweep.capacity.capacityRps === null ? "" : ", capacity solid"
    })`,
    width: WIDTH,
    height: HEIGHT,
    layer: layers,
  } as ChartSpec;
}

/**
 * One bar per request from send to first token (waiting) and from first token to its end
 * (streaming), from `request_metrics`; `null` for an empty timeline.
 *
 * @example
 * ```ts
 * import { timelineChart } from "./charts.ts";
 * console.log(timelineChart([])); // null
 * ```
 */
export function timelineChart(
  requests: readonly TimelineRequest[],
  title = "Per-request timeline",
): ChartSpec | null {
  if (requests.length === 0) return null;
  const values = requests.flatMap((r, i) => {
    const bars = [];
    const firstEnd = r.firstTokenS ?? r.endS ?? r.sentS;
    bars.push({
      row: i,
      req_id: r.reqId,
      status: r.status,
      phase: r.firstTokenS === null
        ? `no token (${r.status})`
        : "sent -> first token",
      start_s: r.sentS,
      end_s: firstEnd,
    });
    if (r.firstTokenS !== null && r.endS !== null) {
      bars.push({
        row: i,
        req_id: r.reqId,
        status: r.status,
        phase: "first token -> end",
        start_s: r.firstTokenS,
        end_s: r.endS,
      });
    }
    return bars;
  });
  return {
    title,
    width: WIDTH,
    height: Math.min(600, Math.max(80, requests.length * 6)),
    data: { values },
    mark: { type: "bar" },
    encoding: {
      y: {
        field: "row",
        type: "ordinal",
        axis: null,
        title: "requests (by send time)",
      },
      x: {
        field: "start_s",
        type: "quantitative",
        title: "seconds since first send",
      },
      x2: { field: "end_s" },
      color: { field: "phase", type: "nominal", title: "phase" },
      tooltip: [{ field: "req_id" }, { field: "status" }, { field: "phase" }],
    },
  };
}

/**
 * The largest schedule lag per second of send time (fidelity of arrivals), from
 * `run_timeseries`; `null` when no request was sent.
 *
 * @example
 * ```ts
 * import { scheduleLagChart } from "./charts.ts";
 * console.log(scheduleLagChart([])); // null
 * ```
 */
export function scheduleLagChart(
  rows: readonly TimeseriesRow[],
): ChartSpec | null {
  const values = rows.filter((r) => r.scheduleLagMaxMs !== null).map((r) => ({
    t_s: r.binStartS,
    lag_ms: r.scheduleLagMaxMs,
  }));
  if (values.length === 0) return null;
  return {
    title: "Schedule lag: largest sent - planned per second",
    width: WIDTH,
    height: 140,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: {
        field: "t_s",
        type: "quantitative",
        title: "seconds since first send",
      },
      y: { field: "lag_ms", type: "quantitative", title: "ms" },
    },
  };
}
