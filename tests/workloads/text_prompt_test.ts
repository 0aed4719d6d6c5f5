import assert from "node:assert/strict";
import {
  loadTokenizer,
  planPrompts,
  PromptLengthError,
  synthesizeTextPrompts,
  type TraceRequest,
  wordPool,
} from "../../workloads/mod.ts";
import { writeTokenizer } from "./_tokenizer_fixture.ts";

const req = (id: string, n: number, blocks?: number[]): TraceRequest => ({
  id,
  arrivalMs: 0,
  inputTokens: n,
  outputTokens: 1,
  ...(blocks ? { prefixBlocks: blocks } : {}),
});
const text = (
  r: TraceRequest,
) => (r.prompt?.kind === "text" ? r.prompt.text : "");

Deno.test("loadTokenizer() loads a local tokenizer.json and says what is wrong otherwise", async (t) => {
  const path = await writeTokenizer();
  await t.step("file", async () => {
    const tok = await loadTokenizer(path);
    assert.deepEqual(tok.encode(" the and").length, 2);
    assert.deepEqual(tok.encode(" the and", true).length, 3);
  });
  await t.step("folder", async () => {
    const tok = await loadTokenizer(path.replace(/\/tokenizer\.json$/, ""));
    assert.equal(tok.path, path);
  });
  await t.step("missing", async () => {
    await assert.rejects(
      loadTokenizer("/nonexistent/tokenizer.json"),
      new Error(
        'Tokenizer "/nonexistent/tokenizer.json": file not found: expected the served model\'s tokenizer.json (from its Hugging Face repository)',
      ),
    );
  });
});

Deno.test("synthesizeTextPrompts() gives text of exactly the planned token count", async (t) => {
  const tokenizer = await loadTokenizer(await writeTokenizer());
  await t.step("the pool holds single-token words", () => {
    const pool = wordPool(tokenizer);
    assert.ok(pool.length >= 50);
    for (const w of pool) assert.equal(tokenizer.encode(` ${w}`).length, 1);
  });
  for (const n of [1, 2, 3, 17, 64, 129, 700]) {
    await t.step(`${n} tokens with BOS counted`, () => {
      const [a, b] = synthesizeTextPrompts([req("a", n), req("b", n, [1, 2])], {
        tokenizer,
        blockSize: 32,
      });
      assert.equal(tokenizer.encode(text(a), true).length, n);
      assert.equal(tokenizer.encode(text(b), true).length, n);
    });
  }
  await t.step("without special tokens", () => {
    const [a] = synthesizeTextPrompts([req("a", 40)], {
      tokenizer,
      specialTokens: false,
    });
    assert.equal(tokenizer.encode(text(a)).length, 40);
  });
  await t.step("equal block ids share a prefix, different ones do not", () => {
    const [a, b, c] = synthesizeTextPrompts(
      [req("a", 65, [0, 1]), req("b", 65, [0, 2]), req("c", 65, [3, 1])],
      { tokenizer, blockSize: 32, specialTokens: false },
    );
    const ids = (r: TraceRequest) => tokenizer.encode(text(r));
    assert.deepEqual(ids(a).slice(0, 32), ids(b).slice(0, 32));
    assert.notDeepEqual(ids(a).slice(32, 64), ids(b).slice(32, 64));
    assert.deepEqual(ids(a).slice(32, 64), ids(c).slice(32, 64));
    assert.notDeepEqual(ids(a).slice(0, 2), ids(c).slice(0, 2));
  });
  await t.step("a request with its own prompt keeps it", () => {
    const own: TraceRequest = {
      ...req("x", 3),
      prompt: { kind: "text", text: "hi" },
    };
    assert.equal(synthesizeTextPrompts([own], { tokenizer })[0], own);
  });
  await t.step("fewer tokens than the BOS", () => {
    assert.throws(
      () => synthesizeTextPrompts([req("z", 0)], { tokenizer }),
      new Error(
        "Request z: planned 0 input tokens, but the tokenizer adds 1 special token(s): expected inputTokens >= 1",
      ),
    );
  });
});

Deno.test("planPrompts() picks exact, verified or approximate prompts per API", async (t) => {
  const tokenizer = await loadTokenizer(await writeTokenizer());
  const reqs = [req("0", 20, [5]), req("1", 8)];
  await t.step("completions + token ids: exact", () => {
    const p = planPrompts(reqs, { api: "completions", kind: "token_ids" });
    assert.deepEqual([p.kind, p.lengths, p.requests[0].prompt?.kind], [
      "token_ids",
      "exact",
      "token_ids",
    ]);
  });
  await t.step(
    "chat + tokenizer without a chat template: refused, or approximate",
    () => {
      assert.throws(
        () => planPrompts(reqs, { api: "chat", kind: "token_ids", tokenizer }),
        (e: unknown) =>
          e instanceof PromptLengthError &&
          /has no chat template/.test(e.message),
      );
      const p = planPrompts(reqs, {
        api: "chat",
        kind: "text",
        tokenizer,
        allowApproximate: true,
      });
      assert.deepEqual([p.lengths, p.approximateRequests], ["approximate", 2]);
    },
  );
  await t.step("chat without tokenizer: refused", () => {
    assert.throws(
      () => planPrompts(reqs, { api: "chat", kind: "text" }),
      (e: unknown) =>
        e instanceof PromptLengthError &&
        e.message ===
          "2 request(s) need a synthesized text prompt (chat endpoints take text messages), and without a " +
            "tokenizer their lengths cannot be made exact: pass --tokenizer <path to the served model's " +
            "tokenizer.json>, or --allow-approx-length to send about one word per planned token and report the length drift",
    );
  });
  await t.step("chat without tokenizer, approximation allowed: flagged", () => {
    const p = planPrompts(reqs, {
      api: "chat",
      kind: "text",
      allowApproximate: true,
    });
    assert.deepEqual([p.lengths, p.approximateRequests], ["approximate", 2]);
    assert.ok(p.requests.every((r) => r.approximateLengths));
  });
});
