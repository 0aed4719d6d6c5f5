/**
 * Times one encoded engine step: GPU timestamp queries around the step's compute pass when the
 * adapter has `timestamp-query`, else wall time from submit to completion. Waits for each step
 * (a readback per call), so it is for measurement only, never for serving.
 *
 * @module
 */
import type { ForwardEngine } from "../step/forward.ts";
import type { PackedStep } from "../batch/step_batch.ts";

/**
 * A reusable step timer; `destroy()` frees its query set and buffers.
 *
 * @example
 * ```ts ignore
 * const timer = new StepTimer(engine);
 * const ms = await timer.timeMs(engine.prepareStep(batch));
 * timer.destroy();
 * ```
 */
export class StepTimer {
  /** `gpu` (timestamp queries) or `wall` (submit to completion). */
  readonly timing: "gpu" | "wall";
  private readonly qs: GPUQuerySet | null;
  private readonly res: GPUBuffer; // [2] u64: resolved begin/end timestamps
  private readonly rd: GPUBuffer; // [2] u64: their readback copy

  constructor(private readonly engine: ForwardEngine) {
    const device = engine.gpu.device;
    this.qs = engine.gpu.timestamps
      ? device.createQuerySet({
        label: "step timer",
        type: "timestamp",
        count: 2,
      })
      : null;
    this.timing = this.qs ? "gpu" : "wall";
    this.res = device.createBuffer({
      label: "step timer resolve [2] u64",
      size: 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    this.rd = device.createBuffer({
      label: "step timer readback [2] u64",
      size: 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  /** Encodes, submits and waits for one step; returns its time in milliseconds. */
  async timeMs(packed: PackedStep): Promise<number> {
    const device = this.engine.gpu.device;
    const enc = device.createCommandEncoder({ label: "timed step" });
    const qs = this.qs;
    this.engine.encodeStep(
      enc,
      packed,
      qs
        ? { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 }
        : undefined,
    );
    if (qs) {
      enc.resolveQuerySet(qs, 0, 2, this.res, 0);
      enc.copyBufferToBuffer(this.res, 0, this.rd, 0, 16);
    }
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    if (!qs) {
      await device.queue.onSubmittedWorkDone();
      return performance.now() - t0;
    }
    await this.rd.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(this.rd.getMappedRange().slice(0));
    this.rd.unmap();
    return Number(t[1] - t[0]) / 1e6;
  }

  destroy(): void {
    this.qs?.destroy();
    this.res.destroy();
    this.rd.destroy();
  }
}
