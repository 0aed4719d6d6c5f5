// The loop's queue depth rule: a floor always, then a cap and a bound in GPU milliseconds.
import assert from "node:assert/strict";
import { mayQueue } from "../../../../adapters/webgpu/serving/step_queue.ts";

const b = { stepsInFlight: 4, maxStepsInFlight: 32, queueAheadMs: 25 };

Deno.test("mayQueue always allows the floor, even without a step time", () => {
  for (let n = 0; n < 4; n++) {
    assert.equal(mayQueue(n, b, null), true);
    assert.equal(mayQueue(n, b, 1000), true, "a slow step keeps the floor");
  }
  assert.equal(mayQueue(4, b, null), false, "no step time: the floor only");
});

Deno.test("mayQueue past the floor fills queueAheadMs by the last step's GPU time", () => {
  // 2-ms steps: 12 fit 25 ms, the 13th does not.
  assert.equal(mayQueue(11, b, 2), true);
  assert.equal(mayQueue(12, b, 2), false);
  // 6.25-ms steps: exactly 4 fit, so nothing past the floor.
  assert.equal(mayQueue(4, b, 6.25), false);
  assert.equal(mayQueue(4, b, 5), true);
  assert.equal(mayQueue(5, b, 5), false);
});

Deno.test("mayQueue never passes maxStepsInFlight", () => {
  assert.equal(mayQueue(31, b, 0.01), true);
  assert.equal(mayQueue(32, b, 0.01), false);
  assert.equal(mayQueue(32, b, 0), false);
  const fixed = { ...b, maxStepsInFlight: 4 };
  assert.equal(mayQueue(4, fixed, 0.01), false);
});
