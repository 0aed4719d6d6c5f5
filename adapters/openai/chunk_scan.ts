/**
 * Reads the few fields that matter from the bytes of an OpenAI-style stream chunk without a
 * general `JSON.parse`: the reading thread's fast path (docs/perf.md, "The tail").
 *
 * `JSON.parse` of every chunk built ~20 objects and strings per token (the id, model, choices,
 * delta, ...), most of the ~4.3 KB allocated per chunk on the thread that takes token times;
 * their collection (scavenges, incremental marking) delayed later reads. This scanner walks the
 * bytes once, validating the JSON as it goes, and keeps only positions; it allocates nothing
 * unless the caller wants the token text or a finish reason is given.
 *
 * Over ~400 lines in one class on purpose: the scanner is one validating pass whose states
 * (object levels, keys, strings, numbers) share its position and item buffers; splitting it
 * would add calls per byte on the thread that takes token times.
 *
 * @module
 */
import { type ChunkItem, MAX_USAGE_TOKENS } from "./chunk.ts";

const QUOTE = 34;
const BACKSLASH = 92;
const MAX_DEPTH = 64;
const DONE = new TextEncoder().encode("[DONE]");
// A byte-order mark inside a payload is text: kept, as the stream decoder keeps it.
const dec = new TextDecoder("utf-8", { ignoreBOM: true });
const DONE_ITEM: ChunkItem = { kind: "done" };

/** A key of interest, by object. */
const enum Key {
  None,
  Choices,
  Usage,
  Error,
  Object,
  Timings,
  Text,
  Delta,
  Finish,
  Content,
  ReasoningContent,
  Reasoning,
  ToolCalls,
  PromptTokens,
  CompletionTokens,
  PromptDetails,
  CachedTokens,
}

/** Where an object of the chunk sits: which keys it may hold. */
const enum Level {
  Top,
  Choice,
  Delta,
  Usage,
  Details,
  /** Any other object: no key of interest. */
  Other,
}

const KEYS: Record<Level, [string, Key][]> = {
  [Level.Top]: [
    ["choices", Key.Choices],
    ["usage", Key.Usage],
    ["error", Key.Error],
    ["object", Key.Object],
    ["timings", Key.Timings],
  ],
  [Level.Choice]: [
    ["text", Key.Text],
    ["delta", Key.Delta],
    ["finish_reason", Key.Finish],
  ],
  [Level.Delta]: [
    ["content", Key.Content],
    ["reasoning_content", Key.ReasoningContent],
    ["reasoning", Key.Reasoning],
    ["tool_calls", Key.ToolCalls],
  ],
  [Level.Usage]: [
    ["prompt_tokens", Key.PromptTokens],
    ["completion_tokens", Key.CompletionTokens],
    ["prompt_tokens_details", Key.PromptDetails],
  ],
  [Level.Details]: [["cached_tokens", Key.CachedTokens]],
  [Level.Other]: [],
};
const KEY_BYTES: Record<Level, [Uint8Array, Key][]> = Object.fromEntries(
  Object.entries(KEYS).map((
    [level, keys],
  ) => [level, keys.map(([k, v]) => [new TextEncoder().encode(k), v])]),
) as unknown as Record<Level, [Uint8Array, Key][]>;

/** Thrown inside a scan when the bytes leave the known shape: the caller parses in full. */
const UNKNOWN = Symbol("unknown shape");

/**
 * A reusable scanner of chunk payloads. {@linkcode ChunkScanner.scan} returns the same items
 * `interpretChunk` would for every payload it recognizes, and `null` for the rest: anything that
 * is not `[DONE]` or a JSON object, malformed JSON, error objects (`error`, `"object":"error"`),
 * tool calls, llama.cpp `timings`, a key of interest given twice or spelled with escapes,
 * numbers in usage that are not plain integers, usage that `interpretChunk` refuses, nesting
 * deeper than 64. The caller then falls back to `interpretChunk`, so no payload is read
 * differently: the fast path only skips work.
 *
 * @example
 * ```ts
 * import { ChunkScanner } from "./chunk_scan.ts";
 * const s = new ChunkScanner();
 * const b = new TextEncoder().encode('{"choices":[{"index":0,"text":"Hi","finish_reason":null}]}');
 * console.log(s.scan(b, 0, b.length, true)); // [ { kind: "tokens", channel: "content", count: 1, text: "Hi" } ]
 * const e = new TextEncoder().encode('{"error":{"message":"boom"}}');
 * console.log(s.scan(e, 0, e.length, true)); // null
 * ```
 */
export class ChunkScanner {
  /** The items of the last scan (reused: valid until the next scan); never more than 5. */
  readonly #items: ChunkItem[] = [];
  readonly #textTok = tokenItem("content");
  readonly #reasoningTok = tokenItem("reasoning");
  readonly #contentTok = tokenItem("content");
  readonly #finish: Extract<ChunkItem, { kind: "finish" }> = {
    kind: "finish",
    reason: "",
  };
  readonly #usage: Extract<ChunkItem, { kind: "usage" }> = {
    kind: "usage",
    promptTokens: 0,
    completionTokens: 0,
  };
  readonly #usageCached: Extract<ChunkItem, { kind: "usage" }> = {
    kind: "usage",
    promptTokens: 0,
    completionTokens: 0,
    cachedTokens: 0,
  };

  #b: Uint8Array = new Uint8Array(0);
  #i = 0;
  #end = 0;
  /** Facts of the scan so far: [start, end) byte ranges of string contents, -1 when absent. */
  #seen = 0;
  #textS = -1;
  #textE = -1;
  #contentS = -1;
  #contentE = -1;
  #reasoningS = -1;
  #reasoningE = -1;
  #reasoningAltS = -1;
  #reasoningAltE = -1;
  #finishS = -1;
  #finishE = -1;
  /** Usage: numbers (-1 absent / not a number), and whether `usage` was an object. */
  #usageObject = false;
  #prompt = -1;
  #completion = -1;
  #cached = -1;
  /** Which string ranges hold a backslash (decoded through JSON.parse when wanted). */
  #escaped = 0;

  /**
   * The items of one payload `b[start, end)` (a new array), or null when it is not the known
   * shape. `wantText`: decode the token texts (else every token item's `text` is `""`).
   */
  scan(
    b: Uint8Array,
    start: number,
    end: number,
    wantText: boolean,
  ): ChunkItem[] | null {
    const n = this.scanInto(b, start, end, wantText);
    return n < 0 ? null : this.#items.slice(0, n);
  }

  /**
   * {@linkcode ChunkScanner.scan} without an array: returns how many items the payload holds
   * (the first of {@linkcode ChunkScanner.items}), or -1 when it is not the known shape. The
   * reading thread's form: it allocates nothing unless texts are wanted.
   */
  scanInto(
    b: Uint8Array,
    start: number,
    end: number,
    wantText: boolean,
  ): number {
    if (end - start === DONE.length && equalAt(b, start, DONE)) {
      this.#items[0] = DONE_ITEM;
      return 1;
    }
    this.#b = b;
    this.#i = start;
    this.#end = end;
    this.#seen = 0;
    this.#textS =
      this.#contentS =
      this.#reasoningS =
      this.#reasoningAltS =
        -1;
    this.#finishS = -1;
    this.#usageObject = false;
    this.#prompt = this.#completion = this.#cached = -1;
    this.#escaped = 0;
    try {
      this.#ws();
      if (this.#i >= end || b[this.#i] !== 123) return -1; // "{"
      this.#object(Level.Top, 0);
      this.#ws();
      if (this.#i !== end) return -1;
    } catch (e) {
      if (e === UNKNOWN) return -1;
      throw e;
    }
    return this.#build(wantText);
  }

  /** The items of the last {@linkcode ChunkScanner.scanInto} (reused; only its count are valid). */
  get items(): ChunkItem[] {
    return this.#items;
  }

  /** Writes the items in `interpretChunk`'s order; returns how many. */
  #build(wantText: boolean): number {
    // Written by index, never by resetting the length: that would free the array's storage
    // and make every scan allocate it again.
    const items = this.#items;
    let n = 0;
    // The caller may have set a token count from the server's running count: start over.
    this.#textTok.count = this.#reasoningTok.count = this.#contentTok.count = 1;
    if (this.#textS >= 0 && this.#textE > this.#textS) {
      this.#textTok.text = wantText
        ? this.#str(this.#textS, this.#textE, 1)
        : "";
      items[n++] = this.#textTok;
    }
    const rs = this.#reasoningS >= 0 && this.#reasoningE > this.#reasoningS;
    const ra = this.#reasoningAltS >= 0 &&
      this.#reasoningAltE > this.#reasoningAltS;
    if (rs || ra) {
      this.#reasoningTok.text = !wantText
        ? ""
        : rs
        ? this.#str(this.#reasoningS, this.#reasoningE, 2)
        : this.#str(this.#reasoningAltS, this.#reasoningAltE, 4);
      items[n++] = this.#reasoningTok;
    }
    if (this.#contentS >= 0 && this.#contentE > this.#contentS) {
      this.#contentTok.text = wantText
        ? this.#str(this.#contentS, this.#contentE, 8)
        : "";
      items[n++] = this.#contentTok;
    }
    if (this.#finishS >= 0 && this.#finishE > this.#finishS) {
      this.#finish.reason = this.#str(this.#finishS, this.#finishE, 16);
      items[n++] = this.#finish;
    }
    if (this.#usageObject && this.#prompt >= 0 && this.#completion >= 0) {
      if (
        this.#prompt > MAX_USAGE_TOKENS || this.#completion > MAX_USAGE_TOKENS
      ) {
        return -1; // interpretChunk's error, in full
      }
      if (this.#cached >= 0) {
        if (this.#cached > this.#prompt) return -1;
        const u = this.#usageCached;
        u.promptTokens = this.#prompt;
        u.completionTokens = this.#completion;
        u.cachedTokens = this.#cached;
        items[n++] = u;
      } else {
        const u = this.#usage;
        u.promptTokens = this.#prompt;
        u.completionTokens = this.#completion;
        items[n++] = u;
      }
    }
    return n;
  }

  /** The text of a JSON string's content `b[s, e)`; `bit` says whether it held escapes. */
  #str(s: number, e: number, bit: number): string {
    const raw = this.#b.subarray(s, e);
    if ((this.#escaped & bit) === 0) return dec.decode(raw);
    return JSON.parse(dec.decode(this.#b.subarray(s - 1, e + 1)));
  }

  #ws(): void {
    const b = this.#b;
    let i = this.#i;
    while (i < this.#end) {
      const c = b[i];
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
      i++;
    }
    this.#i = i;
  }

  /** Scans an object at `#i` (which holds `{`) whose keys of interest are `level`'s. */
  #object(level: Level, depth: number): void {
    if (depth > MAX_DEPTH) throw UNKNOWN;
    const b = this.#b;
    this.#i++;
    this.#ws();
    if (this.#i < this.#end && b[this.#i] === 125) { // "}"
      this.#i++;
      return;
    }
    for (;;) {
      this.#ws();
      if (this.#i >= this.#end || b[this.#i] !== QUOTE) throw UNKNOWN;
      const ks = this.#i + 1;
      const escaped = this.#string();
      // An escaped key may spell a key of interest: JSON.parse decides.
      if (escaped && level !== Level.Other) throw UNKNOWN;
      const key = escaped ? Key.None : this.#keyOf(level, ks, this.#i - 1);
      this.#ws();
      if (this.#i >= this.#end || b[this.#i] !== 58) throw UNKNOWN; // ":"
      this.#i++;
      this.#ws();
      if (key !== Key.None) {
        const bit = 1 << key;
        if (this.#seen & bit) throw UNKNOWN; // JSON.parse keeps the last: leave it to it
        this.#seen |= bit;
        this.#member(key, depth);
      } else {
        this.#value(depth + 1);
      }
      this.#ws();
      if (this.#i >= this.#end) throw UNKNOWN;
      const c = b[this.#i++];
      if (c === 125) return; // "}"
      if (c !== 44) throw UNKNOWN; // ","
    }
  }

  #keyOf(level: Level, s: number, e: number): Key {
    const keys = KEY_BYTES[level];
    for (let k = 0; k < keys.length; k++) {
      const bytes = keys[k][0];
      if (bytes.length === e - s && equalAt(this.#b, s, bytes)) {
        return keys[k][1];
      }
    }
    return Key.None;
  }

  /** The value of a key of interest. */
  #member(key: Key, depth: number): void {
    const b = this.#b;
    const c = this.#i < this.#end ? b[this.#i] : -1;
    switch (key) {
      case Key.Choices:
        if (c === 91) return this.#choices(depth + 1); // "["
        return this.#value(depth + 1);
      case Key.Usage:
        if (c === 123) {
          this.#usageObject = true;
          return this.#object(Level.Usage, depth + 1);
        }
        return this.#value(depth + 1);
      case Key.PromptDetails:
        if (c === 123) return this.#object(Level.Details, depth + 1);
        return this.#value(depth + 1);
      case Key.Delta:
        if (c === 123) return this.#object(Level.Delta, depth + 1);
        return this.#value(depth + 1);
      case Key.Error:
        // `{"error": "text"}` or an error object (arrays are objects to interpretChunk).
        if (c === QUOTE || c === 123 || c === 91) throw UNKNOWN;
        return this.#value(depth + 1);
      case Key.Timings:
        if (c === 123) throw UNKNOWN; // llama.cpp's timings: read in full
        return this.#value(depth + 1);
      case Key.ToolCalls:
        if (c === 91) {
          // An empty array carries no call; anything else is read in full.
          let j = this.#i + 1;
          while (j < this.#end && isWs(b[j])) j++;
          if (j < this.#end && b[j] === 93) {
            this.#i = j + 1;
            return;
          }
          throw UNKNOWN;
        }
        return this.#value(depth + 1);
      case Key.Object: {
        if (c !== QUOTE) return this.#value(depth + 1);
        const s = this.#i + 1;
        if (this.#string()) throw UNKNOWN;
        const e = this.#i - 1;
        if (e - s === 5 && equalAt(b, s, ERROR)) throw UNKNOWN; // vLLM's error chunk
        return;
      }
      case Key.Text:
      case Key.Content:
      case Key.ReasoningContent:
      case Key.Reasoning:
      case Key.Finish: {
        if (c !== QUOTE) return this.#value(depth + 1);
        const s = this.#i + 1;
        const escaped = this.#string();
        const e = this.#i - 1;
        const bit = key === Key.Text
          ? 1
          : key === Key.ReasoningContent
          ? 2
          : key === Key.Reasoning
          ? 4
          : key === Key.Content
          ? 8
          : 16;
        if (escaped) this.#escaped |= bit;
        if (key === Key.Text) {
          this.#textS = s;
          this.#textE = e;
        } else if (key === Key.Content) {
          this.#contentS = s;
          this.#contentE = e;
        } else if (key === Key.ReasoningContent) {
          this.#reasoningS = s;
          this.#reasoningE = e;
        } else if (key === Key.Reasoning) {
          this.#reasoningAltS = s;
          this.#reasoningAltE = e;
        } else {
          this.#finishS = s;
          this.#finishE = e;
        }
        return;
      }
      case Key.PromptTokens:
      case Key.CompletionTokens:
      case Key.CachedTokens: {
        if (c !== 45 && (c < 48 || c > 57)) return this.#value(depth + 1);
        const v = this.#integer();
        if (key === Key.PromptTokens) this.#prompt = v;
        else if (key === Key.CompletionTokens) this.#completion = v;
        else this.#cached = v;
        return;
      }
      default:
        return this.#value(depth + 1);
    }
  }

  /** `choices`: the first element is read as a choice, the rest only validated. */
  #choices(depth: number): void {
    const b = this.#b;
    this.#i++;
    this.#ws();
    if (this.#i < this.#end && b[this.#i] === 93) { // "]"
      this.#i++;
      return;
    }
    for (let k = 0;; k++) {
      this.#ws();
      if (k === 0 && this.#i < this.#end && b[this.#i] === 123) {
        this.#object(Level.Choice, depth + 1);
      } else {
        this.#value(depth + 1);
      }
      this.#ws();
      if (this.#i >= this.#end) throw UNKNOWN;
      const c = b[this.#i++];
      if (c === 93) return;
      if (c !== 44) throw UNKNOWN;
    }
  }

  /** A plain non-negative integer of at most 15 digits; anything else is read in full. */
  #integer(): number {
    const b = this.#b;
    let i = this.#i;
    if (b[i] === 45) throw UNKNOWN; // a negative count: interpretChunk's error
    if (b[i] === 48 && i + 1 < this.#end && isDigit(b[i + 1])) throw UNKNOWN;
    let v = 0;
    const s = i;
    while (i < this.#end && isDigit(b[i])) v = v * 10 + (b[i++] - 48);
    if (i - s > 15) throw UNKNOWN;
    if (i < this.#end && (b[i] === 46 || b[i] === 101 || b[i] === 69)) {
      throw UNKNOWN; // "." "e" "E": a fraction or an exponent
    }
    this.#i = i;
    return v;
  }

  /** Validates and skips any JSON value at `#i`. */
  #value(depth: number): void {
    if (depth > MAX_DEPTH) throw UNKNOWN;
    const b = this.#b;
    if (this.#i >= this.#end) throw UNKNOWN;
    const c = b[this.#i];
    if (c === QUOTE) {
      this.#string();
    } else if (c === 123) {
      this.#object(Level.Other, depth);
    } else if (c === 91) {
      this.#i++;
      this.#ws();
      if (this.#i < this.#end && b[this.#i] === 93) {
        this.#i++;
        return;
      }
      for (;;) {
        this.#ws();
        this.#value(depth + 1);
        this.#ws();
        if (this.#i >= this.#end) throw UNKNOWN;
        const d = b[this.#i++];
        if (d === 93) return;
        if (d !== 44) throw UNKNOWN;
      }
    } else if (c === 116) this.#literal(TRUE);
    else if (c === 102) this.#literal(FALSE);
    else if (c === 110) this.#literal(NULL);
    else this.#number();
  }

  #literal(word: Uint8Array): void {
    if (this.#i + word.length > this.#end || !equalAt(this.#b, this.#i, word)) {
      throw UNKNOWN;
    }
    this.#i += word.length;
  }

  /** JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  #number(): void {
    const b = this.#b;
    const end = this.#end;
    let i = this.#i;
    if (b[i] === 45) i++;
    if (i >= end) throw UNKNOWN;
    if (b[i] === 48) i++;
    else if (b[i] >= 49 && b[i] <= 57) { while (i < end && isDigit(b[i])) i++; }
    else throw UNKNOWN;
    if (i < end && b[i] === 46) {
      i++;
      if (i >= end || !isDigit(b[i])) throw UNKNOWN;
      while (i < end && isDigit(b[i])) i++;
    }
    if (i < end && (b[i] === 101 || b[i] === 69)) {
      i++;
      if (i < end && (b[i] === 43 || b[i] === 45)) i++;
      if (i >= end || !isDigit(b[i])) throw UNKNOWN;
      while (i < end && isDigit(b[i])) i++;
    }
    this.#i = i;
  }

  /**
   * Validates and skips a string at `#i` (which holds `"`); returns whether it held an escape.
   * Bytes of 0x80 and above pass as they are: the text is decoded (replacing invalid UTF-8)
   * before `JSON.parse` sees it, so they are valid there too.
   */
  #string(): boolean {
    const b = this.#b;
    const end = this.#end;
    let i = this.#i + 1;
    let escaped = false;
    for (;;) {
      if (i >= end) throw UNKNOWN;
      const c = b[i];
      if (c === QUOTE) break;
      if (c < 32) throw UNKNOWN; // a raw control character: malformed JSON
      if (c === BACKSLASH) {
        escaped = true;
        const d = i + 1 < end ? b[i + 1] : -1;
        if (d === 117) { // "u": four hex digits
          for (let k = 2; k < 6; k++) {
            if (i + k >= end || !isHex(b[i + k])) throw UNKNOWN;
          }
          i += 6;
          continue;
        }
        if (
          d !== QUOTE && d !== BACKSLASH && d !== 47 && d !== 98 && d !== 102 &&
          d !== 110 && d !== 114 && d !== 116
        ) throw UNKNOWN;
        i += 2;
        continue;
      }
      i++;
    }
    this.#i = i + 1;
    return escaped;
  }
}

const TRUE = new TextEncoder().encode("true");
const FALSE = new TextEncoder().encode("false");
const NULL = new TextEncoder().encode("null");
const ERROR = new TextEncoder().encode("error");

function tokenItem(
  channel: "content" | "reasoning",
): Extract<ChunkItem, { kind: "tokens" }> {
  return { kind: "tokens", channel, count: 1, text: "" };
}

function equalAt(b: Uint8Array, at: number, word: Uint8Array): boolean {
  for (let k = 0; k < word.length; k++) if (b[at + k] !== word[k]) return false;
  return true;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}
