/**
 * TCP connections through libc (Deno's FFI) with the kernel's receive time of every read.
 *
 * Why: a token's time is the time its bytes reached this host. Taken in JavaScript after
 * `await conn.read()`, it also holds the wake-up of Deno's I/O thread, the hop to the event loop
 * and whatever that thread was doing: on a quiet 2-core machine that was a p99 error of 1.1 ms
 * at 8 streams and 2.1 ms at 64 against the server's own send times, with a median of 0.07-0.09
 * ms. Each socket here has `SO_TIMESTAMPNS` set, so every `recvmsg` returns, with the bytes, the
 * time the kernel queued the newest of them, and the caller subtracts how long ago that was
 * from its own clock ({@linkcode NativeTcpConn.receivedAgoNs}): a late read no longer makes a late
 * token. Where one read returns several events, all get the newest arrival (as before, one time
 * per read); where one event arrives in pieces, the time of its last piece.
 *
 * Readiness comes from one `epoll` set per thread, waited on by a non-blocking FFI call while any
 * connection waits (none is pending when nothing waits, so idle keep-alive connections do not
 * keep a process alive), and an `eventfd` wakes that wait when the last waiter leaves.
 *
 * Linux on x86-64 and arm64 only, with the `ffi` permission ({@linkcode nativeTcpUnavailable}
 * says why not otherwise); callers fall back to `Deno.connect`. Numeric addresses only (IPv4,
 * IPv6, and `localhost` as 127.0.0.1 then ::1): names are resolved by `Deno.connect`.
 *
 * @module
 */

/** The part of a TCP connection tokentrace's HTTP/1.1 client uses (`Deno.TcpConn` has it). */
export interface ByteConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
  /**
   * Nanoseconds since the kernel received the newest bytes of the last `read()`, or -1 when the
   * connection cannot tell (no receive time came with them, or a connection without them).
   */
  receivedAgoNs?(): number;
}

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  getsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "buffer"],
    result: "i32",
  },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: {
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

// Linux constants, the same on x86-64 and arm64.
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_ERROR = 4;
const SO_TIMESTAMPNS = 35;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLLIN = 0x1;
const EPOLLOUT = 0x4;
const EPOLLERR = 0x8;
const EPOLLHUP = 0x10;
const EPOLLRDHUP = 0x2000;
const EPOLLET = 0x80000000;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const CLOCK_REALTIME = 0;
const EINTR = 4;
const EAGAIN = 11;
const EINPROGRESS = 115;

/** Errno values worth a name in messages, with the `Deno.errors` class callers test for. */
const ERRNO: Record<number, [string, new (m: string) => Error]> = {
  32: ["broken pipe", Deno.errors.BrokenPipe],
  101: ["network unreachable", Deno.errors.NetworkUnreachable],
  103: ["connection aborted", Deno.errors.ConnectionAborted],
  104: ["connection reset", Deno.errors.ConnectionReset],
  110: ["connection timed out", Deno.errors.TimedOut],
  111: ["connection refused", Deno.errors.ConnectionRefused],
  113: ["host unreachable", Deno.errors.NetworkUnreachable],
};

function errnoError(op: string, errno: number): Error {
  const known = ERRNO[errno];
  return known === undefined
    ? new Error(`${op} failed: errno ${errno}`)
    : new known[1](`${op}: ${known[0]} (errno ${errno})`);
}

/** Size of `struct epoll_event` and the offset of its data: packed on x86-64 only. */
const EVENT_BYTES = Deno.build.arch === "x86_64" ? 12 : 16;
const EVENT_DATA = Deno.build.arch === "x86_64" ? 4 : 8;
const MAX_EVENTS = 256;

let unavailable: string | undefined;
let poller: Poller | undefined;

/**
 * Why connections here cannot be used in this process (not Linux on x86-64 or arm64, no `ffi`
 * permission, libc not loadable), or `undefined` when they can. Asks nothing: a missing
 * permission is reported, never prompted for.
 *
 * @example
 * ```ts
 * import { nativeTcpUnavailable } from "./native_tcp.ts";
 * console.log(typeof (nativeTcpUnavailable() ?? "available")); // string
 * ```
 */
export function nativeTcpUnavailable(): string | undefined {
  if (poller !== undefined) return undefined;
  if (unavailable !== undefined) return unavailable;
  if (Deno.build.os !== "linux") {
    return unavailable = `not Linux (${Deno.build.os})`;
  }
  if (Deno.build.arch !== "x86_64" && Deno.build.arch !== "aarch64") {
    return unavailable = `architecture ${Deno.build.arch}`;
  }
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return unavailable = "no --allow-ffi permission";
  }
  try {
    poller = new Poller(Deno.dlopen("libc.so.6", SYMBOLS).symbols);
  } catch (e) {
    return unavailable = `libc.so.6 not usable: ${(e as Error).message}`;
  }
  return undefined;
}

/** The socket address bytes for a numeric host (`localhost`: 127.0.0.1), or undefined. */
export function numericAddress(
  host: string,
  port: number,
): Uint8Array | undefined {
  const h = host === "localhost" ? "127.0.0.1" : host;
  const v4 = ipv4(h);
  if (v4 !== undefined) {
    const sa = new Uint8Array(16);
    const dv = new DataView(sa.buffer);
    dv.setUint16(0, AF_INET, true);
    dv.setUint16(2, port, false);
    sa.set(v4, 4);
    return sa;
  }
  const v6 = ipv6(h);
  if (v6 === undefined) return undefined;
  const sa = new Uint8Array(28);
  const dv = new DataView(sa.buffer);
  dv.setUint16(0, AF_INET6, true);
  dv.setUint16(2, port, false);
  sa.set(v6, 8);
  return sa;
}

function ipv4(h: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? b : undefined;
}

function ipv6(h: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(h) || !h.includes(":")) return undefined;
  const halves = h.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => s === "" ? [] : s.split(":");
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const all = [
    ...head,
    ...Array(halves.length === 2 ? fill : 0).fill("0"),
    ...tail,
  ];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i])) return undefined;
    const v = parseInt(all[i], 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 255;
  }
  return out;
}

/** One thread's epoll set, its wake-up eventfd and the connections waiting on it. */
class Poller {
  readonly epfd: number;
  private readonly wakeFd: number;
  private readonly conns = new Map<number, NativeTcpConn>();
  private waiting = 0;
  private running = false;
  private blocked = false;
  private readonly events = new Uint8Array(EVENT_BYTES * MAX_EVENTS);
  private readonly eventView = new DataView(this.events.buffer);
  private readonly one = new BigUint64Array([1n]);
  private readonly drainBuf = new Uint8Array(8);
  private readonly errnoView: Deno.UnsafePointerView;
  private readonly ts = new BigInt64Array(2);
  private readonly tsBytes = new Uint8Array(this.ts.buffer);

  constructor(readonly libc: Libc) {
    this.epfd = libc.epoll_create1(EFD_CLOEXEC);
    if (this.epfd < 0) {
      throw new Error("Could not create an epoll set (epoll_create1 failed)");
    }
    this.wakeFd = libc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.wakeFd < 0) {
      throw new Error("Could not create an eventfd (eventfd failed)");
    }
    this.errnoView = new Deno.UnsafePointerView(libc.__errno_location()!);
    this.control(EPOLL_CTL_ADD, this.wakeFd, EPOLLIN | EPOLLET);
    // The kernel stamps received packets only while some socket asks for it, and turns that on
    // in deferred work after the first one asks: the packets of the first milliseconds can
    // come unstamped (their reads are then timed when they return). One UDP socket with
    // SO_TIMESTAMPNS, held for the process's life, asks from the first connection's creation
    // (made at the pool's construction, before any request) on, and keeps it on between
    // connections.
    const keeper = libc.socket(AF_INET, 2 /* SOCK_DGRAM */ | SOCK_CLOEXEC, 0);
    if (keeper >= 0) {
      const on = new Uint8Array(new Int32Array([1]).buffer);
      libc.setsockopt(keeper, SOL_SOCKET, SO_TIMESTAMPNS, on, 4);
    }
  }

  errno(): number {
    return this.errnoView.getInt32();
  }

  /** CLOCK_REALTIME now, in nanoseconds split as [seconds, nanoseconds]. */
  realtime(): BigInt64Array {
    this.libc.clock_gettime(CLOCK_REALTIME, this.tsBytes);
    return this.ts;
  }

  control(op: number, fd: number, mask: number): void {
    const ev = new Uint8Array(16);
    const dv = new DataView(ev.buffer);
    dv.setUint32(0, mask, true);
    dv.setUint32(EVENT_DATA, fd, true);
    if (
      this.libc.epoll_ctl(this.epfd, op, fd, ev) !== 0 && op === EPOLL_CTL_ADD
    ) {
      throw errnoError("epoll_ctl", this.errno());
    }
  }

  add(c: NativeTcpConn): void {
    this.control(
      EPOLL_CTL_ADD,
      c.fd,
      EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
    );
    this.conns.set(c.fd, c);
  }

  remove(c: NativeTcpConn): void {
    if (this.conns.get(c.fd) !== c) return;
    this.conns.delete(c.fd);
    this.control(EPOLL_CTL_DEL, c.fd, 0);
  }

  /** A connection starts waiting: the wait runs while any does. */
  hold(): void {
    this.waiting++;
    if (!this.running) {
      this.running = true;
      this.loop();
    }
  }

  /** A connection stopped waiting; the last one ends a wait in progress. */
  release(): void {
    this.waiting--;
    if (this.waiting === 0 && this.blocked) {
      this.libc.write(this.wakeFd, new Uint8Array(this.one.buffer), 8n);
    }
  }

  private async loop(): Promise<void> {
    const L = this.libc;
    try {
      while (this.waiting > 0) {
        this.blocked = true;
        const n = await L.epoll_wait(this.epfd, this.events, MAX_EVENTS, -1);
        this.blocked = false;
        if (n < 0) {
          const e = this.errno();
          if (e === EINTR) continue;
          throw errnoError("epoll_wait", e);
        }
        for (let i = 0; i < n; i++) {
          const mask = this.eventView.getUint32(i * EVENT_BYTES, true);
          const fd = this.eventView.getInt32(
            i * EVENT_BYTES + EVENT_DATA,
            true,
          );
          if (fd === this.wakeFd) {
            L.read(this.wakeFd, this.drainBuf, 8n);
            continue;
          }
          this.conns.get(fd)?.ready(mask);
        }
      }
    } catch (e) {
      for (const c of [...this.conns.values()]) c.fail(e as Error);
    } finally {
      this.running = false;
      this.blocked = false;
    }
  }
}

/** Pointers of the buffers a connection reads into, by their ArrayBuffer. */
const bases = new WeakMap<ArrayBufferLike, bigint>();
function pointerOf(p: Uint8Array): bigint {
  let base = bases.get(p.buffer);
  if (base === undefined) {
    base = BigInt(
      Deno.UnsafePointer.value(
        Deno.UnsafePointer.of(new Uint8Array(p.buffer)),
      ),
    );
    bases.set(p.buffer, base);
  }
  return base + BigInt(p.byteOffset);
}

/**
 * The address of `bytes`' first byte, for {@linkcode sendFromAddress} on another thread; the
 * caller keeps `bytes` alive until that send was made.
 */
export function addressOf(bytes: Uint8Array): number {
  return Number(pointerOf(bytes));
}

const SEND_SYMBOLS = {
  send: { parameters: ["i32", "pointer", "usize", "i32"], result: "isize" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;
let sendLib: Deno.DynamicLibrary<typeof SEND_SYMBOLS> | undefined;
let sendErrno: Deno.UnsafePointerView | undefined;

/**
 * One nonblocking `send()` of `length` bytes at `address` (see {@linkcode addressOf}) on socket
 * `fd`, from any thread (the metronome's, for sends armed by the thread that owns the
 * connection: harness/armed_sends.ts). Returns the count written, or minus the errno.
 */
export function sendFromAddress(
  fd: number,
  address: number,
  length: number,
): number {
  if (sendLib === undefined) {
    // Opened once per thread and never closed (see thread_priority.ts).
    sendLib = Deno.dlopen("libc.so.6", SEND_SYMBOLS);
    sendErrno = new Deno.UnsafePointerView(
      sendLib.symbols.__errno_location()!,
    );
  }
  const n = Number(sendLib.symbols.send(
    fd,
    Deno.UnsafePointer.create(BigInt(address)),
    BigInt(length),
    MSG_DONTWAIT | MSG_NOSIGNAL,
  ));
  return n >= 0 ? n : -sendErrno!.getInt32();
}

/** The error that `write()` throws for `errno`, for a send made by {@linkcode sendFromAddress}. */
export function sendError(errno: number): Error {
  return errnoError("write", errno);
}

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

/**
 * One TCP connection through libc, with the kernel's receive time of each read.
 *
 * @example
 * ```ts
 * import { NativeTcpConn, nativeTcpUnavailable } from "./native_tcp.ts";
 * if (nativeTcpUnavailable() === undefined) {
 *   const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 *   const accepted = l.accept().then(async (c) => {
 *     await c.write(new TextEncoder().encode("hi"));
 *     c.close();
 *   });
 *   const c = await NativeTcpConn.connect("127.0.0.1", l.addr.port);
 *   const buf = new Uint8Array(16);
 *   const n = await c.read(buf);
 *   console.log(n, c.receivedAgoNs() >= 0); // 2 true
 *   c.close();
 *   await accepted;
 *   l.close();
 * }
 * ```
 */
export class NativeTcpConn implements ByteConn {
  private closed = false;
  private readWaiter: Waiter | undefined;
  private writeWaiter: Waiter | undefined;
  /** Readiness seen while nobody waited (edge-triggered: it is not reported again). */
  private pendingMask = 0;
  private failure: Error | undefined;
  private stampSec = 0n;
  private stampNsec = 0n;
  private stamped = false;
  /** `struct msghdr` (56 bytes), its one `iovec` (16) and the control buffer (64), in one
   * off-heap buffer whose address never changes. */
  private readonly area = new ArrayBuffer(256);
  private readonly msg = new BigUint64Array(this.area, 0, 7);
  private readonly msgBytes = new Uint8Array(this.area, 0, 56);
  private readonly iov = new BigUint64Array(this.area, 64, 2);
  private readonly control = new BigInt64Array(this.area, 128, 8);
  private readonly cmsgLevelType = new Int32Array(this.area, 136, 2);

  private constructor(
    private readonly p: Poller,
    readonly fd: number,
  ) {
    const base = pointerOf(new Uint8Array(this.area));
    this.msg[2] = base + 64n; // msg_iov
    this.msg[3] = 1n; // msg_iovlen
    this.msg[4] = base + 128n; // msg_control
  }

  /**
   * Connects to a numeric address (see {@linkcode numericAddress}); `localhost` tries 127.0.0.1,
   * then ::1. Rejects with a `Deno.errors` class (`ConnectionRefused`, ...) or an `Error` whose
   * message says what failed; an aborted `signal` closes the socket and rejects.
   */
  static async connect(
    host: string,
    port: number,
    signal?: AbortSignal,
  ): Promise<NativeTcpConn> {
    const why = nativeTcpUnavailable();
    if (why !== undefined) throw new Error(`Native TCP unavailable: ${why}`);
    if (signal?.aborted) throw new Deno.errors.Interrupted("connect aborted");
    const candidates = host === "localhost" ? ["127.0.0.1", "::1"] : [host];
    let last: unknown;
    for (const h of candidates) {
      const sa = numericAddress(h, port);
      if (sa === undefined) throw new Error(`Not a numeric address: ${host}`);
      try {
        return await NativeTcpConn.connectTo(poller!, sa, signal);
      } catch (e) {
        last = e;
        if (!(e instanceof Deno.errors.ConnectionRefused)) break;
      }
    }
    throw last;
  }

  private static async connectTo(
    p: Poller,
    sa: Uint8Array,
    signal?: AbortSignal,
  ): Promise<NativeTcpConn> {
    const L = p.libc;
    const family = sa[0] | (sa[1] << 8);
    const fd = L.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw errnoError("socket", p.errno());
    const c = new NativeTcpConn(p, fd);
    try {
      const on = new Uint8Array(new Int32Array([1]).buffer);
      L.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, on, 4);
      if (L.setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, on, 4) !== 0) {
        throw errnoError("setsockopt(SO_TIMESTAMPNS)", p.errno());
      }
      p.add(c);
      if (L.connect(fd, sa, sa.length) !== 0) {
        const e = p.errno();
        if (e !== EINPROGRESS) throw errnoError("connect", e);
        const onAbort = () => c.close();
        signal?.addEventListener("abort", onAbort, { once: true });
        try {
          await c.wait(EPOLLOUT);
        } finally {
          signal?.removeEventListener("abort", onAbort);
        }
        const err = new Int32Array(1);
        const len = new Uint32Array([4]);
        L.getsockopt(
          fd,
          SOL_SOCKET,
          SO_ERROR,
          new Uint8Array(err.buffer),
          new Uint8Array(len.buffer),
        );
        if (err[0] !== 0) throw errnoError("connect", err[0]);
      }
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  /** Reads into `p`; resolves with the count, or null at the peer's end of stream. */
  async read(buf: Uint8Array): Promise<number | null> {
    const L = this.p.libc;
    for (;;) {
      this.check();
      this.iov[0] = pointerOf(buf);
      this.iov[1] = BigInt(buf.length);
      this.msg[5] = 64n; // msg_controllen
      this.msg[6] = 0n; // msg_flags
      const n = Number(L.recvmsg(this.fd, this.msgBytes, MSG_DONTWAIT));
      if (n > 0) {
        this.takeStamp();
        return n;
      }
      if (n === 0) return buf.length === 0 ? 0 : null;
      const e = this.p.errno();
      if (e === EINTR) continue;
      if (e !== EAGAIN) throw errnoError("read", e);
      await this.wait(EPOLLIN);
    }
  }

  /** Writes some of `p` (at least one byte unless it is empty); resolves with the count. */
  async write(buf: Uint8Array): Promise<number> {
    const L = this.p.libc;
    for (;;) {
      this.check();
      const n = Number(
        L.send(
          this.fd,
          buf,
          BigInt(buf.length),
          MSG_DONTWAIT | MSG_NOSIGNAL,
        ),
      );
      if (n >= 0) return n;
      const e = this.p.errno();
      if (e === EINTR) continue;
      if (e !== EAGAIN) throw errnoError("write", e);
      await this.wait(EPOLLOUT);
    }
  }

  receivedAgoNs(): number {
    if (!this.stamped) return -1;
    const now = this.p.realtime();
    const ago = Number(now[0] - this.stampSec) * 1e9 +
      Number(now[1] - this.stampNsec);
    // A clock step between the two readings (rare): unknown rather than wrong.
    return ago >= 0 && ago < 60e9 ? ago : -1;
  }

  /** Closes the socket; a pending read or write rejects with `Interrupted`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.p.remove(this);
    this.p.libc.close(this.fd);
    this.fail(new Deno.errors.Interrupted("connection closed"));
  }

  /** Resolves when the socket may be readable (for {@linkcode NativeTcpListener}). */
  readable(): Promise<void> {
    this.check();
    return this.wait(EPOLLIN);
  }

  /** Adopts an accepted socket (nonblocking) into `p`'s epoll set. */
  static adopt(p: Poller, fd: number): NativeTcpConn {
    const c = new NativeTcpConn(p, fd);
    const on = new Uint8Array(new Int32Array([1]).buffer);
    p.libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, on, 4);
    p.add(c);
    return c;
  }

  /** Called by the poller: readiness `mask` for this socket. */
  ready(mask: number): void {
    const err = (mask & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) !== 0;
    if ((mask & EPOLLIN) !== 0 || err) {
      if (this.readWaiter !== undefined) this.settle("read");
      else this.pendingMask |= EPOLLIN;
    }
    if ((mask & EPOLLOUT) !== 0 || err) {
      if (this.writeWaiter !== undefined) this.settle("write");
      else this.pendingMask |= EPOLLOUT;
    }
  }

  /** Rejects the waiters (the poller failed, or the connection closed). */
  fail(e: Error): void {
    this.failure ??= e;
    const r = this.readWaiter, w = this.writeWaiter;
    this.readWaiter = this.writeWaiter = undefined;
    if (r) {
      this.p.release();
      r.reject(e);
    }
    if (w) {
      this.p.release();
      w.reject(e);
    }
  }

  private settle(which: "read" | "write"): void {
    const w = which === "read" ? this.readWaiter : this.writeWaiter;
    if (w === undefined) return;
    if (which === "read") this.readWaiter = undefined;
    else this.writeWaiter = undefined;
    this.p.release();
    w.resolve();
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Waits for readiness; a readiness seen while nobody waited counts at once. */
  private wait(mask: number): Promise<void> {
    if ((this.pendingMask & mask) !== 0) {
      this.pendingMask &= ~mask;
      // The socket said ready since the last try; try again (it may say EAGAIN and come back).
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const w = { resolve, reject };
      if (mask === EPOLLIN) this.readWaiter = w;
      else this.writeWaiter = w;
      this.p.hold();
    });
  }

  /** The `SCM_TIMESTAMPNS` control message of the last `recvmsg`, if any. */
  private takeStamp(): void {
    const len = Number(this.msg[5]);
    // cmsghdr: size_t len, int level, int type; then struct timespec (two int64).
    const c = this.control;
    const lt = this.cmsgLevelType;
    if (len >= 32 && lt[0] === SOL_SOCKET && lt[1] === SO_TIMESTAMPNS) {
      this.stampSec = c[2];
      this.stampNsec = c[3];
      this.stamped = true;
    } else this.stamped = false;
  }
}

/**
 * A listening TCP socket through libc whose connections are {@linkcode NativeTcpConn}s: writes
 * are `send()` calls made in the caller's turn, so a server that notes the time right before
 * `write()` notes when the bytes went to the kernel (a server on `Deno.listen` hands its writes
 * to the runtime, which may make them later).
 *
 * @example
 * ```ts
 * import { NativeTcpConn, NativeTcpListener, nativeTcpUnavailable } from "./native_tcp.ts";
 * if (nativeTcpUnavailable() === undefined) {
 *   const l = NativeTcpListener.listen("127.0.0.1", 0);
 *   const served = l.accept().then(async (c) => {
 *     await c.write(new TextEncoder().encode("hi"));
 *     c.close();
 *   });
 *   const c = await NativeTcpConn.connect("127.0.0.1", l.port);
 *   console.log(await c.read(new Uint8Array(8))); // 2
 *   c.close();
 *   await served;
 *   l.close();
 * }
 * ```
 */
export class NativeTcpListener {
  private constructor(
    private readonly p: Poller,
    private readonly sock: NativeTcpConn,
    /** The bound address, as given. */
    readonly hostname: string,
    /** The bound port (the kernel's choice for port 0). */
    readonly port: number,
  ) {}

  /** Binds and listens on a numeric address (see {@linkcode numericAddress}). */
  static listen(hostname: string, port: number): NativeTcpListener {
    const why = nativeTcpUnavailable();
    if (why !== undefined) throw new Error(`Native TCP unavailable: ${why}`);
    const p = poller!;
    const L = p.libc;
    const sa = numericAddress(
      hostname === "localhost" ? "127.0.0.1" : hostname,
      port,
    );
    if (sa === undefined) throw new Error(`Not a numeric address: ${hostname}`);
    const family = sa[0] | (sa[1] << 8);
    const fd = L.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw errnoError("socket", p.errno());
    const on = new Uint8Array(new Int32Array([1]).buffer);
    L.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, on, 4);
    if (L.bind(fd, sa, sa.length) !== 0 || L.listen(fd, 4096) !== 0) {
      const e = p.errno();
      L.close(fd);
      throw e === 98
        ? new Deno.errors.AddrInUse(
          `${hostname}:${port}: address in use (errno 98)`,
        )
        : errnoError(`listen on ${hostname}:${port}`, e);
    }
    const out = new Uint8Array(sa.length);
    const len = new Uint32Array([out.length]);
    L.getsockname(fd, out, new Uint8Array(len.buffer));
    const bound = (out[2] << 8) | out[3];
    return new NativeTcpListener(
      p,
      NativeTcpConn.adopt(p, fd),
      hostname,
      bound,
    );
  }

  /** The next connection; rejects with `Interrupted` once the listener is closed. */
  async accept(): Promise<NativeTcpConn> {
    const L = this.p.libc;
    for (;;) {
      const fd = L.accept4(
        this.sock.fd,
        null,
        null,
        SOCK_NONBLOCK | SOCK_CLOEXEC,
      );
      if (fd >= 0) return NativeTcpConn.adopt(this.p, fd);
      const e = this.p.errno();
      if (e === EINTR || e === 103 /* ECONNABORTED */) continue;
      if (e !== EAGAIN) throw errnoError("accept", e);
      await this.sock.readable();
    }
  }

  /** Stops listening; a pending `accept()` rejects with `Interrupted`. */
  close(): void {
    this.sock.close();
  }
}
