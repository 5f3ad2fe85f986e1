// Catches an etcd watch that stopped advancing while etcd still answers (issue 14, item 4): a
// stream whose connection looks alive but delivers nothing (a middlebox that dropped the flow, a
// stuck watcher inside etcd). gRPC sees no error, so the mirrors would serve old data forever.
//
// The mirrors watch on their own connection (`client`), apart from the daemon's reads and writes.
// Every `intervalMs` the guard asks etcd, on the other connection, for the newest change under each
// watched prefix above the revision the watch delivered (store/watch-progress.ts). A change etcd
// already held at the previous check and still undelivered now is a stalled watch
// (model/watch-stale.ts): a WARNING in /alerts, `poold_watch_stale{watch}` and the lag metrics, and
// every watch is re-established on a new connection (the old one is closed), resuming from its
// last delivered revision, so the backlog arrives as ordinary events and is applied as any other.
// While the new connection does not deliver either, the next check re-establishes again.
import type { PoolView } from '../api/state-view.js';
import type { WatchMetrics } from '../api/watch-metrics.js';
import { WatchLagTracker, watchStaleCause } from '../model/watch-stale.js';
import type { EtcdOptions } from '../store/options.js';
import type { Etcd3Kv } from '../store/kv-etcd3.js';
import { changesAfter } from '../store/watch-progress.js';
import type { Logger } from './logger.js';
import type { Mirror } from './mirror.js';

export interface WatchGuardOptions {
  /** The daemon's client for reads and writes: the checks' range requests go there. */
  kv: Etcd3Kv;
  /** Where the watch connection goes (usually the daemon's own etcd options). */
  watchEtcd: EtcdOptions;
  intervalMs: number;
  view: PoolView;
  metrics: WatchMetrics;
  log: Logger;
  now?: () => number;
}

interface Guarded {
  name: string;
  mirror: Mirror;
  tracker: WatchLagTracker;
  stale: boolean;
}

export class WatchGuard {
  private watchKv: Etcd3Kv;
  private readonly watches: Guarded[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  private constructor(private readonly o: WatchGuardOptions, first: Etcd3Kv) {
    this.watchKv = first;
  }

  static async open(o: WatchGuardOptions): Promise<WatchGuard> {
    return new WatchGuard(o, await openWatchKv(o.watchEtcd));
  }

  /** The client the mirrors watch on now (read at every (re)start of a watch). */
  get client(): Etcd3Kv {
    return this.watchKv;
  }

  add(name: string, mirror: Mirror): void {
    this.watches.push({ name, mirror, tracker: new WatchLagTracker(), stale: false });
    this.o.metrics.set(name, false, 0, 0);
    this.o.metrics.reestablished.inc({ watch: name }, 0); // exported as 0 from the start, not absent
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.watchKv.close();
  }

  /** One round of checks (the timer calls it; exported for tests that drive it). */
  async check(): Promise<void> {
    if (this.running || this.stopped) return; // a slow etcd must not pile checks up
    this.running = true;
    try {
      const stalled: Guarded[] = [];
      for (const w of this.watches) if (await this.checkOne(w)) stalled.push(w);
      if (stalled.length > 0 && !this.stopped) await this.reestablish(stalled);
    } finally {
      this.running = false;
    }
  }

  private async checkOne(w: Guarded): Promise<boolean> {
    const revision = w.mirror.watchRevision;
    if (revision === undefined) return false; // listing (start, re-list after compaction)
    let newest: number | null;
    try {
      newest = (await changesAfter(this.o.kv, w.mirror.prefix, revision)).newest;
    } catch (err) {
      // etcd does not answer: that is the stale-state warning's business (mirror disconnections);
      // nothing can be said about the watch, so its verdict stays as it was.
      this.o.log.debug({ watch: w.name, err: (err as Error).message }, 'watch check: etcd did not answer');
      return w.stale;
    }
    const now = (this.o.now ?? Date.now)();
    // The watch may have delivered more while the range was in flight: compare with its revision now.
    const lag = w.tracker.observe({ watchRevision: w.mirror.watchRevision ?? revision, newestPending: newest, nowMs: now });
    this.o.metrics.set(w.name, lag.stale, lag.lagRevisions, lag.lagMs / 1000);
    if (lag.stale) {
      this.o.view.setInstanceCause(`watch:${w.name}`, watchStaleCause(w.name, w.mirror.prefix, lag, w.mirror.watchRevision ?? revision));
      if (!w.stale) {
        this.o.log.warn({ watch: w.name, prefix: w.mirror.prefix, watchRevision: revision, lagRevisions: lag.lagRevisions, lagSeconds: lag.lagMs / 1000 },
          'etcd watch stalled: etcd holds changes it has not delivered; re-establishing the watches on a new connection');
      }
    } else {
      this.o.view.setInstanceCause(`watch:${w.name}`, null);
      if (w.stale) this.o.log.info({ watch: w.name, prefix: w.mirror.prefix }, 'etcd watch advancing again');
    }
    w.stale = lag.stale;
    return lag.stale;
  }

  /**
   * Every watch shares the watch connection, and a connection that swallowed one stream's data
   * cannot be trusted with the others: open a new one, move every watch to it, close the old one.
   */
  private async reestablish(stalled: Guarded[]): Promise<void> {
    let fresh: Etcd3Kv;
    try {
      fresh = await openWatchKv(this.o.watchEtcd);
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, 'could not open a new etcd watch connection; will retry at the next check');
      return;
    }
    const old = this.watchKv;
    this.watchKv = fresh;
    for (const w of this.watches) {
      w.mirror.restartWatch(fresh);
      this.o.metrics.reestablished.inc({ watch: w.name });
    }
    await old.close();
    this.o.log.info({ stalled: stalled.map((w) => w.name) }, 'etcd watches re-established on a new connection');
  }
}

async function openWatchKv(o: EtcdOptions): Promise<Etcd3Kv> {
  // Loaded on demand, as connection.ts does: the etcd3 library costs ~190 ms to load.
  const { Etcd3Kv } = await import('../store/kv-etcd3.js');
  return new Etcd3Kv(o, { ownConnection: true });
}
