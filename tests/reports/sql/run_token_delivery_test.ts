// run_token_delivery and run_engine_token_delivery: fixed rows. RUN_A (HTTP-like, no engine
// rows), then engine rows for it: 4 tokens whose steps end 10 ms apart on the GPU, 3 of them
// read back together (delivery gaps 0, 0, 30 ms), and a backend that states 4 steps in flight.
import assert from "node:assert/strict";
import { createFixtureStore, RUN_A } from "../_fixture.ts";

Deno.test("run_token_delivery and run_engine_token_delivery views", async (t) => {
  const fx = await createFixtureStore([RUN_A]);
  try {
    await t.step("RUN_A: no gap under 1 ms, no engine rows", async () => {
      const rows = await fx.store.query(
        `select * exclude (run_id) from run_token_delivery`,
      );
      assert.deepStrictEqual(rows, [{
        steps_in_flight: null,
        n_gaps: 4n,
        n_burst_gaps: 0n,
        burst_share: 0,
        itl_p50_ms: 25, // gaps 10, 20, 30, 30
      }]);
      assert.deepStrictEqual(
        await fx.store.query("select * from run_engine_token_delivery"),
        [],
      );
    });
    await t.step(
      "a bursty engine run: client bursts, smooth GPU gaps",
      async () => {
        await fx.store.exec(
          `update runs set backend_info = '{"backend":"webgpu","stepsInFlight":4}'::json`,
        );
        // Steps 0-3 end on the GPU 10 ms apart; tokens 0-2 read back together at 40 ms, 3 at 70.
        for (let s = 0; s < 4; s++) {
          await fx.store.exec(
            `insert into engine_steps (run_id, step, t_sched_ns, t_submit_ns, t_gpu_start_ns,
             t_gpu_end_ns, t_readback_ns, prefill_tokens, decode_tokens, num_seqs,
             num_prefill_seqs, sample_rows, kv_blocks_used, kv_blocks_total, kv_blocks_cached,
             prefix_hit_tokens, preempted, waiting, running, cpu_us, policy, attention)
           values ($1, $2, 0, 0, 0, $3, 0, 0, 1, 1, 0, 1, 1, 8, 0, 0, 0, 0, 1, 1.0, 'sarathi',
             'fused')`,
            [RUN_A.runId, s, BigInt((s + 1) * 10_000_000)],
          );
          await fx.store.exec(
            `insert into engine_tokens values ($1, 'r2', $2, $2, 7, $3)`,
            [RUN_A.runId, s, BigInt(s < 3 ? 40_000_000 : 70_000_000)],
          );
        }
        const [row] = await fx.store.query(
          `select * exclude (run_id) from run_engine_token_delivery`,
        );
        assert.deepStrictEqual(row, {
          engine_n_gaps: 3n,
          engine_gpu_itl_p50_ms: 10,
          delivery_itl_p50_ms: 0, // gaps 0, 0, 30 ms
          delivery_burst_share: 2 / 3,
        });
        const [d] = await fx.store.query(
          "select steps_in_flight from run_token_delivery",
        );
        assert.equal(d.steps_in_flight, 4);
        const fid = await fx.store.query(
          `select value, n from run_fidelity where check_name = 'steps_in_flight'`,
        );
        assert.deepStrictEqual(fid, [{ value: 4, n: 1n }]);
      },
    );
  } finally {
    await fx.dispose();
  }
});
