// One HTTP request/response over one raw node:net / node:tls connection, bounded by one deadline.
//
// Client stack choice (see also http-parser.ts): raw sockets + our framing parser. It is the only
// stack on which "the response is complete by its framing, but the server has not closed" is
// observable exactly (undici hides the socket; node:http reports 'end' only), and it is the cheapest:
// no agent, no header objects beyond what the check reads, a prebuilt request buffer, one timer.
//
// Phases and the code a deadline produces in each:
//   connect (TCP, then TLS handshake)  -> connect_timeout
//   headers (request sent, head incomplete) -> headers_timeout
//   body (head received, body incomplete, whether stalled or trickling) -> body_timeout
//   unclosed (response complete, waiting for the server's close) -> handled by the unclosed policy
// `deadline` (the code) is reserved for time spent before a connection could even start (DNS of the
// target, or a deadline already past); see http.ts.
//
// Cost (this runs ~10k times a second; DESIGN §11): one Exchange object per check whose methods are
// reached from shared listener functions through the socket (no closures per check); plain TCP reads
// land in one reused buffer (net.connect's `onread`, skipping the readable-stream machinery; the
// parser copies whatever it keeps); one timer at a time (the deadline, then at most the unclosed
// grace). The connection is closed with FIN after the server's own close (benign to any server,
// even one still reading: a reset would hit it with ECONNRESET), and with RST when the server held
// it past the grace (as HAProxy closes its checks: no close handshake, no TIME_WAIT on our side).
import * as net from 'node:net';
import * as tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { CheckTimings } from '../model/types.js';
import { HttpFramingError, ResponseParser, type ParsedHead } from './http-parser.js';
import { classifySocketError, ms, type NamedFailure } from './result.js';

export interface ExchangeSpec {
  address: string;
  port: number;
  tls?: { servername?: string; rejectUnauthorized: boolean; secureContext: tls.SecureContext };
  request: Buffer;
  /** HEAD: no body whatever the headers say. */
  noBody: boolean;
  keepBodyBytes: number;
  /** Epoch ms (Date.now() clock). */
  deadline: number;
  /** 0 disables the unclosed observation (policy ignore, or keep-alive). */
  unclosedGraceMs: number;
  /**
   * Without the unclosed observation: after resolving, how long to keep the socket waiting for the
   * server's close before resetting it. Letting the server close first keeps TIME_WAIT on the
   * backend instead of on the checker, and is cheaper for both sides than our active close.
   */
  lingerMs: number;
  /** A kept-alive socket to reuse instead of connecting. */
  reuse?: net.Socket;
  /** Keep the socket open after a complete response and hand it back (keep-alive). */
  keepAlive: boolean;
}

export interface ExchangeOutcome {
  failure?: NamedFailure;
  head?: ParsedHead;
  body?: Buffer;
  bodyBytes: number;
  /** The server kept the socket open past the grace after a complete response. */
  unclosed: boolean;
  /** How long the server was watched for its close (the grace, or less when the deadline came first). */
  unclosedWaitMs?: number;
  timings: CheckTimings;
  /** With keepAlive: the still-open socket, ready for the next request. */
  socket?: net.Socket;
  /** Whether a reused socket failed before any response byte (the caller may retry on a new one). */
  staleReuse: boolean;
}

type Phase = 'connect' | 'tls' | 'headers' | 'body' | 'unclosed' | 'settled';

/**
 * Plain-TCP reads of every exchange land here. Safe to share: the onread callback runs synchronously
 * and the parser copies any bytes it keeps past the call (partial heads, kept body).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** The socket's exchange, for the shared listener functions below (each runs with `this` = socket). */
const OWNER = Symbol('poold.exchange');
type OwnedSocket = net.Socket & { [OWNER]?: Exchange };

export function exchange(spec: ExchangeSpec): Promise<ExchangeOutcome> {
  return new Promise((resolve) => new Exchange(spec, resolve).start());
}

class Exchange {
  private readonly t0 = performance.now();
  private connectMs: number | undefined = undefined;
  private firstByteMs: number | undefined = undefined;
  private readonly parser: ResponseParser;
  private phase: Phase;
  private gotBytes = false;
  private timer: NodeJS.Timeout | undefined = undefined;
  private reported = false;
  /** Set once the response is complete and only the server's close is awaited. */
  private completedBody: Buffer | undefined = undefined;
  private completedTimings: CheckTimings | undefined = undefined;
  private completed = false;
  /** The grace ran out with the socket still open, after watching it this long. */
  private unclosed = false;
  /** Policy ignore: reported at completion, now only waiting a while for the server's close. */
  private lingering = false;
  private unclosedWaitMs = 0;
  private readonly socket: OwnedSocket;

  constructor(
    private readonly spec: ExchangeSpec,
    private readonly resolve: (o: ExchangeOutcome) => void,
  ) {
    this.parser = new ResponseParser(spec.noBody, spec.keepBodyBytes);
    this.phase = spec.reuse ? 'headers' : 'connect';
    this.socket = spec.reuse ?? this.connect();
  }

  start(): void {
    const socket = this.socket;
    socket[OWNER] = this;
    // TLS sockets read through 'data'; plain ones (fresh, or kept alive from an earlier exchange)
    // were created with onread.
    if (this.spec.tls) socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    this.timer = setTimeout(onDeadline, Math.max(0, this.spec.deadline - Date.now()), this);
    if (this.spec.reuse) this.sendRequest();
  }

  private connect(): OwnedSocket {
    const spec = this.spec;
    if (spec.tls) {
      const s = tls.connect({
        host: spec.address,
        port: spec.port,
        servername: spec.tls.servername,
        rejectUnauthorized: spec.tls.rejectUnauthorized,
        secureContext: spec.tls.secureContext,
      });
      s.on('connect', onTcpConnect);
      s.on('secureConnect', onSecureConnect);
      return s;
    }
    // allowHalfOpen: the server's FIN must not make node shut our side down first; every path that
    // sees the server's close settles the exchange, which resets or destroys the socket anyway.
    const s = net.connect({ host: spec.address, port: spec.port, allowHalfOpen: !spec.keepAlive, onread: { buffer: READ_BUFFER, callback: onRead } });
    s.on('connect', onTcpConnect);
    return s;
  }

  tcpConnected(): void {
    this.connectMs = ms(this.t0, performance.now());
    if (this.spec.tls) {
      if (this.phase === 'connect') this.phase = 'tls';
    } else {
      this.sendRequest();
    }
  }

  sendRequest(): void {
    if (this.phase === 'settled') return;
    this.phase = 'headers';
    this.socket.write(this.spec.request);
  }

  private timings(): CheckTimings {
    return { connectMs: this.connectMs, firstByteMs: this.firstByteMs, totalMs: ms(this.t0, performance.now()) };
  }

  /** Settles: reports (unless already reported) and releases the socket. `reset`: close with RST. */
  private finish(failure: NamedFailure | undefined, reset: boolean, keepSocket = false): void {
    if (this.phase === 'settled') return;
    this.phase = 'settled';
    clearTimeout(this.timer);
    const socket = this.socket;
    if (keepSocket) {
      // Handed back to the keep-alive pool: the next exchange attaches its own listeners.
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      socket[OWNER] = undefined;
    } else if (!socket.destroyed) {
      // Our listeners stay attached and are no-ops from now on (phase 'settled'); the error listener
      // also keeps a late error on a socket being torn down from crashing the process.
      // resetAndDestroy needs a TCP handle: TLS sockets are destroyed (FIN) instead.
      if (reset && !this.spec.tls) socket.resetAndDestroy();
      else socket.destroy();
    }
    this.report(failure, keepSocket);
  }

  private report(failure: NamedFailure | undefined, keepSocket: boolean): void {
    if (this.reported) return;
    this.reported = true;
    const parser = this.parser;
    this.resolve({
      failure,
      head: parser.head ?? undefined,
      body: this.completedBody,
      bodyBytes: parser.bodyBytes,
      unclosed: this.unclosed,
      unclosedWaitMs: this.unclosed ? this.unclosedWaitMs : undefined,
      timings: this.completedTimings ?? this.timings(),
      socket: keepSocket ? this.socket : undefined,
      staleReuse: failure !== undefined && this.spec.reuse !== undefined && !this.gotBytes,
    });
  }

  private fail(failure: NamedFailure): void {
    this.finish(failure, false);
  }

  private complete(): void {
    const spec = this.spec;
    const socket = this.socket;
    this.completed = true;
    if (spec.keepBodyBytes > 0) this.completedBody = this.parser.body();
    if (spec.keepAlive && !socket.readableEnded && !/(?:^|,)\s*close\s*(?:,|$)/i.test(this.parser.head?.headers['connection'] ?? '')) {
      this.finish(undefined, false, true);
      return;
    }
    if (socket.readableEnded) {
      this.finish(undefined, false);
      return;
    }
    this.completedTimings = this.timings();
    // The response is the result; only the server's close is still awaited, within the grace (or
    // the linger) and never past the deadline.
    this.phase = 'unclosed';
    clearTimeout(this.timer);
    const observe = spec.unclosedGraceMs > 0;
    const wait = Math.max(0, Math.min(observe ? spec.unclosedGraceMs : spec.lingerMs, spec.deadline - Date.now()));
    if (!observe) {
      // Nothing to observe: the result is known now; the socket lingers only for a clean teardown.
      this.lingering = true;
      this.report(undefined, false);
    }
    this.timer = setTimeout(onGraceOver, wait, this, wait);
  }

  graceOver(wait: number): void {
    if (this.phase !== 'unclosed') return;
    if (this.lingering) return this.finish(undefined, true);
    // Node runs due timers before it polls for I/O: after an event-loop stall the grace timer fires
    // before a FIN that arrived in time has been read. Judge after this loop iteration's poll.
    setImmediate(onGraceConfirm, this, wait);
  }

  graceConfirm(wait: number): void {
    if (this.phase !== 'unclosed') return;
    this.unclosed = true;
    this.unclosedWaitMs = wait;
    this.finish(undefined, true);
  }

  /** `data` is only valid during this call when it is READ_BUFFER. */
  received(data: Buffer): void {
    if (!this.gotBytes) {
      this.gotBytes = true;
      this.firstByteMs = ms(this.t0, performance.now());
    }
    if (this.phase === 'unclosed' || this.phase === 'settled') return; // bytes after a complete response are not ours to judge
    try {
      const state = this.parser.push(data);
      if (state === 'body') this.phase = 'body';
      else if (state === 'done') this.complete();
    } catch (err) {
      if (!(err instanceof HttpFramingError)) throw err;
      this.fail({ code: 'error', message: `malformed response: ${err.message}` });
    }
  }

  ended(): void {
    if (this.phase === 'settled') return;
    if (this.completed) return this.finish(undefined, false);
    if (this.parser.end() === 'done') {
      this.complete();
      return;
    }
    const phase = this.phase;
    if (phase === 'headers' || phase === 'connect' || phase === 'tls') {
      this.fail({ code: 'closed', message: this.gotBytes ? 'connection closed before the response headers were complete' : 'connection closed without a response' });
    } else {
      this.fail({ code: 'closed', message: `connection closed before the body was complete (${this.progress()} bytes)` });
    }
  }

  errored(err: NodeJS.ErrnoException): void {
    if (this.phase === 'settled') return;
    // A reset after a complete response still closed the connection: the response stands.
    if (this.completed) return this.finish(undefined, false);
    const p = this.phase === 'connect' ? 'connect' : this.phase === 'tls' ? 'tls' : 'exchange';
    this.fail(classifySocketError(err, p));
  }

  closed(): void {
    if (this.phase === 'settled') return;
    if (this.completed) return this.finish(undefined, false);
    // 'close' without 'end' or 'error' (e.g. destroyed by TLS internals): still settle.
    this.fail({ code: 'closed', message: 'connection closed' });
  }

  deadlineReached(): void {
    switch (this.phase) {
      case 'connect':
        return this.fail({ code: 'connect_timeout', message: 'connect timeout' });
      case 'tls':
        return this.fail({ code: 'connect_timeout', message: 'connect timeout (TLS handshake not finished)' });
      case 'headers':
        return this.fail({ code: 'headers_timeout', message: this.gotBytes ? 'headers timeout (head incomplete)' : 'headers timeout (no response)' });
      case 'body':
        return this.fail({ code: 'body_timeout', message: `body timeout (${this.progress()} bytes by the deadline)` });
    }
  }

  /** `n` or `n of m` body bytes. */
  private progress(): string {
    const expected = this.parser.expectedLength;
    return `${this.parser.bodyBytes}${expected !== undefined ? ` of ${expected}` : ''}`;
  }
}

// Shared listeners: `this` is the socket, its exchange is found through OWNER.
function onRead(this: OwnedSocket, n: number): boolean {
  this[OWNER]?.received(READ_BUFFER.subarray(0, n));
  return true;
}
function onData(this: OwnedSocket, chunk: Buffer): void {
  this[OWNER]?.received(chunk);
}
function onTcpConnect(this: OwnedSocket): void {
  this[OWNER]?.tcpConnected();
}
function onSecureConnect(this: OwnedSocket): void {
  this[OWNER]?.sendRequest();
}
function onEnd(this: OwnedSocket): void {
  this[OWNER]?.ended();
}
function onError(this: OwnedSocket, err: NodeJS.ErrnoException): void {
  this[OWNER]?.errored(err);
}
function onClose(this: OwnedSocket): void {
  this[OWNER]?.closed();
}
function onDeadline(ex: Exchange): void {
  ex.deadlineReached();
}
function onGraceOver(ex: Exchange, wait: number): void {
  ex.graceOver(wait);
}
function onGraceConfirm(ex: Exchange, wait: number): void {
  ex.graceConfirm(wait);
}
