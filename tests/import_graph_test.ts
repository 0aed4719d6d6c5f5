import assert from "node:assert/strict";
import { describeLoop, folderOf, loops } from "./_import_graph.ts";

/** A file -> files graph from literal `[from, [to...]]` rows. */
function edgesOf(rows: [string, string[]][]): Map<string, Set<string>> {
  return new Map(rows.map(([from, tos]) => [from, new Set(tos)]));
}

Deno.test("folderOf() is the directory of the file, subfolders apart", async (t) => {
  const cases: [string, string][] = [
    ["mod.ts", "."],
    ["reports/mod.ts", "reports"],
    ["reports/render/html.ts", "reports/render"],
    ["adapters/webgpu/step/forward.ts", "adapters/webgpu/step"],
  ];
  for (const [file, want] of cases) {
    await t.step(file, () => assert.equal(folderOf(file), want));
  }
});

Deno.test("loops() finds folders and files that import each other", async (t) => {
  await t.step("a folder and its subfolder importing each other", () => {
    const edges = edgesOf([
      ["reports/mod.ts", ["reports/render/html.ts"]],
      ["reports/render/html.ts", ["reports/summary.ts"]],
      ["reports/summary.ts", []],
    ]);
    assert.deepStrictEqual(loops(edges, folderOf), [[
      "reports",
      "reports/render",
    ]]);
    assert.deepStrictEqual(loops(edges, (f) => f), []);
  });
  await t.step("imports that flow one way", () => {
    const edges = edgesOf([
      ["reports/mod.ts", ["reports/render/html.ts", "reports/results/a.ts"]],
      ["reports/render/html.ts", ["reports/results/a.ts"]],
      ["reports/results/a.ts", ["reports/results/b.ts"]],
      ["reports/results/b.ts", []],
    ]);
    assert.deepStrictEqual(loops(edges, folderOf), []);
    assert.deepStrictEqual(loops(edges, (f) => f), []);
  });
  await t.step("two files of one folder importing each other", () => {
    const edges = edgesOf([
      ["reports/a.ts", ["reports/b.ts"]],
      ["reports/b.ts", ["reports/a.ts"]],
    ]);
    assert.deepStrictEqual(loops(edges, folderOf), []);
    assert.deepStrictEqual(loops(edges, (f) => f), [[
      "reports/a.ts",
      "reports/b.ts",
    ]]);
  });
});

Deno.test("describeLoop() names one cycle, each step by one file import", async (t) => {
  await t.step("a loop of three folders", () => {
    const edges = edgesOf([
      ["w/mod.ts", ["w/f/read.ts"]],
      ["w/f/read.ts", ["w/s/gen.ts"]],
      ["w/f/csv.ts", ["w/s/gen.ts"]],
      ["w/s/gen.ts", ["w/random.ts"]],
      ["w/random.ts", []],
    ]);
    const [loop] = loops(edges, folderOf);
    assert.deepStrictEqual(loop, ["w", "w/f", "w/s"]);
    assert.equal(
      describeLoop(edges, folderOf, loop, "folders"),
      "folders import each other in a loop: w, w/f, w/s " +
        "(w/mod.ts -> w/f/read.ts; w/f/csv.ts -> w/s/gen.ts; w/s/gen.ts -> w/random.ts)",
    );
  });
  await t.step("two files", () => {
    const edges = edgesOf([
      ["r/charts.ts", ["r/latency.ts"]],
      ["r/latency.ts", ["r/charts.ts"]],
    ]);
    const fileOf = (f: string) => f;
    const [loop] = loops(edges, fileOf);
    assert.equal(
      describeLoop(edges, fileOf, loop, "files"),
      "files import each other in a loop: r/charts.ts, r/latency.ts " +
        "(r/charts.ts -> r/latency.ts; r/latency.ts -> r/charts.ts)",
    );
  });
});
