/**
 * The scripted server as a process of its own (`tokentrace scripted-server`), like a remote
 * server: its sends share no event loop and no process with the harness being checked.
 *
 * @module
 */

const MOD = new URL("../../mod.ts", import.meta.url);

/** A running `tokentrace scripted-server`. */
export interface ScriptedProcess {
  /** Base URL it printed, `http://127.0.0.1:<port>`. */
  url: string;
  /** Send times per request id, Unix-epoch ms (needs `--send-log`). */
  sendLog(): Promise<Map<string, number[]>>;
  /** Arrival time per request id, Unix-epoch ms (needs `--send-log`). */
  arrivals(): Promise<Map<string, number>>;
  /** Stops the process (SIGTERM) and waits for it. */
  close(): Promise<void>;
}

/**
 * Starts `tokentrace scripted-server <args>` and resolves once it printed its URL.
 *
 * @example
 * ```ts ignore
 * const s = await startScriptedProcess(["--itl-ms", "10", "--send-log"]);
 * console.log(s.url);
 * await s.close();
 * ```
 */
export async function startScriptedProcess(
  args: string[],
): Promise<ScriptedProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD.pathname, "scripted-server", ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (!buf.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(
        `Scripted server exited before it printed its URL: ${buf}`,
      );
    }
    buf += value;
  }
  const url = buf.split("\n")[0].trim();
  const getJson = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    if (!res.ok) {
      throw new Error(
        `GET ${url}${path}: HTTP ${res.status} (was --send-log given?)`,
      );
    }
    return await res.json();
  };
  return {
    url,
    sendLog: async () =>
      new Map(
        Object.entries(
          await getJson<Record<string, number[]>>("/_tokentrace/send_log"),
        ),
      ),
    arrivals: async () =>
      new Map(
        Object.entries(
          await getJson<Record<string, number>>("/_tokentrace/arrivals"),
        ),
      ),
    close: async () => {
      child.kill("SIGTERM");
      await reader.cancel();
      await child.status;
    },
  };
}
