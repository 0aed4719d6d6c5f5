// tokentrace serve with a checkpoint's own tokenizer and chat template (tiny-llama-f32 with the
// 256-id tiny-sp256 tokenizer fixture), through app.request(): the chat shapes clients send,
// fields it cannot honour, model names, /tokenize and /detokenize, one context length, chunks
// that carry the text of several tokens, server timings and the latency histograms.
import assert from "node:assert/strict";
import { ChatTemplate } from "../../../../workloads/chat_template.ts";
import { loadTokenizer } from "../../../../workloads/tokenizer.ts";
import { webgpuTest } from "../../../_system.ts";
import { app, opts, post, sseData, TOKENIZER } from "./_serve_text.ts";

webgpuTest({
  name:
    "POST /v1/chat/completions renders content parts, developer and tool messages with the checkpoint's template",
  ...opts,
  fn: async () => {
    const a = await app();
    const messages = [
      { role: "developer", content: "be so" },
      {
        role: "user",
        content: [{ type: "text", text: "hi" }, { type: "text", text: "to" }],
      },
      { role: "assistant", content: "ok" },
      { role: "tool", content: "42", tool_call_id: "c1" },
    ];
    // The same prompt, counted independently: the fixture's template and tokenizer.
    const tok = await loadTokenizer(TOKENIZER);
    const text = new ChatTemplate(tok.chatTemplate!, {
      bosToken: tok.bosToken,
      eosToken: tok.eosToken,
      source: "fixture",
    }).render([
      { role: "system", content: "be so" },
      { role: "user", content: "hi\nto" },
      { role: "assistant", content: "ok" },
      { role: "tool", content: "42" },
    ]);
    assert.ok(
      text.startsWith("<s><|system|>\nbe so</s>\n<|user|>\nhi\nto</s>"),
    );
    const want = tok.encode(text, false).length;
    const res = await a.request(
      "/v1/chat/completions",
      post({ model: "tiny", messages, max_tokens: 3, temperature: 0 }),
    );
    assert.equal(res.status, 200, await res.clone().text());
    const j = await res.json();
    assert.equal(j.usage.prompt_tokens, want);
    const t = await (await a.request("/tokenize", post({ messages }))).json();
    assert.equal(t.count, want);
  },
});

webgpuTest({
  name:
    "createServeApp() refuses fields it cannot honour and unknown models, naming them",
  ...opts,
  fn: async (t) => {
    const a = await app();
    const cases: [string, string, Record<string, unknown>, number, string][] = [
      ["/v1/completions", "logprobs", { logprobs: 2 }, 400, "logprobs"],
      [
        "/v1/chat/completions",
        "top_logprobs",
        { logprobs: true, top_logprobs: 2 },
        400,
        "top_logprobs",
      ],
      [
        "/v1/completions",
        "presence_penalty",
        { presence_penalty: 0.5 },
        400,
        "presence_penalty",
      ],
      ["/v1/completions", "echo", { echo: true }, 400, "echo"],
      ["/v1/completions", "best_of", { best_of: 2 }, 400, "best_of"],
      ["/v1/completions", "top_k", { top_k: 5 }, 400, "top_k"],
      [
        "/v1/chat/completions",
        "tools",
        { tools: [{ type: "function" }] },
        400,
        "tools",
      ],
      [
        "/v1/chat/completions",
        "response_format",
        { response_format: { type: "json_object" } },
        400,
        "response_format",
      ],
      ["/v1/completions", "unknown field", { mystery: 1 }, 400, "mystery"],
      ["/v1/completions", "n above 16", { n: 17 }, 400, "n"],
      ["/v1/completions", "unknown model", { model: "gpt-4" }, 404, "model"],
      [
        "/v1/chat/completions",
        "image part",
        {
          messages: [{
            role: "user",
            content: [{ type: "image_url", image_url: { url: "x" } }],
          }],
        },
        400,
        "messages.0.content.0",
      ],
    ];
    for (const [path, name, extra, status, param] of cases) {
      await t.step(`${path} ${name}`, async () => {
        const base = path.endsWith("chat/completions")
          ? { messages: [{ role: "user", content: "hi" }] }
          : { prompt: "hi" };
        const res = await a.request(
          path,
          post({ ...base, max_tokens: 1, ...extra }),
        );
        assert.equal(res.status, status);
        const j = await res.json();
        assert.equal(j.error.param, param);
        assert.ok(
          j.error.message.startsWith(`Field "${param}"`),
          j.error.message,
        );
      });
    }
    await t.step(
      "off values are accepted (vLLM's benchmark sends them)",
      async () => {
        const res = await a.request(
          "/v1/completions",
          post({
            model: "tiny",
            prompt: "hi",
            max_tokens: 1,
            best_of: 1,
            logprobs: null,
            presence_penalty: 0,
            top_k: -1,
            user: "bench",
          }),
        );
        assert.equal(res.status, 200);
      },
    );
    await t.step("exact message of a refused field", async () => {
      const res = await a.request(
        "/v1/completions",
        post({ prompt: "hi", frequency_penalty: 1 }),
      );
      assert.equal(
        (await res.json()).error.message,
        'Field "frequency_penalty": got 1, but tokentrace serve cannot honour it: penalties are not applied; leave it out',
      );
    });
  },
});

webgpuTest({
  name: "createServeApp() states one context length and applies it everywhere",
  ...opts,
  fn: async () => {
    const a = await app();
    const m = (await (await a.request("/v1/models")).json()).data[0];
    assert.equal(m.max_model_len, 97);
    assert.equal(m.vocab_size, 256);
    assert.equal(m.steps_in_flight, 4);
    assert.equal(m.tokenizer, "checkpoint");
    const t = await (await a.request("/tokenize", post({ prompt: "an to" })))
      .json();
    assert.deepEqual(t, { count: 3, max_model_len: 97, tokens: [1, 235, 238] });
    const ids = Array.from({ length: 90 }, (_, i) => 3 + i);
    const fits = await a.request(
      "/v1/completions",
      post({ prompt: ids, max_tokens: 7, ignore_eos: true }),
    );
    assert.equal(fits.status, 200);
    assert.equal((await fits.json()).usage.completion_tokens, 7);
    const over = await a.request(
      "/v1/completions",
      post({ prompt: ids, max_tokens: 8 }),
    );
    assert.equal(over.status, 400);
    assert.match(
      (await over.json()).error.message,
      /exceed the context of 97 tokens/,
    );
    const d =
      await (await a.request("/detokenize", post({ tokens: [1, 235, 70, 44] })))
        .json();
    assert.deepEqual(d, { prompt: "<s> ané" });
  },
});

webgpuTest({
  name:
    "POST /v1/completions streams chunks that carry the text of their tokens, with usage per chunk and timings",
  ...opts,
  fn: async () => {
    const a = await app();
    const body = {
      model: "tiny",
      prompt: "so it is",
      max_tokens: 40,
      temperature: 0,
      ignore_eos: true,
    };
    const res = await a.request(
      "/v1/completions",
      post({
        ...body,
        stream: true,
        stream_options: { include_usage: true, continuous_usage_stats: true },
      }),
    );
    const chunks = sseData(await res.text()).filter((d) => d !== "[DONE]").map((
      d,
    ) => JSON.parse(d));
    const text = chunks.filter((c) => c.choices.length > 0).map((c) =>
      c.choices[0].text
    ).join("");
    const final = chunks.at(-1).usage;
    assert.equal(final.completion_tokens, 40);
    // Per-chunk usage: each text chunk says how many tokens it stands for; they add up.
    let prev = 0;
    let perChunk = 0;
    let textChunks = 0;
    for (const c of chunks) {
      if (c.choices.length === 0 || c.choices[0].text === "") continue;
      textChunks++;
      assert.ok(c.usage.completion_tokens > prev);
      perChunk += c.usage.completion_tokens - prev;
      prev = c.usage.completion_tokens;
    }
    assert.equal(perChunk, prev);
    assert.ok(textChunks <= 40);
    const last = chunks.findLast((c) => c.choices[0]?.finish_reason);
    assert.equal(last.choices[0].finish_reason, "length");
    assert.equal(last.timings.predicted_n, 40);
    assert.ok(last.timings.predicted_ms >= 0 && last.timings.prompt_ms >= 0);
    // The same greedy request without streaming: the same text.
    const json = await (await a.request("/v1/completions", post(body))).json();
    assert.equal(json.choices[0].text, text);
    assert.equal(json.timings.predicted_n, 40);
  },
});

webgpuTest({
  name: "GET /metrics exports TTFT and ITL histograms and token counters",
  ...opts,
  fn: async () => {
    const a = await app();
    const r = await (await a.request(
      "/v1/completions",
      post({ prompt: [5, 6, 7], max_tokens: 4, ignore_eos: true }),
    )).json();
    assert.equal(r.usage.completion_tokens, 4);
    const text = await (await a.request("/metrics")).text();
    for (
      const name of [
        "time_to_first_token",
        "inter_token_latency",
        "engine_inter_token_latency",
        "e2e_request_latency",
      ]
    ) {
      assert.match(
        text,
        new RegExp(`^# TYPE tokentrace_${name}_seconds histogram$`, "m"),
      );
      assert.match(
        text,
        new RegExp(
          `^tokentrace_${name}_seconds_bucket\\{le="\\+Inf"\\} \\d+$`,
          "m",
        ),
      );
    }
    assert.match(text, /^tokentrace_time_to_first_token_seconds_count 1$/m);
    assert.match(text, /^tokentrace_inter_token_latency_seconds_count 3$/m);
    assert.match(text, /^tokentrace_prompt_tokens_total 3$/m);
    assert.match(text, /^tokentrace_generation_tokens_total 4$/m);
    assert.match(text, /^tokentrace_engine_steps_in_flight 4$/m);
  },
});
