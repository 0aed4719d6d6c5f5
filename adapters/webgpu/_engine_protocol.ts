/**
 * Messages between {@link WebGPUBackend} (the harness's thread) and the engine's worker
 * (`_engine_worker.ts`), which owns the GPU device, the model and the serving loop.
 *
 * Times are run-clock nanoseconds: the worker rebuilds the run clock from its wall-scale origin
 * (`clockWallOriginMs`), as sender workers do.
 *
 * @module
 */
import type { EngineStepRow, EngineTokenRow } from "../backend.ts";
import type {
  EngineInfo,
  ServingEngineOptions,
} from "./serving/serving_engine.ts";

/** Engine options that cross to the worker (no functions). */
export type WorkerEngineOptions = Omit<ServingEngineOptions, "nowNs">;

/** Harness -> engine worker. */
export type ToEngine =
  | {
    op: "open";
    opts: WorkerEngineOptions;
    /** `performance.timeOrigin + clock.originMs` of the run clock. */
    clockWallOriginMs: number;
    /**
     * Nice value for the engine's thread and the driver threads it starts (0 = normal);
     * `auto`: 10 on a software adapter, else 0.
     */
    nice: number | "auto";
  }
  | {
    op: "submit";
    id: string;
    prompt: number[];
    maxTokens: number;
    minTokens: number;
    ignoreEos: boolean;
  }
  | { op: "cancel"; id: string }
  /** Start (true) or stop sending engine_steps / engine_tokens rows. */
  | { op: "records"; on: boolean }
  | { op: "close" };

/** One request's event, as the engine loop produced it. */
export type EngineEvent =
  | { id: string; kind: "token"; tNs: bigint }
  | {
    id: string;
    kind: "done";
    finishReason: string;
    promptTokens: number;
    completionTokens: number;
    cachedTokens: number;
  }
  | { id: string; kind: "error"; message: string }
  /** `submit` refused the request (queue full: 429; invalid: 400). */
  | { id: string; kind: "rejected"; status: 400 | 429; message: string };

/** Engine worker -> harness. */
export type FromEngine =
  | { op: "opened"; info: EngineInfo; gpuClockOffsetNs: string | null }
  | {
    op: "events";
    events: EngineEvent[];
    steps: EngineStepRow[];
    tokens: EngineTokenRow[];
  }
  | { op: "closed" }
  | { op: "error"; message: string };
