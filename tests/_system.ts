/**
 * The system packages some tests need, probed once per process. A test that needs a missing
 * package is ignored (`ignore: skip.webgpu`, ...), and the suite's runner (`tests/_run.ts`)
 * prints one line per missing package naming it. Under `CI` (set by `.ci/run`, which installs
 * them) nothing is skipped: a missing package fails its tests instead of hiding them.
 *
 * @module
 */

import { prepareGpuEnv } from "../adapters/webgpu/step/gpu_env.ts";

/** A system package the suite can use, and what it enables. */
export interface Requirement {
  /** The Debian package that provides it. */
  package: string;
  /** What the tests that need it check. */
  enables: string;
  /** Whether this machine has it. */
  available: boolean;
}

/** Probes the default WebGPU adapter: whether one exists and whether it has `shader-f16`. */
async function probeWebGPU(): Promise<{ adapter: boolean; f16: boolean }> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return { adapter: false, f16: false };
  prepareGpuEnv();
  try {
    const a = await gpu.requestAdapter({ powerPreference: "high-performance" });
    return { adapter: a !== null, f16: a?.features.has("shader-f16") ?? false };
  } catch {
    return { adapter: false, f16: false };
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

const gpu = await probeWebGPU();

/** Debian's chromium, driven by playwright-core in the dashboard's end-to-end test. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Every requirement, by the name tests use. */
export const requirements: Readonly<Record<string, Requirement>> = {
  webgpu: {
    package: "mesa-vulkan-drivers",
    enables:
      "the engine's kernel, forward and serving tests on a WebGPU adapter (lavapipe on a CPU)",
    available: gpu.adapter,
  },
  f16: {
    package: "mesa-vulkan-drivers",
    enables:
      "the engine's f16-storage tests (the adapter's shader-f16 feature)",
    available: gpu.f16,
  },
  chromium: {
    package: "chromium",
    enables: "the dashboard's end-to-end test in a headless browser",
    available: isFile(CHROMIUM_PATH),
  },
};

const strict = Deno.env.get("CI") !== undefined;

/** `ignore` values: true where a test's package is missing (never under `CI`). */
export const skip = {
  webgpu: !strict && !requirements.webgpu.available,
  f16: !strict && !requirements.f16.available,
  chromium: !strict && !requirements.chromium.available,
};

/**
 * `Deno.test` for a test that needs a WebGPU adapter: ignored (and named in the runner's SKIP
 * line) where there is none.
 */
export function webgpuTest(
  nameOrDef: string | Deno.TestDefinition,
  fn?: (t: Deno.TestContext) => void | Promise<void>,
): void {
  const def: Deno.TestDefinition = typeof nameOrDef === "string"
    ? { name: nameOrDef, fn: fn! }
    : nameOrDef;
  Deno.test({ ...def, ignore: (def.ignore ?? false) || skip.webgpu });
}
