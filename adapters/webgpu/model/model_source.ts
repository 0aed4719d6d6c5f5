/**
 * Resolves `--model <dir|preset>` to a {@link WeightSource}: a Hugging Face checkpoint directory
 * (`config.json` + safetensors) or a synthetic preset name.
 *
 * @module
 */
import { parseModelConfig } from "./config.ts";
import { PRESET_CONFIGS, PRESET_NAMES, presetSource } from "./presets.ts";
import { SafetensorsSet } from "./safetensors.ts";
import type { WeightSource } from "./weights.ts";

/**
 * Opens a checkpoint directory: validates `config.json` and indexes its safetensors.
 *
 * @example
 * ```ts
 * import { openCheckpoint } from "./model_source.ts";
 * await openCheckpoint("/nonexistent").catch((e) => console.log(e.message));
 * ```
 */
export async function openCheckpoint(dir: string): Promise<WeightSource> {
  const cfgPath = `${dir}/config.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(cfgPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${cfgPath}: file not found`);
    }
    throw e;
  }
  const config = parseModelConfig(JSON.parse(text), cfgPath);
  const set = await SafetensorsSet.open(dir);
  return {
    name: dir.replace(/\/+$/, "").split("/").pop() ?? dir,
    config,
    has: (n) => set.has(n),
    read: (n, shape) => set.read(n, shape),
  };
}

/**
 * Opens a model by directory path or preset name (`tiny`, `smollm2-135m`, `qwen2.5-0.5b`,
 * `llama-3.2-1b`). A path that exists wins over a preset of the same name.
 *
 * @example
 * ```ts
 * import { openModel } from "./model_source.ts";
 * const src = await openModel("tiny");
 * console.log(src.name); // preset:tiny
 * ```
 */
export async function openModel(spec: string, seed = 0): Promise<WeightSource> {
  let isDir = false;
  try {
    isDir = (await Deno.stat(spec)).isDirectory;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (isDir) return await openCheckpoint(spec);
  if (spec in PRESET_CONFIGS) return presetSource(spec, seed);
  throw new Error(
    `Model ${
      JSON.stringify(spec)
    }: expected a checkpoint directory or a preset (${
      PRESET_NAMES.join(", ")
    })`,
  );
}
