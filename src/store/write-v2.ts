// poolctl's admin writes when conftool's pools live in etcd's v2 keyspace (--conftool-v2): the same
// patches as updateHosts (write.ts), written where conftool and PyBal read them.
//
// Per host, in this order:
//   1. v2 compare-and-swap: read the node (quorum), merge the patch into its JSON as conftool does,
//      PUT with prevIndex = the node's modifiedIndex; on "compare failed" (101) re-read and
//      re-apply the same patch, so a concurrent confctl or bridge write is never lost.
//   2. one v3 transaction: IF the v3 key still holds the bytes v2 held before step 1 (the two were
//      in sync) THEN put the new bytes and the audit record, ELSE the audit record alone (the
//      bridge reconciles v3 from v2). So poold sees the change, with who and why, at the same v3
//      revision, as it does for v3 writes, without waiting for the bridge.
// v2 has no transactions, so step 2 can fail after step 1 has committed (v3 unreachable, no
// permission on the audit prefix). Then the change stands (it is what conftool and PyBal serve),
// step 2 is retried three times, and then poolctl stops with V2AuditWriteError naming the key,
// before and after, so the operator can record it; no further host is written. A multi-host
// change is one v2 write per host (v2 cannot commit several keys at once): every patch and every
// stored value is checked before the first write, and if a later host fails, V2PartialWriteError
// names the hosts already changed (each audited) and those left alone.
import { NotFoundError, UsageError } from '../model/errors.js';
import { auditOps, newOperationId } from './audit.js';
import {
  changedFields, mergeConftoolValue, parseStoredObject, serializeConftoolValue, validateConftoolValue,
} from './conftool-value.js';
import { ConflictError } from './errors.js';
import type { Kv, TxnOp } from './kv.js';
import { V2AuditWriteError, V2CompareFailedError, V2KeyNotFoundError, V2PartialWriteError } from './v2-errors.js';
import type { V2Client, V2Leaf } from './v2-client.js';
import { validatePatch, type HostChange, type HostWriteResult, type UpdateResult, type WriteOptions } from './write.js';

function backoff(attempt: number): Promise<void> {
  const cap = Math.min(100, 2 ** attempt);
  return new Promise((r) => setTimeout(r, Math.random() * cap));
}

const missing = (key: string) =>
  new NotFoundError(`no such host key ${key} in etcd v2; add the host to pools/ and run poolctl sync (the v2 bridge copies it)`, { key });

/** Step 2: mirror the change to v3 if v3 was in sync, and write the audit record; retried 3 times. */
async function mirrorAndAudit(kv: Kv, r: HostWriteResult, raw: { before: string; after: string }, opts: WriteOptions, extra: TxnOp[] = []): Promise<number> {
  const now = opts.now ?? Date.now;
  let last: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const audit = auditOps(opts.keys, opts, now(), [{ key: r.key, before: r.before, after: r.after }]);
      const t = await kv.txn({
        compare: [{ key: r.key, target: 'value', op: '==', value: raw.before }],
        // A force marker (force-marker.ts) goes with the v3 copy, so it shares the copy's revision.
        success: [{ type: 'put', key: r.key, value: raw.after }, ...extra, ...audit],
        failure: audit,
      });
      return t.revision;
    } catch (err) {
      last = err;
      await backoff(attempt + 4);
    }
  }
  throw new V2AuditWriteError(
    `changed ${r.key} in etcd v2 (${raw.before} -> ${raw.after}) but could not write its audit record to etcd v3: ` +
    `${(last as Error).message}; the change stands (conftool and PyBal read v2); record it by hand: actor ${opts.actor}, reason "${opts.reason}"`,
    { key: r.key, before: r.before, after: r.after, actor: opts.actor, reason: opts.reason }, { cause: last });
}

/**
 * updateHosts for conftool keys kept in etcd v2: v2 compare-and-swap per host, then the v3 audit
 * record (and the v3 copy). Same arguments and result as updateHosts; `revision` is the v3
 * revision of the last audit record.
 */
export async function updateHostsV2(v2: V2Client, kv: Kv, changes: HostChange[], given: WriteOptions): Promise<UpdateResult> {
  // One operation id on every audit record of this change, as updateHosts does.
  const opts = { ...given, operationId: given.operationId ?? newOperationId() };
  const keyList = changes.map((c) => c.key);
  if (new Set(keyList).size !== keyList.length) throw new UsageError('updateHosts: a key appears twice in one write', { keys: keyList });
  for (const c of changes) validatePatch(c.key, c.patch);
  const maxAttempts = opts.maxAttempts ?? 64;

  // Every key exists and holds a usable value before the first write.
  const first = await Promise.all(keyList.map((k) => v2.getLeaf(k, { quorum: true })));
  first.forEach((leaf, i) => {
    if (leaf === undefined) throw missing(keyList[i]);
    validateConftoolValue(keyList[i], mergeConftoolValue(parseStoredObject(keyList[i], leaf.value), changes[i].patch));
  });

  const results: HostWriteResult[] = [];
  const written: string[] = [];
  let revision = 0;
  let attempts = 1;
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i];
    try {
      let leaf: V2Leaf | undefined = first[i];
      for (let attempt = 1; ; attempt++) {
        if (attempt > maxAttempts) {
          throw new ConflictError(`gave up writing ${c.key} in etcd v2 after ${maxAttempts} conflicting concurrent updates; retry`,
            { key: c.key, attempts: maxAttempts });
        }
        if (leaf === undefined) throw missing(c.key);
        const before = parseStoredObject(c.key, leaf.value);
        const patch = changedFields(before, c.patch);
        const after = validateConftoolValue(c.key, mergeConftoolValue(before, patch));
        if (Object.keys(patch).length === 0) {
          results.push({ key: c.key, before, after, changed: false });
          break;
        }
        const afterRaw = serializeConftoolValue(after);
        try {
          await v2.set(c.key, afterRaw, { prevIndex: leaf.modifiedIndex });
        } catch (err) {
          if (err instanceof V2KeyNotFoundError) throw missing(c.key);
          if (!(err instanceof V2CompareFailedError)) throw err;
          attempts = Math.max(attempts, attempt + 1);
          await backoff(attempt);
          leaf = await v2.getLeaf(c.key, { quorum: true });
          continue;
        }
        const r: HostWriteResult = { key: c.key, before, after, changed: true };
        results.push(r);
        written.push(c.key);
        revision = await mirrorAndAudit(kv, r, { before: leaf.value, after: afterRaw }, opts, c.extra);
        break;
      }
    } catch (err) {
      const notWritten = keyList.slice(i + (err instanceof V2AuditWriteError ? 1 : 0));
      if (err instanceof V2AuditWriteError && (written.length > 1 || notWritten.length > 0)) {
        throw new V2AuditWriteError(`${err.message}; changed in etcd v2 before it: ${written.slice(0, -1).join(', ') || 'none'}; ` +
          `not changed: ${notWritten.join(', ') || 'none'}`, { ...err.context, written, notWritten }, { cause: err.cause });
      }
      if (written.length === 0 || err instanceof V2AuditWriteError) throw err;
      throw new V2PartialWriteError(
        `stopped part-way at ${c.key}: ${(err as Error).message}; already changed in etcd v2 (and audited): ${written.join(', ')}; ` +
        `not changed: ${notWritten.join(', ')} (etcd v2 cannot write several keys atomically)`,
        { written, notWritten }, { cause: err });
    }
  }
  return { revision, attempts, chunks: results.filter((r) => r.changed).length, operationId: opts.operationId, results };
}
