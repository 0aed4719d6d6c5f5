import assert from "node:assert/strict";
import { pickedForCancel, rampArrivals } from "../../harness/load_plan.ts";

const close = (a: number[], b: number[]) => {
  assert.equal(a.length, b.length);
  a.forEach((x, i) =>
    assert.ok(Math.abs(x - b[i]) < 1e-9, `[${i}] ${x} != ${b[i]}`)
  );
};

Deno.test("rampArrivals() linear ramp spreads the early trace over the ramp", async (t) => {
  const ramp = { kind: "linear" as const, durationMs: 1000 };
  await t.step("inside the ramp T = sqrt(2 D a)", () => {
    close(rampArrivals([0, 2, 8, 125, 500], ramp), [
      0,
      63.245553203367585,
      126.49110640673517,
      500,
      1000,
    ]);
  });
  await t.step("after the ramp offsets shift by D/2", () => {
    close(rampArrivals([500, 501, 10_000], ramp), [1000, 1001, 10_500]);
  });
  await t.step("order is preserved", () => {
    const out = rampArrivals([0, 1, 1, 3, 400, 499, 500, 700], ramp);
    for (let i = 1; i < out.length; i++) assert.ok(out[i] >= out[i - 1]);
  });
});

Deno.test("rampArrivals() stepped ramp runs each step at i/k of the rate", async (t) => {
  const ramp = { kind: "stepped" as const, durationMs: 400, steps: 4 };
  // Steps of 100 ms at 1/4, 2/4, 3/4, 4/4: work done by step ends 25, 75, 150, 250.
  await t.step("inside each step", () => {
    close(rampArrivals([0, 10, 25, 50, 75, 150, 200], ramp), [
      0,
      40,
      100,
      150,
      200,
      300,
      350,
    ]);
  });
  await t.step("after the ramp offsets shift by D minus the work done", () => {
    close(rampArrivals([250, 1000], ramp), [400, 1150]);
  });
  await t.step(
    "one step is a delay of the whole ramp at rate 1/1 ... i.e. no change",
    () => {
      close(
        rampArrivals([0, 50, 500], {
          kind: "stepped",
          durationMs: 100,
          steps: 1,
        }),
        [0, 50, 500],
      );
    },
  );
  await t.step("bad steps are refused", () => {
    assert.throws(
      () => rampArrivals([0], { kind: "stepped", durationMs: 100, steps: 0 }),
      new RangeError("Ramp-up steps must be an integer >= 1, got 0"),
    );
  });
});

Deno.test("pickedForCancel() is seeded, deterministic and near its rate", async (t) => {
  await t.step("same seed, same picks", () => {
    const a = Array.from(
      { length: 200 },
      (_, i) => pickedForCancel(i, { rate: 0.3, delayMs: 1, seed: 7 }),
    );
    const b = Array.from(
      { length: 200 },
      (_, i) => pickedForCancel(i, { rate: 0.3, delayMs: 1, seed: 7 }),
    );
    assert.deepEqual(a, b);
  });
  await t.step("rate 0 and 1", () => {
    assert.equal(pickedForCancel(5, { rate: 0, delayMs: 1 }), false);
    assert.equal(pickedForCancel(5, { rate: 1, delayMs: 1 }), true);
  });
  await t.step("rate 0.25 over 20000 requests within 2%", () => {
    const n = Array.from({ length: 20000 }, (_, i) =>
      pickedForCancel(i, { rate: 0.25, delayMs: 1 }))
      .filter(Boolean).length;
    assert.ok(Math.abs(n / 20000 - 0.25) < 0.02, `${n}`);
  });
});
