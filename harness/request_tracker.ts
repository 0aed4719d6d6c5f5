/**
 * Follows one request's events: writes its in-flight `requests` row when it is sent, appends its
 * token rows and builds its final `requests` row.
 *
 * @module
 */
import type { StreamEvent, TokenChannel } from "../adapters/backend.ts";
import type { TraceRequest } from "../workloads/base/request.ts";
import type { RecorderRows, RequestRow } from "./recorder.ts";

/**
 * Turns the event stream of one request into recorder rows.
 *
 * @example
 * ```ts
 * import { RequestTracker } from "./request_tracker.ts";
 * const rows: unknown[] = [];
 * const sink = { token: (...a: unknown[]) => rows.push(a) };
 * const t = new RequestTracker({ id: "1", arrivalMs: 0, inputTokens: 3, outputTokens: 1 }, 0n, sink);
 * t.onEvent({ kind: "sent", tNs: 5n });
 * t.onEvent({ kind: "tokens", tNs: 9n, count: 1, channel: "content" });
 * t.onEvent({ kind: "done", tNs: 10n, finishReason: "length" });
 * console.log(t.finish().status, rows.length); // ok 1
 * ```
 */
export class RequestTracker {
  private readonly row: RequestRow;
  private ended = false;

  constructor(
    req: TraceRequest,
    scheduledNs: bigint,
    private readonly sink:
      & Pick<RecorderRows, "token">
      & Partial<Pick<RecorderRows, "requestSent">>,
  ) {
    this.row = {
      reqId: req.id,
      traceIndex: req.traceIndex,
      sessionId: req.sessionId,
      turn: req.turn,
      scheduledNs,
      inputTokensPlanned: req.inputTokens,
      outputTokensPlanned: req.outputTokens,
      outputChunks: 0,
      outputTokensCounted: 0,
      status: "error",
    };
  }

  /** Records when the pacer released the request and which try this is. */
  setDispatch(releasedNs: bigint, attempt: number): void {
    this.row.releasedNs = releasedNs;
    this.row.attempt = attempt;
  }

  /** Whether a `done` or `error` event has been seen. */
  get hasEnded(): boolean {
    return this.ended;
  }

  /** Takes one event; token events are appended to the recorder at once. */
  onEvent(ev: StreamEvent): void {
    const r = this.row;
    switch (ev.kind) {
      case "sent":
        r.sentNs = ev.tNs;
        // Its row goes out now (in flight), before any of its token rows.
        this.sink.requestSent?.({ ...r });
        break;
      case "first_byte":
        r.firstByteNs ??= ev.tNs;
        break;
      case "tokens":
        this.onTokens(ev.tNs, ev.count, ev.channel);
        break;
      case "usage":
        this.onUsage(ev.promptTokens, ev.completionTokens, ev.cachedTokens);
        break;
      case "server_timings":
        r.serverPromptTokens = ev.promptTokens;
        r.serverPromptMs = ev.promptMs;
        r.serverPredictedTokens = ev.predictedTokens;
        r.serverPredictedMs = ev.predictedMs;
        break;
      case "done":
        if (this.ended) break;
        this.ended = true;
        r.doneNs = ev.tNs;
        r.status = "ok";
        r.finishReason = ev.finishReason;
        break;
      case "error":
        if (this.ended) break;
        this.ended = true;
        r.status = ev.errorKind === "timeout"
          ? "timeout"
          : ev.errorKind === "cancelled"
          ? "cancelled"
          : "error";
        r.httpStatus = ev.status;
        // A timeout records which limit fired: timeout_connect, _first_token, _idle, _total.
        r.errorKind = ev.timeoutKind
          ? `timeout_${ev.timeoutKind}`
          : ev.errorKind;
        r.error = ev.message;
        break;
    }
  }

  /** Takes one token-bearing chunk (a `tokens` event): its row is appended to the recorder at once. */
  onTokens(tNs: bigint, count: number, channel: TokenChannel): void {
    const r = this.row;
    this.sink.token(r.reqId, r.outputChunks, tNs, count, channel);
    r.firstTokenNs ??= tNs;
    r.lastTokenNs = tNs;
    r.outputChunks++;
    r.outputTokensCounted += count;
  }

  /** Takes the server's token accounting (a `usage` event); the last one counts. */
  onUsage(
    promptTokens: number,
    completionTokens: number,
    cachedTokens: number | undefined,
  ): void {
    const r = this.row;
    r.promptTokensReported = promptTokens;
    r.completionTokensReported = completionTokens;
    r.cachedTokens = cachedTokens;
  }

  /** The finished row; a stream that ended without `done` or `error` is a protocol error. */
  finish(): RequestRow {
    if (!this.ended) {
      this.ended = true;
      this.row.status = "error";
      this.row.errorKind = "protocol";
      this.row.error = "Backend stream ended without a done or error event";
    }
    return this.row;
  }
}
