import assert from "node:assert/strict";
import {
  checkShardedRun,
  parseShardFlag,
  parseStartAt,
} from "../../harness/cli/shard_flags.ts";
import { parseRunConfig, type RunFlags } from "../../harness/cli/run_config.ts";

Deno.test("parseShardFlag() reads i/N, 0-based", async (t) => {
  await t.step("0/1", () => {
    assert.deepEqual(parseShardFlag("--shard", "0/1"), { index: 0, count: 1 });
  });
  await t.step("3/4 with spaces", () => {
    assert.deepEqual(parseShardFlag("--shard", " 3 / 4 "), {
      index: 3,
      count: 4,
    });
  });
  const expected =
    "i/N with 0 <= i < N (0-based, as JOB_COMPLETION_INDEX), e.g. 0/4 .. 3/4";
  for (const bad of ["4/4", "1/0", "-1/2", "1", "a/b", "1/2/3"]) {
    await t.step(`refuses ${bad}`, () => {
      assert.throws(() => parseShardFlag("--shard", bad), {
        message: `Option --shard: expected ${expected}, got ${
          JSON.stringify(bad)
        }`,
      });
    });
  }
});

Deno.test("parseStartAt() reads epoch seconds and ISO 8601 with a zone", async (t) => {
  await t.step("whole seconds", () => {
    assert.equal(
      parseStartAt("--start-at", "1796119200"),
      1_796_119_200_000_000_000n,
    );
  });
  await t.step("nanosecond decimals, as date +%s.%N", () => {
    assert.equal(
      parseStartAt("--start-at", "1796119200.000000123"),
      1_796_119_200_000_000_123n,
    );
  });
  await t.step("ISO 8601 in UTC", () => {
    assert.equal(
      parseStartAt("--start-at", "2026-12-01T10:00:00Z"),
      1_796_119_200_000_000_000n,
    );
  });
  await t.step("ISO 8601 with an offset", () => {
    assert.equal(
      parseStartAt("--start-at", "2026-12-01T11:00:00+01:00"),
      1_796_119_200_000_000_000n,
    );
  });
  const expected =
    "an absolute time, the same for every shard: seconds since the Unix epoch " +
    "(e.g. $(date -d '+1 min' +%s)) or ISO 8601 with a zone (e.g. 2026-12-01T10:00:00Z)";
  await t.step("refuses a relative time", () => {
    assert.throws(() => parseStartAt("--start-at", "+30s"), {
      message: `Option --start-at: expected ${expected}, got "+30s"`,
    });
  });
  await t.step("refuses a time without a zone", () => {
    assert.throws(() => parseStartAt("--start-at", "2026-12-01T10:00:00"), {
      message:
        `Option --start-at: expected ${expected}, got "2026-12-01T10:00:00"`,
    });
  });
  await t.step("refuses a time before 2000", () => {
    assert.throws(() => parseStartAt("--start-at", "1796119"), {
      message:
        `Option --start-at: expected ${expected}; this is before 2000 (milliseconds given as seconds, or a typo?), got "1796119"`,
    });
  });
});

Deno.test("checkShardedRun() refuses what a shard cannot keep alone", async (t) => {
  const ok = {
    closedLoop: false,
    concurrency: false,
    backend: "openai",
    repeat: 1,
  };
  const cases: [string, Partial<typeof ok>, string][] = [
    [
      "a closed loop",
      { closedLoop: true },
      "an open-loop run (without --users): a closed loop's users take requests from one queue, which shards on different hosts cannot share",
    ],
    [
      "a concurrency cap",
      { concurrency: true },
      "no --concurrency: one cap for the whole run cannot be kept by shards on different hosts",
    ],
    [
      "the built-in engine",
      { backend: "webgpu" },
      "--backend openai (a server shared by every shard): with the built-in engine each shard would serve its own requests",
    ],
    [
      "--repeat",
      { repeat: 3 },
      "no --repeat: repeat the sharded run by starting its shards again with a new --start-at",
    ],
  ];
  for (const [what, change, expected] of cases) {
    await t.step(what, () => {
      assert.throws(() => checkShardedRun("0/2", { ...ok, ...change }), {
        message: `Option --shard: expected ${expected}, got "0/2"`,
      });
    });
  }
});

Deno.test("parseRunConfig() takes --shard and --start-at only together", async (t) => {
  const flags: RunFlags = {
    synthetic: "n=10,arrival=poisson:5,input=fixed:8,output=fixed:2",
    backend: "openai",
    url: "http://127.0.0.1:9",
    api: "completions",
    endpointKind: "openai",
    timeout: "600",
    speedup: "1",
    prompt: "ids",
    db: "r.duckdb",
  };
  await t.step("both", () => {
    const c = parseRunConfig({
      ...flags,
      shard: "1/2",
      startAt: "1796119200",
    });
    assert.deepEqual(c.shard, { index: 1, count: 2 });
    assert.equal(c.startAtUnixNs, 1_796_119_200_000_000_000n);
  });
  await t.step("--shard alone", () => {
    assert.throws(() => parseRunConfig({ ...flags, shard: "1/2" }), {
      message:
        'Option --shard: expected --start-at too: every shard of a run starts at the same absolute time, got "1/2"',
    });
  });
  await t.step("--start-at alone", () => {
    assert.throws(() => parseRunConfig({ ...flags, startAt: "1796119200" }), {
      message:
        'Option --start-at: expected --shard i/N too (a shared start is for the shards of one run; --shard 0/1 for a single one), got "1796119200"',
    });
  });
  await t.step("--shard with --users", () => {
    assert.throws(
      () =>
        parseRunConfig({
          ...flags,
          shard: "0/2",
          startAt: "1796119200",
          users: "4",
        }),
      { message: /^Option --shard: expected an open-loop run/ },
    );
  });
});
