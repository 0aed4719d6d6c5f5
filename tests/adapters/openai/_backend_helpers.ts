/**
 * Helpers for the OpenAI backend tests: a recording hono app, a deterministic clock and event
 * collection.
 *
 * @module
 */
import { Hono } from "hono";
import { generateRequest } from "../../../harness/generate_request.ts";
import type { StreamEvent } from "../../../adapters/backend.ts";
import type { OpenAIBackend } from "../../../adapters/openai/backend.ts";
import type { TraceRequest } from "../../../workloads/base/request.ts";

/** One request the test server received. */
export interface Seen {
  path: string;
  body: Record<string, unknown>;
  headers: Headers;
}

/**
 * A hono app serving both streaming endpoints with `reply` (and `GET /v1/models`), recording
 * every request it receives.
 */
export function recordingApp(
  reply: (c: { req: { raw: Request } }) => Response | Promise<Response>,
): { app: Hono; seen: Seen[] } {
  const app = new Hono();
  const seen: Seen[] = [];
  const handler = async (
    c: { req: { raw: Request; path: string; json(): Promise<unknown> } },
  ) => {
    seen.push({
      path: c.req.path,
      body: await c.req.json() as Record<string, unknown>,
      headers: c.req.raw.headers,
    });
    return reply(c);
  };
  app.post("/v1/completions", handler);
  app.post("/v1/chat/completions", handler);
  app.get(
    "/v1/models",
    (c) =>
      c.json({
        object: "list",
        data: [{ id: "served-model", object: "model" }],
      }),
  );
  return { app, seen };
}

/** A clock that advances 1000 ns per call, so each call's value is distinct and predictable. */
export function stepClock(): () => bigint {
  let t = 0n;
  return () => (t += 1000n);
}

/** A request with a token-id prompt. */
export function idsRequest(id = "r1", outputTokens = 3): TraceRequest {
  return {
    id,
    arrivalMs: 0,
    inputTokens: 4,
    outputTokens,
    prompt: { kind: "token_ids", ids: [101, 102, 103, 104] },
  };
}

/** A request with a text prompt. */
export function textRequest(
  text: string,
  id = "r2",
  outputTokens = 2,
): TraceRequest {
  return {
    id,
    arrivalMs: 0,
    inputTokens: 4,
    outputTokens,
    prompt: { kind: "text", text },
  };
}

/** Drains `backend.generate()` into an array. */
export async function collect(
  backend: OpenAIBackend,
  req: TraceRequest,
  signal: AbortSignal = new AbortController().signal,
): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const ev of backend.generate(generateRequest(req), signal)) {
    out.push(ev);
  }
  return out;
}

/** The terminal event of `events`, checking that there is exactly one and that it is last. */
export function terminal(events: StreamEvent[]): StreamEvent {
  const ends = events.filter((e) => e.kind === "done" || e.kind === "error");
  if (ends.length !== 1 || events.at(-1) !== ends[0]) {
    throw new Error(
      `Expected exactly one terminal event, last; got ${
        JSON.stringify(events, replacer)
      }`,
    );
  }
  return ends[0];
}

function replacer(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? `${v}n` : v;
}
