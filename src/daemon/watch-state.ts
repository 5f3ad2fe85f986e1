// Mirrors the published states (<poold>/state/): what the API and the LVS agent serve, and what a
// (re)started instance starts its checks from. A rejected value keeps the last good state.
import type { PoolMetrics } from '../api/metrics.js';
import { servicePath } from '../model/types.js';
import { decodePoolState } from '../store/decode.js';
import type { WatchDeps, WatchHandlers } from './watch-deps.js';

export function stateHandlers(d: Pick<WatchDeps, 'keys' | 'data' | 'view' | 'problems' | 'log' | 'inScope'> & { metrics: PoolMetrics }): WatchHandlers {
  return {
    upsert: (key, value, _modRevision, listed) => {
      const sk = d.keys.parseState(key);
      if (sk === undefined || !d.inScope(sk)) return;
      let state;
      try {
        state = decodePoolState(key, value, sk);
      } catch (err) {
        // Keep the last good state (what the API and the agent serve), and say so in /alerts.
        d.log.error({ key, err: (err as Error).message }, 'invalid published state in etcd; keeping the last good one');
        d.problems.setCorrupt(key, { message: (err as Error).message, service: servicePath(sk) });
        return;
      }
      d.problems.setCorrupt(key, undefined);
      d.data.states.set(servicePath(sk), state);
      d.view.setState(state);
      // A listed state's age is how long ago it was published, not how late the watch is.
      if (!listed) d.metrics.setEtcdWatchLag(Math.max(0, Date.now() - state.updatedAt) / 1000);
    },
    remove: (key) => {
      const sk = d.keys.parseState(key);
      d.problems.setCorrupt(key, undefined);
      if (sk !== undefined) d.data.states.delete(servicePath(sk));
    },
  };
}
