import assert from "node:assert/strict";
import { RunClock } from "../../harness/clock.ts";
import {
  hostClockOffsetNs,
  hostClockStatus,
  hostUnixNsAt,
  readHostClock,
} from "../../harness/host_clock.ts";
import { placeStart } from "../../harness/shard_facts.ts";

Deno.test("readHostClock() finds a tick of Date.now() between two readings of it", () => {
  for (let k = 0; k < 5; k++) {
    const perfBefore = performance.now();
    const before = Date.now();
    const r = readHostClock({ ticks: 2 });
    const after = Date.now();
    const perfAfter = performance.now();
    assert.ok(Number.isInteger(r.unixMs));
    assert.ok(r.unixMs > before && r.unixMs <= after, `${before} ${r.unixMs}`);
    assert.ok(r.perfMs > perfBefore && r.perfMs < perfAfter);
    assert.ok(r.uncertaintyMs >= 0);
  }
});

Deno.test("readHostClock() refuses a tick count below 1", () => {
  assert.throws(() => readHostClock({ ticks: 0 }), {
    message: "Host clock reading: expected ticks to be an integer >= 1, got 0",
  });
});

Deno.test("hostUnixNsAt() and hostClockOffsetNs() map the run clock through a reading", async (t) => {
  const clock = new RunClock(1000); // performance.now() 1000 ms is run-clock 0
  const reading = { perfMs: 1250, unixMs: 7_000, uncertaintyMs: 0.001 };
  await t.step("the reading's own instant is its tick", () => {
    assert.equal(hostUnixNsAt(clock, reading, 250_000_000n), 7_000_000_000n);
  });
  await t.step("later run-clock times follow the monotonic clock", () => {
    assert.equal(hostUnixNsAt(clock, reading, 1_250_000_000n), 8_000_000_000n);
  });
  await t.step("offset: the run clock's anchor minus the host clock", () => {
    const anchorAt = clock.toUnixNs(250_000_000n);
    assert.equal(hostClockOffsetNs(clock, reading), anchorAt - 7_000_000_000n);
  });
});

Deno.test("placeStart() puts the shared start at its host-clock time on the run clock", () => {
  const clock = new RunClock(1000);
  const reading = { perfMs: 1250, unixMs: 7_000, uncertaintyMs: 0.002 };
  const p = placeStart(clock, 9_500_000_000n, reading);
  assert.equal(p.startNs, 2_750_000_000n);
  assert.equal(p.leadNs, 2_500_000_000n);
  assert.equal(hostUnixNsAt(clock, reading, p.startNs), 9_500_000_000n);
});

Deno.test("hostClockStatus() names the clock and reads the kernel's view on Linux", () => {
  const s = hostClockStatus();
  assert.equal(typeof s.id, "string");
  if (Deno.build.os === "linux") {
    assert.equal(typeof s.synced, "boolean");
    assert.ok(s.estErrorNs! >= 0n && s.maxErrorNs! >= s.estErrorNs!);
    // one machine, one clock: the boot id every process reads
    assert.equal(
      s.id,
      Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim(),
    );
  }
});
