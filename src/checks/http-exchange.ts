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
   * server's close before destroying it. Letting the server close first keeps TIME_WAIT on the
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

type Phase = 'connect' | 'tls' | 'headers' | 'body' | 'unclosed' | 'linger' | 'settled';

export function exchange(spec: ExchangeSpec): Promise<ExchangeOutcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let connectMs: number | undefined;
    let firstByteMs: number | undefined;
    const parser = new ResponseParser(spec.noBody, spec.keepBodyBytes);
    let phase: Phase = spec.reuse ? 'headers' : 'connect';
    let gotBytes = false;
    let timer: NodeJS.Timeout | undefined;
    let reported = false;
    /** Set once the response is complete and only the server's close is awaited. */
    let completed: Partial<ExchangeOutcome> | undefined;

    const socket: net.Socket = spec.reuse ?? connect();

    function connect(): net.Socket {
      if (spec.tls) {
        const s = tls.connect({
          host: spec.address,
          port: spec.port,
          servername: spec.tls.servername,
          rejectUnauthorized: spec.tls.rejectUnauthorized,
          secureContext: spec.tls.secureContext,
        });
        s.once('connect', () => {
          connectMs = ms(t0, performance.now());
          phase = 'tls';
        });
        s.once('secureConnect', sendRequest);
        return s;
      }
      const s = net.connect({ host: spec.address, port: spec.port });
      s.once('connect', () => {
        connectMs = ms(t0, performance.now());
        sendRequest();
      });
      return s;
    }

    function sendRequest(): void {
      if (phase === 'settled') return;
      phase = 'headers';
      socket.write(spec.request);
    }

    function timings(): CheckTimings {
      return { connectMs, firstByteMs, totalMs: ms(t0, performance.now()) };
    }

    function finish(outcome: Partial<ExchangeOutcome>, keepSocket = false): void {
      if (phase === 'settled') return;
      phase = 'settled';
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (!keepSocket) {
        // Keep a no-op error listener: a late error on a socket being torn down must not crash the process.
        socket.on('error', ignoreError);
        socket.destroy();
      }
      report(outcome);
    }

    function report(outcome: Partial<ExchangeOutcome>): void {
      if (reported) return;
      reported = true;
      resolve({
        bodyBytes: parser.bodyBytes,
        head: parser.head ?? undefined,
        unclosed: false,
        staleReuse: false,
        timings: timings(),
        ...outcome,
      });
    }

    function fail(failure: NamedFailure): void {
      finish({ failure, staleReuse: spec.reuse !== undefined && !gotBytes });
    }

    function complete(): void {
      const keepBody = spec.keepBodyBytes > 0 ? parser.body() : undefined;
      const closeHeader = /(?:^|,)\s*close\s*(?:,|$)/i.test(parser.head?.headers['connection'] ?? '');
      if (spec.keepAlive && !closeHeader && !socket.readableEnded) {
        finish({ body: keepBody, socket }, true);
        return;
      }
      if (socket.readableEnded) {
        finish({ body: keepBody });
        return;
      }
      if (spec.unclosedGraceMs <= 0) {
        // The result is known now; the socket lingers only for a clean teardown.
        completed = { body: keepBody, timings: timings() };
        report(completed);
        phase = 'linger';
        clearTimeout(timer);
        timer = setTimeout(() => finish({}), Math.max(0, Math.min(spec.lingerMs, spec.deadline - Date.now())));
        return;
      }
      // The response is the result; only the server's close is still awaited, within the grace
      // and never past the deadline.
      phase = 'unclosed';
      clearTimeout(timer);
      const wait = Math.max(0, Math.min(spec.unclosedGraceMs, spec.deadline - Date.now()));
      completed = { body: keepBody, timings: timings() };
      timer = setTimeout(() => finish({ ...completed, unclosed: true, unclosedWaitMs: wait }), wait);
    }

    function onData(chunk: Buffer): void {
      if (!gotBytes) {
        gotBytes = true;
        firstByteMs = ms(t0, performance.now());
      }
      if (phase === 'unclosed' || phase === 'linger') return; // bytes after a complete response are not ours to judge
      try {
        const state = parser.push(chunk);
        if (state === 'body') phase = 'body';
        if (state === 'done') complete();
      } catch (err) {
        if (!(err instanceof HttpFramingError)) throw err;
        fail({ code: 'error', message: `malformed response: ${err.message}` });
      }
    }

    function onEnd(): void {
      if (completed) return finish(completed);
      if (parser.end() === 'done') {
        complete();
        return;
      }
      if (phase === 'headers' || phase === 'connect' || phase === 'tls') {
        fail({ code: 'closed', message: gotBytes ? 'connection closed before the response headers were complete' : 'connection closed without a response' });
      } else {
        const expected = parser.expectedLength;
        fail({
          code: 'closed',
          message: `connection closed before the body was complete (${parser.bodyBytes}${expected !== undefined ? ` of ${expected}` : ''} bytes)`,
        });
      }
    }

    function onError(err: NodeJS.ErrnoException): void {
      // A reset after a complete response still closed the connection: the response stands.
      if (completed) return finish(completed);
      const p = phase === 'connect' ? 'connect' : phase === 'tls' ? 'tls' : 'exchange';
      fail(classifySocketError(err, p));
    }

    function onClose(): void {
      if (completed) return finish(completed);
      // 'close' without 'end' or 'error' (e.g. destroyed by TLS internals): still settle.
      fail({ code: 'closed', message: 'connection closed' });
    }

    function onDeadline(): void {
      switch (phase) {
        case 'connect':
          return fail({ code: 'connect_timeout', message: 'connect timeout' });
        case 'tls':
          return fail({ code: 'connect_timeout', message: 'connect timeout (TLS handshake not finished)' });
        case 'headers':
          return fail({ code: 'headers_timeout', message: gotBytes ? 'headers timeout (head incomplete)' : 'headers timeout (no response)' });
        case 'body': {
          const expected = parser.expectedLength;
          return fail({
            code: 'body_timeout',
            message: `body timeout (${parser.bodyBytes}${expected !== undefined ? ` of ${expected}` : ''} bytes by the deadline)`,
          });
        }
      }
    }

    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    timer = setTimeout(onDeadline, Math.max(0, spec.deadline - Date.now()));
    if (spec.reuse) sendRequest();
  });
}

function ignoreError(): void {
  // Deliberately empty: the outcome was already decided; see finish().
}
