// Every instance reads etcd's space every check interval (the watch guard's --watch-check-interval):
// its database size and active alarms (Maintenance Status and Alarm). A raised NOSPACE alarm is a
// CRITICAL cause in /alerts (model/etcd-space.ts) and poold_etcd_nospace_alarm 1: etcd then refuses
// every write, conftool's included. Every instance, not only the leader: each serves its own
// /alerts and /metrics (monitoring may ask any of them), NOSPACE stops every instance's writes, and
// it costs two small reads per interval.
import type { EtcdMetrics } from '../api/etcd-metrics.js';
import type { PoolView } from '../api/state-view.js';
import { etcdSpaceCause } from '../model/etcd-space.js';
import type { EtcdStatus, KvMaintenance } from '../store/kv.js';
import type { Logger } from './logger.js';
import { Periodic } from './periodic.js';

const CAUSE_ID = 'etcd:nospace';

export class EtcdSpace {
  private readonly periodic: Periodic;
  private nospace = false;

  constructor(private readonly o: { kv: () => KvMaintenance; intervalMs: number; view: PoolView; metrics: EtcdMetrics; log: Logger }) {
    this.periodic = new Periodic(o.intervalMs, () => this.check());
  }

  start(): void {
    this.periodic.start();
  }

  stop(): void {
    this.periodic.stop();
  }

  /** One reading (the timer calls it). */
  async check(): Promise<void> {
    let st: EtcdStatus;
    try {
      st = await this.o.kv().status();
    } catch (err) {
      // etcd does not answer: the stale-state warning says so; the last reading stays.
      this.o.log.debug({ err: (err as Error).message }, 'etcd space: status did not answer');
      return;
    }
    this.o.metrics.dbSize.set(st.dbSize);
    if (st.dbSizeInUse !== undefined) this.o.metrics.dbSizeInUse.set(st.dbSizeInUse);
    const cause = etcdSpaceCause(st.alarms, st.dbSize);
    this.o.metrics.nospace.set(cause === null ? 0 : 1);
    this.o.view.setInstanceCause(CAUSE_ID, cause);
    if ((cause !== null) !== this.nospace) {
      if (cause !== null) this.o.log.error({ dbSize: st.dbSize, alarms: st.alarms }, 'etcd NOSPACE alarm raised: etcd refuses every write until compacted, defragmented and the alarm disarmed');
      else this.o.log.info({ dbSize: st.dbSize }, 'etcd NOSPACE alarm cleared');
    }
    this.nospace = cause !== null;
  }
}
