import assert from "node:assert/strict";
import { OpenAIBackend } from "../../../adapters/openai/backend.ts";
import type { OpenAIBackendOptions } from "../../../adapters/openai/options.ts";
import {
  type HostileMode,
  startHostileServer,
} from "../../../adapters/scripted/mod.ts";
import {
  collect,
  idsRequest,
  stepClock,
  terminal,
} from "./_backend_helpers.ts";

/** One request against a hostile server; its events, the terminal event and bytes served. */
async function against(
  mode: HostileMode,
  opts: Partial<OpenAIBackendOptions> & { tokens?: number } = {},
) {
  const { tokens, ...backendOpts } = opts;
  const server = startHostileServer(mode, { tokens });
  const backend = new OpenAIBackend({
    baseUrl: server.url,
    model: "hostile",
    nowNs: stepClock(),
    timeoutMs: 60_000,
    ...backendOpts,
  });
  try {
    const events = await collect(backend, idsRequest("q7", 50));
    const end = terminal(events);
    return {
      end: end as Extract<typeof end, { kind: "error" }>,
      tokens: events.filter((e) => e.kind === "tokens").length,
      served: server.bodyBytes,
    };
  } finally {
    await backend.close();
    await server.close();
  }
}

Deno.test("OpenAIBackend bounds what a server can make it hold", async (t) => {
  for (const transport of ["h1", "fetch"] as const) {
    await t.step(
      `${transport}: a 100 MiB line without a line end is a protocol error after the tokens`,
      async () => {
        const r = await against("huge-line", { transport });
        assert.equal(r.end.kind, "error");
        assert.equal(r.end.errorKind, "protocol");
        assert.match(
          r.end.message,
          /^Request q7: POST http:\/\/127\.0\.0\.1:\d+\/v1\/completions sent an SSE line longer than 1048576 characters \(\d+ without a line end\) after 10 token chunks: not an event stream an OpenAI server sends; reading stopped$/,
        );
        assert.equal(r.tokens, 10);
        // The client stopped reading at the bound: the server could not push the 100 MiB.
        assert.ok(r.served < 48 * 2 ** 20, `${r.served} bytes were served`);
      },
    );
  }

  await t.step("a body past maxBodyBytes is a protocol error", async () => {
    const r = await against("endless", { maxBodyBytes: 64 * 1024 });
    assert.equal(r.end.errorKind, "protocol");
    assert.match(
      r.end.message,
      /sent a body of \d+ bytes, more than the 65536 allowed \(maxBodyBytes\), after \d+ token chunks; reading stopped$/,
    );
    assert.ok(r.tokens > 1000, `${r.tokens} tokens kept`);
  });

  await t.step(
    "h1: every token before a bad chunk size line is kept; the error is protocol",
    async () => {
      const r = await against("bad-chunk-size", {
        tokens: 40,
        transport: "h1",
      });
      assert.equal(r.tokens, 40);
      assert.deepEqual(
        {
          kind: r.end.errorKind,
          message: r.end.message.replace(/:\d+\//, ":P/"),
        },
        {
          kind: "protocol",
          message:
            'Request q7: POST http://127.0.0.1:P/v1/completions sent bytes that are not valid HTTP/1.1 while streaming, after 40 token chunks: bad chunk size line "zz"',
        },
      );
    },
  );

  await t.step(
    "h1: a response head over 64 KiB is a protocol error",
    async () => {
      const r = await against("huge-head", { transport: "h1" });
      assert.equal(r.end.errorKind, "protocol");
      assert.match(
        r.end.message,
        /before the response headers: response head larger than 64 KiB$/,
      );
    },
  );

  await t.step("h1: a reply that is not HTTP is a protocol error", async () => {
    const r = await against("garbage-head", { transport: "h1" });
    assert.equal(r.end.errorKind, "protocol");
    assert.match(r.end.message, /not an HTTP\/1\.x response: "HELLO THERE"$/);
  });
});
