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
import { FIRE_GUARD_MS, SendFirer } from "./armed_sends.ts";
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

/**
 * Posts every beat of `schedule` on time (or until stopped) and, for armed lanes, sends what was
 * armed at each send time (armed_sends.ts); then ends the worker.
 */
function play(
  { ports, control }: MetronomeBoot,
  { timesMs, lanes, leadMs, armed }: MetronomePlay,
): void {
  const ctrl = new Int32Array(control);
  const counts = new Int32Array(ports.length);
  const n = timesMs.length;
  const postAt = beatPostTimes(timesMs, leadMs, armed !== undefined);
  const firers = armed?.map((t) => new SendFirer(t));
  // Each send time's place in its lane's schedule (what its lane's table is indexed by).
  const place = new Int32Array(n);
  if (firers) {
    const seen = new Int32Array(ports.length);
    for (let k = 0; k < n; k++) place[k] = seen[lanes[k]]++;
  }
  let i = 0; // the next beat to post
  let f = firers ? 0 : n; // the next send time to fire
  while ((i < n || f < n) && Atomics.load(ctrl, 0) === 0) {
    const now = performance.timeOrigin + performance.now();
    const next = Math.min(
      i < n ? postAt[i] : Infinity,
      f < n ? timesMs[f] + FIRE_GUARD_MS : Infinity,
    );
    const wait = next - now;
    if (wait > 0) {
      // Wakes early on a stop (the control word changes and is notified).
      Atomics.wait(ctrl, 0, 0, Math.min(wait, 1000));
      continue;
    }
    // Sends first: their times are now; the beats ahead of them have a lead to spare.
    while (f < n && timesMs[f] + FIRE_GUARD_MS <= now) {
      firers![lanes[f]].fire(place[f]);
      f++;
    }
    counts.fill(0);
    while (i < n && postAt[i] <= now) counts[lanes[i++]]++;
    for (let l = 0; l < ports.length; l++) {
      if (counts[l] > 0) ports[l].postMessage(counts[l]);
    }
  }
  // Whatever is still armed goes back to its thread, which writes it.
  for (const t of firers ?? []) t.stop();
  for (const p of ports) p.close();
  self.postMessage("done");
  self.close();
}
