import assert from "node:assert/strict";
import { UsageError } from "../../workloads/base/usage_error.ts";
import { TraceError } from "../../workloads/formats/trace_error.ts";
import { WorkloadNotFoundError } from "../../workloads/resolve_workload.ts";
import { PromptLengthError } from "../../workloads/prompt_plan.ts";
import { SpecError } from "../../workloads/synthetic/spec.ts";
import { FlagError } from "../../harness/cli/flags.ts";
import { EXIT } from "../../harness/cli/exit_codes.ts";

Deno.test("UsageError family: every bad-input error exits 2 and keeps its name", async (t) => {
  const cases: [string, Error][] = [
    [
      "TraceError",
      new TraceError({ path: "t.csv", line: 3 }, "expected 3 fields, got 2"),
    ],
    ["WorkloadNotFoundError", new WorkloadNotFoundError('No workload "x"')],
    [
      "PromptLengthError",
      new PromptLengthError("Text prompts need --tokenizer"),
    ],
    ["SpecError", new SpecError("arrival", "zeta:1", "poisson:<rate>")],
    ["FlagError", new FlagError("--rate", "x", "a number > 0")],
  ];
  for (const [name, e] of cases) {
    await t.step(name, () => {
      assert.ok(e instanceof UsageError);
      assert.equal(e.name, name);
      assert.equal((e as UsageError).exitCode, EXIT.usage);
      assert.equal(EXIT.usage, 2);
    });
  }
});
