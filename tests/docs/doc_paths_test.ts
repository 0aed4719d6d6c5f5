/**
 * The repository's documents point at things that exist: every `docs/*.md` a source comment
 * cites is in the repository (no comment cites a design document outside it), and every source
 * path that docs/ARCHITECTURE.md, docs/ENGINE.md and CONTRIBUTING.md name in backticks is a file
 * or folder of the repository.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;
const SOURCE_FOLDERS = ["harness", "adapters", "reports", "workloads", "tests"];

/** Every file under `dir` (relative to the root) whose name ends with one of `exts`. */
async function filesUnder(dir: string, exts: string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory && rel !== "tests/fixtures") {
      out.push(...await filesUnder(rel, exts));
    } else if (e.isFile && exts.some((x) => e.name.endsWith(x))) {
      out.push(rel);
    }
  }
  return out;
}

async function exists(rel: string): Promise<boolean> {
  try {
    await Deno.stat(join(ROOT, rel));
    return true;
  } catch {
    return false;
  }
}

/** `docs/X.md` citations of `text` that do not resolve, and bare `X.md` design-doc names. */
async function badCitations(text: string): Promise<string[]> {
  const bad: string[] = [];
  for (const m of text.matchAll(/(^|[^\w/.-])((?:docs\/)?[A-Z][A-Z_]+\.md)/g)) {
    const cited = m[2];
    if (!cited.startsWith("docs/")) {
      if (["README.md", "CHANGELOG.md", "CONTRIBUTING.md"].includes(cited)) {
        continue;
      }
      bad.push(`${cited} (not under docs/)`);
    } else if (!await exists(cited)) bad.push(`${cited} (missing)`);
  }
  return bad;
}

Deno.test("badCitations() finds citations outside docs/ and missing documents", async (t) => {
  await t.step("a bare design-doc name", async () => {
    assert.deepStrictEqual(await badCitations("// see METRICS.md"), [
      "METRICS.md (not under docs/)",
    ]);
  });
  await t.step("a missing document under docs/", async () => {
    assert.deepStrictEqual(await badCitations("(docs/NOPE.md)"), [
      "docs/NOPE.md (missing)",
    ]);
  });
  await t.step("documents that exist", async () => {
    assert.deepStrictEqual(
      await badCitations("docs/METRICS.md, docs/ENGINE.md; README.md"),
      [],
    );
  });
});

Deno.test("source comments cite only documents in the repository", async () => {
  const files = (await Promise.all(
    SOURCE_FOLDERS.map((d) => filesUnder(d, [".ts", ".sql", ".wgsl"])),
  )).flat();
  const bad: string[] = [];
  for (const f of files) {
    if (f === "tests/docs/doc_paths_test.ts") continue; // its own literal cases
    for (
      const b of await badCitations(await Deno.readTextFile(join(ROOT, f)))
    ) {
      bad.push(`${f}: ${b}`);
    }
  }
  assert.deepStrictEqual(bad, []);
});

/** Every file and folder of the repository outside .git, relative to the root (folders end in /). */
async function allPaths(dir = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    if (e.name === ".git") continue;
    const rel = dir === "" ? e.name : `${dir}/${e.name}`;
    if (e.isDirectory) out.push(`${rel}/`, ...await allPaths(rel));
    else out.push(rel);
  }
  return out;
}

Deno.test("the architecture documents name only paths that exist", async () => {
  const paths = await allPaths();
  // A name is a path from the root, or the tail of one (`formats/vidur.ts`, `engine_loop.ts`).
  const resolves = (name: string) =>
    paths.some((p) => p === name || p.endsWith(`/${name}`));
  const bad: string[] = [];
  for (
    const doc of ["docs/ARCHITECTURE.md", "docs/ENGINE.md", "CONTRIBUTING.md"]
  ) {
    const text = await Deno.readTextFile(join(ROOT, doc));
    for (
      const m of text.matchAll(
        /`([\w./-]+\.(?:ts|sql|wgsl|md)|[\w-]+\/(?:[\w-]+\/)*)`/g,
      )
    ) {
      if (!resolves(m[1])) bad.push(`${doc}: ${m[1]}`);
    }
  }
  assert.deepStrictEqual(bad, []);
});
