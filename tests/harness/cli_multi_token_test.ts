// tokentrace run against scripted servers that put several tokens in one chunk: the tokens each
// chunk stands for come from the server's running count (vLLM-style usage per chunk, llama.cpp's
// per-token timings), so per-token ITL differs from per-chunk ITL, and the server's own timings
// are stored beside the client's times; a server that says nothing is counted with the served
// model's tokenizer (--tokenizer). The endpoint kind comes from /v1/models' owned_by.
import assert from "node:assert/strict";
import { Store } from "../../harness/store.ts";
import { installViews } from "../../reports/sql/views.ts";
import { fixturePath } from "../_fixtures.ts";
import { runCli, writeAzureTrace } from "./_cli.ts";

const enc = new TextEncoder();
/** Tokens per chunk the servers send, for every request... */
const CHUNKS = [1, 3, 2];
/** ...and their text: 1, 3 and 2 tokens for the tiny-sp256 tokenizer, each after the one before. */
const TEXTS = ["an", " to the so", " is it"];
const TOKENIZER = fixturePath("tokenizers/tiny-sp256");

/**
 * A server whose /v1/models says `owner`: `vllm` puts usage in every chunk, `llamacpp` its
 * per-token timings, `plain` neither.
 */
function multiTokenServer(
  owner: "vllm" | "llamacpp" | "plain",
  bodies: Record<string, unknown>[],
) {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/v1/models") {
        return Response.json({
          data: [{ id: "m", owned_by: owner, max_model_len: 4096 }],
        });
      }
      // Other GETs (vLLM's /version) are not served.
      if (req.method !== "POST") {
        return new Response("not found", { status: 404 });
      }
      bodies.push(await req.json());
      const stream = new ReadableStream<Uint8Array>({
        async start(ctrl) {
          const put = (v: unknown) =>
            ctrl.enqueue(enc.encode(`data: ${JSON.stringify(v)}\n\n`));
          let n = 0;
          for (const [i, k] of CHUNKS.entries()) {
            // The gap between chunks is the server's pace; the test asserts no time values.
            await new Promise((r) => setTimeout(r, 3));
            n += k;
            const chunk: Record<string, unknown> = {
              choices: [{
                index: 0,
                text: TEXTS[i],
                finish_reason: i === CHUNKS.length - 1 ? "length" : null,
              }],
            };
            if (owner === "vllm") {
              chunk.usage = {
                prompt_tokens: 8,
                completion_tokens: n,
                total_tokens: 8 + n,
              };
            } else if (owner === "llamacpp") {
              chunk.timings = {
                prompt_n: 8,
                prompt_ms: 12.5,
                predicted_n: n,
                predicted_ms: 4 * (n - 1),
              };
            }
            put(chunk);
          }
          put({
            choices: [],
            usage: {
              prompt_tokens: 8,
              completion_tokens: n,
              total_tokens: 8 + n,
            },
          });
          ctrl.enqueue(enc.encode("data: [DONE]\n\n"));
          ctrl.close();
        },
      });
      return new Response(stream, {
        headers: { "content-type": "text/event-stream" },
      });
    },
  );
}

for (const owner of ["vllm", "llamacpp", "plain"] as const) {
  Deno.test(`tokentrace run: multi-token chunks counted from the server's running count (${owner})`, async () => {
    const bodies: Record<string, unknown>[] = [];
    const server = multiTokenServer(owner, bodies);
    const dir = await Deno.makeTempDir({ prefix: "tokentrace-mt-" });
    try {
      await writeAzureTrace(`${dir}/t.csv`, 3, 5, 8, 6);
      const r = await runCli([
        "run",
        "--trace",
        `${dir}/t.csv`,
        "--url",
        `http://127.0.0.1:${server.addr.port}`,
        "--db",
        `${dir}/r.duckdb`,
        "--quiet",
        ...(owner === "plain" ? ["--tokenizer", TOKENIZER] : []),
      ]);
      assert.equal(r.code, 0, r.stderr);
      // auto picked the kind from owned_by: its fields were sent.
      if (owner === "vllm") {
        assert.deepEqual(bodies[0].stream_options, {
          include_usage: true,
          continuous_usage_stats: true,
        });
      } else if (owner === "llamacpp") {
        assert.equal(bodies[0].timings_per_token, true);
        assert.equal(bodies[0].ignore_eos, true);
        assert.equal(bodies[0].min_tokens, undefined);
      }
      const store = await Store.open(`${dir}/r.duckdb`);
      await installViews(store);
      const chunks = await store.query(
        `select req_id, string_agg(n_tokens::varchar, ',' order by seq) as n from token_events group by req_id order by req_id`,
      );
      assert.deepEqual(chunks.map((c) => c.n), Array(3).fill(CHUNKS.join(",")));
      const gaps = await store.query(
        `select n_tokens, itl_ms, itl_per_token_ms from itl_gaps order by req_id, seq`,
      );
      assert.equal(gaps.length, 6);
      for (const g of gaps) {
        const perToken = (g.itl_ms as number) / (g.n_tokens as number);
        assert.ok(Math.abs((g.itl_per_token_ms as number) - perToken) < 1e-9);
        // Chunks read from the socket together share one time (a 0 ms gap, on a busy machine):
        // per-token and per-chunk ITL differ only across a real gap.
        if ((g.n_tokens as number) > 1 && (g.itl_ms as number) > 0) {
          assert.notEqual(g.itl_per_token_ms, g.itl_ms);
        }
      }
      const reqs = await store.query(
        `select output_tokens_counted, completion_tokens_reported, server_prompt_tokens,
           server_prompt_ms, server_predicted_tokens, server_predicted_ms
         from requests order by req_id`,
      );
      for (const q of reqs) {
        assert.equal(q.output_tokens_counted, 6);
        assert.equal(q.completion_tokens_reported, 6);
        if (owner === "llamacpp") {
          assert.deepEqual(
            [
              q.server_prompt_tokens,
              q.server_prompt_ms,
              q.server_predicted_tokens,
              q.server_predicted_ms,
            ],
            [8, 12.5, 6, 20],
          );
        } else {
          assert.equal(q.server_predicted_tokens, null);
        }
      }
      store.close();
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
