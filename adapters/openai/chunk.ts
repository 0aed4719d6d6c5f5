/**
 * Interprets the `data` payload of one Server-Sent Event of an OpenAI-style streaming response
 * (completions, chat completions, and the vLLM / SGLang variants of both).
 *
 * @module
 */
import type { TokenChannel } from "../backend.ts";

/**
 * One thing a stream chunk says.
 *
 * - `done`: the `[DONE]` sentinel.
 * - `error`: `stream` for an error object the server sent mid-stream, `protocol` for a payload
 *   that is not a JSON object or a `usage` whose counts cannot be true.
 * - `tokens`: one token-bearing delta on one channel. `count` is 1 here: one chunk alone does not
 *   say how many tokens it carries; `streamEvents` replaces it with the growth of the server's
 *   running count when the chunk carries one (usage per chunk, llama.cpp's per-token timings).
 *   The output length is what was streamed; the server's `usage.completion_tokens` is kept
 *   beside it and a disagreement is a fidelity flag (reports/sql/run_fidelity.sql).
 * - `usage`: the server's token accounting.
 * - `timings`: llama.cpp's `timings` object (prompt and generation times and counts).
 * - `finish`: the choice's `finish_reason`.
 */
export type ChunkItem =
  | { kind: "done" }
  | { kind: "error"; errorKind: "stream" | "protocol"; message: string }
  | { kind: "tokens"; channel: TokenChannel; count: number; text: string }
  | {
    kind: "usage";
    promptTokens: number;
    completionTokens: number;
    cachedTokens?: number;
  }
  | { kind: "finish"; reason: string }
  | {
    kind: "timings";
    promptTokens?: number;
    promptMs?: number;
    predictedTokens?: number;
    predictedMs?: number;
  };

const SNIPPET_CHARS = 80;

/** The largest token count a usage may state: what the `requests` columns (INTEGER) hold. */
export const MAX_USAGE_TOKENS = 2 ** 31 - 1;

/**
 * Interprets one SSE `data` payload into zero or more {@linkcode ChunkItem}s, in the order
 * error, tokens (reasoning, content, tool), finish, timings, usage (or, for an impossible usage,
 * an error last).
 *
 * Tokens come from `choices[0].text` (completions), `choices[0].delta.content`,
 * `delta.reasoning_content` or `delta.reasoning` (channel `reasoning`; counted once when both are
 * present) and `delta.tool_calls` (channel `tool`; its text is the argument fragments, or the
 * function name when there are none). Role-only deltas, empty strings and chunks with empty
 * `choices` yield no tokens. Only `choices[0]` is read: the backend always asks for `n = 1`.
 * Usage is read from any chunk whose `usage` has numeric `prompt_tokens` and `completion_tokens`
 * (`prompt_tokens_details.cached_tokens` when present); other `usage` shapes are ignored. A count
 * that is negative, fractional or above {@linkcode MAX_USAGE_TOKENS}, or cached tokens above the
 * prompt's, is an error of kind `protocol`: the server's accounting cannot be true. Error
 * objects are `{"error": {...}}` (or `{"error": "text"}`) and vLLM's `{"object": "error", ...}`.
 *
 * @param data The event's data, as `SseEvent.data` gives it.
 * @param eventIndex The event's index in the stream, used to locate problems in messages.
 *
 * @example
 * ```ts
 * import { interpretChunk } from "./chunk.ts";
 * const items = interpretChunk(
 *   '{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}',
 * );
 * console.log(items); // [ { kind: "tokens", channel: "content", count: 1, text: "Hi" } ]
 * console.log(interpretChunk("[DONE]")); // [ { kind: "done" } ]
 * console.log(interpretChunk('{"choices":[{"delta":{"role":"assistant","content":""}}]}')); // []
 * ```
 */
export function interpretChunk(data: string, eventIndex = 0): ChunkItem[] {
  if (
    data === "[DONE]" ||
    (data.charCodeAt(0) !== 123 && data.trim() === "[DONE]")
  ) {
    return [{ kind: "done" }];
  }
  let obj: unknown;
  try {
    obj = JSON.parse(data);
  } catch (e) {
    return [{
      kind: "error",
      errorKind: "protocol",
      message:
        `Stream event ${eventIndex}: expected JSON or [DONE] in "data", got malformed JSON ${
          snippet(data)
        } (${(e as Error).message})`,
    }];
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    return [{
      kind: "error",
      errorKind: "protocol",
      message:
        `Stream event ${eventIndex}: expected a JSON object in "data", got ${
          snippet(data)
        }`,
    }];
  }
  const chunk = obj as Record<string, unknown>;
  const error = errorOf(chunk);
  if (error !== undefined) {
    return [{
      kind: "error",
      errorKind: "stream",
      message: `Stream event ${eventIndex}: server error: ${error}`,
    }];
  }
  const items: ChunkItem[] = [];
  const choices = chunk.choices;
  if (Array.isArray(choices) && choices.length > 0) {
    const choice = choices[0];
    if (typeof choice === "object" && choice !== null) {
      readChoice(choice, items);
    }
  }
  const timings = chunk.timings;
  if (typeof timings === "object" && timings !== null) {
    readTimings(timings as Record<string, unknown>, items);
  }
  const usage = chunk.usage;
  if (typeof usage === "object" && usage !== null) {
    const bad = readUsage(usage as Record<string, unknown>, items);
    // The chunk's tokens were received: they are kept, and the request ends here.
    if (bad !== undefined) {
      items.push({
        kind: "error",
        errorKind: "protocol",
        message: `Stream event ${eventIndex}: ${bad}`,
      });
    }
  }
  return items;
}

/** llama.cpp's `timings` (`prompt_n`, `prompt_ms`, `predicted_n`, `predicted_ms`). */
function readTimings(t: Record<string, unknown>, items: ChunkItem[]): void {
  const num = (v: unknown) =>
    typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
  const item: Extract<ChunkItem, { kind: "timings" }> = { kind: "timings" };
  const promptTokens = num(t.prompt_n);
  const promptMs = num(t.prompt_ms);
  const predictedTokens = num(t.predicted_n);
  const predictedMs = num(t.predicted_ms);
  if (promptTokens !== undefined) item.promptTokens = promptTokens;
  if (promptMs !== undefined) item.promptMs = promptMs;
  if (predictedTokens !== undefined) item.predictedTokens = predictedTokens;
  if (predictedMs !== undefined) item.predictedMs = predictedMs;
  if (Object.keys(item).length > 1) items.push(item);
}

/** Why a usage count cannot be true, or undefined when it can. */
function badCount(
  field: string,
  v: number,
  max = MAX_USAGE_TOKENS,
): string | undefined {
  if (Number.isInteger(v) && v >= 0 && v <= max) return undefined;
  return `usage.${field}: expected an integer token count in [0, ${max}], got ${v}`;
}

function readChoice(choice: Record<string, unknown>, items: ChunkItem[]): void {
  const text = choice.text;
  if (typeof text === "string" && text.length > 0) {
    items.push({ kind: "tokens", channel: "content", count: 1, text });
  }
  const delta = choice.delta;
  if (typeof delta === "object" && delta !== null) {
    const d = delta as Record<string, unknown>;
    const reasoning = nonEmpty(d.reasoning_content) ?? nonEmpty(d.reasoning);
    if (reasoning !== undefined) {
      items.push({
        kind: "tokens",
        channel: "reasoning",
        count: 1,
        text: reasoning,
      });
    }
    const content = nonEmpty(d.content);
    if (content !== undefined) {
      items.push({
        kind: "tokens",
        channel: "content",
        count: 1,
        text: content,
      });
    }
    const calls = d.tool_calls;
    if (Array.isArray(calls) && calls.length > 0) {
      items.push({
        kind: "tokens",
        channel: "tool",
        count: 1,
        text: toolText(calls),
      });
    }
  }
  const finish = choice.finish_reason;
  if (typeof finish === "string" && finish.length > 0) {
    items.push({ kind: "finish", reason: finish });
  }
}

/** Adds the usage item; returns why the usage is impossible instead, if it is. */
function readUsage(
  usage: Record<string, unknown>,
  items: ChunkItem[],
): string | undefined {
  const prompt = usage.prompt_tokens;
  const completion = usage.completion_tokens;
  if (typeof prompt !== "number" || typeof completion !== "number") return;
  const details = usage.prompt_tokens_details;
  const cached = typeof details === "object" && details !== null
    ? (details as Record<string, unknown>).cached_tokens
    : undefined;
  const bad = badCount("prompt_tokens", prompt) ??
    badCount("completion_tokens", completion) ??
    (typeof cached === "number"
      ? badCount("prompt_tokens_details.cached_tokens", cached, prompt)
      : undefined);
  if (bad !== undefined) return bad;
  items.push(
    typeof cached === "number"
      ? {
        kind: "usage",
        promptTokens: prompt,
        completionTokens: completion,
        cachedTokens: cached,
      }
      : { kind: "usage", promptTokens: prompt, completionTokens: completion },
  );
  return undefined;
}

/** The error text of an error chunk, or undefined when the chunk is not an error. */
function errorOf(chunk: Record<string, unknown>): string | undefined {
  const err = chunk.error;
  if (typeof err === "string") return err;
  if (typeof err === "object" && err !== null) {
    return describeError(err as Record<string, unknown>);
  }
  if (chunk.object === "error") return describeError(chunk);
  return undefined;
}

function describeError(e: Record<string, unknown>): string {
  const message = typeof e.message === "string" ? e.message : JSON.stringify(e);
  const extra: string[] = [];
  if (typeof e.type === "string") extra.push(`type ${e.type}`);
  if (typeof e.code === "number" || typeof e.code === "string") {
    extra.push(`code ${e.code}`);
  }
  return extra.length > 0 ? `${message} (${extra.join(", ")})` : message;
}

function toolText(calls: unknown[]): string {
  let args = "";
  let names = "";
  for (const call of calls) {
    if (typeof call !== "object" || call === null) continue;
    const fn = (call as Record<string, unknown>).function;
    if (typeof fn !== "object" || fn === null) continue;
    const f = fn as Record<string, unknown>;
    if (typeof f.arguments === "string") args += f.arguments;
    if (typeof f.name === "string") names += f.name;
  }
  return args.length > 0 ? args : names;
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

function snippet(s: string): string {
  return s.length <= SNIPPET_CHARS
    ? JSON.stringify(s)
    : `${JSON.stringify(s.slice(0, SNIPPET_CHARS))}... (${s.length} chars)`;
}
