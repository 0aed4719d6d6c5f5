/**
 * Row assertions for the reports tests.
 *
 * @module
 */
import assert from "node:assert/strict";

/**
 * Asserts that `actual` rows equal `expected` rows, except that numbers may differ by a relative
 * 1e-12: `quantile_cont` interpolates `lo + (hi - lo) * (pos - floor(pos))`, which can land one
 * unit in the last place away from the value worked out by hand (47.99999999999999 for 48).
 * Everything else (keys, nulls, strings, bigints) must match exactly.
 */
export function assertRowsClose(
  actual: Record<string, unknown>[],
  expected: Record<string, unknown>[],
): void {
  assert.equal(actual.length, expected.length, "row count");
  actual.forEach((row, i) => {
    assert.deepEqual(
      Object.keys(row),
      Object.keys(expected[i]),
      `row ${i} columns`,
    );
    for (const [key, want] of Object.entries(expected[i])) {
      const got = row[key];
      if (typeof want === "number" && typeof got === "number") {
        const tolerance = 1e-12 * Math.max(1, Math.abs(want));
        assert.ok(
          Math.abs(got - want) <= tolerance,
          `row ${i} (${
            JSON.stringify(row.metric ?? "")
          }) ${key}: expected ${want}, got ${got}`,
        );
      } else {
        assert.deepEqual(got, want, `row ${i} ${key}`);
      }
    }
  });
}
