// The engine under updateHosts and writeAtomic (write.ts): a change to any number of keys, written
// as a sequence of bounded compare-and-swap transactions (limits.ts), each holding its keys' puts or
// deletes AND their audit records, all records of the operation sharing one operation id.
//
// 1. Every key is read (range reads where keys are adjacent) and planned BEFORE anything is written,
//    so a missing key, a garbage value or a stale guard refuses the whole change with nothing written.
// 2. From the first key not yet committed, keys are packed into one transaction up to the limits,
//    each guarded by the mod revision it was planned from. Keys already holding what is wanted
//    (plan returns no write) cost nothing: that is what makes running a command again complete it.
// 3. When a guard fails (a concurrent writer), only that chunk's keys are read again and planned
//    again (the patch is re-applied on top of the other writer's value), after a jittered backoff.
// 4. Once a chunk has committed, a later failure is a PartialWriteError listing exactly the keys
//    committed and those not; before that the original error is thrown (nothing was written).
import { compactList } from '../model/compact-list.js';
import { auditOp, auditOps, newOperationId, type AuditContext } from './audit.js';
import { ConflictError, PartialWriteError } from './errors.js';
import type { Compare, Kv, KvEntry, TxnOp } from './kv.js';
import type { Keys } from './keys.js';
import { compareBytes, opBytes, packByCost, TXN_BUDGET_BYTES, TXN_MAX_OPS, type TxnCost } from './limits.js';

/** One key's write within its chunk's transaction. */
export interface KeyWrite {
  compare: Compare;
  op: TxnOp;
  audit: { key: string; before: unknown; after: unknown };
  /** Further ops that must land in the same transaction (a force marker, force-marker.ts). */
  extra?: TxnOp[];
}

/** A key's plan: what to write (null: it already holds what is wanted), and what to report. */
export interface KeyPlan<R> {
  write: KeyWrite | null;
  result: R;
}

export interface ChunkedOptions extends AuditContext {
  keys: Keys;
  /** Consecutive lost races on one chunk before giving up with ConflictError (default 64). */
  maxAttempts?: number;
  now?: () => number;
  /** Limits to pack to (tests use smaller ones; never above etcd's, limits.ts). */
  maxOps?: number;
  maxBytes?: number;
}

export interface ChunkedResult<R> {
  /** Revision of the last transaction (or of the read, when nothing needed writing). */
  revision: number;
  /** Most transactions any one chunk needed (1 without contention). */
  attempts: number;
  /** Transactions committed. */
  chunks: number;
  operationId: string;
  /** Per key, in the caller's order: the plan's result as committed. */
  results: R[];
}

/** Concurrent single-key reads when keys are not adjacent (bounded: etcd serves them all anyway). */
const READ_CONCURRENCY = 16;
/** Keys read per range when they are adjacent. */
const READ_GROUP = 64;

/**
 * Current entries of `keys` (undefined: absent). Sorted keys are read in groups by one range from
 * the group's first to its last key, which returns exactly them when they are neighbours (the hosts
 * of a pool, a selection); a group whose range holds many other keys falls back to single reads.
 */
export async function readKeys(kv: Kv, keys: readonly string[]): Promise<Map<string, KvEntry | undefined>> {
  const out = new Map<string, KvEntry | undefined>();
  const sorted = [...new Set(keys)].sort();
  const singles: string[] = [];
  const groups: string[][] = [];
  for (let i = 0; i < sorted.length; i += READ_GROUP) groups.push(sorted.slice(i, i + READ_GROUP));
  await Promise.all(groups.map(async (g) => {
    if (g.length === 1) {
      singles.push(g[0]);
      return;
    }
    const r = await kv.range({ key: g[0], end: `${g[g.length - 1]}\0`, limit: g.length * 2 + 8 });
    if (r.more) {
      singles.push(...g);
      return;
    }
    const byKey = new Map(r.kvs.map((e) => [e.key, e]));
    for (const k of g) out.set(k, byKey.get(k));
  }));
  for (let i = 0; i < singles.length; i += READ_CONCURRENCY) {
    const part = singles.slice(i, i + READ_CONCURRENCY);
    const entries = await Promise.all(part.map((k) => kv.get(k)));
    part.forEach((k, j) => out.set(k, entries[j]));
  }
  return out;
}

/** Exponential backoff with full jitter, capped, so colliding writers spread out. */
function backoff(attempt: number): Promise<void> {
  const cap = Math.min(100, 2 ** attempt);
  return new Promise((r) => setTimeout(r, Math.random() * cap));
}

/** Same length as auditIds' ids (ISO time, 8 hex, 4 digits), to size a record before its id exists. */
const SIZING_ID = `${new Date(0).toISOString()}-00000000-0000`;

/**
 * Writes the plans of `keys` in bounded chunks. `plan(key, entry)` is called on every read of the
 * key (first for all keys, again for a chunk after a lost race); it throws to refuse (a typed error).
 * `initial`, when given, is the first read of every key (the caller already read them).
 */
export async function writeChunked<R>(
  kv: Kv,
  keys: readonly string[],
  plan: (key: string, entry: KvEntry | undefined) => KeyPlan<R>,
  opts: ChunkedOptions,
  initial?: Map<string, KvEntry | undefined>,
): Promise<ChunkedResult<R>> {
  const maxAttempts = opts.maxAttempts ?? 64;
  const now = opts.now ?? Date.now;
  const operationId = opts.operationId ?? newOperationId(now());
  const ctx: AuditContext = { actor: opts.actor, reason: opts.reason, operationId };
  const limits = { maxOps: Math.min(opts.maxOps ?? TXN_MAX_OPS, TXN_MAX_OPS), maxBytes: Math.min(opts.maxBytes ?? TXN_BUDGET_BYTES, TXN_BUDGET_BYTES) };

  const entries = initial ?? await readKeys(kv, keys);
  // Plan everything first: a refusal here means nothing was written.
  const plans = keys.map((k) => plan(k, entries.get(k)));
  let readRevision = 0;
  for (const k of keys) readRevision = Math.max(readRevision, entries.get(k)?.modRevision ?? 0);

  const cost = (p: KeyPlan<R>): TxnCost => {
    if (p.write === null) return { compare: 0, success: 0, bytes: 0 };
    const w = p.write;
    const record = auditOp(opts.keys, ctx, 0, w.audit, SIZING_ID);
    const extra = w.extra ?? [];
    return {
      compare: 1, success: 2 + extra.length,
      bytes: compareBytes(w.compare) + opBytes(w.op) + opBytes(record) + extra.reduce((n, o) => n + opBytes(o), 0),
    };
  };

  let next = 0;
  let committed = 0;
  let revision = 0;
  let mostAttempts = 1;
  const fail = (cause: unknown): never => {
    if (committed === 0) throw cause;
    const done = keys.slice(0, next);
    const notDone = keys.slice(next);
    throw new PartialWriteError(
      `partly written (operation ${operationId}): ${done.length} of ${keys.length} key(s) done, ${notDone.length} not ` +
      `(not done: ${compactList(notDone)}): ${(cause as Error).message ?? String(cause)}; ` +
      'the same command again completes it (keys already done are skipped)',
      operationId, done, notDone, cause);
  };

  while (next < keys.length) {
    let attempt = 1;
    for (;;) {
      // The chunk: from `next`, as many keys as fit (re-packed after every re-read: values may grow).
      const [first] = packByCost(plans.slice(next), cost, limits);
      const chunk = first.length;
      const writes = plans.slice(next, next + chunk).map((p) => p.write).filter((w): w is KeyWrite => w !== null);
      if (writes.length === 0) {
        next += chunk;
        break;
      }
      let ok: boolean;
      try {
        const at = now();
        const r = await kv.txn({
          compare: writes.map((w) => w.compare),
          success: [...writes.map((w) => w.op), ...writes.flatMap((w) => w.extra ?? []), ...auditOps(opts.keys, ctx, at, writes.map((w) => w.audit))],
        });
        ok = r.succeeded;
        if (ok) revision = r.revision;
      } catch (err) {
        return fail(err);
      }
      if (ok) {
        committed++;
        next += chunk;
        mostAttempts = Math.max(mostAttempts, attempt);
        break;
      }
      if (attempt >= maxAttempts) {
        const lost = keys.slice(next, next + chunk);
        fail(new ConflictError(`gave up writing ${compactList(lost)} after ${maxAttempts} conflicting concurrent updates; retry`,
          { keys: lost, attempts: maxAttempts }));
      }
      await backoff(attempt);
      attempt++;
      // Lost a race: read this chunk's keys again and re-apply the change on top of what is there.
      const chunkKeys = keys.slice(next, next + chunk);
      try {
        const fresh = await readKeys(kv, chunkKeys);
        chunkKeys.forEach((k, i) => { plans[next + i] = plan(k, fresh.get(k)); });
      } catch (err) {
        fail(err);
      }
    }
  }
  return {
    revision: committed > 0 ? revision : readRevision,
    attempts: mostAttempts,
    chunks: committed,
    operationId,
    results: plans.map((p) => p.result),
  };
}
