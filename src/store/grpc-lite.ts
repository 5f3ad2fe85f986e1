// etcd's KV.Range and KV.Txn (range ops only) spoken as gRPC over node:http2, with a hand-written
// protobuf codec for exactly those messages: the CLI's bulk reads (issue 12).
//
// Why not the JSON gateway for these: etcd's gateway turns each protobuf reply into JSON with
// reflection and base64, and the client decodes it again; at Wikimedia's eqiad a depool reads about
// 2.5 MB (116 service definitions, the states of the 44 sections over kubesvc), and the gateway took
// 3-4× as long as gRPC for the same ranges. Why not the etcd3 library (grpc-js, protobufjs): it costs
// ~190 ms of start-up, more than all of poolctl's own work (kv-gateway.ts). This file costs next to
// nothing to load: node:http2 is built in, and only the fields we read or write are encoded.
//
// Wire facts (etcd's rpc.proto, kv.proto; gRPC over HTTP/2): a message is framed as 1 byte
// "compressed" (0) + 4 bytes big-endian length; a call is POST /etcdserverpb.KV/<Method> with
// content-type application/grpc; the outcome is grpc-status (0 = OK) and grpc-message (percent-encoded)
// in the trailers, or in the headers of a trailers-only reply. etcd's auth token goes in the `token`
// metadata header, the same token its gateway's /v3/auth/authenticate returns.
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders, type SecureClientSessionOptions } from 'node:http2';
import type { KvEntry } from './kv.js';

// ---- protobuf: the few messages we need ----

class Writer {
  private readonly parts: Buffer[] = [];
  private n = 0;
  private push(b: Buffer): void {
    this.parts.push(b);
    this.n += b.length;
  }
  private varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`protobuf varint out of range: ${v}`);
    const out: number[] = [];
    while (v > 0x7f) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    this.push(Buffer.from(out));
  }
  uint(field: number, v: number | undefined): this {
    if (v === undefined || v === 0) return this;
    this.varint(field * 8);
    this.varint(v);
    return this;
  }
  bytes(field: number, v: Buffer | string | undefined): this {
    if (v === undefined) return this;
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    if (b.length === 0) return this;
    this.varint(field * 8 + 2);
    this.varint(b.length);
    this.push(b);
    return this;
  }
  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }
  finish(): Buffer {
    return Buffer.concat(this.parts, this.n);
  }
}

/** Reads one message's fields; `each` is called per field with a reader positioned on its value. */
class Reader {
  pos = 0;
  constructor(readonly buf: Buffer, private readonly end = buf.length, start = 0) {
    this.pos = start;
  }
  /** A varint as a number; etcd's revisions and counts stay far below 2^53. Lease ids may not: use varintText. */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.end) throw new GrpcProtocolError('truncated protobuf varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
      if (mul > 2 ** 63) throw new GrpcProtocolError('protobuf varint too long');
    }
  }
  varintText(): string {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new GrpcProtocolError('truncated protobuf varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, result).toString();
      shift += 7n;
      if (shift > 63n) throw new GrpcProtocolError('protobuf varint too long');
    }
  }
  /** Fields until the end of this message: (field number, wire type). */
  *fields(): Generator<[number, number]> {
    while (this.pos < this.end) {
      const tag = this.varint();
      yield [Math.floor(tag / 8), tag & 7];
    }
  }
  /** The length-delimited value here, as [start, end) in buf. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new GrpcProtocolError('truncated protobuf field');
    this.pos = start + len;
    return [start, start + len];
  }
  sub(): Reader {
    const [s, e] = this.span();
    return new Reader(this.buf, e, s);
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.span();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else throw new GrpcProtocolError(`unexpected protobuf wire type ${wire}`);
  }
}

export interface GrpcRange {
  key: string;
  /** Exclusive end (etcd's range_end); absent: this one key. */
  end?: Buffer;
  limit?: number;
  revision?: number;
  descend?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
}

export interface GrpcRangeResult {
  kvs: KvEntry[];
  revision: number;
  more: boolean;
  count: number;
}

function rangeRequest(r: GrpcRange): Writer {
  return new Writer()
    .bytes(1, r.key)
    .bytes(2, r.end)
    .uint(3, r.limit)
    .uint(4, r.revision)
    .uint(5, r.descend === true ? 2 : 0) // sort_order DESCEND; sort_target KEY is the default (0)
    .uint(10, r.minModRevision)
    .uint(11, r.maxModRevision);
}

export function encodeRange(r: GrpcRange): Buffer {
  return rangeRequest(r).finish();
}

/** A transaction of range ops only (no compares): every key read at one revision. */
export function encodeReadTxn(ranges: readonly GrpcRange[]): Buffer {
  const w = new Writer();
  for (const r of ranges) w.message(2, new Writer().message(1, rangeRequest(r)));
  return w.finish();
}

function decodeHeaderRevision(r: Reader): number {
  let revision = 0;
  for (const [f, wire] of r.fields()) {
    if (f === 3 && wire === 0) revision = r.varint();
    else r.skip(wire);
  }
  return revision;
}

function decodeKv(r: Reader): KvEntry {
  const e: KvEntry = { key: '', value: '', createRevision: 0, modRevision: 0, version: 0, lease: '0' };
  for (const [f, wire] of r.fields()) {
    if (f === 1 && wire === 2) { const [s, x] = r.span(); e.key = r.buf.toString('utf8', s, x); }
    else if (f === 5 && wire === 2) { const [s, x] = r.span(); e.value = r.buf.toString('utf8', s, x); }
    else if (f === 2 && wire === 0) e.createRevision = r.varint();
    else if (f === 3 && wire === 0) e.modRevision = r.varint();
    else if (f === 4 && wire === 0) e.version = r.varint();
    else if (f === 6 && wire === 0) e.lease = r.varintText();
    else r.skip(wire);
  }
  return e;
}

function decodeRangeResponse(r: Reader): GrpcRangeResult {
  const out: GrpcRangeResult = { kvs: [], revision: 0, more: false, count: 0 };
  for (const [f, wire] of r.fields()) {
    if (f === 1 && wire === 2) out.revision = decodeHeaderRevision(r.sub());
    else if (f === 2 && wire === 2) out.kvs.push(decodeKv(r.sub()));
    else if (f === 3 && wire === 0) out.more = r.varint() !== 0;
    else if (f === 4 && wire === 0) out.count = r.varint();
    else r.skip(wire);
  }
  return out;
}

export function decodeRange(buf: Buffer): GrpcRangeResult {
  return decodeRangeResponse(new Reader(buf));
}

/** A read-only transaction's reply: the header revision and one range result per op, in order. */
export function decodeReadTxn(buf: Buffer): { revision: number; ranges: GrpcRangeResult[] } {
  const r = new Reader(buf);
  const out = { revision: 0, ranges: [] as GrpcRangeResult[] };
  for (const [f, wire] of r.fields()) {
    if (f === 1 && wire === 2) out.revision = decodeHeaderRevision(r.sub());
    else if (f === 3 && wire === 2) {
      const op = r.sub();
      for (const [g, w2] of op.fields()) {
        if (g === 1 && w2 === 2) out.ranges.push(decodeRangeResponse(op.sub()));
        else op.skip(w2);
      }
    } else r.skip(wire);
  }
  return out;
}

// ---- gRPC over HTTP/2 ----

/** The server answered, but not as a gRPC server does (an HTTP/1 proxy, a wrong port). */
export class GrpcProtocolError extends Error {}

/** etcd (or gRPC) refused the call: the status code and etcd's message, e.g. "etcdserver: ...". */
export class GrpcStatusError extends Error {
  constructor(readonly code: number, readonly etcdMessage: string) {
    super(etcdMessage);
  }
}

/** gRPC's UNAVAILABLE: the member cannot serve (no leader, shutting down); another may. */
export const GRPC_UNAVAILABLE = 14;

function statusOf(h: IncomingHttpHeaders): GrpcStatusError | null | undefined {
  const s = h['grpc-status'];
  if (s === undefined) return undefined;
  const code = Number(s);
  if (code === 0) return null;
  const raw = h['grpc-message'];
  let msg = typeof raw === 'string' ? raw : `gRPC status ${code}`;
  try {
    msg = decodeURIComponent(msg);
  } catch {
    // Not percent-encoded after all: the text as sent is still the best description.
  }
  return new GrpcStatusError(code, msg);
}

export interface GrpcTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** One HTTP/2 connection per endpoint, opened on first use; close() ends them. */
export class GrpcLite {
  private readonly sessions = new Map<string, ClientHttp2Session>();
  /** Sessions whose connection (TCP, TLS) was established: a failure after that is the protocol's. */
  private readonly connected = new WeakSet<ClientHttp2Session>();

  constructor(private readonly tls: GrpcTls, private readonly timeoutMs: number) {}

  private session(base: URL): ClientHttp2Session {
    const known = this.sessions.get(base.origin);
    if (known !== undefined && !known.closed && !known.destroyed) return known;
    const opts: SecureClientSessionOptions = base.protocol === 'https:' ? { ...this.tls } : {};
    const s = connect(base.origin, opts);
    // Each call in flight listens for the session's error and stops when it ends (call()), so the
    // listener count is the callers' concurrency (44 section reads at once at eqiad), not a leak.
    s.setMaxListeners(0);
    s.once('connect', () => this.connected.add(s));
    // A failed or ended connection is forgotten; the next call opens a new one.
    const forget = () => { if (this.sessions.get(base.origin) === s) this.sessions.delete(base.origin); };
    s.on('error', forget);
    s.on('close', forget);
    s.on('goaway', forget);
    this.sessions.set(base.origin, s);
    return s;
  }

  /** One unary call; resolves with the reply message, rejects with GrpcStatusError or a transport error. */
  call(base: URL, method: 'Range' | 'Txn', message: Buffer, token: string | undefined): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let session: ClientHttp2Session;
      try {
        session = this.session(base);
      } catch (err) {
        reject(err);
        return;
      }
      const headers: Record<string, string> = {
        ':method': 'POST', ':path': `${base.pathname.replace(/\/$/, '')}/etcdserverpb.KV/${method}`,
        'content-type': 'application/grpc', te: 'trailers',
      };
      if (token !== undefined) headers.token = token;
      const stream = session.request(headers);
      let settled = false;
      let responded = false;
      let timedOut = false;
      const done = (err: Error | null, value?: Buffer) => {
        if (settled) return;
        settled = true;
        // Connected, then refused before any HTTP/2 answer: the peer does not speak HTTP/2 (an HTTP/1
        // proxy answers the preface with an error), which the caller can work around (kv-gateway.ts).
        if (err !== null && !(err instanceof GrpcStatusError) && !(err instanceof GrpcProtocolError) && !responded &&
          !timedOut && this.connected.has(session)) {
          err = new GrpcProtocolError(`${base.origin} does not answer as a gRPC server: ${err.message}`);
        }
        clearTimeout(timer);
        session.off('error', onSessionError);
        if (err !== null) {
          if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
          reject(err);
        } else resolve(value!);
      };
      const onSessionError = (err: Error) => done(err);
      session.once('error', onSessionError);
      const timer = setTimeout(() => { timedOut = true; done(new Error(`no answer within ${this.timeoutMs} ms`)); }, this.timeoutMs);
      const chunks: Buffer[] = [];
      let status: GrpcStatusError | null | undefined;
      let grpc = false;
      stream.on('response', (h) => {
        responded = true;
        grpc = String(h['content-type'] ?? '').startsWith('application/grpc');
        if (h[':status'] !== 200 || !grpc) {
          done(new GrpcProtocolError(`not a gRPC answer (HTTP ${String(h[':status'])}, content-type ${String(h['content-type'])})`));
          return;
        }
        status = statusOf(h); // a trailers-only reply carries its status here
      });
      stream.on('trailers', (h) => {
        const s = statusOf(h);
        if (s !== undefined) status = s;
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => done(err));
      stream.on('close', () => {
        if (settled) return;
        if (status === undefined) {
          done(new GrpcProtocolError(`the gRPC call ${method} ended without a status (HTTP/2 code ${stream.rstCode})`));
          return;
        }
        if (status !== null) {
          done(status);
          return;
        }
        const body = Buffer.concat(chunks);
        if (body.length < 5 || body[0] !== 0) {
          done(new GrpcProtocolError(`unusable gRPC reply to ${method} (${body.length} bytes${body.length > 0 ? `, flag ${body[0]}` : ''})`));
          return;
        }
        const len = body.readUInt32BE(1);
        if (body.length !== 5 + len) {
          done(new GrpcProtocolError(`gRPC reply to ${method}: frame of ${len} bytes in ${body.length - 5}`));
          return;
        }
        done(null, body.subarray(5));
      });
      const frame = Buffer.allocUnsafe(5);
      frame[0] = 0;
      frame.writeUInt32BE(message.length, 1);
      stream.end(Buffer.concat([frame, message]));
    });
  }

  close(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }
}
