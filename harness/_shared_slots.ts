/**
 * One concurrency cap for a run spread over sender workers: a slot count in shared memory,
 * taken without messages while nobody waits, and handed out first-come-first-served by the
 * coordinator (harness/parallel.ts) when requests must wait.
 *
 * A request takes a slot at once when no request waits anywhere and one is free (an
 * `Atomics` compare-and-swap). Otherwise it joins the coordinator's queue (`wait`). A release
 * tells the coordinator only when someone waits (`free`); the coordinator then grants slots
 * to the oldest waiters. `Atomics.waitAsync` would avoid the messages, but its timeout never
 * fires in Deno 2.9.6 (measured), so an aborted waiter could hang.
 *
 * @module
 */

const HELD = 0, WAITING = 1;

/** Messages a worker's slots send to the coordinator. */
export type SlotRequest =
  | { op: "slot-wait"; id: number }
  | { op: "slot-unwait"; id: number }
  | { op: "slot-free" };

/** What both kinds of slots offer the runner. */
export interface SlotsLike {
  /** Waits for a slot; false when `signal` aborted first. */
  acquire(signal?: AbortSignal): Promise<boolean>;
  /** Gives a slot back. */
  release(): void;
}

/** Tries to take a slot: held < cap, compare-and-swap. */
function tryTake(a: Int32Array, cap: number): boolean {
  for (;;) {
    const held = Atomics.load(a, HELD);
    if (held >= cap) return false;
    if (Atomics.compareExchange(a, HELD, held, held + 1) === held) return true;
  }
}

/** A worker's end of the shared cap. */
export class SharedSlots implements SlotsLike {
  private readonly a: Int32Array;
  private next = 0;
  private readonly waiters = new Map<
    number,
    { resolve: (ok: boolean) => void; cleanup: () => void }
  >();

  constructor(
    buf: SharedArrayBuffer,
    private readonly cap: number,
    private readonly send: (m: SlotRequest) => void,
  ) {
    this.a = new Int32Array(buf);
  }

  /** A buffer for {@linkcode SharedSlots} and {@linkcode SlotBroker}. */
  static buffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(8);
  }

  acquire(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (Atomics.load(this.a, WAITING) === 0 && tryTake(this.a, this.cap)) {
      return Promise.resolve(true);
    }
    const id = this.next++;
    Atomics.add(this.a, WAITING, 1);
    return new Promise((resolve) => {
      const onAbort = () => {
        if (!this.waiters.delete(id)) return;
        // The coordinator drops it, or, if its grant is already on the way, gives it back.
        this.send({ op: "slot-unwait", id });
        resolve(false);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.set(id, {
        resolve,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      });
      this.send({ op: "slot-wait", id });
    });
  }

  release(): void {
    Atomics.sub(this.a, HELD, 1);
    if (Atomics.load(this.a, WAITING) > 0) this.send({ op: "slot-free" });
  }

  /** The coordinator gave waiter `id` a slot (already counted as held). */
  granted(id: number): void {
    const w = this.waiters.get(id);
    if (!w) return this.release(); // aborted meanwhile: the slot goes back
    this.waiters.delete(id);
    w.cleanup();
    w.resolve(true);
  }
}

/**
 * The coordinator's end: a FIFO of waiting requests across workers, granted as slots free up.
 *
 * @example
 * ```ts
 * import { SharedSlots, SlotBroker } from "./_shared_slots.ts";
 * const buf = SharedSlots.buffer();
 * const broker = new SlotBroker(buf, 1, (lane, id) => slots[lane].granted(id));
 * const slots = [0, 1].map((lane) => new SharedSlots(buf, 1, (m) => broker.on(lane, m)));
 * console.log(await slots[0].acquire()); // true
 * const second = slots[1].acquire();
 * slots[0].release();
 * console.log(await second); // true
 * ```
 */
export class SlotBroker {
  private readonly a: Int32Array;
  private readonly queue: { lane: number; id: number }[] = [];

  constructor(
    buf: SharedArrayBuffer,
    private readonly cap: number,
    private readonly grant: (lane: number, id: number) => void,
  ) {
    this.a = new Int32Array(buf);
  }

  /** A message from lane `lane`'s slots. */
  on(lane: number, m: SlotRequest): void {
    if (m.op === "slot-wait") this.queue.push({ lane, id: m.id });
    else if (m.op === "slot-unwait") {
      const i = this.queue.findIndex((w) => w.lane === lane && w.id === m.id);
      if (i >= 0) {
        this.queue.splice(i, 1);
        Atomics.sub(this.a, WAITING, 1);
      }
    }
    this.drain();
  }

  /** Grants free slots to the oldest waiters. */
  private drain(): void {
    while (this.queue.length > 0 && tryTake(this.a, this.cap)) {
      const w = this.queue.shift()!;
      Atomics.sub(this.a, WAITING, 1);
      this.grant(w.lane, w.id);
    }
  }
}
