/**
 * The sleeping side of machine_noise.ts's wake-up probe: waits on slot 0 of the shared
 * Int32Array for each ping `k` and writes its wake time to the shared Float64Array at `k`.
 * Posts "ready" just before its first wait and "done" at the end.
 *
 * @module
 */
self.onmessage = (
  e: MessageEvent<{ flag: SharedArrayBuffer; times: SharedArrayBuffer }>,
) => {
  const flag = new Int32Array(e.data.flag);
  const woke = new Float64Array(e.data.times);
  let seen = 0;
  self.postMessage("ready");
  for (;;) {
    Atomics.wait(flag, 0, seen);
    const now = performance.timeOrigin + performance.now();
    const k = Atomics.load(flag, 0);
    if (k < 0) break;
    woke[k - 1] = now;
    seen = k;
  }
  self.postMessage("done");
};
