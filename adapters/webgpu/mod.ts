/**
 * The built-in WebGPU engine: a Llama-family forward pass (Llama, Mistral, Qwen2) in WGSL on
 * Deno's WebGPU, whose step takes a hybrid batch (prefill chunks and decode tokens of different
 * sequences), with sampling on the GPU and asynchronous readback of sampled ids.
 *
 * - {@link requestEngineDevice}: adapter, features (`shader-f16`, `timestamp-query`), limits.
 * - {@link openModel}: a Hugging Face checkpoint directory or a synthetic preset.
 * - {@link ForwardEngine}: weights + KV cache on the GPU; `submitStep(batch)` runs one step.
 * - {@link EngineLoop}: continuous batching (scheduler + KV block manager, the one owner of the
 *   engine's pages, + steps in flight); every generation, one sequence too, is a request to it
 *   ({@link runRequest} runs one to its end).
 * - {@link openServingEngine}: device, model, forward engine and loop from flag-level options.
 * - {@link WebGPUBackend}: the `webgpu` backend of `tokentrace run`.
 * - {@link createServeApp}: the OpenAI-compatible server of `tokentrace serve` (hono).
 *
 * (The `tokentrace engine generate|verify` commands are in harness/cli/engine_actions.ts.)
 *
 * @example
 * ```ts
 * import { WebGPUBackend } from "./mod.ts";
 * const b = await WebGPUBackend.open({ model: "tiny", maxSeqs: 2, tokenBudget: 16, maxContext: 64 });
 * const req = { id: "0", maxTokens: 3, minTokens: 3, prompt: { kind: "token_ids" as const, ids: [1, 2] } };
 * let n = 0;
 * for await (const ev of b.generate(req, new AbortController().signal)) if (ev.kind === "tokens") n++;
 * console.log(n); // 3
 * await b.close();
 * ```
 *
 * @module
 */
export {
  type ModelConfig,
  parseModelConfig,
  type RopeScaling,
} from "./model/config.ts";
export {
  type DeviceOptions,
  type EngineDevice,
  requestEngineDevice,
} from "./step/device.ts";
export {
  ATTENTION_MODES,
  type AttentionMode,
  type EngineOptions,
  type LinearChoice,
  type ResolvedEngineOptions,
  resolveEngineOptions,
} from "./step/engine_options.ts";
export {
  type EngineCounters,
  EngineLoop,
  type EngineLoopOptions,
} from "./serving/engine_loop.ts";
export {
  type EngineRequest,
  QueueFullError,
  RequestError,
  type RequestResult,
  type RequestSink,
  runRequest,
  type SeqEvent,
} from "./serving/engine_request.ts";
export {
  type BlockKey,
  BlockManager,
  type BlockStats,
  PAGE_SIZE,
} from "./batch/kv_blocks.ts";
export {
  type PlannedItem,
  POLICIES,
  type Policy,
  Scheduler,
  type SchedulerOptions,
  type StepPlan,
} from "./serving/scheduler.ts";
export { type SeqSpec, type SeqStatus, Sequence } from "./serving/sequence.ts";
export {
  type EngineInfo,
  openServingEngine,
  type ServingEngine,
  type ServingEngineOptions,
} from "./serving/serving_engine.ts";
export {
  budgetForTbt,
  measureStepTimeModel,
  type StepTimeModel,
} from "./serving/step_time_model.ts";
// The backend contract, whole (every export of adapters/backend.ts is a type).
export type * from "../backend.ts";
export type { ChatMessage, PromptSpec } from "../../workloads/base/request.ts";
export {
  type EngineClockSync,
  WebGPUBackend,
  type WebGPUBackendOptions,
} from "./webgpu_backend.ts";
export type { EngineHostKind } from "./_engine_host.ts";
export {
  createServeApp,
  type ServeApp,
  type ServeAppOptions,
} from "./server/app.ts";
export type { TextCodec } from "./text/codec.ts";
export type { Detokenizer } from "./text/detokenizer.ts";
export type { TemplateMessage } from "../../workloads/chat_template.ts";
export { type DispatchStamps, ForwardEngine } from "./step/forward.ts";
export { openCheckpoint, openModel } from "./model/model_source.ts";
export { PRESET_NAMES, presetSource } from "./model/presets.ts";
export {
  GREEDY,
  type PackedStep,
  type SamplingParams,
  type StepBatch,
  type StepLimits,
  type StepSequence,
} from "./batch/step_batch.ts";
export {
  GEMV_SHAPES,
  type GemvShape,
  GEOMETRY,
  type Geometry,
  type StorageDtype,
} from "./kernels/geometry.ts";
export type { WeightSource } from "./model/weights.ts";
