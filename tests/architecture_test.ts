/**
 * The dependency rules of docs/ARCHITECTURE.md, checked on every relative import of every source
 * file: the layers only import downwards (no folder-level loop), adapters never import the
 * harness or the reports, the adapter folders never import each other, workloads import nothing
 * else, and the harness outside its CLI imports no report.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = normalize(new URL("../", import.meta.url).pathname);

export { layerOf, ruleBroken } from "./_layers.ts";
import { ruleBroken } from "./_layers.ts";

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    const rel = dir === "" ? e.name : `${dir}/${e.name}`;
    if (
      e.isDirectory && !["tests", ".git", "docs", "node_modules"].includes(rel)
    ) {
      yield* sources(rel);
    } else if (e.isFile && rel.endsWith(".ts")) yield rel;
  }
}

/** Relative module specifiers of `src` (static imports and re-exports; dynamic `import("./x")`). */
export function importsOf(src: string): string[] {
  const out: string[] = [];
  const re =
    /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.[^"']+)["']|\bimport\(\s*["'](\.[^"']+)["']\s*\)/g;
  for (const m of src.matchAll(re)) out.push(m[1] ?? m[2]);
  return out;
}

Deno.test("ruleBroken() names the rule an import breaks", async (t) => {
  const cases: [string, string, string | undefined][] = [
    [
      "adapters/openai/backend.ts",
      "harness/runner.ts",
      "adapters/openai imports harness, a layer above it",
    ],
    [
      "adapters/openai/backend.ts",
      "adapters/scripted/server.ts",
      "adapter folders never import each other",
    ],
    [
      "adapters/openai/bench/transport.ts",
      "adapters/scripted/process.ts",
      undefined,
    ],
    [
      "adapters/openai/bench/transport.ts",
      "harness/runner.ts",
      "adapters/openai imports harness, a layer above it",
    ],
    [
      "workloads/read_trace.ts",
      "adapters/backend.ts",
      "workloads imports adapters, a layer above it",
    ],
    [
      "harness/runner.ts",
      "reports/slo.ts",
      "harness imports reports, a layer above it",
    ],
    ["harness/cli/run_command.ts", "reports/mod.ts", undefined],
    ["reports/recorded.ts", "harness/store.ts", undefined],
    ["harness/store.ts", "harness/schema.ts", undefined],
  ];
  for (const [from, to, want] of cases) {
    await t.step(
      `${from} -> ${to}`,
      () => assert.equal(ruleBroken(from, to), want),
    );
  }
});

Deno.test("every import of the source follows the dependency rules", async () => {
  const broken: string[] = [];
  for await (const f of sources("")) {
    const src = await Deno.readTextFile(join(ROOT, f));
    for (const spec of importsOf(src)) {
      const to = relative(ROOT, normalize(join(ROOT, dirname(f), spec)));
      const why = ruleBroken(f, to);
      if (why) broken.push(`${f} -> ${to}: ${why}`);
    }
  }
  assert.deepStrictEqual(broken, []);
});
