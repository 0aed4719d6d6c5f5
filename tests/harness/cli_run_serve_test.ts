// The project benchmarks itself: `tokentrace run --url` against `tokentrace serve` with default
// prompt flags. The served model (tiny preset: 256 ids, context 128 here) says its vocabulary
// and context at /v1/models; prompts use ids it accepts and lengths that fit.
import assert from "node:assert/strict";
import { Store } from "../../harness/store.ts";
import { tracePath } from "../_fixtures.ts";
import { startServe } from "../_serve_process.ts";
import { webgpuTest } from "../_system.ts";
import { runCli } from "./_cli.ts";

webgpuTest(
  "tokentrace run --url <tokentrace serve>: ids and lengths the served model accepts",
  async () => {
    const server = await startServe();
    const dir = await Deno.makeTempDir({ prefix: "tokentrace-self-" });
    try {
      const r = await runCli([
        "run",
        "--trace",
        await tracePath("azure_llm_2023/AzureLLMInferenceTrace_conv.csv"),
        "--max-requests",
        "6",
        "--speedup",
        "100",
        "--url",
        server.url,
        "--db",
        `${dir}/r.duckdb`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /4 of 6 request\(s\) exceed the served context of 129 tokens/,
      );
      const store = await Store.open(`${dir}/r.duckdb`, { readOnly: true });
      try {
        const rows = await store.query(
          `select count(*)::int as n, count(*) filter (where status = 'ok')::int as ok,
           max(input_tokens_planned + output_tokens_planned)::int as longest,
           count(*) filter (where completion_tokens_reported = output_tokens_planned)::int
             as full_length
         from requests`,
        );
        // Rows 0, 1, 2 and 5 are over 129 tokens; scaled down they take 128 (e.g. 374 + 44 -> 115 + 13).
        assert.deepEqual(rows, [{ n: 6, ok: 6, longest: 128, full_length: 6 }]);
        const w = JSON.parse(
          (await store.query("select workload from runs"))[0]
            .workload as string,
        );
        assert.deepEqual(
          [w.prompt.vocabSize, w.prompt.vocabFrom, w.fitContext],
          [256, "/v1/models", { maxModelLen: 129, adjusted: 4 }],
        );
        // --endpoint-kind auto: tokentrace serve lists its model as owned by tokentrace, so the
        // vLLM extras (ignore_eos, min_tokens) are sent and every output has its planned length.
        const info = JSON.parse(
          (await store.query("select backend_info from runs"))[0]
            .backend_info as string,
        );
        assert.equal(info.endpointKind, "vllm");
      } finally {
        store.close();
      }
    } finally {
      await server.stop();
    }
  },
);

webgpuTest(
  "tokentrace run --url <tokentrace serve>: --vocab-size above the served vocabulary is refused",
  async () => {
    const server = await startServe();
    try {
      const r = await runCli([
        "run",
        "--trace",
        await tracePath("azure_llm_2023/AzureLLMInferenceTrace_conv.csv"),
        "--max-requests",
        "1",
        "--url",
        server.url,
        "--vocab-size",
        "32000",
        "--db",
        `${await Deno.makeTempDir()}/r.duckdb`,
      ]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /--vocab-size: expected at most 256, the vocabulary of preset:tiny as http:\/\/127\.0\.0\.1:\d+\/v1\/models states it \(ids at or above it are invalid there\), got "32000"/,
      );
    } finally {
      await server.stop();
    }
  },
);
