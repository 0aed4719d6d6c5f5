/**
 * `tokentrace engine generate|verify`: run the built-in WebGPU engine directly.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import {
  engineGenerate,
  engineVerify,
  parsePromptIds,
} from "./engine_actions.ts";
import { renderGenerate, renderVerify } from "./engine_render.ts";
import { integerAtLeast, oneOf, positiveNumber } from "./flags.ts";

const DTYPES = ["auto", "f16", "f32"] as const;

/** Adds the `engine` command group to `program`; `exit` receives the exit code. */
export function addEngineCommands(
  program: Command,
  exit: (code: number) => void,
): void {
  const engine = program.command("engine")
    .description(
      "the built-in WebGPU engine: generate ids, verify against an oracle",
    );

  engine.command("generate")
    .description("generate token ids after a prompt on the WebGPU adapter")
    .requiredOption(
      "--model <dir|preset>",
      "checkpoint folder or preset (tiny, smollm2-135m, ...)",
    )
    .requiredOption(
      "--prompt-ids <ids>",
      "comma-separated prompt token ids, e.g. 1,2,3",
    )
    .option("--max-tokens <n>", "tokens to generate", "16")
    .option("--greedy", "argmax decoding (default: temperature sampling)")
    .option("--temperature <t>", "sampling temperature", "1")
    .option("--top-p <p>", "nucleus mass", "1")
    .option("--seed <n>", "sampling seed (also seeds preset weights)", "0")
    .option("--dtype <dtype>", "storage dtype: auto | f16 | f32", "auto")
    .option("--stop-at-eos", "stop at the model's EOS ids")
    .option("--json", "print the result as JSON")
    .action(async (o) => {
      const r = await engineGenerate({
        model: o.model,
        promptIds: parsePromptIds(o.promptIds),
        maxTokens: integerAtLeast("--max-tokens", o.maxTokens, 1),
        greedy: o.greedy ?? false,
        temperature: positiveNumber("--temperature", o.temperature),
        topP: positiveNumber("--top-p", o.topP),
        seed: integerAtLeast("--seed", o.seed, 0),
        dtype: oneOf("--dtype", o.dtype, DTYPES),
        stopAtEos: o.stopAtEos ?? false,
      });
      console.log(renderGenerate(r, o.json ? "json" : "text"));
      exit(0);
    });

  engine.command("verify")
    .description(
      "compare the engine with an expected.json oracle (logits and greedy ids)",
    )
    .requiredOption(
      "--model <dir>",
      "checkpoint folder holding config.json and safetensors",
    )
    .option("--expected <file>", "oracle file (default: <model>/expected.json)")
    .option("--dtype <dtype>", "storage dtype: auto | f16 | f32", "f32")
    .option(
      "--tolerance <x>",
      "largest relative RMS error of the last-position logits",
      "1e-3",
    )
    .option("--json", "print the report as JSON")
    .action(async (o) => {
      const r = await engineVerify({
        model: o.model,
        expected: o.expected,
        dtype: oneOf("--dtype", o.dtype, DTYPES),
        tolerance: positiveNumber("--tolerance", o.tolerance),
      });
      console.log(renderVerify(r, o.json ? "json" : "text"));
      exit(r.pass ? 0 : 1);
    });
}
