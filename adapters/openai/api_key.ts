/**
 * Reading the API key from the environment.
 *
 * @module
 */

/** The environment variable the CLI reads the API key from unless told otherwise. */
export const DEFAULT_API_KEY_ENV = "OPENAI_API_KEY";

/**
 * Reads an API key from the environment variable `varName`.
 *
 * Returns `undefined` when the variable is unset or empty (local servers usually need no key).
 *
 * @param varName The variable name; defaults to {@linkcode DEFAULT_API_KEY_ENV}.
 * @throws {Error} When the name is empty or the process may not read that variable.
 *
 * @example
 * ```ts
 * import { apiKeyFromEnv } from "./api_key.ts";
 * Deno.env.set("TOKENTRACE_DOC_KEY", "sk-doc");
 * console.log(apiKeyFromEnv("TOKENTRACE_DOC_KEY")); // sk-doc
 * Deno.env.delete("TOKENTRACE_DOC_KEY");
 * console.log(apiKeyFromEnv("TOKENTRACE_DOC_KEY")); // undefined
 * ```
 */
export function apiKeyFromEnv(
  varName: string = DEFAULT_API_KEY_ENV,
): string | undefined {
  if (varName === "") {
    throw new Error(
      `API key variable name: expected a non-empty name such as ${DEFAULT_API_KEY_ENV}, got ""`,
    );
  }
  let value: string | undefined;
  try {
    value = Deno.env.get(varName);
  } catch (e) {
    if (
      e instanceof Deno.errors.NotCapable ||
      e instanceof Deno.errors.PermissionDenied
    ) {
      throw new Error(
        `Cannot read the API key from environment variable ${varName}: permission denied. Run with --allow-env=${varName}`,
      );
    }
    throw e;
  }
  return value === undefined || value === "" ? undefined : value;
}
