// The GPU forward against the long-context Hugging Face oracle (tests/fixtures/models/
// tiny-llama3-long: llama3 RoPE scaling, GQA 2:1, head_dim 32, prompts of 1, 64, 512 and 2,048
// tokens), f32 storage: last-position logits and the 24-token greedy continuation of each prompt.
// On llvmpipe this is where the loop budget showed (greedy wrong from the first token at 2,048).
import assert from "node:assert/strict";
import { modelDir } from "../../../_fixtures.ts";
import { ForwardEngine } from "../../../../adapters/webgpu/step/forward.ts";
import { openCheckpoint } from "../../../../adapters/webgpu/model/model_source.ts";
import {
  parseOracle,
  relRmsError,
} from "../../../../adapters/webgpu/reference/oracle.ts";
import { PAGE_SIZE } from "../../../../adapters/webgpu/batch/kv_blocks.ts";
import { GREEDY } from "../../../../adapters/webgpu/batch/step_batch.ts";
import { testDevice } from "../_gpu.ts";
import { webgpuTest } from "../../../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

webgpuTest({
  name:
    "ForwardEngine matches the tiny-llama3-long oracle at every prompt length (f32): last logits and greedy ids",
  ...opts,
  fn: async (t) => {
    const dir = modelDir("tiny-llama3-long");
    const oracle = parseOracle(
      JSON.parse(await Deno.readTextFile(`${dir}/expected.json`)),
      "tiny-llama3-long/expected.json",
    );
    const longest = Math.max(...oracle.cases.map((c) => c.prompt.length));
    const newTokens = Math.max(...oracle.cases.map((c) => c.greedy.length));
    const engine = await ForwardEngine.create(
      await testDevice(),
      await openCheckpoint(dir),
      {
        dtype: "f32",
        maxSeqs: 1,
        maxTokens: longest,
        maxContext: Math.ceil((longest + newTokens) / PAGE_SIZE) * PAGE_SIZE,
      },
    );
    for (const [i, c] of oracle.cases.entries()) {
      await t.step(`prompt ${i} (${c.prompt.length} tokens)`, async () => {
        const P = c.prompt.length;
        const n = c.greedy.length;
        // The engine hands out no pages: a fresh engine driven directly uses [0, n).
        const pages = Array.from(
          { length: Math.ceil((P + n) / PAGE_SIZE) },
          (_, i) => i,
        );
        // The whole prompt in one step, then one decode step per new token fed on the GPU.
        engine.submitStep({
          seqs: [{
            slot: 0,
            start: 0,
            tokens: c.prompt,
            pages,
            sample: GREEDY,
          }],
          logBase: 0,
        });
        const err = relRmsError(await engine.readLogits(1), c.lastLogits);
        for (let j = 1; j < n; j++) {
          engine.submitStep({
            seqs: [{
              slot: 0,
              start: P + j - 1,
              tokens: null,
              pages,
              sample: GREEDY,
            }],
            logBase: j,
          });
        }
        const got = Array.from(await engine.readTokenLog(0, n));
        assert.ok(err < 1e-4, `last-position logits: relative RMS ${err}`);
        assert.deepEqual(got, c.greedy);
      });
    }
    engine.destroy();
  },
});
