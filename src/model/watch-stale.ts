// Is an etcd watch still advancing? Pure arithmetic over periodic probes (the daemon's
// watch-guard.ts takes them): each probe says up to which revision the watch has delivered, and the
// newest change etcd holds under the watched prefix above that revision. A change etcd already
// held at one probe and the watch still had not delivered at the next, one interval later, means
// the watch stopped: stale. So a change is caught within two probe intervals of being written,
// and an idle prefix (nothing newer than the watch) is never stale.
import type { AlertCause } from './alerts.js';

export interface WatchProbe {
  /** The revision up to which the watch has delivered every event. */
  watchRevision: number;
  /** The newest mod revision under the prefix above watchRevision; null when there is none. */
  newestPending: number | null;
  nowMs: number;
}

export interface WatchLag {
  stale: boolean;
  /** Revisions etcd holds under the prefix that the watch has not delivered (newest - watched). */
  lagRevisions: number;
  /** Since when (ms) changes have waited undelivered: the probe that first saw the oldest of them. */
  lagMs: number;
}

export class WatchLagTracker {
  /** The newest pending revision seen by an earlier probe and not yet delivered, with when it was first seen. */
  private pending: { revision: number; sinceMs: number } | null = null;

  observe(p: WatchProbe): WatchLag {
    if (p.newestPending === null || p.newestPending <= p.watchRevision) {
      this.pending = null;
      return { stale: false, lagRevisions: 0, lagMs: 0 };
    }
    const lagRevisions = p.newestPending - p.watchRevision;
    if (this.pending !== null && p.watchRevision < this.pending.revision) {
      // Seen one probe ago, still not delivered: the watch is not advancing.
      return { stale: true, lagRevisions, lagMs: Math.max(0, p.nowMs - this.pending.sinceMs) };
    }
    // New pending changes (or the older ones were delivered and newer ones wait): give the watch
    // one interval to deliver them.
    this.pending = { revision: p.newestPending, sinceMs: p.nowMs };
    return { stale: false, lagRevisions, lagMs: 0 };
  }

  /** Forget what was pending (the watch was disconnected or re-listed: its own state says so). */
  reset(): void {
    this.pending = null;
  }
}

/** WARNING `etcd watch admin (/conftool/v1/pools/) stalled: ...`; one per stale watch. */
export function watchStaleCause(name: string, prefix: string, lag: WatchLag, watchRevision: number): AlertCause {
  return {
    severity: 'warning',
    message: `etcd watch ${name} (${prefix}) stalled at revision ${watchRevision}: ${lag.lagRevisions} ${lag.lagRevisions === 1 ? 'revision' : 'revisions'} behind etcd for ${Math.floor(lag.lagMs / 1000)}s; re-establishing it`,
  };
}
