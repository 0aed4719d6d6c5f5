/**
 * The metronome: precise open-loop pacing off the thread that reads streams.
 *
 * A planned send time is hard to hit from a thread that also reads streams: Deno's timers fire
 * ~1.1 ms late (p99 ~2.4 ms) and nested `setTimeout(0)` turns are clamped to ~2 ms, while
 * spinning starves the reads (measurements in docs/perf.md). The metronome is a worker that
 * does nothing but sleep on `Atomics.wait` until each send time (measured ~0.09 ms late, p99
 * ~0.14 ms) and post a beat to the thread that owns the request; an idle receiver wakes
 * ~0.07 ms later (p99 ~0.4 ms). A beat carries how many of the lane's requests became due, in
 * schedule order.
 *
 * A receiver that is woken just in time is late by however long the OS takes to run it; on a
 * 2-core machine whose other threads compute (the built-in engine beside the harness) that was
 * 3-7 ms at p99 (docs/perf.md, issue 11). So where the receiver takes no token times (the
 * engine stamps them in its worker) a beat may come early: by `leadMs`, but never by more
 * than a tenth of the mean gap between the last {@link LEAD_WINDOW} send times
 * ({@link beatLeadMs}), and the receiver spins the rest ({@link spinUntilWallMs}). At low rates,
 * where the receiver sleeps between sends, that costs `leadMs` per send (3 ms at 8 req/s: 2.4 %
 * of one core); at high rates (gaps of 1 ms) the lead is 0.1 ms, a tenth of the thread at most.
 *
 * @module
 */

/** What the metronome worker is started with (structured-cloned; ports transferred). */
export interface MetronomeInit {
  /** Send times on the shared wall scale (`performance.timeOrigin + performance.now()`), sorted. */
  timesMs: Float64Array;
  /** Lane (receiver) of each time. */
  lanes: Uint8Array;
  /** One port per lane. */
  ports: MessagePort[];
  /** Int32 control word: set to 1 and notified to stop. */
  control: SharedArrayBuffer;
  /** The most a beat comes before its send time, ms (see {@link beatLeadMs}). */
  leadMs: number;
  /** Run the metronome's thread at real-time scheduling, as the pacing thread (where permitted). */
  realtime: boolean;
}

/**
 * The lead for a receiver that takes no token times itself. A receiver that reads streams
 * gets its beats on time (lead 0): a spin would delay the times of chunks read after it.
 */
export const SPIN_LEAD_MS = 3;

/** How many send times back the metronome takes the mean gap over for {@link beatLeadMs}. */
export const LEAD_WINDOW = 8;

/** A beat's lead over its send time: `leadMs`, but at most a tenth of the (mean) gap. */
export function beatLeadMs(leadMs: number, gapMs: number): number {
  return Math.max(0, Math.min(leadMs, gapMs / 10));
}

/**
 * When the metronome posts each beat (wall scale): its send time less {@link beatLeadMs} of the
 * mean gap over the last {@link LEAD_WINDOW} send times, never before the beat ahead of it.
 */
export function beatPostTimes(
  timesMs: Float64Array,
  leadMs: number,
): Float64Array {
  const n = timesMs.length;
  const postAt = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const back = Math.min(k, LEAD_WINDOW);
    const gap = back === 0 ? Infinity : (timesMs[k] - timesMs[k - back]) / back;
    postAt[k] = Math.max(
      timesMs[k] - beatLeadMs(leadMs, gap),
      k === 0 ? -Infinity : postAt[k - 1],
    );
  }
  return postAt;
}

/**
 * Spins until the wall-scale time `tMs` (a beat came early by its lead); returns at once if it
 * has passed. Returns the wall time it stopped at.
 */
export function spinUntilWallMs(tMs: number): number {
  let now = wallNowMs();
  while (now < tMs) now = wallNowMs();
  return now;
}

/** A receiver's end: counts beats as its requests become due. */
export type BeatPort = MessagePort;

/**
 * A running metronome over a fixed schedule.
 *
 * @example
 * ```ts
 * import { Metronome } from "./metronome.ts";
 * const t0 = performance.timeOrigin + performance.now();
 * const m = Metronome.start(Float64Array.of(t0 + 5, t0 + 10), Uint8Array.of(0, 0), 1);
 * let beats = 0;
 * await new Promise<void>((resolve) => {
 *   m.ports[0].onmessage = (e) => { if ((beats += e.data) === 2) resolve(); };
 * });
 * m.stop();
 * console.log(beats); // 2
 * ```
 */
export class Metronome {
  private readonly ctrl: Int32Array;
  /** Resolves when the worker has posted every beat or was stopped. */
  readonly done: Promise<void>;
  /** Resolves (never rejects) with the error if the metronome's worker fails: beats stop. */
  readonly failed: Promise<Error>;

  private constructor(
    private readonly worker: Worker,
    control: SharedArrayBuffer,
    /** The receiving port of each lane (transfer it to the thread that sends the lane's requests). */
    readonly ports: BeatPort[],
  ) {
    this.ctrl = new Int32Array(control);
    let fail: (e: Error) => void = () => {};
    this.failed = new Promise((resolve) => (fail = resolve));
    this.done = new Promise((resolve) => {
      worker.onmessage = () => resolve();
      worker.onerror = (e) => {
        e.preventDefault();
        fail(new Error(`Metronome worker failed: ${e.message}`));
        resolve();
      };
    });
  }

  /**
   * Starts posting beats: for each `timesMs[i]` (wall scale, sorted ascending) one count to lane
   * `lanes[i]`, {@link beatLeadMs} before that time, or at once when that has passed. The
   * receiver waits out the lead with {@link spinUntilWallMs}; `leadMs` 0 posts on time.
   * `realtime` raises the metronome's thread to `SCHED_FIFO` where permitted (it only sleeps and
   * posts; see pacing_priority.ts), so that its beats are not late for a busy core either.
   */
  static start(
    timesMs: Float64Array,
    lanes: Uint8Array,
    laneCount: number,
    leadMs = 0,
    realtime = false,
  ): Metronome {
    if (!(leadMs >= 0) || !Number.isFinite(leadMs)) {
      throw new RangeError(`Metronome: leadMs must be >= 0 (got ${leadMs})`);
    }
    if (timesMs.length !== lanes.length) {
      throw new RangeError("Metronome: times and lanes differ in length");
    }
    for (let i = 1; i < timesMs.length; i++) {
      if (!(timesMs[i] >= timesMs[i - 1])) {
        throw new RangeError(`Metronome: times must be sorted (index ${i})`);
      }
    }
    const control = new SharedArrayBuffer(4);
    const channels = Array.from(
      { length: laneCount },
      () => new MessageChannel(),
    );
    const worker = new Worker(
      new URL("./_metronome_worker.ts", import.meta.url),
      { type: "module" },
    );
    const m = new Metronome(worker, control, channels.map((c) => c.port2));
    const init: MetronomeInit = {
      timesMs,
      lanes,
      ports: channels.map((c) => c.port1),
      control,
      leadMs,
      realtime,
    };
    worker.postMessage(init, channels.map((c) => c.port1));
    return m;
  }

  /** Stops posting beats (at once, even mid-sleep) and ends the worker. */
  async stop(): Promise<void> {
    Atomics.store(this.ctrl, 0, 1);
    Atomics.notify(this.ctrl, 0);
    await this.done;
    this.worker.terminate();
  }
}

/** The wall-scale time (`performance.timeOrigin + performance.now()`) of now. */
export function wallNowMs(): number {
  return performance.timeOrigin + performance.now();
}
