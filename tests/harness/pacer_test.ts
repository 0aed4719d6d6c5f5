import assert from "node:assert/strict";
import { RunClock } from "../../harness/clock.ts";
import { openLoopSchedule, sleepUntil } from "../../harness/pacer.ts";

Deno.test("openLoopSchedule() offsets each arrival from the start", async (t) => {
  const req = (ms: number) => ({
    id: "x",
    arrivalMs: ms,
    inputTokens: 1,
    outputTokens: 1,
  });
  await t.step("integer and fractional milliseconds", () => {
    assert.deepEqual(openLoopSchedule([req(0), req(1.5), req(1000.0001)], 7n), [
      7n,
      1_500_007n,
      1_000_000_107n,
    ]);
  });
  await t.step("empty workload", () => {
    assert.deepEqual(openLoopSchedule([], 0n), []);
  });
});

Deno.test("sleepUntil() never wakes before the target", async () => {
  const clock = new RunClock();
  for (const delayMs of [0, 1, 4, 12]) {
    const target = clock.nowNs() + BigInt(delayMs * 1e6);
    assert.equal(await sleepUntil(clock, target), true);
    assert.ok(clock.nowNs() >= target, `woke early for a ${delayMs} ms wait`);
  }
});

Deno.test("sleepUntil() returns false at once when aborted", async () => {
  const clock = new RunClock();
  const ac = new AbortController();
  const t0 = performance.now();
  const p = sleepUntil(clock, clock.nowNs() + 10_000_000_000n, ac.signal);
  setTimeout(() => ac.abort("stop"), 5);
  assert.equal(await p, false);
  assert.ok(performance.now() - t0 < 1000);
});
