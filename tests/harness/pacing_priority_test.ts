import assert from "node:assert/strict";
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import { RunClock } from "../../harness/clock.ts";
import { raisePacing } from "../../harness/pacing_priority.ts";
import { executeRun } from "../../harness/run_session.ts";
import { Store } from "../../harness/store.ts";
import { ElsewhereBackend, reqs, tempDb } from "./_scripted.ts";

/** The scheduling policy in a `/proc/.../stat` text: its field 41 (0 = normal). */
function policyOf(stat: string): number {
  // Fields after the command name, which is in parentheses and may hold spaces.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(rest[41 - 3]);
}

/** The scheduling policy of the calling thread. */
function policy(): number {
  return policyOf(Deno.readTextFileSync("/proc/thread-self/stat"));
}

const elsewhere = { timesTokensElsewhere: true };
const open = { workers: 1, mode: "open" as const };
const linux = Deno.build.os === "linux";

Deno.test("raisePacing(): auto leaves the thread normal where its work is more than pacing", () => {
  const cases = [
    raisePacing("auto", {}, open),
    raisePacing("auto", elsewhere, { workers: 1, mode: "closed" }),
    raisePacing("auto", elsewhere, { workers: 4, mode: "open" }),
    raisePacing("realtime", elsewhere, { workers: 4, mode: "open" }),
    raisePacing("normal", elsewhere, open),
  ];
  assert.deepEqual(cases.map((c) => c.describe), [
    "normal (auto: the backend reads its replies on the pacing thread)",
    "normal (closed loop: sends follow replies)",
    "normal (sender workers pace the sends)",
    "normal (sender workers pace the sends)",
    "normal (--pacing-priority normal)",
  ]);
  for (const c of cases) {
    assert.equal(c.raised, false);
    assert.equal(c.refused, undefined);
  }
  // The metronome's thread (it only sleeps and posts) is raised by auto in an open loop on one
  // thread, even where the pacing thread reads replies; never under normal or with workers.
  assert.deepEqual(cases.map((c) => c.beatsRealtime), [
    true,
    false,
    false,
    false,
    false,
  ]);
  if (linux) assert.equal(policy(), 0);
});

Deno.test({
  name:
    "raisePacing(): raises only this thread, not threads or processes it starts, and restores it",
  ignore: !linux,
  async fn() {
    const p = raisePacing("auto", elsewhere, open);
    try {
      if (!p.raised) {
        // Without CAP_SYS_NICE or `ulimit -r`: refused, said so, and nothing changed.
        assert.match(p.refused ?? "", /could not be raised.*EPERM.*ulimit -r/s);
        assert.match(
          p.describe,
          /^normal \(sched_setscheduler refused it \(EPERM\)\)$/,
        );
        assert.equal(policy(), 0);
        return;
      }
      assert.equal(p.describe, "SCHED_FIFO 10");
      assert.equal(p.beatsRealtime, true);
      // 1 = SCHED_FIFO; the reset-on-fork flag is not part of the policy field.
      assert.equal(policy(), 1);
      const worker = new Worker(
        `data:text/javascript,${
          encodeURIComponent(
            `const s = Deno.readTextFileSync("/proc/thread-self/stat");
             postMessage(Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[38]));`,
          )
        }`,
        { type: "module" },
      );
      const inWorker = await new Promise<number>((resolve) => {
        worker.onmessage = (e) => resolve(e.data);
      });
      worker.terminate();
      assert.equal(
        inWorker,
        0,
        "a worker started by the raised thread runs at the normal policy",
      );
      const child = await new Deno.Command("cat", {
        args: ["/proc/self/stat"],
        stdout: "piped",
      }).output();
      assert.equal(policyOf(new TextDecoder().decode(child.stdout)), 0);
    } finally {
      p.restore();
    }
    assert.equal(p.raised, false);
    assert.equal(policy(), 0);
    p.restore(); // idempotent
    assert.equal(policy(), 0);
  },
});

Deno.test("executeRun() stores how the pacing thread ran and restores it after the run", async () => {
  const s = await startScriptedWorker({
    recordSends: false,
    timing: { ttftBaseMs: 1, ttftPerInputTokenMs: 0, itlMs: 1 },
  });
  const db = await tempDb();
  const clock = new RunClock();
  const backend = new ElsewhereBackend({
    baseUrl: s.url,
    model: "scripted",
    nowNs: () => clock.nowNs(),
  });
  try {
    const seen: string[] = [];
    for (const pacingPriority of ["auto", "normal"] as const) {
      const r = await executeRun({
        dbPath: db,
        backend,
        clock,
        requests: reqs(4, 5, 3),
        pacingPriority,
      });
      assert.equal(r.status, "completed");
      if (linux) assert.equal(policy(), 0, "restored after the run");
      const store = await Store.open(db, { readOnly: true });
      const [row] = await store.query(
        "select json_extract_string(host, '$.pacingThread') as p from runs where run_id = $1",
        [r.runId],
      );
      store.close();
      assert.equal(row.p, r.pacingThread);
      seen.push(r.pacingThread);
      if (
        pacingPriority === "auto" && !r.pacingThread.startsWith("SCHED_FIFO")
      ) {
        assert.match(r.pacingRefused ?? "", /could not be raised/);
      }
    }
    assert.equal(seen[1], "normal (--pacing-priority normal)");
    assert.match(seen[0], /^(SCHED_FIFO 10|normal \(.*refused.*\))$/);
  } finally {
    await backend.close();
    await s.close();
  }
});

Deno.test("settleHeap() collects only where the runtime exposes gc (as `deno task bench` does)", async () => {
  const { settleHeap } = await import("../../harness/pacing_priority.ts");
  assert.equal(
    settleHeap(),
    typeof (globalThis as { gc?: unknown }).gc === "function",
  );
  const mod = new URL("../../harness/pacing_priority.ts", import.meta.url).href;
  for (
    const [flags, want] of [[["--v8-flags=--expose-gc"], "true"], [
      [],
      "false",
    ]] as const
  ) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        ...flags,
        `import { settleHeap } from "${mod}"; console.log(settleHeap());`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.equal(new TextDecoder().decode(out.stdout).trim(), want);
  }
});
