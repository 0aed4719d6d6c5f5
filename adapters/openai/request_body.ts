/**
 * The JSON body of a streaming completions or chat completions request for one request.
 *
 * @module
 */
import type { GenerateRequest } from "../backend.ts";
import { addKindFields, type EndpointKind } from "./endpoint_kinds.ts";

/** Which OpenAI endpoint to call: `/v1/completions` or `/v1/chat/completions`. */
export type OpenAIApi = "completions" | "chat";

export type { EndpointKind } from "./endpoint_kinds.ts";

/** Options of {@linkcode buildRequestBody}. */
export interface RequestBodyOptions {
  /** Which endpoint the body is for. */
  api: OpenAIApi;
  /** Server family: which extra fields are sent (endpoint_kinds.ts). */
  endpointKind: EndpointKind;
  /** The `model` field; omitted when undefined. */
  model?: string;
  /** Merged last, so it may add or override any field. Default: none. */
  extraBody?: Record<string, unknown>;
}

/** The body, or why the request cannot be sent as given. */
export type RequestBodyResult =
  | { ok: true; body: Record<string, unknown> }
  | { ok: false; message: string };

/**
 * Builds the request body: `model`, the prompt (`prompt` as token ids or text for completions,
 * `messages` for chat; a text prompt on chat becomes one user message), `max_tokens` =
 * `req.maxTokens`, `stream: true`, `stream_options: {include_usage: true}`, the server family's
 * fields (`addKindFields`), then `extraBody`.
 *
 * Returns `ok: false` with a message when the request has no prompt or its prompt does not fit
 * the API (token ids on chat, chat messages on completions).
 *
 * @example
 * ```ts
 * import { buildRequestBody } from "./request_body.ts";
 * const req = {
 *   id: "7",
 *   maxTokens: 2,
 *   minTokens: 2,
 *   prompt: { kind: "token_ids" as const, ids: [1, 2, 3] },
 * };
 * const r = buildRequestBody(req, { api: "completions", endpointKind: "vllm", model: "m" });
 * console.log(r.ok && r.body.prompt, r.ok && r.body.min_tokens); // [ 1, 2, 3 ] 2
 * ```
 */
export function buildRequestBody(
  req: GenerateRequest,
  opts: RequestBodyOptions,
): RequestBodyResult {
  const body: Record<string, unknown> = {};
  if (opts.model !== undefined) body.model = opts.model;
  const prompt = req.prompt;
  if (prompt === undefined) {
    return {
      ok: false,
      message:
        `Request ${req.id}: expected a prompt (token ids, text or chat messages), got none; synthesize prompts for this workload before replaying it against an OpenAI-compatible server`,
    };
  }
  if (opts.api === "chat") {
    if (prompt.kind === "token_ids") {
      return {
        ok: false,
        message:
          `Request ${req.id}: the chat API needs text messages, got a token_ids prompt (${prompt.ids.length} ids); use api "completions" or a text prompt`,
      };
    }
    body.messages = prompt.kind === "text"
      ? [{ role: "user", content: prompt.text }]
      : prompt.messages.map((m) => ({ role: m.role, content: m.content }));
  } else {
    if (prompt.kind === "chat") {
      return {
        ok: false,
        message:
          `Request ${req.id}: the completions API needs a text or token_ids prompt, got chat messages (${prompt.messages.length}); use api "chat"`,
      };
    }
    body.prompt = prompt.kind === "text" ? prompt.text : prompt.ids;
  }
  body.max_tokens = req.maxTokens;
  body.stream = true;
  body.stream_options = { include_usage: true };
  addKindFields(body, opts.endpointKind, opts.api, req.minTokens);
  if (opts.extraBody !== undefined) Object.assign(body, opts.extraBody);
  return { ok: true, body };
}
