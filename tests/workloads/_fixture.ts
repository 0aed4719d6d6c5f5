/**
 * Trace fixtures written by the tests themselves.
 *
 * @module
 */

/** Writes `text` as `name` in a fresh temp folder and returns its path. */
export async function fixture(
  name: string,
  text: string | Uint8Array,
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-trace-" });
  const path = `${dir}/${name}`;
  if (typeof text === "string") await Deno.writeTextFile(path, text);
  else await Deno.writeFile(path, text);
  return path;
}

/** The Azure LLM header line. */
export const AZURE_HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n";

/** The 6-column BurstGPT header line. */
export const BURST_HEADER =
  "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n";
