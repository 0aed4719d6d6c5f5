/**
 * The browser-side files of the dashboard's SQL console: DuckDB-Wasm and Apache Arrow, served
 * from the installed npm packages (no CDN), plus the console's own script.
 *
 * Only the files named in {@linkcode ASSET_NAMES} are ever served: a request names an asset by
 * its key, never by a path, so nothing outside these files can be reached.
 *
 * @module
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

/** One servable file: where it is and its content type. */
export interface Asset {
  path: string;
  contentType: string;
  /** Rewrites applied to the text before serving (see {@linkcode loadAssets}). */
  rewrite?: (text: string) => string;
}

/** The asset keys the dashboard serves under `/assets/<key>`. */
export const ASSET_NAMES = [
  "duckdb-browser.mjs",
  "duckdb-browser-eh.worker.js",
  "duckdb-eh.wasm",
  "arrow.js",
  "arrow-shim.mjs",
  "console.js",
] as const;

/** A key of {@linkcode ASSET_NAMES}. */
export type AssetName = typeof ASSET_NAMES[number];

/** Where the assets are; {@linkcode locateAssets} finds them. */
export type AssetTable = Record<AssetName, Asset>;

/** Names the Arrow shim re-exports from the UMD bundle's global (what duckdb-wasm uses). */
const ARROW_EXPORTS = [
  "Table",
  "RecordBatch",
  "RecordBatchReader",
  "RecordBatchStreamWriter",
  "Schema",
  "Field",
  "Type",
  "DataType",
  "Vector",
  "tableFromIPC",
  "tableToIPC",
  "makeTable",
  "makeVector",
];

/**
 * Locates DuckDB-Wasm's `dist/` and Apache Arrow's UMD bundle in the installed packages.
 * Throws naming the package when one is missing.
 *
 * @example
 * ```ts
 * import { locateAssets } from "./assets.ts";
 * const assets = locateAssets();
 * console.log((await Deno.stat(assets["duckdb-eh.wasm"].path)).size > 1e6); // true
 * ```
 */
export function locateAssets(): AssetTable {
  let duckdbEntry: string;
  try {
    duckdbEntry = fromFileUrl(import.meta.resolve("@duckdb/duckdb-wasm"));
  } catch (e) {
    throw new Error(
      `Dashboard: cannot find the npm package @duckdb/duckdb-wasm (deno.json imports): ${
        (e as Error).message
      }`,
    );
  }
  const dist = dirname(duckdbEntry);
  let arrowDir: string;
  try {
    arrowDir = dirname(createRequire(duckdbEntry).resolve("apache-arrow"));
  } catch (e) {
    throw new Error(
      `Dashboard: cannot find apache-arrow, a dependency of @duckdb/duckdb-wasm: ${
        (e as Error).message
      }`,
    );
  }
  const js = "text/javascript; charset=utf-8";
  return {
    "duckdb-browser.mjs": {
      path: join(dist, "duckdb-browser.mjs"),
      contentType: js,
      // The bundle imports the bare specifier "apache-arrow"; point it at the shim, so the page
      // needs no import map (an inline script the Content-Security-Policy would refuse).
      rewrite: (t) =>
        t.replaceAll('from"apache-arrow"', 'from"./arrow-shim.mjs"')
          .replaceAll("from 'apache-arrow'", "from './arrow-shim.mjs'")
          .replaceAll('from "apache-arrow"', 'from "./arrow-shim.mjs"')
          .replace(/\n\/\/# sourceMappingURL=.*$/, "\n"),
    },
    "duckdb-browser-eh.worker.js": {
      path: join(dist, "duckdb-browser-eh.worker.js"),
      contentType: js,
      rewrite: (t) => t.replace(/\n\/\/# sourceMappingURL=.*$/, "\n"),
    },
    "duckdb-eh.wasm": {
      path: join(dist, "duckdb-eh.wasm"),
      contentType: "application/wasm",
    },
    "arrow.js": {
      path: join(arrowDir, "Arrow.es2015.min.js"),
      contentType: js,
      rewrite: (t) => t.replace(/\n\/\/# sourceMappingURL=.*$/, "\n"),
    },
    "arrow-shim.mjs": {
      path: "",
      contentType: js,
      rewrite: () =>
        `// Apache Arrow's UMD bundle (arrow.js, a classic script) defines globalThis.Arrow.\n` +
        `const A = globalThis.Arrow;\n` +
        ARROW_EXPORTS.map((n) => `export const ${n} = A.${n};`).join("\n") +
        `\nexport default A;\n`,
    },
    "console.js": {
      path: fromFileUrl(new URL("./console_client.js", import.meta.url)),
      contentType: js,
    },
  };
}

/**
 * Reads every asset once (with its rewrite applied) into memory, keyed by name.
 *
 * @example
 * ```ts
 * import { loadAssets, locateAssets } from "./assets.ts";
 * const loaded = await loadAssets(locateAssets());
 * console.log(loaded.get("arrow-shim.mjs")!.body.length > 0); // true
 * ```
 */
export async function loadAssets(
  table: AssetTable,
): Promise<
  Map<AssetName, { body: Uint8Array<ArrayBuffer>; contentType: string }>
> {
  const out = new Map<
    AssetName,
    { body: Uint8Array<ArrayBuffer>; contentType: string }
  >();
  for (const name of ASSET_NAMES) {
    const a = table[name];
    let body: Uint8Array<ArrayBuffer>;
    if (a.path === "") {
      body = new TextEncoder().encode(a.rewrite!(""));
    } else if (a.rewrite !== undefined) {
      body = new TextEncoder().encode(
        a.rewrite(await Deno.readTextFile(a.path)),
      );
    } else {
      body = await Deno.readFile(a.path);
    }
    out.set(name, { body, contentType: a.contentType });
  }
  return out;
}
