import assert from "node:assert/strict";
import { RunClock } from "../../harness/clock.ts";
import { sleepUntilPlanned } from "../../harness/pacer.ts";
import { StopRules } from "../../harness/stop_rules.ts";

/** Resolves when `signal` aborts (a readiness signal, not a sleep). */
const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) =>
    signal.aborted
      ? resolve()
      : signal.addEventListener("abort", () => resolve(), { once: true })
  );

Deno.test("StopRules: a duration limit is on the plan, not on when its timer fires", async (t) => {
  await t.step(
    "after the timer, a send planned before the end may still start",
    async () => {
      const clock = new RunClock();
      const stop = new StopRules({}, clock, () => {});
      const endNs = clock.nowNs() + 1_000_000n;
      stop.stopSendingAt(endNs, "duration limit");
      await aborted(stop.sending); // the timer fired: sleepers are woken
      assert.ok(clock.nowNs() >= endNs - 1_000_000n);
      assert.equal(stop.mayStart(endNs - 1n), true); // the sender reached it late: it goes
      assert.equal(stop.mayStart(endNs), false); // at the end: not sent
      assert.equal(stop.mayStart(endNs - 1n), true); // planned before: still goes
      assert.deepEqual(stop.outcome(), {
        status: "completed",
        reason: "duration limit",
      });
      stop.dispose();
    },
  );
  await t.step(
    "before the timer, the first send past the end stops sending",
    () => {
      const clock = new RunClock();
      const stop = new StopRules({}, clock, () => {});
      const endNs = clock.nowNs() + 60_000_000_000n;
      stop.stopSendingAt(endNs, "duration limit");
      assert.equal(stop.sending.aborted, false);
      assert.equal(stop.mayStart(endNs + 5n), false);
      assert.equal(stop.sending.aborted, true);
      assert.equal(stop.mayStart(0n), true);
      stop.dispose();
    },
  );
  await t.step(
    "an abort stops every send, planned before the end or not",
    () => {
      const clock = new RunClock();
      const stop = new StopRules({ stopAfterErrors: 2 }, clock, () => {});
      stop.stopSendingAt(clock.nowNs() + 60_000_000_000n, "duration limit");
      stop.ended(2);
      assert.equal(stop.mayStart(0n), false);
      assert.deepEqual(stop.outcome(), {
        status: "aborted",
        reason: "stopped after 2 failed requests (limit 2)",
      });
      stop.dispose();
    },
  );
  await t.step(
    "without a duration limit, a stop of sending holds for every send",
    () => {
      const ctl = new AbortController();
      const stop = new StopRules({}, new RunClock(), () => {}, ctl.signal);
      assert.equal(stop.mayStart(0n), true);
      ctl.abort("signal");
      assert.equal(stop.mayStart(0n), false);
      assert.equal(stop.outcome().status, "aborted");
      stop.dispose();
    },
  );
});

Deno.test("sleepUntilPlanned(): woken by the stop, a send planned before the end waits for its time", async () => {
  const clock = new RunClock();
  const ctl = new AbortController();
  const targetNs = clock.nowNs() + 30_000_000n;
  const p = sleepUntilPlanned(
    clock,
    targetNs,
    ctl.signal,
    (ns) => ns < targetNs + 1n,
  );
  ctl.abort("duration limit");
  assert.equal(await p, true);
  assert.ok(clock.nowNs() >= targetNs, "returned before the planned time");
  const q = sleepUntilPlanned(
    clock,
    clock.nowNs() + 30_000_000n,
    ctl.signal,
    () => false,
  );
  assert.equal(await q, false);
});
