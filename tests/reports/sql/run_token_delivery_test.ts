// run_token_delivery: fixed rows. RUN_A (HTTP-like, no engine rows) and a run whose engine
// delivered 3 tokens in one readback burst: chunk gaps 0, 0, 30 ms, GPU gaps 10 ms each.
import assert from "node:assert/strict";
import { createFixtureStore, RUN_A } from "../_fixture.ts";

Deno.test("run_token_delivery view", async (t) => {
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
        engine_n_gaps: 0n,
        engine_gpu_itl_p50_ms: null,
        engine_delivery_burst_share: null,
      }]);
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
          `select steps_in_flight, engine_n_gaps, engine_gpu_itl_p50_ms,
           engine_delivery_burst_share from run_token_delivery`,
        );
        assert.deepStrictEqual(row, {
          steps_in_flight: 4,
          engine_n_gaps: 3n,
          engine_gpu_itl_p50_ms: 10,
          engine_delivery_burst_share: 2 / 3,
        });
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
