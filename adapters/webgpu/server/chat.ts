/**
 * Chat messages as clients send them, made into the messages a chat template renders: content
 * parts (`[{"type": "text", "text": ...}]`) joined with newlines as vLLM joins them, the
 * `developer` role as `system`, tool results kept as `tool` messages (the template decides how
 * they look; one that cannot render them raises, which becomes a 400).
 *
 * @module
 */
import type { TemplateMessage } from "../../../workloads/chat_template.ts";
import type { ChatMessageRequest } from "./schemas.ts";

/** The outcome of {@linkcode templateMessages}. */
export type Messages =
  | { ok: true; messages: TemplateMessage[] }
  | { ok: false; param: string; message: string };

/**
 * Normalizes validated chat messages; a content part that is not text is refused, naming it.
 *
 * @example
 * ```ts
 * import { templateMessages } from "./chat.ts";
 * const r = templateMessages([
 *   { role: "developer", content: "be brief" },
 *   { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] },
 * ]);
 * console.log(r.ok && r.messages); // [ { role: "system", content: "be brief" }, { role: "user", content: "a\nb" } ]
 * ```
 */
export function templateMessages(
  messages: readonly ChatMessageRequest[],
): Messages {
  const out: TemplateMessage[] = [];
  for (const [i, m] of messages.entries()) {
    let content: string | null;
    if (typeof m.content === "string" || m.content == null) {
      content = m.content ?? null;
    } else {
      const texts: string[] = [];
      for (const [j, part] of m.content.entries()) {
        if (part.type !== "text" || typeof part.text !== "string") {
          return {
            ok: false,
            param: `messages.${i}.content.${j}`,
            message:
              `Field "messages.${i}.content.${j}": expected a text part ({"type": "text", "text": ...}), got type ${
                JSON.stringify(part.type)
              }: tokentrace serve takes text only`,
          };
        }
        texts.push(part.text);
      }
      content = texts.join("\n");
    }
    if (content === null && !(m.role === "assistant" && m.tool_calls)) {
      return {
        ok: false,
        param: `messages.${i}.content`,
        message:
          `Field "messages.${i}.content": expected text or text parts for a ${m.role} message, got none`,
      };
    }
    const t: TemplateMessage = {
      role: m.role === "developer" ? "system" : m.role,
      content,
    };
    if (m.name) t.name = m.name;
    if (m.tool_call_id) t.tool_call_id = m.tool_call_id;
    if (m.tool_calls) t.tool_calls = m.tool_calls;
    out.push(t);
  }
  return { ok: true, messages: out };
}
