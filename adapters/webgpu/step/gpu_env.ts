/**
 * Process environment the GPU stack needs before the first adapter request.
 *
 * @module
 */

/**
 * Prepares the process for its first WebGPU adapter request: {@linkcode ensureRuntimeDir} and
 * {@linkcode preferVulkanBackend}. Call it before every `requestAdapter`. Idempotent.
 *
 * @example
 * ```ts
 * import { prepareGpuEnv } from "./gpu_env.ts";
 * prepareGpuEnv();
 * console.log(Deno.build.os !== "linux" || Deno.env.get("DENO_WEBGPU_BACKEND") !== undefined); // true
 * ```
 */
export function prepareGpuEnv(): void {
  ensureRuntimeDir();
  preferVulkanBackend();
}

/**
 * On Linux, limits Deno's WebGPU to its Vulkan backend (`DENO_WEBGPU_BACKEND=vulkan`) unless
 * the user chose backends. The engine only ever runs on a Vulkan adapter there (a GPU's
 * driver, or Mesa's lavapipe on a CPU), but with every backend enabled wgpu also starts its
 * OpenGL backend: EGL and a second Mesa driver (llvmpipe for GL, with its own threads) in the
 * process. At process exit that driver's teardown (libEGL's destructor) ran while the heap was
 * already corrupt: `deno test` aborted after a clean summary (`double free or corruption`,
 * `corrupted size vs. prev_size`), with the main thread inside libEGL's destructor in the core
 * file (docs/perf.md, "The abort at exit"). Without the GL backend neither is loaded. The
 * variable must be set before the process's first adapter request; processes started later
 * inherit it. Without `--allow-env` nothing changes.
 */
export function preferVulkanBackend(): void {
  if (Deno.build.os !== "linux") return;
  try {
    if (Deno.env.get("DENO_WEBGPU_BACKEND") === undefined) {
      Deno.env.set("DENO_WEBGPU_BACKEND", "vulkan");
    }
  } catch {
    // no env permission: Deno's default backends
  }
}

/**
 * Gives Mesa a valid `XDG_RUNTIME_DIR` when the process has none (containers, CI, cron), so
 * that its Vulkan drivers (lavapipe on a CPU) do not print `error: XDG_RUNTIME_DIR is invalid or
 * not set in the environment` on every adapter request. Mesa only reads the variable while its
 * window-system code starts; compute needs nothing in the folder. An existing valid value is
 * kept. The folder is one per user, `$TMPDIR/tokentrace-xdg-<uid>` (mode 0700, reused by
 * every process of that user, so none is left behind per process); where it cannot be had
 * (owned by another user, looser mode, uid unknown), a fresh temporary folder. Idempotent.
 *
 * @example
 * ```ts
 * import { ensureRuntimeDir } from "./gpu_env.ts";
 * ensureRuntimeDir();
 * console.log(Deno.statSync(Deno.env.get("XDG_RUNTIME_DIR")!).isDirectory); // true
 * ```
 */
export function ensureRuntimeDir(): void {
  const dir = Deno.env.get("XDG_RUNTIME_DIR");
  if (dir) {
    try {
      if (Deno.statSync(dir).isDirectory) return;
    } catch { /* missing: replace it */ }
  }
  Deno.env.set("XDG_RUNTIME_DIR", sharedRuntimeDir() ?? freshRuntimeDir());
}

/** `$TMPDIR/tokentrace-xdg-<uid>`, made if missing; undefined if it is not this user's, 0700. */
function sharedRuntimeDir(): string | undefined {
  const uid = currentUid();
  if (uid === undefined) return undefined;
  const tmp = (Deno.env.get("TMPDIR") || "/tmp").replace(/\/+$/, "");
  const path = `${tmp}/tokentrace-xdg-${uid}`;
  try {
    Deno.mkdirSync(path, { mode: 0o700 });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) return undefined;
  }
  try {
    const st = Deno.lstatSync(path);
    const mode = (st.mode ?? 0) & 0o777;
    return st.isDirectory && st.uid === uid && mode === 0o700
      ? path
      : undefined;
  } catch {
    return undefined;
  }
}

function freshRuntimeDir(): string {
  const own = Deno.makeTempDirSync({ prefix: "tokentrace-xdg-" });
  Deno.chmodSync(own, 0o700);
  return own;
}

/** This process's user id: `Deno.uid()`, or `/proc/self/status` without `--allow-sys`. */
function currentUid(): number | undefined {
  try {
    const uid = Deno.uid();
    if (uid !== null) return uid;
  } catch { /* no --allow-sys */ }
  try {
    const m = /^Uid:\s+(\d+)/m.exec(Deno.readTextFileSync("/proc/self/status"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
