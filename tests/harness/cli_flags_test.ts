import assert from "node:assert/strict";
import { MAX_WORKERS } from "../../harness/cli/load_flags.ts";
import { runCli } from "./_cli.ts";

// Every case fails before the trace is read or the server contacted (neither exists).
const RUN = ["run", "--trace", "x.csv", "--url", "http://127.0.0.1:9"];

Deno.test("tokentrace run: bad flags exit 2 with a message naming the flag", async (t) => {
  const cases: [string[], string][] = [
    [
      [...RUN, "--retry-backoff", "-1"],
      'tokentrace: error: Option --retry-backoff: expected a number of seconds >= 0, got "-1"',
    ],
    [
      [...RUN, "--workers", "1000"],
      `tokentrace: error: Option --workers: expected an integer from 1 to ${MAX_WORKERS} (twice the ${
        navigator.hardwareConcurrency || 1
      } cores; more sender threads than cores only contend), or auto, got "1000"`,
    ],
    [
      [...RUN, "--api-key-env", "TOKENTRACE_TEST_SURELY_UNSET"],
      'tokentrace: error: Option --api-key-env: expected the name of a set, non-empty environment variable holding the API key (leave the flag out to send no key unless OPENAI_API_KEY is set), got "TOKENTRACE_TEST_SURELY_UNSET"',
    ],
    [
      [...RUN, "--slo", "bogus"],
      'tokentrace: error: Invalid --slo "bogus": part "bogus" is not key=value, expected e.g. ttft=200,tpot=50,e2e=5000',
    ],
    [
      [...RUN, "--no-such-flag"],
      "error: unknown option '--no-such-flag'",
    ],
    [
      ["report", "--no-such-flag"],
      "error: unknown option '--no-such-flag'",
    ],
  ];
  for (const [args, message] of cases) {
    await t.step(args.slice(5).join(" ") || args.join(" "), async () => {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split("\n")[0], message);
    });
  }
});
