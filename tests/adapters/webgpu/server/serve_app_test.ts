// The engine's OpenAI-compatible app through app.request() (no port): routes, validation (400
// naming the field), 429, streaming with usage, stop strings, disconnects, and the security rules.
import assert from "node:assert/strict";
import { createServeApp } from "../../../../adapters/webgpu/server/app.ts";
import {
  openServingEngine,
  type ServingEngine,
} from "../../../../adapters/webgpu/serving/serving_engine.ts";
import { buildProgram } from "../../../../harness/cli/main.ts";
import { parseServeConfig } from "../../../../harness/cli/serve_command.ts";
import { webgpuTest } from "../../../_system.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
let shared: Promise<ServingEngine> | null = null;
const engine = () =>
  shared ??= openServingEngine({
    model: "tiny",
    dtype: "f32",
    maxSeqs: 4,
    tokenBudget: 64,
    maxContext: 128,
  });
globalThis.addEventListener("unload", () => {
  shared?.then((e) => e.close());
});

const post = (
  body: unknown,
  headers: Record<string, string> = {},
) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

/** Data payloads of an SSE body. */
function sseData(text: string): string[] {
  return text.split("\n\n").filter((b) => b.startsWith("data: ")).map((b) =>
    b.slice(6)
  );
}

webgpuTest({
  name: "createServeApp() lists the model and answers /health and /metrics",
  ...opts,
  fn: async () => {
    const e = await engine();
    const app = createServeApp({ loop: e.loop, info: e.info, modelName: "m" });
    const models = await (await app.request("/v1/models")).json();
    assert.equal(models.data[0].id, "m");
    assert.equal((await (await app.request("/health")).json()).status, "ok");
    const m = await app.request("/metrics");
    assert.match(m.headers.get("content-type")!, /^text\/plain; version=0.0.4/);
    const text = await m.text();
    assert.match(text, /^# TYPE tokentrace_kv_blocks_total gauge$/m);
    assert.match(text, /^tokentrace_kv_blocks_total 32$/m);
  },
});

webgpuTest({
  name:
    "POST /v1/completions answers bad JSON and bad fields with 400 naming the field",
  ...opts,
  fn: async (t) => {
    const e = await engine();
    const app = createServeApp({ loop: e.loop, info: e.info });
    const cases: [string, string, unknown, string, string | null][] = [
      ["bad JSON", "/v1/completions", "{nope", "Body is not valid JSON", null],
      [
        "missing prompt",
        "/v1/completions",
        { max_tokens: 2 },
        'Field "prompt"',
        "prompt",
      ],
      [
        "max_tokens 0",
        "/v1/completions",
        { prompt: "hi", max_tokens: 0 },
        'Field "max_tokens"',
        "max_tokens",
      ],
      [
        "top_p 0",
        "/v1/completions",
        { prompt: "hi", top_p: 0 },
        'Field "top_p"',
        "top_p",
      ],
      [
        "temperature as text",
        "/v1/completions",
        { prompt: "hi", temperature: "hot" },
        'Field "temperature"',
        "temperature",
      ],
      [
        "negative token id",
        "/v1/completions",
        { prompt: [1, -2] },
        'Field "prompt.1": Too small',
        "prompt.1",
      ],
      [
        "chat role",
        "/v1/chat/completions",
        { messages: [{ role: "robot", content: "x" }] },
        'Field "messages.0.role"',
        "messages.0.role",
      ],
      [
        "prompt beyond the context",
        "/v1/completions",
        { prompt: [1, 2, 3], max_tokens: 200 },
        "exceed the context of 129 tokens",
        "max_tokens",
      ],
      [
        "token id beyond the vocabulary",
        "/v1/completions",
        { prompt: [999] },
        "expected token ids in [0, 256)",
        "prompt",
      ],
    ];
    for (const [name, path, body, msg, param] of cases) {
      await t.step(name, async () => {
        const res = await app.request(path, post(body));
        assert.equal(res.status, 400);
        const j = await res.json();
        assert.ok(j.error.message.includes(msg), j.error.message);
        assert.equal(j.error.param, param);
      });
    }
  },
});

webgpuTest({
  name: "POST /v1/completions streams chunks, a usage chunk and [DONE]",
  ...opts,
  fn: async () => {
    const e = await engine();
    const app = createServeApp({ loop: e.loop, info: e.info });
    const body = {
      prompt: [10, 20, 30],
      max_tokens: 6,
      temperature: 0,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    };
    const res = await app.request("/v1/completions", post(body));
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const data = sseData(await res.text());
    assert.equal(data[data.length - 1], "[DONE]");
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    const usage = chunks[chunks.length - 1];
    assert.deepEqual(usage.choices, []);
    assert.deepEqual(usage.usage, {
      prompt_tokens: 3,
      completion_tokens: 6,
      total_tokens: 9,
      prompt_tokens_details: { cached_tokens: 0 },
    });
    assert.equal(chunks[chunks.length - 2].choices[0].finish_reason, "length");
    // The same request without streaming gives the same text.
    const whole = await (await app.request(
      "/v1/completions",
      post({ ...body, stream: false }),
    )).json();
    const streamed = chunks.slice(0, -1).map((c) => c.choices[0].text).join("");
    assert.equal(whole.choices[0].text, streamed);
  },
});

webgpuTest({
  name: "POST /v1/completions ends at a stop string, which is not returned",
  ...opts,
  fn: async () => {
    const e = await engine();
    const app = createServeApp({ loop: e.loop, info: e.info });
    const base = {
      prompt: "abc",
      max_tokens: 12,
      temperature: 0,
      ignore_eos: true,
    };
    const full =
      (await (await app.request("/v1/completions", post(base))).json())
        .choices[0].text as string;
    const stop = full.slice(3, 5);
    const cut = await (await app.request(
      "/v1/completions",
      post({ ...base, stop }),
    )).json();
    assert.equal(cut.choices[0].text, full.slice(0, full.indexOf(stop)));
    assert.equal(cut.choices[0].finish_reason, "stop");
  },
});

webgpuTest({
  name:
    "A client that disconnects has its sequence cancelled and its KV blocks freed",
  ...opts,
  fn: async () => {
    const e = await engine();
    const app = createServeApp({ loop: e.loop, info: e.info });
    const before = e.loop.counters.cancelled;
    const res = await app.request(
      "/v1/completions",
      post({
        prompt: [1, 2, 3],
        max_tokens: 100,
        ignore_eos: true,
        stream: true,
      }),
    );
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    assert.equal(e.loop.counters.cancelled, before + 1);
    assert.equal(e.loop.blocks.stats().used, 0);
    assert.equal(e.loop.load.live, 0);
  },
});

webgpuTest({
  name: "A full queue answers 429",
  ...opts,
  fn: async () => {
    const e = await openServingEngine({
      model: "tiny",
      dtype: "f32",
      maxSeqs: 1,
      tokenBudget: 16,
      maxContext: 64,
      maxWaiting: 1,
    });
    const app = createServeApp({ loop: e.loop, info: e.info });
    const body = { prompt: [1, 2], max_tokens: 3, ignore_eos: true };
    const res = await Promise.all(
      [0, 1, 2].map(() => app.request("/v1/completions", post(body))),
    );
    const statuses = res.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 429]);
    const refused = res.find((r) => r.status === 429)!;
    assert.equal((await refused.json()).error.type, "rate_limit_error");
    assert.match(
      await (await app.request("/metrics")).text(),
      /^tokentrace_requests_rejected_total 1$/m,
    );
    await e.close();
  },
});

webgpuTest({
  name: "security: /v1 routes require the bearer API key when one is set",
  ...opts,
  fn: async (t) => {
    const e = await engine();
    const app = createServeApp({
      loop: e.loop,
      info: e.info,
      apiKey: "s3cret",
    });
    await t.step("no key: 401", async () => {
      const res = await app.request("/v1/models");
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error.type, "authentication_error");
    });
    await t.step("wrong key: 401", async () => {
      const res = await app.request("/v1/models", {
        headers: { authorization: "Bearer s3cres" },
      });
      assert.equal(res.status, 401);
    });
    await t.step("right key: 200", async () => {
      const res = await app.request("/v1/models", {
        headers: { authorization: "Bearer s3cret" },
      });
      assert.equal(res.status, 200);
    });
    await t.step("/health and /metrics stay open", async () => {
      assert.equal((await app.request("/health")).status, 200);
      assert.equal((await app.request("/metrics")).status, 200);
    });
  },
});

webgpuTest({
  name: "security: request bodies over the size limit are refused with 413",
  ...opts,
  fn: async () => {
    const e = await engine();
    const app = createServeApp({
      loop: e.loop,
      info: e.info,
      maxBodyBytes: 64,
    });
    const res = await app.request(
      "/v1/completions",
      post({ prompt: "x".repeat(200), max_tokens: 1 }),
    );
    assert.equal(res.status, 413);
  },
});

webgpuTest(
  "security: tokentrace serve binds 127.0.0.1 unless --host is given",
  () => {
    const serve = buildProgram(() => {}).commands.find((c) =>
      c.name() === "serve"
    )!;
    const host = serve.options.find((o) => o.long === "--host")!;
    assert.equal(host.defaultValue, "127.0.0.1");
  },
);

webgpuTest(
  "security: --api-key-env naming an unset variable is refused",
  () => {
    assert.throws(
      () =>
        parseServeConfig(
          { host: "127.0.0.1", port: "0", apiKeyEnv: "NOPE" },
          () => undefined,
        ),
      {
        message:
          'Option --api-key-env: expected the name of a set, non-empty environment variable holding the API key, got "NOPE"',
      },
    );
  },
);
