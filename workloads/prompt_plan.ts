/**
 * Chooses and builds the prompts of a workload for the API it is sent to:
 *
 * - completions with token ids: exact lengths, block hashes as shared token prefixes;
 * - text (completions or chat) with the served model's tokenizer: exact, verified lengths;
 * - text without a tokenizer: refused, unless approximation is allowed; then prompts have about
 *   one word per planned token, are flagged `approximateLengths`, and the run's report shows
 *   the drift between planned and server-reported prompt tokens.
 *
 * Requests that carry their own prompt (ShareGPT, AIPerf `text_input`) keep it.
 *
 * @module
 */
import type { TraceRequest } from "./base/request.ts";
import { synthesizePrompts } from "./prompt.ts";
import { synthesizeTextPrompts } from "./text_prompt.ts";
import type { TextTokenizer } from "./tokenizer.ts";
import { UsageError } from "./base/usage_error.ts";

/** Options of {@linkcode planPrompts}. */
export interface PromptPlanOptions {
  /** The endpoint: chat takes messages (text), completions takes text or token ids. */
  api: "completions" | "chat";
  /** Prompt kind asked for; chat implies text. */
  kind: "token_ids" | "text";
  /** The served model's tokenizer; makes text lengths exact. */
  tokenizer?: TextTokenizer;
  /** Send approximate text when there is no tokenizer. Default false. */
  allowApproximate?: boolean;
  /** Token ids are drawn below this. Default 32000. */
  vocabSize?: number;
  /** Tokens per hash block. Default 512. */
  blockSize?: number;
  /** Default 0. */
  seed?: number;
}

/** The requests with prompts and how exact their lengths are. */
export interface PromptPlan {
  /** The requests, each with its prompt. */
  requests: TraceRequest[];
  /** What the prompts are. */
  kind: "token_ids" | "text";
  /** `exact` (token ids), `verified` (tokenizer) or `approximate`. */
  lengths: "exact" | "verified" | "approximate";
  /** Requests whose prompt length is an estimate. */
  approximateRequests: number;
}

/** Why a text prompt cannot be exact; the CLI prints it. */
export class PromptLengthError extends UsageError {}

/**
 * Builds prompts for `requests` per the options.
 *
 * @example
 * ```ts
 * import { planPrompts } from "./prompt_plan.ts";
 * const reqs = [{ id: "0", arrivalMs: 0, inputTokens: 4, outputTokens: 1 }];
 * const p = planPrompts(reqs, { api: "chat", kind: "text", allowApproximate: true });
 * console.log(p.lengths, p.approximateRequests); // approximate 1
 * ```
 */
export function planPrompts(
  requests: readonly TraceRequest[],
  opts: PromptPlanOptions,
): PromptPlan {
  const kind = opts.api === "chat" ? "text" : opts.kind;
  const approxGiven =
    requests.filter((r) => r.prompt && r.approximateLengths).length;
  if (kind === "token_ids") {
    const out = synthesizePrompts(requests, {
      kind: "token_ids",
      vocabSize: opts.vocabSize,
      blockSize: opts.blockSize,
      seed: opts.seed,
    });
    return {
      requests: out,
      kind,
      lengths: approxGiven ? "approximate" : "exact",
      approximateRequests: approxGiven,
    };
  }
  if (opts.tokenizer) {
    // Chat lengths count the model's chat template, as the server applies it; without one
    // they count the content only, which is an estimate.
    const chat = opts.api === "chat";
    const noTemplate = chat && opts.tokenizer.chatTemplate === undefined;
    if (noTemplate && !opts.allowApproximate) {
      throw new PromptLengthError(
        `Tokenizer "${opts.tokenizer.path}" has no chat template (tokenizer_config.json "chat_template"), ` +
          "so chat prompt lengths cannot be counted as the server counts them: put the served model's " +
          "tokenizer_config.json beside its tokenizer.json, or pass --allow-approx-length to count the " +
          "message content only and report the length drift",
      );
    }
    const out = synthesizeTextPrompts(requests, {
      tokenizer: opts.tokenizer,
      blockSize: opts.blockSize,
      seed: opts.seed,
      chat: chat && !noTemplate,
    });
    if (noTemplate) {
      const missing = requests.filter((r) => !r.prompt).length;
      return {
        requests: out.map((r, i) =>
          requests[i].prompt ? r : { ...r, approximateLengths: true }
        ),
        kind,
        lengths: "approximate",
        approximateRequests: missing + approxGiven,
      };
    }
    return {
      requests: out,
      kind,
      lengths: approxGiven ? "approximate" : "verified",
      approximateRequests: approxGiven,
    };
  }
  const missing = requests.filter((r) => !r.prompt).length;
  assertPromptsPossible(requests, { ...opts, tokenizer: false });
  const out = synthesizePrompts(requests, { kind: "text", seed: opts.seed })
    .map((r, i) => requests[i].prompt ? r : { ...r, approximateLengths: true });
  return {
    requests: out,
    kind,
    lengths: missing + approxGiven > 0 ? "approximate" : "verified",
    approximateRequests: missing + approxGiven,
  };
}

/**
 * Throws the {@linkcode PromptLengthError} {@linkcode planPrompts} would throw, without building
 * any prompt: text prompts to synthesize, no tokenizer, and approximation not allowed. The CLI
 * calls it before it contacts a server, so a hopeless run fails first with the reason.
 *
 * @example
 * ```ts
 * import { assertPromptsPossible } from "./prompt_plan.ts";
 * const reqs = [{ id: "0", arrivalMs: 0, inputTokens: 4, outputTokens: 1 }];
 * assertPromptsPossible(reqs, { api: "completions", kind: "token_ids", tokenizer: false });
 * console.log("ok"); // ok
 * ```
 */
export function assertPromptsPossible(
  requests: readonly TraceRequest[],
  opts: Pick<PromptPlanOptions, "api" | "kind" | "allowApproximate"> & {
    tokenizer: boolean;
  },
): void {
  const kind = opts.api === "chat" ? "text" : opts.kind;
  if (kind === "token_ids" || opts.tokenizer) return;
  const missing = requests.filter((r) => !r.prompt).length;
  if (missing > 0 && !opts.allowApproximate) {
    throw new PromptLengthError(
      `${missing} request(s) need a synthesized text prompt (${
        opts.api === "chat"
          ? "chat endpoints take text messages"
          : "--prompt text"
      }), and without a tokenizer their lengths cannot be made exact: pass --tokenizer <path to the ` +
        "served model's tokenizer.json>, or --allow-approx-length to send about one word per " +
        "planned token and report the length drift" +
        (opts.api === "completions"
          ? ", or --prompt ids for exact token-id prompts"
          : ""),
    );
  }
}
