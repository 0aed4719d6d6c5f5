import assert from "node:assert/strict";
import { resolveRun } from "../../../reports/results/resolve_run.ts";
import { createFixtureStore, type FixtureRun } from "../_fixture.ts";

function run(
  runId: string,
  label: string | null,
  startedAt: string,
): FixtureRun {
  return {
    runId,
    label,
    status: "completed",
    backend: "openai",
    startedAt,
    finishedAt: null,
    endReason: null,
    requests: [],
  };
}

const OLD_BASELINE = "3f2a9c1e-5b7d-4e21-9c3a-0d1e2f3a4b5c";
const NEW_BASELINE = "3f2b0000-1111-4222-8333-444455556666";
const CANDIDATE = "9d00e5aa-aaaa-4bbb-8ccc-dddddddddddd";
const UNLABELLED = "77777777-7777-4777-8777-777777777777";

const RUNS = [
  run(UNLABELLED, null, "2026-11-20T09:00:00Z"),
  run(OLD_BASELINE, "baseline", "2026-11-20T10:00:00Z"),
  run(NEW_BASELINE, "baseline", "2026-11-20T11:00:00Z"),
  run(CANDIDATE, "candidate", "2026-11-20T12:00:00Z"),
];

Deno.test("resolveRun() finds the run a reference names", async (t) => {
  const fx = await createFixtureStore(RUNS);
  try {
    const cases: [string | undefined, string, string | null, string][] = [
      [OLD_BASELINE, OLD_BASELINE, "baseline", "id"],
      ["baseline", NEW_BASELINE, "baseline", "label"], // the latest with the label
      ["9d", CANDIDATE, "candidate", "prefix"],
      ["3f2a", OLD_BASELINE, "baseline", "prefix"],
      ["7", UNLABELLED, null, "prefix"],
      [undefined, CANDIDATE, "candidate", "latest"],
    ];
    for (const [ref, runId, label, matchedBy] of cases) {
      await t.step(`${ref ?? "(no ref)"} -> ${matchedBy}`, async () => {
        assert.deepStrictEqual(await resolveRun(fx.store, ref), {
          runId,
          label,
          matchedBy,
        });
      });
    }
  } finally {
    await fx.dispose();
  }
});

Deno.test("resolveRun() prefers an exact label over an id prefix", async () => {
  const fx = await createFixtureStore([
    run("abc12345-0000-4000-8000-000000000000", null, "2026-11-20T09:00:00Z"),
    run("f0000000-0000-4000-8000-000000000000", "abc", "2026-11-20T08:00:00Z"),
  ]);
  try {
    assert.deepStrictEqual(await resolveRun(fx.store, "abc"), {
      runId: "f0000000-0000-4000-8000-000000000000",
      label: "abc",
      matchedBy: "label",
    });
  } finally {
    await fx.dispose();
  }
});

Deno.test("resolveRun() errors name the reference, the file and what would match", async (t) => {
  const fx = await createFixtureStore(RUNS);
  const empty = await createFixtureStore([]);
  try {
    const db = fx.store.path;
    const cases: [string, string | undefined, string][] = [
      [
        "ambiguous prefix",
        "3f2",
        `Run "3f2" in "${db}" is ambiguous: it is a prefix of 2 run ids ` +
        `(${OLD_BASELINE}, ${NEW_BASELINE}): give more characters or a label`,
      ],
      [
        "misspelt label",
        "basline",
        `No run "basline" in "${db}": expected a run id, a unique run id prefix or a label; ` +
        `close matches: label "baseline"`,
      ],
      [
        "mistyped id prefix",
        "3f2c",
        `No run "3f2c" in "${db}": expected a run id, a unique run id prefix or a label; ` +
        `close matches: run id "${OLD_BASELINE}", run id "${NEW_BASELINE}"`,
      ],
      [
        "part of a label",
        "cand",
        `No run "cand" in "${db}": expected a run id, a unique run id prefix or a label; ` +
        `close matches: label "candidate"`,
      ],
      [
        "nothing close",
        "zzzzzz",
        `No run "zzzzzz" in "${db}": expected a run id, a unique run id prefix or a label; ` +
        `none is close among 4 run ids and 2 labels`,
      ],
    ];
    for (const [name, ref, message] of cases) {
      await t.step(name, async () => {
        await assert.rejects(resolveRun(fx.store, ref), { message });
      });
    }
    await t.step("empty database", async () => {
      await assert.rejects(resolveRun(empty.store), {
        message: `Result database "${empty.store.path}" has no runs: ` +
          `record one with tokentrace run --db "${empty.store.path}"`,
      });
    });
  } finally {
    await fx.dispose();
    await empty.dispose();
  }
});
