import assert from "node:assert/strict";
import {
  latencyCdfChart,
  renderSvg,
  throughputChart,
  timelineChart,
} from "../../../reports/render/charts.ts";

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
