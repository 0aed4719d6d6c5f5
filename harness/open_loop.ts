/**
 * The open loop: each request is sent at its planned time, whatever the backend's state, so a
 * slow backend builds a queue as in production. Send times are kept by the metronome thread
 * (metronome.ts), which beats this thread's lane; this thread only launches on each beat.
 *
 * @module
 */
import { wallTimes } from "./load_plan.ts";
import { spinUntilWallMs } from "./metronome.ts";
import type { LoadStrategy, OpenPace } from "./run_context.ts";

/** Sends every head on its metronome beat, without waiting for replies. */
export const openLoop: LoadStrategy<OpenPace> = {
  async sendAll({ clock, heads, pace, sender, sending, mayStart }) {
    if (pace.scheduleNs.length !== heads.length) {
      throw new Error(
        `Open-loop plan has ${pace.scheduleNs.length} send times for ${heads.length} requests`,
      );
    }
    const armed = pace.armed;
    await paceByBeats(
      pace.beats,
      // Armed beats come early by design: the hand-off keeps the send time, not a spin here.
      armed ? undefined : wallTimes(clock, pace.scheduleNs),
      heads.length,
      armed
        ? (i) => sender.launch(heads[i], pace.scheduleNs[i], armed.handoff(i))
        : (i) => sender.launch(heads[i], pace.scheduleNs[i]),
      sending,
      (i) => mayStart(pace.scheduleNs[i]),
    );
  },
};

/**
 * Calls `launch(0..n-1)` as the metronome's beats arrive on `port`, each at its wall time
 * `wallMs[i]` (a beat may come up to its lead early: the rest is spun, see metronome.ts; without
 * `wallMs`, at once);
 * resolves when all were launched or no more may be (`mayStart(next)` false: then the port is
 * closed and later beats are dropped). When `signal` aborts, that is asked at once: a duration
 * limit's timer can fire before the beats of heads planned just before it reach this thread on
 * a busy machine, and those heads are still sent.
 */
function paceByBeats(
  port: MessagePort,
  wallMs: Float64Array | undefined,
  n: number,
  launch: (i: number) => void,
  signal: AbortSignal,
  mayStart: (i: number) => boolean,
): Promise<void> {
  return new Promise((resolve) => {
    let next = 0;
    let ended = false;
    const more = () => next < n && (!signal.aborted || mayStart(next));
    const finish = () => {
      if (ended) return;
      ended = true;
      signal.removeEventListener("abort", onAbort);
      port.onmessage = null;
      port.close();
      resolve();
    };
    const onAbort = () => {
      if (!more()) finish();
    };
    if (!more()) return finish();
    signal.addEventListener("abort", onAbort);
    port.onmessage = (e: MessageEvent<number>) => {
      for (let k = 0; k < e.data && more(); k++) {
        if (wallMs) spinUntilWallMs(wallMs[next]);
        launch(next++);
      }
      if (!more()) finish();
    };
  });
}
