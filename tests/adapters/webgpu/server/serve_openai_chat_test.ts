// The official `openai` npm client against tokentrace serve on 127.0.0.1 (port 0, the app on
// Deno.serve) with the checkpoint's tokenizer: content parts and the developer role stream,
// logprobs come back per sampled token, and top_logprobs (not ranked) is a 400 the client
// surfaces.
import assert from "node:assert/strict";
import OpenAI from "openai";
import { createServeApp } from "../../../../adapters/webgpu/server/app.ts";
import { openServingEngine } from "../../../../adapters/webgpu/serving/serving_engine.ts";
import { openCodec } from "../../../../adapters/webgpu/text/codec.ts";
import { fixturePath, modelDir } from "../../../_fixtures.ts";
import { webgpuTest } from "../../../_system.ts";

webgpuTest({
  name:
    "tokentrace serve answers the official openai client: content parts, developer role, logprobs",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const e = await openServingEngine({
      model: modelDir("tiny-llama-f32"),
      dtype: "f32",
      maxSeqs: 2,
      tokenBudget: 64,
      maxContext: 96,
    });
    const codec = await openCodec(fixturePath("tokenizers/tiny-sp256"));
    const app = createServeApp({
      loop: e.loop,
      info: e.info,
      codec,
      modelName: "tiny",
    });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      app.fetch,
    );
    const client = new OpenAI({
      baseURL: `http://127.0.0.1:${server.addr.port}/v1`,
      apiKey: "unused",
      maxRetries: 0,
    });
    try {
      await t.step(
        "content parts and developer role, streamed with usage",
        async () => {
          const stream = await client.chat.completions.create({
            model: "tiny",
            messages: [
              { role: "developer", content: "be so" },
              {
                role: "user",
                content: [{ type: "text", text: "hi" }, {
                  type: "text",
                  text: "an",
                }],
              },
            ],
            max_completion_tokens: 6,
            temperature: 0,
            stream: true,
            stream_options: { include_usage: true },
          });
          let text = "";
          let usage: OpenAI.CompletionUsage | undefined;
          for await (const chunk of stream) {
            text += chunk.choices[0]?.delta?.content ?? "";
            if (chunk.usage) usage = chunk.usage;
          }
          const want = codec.encodeChat(codec.chatText([
            { role: "system", content: "be so" },
            { role: "user", content: "hi\nan" },
          ])).length;
          assert.equal(usage?.prompt_tokens, want);
          assert.ok(
            usage!.completion_tokens >= 1 && usage!.completion_tokens <= 6,
          );
          assert.equal(typeof text, "string");
        },
      );
      await t.step("logprobs: one entry per sampled token", async () => {
        const r = await client.chat.completions.create({
          model: "tiny",
          messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
          max_completion_tokens: 4,
          temperature: 0,
          logprobs: true,
          top_logprobs: 0,
        });
        const content = r.choices[0].logprobs?.content ?? [];
        assert.equal(content.length, r.usage?.completion_tokens);
        for (const e of content) {
          assert.ok(Number.isFinite(e.logprob) && e.logprob <= 0);
          assert.deepEqual(e.top_logprobs, []);
          assert.ok(Array.isArray(e.bytes));
        }
      });
      await t.step("top_logprobs: a 400 naming the field", async () => {
        const err = await client.chat.completions.create({
          model: "tiny",
          messages: [{ role: "user", content: "hi" }],
          max_completion_tokens: 2,
          logprobs: true,
          top_logprobs: 2,
        }).then(() => null, (x) => x);
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.equal(err.status, 400);
        assert.equal(err.param, "top_logprobs");
        assert.match(
          err.message,
          /Field "top_logprobs": got 2, but tokentrace serve cannot honour it/,
        );
      });
      await t.step("an unknown model: 404 model_not_found", async () => {
        const err = await client.completions.create({
          model: "gpt-x",
          prompt: "hi",
          max_tokens: 1,
        })
          .then(() => null, (x) => x);
        assert.ok(err instanceof OpenAI.NotFoundError, String(err));
        assert.equal(err.code, "model_not_found");
      });
    } finally {
      await server.shutdown();
      await e.close();
    }
  },
});
