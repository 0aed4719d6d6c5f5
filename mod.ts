/**
 * tokentrace: replay real LLM workload traces against serving backends, record the time of
 * every streamed token in DuckDB, and report goodput.
 *
 * `deno run -A mod.ts <command>` is the CLI (`run`, `report`, `bench`; `--help` lists them).
 *
 * @module
 */
// The backend contract, whole (every export of adapters/backend.ts is a type).
export type * from "./adapters/backend.ts";
export * from "./workloads/mod.ts";
export { RunClock } from "./harness/clock.ts";
export {
  type LiveSource,
  type NewRun,
  type Row,
  type RunSlo,
  type RunStatus,
  type SqlValue,
  Store,
  type StoreConnection,
  type StoreInstance,
  type StoreOpenOptions,
} from "./harness/store.ts";
export type {
  CancelInjection,
  ErrorRateLimit,
  LoadOptions,
  RampUp,
} from "./harness/load_plan.ts";
export type { CounterValues, RunCounters } from "./harness/_run_counters.ts";
export type { SlotsLike } from "./harness/_shared_slots.ts";
export { SCHEMA_VERSION } from "./harness/schema.ts";
export {
  Recorder,
  type RecorderOptions,
  RecorderProducer,
  RecorderRows,
  type RecorderStats,
  type RequestRow,
} from "./harness/recorder.ts";
export {
  replay,
  type ReplayOptions,
  type ReplayProgress,
  type ReplayResult,
  type ThreadOptions,
} from "./harness/runner.ts";
export type { ReplaySink } from "./harness/sending.ts";
export {
  executeRun,
  type ExecuteRunOptions,
  type ExecuteRunResult,
} from "./harness/run_session.ts";
export type { PacingPriority } from "./harness/pacing_priority.ts";
export {
  createScriptedApp,
  type ScriptedApp,
  type ScriptedServer,
  type ScriptedServerOptions,
  type ScriptedTiming,
} from "./adapters/scripted/mod.ts";
import { main } from "./harness/cli/main.ts";
export { main };

if (import.meta.main) await main(Deno.args);
