import assert from "node:assert/strict";
import { formatSlo, parseSlo } from "../../../reports/results/slo.ts";

Deno.test("parseSlo() parses bounds in milliseconds", async (t) => {
  const cases: [string, ReturnType<typeof parseSlo>][] = [
    ["ttft=200,tpot=50,e2e=5000", { ttftMs: 200, tpotMs: 50, e2eMs: 5000 }],
    ["ttft=200ms", { ttftMs: 200 }],
    ["e2e=5s", { e2eMs: 5000 }],
    ["ttft=0.2s", { ttftMs: 200 }],
    ["e2e=1.1s", { e2eMs: 1100 }],
    ["tpot=.5", { tpotMs: 0.5 }],
    ["tpot=12.5ms", { tpotMs: 12.5 }],
    ["itl=250", { itlMs: 250 }],
    [" ttft = 200 , tpot=50 ", { ttftMs: 200, tpotMs: 50 }],
  ];
  for (const [input, expected] of cases) {
    await t.step(input, () => {
      assert.deepStrictEqual(parseSlo(input), expected);
    });
  }
});

Deno.test("parseSlo() rejects bad input naming the flag, the part and what is expected", async (t) => {
  const cases: [string, string][] = [
    [
      "",
      'Invalid --slo "": expected at least one bound, e.g. ttft=200,tpot=50,e2e=5000',
    ],
    [
      "ttft=200,foo=3",
      'Invalid --slo "ttft=200,foo=3": unknown key "foo" in "foo=3", ' +
      "expected one of ttft, tpot, e2e, itl",
    ],
    [
      "ttft=abc",
      'Invalid --slo "ttft=abc": bad value "abc" for ttft, expected a positive number of ' +
      "milliseconds, optionally with unit ms or s (e.g. 200, 200ms, 0.2s)",
    ],
    [
      "ttft=-5",
      'Invalid --slo "ttft=-5": bad value "-5" for ttft, expected a positive number of ' +
      "milliseconds, optionally with unit ms or s (e.g. 200, 200ms, 0.2s)",
    ],
    [
      "tpot=0",
      'Invalid --slo "tpot=0": bad value "0" for tpot, expected a positive number of ' +
      "milliseconds, optionally with unit ms or s (e.g. 200, 200ms, 0.2s)",
    ],
    [
      "e2e=5m",
      'Invalid --slo "e2e=5m": bad value "5m" for e2e, expected a positive number of ' +
      "milliseconds, optionally with unit ms or s (e.g. 200, 200ms, 0.2s)",
    ],
    [
      "ttft",
      'Invalid --slo "ttft": part "ttft" is not key=value, expected e.g. ttft=200,tpot=50,e2e=5000',
    ],
    [
      "ttft=200,,tpot=5",
      'Invalid --slo "ttft=200,,tpot=5": part 2 is empty, expected key=value, ' +
      "e.g. ttft=200,tpot=50,e2e=5000",
    ],
    [
      "ttft=1,ttft=2",
      'Invalid --slo "ttft=1,ttft=2": key "ttft" is given more than once',
    ],
    [
      "TTFT=200",
      'Invalid --slo "TTFT=200": unknown key "TTFT" in "TTFT=200", ' +
      "expected one of ttft, tpot, e2e, itl",
    ],
  ];
  for (const [input, message] of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.throws(() => parseSlo(input), { message });
    });
  }
});

Deno.test("formatSlo() lists bounds in a fixed order", async (t) => {
  const cases: [Parameters<typeof formatSlo>[0], string][] = [
    [{ e2eMs: 5000, ttftMs: 200 }, "ttft<=200ms e2e<=5000ms"],
    [
      { ttftMs: 200, tpotMs: 12.5, e2eMs: 5000, itlMs: 100 },
      "ttft<=200ms tpot<=12.5ms e2e<=5000ms itl<=100ms",
    ],
    [{}, "no latency bounds"],
  ];
  for (const [input, expected] of cases) {
    await t.step(expected, () => {
      assert.equal(formatSlo(input), expected);
    });
  }
});
