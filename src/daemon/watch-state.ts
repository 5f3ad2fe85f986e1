// Mirrors the published states (<poold>/state/): what the API and the LVS agent serve, and what a
// (re)started instance starts its checks from. A rejected value keeps the last good state.
//
// Two feeds, one order. Every instance follows the watch. The leader's own instance is also handed
// each state its transaction has just committed (`committed`), and serves it at once: at eqiad's size
// one kubesvc change is 44 states, 1.7 MB, whose trip back through the watch and the decoder took
// 30-70 ms (issue 12). Both feeds are ordered by the key's etcd revision: a copy at or below the
// revision already held is dropped, so the watch's echo of a committed state is neither decoded nor
// applied again, and a late commit answer never steps back over what the watch delivered meanwhile
// (a newer put, or a delete).
import type { PoolMetrics } from '../api/metrics.js';
import { servicePath, type PoolState } from '../model/types.js';
import { decodePoolState } from '../store/decode.js';
import type { WatchDeps, WatchHandlers } from './watch-deps.js';

type StateDeps = Pick<WatchDeps, 'keys' | 'data' | 'view' | 'problems' | 'log' | 'inScope'> & { metrics: PoolMetrics };

export interface StateFeed {
  handlers: WatchHandlers;
  /** A state this instance's leader wrote, committed at etcd revision `modRevision`. */
  committed(state: PoolState, modRevision: number): void;
}

export function stateFeed(d: StateDeps): StateFeed {
  /**
   * Per LVS service: the etcd revision of the state held (or of its deletion) and which feed brought
   * it. The watch delivers each key's changes in order, so it only needs to skip what a commit already
   * brought; a removal whose revision is unknown (a re-list) stops every commit answer until the watch
   * brings the key back.
   */
  const held = new Map<string, { revision: number; from: 'watch' | 'commit' }>();

  const apply = (path: string, state: PoolState): void => {
    d.data.states.set(path, state);
    d.view.setState(state);
  };

  return {
    committed: (state, modRevision) => {
      if (!d.inScope(state)) return;
      const path = servicePath(state);
      const h = held.get(path);
      if (h !== undefined && modRevision <= h.revision) return;
      held.set(path, { revision: modRevision, from: 'commit' });
      // Our write replaced whatever unusable value another tool had put there (the watch's echo, which
      // would say so, is skipped).
      d.problems.setCorrupt(d.keys.state(state), undefined);
      apply(path, state);
    },
    handlers: {
      upsert: (key, value, modRevision, listed) => {
        const sk = d.keys.parseState(key);
        if (sk === undefined || !d.inScope(sk)) return;
        const path = servicePath(sk);
        const h = held.get(path);
        // Already served from this leader's commit (the same bytes: a revision names one version of a key).
        if (h?.from === 'commit' && modRevision <= h.revision) return;
        let state;
        try {
          state = decodePoolState(key, value, sk);
        } catch (err) {
          // Keep the last good state (what the API and the agent serve), and say so in /alerts.
          d.log.error({ key, err: (err as Error).message }, 'invalid published state in etcd; keeping the last good one');
          d.problems.setCorrupt(key, { message: (err as Error).message, service: path });
          return;
        }
        d.problems.setCorrupt(key, undefined);
        held.set(path, { revision: modRevision, from: 'watch' });
        apply(path, state);
        // A listed state's age is how long ago it was published, not how late the watch is.
        if (!listed) d.metrics.setEtcdWatchLag(Math.max(0, Date.now() - state.updatedAt) / 1000);
      },
      remove: (key, revision) => {
        const sk = d.keys.parseState(key);
        d.problems.setCorrupt(key, undefined);
        if (sk === undefined) return;
        const path = servicePath(sk);
        held.set(path, { revision: revision ?? Number.POSITIVE_INFINITY, from: 'watch' });
        d.data.states.delete(path);
      },
    },
  };
}

