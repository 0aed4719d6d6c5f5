/**
 * Test helper: an OpenAI-compatible streaming server with ONE serving slot, so requests queue
 * and time to first token grows once arrivals outpace service: the load at which SLO
 * attainment collapses is known (about 1 / (ttftMs + (max_tokens - 1) * itlMs) req/s).
 *
 * @module
 */
import { Hono } from "hono";

/** A listening queueing server on 127.0.0.1; `close()` stops it. */
export interface QueueServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the server; each request waits for the previous one to finish streaming. */
export function serveQueue(
  timing: { ttftMs: number; itlMs: number },
): QueueServer {
  const app = new Hono();
  let tail: Promise<void> = Promise.resolve();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const enc = new TextEncoder();
  app.get(
    "/v1/models",
    (c) => c.json({ object: "list", data: [{ id: "queue", object: "model" }] }),
  );
  app.post("/v1/completions", async (c) => {
    const body = await c.req.json();
    const n = Number(body.max_tokens ?? 4);
    const prompt = Array.isArray(body.prompt) ? body.prompt.length : 1;
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = tail;
    tail = before.then(() => mine);
    const stream = new ReadableStream<Uint8Array>({
      async start(ctl) {
        await before;
        try {
          await sleep(timing.ttftMs);
          for (let k = 0; k < n; k++) {
            if (k > 0) await sleep(timing.itlMs);
            const chunk = {
              id: "q",
              object: "text_completion",
              model: "queue",
              choices: [{
                index: 0,
                text: `t${k} `,
                finish_reason: k === n - 1 ? "length" : null,
              }],
            };
            ctl.enqueue(enc.encode(`data: ${JSON.stringify(chunk)}\n\n`));
          }
          const usage = {
            prompt_tokens: prompt,
            completion_tokens: n,
            total_tokens: prompt + n,
          };
          ctl.enqueue(
            enc.encode(
              `data: ${JSON.stringify({ id: "q", choices: [], usage })}\n\n`,
            ),
          );
          ctl.enqueue(enc.encode("data: [DONE]\n\n"));
          ctl.close();
        } catch {
          // the client went away
        } finally {
          release();
        }
      },
      cancel() {
        release();
      },
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream" },
    });
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    app.fetch,
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}
