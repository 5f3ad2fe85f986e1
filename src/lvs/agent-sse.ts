// A server-sent events client for the LVS agent's poold source: one connection to poold's
// /v1/events, parsed into records. It does not reconnect by itself: the caller decides (backoff,
// Last-Event-ID, falling back to polling). A stream that stays silent for `idleMs` (poold sends a
// heartbeat comment every 15 s) is treated as dead, as a half-open TCP connection would be.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as requestTls } from 'node:https';

export interface SseRecord {
  /** The `id:` of this record, when it had one. */
  id?: string;
  /** `event:`; `message` when absent (as EventSource does). */
  event: string;
  data: string;
}

/** Why a stream is over. `status`: the server answered, but not with an event stream. */
export type SseEnd =
  | { kind: 'status'; status: number; message: string }
  | { kind: 'error'; message: string }
  | { kind: 'ended'; message: string }
  | { kind: 'idle'; message: string };

export interface SseHandlers {
  /** 200 with text/event-stream: records follow. */
  open(): void;
  /** A comment line, without the leading colon and space (heartbeats, poold's first line). */
  comment(text: string): void;
  record(r: SseRecord): void;
  /** Called once when the stream is over, unless close() ended it. */
  end(why: SseEnd): void;
}

export interface SseOptions {
  url: URL;
  headers?: Record<string, string>;
  /** Deadline for the response headers. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** No byte for this long ends the stream (kind `idle`). Default 45 000 ms. */
  idleMs?: number;
}

/**
 * Splits an event stream into records and comments (the WHATWG "event stream interpretation":
 * lines end in LF, CRLF or CR; a blank line dispatches; `field: value` with one optional space).
 */
export class SseParser {
  private buf = '';
  private id: string | undefined;
  private event = '';
  private data: string[] = [];
  private sawData = false;

  constructor(
    private readonly onRecord: (r: SseRecord) => void,
    private readonly onComment: (text: string) => void = () => undefined,
  ) {}

  push(chunk: string): void {
    this.buf += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) return;
      // A lone CR at the very end may be the first half of CRLF: wait for the next chunk.
      if (m[0] === '\r' && m.index === this.buf.length - 1) return;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.sawData) this.onRecord({ ...(this.id !== undefined ? { id: this.id } : {}), event: this.event || 'message', data: this.data.join('\n') });
      this.id = undefined;
      this.event = '';
      this.data = [];
      this.sawData = false;
      return;
    }
    if (line.startsWith(':')) {
      this.onComment(line.slice(1).replace(/^ /, ''));
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') this.id = value;
    else if (field === 'event') this.event = value;
    else if (field === 'data') {
      this.data.push(value);
      this.sawData = true;
    }
    // `retry:` and unknown fields: the caller has its own reconnect policy.
  }
}

/** Opens one stream. close() ends it without calling `end`. */
export function openSse(opts: SseOptions, h: SseHandlers): { close(): void } {
  const idleMs = opts.idleMs ?? 45_000;
  let done = false;
  let res: IncomingMessage | undefined;
  let idle: NodeJS.Timeout | undefined;
  // eslint-disable-next-line prefer-const -- finish() may run before the timer is set; a const would be in its TDZ then
  let connectTimer: NodeJS.Timeout | undefined;
  const finish = (why: SseEnd | undefined) => {
    if (done) return;
    done = true;
    clearTimeout(idle);
    clearTimeout(connectTimer);
    req.destroy();
    res?.destroy();
    if (why) h.end(why);
  };
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => finish({ kind: 'idle', message: `no data for ${idleMs} ms` }), idleMs);
  };
  const send = opts.url.protocol === 'https:' ? requestTls : request;
  const req: ClientRequest = send(opts.url, { headers: { accept: 'text/event-stream', 'cache-control': 'no-cache', ...opts.headers } }, (r) => {
    res = r;
    clearTimeout(connectTimer);
    const type = r.headers['content-type'] ?? '';
    if (r.statusCode !== 200 || !type.startsWith('text/event-stream')) {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => {
        if (body.length < 300) body += c;
      });
      const status = r.statusCode ?? 0;
      const refused = () => finish({ kind: 'status', status, message: `${opts.url.href} answered ${status} ${type.split(';')[0]}: ${body.slice(0, 200)}` });
      r.on('end', refused);
      r.on('error', refused);
      r.on('close', refused);
      return;
    }
    const parser = new SseParser(
      (rec) => {
        if (!done) h.record(rec);
      },
      (text) => {
        if (!done) h.comment(text);
      },
    );
    touch();
    h.open();
    r.setEncoding('utf8');
    r.on('data', (c: string) => {
      touch();
      parser.push(c);
    });
    r.on('end', () => finish({ kind: 'ended', message: 'poold closed the event stream' }));
    r.on('error', (err) => finish({ kind: 'error', message: `event stream broke: ${err.message}` }));
    // A connection cut without a clean end (reset, proxy gone) may only say 'close'.
    r.on('close', () => finish({ kind: 'ended', message: 'the event stream connection closed' }));
  });
  connectTimer = setTimeout(
    () => finish({ kind: 'error', message: `no answer from ${opts.url.href} within ${opts.connectTimeoutMs ?? 2000} ms` }),
    opts.connectTimeoutMs ?? 2000,
  );
  req.on('error', (err) => finish({ kind: 'error', message: `cannot reach ${opts.url.href}: ${err.message}` }));
  req.end();
  return { close: () => finish(undefined) };
}
