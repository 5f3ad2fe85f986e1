// While this instance leads: compact etcd's history, as kube-apiserver does for the etcd it uses
// (--etcd-compaction-interval). etcd keeps every revision until compacted and does not compact by
// default (--auto-compaction-retention 0), while its database is capped (--quota-backend-bytes,
// 2 GiB by default): at eqiad's size one kubesvc depool republishes 44 section states of ~240 hosts,
// ~1.7 MB of history, so a few hundred conftool changes would fill etcd and stop every write (NOSPACE).
//
// Every interval the leader records etcd's current revision and compacts to the newest one it
// recorded at least an interval earlier (by the monotonic clock, so a late timer cannot shorten it):
// history younger than one interval is always kept, so a watcher behind by less
// than that resumes without a re-list (older ones re-list on CompactedError: store/watch.ts). Only the
// leader runs it; a deposed leader still compacting once more would be harmless, as every
// compaction stays an interval behind. Non-physical: etcd frees the space in the background.
import type { EtcdMetrics } from '../api/etcd-metrics.js';
import { CompactedError } from '../store/errors.js';
import type { Kv, KvMaintenance } from '../store/kv.js';
import type { Logger } from './logger.js';
import { Periodic } from './periodic.js';

export const DEFAULT_ETCD_COMPACTION_INTERVAL_MS = 5 * 60_000;

export interface EtcdCompactionOptions {
  kv: () => Kv & KvMaintenance;
  /** Any key: a one-key read of it gives etcd's current revision. */
  probeKey: string;
  /** 0 (or less): never compact (the etcd operator does, e.g. with --auto-compaction-retention). */
  intervalMs: number;
  metrics: EtcdMetrics;
  log: Logger;
}

export class EtcdCompaction {
  private readonly periodic: Periodic | undefined;
  /**
   * Revisions recorded at past ticks, oldest first, with when (monotonic ms). The target is the newest
   * one recorded at least an interval ago: timers fire late under load and two ticks can be closer
   * than an interval, so "the previous tick's" revision could be younger than the promise.
   */
  private recorded: { revision: number; at: number }[] = [];
  private compacted = 0;
  /** Bumped by start/stop, so a tick in flight when leadership ended records and compacts nothing. */
  private generation = 0;

  constructor(private readonly o: EtcdCompactionOptions) {
    this.periodic = o.intervalMs > 0 ? new Periodic(o.intervalMs, () => this.tick()) : undefined;
  }

  start(): void {
    if (this.periodic === undefined || this.periodic.started) return;
    this.generation++;
    this.recorded = [];
    this.periodic.start();
  }

  stop(): void {
    this.periodic?.stop();
    this.generation++;
    this.recorded = [];
  }

  private async tick(): Promise<void> {
    const gen = this.generation;
    let now: number;
    try {
      now = (await this.o.kv().range({ key: this.o.probeKey, limit: 1 })).revision;
    } catch (err) {
      // The target recorded before stays: still at least an interval old at the next tick.
      this.o.log.warn({ err: (err as Error).message }, 'etcd compaction: could not read the current revision; will retry at the next interval');
      return;
    }
    if (gen !== this.generation) return;
    const at = performance.now();
    this.recorded.push({ revision: now, at });
    let target: number | undefined;
    while (this.recorded.length > 0 && at - this.recorded[0]!.at >= this.o.intervalMs) target = this.recorded.shift()!.revision;
    if (target === undefined || target <= this.compacted) return; // nothing an interval old yet, or nothing written since
    await this.compact(target, gen);
  }

  private async compact(revision: number, gen: number): Promise<void> {
    try {
      await this.o.kv().compact(revision);
      this.o.log.info({ revision }, 'compacted etcd history');
    } catch (err) {
      if (!(err instanceof CompactedError)) {
        this.o.metrics.compactions.inc({ result: 'error' });
        this.o.log.warn({ revision, err: (err as Error).message }, 'etcd compaction failed; will retry at the next interval');
        return;
      }
      // Someone else (the etcd operator, etcd's auto-compaction) already compacted this far.
      this.o.log.info({ revision }, 'etcd history already compacted at or past this revision');
    }
    if (gen !== this.generation) return;
    this.compacted = revision;
    this.o.metrics.compactions.inc({ result: 'ok' });
    this.o.metrics.compactedRevision.set(revision);
  }
}
