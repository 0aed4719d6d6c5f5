/**
 * Asynchronous readback of each step's sampled ids and GPU timestamps, and the map from GPU
 * timestamps to the run clock.
 *
 * A readback costs ~11 ms in Deno whatever its size (docs/ENGINE.md), so the engine never waits for
 * one before submitting the next step: each step copies its sampled ids and its compute pass's
 * begin/end timestamps into its own staging buffer of a ring, and maps it without waiting.
 *
 * @module
 */

/** What one step's readback returns. */
export interface StepReadout {
  /** GPU timestamps (ns, GPU clock) at the start and end of the step's compute pass, or null. */
  startRaw: bigint | null;
  endRaw: bigint | null;
  /** Sampled ids of the step's sample rows, in row order. */
  tokens: Uint32Array;
  /** Their log-probabilities under the raw logits (sample.wgsl), in row order. */
  logprobs: Float32Array;
}

/**
 * Staging buffers, a timestamp query set and its resolve buffer for a ring of `ring` steps with
 * at most `maxRows` sample rows each.
 *
 * @example
 * ```ts
 * import { requestEngineDevice } from "./device.ts";
 * import { StepReadback } from "./step_readback.ts";
 * const gpu = await requestEngineDevice();
 * const rb = new StepReadback(gpu.device, gpu.timestamps, 2, 4);
 * const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
 * const log = gpu.device.createBuffer({ size: 16, usage });
 * const lp = gpu.device.createBuffer({ size: 16, usage });
 * const enc = gpu.device.createCommandEncoder();
 * enc.beginComputePass({ timestampWrites: rb.timestampWrites(0) }).end();
 * rb.encodeCopies(enc, 0, { tokens: log, logprobs: lp }, 0, 1);
 * gpu.device.queue.submit([enc.finish()]);
 * console.log((await rb.read(0, 1)).tokens.length); // 1
 * rb.destroy();
 * gpu.device.destroy();
 * ```
 */
export class StepReadback {
  private readonly querySet: GPUQuerySet | null;
  private readonly resolve: GPUBuffer | null;
  private readonly staging: GPUBuffer[];

  constructor(
    private readonly device: GPUDevice,
    /** Whether the device has `timestamp-query`. */
    readonly timestamps: boolean,
    /** Steps in the ring (more than the steps ever in flight). */
    readonly ring: number,
    /** Sample rows per step at most. */
    readonly maxRows: number,
  ) {
    this.querySet = timestamps
      ? device.createQuerySet({
        label: `step timestamps [${2 * ring}]`,
        type: "timestamp",
        count: 2 * ring,
      })
      : null;
    this.resolve = timestamps
      ? device.createBuffer({
        label: `step timestamps resolve [${ring}, 256 B]`,
        size: ring * 256,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      })
      : null;
    this.staging = Array.from({ length: ring }, (_, i) =>
      device.createBuffer({
        label: `step readback ${i} [2 u64 + ${maxRows} u32 + ${maxRows} f32]`,
        size: 16 + 8 * Math.max(1, maxRows),
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      }));
  }

  /** Timestamp writes for the compute pass of the step in ring slot `slot` (none without them). */
  timestampWrites(slot: number): GPUComputePassTimestampWrites | undefined {
    if (!this.querySet) return undefined;
    return {
      querySet: this.querySet,
      beginningOfPassWriteIndex: 2 * slot,
      endOfPassWriteIndex: 2 * slot + 1,
    };
  }

  /**
   * Records the copies of the step's timestamps and of `rows` sampled ids and their
   * log-probabilities at `logBase` of the two logs.
   */
  encodeCopies(
    enc: GPUCommandEncoder,
    slot: number,
    log: { tokens: GPUBuffer; logprobs: GPUBuffer },
    logBase: number,
    rows: number,
  ): void {
    const dst = this.staging[slot];
    if (this.querySet && this.resolve) {
      enc.resolveQuerySet(this.querySet, 2 * slot, 2, this.resolve, slot * 256);
      enc.copyBufferToBuffer(this.resolve, slot * 256, dst, 0, 16);
    }
    // At least one word, so the staging buffer is always used by this submission.
    const n = 4 * Math.max(1, rows);
    enc.copyBufferToBuffer(log.tokens, logBase * 4, dst, 16, n);
    enc.copyBufferToBuffer(
      log.logprobs,
      logBase * 4,
      dst,
      16 + 4 * Math.max(1, this.maxRows),
      n,
    );
  }

  /** Maps the slot's staging buffer once the step has run and returns what it holds. */
  async read(slot: number, rows: number): Promise<StepReadout> {
    const buf = this.staging[slot];
    await buf.mapAsync(GPUMapMode.READ);
    const bytes = buf.getMappedRange().slice(0);
    buf.unmap();
    const ts = new BigUint64Array(bytes, 0, 2);
    return {
      startRaw: this.timestamps ? ts[0] : null,
      endRaw: this.timestamps ? ts[1] : null,
      tokens: new Uint32Array(bytes, 16, rows),
      logprobs: new Float32Array(
        bytes,
        16 + 4 * Math.max(1, this.maxRows),
        rows,
      ),
    };
  }

  /** Frees the buffers and the query set. */
  destroy(): void {
    this.querySet?.destroy();
    this.resolve?.destroy();
    for (const b of this.staging) b.destroy();
  }
}

/**
 * Maps GPU timestamps to the run clock. A step's compute pass cannot begin before the host
 * submitted it, so every (GPU start - host submit) bounds the offset from above; the smallest
 * bound seen is the estimate (exact when the GPU was idle at a submit, early by the launch
 * latency otherwise), refined at every step.
 *
 * @example
 * ```ts
 * import { GpuClock } from "./step_readback.ts";
 * const c = new GpuClock();
 * c.observe(1_000n, 5_000_300n); // submitted at run 1 us, began at GPU 5,000,300 ns
 * c.observe(9_000n, 5_008_100n);
 * console.log(c.toRun(5_010_000n)); // 10900n
 * ```
 */
export class GpuClock {
  /** GPU time minus run time, in ns (null before the first observation). */
  offsetNs: bigint | null = null;

  /** Narrows the offset with a step submitted at `submitNs` (run) that began at `startRaw` (GPU). */
  observe(submitNs: bigint, startRaw: bigint): void {
    const o = startRaw - submitNs;
    if (this.offsetNs === null || o < this.offsetNs) this.offsetNs = o;
  }

  /** A GPU timestamp on the run clock, or null when unknown. */
  toRun(raw: bigint | null): bigint | null {
    return raw === null || this.offsetNs === null ? null : raw - this.offsetNs;
  }

  /**
   * The first estimates of the offset: three empty timed passes through slot 0 of `readback`
   * (whose copies read the two logs `log`), each observed against `now` (run clock, ns) at its
   * submit. Does nothing on an adapter without timestamp queries.
   */
  async calibrate(
    device: GPUDevice,
    readback: StepReadback,
    log: { tokens: GPUBuffer; logprobs: GPUBuffer },
    now: () => bigint,
  ): Promise<void> {
    if (!readback.timestamps) return;
    for (let i = 0; i < 3; i++) {
      const enc = device.createCommandEncoder({ label: "clock calibration" });
      enc.beginComputePass({ timestampWrites: readback.timestampWrites(0) })
        .end();
      readback.encodeCopies(enc, 0, log, 0, 0);
      const cmd = enc.finish();
      const t = now();
      device.queue.submit([cmd]);
      const r = await readback.read(0, 0);
      if (r.startRaw !== null && r.startRaw > 0n) this.observe(t, r.startRaw);
    }
  }
}
