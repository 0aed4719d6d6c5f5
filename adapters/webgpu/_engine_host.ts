/**
 * Where the built-in engine runs for {@link WebGPUBackend}: a process of its own (the default;
 * `_engine_process.ts`) or a worker thread of the harness's process (`_engine_worker.ts`). Both
 * carry the same engine protocol (`_engine_protocol.ts`); this module hides which one it is.
 *
 * @module
 */
import type { FromEngine, ToEngine } from "./_engine_protocol.ts";
import { encodeFrame, FrameDecoder } from "./_engine_frames.ts";

/** `process`: the engine in a child process; `worker`: on a worker thread of this process. */
export type EngineHostKind = "process" | "worker";

/** One running engine host. */
export interface EngineHost {
  readonly kind: EngineHostKind;
  /** The engine's process id (`process`), or undefined (`worker`). */
  readonly pid: number | undefined;
  /** Sends one message to the engine (dropped once the host has ended). */
  post(m: ToEngine): void;
  /** Each message from the engine, in order. */
  onMessage: (m: FromEngine) => void;
  /** Called once if the host dies on its own (not after `end()`), with why. */
  onFailure: (message: string) => void;
  /** Stops the host (after the engine's `closed`, or to abandon it) and waits until it has. */
  end(): Promise<void>;
}

/** Starts an engine host of `kind`; the engine opens on its `open` message. */
export function startEngineHost(kind: EngineHostKind): EngineHost {
  return kind === "process" ? new ProcessHost() : new WorkerHost();
}

/** How much of the engine process's stderr is kept for an error message. */
const STDERR_TAIL_CHARS = 2_000;

/** How long `end()` waits for the process to exit after its stdin closed, before killing it. */
const EXIT_GRACE_MS = 10_000;

class ProcessHost implements EngineHost {
  readonly kind = "process";
  readonly pid: number;
  onMessage: (m: FromEngine) => void = () => {};
  onFailure: (message: string) => void = () => {};
  private readonly child: Deno.ChildProcess;
  private readonly stdin: WritableStreamDefaultWriter<Uint8Array>;
  private stderrTail = "";
  private ended = false;
  private failed = false;
  private readonly exited: Promise<Deno.CommandStatus>;

  constructor() {
    const entry = new URL("./_engine_process.ts", import.meta.url);
    if (entry.protocol !== "file:") {
      throw new Error(
        `The engine's process needs its entry as a local file, got ${entry.href}; ` +
          `open the backend with host "worker" instead`,
      );
    }
    // Its own config: the engine's modules import nothing from npm, and a deno.json in the
    // working directory must not change how they load.
    this.child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--quiet",
        "--no-prompt",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-ffi",
        entry.pathname,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.child.pid;
    this.stdin = this.child.stdin.getWriter();
    this.exited = this.child.status;
    void this.readStdout();
    void this.readStderr();
    void this.exited.then((s) => {
      if (!this.ended) {
        this.fail(
          `Engine process exited (${
            s.signal ? `signal ${s.signal}` : `code ${s.code}`
          }) while serving`,
        );
      }
    });
  }

  post(m: ToEngine): void {
    if (this.ended || this.failed) return;
    this.stdin.write(encodeFrame(m)).catch((e) =>
      this.fail(`Engine process stopped reading: ${(e as Error).message}`)
    );
  }

  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.stdin.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      this.exited.then(() => true),
      new Promise<false>((r) =>
        timer = setTimeout(() => r(false), EXIT_GRACE_MS)
      ),
    ]);
    clearTimeout(timer);
    if (!exited) {
      try {
        this.child.kill("SIGKILL");
      } catch { /* it exited meanwhile */ }
      await this.exited;
    }
  }

  private fail(message: string): void {
    if (this.failed || this.ended) return;
    this.failed = true;
    const tail = this.stderrTail.trim();
    this.onFailure(
      tail ? `${message}; its stderr ended with: ${tail}` : message,
    );
  }

  private async readStdout(): Promise<void> {
    const decoder = new FrameDecoder();
    try {
      for await (const chunk of this.child.stdout) {
        for (const m of decoder.push(chunk)) this.onMessage(m as FromEngine);
      }
    } catch (e) {
      this.fail((e as Error).message);
      try {
        this.child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
  }

  private async readStderr(): Promise<void> {
    const text = new TextDecoder();
    for await (const chunk of this.child.stderr) {
      this.stderrTail = (this.stderrTail + text.decode(chunk, { stream: true }))
        .slice(-STDERR_TAIL_CHARS);
    }
  }
}

class WorkerHost implements EngineHost {
  readonly kind = "worker";
  readonly pid = undefined;
  onMessage: (m: FromEngine) => void = () => {};
  onFailure: (message: string) => void = () => {};
  private readonly worker = new Worker(
    new URL("./_engine_worker.ts", import.meta.url),
    { type: "module" },
  );
  private ended = false;

  constructor() {
    this.worker.onmessage = (e: MessageEvent<FromEngine>) =>
      this.onMessage(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault();
      if (!this.ended) this.onFailure(`Engine thread failed: ${e.message}`);
    };
  }

  post(m: ToEngine): void {
    if (!this.ended) this.worker.postMessage(m);
  }

  end(): Promise<void> {
    this.ended = true;
    this.worker.terminate();
    return Promise.resolve();
  }
}
