// The official `openai` npm client streams from `tokentrace serve` (a real process on 127.0.0.1,
// port 0): completions with token-id and text prompts, and chat, with usage.
import assert from "node:assert/strict";
import OpenAI from "openai";
import { webgpuTest } from "../../../_system.ts";
import { startServe } from "../../../_serve_process.ts";

webgpuTest({
  name:
    "tokentrace serve streams to the official openai client (completions and chat)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const server = await startServe();
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const client = new OpenAI({
        baseURL: `${server.url}/v1`,
        apiKey: "unused",
      });
      await t.step("models", async () => {
        const models = await client.models.list();
        assert.equal(models.data[0].id, "preset:tiny");
      });
      await t.step(
        "completions, token-id prompt, streamed with usage",
        async () => {
          // ignore_eos: the vLLM-style extension the engine honours (exact output length).
          const params: OpenAI.CompletionCreateParamsStreaming & {
            ignore_eos: boolean;
          } = {
            model: "preset:tiny",
            prompt: [5, 6, 7, 8],
            max_tokens: 7,
            temperature: 0,
            stream: true,
            stream_options: { include_usage: true },
            ignore_eos: true,
          };
          const stream = await client.completions.create(params);
          let text = "";
          let usage: OpenAI.CompletionUsage | undefined;
          let finish: string | null = null;
          for await (const chunk of stream) {
            for (const c of chunk.choices) {
              text += c.text;
              finish = c.finish_reason ?? finish;
            }
            if (chunk.usage) usage = chunk.usage;
          }
          assert.equal(finish, "length");
          assert.equal(usage?.completion_tokens, 7);
          assert.equal(usage?.prompt_tokens, 4);
          assert.equal(typeof text, "string");
        },
      );
      await t.step("completions, text prompt", async () => {
        const r = await client.completions.create({
          model: "preset:tiny",
          prompt: "Hello",
          max_tokens: 3,
          seed: 1,
        });
        assert.equal(r.usage?.prompt_tokens, 5);
        assert.ok(r.usage!.completion_tokens <= 3);
      });
      await t.step("chat, streamed with usage", async () => {
        const stream = await client.chat.completions.create({
          model: "preset:tiny",
          messages: [{ role: "user", content: "hi" }],
          max_tokens: 5,
          temperature: 0.7,
          top_p: 0.9,
          seed: 3,
          stream: true,
          stream_options: { include_usage: true },
        });
        let role = "";
        let usage: OpenAI.CompletionUsage | undefined;
        for await (const chunk of stream) {
          for (const c of chunk.choices) role ||= c.delta.role ?? "";
          if (chunk.usage) usage = chunk.usage;
        }
        assert.equal(role, "assistant");
        assert.ok(
          usage!.completion_tokens >= 1 && usage!.completion_tokens <= 5,
        );
        assert.equal(
          usage!.prompt_tokens,
          "<|user|>\nhi\n<|assistant|>\n".length,
        );
      });
    } finally {
      await server.stop();
    }
  },
});
