// tokentrace run --url against tokentrace serve with the checkpoint's tokenizer and chat template
// (tiny-llama-f32 + the tiny-sp256 fixture): text prompts planned with the same tokenizer, the
// chat template counted, no stray space, are exactly as long as the server counts them.
import assert from "node:assert/strict";
import { Store } from "../../harness/store.ts";
import { fixturePath, modelDir } from "../_fixtures.ts";
import { startServe } from "../_serve_process.ts";
import { webgpuTest } from "../_system.ts";
import { runCli } from "./_cli.ts";

const TOKENIZER = fixturePath("tokenizers/tiny-sp256");

webgpuTest(
  "tokentrace run --tokenizer against serve with the same tokenizer: planned prompt lengths are the served ones",
  async (t) => {
    const server = await startServe([
      "--model",
      modelDir("tiny-llama-f32"),
      "--tokenizer",
      TOKENIZER,
    ]);
    const dir = await Deno.makeTempDir({ prefix: "tokentrace-text-" });
    try {
      for (const api of ["chat", "completions"]) {
        await t.step(`--api ${api}`, async () => {
          const db = `${dir}/${api}.duckdb`;
          const r = await runCli([
            "run",
            "--synthetic",
            "n=6,arrival=gamma:20:1,input=uniform:40:90,output=uniform:3:6",
            "--api",
            api,
            "--prompt",
            "text",
            "--tokenizer",
            TOKENIZER,
            "--url",
            server.url,
            "--db",
            db,
            "--quiet",
          ]);
          assert.equal(r.code, 0, r.stderr);
          const store = await Store.open(db, { readOnly: true });
          try {
            const rows = await store.query(
              `select count(*)::int as n,
                 count(*) filter (where prompt_tokens_reported = input_tokens_planned)::int
                   as exact_input,
                 count(*) filter (where completion_tokens_reported = output_tokens_planned)::int
                   as exact_output
               from requests where status = 'ok'`,
            );
            assert.deepEqual(rows, [{ n: 6, exact_input: 6, exact_output: 6 }]);
            const w = JSON.parse(
              (await store.query("select workload from runs"))[0]
                .workload as string,
            );
            assert.equal(w.prompt.lengths, "verified");
          } finally {
            store.close();
          }
        });
      }
    } finally {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
