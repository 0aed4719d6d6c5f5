/**
 * Downloads a catalog trace into the cache: resumes a partial download with an HTTP Range
 * request, verifies size and SHA-256 where the catalog knows them, and only then moves the file
 * into place. Without network, the error says which URL to fetch by hand and where to put it.
 *
 * @module
 */
import type { CatalogEntry } from "./catalog.ts";
import { sha256File } from "./formats/read_trace.ts";

/** Options of {@linkcode fetchWorkload}. */
export interface FetchOptions {
  /** The cache folder (created when missing). */
  cacheDir: string;
  /** Download from here instead of `entry.url` (a mirror; tests use a local server). */
  url?: string;
  /** Called as bytes arrive. */
  onProgress?: (bytes: number, total: number | undefined) => void;
  /** The fetch to use. Default: the global one. */
  fetch?: typeof fetch;
}

/** What a fetch did. */
export interface FetchResult {
  /** Where the file is now. */
  path: string;
  /** Its size. */
  bytes: number;
  /** Its SHA-256 (hex). */
  sha256: string;
  /** `cached`: already there and verified; `downloaded`; `resumed` from a partial file. */
  action: "cached" | "downloaded" | "resumed";
  /** Which checks the catalog allowed. */
  verified: { bytes: boolean; sha256: boolean };
}

/** A download that failed; the message says what to do by hand. */
export class FetchError extends Error {
  /** A failed download; `message` says what to do by hand. */
  constructor(message: string) {
    super(message);
    this.name = "FetchError";
  }
}

/**
 * Downloads `entry` into `opts.cacheDir/entry.file` (see the module doc).
 *
 * @example
 * ```ts ignore
 * import { catalogEntry } from "./catalog.ts";
 * import { fetchWorkload } from "./fetch.ts";
 * const r = await fetchWorkload(catalogEntry("mooncake-conversation")!, { cacheDir: "/tmp/traces" });
 * console.log(r.path, r.action);
 * ```
 */
export async function fetchWorkload(
  entry: CatalogEntry,
  opts: FetchOptions,
): Promise<FetchResult> {
  const dest = `${opts.cacheDir}/${entry.file}`;
  const part = `${dest}.part`;
  const url = opts.url ?? entry.url;
  const doFetch = opts.fetch ?? fetch;
  const byHand = () =>
    `download ${url} by hand and put it at ${dest}` +
    (entry.sha256 ? ` (sha256 ${entry.sha256})` : "");
  await Deno.mkdir(opts.cacheDir, { recursive: true });
  const existing = await sizeOf(dest);
  if (existing !== null) {
    const sha = await verify(entry, dest, existing, "The cached file");
    return {
      path: dest,
      bytes: existing,
      sha256: sha,
      action: "cached",
      verified: {
        bytes: entry.bytes !== undefined,
        sha256: entry.sha256 !== undefined,
      },
    };
  }
  let offset = (await sizeOf(part)) ?? 0;
  if (entry.bytes !== undefined && offset > entry.bytes) {
    await Deno.remove(part);
    offset = 0;
  }
  let res: Response;
  try {
    res = await doFetch(url, {
      headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
    });
  } catch (e) {
    throw new FetchError(
      `Cannot download workload "${entry.name}" from ${url} (${
        (e as Error).message
      }): ${byHand()}`,
    );
  }
  let action: FetchResult["action"] = offset > 0 ? "resumed" : "downloaded";
  let append = offset > 0;
  if (res.status === 416 && offset > 0) {
    // The partial file already holds everything.
    await res.body?.cancel();
  } else {
    if (res.status === 200 && offset > 0) {
      append = false;
      offset = 0;
      action = "downloaded";
    } else if (!(res.status === 206 && offset > 0) && res.status !== 200) {
      await res.body?.cancel();
      throw new FetchError(
        `Cannot download workload "${entry.name}" from ${url}: HTTP ${res.status} ${res.statusText}; ${byHand()}`,
      );
    }
    const length = Number(res.headers.get("content-length") ?? NaN);
    const total = Number.isFinite(length) ? offset + length : entry.bytes;
    const file = await Deno.open(part, {
      write: true,
      create: true,
      append,
      truncate: !append,
    });
    let got = offset;
    try {
      for await (const chunk of res.body!) {
        let k = 0;
        while (k < chunk.length) k += await file.write(chunk.subarray(k));
        got += chunk.length;
        opts.onProgress?.(got, total);
      }
    } catch (e) {
      throw new FetchError(
        `Download of workload "${entry.name}" from ${url} stopped after ${got} bytes (${
          (e as Error).message
        }): run the fetch again to resume, or ${byHand()}`,
      );
    } finally {
      file.close();
    }
  }
  const bytes = (await sizeOf(part))!;
  const sha = await verify(entry, part, bytes, "The download");
  await Deno.rename(part, dest);
  return {
    path: dest,
    bytes,
    sha256: sha,
    action,
    verified: {
      bytes: entry.bytes !== undefined,
      sha256: entry.sha256 !== undefined,
    },
  };
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return null;
  }
}

/** Checks size and checksum; a mismatching file is removed so the next fetch starts clean. */
async function verify(
  entry: CatalogEntry,
  path: string,
  bytes: number,
  what: string,
): Promise<string> {
  if (entry.bytes !== undefined && bytes !== entry.bytes) {
    if (bytes < entry.bytes && path.endsWith(".part")) {
      throw new FetchError(
        `${what} of workload "${entry.name}" is incomplete: expected ${entry.bytes} bytes, got ${bytes}; run the fetch again to resume`,
      );
    }
    await Deno.remove(path);
    throw new FetchError(
      `${what} of workload "${entry.name}" has the wrong size: expected ${entry.bytes} bytes, got ${bytes}; it was removed, run the fetch again`,
    );
  }
  const sha = await sha256File(path);
  if (entry.sha256 !== undefined && sha !== entry.sha256) {
    await Deno.remove(path);
    throw new FetchError(
      `${what} of workload "${entry.name}" has the wrong checksum: expected sha256 ${entry.sha256}, got ${sha}; it was removed, run the fetch again`,
    );
  }
  return sha;
}
