// tokentrace serve's log-probabilities (against transformers' logits in the checkpoint's oracle)
// and its choices (n > 1, batch prompts), through app.request() over tiny-llama-f32 with the
// tiny-sp256 tokenizer fixture.
import assert from "node:assert/strict";
import { logprobRef } from "../../../../adapters/webgpu/reference/reference_kernels.ts";
import { modelDir } from "../../../_fixtures.ts";
import { webgpuTest } from "../../../_system.ts";
import { app, opts, post, sseData } from "./_serve_text.ts";

webgpuTest({
  name:
    "POST /v1/completions logprobs: 0 returns the sampled tokens' log-probabilities (transformers' logits as the oracle)",
  ...opts,
  fn: async (t) => {
    const a = await app();
    const oracle = JSON.parse(
      await Deno.readTextFile(`${modelDir("tiny-llama-f32")}/expected.json`),
    );
    for (const [i, c] of oracle.cases.entries()) {
      if (c.prompt.length > 40) continue;
      await t.step(`case ${i}: first greedy token`, async () => {
        const j = await (await a.request(
          "/v1/completions",
          post({
            prompt: c.prompt,
            max_tokens: 1,
            temperature: 0,
            logprobs: 0,
            ignore_eos: true,
          }),
        )).json();
        const lp = j.choices[0].logprobs;
        const want = logprobRef(c.last_logits, c.greedy[0]);
        assert.equal(lp.token_logprobs.length, 1);
        assert.ok(
          Math.abs(lp.token_logprobs[0] - want) < 1e-3,
          `${lp.token_logprobs[0]} vs ${want}`,
        );
        assert.deepEqual(lp.text_offset, [0]);
      });
    }
    await t.step(
      "streamed: one entry per token, the same as the JSON answer",
      async () => {
        const body = {
          prompt: "so it is",
          max_tokens: 12,
          temperature: 0,
          ignore_eos: true,
          logprobs: 0,
        };
        const json = await (await a.request("/v1/completions", post(body)))
          .json();
        const res = await a.request(
          "/v1/completions",
          post({ ...body, stream: true }),
        );
        const chunks = sseData(await res.text()).filter((d) => d !== "[DONE]")
          .map((d) => JSON.parse(d));
        const streamed = chunks.flatMap((c) =>
          c.choices[0]?.logprobs?.token_logprobs ?? []
        );
        assert.equal(streamed.length, 12);
        assert.deepEqual(streamed, json.choices[0].logprobs.token_logprobs);
        assert.ok(streamed.every((v: number) => Number.isFinite(v) && v <= 0));
      },
    );
  },
});

webgpuTest({
  name:
    "POST /v1/completions answers n > 1 and batch prompts with one choice each, usage counting each prompt once",
  ...opts,
  fn: async (t) => {
    const a = await app();
    const base = { max_tokens: 8, ignore_eos: true, seed: 5 };
    await t.step("n = 3, greedy: three equal choices", async () => {
      const j = await (await a.request(
        "/v1/completions",
        post({ ...base, prompt: "so it is", n: 3, temperature: 0 }),
      )).json();
      assert.deepEqual(j.choices.map((c: { index: number }) => c.index), [
        0,
        1,
        2,
      ]);
      assert.equal(
        new Set(j.choices.map((c: { text: string }) => c.text)).size,
        1,
      );
      assert.deepEqual(
        [j.usage.prompt_tokens, j.usage.completion_tokens],
        [4, 24], // <s> ▁so ▁it ▁is once; 8 tokens per choice
      );
    });
    await t.step("n = 3, sampled: seeds seed, seed + 1, seed + 2", async () => {
      const j = await (await a.request(
        "/v1/completions",
        post({ ...base, prompt: "so it is", n: 3, temperature: 1 }),
      )).json();
      const texts = j.choices.map((c: { text: string }) => c.text);
      // The first choice is the n = 1 answer with the same seed.
      const single = await (await a.request(
        "/v1/completions",
        post({ ...base, prompt: "so it is", temperature: 1 }),
      )).json();
      assert.equal(texts[0], single.choices[0].text);
      assert.ok(new Set(texts).size > 1, JSON.stringify(texts));
    });
    await t.step("a batch of two prompts, n = 2, streamed", async () => {
      const res = await a.request(
        "/v1/completions",
        post({
          ...base,
          prompt: ["so", "an to"],
          n: 2,
          temperature: 0,
          stream: true,
          stream_options: { include_usage: true },
        }),
      );
      const chunks = sseData(await res.text()).filter((d) => d !== "[DONE]")
        .map((d) => JSON.parse(d));
      const finished = chunks.filter((c) => c.choices[0]?.finish_reason)
        .map((c) => c.choices[0].index).sort();
      assert.deepEqual(finished, [0, 1, 2, 3]);
      const text = (i: number) =>
        chunks.filter((c) => c.choices[0]?.index === i)
          .map((c) => c.choices[0].text).join("");
      assert.equal(text(0), text(1)); // greedy copies of prompt 0
      assert.equal(text(2), text(3));
      assert.deepEqual(
        [
          chunks.at(-1).usage.prompt_tokens,
          chunks.at(-1).usage.completion_tokens,
        ],
        [2 + 3, 32], // <s> ▁so and <s> ▁an ▁to; 4 choices of 8 tokens
      );
    });
  },
});
