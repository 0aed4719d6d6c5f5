import assert from "node:assert/strict";
import {
  renderJson,
  REPORT_SCHEMA,
  toReportJson,
} from "../../../reports/render/json.ts";
import { summarizeRun } from "../../../reports/results/summary.ts";
import { createFixtureStore, RUN_A, RUN_D } from "../_fixture.ts";

Deno.test("toReportJson()", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_D]);
  try {
    await t.step(
      "a run without requests: nulls stay null, *_ns are strings",
      async () => {
        const s = await summarizeRun(fx.store, RUN_D.runId);
        const empty = {
          n: 0,
          mean_ms: null,
          p50_ms: null,
          p90_ms: null,
          p95_ms: null,
          p99_ms: null,
          p999_ms: null,
          max_ms: null,
        };
        assert.deepStrictEqual(toReportJson(s), {
          schema: "tokentrace.report/v2",
          headline:
            "goodput —, attainment — (no SLO given: pass --slo ttft=..,tpot=..), " +
            "fidelity FLAGGED (run not completed)",
          run: {
            run_id: RUN_D.runId,
            label: null,
            backend: "openai",
            status: "running",
            incomplete: true,
            started_at: "2026-11-20T13:00:00.000Z",
            finished_at: null,
            end_reason: null,
            tool_version: "0.1.0",
            git_rev: null,
            clock_origin_unix_ns: "1795179600000000000",
            sweep_id: null,
            suite: null,
            scenario: null,
            group: null,
          },
          window: {
            start_ns: null,
            end_ns: null,
            seconds: null,
            policy: "first_sent_to_last_completion",
            warmup_s: 0,
            cooldown_s: 0,
            requests_outside: 0,
          },
          requests: {
            total: 0,
            ok: 0,
            error: 0,
            timeout: 0,
            cancelled: 0,
          },
          throughput: {
            request_throughput_rps: null,
            output_tokens_per_s: null,
            total_tokens_per_s: null,
            max_output_tokens_per_s_1s_bin: null,
            output_tokens: 0,
            input_tokens: 0,
          },
          latency: {
            unit: "ms",
            population: "status ok",
            percentile_method: "quantile_cont",
            rows: [
              "ttft_ms",
              "ttft_incl_queue_ms",
              "tpot_ms",
              "itl_ms",
              "itl_per_token_ms",
              "e2e_ms",
              "normalized_latency_ms_per_token",
              "schedule_lag_ms",
            ].map((metric) => ({ metric, ...empty })),
          },
          slo: null,
          notes: s.notes,
          fidelity: {
            ok: false,
            reasons: ["run not completed"],
            checks: s.fidelity.map((f) => ({
              check: f.name,
              value: f.value,
              unit: f.unit,
              threshold: f.threshold,
              n: f.n,
              flagged: f.flagged,
              description: f.description,
            })),
          },
          failures: {
            failed: 0,
            kinds: [],
            http_statuses: [],
            messages: [],
            distinct_messages: 0,
          },
          calibration: null, // no tokentrace calibrate in the fixture database
        });
      },
    );

    await t.step(
      "a run with an SLO: window in ns strings, SLO block",
      async () => {
        const j = toReportJson(
          await summarizeRun(fx.store, RUN_A.runId, { ttftMs: 30, itlMs: 29 }),
        );
        assert.deepStrictEqual(j.window, {
          start_ns: "2000000",
          end_ns: "252000000",
          seconds: 0.25,
          policy: "first_sent_to_last_completion",
          warmup_s: 0,
          cooldown_s: 0,
          requests_outside: 0,
        });
        assert.deepStrictEqual(j.slo, {
          bounds: { ttft_ms: 30, tpot_ms: null, e2e_ms: null, itl_ms: 29 },
          inclusive: true,
          failure_policy:
            "errors_and_timeouts_count_as_missed;cancelled_excluded",
          failure_policy_text:
            "errored and timed-out requests count as not meeting the SLO; cancelled requests are excluded",
          n_counted: 5,
          n_met: 0, // r1 misses ttft 30 (50); r2 and r6 miss itl 29 (30)
          n_excluded_cancelled: 1,
          n_excluded_failed: 0,
          n_outside_window: 0,
          attainment: 0,
          goodput_rps: 0,
          token_goodput_tokens_per_s: 0,
        });
        // fidelity.ok and the reasons, failures with their HTTP statuses
        assert.equal(j.fidelity.ok, false);
        assert.deepStrictEqual(j.fidelity.reasons, [
          "send rate off by 5.7% > 5%",
          "output lengths differ in 33.3% > 1%",
          "usage vs stream differ in 33.3% > 1%",
          "failed 33.3% > 1%",
        ]);
        assert.deepStrictEqual(j.failures.http_statuses, [
          { key: "HTTP 500", n: 1, share: 0.5 },
          { key: "no HTTP status", n: 1, share: 0.5 },
        ]);
      },
    );
  } finally {
    await fx.dispose();
  }
});

Deno.test("renderJson()", async (t) => {
  const fx = await createFixtureStore([RUN_A]);
  try {
    const s = await summarizeRun(fx.store, RUN_A.runId, { e2eMs: 90 });
    await t.step("parses back to toReportJson(), schema first", () => {
      const text = renderJson(s);
      assert.deepStrictEqual(JSON.parse(text), toReportJson(s));
      assert.ok(text.startsWith(`{\n  "schema": "${REPORT_SCHEMA}",\n`));
      assert.ok(text.endsWith("}\n"));
    });
  } finally {
    await fx.dispose();
  }
});
