import assert from "node:assert/strict";
import { RunClock } from "../../harness/clock.ts";
import {
  beatLeadMs,
  beatPostTimes,
  Metronome,
  spinUntilWallMs,
  wallNowMs,
} from "../../harness/metronome.ts";
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
  // An hour away: returning at all (and false) means the abort ended the sleep.
  const target = clock.nowNs() + 3_600_000_000_000n;
  const p = sleepUntil(clock, target, ac.signal);
  setTimeout(() => ac.abort("stop"), 5);
  assert.equal(await p, false);
  assert.ok(clock.nowNs() < target);
});

for (const leadMs of [0, 3]) {
  Deno.test(`Metronome (lead ${leadMs} ms) posts every beat to its lane, in order, never before its time less its lead`, async () => {
    await beatsInOrder(leadMs);
  });
}

Deno.test("beatLeadMs() is the lead, but at most a tenth of the gap", () => {
  assert.equal(beatLeadMs(3, Infinity), 3);
  assert.equal(beatLeadMs(3, 100), 3);
  assert.equal(beatLeadMs(3, 10), 1);
  assert.equal(beatLeadMs(3, 0), 0);
  assert.equal(beatLeadMs(0, 100), 0);
});

Deno.test("beatPostTimes() leads by the mean gap's tenth, capped, in order, never after the time", () => {
  // 8 req/s: every beat 3 ms early; a burst of sends 1 ms apart: a tenth of the mean gap.
  const slow = Float64Array.from({ length: 10 }, (_, i) => 1000 + 125 * i);
  beatPostTimes(slow, 3).forEach((p, i) => assert.equal(p, slow[i] - 3));
  const fast = Float64Array.from({ length: 20 }, (_, i) => 1000 + i);
  const post = beatPostTimes(fast, 3);
  assert.equal(post[0], fast[0] - 3);
  for (let i = 9; i < 20; i++) {
    assert.ok(Math.abs(post[i] - (fast[i] - 0.1)) < 1e-9);
  }
  for (let i = 1; i < 20; i++) {
    assert.ok(post[i] >= post[i - 1], `post time ${i} before ${i - 1}`);
    assert.ok(post[i] <= fast[i]);
  }
  beatPostTimes(fast, 0).forEach((p, i) => assert.equal(p, fast[i]));
});

Deno.test("spinUntilWallMs() returns at or after its time, at once for a past one", () => {
  const t = wallNowMs() + 2;
  assert.ok(spinUntilWallMs(t) >= t);
  const past = wallNowMs() - 10;
  assert.ok(spinUntilWallMs(past) >= past);
});

Deno.test("Metronome refuses a negative lead", async () => {
  await assert.rejects(
    () => Metronome.start(Float64Array.of(1), Uint8Array.of(0), 1, -1),
    /leadMs must be >= 0 \(got -1\)/,
  );
});

Deno.test("Metronome.boot(): ready before its schedule; stop() without one; one schedule only", async () => {
  const idle = await Metronome.boot(2);
  assert.equal(idle.ports.length, 2);
  await idle.stop();
  for (const p of idle.ports) p.close();
  const m = await Metronome.boot(1);
  assert.throws(
    () => m.play(Float64Array.of(1, 2), Uint8Array.of(0, 1)),
    /lane 1 at index 1, but 1 lanes/,
  );
  const t0 = wallNowMs();
  m.play(Float64Array.of(t0), Uint8Array.of(0));
  assert.throws(() => m.play(Float64Array.of(t0), Uint8Array.of(0)), /already/);
  const beat = new Promise<number>((resolve) => {
    m.ports[0].onmessage = (e: MessageEvent<number>) => resolve(e.data);
  });
  assert.equal(await beat, 1);
  await m.stop();
  m.ports[0].close();
  await assert.rejects(() => Metronome.boot(0), /1-255 lanes, got 0/);
});

async function beatsInOrder(leadMs: number) {
  const t0 = wallNowMs() + 20;
  // Two lanes, interleaved; two times equal, one in the past (posted at once).
  const times = Float64Array.of(t0 - 50, t0, t0, t0 + 5, t0 + 12, t0 + 30);
  const lanes = Uint8Array.of(0, 1, 0, 1, 1, 0);
  const m = await Metronome.start(times, lanes, 2, leadMs);
  const got: number[][] = [[], []];
  const counts = [3, 3];
  await Promise.all(
    m.ports.map((port, lane) =>
      new Promise<void>((resolve) => {
        port.onmessage = (e: MessageEvent<number>) => {
          for (let k = 0; k < e.data; k++) got[lane].push(wallNowMs());
          if (got[lane].length === counts[lane]) resolve();
        };
      })
    ),
  );
  await m.stop();
  for (const p of m.ports) p.close();
  const due = [[0, 2, 5], [1, 3, 4]];
  const postAt = beatPostTimes(times, leadMs);
  due.forEach((idx, lane) =>
    idx.forEach((i, k) =>
      assert.ok(
        got[lane][k] >= postAt[i],
        `lane ${lane} beat ${k} came ${
          postAt[i] - got[lane][k]
        } ms before its post time`,
      )
    )
  );
}

Deno.test("Metronome.stop() ends a long schedule at once", async () => {
  const t0 = wallNowMs();
  // A beat an hour away: stop() resolving at all means it did not wait out the sleep.
  const m = await Metronome.start(
    Float64Array.of(t0 + 3_600_000),
    Uint8Array.of(0),
    1,
  );
  let beats = 0;
  m.ports[0].onmessage = () => beats++;
  await m.stop();
  m.ports[0].close();
  assert.equal(beats, 0);
});

Deno.test("Metronome refuses unsorted times", async () => {
  await assert.rejects(
    () => Metronome.start(Float64Array.of(2, 1), Uint8Array.of(0, 0), 1),
    /sorted/,
  );
});
