/**
 * A replay's progress counters, kept in one thread or shared by the threads of a run spread
 * over workers (a `SharedArrayBuffer` updated with `Atomics`), so the progress line, the
 * peak in flight and the error-count stop see the whole run.
 *
 * @module
 */

/** Counts of a replay so far (all threads of the run, when shared). */
export interface CounterValues {
  /** First tries released by the pacer. */
  sent: number;
  /** Requests in flight now. */
  inFlight: number;
  /** Requests ended. */
  done: number;
  /** Requests ended in error or timeout. */
  errors: number;
  /** Output tokens received. */
  tokens: number;
  /** Most requests in flight at once. */
  peak: number;
}

/** What a replay counts as it goes. */
export interface RunCounters {
  /** A first try was released by the pacer. */
  sent(): void;
  /** A request went in flight. */
  started(): void;
  /** A request ended; returns the run's failed requests so far (this one included). */
  ended(ok: boolean): number;
  /** Token-bearing chunks delivered `n` tokens. */
  tokens(n: number): void;
  /** The counters now. */
  read(): CounterValues;
}

/** Counters of a replay on one thread. */
export class LocalCounters implements RunCounters {
  private readonly v: CounterValues = {
    sent: 0,
    inFlight: 0,
    done: 0,
    errors: 0,
    tokens: 0,
    peak: 0,
  };
  sent(): void {
    this.v.sent++;
  }
  started(): void {
    this.v.peak = Math.max(this.v.peak, ++this.v.inFlight);
  }
  ended(ok: boolean): number {
    this.v.inFlight--;
    if (ok) this.v.done++;
    else this.v.errors++;
    return this.v.errors;
  }
  tokens(n: number): void {
    this.v.tokens += n;
  }
  read(): CounterValues {
    return { ...this.v };
  }
}

const SENT = 0, IN_FLIGHT = 1, DONE = 2, ERRORS = 3, PEAK = 4, CURSOR = 5;
const INTS = 8;

/**
 * Counters in shared memory. Each thread makes its own view with its lane; token counts are
 * one float per lane (a single writer each), the rest are `Atomics` integers. Slot `cursor`
 * hands out closed-loop work across threads.
 *
 * @example
 * ```ts
 * import { SharedCounters } from "./_run_counters.ts";
 * const buf = SharedCounters.buffer(2);
 * const a = new SharedCounters(buf, 0, 2), b = new SharedCounters(buf, 1, 2);
 * a.started(); b.started(); b.ended(false); b.tokens(5);
 * console.log(a.read()); // { sent: 0, inFlight: 1, done: 0, errors: 1, tokens: 5, peak: 2 }
 * ```
 */
export class SharedCounters implements RunCounters {
  private readonly ints: Int32Array;
  private readonly toks: Float64Array;

  /** A zeroed buffer for `lanes` threads. */
  static buffer(lanes: number): SharedArrayBuffer {
    return new SharedArrayBuffer(INTS * 4 + lanes * 8);
  }

  constructor(
    buf: SharedArrayBuffer,
    private readonly lane: number,
    lanes: number,
  ) {
    this.ints = new Int32Array(buf, 0, INTS);
    this.toks = new Float64Array(buf, INTS * 4, lanes);
  }
  sent(): void {
    Atomics.add(this.ints, SENT, 1);
  }
  started(): void {
    const now = Atomics.add(this.ints, IN_FLIGHT, 1) + 1;
    let peak = Atomics.load(this.ints, PEAK);
    while (now > peak) {
      const seen = Atomics.compareExchange(this.ints, PEAK, peak, now);
      if (seen === peak) break;
      peak = seen;
    }
  }
  ended(ok: boolean): number {
    Atomics.sub(this.ints, IN_FLIGHT, 1);
    if (ok) {
      Atomics.add(this.ints, DONE, 1);
      return Atomics.load(this.ints, ERRORS);
    }
    return Atomics.add(this.ints, ERRORS, 1) + 1;
  }
  tokens(n: number): void {
    this.toks[this.lane] += n;
  }
  /** Claims the next closed-loop work item (0, 1, 2, ... across all threads). */
  claim(): number {
    return Atomics.add(this.ints, CURSOR, 1);
  }
  read(): CounterValues {
    let tokens = 0;
    for (const t of this.toks) tokens += t;
    return {
      sent: Atomics.load(this.ints, SENT),
      inFlight: Atomics.load(this.ints, IN_FLIGHT),
      done: Atomics.load(this.ints, DONE),
      errors: Atomics.load(this.ints, ERRORS),
      tokens,
      peak: Atomics.load(this.ints, PEAK),
    };
  }
}
