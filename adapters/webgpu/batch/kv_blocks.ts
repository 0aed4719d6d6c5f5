/**
 * The KV block manager of the serving engine: PAGE_SIZE-token blocks handed out chunk by chunk,
 * reference counts for blocks shared between sequences, and a prefix cache keyed by a hash chain
 * of block tokens with LRU eviction.
 *
 * A block is in one of three states: *free* (no content worth keeping), *used* (reference count
 * >= 1) or *cached* (reference count 0 but its tokens' KV is kept, keyed by its chain hash, and
 * evicted least recently used first when a fresh block is needed). Only full blocks are ever
 * registered, and a sequence writes only behind its last full shared block, so shared blocks are
 * never written again: copy-on-write never has to copy.
 *
 * The manager is pure bookkeeping (no GPU): the engine submits steps in order on one queue, so a
 * block released here and handed to another sequence is only written by steps submitted after
 * every step that read it.
 *
 * @module
 */

/**
 * Tokens per KV block (page): the unit the block manager hands out, the step's page tables name
 * and the kernels address (`kvslot = page * PAGE_SIZE + offset`, KV `[pages, 2, G, PAGE_SIZE, D]`).
 */
export const PAGE_SIZE = 16;

/** Counters of the block manager. */
export interface BlockStats {
  /** Blocks in the cache. */
  total: number;
  /** Blocks with reference count >= 1. */
  used: number;
  /** Blocks that can be handed out: free plus cached-and-unreferenced (evictable). */
  available: number;
  /** Cached (hashed) blocks, used or not. */
  cached: number;
  /** Prompt tokens looked up in the prefix cache. */
  prefixQueryTokens: number;
  /** Of those, tokens served from the cache. */
  prefixHitTokens: number;
  /** Cached blocks evicted to make room. */
  evictions: number;
}

/** The hash key of the block chain ending with `tokens` after the block keyed `parent`. */
export type BlockKey = string;

interface CacheEntry {
  block: number;
  parent: BlockKey;
  tokens: readonly number[];
}

/**
 * Chain hash of one full block: two 32-bit lanes (FNV-1a and a murmur-style mix) over the parent
 * key and the block's token ids. Hits are verified against the stored tokens and parent, so a
 * collision can never serve a wrong block.
 *
 * @example
 * ```ts
 * import { blockKey } from "./kv_blocks.ts";
 * const a = blockKey("", Array.from({ length: 16 }, (_, i) => i));
 * console.log(a === blockKey("", Array.from({ length: 16 }, (_, i) => i))); // true
 * ```
 */
export function blockKey(
  parent: BlockKey,
  tokens: readonly number[],
): BlockKey {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  const mix = (v: number) => {
    h1 = Math.imul(h1 ^ v, 0x01000193);
    h2 = Math.imul(h2 ^ (v >>> 16) ^ (v << 5), 0x5bd1e995);
    h2 ^= h2 >>> 13;
  };
  for (let i = 0; i < parent.length; i++) mix(parent.charCodeAt(i));
  mix(0xffff);
  for (const t of tokens) mix(t);
  return (h1 >>> 0).toString(36) + "." + (h2 >>> 0).toString(36) + "." +
    tokens.length;
}

/** Keys of the full blocks of `tokens` (block i covers tokens [16 i, 16 i + 16)). */
export function chainKeys(
  tokens: readonly number[],
  fromBlock = 0,
  parent: BlockKey = "",
  toBlock = Math.floor(tokens.length / PAGE_SIZE),
): BlockKey[] {
  const keys: BlockKey[] = [];
  let p = parent;
  for (let b = fromBlock; b < toBlock; b++) {
    p = blockKey(p, tokens.slice(b * PAGE_SIZE, (b + 1) * PAGE_SIZE));
    keys.push(p);
  }
  return keys;
}

/**
 * Blocks of the KV cache, their reference counts and the prefix cache.
 *
 * @example
 * ```ts
 * import { BlockManager } from "./kv_blocks.ts";
 * const m = new BlockManager(8);
 * const prompt = Array.from({ length: 40 }, (_, i) => i);
 * const a = m.allocate(3)!; // blocks for 40 tokens
 * m.register(a, prompt, 0, 2); // the two full blocks become cacheable
 * m.release(a);
 * const hit = m.lookup(prompt, 39);
 * console.log(hit.tokens, m.stats().cached); // 32 2
 * ```
 */
export class BlockManager {
  private readonly refs: Int32Array;
  private readonly keyOf: (BlockKey | null)[];
  private readonly freeIds: number[];
  /** Cached blocks with reference count 0, least recently used first (Map keeps insertion order). */
  private readonly lru = new Map<number, true>();
  private readonly cache = new Map<BlockKey, CacheEntry>();
  private counters = { prefixQueryTokens: 0, prefixHitTokens: 0, evictions: 0 };
  private usedCount = 0;

  /** A manager of `numBlocks` KV blocks, all free. */
  constructor(
    /** Blocks in the cache. */
    readonly numBlocks: number,
    /** Keep full blocks for reuse by later prompts with the same prefix (default true). */
    readonly prefixCaching = true,
  ) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1) {
      throw new Error(
        `KV blocks: expected an integer >= 1, got ${numBlocks}`,
      );
    }
    this.refs = new Int32Array(numBlocks);
    this.keyOf = new Array(numBlocks).fill(null);
    this.freeIds = Array.from(
      { length: numBlocks },
      (_, i) => numBlocks - 1 - i,
    );
  }

  /** Blocks that {@link allocate} can hand out now (free + evictable cached). */
  get available(): number {
    return this.freeIds.length + this.lru.size;
  }

  /** Counters for step records and `/metrics`. */
  stats(): BlockStats {
    return {
      total: this.numBlocks,
      used: this.usedCount,
      available: this.available,
      cached: this.cache.size,
      ...this.counters,
    };
  }

  /** The longest cached prefix of `tokens` in whole blocks, at most `maxTokens` tokens, not taken. */
  lookup(
    tokens: readonly number[],
    maxTokens: number,
  ): { blocks: number[]; keys: BlockKey[]; tokens: number } {
    const blocks: number[] = [];
    const keys: BlockKey[] = [];
    if (this.prefixCaching) {
      const nb = Math.floor(Math.min(maxTokens, tokens.length) / PAGE_SIZE);
      let parent: BlockKey = "";
      for (let b = 0; b < nb; b++) {
        const toks = tokens.slice(b * PAGE_SIZE, (b + 1) * PAGE_SIZE);
        const key = blockKey(parent, toks);
        const e = this.cache.get(key);
        if (!e || e.parent !== parent || !sameTokens(e.tokens, toks)) break;
        blocks.push(e.block);
        keys.push(key);
        parent = key;
      }
    }
    return { blocks, keys, tokens: blocks.length * PAGE_SIZE };
  }

  /** Counts one admitted prompt of `queried` tokens of which `hit` came from the cache. */
  recordLookup(queried: number, hit: number): void {
    this.counters.prefixQueryTokens += queried;
    this.counters.prefixHitTokens += hit;
  }

  /** Takes a reference on blocks returned by {@link lookup} (they leave the LRU list). */
  acquire(blocks: readonly number[]): void {
    for (const b of blocks) {
      if (this.refs[b] === 0) {
        if (!this.lru.delete(b)) {
          throw new Error(`KV blocks: block ${b} is neither used nor cached`);
        }
        this.usedCount++;
      }
      this.refs[b]++;
    }
  }

  /**
   * Hands out `n` blocks like {@link allocate}, throwing when too few are available: for callers
   * that size the cache for their own sequences (benchmarks, checks running steps directly).
   */
  take(n: number): number[] {
    const blocks = this.allocate(n);
    if (!blocks) {
      throw new Error(
        `KV blocks: expected ${n} available blocks, ${this.available} of ${this.numBlocks} are; size the engine's numPages for the sequences it runs`,
      );
    }
    return blocks;
  }

  /** Hands out `n` blocks (evicting least recently used cached ones), or `null` if too few. */
  allocate(n: number): number[] | null {
    if (n > this.available) return null;
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      let b = this.freeIds.pop();
      if (b === undefined) {
        b = this.lru.keys().next().value as number;
        this.lru.delete(b);
        this.cache.delete(this.keyOf[b]!);
        this.keyOf[b] = null;
        this.counters.evictions++;
      }
      this.refs[b] = 1;
      this.usedCount++;
      out.push(b);
    }
    return out;
  }

  /**
   * Registers blocks `fromBlock .. toBlock - 1` of a sequence (its block table `blocks`, its
   * tokens `tokens`) as cacheable, once their KV has been computed or is computed by a step
   * already submitted. Returns the chain keys of those blocks. A block whose key is already
   * cached stays private (the cached copy wins).
   */
  register(
    blocks: readonly number[],
    tokens: readonly number[],
    fromBlock: number,
    toBlock: number,
    parent: BlockKey = "",
  ): BlockKey[] {
    const keys: BlockKey[] = [];
    let p = parent;
    for (let b = fromBlock; b < toBlock; b++) {
      const toks = tokens.slice(b * PAGE_SIZE, (b + 1) * PAGE_SIZE);
      if (toks.length !== PAGE_SIZE) {
        throw new Error(
          `KV blocks: block ${b} has ${toks.length} tokens, only full blocks (${PAGE_SIZE}) are cached`,
        );
      }
      const key = blockKey(p, toks);
      const id = blocks[b];
      if (
        this.prefixCaching && !this.cache.has(key) && this.keyOf[id] === null
      ) {
        this.cache.set(key, { block: id, parent: p, tokens: toks });
        this.keyOf[id] = key;
      }
      p = key;
      keys.push(key);
    }
    return keys;
  }

  /** Drops one reference on each block; unreferenced blocks become cached (if keyed) or free. */
  release(blocks: readonly number[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = blocks[i];
      if (this.refs[b] <= 0) {
        throw new Error(`KV blocks: block ${b} released but not in use`);
      }
      if (--this.refs[b] === 0) {
        this.usedCount--;
        if (this.keyOf[b] !== null) this.lru.set(b, true);
        else this.freeIds.push(b);
      }
    }
  }

  /** Reference count of a block (for tests and assertions). */
  refCount(block: number): number {
    return this.refs[block];
  }
}

function sameTokens(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
