// Metrics of the daemon's etcd watches as checked by daemon/watch-guard.ts: is each watch still
// advancing, how far behind etcd it is, and how often it was re-established. Registered on the
// daemon's PoolMetrics registry, so they come out of the same /metrics.
import { Counter, Gauge, type Registry } from 'prom-client';

export class WatchMetrics {
  /** poold_watch_stale{watch}: 1 while the watch has not delivered a change etcd held one check ago. */
  readonly stale: Gauge<'watch'>;
  /** poold_watch_lag_revisions{watch}: newest revision under the prefix minus the watch's revision. */
  readonly lagRevisions: Gauge<'watch'>;
  /** poold_watch_lag_seconds{watch}: how long changes have waited undelivered (0 when none wait). */
  readonly lagSeconds: Gauge<'watch'>;
  /** poold_watch_reestablished_total{watch}: watches dropped and opened again on a new connection. */
  readonly reestablished: Counter<'watch'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.stale = new Gauge({ name: 'poold_watch_stale', help: 'Whether an etcd watch stopped delivering changes etcd holds (1) or not (0).', labelNames: ['watch'], registers });
    this.lagRevisions = new Gauge({ name: 'poold_watch_lag_revisions', help: 'Newest revision etcd holds under the watched prefix minus the revision the watch delivered.', labelNames: ['watch'], registers });
    this.lagSeconds = new Gauge({ name: 'poold_watch_lag_seconds', help: 'How long changes under the watched prefix have waited undelivered by the watch.', labelNames: ['watch'], registers });
    this.reestablished = new Counter({ name: 'poold_watch_reestablished_total', help: 'Times an etcd watch was re-established on a new connection because it stopped advancing.', labelNames: ['watch'], registers });
  }

  set(watch: string, stale: boolean, lagRevisions: number, lagSeconds: number): void {
    this.stale.set({ watch }, stale ? 1 : 0);
    this.lagRevisions.set({ watch }, lagRevisions);
    this.lagSeconds.set({ watch }, lagSeconds);
  }
}
