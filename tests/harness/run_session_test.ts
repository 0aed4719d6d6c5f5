import assert from "node:assert/strict";
import type {
  Backend,
  EngineRecordSink,
  GenerateRequest,
  StreamEvent,
} from "../../adapters/backend.ts";
import { OpenAIBackend } from "../../adapters/openai/mod.ts";
import { startScriptedWorker } from "../../adapters/scripted/mod.ts";
import { RunClock } from "../../harness/clock.ts";
import { executeRun } from "../../harness/run_session.ts";
import { Store } from "../../harness/store.ts";
import { reqs, tempDb } from "./_scripted.ts";

/**
 * A real streaming backend with engine records, whose record sink is refused once `refuseAt`
 * requests have been sent: what the built-in engine does when its records cannot be written.
 */
class RecordingBackend implements Backend {
  readonly name = "openai";
  private sink: EngineRecordSink | undefined;
  private sent = 0;
  constructor(
    private readonly inner: OpenAIBackend,
    private readonly refuseAt: number,
  ) {}
  describe() {
    return this.inner.describe();
  }
  close() {
    return this.inner.close();
  }
  attachEngineSink(sink: EngineRecordSink): void {
    this.sink = sink;
  }
  async *generate(
    req: GenerateRequest,
    signal: AbortSignal,
  ): AsyncIterable<StreamEvent> {
    if (++this.sent === this.refuseAt) {
      this.sink?.failed?.(
        "Engine records could not be written: the store is gone",
      );
    }
    yield* this.inner.generate(req, signal);
  }
}

Deno.test("executeRun() stops a run whose engine records are refused, saying why", async () => {
  const s = await startScriptedWorker({
    recordSends: false,
    timing: { ttftBaseMs: 2, ttftPerInputTokenMs: 0, itlMs: 2 },
  });
  const db = await tempDb();
  const clock = new RunClock();
  const backend = new RecordingBackend(
    new OpenAIBackend({
      baseUrl: s.url,
      model: "scripted",
      nowNs: () => clock.nowNs(),
    }),
    3,
  );
  try {
    const r = await executeRun({
      dbPath: db,
      backend,
      clock,
      requests: reqs(200, 5),
    });
    assert.equal(r.status, "aborted");
    const store = await Store.open(db, { readOnly: true });
    try {
      const [run] = await store.query(`select status, end_reason from runs`);
      assert.deepStrictEqual(run, {
        status: "aborted",
        end_reason: "Engine records could not be written: the store is gone",
      });
      const [{ n }] = await store.query(
        `select count(*)::int as n from requests`,
      );
      assert.ok(Number(n) < 200, `sending stopped (${n} of 200 sent)`);
    } finally {
      store.close();
    }
  } finally {
    await backend.close();
    await s.close();
  }
});
