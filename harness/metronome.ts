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

/** The metronome worker's first message: its ports and control word (ports transferred). */
export interface MetronomeBoot {
  op: "boot";
  /** One port per lane. */
  ports: MessagePort[];
  /** Int32 control word: set to 1 and notified to stop. */
  control: SharedArrayBuffer;
  /** Run the metronome's thread at real-time scheduling, as the pacing thread (where permitted). */
  realtime: boolean;
}

/** The schedule the worker then plays (structured-cloned). */
export interface MetronomePlay {
  op: "play";
  /** Send times on the shared wall scale (`performance.timeOrigin + performance.now()`), sorted. */
  timesMs: Float64Array;
  /** Lane (receiver) of each time. */
  lanes: Uint8Array;
  /** The most a beat comes before its send time, ms (see {@link beatLeadMs}). */
  leadMs: number;
  /**
   * One table per lane (harness/armed_sends.ts): the lanes' beats come `leadMs` early, without
   * the cap by the gap, and the metronome sends what was armed at each send time.
   */
  armed?: SharedArrayBuffer[];
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
 * `armed` (the receiver arms its sends rather than spinning): the full `leadMs` early.
 */
export function beatPostTimes(
  timesMs: Float64Array,
  leadMs: number,
  armed = false,
): Float64Array {
  const n = timesMs.length;
  const postAt = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const back = Math.min(k, LEAD_WINDOW);
    const gap = back === 0 ? Infinity : (timesMs[k] - timesMs[k - back]) / back;
    postAt[k] = Math.max(
      timesMs[k] - (armed ? leadMs : beatLeadMs(leadMs, gap)),
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
 * A metronome: a worker thread that posts beats over a fixed schedule.
 *
 * It is booted first ({@linkcode Metronome.boot}: the worker's module loaded, its thread raised
 * where asked) and given its schedule after ({@linkcode Metronome.play}), so that a run can plan
 * its start once its metronome is ready. Started in one step with the schedule, a new worker
 * loaded its module on the run's 20-ms lead: on 2 cores beside the engine the first send of a
 * bench point was 1-12 ms late in 13 of 22 late sends over nine benches (docs/perf.md, "The
 * first send of a point").
 *
 * @example
 * ```ts
 * import { Metronome } from "./metronome.ts";
 * const m = await Metronome.boot(1);
 * const t0 = performance.timeOrigin + performance.now();
 * m.play(Float64Array.of(t0 + 5, t0 + 10), Uint8Array.of(0, 0));
 * let beats = 0;
 * await new Promise<void>((resolve) => {
 *   m.ports[0].onmessage = (e) => { if ((beats += e.data) === 2) resolve(); };
 * });
 * await m.stop();
 * console.log(beats); // 2
 * ```
 */
export class Metronome {
  private readonly ctrl: Int32Array;
  /** Resolves when the worker has posted every beat or was stopped. */
  readonly done: Promise<void>;
  /** Resolves (never rejects) with the error if the metronome's worker fails: beats stop. */
  readonly failed: Promise<Error>;
  private readonly ready: Promise<void>;
  private played = false;
  private end: () => void = () => {};

  private constructor(
    private readonly worker: Worker,
    control: SharedArrayBuffer,
    /** The receiving port of each lane (transfer it to the thread that sends the lane's requests). */
    readonly ports: BeatPort[],
  ) {
    this.ctrl = new Int32Array(control);
    let fail: (e: Error) => void = () => {};
    this.failed = new Promise((resolve) => (fail = resolve));
    let isReady: () => void = () => {};
    let notReady: (e: Error) => void = () => {};
    this.ready = new Promise((resolve, reject) => {
      isReady = resolve;
      notReady = reject;
    });
    this.done = new Promise((resolve) => {
      this.end = () => resolve();
      worker.onmessage = (e: MessageEvent<"ready" | "done">) => {
        if (e.data === "ready") isReady();
        else this.end();
      };
      worker.onerror = (e) => {
        e.preventDefault();
        const err = new Error(`Metronome worker failed: ${e.message}`);
        fail(err);
        notReady(err);
        this.end();
      };
    });
  }

  /**
   * Starts a metronome's worker with `laneCount` lanes and resolves once it is ready for
   * {@linkcode play}: its module loaded and, with `realtime`, its thread raised to `SCHED_FIFO`
   * where permitted (it only sleeps and posts; see pacing_priority.ts), so that its beats are
   * not late for a busy core either. Rejects if the worker fails to start.
   */
  static async boot(laneCount: number, realtime = false): Promise<Metronome> {
    if (!(Number.isInteger(laneCount) && laneCount >= 1 && laneCount <= 255)) {
      throw new RangeError(
        `Metronome: expected 1-255 lanes, got ${laneCount}`,
      );
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
    const boot: MetronomeBoot = {
      op: "boot",
      ports: channels.map((c) => c.port1),
      control,
      realtime,
    };
    worker.postMessage(boot, channels.map((c) => c.port1));
    try {
      await m.ready;
    } catch (e) {
      worker.terminate();
      throw e;
    }
    return m;
  }

  /**
   * Posts beats over a schedule (once): for each `timesMs[i]` (wall scale, sorted ascending)
   * one count to lane `lanes[i]`, {@link beatLeadMs} before that time, or at once when that has
   * passed. The receiver waits out the lead with {@link spinUntilWallMs}; `leadMs` 0 posts on
   * time. With `armed`, one table per lane (harness/armed_sends.ts), beats come the full
   * `leadMs` early and the metronome sends at each send time what its lane armed.
   */
  play(
    timesMs: Float64Array,
    lanes: Uint8Array,
    leadMs = 0,
    armed?: SharedArrayBuffer[],
  ): void {
    checkSchedule(timesMs, lanes, this.ports.length, leadMs);
    if (armed !== undefined && armed.length !== this.ports.length) {
      throw new RangeError(
        `Metronome: ${armed.length} armed tables for ${this.ports.length} lanes`,
      );
    }
    if (this.played) {
      throw new Error("Metronome: a schedule was already played");
    }
    this.played = true;
    const play: MetronomePlay = { op: "play", timesMs, lanes, leadMs, armed };
    this.worker.postMessage(play);
  }

  /** {@linkcode boot} and {@linkcode play} in one call, for a schedule known before the boot. */
  static async start(
    timesMs: Float64Array,
    lanes: Uint8Array,
    laneCount: number,
    leadMs = 0,
    realtime = false,
  ): Promise<Metronome> {
    checkSchedule(timesMs, lanes, laneCount, leadMs);
    const m = await Metronome.boot(laneCount, realtime);
    m.play(timesMs, lanes, leadMs);
    return m;
  }

  /** Stops posting beats (at once, even mid-sleep) and ends the worker. */
  async stop(): Promise<void> {
    Atomics.store(this.ctrl, 0, 1);
    Atomics.notify(this.ctrl, 0);
    // Never played: the worker waits in its event loop, not in the schedule; nothing to end.
    if (!this.played) this.end();
    await this.done;
    this.worker.terminate();
  }
}

/** Throws a RangeError naming what is wrong with a schedule for `laneCount` lanes. */
function checkSchedule(
  timesMs: Float64Array,
  lanes: Uint8Array,
  laneCount: number,
  leadMs: number,
): void {
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
  for (let i = 0; i < lanes.length; i++) {
    if (lanes[i] >= laneCount) {
      throw new RangeError(
        `Metronome: lane ${lanes[i]} at index ${i}, but ${laneCount} lanes`,
      );
    }
  }
}

/** The wall-scale time (`performance.timeOrigin + performance.now()`) of now. */
export function wallNowMs(): number {
  return performance.timeOrigin + performance.now();
}
