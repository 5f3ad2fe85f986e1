// The small key-value interface all store logic is written against. Two adapters implement it:
// kv-gateway.ts (etcd's JSON gateway over node:http, cheap to load: the CLI path) and
// kv-etcd3.ts (the etcd3 gRPC library: the daemon). Revisions are numbers (etcd's int64 stays far
// below 2^53 in practice); lease ids stay strings because etcd hands out full 64-bit ids.

export interface KvEntry {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  /** '0' when the key has no lease. */
  lease: string;
}

export interface RangeRequest {
  key: string;
  /** Every key that starts with `key`. */
  prefix?: boolean;
  /** Explicit exclusive range end (instead of prefix). */
  end?: string;
  limit?: number;
  /** Read at this revision (0 or absent: latest). */
  revision?: number;
  /** Key order; descend reads the newest audit ids first. */
  order?: 'ascend' | 'descend';
  /** Only keys last written within these revisions (inclusive; etcd filters server-side). */
  modRevision?: { min: number; max: number };
}

export interface RangeResult {
  kvs: KvEntry[];
  /** The store revision the read was served at. */
  revision: number;
  /** True when `limit` cut the result short. */
  more: boolean;
  count: number;
}

export type Compare =
  | { key: string; target: 'mod' | 'create' | 'version'; op: '==' | '!=' | '<' | '>'; value: number }
  | { key: string; target: 'value'; op: '==' | '!='; value: string };

export type TxnOp =
  | { type: 'put'; key: string; value: string; lease?: string }
  | { type: 'delete'; key: string; prefix?: boolean };

export interface TxnRequest {
  compare: Compare[];
  success: TxnOp[];
  failure?: TxnOp[];
}

export interface TxnResult {
  succeeded: boolean;
  /** The store revision after the transaction (all its writes share it). */
  revision: number;
}

export interface GetManyResult {
  entries: (KvEntry | undefined)[];
  /** The revision every entry was read at (0 when the adapter read key by key, at no one revision). */
  revision: number;
}

export interface Kv {
  /** The etcd user this client authenticates as, when any (for audit actor fallback and errors). */
  readonly user: string | undefined;
  range(req: RangeRequest): Promise<RangeResult>;
  get(key: string): Promise<KvEntry | undefined>;
  /**
   * Optional: these keys (in this order; undefined where absent) at one revision, in as few requests as
   * etcd's limits allow. store/get-many.ts falls back to one get per key for an adapter without it.
   */
  getMany?(keys: readonly string[]): Promise<GetManyResult>;
  txn(req: TxnRequest): Promise<TxnResult>;
  close(): Promise<void>;
}

/** What etcd's Maintenance Status and Alarm calls say about its space (of the member answering). */
export interface EtcdStatus {
  /** The backend database's physically allocated size, in bytes (what --quota-backend-bytes caps). */
  dbSize: number;
  /** Bytes logically in use (etcd 3.4+; undefined from an older etcd): dbSize minus free pages a defrag would return. */
  dbSizeInUse: number | undefined;
  /** Active alarms of the cluster, by type ('NOSPACE', 'CORRUPT'), one entry per member and type. */
  alarms: string[];
}

/**
 * etcd's maintenance calls the leader uses to keep etcd's history bounded (daemon/etcd-compaction.ts)
 * and every instance uses to report its space (daemon/etcd-space.ts). Apart from Kv so that the
 * small test Kvs need not grow; both adapters implement it.
 */
export interface KvMaintenance {
  /**
   * Discards every revision older than `revision` (etcd's Compact, not physical: etcd frees the
   * space in the background). A revision already compacted rejects with CompactedError.
   */
  compact(revision: number): Promise<void>;
  status(): Promise<EtcdStatus>;
}

/** The exclusive end of the range of keys starting with `prefix` (etcd's "prefix end"). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff (or empty): the range runs to the end of the keyspace.
  return Buffer.from([0]);
}

/** Keys touched by a transaction, for error messages. */
export function txnKeys(req: TxnRequest): string[] {
  const keys = new Set<string>();
  for (const c of req.compare) keys.add(c.key);
  for (const op of [...req.success, ...(req.failure ?? [])]) keys.add(op.key);
  return [...keys];
}
