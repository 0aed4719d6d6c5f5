/**
 * The `webgpu` backend: the built-in engine behind the harness's Backend interface, serving
 * from a process of its own (`_engine_process.ts`; or a worker thread, `host: "worker"`).
 *
 * The engine's steps (packing, encoding, and on a CPU adapter the kernels themselves) would
 * otherwise run on the thread that paces the sends and reads the clock: on 2 cores that made
 * the default bench's schedule lag p99 1.5-1.8 s (docs/perf.md). A worker thread took the steps
 * off that thread, but not the stalls of sharing a process with the driver's rasterizer threads;
 * a process of its own does (`_engine_process.ts`). On a software adapter the engine's threads
 * run at a lower priority (nice 10), so the harness gets a core when a send is due.
 *
 * The engine times everything on the run clock, rebuilt from where it starts on the wall-clock
 * scale. Before the engine opens, a few pings measure how far the engine's wall scale is from
 * this thread's (two processes each read the system clock once, at start); the offset is
 * applied when it exceeds what the pings can resolve, and `describe()` reports it.
 *
 * Each trace request becomes one engine request of exactly `outputTokens` tokens (EOS ignored,
 * as `ignore_eos` on a server). Token events carry the GPU time of the step that sampled the
 * token (timestamp queries mapped to the run clock), which is when the token exists; the time
 * the host read it back (delivery, bursty by the ~11 ms readback) goes to `engine_tokens`.
 * Without timestamp queries, token events carry the delivery time. Prompt ids at or above the
 * model's vocabulary are folded into it (id mod V).
 *
 * @module
 */
import type {
  Backend,
  BackendInfo,
  EngineRecordSink,
  GenerateRequest,
  StreamEvent,
} from "../backend.ts";
import { EventQueue } from "./serving/_event_queue.ts";
import {
  type EngineHost,
  type EngineHostKind,
  startEngineHost,
} from "./_engine_host.ts";
import type { EngineEvent, FromEngine, ToEngine } from "./_engine_protocol.ts";
import type {
  EngineInfo,
  ServingEngineOptions,
} from "./serving/serving_engine.ts";
import { chatPrompt, encodeText } from "./model/tokenizer.ts";

/** Options of {@link WebGPUBackend.open}: the engine's, plus where its clock starts. */
export interface WebGPUBackendOptions
  extends Omit<ServingEngineOptions, "nowNs"> {
  /**
   * The run clock's origin on the `performance.now()` scale of this thread (`RunClock.originMs`);
   * default: now. Token and step times are nanoseconds since it.
   */
  clockOriginMs?: number;
  /**
   * Nice value of the engine's threads (Linux; 0 = normal). Default `auto`: 10 on a software
   * adapter (its kernels run on the CPU cores the harness needs), else 0.
   */
  nice?: number | "auto";
  /**
   * Where the engine runs: `process` (default: a child process of the same Deno, which needs
   * `--allow-run`) or `worker` (a worker thread of this process).
   */
  host?: EngineHostKind;
}

/** How the engine's wall clock compares with this thread's, from the pings before `open`. */
export interface EngineClockSync {
  /** The engine's wall clock minus this thread's, ms, as measured (from the fastest ping). */
  offsetMs: number;
  /** That ping's round trip, ms: the offset is known to within half of it. */
  roundTripMs: number;
  /** Whether the offset was applied (it was larger than half the round trip). */
  applied: boolean;
}

/** How many pings measure the engine's clock offset (the fastest one counts). */
const CLOCK_PINGS = 8;

/**
 * The built-in engine as a {@link Backend}.
 *
 * @example
 * ```ts
 * import { WebGPUBackend } from "./webgpu_backend.ts";
 * const b = await WebGPUBackend.open({ model: "tiny", maxSeqs: 2, tokenBudget: 16, maxContext: 64 });
 * const req = { id: "0", maxTokens: 2, minTokens: 2, prompt: { kind: "token_ids" as const, ids: [1, 2, 3] } };
 * const kinds: string[] = [];
 * for await (const ev of b.generate(req, new AbortController().signal)) kinds.push(ev.kind);
 * console.log(kinds.join(" ")); // sent tokens tokens usage done
 * await b.close();
 * ```
 */
export class WebGPUBackend implements Backend {
  readonly name = "webgpu";
  private readonly live = new Map<string, EventQueue<EngineEvent>>();
  private sink: EngineRecordSink | undefined;
  private failure: string | undefined;
  private closing: Promise<void> | undefined;
  private closedWaiter: (() => void) | undefined;

  /** The current run clock's origin (`performance.now()` ms of this thread). */
  private runOriginMs: number;
  /** Engine-clock ns minus run-clock ns: what to subtract from the engine's times. */
  private shiftNs = 0n;

  private constructor(
    private readonly host: EngineHost,
    /** What the engine says about itself (model, adapter, policy, sizes). */
    readonly info: EngineInfo,
    private readonly gpuClockOffsetNs: string | null,
    /** The origin of the clock the engine times everything on. */
    private readonly engineOriginMs: number,
    /** How the engine's wall clock was matched to this thread's. */
    readonly clockSync: EngineClockSync,
    /** The nice value the engine's threads run at. */
    readonly nice: number,
  ) {
    this.runOriginMs = engineOriginMs;
    host.onMessage = (m) => this.onMessage(m);
    host.onFailure = (message) => this.fail(message);
  }

  /**
   * Starts the engine's host (a process by default), matches its clock to this thread's and
   * opens the engine there (model upload can take seconds).
   */
  static async open(opts: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
    const { clockOriginMs, nice, host: kind, ...engineOpts } = opts;
    const originMs = clockOriginMs ?? performance.now();
    const host = startEngineHost(kind ?? "process");
    const what = host.kind === "process" ? "process" : "thread";
    // Everything until `opened` goes to `next`: the pongs, then `opened` or an error.
    let next: (m: FromEngine | Error) => void = () => {};
    const reply = () => new Promise<FromEngine | Error>((r) => next = r);
    host.onMessage = (m) => next(m);
    host.onFailure = (message) => next(new Error(message));
    try {
      const wall = () => performance.timeOrigin + performance.now();
      let best: { offsetMs: number; roundTripMs: number } | undefined;
      for (let seq = 0; seq < CLOCK_PINGS; seq++) {
        const t0 = wall();
        host.post({ op: "ping", seq });
        const m = await reply();
        const t1 = wall();
        if (m instanceof Error) throw m;
        if (m.op !== "pong" || m.seq !== seq) {
          throw new Error(
            `Engine ${what}: expected pong ${seq} while matching clocks, got ${m.op}`,
          );
        }
        const roundTripMs = t1 - t0;
        if (!best || roundTripMs < best.roundTripMs) {
          best = { offsetMs: m.wallMs - (t0 + t1) / 2, roundTripMs };
        }
      }
      const applied = Math.abs(best!.offsetMs) > best!.roundTripMs / 2;
      const clockSync = { ...best!, applied };
      const opened = reply();
      host.post({
        op: "open",
        opts: engineOpts,
        clockWallOriginMs: performance.timeOrigin + originMs +
          (applied ? best!.offsetMs : 0),
        nice: nice ?? "auto",
      });
      const m = await opened;
      if (m instanceof Error) throw m;
      if (m.op === "error") throw new Error(m.message);
      if (m.op !== "opened") {
        throw new Error(`Engine ${what}: expected opened, got ${m.op}`);
      }
      return new WebGPUBackend(
        host,
        m.info,
        m.gpuClockOffsetNs,
        originMs,
        clockSync,
        m.nice,
      );
    } catch (e) {
      await host.end();
      throw new Error(
        `Engine ${what} failed to start: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  /**
   * Times the next runs on a clock with this origin (`RunClock.originMs`), for one engine
   * serving several runs, each with its own clock: the engine keeps its own clock and this
   * backend shifts every time it reports by the difference.
   */
  setClockOrigin(originMs: number): void {
    this.runOriginMs = originMs;
    this.shiftNs = BigInt(Math.round((originMs - this.engineOriginMs) * 1e6));
  }

  /** Where the engine runs, and its process id when it has its own process. */
  get engineHost(): { kind: EngineHostKind; pid: number | undefined } {
    return { kind: this.host.kind, pid: this.host.pid };
  }

  /** Token times are stamped in the engine's process or thread, not on the thread that sends. */
  readonly timesTokensElsewhere = true;

  /** Now on the run clock, ns. */
  private nowNs(): bigint {
    return BigInt(Math.round((performance.now() - this.runOriginMs) * 1e6));
  }

  /** Sends every step and sampled token to the run's engine tables. */
  attachEngineSink(sink: EngineRecordSink): void {
    this.sink = sink;
    this.send({ op: "records", on: true });
  }

  describe(): Promise<BackendInfo> {
    const i = this.info;
    return Promise.resolve({
      ...i,
      backend: "webgpu",
      model: i.model,
      tokenTimes: i.timestampQueries ? "gpu" : "delivery",
      gpuClockOffsetNs: this.gpuClockOffsetNs,
      engineHost: this.host.kind,
      engineNice: this.nice,
      engineClockOffsetUs: Math.round(this.clockSync.offsetMs * 1000),
      engineClockRoundTripUs: Math.round(this.clockSync.roundTripMs * 1000),
    });
  }

  async *generate(
    req: GenerateRequest,
    signal: AbortSignal,
  ): AsyncGenerator<StreamEvent, void, undefined> {
    const t = () => this.nowNs();
    let ids: number[];
    const p = req.prompt;
    if (!p) {
      yield {
        kind: "error",
        tNs: t(),
        errorKind: "protocol",
        message:
          `Request ${req.id}: expected a prompt (synthesize prompts first), got none`,
      };
      return;
    }
    if (p.kind === "token_ids") ids = p.ids;
    else if (p.kind === "text") ids = encodeText(p.text);
    else ids = encodeText(chatPrompt(p.messages));
    // Synthesized prompts draw ids below the harness's --vocab-size; fold them into a smaller
    // vocabulary (equal ids stay equal, so shared prefixes still share).
    const V = this.info.vocab;
    if (ids.some((id) => id >= V)) ids = ids.map((id) => id % V);
    if (this.failure !== undefined || this.closing !== undefined) {
      yield {
        kind: "error",
        tNs: t(),
        errorKind: "stream",
        message: `Request ${req.id}: ${this.failure ?? "engine closed"}`,
      };
      return;
    }
    const q = new EventQueue<EngineEvent>();
    this.live.set(req.id, q);
    yield { kind: "sent", tNs: t() };
    this.send({
      op: "submit",
      id: req.id,
      prompt: ids,
      maxTokens: req.maxTokens,
      minTokens: req.minTokens,
      ignoreEos: true,
    });
    const onAbort = () => this.send({ op: "cancel", id: req.id });
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const ev of q) {
        if (ev.kind === "token") {
          yield { kind: "tokens", tNs: ev.tNs, count: 1, channel: "content" };
        } else if (ev.kind === "done") {
          if (ev.finishReason === "cancelled") {
            yield {
              kind: "error",
              tNs: t(),
              errorKind: "cancelled",
              message: `Request ${req.id} cancelled`,
            };
            return;
          }
          yield {
            kind: "usage",
            tNs: t(),
            promptTokens: ev.promptTokens,
            completionTokens: ev.completionTokens,
            cachedTokens: ev.cachedTokens,
          };
          yield { kind: "done", tNs: t(), finishReason: ev.finishReason };
          return;
        } else if (ev.kind === "rejected") {
          yield {
            kind: "error",
            tNs: t(),
            errorKind: ev.status === 429 ? "http" : "protocol",
            status: ev.status,
            message: ev.message,
          };
          return;
        } else {
          yield {
            kind: "error",
            tNs: t(),
            errorKind: "stream",
            message: ev.message,
          };
          return;
        }
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.live.delete(req.id);
    }
  }

  /** Closes the engine (requests still live end with an error) and stops its host. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.failure === undefined) {
        await new Promise<void>((resolve) => {
          this.closedWaiter = resolve;
          this.send({ op: "close" });
        });
      }
      await this.host.end();
      this.endAll("engine closed");
    })();
    return this.closing;
  }

  /** Posts `m` to the engine, unless the engine has failed. */
  private send(m: ToEngine): void {
    if (this.failure === undefined) this.host.post(m);
  }

  /**
   * Routes the engine's events to their requests (shifted to the run clock) and its records to the
   * sink.
   */
  private onMessage(m: FromEngine): void {
    if (m.op === "events") {
      const d = this.shiftNs;
      for (const ev of m.events) {
        if (ev.kind === "token" && d !== 0n) ev.tNs -= d;
        this.live.get(ev.id)?.push(ev);
      }
      if (this.sink) {
        try {
          for (const r of m.steps) {
            if (d !== 0n) {
              r.tSchedNs -= d;
              r.tSubmitNs -= d;
              r.tReadbackNs -= d;
              if (r.tGpuStartNs !== null) r.tGpuStartNs -= d;
              if (r.tGpuEndNs !== null) r.tGpuEndNs -= d;
            }
            this.sink.engineStep(r);
          }
          for (const r of m.tokens) {
            if (d !== 0n) r.tDeliveredNs -= d;
            this.sink.engineToken(r);
          }
        } catch (e) {
          // The sink refused a record (its recorder has finished, or failed): later records
          // have nowhere to go. Say so to the sink's owner, who knows which case it is.
          const sink = this.sink;
          this.sink = undefined;
          this.send({ op: "records", on: false });
          sink.failed?.(
            `Engine records could not be written: ${(e as Error).message}`,
          );
        }
      }
    } else if (m.op === "closed") {
      this.closedWaiter?.();
    } else if (m.op === "error") {
      this.fail(`Engine failed: ${m.message}`);
    }
  }

  /** Records the first failure and ends every live request with it. */
  private fail(message: string): void {
    this.failure ??= message;
    this.endAll(message);
    this.closedWaiter?.();
  }

  /** Ends every live request with an `error` event carrying `message`. */
  private endAll(message: string): void {
    for (const [id, q] of this.live) {
      q.push({ id, kind: "error", message });
      q.close();
    }
    this.live.clear();
  }
}
