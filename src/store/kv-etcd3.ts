// Kv on the etcd3 gRPC library, for the long-running daemon (it also needs watches, leases and
// elections, which live in their own files and share this client). Load it with a dynamic
// import (openKv in connection.ts does): the library alone costs ~190 ms of start-up.
import { readFileSync } from 'node:fs';
import { Etcd3, GRPCUnavailableError, type IKeyValue, type ICompare, type IRequestOp, type IOptions } from 'etcd3';
import { StoreError } from '../model/errors.js';
import { StoreUnavailableError } from './errors.js';
import { alarmName, compactFailure } from './compact-failure.js';
import { prefixEnd, txnKeys, type Compare, type EtcdStatus, type Kv, type KvEntry, type KvMaintenance, type RangeRequest, type RangeResult, type TxnOp, type TxnRequest, type TxnResult } from './kv.js';
import { mapEtcdError, type ErrorScope } from './kv-errors.js';
import { checkTxnLimits } from './limits.js';
import { allowTlsToIpEndpoints } from './tls-ip-servername.js';
import { DEFAULT_TIMEOUT_MS, type EtcdOptions } from './options.js';

const TARGETS = { mod: 'Mod', create: 'Create', version: 'Version', value: 'Value' } as const;
const RESULTS = { '==': 'Equal', '!=': 'NotEqual', '<': 'Less', '>': 'Greater' } as const;

export function entryFromEtcd3(kv: IKeyValue): KvEntry {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value.toString('utf8'),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: String(kv.lease ?? '0'),
  };
}

function compare(c: Compare): ICompare {
  const base: ICompare = { key: Buffer.from(c.key), target: TARGETS[c.target], result: RESULTS[c.op] };
  switch (c.target) {
    case 'mod': return { ...base, mod_revision: c.value };
    case 'create': return { ...base, create_revision: c.value };
    case 'version': return { ...base, version: c.value };
    case 'value': return { ...base, value: Buffer.from(c.value) };
  }
}

function op(o: TxnOp): IRequestOp {
  if (o.type === 'put') {
    return { request_put: { key: Buffer.from(o.key), value: Buffer.from(o.value), ...(o.lease ? { lease: o.lease } : {}) } };
  }
  const key = Buffer.from(o.key);
  return { request_delete_range: { key, ...(o.prefix ? { range_end: prefixEnd(key) } : {}) } };
}

export function etcd3Options(o: EtcdOptions): IOptions {
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new StoreError(`cannot read etcd TLS ${what} file ${path}: ${(err as Error).message}`, { path }, { cause: err });
    }
  };
  const opts: IOptions = {
    hosts: o.endpoints,
    dialTimeout: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    // etcd batches the events of several revisions into one watch response, with no size cap of its
    // own; grpc-js refuses a message over 4 MiB by default, and the watch then fails and restarts at
    // the same revision forever (seen at eqiad's size: 44 published states of 240 hosts after one
    // kubesvc depool, and every mirror "lost etcd" every ~130 ms). etcd's Go client receives up to
    // 2 GiB by default; so do we (-1: no limit).
    grpcOptions: { 'grpc.max_receive_message_length': -1 },
  };
  if (o.ca !== undefined || o.endpoints.some((e) => e.startsWith('https:'))) allowTlsToIpEndpoints();
  if (o.ca !== undefined) {
    opts.credentials = {
      rootCertificate: read('CA', o.ca),
      ...(o.cert !== undefined ? { certChain: read('certificate', o.cert) } : {}),
      ...(o.key !== undefined ? { privateKey: read('key', o.key) } : {}),
    };
  }
  if (o.user !== undefined) opts.auth = { username: o.user, password: o.password ?? '' };
  return opts;
}

export class Etcd3Kv implements Kv, KvMaintenance {
  readonly user: string | undefined;
  /** The shared library client, for watch.ts, lease.ts and election.ts. */
  readonly client: Etcd3;

  /**
   * `ownConnection`: never share a TCP connection with another client (grpc-js pools connections
   * to the same endpoint process-wide by default), so that dropping this client really drops its
   * connection: the daemon's watches use one, re-opened when a watch stops advancing.
   */
  constructor(readonly options: EtcdOptions, conn: { ownConnection?: boolean } = {}) {
    this.user = options.user;
    const opts = etcd3Options(options);
    if (conn.ownConnection === true) opts.grpcOptions = { ...opts.grpcOptions, 'grpc.use_local_subchannel_pool': 1 };
    this.client = new Etcd3(opts);
  }

  private fail(err: unknown, scope: Omit<ErrorScope, 'endpoint' | 'user'>): StoreError {
    const endpoint = this.options.endpoints.join(',');
    // etcd3 stops calling an endpoint for a while after failures (its circuit breaker, cockatiel's
    // BrokenCircuitError): that too is an etcd it cannot reach, not a refusal by etcd.
    if (err instanceof GRPCUnavailableError || /no connection available|ECONNREFUSED|connect|circuit breaker is open/i.test((err as Error).message ?? '')) {
      return new StoreUnavailableError(`cannot reach etcd at ${endpoint}: ${(err as Error).message}; check --etcd or POOLD_ETCD`,
        { endpoints: this.options.endpoints, op: scope.op, keys: scope.keys }, { cause: err });
    }
    return mapEtcdError((err as Error).message ?? String(err), { ...scope, user: this.user, endpoint }, err);
  }

  async range(req: RangeRequest): Promise<RangeResult> {
    const key = Buffer.from(req.key);
    try {
      const res = await this.client.kv.range({
        key,
        ...(req.prefix ? { range_end: prefixEnd(key) } : req.end !== undefined ? { range_end: Buffer.from(req.end) } : {}),
        ...(req.limit ? { limit: req.limit } : {}),
        ...(req.revision ? { revision: req.revision } : {}),
        ...(req.modRevision ? { min_mod_revision: req.modRevision.min, max_mod_revision: req.modRevision.max } : {}),
        ...(req.order === 'descend' ? { sort_order: 'Descend' as const, sort_target: 'Key' as const } : {}),
      });
      return { kvs: res.kvs.map(entryFromEtcd3), revision: Number(res.header.revision), more: res.more, count: Number(res.count) };
    } catch (err) {
      throw this.fail(err, { op: 'read', keys: [req.key], revision: req.revision });
    }
  }

  async get(key: string): Promise<KvEntry | undefined> {
    return (await this.range({ key })).kvs[0];
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    checkTxnLimits(req);
    try {
      const res = await this.client.kv.txn({
        compare: req.compare.map(compare),
        success: req.success.map(op),
        failure: (req.failure ?? []).map(op),
      });
      return { succeeded: res.succeeded, revision: Number(res.header.revision) };
    } catch (err) {
      throw this.fail(err, { op: 'write', keys: txnKeys(req) });
    }
  }

  async compact(revision: number): Promise<void> {
    try {
      await this.client.kv.compact({ revision, physical: false });
    } catch (err) {
      throw compactFailure(revision, this.fail(err, { op: 'compact', keys: ['the keyspace history'], revision }));
    }
  }

  async status(): Promise<EtcdStatus> {
    try {
      const [st, al] = await Promise.all([this.client.maintenance.status(), this.client.maintenance.alarm({ action: 'Get', alarm: 'None' })]);
      // dbSizeInUse is absent (protobuf default 0) from etcd < 3.4; a real database is never 0 bytes in use.
      const inUse = Number(st.dbSizeInUse ?? 0);
      return { dbSize: Number(st.dbSize), dbSizeInUse: inUse > 0 ? inUse : undefined, alarms: (al.alarms ?? []).map((a) => alarmName(a.alarm)) };
    } catch (err) {
      throw this.fail(err, { op: 'read status of', keys: ['etcd'] });
    }
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

