import assert from "node:assert/strict";
import { generateRequest } from "../../../harness/generate_request.ts";
import { OpenAIBackend } from "../../../adapters/openai/backend.ts";
import { nativeTcpUnavailable } from "../../../adapters/native_tcp.ts";
import {
  chatChunk,
  sse,
  streamResponse,
  USAGE_CHUNK,
  VLLM_CHAT_STREAM,
  withServer,
} from "./_fixtures.ts";
import {
  collect,
  idsRequest,
  recordingApp,
  stepClock,
  terminal,
  textRequest,
} from "./_backend_helpers.ts";

const cmpl = (text: string, finish: string | null = null) =>
  JSON.stringify({
    id: "cmpl-1",
    object: "text_completion",
    choices: [{ index: 0, text, finish_reason: finish }],
  });
const cmplUsage = JSON.stringify({
  id: "cmpl-1",
  object: "text_completion",
  choices: [],
  usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 },
});
const COMPLETIONS_PARTS = [
  sse(cmpl("Hello"), cmpl(" world")),
  sse(cmpl("!", "length")),
  sse(cmplUsage, "[DONE]"),
];

Deno.test("OpenAIBackend.generate() streams a completions request", async (t) => {
  await t.step(
    "vllm with a token-id prompt: body, headers and events timed per read",
    async () => {
      const { app, seen } = recordingApp(() =>
        streamResponse(COMPLETIONS_PARTS, { gapMs: 30 })
      );
      await withServer(app, async (url) => {
        const backend = new OpenAIBackend({
          baseUrl: url,
          model: "m",
          endpointKind: "vllm",
          apiKey: "sk-test",
          nowNs: stepClock(),
          sockets: "deno", // exact times: the kernel's receive times are not on this clock
        });
        const events = await collect(backend, idsRequest("req-7", 3));
        assert.equal(seen.length, 1);
        assert.equal(seen[0].path, "/v1/completions");
        assert.deepEqual(seen[0].body, {
          model: "m",
          prompt: [101, 102, 103, 104],
          max_tokens: 3,
          stream: true,
          stream_options: { include_usage: true, continuous_usage_stats: true },
          ignore_eos: true,
          min_tokens: 3,
        });
        assert.equal(seen[0].headers.get("authorization"), "Bearer sk-test");
        assert.equal(seen[0].headers.get("x-request-id"), "req-7");
        assert.equal(seen[0].headers.get("content-type"), "application/json");
        // Clock: 1000 at sent, then one reading per network read (each part is one read).
        assert.deepEqual(events, [
          { kind: "sent", tNs: 1000n },
          { kind: "first_byte", tNs: 2000n },
          {
            kind: "tokens",
            tNs: 2000n,
            count: 1,
            channel: "content",
            text: "Hello",
          },
          {
            kind: "tokens",
            tNs: 2000n,
            count: 1,
            channel: "content",
            text: " world",
          },
          {
            kind: "tokens",
            tNs: 3000n,
            count: 1,
            channel: "content",
            text: "!",
          },
          { kind: "usage", tNs: 4000n, promptTokens: 4, completionTokens: 3 },
          { kind: "done", tNs: 4000n, finishReason: "length" },
        ]);
      });
    },
  );

  await t.step(
    "openai sends neither ignore_eos nor min_tokens, and no auth header without a key",
    async () => {
      const { app, seen } = recordingApp(() =>
        streamResponse(COMPLETIONS_PARTS)
      );
      await withServer(app, async (url) => {
        const backend = new OpenAIBackend({
          baseUrl: url,
          model: "m",
          endpointKind: "openai",
        });
        assert.equal(
          terminal(await collect(backend, idsRequest())).kind,
          "done",
        );
        assert.equal("ignore_eos" in seen[0].body, false);
        assert.equal("min_tokens" in seen[0].body, false);
        assert.equal(seen[0].body.max_tokens, 3);
        assert.equal(seen[0].headers.get("authorization"), null);
      });
    },
  );

  await t.step("sglang sends ignore_eos and min_tokens", async () => {
    const { app, seen } = recordingApp(() => streamResponse(COMPLETIONS_PARTS));
    await withServer(app, async (url) => {
      const backend = new OpenAIBackend({
        baseUrl: url,
        model: "m",
        endpointKind: "sglang",
      });
      await collect(backend, idsRequest("s", 5));
      assert.equal(seen[0].body.ignore_eos, true);
      assert.equal(seen[0].body.min_tokens, 5);
      assert.equal(seen[0].body.max_tokens, 5);
    });
  });

  await t.step(
    "text prompt as a string; base URL with /v1/; extraBody and headers merged last",
    async () => {
      const { app, seen } = recordingApp(() =>
        streamResponse(COMPLETIONS_PARTS)
      );
      await withServer(app, async (url) => {
        const backend = new OpenAIBackend({
          baseUrl: `${url}/v1/`,
          model: "m",
          endpointKind: "vllm",
          extraBody: { temperature: 0, min_tokens: 1 },
          headers: { "x-team": "perf" },
        });
        await collect(backend, textRequest("Once upon a time"));
        assert.equal(seen[0].body.prompt, "Once upon a time");
        assert.equal(seen[0].body.temperature, 0);
        assert.equal(seen[0].body.min_tokens, 1);
        assert.equal(seen[0].headers.get("x-team"), "perf");
      });
    },
  );

  await t.step("a consumer that stops early releases the request", async () => {
    const { app } = recordingApp(() =>
      streamResponse(COMPLETIONS_PARTS, { gapMs: 20, holdOpen: true })
    );
    await withServer(app, async (url) => {
      const backend = new OpenAIBackend({ baseUrl: url, model: "m" });
      for await (
        const ev of backend.generate(
          generateRequest(idsRequest()),
          new AbortController().signal,
        )
      ) {
        if (ev.kind === "tokens") break;
      }
    });
  });
});

Deno.test("OpenAIBackend.generate() streams a chat request", async (t) => {
  await t.step(
    "recorded vLLM stream: role chunk skipped, reasoning, content, usage, finish",
    async () => {
      const { app, seen } = recordingApp(() =>
        streamResponse([VLLM_CHAT_STREAM])
      );
      await withServer(app, async (url) => {
        const backend = new OpenAIBackend({
          baseUrl: url,
          api: "chat",
          model: "m",
          nowNs: stepClock(),
          sockets: "deno", // exact times: the kernel's receive times are not on this clock
        });
        const events = await collect(
          backend,
          textRequest("Say hello", "c1", 4),
        );
        assert.equal(seen[0].path, "/v1/chat/completions");
        assert.deepEqual(seen[0].body.messages, [{
          role: "user",
          content: "Say hello",
        }]);
        assert.equal("prompt" in seen[0].body, false);
        assert.deepEqual(events, [
          { kind: "sent", tNs: 1000n },
          { kind: "first_byte", tNs: 2000n },
          {
            kind: "tokens",
            tNs: 2000n,
            count: 1,
            channel: "reasoning",
            text: "Let me think",
          },
          {
            kind: "tokens",
            tNs: 2000n,
            count: 1,
            channel: "content",
            text: "héllo",
          },
          {
            kind: "tokens",
            tNs: 2000n,
            count: 1,
            channel: "content",
            text: " 世界",
          },
          {
            kind: "tokens",
            tNs: 2000n,
            count: 1,
            channel: "content",
            text: " 🚀",
          },
          {
            kind: "usage",
            tNs: 2000n,
            promptTokens: 12,
            completionTokens: 5,
            cachedTokens: 8,
          },
          { kind: "done", tNs: 2000n, finishReason: "stop" },
        ]);
      });
    },
  );

  await t.step("chat messages are sent as given", async () => {
    const { app, seen } = recordingApp(() =>
      streamResponse([VLLM_CHAT_STREAM])
    );
    await withServer(app, async (url) => {
      const backend = new OpenAIBackend({
        baseUrl: url,
        api: "chat",
        model: "m",
      });
      const messages = [
        { role: "system" as const, content: "Be brief." },
        { role: "user" as const, content: "Hi" },
      ];
      await collect(backend, {
        id: "c2",
        arrivalMs: 0,
        inputTokens: 6,
        outputTokens: 2,
        prompt: { kind: "chat", messages },
      });
      assert.deepEqual(seen[0].body.messages, messages);
    });
  });

  await t.step("tool call deltas are tool tokens", async () => {
    const parts = [
      sse(
        chatChunk({ role: "assistant", content: null }),
        chatChunk({
          tool_calls: [{
            index: 0,
            id: "call_1",
            type: "function",
            function: { name: "f", arguments: "" },
          }],
        }),
        chatChunk({
          tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }],
        }, "tool_calls"),
        USAGE_CHUNK,
        "[DONE]",
      ),
    ];
    const { app } = recordingApp(() => streamResponse(parts));
    await withServer(app, async (url) => {
      const backend = new OpenAIBackend({
        baseUrl: url,
        api: "chat",
        model: "m",
      });
      const events = await collect(backend, textRequest("call f"));
      const tools = events.filter((e) => e.kind === "tokens").map((e) =>
        e.kind === "tokens" && [e.channel, e.text]
      );
      assert.deepEqual(tools, [["tool", "f"], ["tool", '{"a":1}']]);
      assert.deepEqual(terminal(events).kind === "done" && terminal(events), {
        kind: "done",
        tNs: terminal(events).tNs,
        finishReason: "tool_calls",
      });
    });
  });
});

Deno.test("OpenAIBackend.init() resolves the model from GET /v1/models when none is given", async (t) => {
  await t.step("first listed id is used in the request body", async () => {
    const { app, seen } = recordingApp(() => streamResponse(COMPLETIONS_PARTS));
    await withServer(app, async (url) => {
      const backend = new OpenAIBackend({ baseUrl: url });
      assert.equal(await backend.init(), "served-model");
      await collect(backend, idsRequest());
      assert.equal(seen[0].body.model, "served-model");
    });
  });

  await t.step(
    "generate() resolves the model itself when init() was not called",
    async () => {
      const { app, seen } = recordingApp(() =>
        streamResponse(COMPLETIONS_PARTS)
      );
      await withServer(app, async (url) => {
        const backend = new OpenAIBackend({ baseUrl: url });
        assert.equal(
          terminal(await collect(backend, idsRequest())).kind,
          "done",
        );
        assert.equal(seen[0].body.model, "served-model");
      });
    },
  );
});

Deno.test("OpenAIBackend.describe() reports model, URL, API, server family and version", async (t) => {
  await t.step("vllm server with /version", async () => {
    const { app } = recordingApp(() => streamResponse(COMPLETIONS_PARTS));
    app.get("/version", (c) => c.json({ version: "0.11.0" }));
    await withServer(app, async (url) => {
      const backend = new OpenAIBackend({
        baseUrl: url,
        endpointKind: "vllm",
        api: "chat",
        timeoutMs: 5000,
      });
      assert.deepEqual(await backend.describe(), {
        backend: "openai",
        model: "served-model",
        baseUrl: `${url}/v1`,
        api: "chat",
        endpointKind: "vllm",
        timeoutMs: 5000,
        transport: "h1",
        receiveTimes: nativeTcpUnavailable() === undefined ? "kernel" : "read",
        ...(nativeTcpUnavailable() === undefined
          ? {}
          : { nativeSocketsRefused: nativeTcpUnavailable() }),
        models: ["served-model"],
        serverVersion: "0.11.0",
      });
    });
  });
});

Deno.test("OpenAIBackend transports: h1 (default for http://) and fetch give the same events", async () => {
  const { app, seen } = recordingApp(() =>
    streamResponse(COMPLETIONS_PARTS, { gapMs: 5 })
  );
  await withServer(app, async (url) => {
    const events: Record<string, unknown[]> = {};
    for (const transport of ["h1", "fetch"] as const) {
      const backend = new OpenAIBackend({
        baseUrl: url,
        model: "m",
        transport,
        nowNs: stepClock(),
        sockets: "deno", // exact times: the kernel's receive times are not on this clock
      });
      events[transport] = await collect(backend, idsRequest("req-t", 3));
      await backend.close();
    }
    assert.deepEqual(events.h1, events.fetch);
    assert.equal(seen.length, 2);
    assert.deepEqual(seen[0].body, seen[1].body);
    assert.equal(seen[0].headers.get("x-request-id"), "req-t");
    if (nativeTcpUnavailable() !== undefined) return;
    // Native sockets: the same events; each read's time is the kernel's receive time, on the
    // run clock: after the send, in order, and no later than when the read returned.
    const clock = () => BigInt(Math.round(performance.now() * 1e6));
    const backend = new OpenAIBackend({
      baseUrl: url,
      model: "m",
      transport: "h1",
      sockets: "native",
      nowNs: clock,
    });
    assert.equal(backend.receiveTimes, "kernel");
    const native = await collect(backend, idsRequest("req-t", 3));
    const after = clock();
    await backend.close();
    const untimed = (evs: unknown[]) =>
      evs.map((e) => ({ ...(e as object), tNs: 0n }));
    assert.deepEqual(untimed(native), untimed(events.h1));
    const times = native.map((e) => (e as { tNs: bigint }).tNs);
    for (let i = 1; i < times.length; i++) {
      assert.ok(times[i] >= times[i - 1], `event ${i} before event ${i - 1}`);
    }
    assert.ok(times[times.length - 1] <= after);
    // The reads are 5 ms apart on the server: so are their times (not all one read's time).
    const tokenTimes = native.filter((e) =>
      (e as { kind: string }).kind === "tokens"
    )
      .map((e) => (e as { tNs: bigint }).tNs);
    assert.ok(tokenTimes[tokenTimes.length - 1] - tokenTimes[0] >= 4_000_000n);
  });
  assert.throws(
    () =>
      new OpenAIBackend({
        baseUrl: "https://example.com",
        transport: "h1",
      }),
    /"h1" speaks http:\/\/ only/,
  );
});
