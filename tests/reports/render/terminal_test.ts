import assert from "node:assert/strict";
import { renderTerminal } from "../../../reports/render/terminal.ts";
import { summarizeRun } from "../../../reports/results/summary.ts";
import { createFixtureStore, RUN_A, RUN_C, RUN_D } from "../_fixture.ts";

const EXPECTED_A = `\
== goodput 8.000 req/s, attainment 40.0% (2 of 5) for SLO ttft<=30ms tpot<=15ms e2e<=90ms, fidelity
   FLAGGED (send rate off by 5.7% > 5%; output lengths differ in 33.3% > 1%; usage vs stream differ
   in 33.3% > 1%; failed 33.3% > 1%)
run         a1b2c3d4-0000-4000-8000-00000000000a label "baseline"
backend     openai
status      completed (started 2026-11-20T10:00:00.000Z, finished 2026-11-20T10:00:01.000Z)
window      0.250 s (first_sent_to_last_completion)
requests    6 total: 3 ok, 1 error, 1 timeout, 1 cancelled
failures    2 failed: error 1, timeout 1; HTTP 500 1, no HTTP status 1
            1x "HTTP 500: internal server error"
            1x "timed out after 200 ms"

latency in ms (10 s and more in s) over completed requests (percentiles: quantile_cont)
metric                                 n      mean       p50       p90       p99       max
ttft_ms                                3     33.33     30.00     46.00     49.60     50.00
ttft_incl_queue_ms                     3     35.67     30.00     47.60     51.56     52.00
tpot_ms                                2     15.00     15.00     15.00     15.00     15.00
itl_ms                                 4     22.50     25.00     30.00     30.00     30.00
itl_per_token_ms                       4     20.00     20.00     30.00     30.00     30.00
e2e_ms                                 3     63.33     50.00     82.00     89.20     90.00
normalized_latency_ms_per_token        3     28.22     18.00     43.60     49.36     50.00
schedule_lag_ms                        3     2.333     2.000     4.400     4.940     5.000
floor       — harness error not measured in this database (tokentrace calibrate)

throughput  12.00 req/s, 36.00 output tok/s, 236.0 total tok/s, peak 9 output tok/s (1 s bin)
goodput     8.000 req/s, 32.00 output tok/s; attainment 40.0% (2 of 5 counted met)
slo         ttft<=30ms tpot<=15ms e2e<=90ms (inclusive)
policy      errored and timed-out requests count as not meeting the SLO; cancelled requests are
            excluded

notes
  - 1 cancelled request(s) excluded from SLO attainment
`;

function longest(text: string): number {
  return Math.max(...text.split("\n").map((l) => [...l].length));
}

Deno.test("renderTerminal()", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_C, RUN_D]);
  try {
    const a = await summarizeRun(fx.store, RUN_A.runId, {
      ttftMs: 30,
      tpotMs: 15,
      e2eMs: 90,
    });
    const c = await summarizeRun(fx.store, RUN_C.runId);
    const d = await summarizeRun(fx.store, RUN_D.runId, { ttftMs: 200 });

    await t.step(
      "shows header, latency table, throughput, goodput and notes",
      () => {
        assert.equal(renderTerminal(a), EXPECTED_A);
      },
    );

    await t.step("no line is longer than 100 columns", () => {
      for (const s of [a, c, d]) assert.ok(longest(renderTerminal(s)) <= 100);
    });

    await t.step("long labels and notes wrap within the width", () => {
      const long = {
        ...c,
        run: { ...c.run, label: "x".repeat(150) },
        notes: [...c.notes, "word ".repeat(60).trim()],
      };
      const text = renderTerminal(long);
      assert.ok(longest(text) <= 100, text);
      assert.ok(text.replaceAll(/\s+/g, "").includes("x".repeat(150)));
      assert.ok(longest(renderTerminal(long, { width: 90 })) <= 90);
    });

    await t.step("incomplete runs are flagged loudly", () => {
      const lines = renderTerminal(c).split("\n");
      assert.equal(
        lines[5],
        "!! INCOMPLETE RUN: status aborted, results are partial (see notes) !!",
      );
      assert.ok(
        renderTerminal(d).includes(
          "!! INCOMPLETE RUN: status running, results are partial (see notes) !!",
        ),
      );
      assert.ok(!renderTerminal(a).includes("INCOMPLETE"));
    });

    await t.step("missing values show as — and never as 0", () => {
      const lines = renderTerminal(d).split("\n");
      assert.ok(lines.includes(
        "ttft_ms                                0         —         —         —         —         —",
      ));
      assert.ok(lines.includes(
        "throughput  — req/s, — output tok/s, — total tok/s, peak — output tok/s (1 s bin)",
      ));
      assert.ok(
        lines.includes("window      — (first_sent_to_last_completion)"),
      );
      assert.ok(lines.includes(
        "goodput     — req/s, — output tok/s; attainment — (0 of 0 counted met)",
      ));
    });

    await t.step(
      "the headline comes first: goodput, attainment, SLO, fidelity",
      () => {
        assert.deepStrictEqual(renderTerminal(c).split("\n").slice(0, 2), [
          "== goodput —, attainment — (no SLO given: pass --slo ttft=..,tpot=..), fidelity FLAGGED (run not",
          "   completed; failed 66.7% > 1%)",
        ]);
      },
    );

    await t.step("failures list kinds, HTTP statuses and messages", () => {
      const lines = renderTerminal(c).split("\n");
      const at = lines.findIndex((l) => l.startsWith("failures"));
      assert.deepStrictEqual(lines.slice(at, at + 3), [
        "failures    2 failed: error 1, timeout 1; HTTP 503 1, no HTTP status 1",
        "            1x (no message)",
        '            1x "HTTP 503: overloaded"',
      ]);
    });

    await t.step("latencies of 10 s and more are shown in seconds", () => {
      const slow = {
        ...a,
        latency: a.latency.map((l) => ({
          ...l,
          p99Ms: 12_345,
          maxMs: 9_999.4,
        })),
      };
      const row = renderTerminal(slow).split("\n").find((l) =>
        l.startsWith("ttft_ms")
      );
      assert.equal(
        row,
        "ttft_ms                                3     33.33     30.00     46.00   12.35 s     9,999",
      );
    });

    await t.step("without an SLO, goodput says how to ask for one", () => {
      assert.ok(
        renderTerminal(c).split("\n").includes(
          "goodput     — (no SLO given: pass --slo ttft=..,tpot=..,e2e=..)",
        ),
      );
    });
  } finally {
    await fx.dispose();
  }
});
