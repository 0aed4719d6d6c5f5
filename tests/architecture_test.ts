/**
 * The dependency rules of docs/ARCHITECTURE.md, checked on every relative import of every source
 * file: the layers only import downwards (no folder-level loop), adapters never import the
 * harness or the reports, the adapter folders never import each other, workloads import nothing
 * else, the harness outside its CLI imports no report, and the parts of adapters/webgpu/ only
 * import parts below them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = normalize(new URL("../", import.meta.url).pathname);

export { layerOf, ruleBroken } from "./_layers.ts";
import { ruleBroken } from "./_layers.ts";

/**
 * The parts of adapters/webgpu/ from the top, as docs/ARCHITECTURE.md orders them; `(top)` is a
 * file directly in adapters/webgpu/. `bench/` is not in the list: its scripts are programs that
 * may import any part, and no part imports them.
 */
const WEBGPU_ORDER = [
  "(top)",
  "server",
  "serving",
  "text",
  "step",
  "reference",
  "kernels",
  "batch",
  "model",
];

/** The part of adapters/webgpu/ a file is in (`(top)` directly in it), or undefined outside it. */
export function webgpuPartOf(path: string): string | undefined {
  const p = path.split("/");
  if (p[0] !== "adapters" || p[1] !== "webgpu" || p.length < 3) {
    return undefined;
  }
  return p.length === 3 ? "(top)" : p[2];
}

/** Why an import from `from` to `to` (files) breaks the part order of adapters/webgpu/, or undefined. */
export function webgpuRuleBroken(from: string, to: string): string | undefined {
  const a = webgpuPartOf(from), b = webgpuPartOf(to);
  if (a === undefined || b === undefined || a === b || a === "bench") {
    return undefined;
  }
  if (b === "bench") return `adapters/webgpu/${a} imports a benchmark script`;
  for (const part of [a, b]) {
    if (!WEBGPU_ORDER.includes(part)) {
      return `adapters/webgpu/${part}/ is not in the part order of docs/ARCHITECTURE.md; add it there and to WEBGPU_ORDER`;
    }
  }
  if (WEBGPU_ORDER.indexOf(b) < WEBGPU_ORDER.indexOf(a)) {
    return `adapters/webgpu/${a} imports adapters/webgpu/${b}, a part above it`;
  }
  return undefined;
}

Deno.test("webgpuRuleBroken() names the part order an import breaks", async (t) => {
  const cases: [string, string, string | undefined][] = [
    [
      "adapters/webgpu/serving/engine_loop.ts",
      "adapters/webgpu/step/forward.ts",
      undefined,
    ],
    [
      "adapters/webgpu/step/forward.ts",
      "adapters/webgpu/batch/kv_blocks.ts",
      undefined,
    ],
    [
      "adapters/webgpu/kernels/geometry.ts",
      "adapters/webgpu/step/device.ts",
      "adapters/webgpu/kernels imports adapters/webgpu/step, a part above it",
    ],
    [
      "adapters/webgpu/reference/reference_kernels.ts",
      "adapters/webgpu/step/forward.ts",
      "adapters/webgpu/reference imports adapters/webgpu/step, a part above it",
    ],
    [
      "adapters/webgpu/step/forward.ts",
      "adapters/webgpu/serving/engine_loop.ts",
      "adapters/webgpu/step imports adapters/webgpu/serving, a part above it",
    ],
    ["adapters/webgpu/mod.ts", "adapters/webgpu/server/app.ts", undefined],
    [
      "adapters/webgpu/model/config.ts",
      "adapters/webgpu/mod.ts",
      "adapters/webgpu/model imports adapters/webgpu/(top), a part above it",
    ],
    [
      "adapters/webgpu/bench/_engine.ts",
      "adapters/webgpu/serving/engine_loop.ts",
      undefined,
    ],
    [
      "adapters/webgpu/serving/engine_loop.ts",
      "adapters/webgpu/bench/_engine.ts",
      "adapters/webgpu/serving imports a benchmark script",
    ],
    [
      "adapters/webgpu/misc/x.ts",
      "adapters/webgpu/model/config.ts",
      "adapters/webgpu/misc/ is not in the part order of docs/ARCHITECTURE.md; add it there and to WEBGPU_ORDER",
    ],
    ["adapters/webgpu/step/forward.ts", "adapters/backend.ts", undefined],
  ];
  for (const [from, to, want] of cases) {
    await t.step(
      `${from} -> ${to}`,
      () => assert.equal(webgpuRuleBroken(from, to), want),
    );
  }
});

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
      "workloads/formats/read_trace.ts",
      "adapters/backend.ts",
      "workloads imports adapters, a layer above it",
    ],
    [
      "harness/runner.ts",
      "reports/results/slo.ts",
      "harness imports reports, a layer above it",
    ],
    ["harness/cli/run_command.ts", "reports/mod.ts", undefined],
    ["reports/results/recorded.ts", "harness/store.ts", undefined],
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
      const why = ruleBroken(f, to) ?? webgpuRuleBroken(f, to);
      if (why) broken.push(`${f} -> ${to}: ${why}`);
    }
  }
  assert.deepStrictEqual(broken, []);
});
