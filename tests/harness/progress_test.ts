import assert from "node:assert/strict";
import { formatProgress } from "../../harness/cli/progress.ts";

const p = {
  planned: 100,
  sent: 40,
  inFlight: 7,
  done: 30,
  errors: 3,
  tokens: 1200,
  elapsedNs: 4_000_000_000n,
};

Deno.test("formatProgress: sent / in flight / done / errors / tokens per second, cut to the terminal", () => {
  assert.equal(
    formatProgress(p),
    "[4.0s] sent 40/100  in flight 7  done 30  errors 3  tokens 1200 (300/s)",
  );
  // The recent rate, when the caller tracks it, replaces the average.
  assert.match(formatProgress(p, 100, 512.4), /tokens 1200 \(512\/s\)$/);
  const cut = formatProgress(p, 20);
  assert.equal(cut.length, 20);
  assert.ok(cut.endsWith("…"));
});
