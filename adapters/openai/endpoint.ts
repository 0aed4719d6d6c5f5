/**
 * Addressing an OpenAI-compatible server: its `/v1` root URL and the headers every call sends.
 *
 * @module
 */

/**
 * Normalizes a server base URL to its `/v1` root, without a trailing slash.
 *
 * Accepts the URL with or without a trailing `/v1` and trailing slashes; a path prefix (a proxy
 * route) is kept. Query strings and fragments are refused because endpoint paths are appended.
 *
 * @throws {Error} When `baseUrl` is not an absolute `http:` or `https:` URL.
 *
 * @example
 * ```ts
 * import { apiRoot } from "./endpoint.ts";
 * console.log(apiRoot("http://127.0.0.1:8000")); // http://127.0.0.1:8000/v1
 * console.log(apiRoot("http://127.0.0.1:8000/v1/")); // http://127.0.0.1:8000/v1
 * console.log(apiRoot("https://gw.example/llm")); // https://gw.example/llm/v1
 * ```
 */
export function apiRoot(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(
      `Base URL ${
        JSON.stringify(baseUrl)
      }: expected an absolute http:// or https:// URL such as http://127.0.0.1:8000`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(
      `Base URL ${
        JSON.stringify(baseUrl)
      }: expected protocol http: or https:, got ${url.protocol}`,
    );
  }
  if (url.search !== "" || url.hash !== "") {
    throw new Error(
      `Base URL ${
        JSON.stringify(baseUrl)
      }: expected no query or fragment, got ${
        JSON.stringify(url.search + url.hash)
      }`,
    );
  }
  const path = url.pathname.replace(/\/+$/, "");
  const root = path.endsWith("/v1") ? path : `${path}/v1`;
  return `${url.origin}${root}`;
}

/**
 * The headers of every call: JSON content type, `Authorization: Bearer <apiKey>` when a key is
 * given, then `extra` (which may override either).
 *
 * @example
 * ```ts
 * import { baseHeaders } from "./endpoint.ts";
 * const h = baseHeaders("sk-test", { "x-team": "perf" });
 * console.log(h.get("authorization"), h.get("x-team")); // Bearer sk-test perf
 * ```
 */
export function baseHeaders(
  apiKey: string | undefined,
  extra: Record<string, string> | undefined,
): Headers {
  const h = new Headers({ "content-type": "application/json" });
  if (apiKey !== undefined && apiKey !== "") {
    h.set("authorization", `Bearer ${apiKey}`);
  }
  if (extra !== undefined) {
    for (const [k, v] of Object.entries(extra)) h.set(k, v);
  }
  return h;
}
