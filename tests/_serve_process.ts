/**
 * `tokentrace serve` as a real process on 127.0.0.1 for tests that talk to it over HTTP.
 *
 * @module
 */

const root = new URL("../", import.meta.url);

/**
 * Starts `tokentrace serve --model tiny --port 0` (f32, small sizes unless `args` override
 * them) and resolves with its URL once it printed it (its first stdout line).
 */
export async function startServe(
  args: string[] = [],
): Promise<
  { url: string; stop: () => Promise<void> }
> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "mod.ts",
      "serve",
      "--model",
      "tiny",
      "--port",
      "0",
      "--max-seqs",
      "4",
      "--token-budget",
      "64",
      "--max-context",
      "128",
      "--dtype",
      "f32",
      ...args,
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const deadline = Date.now() + 60_000;
  while (!buf.includes("\n")) {
    if (Date.now() > deadline) {
      throw new Error("tokentrace serve did not start");
    }
    const { value, done } = await lines.read();
    if (done) {
      const err = await new Response(child.stderr).text();
      throw new Error(`tokentrace serve exited: ${err}`);
    }
    buf += value;
  }
  const url = buf.trim().split("\n")[0];
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await lines.cancel();
      await child.stderr.cancel();
      await child.status;
    },
  };
}
