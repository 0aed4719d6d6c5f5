/**
 * The flags `serve` and `dashboard` share: the connection limit and timeouts of their HTTP
 * server (harness/http_server.ts), parsed into {@linkcode HttpLimits}.
 *
 * @module
 */
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from "../http_server.ts";
import { integerAtLeast, positiveNumber } from "./flags.ts";

/** Raw server flags as commander gives them. */
export interface ServerFlags {
  maxConnections?: string;
  headerTimeout?: string;
  keepAliveTimeout?: string;
}

/** Help texts and defaults of the server flags, for the commands that declare them. */
export const SERVER_FLAG_HELP = {
  maxConnections:
    `connections open at once; at the limit an idle one makes room, else a 503 (default ${DEFAULT_HTTP_LIMITS.maxConnections})`,
  headerTimeout: `seconds a request head may take once begun (default ${
    DEFAULT_HTTP_LIMITS.headerTimeoutMs / 1000
  }; 408 after)`,
  keepAliveTimeout:
    `seconds a connection may wait for a request before it is closed (default ${
      DEFAULT_HTTP_LIMITS.idleTimeoutMs / 1000
    })`,
};

/**
 * Parses the server flags (absent: the defaults of `DEFAULT_HTTP_LIMITS`).
 *
 * @example
 * ```ts
 * import { parseServerFlags } from "./server_flags.ts";
 * console.log(parseServerFlags({ maxConnections: "64", headerTimeout: "2.5" }));
 * // { maxConnections: 64, headerTimeoutMs: 2500, idleTimeoutMs: undefined }
 * ```
 */
export function parseServerFlags(f: ServerFlags): HttpLimits {
  const ms = (flag: string, v: string | undefined) =>
    v === undefined
      ? undefined
      : Math.max(1, Math.round(positiveNumber(flag, v) * 1000));
  return {
    maxConnections: f.maxConnections === undefined
      ? undefined
      : integerAtLeast("--max-connections", f.maxConnections, 1),
    headerTimeoutMs: ms("--header-timeout", f.headerTimeout),
    idleTimeoutMs: ms("--keep-alive-timeout", f.keepAliveTimeout),
  };
}
