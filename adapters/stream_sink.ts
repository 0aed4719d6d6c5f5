/**
 * Between the two forms of a request's events: the pull form (`Backend.generate()`, an async
 * iterator of event objects) and the push form (`Backend.stream()`, calls into a
 * {@linkcode StreamSink}).
 *
 * @module
 */
import type {
  Backend,
  GenerateRequest,
  StreamEvent,
  StreamSink,
  TokenChannel,
} from "./backend.ts";

/**
 * Hands one event object to `sink` (the pull form's events into the push form).
 *
 * @example
 * ```ts
 * import { deliver } from "./stream_sink.ts";
 * const seen: string[] = [];
 * const sink = {
 *   tokens: () => void seen.push("tokens"),
 *   usage: () => void seen.push("usage"),
 *   event: (ev: { kind: string }) => void seen.push(ev.kind),
 * };
 * deliver({ kind: "tokens", tNs: 1n, count: 1, channel: "content" }, sink);
 * deliver({ kind: "done", tNs: 2n, finishReason: "length" }, sink);
 * console.log(seen); // [ "tokens", "done" ]
 * ```
 */
export function deliver(ev: StreamEvent, sink: StreamSink): void {
  if (ev.kind === "tokens") sink.tokens(ev.tNs, ev.count, ev.channel, ev.text);
  else if (ev.kind === "usage") {
    sink.usage(ev.tNs, ev.promptTokens, ev.completionTokens, ev.cachedTokens);
  } else sink.event(ev);
}

/**
 * Runs one request of `backend` into `sink`: through `stream()` when the backend has it, else
 * by iterating `generate()`. Resolves when the request's events have all been delivered.
 *
 * @example
 * ```ts ignore
 * await streamRequest(backend, req, signal, sink);
 * ```
 */
export async function streamRequest(
  backend: Backend,
  req: GenerateRequest,
  signal: AbortSignal,
  sink: StreamSink,
): Promise<void> {
  if (backend.stream !== undefined) {
    return await backend.stream(req, signal, sink);
  }
  for await (const ev of backend.generate(req, signal)) deliver(ev, sink);
}

/**
 * A sink that turns every call back into an event object for `push` (the push form into the
 * pull form); token events carry their text.
 *
 * @example
 * ```ts
 * import { eventSink } from "./stream_sink.ts";
 * const out: unknown[] = [];
 * eventSink((ev) => out.push(ev)).usage(3n, 4, 2, undefined);
 * console.log(out); // [ { kind: "usage", tNs: 3n, promptTokens: 4, completionTokens: 2 } ]
 * ```
 */
export function eventSink(push: (ev: StreamEvent) => void): StreamSink {
  return {
    wantsText: true,
    tokens(
      tNs: bigint,
      count: number,
      channel: TokenChannel,
      text: string | undefined,
    ) {
      push(
        text === undefined
          ? { kind: "tokens", tNs, count, channel }
          : { kind: "tokens", tNs, count, channel, text },
      );
    },
    usage(
      tNs: bigint,
      promptTokens: number,
      completionTokens: number,
      cachedTokens: number | undefined,
    ) {
      push(
        cachedTokens === undefined
          ? { kind: "usage", tNs, promptTokens, completionTokens }
          : {
            kind: "usage",
            tNs,
            promptTokens,
            completionTokens,
            cachedTokens,
          },
      );
    },
    event: push,
  };
}

/**
 * The pull form of a producer that pushes: `start(push)` runs at once and pushes values as they
 * come; the iterator yields them in order and returns what `start` resolves to (or throws what
 * it rejects with). Values pushed while the consumer is busy wait in a queue, so the producer
 * (a read loop taking timestamps) never waits on the consumer. A consumer that stops early
 * (`return()`, a `break` out of `for await`) calls `cancel`, when given, and waits for `start`
 * to settle; without `cancel` the producer runs on, unheard.
 *
 * @example
 * ```ts
 * import { pull } from "./stream_sink.ts";
 * const it = pull<number, string>(async (push) => {
 *   push(1);
 *   await Promise.resolve();
 *   push(2);
 *   return "end";
 * });
 * const got: number[] = [];
 * let r = await it.next();
 * for (; !r.done; r = await it.next()) got.push(r.value);
 * console.log(got, r.value); // [ 1, 2 ] end
 * ```
 */
export async function* pull<T, R>(
  start: (push: (v: T) => void) => Promise<R>,
  cancel?: () => void,
): AsyncGenerator<T, R, undefined> {
  let queue: T[] = [];
  let wake: (() => void) | undefined;
  let settled:
    | { ok: true; value: R }
    | { ok: false; error: unknown }
    | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const running = start((v) => {
    queue.push(v);
    poke();
  }).then(
    (value) => {
      settled = { ok: true, value };
      poke();
    },
    (error: unknown) => {
      settled = { ok: false, error };
      poke();
    },
  );
  try {
    for (;;) {
      if (queue.length > 0) {
        const batch = queue;
        queue = [];
        for (const v of batch) yield v;
        continue;
      }
      if (settled !== undefined) {
        if (settled.ok) return settled.value;
        throw settled.error;
      }
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    // The consumer stopped early: stop the producer and wait until it has wound down.
    if (settled === undefined && cancel !== undefined) {
      cancel();
      await running;
    }
  }
}
