/**
 * The `webgpu` backend: the built-in engine in-process, behind the harness's Backend interface.
 *
 * Each trace request becomes one engine request of exactly `outputTokens` tokens (EOS ignored,
 * as `ignore_eos` on a server). Token events carry the GPU time of the step that sampled the
 * token (timestamp queries mapped to the run clock), which is when the token exists; the time
 * the host read it back (delivery, bursty by the ~11 ms readback) goes to `engine_tokens`. Without
 * timestamp queries, token events carry the delivery time. Prompt ids at or above the model's
 * vocabulary are folded into it (id mod V).
 *
 * @module
 */
import type {
  Backend,
  BackendInfo,
  EngineRecordSink,
  StreamEvent,
} from "../backend.ts";
import type { TraceRequest } from "../../workloads/request.ts";
import { QueueFullError } from "./engine_loop.ts";
import {
  openServingEngine,
  type ServingEngine,
  type ServingEngineOptions,
} from "./serving_engine.ts";
import { chatPrompt, encodeText } from "./tokenizer.ts";

/**
 * The built-in engine as a {@link Backend}.
 *
 * @example
 * ```ts
 * import { WebGPUBackend } from "./webgpu_backend.ts";
 * const b = await WebGPUBackend.open({ model: "tiny", maxSeqs: 2, tokenBudget: 16, maxContext: 64 });
 * const req = { id: "0", arrivalMs: 0, inputTokens: 3, outputTokens: 2, prompt: { kind: "token_ids" as const, ids: [1, 2, 3] } };
 * const kinds: string[] = [];
 * for await (const ev of b.generate(req, new AbortController().signal)) kinds.push(ev.kind);
 * console.log(kinds.join(" ")); // sent tokens tokens usage done
 * await b.close();
 * ```
 */
export class WebGPUBackend implements Backend {
  readonly name = "webgpu";

  constructor(
    /** The engine this backend drives (it closes it). */
    readonly engine: ServingEngine,
    private readonly nowNs: () => bigint,
  ) {}

  /** Opens the engine with `opts`; `nowNs` is the run clock (it also times the engine). */
  static async open(
    opts: ServingEngineOptions & { nowNs?: () => bigint },
  ): Promise<WebGPUBackend> {
    const t0 = performance.now();
    const nowNs = opts.nowNs ??
      (() => BigInt(Math.round((performance.now() - t0) * 1e6)));
    const engine = await openServingEngine({ ...opts, nowNs });
    return new WebGPUBackend(engine, nowNs);
  }

  /** Sends every step and sampled token to the run's engine tables. */
  attachEngineSink(sink: EngineRecordSink): void {
    const loop = this.engine.loop;
    // Steps still in flight when the run's recorder has finished (an aborted run) are dropped.
    const guard = (f: () => void) => {
      try {
        f();
      } catch {
        loop.onStep = loop.onToken = undefined;
      }
    };
    loop.onStep = (r) => guard(() => sink.engineStep(r));
    loop.onToken = (r) => guard(() => sink.engineToken(r));
  }

  describe(): Promise<BackendInfo> {
    const i = this.engine.info;
    return Promise.resolve({
      ...i,
      backend: "webgpu",
      model: i.model,
      tokenTimes: i.timestampQueries ? "gpu" : "delivery",
      gpuClockOffsetNs: this.engine.loop.gpuClock.offsetNs?.toString() ?? null,
    });
  }

  async *generate(
    req: TraceRequest,
    signal: AbortSignal,
  ): AsyncGenerator<StreamEvent, void, undefined> {
    const t = this.nowNs;
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
    const V = this.engine.info.vocab;
    if (ids.some((id) => id >= V)) ids = ids.map((id) => id % V);
    yield { kind: "sent", tNs: t() };
    let stream;
    try {
      stream = this.engine.loop.submit({
        id: req.id,
        prompt: ids,
        maxTokens: req.outputTokens,
        minTokens: req.outputTokens,
        ignoreEos: true,
      }, signal);
    } catch (e) {
      const full = e instanceof QueueFullError;
      yield {
        kind: "error",
        tNs: t(),
        errorKind: full ? "http" : "protocol",
        status: full ? 429 : 400,
        message: (e as Error).message,
      };
      return;
    }
    for await (const ev of stream) {
      if (ev.kind === "token") {
        yield {
          kind: "tokens",
          tNs: ev.gpuNs ?? ev.deliveredNs,
          count: 1,
          channel: "content",
        };
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
      } else {
        yield {
          kind: "error",
          tNs: t(),
          errorKind: "stream",
          message: ev.message,
        };
      }
    }
  }

  async close(): Promise<void> {
    await this.engine.close();
  }
}
