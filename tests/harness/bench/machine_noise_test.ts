import assert from "node:assert/strict";
import {
  instantDelayQuantile,
  machineFloorMs,
  spinForStalls,
  summarizeStalls,
  verdictAgainstFloor,
  wakeLatencies,
} from "../../../harness/bench/machine_noise.ts";

Deno.test("instantDelayQuantile() is the delay a random instant exceeds with 1 - q", async (t) => {
  await t.step("one 20-ms stall in 1 s: 1 % of instants wait > 10 ms", () => {
    assert.deepEqual(instantDelayQuantile([20], 1000, 0.99), 10);
  });
  await t.step("two stalls share the excess", () => {
    // 12 + 8 ms in 1 s, budget 10 ms: (12 - x) + (8 - x) = 10 -> x = 5.
    assert.deepEqual(instantDelayQuantile([8, 12], 1000, 0.99), 5);
  });
  await t.step("a short stall below the answer does not count", () => {
    // x = 10 from the 20-ms stall alone; the 3-ms one is below it.
    assert.deepEqual(instantDelayQuantile([3, 20], 1000, 0.99), 10);
  });
  await t.step("stalls covering less than 1 % of the time give 0", () => {
    assert.deepEqual(instantDelayQuantile([2, 3], 1000, 0.99), 0);
    assert.deepEqual(instantDelayQuantile([], 1000, 0.99), 0);
  });
  await t.step("the answer is where the excess equals the budget", () => {
    const d = [0.7, 1.1, 2.5, 4.0, 9.3, 0.9];
    const x = instantDelayQuantile(d, 500, 0.99);
    const excess = d.reduce((s, v) => s + Math.max(0, v - x), 0);
    assert.ok(Math.abs(excess - 5) < 1e-9, `excess ${excess}`);
  });
});

Deno.test("summarizeStalls() counts stalls over 0.5, 1 and 2 ms", () => {
  assert.deepEqual(
    summarizeStalls({ stallsMs: [0.6, 1.5, 20], spunMs: 1000 }),
    {
      seconds: 1,
      over_0_5_ms: 3,
      over_1_ms: 2,
      over_2_ms: 1,
      max_ms: 20,
      instant_p99_ms: 10,
      instant_p999_ms: 19,
    },
  );
});

Deno.test("verdictAgainstFloor() relabels a miss only when the machine hides the target", async (t) => {
  await t.step(
    "met",
    () => assert.deepEqual(verdictAgainstFloor(0.5, 0.5, 3), "met"),
  );
  await t.step("missed on a quiet machine", () => {
    assert.deepEqual(verdictAgainstFloor(1.25, 1, 0.2), "MISSED by 0.250 ms");
  });
  await t.step("missed with the floor exactly at the target is a miss", () => {
    assert.deepEqual(verdictAgainstFloor(0.9, 0.5, 0.5), "MISSED by 0.400 ms");
  });
  await t.step("the machine's own p99 above the target", () => {
    assert.deepEqual(
      verdictAgainstFloor(1.9, 0.5, 0.75),
      "not measurable on this machine: its own p99 stall or wake-up is 0.750 ms (> 0.5 ms); measured 1.900 ms, over the target by 1.400 ms",
    );
  });
});

Deno.test("spinForStalls() spins for the time asked and keeps only gaps over the threshold", () => {
  const s = spinForStalls(0.02, 0.05);
  assert.ok(s.spunMs >= 20, `spun ${s.spunMs} ms`);
  assert.ok(s.stallsMs.every((d) => d > 0.05));
});

Deno.test("wakeLatencies() times every wake-up of the sleeping thread", async () => {
  const w = await wakeLatencies(0.1);
  assert.ok(w.length > 0 && w.length <= 50, `${w.length} wake-ups`);
  assert.ok(w.every((d) => Number.isFinite(d) && d > -0.05), `${w}`);
});

Deno.test("machineFloorMs() is the larger of the stall and the wake-up p99", () => {
  const s = summarizeStalls({ stallsMs: [20], spunMs: 1000 });
  assert.equal(machineFloorMs(s), 10);
  assert.equal(machineFloorMs({ ...s, wake_p99_ms: 12 }), 12);
});
