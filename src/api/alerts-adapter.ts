// Gathers what /alerts needs from the PoolView and hands it to the pure model (src/model/alerts.ts),
// which owns every alert text. This file only decides which facts become which causes.
import { computeAlerts, flappingCause, staleStateCause, type AlertCause, type AlertsResult } from '../model/alerts.js';
import { heldCause } from '../model/alerts-hold.js';
import { isResolverStaleFinding, resolverStaleCause } from '../model/resolver-stale.js';
import { safetyCauses } from '../model/safety-alerts.js';
import { poolName, type PoolState } from '../model/types.js';
import type { PoolView } from './state-view.js';

/**
 * PyBal's verdict over the pools this instance serves, plus poold's causes:
 * - flapping hosts (marked in the view or in the published state): CRITICAL;
 * - admin depools held by the threshold, with their writers (model/alerts-hold.ts): CRITICAL;
 * - configuration drift: CRITICAL, one cause per pool listing each problem;
 * - stale state: WARNING `Pool <p> state stale for Ns. `;
 * - backends checked at a last-known address because the resolver fails for their names (a finding
 *   in the published state): one WARNING `resolver: N names served from last-known address: a, b. `;
 * - causes of the instance as a whole (view.setInstanceCause), e.g. a stalled etcd watch.
 */
export function alertsFor(view: PoolView, nowMs: number): AlertsResult {
  const states: PoolState[] = [];
  const extra: AlertCause[] = [];
  const staleNames = new Set<string>();
  for (const e of view.list()) {
    const name = poolName(e.key);
    if (e.state) {
      states.push(e.state);
      // The view's flapping marks may be newer than the last published state; the model renders them.
      const marked = e.flapping.size === 0 ? e.state : withFlapping(e.state, e.flapping);
      const flap = flappingCause(marked, name);
      if (flap) extra.push(flap);
      const held = heldCause(e.state, name);
      if (held) extra.push(held);
      extra.push(...safetyCauses(e.state, nowMs)); // issue 14: correlated failure, freeze
    }
    if (e.drift.length > 0) {
      extra.push({
        pool: name,
        severity: 'critical',
        message: `configuration drift: ${e.drift.map((p) => `${p.where}: ${p.message}`).join(', ')}`,
      });
    }
    if (e.stale && e.staleSinceMs !== null) extra.push(staleStateCause(name, Math.max(0, nowMs - e.staleSinceMs)));
    for (const [host, s] of Object.entries(e.state?.servers ?? {})) if (s.findings?.some(isResolverStaleFinding)) staleNames.add(host); // ?.: states stored before findings existed
  }
  const resolver = resolverStaleCause(staleNames);
  if (resolver) extra.push(resolver);
  extra.push(...view.instanceCauses());
  return computeAlerts(states, extra);
}

function withFlapping(state: PoolState, hosts: ReadonlySet<string>): PoolState {
  const servers: PoolState['servers'] = {};
  for (const [h, s] of Object.entries(state.servers)) servers[h] = hosts.has(h) ? { ...s, flapping: true } : s;
  return { ...state, servers };
}
