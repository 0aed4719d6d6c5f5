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
import type { TimelineRequest, TimeseriesRow } from "../results/run_report.ts";
import type { SweepReport } from "../results/sweep.ts";

/** A vega-lite specification (top level). */
export type ChartSpec = vl.TopLevelSpec;

/** Width and height of a single-panel chart, in pixels. */
export const WIDTH = 560;
export const HEIGHT = 220;
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
