/**
 * The one place a trace request becomes what a backend is asked: the replay sends
 * {@linkcode generateRequest} of each try, and a retry's id is {@linkcode attemptId}.
 *
 * @module
 */
import type { GenerateRequest } from "../adapters/backend.ts";
import type { TraceRequest } from "../workloads/base/request.ts";

/**
 * The id of try `attempt` (0 = the first) of request `id`: the id itself, then `<id>~retry<n>`.
 *
 * @example
 * ```ts
 * import { attemptId } from "./generate_request.ts";
 * console.log(attemptId("r7", 0), attemptId("r7", 2)); // r7 r7~retry2
 * ```
 */
export function attemptId(id: string, attempt: number): string {
  return attempt === 0 ? id : `${id}~retry${attempt}`;
}

/**
 * What a backend is sent for try `attempt` of `req`: its id (a retry's own), its prompt, and its
 * planned output length as both the most and the least tokens to generate (outputs of the planned
 * length, as the trace recorded them).
 *
 * @example
 * ```ts
 * import { generateRequest } from "./generate_request.ts";
 * const req = { id: "r7", arrivalMs: 10, inputTokens: 3, outputTokens: 5 };
 * console.log(generateRequest(req, 1)); // { id: "r7~retry1", prompt: undefined, maxTokens: 5, minTokens: 5 }
 * ```
 */
export function generateRequest(
  req: TraceRequest,
  attempt = 0,
): GenerateRequest {
  return {
    id: attemptId(req.id, attempt),
    prompt: req.prompt,
    maxTokens: req.outputTokens,
    minTokens: req.outputTokens,
  };
}
