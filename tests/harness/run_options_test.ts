import assert from "node:assert/strict";
import { parseRunConfig, type RunFlags } from "../../harness/cli/run_config.ts";
import {
  RUN_OPTION_KEYS,
  runOptionsRecord,
} from "../../harness/cli/run_options.ts";

const FLAGS: RunFlags = {
  trace: "t.csv",
  backend: "openai",
  url: "http://127.0.0.1:8000",
  api: "completions",
  endpointKind: "auto",
  timeout: "60",
  speedup: "1",
  prompt: "ids",
  db: "r.duckdb",
  slo: "ttft=500,tpot=50",
};

Deno.test("RUN_OPTION_KEYS pins the keys of runs.options", () => {
  assert.deepStrictEqual([...RUN_OPTION_KEYS], [
    "trace",
    "workload",
    "tokenizer",
    "allowApproximate",
    "format",
    "backend",
    "engine",
    "url",
    "api",
    "model",
    "endpointKind",
    "apiKeyEnv",
    "transport",
    "sockets",
    "timeoutMs",
    "speedup",
    "window",
    "maxRequests",
    "prompt",
    "vocabSize",
    "fitContext",
    "db",
    "allowForeignDb",
    "label",
    "slo",
    "failurePolicy",
    "json",
    "quiet",
    "warmupS",
    "cooldownS",
    "grouping",
    "repeat",
    "maxErrorRate",
    "summary",
    "shard",
    "startAtUnixNs",
    "load",
    "timeouts",
    "workers",
    "pacingPriority",
    "suiteGates",
    "suiteFailurePolicy",
  ]);
});

Deno.test("runOptionsRecord() writes the set keys in order and nothing else", async (t) => {
  await t.step("a plain run", () => {
    const rec = runOptionsRecord(parseRunConfig(FLAGS));
    assert.deepStrictEqual(Object.keys(rec), [
      "trace",
      "workload",
      "allowApproximate",
      "backend",
      "url",
      "api",
      "endpointKind",
      "apiKeyEnv",
      "transport",
      "sockets",
      "timeoutMs",
      "speedup",
      "prompt",
      "fitContext",
      "db",
      "allowForeignDb",
      "slo",
      "json",
      "quiet",
      "warmupS",
      "cooldownS",
      "repeat",
      "load",
      "timeouts",
      "workers",
      "pacingPriority",
    ]);
    assert.deepStrictEqual(rec.slo, { ttftMs: 500, tpotMs: 50 });
  });
  await t.step("start hooks and unknown fields are left out", () => {
    const cfg = {
      ...parseRunConfig(FLAGS),
      placeStart: () => ({ startNs: 0n }),
      keepBackend: true,
      suiteGates: "p99_ttft:+10%",
    };
    const rec = runOptionsRecord(cfg);
    assert.equal("placeStart" in rec, false);
    assert.equal("keepBackend" in rec, false);
    assert.equal(rec.suiteGates, "p99_ttft:+10%");
  });
});
