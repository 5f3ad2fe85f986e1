// Live leader elections of other scopes (see scope-conflict.ts), mirrored into `otherScopes`; a change
// re-alerts every pool, and a newly live overlapping scope is logged as an error.
import { scopeOfElection, scopesOverlap } from './scope-conflict.js';
import type { WatchDeps, WatchHandlers } from './watch-deps.js';

export interface ElectionWatchDeps extends Pick<WatchDeps, 'keys' | 'problems' | 'log'> {
  /** This instance's election scope. */
  scope: string;
  /** The other scopes that currently have a leader: updated here, read by ServiceProblems. */
  otherScopes: Set<string>;
}

export function electionHandlers(d: ElectionWatchDeps): WatchHandlers {
  const base = d.keys.election('x').slice(0, -1);
  const update = (key: string, live: boolean) => {
    const scope = scopeOfElection(key.slice(base.length));
    if (scope === undefined || scope === d.scope) return;
    const before = d.otherScopes.has(scope);
    if (live) d.otherScopes.add(scope);
    else d.otherScopes.delete(scope);
    if (before === live) return;
    if (live && scopesOverlap(d.scope, scope)) d.log.error({ ours: d.scope, other: scope }, 'another poold leads an overlapping --dc scope; both would coordinate the same pools');
    d.problems.refreshAll();
  };
  return { upsert: (key) => update(key, true), remove: (key) => update(key, false) };
}
