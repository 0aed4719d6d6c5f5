/**
 * GPU timing for the kernel benchmark: timestamp queries around one compute pass when the device
 * has `timestamp-query` (Deno's readback costs ~11 ms, so wall time would measure the poll),
 * else wall time over many dispatches. Also the table renderer.
 *
 * @module
 */
import type { EngineDevice } from "../step/device.ts";

/**
 * Work that keeps the GPU's clocks up around each timed pass. Measured 2026-12-01 on the H200:
 * with one ~11 ms readback per timed pass of ~1 ms, utilization fell to 16-42 % and the SM clock
 * to 480-600 MHz (nvidia-smi), so every short row was timed at a third of the clock. With
 * heat encoded before and after the timed pass (in the same command buffer) the GPU stays busy
 * through the readback poll. Null (none) on a software adapter.
 */
let heater: ((enc: GPUCommandEncoder) => void) | null = null;

/** Registers the heat encoded around every timed pass (see `heater`); null disables it. */
export function useHeater(
  heat: ((enc: GPUCommandEncoder) => void) | null,
): void {
  heater = heat;
}

/** Encodes the registered heat, if any, into `enc`. */
export function encodeHeat(enc: GPUCommandEncoder): void {
  heater?.(enc);
}

/** Median seconds of one repetition of `body`, over `runs` passes of `reps` repetitions. */
export async function timePass(
  gpu: EngineDevice,
  body: (pass: GPUComputePassEncoder) => void,
  reps: number,
  runs: number,
): Promise<number> {
  const device = gpu.device;
  const samples: number[] = [];
  // Warm-up: compiles pipelines lazily created by the driver.
  {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    body(pass);
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  }
  if (gpu.timestamps) {
    const qs = device.createQuerySet({
      label: "bench timestamps",
      type: "timestamp",
      count: 2,
    });
    const resolve = device.createBuffer({
      label: "bench timestamps [2] u64",
      size: 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const read = device.createBuffer({
      label: "bench timestamps readback",
      size: 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    for (let r = 0; r < runs; r++) {
      const enc = device.createCommandEncoder();
      encodeHeat(enc);
      const pass = enc.beginComputePass({
        timestampWrites: {
          querySet: qs,
          beginningOfPassWriteIndex: 0,
          endOfPassWriteIndex: 1,
        },
      });
      for (let i = 0; i < reps; i++) body(pass);
      pass.end();
      enc.resolveQuerySet(qs, 0, 2, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, read, 0, 16);
      encodeHeat(enc);
      device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(read.getMappedRange().slice(0));
      read.unmap();
      samples.push(Number(t[1] - t[0]) / 1e9 / reps);
    }
    qs.destroy();
    resolve.destroy();
    read.destroy();
  } else {
    for (let r = 0; r < runs; r++) {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      for (let i = 0; i < reps; i++) body(pass);
      pass.end();
      const t0 = performance.now();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      samples.push((performance.now() - t0) / 1000 / reps);
    }
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

/** Spread above which a timed point does not repeat (the issue's +-5 %): timeSteady's default. */
export const REPEAT_LIMIT = 0.05;

/** A time of {@link timeSteady}: seconds and how far its last two medians lie apart. */
export interface Steady {
  s: number;
  spread: number;
}

/** The spread as a table cell, flagged (!) above {@link REPEAT_LIMIT}. */
export const repeatCell = (spread: number): string =>
  `${(100 * spread).toFixed(1)}%${spread > REPEAT_LIMIT ? " (!)" : ""}`;

const spreadOf = (a: number, b: number) => Math.abs(a - b) / Math.min(a, b);

/**
 * `timePass` until two medians in a row agree within `limit` (at most `tries` medians): the lower
 * of the last two and how far they lie apart (above `limit` only when `tries` ran out). On the
 * H200 the first measurement of a process or on freshly allocated buffers was at times 1.3-5x
 * slower for two whole medians (docs/perf.md, engine14f and engine14p), so a single median, or
 * the lower of two, can still be a cold outlier.
 */
export async function timeSteady(
  gpu: EngineDevice,
  body: (pass: GPUComputePassEncoder) => void,
  reps: number,
  runs: number,
  tries = 4,
  limit = REPEAT_LIMIT,
): Promise<Steady> {
  let a = await timePass(gpu, body, reps, runs);
  let b = await timePass(gpu, body, reps, runs);
  for (let i = 2; i < tries && spreadOf(a, b) > limit; i++) {
    a = b;
    b = await timePass(gpu, body, reps, runs);
  }
  return { s: Math.min(a, b), spread: spreadOf(a, b) };
}

/** One measured line: the lower of timeSteady's last two medians (see `measure` in _gpu.ts). */
export interface BenchRow {
  kernel: string;
  shape: string;
  dtype: string;
  /** Seconds per dispatch (or per step). */
  seconds: number;
  /** |a - b| / min(a, b) of the last two medians (timeSteady): how well the row repeats. */
  spread: number;
  /** Bytes that must move (compulsory traffic), or 0. */
  bytes: number;
  /** Floating-point operations, or 0. */
  flops: number;
}

/**
 * Renders rows as a Markdown table with GB/s and GFLOP/s beside the measured ceilings (copy
 * bandwidth, FMA peak of the row's arithmetic).
 */
export function renderTable(
  rows: BenchRow[],
  copyGBs: number,
  peakGFs: number,
): string {
  const head =
    "| kernel | shape | dtype | us | repeat | GB/s | % copy BW | GFLOP/s | % FMA peak |";
  const out = [head, "|---|---|---|---:|---:|---:|---:|---:|---:|"];
  for (const r of rows) {
    const gbs = r.bytes / r.seconds / 1e9;
    const gfs = r.flops / r.seconds / 1e9;
    out.push(
      `| ${r.kernel} | ${r.shape} | ${r.dtype} | ${
        (r.seconds * 1e6).toFixed(1)
      } | ${(100 * r.spread).toFixed(1)}% | ${
        r.bytes ? gbs.toFixed(1) : "-"
      } | ${r.bytes ? ((100 * gbs) / copyGBs).toFixed(0) + "%" : "-"} | ${
        r.flops ? gfs.toFixed(1) : "-"
      } | ${r.flops ? ((100 * gfs) / peakGFs).toFixed(0) + "%" : "-"} |`,
    );
  }
  return out.join("\n");
}
