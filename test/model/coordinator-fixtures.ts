// Builders shared by the coordinator, guard and alerts tests.
import { applyEvent, createCoordinator } from '../../src/model/coordinator.js';
import type { CoordinatorEffect, CoordinatorEvent, CoordinatorState, Transition } from '../../src/model/coordinator-types.js';
import type { ConftoolValue, ServiceDef } from '../../src/model/types.js';

export const KEY = { dc: 'eqiad', name: 'cxserver' } as const;
export const POOL = { cluster: 'sca', service: 'cxserver' } as const;

export function service(hosts: readonly string[], depoolThreshold: number, weight = 10): ServiceDef {
  return {
    ...KEY,
    catalog: 'cxserver',
    pool: { ...POOL },
    lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    depoolThreshold,
    checks: [],
    flapping: { transitions: 6, windowMs: 600_000 },
    monitoring: {},
    servers: Object.fromEntries(hosts.map((h) => [h, { weight }])),
  };
}

export function yes(weight = 10): ConftoolValue {
  return { weight, pooled: 'yes' };
}

export function adminAll(hosts: readonly string[], value: ConftoolValue = yes()): Record<string, ConftoolValue> {
  return Object.fromEntries(hosts.map((h) => [h, { ...value }]));
}

/** A started pool where every host is registered with pooled=yes and has no health result yet. */
export function startPool(hosts: readonly string[], threshold: number): Transition {
  return createCoordinator({ at: 0, service: service(hosts, threshold), admin: adminAll(hosts) });
}

export function down(host: string, at = 1, reason = 'refused'): CoordinatorEvent {
  return { type: 'healthChanged', host, up: false, reason, at };
}

export function up(host: string, at = 1, reason = 'ok'): CoordinatorEvent {
  return { type: 'healthChanged', host, up: true, reason, at };
}

export function run(state: CoordinatorState, events: readonly CoordinatorEvent[]): Transition {
  let tr: Transition = { state, effects: [] };
  for (const e of events) tr = applyEvent(tr.state, e);
  return tr;
}

export function pooledHosts(state: CoordinatorState): string[] {
  return [...state.servers.keys()].filter((h) => state.servers.get(h)!.pooled);
}

/** Effects without the threshold numbers, for compact exact comparisons. */
export function kinds(effects: readonly CoordinatorEffect[]): string[] {
  return effects.map((e) => ('host' in e && e.host !== undefined ? `${e.kind} ${e.host}` : e.kind));
}

/** cp1045.eqiad.wmnet .. style names, sorted. */
export function hostNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `cp${1045 + i}.eqiad.wmnet`);
}

/** What `fn` throws (undefined when it returns), for asserting on an error's message and context. */
export function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
