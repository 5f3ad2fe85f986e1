// Kv over etcd's v3 JSON gRPC-gateway (POST /v3/kv/txn, /v3/auth/authenticate, ...) using only
// node:http/node:https, and its reads (range, getMany) over gRPC with node:http2 (grpc-lite.ts: the
// gateway's JSON was the slow part of poolctl's bulk reads at eqiad's size). This is the CLI's adapter:
// importing the etcd3 library costs about 190 ms of start-up, this costs next to nothing. The gateway
// speaks protobuf-JSON: bytes are base64, int64 are decimal strings, and fields equal to their default
// are omitted. Both transports share the endpoints, the failover and the auth token.
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { StoreError } from '../model/errors.js';
import { StoreUnavailableError } from './errors.js';
import { alarmName, compactFailure } from './compact-failure.js';
import { prefixEnd, txnKeys, type Compare, type EtcdStatus, type GetManyResult, type Kv, type KvEntry, type KvMaintenance, type RangeRequest, type RangeResult, type TxnOp, type TxnRequest, type TxnResult } from './kv.js';
import { mapEtcdError, type ErrorScope } from './kv-errors.js';
import { checkTxnLimits, ETCD_MAX_TXN_OPS } from './limits.js';
import { decodeRange, decodeReadTxn, encodeRange, encodeReadTxn, GRPC_UNAVAILABLE, GrpcLite, GrpcProtocolError, GrpcStatusError, type GrpcRange } from './grpc-lite.js';
import { DEFAULT_TIMEOUT_MS, type EtcdOptions } from './options.js';

interface WireKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

interface WireHeader {
  revision?: string;
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined): string => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));
const num = (s: string | undefined): number => (s === undefined ? 0 : Number(s));

const TARGETS = { mod: 'MOD', create: 'CREATE', version: 'VERSION', value: 'VALUE' } as const;
const RESULTS = { '==': 'EQUAL', '!=': 'NOT_EQUAL', '<': 'LESS', '>': 'GREATER' } as const;
const FIELDS = { mod: 'mod_revision', create: 'create_revision', version: 'version', value: 'value' } as const;

function wireCompare(c: Compare): Record<string, string> {
  return {
    key: b64(c.key),
    target: TARGETS[c.target],
    result: RESULTS[c.op],
    [FIELDS[c.target]]: c.target === 'value' ? b64(c.value) : String(c.value),
  };
}

function wireOp(op: TxnOp): Record<string, unknown> {
  if (op.type === 'put') {
    return { request_put: { key: b64(op.key), value: b64(op.value), ...(op.lease ? { lease: op.lease } : {}) } };
  }
  const range = op.prefix ? { range_end: prefixEnd(Buffer.from(op.key)).toString('base64') } : {};
  return { request_delete_range: { key: b64(op.key), ...range } };
}

function entry(w: WireKv): KvEntry {
  return {
    key: unb64(w.key),
    value: unb64(w.value),
    createRevision: num(w.create_revision),
    modRevision: num(w.mod_revision),
    version: num(w.version),
    lease: w.lease ?? '0',
  };
}

/** etcd's refusal in either transport: its message, and whether another member may do better. */
function refusalOf(err: unknown): { message: string; unavailable: boolean } | undefined {
  if (err instanceof GatewayReplyError) return { message: err.etcdMessage, unavailable: err.status === 503 };
  if (err instanceof GrpcStatusError) return { message: err.etcdMessage, unavailable: err.code === GRPC_UNAVAILABLE };
  return undefined;
}

/** A read-only transaction's answers, checked to be one per key asked (either transport). */
function oneReadPerKey<T>(answers: T[], keys: readonly string[]): T[] {
  if (answers.length !== keys.length) throw new StoreError(`etcd answered ${answers.length} reads for ${keys.length} keys in one transaction`, { keys: [...keys] });
  return answers;
}

class GatewayReplyError extends Error {
  constructor(readonly status: number, readonly etcdMessage: string) {
    super(etcdMessage);
  }
}

export class GatewayKv implements Kv, KvMaintenance {
  readonly user: string | undefined;
  private readonly endpoints: URL[];
  private current = 0;
  private token: string | undefined;
  private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent: HttpsAgent;
  private readonly timeoutMs: number;
  private readonly grpc: GrpcLite;
  /** Set when an endpoint answered a gRPC call as something else: reads go through the gateway after that. */
  private grpcRefused = false;

  constructor(private readonly opts: EtcdOptions) {
    if (opts.endpoints.length === 0) throw new StoreError('no etcd endpoint given', {});
    this.endpoints = opts.endpoints.map((e) => {
      try {
        return new URL(e);
      } catch (err) {
        throw new StoreError(`invalid etcd endpoint "${e}": expected a URL like http://127.0.0.1:2379`, { endpoint: e }, { cause: err });
      }
    });
    this.user = opts.user;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const read = (what: string, path: string | undefined): Buffer | undefined => {
      if (path === undefined) return undefined;
      try {
        return readFileSync(path);
      } catch (err) {
        throw new StoreError(`cannot read etcd TLS ${what} file ${path}: ${(err as Error).message}`, { path }, { cause: err });
      }
    };
    this.tls = { ca: read('CA', opts.ca), cert: read('certificate', opts.cert), key: read('key', opts.key) };
    this.httpsAgent = new HttpsAgent({ keepAlive: true, ...this.tls });
    this.grpc = new GrpcLite(this.tls, this.timeoutMs);
  }

  /** One POST to one endpoint; resolves with the parsed JSON body of a 200, rejects otherwise. */
  private post(base: URL, path: string, body: unknown, withToken: boolean): Promise<unknown> {
    const https = base.protocol === 'https:';
    const payload = JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) };
    if (withToken && this.token !== undefined) headers.authorization = this.token;
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)({
        protocol: base.protocol, hostname: base.hostname, port: base.port,
        path: base.pathname.replace(/\/$/, '') + path, method: 'POST', headers,
        agent: https ? this.httpsAgent : this.httpAgent,
      }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? {} : JSON.parse(text);
          } catch {
            reject(new GatewayReplyError(res.statusCode ?? 0, `unparsable reply: ${text.slice(0, 200)}`));
            return;
          }
          if (res.statusCode === 200) {
            resolve(parsed);
          } else {
            const p = parsed as { error?: string; message?: string };
            reject(new GatewayReplyError(res.statusCode ?? 0, p.error ?? p.message ?? text));
          }
        });
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  private async authenticate(base: URL): Promise<void> {
    const reply = await this.post(base, '/v3/auth/authenticate', { name: this.opts.user, password: this.opts.password ?? '' }, false);
    this.token = (reply as { token?: string }).token;
  }

  /**
   * Sends a request, failing over between endpoints on transport errors, authenticating first
   * (and once more when the token expired). etcd's own refusals are mapped to typed errors.
   */
  private call(path: string, body: unknown, scope: Omit<ErrorScope, 'endpoint' | 'user'>): Promise<unknown> {
    return this.callWith((base) => this.post(base, path, body, true), scope);
  }

  /** call() for any transport: `send` does one attempt at one endpoint (the JSON gateway or gRPC). */
  private async callWith<T>(send: (base: URL) => Promise<T>, scope: Omit<ErrorScope, 'endpoint' | 'user'>): Promise<T> {
    const failures: string[] = [];
    for (let i = 0; i < this.endpoints.length; i++) {
      const idx = (this.current + i) % this.endpoints.length;
      const base = this.endpoints[idx];
      const fullScope = { ...scope, user: this.user, endpoint: base.origin };
      try {
        if (this.user !== undefined && this.token === undefined) await this.authenticate(base);
        try {
          const out = await send(base);
          this.current = idx;
          return out;
        } catch (err) {
          if (/invalid auth token/i.test(refusalOf(err)?.message ?? '') && this.user !== undefined) {
            await this.authenticate(base);
            const out = await send(base);
            this.current = idx;
            return out;
          }
          throw err;
        }
      } catch (err) {
        const refusal = refusalOf(err);
        if (refusal !== undefined) {
          // 503 "no leader" style answers from one member: another member may do better.
          if (refusal.unavailable) {
            failures.push(`${base.origin}: ${refusal.message}`);
            continue;
          }
          throw mapEtcdError(refusal.message, fullScope, err);
        }
        failures.push(`${base.origin}: ${(err as Error).message}`);
      }
    }
    throw new StoreUnavailableError(`cannot reach etcd (${failures.join('; ')}); check --etcd or POOLD_ETCD`,
      { endpoints: this.endpoints.map((e) => e.origin), op: scope.op, keys: scope.keys });
  }

  /** How this client's reads go: 'grpc', or 'json' once an endpoint refused gRPC (or POOLD_ETCD_JSON_READS=1). */
  get readTransport(): 'grpc' | 'json' {
    return this.grpcRefused || process.env.POOLD_ETCD_JSON_READS === '1' ? 'json' : 'grpc';
  }

  /**
   * A read over gRPC (grpc-lite.ts: etcd's gateway is the slow part of a bulk read), or over the JSON
   * gateway when the endpoint does not answer as a gRPC server (a proxy that speaks HTTP/1 only): then
   * this client reads through the gateway from there on.
   */
  private async read<T>(base: URL, viaGrpc: () => Promise<T>, viaJson: () => Promise<T>): Promise<T> {
    if (this.readTransport === 'json') return viaJson();
    try {
      return await viaGrpc();
    } catch (err) {
      if (!(err instanceof GrpcProtocolError)) throw err;
      this.grpcRefused = true;
      return viaJson();
    }
  }

  async range(req: RangeRequest): Promise<RangeResult> {
    const key = Buffer.from(req.key);
    const end = req.prefix ? prefixEnd(key) : req.end !== undefined ? Buffer.from(req.end) : undefined;
    const body: Record<string, unknown> = { key: key.toString('base64') };
    if (end !== undefined) body.range_end = end.toString('base64');
    if (req.limit) body.limit = String(req.limit);
    if (req.revision) body.revision = String(req.revision);
    if (req.modRevision) {
      body.min_mod_revision = String(req.modRevision.min);
      body.max_mod_revision = String(req.modRevision.max);
    }
    if (req.order === 'descend') {
      body.sort_order = 'DESCEND';
      body.sort_target = 'KEY';
    }
    const g: GrpcRange = {
      key: req.key, end, limit: req.limit, revision: req.revision, descend: req.order === 'descend',
      minModRevision: req.modRevision?.min, maxModRevision: req.modRevision?.max,
    };
    const json = async (base: URL): Promise<RangeResult> => {
      const reply = await this.post(base, '/v3/kv/range', body, true) as { header?: WireHeader; kvs?: WireKv[]; more?: boolean; count?: string };
      return { kvs: (reply.kvs ?? []).map(entry), revision: num(reply.header?.revision), more: reply.more === true, count: num(reply.count) };
    };
    return this.callWith((base) => this.read(base,
      async () => decodeRange(await this.grpc.call(base, 'Range', encodeRange(g), this.token)),
      () => json(base)), { op: 'read', keys: [req.key], revision: req.revision });
  }

  async get(key: string): Promise<KvEntry | undefined> {
    const r = await this.range({ key });
    return r.kvs[0];
  }

  /**
   * One read-only transaction of range ops per ETCD_MAX_TXN_OPS keys (etcd caps a transaction's list of
   * ops, reads included). Later transactions read at the first one's revision, so every entry is of
   * one revision (a compaction in between fails them with etcd's "required revision has been compacted").
   */
  async getMany(keys: readonly string[]): Promise<GetManyResult> {
    const entries: (KvEntry | undefined)[] = [];
    let revision = 0;
    for (let i = 0; i < keys.length; i += ETCD_MAX_TXN_OPS) {
      const part = keys.slice(i, i + ETCD_MAX_TXN_OPS);
      const at = revision > 0 ? revision : undefined;
      const json = async (base: URL): Promise<{ revision: number; entries: (KvEntry | undefined)[] }> => {
        const body = { success: part.map((k) => ({ request_range: { key: b64(k), ...(at !== undefined ? { revision: String(at) } : {}) } })) };
        const reply = await this.post(base, '/v3/kv/txn', body, true) as
          { header?: WireHeader; responses?: { response_range?: { kvs?: WireKv[] } }[] };
        const rs = oneReadPerKey(reply.responses ?? [], part);
        return { revision: num(reply.header?.revision), entries: rs.map((r) => { const w = r.response_range?.kvs?.[0]; return w === undefined ? undefined : entry(w); }) };
      };
      const grpc = async (base: URL): Promise<{ revision: number; entries: (KvEntry | undefined)[] }> => {
        const reply = decodeReadTxn(await this.grpc.call(base, 'Txn', encodeReadTxn(part.map((k) => ({ key: k, revision: at }))), this.token));
        return { revision: reply.revision, entries: oneReadPerKey(reply.ranges, part).map((r) => r.kvs[0]) };
      };
      const got = await this.callWith((base) => this.read(base, () => grpc(base), () => json(base)), { op: 'read', keys: [...part], ...(at !== undefined ? { revision: at } : {}) });
      if (revision === 0) revision = got.revision;
      entries.push(...got.entries);
    }
    return { entries, revision };
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    checkTxnLimits(req);
    const body = {
      compare: req.compare.map(wireCompare),
      success: req.success.map(wireOp),
      failure: (req.failure ?? []).map(wireOp),
    };
    const reply = await this.call('/v3/kv/txn', body, { op: 'write', keys: txnKeys(req) }) as
      { header?: WireHeader; succeeded?: boolean };
    return { succeeded: reply.succeeded === true, revision: num(reply.header?.revision) };
  }

  async compact(revision: number): Promise<void> {
    try {
      await this.call('/v3/kv/compaction', { revision: String(revision), physical: false }, { op: 'compact', keys: ['the keyspace history'], revision });
    } catch (err) {
      throw compactFailure(revision, err);
    }
  }

  async status(): Promise<EtcdStatus> {
    const scope = { op: 'read status of', keys: ['etcd'] };
    const st = await this.call('/v3/maintenance/status', {}, scope) as { dbSize?: string; dbSizeInUse?: string };
    const al = await this.call('/v3/maintenance/alarm', { action: 'GET' }, scope) as { alarms?: { alarm?: string }[] };
    const inUse = num(st.dbSizeInUse);
    // A member's alarm with the enum's default value is omitted from protobuf-JSON: that is NONE.
    return { dbSize: num(st.dbSize), dbSizeInUse: inUse > 0 ? inUse : undefined, alarms: (al.alarms ?? []).map((a) => alarmName(a.alarm ?? 'NONE')) };
  }

  async close(): Promise<void> {
    this.grpc.close();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
