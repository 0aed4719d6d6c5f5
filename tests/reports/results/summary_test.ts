import assert from "node:assert/strict";
import { summarizeRun } from "../../../reports/results/summary.ts";
import {
  createFixtureStore,
  type FixtureRun,
  ms,
  RUN_A,
  RUN_B,
  RUN_C,
  RUN_D,
} from "../_fixture.ts";

const POLICY = "errors_and_timeouts_count_as_missed;cancelled_excluded";
const POLICY_TEXT =
  "errored and timed-out requests count as not meeting the SLO; cancelled requests are excluded";
const WINDOW_POLICY = "first_sent_to_last_completion";

function originNs(iso: string): bigint {
  return BigInt(Date.parse(iso)) * 1_000_000n;
}

/** One completed request with a single token: TPOT and ITL have no sample. */
const RUN_ONE_TOKEN: FixtureRun = {
  runId: "10000000-0000-4000-8000-000000000001",
  label: "one-token",
  status: "completed",
  backend: "openai",
  startedAt: "2026-11-20T15:00:00.000Z",
  finishedAt: "2026-11-20T15:00:01.000Z",
  endReason: null,
  requests: [{
    reqId: "t1",
    status: "ok",
    schedMs: 0,
    sentMs: 0,
    doneMs: 500,
    inputTokensPlanned: 8,
    outputTokensPlanned: 1,
    promptTokensReported: 8,
    completionTokensReported: 1,
    events: [[0, 250, 1]],
  }],
};

Deno.test("summarizeRun()", async (t) => {
  const fx = await createFixtureStore([
    RUN_A,
    RUN_B,
    RUN_C,
    RUN_D,
    RUN_ONE_TOKEN,
  ]);
  try {
    await t.step(
      "moves run info, window, counts, throughput and SLO from the views",
      async () => {
        const s = await summarizeRun(fx.store, RUN_A.runId, {
          ttftMs: 30,
          tpotMs: 15,
          e2eMs: 90,
        });
        const {
          latency: _latency,
          fidelity: _fidelity,
          verdict,
          failures,
          ...rest
        } = s;
        assert.deepStrictEqual(verdict, {
          ok: false,
          reasons: [
            "send rate off by 5.7% > 5%",
            "output lengths differ in 33.3% > 1%",
            "usage vs stream differ in 33.3% > 1%",
            "failed 33.3% > 1%",
          ],
        });
        const half = (key: string) => ({ key, n: 1, share: 0.5 });
        assert.deepStrictEqual(failures, {
          failed: 2,
          kinds: [half("error"), half("timeout")],
          httpStatuses: [half("HTTP 500"), half("no HTTP status")],
          messages: [
            half("HTTP 500: internal server error"),
            half("timed out after 200 ms"),
          ],
          distinctMessages: 2,
        });
        assert.deepStrictEqual(rest, {
          run: {
            runId: RUN_A.runId,
            label: "baseline",
            backend: "openai",
            status: "completed",
            incomplete: false,
            startedAt: "2026-11-20T10:00:00.000Z",
            finishedAt: "2026-11-20T10:00:01.000Z",
            endReason: null,
            toolVersion: "0.1.0",
            gitRev: null,
            clockOriginUnixNs: originNs(RUN_A.startedAt),
            sweepId: null,
            suite: null,
            scenario: null,
            group: null,
          },
          window: {
            startNs: ms(2),
            endNs: ms(252),
            seconds: 0.25,
            policy: WINDOW_POLICY,
            warmupS: 0,
            cooldownS: 0,
          },
          counts: {
            total: 6,
            ok: 3,
            error: 1,
            timeout: 1,
            cancelled: 1,
            outsideWindow: 0,
          },
          throughput: {
            requestsPerS: 12,
            outputTokensPerS: 36,
            totalTokensPerS: 236,
            maxOutputTokensPerS1sBin: 9,
            outputTokens: 9,
            inputTokens: 50,
          },
          percentileMethod: "quantile_cont",
          slo: {
            bounds: { ttftMs: 30, tpotMs: 15, e2eMs: 90 },
            failurePolicy: POLICY,
            failurePolicyText: POLICY_TEXT,
            counted: 5,
            met: 2,
            excludedCancelled: 1,
            excludedFailed: 0,
            outsideWindow: 0,
            attainment: 0.4,
            goodputRps: 8,
            tokenGoodputPerS: 32,
          },
          notes: ["1 cancelled request(s) excluded from SLO attainment"],
          calibration: null, // no tokentrace calibrate in the fixture database
        });
      },
    );

    await t.step(
      "latency rows are run_latency_summary's, unchanged, in metric order",
      async () => {
        const s = await summarizeRun(fx.store, RUN_A.runId);
        const view = await fx.store.query(
          `select metric, n, mean_ms, p50_ms, p90_ms, p95_ms, p99_ms, p999_ms, max_ms
         from run_latency_summary where run_id = $1 order by metric_order`,
          [RUN_A.runId],
        );
        assert.deepStrictEqual(
          s.latency,
          view.map((v) => ({
            metric: v.metric,
            n: Number(v.n),
            meanMs: v.mean_ms,
            p50Ms: v.p50_ms,
            p90Ms: v.p90_ms,
            p95Ms: v.p95_ms,
            p99Ms: v.p99_ms,
            p999Ms: v.p999_ms,
            maxMs: v.max_ms,
          })),
        );
        assert.deepStrictEqual(s.latency.map((l) => [l.metric, l.n]), [
          ["ttft_ms", 3],
          ["ttft_incl_queue_ms", 3],
          ["tpot_ms", 2],
          ["itl_ms", 4],
          ["itl_per_token_ms", 4],
          ["e2e_ms", 3],
          ["normalized_latency_ms_per_token", 3],
          ["schedule_lag_ms", 3],
        ]);
      },
    );

    await t.step("without an SLO, slo is null", async () => {
      const s = await summarizeRun(fx.store, RUN_A.runId);
      assert.equal(s.slo, null);
      assert.deepStrictEqual(s.notes, []);
    });

    await t.step(
      "a second run in the file is summarised on its own",
      async () => {
        const s = await summarizeRun(fx.store, RUN_B.runId, { ttftMs: 100 });
        assert.deepStrictEqual(
          [
            s.counts,
            s.window.seconds,
            s.throughput.requestsPerS,
            s.slo?.met,
            s.slo?.counted,
          ],
          [
            {
              total: 2,
              ok: 2,
              error: 0,
              timeout: 0,
              cancelled: 0,
              outsideWindow: 0,
            },
            2.5,
            0.8,
            1,
            2,
          ],
        );
      },
    );

    await t.step(
      "no completed requests: latency is empty and the notes say why",
      async () => {
        const s = await summarizeRun(fx.store, RUN_C.runId, { ttftMs: 200 });
        assert.equal(s.run.incomplete, true);
        assert.deepStrictEqual(
          s.latency.map((l) => [l.n, l.meanMs, l.p99Ms, l.maxMs]),
          Array.from({ length: 8 }, () => [0, null, null, null]),
        );
        assert.deepStrictEqual(
          s.slo && [s.slo.counted, s.slo.met, s.slo.attainment],
          [2, 0, 0],
        );
        assert.deepStrictEqual(s.notes, [
          "run was aborted (SIGINT): the numbers cover only the rows recorded before it stopped",
          "no completed requests (status ok; 1 error, 1 timeout, 1 cancelled): latency " +
          "statistics are empty (n = 0)",
          "1 cancelled request(s) excluded from SLO attainment",
        ]);
      },
    );

    await t.step(
      "a running run without requests: empty, not zero",
      async () => {
        const s = await summarizeRun(fx.store, RUN_D.runId, { ttftMs: 200 });
        assert.deepStrictEqual(
          [
            s.run.incomplete,
            s.window,
            s.throughput,
            s.slo?.attainment,
            s.slo?.goodputRps,
          ],
          [
            true,
            {
              startNs: null,
              endNs: null,
              seconds: null,
              policy: WINDOW_POLICY,
              warmupS: 0,
              cooldownS: 0,
            },
            {
              requestsPerS: null,
              outputTokensPerS: null,
              totalTokensPerS: null,
              maxOutputTokensPerS1sBin: null,
              outputTokens: 0,
              inputTokens: 0,
            },
            null,
            null,
          ],
        );
        assert.deepStrictEqual(s.notes, [
          "run status is running: it has not finished or its process died; the numbers cover " +
          "only the rows recorded so far",
          "no requests recorded: window, throughput, latency and SLO results are empty",
        ]);
      },
    );

    await t.step(
      "completed requests with a single token: TPOT and ITL are explained",
      async () => {
        const s = await summarizeRun(fx.store, RUN_ONE_TOKEN.runId);
        assert.deepStrictEqual(s.notes, [
          "no completed request has >= 2 output tokens: tpot_ms is empty",
          "no completed request has >= 2 token-bearing chunks: itl_ms is empty",
        ]);
      },
    );

    await t.step(
      "an unknown run id is an error naming the run and the file",
      async () => {
        await assert.rejects(summarizeRun(fx.store, "nope"), {
          message: `Run "nope" not found in "${fx.store.path}"`,
        });
      },
    );
  } finally {
    await fx.dispose();
  }
});
