import assert from "node:assert/strict";
import {
  describeFailurePolicy,
  parseFailurePolicy,
} from "../../../reports/results/failure_policy.ts";

Deno.test("parseFailurePolicy() maps flag words and SQL names", async (t) => {
  const cases: [string, string][] = [
    ["count-errors", "errors_and_timeouts_count_as_missed;cancelled_excluded"],
    ["exclude-errors", "errors_and_timeouts_excluded;cancelled_excluded"],
    ["count-all", "all_failures_count_as_missed"],
    ["all_failures_count_as_missed", "all_failures_count_as_missed"],
  ];
  for (const [input, want] of cases) {
    await t.step(`${input} -> ${want}`, () => {
      assert.equal(parseFailurePolicy(input), want);
    });
  }
  await t.step(
    "an unknown word names the flag, the value and the choices",
    () => {
      assert.throws(() => parseFailurePolicy("lenient"), {
        message:
          'Invalid --failure-policy "lenient": expected one of count-errors, exclude-errors, count-all',
      });
    },
  );
});

Deno.test("describeFailurePolicy() says the policy in words", async (t) => {
  await t.step("known policy", () => {
    assert.equal(
      describeFailurePolicy("errors_and_timeouts_excluded;cancelled_excluded"),
      "only completed requests are judged: errored, timed-out and cancelled requests are excluded",
    );
  });
  await t.step("unknown name is returned as is", () => {
    assert.equal(describeFailurePolicy("x"), "x");
  });
});
