// Incremental HTTP/1.x response framing parser for health checks.
//
// Why our own parser instead of undici or node:http: a check must know the exact moment a response
// is complete by its framing (Content-Length, chunked terminator, or no body for HEAD/204/304),
// independently of whether the server closes the socket (the Parsoid incident). node:http only tells
// us 'end' and undici hides the socket. A framing parser over a raw node:net/node:tls socket costs a
// few string scans per response, which keeps a check well inside the ~100 µs CPU budget (ARCHITECTURE.md §13).
// It parses only what a health check needs: status, framing, and optionally the body bytes. Of the
// headers it keeps only the three it reads (FRAMING_HEADERS), straight from the bytes: every other
// line is checked for a colon and skipped, without a string being built for it.

/** The headers the framing and the exchange read; all others are validated and skipped. */
export const FRAMING_HEADERS = ['content-length', 'transfer-encoding', 'connection'] as const;
type FramingHeader = (typeof FRAMING_HEADERS)[number];

export interface ParsedHead {
  status: number;
  /** Only FRAMING_HEADERS, names lower-cased; a repeated header's values joined with ", ". */
  headers: Partial<Record<FramingHeader, string>>;
}

export type ParseState = 'head' | 'body' | 'done';

export class HttpFramingError extends Error {
  override name = 'HttpFramingError';
}

const MAX_HEAD_BYTES = 64 * 1024;
const CRLF = Buffer.from('\r\n');
const COLON = 0x3a;
const HEAD_END = Buffer.from('\r\n\r\n');

type BodyMode = 'none' | 'length' | 'chunked' | 'close';

export class ResponseParser {
  state: ParseState = 'head';
  head: ParsedHead | null = null;
  /** Body bytes received so far (after de-chunking). */
  bodyBytes = 0;
  private pending: Buffer | null = null;
  private mode: BodyMode = 'none';
  private remaining = 0;
  /** Chunked sub-state: reading a size line, chunk data, the CRLF after data, or trailers. */
  private chunkPhase: 'size' | 'data' | 'data-crlf' | 'trailers' = 'size';
  private readonly chunks: Buffer[] = [];
  private kept = 0;

  /**
   * @param noBody true for HEAD requests: the response never has a body whatever its headers say.
   * @param keepBodyBytes how many body bytes to keep for body rules (0: count only, keep nothing).
   */
  constructor(
    private readonly noBody: boolean,
    private readonly keepBodyBytes: number,
  ) {}

  /**
   * Feeds `data[0, length)`; returns the new state. Throws HttpFramingError on malformed input.
   * `data` may be the read buffer shared by every connection (conn-socket.ts), longer than `length`
   * and holding other connections' bytes past it: nothing beyond `length` is looked at, and whatever
   * is kept past this call is copied. Works on offsets, so a read costs no Buffer views.
   */
  push(data: Buffer, length = data.length): ParseState {
    let buf = data;
    let end = length;
    if (this.pending) {
      buf = Buffer.concat([this.pending, data.subarray(0, length)]);
      end = buf.length;
      this.pending = null;
    }
    let pos = 0;
    while (pos < end && this.state !== 'done') {
      if (this.state === 'head') {
        const headEnd = indexIn(buf, HEAD_END, pos, end);
        if (headEnd < 0) {
          if (end - pos > MAX_HEAD_BYTES) throw new HttpFramingError(`response head larger than ${MAX_HEAD_BYTES} bytes`);
          this.keep(buf, pos, end);
          return this.state;
        }
        this.parseHead(buf, pos, headEnd);
        pos = headEnd + 4;
      } else {
        pos = this.pushBody(buf, pos, end);
      }
    }
    return this.state;
  }

  /** The server closed its side: a close-delimited body ends here; anything else is truncated. */
  end(): ParseState {
    if (this.state === 'body' && this.mode === 'close') this.state = 'done';
    return this.state;
  }

  /** Body bytes kept (up to keepBodyBytes). */
  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
  }

  /** Whether the body was larger than what was kept. */
  get bodyTruncated(): boolean {
    return this.bodyBytes > this.kept;
  }

  /** Declared Content-Length, when the response is length-framed. */
  get expectedLength(): number | undefined {
    return this.mode === 'length' && this.head ? Number(this.head.headers['content-length']) : undefined;
  }

  /** Parses `buf[start, end)`, a head without its final CRLF CRLF. */
  private parseHead(buf: Buffer, start: number, end: number): void {
    // Lines and colons are found by plain loops over the bytes: a head is a few hundred bytes, and
    // Buffer#indexOf costs a native call per search (two per header line).
    let eol = lineEnd(buf, start, end);
    const status = statusOf(buf, start, eol);
    if (status < 0) throw new HttpFramingError(`bad status line ${JSON.stringify(buf.toString('latin1', start, Math.min(eol, start + 80)))}`);
    const headers: ParsedHead['headers'] = {};
    for (let pos = eol + 2; pos < end; pos = eol + 2) {
      eol = lineEnd(buf, pos, end);
      const colon = colonIn(buf, pos, eol);
      if (colon <= pos) throw new HttpFramingError(`bad header line ${JSON.stringify(buf.toString('latin1', pos, Math.min(eol, pos + 80)))}`);
      const name = framingHeader(buf, pos, colon);
      if (name === undefined) continue;
      let from = colon + 1;
      let to = eol;
      while (from < to && isBlank(buf[from])) from++;
      while (to > from && isBlank(buf[to - 1])) to--;
      const value = buf.toString('latin1', from, to);
      const before = headers[name];
      headers[name] = before === undefined ? value : `${before}, ${value}`;
    }
    // 1xx interim responses (100 Continue, 103 Early Hints) precede the real one; 101 is not expected.
    if (status >= 100 && status < 200 && status !== 101) return;
    this.head = { status, headers };
    this.state = 'body';
    const te = headers['transfer-encoding'];
    if (this.noBody || status === 204 || status === 304 || status === 101) {
      this.mode = 'none';
      this.state = 'done';
    } else if (te !== undefined && /(?:^|,)\s*chunked\s*$/i.test(te)) {
      this.mode = 'chunked';
    } else if (headers['content-length'] !== undefined) {
      const cl = headers['content-length'];
      if (!/^\d+$/.test(cl)) throw new HttpFramingError(`bad Content-Length ${JSON.stringify(cl)}`);
      this.mode = 'length';
      this.remaining = Number(cl);
      if (this.remaining === 0) this.state = 'done';
    } else {
      this.mode = 'close';
    }
  }

  /** Counts buf[from, to) as body, keeping a copy of what body rules need. */
  private take(buf: Buffer, from: number, to: number): void {
    this.bodyBytes += to - from;
    const n = Math.min(to - from, this.keepBodyBytes - this.kept);
    if (n > 0) {
      const part = Buffer.allocUnsafe(n);
      buf.copy(part, 0, from, from + n);
      this.chunks.push(part);
      this.kept += n;
    }
  }

  /** Consumes body bytes from buf[pos, end); returns the new position. */
  private pushBody(buf: Buffer, pos: number, end: number): number {
    if (this.mode === 'close') {
      this.take(buf, pos, end);
      return end;
    }
    if (this.mode === 'length') {
      const n = Math.min(this.remaining, end - pos);
      this.take(buf, pos, pos + n);
      this.remaining -= n;
      if (this.remaining === 0) this.state = 'done';
      // Bytes after the framed end are ignored: with Connection: close nothing may follow.
      return end;
    }
    return this.pushChunked(buf, pos, end);
  }

  private pushChunked(buf: Buffer, pos: number, end: number): number {
    switch (this.chunkPhase) {
      case 'size': {
        const eol = indexIn(buf, CRLF, pos, end);
        if (eol < 0) return this.keepPending(buf, pos, end, 'chunk size line');
        const sizeText = buf.toString('latin1', pos, eol).split(';')[0].trim();
        if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new HttpFramingError(`bad chunk size ${JSON.stringify(sizeText.slice(0, 20))}`);
        this.remaining = parseInt(sizeText, 16);
        this.chunkPhase = this.remaining === 0 ? 'trailers' : 'data';
        return eol + 2;
      }
      case 'data': {
        const n = Math.min(this.remaining, end - pos);
        this.take(buf, pos, pos + n);
        this.remaining -= n;
        if (this.remaining === 0) this.chunkPhase = 'data-crlf';
        return pos + n;
      }
      case 'data-crlf': {
        if (end - pos < 2) return this.keepPending(buf, pos, end, 'chunk terminator');
        if (buf[pos] !== 13 || buf[pos + 1] !== 10) throw new HttpFramingError('missing CRLF after chunk data');
        this.chunkPhase = 'size';
        return pos + 2;
      }
      case 'trailers': {
        // Trailer section: zero or more header lines, then an empty line.
        const eol = indexIn(buf, CRLF, pos, end);
        if (eol < 0) return this.keepPending(buf, pos, end, 'chunked trailer');
        if (eol === pos) this.state = 'done';
        return eol + 2;
      }
    }
  }

  private keepPending(buf: Buffer, pos: number, end: number, what: string): number {
    if (end - pos > MAX_HEAD_BYTES) throw new HttpFramingError(`${what} longer than ${MAX_HEAD_BYTES} bytes`);
    this.keep(buf, pos, end);
    return end;
  }

  /** Keeps a copy of buf[pos, end) for the next push (the buffer itself may be reused). */
  private keep(buf: Buffer, pos: number, end: number): void {
    const copy = Buffer.allocUnsafe(end - pos);
    buf.copy(copy, 0, pos, end);
    this.pending = copy;
  }
}

/** Where the first CRLF in buf[from, end) starts, else `end`. */
function lineEnd(buf: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === 13 && buf[i + 1] === 10) return i;
  return end;
}

/** Where the first ':' in buf[from, to) is, else -1. */
function colonIn(buf: Buffer, from: number, to: number): number {
  for (let i = from; i < to; i++) if (buf[i] === COLON) return i;
  return -1;
}

/** Where `needle` starts in buf[from, end), or -1 (bytes past `end` are never matched). */
function indexIn(buf: Buffer, needle: Buffer, from: number, end: number): number {
  const i = buf.indexOf(needle, from);
  return i >= 0 && i + needle.length <= end ? i : -1;
}

const isBlank = (b: number | undefined): boolean => b === 0x20 || b === 0x09;
const lowerAscii = (b: number): number => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b);

/** The status of `HTTP/1.x NNN[ reason]` in buf[start, eol), or -1 when the line is not that. */
function statusOf(buf: Buffer, start: number, eol: number): number {
  // "HTTP/1." then 0 or 1, a space, three digits, then the end of the line or a space.
  if (eol - start < 12) return -1;
  for (let i = 0; i < 7; i++) if (buf[start + i] !== HTTP_1[i]) return -1;
  if ((buf[start + 7] !== 0x30 && buf[start + 7] !== 0x31) || buf[start + 8] !== 0x20) return -1;
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const d = buf[start + i] - 0x30;
    if (d < 0 || d > 9) return -1;
    status = status * 10 + d;
  }
  return eol - start === 12 || buf[start + 12] === 0x20 ? status : -1;
}
const HTTP_1 = Buffer.from('HTTP/1.', 'latin1');

/** Which FRAMING_HEADERS the name in buf[from, colon) is (ASCII case-insensitive, blanks trimmed). */
function framingHeader(buf: Buffer, from: number, colon: number): FramingHeader | undefined {
  let to = colon;
  while (from < to && isBlank(buf[from])) from++;
  while (to > from && isBlank(buf[to - 1])) to--;
  const n = to - from;
  for (const name of FRAMING_HEADERS) {
    if (name.length !== n) continue;
    let i = 0;
    while (i < n && lowerAscii(buf[from + i]) === name.charCodeAt(i)) i++;
    if (i === n) return name;
  }
  return undefined;
}
