/**
 * The layers of docs/ARCHITECTURE.md and the rule each import must follow, shared by
 * tests/architecture_test.ts (every relative import, by a regular expression) and
 * tests/_import_graph.ts (the module graph `deno info` resolves, in `task check`).
 *
 * @module
 */

/** The layer a source file belongs to, as docs/ARCHITECTURE.md names them; tests have none. */
export function layerOf(path: string): string | undefined {
  const p = path.split("/");
  if (p[0] === "mod.ts") return "mod.ts";
  if (p[0] === "harness") return p[1] === "cli" ? "harness/cli" : "harness";
  if (p[0] === "adapters") {
    return ["openai", "scripted", "webgpu"].includes(p[1])
      ? `adapters/${p[1]}`
      : "adapters";
  }
  if (p[0] === "reports" || p[0] === "workloads") return p[0];
  return undefined;
}

/** Layers from the top; an import may only point to a layer further down the list. */
const ORDER = [
  "mod.ts",
  "harness/cli",
  "reports",
  "harness",
  "adapters/openai",
  "adapters/scripted",
  "adapters/webgpu",
  "adapters",
  "workloads",
];
const ADAPTERS = new Set([
  "adapters/openai",
  "adapters/scripted",
  "adapters/webgpu",
]);

/** Why an import from `from` (a file) to `to` (a file) breaks a rule, or undefined. */
export function ruleBroken(from: string, to: string): string | undefined {
  const a = layerOf(from), b = layerOf(to);
  if (a === undefined || b === undefined || a === b) return undefined;
  // Benchmark scripts are programs: they may use a sibling adapter (a server to measure
  // against), but never reach up into the harness or the reports.
  const bench = from.split("/").includes("bench");
  if (ADAPTERS.has(a) && ADAPTERS.has(b)) {
    return bench ? undefined : "adapter folders never import each other";
  }
  if (ORDER.indexOf(b) < ORDER.indexOf(a)) {
    return `${a} imports ${b}, a layer above it`;
  }
  return undefined;
}
