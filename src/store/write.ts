// Compare-and-swap writes (DESIGN §3). Every write reads the keys, merges only the fields it
// changes into the stored JSON (so fields other tools wrote survive), and commits all keys plus
// one audit record per changed key in ONE transaction guarded by each key's mod revision.
// When another writer got there first the guard fails; we re-read and re-apply the same patch,
// which re-applies only our fields on top of theirs, so no concurrent update is lost.
import { NotFoundError, UsageError } from '../model/errors.js';
import { ConflictError } from './errors.js';
import { auditOps, auditValue, type AuditContext } from './audit.js';
import {
  changedFields, mergeConftoolValue, parseStoredObject, serializeConftoolValue, validateConftoolValue,
  CONFTOOL_DEFAULTS, type ConftoolPatch,
} from './conftool-value.js';
import type { Compare, Kv, KvEntry, TxnOp } from './kv.js';
import type { Keys } from './keys.js';

export interface WriteOptions extends AuditContext {
  keys: Keys;
  /** Attempts before giving up with ConflictError (default 64). */
  maxAttempts?: number;
  /** Clock for audit times (default Date.now). */
  now?: () => number;
}

export interface HostChange {
  key: string;
  patch: ConftoolPatch;
}

export interface HostWriteResult {
  key: string;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  /** False when the key already had the patched values (nothing written, no audit record). */
  changed: boolean;
}

export interface UpdateResult {
  /** Revision of the write (or of the read, when nothing changed). */
  revision: number;
  /** How many transactions were tried (1 without contention). */
  attempts: number;
  results: HostWriteResult[];
}

/** Exponential backoff with full jitter, capped, so colliding writers spread out. */
function backoff(attempt: number): Promise<void> {
  const cap = Math.min(100, 2 ** attempt);
  return new Promise((r) => setTimeout(r, Math.random() * cap));
}

async function readAll(kv: Kv, keys: string[]): Promise<Map<string, KvEntry | undefined>> {
  const entries = await Promise.all(keys.map((k) => kv.get(k)));
  return new Map(keys.map((k, i) => [k, entries[i]]));
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
 * Applies conftool patches (pooled/weight) to existing host keys atomically, with audit records.
 * Throws NotFoundError for a key that does not exist, InvalidStoredValueError when a stored value
 * is unusable even after the patch, ConflictError after maxAttempts lost races.
 */
export async function updateHosts(kv: Kv, changes: HostChange[], opts: WriteOptions): Promise<UpdateResult> {
  const keyList = changes.map((c) => c.key);
  if (new Set(keyList).size !== keyList.length) throw new UsageError('updateHosts: a key appears twice in one write', { keys: keyList });
  for (const c of changes) validatePatch(c.key, c.patch);
  const maxAttempts = opts.maxAttempts ?? 64;
  const now = opts.now ?? Date.now;

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = await readAll(kv, keyList);
    const compare: Compare[] = [];
    const puts: TxnOp[] = [];
    const audited: { key: string; before: unknown; after: unknown }[] = [];
    const results: HostWriteResult[] = [];
    let readRevision = 0;
    for (const c of changes) {
      const e = current.get(c.key);
      if (e === undefined) {
        throw new NotFoundError(`no such host key ${c.key}; add the host to pools/ and run poolctl sync`, { key: c.key });
      }
      const before = parseStoredObject(c.key, e.value);
      const patch = changedFields(before, c.patch);
      const after = validateConftoolValue(c.key, mergeConftoolValue(before, patch));
      const changed = Object.keys(patch).length > 0;
      results.push({ key: c.key, before, after, changed });
      readRevision = Math.max(readRevision, e.modRevision);
      if (!changed) continue;
      compare.push({ key: c.key, target: 'mod', op: '==', value: e.modRevision });
      puts.push({ type: 'put', key: c.key, value: serializeConftoolValue(after) });
      audited.push({ key: c.key, before, after });
    }
    if (puts.length === 0) return { revision: readRevision, attempts: attempt, results };
    const r = await kv.txn({ compare, success: [...puts, ...auditOps(opts.keys, opts, now(), audited)] });
    if (r.succeeded) return { revision: r.revision, attempts: attempt, results };
    await backoff(attempt);
  }
  throw new ConflictError(`gave up writing ${keyList.join(', ')} after ${maxAttempts} conflicting concurrent updates; retry`,
    { keys: keyList, attempts: maxAttempts });
}

// ---- generic multi-key atomic writes (poolctl sync: one transaction per service) ----

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
  /** Per op, the values before and after (null: absent), as in the audit records. */
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
 * Writes every op and one audit record per op in a single transaction. The caller's guards
 * (create-if-absent, ifModRevision) are hard: if one no longer holds, ConflictError names the
 * keys, and the caller re-reads and re-plans. Unguarded ops are guarded internally by the
 * revision they were read at, only so the audit's "before" is exact; losing that race retries.
 */
export async function writeAtomic(kv: Kv, ops: AtomicOp[], opts: WriteOptions): Promise<AtomicResult> {
  const keyList = ops.map((o) => o.key);
  if (new Set(keyList).size !== keyList.length) throw new UsageError('writeAtomic: a key appears twice in one write', { keys: keyList });
  const maxAttempts = opts.maxAttempts ?? 64;
  const now = opts.now ?? Date.now;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = await readAll(kv, keyList);
    const stale = ops.filter((o) => !guardHolds(o, current.get(o.key))).map((o) => o.key);
    if (stale.length > 0) {
      throw new ConflictError(`changed since planned: ${stale.join(', ')}; re-read and plan again`, { keys: stale });
    }
    const compare: Compare[] = [];
    const success: TxnOp[] = [];
    const changes: AtomicResult['changes'] = [];
    for (const o of ops) {
      const e = current.get(o.key);
      compare.push(guard(o) ?? { key: o.key, target: 'mod', op: '==', value: e?.modRevision ?? 0 });
      if (o.type === 'delete') {
        success.push({ type: 'delete', key: o.key });
        changes.push({ key: o.key, before: auditValue(e?.value), after: null });
      } else {
        success.push({ type: 'put', key: o.key, value: o.value });
        changes.push({ key: o.key, before: auditValue(e?.value), after: auditValue(o.value) });
      }
    }
    if (ops.length === 0) return { revision: 0, attempts: attempt, changes };
    const r = await kv.txn({ compare, success: [...success, ...auditOps(opts.keys, opts, now(), changes)] });
    if (r.succeeded) return { revision: r.revision, attempts: attempt, changes };
    await backoff(attempt);
  }
  throw new ConflictError(`gave up writing ${keyList.join(', ')} after ${maxAttempts} conflicting concurrent updates; retry`,
    { keys: keyList, attempts: maxAttempts });
}
