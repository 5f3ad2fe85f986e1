// Who wrote an admin value: the audit record written in the same transaction as the conftool change,
// found by the change's mod revision (store/audit-lookup.ts), never by scanning the newest records.
// One read per revision serves every key written at it (a transaction writes up to 64 hosts), and a
// bounded cache keeps bursts (the view's admin events and the leader's held hosts ask for the same
// writes) to one read each.
import type { AdminWriter } from '../model/types.js';
import { auditRecordsAt } from '../store/audit-lookup.js';
import type { StoredAuditRecord } from '../store/audit-record.js';
import type { Keys } from '../store/keys.js';
import type { Kv } from '../store/kv.js';

const CACHE_REVISIONS = 1024;

export class AdminWriters {
  private readonly byRevision = new Map<number, Promise<Map<string, StoredAuditRecord>>>();

  constructor(private readonly kv: Kv, private readonly keys: Keys) {}

  /**
   * The writer of `key` at `revision`; null when that write has no audit record (a raw etcd write).
   * `seenAt` (when the change was seen) narrows the read to recent audit ids. Rejects on etcd errors
   * (nothing is cached then).
   */
  async writerOf(key: string, revision: number, seenAt?: number): Promise<AdminWriter | null> {
    let records = this.byRevision.get(revision);
    if (records === undefined) {
      records = auditRecordsAt(this.kv, this.keys, revision, { hint: seenAt });
      this.byRevision.set(revision, records);
      records.catch(() => this.byRevision.delete(revision));
      if (this.byRevision.size > CACHE_REVISIONS) this.byRevision.delete(this.byRevision.keys().next().value as number);
    }
    const rec = (await records).get(key);
    if (rec === undefined) return null;
    return rec.reason !== '' ? { actor: rec.actor, reason: rec.reason } : { actor: rec.actor };
  }
}
