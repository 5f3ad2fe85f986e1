// Metrics of the etcd poold keeps its state in: its space (daemon/etcd-space.ts, every instance)
// and the leader's compactions of its history (daemon/etcd-compaction.ts). Registered on the
// daemon's PoolMetrics registry, so they come out of the same /metrics.
import { Counter, Gauge, type Registry } from 'prom-client';

export class EtcdMetrics {
  /** poold_etcd_db_size_bytes: the etcd member's database size (what --quota-backend-bytes caps). */
  readonly dbSize: Gauge;
  /** poold_etcd_db_size_in_use_bytes: bytes logically in use (the rest a defrag returns). */
  readonly dbSizeInUse: Gauge;
  /** poold_etcd_nospace_alarm: 1 while etcd's NOSPACE alarm is raised (every write fails). */
  readonly nospace: Gauge;
  /** poold_etcd_compacted_revision: the revision this instance last compacted etcd's history to. */
  readonly compactedRevision: Gauge;
  /** poold_etcd_compactions_total{result}: compactions this instance ran, ok or error. */
  readonly compactions: Counter<'result'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.dbSize = new Gauge({ name: 'poold_etcd_db_size_bytes', help: 'Size of the etcd backend database, in bytes (capped by etcd --quota-backend-bytes, 2 GiB by default).', registers });
    this.dbSizeInUse = new Gauge({ name: 'poold_etcd_db_size_in_use_bytes', help: 'Bytes of the etcd backend database logically in use (etcd 3.4+).', registers });
    this.nospace = new Gauge({ name: 'poold_etcd_nospace_alarm', help: 'Whether etcd has its NOSPACE alarm raised (1: every write fails) or not (0).', registers });
    this.compactedRevision = new Gauge({ name: 'poold_etcd_compacted_revision', help: 'The revision the leader last compacted etcd history to.', registers });
    this.compactions = new Counter({ name: 'poold_etcd_compactions_total', help: 'Compactions of etcd history run by this instance as leader, by result.', labelNames: ['result'], registers });
    // Exported as 0 from the start, not absent, so rate() and alerts see them.
    this.compactions.inc({ result: 'ok' }, 0);
    this.compactions.inc({ result: 'error' }, 0);
  }
}
