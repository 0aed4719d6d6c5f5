import assert from "node:assert/strict";
import { Hono } from "hono";
import { OpenAIBackend } from "../../../adapters/openai/backend.ts";
import type {
  EndpointKind,
  OpenAIApi,
} from "../../../adapters/openai/request_body.ts";
import {
  chatChunk,
  closedPort,
  sse,
  streamResponse,
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
  JSON.stringify({ choices: [{ index: 0, text, finish_reason: finish }] });

Deno.test("OpenAIBackend.generate() ends a stream that closes early by what it carried", async (t) => {
  await t.step(
    "a stream that closes without [DONE] after tokens is done with the last finish_reason",
    async () => {
      const { app } = recordingApp(() =>
        streamResponse([sse(cmpl("a"), cmpl("b", "stop"))])
      );
      await withServer(app, async (url) => {
        const end = terminal(
          await collect(
            new OpenAIBackend({ baseUrl: url, model: "m" }),
            idsRequest(),
          ),
        );
        assert.deepEqual(end.kind === "done" && end.finishReason, "stop");
      });
    },
  );

  await t.step(
    "... or with eos_no_done when no finish_reason came",
    async () => {
      const { app } = recordingApp(() =>
        streamResponse([sse(cmpl("a"), cmpl("b"))])
      );
      await withServer(app, async (url) => {
        const end = terminal(
          await collect(
            new OpenAIBackend({ baseUrl: url, model: "m" }),
            idsRequest(),
          ),
        );
        assert.deepEqual(
          end.kind === "done" && end.finishReason,
          "eos_no_done",
        );
      });
    },
  );

  await t.step(
    "a stream that closes with no tokens and no [DONE] is a protocol error",
    async () => {
      const role = chatChunk({ role: "assistant", content: "" });
      const { app } = recordingApp(() => streamResponse([sse(role)]));
      await withServer(app, async (url) => {
        const backend = new OpenAIBackend({
          baseUrl: url,
          api: "chat",
          model: "m",
        });
        const end = terminal(await collect(backend, textRequest("hi")));
        const body = `data: ${role}\n\n`;
        assert.deepEqual(end.kind === "error" && [end.errorKind, end.message], [
          "protocol",
          `Request r2: POST ${url}/v1/chat/completions stream closed after ${body.length} bytes without [DONE] and without tokens (content-type "text/event-stream", body starts ${
            JSON.stringify(body.slice(0, 200))
          })`,
        ]);
      });
    },
  );
});

Deno.test("OpenAIBackend.generate() refuses a request it cannot send, with a protocol or network error", async (t) => {
  await t.step(
    "no prompt is a protocol error and nothing is sent",
    async () => {
      const backend = new OpenAIBackend({
        baseUrl: "http://127.0.0.1:1",
        model: "m",
        nowNs: stepClock(),
      });
      assert.deepEqual(
        await collect(backend, {
          id: "r9",
          arrivalMs: 0,
          inputTokens: 5,
          outputTokens: 5,
        }),
        [{
          kind: "error",
          tNs: 1000n,
          errorKind: "protocol",
          message:
            "Request r9: expected a prompt (token ids, text or chat messages), got none; synthesize prompts for this workload before replaying it against an OpenAI-compatible server",
        }],
      );
    },
  );

  await t.step("token ids on the chat API are a protocol error", async () => {
    const backend = new OpenAIBackend({
      baseUrl: "http://127.0.0.1:1",
      api: "chat",
      model: "m",
    });
    const end = terminal(await collect(backend, idsRequest()));
    assert.deepEqual(end.kind === "error" && [end.errorKind, end.message], [
      "protocol",
      'Request r1: the chat API needs text messages, got a token_ids prompt (4 ids); use api "completions" or a text prompt',
    ]);
  });

  await t.step(
    "chat messages on the completions API are a protocol error",
    async () => {
      const backend = new OpenAIBackend({
        baseUrl: "http://127.0.0.1:1",
        model: "m",
      });
      const req = {
        id: "r3",
        arrivalMs: 0,
        inputTokens: 1,
        outputTokens: 1,
        prompt: {
          kind: "chat" as const,
          messages: [{ role: "user" as const, content: "hi" }],
        },
      };
      const end = terminal(await collect(backend, req));
      assert.deepEqual(
        end.kind === "error" && end.message,
        'Request r3: the completions API needs a text or token_ids prompt, got chat messages (1); use api "chat"',
      );
    },
  );

  await t.step(
    "a model that cannot be looked up is a network error",
    async () => {
      const url = `http://127.0.0.1:${closedPort()}`;
      const end = terminal(
        await collect(new OpenAIBackend({ baseUrl: url }), idsRequest()),
      );
      assert.deepEqual(end.kind === "error" && [end.errorKind, end.message], [
        "network",
        `Request r1: cannot resolve the model: Cannot reach ${url}/v1/models: connection refused. Start the server or pass --url`,
      ]);
    },
  );

  await t.step("a server that lists no model is a protocol error", async () => {
    const app = new Hono().get(
      "/v1/models",
      (c) => c.json({ object: "list", data: [] }),
    );
    await withServer(app, async (url) => {
      const end = terminal(
        await collect(new OpenAIBackend({ baseUrl: url }), idsRequest()),
      );
      assert.deepEqual(end.kind === "error" && [end.errorKind, end.message], [
        "protocol",
        `Request r1: cannot resolve the model: No model given and GET ${url}/v1/models listed none: pass the model name (option "model")`,
      ]);
    });
  });
});

Deno.test("OpenAIBackend() rejects invalid options", async (t) => {
  const cases: [
    string,
    ConstructorParameters<typeof OpenAIBackend>[0],
    string,
  ][] = [
    [
      "bad protocol",
      { baseUrl: "ftp://h" },
      'Base URL "ftp://h": expected protocol http: or https:, got ftp:',
    ],
    [
      "query string",
      { baseUrl: "http://h/?a=1" },
      'Base URL "http://h/?a=1": expected no query or fragment, got "?a=1"',
    ],
    [
      "not a URL",
      { baseUrl: "nope" },
      'Base URL "nope": expected an absolute http:// or https:// URL such as http://127.0.0.1:8000',
    ],
    [
      "bad api",
      { baseUrl: "http://h", api: "responses" as OpenAIApi },
      'OpenAIBackend option "api": expected "completions" or "chat", got "responses"',
    ],
    [
      "bad endpointKind",
      { baseUrl: "http://h", endpointKind: "tgi" as EndpointKind },
      'OpenAIBackend option "endpointKind": expected one of vllm, sglang, llamacpp, transformers, openai, strict, got "tgi"',
    ],
    [
      "bad timeout",
      { baseUrl: "http://h", timeoutMs: 0 },
      'OpenAIBackend option "timeoutMs": expected a finite number of milliseconds > 0, got 0',
    ],
    [
      "empty model",
      { baseUrl: "http://h", model: "" },
      'OpenAIBackend option "model": expected a non-empty string, got ""',
    ],
  ];
  for (const [name, opts, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => new OpenAIBackend(opts), { message });
    });
  }
});
