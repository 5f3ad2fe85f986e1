// Compare-and-swap writes (ARCHITECTURE.md §3). Every write reads the keys, merges only the fields it
// changes into the stored JSON (so fields other tools wrote survive), and commits the keys plus one
// audit record per changed key, guarded by each key's mod revision. When another writer got there
// first the guard fails; we re-read and re-apply the same patch, which re-applies only our fields on
// top of theirs, so no concurrent update is lost. A change too big for one etcd transaction is
// written in bounded chunks (chunked-write.ts, limits.ts): each chunk is atomic and audited, all
// records share one operation id, and a failure after a chunk committed is a PartialWriteError.
import { compactList } from '../model/compact-list.js';
import { NotFoundError, UsageError } from '../model/errors.js';
import { ConflictError } from './errors.js';
import { auditValue, type AuditContext } from './audit.js';
import { readKeys, writeChunked, type KeyPlan } from './chunked-write.js';
import {
  changedFields, mergeConftoolValue, parseStoredObject, serializeConftoolValue, validateConftoolValue,
  CONFTOOL_DEFAULTS, type ConftoolPatch,
} from './conftool-value.js';
import type { Compare, Kv, KvEntry, TxnOp } from './kv.js';
import type { Keys } from './keys.js';

export interface WriteOptions extends AuditContext {
  keys: Keys;
  /** Attempts per chunk before giving up with ConflictError (default 64). */
  maxAttempts?: number;
  /** Clock for audit times (default Date.now). */
  now?: () => number;
  /** Pack chunks to at most this many ops / bytes (tests; never above etcd's limits, limits.ts). */
  maxOps?: number;
  maxBytes?: number;
}

export interface HostChange {
  key: string;
  patch: ConftoolPatch;
  /** Ops written in the same transaction as this key's value (a force marker, force-marker.ts). */
  extra?: TxnOp[];
  /** Write (and audit) the value even when the patch changes nothing, so `extra` gets a write to belong to. */
  rewrite?: boolean;
}

export interface HostWriteResult {
  key: string;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  /** False when the key already had the patched values (nothing written, no audit record). */
  changed: boolean;
}

export interface UpdateResult {
  /** Revision of the (last) write, or of the read when nothing changed. */
  revision: number;
  /** Most transactions any one chunk needed (1 without contention). */
  attempts: number;
  /** Transactions committed (one per chunk that changed something). */
  chunks: number;
  /** On every audit record of this write. */
  operationId: string;
  results: HostWriteResult[];
}

/** Refuses a patch that could never make a valid conftool value (UsageError), before anything is written. */
export function validatePatch(key: string, patch: ConftoolPatch): void {
  try {
    validateConftoolValue(key, { ...CONFTOOL_DEFAULTS, ...patch });
  } catch (err) {
    throw new UsageError(`bad change for ${key}: ${(err as Error).message.replace(/^invalid value at [^:]+: /, '')}`, { key, patch }, { cause: err });
  }
}

/**
 * Applies conftool patches (pooled/weight) to existing host keys, with audit records, in as few
 * transactions as etcd's limits allow (64 changed hosts each). Throws, with nothing written,
 * NotFoundError for a key that does not exist and InvalidStoredValueError when a stored value is
 * unusable even after the patch; ConflictError after maxAttempts lost races; PartialWriteError when
 * a later chunk fails after earlier ones committed.
 */
export async function updateHosts(kv: Kv, changes: HostChange[], opts: WriteOptions): Promise<UpdateResult> {
  const keyList = changes.map((c) => c.key);
  if (new Set(keyList).size !== keyList.length) throw new UsageError('updateHosts: a key appears twice in one write', { keys: keyList });
  for (const c of changes) validatePatch(c.key, c.patch);
  const patches = new Map(changes.map((c) => [c.key, c.patch]));
  const byKey = new Map(changes.map((c) => [c.key, c]));
  const entries = await readKeys(kv, keyList);
  const missing = keyList.filter((k) => entries.get(k) === undefined);
  if (missing.length > 0) {
    throw new NotFoundError(`no such host key ${compactList(missing)}; add the host to pools/ and run poolctl sync`, { keys: missing });
  }
  const plan = (key: string, e: KvEntry | undefined): KeyPlan<HostWriteResult> => {
    if (e === undefined) throw new NotFoundError(`host key ${key} was deleted while being written; run poolctl sync`, { key });
    const before = parseStoredObject(key, e.value);
    const patch = changedFields(before, patches.get(key) ?? {});
    const after = validateConftoolValue(key, mergeConftoolValue(before, patch));
    const change = byKey.get(key);
    const changed = Object.keys(patch).length > 0 || change?.rewrite === true;
    const result = { key, before, after, changed };
    if (!changed) return { write: null, result };
    return {
      write: {
        compare: { key, target: 'mod', op: '==', value: e.modRevision },
        op: { type: 'put', key, value: serializeConftoolValue(after) },
        audit: { key, before, after },
        ...(change?.extra !== undefined ? { extra: change.extra } : {}),
      },
      result,
    };
  };
  const r = await writeChunked(kv, keyList, plan, opts, entries);
  return { revision: r.revision, attempts: r.attempts, chunks: r.chunks, operationId: r.operationId, results: r.results };
}

// ---- generic multi-key writes (poolctl sync: one write per service, chunked when etcd needs it) ----

export type AtomicOp =
  /** Create only if absent (create_revision == 0). */
  | { type: 'create'; key: string; value: string }
  /** Put; with ifModRevision only if the key is still at that revision (0: still absent). */
  | { type: 'put'; key: string; value: string; ifModRevision?: number }
  /** Delete; with ifModRevision only if unchanged since it was read. */
  | { type: 'delete'; key: string; ifModRevision?: number };

export interface AtomicResult {
  revision: number;
  attempts: number;
  chunks: number;
  operationId: string;
  /** Per op that changed something, the values before and after (null: absent), as in the audit records. */
  changes: { key: string; before: unknown; after: unknown }[];
}

function guard(op: AtomicOp): Compare | undefined {
  if (op.type === 'create') return { key: op.key, target: 'create', op: '==', value: 0 };
  if (op.ifModRevision === undefined) return undefined;
  return { key: op.key, target: 'mod', op: '==', value: op.ifModRevision };
}

function guardHolds(op: AtomicOp, e: KvEntry | undefined): boolean {
  if (op.type === 'create') return e === undefined;
  if (op.ifModRevision === undefined) return true;
  return (e?.modRevision ?? 0) === op.ifModRevision;
}

/**
 * Writes every op with one audit record per op that changes something, in one transaction when
 * etcd's limits allow, else in bounded chunks in the caller's order. A put of the value already
 * stored, or a delete of an absent key, writes nothing. The caller's guards (create-if-absent,
 * ifModRevision) are hard: if one no longer holds, ConflictError names the keys (before anything
 * is written, or inside a PartialWriteError after), and the caller re-reads and re-plans. Unguarded
 * ops are guarded internally by the revision they were read at, only so the audit's "before" is
 * exact; losing that race retries.
 */
export async function writeAtomic(kv: Kv, ops: AtomicOp[], opts: WriteOptions): Promise<AtomicResult> {
  const keyList = ops.map((o) => o.key);
  if (new Set(keyList).size !== keyList.length) throw new UsageError('writeAtomic: a key appears twice in one write', { keys: keyList });
  const byKey = new Map(ops.map((o) => [o.key, o]));
  const entries = await readKeys(kv, keyList);
  const stale = ops.filter((o) => !guardHolds(o, entries.get(o.key))).map((o) => o.key);
  if (stale.length > 0) {
    throw new ConflictError(`changed since planned: ${compactList(stale)}; re-read and plan again`, { keys: stale });
  }
  type Change = AtomicResult['changes'][number] | null;
  const plan = (key: string, e: KvEntry | undefined): KeyPlan<Change> => {
    const o = byKey.get(key)!; // every planned key is one of ops
    if (!guardHolds(o, e)) throw new ConflictError(`changed since planned: ${key}; re-read and plan again`, { keys: [key] });
    const compare = guard(o) ?? { key, target: 'mod', op: '==', value: e?.modRevision ?? 0 };
    if (o.type === 'delete') {
      if (e === undefined) return { write: null, result: null };
      const audit = { key, before: auditValue(e.value), after: null };
      return { write: { compare, op: { type: 'delete', key }, audit }, result: audit };
    }
    if (e !== undefined && e.value === o.value) return { write: null, result: null };
    const audit = { key, before: auditValue(e?.value), after: auditValue(o.value) };
    return { write: { compare, op: { type: 'put', key, value: o.value }, audit }, result: audit };
  };
  const r = await writeChunked(kv, keyList, plan, opts, entries);
  return {
    revision: r.revision, attempts: r.attempts, chunks: r.chunks, operationId: r.operationId,
    changes: r.results.filter((c): c is NonNullable<Change> => c !== null),
  };
}
