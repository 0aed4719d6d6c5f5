import assert from "node:assert/strict";
import {
  defaultFirstId,
  synthesizePrompts,
  type TraceRequest,
} from "../../workloads/mod.ts";

const req = (id: string, n: number, blocks?: number[]): TraceRequest => ({
  id,
  arrivalMs: 0,
  inputTokens: n,
  outputTokens: 1,
  prefixBlocks: blocks,
});

function ids(r: TraceRequest): number[] {
  assert.equal(r.prompt?.kind, "token_ids");
  return r.prompt.kind === "token_ids" ? r.prompt.ids : [];
}

Deno.test("synthesizePrompts() gives token-id prompts of exact length", async (t) => {
  for (const n of [0, 1, 2, 3, 511, 512, 513, 1500]) {
    await t.step(`${n} tokens`, () => {
      const [r] = synthesizePrompts([req("a", n, [4, 5, 6])], {
        kind: "token_ids",
      });
      assert.equal(ids(r).length, n);
      const [s] = synthesizePrompts([req("b", n)], { kind: "token_ids" });
      assert.equal(ids(s).length, n);
    });
  }
});

Deno.test("synthesizePrompts() preserves shared prefixes of equal block ids only", () => {
  const [a, b, c] = synthesizePrompts(
    [req("a", 1024, [0, 1]), req("b", 700, [0, 2]), req("c", 1024, [3, 1])],
    { kind: "token_ids", blockSize: 512 },
  );
  assert.deepEqual(ids(a).slice(0, 512), ids(b).slice(0, 512));
  assert.notDeepEqual(ids(a).slice(512, 700), ids(b).slice(512, 700));
  assert.deepEqual(ids(a).slice(512), ids(c).slice(512));
  assert.notDeepEqual(ids(a).slice(0, 512), ids(c).slice(0, 512));
});

Deno.test("synthesizePrompts() keeps ids in range and never collides block starts", () => {
  const blocks = Array.from({ length: 2000 }, (_, i) => i);
  const reqs = blocks.map((h) => req(String(h), 16, [h]));
  const out = synthesizePrompts(reqs, {
    kind: "token_ids",
    blockSize: 16,
    vocabSize: 2000,
    firstId: 100,
  });
  const starts = new Set(out.map((r) => ids(r).slice(0, 2).join(",")));
  assert.equal(starts.size, blocks.length);
  for (const r of out) for (const x of ids(r)) assert.ok(x >= 100 && x < 2000);
});

Deno.test("synthesizePrompts() without blocks gives different requests different prompts", () => {
  const [a, b] = synthesizePrompts([req("1", 64), req("2", 64)], {
    kind: "token_ids",
  });
  assert.notDeepEqual(ids(a).slice(0, 2), ids(b).slice(0, 2));
});

Deno.test("synthesizePrompts() text prompts have one word per planned token", () => {
  const [r] = synthesizePrompts([req("9", 50)], { kind: "text" });
  assert.equal(r.prompt?.kind, "text");
  if (r.prompt?.kind === "text") {
    assert.equal(r.prompt.text.split(" ").length, 50);
    assert.ok(r.prompt.text.startsWith("req9 "));
  }
});

Deno.test("synthesizePrompts() draws ids any vocabulary accepts", async (t) => {
  const reqs: TraceRequest[] = [
    { id: "a", arrivalMs: 0, inputTokens: 300, outputTokens: 1 },
    {
      id: "b",
      arrivalMs: 0,
      inputTokens: 40,
      outputTokens: 1,
      prefixBlocks: [7, 8],
    },
  ];
  for (const vocab of [32, 256, 1999, 2000, 128256]) {
    await t.step(`vocabulary ${vocab}`, () => {
      const first = defaultFirstId(vocab);
      for (
        const r of synthesizePrompts(reqs, {
          kind: "token_ids",
          vocabSize: vocab,
          blockSize: 16,
        })
      ) {
        const ids = r.prompt?.kind === "token_ids" ? r.prompt.ids : [];
        assert.equal(ids.length, r.inputTokens);
        assert.ok(ids.every((id) => id >= first && id < vocab), `${r.id}`);
      }
    });
  }
  await t.step("too few ids is refused with the numbers", () => {
    assert.throws(
      () => synthesizePrompts(reqs, { kind: "token_ids", vocabSize: 17 }),
      {
        message:
          "Vocabulary must leave >= 16 ids above firstId, got vocabSize 17, firstId 2",
      },
    );
  });
});
