// The reason kernels are sized against a loop budget: loop_probe.wgsl on the test adapter.
import assert from "node:assert/strict";
import {
  PROBE_ITERATIONS,
  probeLoopBudget,
  runLoopProbe,
} from "../../../../adapters/webgpu/step/loop_budget.ts";
import { testDevice } from "../_gpu.ts";
import { webgpuTest } from "../../../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
/** Mesa's gallivm: LP_MAX_TGSI_LOOP_ITERATIONS, shared by all loops of one invocation. */
const LLVMPIPE_BUDGET = 65535;

webgpuTest({
  name: "runLoopProbe() runs both loops in full within any budget",
  ...opts,
  fn: async () => {
    const { device } = await testDevice();
    assert.deepEqual(await runLoopProbe(device, 1000, 64), { a: 1000, b: 64 });
  },
});

webgpuTest({
  name:
    "probeLoopBudget() finds llvmpipe's shared budget of 65,535 loop passes per invocation",
  ...opts,
  fn: async (t) => {
    const gpu = await testDevice();
    const device = gpu.device;
    if (!gpu.description.startsWith("llvmpipe")) {
      // Other adapters: the budget found is the device's fact, whatever it is.
      assert.equal(gpu.loopBudget, await probeLoopBudget(device));
      return;
    }
    await t.step("the device reports the probed budget", async () => {
      assert.equal(gpu.loopBudget, LLVMPIPE_BUDGET);
      assert.equal(await probeLoopBudget(device), LLVMPIPE_BUDGET);
    });
    await t.step("a loop asked for 2^18 iterations runs 65,535", async () => {
      const r = await runLoopProbe(device, PROBE_ITERATIONS, 0);
      assert.equal(r.a, LLVMPIPE_BUDGET);
    });
    await t.step(
      "after a first loop of 65,534 iterations (65,535 passes) a second loop asked for 64 runs once",
      async () => {
        assert.deepEqual(await runLoopProbe(device, 65534, 64), {
          a: 65534,
          b: 1,
        });
      },
    );
    await t.step(
      "the loops share one budget: 65,470 + 64 iterations run in full, 65,471 + 64 cut the second to 63",
      async () => {
        // 65,471 passes (65,470 bodies and the exit) leave 64 for the second loop: all 64 bodies
        // run and the budget ends where its exit pass would be. One more iteration of the first
        // loop leaves 63.
        assert.deepEqual(await runLoopProbe(device, 65470, 64), {
          a: 65470,
          b: 64,
        });
        assert.deepEqual(await runLoopProbe(device, 65471, 64), {
          a: 65471,
          b: 63,
        });
      },
    );
  },
});
