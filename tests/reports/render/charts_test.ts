import assert from "node:assert/strict";
import {
  renderSvg,
  throughputChart,
  timelineChart,
} from "../../../reports/render/charts.ts";
import {
  latencyCdfChart,
  latencyOverTimeChart,
  latencyThroughputChart,
} from "../../../reports/render/latency_charts.ts";

Deno.test("renderSvg() renders charts without a browser", async (t) => {
  await t.step("a CDF becomes an SVG document with its title", async () => {
    const spec = latencyCdfChart([
      { metric: "ttft_ms", fraction: 0, valueMs: 10, n: 2 },
      { metric: "ttft_ms", fraction: 1, valueMs: 20, n: 2 },
    ]);
    const svg = await renderSvg(spec!);
    assert.ok(svg.startsWith("<svg"));
    assert.ok(svg.includes("Latency CDFs"));
  });
  await t.step(
    "0 ms samples stay on the CDF (symlog) and their share is stated",
    async () => {
      const spec = latencyCdfChart([
        { metric: "itl_ms", fraction: 0, valueMs: 0, n: 4 },
        { metric: "itl_ms", fraction: 0.5, valueMs: 0, n: 4 },
        { metric: "itl_ms", fraction: 1, valueMs: 12, n: 4 },
      ], { zeroGapShare: 0.5, slo: { ttftMs: 200, tpotMs: 20 } })!;
      const json = JSON.stringify(spec);
      assert.ok(json.includes('"type":"symlog"'));
      assert.ok(json.includes('"value_ms":0'), "the 0 ms points are kept");
      assert.ok(
        json.includes("50.0% of chunk gaps are 0 ms (chunks read together)"),
      );
      // the SLO bounds as rules: TTFT 200 and TPOT 20
      assert.ok(
        json.includes('{"metric":"ttft_ms","panel":"TTFT","bound_ms":200}'),
        json,
      );
      assert.ok(
        json.includes('{"metric":"tpot_ms","panel":"TPOT","bound_ms":20}'),
        json,
      );
      const svg = await renderSvg(spec);
      assert.ok(svg.includes("dashed: SLO bounds"));
    },
  );
  await t.step(
    "latency over time draws the SLO bound in its panel",
    async () => {
      const spec = latencyOverTimeChart([{
        binStartS: 0,
        inWindow: true,
        sent: 1,
        completed: 1,
        failed: 0,
        outputTokensPerS: 4,
        inFlight: 0,
        nLatency: 1,
        ttftP50Ms: 20,
        ttftP99Ms: 30,
        tpotP50Ms: 5,
        tpotP99Ms: 6,
        scheduleLagMaxMs: 0,
      }], { ttftMs: 25 })!;
      const json = JSON.stringify(spec);
      assert.ok(
        json.includes('{"metric":"ttft_ms","panel":"TTFT","bound_ms":25}'),
        json,
      );
      assert.ok((await renderSvg(spec)).includes("dashed: SLO bound"));
    },
  );
  await t.step("a sweep's latency against achieved throughput", async () => {
    const point = (rps: number, ttft: number) => ({
      runId: `p${rps}`,
      label: null,
      status: "completed",
      pointOrder: rps,
      axis: "rate" as const,
      value: rps,
      offeredRps: rps,
      loadRps: rps,
      counted: 1,
      met: 1,
      attainment: 1,
      goodputRps: rps,
      throughputRps: rps,
      ttftP50Ms: ttft,
      ttftP99Ms: ttft * 2,
      tpotP50Ms: 10,
      tpotP99Ms: 12,
      e2eP50Ms: 100,
      e2eP99Ms: 200,
    });
    const spec = latencyThroughputChart({
      sweepId: "s",
      label: null,
      axis: "rate",
      plannedValues: [1, 2],
      slo: { ttftMs: 100 },
      failurePolicy: "x",
      failurePolicyText: "x",
      stopReason: null,
      points: [point(1, 20), point(2, 40)],
      capacity: {
        targetAttainment: 0.9,
        capacityRps: null,
        capacityRpsPerGpu: null,
        gpus: 1,
        bound: "at_least_highest_rate",
        lowerLoadRps: null,
        lowerAttainment: null,
        upperLoadRps: null,
        upperAttainment: null,
      },
    })!;
    const json = JSON.stringify(spec);
    assert.ok(
      json.includes('{"rps":2,"panel":"TTFT","series":"p99","value_ms":80}'),
      json,
    );
    assert.ok(
      (await renderSvg(spec)).includes("Latency vs achieved throughput"),
    );
  });
  await t.step("nothing to draw gives null, never an empty chart", () => {
    assert.equal(
      latencyCdfChart([{
        metric: "ttft_ms",
        fraction: 0,
        valueMs: null,
        n: 0,
      }]),
      null,
    );
    assert.equal(throughputChart([]), null);
    assert.equal(timelineChart([]), null);
  });
});
