// Mirrors the published states (<poold>/state/): what the API and the LVS agent serve, and what a
// (re)started instance starts its checks from. A rejected value keeps the last good state.
//
// The states come as header and server keys (store/state-layout.ts), put back together per LVS
// service at the end of each watch batch, when its header has come.
//
// Two feeds, one order. Every instance follows the watch. The leader's own instance is also handed
// each state its transaction has just committed (`committed`), and serves it at once: at eqiad's size
// one kubesvc change is 44 states, 1.7 MB, whose trip back through the watch and the decoder took
// 30-70 ms (issue 12). Both feeds are ordered by the key's etcd revision: a copy at or below the
// revision already held is dropped, so the watch's echo of a committed state is neither decoded nor
// applied again, and a late commit answer never steps back over what the watch delivered meanwhile
// (a newer put, or a delete).
//
// The watch may also bring a commit back before the transaction's answer comes. The leader hands the
// state over as it writes it (`produced`), and a watched header that is byte for byte the one written
// then (with no foreign server-key write: the assembler checks) is that state, served without
// decoding 44 × 240 servers again.
import type { PoolMetrics } from '../api/metrics.js';
import type { StateChanges } from '../api/state-view.js';
import type { OwnPublication } from './leader.js';
import { servicePath, type PoolState } from '../model/types.js';
import { AssembledStateDecoder } from '../store/decode.js';
import { StateAssembler } from '../store/state-layout.js';
import type { WatchDeps, WatchHandlers } from './watch-deps.js';

type StateDeps = Pick<WatchDeps, 'keys' | 'data' | 'view' | 'problems' | 'log' | 'inScope'> & Partial<Pick<WatchDeps, 'leader'>> & { metrics: PoolMetrics };

export interface StateFeed {
  handlers: WatchHandlers;
  /** A state this instance's leader wrote, committed at etcd revision `modRevision` (its header's). */
  committed(state: PoolState, modRevision: number): void;
  /** A state this instance's leader is writing now (before its commit). */
  produced(own: OwnPublication): void;
}

export function stateFeed(d: StateDeps): StateFeed {
  /**
   * Per LVS service: the etcd revision of the state held (its header's, or of its deletion) and which
   * feed brought it. The watch delivers each key's changes in order, so it only needs to skip what a
   * commit already brought; a removal whose revision is unknown (a re-list) stops every commit answer
   * until the watch brings the key back.
   */
  const held = new Map<string, { revision: number; from: 'watch' | 'commit' }>();
  /** Header and server keys, put back together (store/state-layout.ts): states change at settled(). */
  const assembler = new StateAssembler(d.keys, (k) => d.inScope(k));
  /** A change decodes only the servers that changed. */
  const decoder = new AssembledStateDecoder();
  /** Whether the batch being settled is a listing (at start, or after a compaction). */
  let listing = false;
  /** Per LVS service, the last state this instance's leader wrote (not yet seen committed). */
  const own = new Map<string, OwnPublication>();

  const apply = (path: string, state: PoolState): void => {
    d.data.states.set(path, state);
    const o = own.get(path);
    // What changed since the leader's previous state, if that is the one held.
    const changes: StateChanges | undefined = o?.state === state ? o.changes : undefined;
    const held = d.view.get(state)?.state;
    if (!d.view.setState(state, changes) && held != null && state.revision < held.revision) {
      // The view orders by the coordinator's counter, which a new leader's term restarts from the
      // mirror; this feed orders by etcd revision. When they disagree the view keeps serving the older
      // copy while the mirror moved on: say so (issue 12, a depool not shown in one section of 44).
      d.log.error({ service: path, refused: state.revision, serving: held.revision },
        'the view refused a newer published state with a lower coordinator revision; it serves the older one');
    }
  };

  return {
    produced: (o) => {
      if (d.inScope(o.state)) own.set(servicePath(o.state), o);
    },
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
        if (assembler.put(key, value, modRevision) && listed) listing = true;
      },
      remove: (key, revision) => {
        assembler.remove(key, revision);
      },
      settled: () => {
        const listed = listing;
        listing = false;
        for (const c of assembler.take()) {
          if (c.kind === 'removed') {
            d.problems.setCorrupt(c.headerKey, undefined);
            held.set(c.path, { revision: c.revision ?? Number.POSITIVE_INFINITY, from: 'watch' });
            d.data.states.delete(c.path);
            decoder.forget(c.path);
            own.delete(c.path);
            continue;
          }
          const a = c.state;
          const h = held.get(a.path);
          // Already served from this leader's commit (the same bytes: a revision names one version of a
          // key), unless its server keys were changed since by someone else.
          if (a.problem === undefined && h?.from === 'commit' && a.headerRevision <= h.revision) continue;
          const mine = own.get(a.path);
          let state;
          try {
            // This leader's own write (the same header bytes, no foreign server write), or decoded.
            state = a.problem === undefined && mine?.header === a.header ? mine.state : decoder.decode(a);
          } catch (err) {
            // Keep the last good state (what the API and the agent serve), and say so in /alerts.
            d.log.error({ key: a.headerKey, err: (err as Error).message }, 'invalid published state in etcd; keeping the last good one');
            d.problems.setCorrupt(a.headerKey, { message: (err as Error).message, service: a.path });
            // The leader, if this instance leads, publishes the section whole again.
            d.leader?.()?.stateUnreadable(a.path);
            continue;
          }
          d.problems.setCorrupt(a.headerKey, undefined);
          held.set(a.path, { revision: a.headerRevision, from: 'watch' });
          apply(a.path, state);
          // A listed state's age is how long ago it was published, not how late the watch is.
          if (!listed) d.metrics.setEtcdWatchLag(Math.max(0, Date.now() - state.updatedAt) / 1000);
        }
      },
    },
  };
}
