/**
 * The dashboard's middleware: the security rules of app.ts's header (headers and CSP,
 * read-only methods, known hosts) and the store each request reads.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Store } from "../../harness/store.ts";
import { escapeMarkup as esc } from "../render/_escape.ts";

/** The Content-Security-Policy of every response. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

/** Sets the security headers (CSP, nosniff, no referrer, same-origin opener) on every response. */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeaders(c, next) {
    await next();
    c.res.headers.set("content-security-policy", CONTENT_SECURITY_POLICY);
    c.res.headers.set("x-content-type-options", "nosniff");
    c.res.headers.set("referrer-policy", "no-referrer");
    c.res.headers.set("cross-origin-opener-policy", "same-origin");
  };
}

/** Answers 405 to anything but GET and HEAD. */
export function readOnlyMethods(): MiddlewareHandler {
  return async function readOnlyMethods(c, next) {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      return c.text(
        `Method ${c.req.method} not allowed: the dashboard is read-only (GET and HEAD only)`,
        405,
        { allow: "GET, HEAD" },
      );
    }
    await next();
  };
}

/** The app's per-request variables: the store of this request. */
export type DashboardEnv = { Variables: { store: Store } };

/** Pages that never read the database (and so open nothing). */
const NO_STORE = /^\/(assets\/|favicon\.ico$)/;

/**
 * Gives each request its store (`c.var.store`): `deps.openStore()`, closed once the response is
 * built (every route answers with a finished body), else the caller's `deps.store`. Pages from
 * a live snapshot say so in a banner.
 */
export function storePerRequest(
  deps: { store?: Store; openStore?: () => Promise<Store> },
): MiddlewareHandler<DashboardEnv> {
  return async function storePerRequest(c, next) {
    if (NO_STORE.test(c.req.path)) return await next();
    const opened = deps.openStore ? await deps.openStore() : undefined;
    const store = opened ?? deps.store;
    if (store === undefined) {
      throw new Error("createApp(): give deps.store or deps.openStore");
    }
    c.set("store", store);
    try {
      await next();
      if (
        store.live &&
        c.res.headers.get("content-type")?.startsWith("text/html")
      ) {
        const html = await c.res.text();
        const banner = `<p class="banner">A run is recording into ${
          esc(store.path)
        }: this is its live snapshot, written ${
          esc(store.live.takenAt.toISOString())
        } (reload for a newer one; other runs' details are shown once it ends)</p>`;
        c.res = new Response(
          html.replace("</nav>", `</nav>\n${banner}`),
          c.res,
        );
      }
    } finally {
      opened?.close();
    }
  };
}

/** Refuses (421) a request whose Host header is not one of `allowed` (DNS rebinding). */
export function knownHosts(allowed: readonly string[]): MiddlewareHandler {
  const names = new Set(allowed.map((h) => h.toLowerCase()));
  return async function knownHosts(c, next) {
    const host = (c.req.header("host") ?? new URL(c.req.url).host)
      .toLowerCase();
    const name = host.startsWith("[")
      ? host.slice(0, host.indexOf("]") + 1)
      : host.split(":")[0];
    if (!names.has(name)) {
      return c.text(
        `Host "${host}" refused: the dashboard answers only ${
          [...names].join(", ")
        }`,
        421,
      );
    }
    await next();
  };
}
