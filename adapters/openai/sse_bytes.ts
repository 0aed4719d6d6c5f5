/**
 * Server-Sent Events framing on bytes: the reading thread's fast path. It finds the `data` of
 * each event in the bytes of a read and hands over its byte range, without decoding the stream
 * to a string or building an event object (docs/perf.md, "The tail").
 *
 * @module
 */
import {
  DEFAULT_MAX_EVENT_CHARS,
  DEFAULT_MAX_LINE_CHARS,
  type SseEvent,
  type SseLimits,
  SseParser,
} from "./sse.ts";

const LF = 10;
const CR = 13;
const COLON = 58;
const DATA = new TextEncoder().encode("data");
const enc = new TextEncoder();

/** What a {@linkcode SseFramer} hands its events to. */
export interface SseFrameHandler {
  /** An event whose data is `b[start, end)` as UTF-8 (the bytes are valid during the call). */
  data(b: Uint8Array, start: number, end: number, index: number): void;
  /** An event read by the general parser (after a fallback), as text. */
  text(data: string, index: number): void;
}

/**
 * Splits a byte stream into Server-Sent Events and hands over each event's `data`, the same
 * events in the same order as {@linkcode SseParser} gives (its `type`, `id` and `retry` are not
 * kept: nothing downstream reads them).
 *
 * Lines end with LF, CR or CRLF (also split across reads), comments and fields other than
 * `data` are skipped, multi-line data is joined with LF, a blank line dispatches, an
 * unterminated event at the end is discarded. A single-line event inside one read is handed
 * over in place; an event split across reads is gathered in a reused buffer. What it does not
 * do on bytes it leaves to {@linkcode SseParser}, from the start of the current line to the end
 * of the stream: a stream that starts with a byte-order mark, and a line or an event whose byte
 * length passes the limits (the limits count characters, which a line has at most as many of as
 * bytes, so the parser then decides by the same rule as before).
 *
 * @example
 * ```ts
 * import { SseFramer } from "./sse_bytes.ts";
 * const got: string[] = [];
 * const f = new SseFramer({
 *   data: (b, s, e) => got.push(new TextDecoder().decode(b.subarray(s, e))),
 *   text: (d) => got.push(d),
 * });
 * f.push(new TextEncoder().encode(': ping\r\ndata: {"a":1}\r\n\r\ndata: [DO'));
 * f.push(new TextEncoder().encode("NE]\n\n"));
 * console.log(got); // [ '{"a":1}', "[DONE]" ]
 * ```
 */
export class SseFramer {
  /** Why the stream was refused (a line or an event past its bound), as {@linkcode SseParser.failure}. */
  failure: string | undefined = undefined;

  readonly #h: SseFrameHandler;
  readonly #limits: SseLimits;
  readonly #maxLine: number;
  readonly #maxEvent: number;
  /** The general parser, once the stream fell back to it. */
  #slow: SseParser | undefined;
  #slowOffset = 0;
  #started = false;
  #stopped = false;
  #ended = false;
  #skipLf = false;
  #dispatched = 0;
  /**
   * The current line's bytes from earlier reads. This and `#data` start empty and grow on first
   * use: most streams never split a line or an event across reads, and two 1-KiB buffers per
   * request were a part of the reading thread's cost per request at 1,000 req/s (docs/perf.md,
   * "Continued (tail13f)").
   */
  #line: Uint8Array = EMPTY;
  #lineLen = 0;
  /** The current event's data lines, joined with LF (`#pieces` of them). */
  #data: Uint8Array = EMPTY;
  #dataLen = 0;
  #pieces = 0;
  /** A first data line still in the read being pushed: its range there (start -1 when none). */
  #inS = -1;
  #inE = -1;
  #b: Uint8Array = new Uint8Array(0);

  /**
   * `limits`: as {@linkcode SseParser}'s. `general`: hand every byte to the general parser
   * from the start (every event then comes through `handler.text`), as before the fast path.
   */
  constructor(
    handler: SseFrameHandler,
    limits: SseLimits = {},
    general = false,
  ) {
    this.#h = handler;
    this.#limits = limits;
    this.#maxLine = limits.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
    this.#maxEvent = limits.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
    if (general) this.#slow = new SseParser(limits);
  }

  /** Stops handing over events (the rest of the current read and every later one are skipped). */
  stop(): void {
    this.#stopped = true;
  }

  /**
   * Feeds the next bytes; the events they complete go to the handler before it returns.
   *
   * @throws {Error} When called after {@linkcode SseFramer.end}.
   */
  push(b: Uint8Array): void {
    if (this.#ended) {
      throw new Error(
        `SseFramer.push(): the stream already ended, got ${b.length} more bytes`,
      );
    }
    const n = b.length;
    if (n === 0 || this.#stopped || this.failure !== undefined) return;
    if (this.#slow !== undefined) return this.#feedSlow(b);
    let i = 0;
    if (!this.#started) {
      this.#started = true;
      if (b[0] === 0xef) { // a byte-order mark, perhaps: the decoder drops it
        this.#slow = new SseParser(this.#limits);
        return this.#feedSlow(b);
      }
    }
    if (this.#skipLf) {
      this.#skipLf = false;
      if (b[0] === LF) i = 1;
    }
    this.#b = b;
    let lf = b.indexOf(LF, i);
    let cr = b.indexOf(CR, i);
    while (i < n && !this.#stopped) {
      if (lf !== -1 && lf < i) lf = b.indexOf(LF, i);
      if (cr !== -1 && cr < i) cr = b.indexOf(CR, i);
      const end = lf === -1 ? cr : cr === -1 ? lf : lf < cr ? lf : cr;
      if (end === -1) {
        if (this.#lineLen + n - i > this.#maxLine) return this.#fallBack(b, i);
        this.#line = append(this.#line, this.#lineLen, b, i, n);
        this.#lineLen += n - i;
        break;
      }
      if (this.#lineLen + end - i > this.#maxLine) return this.#fallBack(b, i);
      let ok: boolean;
      if (this.#lineLen > 0) {
        const carried = this.#lineLen;
        this.#line = append(this.#line, carried, b, i, end);
        this.#lineLen = 0;
        ok = this.#lineOf(this.#line, 0, carried + end - i, false);
        if (!ok) {
          this.#lineLen = carried; // the fallback starts at the line's first byte
          return this.#fallBack(b, i);
        }
      } else {
        ok = this.#lineOf(b, i, end, true);
        if (!ok) return this.#fallBack(b, i);
      }
      i = end + 1;
      if (b[end] === CR) {
        if (i === n) this.#skipLf = true;
        else if (b[i] === LF) i++;
      }
    }
    // A data line still in `b` is kept: `b` is the reader's, reused by the next read.
    if (this.#inS >= 0) {
      this.#data = append(this.#data, 0, b, this.#inS, this.#inE);
      this.#dataLen = this.#inE - this.#inS;
      this.#inS = -1;
    }
    this.#b = EMPTY;
  }

  /** Ends the stream: an event without its closing blank line is discarded, as the spec says. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#slow !== undefined && !this.#stopped) {
      this.#emit(this.#slow.end());
      this.failure ??= this.#slow.failure;
    }
    this.#lineLen = this.#dataLen = this.#pieces = 0;
  }

  /** One line `buf[s, e)`; false when it must go to the general parser. */
  #lineOf(buf: Uint8Array, s: number, e: number, inRead: boolean): boolean {
    if (s === e) {
      this.#dispatch();
      return true;
    }
    if (buf[s] === COLON) return true; // a comment
    if (e - s < 4 || !startsWith(buf, s, DATA)) return true; // another field: not kept
    let v: number;
    if (e - s === 4) v = e; // "data" alone: empty data
    else if (buf[s + 4] !== COLON) return true; // "data..." is another field's name
    else v = buf[s + 5] === 32 ? s + 6 : s + 5;
    if (v > e) v = e;
    const len = e - v;
    if (this.#dataBytes() + len > this.#maxEvent) return false;
    if (this.#pieces === 0 && inRead) {
      this.#inS = v;
      this.#inE = e;
    } else {
      this.#gather();
      if (this.#pieces > 0) {
        this.#data = appendByte(this.#data, this.#dataLen++, LF);
      }
      this.#data = append(this.#data, this.#dataLen, buf, v, e);
      this.#dataLen += len;
    }
    this.#pieces++;
    return true;
  }

  /** Data bytes of the current event, without the joining LFs (as the parser counts them). */
  #dataBytes(): number {
    if (this.#inS >= 0) return this.#inE - this.#inS;
    return this.#dataLen - Math.max(0, this.#pieces - 1);
  }

  /** Moves a data line still in the read into the gathering buffer. */
  #gather(): void {
    if (this.#inS < 0) return;
    this.#data = append(this.#data, 0, this.#b, this.#inS, this.#inE);
    this.#dataLen = this.#inE - this.#inS;
    this.#inS = -1;
  }

  #dispatch(): void {
    if (this.#pieces === 0) return;
    const index = this.#dispatched++;
    this.#pieces = 0;
    if (this.#inS >= 0) {
      const s = this.#inS;
      this.#inS = -1;
      this.#h.data(this.#b, s, this.#inE, index);
    } else {
      const len = this.#dataLen;
      this.#dataLen = 0;
      this.#h.data(this.#data, 0, len, index);
    }
  }

  /**
   * Hands the stream to the general parser from the current line on: the event's data lines
   * so far (as `data: ` lines), the line's bytes from earlier reads, then `b[from, ...)`.
   */
  #fallBack(b: Uint8Array, from: number): void {
    this.#gather();
    const parts: Uint8Array[] = [enc.encode("\n")]; // a line start, so no BOM is dropped
    if (this.#pieces > 0) {
      let s = 0;
      const d = this.#data.subarray(0, this.#dataLen);
      for (let k = 0; k < this.#pieces; k++) {
        let e = d.indexOf(LF, s);
        if (e === -1) e = d.length;
        parts.push(enc.encode("data: "), d.slice(s, e), enc.encode("\n"));
        s = e + 1;
      }
    }
    parts.push(this.#line.slice(0, this.#lineLen), b.slice(from));
    this.#slow = new SseParser(this.#limits);
    this.#slowOffset = this.#dispatched;
    this.#lineLen = this.#dataLen = this.#pieces = 0;
    this.#b = EMPTY;
    for (const p of parts) {
      if (this.#stopped || this.failure !== undefined) break;
      this.#feedSlow(p);
    }
  }

  #feedSlow(b: Uint8Array): void {
    this.#emit(this.#slow!.push(b));
    this.failure ??= this.#slow!.failure;
  }

  #emit(events: SseEvent[]): void {
    for (const ev of events) {
      if (this.#stopped) return;
      this.#h.text(ev.data, ev.index + this.#slowOffset);
    }
  }
}

const EMPTY = new Uint8Array(0);
/** A line or event buffer's size when first needed. */
const MIN_BUFFER = 1024;

/** `buf` with `src[s, e)` written at `at`, grown (doubling) when it does not fit. */
function append(
  buf: Uint8Array,
  at: number,
  src: Uint8Array,
  s: number,
  e: number,
): Uint8Array {
  const need = at + e - s;
  if (need > buf.length) {
    const grown = new Uint8Array(Math.max(need, buf.length * 2, MIN_BUFFER));
    grown.set(buf.subarray(0, at));
    buf = grown;
  }
  buf.set(src.subarray(s, e), at);
  return buf;
}

function appendByte(buf: Uint8Array, at: number, byte: number): Uint8Array {
  if (at >= buf.length) {
    const grown = new Uint8Array(Math.max(buf.length * 2, MIN_BUFFER));
    grown.set(buf);
    buf = grown;
  }
  buf[at] = byte;
  return buf;
}

function startsWith(b: Uint8Array, at: number, word: Uint8Array): boolean {
  for (let k = 0; k < word.length; k++) if (b[at + k] !== word[k]) return false;
  return true;
}
