// Who wrote a key at a revision: the audit record written in the SAME transaction as the change
// (audit.ts), found by that revision. etcd filters a range by mod revision server-side
// (min_mod_revision = max_mod_revision = the change's revision), so the answer is exact, whatever
// else was written since (scanning "the newest N records" was wrong as soon as N other writes came
// after). A raw etcd write (etcdctl, confctl without poold's audit, a replaying mirror) has no record
// at its revision: the answer is null, "unknown writer".
//
// Cost: audit ids start with the writer's ISO time, so with a time hint (when the daemon saw the
// change) only the ids from `hint − window` on are read; without one (a value listed at start) the
// whole audit prefix is filtered. A writer whose clock lags the hint by more than the window is
// reported as unknown; the default window (10 minutes) is far beyond NTP drift.
import type { Keys } from './keys.js';
import type { Kv } from './kv.js';
import type { StoredAuditRecord } from './audit-record.js';
import { decodeAuditRecord } from './decode.js';

export const AUDIT_LOOKUP_WINDOW_MS = 10 * 60_000;

export interface AuditLookupOptions {
  /** When the change was seen (epoch ms): narrows the read to ids from hint − windowMs on. */
  hint?: number;
  windowMs?: number;
}

/** The records written at `revision` (one transaction may write up to 64), by the key they record. */
export async function auditRecordsAt(kv: Kv, keys: Keys, revision: number, opts: AuditLookupOptions = {}): Promise<Map<string, StoredAuditRecord>> {
  const prefix = keys.auditPrefix();
  const low = opts.hint === undefined ? prefix : prefix + new Date(Math.max(0, opts.hint - (opts.windowMs ?? AUDIT_LOOKUP_WINDOW_MS))).toISOString();
  const r = await kv.range({ key: low, end: prefix.slice(0, -1) + '0', modRevision: { min: revision, max: revision } });
  const out = new Map<string, StoredAuditRecord>();
  for (const e of r.kvs) {
    const id = keys.parseAudit(e.key);
    if (id === undefined || e.modRevision !== revision) continue;
    const rec = decodeAuditRecord(e.key, id, e.value, e.modRevision);
    out.set(rec.key, rec);
  }
  return out;
}

/** The audit record of `key`'s change at `revision`, or null when that write has none. */
export async function auditRecordOf(kv: Kv, keys: Keys, key: string, revision: number, opts: AuditLookupOptions = {}): Promise<StoredAuditRecord | null> {
  return (await auditRecordsAt(kv, keys, revision, opts)).get(key) ?? null;
}
