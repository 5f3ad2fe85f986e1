// While this instance leads: delete audit records older than the retention, now and every hour.
// etcd's size is capped (2 GiB by default) and every admin change writes a record, so an unpruned
// log eventually stops all writes. Deletes go in transactions within etcd's limits (pruneAudit).
import type { Kv } from '../store/kv.js';
import type { Keys } from '../store/keys.js';
import { pruneAudit } from '../store/audit.js';
import type { Logger } from './logger.js';

export const DEFAULT_AUDIT_RETENTION_MS = 90 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

export class AuditRetention {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: { kv: () => Kv; keys: Keys; log: Logger; retentionMs?: number }) {}

  /** Prunes now and every hour until stop(); a retention of 0 keeps every record. */
  start(): void {
    const retention = this.o.retentionMs ?? DEFAULT_AUDIT_RETENTION_MS;
    if (retention <= 0 || this.timer !== undefined) return;
    const prune = () => {
      pruneAudit(this.o.kv(), this.o.keys, Date.now() - retention).then(
        (n) => { if (n > 0) this.o.log.info({ deleted: n, retentionDays: retention / 86_400_000 }, 'pruned old audit records'); },
        (err: unknown) => this.o.log.warn({ err: (err as Error).message }, 'audit retention: prune failed; will retry'),
      );
    };
    prune();
    this.timer = setInterval(prune, PRUNE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
