import assert from "node:assert/strict";
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import { Store } from "../../harness/store.ts";
import {
  parseColumns,
  parseWorkloadFlags,
  workloadNotes,
} from "../../harness/cli/workload_flags.ts";
import { loadWorkload } from "../../workloads/mod.ts";
import { FlagError } from "../../harness/cli/flags.ts";
import { runCli } from "./_cli.ts";
import { traceDir, tracePath } from "../_fixtures.ts";

Deno.test({
  name:
    "tokentrace workloads inspect: --json matches stats.json, --svg writes a picture",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const r = await runCli([
      "workloads",
      "inspect",
      "mooncake-synthetic",
      "--trace-dir",
      await traceDir(),
      "--json",
      "--svg",
      `${dir}/t.svg`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    const want =
      JSON.parse(await Deno.readTextFile(await tracePath("stats.json")))
        .files["mooncake_fast25/synthetic_trace.jsonl"].stats;
    assert.equal(s.n_requests, want.n_requests);
    assert.equal(s.peak_requests_in_60s_bin, want.peak_requests_in_60s_bin);
    assert.ok(
      Math.abs(s.interarrival_cv - want.interarrival_cv) <=
        1e-6 * want.interarrival_cv,
    );
    assert.ok(
      Math.abs(
        s.hash_ids.infinite_cache_block_hit_ratio -
          want.hash_ids.infinite_cache_block_hit_ratio,
      ) < 1e-9,
    );
    assert.match(await Deno.readTextFile(`${dir}/t.svg`), /^<svg /);
  },
});

Deno.test("tokentrace workloads list: every catalog entry with its URL and license", async () => {
  const r = await runCli([
    "workloads",
    "list",
    "--json",
    "--cache-dir",
    await Deno.makeTempDir(),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as {
    name: string;
    url: string;
    license: string;
    cached: boolean;
  }[];
  for (
    const name of [
      "azure-2023-code",
      "azure-2023-conv",
      "azure-2024-code-week",
      "azure-2024-conv-week",
      "azure-2025-multimodal",
      "burstgpt-1",
      "burstgpt-2",
      "mooncake-conversation",
      "mooncake-toolagent",
      "mooncake-synthetic",
    ]
  ) {
    const e = rows.find((x) => x.name === name);
    assert.ok(e && e.url && e.license && e.cached === false, name);
  }
});

Deno.test({
  name:
    "tokentrace workloads fetch: from a local mirror with a verified checksum, then offline",
  fn: async () => {
    const bytes = await Deno.readFile(
      await tracePath("mooncake_fast25/synthetic_trace.jsonl"),
    );
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response(bytes),
    );
    const port = (server.addr as Deno.NetAddr).port;
    const cache = await Deno.makeTempDir();
    try {
      const r = await runCli([
        "workloads",
        "fetch",
        "mooncake-synthetic",
        "--cache-dir",
        cache,
        "--url",
        `http://127.0.0.1:${port}/synthetic_trace.jsonl`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^downloaded mooncake-synthetic: .*synthetic_trace\.jsonl \(1136313 bytes, sha256 bd070915.*, verified\)/,
      );
    } finally {
      await server.shutdown();
    }
    const off = await runCli([
      "workloads",
      "fetch",
      "mooncake-conversation",
      "--cache-dir",
      cache,
      "--url",
      `http://127.0.0.1:${port}/conversation_trace.jsonl`,
    ]);
    assert.equal(off.code, 1);
    assert.match(
      off.stderr,
      new RegExp(
        `tokentrace: error: Cannot download workload "mooncake-conversation" from http://127.0.0.1:${port}/conversation_trace.jsonl \\(.+\\): download http://127.0.0.1:${port}/conversation_trace.jsonl by hand and put it at ${cache}/conversation_trace.jsonl \\(sha256 b8cbb061a85206d729d91cdc2981f43c9e0d99209dce588d3af5f7934408b9df\\)`,
      ),
    );
  },
});

Deno.test("tokentrace run: a synthetic workload, recorded with its transforms", async () => {
  const server = await startScriptedWorker({
    timing: { ttftBaseMs: 1, ttftPerInputTokenMs: 0, itlMs: 1 },
    recordSends: false,
  });
  const dir = await Deno.makeTempDir();
  try {
    const r = await runCli([
      "run",
      "--synthetic",
      "n=12,arrival=poisson:50,input=uniform:10:40,output=fixed:3",
      "--sample",
      "8",
      "--rate",
      "100",
      "--seed",
      "4",
      "--url",
      server.url,
      "--db",
      `${dir}/r.duckdb`,
      "--quiet",
    ]);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await server.close();
  }
  const store = await Store.open(`${dir}/r.duckdb`, { readOnly: true });
  try {
    const rows = await store.query("select count(*)::int as n from requests");
    assert.equal(rows[0].n, 8);
    const w = JSON.parse(
      String(
        (await store.query("select workload::varchar as w from runs"))[0].w,
      ),
    );
    assert.deepEqual(
      w.transforms.map((
        t: { spec: { kind: string }; requestsAfter: number },
      ) => [t.spec.kind, t.requestsAfter]),
      [["sample", 8], ["rate", 8], ["rebase", 8]],
    );
    assert.equal(w.seed, 4);
    assert.equal(w.prompt.lengths, "exact");
  } finally {
    store.close();
  }
});

Deno.test("tokentrace run: workload flag errors exit 2 and name the flag", async (t) => {
  const cases: [string, string[], string][] = [
    [
      "two sources",
      ["--trace", "a.csv", "--workload", "b"],
      'tokentrace: error: Option --workload: expected exactly one of --workload <name|path>, --trace <path> and --synthetic <spec>, got "a.csv + b"',
    ],
    [
      "bad arrival",
      ["--trace", "a.csv", "--arrival", "poisson"],
      'tokentrace: error: Option --arrival: expected poisson:RATE, gamma:RATE:CV, constant:RATE or onoff:RATE:ON_S:OFF_S, got "poisson"',
    ],
    [
      "rate and speedup",
      ["--trace", "a.csv", "--rate", "5", "--speedup", "2"],
      'tokentrace: error: Option --rate: expected either --rate or --speedup, not both, got "5"',
    ],
    [
      "bad policy",
      ["--trace", "a.csv", "--on-bad-row", "ignore"],
      'tokentrace: error: Option --on-bad-row: expected one of error, skip, got "ignore"',
    ],
    [
      "chat without a tokenizer",
      [
        "--synthetic",
        "n=2,arrival=constant:1,input=fixed:5,output=fixed:1",
        "--api",
        "chat",
        "--prompt",
        "text",
      ],
      "tokentrace: error: 2 request(s) need a synthesized text prompt (chat endpoints take text messages), and " +
      "without a tokenizer their lengths cannot be made exact: pass --tokenizer <path to the served model's " +
      "tokenizer.json>, or --allow-approx-length to send about one word per planned token and report the length drift",
    ],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, async () => {
      const r = await runCli([
        "run",
        "--url",
        "http://127.0.0.1:9",
        "--db",
        "/tmp/none.duckdb",
        ...args,
      ]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split("\n").at(-1), message);
    });
  }
});

Deno.test("parseWorkloadFlags() orders transforms and collects reader options", () => {
  const c = parseWorkloadFlags({
    workload: "burstgpt-1",
    arrival: "poisson:2",
    window: "10:60",
    maxInput: "4096",
    sample: "0.5",
    maxRequests: "100",
    capOutput: "512",
    compressIdle: "30",
    speedup: "2",
    filterModel: "ChatGPT, GPT-4",
    onBadRow: "skip",
    seed: "9",
  });
  assert.deepEqual(c.transforms?.map((x) => x.kind), [
    "arrivals",
    "window",
    "lengths",
    "sample",
    "first",
    "cap",
    "compress-idle",
    "speedup",
    "rebase",
  ]);
  assert.deepEqual(c.read, { onBadRow: "skip", models: ["ChatGPT", "GPT-4"] });
  assert.equal(c.seed, 9);
});

Deno.test("parseColumns() maps names and refuses incomplete mappings", async (t) => {
  await t.step(
    "all keys",
    () =>
      assert.deepEqual(
        parseColumns("time=t,input=i,output=o,session=s,hash_ids=h"),
        {
          time: "t",
          input: "i",
          output: "o",
          session: "s",
          hashIds: "h",
        },
      ),
  );
  await t.step("no output", () =>
    assert.throws(
      () => parseColumns("time=t,input=i"),
      new FlagError(
        "--columns",
        "time=t,input=i",
        "at least input=<col> and output=<col>",
      ),
    ));
});

Deno.test("workloadNotes() tells what the reader left out", async () => {
  const dir = await Deno.makeTempDir();
  const p = `${dir}/b.csv`;
  await Deno.writeTextFile(
    p,
    "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n" +
      "1,ChatGPT,5,0,5,API log\n2,GPT-4,5,3,8,API log\n3,ChatGPT,x,3,8,API log\n4,ChatGPT,5,3,8,API log\n",
  );
  const w = await loadWorkload({
    workload: p,
    read: { onBadRow: "skip", models: ["ChatGPT"] },
  });
  assert.deepEqual(workloadNotes(w), [
    `Skipped 1 bad row(s) of ${p} (--on-bad-row skip); the first: line 4, field "Request tokens": expected an integer token count >= 0, got "x"`,
    "Filtered out 1 row(s) by the trace filters",
    "1 request(s) failed in the source trace; not replayed (--keep-source-failures to replay)",
  ]);
});
