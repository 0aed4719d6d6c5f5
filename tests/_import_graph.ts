/**
 * The import-graph gate of `deno task check`: resolves the module graph of every source file
 * with `deno info --json` (what Deno itself would load, type-only imports included) and fails
 * when
 *
 * - an import breaks a rule of docs/ARCHITECTURE.md (tests/_layers.ts: the layers only import
 *   downwards, no adapter imports the harness, the reports or the CLI, adapter folders never
 *   import each other), or
 * - the folders form a loop: folder A imports folder B (a file of A imports one of B) and B,
 *   directly or through others, imports A. Every directory is a folder, subfolders included
 *   (`reports/render/` and `reports/` are two), so within a layer, too, imports flow one way;
 * - the files form a loop (the same, file by file).
 *
 * Usage: `deno run --allow-read --allow-run --allow-write tests/_import_graph.ts`; prints
 * nothing and exits 0 when the graph is clean, else one line per broken rule or loop, and 1. A
 * loop's line names its folders (or files) and one cycle through them, each step by one file
 * import that makes it.
 *
 * @module
 */
import { join, normalize, relative } from "node:path";
import { ruleBroken } from "./_layers.ts";

const ROOT = normalize(new URL("../", import.meta.url).pathname);
const SOURCE_DIRS = ["harness", "adapters", "reports", "workloads"];

/** Source files (`.ts`, tests and fixtures aside) under `dir`, relative to the root. */
async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory && e.name !== "node_modules") yield* sources(rel);
    else if (e.isFile && rel.endsWith(".ts") && !rel.endsWith("_test.ts")) {
      yield rel;
    }
  }
}

/** One module of `deno info --json` (the fields read here). */
interface InfoModule {
  specifier: string;
  dependencies?: {
    code?: { specifier?: string };
    type?: { specifier?: string };
  }[];
}

/** The file -> files it imports, of the whole source, as `deno info` resolves them. */
async function graph(files: string[]): Promise<Map<string, Set<string>>> {
  // One root importing every file: one `deno info` run resolves the whole graph.
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-graph-" });
  try {
    const root = join(dir, "all.ts");
    await Deno.writeTextFile(
      root,
      files.map((f) => `import ${JSON.stringify(join(ROOT, f))};\n`).join(""),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", root],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `deno info --json failed (exit ${out.code}): ${
          new TextDecoder().decode(out.stderr).trim()
        }`,
      );
    }
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: InfoModule[];
    };
    const local = (spec: string | undefined) => {
      if (!spec?.startsWith("file://")) return undefined;
      const rel = relative(ROOT, new URL(spec).pathname);
      return rel.startsWith("..") || !rel.endsWith(".ts") ? undefined : rel;
    };
    const edges = new Map<string, Set<string>>();
    for (const m of info.modules) {
      const from = local(m.specifier);
      if (from === undefined) continue;
      const to = new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) {
          const t = local(s);
          if (t !== undefined) to.add(t);
        }
      }
      edges.set(from, to);
    }
    return edges;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Loops among the units `unitOf` maps files to: each strongly connected set of two or more
 * units (Tarjan's algorithm over the unit graph).
 */
export function loops(
  edges: Map<string, Set<string>>,
  unitOf: (file: string) => string,
): string[][] {
  const folders = new Map<string, Set<string>>();
  for (const [from, tos] of edges) {
    const a = unitOf(from);
    const set = folders.get(a) ?? new Set<string>();
    folders.set(a, set);
    for (const to of tos) if (unitOf(to) !== a) set.add(unitOf(to));
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const loops: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of folders.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) loops.push(scc.sort());
    }
  };
  for (const v of [...folders.keys()].sort()) if (!index.has(v)) visit(v);
  return loops;
}

/**
 * The folder a file belongs to for the loop check: the directory it is in (`.` for the root's
 * `mod.ts`). A subfolder is a folder of its own: `reports/render/` importing `reports/` while
 * `reports/mod.ts` imports `reports/render/` is a loop.
 */
export function folderOf(file: string): string {
  const slash = file.lastIndexOf("/");
  return slash < 0 ? "." : file.slice(0, slash);
}

/**
 * One line for a loop of `loops()`: the units in it, then one cycle through them (from the first
 * unit back to it), each step named by one file import (the first, in sorted order) that makes it.
 */
export function describeLoop(
  edges: Map<string, Set<string>>,
  unitOf: (file: string) => string,
  loop: string[],
  kind: "folders" | "files",
): string {
  const inLoop = new Set(loop);
  // unit -> unit it imports -> the first file import that makes the edge
  const step = new Map<string, Map<string, string>>();
  for (const [from, tos] of [...edges].sort(([a], [b]) => a < b ? -1 : 1)) {
    const a = unitOf(from);
    if (!inLoop.has(a)) continue;
    for (const to of [...tos].sort()) {
      const b = unitOf(to);
      if (a === b || !inLoop.has(b)) continue;
      const out = step.get(a) ?? new Map<string, string>();
      step.set(a, out);
      if (!out.has(b)) out.set(b, `${from} -> ${to}`);
    }
  }
  // Shortest cycle through loop[0] (breadth first inside the loop).
  const start = loop[0];
  const parent = new Map<string, string>();
  const queue = [start];
  let last: string | undefined;
  while (queue.length > 0 && last === undefined) {
    const v = queue.shift()!;
    for (const w of [...(step.get(v)?.keys() ?? [])].sort()) {
      if (w === start) {
        last = v;
        break;
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  const cycle = [start];
  for (let v = last!; v !== start; v = parent.get(v)!) cycle.splice(1, 0, v);
  const imports = cycle.map((v, i) =>
    step.get(v)!.get(cycle[(i + 1) % cycle.length])!
  );
  return `${kind} import each other in a loop: ${loop.join(", ")} (${
    imports.join("; ")
  })`;
}

if (import.meta.main) {
  const files = ["mod.ts"];
  for (const d of SOURCE_DIRS) for await (const f of sources(d)) files.push(f);
  const edges = await graph(files.sort());
  const problems: string[] = [];
  for (const [from, tos] of edges) {
    for (const to of tos) {
      const why = ruleBroken(from, to);
      if (why) problems.push(`${from} -> ${to}: ${why}`);
    }
  }
  for (const loop of loops(edges, folderOf)) {
    problems.push(describeLoop(edges, folderOf, loop, "folders"));
  }
  const fileOf = (f: string) => f;
  for (const loop of loops(edges, fileOf)) {
    problems.push(describeLoop(edges, fileOf, loop, "files"));
  }
  if (problems.length > 0) {
    console.error(
      `Import graph: ${problems.length} problem(s); fix the imports or move the file ` +
        "(docs/ARCHITECTURE.md, Dependency rules):",
    );
    for (const p of problems.sort()) console.error(`  ${p}`);
    Deno.exit(1);
  }
}
