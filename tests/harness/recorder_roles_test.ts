import assert from "node:assert/strict";
import { Recorder, RecorderProducer } from "../../harness/recorder.ts";
import { Store } from "../../harness/store.ts";
import { tempDb } from "./_scripted.ts";

Deno.test("a producer's rows reach the owner's database; each role has only its own end", async () => {
  const path = await tempDb();
  const owner = await Recorder.start(path, {
    runId: "roles",
    backend: "openai",
    toolVersion: "0",
    clockOriginUnixNs: 0n,
  });
  const producer = RecorderProducer.attach(owner.attachProducer(), "roles");
  producer.token("p-0", 0, 1_000n, 2, "content");
  owner.token("o-0", 0, 2_000n, 3, "content");
  const stats = await producer.detach();
  assert.ok(stats.tokenRows >= 1);
  assert.throws(
    () => producer.token("p-0", 1, 3_000n, 1, "content"),
    /has finished/,
  );
  await owner.finish("completed");
  // Misuse does not compile: a producer cannot end the run, nor the owner detach.
  // @ts-expect-error finish() is the owner's
  void (() => producer.finish("completed"));
  // @ts-expect-error detach() is a producer's
  void (() => owner.detach());
  // @ts-expect-error only the owner attaches producers
  void (() => producer.attachProducer());
  const store = await Store.open(path, { readOnly: true });
  try {
    const rows = await store.query(
      "select req_id, n_tokens from token_events where run_id = 'roles' order by req_id",
    );
    assert.deepStrictEqual(
      rows.map((r) => `${r.req_id} ${r.n_tokens}`),
      ["o-0 3", "p-0 2"],
    );
  } finally {
    store.close();
  }
});
