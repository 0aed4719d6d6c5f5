/**
 * The metronome's thread: sleeps on `Atomics.wait` (a futex, ~0.1 ms late at p99, against
 * ~1.1 ms for a timer) until each planned send time and posts a beat to the lane that owns it.
 * It never returns to its event loop until the schedule is done or stopped, so it does
 * nothing else; see metronome.ts.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import {
  beatPostTimes,
  type MetronomeBoot,
  type MetronomePlay,
} from "./metronome.ts";
import { raiseThreadToRealtime } from "../adapters/thread_priority.ts";
import { PACING_RT_PRIORITY } from "./pacing_priority.ts";

let boot: MetronomeBoot | undefined;

self.onmessage = (e: MessageEvent<MetronomeBoot | MetronomePlay>) => {
  const m = e.data;
  if (m.op === "boot") {
    // A refusal leaves the thread as it was: the run's pacing thread reports it.
    if (m.realtime) raiseThreadToRealtime(PACING_RT_PRIORITY);
    boot = m;
    self.postMessage("ready");
    return;
  }
  if (!boot) {
    throw new Error("Metronome worker: a schedule before its boot message");
  }
  play(boot, m);
};

/** Posts every beat of `schedule` on time (or until stopped), then ends the worker. */
function play(
  { ports, control }: MetronomeBoot,
  { timesMs, lanes, leadMs }: MetronomePlay,
): void {
  const ctrl = new Int32Array(control);
  const counts = new Int32Array(ports.length);
  const n = timesMs.length;
  const postAt = beatPostTimes(timesMs, leadMs);
  let i = 0;
  while (i < n && Atomics.load(ctrl, 0) === 0) {
    const now = performance.timeOrigin + performance.now();
    const wait = postAt[i] - now;
    if (wait > 0) {
      // Wakes early on a stop (the control word changes and is notified).
      Atomics.wait(ctrl, 0, 0, Math.min(wait, 1000));
      continue;
    }
    counts.fill(0);
    while (i < n && postAt[i] <= now) counts[lanes[i++]]++;
    for (let l = 0; l < ports.length; l++) {
      if (counts[l] > 0) ports[l].postMessage(counts[l]);
    }
  }
  for (const p of ports) p.close();
  self.postMessage("done");
  self.close();
}
