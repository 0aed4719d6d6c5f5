// Incremental detokenization with a real tokenizer (the 256-id SentencePiece-style fixture):
// pieces joined equal the text of the whole output, an incomplete character is held back and
// arrives with the token that completes it, and the byte-level codec does the same.
import assert from "node:assert/strict";
import {
  byteCodec,
  openCodec,
} from "../../../../adapters/webgpu/text/codec.ts";
import { fixturePath } from "../../../_fixtures.ts";

const TOKENIZER = fixturePath("tokenizers/tiny-sp256");

Deno.test("WindowDetokenizer() holds an incomplete character back and emits it whole", async (t) => {
  const c = await openCodec(TOKENIZER);
  const prompt = c.encode("hi", true);
  await t.step("é over two byte-fallback tokens, then a word", () => {
    const ids = c.encode("é to", false); // ▁ <0xC3> <0xA9> ▁to
    assert.deepEqual(ids.map((i) => c.tokenString(i)), [
      "▁",
      "<0xC3>",
      "<0xA9>",
      "▁to",
    ]);
    const d = c.detokenizer(prompt);
    assert.deepEqual(ids.map((i) => d.push(i)), [" ", "", "é", " to"]);
    assert.equal(d.flush(), "");
  });
  await t.step(
    "an incomplete character at the end is flushed as U+FFFD",
    () => {
      const d = c.detokenizer(prompt);
      assert.equal(d.push(c.encode("an", false)[0]), " an");
      assert.equal(d.push(c.encode("€", false)[1]), ""); // <0xE2> alone
      assert.equal(d.flush(), "\uFFFD");
    },
  );
  await t.step("special tokens are skipped, or kept when asked", () => {
    const skip = c.detokenizer(prompt);
    const keep = c.detokenizer(prompt, false);
    const ids = [c.encode("an", false)[0], 2];
    assert.equal(ids.map((i) => skip.push(i)).join(""), " an");
    assert.equal(ids.map((i) => keep.push(i)).join(""), " an</s>");
  });
});

Deno.test("WindowDetokenizer() pieces join to the text of the whole output", async () => {
  const c = await openCodec(TOKENIZER);
  const prompt = c.encode("so it is", true);
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let trial = 0; trial < 50; trial++) {
    // Ids 3-255: byte pieces (many invalid sequences), characters and words; no specials.
    const out = Array.from({ length: 40 }, () => 3 + Math.floor(rand() * 253));
    const d = c.detokenizer(prompt);
    const pieces = out.map((i) => d.push(i));
    pieces.push(d.flush());
    const whole = c.decode([...prompt, ...out], true)
      .slice(c.decode(prompt, true).length);
    assert.equal(pieces.join(""), whole, `trial ${trial}: ids ${out}`);
    // Only the flush may end in an incomplete character.
    for (const p of pieces.slice(0, -1)) assert.ok(!p.endsWith("\uFFFD"), p);
  }
});

Deno.test("byteCodec() decodes UTF-8 across tokens and renders other ids as <id>", () => {
  const c = byteCodec();
  const d = c.detokenizer([104]);
  assert.deepEqual([0xc3, 0xa9, 300, 33].map((i) => d.push(i)), [
    "",
    "é",
    "<300>",
    "!",
  ]);
  assert.equal(c.decode([0xc3, 0xa9, 300], false), "é<300>");
});
