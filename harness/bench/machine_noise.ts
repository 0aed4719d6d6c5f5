/**
 * The machine's own noise floor: how long a thread that wants to run is kept from running by
 * nothing the harness does (the hypervisor, kswapd, interrupts, other processes). A thread spins
 * on `performance.now()`; every gap between two successive readings above a small threshold is
 * a stall. From the stalls follows the delay that a uniformly random instant waits before the
 * thread runs again: an instant falls inside a stall of d ms with probability d / T and then
 * waits the rest of it, so P(delay > x) = sum(max(0, d_i - x)) / T. Its p99 is the p99 token
 * error that the machine alone would give a client whose tokens arrive at random instants; a
 * harness tail above it is the harness's, one at or below it cannot be told from the machine.
 *
 * A spinning thread never sleeps, so it cannot see the other cost a reading thread pays: being
 * woken. The wake-up probe has this thread spin and, every ~2 ms, wake a second thread that
 * sleeps in `Atomics.wait` (a futex, as a thread blocked in epoll is woken), and keeps how long
 * each wake took: on a VM an idle virtual CPU is halted and waking it goes through the
 * hypervisor.
 *
 * Usage: `deno run -A harness/bench/machine_noise.ts [--seconds 3]` prints one probe's
 * {@link StallSummary} as JSON (`deno task perf:harness` runs it before each figure).
 *
 * @module
 */

/** Stalls seen by one spinning thread. */
export interface StallSample {
  /** Every gap between successive clock readings longer than the threshold, ms. */
  stallsMs: number[];
  /** How long the thread spun, ms. */
  spunMs: number;
}

/** Stall figures of one probe (ms), as printed beside the harness's figures. */
export interface StallSummary {
  seconds: number;
  over_0_5_ms: number;
  over_1_ms: number;
  over_2_ms: number;
  max_ms: number;
  /** Delay of a uniformly random instant, p99 and p99.9 (see the module doc). */
  instant_p99_ms: number;
  instant_p999_ms: number;
  /** Wake-up latency of a sleeping thread (p50 / p99 / max ms), when probed. */
  wake_p50_ms?: number;
  wake_p99_ms?: number;
  wake_max_ms?: number;
}

/**
 * Spins the calling thread for `seconds` and keeps every gap over `thresholdMs` (default 0.02).
 *
 * @example
 * ```ts
 * import { spinForStalls } from "./machine_noise.ts";
 * const s = spinForStalls(0.01);
 * console.log(s.spunMs >= 10, s.stallsMs.length);
 * ```
 */
export function spinForStalls(
  seconds: number,
  thresholdMs = 0.02,
): StallSample {
  const stallsMs: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  let prev = start;
  for (;;) {
    const now = performance.now();
    const gap = now - prev;
    if (gap > thresholdMs) stallsMs.push(gap);
    prev = now;
    if (now >= end) return { stallsMs, spunMs: now - start };
  }
}

/**
 * The delay x such that a uniformly random instant waits longer than x with probability
 * `1 - q`: the smallest x with sum(max(0, d_i - x)) <= (1 - q) * T. 0 when the stalls cover
 * less than that fraction of the time.
 *
 * @example
 * ```ts
 * import { instantDelayQuantile } from "./machine_noise.ts";
 * // one stall of 20 ms in 1 s: 1 % of instants wait more than 10 ms.
 * console.log(instantDelayQuantile([20], 1000, 0.99)); // 10
 * ```
 */
export function instantDelayQuantile(
  stallsMs: readonly number[],
  totalMs: number,
  q: number,
): number {
  const budget = totalMs - q * totalMs;
  const d = [...stallsMs].sort((a, b) => b - a);
  // With the k longest stalls above x: excess(x) = sum_{i<k} d_i - k x = budget.
  let sum = 0;
  for (let k = 1; k <= d.length; k++) {
    sum += d[k - 1];
    const x = (sum - budget) / k;
    const next = k < d.length ? d[k] : 0;
    if (x >= next) return Math.max(0, x);
  }
  return 0;
}

/**
 * Counts and quantiles of one probe.
 *
 * @example
 * ```ts
 * import { summarizeStalls } from "./machine_noise.ts";
 * const s = summarizeStalls({ stallsMs: [0.6, 1.5, 20], spunMs: 1000 });
 * console.log(s.over_0_5_ms, s.over_1_ms, s.over_2_ms, s.max_ms, s.instant_p99_ms); // 3 2 1 20 10
 * ```
 */
export function summarizeStalls(s: StallSample): StallSummary {
  const over = (x: number) => s.stallsMs.filter((d) => d > x).length;
  return {
    seconds: s.spunMs / 1000,
    over_0_5_ms: over(0.5),
    over_1_ms: over(1),
    over_2_ms: over(2),
    max_ms: s.stallsMs.reduce((m, d) => Math.max(m, d), 0),
    instant_p99_ms: instantDelayQuantile(s.stallsMs, s.spunMs, 0.99),
    instant_p999_ms: instantDelayQuantile(s.stallsMs, s.spunMs, 0.999),
  };
}

/**
 * Wakes a thread sleeping in `Atomics.wait` every ~2 ms for `seconds` and returns each
 * wake-up's latency (ms): notify on this thread (spinning between pings) to the sleeper's
 * first clock reading.
 *
 * @example
 * ```ts
 * import { wakeLatencies } from "./machine_noise.ts";
 * const w = await wakeLatencies(0.05);
 * console.log(w.length > 0);
 * ```
 */
export async function wakeLatencies(seconds: number): Promise<number[]> {
  const n = Math.max(1, Math.floor(seconds * 500));
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const woke = new Float64Array(new SharedArrayBuffer(8 * n));
  const sent = new Float64Array(n);
  const worker = new Worker(new URL("./_wake_worker.ts", import.meta.url), {
    type: "module",
  });
  let ready: () => void = () => {};
  let done: () => void = () => {};
  const isReady = new Promise<void>((r) => (ready = r));
  const isDone = new Promise<void>((r) => (done = r));
  worker.onmessage = (e) => (e.data === "ready" ? ready() : done());
  worker.postMessage({ flag: flag.buffer, times: woke.buffer });
  // The worker says when it is about to wait (its start takes 10-100s of ms on a busy machine);
  // a ping it is not yet waiting for is still timed, at its wake from the first wait.
  await isReady;
  const now = () => performance.timeOrigin + performance.now();
  for (let k = 0; k < n; k++) {
    // 1.5-2.5 ms apart, so that pings do not lock onto a timer's period.
    const at = performance.now() + 1.5 + ((k * 0.618) % 1);
    while (performance.now() < at) { /* spin */ }
    sent[k] = now();
    Atomics.store(flag, 0, k + 1);
    Atomics.notify(flag, 0);
  }
  const end = performance.now() + 20;
  while (performance.now() < end) { /* let the last wake land */ }
  Atomics.store(flag, 0, -1);
  Atomics.notify(flag, 0);
  await isDone;
  worker.terminate();
  const out: number[] = [];
  // A ping whose sleeper was still awake (woken late by the previous one) has no time of its own.
  for (let k = 0; k < n; k++) if (woke[k] > 0) out.push(woke[k] - sent[k]);
  return out;
}

/**
 * A p99 against its target, with the machine's floor beside it (the larger of the random-instant
 * delay p99 and the wake-up p99, {@link machineFloorMs}): `met`, or, when that already exceeds
 * the target, `not measurable on this machine`, else
 * `MISSED by x ms`. A miss is never relabelled when the machine is quiet enough to show the
 * target.
 *
 * @example
 * ```ts
 * import { verdictAgainstFloor } from "./machine_noise.ts";
 * console.log(verdictAgainstFloor(0.4, 0.5, 0.05)); // met
 * console.log(verdictAgainstFloor(0.9, 0.5, 0.05)); // MISSED by 0.400 ms
 * ```
 */
export function verdictAgainstFloor(
  p99Ms: number,
  targetMs: number,
  floorP99Ms: number,
): string {
  if (p99Ms <= targetMs) return "met";
  if (floorP99Ms > targetMs) {
    return `not measurable on this machine: its own p99 stall or wake-up is ${
      floorP99Ms.toFixed(3)
    } ms (> ${targetMs} ms); measured ${
      p99Ms.toFixed(3)
    } ms, over the target by ${(p99Ms - targetMs).toFixed(3)} ms`;
  }
  return `MISSED by ${(p99Ms - targetMs).toFixed(3)} ms`;
}

/**
 * The machine's own p99 floor of a probe: the larger of the random-instant delay p99 and the
 * wake-up p99 (a token read pays one wake-up when its thread slept, or the rest of a stall).
 *
 * @example
 * ```ts
 * import { machineFloorMs } from "./machine_noise.ts";
 * console.log(machineFloorMs({ instant_p99_ms: 0.1, wake_p99_ms: 0.4 } as never)); // 0.4
 * ```
 */
export function machineFloorMs(s: StallSummary): number {
  return Math.max(s.instant_p99_ms, s.wake_p99_ms ?? 0);
}

/**
 * One line of a probe's figures.
 *
 * @example
 * ```ts
 * import { renderStalls, summarizeStalls } from "./machine_noise.ts";
 * console.log(renderStalls(summarizeStalls({ stallsMs: [0.6], spunMs: 3000 })));
 * ```
 */
export function renderStalls(s: StallSummary): string {
  return `machine alone, ${
    s.seconds.toFixed(0)
  } s spinning: stalls > 0.5 / 1 / 2 ms: ` +
    `${s.over_0_5_ms} / ${s.over_1_ms} / ${s.over_2_ms}, max ${
      s.max_ms.toFixed(2)
    } ms; ` +
    `random-instant delay p99 ${s.instant_p99_ms.toFixed(3)} / p99.9 ${
      s.instant_p999_ms.toFixed(3)
    } ms` +
    (s.wake_p99_ms === undefined
      ? ""
      : `; wake-up of a sleeping thread p50 ${
        s.wake_p50_ms!.toFixed(3)
      } / p99 ${s.wake_p99_ms.toFixed(3)} / max ${
        s.wake_max_ms!.toFixed(2)
      } ms`);
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--seconds");
  const seconds = i >= 0 ? Number(Deno.args[i + 1]) : 3;
  if (!(seconds > 0)) {
    throw new RangeError(
      `--seconds: expected a number > 0, got ${
        JSON.stringify(Deno.args[i + 1])
      }`,
    );
  }
  const s = summarizeStalls(spinForStalls(seconds));
  const w = (await wakeLatencies(seconds)).sort((a, b) => a - b);
  const at = (q: number) => w[Math.min(w.length - 1, Math.floor(q * w.length))];
  console.log(JSON.stringify({
    ...s,
    wake_p50_ms: at(0.5),
    wake_p99_ms: at(0.99),
    wake_max_ms: w[w.length - 1],
  }));
}
