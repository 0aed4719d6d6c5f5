// `tokentrace run --backend webgpu` end to end: the built-in engine in-process replays a trace
// excerpt; every step lands in engine_steps and every sampled token in engine_tokens.
import assert from "node:assert/strict";
import { Store } from "../../../harness/store.ts";
import { parseRunConfig } from "../../../harness/cli/run_config.ts";
import { webgpuTest } from "../../_system.ts";

const root = new URL("../../../", import.meta.url);

webgpuTest({
  name:
    "tokentrace run --backend webgpu records engine_steps and engine_tokens",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const db = `${dir}/r.duckdb`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "mod.ts",
        "run",
        "--backend",
        "webgpu",
        "--model",
        "tiny",
        "--policy",
        "sarathi",
        "--attention",
        "serial",
        "--token-budget",
        "32",
        "--max-seqs",
        "4",
        "--kv-blocks",
        "64",
        "--trace",
        "workloads/data/azure_conv_2023_first660.csv",
        "--max-requests",
        "5",
        "--cap-input",
        "40",
        "--cap-output",
        "6",
        "--speedup",
        "8",
        "--db",
        db,
        "--quiet",
      ],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const store = await Store.open(db, { readOnly: true });
    try {
      const [run] = await store.query(
        "select backend, backend_info->>'policy' as policy, backend_info->>'attention' as attention, backend_info->>'tokenBudget' as budget from runs",
      );
      assert.deepEqual(
        { ...run },
        {
          backend: "webgpu",
          policy: "sarathi",
          attention: "serial",
          budget: "32",
        },
      );
      const [r] = await store.query(
        `select count(*)::int as n, count(*) filter (where status = 'ok')::int as ok,
           sum(completion_tokens_reported)::int as out from requests`,
      );
      assert.deepEqual({ ...r }, { n: 5, ok: 5, out: 30 });
      const [s] = await store.query(
        `select count(*)::int as steps, sum(prefill_tokens)::int as prefill,
           sum(sample_rows)::int as samples, max(prefill_tokens + decode_tokens)::int as most,
           bool_and(kv_blocks_total = 64) as total,
           bool_and(t_sched_ns <= t_submit_ns and t_submit_ns <= t_readback_ns) as ordered,
           min(policy) as policy
         from engine_steps`,
      );
      assert.equal(s.prefill, 5 * 40);
      assert.equal(s.samples, 30);
      assert.ok((s.most as number) <= 32);
      assert.equal(s.total, true);
      assert.equal(s.ordered, true);
      assert.equal(s.policy, "sarathi");
      // Every client token has its engine token, joined to the step that sampled it.
      const [j] = await store.query(
        `select count(*)::int as n, count(s.step)::int as joined
         from engine_tokens t left join engine_steps s using (run_id, step)`,
      );
      assert.deepEqual({ ...j }, { n: 30, joined: 30 });
    } finally {
      store.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("parseRunConfig() takes --backend webgpu without --url, and names bad engine flags", async (t) => {
  const base = {
    trace: "t.csv",
    api: "completions",
    endpointKind: "openai",
    apiKeyEnv: "OPENAI_API_KEY",
    timeout: "600",
    speedup: "1",
    prompt: "ids",
    vocabSize: "32000",
    db: "r.duckdb",
  };
  await t.step("defaults", () => {
    const c = parseRunConfig({ ...base, backend: "webgpu" });
    assert.equal(c.backend, "webgpu");
    assert.equal(c.engine?.model, "tiny");
  });
  await t.step("bad policy", () => {
    assert.throws(
      () => parseRunConfig({ ...base, backend: "webgpu", policy: "fifo" }),
      {
        message:
          'Option --policy: expected one of prefill-first, sarathi, decode-first, got "fifo"',
      },
    );
  });
  await t.step("token budget below max seqs", () => {
    assert.throws(
      () =>
        parseRunConfig({
          ...base,
          backend: "webgpu",
          tokenBudget: "8",
          maxSeqs: "16",
        }),
      {
        message:
          'Option --token-budget: expected an integer >= --max-seqs (16), so every decode fits one step, got "8"',
      },
    );
  });
});
