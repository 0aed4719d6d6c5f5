/**
 * Messages between {@link WebGPUBackend} (the harness's thread) and the engine's host (its own
 * process, `_engine_process.ts`, or a worker thread, `_engine_worker.ts`), which owns the GPU
 * device, the model and the serving loop (`_engine_service.ts`).
 *
 * Times are run-clock nanoseconds: the engine rebuilds the run clock from its wall-scale origin
 * (`clockWallOriginMs`), as sender workers do. `ping` measures how far the engine's wall scale
 * is from the harness's before `open` says where the run clock starts on it.
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
  /** Answered with `pong` at once: one sample of the engine's wall clock. */
  | { op: "ping"; seq: number }
  | {
    op: "open";
    opts: WorkerEngineOptions;
    /** Where the run clock starts, on the engine's `performance.timeOrigin` scale (ms). */
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
  | { op: "pong"; seq: number; wallMs: number }
  | {
    op: "opened";
    info: EngineInfo;
    gpuClockOffsetNs: string | null;
    /** The nice value the engine's threads run at. */
    nice: number;
  }
  | {
    op: "events";
    events: EngineEvent[];
    steps: EngineStepRow[];
    tokens: EngineTokenRow[];
  }
  | { op: "closed" }
  | { op: "error"; message: string };
