// The audit log: one record per changed key, written in the same etcd transaction as the change
// (so a change without its record, or a record without its change, cannot exist).
// Record ids start with the ISO time, so key order is time order and "the latest N" is one
// descending range with a limit. (Writers' clocks order records; ties go by etcd revision.)
// Every record names its operation (`op`): one poolctl command, or one sync, may take several
// transactions (etcd caps their size, see limits.ts); its records share one operation id, so
// `poolctl audit --op ID` shows everything one command changed.
import { randomBytes } from 'node:crypto';
import { InvalidStoredValueError } from '../model/errors.js';
import type { Kv, TxnOp } from './kv.js';
import type { Keys } from './keys.js';
import { TXN_MAX_OPS } from './limits.js';

export interface AuditRecord {
  /** Who: SUDO_USER, else USER, else the etcd user (see resolveActor). */
  actor: string;
  /** Why: the operator's --reason ('' when none was given). */
  reason: string;
  /** What: the etcd key that changed... */
  key: string;
  /** ...its value before (parsed JSON, or the raw string if it was not JSON; null when absent)... */
  before: unknown;
  /** ...and after (null when deleted). */
  after: unknown;
  /** When: ISO 8601 UTC. */
  time: string;
  /** Which operation (one poolctl command or sync; '' in records written before operation ids existed). */
  op: string;
}

export interface StoredAuditRecord extends AuditRecord {
  id: string;
  /** The etcd revision of the change (the record and the change share it). */
  revision: number;
}

export interface AuditContext {
  actor: string;
  reason: string;
  /** Shared by every record of one operation, across its transactions (newOperationId; one is made when absent). */
  operationId?: string;
}

/** A new operation id: the UTC time to the second, then 8 random hex digits (20261206T112500Z-3f9a1c2b). */
export function newOperationId(now: number = Date.now()): string {
  return `${new Date(now).toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(4).toString('hex')}`;
}

/** The person behind a write: the sudo caller, the login user, the etcd user, or 'unknown'. */
export function resolveActor(env: Record<string, string | undefined>, etcdUser?: string): string {
  for (const v of [env.SUDO_USER, env.USER, etcdUser]) {
    if (v !== undefined && v !== '') return v;
  }
  return 'unknown';
}

/** Parsed JSON when the value is JSON, else the raw string; null for an absent value. */
export function auditValue(raw: string | undefined): unknown {
  if (raw === undefined) return null;
  try {
    return JSON.parse(raw);
  } catch {
    // Not JSON (a garbage value being overwritten): keep it verbatim so the record shows it.
    return raw;
  }
}

/** Ids for the records of one transaction: same time and batch, then the record's index. */
export function auditIds(now: number, count: number): string[] {
  const batch = randomBytes(4).toString('hex');
  const time = new Date(now).toISOString();
  return Array.from({ length: count }, (_, i) => `${time}-${batch}-${String(i).padStart(4, '0')}`);
}

/** The put operations recording `changes`, to add to the transaction that makes them. */
export function auditOps(keys: Keys, ctx: AuditContext, now: number,
  changes: { key: string; before: unknown; after: unknown }[]): TxnOp[] {
  const ids = auditIds(now, changes.length);
  const op = ctx.operationId ?? newOperationId(now);
  return changes.map((c, i) => auditOp(keys, { ...ctx, operationId: op }, now, c, ids[i]));
}

/** One record's put (auditOps for a whole transaction; this alone to size a record before packing). */
export function auditOp(keys: Keys, ctx: AuditContext, now: number,
  c: { key: string; before: unknown; after: unknown }, id: string): TxnOp {
  const rec: AuditRecord = {
    actor: ctx.actor, reason: ctx.reason, key: c.key, before: c.before, after: c.after,
    time: new Date(now).toISOString(), op: ctx.operationId ?? '',
  };
  return { type: 'put', key: keys.audit(id), value: JSON.stringify(rec) };
}

export interface ListAuditOptions {
  /** At most this many records, newest first. */
  limit: number;
  /** Only records at or after this time (epoch ms). */
  since?: number;
  /** Only records whose key starts with this. */
  keyPrefix?: string;
  actor?: string;
  /** Only records of this operation. */
  operationId?: string;
}

/** Parses one stored record (InvalidStoredValueError when it is not one). */
export function parseAuditRecord(key: string, id: string, raw: string, revision: number): StoredAuditRecord {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new InvalidStoredValueError(`invalid audit record at ${key}: not JSON (${(err as Error).message})`, { key }, { cause: err });
  }
  const r = v as Partial<AuditRecord> | null;
  if (r === null || typeof r !== 'object' || typeof r.actor !== 'string' || typeof r.key !== 'string' || typeof r.time !== 'string') {
    throw new InvalidStoredValueError(`invalid audit record at ${key}: expected {actor, reason, key, before, after, time}`, { key });
  }
  return {
    id, revision, actor: r.actor, reason: r.reason ?? '', key: r.key, before: r.before ?? null, after: r.after ?? null, time: r.time,
    op: typeof r.op === 'string' ? r.op : '',
  };
}

/** The newest matching records, newest first, paging backwards through the log as filters need. */
export async function listAudit(kv: Kv, keys: Keys, opts: ListAuditOptions): Promise<StoredAuditRecord[]> {
  const prefix = keys.auditPrefix();
  const low = opts.since === undefined ? prefix : prefix + new Date(opts.since).toISOString();
  // Just past the last possible id: '/' + 1 = '0'.
  let high = prefix.slice(0, -1) + '0';
  const filtered = opts.keyPrefix !== undefined || opts.actor !== undefined || opts.operationId !== undefined;
  const page = filtered ? Math.max(opts.limit * 4, 200) : opts.limit;
  const out: StoredAuditRecord[] = [];
  while (out.length < opts.limit) {
    const r = await kv.range({ key: low, end: high, order: 'descend', limit: page });
    for (const e of r.kvs) {
      const id = keys.parseAudit(e.key);
      if (id === undefined) continue; // a deeper key under the audit prefix is not a record of ours
      const rec = parseAuditRecord(e.key, id, e.value, e.modRevision);
      if (opts.keyPrefix !== undefined && !rec.key.startsWith(opts.keyPrefix)) continue;
      if (opts.actor !== undefined && rec.actor !== opts.actor) continue;
      if (opts.operationId !== undefined && rec.op !== opts.operationId) continue;
      out.push(rec);
      if (out.length === opts.limit) break;
    }
    if (!r.more || r.kvs.length === 0) break;
    high = r.kvs[r.kvs.length - 1].key;
  }
  // Ids order by time to the millisecond; within one millisecond the etcd revision decides.
  return out.sort((a, b) => (a.time === b.time ? b.revision - a.revision : a.time < b.time ? 1 : -1));
}

/**
 * Deletes audit records older than `cutoff` (epoch ms), oldest first, in transactions of at most
 * `batch` deletes (etcd caps operations per transaction at 128, limits.ts; deletes carry only their
 * ~70-byte keys, so 100 of them are ~13 KB, far under the byte limit). Record ids start with their
 * ISO time, so "older than" is one key range. Returns how many were deleted.
 */
export async function pruneAudit(kv: Kv, keys: Keys, cutoff: number, batch = 100): Promise<number> {
  const prefix = keys.auditPrefix();
  const end = prefix + new Date(cutoff).toISOString();
  const limit = Math.min(batch, TXN_MAX_OPS);
  let deleted = 0;
  for (;;) {
    const r = await kv.range({ key: prefix, end, limit });
    if (r.kvs.length === 0) return deleted;
    await kv.txn({ compare: [], success: r.kvs.map((e) => ({ type: 'delete' as const, key: e.key })) });
    deleted += r.kvs.length;
    if (!r.more) return deleted;
  }
}
