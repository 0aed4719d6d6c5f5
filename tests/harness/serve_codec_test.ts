// serveCodec(): which text codec `tokentrace serve` uses — the --tokenizer folder, else the
// checkpoint folder's own tokenizer.json, else byte-level — and the tokenizers it refuses.
import assert from "node:assert/strict";
import {
  parseServeConfig,
  serveCodec,
} from "../../harness/cli/serve_command.ts";
import { FlagError } from "../../harness/cli/flags.ts";
import { fixturePath, modelDir } from "../_fixtures.ts";

const TOKENIZER = fixturePath("tokenizers/tiny-sp256");
const cfg = (f: Record<string, string>) =>
  parseServeConfig({ host: "127.0.0.1", port: "0", ...f });

Deno.test("serveCodec() picks the tokenizer, else the checkpoint's, else byte-level", async (t) => {
  await t.step("a preset without --tokenizer: byte-level", async () => {
    assert.equal((await serveCodec(cfg({ model: "tiny" }), 256)).kind, "bytes");
  });
  await t.step(
    "a checkpoint folder without tokenizer.json: byte-level",
    async () => {
      const c = await serveCodec(
        cfg({ model: modelDir("tiny-llama-f32") }),
        256,
      );
      assert.equal(c.kind, "bytes");
    },
  );
  await t.step(
    "--tokenizer: the checkpoint's tokenizer and template",
    async () => {
      const c = await serveCodec(
        cfg({ model: "tiny", tokenizer: TOKENIZER }),
        256,
      );
      assert.equal(c.kind, "tokenizer");
      assert.equal(c.source, `${TOKENIZER}/tokenizer.json`);
    },
  );
  await t.step(
    "a tokenizer larger than the model's vocabulary: refused",
    async () => {
      await assert.rejects(
        serveCodec(cfg({ model: "tiny", tokenizer: TOKENIZER }), 128),
        new FlagError(
          "--tokenizer",
          `${TOKENIZER}/tokenizer.json`,
          "a tokenizer whose ids fit the model's vocabulary of 128 (it has 256)",
        ),
      );
    },
  );
  await t.step("a --tokenizer path that does not exist: refused", async () => {
    await assert.rejects(
      serveCodec(cfg({ model: "tiny", tokenizer: "/nonexistent/tok" }), 256),
      {
        name: "FlagError",
        message:
          'Option --tokenizer: expected a folder holding tokenizer.json (and tokenizer_config.json), or the tokenizer.json file, got "/nonexistent/tok"',
      },
    );
  });
});
