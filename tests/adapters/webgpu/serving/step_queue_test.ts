// The loop's queue depth rule: a floor always, then a cap and a bound in GPU milliseconds;
// and how many queued steps a wake maps.
import assert from "node:assert/strict";
import {
  mayQueue,
  stepsToMap,
} from "../../../../adapters/webgpu/serving/step_queue.ts";

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

Deno.test("stepsToMap() leaves the newest leadMs of steps unmapped while more can follow", async (t) => {
  await t.step("1.5-ms steps, 2 ms of lead: two stay", () => {
    assert.equal(stepsToMap(12, true, 2, 1.5), 10);
  });
  await t.step("2-ms steps, 2 ms of lead: one stays", () => {
    assert.equal(stepsToMap(12, true, 2, 2), 11);
  });
  await t.step("no step time yet: one stays", () => {
    assert.equal(stepsToMap(4, true, 2, null), 3);
  });
  await t.step("a long step: one stays", () => {
    assert.equal(stepsToMap(4, true, 2, 50), 3);
  });
});

Deno.test("stepsToMap() maps every step without more work or without a lead", async (t) => {
  await t.step("nothing follows", () => {
    assert.equal(stepsToMap(12, false, 2, 1.5), 12);
  });
  await t.step("leadMs 0", () => {
    assert.equal(stepsToMap(12, true, 0, 1.5), 12);
  });
  await t.step("none unmapped", () => {
    assert.equal(stepsToMap(0, true, 2, 1.5), 0);
  });
});

Deno.test("stepsToMap() keeps at most half unmapped, so one is mapped whenever any is", async (t) => {
  await t.step("a lead longer than the queue: half stay", () => {
    assert.equal(stepsToMap(12, true, 1000, 1.5), 6);
    assert.equal(stepsToMap(5, true, 1000, 1.5), 3);
  });
  await t.step("one step: it is mapped", () => {
    assert.equal(stepsToMap(1, true, 2, 0.1), 1);
  });
});
