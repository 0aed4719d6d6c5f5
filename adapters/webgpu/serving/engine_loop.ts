/**
 * The serving loop of the engine: continuous batching with several steps in flight.
 *
 * Requests become {@link Sequence}s; each step the scheduler plans a hybrid batch, which is
 * packed, encoded into one compute pass (with GPU timestamps) and submitted without waiting.
 * Sampling runs on the GPU and feeds the next step through the sequence's slot, so the host
 * keeps steps queued and learns their sampled ids by asynchronous readback (~11 ms in Deno,
 * docs/ENGINE.md). The queue holds `stepsInFlight` steps always,
 * and up to `maxStepsInFlight` while the last step's GPU time says they add up to at most
 * `queueAheadMs` (step_queue.ts): with 2-ms steps (batch-1 decode on an H200) four steps ran
 * dry before their readback came back (3.63 ms per token for a 2.05-ms GPU step).
 *
 * Scheduling lag, stated and bounded: admission and preemption act on the very next step
 * (prompts are known on the host), but a stop token (EOS, stop id) or a cancellation is seen
 * at most `maxStepsInFlight` steps (and, past `stepsInFlight`, about `queueAheadMs` of GPU time;
 * plus the one step `encodeAhead` schedules before the maps) after the step that produced it;
 * the steps already queued for that sequence still run and their tokens are dropped. GPU queue order makes it safe to hand a finished sequence's blocks
 * and slot to another one at once.
 *
 * The loop owns the engine's KV pages through its {@link BlockManager}; requests, their events and
 * their admission checks are in engine_request.ts, the GPU clock's calibration in
 * step_readback.ts. What is left (~480 lines) is one class whose methods all share its state: the
 * live requests, the steps in flight and their readbacks, the scheduler; split further, each part
 * would have to reach into the others' fields.
 *
 * @module
 */
import type { EngineStepRow, EngineTokenRow } from "../../backend.ts";
import { EventQueue } from "./_event_queue.ts";
import {
  type EngineRequest,
  QueueFullError,
  type SeqEvent,
  validateRequest,
} from "./engine_request.ts";
import type { ForwardEngine } from "../step/forward.ts";
import { BlockManager } from "../batch/kv_blocks.ts";
import { type Policy, Scheduler, type StepPlan } from "./scheduler.ts";
import { Sequence } from "./sequence.ts";
import {
  DEFAULT_MAX_STEPS_IN_FLIGHT,
  DEFAULT_QUEUE_AHEAD_MS,
  mayQueue,
} from "./step_queue.ts";
import { GREEDY, type StepSequence } from "../batch/step_batch.ts";
import {
  GpuClock,
  StepReadback,
  type StepReadout,
} from "../step/step_readback.ts";

/** Options of an {@link EngineLoop}. */
export interface EngineLoopOptions {
  /** Scheduling policy (default `sarathi`). */
  policy?: Policy;
  /** Query tokens per step (default the engine's maxTokens, which must hold it). */
  tokenBudget?: number;
  /** Steps submitted ahead of their readback, always (default 4). */
  stepsInFlight?: number;
  /**
   * Steps ahead at most while steps are short (default: the token log's room for whole steps
   * less 2, at most {@link DEFAULT_MAX_STEPS_IN_FLIGHT}, at least `stepsInFlight`).
   */
  maxStepsInFlight?: number;
  /** GPU ms the steps past `stepsInFlight` may fill the queue to (default {@link DEFAULT_QUEUE_AHEAD_MS}). */
  queueAheadMs?: number;
  /**
   * Encode the next step before asking for the maps and submit it right after them (default
   * true): on the H200 the first map returned only once the GPU had run every submitted step
   * (docs/perf.md, engine14h), so without a step ready the GPU idles while one is encoded.
   */
  encodeAhead?: boolean;
  /** Requests waiting for admission before {@link QueueFullError} (default 1024). */
  maxWaiting?: number;
  /** Reuse KV blocks of equal prompt prefixes (default true). */
  prefixCaching?: boolean;
  /** Run clock in ns (default `performance.now()` since the loop was created). */
  nowNs?: () => bigint;
}

/** Counters for `/metrics` and the run description. */
export interface EngineCounters {
  /** Steps submitted. */
  steps: number;
  /** Prompt tokens in submitted steps (prefill chunks). */
  prefillTokens: number;
  /** Decode tokens in submitted steps. */
  decodeTokens: number;
  /** Tokens delivered to requests (sampled ids read back). */
  generatedTokens: number;
  /** Sequences preempted by the scheduler. */
  preemptions: number;
  /** Requests that ended `stop` or `length`. */
  finished: number;
  /** Requests cancelled (`cancel()`). */
  cancelled: number;
}

interface Live {
  seq: Sequence;
  minTokens: number;
  stop: Set<number>;
  events: EventQueue<SeqEvent>;
}

interface InFlight {
  step: number;
  rows: Sequence[];
  plan: StepPlan;
  tSchedNs: bigint;
  tSubmitNs: bigint;
  cpuUs: number;
  blocks: ReturnType<BlockManager["stats"]>;
  waiting: number;
  running: number;
  slot: number;
  readout: StepReadout | null;
  /** The readback, once its staging buffer's map was asked for (null before). */
  done: Promise<void> | null;
}

/** A step encoded, not yet submitted (EngineLoop.encodePlan, commit). */
interface Encoded {
  f: InFlight;
  cmd: GPUCommandBuffer;
  encodedNs: bigint;
}

/**
 * Continuous batching over one {@link ForwardEngine}. Its {@link BlockManager} is the one owner
 * of the engine's KV pages: the engine hands out none, and a caller stepping the engine directly
 * beside an idle loop takes its pages from `loop.blocks`.
 *
 * @example
 * ```ts
 * import { requestEngineDevice } from "../step/device.ts";
 * import { EngineLoop } from "./engine_loop.ts";
 * import { ForwardEngine } from "../step/forward.ts";
 * import { presetSource } from "../model/presets.ts";
 * const engine = await ForwardEngine.create(await requestEngineDevice(), presetSource("tiny"), { maxTokens: 32, maxSeqs: 4, maxContext: 64 });
 * const loop = await EngineLoop.create(engine, { tokenBudget: 32 });
 * const ids: number[] = [];
 * for await (const ev of loop.submit({ id: "a", prompt: [1, 2, 3], maxTokens: 4, ignoreEos: true })) {
 *   if (ev.kind === "token") ids.push(ev.id);
 * }
 * console.log(ids.length); // 4
 * await loop.close();
 * engine.destroy();
 * ```
 */
export class EngineLoop {
  /** The KV block manager. */
  readonly blocks: BlockManager;
  /** The scheduler. */
  readonly scheduler: Scheduler;
  /** GPU timestamps to the run clock. */
  readonly gpuClock = new GpuClock();
  /** Resolved options. */
  readonly policy: Policy;
  /** Query tokens per step. */
  readonly tokenBudget: number;
  /** Steps submitted ahead of their readback, always. */
  readonly stepsInFlight: number;
  /** Steps in flight at most, while steps are short. */
  readonly maxStepsInFlight: number;
  /** GPU ms the steps past `stepsInFlight` may fill the queue to. */
  readonly queueAheadMs: number;
  /** Whether the next step is encoded before the maps and submitted right after them. */
  readonly encodeAhead: boolean;
  /** Waiting requests before {@link QueueFullError}. */
  readonly maxWaiting: number;
  /** Running totals since the loop was created. */
  readonly counters: EngineCounters = {
    steps: 0,
    prefillTokens: 0,
    decodeTokens: 0,
    generatedTokens: 0,
    preemptions: 0,
    finished: 0,
    cancelled: 0,
  };
  /** Receives every step record (after its readback). */
  onStep: ((r: EngineStepRow) => void) | undefined;
  /** Receives every sampled token record (after its readback). */
  onToken: ((r: EngineTokenRow) => void) | undefined;
  private readonly readback: StepReadback;
  private readonly ring: number;
  private readonly live = new Map<string, Live>();
  private readonly eos: readonly number[];
  private readonly now: () => bigint;
  private inflight: InFlight[] = [];
  private stepIndex = 0;
  /** GPU ms of the last step read back with timestamps, or null. */
  private lastStepGpuMs: number | null = null;
  private arrivals = 0;
  private wake: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private closed = false;

  private constructor(readonly engine: ForwardEngine, opts: EngineLoopOptions) {
    const lim = engine.limits;
    this.policy = opts.policy ?? "sarathi";
    this.tokenBudget = opts.tokenBudget ?? lim.maxTokens;
    this.stepsInFlight = opts.stepsInFlight ?? 4;
    this.maxWaiting = opts.maxWaiting ?? 1024;
    if (this.tokenBudget > lim.maxTokens) {
      throw new Error(
        `Engine loop: token budget ${this.tokenBudget} exceeds the engine's maxTokens ${lim.maxTokens}`,
      );
    }
    if (!(this.stepsInFlight >= 1)) {
      throw new Error(
        `Engine loop: stepsInFlight: expected >= 1, got ${this.stepsInFlight}`,
      );
    }
    const logRoom = Math.floor(lim.logSize / lim.maxSeqs) - 2;
    this.maxStepsInFlight = opts.maxStepsInFlight ??
      Math.max(
        this.stepsInFlight,
        Math.min(DEFAULT_MAX_STEPS_IN_FLIGHT, logRoom),
      );
    if (!(this.maxStepsInFlight >= this.stepsInFlight)) {
      throw new Error(
        `Engine loop: maxStepsInFlight: expected >= stepsInFlight (${this.stepsInFlight}), got ${this.maxStepsInFlight}`,
      );
    }
    this.queueAheadMs = opts.queueAheadMs ?? DEFAULT_QUEUE_AHEAD_MS;
    if (!(this.queueAheadMs >= 0)) {
      throw new Error(
        `Engine loop: queueAheadMs: expected >= 0, got ${this.queueAheadMs}`,
      );
    }
    this.encodeAhead = opts.encodeAhead ?? true;
    // Mapped steps stay in the ring until their readback resolves (~11 ms), while the queue
    // refills behind them: twice the queue where the token log has the room.
    this.ring = Math.max(
      this.maxStepsInFlight + 2,
      Math.min(2 * this.maxStepsInFlight + 2, logRoom + 2),
    );
    if (this.ring * lim.maxSeqs > lim.logSize) {
      throw new Error(
        `Engine loop: the token log of ${lim.logSize} entries cannot hold ${this.ring} steps of ${lim.maxSeqs} rows; raise logSize`,
      );
    }
    const t0 = performance.now();
    this.now = opts.nowNs ??
      (() => BigInt(Math.round((performance.now() - t0) * 1e6)));
    this.blocks = new BlockManager(lim.numPages, opts.prefixCaching ?? true);
    this.scheduler = new Scheduler(this.blocks, {
      policy: this.policy,
      tokenBudget: this.tokenBudget,
      maxSeqs: lim.maxSeqs,
    });
    this.eos = engine.config.eosTokenIds;
    this.readback = new StepReadback(
      engine.gpu.device,
      engine.gpu.timestamps,
      this.ring,
      lim.maxSeqs,
    );
  }

  /** Builds the loop and measures the GPU clock's offset to the run clock. */
  static async create(
    engine: ForwardEngine,
    opts: EngineLoopOptions = {},
  ): Promise<EngineLoop> {
    const loop = new EngineLoop(engine, opts);
    await loop.gpuClock.calibrate(
      engine.gpu.device,
      loop.readback,
      { tokens: engine.tokenLogBuffer, logprobs: engine.logprobLogBuffer },
      loop.now,
    );
    return loop;
  }

  /** The loop's clock (ns; the clock of every event's `gpuNs` and `deliveredNs`). */
  nowNs(): bigint {
    return this.now();
  }

  /** Requests waiting, running (holding a slot) and sequences in flight. */
  get load(): { waiting: number; running: number; live: number } {
    return {
      waiting: this.scheduler.waiting.length,
      running: this.scheduler.running.length,
      live: this.live.size,
    };
  }

  /**
   * Queues a request and returns its event stream, which ends with one `done` (or `error`).
   * Throws {@link QueueFullError} when the queue is full, and an error naming the field for an
   * invalid request. Aborting `signal` cancels the sequence and frees its blocks.
   */
  submit(req: EngineRequest, signal?: AbortSignal): AsyncIterable<SeqEvent> {
    if (this.closed) throw new Error("Engine loop is closed");
    validateRequest(req, this.engine.limits, this.live.has(req.id));
    if (this.scheduler.waiting.length >= this.maxWaiting) {
      throw new QueueFullError(this.scheduler.waiting.length);
    }
    const seq = new Sequence({
      id: req.id,
      prompt: [...req.prompt],
      maxTokens: req.maxTokens,
      sampling: req.sampling ?? GREEDY,
    }, this.arrivals++);
    this.scheduler.add(seq);
    const stop = new Set(req.stopTokenIds ?? []);
    if (!req.ignoreEos) { for (const e of this.eos) stop.add(e); }
    const live: Live = {
      seq,
      minTokens: req.minTokens ?? 0,
      stop,
      events: new EventQueue(),
    };
    this.live.set(req.id, live);
    if (signal) {
      if (signal.aborted) this.cancel(req.id);
      else {signal.addEventListener("abort", () => this.cancel(req.id), {
          once: true,
        });}
    }
    this.kick();
    return live.events;
  }

  /** Cancels a live request: its blocks and slot are freed now, its stream ends `cancelled`. */
  cancel(id: string): void {
    const live = this.live.get(id);
    if (!live) return;
    this.counters.cancelled++;
    this.finish(live, "cancelled");
  }

  /** Ends a live request as `stop` now (a stop string found in its text): blocks are freed. */
  stop(id: string): void {
    const live = this.live.get(id);
    if (live) this.finish(live, "stop");
  }

  /** Stops the loop after the steps in flight; live requests end with an error. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.running;
    this.mapPending();
    await Promise.allSettled(this.inflight.map((f) => f.done));
    for (const live of [...this.live.values()]) {
      this.scheduler.finish(live.seq);
      live.events.push({ kind: "error", message: "Engine closed" });
      live.events.close();
    }
    this.live.clear();
    this.readback.destroy();
  }

  /** Starts the run loop, or wakes it when it is already running. */
  private kick(): void {
    if (this.running) {
      this.wake?.();
      return;
    }
    this.running = this.run().catch((e) => this.failAll(e as Error)).finally(
      () => (this.running = null),
    );
  }

  /** Submits steps while there is work and room in flight, then waits for a readback or news. */
  private async run(): Promise<void> {
    while (!this.closed) {
      this.drain();
      this.fill();
      if (this.inflight.length === 0) {
        if (this.live.size === 0) return;
        // Live sequences with nothing to run and nothing in flight: wait for news.
        await this.sleep(50);
        continue;
      }
      // Asking for the maps returns once the GPU has run those steps (Deno blocks in mapAsync,
      // docs/perf.md), so they leave the queue at once; it refills before the ~11-ms wait for
      // their data, and the maps are asked for once per wake, not once per step. The first
      // map returned only once the GPU had run every submitted step (on the H200), so the next
      // step is encoded before the maps (one past the queue's bound) and submitted right after
      // them: the GPU idles for the maps, not for the ~0.4-0.8 ms of scheduling and encoding.
      const ahead = this.encodeAhead ? this.encodeNext() : null;
      this.mapPending();
      if (ahead) this.commit(ahead);
      this.fill();
      const woken = new Promise<void>((r) => (this.wake = r));
      await Promise.race([this.inflight[0].done!, woken]);
      this.wake = null;
    }
  }

  /** Submits steps while the queue (steps not yet mapped) and the ring have room and there is work. */
  private fill(): void {
    while (
      this.inflight.length < this.ring - 2 &&
      mayQueue(
        this.inflight.filter((f) => f.done === null).length,
        this,
        this.lastStepGpuMs,
      )
    ) {
      const tSched = this.now();
      const plan = this.scheduler.schedule();
      if (plan.items.length === 0) break;
      this.commit(this.encodePlan(plan, tSched));
    }
  }

  /** Schedules and encodes one step past the queue's bound where the ring has room, or null. */
  private encodeNext(): Encoded | null {
    if (this.inflight.length >= this.ring - 2) return null;
    const tSched = this.now();
    const plan = this.scheduler.schedule();
    return plan.items.length === 0 ? null : this.encodePlan(plan, tSched);
  }

  /** Asks for the readback of every submitted step not yet asked for, in step order. */
  private mapPending(): void {
    for (const f of this.inflight) {
      if (f.done !== null) continue;
      f.done = this.readback.read(f.slot, f.rows.length).then((r) => {
        f.readout = r;
      });
    }
  }

  /** Waits `ms` milliseconds or until `kick()` wakes the loop. */
  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.wake = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  /** Encodes one step of `plan` with its readback copies (commit() submits it). */
  private encodePlan(plan: StepPlan, tSchedNs: bigint): Encoded {
    const engine = this.engine;
    const device = engine.gpu.device;
    const slot = this.stepIndex % this.ring;
    const logBase = slot * engine.limits.maxSeqs;
    const seqs: StepSequence[] = plan.items.map((it) => ({
      slot: it.slot,
      start: it.start,
      tokens: it.tokens,
      pages: it.seq.blocks,
      sample: it.sample ? it.seq.spec.sampling : null,
    }));
    const packed = engine.prepareStep({ seqs, logBase });
    const enc = device.createCommandEncoder({
      label: `step ${this.stepIndex}`,
    });
    engine.encodeStep(enc, packed, this.readback.timestampWrites(slot));
    this.readback.encodeCopies(
      enc,
      slot,
      { tokens: engine.tokenLogBuffer, logprobs: engine.logprobLogBuffer },
      logBase,
      packed.numRows,
    );
    const cmd = enc.finish();
    const rows = plan.items.filter((i) => i.sample).map((i) => i.seq);
    const f: InFlight = {
      step: this.stepIndex,
      rows,
      plan,
      tSchedNs,
      tSubmitNs: 0n,
      cpuUs: 0,
      blocks: this.blocks.stats(),
      waiting: this.scheduler.waiting.length,
      running: this.scheduler.running.length,
      slot,
      readout: null,
      done: null,
    };
    this.stepIndex++;
    return { f, cmd, encodedNs: this.now() };
  }

  /**
   * Submits an encoded step and counts it; its host time is scheduling, encoding and the submit
   * (not the wait between an early encoding and its submit).
   */
  private commit({ f, cmd, encodedNs }: Encoded): void {
    const device = this.engine.gpu.device;
    const { plan } = f;
    f.tSubmitNs = this.now();
    device.queue.submit([cmd]);
    f.cpuUs = Number(encodedNs - f.tSchedNs + this.now() - f.tSubmitNs) / 1e3;
    this.inflight.push(f);
    const c = this.counters;
    c.steps++;
    c.prefillTokens += plan.prefillTokens;
    c.decodeTokens += plan.decodeTokens;
    c.preemptions += plan.preempted.length;
  }

  /** Completes the steps whose readback has arrived, in step order. */
  private drain(): void {
    while (this.inflight.length > 0 && this.inflight[0].readout) {
      this.complete(this.inflight.shift()!);
    }
  }

  /** Delivers a completed step's tokens to their requests and emits its step record. */
  private complete(f: InFlight): void {
    const r = f.readout!;
    const now = this.now();
    if (r.startRaw !== null) this.gpuClock.observe(f.tSubmitNs, r.startRaw);
    if (r.startRaw !== null && r.endRaw !== null && r.endRaw > r.startRaw) {
      this.lastStepGpuMs = Number(r.endRaw - r.startRaw) / 1e6;
    }
    const gpuEnd = this.gpuClock.toRun(r.endRaw);
    for (let i = 0; i < f.rows.length; i++) {
      const seq = f.rows[i];
      const live = this.live.get(seq.id);
      if (!live || live.seq !== seq) continue; // finished or cancelled meanwhile
      const id = r.tokens[i];
      seq.output.push(id);
      this.counters.generatedTokens++;
      const index = seq.output.length - 1;
      this.onToken?.({
        reqId: seq.id,
        tokenIndex: index,
        step: f.step,
        tokenId: id,
        tDeliveredNs: now,
      });
      const stop = index + 1 >= live.minTokens && live.stop.has(id);
      live.events.push({
        kind: "token",
        id,
        index,
        logprob: r.logprobs[i],
        step: f.step,
        gpuNs: gpuEnd,
        deliveredNs: now,
        stop,
      });
      if (stop) this.finish(live, "stop");
      else if (seq.status === "draining" && seq.inFlight === 0) {
        this.finish(live, "length");
      }
    }
    const p = f.plan;
    this.onStep?.({
      step: f.step,
      tSchedNs: f.tSchedNs,
      tSubmitNs: f.tSubmitNs,
      tGpuStartNs: this.gpuClock.toRun(r.startRaw),
      tGpuEndNs: gpuEnd,
      tReadbackNs: now,
      prefillTokens: p.prefillTokens,
      decodeTokens: p.decodeTokens,
      numSeqs: p.items.length,
      numPrefillSeqs: p.items.filter((i) => i.tokens !== null).length,
      sampleRows: f.rows.length,
      kvBlocksUsed: f.blocks.used,
      kvBlocksTotal: f.blocks.total,
      kvBlocksCached: f.blocks.cached,
      prefixHitTokens: p.prefixHitTokens,
      preempted: p.preempted.length,
      waiting: f.waiting,
      running: f.running,
      cpuUs: f.cpuUs,
      policy: this.policy,
      attention: this.engine.attention,
    });
  }

  /** Ends a request with `reason`: frees its sequence, pushes its `done` event. */
  private finish(live: Live, reason: "stop" | "length" | "cancelled"): void {
    const seq = live.seq;
    this.scheduler.finish(seq);
    this.live.delete(seq.id);
    if (reason !== "cancelled") this.counters.finished++;
    live.events.push({
      kind: "done",
      finishReason: reason,
      promptTokens: seq.spec.prompt.length,
      completionTokens: seq.output.length,
      cachedTokens: seq.cachedTokens,
    });
    live.events.close();
  }

  /** Ends every live request with an `error` event after the loop failed. */
  private failAll(e: Error): void {
    for (const live of [...this.live.values()]) {
      this.scheduler.finish(live.seq);
      live.events.push({
        kind: "error",
        message: `Engine failed: ${e.message}`,
      });
      live.events.close();
    }
    this.live.clear();
  }
}
