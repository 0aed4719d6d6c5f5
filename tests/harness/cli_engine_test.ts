import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import { modelDir } from "../_fixtures.ts";
import { webgpuTest } from "../_system.ts";

webgpuTest({
  name: "tokentrace engine verify passes on the tiny Llama oracle and exits 0",
  fn: async () => {
    const r = await runCli([
      "engine",
      "verify",
      "--model",
      modelDir("tiny-llama-f32"),
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.pass, true);
    assert.equal(report.cases.length, 4);
  },
});

webgpuTest(
  "tokentrace engine generate prints the ids of a preset as JSON",
  async () => {
    const r = await runCli([
      "engine",
      "generate",
      "--model",
      "tiny",
      "--prompt-ids",
      "1,2,3",
      "--max-tokens",
      "5",
      "--greedy",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.promptIds, [1, 2, 3]);
    assert.equal(out.ids.length, 5);
    assert.equal(out.finishReason, "length");
  },
);

Deno.test("tokentrace engine generate rejects a bad flag value with its name", async () => {
  const r = await runCli([
    "engine",
    "generate",
    "--model",
    "tiny",
    "--prompt-ids",
    "1,2",
    "--max-tokens",
    "0",
  ]);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    'tokentrace: error: Option --max-tokens: expected an integer >= 1, got "0"',
  );
});
