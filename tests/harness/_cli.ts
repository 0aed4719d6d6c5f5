/**
 * Test helpers that run the tokentrace CLI as a subprocess, as a user would.
 *
 * @module
 */

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

/** The output of a finished CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tokentrace <args>` to completion. */
export async function runCli(args: string[]): Promise<CliResult> {
  const out = await cliCommand(args).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** A `tokentrace <args>` subprocess, not yet started. */
export function cliCommand(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

/** Writes an Azure LLM CSV with `n` requests `gapMs` apart and the given lengths. */
export async function writeAzureTrace(
  path: string,
  n: number,
  gapMs: number,
  inputTokens: number,
  outputTokens: number,
): Promise<void> {
  const t0 = Date.UTC(2023, 10, 16, 18, 0, 0);
  const rows = Array.from({ length: n }, (_, i) => {
    const t = new Date(t0 + i * gapMs).toISOString().replace("T", " ").replace(
      "Z",
      "",
    );
    return `${t}0000,${inputTokens},${outputTokens}`;
  });
  await Deno.writeTextFile(
    path,
    `TIMESTAMP,ContextTokens,GeneratedTokens\n${rows.join("\n")}\n`,
  );
}

/** Polls `cond` every 20 ms until it holds or `timeoutMs` passes. */
export async function waitFor(
  cond: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > end) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export {
  type ScriptedProcess,
  startScriptedProcess,
} from "../../adapters/scripted/process.ts";
