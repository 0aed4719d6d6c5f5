/**
 * An incremental Server-Sent Events parser that follows the WHATWG "event stream" interpretation
 * rules (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
 *
 * @module
 */

/** One dispatched Server-Sent Event. */
export interface SseEvent {
  /** The `event:` field, or `"message"` when the event named none. */
  type: string;
  /** The `data:` lines of the event joined with `"\n"` (an event with no `data:` line is not dispatched). */
  data: string;
  /** The last event ID seen so far in the stream (`id:` persists across events, as in the spec). */
  lastEventId: string;
  /** 0-based position of this event among the events dispatched by this parser. */
  index: number;
}

const LF = 10;
const CR = 13;
const STREAM = { stream: true } as const;

/** Default of {@linkcode SseLimits.maxLineChars}: 1 Mi characters. */
export const DEFAULT_MAX_LINE_CHARS = 2 ** 20;
/** Default of {@linkcode SseLimits.maxEventChars}: 4 Mi characters. */
export const DEFAULT_MAX_EVENT_CHARS = 4 * 2 ** 20;

/**
 * Bounds on what a parser holds, so a server that never ends a line (or an event) cannot grow
 * the client's memory: past a bound the stream is refused ({@linkcode SseParser.failure}).
 * An OpenAI stream's lines are ~0.1-1 KB.
 */
export interface SseLimits {
  /** Longest line, in UTF-16 code units (characters). Default {@linkcode DEFAULT_MAX_LINE_CHARS}. */
  maxLineChars?: number;
  /** Most `data:` characters of one event. Default {@linkcode DEFAULT_MAX_EVENT_CHARS}. */
  maxEventChars?: number;
}

/**
 * Parses a byte stream of Server-Sent Events incrementally.
 *
 * Chunks may be split at any byte, including inside a multi-byte UTF-8 character (decoding is
 * streaming) or between the CR and LF of a CRLF line ending (counted as one line ending). Lines
 * end with CRLF, LF or CR. Comment lines (`:` keep-alives) are skipped, one space after a field's
 * colon is removed, multi-line `data:` is joined with `"\n"`, and a blank line dispatches the event;
 * an event with no `data:` is not dispatched. `retry:` with only ASCII digits sets {@linkcode
 * SseParser.retryMs}. A leading byte-order mark is dropped. At the end of the stream an event not
 * yet closed by a blank line is discarded, as the spec requires.
 *
 * Cost is linear in the input: partial lines and data lines are kept as arrays of pieces and joined
 * once per line or event, never concatenated piece by piece. Memory is bounded by
 * {@linkcode SseLimits}: a line or event past its bound sets {@linkcode SseParser.failure}, and
 * the parser keeps nothing more.
 *
 * @example
 * ```ts
 * import { SseParser } from "./sse.ts";
 * const p = new SseParser();
 * const bytes = new TextEncoder().encode(": ping\r\ndata: {\"a\":1}\r\n\r\ndata: [DO");
 * const first = p.push(bytes);
 * const rest = p.push(new TextEncoder().encode("NE]\n\n"));
 * console.log(first.map((e) => e.data), rest.map((e) => e.data)); // [ '{"a":1}' ] [ "[DONE]" ]
 * console.log(p.end().length); // 0
 * ```
 */
export class SseParser {
  /** The last valid `retry:` value in milliseconds, if the stream sent one. */
  retryMs: number | undefined = undefined;
  /**
   * Why the stream was refused (a line or an event past its bound), or undefined. Events
   * completed before the refusal were returned; nothing after it is parsed.
   */
  failure: string | undefined = undefined;

  readonly #maxLine: number;
  readonly #maxEvent: number;
  /** Characters in `#partial` and `#data`. */
  #partialChars = 0;
  #dataChars = 0;

  /** `limits`: see {@linkcode SseLimits}. */
  constructor(limits: SseLimits = {}) {
    this.#maxLine = limits.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
    this.#maxEvent = limits.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  }

  #decoder = new TextDecoder("utf-8");
  /** Pieces of the current line that ended in earlier chunks (usually empty). */
  #partial: string[] = [];
  /** The previous chunk ended with CR: an LF at the start of the next one ends no extra line. */
  #skipLf = false;
  #data: string[] = [];
  #eventType = "";
  #lastEventId = "";
  #dispatched = 0;
  #ended = false;

  /**
   * Feeds the next bytes of the stream and returns the events they complete, in order.
   *
   * @throws {Error} When called after {@linkcode SseParser.end}.
   */
  push(bytes: Uint8Array): SseEvent[] {
    if (this.#ended) {
      throw new Error(
        `SseParser.push(): the stream already ended, got ${bytes.length} more bytes`,
      );
    }
    const out: SseEvent[] = [];
    if (this.failure !== undefined) return out;
    this.#scan(this.#decoder.decode(bytes, STREAM), out);
    return out;
  }

  #refuse(what: string): void {
    this.failure = what;
    this.#partial = [];
    this.#data = [];
    this.#partialChars = this.#dataChars = 0;
  }

  /**
   * Ends the stream: flushes the decoder and returns any events still completed. An event without
   * its closing blank line is discarded (WHATWG: "If the file ends in the middle of an event,
   * before the final empty line, the incomplete event is not dispatched").
   */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.#ended) return out;
    this.#ended = true;
    if (this.failure === undefined) this.#scan(this.#decoder.decode(), out);
    this.#partial = [];
    this.#data = [];
    this.#eventType = "";
    return out;
  }

  #scan(s: string, out: SseEvent[]): void {
    const n = s.length;
    if (n === 0) return; // keeps #skipLf: the LF may still come in a later chunk
    let i = 0;
    if (this.#skipLf) {
      this.#skipLf = false;
      if (s.charCodeAt(0) === LF) i = 1;
    }
    // Next LF / CR positions, found with native indexOf and cached until passed.
    let lf = s.indexOf("\n", i);
    let cr = s.indexOf("\r", i);
    while (i < n && this.failure === undefined) {
      if (lf !== -1 && lf < i) lf = s.indexOf("\n", i);
      if (cr !== -1 && cr < i) cr = s.indexOf("\r", i);
      let end: number;
      if (lf === -1) end = cr;
      else if (cr === -1) end = lf;
      else end = lf < cr ? lf : cr;
      if (end === -1) {
        this.#partialChars += n - i;
        if (this.#partialChars > this.#maxLine) {
          this.#refuse(
            `an SSE line longer than ${this.#maxLine} characters (${this.#partialChars} without a line end)`,
          );
          return;
        }
        this.#partial.push(s.slice(i));
        return;
      }
      if (this.#partialChars + end - i > this.#maxLine) {
        this.#refuse(
          `an SSE line longer than ${this.#maxLine} characters (${
            this.#partialChars + end - i
          })`,
        );
        return;
      }
      if (this.#partial.length > 0) {
        this.#partial.push(s.slice(i, end));
        const line = this.#partial.join("");
        this.#partial = [];
        this.#partialChars = 0;
        this.#line(line, out);
      } else if (end === i) {
        this.#dispatch(out);
      } else if (s.startsWith("data:", i)) {
        // Fast path for the common line, without slicing the whole line first.
        this.#addData(
          s.slice(s.charCodeAt(i + 5) === 32 ? i + 6 : i + 5, end),
        );
      } else {
        this.#line(s.slice(i, end), out);
      }
      i = end + 1;
      if (s.charCodeAt(end) === CR) {
        if (i === n) this.#skipLf = true;
        else if (s.charCodeAt(i) === LF) i++;
      }
    }
  }

  #line(line: string, out: SseEvent[]): void {
    if (line.length === 0) {
      this.#dispatch(out);
      return;
    }
    const colon = line.indexOf(":");
    if (colon === 0) return; // comment
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = "";
    } else {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32
        ? line.slice(colon + 2)
        : line.slice(colon + 1);
    }
    switch (field) {
      case "data":
        this.#addData(value);
        break;
      case "event":
        this.#eventType = value;
        break;
      case "id":
        if (!value.includes("\0")) this.#lastEventId = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.retryMs = Number(value);
        break;
      default: // unknown fields are ignored
    }
  }

  #addData(value: string): void {
    this.#dataChars += value.length;
    if (this.#dataChars > this.#maxEvent) {
      this.#refuse(
        `an SSE event with more than ${this.#maxEvent} characters of data (${this.#dataChars})`,
      );
      return;
    }
    this.#data.push(value);
  }

  #dispatch(out: SseEvent[]): void {
    const data = this.#data;
    const type = this.#eventType;
    this.#eventType = "";
    if (data.length === 0) return;
    this.#data = [];
    this.#dataChars = 0;
    out.push({
      type: type === "" ? "message" : type,
      data: data.length === 1 ? data[0] : data.join("\n"),
      lastEventId: this.#lastEventId,
      index: this.#dispatched++,
    });
  }
}
