/**
 * Test helper: tokentrace serve's app over tiny-llama-f32 with the 256-id tiny-sp256 tokenizer
 * fixture (one engine per test process), and the request/response helpers its tests share.
 *
 * @module
 */
import { createServeApp } from "../../../../adapters/webgpu/server/app.ts";
import {
  openServingEngine,
  type ServingEngine,
} from "../../../../adapters/webgpu/serving/serving_engine.ts";
import { openCodec } from "../../../../adapters/webgpu/text/codec.ts";
import { fixturePath, modelDir } from "../../../_fixtures.ts";

/** The tokenizer fixture's folder. */
export const TOKENIZER = fixturePath("tokenizers/tiny-sp256");
/** Options of every test that holds the shared engine. */
export const opts = { sanitizeResources: false, sanitizeOps: false };
let shared: Promise<ServingEngine> | null = null;
const engine = () =>
  shared ??= openServingEngine({
    model: modelDir("tiny-llama-f32"),
    dtype: "f32",
    maxSeqs: 4,
    tokenBudget: 64,
    maxContext: 96,
  });
globalThis.addEventListener("unload", () => {
  shared?.then((e) => e.close());
});

/** A fresh app (its own counters) over the shared engine, serving the model as "tiny". */
export async function app(): Promise<ReturnType<typeof createServeApp>> {
  const e = await engine();
  return createServeApp({
    loop: e.loop,
    info: e.info,
    codec: await openCodec(TOKENIZER),
    modelName: "tiny",
  });
}

/** A JSON POST for `app.request()`. */
export const post = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** Data payloads of an SSE body. */
export const sseData = (text: string): string[] =>
  text.split("\n\n").filter((b) => b.startsWith("data: ")).map((b) =>
    b.slice(6)
  );
