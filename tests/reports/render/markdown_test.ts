import assert from "node:assert/strict";
import { renderMarkdown } from "../../../reports/render/markdown.ts";
import { collectRunReport } from "../../../reports/run_report.ts";
import { openSnapshot } from "../../../reports/snapshot.ts";
import { createFixtureStore, RUN_A } from "../_fixture.ts";

Deno.test("renderMarkdown()", async (t) => {
  const fx = await createFixtureStore([RUN_A]);
  const snapshot = await openSnapshot(fx.store);
  try {
    const md = renderMarkdown(
      await collectRunReport(snapshot, RUN_A.runId, { slo: { ttftMs: 30 } }),
    );
    await t.step("title, summary rows and sections", () => {
      assert.ok(md.startsWith("# tokentrace run baseline\n"));
      assert.ok(
        md.includes(
          "| goodput | 8.000 req/s; attainment 40.0% (2 of 5) for ttft<=30ms |",
        ),
      );
      assert.ok(md.includes("## Anchor variants"));
      assert.ok(md.includes("## Fidelity"));
    });
    await t.step("latency rows carry the sample count; NULL is —", () => {
      assert.ok(
        md.includes(
          "| ttft_ms | 3 | 33.33 | 30.00 | 46.00 | 48.00 | 49.60 | 49.96 | 50.00 |",
        ),
      );
      assert.ok(
        md.includes("| cached_prompt_share | — fraction | — | 2 | — |"),
      );
    });
    await t.step("pipes inside cells are escaped", () => {
      assert.ok(md.includes("(\\|ratio - 1\\|)"));
    });
  } finally {
    snapshot.close();
    await fx.dispose();
  }
});
