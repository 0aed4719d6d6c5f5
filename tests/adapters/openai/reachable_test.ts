import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  checkReachable,
  servedModels,
  serverVersion,
} from "../../../adapters/openai/reachable.ts";
import { closedPort, withServer } from "./_fixtures.ts";

Deno.test("checkReachable() returns the model ids or says what failed and what to do", async (t) => {
  await t.step(
    "a model list gives its ids; the API key is sent as Bearer",
    async () => {
      let auth: string | undefined;
      const app = new Hono().get("/v1/models", (c) => {
        auth = c.req.header("authorization");
        return c.json({
          object: "list",
          data: [{ id: "a" }, { id: "b" }, { x: 1 }],
        });
      });
      await withServer(app, async (url) => {
        assert.deepEqual(
          await checkReachable(`${url}/v1`, { apiKey: "sk-1" }),
          ["a", "b"],
        );
        assert.equal(auth, "Bearer sk-1");
      });
    },
  );

  await t.step("404 is reachable with no models", async () => {
    await withServer(new Hono(), async (url) => {
      assert.deepEqual(await checkReachable(url), []);
    });
  });

  await t.step(
    "a single model object gives its id; a body that is not JSON gives none",
    async () => {
      const one = new Hono().get(
        "/v1/models",
        (c) => c.json({ id: "solo", object: "model" }),
      );
      await withServer(
        one,
        async (url) => assert.deepEqual(await checkReachable(url), ["solo"]),
      );
      const html = new Hono().get("/v1/models", (c) => c.html("<html></html>"));
      await withServer(
        html,
        async (url) => assert.deepEqual(await checkReachable(url), []),
      );
    },
  );

  await t.step("connection refused", async () => {
    const url = `http://127.0.0.1:${closedPort()}`;
    await assert.rejects(checkReachable(url), {
      message:
        `Cannot reach ${url}/v1/models: connection refused. Start the server or pass --url`,
    });
  });

  await t.step("no answer in time", async () => {
    const gate = Promise.withResolvers<void>();
    const app = new Hono().get("/v1/models", async (c) => {
      await gate.promise;
      return c.json({ data: [] });
    });
    await withServer(app, async (url) => {
      await assert.rejects(checkReachable(url, { timeoutMs: 100 }), {
        message:
          `Cannot reach ${url}/v1/models: no response within 100 ms. Check that the server is up and not overloaded, or pass --url`,
      });
      gate.resolve();
    });
  });

  await t.step("401 names the API key", async () => {
    const app = new Hono().get(
      "/v1/models",
      (c) => c.json({ error: "bad key" }, 401),
    );
    await withServer(app, async (url) => {
      await assert.rejects(checkReachable(url), {
        message:
          `Server at ${url}/v1/models refused the request: HTTP 401 "{\\"error\\":\\"bad key\\"}". Check the API key (the CLI reads OPENAI_API_KEY unless told another variable)`,
      });
    });
  });

  await t.step(
    "another error status names the status and the body",
    async () => {
      const app = new Hono().get(
        "/v1/models",
        (c) => c.text("loading\n  weights", 503),
      );
      await withServer(app, async (url) => {
        await assert.rejects(checkReachable(url), {
          message:
            `Server at ${url}/v1/models answered HTTP 503 "loading weights". Check the server log, or pass --url if this is not an OpenAI-compatible server`,
        });
      });
    },
  );

  await t.step("an invalid timeout is refused", async () => {
    await assert.rejects(
      checkReachable("http://127.0.0.1:1", { timeoutMs: -1 }),
      {
        message:
          'checkReachable() option "timeoutMs": expected a number > 0, got -1',
      },
    );
  });
});

Deno.test("serverVersion() reads GET /version or gives undefined", async (t) => {
  await t.step("a version string", async () => {
    const app = new Hono().get("/version", (c) => c.json({ version: "0.6.4" }));
    await withServer(
      app,
      async (url) => assert.equal(await serverVersion(`${url}/v1`), "0.6.4"),
    );
  });

  await t.step("no endpoint, or a server that is down", async () => {
    await withServer(
      new Hono(),
      async (url) => assert.equal(await serverVersion(url), undefined),
    );
    assert.equal(
      await serverVersion(`http://127.0.0.1:${closedPort()}`),
      undefined,
    );
  });
});

Deno.test("servedModels() reads the context and vocabulary a server states", async (t) => {
  const cases: [string, unknown, unknown][] = [
    [
      "tokentrace serve",
      { data: [{ id: "tiny", max_model_len: 513, vocab_size: 256 }] },
      [{ id: "tiny", maxModelLen: 513, vocabSize: 256 }],
    ],
    [
      "vLLM: max_model_len only",
      { data: [{ id: "m", max_model_len: 4096, root: "m" }] },
      [{ id: "m", maxModelLen: 4096 }],
    ],
    [
      "llama.cpp: meta.n_vocab (n_ctx_train is not the server's context)",
      { data: [{ id: "g.gguf", meta: { n_vocab: 512, n_ctx_train: 4096 } }] },
      [{ id: "g.gguf", vocabSize: 512 }],
    ],
    [
      "nonsense limits are ignored",
      { data: [{ id: "x", max_model_len: -1, vocab_size: "many" }] },
      [{ id: "x" }],
    ],
  ];
  for (const [name, body, want] of cases) {
    await t.step(name, async () => {
      const app = new Hono().get("/v1/models", (c) => c.json(body));
      await withServer(
        app,
        async (url) => assert.deepEqual(await servedModels(url), want),
      );
    });
  }
});
