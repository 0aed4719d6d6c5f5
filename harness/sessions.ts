/**
 * Multi-turn sessions, as pure functions: which requests start a session, which turn follows
 * which, how long to wait between a reply and the next turn, and the next turn's prompt with
 * the conversation so far (the replies actually received, not the trace's recorded ones).
 *
 * @module
 */
import type { ChatMessage, TraceRequest } from "../workloads/base/request.ts";

/** How a workload's requests chain into sessions. */
export interface SessionPlan {
  /** Requests sent on their own schedule: first turns and requests without a session. */
  heads: TraceRequest[];
  /** Request id -> the turn that follows it in its session. */
  next: Map<string, TraceRequest>;
}

/**
 * Chains requests that share a `sessionId` by `turn` (then arrival); the rest stay heads.
 *
 * @example
 * ```ts
 * import { planSessions } from "./sessions.ts";
 * const r = (id: string, s?: string, turn?: number) =>
 *   ({ id, arrivalMs: 0, inputTokens: 1, outputTokens: 1, sessionId: s, turn });
 * const p = planSessions([r("a", "s", 0), r("b"), r("c", "s", 1)]);
 * console.log(p.heads.map((x) => x.id), p.next.get("a")?.id); // [ "a", "b" ] c
 * ```
 */
export function planSessions(requests: readonly TraceRequest[]): SessionPlan {
  const bySession = new Map<string, TraceRequest[]>();
  const heads: TraceRequest[] = [];
  for (const r of requests) {
    if (r.sessionId === undefined) {
      heads.push(r);
      continue;
    }
    const turns = bySession.get(r.sessionId);
    if (turns) turns.push(r);
    else bySession.set(r.sessionId, [r]);
  }
  const next = new Map<string, TraceRequest>();
  const firsts = new Set<TraceRequest>();
  for (const turns of bySession.values()) {
    turns.sort((a, b) =>
      (a.turn ?? 0) - (b.turn ?? 0) || a.arrivalMs - b.arrivalMs
    );
    firsts.add(turns[0]);
    for (let i = 0; i + 1 < turns.length; i++) {
      next.set(turns[i].id, turns[i + 1]);
    }
  }
  // Keep the workload's order (arrival order) among heads.
  return {
    heads: requests.filter((r) => r.sessionId === undefined || firsts.has(r)),
    next,
  };
}

/**
 * The wait between turn k's reply and turn k+1: the trace's think time when it gives one,
 * else the gap between the two turns' arrivals (an upper bound: that gap also held the reply).
 *
 * @example
 * ```ts
 * import { turnDelayMs } from "./sessions.ts";
 * const a = { id: "a", arrivalMs: 100, inputTokens: 1, outputTokens: 1 };
 * console.log(turnDelayMs(a, { ...a, id: "b", arrivalMs: 350 }), turnDelayMs(a, { ...a, thinkTimeMs: 40 }));
 * // 250 40
 * ```
 */
export function turnDelayMs(prev: TraceRequest, next: TraceRequest): number {
  return next.thinkTimeMs ?? Math.max(0, next.arrivalMs - prev.arrivalMs);
}

/**
 * Turn k+1 carrying the conversation so far: for chat, the messages actually sent in turn k,
 * the reply actually received, then turn k+1's own new user message; for text, the same
 * concatenated; token-id prompts are kept (block-hash traces already encode the shared prefix).
 *
 * @example
 * ```ts
 * import { withHistory } from "./sessions.ts";
 * const sent = { id: "a", arrivalMs: 0, inputTokens: 2, outputTokens: 2,
 *   prompt: { kind: "chat" as const, messages: [{ role: "user" as const, content: "hi" }] } };
 * const next = { ...sent, id: "b", prompt: { kind: "chat" as const, messages: [
 *   { role: "user" as const, content: "hi" }, { role: "assistant" as const, content: "(recorded)" },
 *   { role: "user" as const, content: "more" }] } };
 * const out = withHistory(next, sent, "hello!");
 * console.log(out.prompt?.kind === "chat" && out.prompt.messages.map((m) => m.content));
 * // [ "hi", "hello!", "more" ]
 * ```
 */
export function withHistory(
  next: TraceRequest,
  sent: TraceRequest,
  reply: string,
): TraceRequest {
  const p = next.prompt;
  const s = sent.prompt;
  if (p?.kind === "chat" && s?.kind === "chat") {
    const own = lastUserTurn(p.messages);
    const messages: ChatMessage[] = [
      ...s.messages,
      { role: "assistant", content: reply },
      ...own,
    ];
    return { ...next, prompt: { kind: "chat", messages } };
  }
  if (p?.kind === "text" && s?.kind === "text") {
    return {
      ...next,
      prompt: { kind: "text", text: `${s.text}\n${reply}\n${p.text}` },
    };
  }
  return next;
}

/** The trailing user messages of a chat (the turn's own new input). */
function lastUserTurn(messages: readonly ChatMessage[]): ChatMessage[] {
  let i = messages.length;
  while (i > 0 && messages[i - 1].role === "user") i--;
  return messages.slice(i);
}
