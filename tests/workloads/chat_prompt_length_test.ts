// Verified text lengths with a SentencePiece-style tokenizer and its chat template (the
// tiny-sp256 fixture): chat lengths count the template as the server renders it, and a
// completions prompt does not start with a space (which such tokenizers count as a token).
import assert from "node:assert/strict";
import { ChatTemplate } from "../../workloads/chat_template.ts";
import { planPrompts } from "../../workloads/prompt_plan.ts";
import type { TraceRequest } from "../../workloads/base/request.ts";
import { loadTokenizer } from "../../workloads/tokenizer.ts";
import { fixturePath } from "../_fixtures.ts";

const req = (id: string, n: number, blocks?: number[]): TraceRequest => ({
  id,
  arrivalMs: 0,
  inputTokens: n,
  outputTokens: 4,
  prefixBlocks: blocks,
});
const textOf = (r: TraceRequest) =>
  r.prompt?.kind === "text" ? r.prompt.text : "";

Deno.test("planPrompts() counts the chat template in verified chat lengths", async (t) => {
  const tok = await loadTokenizer(fixturePath("tokenizers/tiny-sp256"));
  const template = new ChatTemplate(tok.chatTemplate!, {
    bosToken: tok.bosToken,
    eosToken: tok.eosToken,
    source: "fixture",
  });
  const served = (text: string) =>
    tok.encode(template.render([{ role: "user", content: text }]), false)
      .length;
  const overhead = served("");
  // <s>, "<|user|>\n", "</s>\n<|assistant|>\n" spelled in characters: what the old lengths missed.
  assert.equal(overhead, 28);
  for (const n of [overhead + 1, 40, 64, 200]) {
    await t.step(`chat, ${n} tokens`, () => {
      const p = planPrompts([req("a", n), req("b", n, [0, 1])], {
        api: "chat",
        kind: "text",
        tokenizer: tok,
        blockSize: 16,
      });
      assert.equal(p.lengths, "verified");
      for (const r of p.requests) assert.equal(served(textOf(r)), n);
    });
  }
  await t.step("completions: BOS counted, no leading space", () => {
    const p = planPrompts([req("c", 30)], {
      api: "completions",
      kind: "text",
      tokenizer: tok,
    });
    const text = textOf(p.requests[0]);
    assert.equal(tok.encode(text, true).length, 30);
    assert.ok(!text.startsWith(" "));
    // The stray space the old prompts had: one token more for this tokenizer.
    assert.equal(tok.encode(` ${text}`, true).length, 31);
  });
});
