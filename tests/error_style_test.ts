import assert from "node:assert/strict";
import { errorStyleViolations } from "./_error_style.ts";

Deno.test("errorStyleViolations() catches messages that break the house style", async (t) => {
  const cases: [
    string,
    string,
    { line: number; message: string; rule: string }[],
  ][] = [
    ["lower-case first letter", 'throw new Error("bad value");', [
      { line: 1, message: "bad value", rule: "capital" },
    ]],
    ["trailing period", 'throw new RangeError("Bad value.");', [
      { line: 1, message: "Bad value.", rule: "period" },
    ]],
    [
      "both, in a template over several lines",
      "x;\nthrow new TypeError(\n  `got ${v}.`,\n);",
      [
        { line: 2, message: "got ${v}.", rule: "capital" },
        { line: 2, message: "got ${v}.", rule: "period" },
      ],
    ],
    [
      "the last literal of a concatenation",
      'new Error("Row " + n + " is bad.")',
      [
        { line: 1, message: "Row  is bad.", rule: "period" },
      ],
    ],
    ["a custom error class", 'throw new ProtocolError("oops", { cause });', [
      { line: 1, message: "oops", rule: "capital" },
    ]],
  ];
  for (const [name, src, expected] of cases) {
    await t.step(name, () => {
      assert.deepStrictEqual(errorStyleViolations(src), expected);
    });
  }
});

Deno.test("errorStyleViolations() accepts messages that keep the style", async (t) => {
  const cases: [string, string][] = [
    [
      "a capital first",
      'throw new Error("Trace row 812: expected >= 0, got -3");',
    ],
    [
      "a flag first",
      "throw new Error(`--rate: expected a number > 0, got ${v}`);",
    ],
    [
      "an interpolated subject first",
      "throw new Error(`${file}:${line}: bad row`);",
    ],
    ["a code name first", 'throw new Error("createApp(): give deps.store");'],
    [
      "a parameter name first",
      "throw new RangeError(`maxNewTokens: expected >= 1, got ${n}`);",
    ],
    [
      "an ellipsis is no trailing period",
      'throw new Error("Waited for the server...");',
    ],
    ["a computed message is not judged", "throw new Error(describe(e));"],
    ["a line comment is not judged", '// throw new Error("quoted.");'],
    ["a doc example quoting the runtime", ' * new TypeError("fetch failed")'],
  ];
  for (const [name, src] of cases) {
    await t.step(name, () => {
      assert.deepStrictEqual(errorStyleViolations(src), []);
    });
  }
});
