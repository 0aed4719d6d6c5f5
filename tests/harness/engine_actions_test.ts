import assert from "node:assert/strict";
import { modelDir } from "../_fixtures.ts";
import {
  engineGenerate,
  engineVerify,
  parsePromptIds,
} from "../../harness/cli/engine_actions.ts";
import {
  renderGenerate,
  renderVerify,
} from "../../harness/cli/engine_render.ts";
import { presetSource } from "../../adapters/webgpu/model/presets.ts";
import { referenceGreedy } from "../../adapters/webgpu/reference/reference_forward.ts";
import { loadHostWeights } from "../../adapters/webgpu/model/weights.ts";
import { webgpuTest } from "../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test("parsePromptIds() parses ids and names the flag on bad input", async (t) => {
  await t.step(
    "ids",
    () => assert.deepEqual(parsePromptIds("1,2, 3"), [1, 2, 3]),
  );
  await t.step("bad", () =>
    assert.throws(() => parsePromptIds("1,x"), {
      message:
        '--prompt-ids: expected comma-separated integers >= 0, got "x" in "1,x"',
    }));
  await t.step("empty", () =>
    assert.throws(() => parsePromptIds(""), {
      message:
        '--prompt-ids: expected comma-separated integers >= 0, got "" in ""',
    }));
});

webgpuTest({
  name: "engineGenerate() greedy on a preset equals the CPU reference",
  ...opts,
  fn: async () => {
    const r = await engineGenerate({
      model: "tiny",
      promptIds: [3, 1, 4, 1, 5],
      maxTokens: 10,
      greedy: true,
      dtype: "f32",
      seed: 2,
    });
    const src = presetSource("tiny", 2);
    assert.deepEqual(
      r.ids,
      referenceGreedy(
        src.config,
        await loadHostWeights(src),
        [3, 1, 4, 1, 5],
        10,
      ),
    );
    assert.equal(r.finishReason, "length");
    const text = renderGenerate(r, "text");
    assert.equal(text.split("\n")[0], `ids: ${r.ids.join(",")}`);
    assert.deepEqual(JSON.parse(renderGenerate(r, "json")).ids, r.ids);
  },
});

webgpuTest({
  name: "engineGenerate() names the bad option",
  ...opts,
  fn: async (t) => {
    const base = { model: "tiny", promptIds: [1], maxTokens: 2 };
    const cases: [string, Parameters<typeof engineGenerate>[0], string][] = [
      [
        "max tokens",
        { ...base, maxTokens: 0 },
        "--max-tokens: expected an integer >= 1, got 0",
      ],
      [
        "top-p",
        { ...base, topP: 1.5 },
        "--top-p: expected a value in (0, 1], got 1.5",
      ],
      [
        "id past vocab",
        { ...base, promptIds: [256] },
        "--prompt-ids: expected ids < vocab_size 256, got 256",
      ],
      [
        "model",
        { ...base, model: "gpt-9" },
        'Model "gpt-9": expected a checkpoint directory or a preset (tiny, smollm2-135m, qwen2.5-0.5b, llama-3.2-1b)',
      ],
    ];
    for (const [name, o, message] of cases) {
      await t.step(
        name,
        () => assert.rejects(() => engineGenerate(o), { message }),
      );
    }
  },
});

webgpuTest({
  name:
    "engineVerify() passes on the oracle checkpoint and fails on a wrong oracle",
  ...opts,
  fn: async () => {
    const model = modelDir("tiny-llama-f32");
    const ok = await engineVerify({ model });
    assert.equal(ok.pass, true);
    assert.deepEqual(
      ok.cases.map((c) => c.argmaxMatches),
      ok.cases.map((c) => c.promptTokens),
    );
    assert.equal(
      renderVerify(ok, "text").split("\n").at(-1),
      "PASS: 4 of 4 prompts",
    );
    // The same oracle with one greedy id changed must fail at that index.
    const expected = JSON.parse(
      await Deno.readTextFile(`${model}/expected.json`),
    );
    expected.cases[1].greedy[5] = (expected.cases[1].greedy[5] + 1) % 256;
    expected.cases[2].last_logits[0] += 1;
    const path = await Deno.makeTempFile({ suffix: ".json" });
    await Deno.writeTextFile(path, JSON.stringify(expected));
    const bad = await engineVerify({ model, expected: path });
    assert.equal(bad.pass, false);
    assert.deepEqual(bad.cases.map((c) => c.pass), [true, false, false, true]);
    assert.equal(bad.cases[1].greedyFirstMismatch, 5);
    assert.ok(bad.cases[2].lastLogitsRelRms > 1e-3);
    assert.equal(
      renderVerify(bad, "text").split("\n").at(-1),
      "FAIL: 2 of 4 prompts",
    );
  },
});

Deno.test("renderVerify() keeps the argmax and greedy columns apart at 2,048 prompt tokens", () => {
  const c = {
    promptTokens: 2048,
    lastLogitsRelRms: 8.3e-6,
    lastLogitsMaxAbs: 2.4e-5,
    argmaxMatches: 2048,
    greedyFirstMismatch: -1,
    greedyExpected: Array(24).fill(1),
    greedyGot: Array(24).fill(1),
    pass: true,
  };
  const text = renderVerify({
    model: "m",
    device: "cpu",
    dtype: "f32",
    tolerance: 1e-3,
    pass: true,
    cases: [c],
  }, "text");
  const [, head, row] = text.split("\n");
  assert.match(row, /2048\/2048 +24\/24 equal$/);
  assert.equal(row.indexOf("24/24"), head.indexOf("greedy"));
});
