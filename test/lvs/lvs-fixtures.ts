// Small builders for ServiceDefs and PoolStates used by the LVS tests.
import type { EffectiveServer, LvsDef, PoolState, ServiceDef } from '../../src/model/types.js';

export function serviceDef(over: { service?: string; lvs?: Partial<LvsDef>; servers?: Record<string, string | undefined> } = {}): ServiceDef {
  const servers = over.servers ?? { 'sca1001.eqiad.wmnet': '10.64.0.1', 'sca1002.eqiad.wmnet': '10.64.0.2', 'sca1003.eqiad.wmnet': '10.64.0.3' };
  return {
    dc: 'eqiad',
    name: over.service ?? 'cxserver',
    catalog: over.service ?? 'cxserver',
    pool: { cluster: 'sca', service: over.service ?? 'cxserver' },
    lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g', ...over.lvs },
    depoolThreshold: 0.5,
    checks: [],
    flapping: { transitions: 6, windowMs: 600_000 },
    monitoring: {},
    servers: Object.fromEntries(Object.entries(servers).map(([h, a]) => [h, a === undefined ? { weight: 10 } : { weight: 10, address: a }])),
  };
}

export function effective(over: Partial<EffectiveServer> = {}): EffectiveServer {
  const pooledAdmin = over.pooledAdmin ?? 'yes';
  const enabled = pooledAdmin === 'yes';
  return { pooledAdmin, enabled, up: true, pooled: enabled, weight: 10, reason: 'ok', flapping: false, findings: [], ...over };
}

export function poolState(def: ServiceDef, servers: Record<string, Partial<EffectiveServer>>, revision = 1): PoolState {
  return {
    dc: def.dc,
    name: def.name,
    pool: { ...def.pool },
    revision,
    updatedAt: 0,
    depoolThreshold: def.depoolThreshold,
    pooledDown: [],
    servers: Object.fromEntries(Object.entries(servers).map(([h, s]) => [h, effective(s)])),
  };
}
