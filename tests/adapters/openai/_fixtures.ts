/**
 * Test fixtures for the OpenAI adapter: a recorded vLLM chat stream, stream builders and a local
 * hono server helper.
 *
 * @module
 */
import type { Hono } from "hono";
import type { SseEvent } from "../../../adapters/openai/sse.ts";

const ID =
  `"id":"chatcmpl-5e1d2b","object":"chat.completion.chunk","created":1732233600,"model":"Qwen/Qwen3-0.6B"`;

/** One chat chunk as vLLM sends it (`finish` null unless given). */
export function chatChunk(
  delta: Record<string, unknown>,
  finish: string | null = null,
): string {
  return `{${ID},"choices":[{"index":0,"delta":${
    JSON.stringify(delta)
  },"logprobs":null,"finish_reason":${JSON.stringify(finish)}}]}`;
}

/** The usage chunk vLLM sends last when `stream_options.include_usage` is set. */
export const USAGE_CHUNK =
  `{${ID},"choices":[],"usage":{"prompt_tokens":12,"total_tokens":17,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":8}}}`;

/**
 * A recorded vLLM chat stream with CRLF line endings: role chunk, reasoning chunk, keep-alive
 * comment, multi-byte UTF-8 content, an event with `event:`/`id:` and two-line data, `retry:`,
 * usage chunk and `[DONE]`.
 */
export const VLLM_CHAT_STREAM = [
  `data: ${chatChunk({ role: "assistant", content: "" })}`,
  ``,
  `data: ${chatChunk({ reasoning_content: "Let me think" })}`,
  ``,
  `: keep-alive`,
  ``,
  `data: ${chatChunk({ content: "héllo" })}`,
  ``,
  `data:${chatChunk({ content: " 世界" })}`,
  ``,
  `event: message`,
  `id: 42`,
  `data: {${ID},`,
  `data: "choices":[{"index":0,"delta":{"content":" 🚀"},"logprobs":null,"finish_reason":"stop"}]}`,
  ``,
  `retry: 3000`,
  `data: ${USAGE_CHUNK}`,
  ``,
  `data: [DONE]`,
  ``,
  ``,
].join("\r\n");

/** The events {@linkcode VLLM_CHAT_STREAM} must parse into. */
export const VLLM_CHAT_EVENTS: SseEvent[] = [
  {
    type: "message",
    data: chatChunk({ role: "assistant", content: "" }),
    lastEventId: "",
    index: 0,
  },
  {
    type: "message",
    data: chatChunk({ reasoning_content: "Let me think" }),
    lastEventId: "",
    index: 1,
  },
  {
    type: "message",
    data: chatChunk({ content: "héllo" }),
    lastEventId: "",
    index: 2,
  },
  {
    type: "message",
    data: chatChunk({ content: " 世界" }),
    lastEventId: "",
    index: 3,
  },
  {
    type: "message",
    data:
      `{${ID},\n"choices":[{"index":0,"delta":{"content":" 🚀"},"logprobs":null,"finish_reason":"stop"}]}`,
    lastEventId: "42",
    index: 4,
  },
  { type: "message", data: USAGE_CHUNK, lastEventId: "42", index: 5 },
  { type: "message", data: "[DONE]", lastEventId: "42", index: 6 },
];

/** Formats payloads as `data:` events with LF endings. */
export function sse(...payloads: string[]): string {
  return payloads.map((p) => `data: ${p}\n\n`).join("");
}

/** Options of {@linkcode streamResponse}. */
export interface StreamResponseOptions {
  /** Pause before each part after the first, in milliseconds. Default: 0. */
  gapMs?: number;
  /** Keep the body open after the last part until the client goes away. Default: false. */
  holdOpen?: boolean;
  /** Response status. Default: 200. */
  status?: number;
}

/** A streaming `text/event-stream` response that sends `parts` as separate writes. */
export function streamResponse(
  parts: string[],
  opts: StreamResponseOptions = {},
): Response {
  const enc = new TextEncoder();
  let cancelled = false;
  let wake: () => void = () => {};
  const body = new ReadableStream<Uint8Array>({
    async start(ctl) {
      for (let i = 0; i < parts.length && !cancelled; i++) {
        if (i > 0 && (opts.gapMs ?? 0) > 0) await sleep(opts.gapMs ?? 0);
        if (!cancelled) ctl.enqueue(enc.encode(parts[i]));
      }
      if (opts.holdOpen) await new Promise<void>((resolve) => (wake = resolve));
      if (!cancelled) ctl.close();
    },
    cancel() {
      cancelled = true;
      wake();
    },
  });
  return new Response(body, {
    status: opts.status ?? 200,
    headers: { "content-type": "text/event-stream" },
  });
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Serves `app` on 127.0.0.1 (port 0) for the duration of `fn`, which gets the base URL. */
export async function withServer<T>(
  app: Hono,
  fn: (baseUrl: string) => Promise<T>,
): Promise<T> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    app.fetch,
  );
  try {
    return await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

/** A local port nothing listens on: the port of a listener that was just closed. */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}
