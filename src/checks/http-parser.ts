// Incremental HTTP/1.x response framing parser for health checks.
//
// Why our own parser instead of undici or node:http: a check must know the exact moment a response
// is complete by its framing (Content-Length, chunked terminator, or no body for HEAD/204/304),
// independently of whether the server closes the socket (the Parsoid incident). node:http only tells
// us 'end' and undici hides the socket. A framing parser over a raw node:net/node:tls socket costs a
// few string scans per response, which keeps a check well inside the ~100 µs CPU budget (DESIGN §11).
// It parses only what a health check needs: status, headers, framing, and optionally the body bytes.

export interface ParsedHead {
  status: number;
  reason: string;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
}

export type ParseState = 'head' | 'body' | 'done';

export class HttpFramingError extends Error {
  override name = 'HttpFramingError';
}

const MAX_HEAD_BYTES = 64 * 1024;
const CRLF = Buffer.from('\r\n');
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
   * Feeds bytes; returns the new state. Throws HttpFramingError on malformed input. `data` may be a
   * reused read buffer (http-exchange.ts): whatever is kept past this call is copied.
   */
  push(data: Buffer): ParseState {
    let buf = this.pending ? Buffer.concat([this.pending, data]) : data;
    this.pending = null;
    while (buf.length > 0 && this.state !== 'done') {
      if (this.state === 'head') {
        const end = buf.indexOf(HEAD_END);
        if (end < 0) {
          if (buf.length > MAX_HEAD_BYTES) throw new HttpFramingError(`response head larger than ${MAX_HEAD_BYTES} bytes`);
          this.pending = Buffer.from(buf);
          return this.state;
        }
        this.parseHead(buf.toString('latin1', 0, end));
        buf = buf.subarray(end + 4);
      } else {
        buf = this.pushBody(buf);
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

  private parseHead(text: string): void {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
    if (!m) throw new HttpFramingError(`bad status line ${JSON.stringify(lines[0].slice(0, 80))}`);
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(':');
      if (colon <= 0) throw new HttpFramingError(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    // 1xx interim responses (100 Continue, 103 Early Hints) precede the real one; 101 is not expected.
    if (status >= 100 && status < 200 && status !== 101) return;
    this.head = { status, reason: m[2] ?? '', headers };
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

  private take(data: Buffer): void {
    this.bodyBytes += data.length;
    if (this.kept < this.keepBodyBytes) {
      const part = Buffer.from(data.subarray(0, this.keepBodyBytes - this.kept));
      this.chunks.push(part);
      this.kept += part.length;
    }
  }

  private pushBody(buf: Buffer): Buffer {
    if (this.mode === 'close') {
      this.take(buf);
      return buf.subarray(buf.length);
    }
    if (this.mode === 'length') {
      const n = Math.min(this.remaining, buf.length);
      this.take(buf.subarray(0, n));
      this.remaining -= n;
      if (this.remaining === 0) this.state = 'done';
      // Bytes after the framed end are ignored: with Connection: close nothing may follow.
      return buf.subarray(buf.length);
    }
    return this.pushChunked(buf);
  }

  private pushChunked(buf: Buffer): Buffer {
    switch (this.chunkPhase) {
      case 'size': {
        const eol = buf.indexOf(CRLF);
        if (eol < 0) return this.keepPending(buf, 'chunk size line');
        const sizeText = buf.toString('latin1', 0, eol).split(';')[0].trim();
        if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new HttpFramingError(`bad chunk size ${JSON.stringify(sizeText.slice(0, 20))}`);
        this.remaining = parseInt(sizeText, 16);
        this.chunkPhase = this.remaining === 0 ? 'trailers' : 'data';
        return buf.subarray(eol + 2);
      }
      case 'data': {
        const n = Math.min(this.remaining, buf.length);
        this.take(buf.subarray(0, n));
        this.remaining -= n;
        if (this.remaining === 0) this.chunkPhase = 'data-crlf';
        return buf.subarray(n);
      }
      case 'data-crlf': {
        if (buf.length < 2) return this.keepPending(buf, 'chunk terminator');
        if (buf[0] !== 13 || buf[1] !== 10) throw new HttpFramingError('missing CRLF after chunk data');
        this.chunkPhase = 'size';
        return buf.subarray(2);
      }
      case 'trailers': {
        // Trailer section: zero or more header lines, then an empty line.
        const eol = buf.indexOf(CRLF);
        if (eol < 0) return this.keepPending(buf, 'chunked trailer');
        if (eol === 0) this.state = 'done';
        return buf.subarray(eol + 2);
      }
    }
  }

  private keepPending(buf: Buffer, what: string): Buffer {
    if (buf.length > MAX_HEAD_BYTES) throw new HttpFramingError(`${what} longer than ${MAX_HEAD_BYTES} bytes`);
    this.pending = Buffer.from(buf);
    return buf.subarray(buf.length);
  }
}
