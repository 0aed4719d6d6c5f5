/**
 * tokentrace: replay real LLM workload traces against serving backends, record the time of
 * every streamed token in DuckDB, and report goodput.
 *
 * `deno run -A mod.ts <command>` is the CLI (`run`, `report`, `bench`; `--help` lists them).
 *
 * @module
 */
export type {
  Backend,
  BackendInfo,
  StreamEvent,
  TokenChannel,
} from "./adapters/backend.ts";
export * from "./workloads/mod.ts";
export { RunClock } from "./harness/clock.ts";
export {
  type RunStatus,
  Store,
  type StoreOpenOptions,
} from "./harness/store.ts";
export { SCHEMA_VERSION } from "./harness/schema.ts";
export {
  Recorder,
  type RecorderOptions,
  type RequestRow,
} from "./harness/recorder.ts";
export {
  replay,
  type ReplayOptions,
  type ReplayProgress,
  type ReplayResult,
} from "./harness/runner.ts";
export {
  executeRun,
  type ExecuteRunOptions,
  type ExecuteRunResult,
} from "./harness/run_session.ts";
export {
  createScriptedApp,
  type ScriptedServer,
  type ScriptedTiming,
} from "./adapters/scripted/mod.ts";
import { main } from "./harness/cli/main.ts";
export { main };

if (import.meta.main) await main(Deno.args);
