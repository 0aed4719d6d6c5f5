// The KV block manager: allocation, reference counts, prefix cache by hash chain, LRU eviction.
import assert from "node:assert/strict";
import {
  blockKey,
  BlockManager,
  chainKeys,
} from "../../../../adapters/webgpu/batch/kv_blocks.ts";

const seq = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => from + i);

Deno.test("blockKey() depends on the parent and on every token", async (t) => {
  const toks = seq(16);
  await t.step("same input, same key", () => {
    assert.equal(blockKey("", toks), blockKey("", seq(16)));
  });
  await t.step("another parent, another key", () => {
    assert.notEqual(blockKey("", toks), blockKey("x", toks));
  });
  await t.step("one token changed, another key", () => {
    const other = [...toks];
    other[15] = 99;
    assert.notEqual(blockKey("", toks), blockKey("", other));
  });
  await t.step("chainKeys() chains the keys block by block", () => {
    const keys = chainKeys(seq(40));
    assert.equal(keys.length, 2);
    assert.equal(keys[1], blockKey(keys[0], seq(16, 16)));
  });
});

Deno.test("BlockManager.allocate() hands out blocks until none is left", () => {
  const m = new BlockManager(4);
  const a = m.allocate(3)!;
  assert.deepEqual(a, [0, 1, 2]);
  assert.equal(m.allocate(2), null);
  assert.deepEqual(m.stats().used, 3);
  m.release(a);
  assert.equal(m.stats().used, 0);
  assert.equal(m.available, 4);
});

Deno.test("BlockManager.lookup() serves the longest registered prefix in whole blocks", async (t) => {
  const m = new BlockManager(8);
  const prompt = seq(50);
  const a = m.allocate(4)!;
  m.register(a, prompt, 0, 3);
  await t.step("up to maxTokens", () => {
    assert.equal(m.lookup(prompt, 49).tokens, 48);
    assert.equal(m.lookup(prompt, 47).tokens, 32);
  });
  await t.step("a different second block stops the match", () => {
    const other = [...prompt];
    other[20] = 1000;
    assert.deepEqual(m.lookup(other, 49).blocks, [a[0]]);
  });
  await t.step("shared blocks are reference counted", () => {
    const hit = m.lookup(prompt, 49);
    m.acquire(hit.blocks);
    assert.equal(m.refCount(a[0]), 2);
    m.release(a);
    assert.equal(m.refCount(a[0]), 1);
    assert.equal(m.refCount(a[3]), 0);
    m.release(hit.blocks);
    assert.equal(m.stats().used, 0);
    assert.equal(m.stats().cached, 3);
  });
  await t.step("the hit rate counts admitted lookups", () => {
    m.recordLookup(50, 48);
    const s = m.stats();
    assert.equal(s.prefixQueryTokens, 50);
    assert.equal(s.prefixHitTokens, 48);
  });
});

Deno.test("BlockManager evicts cached blocks least recently used first", () => {
  const m = new BlockManager(3);
  const p1 = seq(16, 0);
  const p2 = seq(16, 100);
  const b1 = m.allocate(1)!;
  m.register(b1, p1, 0, 1);
  const b2 = m.allocate(1)!;
  m.register(b2, p2, 0, 1);
  m.release(b1);
  m.release(b2); // b1 is now the least recently used cached block
  assert.equal(m.available, 3);
  m.allocate(2); // the free block, then b1 evicted
  const s = m.stats();
  assert.equal(s.evictions, 1);
  assert.equal(m.lookup(p1, 16).tokens, 0);
  assert.equal(m.lookup(p2, 16).tokens, 16);
});

Deno.test("BlockManager without prefix caching never keeps blocks", () => {
  const m = new BlockManager(2, false);
  const a = m.allocate(1)!;
  m.register(a, seq(16), 0, 1);
  m.release(a);
  assert.equal(m.stats().cached, 0);
  assert.equal(m.lookup(seq(16), 16).tokens, 0);
});

Deno.test("BlockManager refuses misuse with a message naming the block", async (t) => {
  await t.step("release of a free block", () => {
    const m = new BlockManager(2);
    assert.throws(() => m.release([1]), {
      message: "KV blocks: block 1 released but not in use",
    });
  });
  await t.step("registering a partial block", () => {
    const m = new BlockManager(2);
    const a = m.allocate(1)!;
    assert.throws(() => m.register(a, seq(10), 0, 1), {
      message:
        "KV blocks: block 0 has 10 tokens, only full blocks (16) are cached",
    });
  });
  await t.step("zero blocks", () => {
    assert.throws(() => new BlockManager(0), {
      message: "KV blocks: expected an integer >= 1, got 0",
    });
  });
});
