/**
 * Reader for ShareGPT JSON (`[{"id", "conversations": [{"from": "human"|"gpt", "value"}]}]`),
 * the dataset most serving benchmarks sample prompts from. It has no arrival times: every
 * request arrives at 0 until an arrival process is assigned (`assignArrivals`).
 *
 * `first-turn` (default, as vLLM's benchmark): one request per conversation that starts with a
 * human turn answered by the model: prompt = the human text, output length = the tokens of the
 * answer. `sessions`: every human turn of a conversation is a request of one session, its prompt
 * the chat so far. Token counts come from the tokenizer when one is given, else are estimated.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { ChatMessage, TraceRequest } from "../base/request.ts";
import { sqlString } from "./_duckdb.ts";
import {
  finishRead,
  type ReaderOptions,
  type ReaderResult,
  textTokens,
} from "./reader.ts";
import { TraceError } from "./trace_error.ts";

const ROLES: Record<string, ChatMessage["role"]> = {
  human: "user",
  user: "user",
  gpt: "assistant",
  chatgpt: "assistant",
  assistant: "assistant",
  bard: "assistant",
  bing: "assistant",
  system: "system",
};

/**
 * Reads a ShareGPT JSON file.
 *
 * @example
 * ```ts
 * import { withDuckDB } from "./_duckdb.ts";
 * import { DEFAULT_READER_OPTIONS } from "./reader.ts";
 * import { readShareGpt } from "./sharegpt.ts";
 * const p = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(p, JSON.stringify([{ id: "a", conversations: [
 *   { from: "human", value: "Hello there" }, { from: "gpt", value: "Hi! How can I help?" }] }]));
 * const r = await withDuckDB((c) => readShareGpt(c, p, DEFAULT_READER_OPTIONS));
 * console.log(r.requests[0].inputTokens, r.requests[0].outputTokens); // 3 5
 * ```
 */
export async function readShareGpt(
  conn: DuckDBConnection,
  path: string,
  opts: ReaderOptions,
): Promise<ReaderResult> {
  let rows: Record<string, unknown>[];
  try {
    rows = (await conn.runAndReadAll(
      `select id::varchar as id, conversations from read_json(${
        sqlString(path)
      }, format = 'array',
         columns = {'id': 'VARCHAR', 'conversations': 'STRUCT("from" VARCHAR, "value" VARCHAR)[]'})`,
    )).getRowObjectsJS() as Record<string, unknown>[];
  } catch (e) {
    throw new TraceError(
      { path },
      `expected a ShareGPT JSON array of {"id", "conversations": [{"from", "value"}]}: ${
        (e as Error).message.split("\n")[0]
      }`,
    );
  }
  const requests: TraceRequest[] = [];
  let filtered = 0;
  let approximate = false;
  const count = (text: string) => {
    const t = textTokens(opts, text);
    approximate ||= t.approximate;
    return t.n;
  };
  rows.forEach((row, rec) => {
    const turns = ((row.conversations ?? []) as {
      from: string | null;
      value: string | null;
    }[])
      .map((t) => ({
        role: ROLES[String(t.from).toLowerCase()],
        content: t.value ?? "",
      }));
    const id = row.id === null ? String(rec) : String(row.id);
    if (opts.sharegpt === "first-turn") {
      if (
        turns.length < 2 || turns[0].role !== "user" ||
        turns[1].role !== "assistant"
      ) {
        filtered++;
        return;
      }
      requests.push({
        id: String(rec),
        traceIndex: rec,
        arrivalMs: 0,
        inputTokens: count(turns[0].content),
        outputTokens: count(turns[1].content),
        prompt: { kind: "text", text: turns[0].content },
        ...(opts.countTokens ? {} : { approximateLengths: true }),
      });
      return;
    }
    const history: ChatMessage[] = [];
    let turn = 0;
    for (let k = 0; k < turns.length; k++) {
      const t = turns[k];
      if (t.role === undefined) break;
      if (t.role === "user" && turns[k + 1]?.role === "assistant") {
        const messages = [...history, { role: t.role, content: t.content }];
        requests.push({
          id: `${rec}.${turn}`,
          traceIndex: rec,
          arrivalMs: 0,
          inputTokens: count(messages.map((m) => m.content).join("\n")),
          outputTokens: count(turns[k + 1].content),
          prompt: { kind: "chat", messages },
          sessionId: id,
          turn,
          ...(opts.countTokens ? {} : { approximateLengths: true }),
        });
        turn++;
      }
      history.push({ role: t.role, content: t.content });
    }
    if (turn === 0) filtered++;
  });
  return finishRead(path, opts, {
    requests,
    findings: [],
    filtered,
    sourceFailures: 0,
    originMs: 0,
  }, {
    records: rows.length,
    locate: () => Promise.resolve(new Map()),
    recordsHaveLines: false,
    timed: false,
    lengths: approximate ? "approximate" : "counted",
  });
}
