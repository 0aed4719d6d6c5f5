/**
 * The one way tests find the project's shared data (`../shared` beside the repository:
 * real traces with ground-truth statistics, and a tiny model with reference logits).
 *
 * Tests that need it are ignored with a visible reason when it is absent; CI always has it.
 *
 * @module
 */

const SHARED_URL = new URL("../../shared/", import.meta.url);

/** The absolute path of the shared data folder, or null when it is absent. */
export function sharedDir(): string | null {
  const path = decodeURIComponent(SHARED_URL.pathname).replace(/\/$/, "");
  try {
    return Deno.statSync(path).isDirectory ? path : null;
  } catch {
    return null;
  }
}

/** Why shared-data tests are skipped, or null when the data is there. */
export const skipReason: string | null = sharedDir() === null
  ? `shared data not found at ${decodeURIComponent(SHARED_URL.pathname)}: ` +
    "tests that need ../shared (real traces, the tiny model) are ignored"
  : null;

if (skipReason !== null) console.warn(`SKIP: ${skipReason}`);

/** The path of a file under the shared folder; throws with a clear message when absent. */
export function sharedPath(relative: string): string {
  const dir = sharedDir();
  if (dir === null) throw new Error(skipReason!);
  return `${dir}/${relative}`;
}
