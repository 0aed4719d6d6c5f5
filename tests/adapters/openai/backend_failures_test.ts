import assert from "node:assert/strict";
import { generateRequest } from "../../../harness/generate_request.ts";
import { OpenAIBackend } from "../../../adapters/openai/backend.ts";
import { closedPort, sse, streamResponse, withServer } from "./_fixtures.ts";
import {
  collect,
  idsRequest,
  recordingApp,
  stepClock,
  terminal,
} from "./_backend_helpers.ts";

const cmpl = (text: string, finish: string | null = null) =>
  JSON.stringify({ choices: [{ index: 0, text, finish_reason: finish }] });

Deno.test("OpenAIBackend.generate() ends a failed request with exactly one error event", async (t) => {
  await t.step("HTTP 500 keeps the status and the body", async () => {
    const { app } = recordingApp(() =>
      new Response("upstream exploded: CUDA OOM", { status: 500 })
    );
    await withServer(app, async (url) => {
      const backend = new OpenAIBackend({
        baseUrl: url,
        model: "m",
        nowNs: stepClock(),
        sockets: "deno", // exact times: the kernel's receive times are not on this clock
      });
      assert.deepEqual(await collect(backend, idsRequest()), [
        { kind: "sent", tNs: 1000n },
        {
          kind: "error",
          tNs: 2000n,
          status: 500,
          errorKind: "http",
          message: "upstream exploded: CUDA OOM",
        },
      ]);
    });
  });

  await t.step(
    "HTTP 400 with a body over 2 KiB keeps its first 2 KiB",
    async () => {
      const { app } = recordingApp(() =>
        new Response("x".repeat(100_000), { status: 400 })
      );
      await withServer(app, async (url) => {
        const backend = new OpenAIBackend({ baseUrl: url, model: "m" });
        const end = terminal(await collect(backend, idsRequest()));
        assert.ok(
          end.kind === "error" && end.status === 400 &&
            end.errorKind === "http",
        );
        assert.match(end.message, /^x{2048}\.\.\. \(truncated, \d+\+ bytes\)$/);
      });
    },
  );

  await t.step("HTTP 503 with an empty body says so", async () => {
    const { app } = recordingApp(() =>
      new Response(null, { status: 503, statusText: "Service Unavailable" })
    );
    await withServer(app, async (url) => {
      const end = terminal(
        await collect(
          new OpenAIBackend({ baseUrl: url, model: "m" }),
          idsRequest(),
        ),
      );
      assert.deepEqual(end.kind === "error" && [end.status, end.message], [
        503,
        "HTTP 503 Service Unavailable with an empty body",
      ]);
    });
  });

  await t.step(
    "an error object mid-stream ends with kind stream after the tokens before it",
    async () => {
      const err =
        '{"error":{"object":"error","message":"KV cache full","type":"InternalServerError","code":500}}';
      const { app } = recordingApp(() =>
        streamResponse([sse(cmpl("a")), sse(err, "[DONE]")], { gapMs: 20 })
      );
      await withServer(app, async (url) => {
        const backend = new OpenAIBackend({
          baseUrl: url,
          model: "m",
          nowNs: stepClock(),
          sockets: "deno", // exact times: the kernel's receive times are not on this clock
        });
        assert.deepEqual(await collect(backend, idsRequest()), [
          { kind: "sent", tNs: 1000n },
          { kind: "first_byte", tNs: 2000n },
          {
            kind: "tokens",
            tNs: 2000n,
            count: 1,
            channel: "content",
            text: "a",
          },
          {
            kind: "error",
            tNs: 3000n,
            errorKind: "stream",
            message:
              "Request r1: Stream event 1: server error: KV cache full (type InternalServerError, code 500)",
          },
        ]);
      });
    },
  );

  await t.step("malformed JSON in the stream is a protocol error", async () => {
    const { app } = recordingApp(() =>
      streamResponse([sse(cmpl("a"), '{"choices":[')])
    );
    await withServer(app, async (url) => {
      const end = terminal(
        await collect(
          new OpenAIBackend({ baseUrl: url, model: "m" }),
          idsRequest(),
        ),
      );
      assert.deepEqual(end.kind === "error" && [end.errorKind, end.message], [
        "protocol",
        'Request r1: Stream event 1: expected JSON or [DONE] in "data", got malformed JSON "{\\"choices\\":[" (Unexpected end of JSON input)',
      ]);
    });
  });

  await t.step(
    "connection refused is a network error naming the URL",
    async () => {
      const url = `http://127.0.0.1:${closedPort()}`;
      const backend = new OpenAIBackend({
        baseUrl: url,
        model: "m",
        nowNs: stepClock(),
        sockets: "deno", // exact times: the kernel's receive times are not on this clock
      });
      assert.deepEqual(await collect(backend, idsRequest()), [
        { kind: "sent", tNs: 1000n },
        {
          kind: "error",
          tNs: 2000n,
          errorKind: "network",
          message:
            `Request r1: POST ${url}/v1/completions failed before the response headers: connection refused`,
        },
      ]);
    },
  );

  await t.step("timeout before the response headers", async () => {
    const gate = Promise.withResolvers<void>();
    const { app } = recordingApp(async () => {
      await gate.promise; // answers only after the client gave up
      return new Response("too late");
    });
    await withServer(app, async (url) => {
      const backend = new OpenAIBackend({
        baseUrl: url,
        model: "m",
        timeoutMs: 150,
      });
      const events = await collect(backend, idsRequest());
      gate.resolve();
      assert.deepEqual(events.map((e) => e.kind), ["sent", "error"]);
      assert.deepEqual(events[1], {
        kind: "error",
        tNs: events[1].tNs,
        errorKind: "timeout",
        timeoutKind: "total",
        message:
          "Request r1: total timeout: no complete response within 150 ms (timed out before the response headers)",
      });
      assert.ok(
        events[1].tNs - events[0].tNs >= 150_000_000n,
        "timed out before 150 ms",
      );
    });
  });

  await t.step("timeout mid-stream", async () => {
    const { app } = recordingApp(() =>
      streamResponse([sse(cmpl("a"))], { holdOpen: true })
    );
    await withServer(app, async (url) => {
      const backend = new OpenAIBackend({
        baseUrl: url,
        model: "m",
        // The chunk is written at once; the limit only has to outlast a busy machine's delay
        // in delivering it (this checks which phase is named, not how fast timers fire).
        timeoutMs: 1_500,
      });
      const events = await collect(backend, idsRequest());
      assert.deepEqual(events.map((e) => e.kind), [
        "sent",
        "first_byte",
        "tokens",
        "error",
      ]);
      const end = terminal(events);
      assert.deepEqual(end.kind === "error" && [end.errorKind, end.message], [
        "timeout",
        "Request r1: total timeout: no complete response within 1500 ms (timed out while streaming, after 1 token chunks)",
      ]);
    });
  });

  await t.step("connect timeout: no response headers in time", async () => {
    const gate = Promise.withResolvers<void>();
    const { app } = recordingApp(async () => {
      await gate.promise;
      return new Response("too late");
    });
    await withServer(app, async (url) => {
      const backend = new OpenAIBackend({
        baseUrl: url,
        model: "m",
        connectTimeoutMs: 100,
      });
      const events = await collect(backend, idsRequest());
      gate.resolve();
      const end = terminal(events);
      assert.deepEqual(
        end.kind === "error" && [end.errorKind, end.timeoutKind, end.message],
        [
          "timeout",
          "connect",
          "Request r1: connect timeout: no response headers within 100 ms (timed out before the response headers)",
        ],
      );
    });
  });

  await t.step(
    "first-token timeout: headers and a role chunk, but no token",
    async () => {
      const { app } = recordingApp(() =>
        streamResponse([
          sse(
            JSON.stringify({
              choices: [{ index: 0, delta: { role: "assistant" } }],
            }),
          ),
        ], {
          holdOpen: true,
        })
      );
      await withServer(app, async (url) => {
        const backend = new OpenAIBackend({
          baseUrl: url,
          model: "m",
          // Headers and the role chunk are written at once (margin as above).
          firstTokenTimeoutMs: 1_500,
        });
        const events = await collect(backend, idsRequest());
        const end = terminal(events);
        assert.deepEqual(
          end.kind === "error" && [end.errorKind, end.timeoutKind, end.message],
          [
            "timeout",
            "first_token",
            "Request r1: first_token timeout: no token within 1500 ms (timed out while streaming, after 0 token chunks)",
          ],
        );
      });
    },
  );

  await t.step("idle timeout: a token, then silence", async () => {
    const { app } = recordingApp(() =>
      streamResponse([sse(cmpl("a"))], { holdOpen: true })
    );
    await withServer(app, async (url) => {
      const backend = new OpenAIBackend({
        baseUrl: url,
        model: "m",
        firstTokenTimeoutMs: 5_000,
        idleTimeoutMs: 120,
      });
      const events = await collect(backend, idsRequest());
      assert.deepEqual(events.map((e) => e.kind), [
        "sent",
        "first_byte",
        "tokens",
        "error",
      ]);
      const end = terminal(events);
      assert.deepEqual(
        end.kind === "error" && [end.errorKind, end.timeoutKind, end.message],
        [
          "timeout",
          "idle",
          "Request r1: idle timeout: no chunk for 120 ms (timed out while streaming, after 1 token chunks)",
        ],
      );
    });
  });

  await t.step("a limit that is not reached does not fire", async () => {
    const { app } = recordingApp(() =>
      streamResponse([sse(cmpl("a")), "data: [DONE]\n\n"])
    );
    await withServer(app, async (url) => {
      const backend = new OpenAIBackend({
        baseUrl: url,
        model: "m",
        connectTimeoutMs: 5_000,
        firstTokenTimeoutMs: 5_000,
        idleTimeoutMs: 5_000,
      });
      const events = await collect(backend, idsRequest());
      assert.equal(terminal(events).kind, "done");
    });
  });

  await t.step("aborting the signal mid-stream is cancelled", async () => {
    const { app } = recordingApp(() =>
      streamResponse([sse(cmpl("a"))], { holdOpen: true })
    );
    await withServer(app, async (url) => {
      const backend = new OpenAIBackend({ baseUrl: url, model: "m" });
      const ctl = new AbortController();
      const events = [];
      for await (
        const ev of backend.generate(generateRequest(idsRequest()), ctl.signal)
      ) {
        events.push(ev);
        if (ev.kind === "tokens") ctl.abort();
      }
      assert.deepEqual(events.map((e) => e.kind), [
        "sent",
        "first_byte",
        "tokens",
        "error",
      ]);
      const end = terminal(events);
      assert.deepEqual(end.kind === "error" && [end.errorKind, end.message], [
        "cancelled",
        "Request r1: cancelled while streaming, after 1 token chunks",
      ]);
    });
  });

  await t.step(
    "an already aborted signal is cancelled before anything is sent",
    async () => {
      const backend = new OpenAIBackend({
        baseUrl: "http://127.0.0.1:1",
        model: "m",
        nowNs: stepClock(),
        sockets: "deno", // exact times: the kernel's receive times are not on this clock
      });
      assert.deepEqual(
        await collect(backend, idsRequest(), AbortSignal.abort()),
        [
          {
            kind: "error",
            tNs: 1000n,
            errorKind: "cancelled",
            message: "Request r1: cancelled before it was sent",
          },
        ],
      );
    },
  );

  await t.step(
    "close() cancels requests in flight and later ones",
    async () => {
      const { app } = recordingApp(() =>
        streamResponse([sse(cmpl("a"))], { holdOpen: true })
      );
      await withServer(app, async (url) => {
        const backend = new OpenAIBackend({ baseUrl: url, model: "m" });
        const events = [];
        for await (
          const ev of backend.generate(
            generateRequest(idsRequest()),
            new AbortController().signal,
          )
        ) {
          events.push(ev);
          if (ev.kind === "tokens") await backend.close();
        }
        assert.deepEqual(events.map((e) => e.kind), [
          "sent",
          "first_byte",
          "tokens",
          "error",
        ]);
        const end = terminal(events);
        assert.equal(end.kind === "error" && end.errorKind, "cancelled");
        const later = await collect(backend, idsRequest("r2"));
        assert.deepEqual(later.map((e) => e.kind === "error" && e.message), [
          "Request r2: cancelled before it was sent",
        ]);
      });
    },
  );
});
