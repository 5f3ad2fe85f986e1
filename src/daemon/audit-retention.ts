// While this instance leads: delete audit records older than the retention, now and every hour.
// etcd's size is capped (2 GiB by default) and every admin change writes a record, so an unpruned
// log eventually stops all writes. Deletes go in transactions within etcd's limits (pruneAudit).
import type { Kv } from '../store/kv.js';
import type { Keys } from '../store/keys.js';
import { pruneAudit } from '../store/audit.js';
import type { Logger } from './logger.js';
import { Periodic } from './periodic.js';

export const DEFAULT_AUDIT_RETENTION_MS = 90 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

export class AuditRetention {
  private readonly periodic: Periodic | undefined;

  constructor(private readonly o: { kv: () => Kv; keys: Keys; log: Logger; retentionMs?: number }) {
    const retention = o.retentionMs ?? DEFAULT_AUDIT_RETENTION_MS;
    // A retention of 0 keeps every record.
    this.periodic = retention > 0 ? new Periodic(PRUNE_EVERY_MS, () => this.prune(retention)) : undefined;
  }

  /** Prunes now and every hour until stop(). */
  start(): void {
    this.periodic?.start();
  }

  stop(): void {
    this.periodic?.stop();
  }

  private async prune(retention: number): Promise<void> {
    try {
      const n = await pruneAudit(this.o.kv(), this.o.keys, Date.now() - retention);
      if (n > 0) this.o.log.info({ deleted: n, retentionDays: retention / 86_400_000 }, 'pruned old audit records');
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'audit retention: prune failed; will retry');
    }
  }
}
