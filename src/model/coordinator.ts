// The coordinator for ONE pool: a pure state machine (no I/O, no clocks; every event carries its time).
// `createCoordinator` builds the state at start, `applyEvent` applies admin, health and config events.
// Each returns the new state (the old one is never mutated) and the effects, in a deterministic order
// (see coordinator-effects.ts). The pooled set itself is decided by `settle` (coordinator-settle.ts).
//
// Semantics are PyBal's (pybal/coordinator.py) with these deliberate choices:
// - Membership follows conftool, as PyBal's etcd config does: a host is a pool member when it has a
//   conftool entry that is not `inactive`. Hosts listed in the service definition but not yet in conftool
//   are tracked (for display) as `inactive`, `registered: false`; they never count and are never pooled.
//   A host removed from the service definition stays while its conftool entry exists (the pool sync
//   deletes that entry; the deletion removes it).
// - A server without any health result is assumed up, like PyBal's Server.DEF_STATE, so (re)starting or
//   adding a server does not depool anything before checks have run. At start, health comes from
//   `health`, else from the last published state, so a restart does not flap.
// - Every event re-settles the whole pool, so threshold changes, admin changes and removals are held to
//   the threshold at once (PyBal 1.15 bug T184715 skipped it) and pooledDown never holds stale entries.
// - A weight of 0 (drain) is just a weight: the server stays pooled with weight 0 and counts as up.
import { CoordinatorInputError } from './coordinator-types.js';
import type {
  CoordinatorEffect,
  CoordinatorEvent,
  CoordinatorState,
  HealthInput,
  ServerState,
  StartInput,
  Transition,
} from './coordinator-types.js';
import { countEffects, diffEffects, type DiffView } from './coordinator-effects.js';
import { canDepool as canDepoolServers, settle } from './coordinator-settle.js';
import { thresholdProblem } from './coordinator-threshold.js';
import {
  POOLED_VALUES,
  poolName,
  servicePath,
  type ConftoolValue,
  type EffectiveServer,
  type PoolState,
  type ServiceDef,
  type ServiceKey,
} from './types.js';

export const ASSUMED_UP_REASON = 'no health result yet (assumed up)';
export const NOT_REGISTERED_REASON = 'not in conftool';

/** A Record lookup that ignores inherited properties (a host may be called `constructor`). */
export function own<T>(rec: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return rec !== undefined && Object.hasOwn(rec, key) ? rec[key] : undefined;
}

function sortedMap<T>(m: ReadonlyMap<string, T>): Map<string, T> {
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function checkThreshold(where: string, threshold: unknown): void {
  const problem = thresholdProblem(threshold);
  if (problem !== null) throw new CoordinatorInputError(`${where}: ${problem}`, { threshold });
}

function checkAdmin(where: string, host: string, value: ConftoolValue): void {
  if (value === null || typeof value !== 'object') {
    throw new CoordinatorInputError(`${where}: conftool value of ${host} must be an object`, { host, value });
  }
  if (!POOLED_VALUES.includes(value.pooled)) {
    throw new CoordinatorInputError(
      `${where}: conftool value of ${host} has pooled=${JSON.stringify(value.pooled)}; expected one of ${POOLED_VALUES.join(', ')}`,
      { host, value },
    );
  }
  if (typeof value.weight !== 'number' || !Number.isFinite(value.weight) || value.weight < 0) {
    throw new CoordinatorInputError(
      `${where}: conftool value of ${host} has weight=${JSON.stringify(value.weight)}; expected a number >= 0`,
      { host, value },
    );
  }
}

function checkKey(where: string, expected: ServiceKey, got: ServiceKey): void {
  if (expected.dc !== got.dc || expected.cluster !== got.cluster || expected.service !== got.service) {
    throw new CoordinatorInputError(
      `${where}: belongs to pool ${servicePath(got)}, but this coordinator manages ${servicePath(expected)}`,
      { expected: servicePath(expected), got: servicePath(got) },
    );
  }
}

function newServer(host: string, at: number, value: ConftoolValue | undefined, defWeight: number | undefined): ServerState {
  return {
    host,
    pooledAdmin: value?.pooled ?? 'inactive',
    registered: value !== undefined,
    defined: defWeight !== undefined,
    weight: value?.weight ?? defWeight ?? 0,
    up: true,
    checked: false,
    pooled: false,
    reason: value === undefined ? NOT_REGISTERED_REASON : ASSUMED_UP_REASON,
    since: at,
    flapping: false,
    findings: [],
  };
}

function withHealth(s: ServerState, h: HealthInput): ServerState {
  return {
    ...s,
    up: h.up,
    checked: true,
    reason: h.reason,
    since: s.up !== h.up || !s.checked ? h.at : s.since,
    flapping: h.flapping ?? s.flapping,
    findings: h.findings ?? s.findings,
  };
}

function emptyCounters(): CoordinatorState['counters'] {
  return { couldNotDepool: 0, forcePooled: 0, depooled: 0, repooled: 0 };
}


/** Builds the pool's state at start: reuse known health, then ensure the threshold. */
export function createCoordinator(input: StartInput): Transition {
  const { service, admin, previous, health = {}, at } = input;
  const where = `start of ${servicePath(service)}`;
  checkThreshold(where, service.depoolThreshold);
  if (previous !== undefined) checkKey(`${where}: previous state`, service, previous);
  for (const host of Object.keys(admin)) checkAdmin(where, host, admin[host]);

  const hosts = new Set([...Object.keys(service.servers), ...Object.keys(admin)]);
  const servers = new Map<string, ServerState>();
  for (const host of [...hosts].sort()) {
    let s = newServer(host, at, own(admin, host), own(service.servers, host)?.weight);
    const prev = own(previous?.servers, host);
    const fresh = own(health, host);
    if (fresh !== undefined) s = withHealth(s, fresh);
    else if (prev !== undefined && s.registered) {
      s = {
        ...s,
        up: prev.up,
        checked: prev.reason !== ASSUMED_UP_REASON,
        reason: prev.reason,
        flapping: prev.flapping,
        findings: prev.findings,
        since: previous?.updatedAt ?? at,
      };
    }
    // A server pooled before the restart stays pooled while the threshold needs it (no flap); settle
    // depools it if it is down and the threshold allows.
    if (prev?.pooled === true && s.pooledAdmin === 'yes') s = { ...s, pooled: true };
    servers.set(host, s);
  }
  const settled = settle(servers, service.depoolThreshold);
  const state: CoordinatorState = {
    dc: service.dc,
    cluster: service.cluster,
    service: service.service,
    depoolThreshold: service.depoolThreshold,
    servers: settled.servers,
    pooledDown: settled.pooledDown,
    revision: (previous?.revision ?? 0) + 1,
    updatedAt: at,
    counters: emptyCounters(),
  };
  // Without a previous state the baseline is "the same servers, none pooled": effects then list what
  // got pooled, without a serverAdded per host.
  const baseline: DiffView =
    previous !== undefined
      ? { ...previous, servers: new Map(Object.keys(previous.servers).sort().map((h) => [h, previous.servers[h]])) }
      : {
          depoolThreshold: service.depoolThreshold,
          pooledDown: [],
          servers: new Map([...settled.servers].map(([h, s]) => [h, { ...s, pooled: false }])),
        };
  const effects = diffEffects(baseline, state, {
    name: poolName(service),
    announceAdded: previous !== undefined,
    alwaysReportUnmet: true,
  });
  return { state: { ...state, counters: countEffects(state.counters, effects) }, effects };
}

type Servers = ReadonlyMap<string, ServerState>;

function replaced(servers: Servers, host: string, s: ServerState): Map<string, ServerState> {
  return new Map(servers).set(host, s);
}

function applyAdmin(state: CoordinatorState, host: string, value: ConftoolValue | null, at: number): Servers | string {
  const cur = state.servers.get(host);
  if (value === null) {
    if (cur === undefined || !cur.registered) return `conftool entry of ${host} deleted, but it was not known`;
    if (cur.defined) {
      const reason = cur.checked ? cur.reason : NOT_REGISTERED_REASON;
      return replaced(state.servers, host, { ...cur, registered: false, pooledAdmin: 'inactive', reason });
    }
    const next = new Map(state.servers);
    next.delete(host);
    return next;
  }
  checkAdmin(`admin change in ${servicePath(state)}`, host, value);
  if (cur === undefined) return sortedMap(replaced(state.servers, host, newServer(host, at, value, undefined)));
  if (cur.registered && cur.pooledAdmin === value.pooled && cur.weight === value.weight) return state.servers;
  return replaced(state.servers, host, {
    ...cur,
    registered: true,
    pooledAdmin: value.pooled,
    weight: value.weight,
    reason: cur.checked ? cur.reason : ASSUMED_UP_REASON,
  });
}

function applyHealth(state: CoordinatorState, e: Extract<CoordinatorEvent, { type: 'healthChanged' }>): Servers | string {
  const cur = state.servers.get(e.host);
  if (cur === undefined) return `health of ${e.host}, which is not in pool ${servicePath(state)}`;
  const next = withHealth(cur, e);
  const same =
    cur.checked &&
    cur.up === next.up &&
    cur.reason === next.reason &&
    cur.flapping === next.flapping &&
    JSON.stringify(cur.findings) === JSON.stringify(next.findings);
  return same ? state.servers : replaced(state.servers, e.host, next);
}

function applyConfig(state: CoordinatorState, service: ServiceDef, at: number): Servers {
  const where = `config change of ${servicePath(state)}`;
  checkKey(where, state, service);
  checkThreshold(where, service.depoolThreshold);
  const next = new Map<string, ServerState>();
  let added = false;
  for (const [host, cur] of state.servers) {
    const def = own(service.servers, host);
    if (def === undefined && !cur.registered) continue; // neither defined nor in conftool: gone
    const weight = cur.registered ? cur.weight : (def?.weight ?? cur.weight);
    const defined = def !== undefined;
    next.set(host, cur.defined === defined && cur.weight === weight ? cur : { ...cur, defined, weight });
  }
  for (const host of Object.keys(service.servers)) {
    if (!next.has(host)) {
      next.set(host, newServer(host, at, undefined, service.servers[host].weight));
      added = true;
    }
  }
  return added ? sortedMap(next) : next;
}

function sameServers(a: Servers, b: Servers): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  const ib = b.entries();
  for (const [host, s] of a) {
    const [hb, sb] = ib.next().value as [string, ServerState];
    if (host !== hb || s !== sb) return false;
  }
  return true;
}

/** Applies one event. Throws CoordinatorInputError on invalid input; never mutates `state`. */
export function applyEvent(state: CoordinatorState, event: CoordinatorEvent): Transition {
  let servers: Servers | string;
  let threshold = state.depoolThreshold;
  let primary: string | undefined;
  switch (event.type) {
    case 'adminChanged':
      servers = applyAdmin(state, event.host, event.value, event.at);
      primary = event.host;
      break;
    case 'healthChanged':
      servers = applyHealth(state, event);
      primary = event.host;
      break;
    case 'configChanged':
      servers = applyConfig(state, event.service, event.at);
      threshold = event.service.depoolThreshold;
      break;
    default: {
      const never: never = event;
      throw new CoordinatorInputError(`unknown coordinator event ${JSON.stringify(never)}`, { event: never });
    }
  }
  if (typeof servers === 'string') return { state, effects: [{ kind: 'ignored', host: primary, reason: servers }] };

  const settled = settle(servers, threshold);
  const unchanged =
    threshold === state.depoolThreshold &&
    sameServers(settled.servers, state.servers) &&
    settled.pooledDown.join('\n') === state.pooledDown.join('\n');
  if (unchanged) return { state, effects: [] };

  const next: CoordinatorState = {
    ...state,
    depoolThreshold: threshold,
    servers: settled.servers,
    pooledDown: settled.pooledDown,
    revision: state.revision + 1,
    updatedAt: event.at,
  };
  const effects: CoordinatorEffect[] = diffEffects(state, next, { name: poolName(state), primary, announceAdded: true });
  return { state: { ...next, counters: countEffects(state.counters, effects) }, effects };
}

/** Convenience wrappers over applyEvent. */
export function adminChanged(state: CoordinatorState, host: string, value: ConftoolValue | null, at: number): Transition {
  return applyEvent(state, { type: 'adminChanged', host, value, at });
}

export function healthChanged(
  state: CoordinatorState,
  host: string,
  up: boolean,
  reason: string,
  at: number,
  extra: { flapping?: boolean; findings?: EffectiveServer['findings'] } = {},
): Transition {
  return applyEvent(state, { type: 'healthChanged', host, up, reason, at, ...extra });
}

export function configChanged(state: CoordinatorState, service: ServiceDef, at: number): Transition {
  return applyEvent(state, { type: 'configChanged', service, at });
}

/** PyBal's canDepool for the current state: another down server may leave the pool. */
export function canDepool(state: CoordinatorState): boolean {
  return canDepoolServers(state.servers.values(), state.depoolThreshold);
}

/**
 * The state to publish (/poold/v1/state, /pools). Includes hosts that are inactive or not in conftool
 * (pooledAdmin `inactive`); PyBal-compatible listings must leave those out.
 */
export function effectiveState(state: CoordinatorState): PoolState {
  const servers: Record<string, EffectiveServer> = {};
  for (const [host, s] of state.servers) {
    servers[host] = {
      pooledAdmin: s.pooledAdmin,
      enabled: s.pooledAdmin === 'yes',
      up: s.up,
      pooled: s.pooled,
      weight: s.weight,
      reason: s.reason,
      flapping: s.flapping,
      findings: s.findings,
    };
  }
  return {
    dc: state.dc,
    cluster: state.cluster,
    service: state.service,
    revision: state.revision,
    updatedAt: state.updatedAt,
    depoolThreshold: state.depoolThreshold,
    servers,
    pooledDown: [...state.pooledDown],
  };
}
