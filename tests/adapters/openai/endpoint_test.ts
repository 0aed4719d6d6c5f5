import assert from "node:assert/strict";
import { apiRoot, baseHeaders } from "../../../adapters/openai/endpoint.ts";
import { apiKeyFromEnv } from "../../../adapters/openai/api_key.ts";

Deno.test("apiRoot() normalizes a base URL to its /v1 root", async (t) => {
  const cases: [string, string][] = [
    ["http://127.0.0.1:8000", "http://127.0.0.1:8000/v1"],
    ["http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1"],
    ["http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"],
    ["http://127.0.0.1:8000/v1//", "http://127.0.0.1:8000/v1"],
    ["https://gw.example/team/llm", "https://gw.example/team/llm/v1"],
  ];
  for (const [input, expected] of cases) {
    await t.step(
      `${input} -> ${expected}`,
      () => assert.equal(apiRoot(input), expected),
    );
  }
  await t.step("a relative URL is refused", () => {
    assert.throws(() => apiRoot("/v1"), {
      message:
        'Base URL "/v1": expected an absolute http:// or https:// URL such as http://127.0.0.1:8000',
    });
  });
});

Deno.test("baseHeaders() sets JSON, Bearer auth and extra headers", async (t) => {
  await t.step("no key: no authorization", () => {
    const h = baseHeaders(undefined, undefined);
    assert.deepEqual([...h.entries()], [["content-type", "application/json"]]);
  });
  await t.step("key and extra headers, extra last", () => {
    const h = baseHeaders("sk", { authorization: "Basic x", "x-a": "1" });
    assert.equal(h.get("authorization"), "Basic x");
    assert.equal(h.get("x-a"), "1");
  });
});

Deno.test("apiKeyFromEnv() reads the key, treating empty as unset", async (t) => {
  await t.step("set", () => {
    Deno.env.set("TOKENTRACE_TEST_KEY", "sk-abc");
    assert.equal(apiKeyFromEnv("TOKENTRACE_TEST_KEY"), "sk-abc");
  });
  await t.step("empty", () => {
    Deno.env.set("TOKENTRACE_TEST_KEY", "");
    assert.equal(apiKeyFromEnv("TOKENTRACE_TEST_KEY"), undefined);
    Deno.env.delete("TOKENTRACE_TEST_KEY");
  });
  await t.step(
    "unset",
    () => assert.equal(apiKeyFromEnv("TOKENTRACE_TEST_KEY_UNSET"), undefined),
  );
  await t.step("empty name", () => {
    assert.throws(() => apiKeyFromEnv(""), {
      message:
        'API key variable name: expected a non-empty name such as OPENAI_API_KEY, got ""',
    });
  });
});
