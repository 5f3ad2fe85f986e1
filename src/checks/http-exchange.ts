// One HTTP request/response over one connection (conn.ts, on node:net / node:tls),
// bounded by one deadline.
//
// Client stack choice (see also http-parser.ts): raw sockets + our framing parser. It is the only
// stack on which "the response is complete by its framing, but the server has not closed" is
// observable exactly (undici hides the socket; node:http reports 'end' only), and it is the cheapest:
// no agent, no header objects beyond what the check reads, a prebuilt request buffer, no timer of its own.
//
// Phases and the code a deadline produces in each:
//   connect (TCP, then TLS handshake)  -> connect_timeout
//   headers (request sent, head incomplete) -> headers_timeout
//   body (head received, body incomplete, whether stalled or trickling) -> body_timeout
//   unclosed (response complete, waiting for the server's close) -> handled by the unclosed policy
// `deadline` (the code) is reserved for time spent before a connection could even start (DNS of the
// target, or a deadline already past); see http.ts.
//
// Cost (this runs ~10k times a second; ARCHITECTURE.md §13): one Exchange object per check, which is the
// connection's owner (conn.ts: no closures per check) and reports to a sink object (no promise when
// the caller passes its own, http.ts); reads arrive in a buffer shared by every connection (the
// parser copies whatever it keeps); no Timeout per check: the deadline and the unclosed grace wait in
// shared queues (deadlines.ts, delay-queue.ts), one timer for many checks. Plain-TCP connections
// always end with RST (conn-socket.ts: no close handshake, no TIME_WAIT on either side, as HAProxy
// closes its checks); the server's own close is still awaited first whenever the unclosed policy
// needs to observe it.
import { performance } from 'node:perf_hooks';
import type { CheckTimings } from '../model/types.js';
import type { Conn, ConnOwner, TlsOptions } from './conn.js';
import { openConn } from './conn-socket.js';
import { HttpFramingError, ResponseParser, type ParsedHead } from './http-parser.js';
import { FixedDelayQueue } from './delay-queue.js';
import { clearDeadline, setDeadline, type DeadlineHandle, type DeadlineOwner } from './deadlines.js';
import { classifySocketError, ms, type NamedFailure } from './result.js';

/** What is sent and how it is judged: the same for every run of a check on one target (http.ts
 *  builds it once per target and URL); the deadline and a reused connection are per run. */
export interface ExchangeSpec {
  address: string;
  port: number;
  tls?: TlsOptions;
  request: Buffer;
  /** HEAD: no body whatever the headers say. */
  noBody: boolean;
  keepBodyBytes: number;
  /** 0 disables the unclosed observation (policy ignore, or keep-alive). */
  unclosedGraceMs: number;
  /**
   * Without the unclosed observation: after resolving, how long to keep the connection waiting for
   * the server's close before resetting it. Letting the server close first keeps TIME_WAIT off the
   * TLS checker (plain TCP resets anyway) and lets a server finish its own teardown.
   */
  lingerMs: number;
  /** Keep the connection open after a complete response and hand it back (keep-alive). */
  keepAlive: boolean;
}

export interface ExchangeOutcome {
  failure?: NamedFailure;
  head?: ParsedHead;
  body?: Buffer;
  bodyBytes: number;
  /** The server kept the connection open past the grace after a complete response. */
  unclosed: boolean;
  /** How long the server was watched for its close (the grace, or less when the deadline came first). */
  unclosedWaitMs?: number;
  timings: CheckTimings;
  /** With keepAlive: the still-open connection, ready for the next request. */
  conn?: Conn;
  /** Whether a reused connection failed before any response byte (the caller may retry on a new one). */
  staleReuse: boolean;
}

type Phase = 'connect' | 'tls' | 'headers' | 'body' | 'unclosed' | 'settled';

/** Hears an exchange's outcome, once. */
export interface ExchangeSink {
  exchanged(o: ExchangeOutcome): void;
}

/** `deadline`: epoch ms (Date.now() clock). `reuse`: a kept-alive connection to use instead of connecting. */
export function exchange(spec: ExchangeSpec, deadline: number, reuse?: Conn): Promise<ExchangeOutcome> {
  return new Promise((resolve) => new Exchange(spec, deadline, reuse, { exchanged: resolve }).start());
}

/**
 * The same without a promise: `sink.exchanged` is called once, never before startExchange returns.
 * A synchronous throw (a bad port) leaves nothing behind and reports nothing.
 */
export function startExchange(spec: ExchangeSpec, deadline: number, sink: ExchangeSink): void {
  new Exchange(spec, deadline, undefined, sink).start();
}

class Exchange implements ConnOwner, DeadlineOwner, DeadlineHandle {
  private readonly t0 = performance.now();
  private connectMs: number | undefined = undefined;
  private firstByteMs: number | undefined = undefined;
  private readonly parser: ResponseParser;
  private phase: Phase;
  private gotBytes = false;
  private peerEnded = false;
  /** Only for a grace cut short by the deadline (rare): the usual waits are in shared queues. */
  private timer: NodeJS.Timeout | undefined = undefined;
  /** The deadline's place in its queue (DeadlineHandle, written by setDeadline). */
  lane: DeadlineHandle['lane'] = undefined;
  slot = -1;
  private reported = false;
  /** Set once the response is complete and only the server's close is awaited. */
  private completedBody: Buffer | undefined = undefined;
  private completedTimings: CheckTimings | undefined = undefined;
  private completed = false;
  /** The grace ran out with the connection still open, after watching it this long. */
  private unclosed = false;
  /** Policy ignore: reported at completion, now only waiting a while for the server's close. */
  private lingering = false;
  private unclosedWaitMs = 0;
  /** While waiting out the grace on a shared queue (graceQueue), the slot to cancel. */
  private graceSlot = -1;
  private graceQueue: FixedDelayQueue<Exchange> | undefined = undefined;
  private conn: Conn | undefined = undefined;

  constructor(
    private readonly spec: ExchangeSpec,
    private readonly deadline: number,
    private readonly reuse: Conn | undefined,
    private readonly sink: ExchangeSink,
  ) {
    this.parser = new ResponseParser(spec.noBody, spec.keepBodyBytes);
    this.phase = reuse ? 'headers' : 'connect';
  }

  start(): void {
    const spec = this.spec;
    // Connection events come back asynchronously, so `conn` and the deadline are set before any of
    // them; a synchronous throw (a bad port) leaves no deadline behind.
    const reuse = this.reuse;
    if (!reuse) this.conn = openConn(spec.address, spec.port, this, spec.tls);
    setDeadline(this, this.deadline, this);
    if (reuse) {
      this.conn = reuse;
      reuse.owner = this;
      this.sendRequest();
    }
  }

  connected(): void {
    this.connectMs = ms(this.t0, performance.now());
    if (this.spec.tls) {
      if (this.phase === 'connect') this.phase = 'tls';
    } else {
      this.sendRequest();
    }
  }

  secured(): void {
    this.sendRequest();
  }

  private sendRequest(): void {
    if (this.phase === 'settled') return;
    this.phase = 'headers';
    this.conn!.write(this.spec.request);
  }

  private timings(): CheckTimings {
    return { connectMs: this.connectMs, firstByteMs: this.firstByteMs, totalMs: ms(this.t0, performance.now()) };
  }

  /** Settles: reports (unless already reported) and closes the connection, or hands it back. */
  private finish(failure: NamedFailure | undefined, keepConn = false): void {
    if (this.phase === 'settled') return;
    this.phase = 'settled';
    clearDeadline(this);
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.graceQueue !== undefined) this.graceQueue.cancel(this.graceSlot);
    const conn = this.conn;
    if (conn) {
      conn.owner = undefined;
      if (!keepConn) conn.abort();
    }
    this.report(failure, keepConn);
  }

  private report(failure: NamedFailure | undefined, keepConn: boolean): void {
    if (this.reported) return;
    this.reported = true;
    const parser = this.parser;
    this.sink.exchanged({
      failure,
      head: parser.head ?? undefined,
      body: this.completedBody,
      bodyBytes: parser.bodyBytes,
      unclosed: this.unclosed,
      unclosedWaitMs: this.unclosed ? this.unclosedWaitMs : undefined,
      timings: this.completedTimings ?? this.timings(),
      conn: keepConn ? this.conn : undefined,
      staleReuse: failure !== undefined && this.reuse !== undefined && !this.gotBytes,
    });
  }

  private complete(): void {
    const spec = this.spec;
    this.completed = true;
    if (spec.keepBodyBytes > 0) this.completedBody = this.parser.body();
    if (spec.keepAlive && !this.peerEnded && !/(?:^|,)\s*close\s*(?:,|$)/i.test(this.parser.head?.headers['connection'] ?? '')) {
      this.finish(undefined, true);
      return;
    }
    if (this.peerEnded) {
      this.finish(undefined);
      return;
    }
    this.completedTimings = this.timings();
    // The response is the result; only the server's close is still awaited, within the grace (or
    // the linger) and never past the deadline.
    this.phase = 'unclosed';
    clearDeadline(this);
    const observe = spec.unclosedGraceMs > 0;
    const wait = Math.max(0, Math.min(observe ? spec.unclosedGraceMs : spec.lingerMs, this.deadline - Date.now()));
    if (!observe) {
      // Nothing to observe: the result is known now; the connection lingers only for a clean teardown.
      this.lingering = true;
      this.report(undefined, false);
    }
    // The usual wait is the whole grace, the same for every check of this kind, and the server's
    // FIN nearly always ends it within a millisecond: one shared timer per grace length instead of
    // a Timeout per check (delay-queue.ts). A wait cut short by the deadline gets its own timer.
    const full = observe ? spec.unclosedGraceMs : spec.lingerMs;
    if (wait === full && wait > 0) {
      this.graceQueue = graceQueue(wait);
      this.graceSlot = this.graceQueue.add(this);
    } else {
      this.timer = setTimeout(onGraceOver, wait, this, wait);
    }
  }

  graceOver(wait: number): void {
    if (this.phase !== 'unclosed') return;
    if (this.lingering) return this.finish(undefined);
    // Node runs due timers before it polls for I/O: after an event-loop stall the grace timer fires
    // before a FIN that arrived in time has been read. Judge after this loop iteration's poll.
    setImmediate(onGraceConfirm, this, wait);
  }

  graceConfirm(wait: number): void {
    if (this.phase !== 'unclosed') return;
    this.unclosed = true;
    this.unclosedWaitMs = wait;
    this.finish(undefined);
  }

  /** `data[0, length)` is only valid during this call (it may be the shared read buffer). */
  received(data: Buffer, length: number): void {
    if (!this.gotBytes) {
      this.gotBytes = true;
      this.firstByteMs = ms(this.t0, performance.now());
    }
    if (this.phase === 'unclosed' || this.phase === 'settled') return; // bytes after a complete response are not ours to judge
    try {
      const state = this.parser.push(data, length);
      if (state === 'body') this.phase = 'body';
      else if (state === 'done') this.complete();
    } catch (err) {
      if (!(err instanceof HttpFramingError)) throw err;
      this.finish({ code: 'error', message: `malformed response: ${err.message}` });
    }
  }

  ended(): void {
    this.peerEnded = true;
    if (this.phase === 'settled') return;
    if (this.completed) return this.finish(undefined);
    if (this.parser.end() === 'done') {
      this.complete();
      return;
    }
    const phase = this.phase;
    if (phase === 'headers' || phase === 'connect' || phase === 'tls') {
      this.finish({ code: 'closed', message: this.gotBytes ? 'connection closed before the response headers were complete' : 'connection closed without a response' });
    } else {
      this.finish({ code: 'closed', message: `connection closed before the body was complete (${this.progress()} bytes)` });
    }
  }

  errored(err: NodeJS.ErrnoException): void {
    if (this.phase === 'settled') return;
    // A reset after a complete response still closed the connection: the response stands.
    if (this.completed) return this.finish(undefined);
    const p = this.phase === 'connect' ? 'connect' : this.phase === 'tls' ? 'tls' : 'exchange';
    this.finish(classifySocketError(err, p));
  }

  closed(): void {
    if (this.phase === 'settled') return;
    if (this.completed) return this.finish(undefined);
    // 'close' without 'end' or 'error' (e.g. destroyed by TLS internals): still settle.
    this.finish({ code: 'closed', message: 'connection closed' });
  }

  deadlineReached(): void {
    if (this.phase === 'settled' || this.phase === 'unclosed') return;
    // As for the grace: timers run before the poll, so after an event-loop stall bytes that arrived
    // before the deadline are still unread. Judge after this iteration's poll has delivered them.
    setImmediate(onDeadlineConfirm, this);
  }

  deadlineConfirm(): void {
    switch (this.phase) {
      case 'connect':
        return this.finish({ code: 'connect_timeout', message: 'connect timeout' });
      case 'tls':
        return this.finish({ code: 'connect_timeout', message: 'connect timeout (TLS handshake not finished)' });
      case 'headers':
        return this.finish({ code: 'headers_timeout', message: this.gotBytes ? 'headers timeout (head incomplete)' : 'headers timeout (no response)' });
      case 'body':
        return this.finish({ code: 'body_timeout', message: `body timeout (${this.progress()} bytes by the deadline)` });
    }
  }

  /** `n` or `n of m` body bytes. */
  private progress(): string {
    const expected = this.parser.expectedLength;
    return `${this.parser.bodyBytes}${expected !== undefined ? ` of ${expected}` : ''}`;
  }
}

// Timer callbacks shared by every exchange (no closures per check).
function onDeadlineConfirm(ex: Exchange): void {
  ex.deadlineConfirm();
}
function onGraceOver(ex: Exchange, wait: number): void {
  ex.graceOver(wait);
}

/** One queue per grace length (in practice one or two values across all checks). */
const graceQueues = new Map<number, FixedDelayQueue<Exchange>>();
function graceQueue(ms: number): FixedDelayQueue<Exchange> {
  let q = graceQueues.get(ms);
  if (q === undefined) {
    q = new FixedDelayQueue<Exchange>(ms, (ex) => ex.graceOver(q!.delayMs));
    graceQueues.set(ms, q);
  }
  return q;
}
function onGraceConfirm(ex: Exchange, wait: number): void {
  ex.graceConfirm(wait);
}
