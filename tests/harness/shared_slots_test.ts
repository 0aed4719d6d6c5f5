import assert from "node:assert/strict";
import { SharedSlots, SlotBroker } from "../../harness/_shared_slots.ts";

/** Two lanes and a broker in one thread; messages delivered on a microtask, as across threads. */
function setup(cap: number) {
  const buf = SharedSlots.buffer();
  const slots: SharedSlots[] = [];
  const broker = new SlotBroker(
    buf,
    cap,
    (lane, id) => queueMicrotask(() => slots[lane].granted(id)),
  );
  for (const lane of [0, 1]) {
    slots.push(
      new SharedSlots(
        buf,
        cap,
        (m) => queueMicrotask(() => broker.on(lane, m)),
      ),
    );
  }
  return { slots, held: () => new Int32Array(buf)[0] };
}

Deno.test("SharedSlots: waiters on any lane are served oldest first, the cap never passed", async () => {
  const { slots, held } = setup(2);
  assert.equal(await slots[0].acquire(), true);
  assert.equal(await slots[1].acquire(), true);
  const order: string[] = [];
  const a = slots[1].acquire().then((ok) => ok && order.push("a"));
  await Promise.resolve();
  const b = slots[0].acquire().then((ok) => ok && order.push("b"));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(held(), 2);
  slots[0].release(); // a free slot goes to the oldest waiter, on the other lane
  await a;
  assert.deepEqual(order, ["a"]);
  slots[1].release();
  await b;
  assert.deepEqual(order, ["a", "b"]);
  assert.equal(held(), 2);
  slots[0].release();
  slots[1].release();
  assert.equal(held(), 0);
});

Deno.test("SharedSlots: an aborted waiter gives up its place (and a grant on the way comes back)", async () => {
  const { slots, held } = setup(1);
  assert.equal(await slots[0].acquire(), true);
  const ac = new AbortController();
  const waiting = slots[1].acquire(ac.signal);
  await new Promise((r) => setTimeout(r, 0));
  // Release and abort in the same turn: the broker may grant before it hears of the abort.
  slots[0].release();
  ac.abort();
  assert.equal(await waiting, false);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(held(), 0, "the slot is free again");
  assert.equal(await slots[0].acquire(), true);
});

Deno.test("SharedSlots: random acquire/release/abort from two lanes never holds more than the cap", async () => {
  const cap = 3;
  const { slots, held } = setup(cap);
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let inUse = 0, peak = 0, done = 0;
  const jobs = Array.from({ length: 60 }, async (_, i) => {
    const ac = new AbortController();
    if (rnd() < 0.2) setTimeout(() => ac.abort(), rnd() * 5);
    const ok = await slots[i % 2].acquire(ac.signal);
    if (!ok) return;
    peak = Math.max(peak, ++inUse);
    await new Promise((r) => setTimeout(r, rnd() * 3));
    inUse--;
    done++;
    slots[i % 2].release();
  });
  await Promise.all(jobs);
  await new Promise((r) => setTimeout(r, 5));
  assert.ok(peak <= cap, `peak ${peak}`);
  assert.ok(done > 30, `${done} jobs ran`);
  assert.equal(held(), 0);
});
