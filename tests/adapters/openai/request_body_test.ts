import assert from "node:assert/strict";
import { buildRequestBody } from "../../../adapters/openai/request_body.ts";
import type { TraceRequest } from "../../../workloads/base/request.ts";
import { generateRequest } from "../../../harness/generate_request.ts";

/** The body of a trace request, as the harness sends it (its one mapping to a backend request). */
const bodyOf = (
  req: TraceRequest,
  opts: Parameters<typeof buildRequestBody>[1],
) => buildRequestBody(generateRequest(req), opts);

const base: TraceRequest = {
  id: "q",
  arrivalMs: 0,
  inputTokens: 2,
  outputTokens: 8,
};

Deno.test("buildRequestBody() builds the streaming body for each API and server family", async (t) => {
  await t.step("completions, token ids, vllm", () => {
    assert.deepEqual(
      bodyOf(
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
          stream_options: { include_usage: true, continuous_usage_stats: true },
          ignore_eos: true,
          min_tokens: 8,
        },
      },
    );
  });

  const text = { ...base, prompt: { kind: "text" as const, text: "hi" } };
  const fields = (
    kind: "llamacpp" | "transformers" | "strict",
    api: "chat" | "completions",
  ) => {
    const r = bodyOf(text, { api, endpointKind: kind });
    assert.ok(r.ok);
    const { messages: _m, prompt: _p, stream: _s, ...rest } = r.body;
    return rest;
  };
  await t.step("llamacpp: ignore_eos and per-token timings", () => {
    assert.deepEqual(fields("llamacpp", "chat"), {
      max_tokens: 8,
      stream_options: { include_usage: true },
      ignore_eos: true,
      timings_per_token: true,
    });
  });
  await t.step(
    "transformers: its generation_config field, nothing else",
    () => {
      assert.deepEqual(fields("transformers", "completions"), {
        max_tokens: 8,
        stream_options: { include_usage: true },
        generation_config: '{"min_new_tokens":8,"max_new_tokens":8}',
      });
    },
  );
  await t.step(
    "strict: chat sends max_completion_tokens, completions max_tokens",
    () => {
      assert.deepEqual(fields("strict", "chat"), {
        stream_options: { include_usage: true },
        max_completion_tokens: 8,
      });
      assert.deepEqual(fields("strict", "completions"), {
        max_tokens: 8,
        stream_options: { include_usage: true },
      });
    },
  );

  await t.step("chat, text, openai, no model", () => {
    assert.deepEqual(
      bodyOf({ ...base, prompt: { kind: "text", text: "hi" } }, {
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
    const r = bodyOf({
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
