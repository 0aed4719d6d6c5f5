import assert from "node:assert/strict";
import { buildRequestBody } from "../../../adapters/openai/request_body.ts";
import type { TraceRequest } from "../../../workloads/request.ts";

const base: TraceRequest = {
  id: "q",
  arrivalMs: 0,
  inputTokens: 2,
  outputTokens: 8,
};

Deno.test("buildRequestBody() builds the streaming body for each API and server family", async (t) => {
  await t.step("completions, token ids, vllm", () => {
    assert.deepEqual(
      buildRequestBody(
        { ...base, prompt: { kind: "token_ids", ids: [5, 6] } },
        {
          api: "completions",
          endpointKind: "vllm",
          model: "m",
        },
      ),
      {
        ok: true,
        body: {
          model: "m",
          prompt: [5, 6],
          max_tokens: 8,
          stream: true,
          stream_options: { include_usage: true },
          ignore_eos: true,
          min_tokens: 8,
        },
      },
    );
  });

  await t.step("chat, text, openai, no model", () => {
    assert.deepEqual(
      buildRequestBody({ ...base, prompt: { kind: "text", text: "hi" } }, {
        api: "chat",
        endpointKind: "openai",
      }),
      {
        ok: true,
        body: {
          messages: [{ role: "user", content: "hi" }],
          max_tokens: 8,
          stream: true,
          stream_options: { include_usage: true },
        },
      },
    );
  });

  await t.step("extraBody overrides stream_options", () => {
    const r = buildRequestBody({
      ...base,
      prompt: { kind: "text", text: "hi" },
    }, {
      api: "completions",
      endpointKind: "sglang",
      extraBody: {
        stream_options: { include_usage: true, continuous_usage_stats: true },
      },
    });
    assert.deepEqual(r.ok && r.body.stream_options, {
      include_usage: true,
      continuous_usage_stats: true,
    });
  });
});
