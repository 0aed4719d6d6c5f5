/**
 * The one way tests find the data they need: everything lives in `tests/fixtures/` (see its
 * README for provenance and licenses), so the suite needs nothing outside the repository.
 *
 * - {@linkcode modelDir}: the tiny Hugging Face checkpoints with reference logits (oracles).
 * - {@linkcode traceDir} / {@linkcode tracePath}: the real public traces, stored gzip-compressed
 *   and unpacked once per test process into a temporary folder laid out like a trace folder
 *   (`azure_llm_2023/...`, `mooncake_fast25/...`, `stats.json`), each checked against its
 *   upstream sha256 so a damaged fixture fails loudly instead of skewing statistics.
 *
 * @module
 */

const FIXTURES = decodeURIComponent(
  new URL("./fixtures/", import.meta.url).pathname,
).replace(/\/$/, "");

/** The staged traces: path inside a trace folder -> sha256 of the upstream file. */
export const TRACE_FILES: Readonly<Record<string, string>> = {
  "azure_llm_2023/AzureLLMInferenceTrace_conv.csv":
    "2f1e5b666d4e3055fdbba98598ce2ec307767b9064e03e2fa46676dbcc7d0bf8",
  "mooncake_fast25/conversation_trace.jsonl":
    "b8cbb061a85206d729d91cdc2981f43c9e0d99209dce588d3af5f7934408b9df",
  "mooncake_fast25/synthetic_trace.jsonl":
    "bd070915a98fc0ed264d7cfef2ce746002eb3076a695ec31ba2674c0111ec131",
};

/** The absolute path of a file or folder under `tests/fixtures/`. */
export function fixturePath(relative: string): string {
  return `${FIXTURES}/${relative}`;
}

/** The folder of a tiny checkpoint in `tests/fixtures/models/` (e.g. `tiny-llama-f32`). */
export function modelDir(name: "tiny-llama-f32" | "tiny-llama3-long"): string {
  return fixturePath(`models/${name}`);
}

let unpacked: Promise<string> | undefined;

/**
 * A temporary trace folder with every staged trace unpacked and `stats.json` beside them
 * (made on first use, then shared by the process's tests).
 */
export function traceDir(): Promise<string> {
  unpacked ??= unpackTraces();
  return unpacked;
}

/** The unpacked path of one staged trace, e.g. `azure_llm_2023/AzureLLMInferenceTrace_conv.csv`. */
export async function tracePath(relative: string): Promise<string> {
  if (!(relative in TRACE_FILES) && relative !== "stats.json") {
    throw new Error(
      `Fixture trace "${relative}": expected one of ${
        Object.keys(TRACE_FILES).join(", ")
      }, stats.json`,
    );
  }
  return `${await traceDir()}/${relative}`;
}

async function unpackTraces(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-traces-" });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  });
  await Deno.copyFile(fixturePath("traces/stats.json"), `${dir}/stats.json`);
  for (const [rel, sha] of Object.entries(TRACE_FILES)) {
    const gz = await Deno.readFile(fixturePath(`traces/${rel}.gz`));
    const bytes = new Uint8Array(
      await new Response(
        new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
      ).arrayBuffer(),
    );
    const got = toHex(await crypto.subtle.digest("SHA-256", bytes));
    if (got !== sha) {
      throw new Error(
        `Fixture tests/fixtures/traces/${rel}.gz: expected sha256 ${sha} after unpacking, got ${got}`,
      );
    }
    const out = `${dir}/${rel}`;
    await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(out, bytes);
  }
  return dir;
}

function toHex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}
