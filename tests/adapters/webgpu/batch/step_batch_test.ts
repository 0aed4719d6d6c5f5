import assert from "node:assert/strict";
import {
  HDR,
  packStep,
  type StepLimits,
  TOK_FROM_SLOT,
} from "../../../../adapters/webgpu/batch/step_batch.ts";

const LIM: StepLimits = {
  maxTokens: 8,
  maxSeqs: 3,
  numPages: 6,
  vocab: 100,
  maxContext: 48,
  logSize: 4,
};
const greedy = { temperature: 0, topP: 1, seed: 0 };

Deno.test("packStep() lays out a hybrid batch: tokens, positions, CSR pages, sample rows", () => {
  const p = packStep({
    seqs: [
      { slot: 2, start: 15, tokens: [7, 8, 9], pages: [4, 1], sample: null },
      {
        slot: 0,
        start: 20,
        tokens: null,
        pages: [3, 5],
        sample: { temperature: 0.5, topP: 0.75, seed: 11 },
      },
    ],
    logBase: 1,
  }, LIM);
  const m = p.meta;
  assert.deepEqual([p.numTokens, p.numSeqs, p.numRows], [4, 2, 1]);
  const arr = (hdr: number, n: number) =>
    Array.from(m.subarray(m[hdr], m[hdr] + n));
  assert.deepEqual(arr(HDR.TOK, 4), [7, 8, 9, (TOK_FROM_SLOT | 0) >>> 0]);
  assert.deepEqual(arr(HDR.POS, 4), [15, 16, 17, 20]);
  assert.deepEqual(arr(HDR.SEQ, 4), [0, 0, 0, 1]);
  // Position 15 is page 4 offset 15; 16 and 17 are page 1 offsets 0, 1; 20 is page 5 offset 4.
  assert.deepEqual(arr(HDR.KVSLOT, 4), [4 * 16 + 15, 16, 17, 5 * 16 + 4]);
  assert.deepEqual(arr(HDR.QSTART, 2), [0, 3]);
  assert.deepEqual(arr(HDR.QLEN, 2), [3, 1]);
  assert.deepEqual(arr(HDR.INDPTR, 3), [0, 2, 4]);
  assert.deepEqual(arr(HDR.PAGES, 4), [4, 1, 3, 5]);
  const row = m.subarray(m[HDR.ROWS], m[HDR.ROWS] + 8);
  const f = new Float32Array(row.slice(2, 4).buffer);
  assert.deepEqual([row[0], row[1], f[0], f[1], row[4], row[5], row[6]], [
    3,
    0,
    0.5,
    0.75,
    11,
    21,
    1,
  ]);
});

Deno.test("packStep() refuses batches that do not fit, naming the sequence", async (t) => {
  const seq = { slot: 0, start: 0, tokens: [1, 2], pages: [0], sample: greedy };
  const cases: [string, Parameters<typeof packStep>[0], string][] = [
    ["too many tokens", {
      seqs: [{ ...seq, tokens: Array(9).fill(1) }],
      logBase: 0,
    }, "Step batch: expected at most 8 tokens, got 9"],
    [
      "slot twice",
      { seqs: [seq, { ...seq, pages: [1] }], logBase: 0 },
      "Step batch, sequence 1 (slot 0): slot 0 appears twice",
    ],
    [
      "pages short",
      { seqs: [{ ...seq, start: 15 }], logBase: 0 },
      "Step batch, sequence 0 (slot 0): expected at least 2 pages for 17 positions, got 1",
    ],
    [
      "page id",
      { seqs: [{ ...seq, pages: [6] }], logBase: 0 },
      "Step batch, sequence 0 (slot 0): expected page ids in [0, 6), got 6",
    ],
    [
      "token id",
      { seqs: [{ ...seq, tokens: [1, 100] }], logBase: 0 },
      "Step batch, sequence 0 (slot 0): expected token ids in [0, 100), got 100 at 1",
    ],
    [
      "decode at 0",
      { seqs: [{ ...seq, tokens: null }], logBase: 0 },
      "Step batch, sequence 0 (slot 0): a decode token needs a sampled token, but start is 0",
    ],
    [
      "context",
      { seqs: [{ ...seq, start: 47, pages: [0, 1, 2] }], logBase: 0 },
      "Step batch, sequence 0 (slot 0): expected at most 48 positions, got 49",
    ],
    [
      "top_p",
      {
        seqs: [{ ...seq, sample: { temperature: 1, topP: 0, seed: 0 } }],
        logBase: 0,
      },
      "Step batch, sequence 0 (slot 0): expected temperature >= 0 and top_p in (0, 1], got 1 and 0",
    ],
    [
      "log",
      { seqs: [seq], logBase: 4 },
      "Step batch, sequence 0 (slot 0): token log index 4 exceeds the log size 4",
    ],
  ];
  for (const [name, batch, message] of cases) {
    await t.step(
      name,
      () => assert.throws(() => packStep(batch, LIM), { message }),
    );
  }
});
