import assert from "node:assert/strict";
import { createFixtureStore, ms, RUN_A, RUN_B } from "../_fixture.ts";

const A = RUN_A.runId;
const B = RUN_B.runId;

// Expected rows, worked out by hand from the fixture times (ms on the run clock):
// ttft = ft - sent, ttft_incl_queue = ft - sched, tpot = (lt - ft) / (n - 1) for n >= 2,
// e2e = lt - sent, e2e_done = done - sent, normalized = (lt - sent) / n, lag = sent - sched.
const EXPECTED = [
  {
    run_id: A,
    req_id: "r1", // ok, 1 token: no TPOT, no gap
    status: "ok",
    http_status: null,
    scheduled_ns: ms(0),
    sent_ns: ms(2),
    first_byte_ns: ms(45),
    first_token_ns: ms(52),
    last_token_ns: ms(52),
    done_ns: ms(55),
    completion_ns: ms(55),
    n_input_tokens: 10,
    n_output_tokens: 1,
    n_output_tokens_reported: 1,
    n_output_tokens_counted: 1,
    output_tokens_drift: 0,
    output_chunks: 1,
    ttft_ms: 50, // 52 - 2
    ttft_incl_queue_ms: 52, // 52 - 0
    tpot_ms: null, // n = 1
    e2e_ms: 50, // 52 - 2
    e2e_done_ms: 53, // 55 - 2
    normalized_latency_ms_per_token: 50, // 50 / 1
    schedule_lag_ms: 2,
    max_itl_ms: null,
  },
  {
    run_id: A,
    req_id: "r2", // ok, reasoning chunk first, a 2-token chunk
    status: "ok",
    http_status: null,
    scheduled_ns: ms(10),
    sent_ns: ms(10),
    first_byte_ns: ms(38),
    first_token_ns: ms(40),
    last_token_ns: ms(100),
    done_ns: ms(105),
    completion_ns: ms(105),
    n_input_tokens: 20,
    n_output_tokens: 5,
    n_output_tokens_reported: 5,
    n_output_tokens_counted: 5, // 1 + 2 + 1 + 1
    output_tokens_drift: 0,
    output_chunks: 4,
    ttft_ms: 30, // 40 - 10: the reasoning token is the first token
    ttft_incl_queue_ms: 30,
    tpot_ms: 15, // (100 - 40) / (5 - 1)
    e2e_ms: 90, // 100 - 10
    e2e_done_ms: 95, // 105 - 10
    normalized_latency_ms_per_token: 18, // 90 / 5
    schedule_lag_ms: 0,
    max_itl_ms: 30, // gaps 20, 10, 30
  },
  {
    run_id: A,
    req_id: "r3", // HTTP 500, nothing streamed
    status: "error",
    http_status: 500,
    scheduled_ns: ms(20),
    sent_ns: ms(21),
    first_byte_ns: null,
    first_token_ns: null,
    last_token_ns: null,
    done_ns: null,
    completion_ns: null,
    n_input_tokens: 30, // planned: no usage
    n_output_tokens: 0,
    n_output_tokens_reported: null,
    n_output_tokens_counted: 0,
    output_tokens_drift: null,
    output_chunks: 0,
    ttft_ms: null,
    ttft_incl_queue_ms: null,
    tpot_ms: null,
    e2e_ms: null,
    e2e_done_ms: null,
    normalized_latency_ms_per_token: null, // n = 0
    schedule_lag_ms: 1,
    max_itl_ms: null,
  },
  {
    run_id: A,
    req_id: "r4", // timed out after streaming 2 tokens
    status: "timeout",
    http_status: null,
    scheduled_ns: ms(30),
    sent_ns: ms(30),
    first_byte_ns: null,
    first_token_ns: ms(100),
    last_token_ns: ms(252),
    done_ns: null,
    completion_ns: ms(252), // no done: the last token
    n_input_tokens: 40,
    n_output_tokens: 2, // counted: no usage
    n_output_tokens_reported: null,
    n_output_tokens_counted: 2,
    output_tokens_drift: null,
    output_chunks: 2,
    ttft_ms: 70,
    ttft_incl_queue_ms: 70,
    tpot_ms: 152, // (252 - 100) / 1
    e2e_ms: 222,
    e2e_done_ms: null,
    normalized_latency_ms_per_token: 111, // 222 / 2
    schedule_lag_ms: 0,
    max_itl_ms: 152,
  },
  {
    run_id: A,
    req_id: "r5", // cancelled after 1 token
    status: "cancelled",
    http_status: null,
    scheduled_ns: ms(40),
    sent_ns: ms(41),
    first_byte_ns: null,
    first_token_ns: ms(90),
    last_token_ns: ms(90),
    done_ns: null,
    completion_ns: ms(90),
    n_input_tokens: 50,
    n_output_tokens: 1,
    n_output_tokens_reported: null,
    n_output_tokens_counted: 1,
    output_tokens_drift: null,
    output_chunks: 1,
    ttft_ms: 49,
    ttft_incl_queue_ms: 50,
    tpot_ms: null,
    e2e_ms: 49,
    e2e_done_ms: null,
    normalized_latency_ms_per_token: 49,
    schedule_lag_ms: 1,
    max_itl_ms: null,
  },
  {
    run_id: A,
    req_id: "r6", // ok; a 0-token chunk at 60 is ignored; usage 4 vs 3 counted
    status: "ok",
    http_status: null,
    scheduled_ns: ms(50),
    sent_ns: ms(55),
    first_byte_ns: ms(60),
    first_token_ns: ms(75), // not 60: that chunk carried no token
    last_token_ns: ms(105),
    done_ns: ms(110),
    completion_ns: ms(110),
    n_input_tokens: 20, // planned: no prompt usage
    n_output_tokens: 3, // the stream's count, not the usage beside it
    n_output_tokens_reported: 4,
    n_output_tokens_counted: 3,
    output_tokens_drift: 1, // 4 - 3
    output_chunks: 2,
    ttft_ms: 20, // 75 - 55
    ttft_incl_queue_ms: 25, // 75 - 50
    tpot_ms: 15, // (105 - 75) / (3 - 1)
    e2e_ms: 50, // 105 - 55
    e2e_done_ms: 55, // 110 - 55
    normalized_latency_ms_per_token: 50 / 3, // 50 / 3
    schedule_lag_ms: 5,
    max_itl_ms: 30,
  },
  {
    run_id: B,
    req_id: "b1",
    status: "ok",
    http_status: null,
    scheduled_ns: ms(0),
    sent_ns: ms(0),
    first_byte_ns: null,
    first_token_ns: ms(100),
    last_token_ns: ms(1100),
    done_ns: ms(1100),
    completion_ns: ms(1100),
    n_input_tokens: 100,
    n_output_tokens: 4,
    n_output_tokens_reported: 4,
    n_output_tokens_counted: 4,
    output_tokens_drift: 0,
    output_chunks: 3,
    ttft_ms: 100,
    ttft_incl_queue_ms: 100,
    tpot_ms: 1000 / 3, // (1100 - 100) / (4 - 1)
    e2e_ms: 1100,
    e2e_done_ms: 1100,
    normalized_latency_ms_per_token: 275, // 1100 / 4
    schedule_lag_ms: 0,
    max_itl_ms: 500,
  },
  {
    run_id: B,
    req_id: "b2",
    status: "ok",
    http_status: null,
    scheduled_ns: ms(1000),
    sent_ns: ms(1000),
    first_byte_ns: null,
    first_token_ns: ms(1500),
    last_token_ns: ms(2100),
    done_ns: ms(2500),
    completion_ns: ms(2500),
    n_input_tokens: 200,
    n_output_tokens: 5,
    n_output_tokens_reported: 5,
    n_output_tokens_counted: 5,
    output_tokens_drift: 0,
    output_chunks: 3,
    ttft_ms: 500,
    ttft_incl_queue_ms: 500,
    tpot_ms: 150, // (2100 - 1500) / (5 - 1)
    e2e_ms: 1100,
    e2e_done_ms: 1500,
    normalized_latency_ms_per_token: 220, // 1100 / 5
    schedule_lag_ms: 0,
    max_itl_ms: 400,
  },
];

/** Invariant queries: each selects the rows that break a rule, so each must return none. */
const INVARIANTS: Record<string, string> = {
  "e2e_ms >= ttft_ms":
    `select * exclude (request_key) from request_metrics where e2e_ms < ttft_ms`,
  "e2e_done_ms >= e2e_ms":
    `select * exclude (request_key) from request_metrics where e2e_done_ms < e2e_ms`,
  "ttft_incl_queue_ms = ttft_ms + schedule_lag_ms":
    `select * exclude (request_key) from request_metrics
     where abs(ttft_incl_queue_ms - (ttft_ms + schedule_lag_ms)) > 1e-9`,
  "tpot_ms is NULL exactly when n < 2 or no token":
    `select * exclude (request_key) from request_metrics
     where (tpot_ms is null) <> (n_output_tokens < 2 or first_token_ns is null)`,
  "tpot_ms * (n - 1) = e2e_ms - ttft_ms":
    `select * exclude (request_key) from request_metrics
     where abs(tpot_ms * (n_output_tokens - 1) - (e2e_ms - ttft_ms)) > 1e-9`,
  "n_output_tokens_counted sums the token-bearing chunks":
    `select m.* from request_metrics as m
     left join (select run_id, req_id, sum(n_tokens) as n, count(*) as chunks
                from token_bearing_events group by all) as e
       on e.run_id = m.run_id and e.req_id = m.req_id
     where m.n_output_tokens_counted <> coalesce(e.n, 0)
        or m.output_chunks <> coalesce(e.chunks, 0)`,
  "output_tokens_drift = reported - counted":
    `select * exclude (request_key) from request_metrics
     where output_tokens_drift is distinct from
           n_output_tokens_reported - n_output_tokens_counted`,
  "one row per requests row":
    `select * from (select count(*) as n from request_metrics) as v,
                   (select count(*) as n from requests) as r
     where v.n <> r.n`,
};

Deno.test("request_metrics view", async (t) => {
  const fx = await createFixtureStore([RUN_A, RUN_B]);
  try {
    await t.step(
      "one row per request with the values worked out by hand",
      async () => {
        const rows = await fx.store.query(
          `select * exclude (request_key) from request_metrics order by run_id, req_id`,
        );
        assert.deepStrictEqual(rows, EXPECTED);
      },
    );

    for (const [rule, sql] of Object.entries(INVARIANTS)) {
      await t.step(`invariant: ${rule}`, async () => {
        assert.deepStrictEqual(await fx.store.query(sql), []);
      });
    }

    await t.step(
      "takes ft and lt from token events, not requests.first/last_token_ns",
      async () => {
        await fx.store.exec(
          `update requests set first_token_ns = 0, last_token_ns = 0
           where run_id = '${A}' and req_id = 'r2'`,
        );
        const rows = await fx.store.query(
          `select ttft_ms, tpot_ms, e2e_ms from request_metrics
           where run_id = '${A}' and req_id = 'r2'`,
        );
        assert.deepStrictEqual(rows, [{
          ttft_ms: 30,
          tpot_ms: 15,
          e2e_ms: 90,
        }]);
      },
    );
  } finally {
    await fx.dispose();
  }
});
