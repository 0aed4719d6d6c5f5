// The process environment set before the first adapter request (adapters/webgpu/step/gpu_env.ts).
// Each case runs in a child process with an environment of its own: the variables are
// process-wide, and other test files run in this process at the same time.
import assert from "node:assert/strict";

const MODULE =
  new URL("../../../../adapters/webgpu/step/gpu_env.ts", import.meta.url).href;

/** What Deno itself needs from the environment (its cache, the PATH). */
function passThrough(): Record<string, string> {
  const keep: Record<string, string> = {};
  for (const k of ["PATH", "HOME", "DENO_DIR"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) keep[k] = v;
  }
  return keep;
}

/** Runs `code` (with `prepareGpuEnv` etc. imported) in a child with exactly `env`; its JSON. */
async function inChild(
  code: string,
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import * as g from ${JSON.stringify(MODULE)};\n${code}`,
    ],
    clearEnv: true,
    env: { ...passThrough(), NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `child failed: ${stderr}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("preferVulkanBackend: Vulkan only on Linux when unset; a user's choice is kept", async () => {
  const unset = await inChild(
    `g.preferVulkanBackend(); console.log(JSON.stringify({ b: Deno.env.get("DENO_WEBGPU_BACKEND") ?? null }));`,
    {},
  );
  assert.equal(unset.b, Deno.build.os === "linux" ? "vulkan" : null);
  const chosen = await inChild(
    `g.preferVulkanBackend(); console.log(JSON.stringify({ b: Deno.env.get("DENO_WEBGPU_BACKEND") }));`,
    { DENO_WEBGPU_BACKEND: "gl" },
  );
  assert.equal(chosen.b, "gl");
});

Deno.test("ensureRuntimeDir: one folder per user, reused; a valid folder is kept", async () => {
  if (Deno.build.os !== "linux") return;
  const tmp = await Deno.makeTempDir({ prefix: "tokentrace-gpuenv-" });
  try {
    const code =
      `g.ensureRuntimeDir(); const d = Deno.env.get("XDG_RUNTIME_DIR"); const s = Deno.statSync(d);` +
      `console.log(JSON.stringify({ d, mode: s.mode & 0o777 }));`;
    const a = await inChild(code, { TMPDIR: tmp });
    const b = await inChild(code, { TMPDIR: tmp });
    assert.equal(a.d, b.d, "the second process reuses the first one's folder");
    assert.equal(a.mode, 0o700);
    assert.ok(String(a.d).startsWith(`${tmp}/tokentrace-xdg-`), String(a.d));
    // Only that one folder was made in TMPDIR.
    assert.equal([...Deno.readDirSync(tmp)].length, 1);
    // An existing folder of the user's own is kept as it is.
    const own = `${tmp}/own`;
    Deno.mkdirSync(own);
    const c = await inChild(code, { TMPDIR: tmp, XDG_RUNTIME_DIR: own });
    assert.equal(c.d, own);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("ensureRuntimeDir: a shared folder with a looser mode is not used", async () => {
  if (Deno.build.os !== "linux") return;
  const tmp = await Deno.makeTempDir({ prefix: "tokentrace-gpuenv-" });
  try {
    const probe = await inChild(
      `g.ensureRuntimeDir(); console.log(JSON.stringify({ d: Deno.env.get("XDG_RUNTIME_DIR") }));`,
      { TMPDIR: tmp },
    );
    const shared = String(probe.d);
    Deno.chmodSync(shared, 0o777);
    const r = await inChild(
      `g.ensureRuntimeDir(); const d = Deno.env.get("XDG_RUNTIME_DIR");` +
        `console.log(JSON.stringify({ d, mode: Deno.statSync(d).mode & 0o777 }));`,
      { TMPDIR: tmp },
    );
    assert.ok(
      r.d !== shared,
      "a 0777 folder is not taken as the runtime folder",
    );
    assert.equal(r.mode, 0o700);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
