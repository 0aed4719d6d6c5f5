import assert from "node:assert/strict";
import { renderMarkdown } from "../../../reports/render/markdown.ts";
import { collectRunReport } from "../../../reports/results/run_report.ts";
import { openSnapshot } from "../../../reports/results/snapshot.ts";
import { createFixtureStore, RUN_A } from "../_fixture.ts";

Deno.test("renderMarkdown()", async (t) => {
  const fx = await createFixtureStore([RUN_A]);
  const snapshot = await openSnapshot(fx.store);
  try {
    const md = renderMarkdown(
      await collectRunReport(snapshot, RUN_A.runId, { slo: { ttftMs: 30 } }),
    );
    await t.step("title, headline, summary rows and sections", () => {
      assert.ok(md.startsWith("# tokentrace run baseline\n"));
      assert.equal(
        md.split("\n")[2],
        "**goodput 8.000 req/s, attainment 40.0% (2 of 5) for SLO ttft<=30ms, fidelity FLAGGED " +
          "(send rate off by 5.7% > 5%; output lengths differ in 33.3% > 1%; usage vs stream differ in 33.3% > 1%; failed 33.3% > 1%)**",
      );
      assert.ok(
        md.includes(
          "| failures | 2 failed: error 1, timeout 1; HTTP 500 1, no HTTP status 1 |",
        ),
      );
      assert.ok(md.includes("| 1 | HTTP 500: internal server error |"));
      assert.ok(md.includes("## Lengths (tokens)"));
      assert.ok(
        md.includes(
          "| output_tokens | 3 | 3.000 | 3.000 | 4.600 | 4.960 | 1.000 | 5.000 |",
        ),
        md,
      );
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
