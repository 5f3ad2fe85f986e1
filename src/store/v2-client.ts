// A client for etcd's v2 keys API (`/v2/keys/...`), the API conftool 3.x (python-etcd) and PyBal's
// `config = etcd://` speak. etcd 3.4 and 3.5 serve it next to v3 with `--enable-v2`, on the same
// client URLs, but keep the two keyspaces apart (3.6 removed v2). JSON over HTTP, so node:http(s)
// is enough, as for the v3 gateway adapter (kv-gateway.ts).
//
// What v2 offers, and this client exposes: a tree of directories and leaves; every write bumps one
// store-wide index (`X-Etcd-Index`), and a node carries the index of its last change
// (`modifiedIndex`); writes can be conditional on that index (`prevIndex`, compare-and-swap) or
// on existence (`prevExist`); a watch is a long poll that returns the first change at or after
// `waitIndex` below a key. etcd keeps only the last 1000 events: a watch from an older index fails
// with 401 (V2IndexClearedError), and the caller re-lists. Refusals are typed (v2-errors.ts).
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { StoreError } from '../model/errors.js';
import { StoreUnavailableError } from './errors.js';
import { DEFAULT_TIMEOUT_MS, type EtcdOptions } from './options.js';
import { V2NotServedError, v2ErrorFrom, V2KeyNotFoundError, V2NodeExistsError, V2NotADirError, V2NotAFileError, type V2ErrorBody } from './v2-errors.js';

export interface V2Node {
  key: string;
  value?: string;
  dir?: boolean;
  nodes?: V2Node[];
  modifiedIndex: number;
  createdIndex: number;
  ttl?: number;
}

/** One answer of the keys API (a read, a write, or the event a watch returned). */
export interface V2Response {
  action: string;
  node: V2Node;
  prevNode?: V2Node;
  /** `X-Etcd-Index`: the store index when etcd answered (for a watch: when the watch started). */
  etcdIndex: number;
}

/** A leaf (a file node): what conftool stores per host. */
export interface V2Leaf {
  key: string;
  value: string;
  modifiedIndex: number;
  createdIndex: number;
}

export interface V2Listing {
  leaves: V2Leaf[];
  /** Every directory below (and including) the listed one, deepest last. */
  dirs: string[];
  /** The store index the listing was served at: watch from etcdIndex + 1 to miss nothing. */
  etcdIndex: number;
  /** False when the listed directory does not exist (then leaves and dirs are empty). */
  exists: boolean;
}

/** Write conditions: `prevIndex` is compare-and-swap on the node's modifiedIndex; `prevExist` false creates only. */
export interface V2Condition {
  prevIndex?: number;
  prevExist?: boolean;
}

export interface V2WatchResult {
  /** The first change at or after waitIndex, or null when the wait ended (maxWaitMs) with none. */
  event: V2Response | null;
  /** The store index when the watch started (its `X-Etcd-Index`). */
  etcdIndex: number;
}

class TransportError extends Error {}

/** A wait() ended by its caller's AbortSignal. */
export class V2WatchStoppedError extends StoreError {}

/** `/a/b c` → `/v2/keys/a/b%20c`; a key is absolute and has no empty segment. */
export function v2Path(key: string): string {
  if (!key.startsWith('/')) throw new StoreError(`etcd v2 key "${key}" must start with "/"`, { key });
  const segs = key.split('/').slice(1);
  if (key !== '/' && segs.some((s) => s === '')) throw new StoreError(`etcd v2 key "${key}" has an empty segment`, { key });
  return `/v2/keys${key === '/' ? '/' : `/${segs.map(encodeURIComponent).join('/')}`}`;
}

function leaves(node: V2Node, out: V2Leaf[], dirs: string[]): void {
  if (node.dir) {
    dirs.push(node.key);
    for (const n of node.nodes ?? []) leaves(n, out, dirs);
  } else {
    out.push({ key: node.key, value: node.value ?? '', modifiedIndex: node.modifiedIndex, createdIndex: node.createdIndex });
  }
}

export class V2Client {
  readonly user: string | undefined;
  private readonly endpoints: URL[];
  private current = 0;
  private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent: HttpsAgent;
  private readonly timeoutMs: number;
  private readonly authHeader: string | undefined;

  constructor(opts: EtcdOptions) {
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
    // v2 authenticates every request with HTTP basic auth (no tokens).
    this.authHeader = opts.user === undefined ? undefined
      : `Basic ${Buffer.from(`${opts.user}:${opts.password ?? ''}`).toString('base64')}`;
  }

  /** One request to one endpoint. Resolves with the parsed body and X-Etcd-Index of a 2xx; typed error otherwise. */
  private send(base: URL, method: string, key: string, query: Record<string, string>, form: Record<string, string> | undefined,
    op: string, watch: { maxWaitMs: number; signal?: AbortSignal } | undefined): Promise<{ body: unknown; etcdIndex: number }> {
    const https = base.protocol === 'https:';
    const qs = new URLSearchParams(query).toString();
    const payload = form === undefined ? undefined : new URLSearchParams(form).toString();
    const headers: Record<string, string> = {};
    if (payload !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    if (this.authHeader !== undefined) headers.authorization = this.authHeader;
    return new Promise((resolve, reject) => {
      let etcdIndex = 0;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const done = (fn: () => void) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        watch?.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const req = (https ? httpsRequest : httpRequest)({
        protocol: base.protocol, hostname: base.hostname, port: base.port,
        path: base.pathname.replace(/\/$/, '') + v2Path(key) + (qs === '' ? '' : `?${qs}`),
        method, headers,
        // A watch holds its connection for as long as nothing changes: keep it off the shared pool.
        agent: watch ? false : https ? this.httpsAgent : this.httpAgent,
        ...(watch && https ? this.tls : {}),
      }, (res: IncomingMessage) => {
        etcdIndex = Number(res.headers['x-etcd-index'] ?? 0);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => done(() => reject(new TransportError(err.message))));
        res.on('close', () => {
          if (!res.complete) done(() => reject(new TransportError('connection closed before the answer was complete')));
        });
        res.on('end', () => done(() => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (text.trim() === '' && status >= 200 && status < 300) {
            resolve({ body: null, etcdIndex });
            return;
          }
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            if (status === 404) {
              reject(new V2NotServedError(
                `etcd at ${base.origin} does not serve the v2 API (${op} of ${key}: ${text.trim().slice(0, 80)}); ` +
                'conftool pools in v2 need etcd 3.4 or 3.5 started with --enable-v2 (3.6 removed v2), or drop --conftool-v2',
                { endpoint: base.origin, op, key }));
            } else if (status >= 500) {
              reject(new TransportError(`HTTP ${status}: ${text.slice(0, 200)}`));
            } else {
              reject(new StoreError(`etcd v2 ${op} of ${key} at ${base.origin}: unparsable answer (HTTP ${status}): ${text.slice(0, 200)}`,
                { endpoint: base.origin, op, key, status }));
            }
            return;
          }
          if (status >= 200 && status < 300) {
            resolve({ body: parsed, etcdIndex });
          } else if (typeof (parsed as V2ErrorBody).errorCode === 'number') {
            reject(v2ErrorFrom(parsed as V2ErrorBody, op, key, base.origin, this.user));
          } else if (status >= 500) {
            reject(new TransportError(`HTTP ${status}: ${text.slice(0, 200)}`));
          } else {
            reject(new StoreError(`etcd v2 ${op} of ${key} at ${base.origin} failed: HTTP ${status}: ${text.slice(0, 200)}`,
              { endpoint: base.origin, op, key, status }));
          }
        }));
      });
      const onAbort = () => {
        done(() => reject(new V2WatchStoppedError(`watch of ${key} stopped`, { key })));
        req.destroy();
      };
      if (watch) {
        if (watch.signal?.aborted) {
          onAbort();
          return;
        }
        watch.signal?.addEventListener('abort', onAbort, { once: true });
        // etcd holds a quiet watch open indefinitely: end it ourselves so the caller can move its
        // waitIndex up to X-Etcd-Index and never fall behind the 1000-event history on a busy etcd.
        timer = setTimeout(() => {
          done(() => resolve({ body: null, etcdIndex }));
          req.destroy();
        }, watch.maxWaitMs);
      } else {
        req.setTimeout(this.timeoutMs, () => req.destroy(new TransportError(`no answer within ${this.timeoutMs} ms`)));
      }
      req.on('error', (err) => done(() => reject(err instanceof TransportError ? err : new TransportError(err.message))));
      req.end(payload);
    });
  }

  /** Tries each endpoint in turn on transport failures; etcd's own refusals are thrown at once. */
  private async call(method: string, key: string, query: Record<string, string>, form: Record<string, string> | undefined,
    op: string, watch?: { maxWaitMs: number; signal?: AbortSignal }): Promise<{ body: unknown; etcdIndex: number }> {
    const failures: string[] = [];
    for (let i = 0; i < this.endpoints.length; i++) {
      const idx = (this.current + i) % this.endpoints.length;
      const base = this.endpoints[idx];
      try {
        const out = await this.send(base, method, key, query, form, op, watch);
        this.current = idx;
        return out;
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        failures.push(`${base.origin}: ${err.message}`);
      }
    }
    throw new StoreUnavailableError(`cannot reach etcd's v2 API (${failures.join('; ')}); check --etcd or POOLD_ETCD`,
      { endpoints: this.endpoints.map((e) => e.origin), op, key });
  }

  private async answer(method: string, key: string, query: Record<string, string>, form: Record<string, string> | undefined, op: string): Promise<V2Response> {
    const r = await this.call(method, key, query, form, op);
    return { ...(r.body as Omit<V2Response, 'etcdIndex'>), etcdIndex: r.etcdIndex };
  }

  /** A node (a directory with its children when recursive). `quorum` reads through the leader (no stale read). */
  get(key: string, opts: { recursive?: boolean; quorum?: boolean } = {}): Promise<V2Response> {
    const q: Record<string, string> = {};
    if (opts.recursive) q.recursive = 'true';
    if (opts.quorum) q.quorum = 'true';
    return this.answer('GET', key, q, undefined, 'read');
  }

  /** A leaf with its modifiedIndex, or undefined when absent. A directory at `key` is a V2NotAFileError. */
  async getLeaf(key: string, opts: { quorum?: boolean } = {}): Promise<V2Leaf | undefined> {
    let r: V2Response;
    try {
      r = await this.get(key, opts);
    } catch (err) {
      if (err instanceof V2KeyNotFoundError) return undefined;
      throw err;
    }
    if (r.node.dir) {
      throw new V2NotAFileError(`etcd v2 key ${key} is a directory, not a value`, 102, r.etcdIndex, { key });
    }
    return { key: r.node.key, value: r.node.value ?? '', modifiedIndex: r.node.modifiedIndex, createdIndex: r.node.createdIndex };
  }

  /** Every leaf and directory below `dir` (recursive), at one store index. A missing `dir` lists empty. */
  async list(dir: string, opts: { quorum?: boolean } = {}): Promise<V2Listing> {
    let r: V2Response;
    try {
      r = await this.get(dir, { recursive: true, quorum: opts.quorum });
    } catch (err) {
      if (err instanceof V2KeyNotFoundError) return { leaves: [], dirs: [], etcdIndex: err.index, exists: false };
      throw err;
    }
    if (!r.node.dir) throw new V2NotADirError(`etcd v2 key ${dir} is a value, not a directory`, 104, r.etcdIndex, { key: dir });
    const out: V2Leaf[] = [];
    const dirs: string[] = [];
    leaves(r.node, out, dirs);
    return { leaves: out, dirs, etcdIndex: r.etcdIndex, exists: true };
  }

  /** Sets a leaf; parent directories are created by etcd. Conditions make it CAS or create-only. */
  set(key: string, value: string, cond: V2Condition = {}): Promise<V2Response> {
    const q: Record<string, string> = {};
    if (cond.prevIndex !== undefined) q.prevIndex = String(cond.prevIndex);
    if (cond.prevExist !== undefined) q.prevExist = String(cond.prevExist);
    return this.answer('PUT', key, q, { value }, 'write');
  }

  /** Creates directory `key` (and its parents). 'exists' when it already was a directory; V2NotADirError if it is a value. */
  async mkdir(key: string): Promise<'created' | 'exists'> {
    try {
      await this.answer('PUT', key, { dir: 'true', prevExist: 'false' }, undefined, 'mkdir');
      return 'created';
    } catch (err) {
      if (!(err instanceof V2NodeExistsError)) throw err;
    }
    const r = await this.get(key);
    if (!r.node.dir) throw new V2NotADirError(`etcd v2 key ${key} is a value where a directory is needed`, 104, r.etcdIndex, { key });
    return 'exists';
  }

  /** Deletes a leaf; with prevIndex only if unchanged since read (compareAndDelete). */
  delete(key: string, cond: { prevIndex?: number } = {}): Promise<V2Response> {
    const q: Record<string, string> = {};
    if (cond.prevIndex !== undefined) q.prevIndex = String(cond.prevIndex);
    return this.answer('DELETE', key, q, undefined, 'delete');
  }

  /**
   * Waits for the first change at or after `waitIndex` at `key` (below it, when recursive). Ends
   * after `maxWaitMs` without one (event null). Throws V2IndexClearedError when waitIndex is
   * older than etcd's event history; V2WatchStoppedError when `signal` aborts it.
   */
  async wait(key: string, opts: { waitIndex: number; recursive?: boolean; maxWaitMs?: number; signal?: AbortSignal }): Promise<V2WatchResult> {
    const q: Record<string, string> = { wait: 'true', waitIndex: String(opts.waitIndex) };
    if (opts.recursive) q.recursive = 'true';
    const r = await this.call('GET', key, q, undefined, 'watch', { maxWaitMs: opts.maxWaitMs ?? 60_000, signal: opts.signal });
    if (r.body === null) return { event: null, etcdIndex: r.etcdIndex };
    return { event: { ...(r.body as Omit<V2Response, 'etcdIndex'>), etcdIndex: r.etcdIndex }, etcdIndex: r.etcdIndex };
  }

  async close(): Promise<void> {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** The v2 directory of a v3-style prefix: `/conftool/v1/pools/` → `/conftool/v1/pools`. */
export function v2Dir(prefix: string): string {
  return prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

/** Leaves of a listing flattened to a map key → leaf. */
export function leafMap(l: V2Listing): Map<string, V2Leaf> {
  return new Map(l.leaves.map((x) => [x.key, x]));
}
