/**
 * Armed sends: the open loop's requests written to their sockets by the metronome's thread, at
 * their planned times.
 *
 * The metronome's thread sleeps until each send time and wakes on time (it runs at real-time
 * priority where permitted, metronome.ts), but the thread that reads streams and builds requests
 * may be busy when the beat arrives: parsing a chunk, a garbage collection, the recorder. Its
 * lateness was the open loop's schedule lag (p99 1.4-1.5 ms at 1,000 req/s on 2 cores,
 * docs/perf.md). So where the backend writes requests on native sockets (adapters/native_tcp.ts),
 * its beats come {@link ARM_LEAD_MS} early: the reading thread builds the request's bytes, takes
 * its connection and arms a slot of a shared table with the socket and the bytes' address; at
 * the send time the metronome's thread makes the `send()` and stamps the time right before it.
 * The reading thread learns of it through the slot (`Atomics.waitAsync`) and reads the response
 * as before.
 *
 * A request not armed by its send time (the reading thread was later than the lead) is written
 * by its own thread when it gets there, and the lag it had is what is recorded. A request
 * cancelled while armed is withdrawn before its socket closes; one being sent cannot be
 * withdrawn, and its thread waits for that `send()` to return before closing (a closed descriptor can be
 * reused by another socket).
 *
 * A slot's state word is `index << 3 | state`, `index` the request's place in its lane's
 * schedule; the table is a ring of {@link ARMED_SLOTS} slots, slot `index % ARMED_SLOTS`, and a
 * slot is reused only once its last request has taken its outcome. Whether a request was armed
 * in time is decided without a lock: the thread arms the slot, then reads the metronome's cursor
 * (how many of the lane's send times it has passed); the metronome advances the cursor, then
 * reads the slot. Both are sequentially consistent atomics, so at least one of the two sees the
 * other: the metronome sends it, or the thread takes it back and writes it itself.
 *
 * @module
 */
import type { SendFired, SendHandoff } from "../adapters/backend.ts";
import { addressOf, sendFromAddress } from "../adapters/native_tcp.ts";
import { spinUntilWallMs, wallNowMs } from "./metronome.ts";

/** How early the beats of an armed lane come before their send times, ms. */
export const ARM_LEAD_MS = 8;

/**
 * How long after its send time the metronome makes an armed send, ms: times on the shared wall
 * scale are floats of ~1.7e12 ms (a quarter of a microsecond apart), and the send must not be
 * early on the run clock after the conversions back.
 */
export const FIRE_GUARD_MS = 0.001;

/** Slots in a lane's table: requests armed ahead of the metronome at most (a ring). */
export const ARMED_SLOTS = 4096;

/** The highest schedule index a slot word holds (`index << 3` stays a positive int32). */
export const MAX_ARMED_INDEX = 2 ** 28 - 1;

/** Slot states (the low 3 bits of a slot's word). */
export const SlotState = {
  /** Never used. */
  EMPTY: 0,
  /** Socket and bytes set: the metronome sends them at the send time. */
  ARMED: 1,
  /** The metronome is sending (it cannot be withdrawn now). */
  FIRING: 2,
  /** Sent: the time and the count written are in the slot, for its thread to take. */
  FIRED: 3,
  /** Its thread took the outcome of the send: the slot may be reused. */
  TAKEN: 4,
  /** Still armed when the metronome stopped: its thread writes it. */
  PASSED: 5,
  /** Taken back by its thread before the send. */
  WITHDRAWN: 6,
} as const;

const { ARMED, FIRING, FIRED, TAKEN, PASSED, WITHDRAWN } = SlotState;

/** The cursor's value once the metronome has stopped: nothing more is sent from the table. */
const STOPPED = 0x7fffffff;

/** A lane's table of `slots` slots: shared by the thread that arms and the metronome's thread. */
export function armedTable(slots = ARMED_SLOTS): SharedArrayBuffer {
  if (!(Number.isInteger(slots) && slots >= 1 && slots <= 1 << 20)) {
    throw new RangeError(`Armed sends: 1-${1 << 20} slots, got ${slots}`);
  }
  return new SharedArrayBuffer(slots * 32 + 8);
}

/** The typed views of a table. */
class TableViews {
  readonly slots: number;
  readonly words: Int32Array;
  readonly fds: Int32Array;
  readonly lengths: Int32Array;
  readonly written: Int32Array;
  readonly addresses: Float64Array;
  readonly firedAt: Float64Array;
  /** [0]: how many of the lane's send times the metronome has passed ({@link STOPPED} after). */
  readonly cursor: Int32Array;

  constructor(table: SharedArrayBuffer) {
    const s = (table.byteLength - 8) / 32;
    if (!Number.isInteger(s) || s < 1) {
      throw new RangeError(
        `Armed sends: a table of ${table.byteLength} bytes is not one of armedTable()`,
      );
    }
    this.slots = s;
    this.words = new Int32Array(table, 0, s);
    this.fds = new Int32Array(table, 4 * s, s);
    this.lengths = new Int32Array(table, 8 * s, s);
    this.written = new Int32Array(table, 12 * s, s);
    this.addresses = new Float64Array(table, 16 * s, s);
    this.firedAt = new Float64Array(table, 24 * s, s);
    this.cursor = new Int32Array(table, 32 * s, 1);
  }
}

/** A slot's word for `index` in `state`. */
function word(index: number, state: number): number {
  return (index << 3) | state;
}

/**
 * The reading thread's side of a lane's table: one {@linkcode SendHandoff} per request of the
 * lane's schedule.
 *
 * @example
 * ```ts
 * import { ArmedSends, armedTable, SendFirer } from "./armed_sends.ts";
 * const table = armedTable(8);
 * const armed = new ArmedSends(table, Float64Array.of(0, 0));
 * // The metronome passed request 0's send time before it was armed: its thread writes it.
 * new SendFirer(table).fire(0);
 * console.log(armed.handoff(0).arm(-1, new Uint8Array(1))); // false
 * console.log(armed.handoff(1).arm(-1, new Uint8Array(1))); // true
 * ```
 */
export class ArmedSends {
  private readonly v: TableViews;
  private pending = 0;
  private keepAlive: ReturnType<typeof setInterval> | undefined;

  /** `wallMs`: the lane's send times on the shared wall scale, in schedule order. */
  constructor(table: SharedArrayBuffer, private readonly wallMs: Float64Array) {
    this.v = new TableViews(table);
  }

  /** The hand-off of the lane's request `index` (its place in the lane's schedule). */
  handoff(index: number): SendHandoff {
    if (!(index >= 0 && index < this.wallMs.length)) {
      throw new RangeError(
        `Armed sends: request ${index} of a lane of ${this.wallMs.length}`,
      );
    }
    return new Handoff(this, this.v, index, this.wallMs[index]);
  }

  /**
   * A wait on a slot began or ended. An `Atomics.waitAsync` alone does not keep the event loop
   * alive, so a timer does while any wait is pending.
   */
  waiting(delta: 1 | -1): void {
    this.pending += delta;
    if (this.pending > 0 && this.keepAlive === undefined) {
      this.keepAlive = setInterval(() => {}, 1000);
    } else if (this.pending === 0 && this.keepAlive !== undefined) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }
}

/** One request's hand-off (see {@linkcode SendHandoff}). */
class Handoff implements SendHandoff {
  /** Kept alive (their address is in the slot) until the send was made or withdrawn. */
  private bytes: Uint8Array | undefined;
  private armed = false;
  private outcome: Promise<SendFired> | undefined;
  /** Set once the outcome was taken from the slot (the slot may be reused after). */
  private settled: "sent" | "withdrawn" | undefined;

  constructor(
    private readonly owner: ArmedSends,
    private readonly v: TableViews,
    private readonly index: number,
    readonly dueWallMs: number,
  ) {}

  arm(fd: number, bytes: Uint8Array): boolean {
    const j = this.index;
    if (this.armed || this.outcome !== undefined) return false;
    if (j > MAX_ARMED_INDEX || bytes.length === 0) return false;
    const { words, slots, cursor } = this.v;
    if (Atomics.load(cursor, 0) > j) return false;
    const k = j % slots;
    const w = Atomics.load(words, k);
    const st = w & 7;
    // The ring is full: an older request of this slot has not taken its outcome yet.
    if (st === ARMED || st === FIRING || st === FIRED) return false;
    this.v.fds[k] = fd;
    this.v.lengths[k] = bytes.length;
    this.v.addresses[k] = addressOf(bytes);
    this.v.written[k] = 0;
    // The store publishes the ones above (only this thread moves a slot out of a rest state).
    Atomics.store(words, k, word(j, ARMED));
    this.bytes = bytes;
    if (Atomics.load(cursor, 0) > j) {
      // The metronome may have passed this send time before it saw the slot armed.
      const back = Atomics.compareExchange(
        words,
        k,
        word(j, ARMED),
        word(j, WITHDRAWN),
      );
      if (back === word(j, ARMED)) {
        this.bytes = undefined;
        return false;
      }
    }
    this.armed = true;
    return true;
  }

  fired(): Promise<SendFired> {
    // One wait per request: a second caller (a cancellation closing the socket after the
    // send) gets the same outcome, even once the slot has been reused.
    return this.outcome ??= this.awaitOutcome();
  }

  private async awaitOutcome(): Promise<SendFired> {
    if (!this.armed) return { outcome: "passed" };
    const { words, slots } = this.v;
    const k = this.index % slots;
    this.owner.waiting(1);
    try {
      for (;;) {
        const w = Atomics.load(words, k);
        const st = w & 7;
        if (st === FIRED) {
          const sent: SendFired = {
            outcome: "sent",
            wallMs: this.v.firedAt[k],
            written: this.v.written[k],
          };
          Atomics.store(words, k, word(this.index, TAKEN));
          this.settled = "sent";
          return sent;
        }
        if (st === PASSED || st === WITHDRAWN) {
          this.settled = "withdrawn";
          return { outcome: st === PASSED ? "passed" : "withdrawn" };
        }
        // ARMED or FIRING: the metronome notifies once it has sent (or passed it at its stop).
        const r = Atomics.waitAsync(words, k, w, 1000);
        if (r.async) await r.value;
      }
    } finally {
      this.owner.waiting(-1);
      this.bytes = undefined;
    }
  }

  withdraw(): "withdrawn" | "sent" | "sending" {
    if (!this.armed || this.settled === "withdrawn") return "withdrawn";
    if (this.settled === "sent") return "sent";
    const k = this.index % this.v.slots;
    const armedWord = word(this.index, ARMED);
    const got = Atomics.compareExchange(
      this.v.words,
      k,
      armedWord,
      word(this.index, WITHDRAWN),
    );
    if (got === armedWord) {
      Atomics.notify(this.v.words, k);
      return "withdrawn";
    }
    const st = got & 7;
    if (st === FIRING) return "sending";
    return st === WITHDRAWN || st === PASSED ? "withdrawn" : "sent";
  }

  due(): void {
    spinUntilWallMs(this.dueWallMs + FIRE_GUARD_MS);
  }
}

/**
 * The metronome's side of a lane's table: at each send time, sends the request if it is armed.
 *
 * @example
 * ```ts
 * import { ArmedSends, armedTable, SendFirer } from "./armed_sends.ts";
 * const table = armedTable(8);
 * const h = new ArmedSends(table, Float64Array.of(0)).handoff(0);
 * console.log(h.arm(-1, new Uint8Array(3))); // true
 * new SendFirer(table).fire(0); // send() on descriptor -1: EBADF (9)
 * const f = await h.fired();
 * console.log(f.outcome === "sent" && f.written); // -9
 * ```
 */
export class SendFirer {
  private readonly v: TableViews;

  constructor(table: SharedArrayBuffer) {
    this.v = new TableViews(table);
  }

  /**
   * The send time of request `index` (the lane's next) has come: sends it if it is armed, the
   * time stamped right before the `send()`. Returns whether it sent.
   */
  fire(index: number): boolean {
    const v = this.v;
    // First the cursor, then the slot (see the module's comment).
    if (Atomics.load(v.cursor, 0) === STOPPED) return false;
    Atomics.store(v.cursor, 0, Math.min(index + 1, STOPPED - 1));
    if (index > MAX_ARMED_INDEX) return false;
    const k = index % v.slots;
    const armedWord = word(index, ARMED);
    if (
      Atomics.compareExchange(v.words, k, armedWord, word(index, FIRING)) !==
        armedWord
    ) return false;
    const t = wallNowMs();
    const n = sendFromAddress(v.fds[k], v.addresses[k], v.lengths[k]);
    v.written[k] = n;
    v.firedAt[k] = t;
    Atomics.store(v.words, k, word(index, FIRED));
    Atomics.notify(v.words, k);
    return true;
  }

  /** The metronome stops: nothing more is sent; requests still armed are their threads' again. */
  stop(): void {
    const v = this.v;
    Atomics.store(v.cursor, 0, STOPPED);
    for (let k = 0; k < v.slots; k++) {
      const w = Atomics.load(v.words, k);
      if ((w & 7) !== ARMED) continue;
      const passed = (w & ~7) | PASSED;
      if (Atomics.compareExchange(v.words, k, w, passed) === w) {
        Atomics.notify(v.words, k);
      }
    }
  }
}
