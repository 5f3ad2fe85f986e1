// Pools and results for the API tests. A 4-server cxserver pool covers every PyBal status word:
//   sca1001  enabled/up/pooled
//   sca1002  disabled/up/not pooled           (admin pooled=no)
//   sca1003  enabled/partially up/pooled      (one of two checks up; kept pooled by the threshold)
//   sca1004  enabled/down/not pooled          (both checks down)
//   sca1005  inactive                         (decommissioned: not part of PyBal's pool)
import type { CheckResult, EffectiveServer, PoolState, ServiceDef, ServiceKey } from '../../src/model/types.js';
import { PoolView } from '../../src/api/state-view.js';
import type { PoolMetrics } from '../../src/api/metrics.js';
import { httpCheckDef } from '../helpers/defs.js';

export const CX: ServiceKey = { dc: 'eqiad', name: 'cxserver' };
/** Every fixture LVS service draws from a conftool pool named like it, in cluster sca. */
export const poolRefOf = (key: ServiceKey) => ({ cluster: 'sca', service: key.name });

export function server(over: Partial<EffectiveServer> = {}): EffectiveServer {
  return {
    pooledAdmin: 'yes',
    enabled: true,
    up: true,
    pooled: true,
    weight: 10,
    reason: 'ok',
    flapping: false,
    findings: [],
    ...over,
  };
}

export function serviceDef(key: ServiceKey, hosts: string[], threshold = 0.5): ServiceDef {
  return {
    ...key,
    catalog: key.name,
    pool: poolRefOf(key),
    lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    depoolThreshold: threshold,
    checks: [
      { kind: 'tcp', name: 'tcp', timeoutMs: 5000, intervalMs: 2000, rise: 2, fall: 2 },
      httpCheckDef({ name: 'info', timeoutMs: 5000, intervalMs: 2000, rise: 2, fall: 2 }),
    ],
    flapping: { transitions: 6, windowMs: 600_000 },
    monitoring: {},
    servers: Object.fromEntries(hosts.map((h) => [h, { weight: 10 }])),
  };
}

export function result(up: boolean, over: Partial<CheckResult> = {}): CheckResult {
  return {
    up,
    code: up ? 'ok' : 'refused',
    message: up ? 'ok' : 'connection refused',
    timings: { connectMs: 1, totalMs: up ? 12 : 3 },
    findings: [],
    ...over,
  };
}

export function cxState(revision = 1, over: Record<string, Partial<EffectiveServer>> = {}): PoolState {
  const servers: Record<string, EffectiveServer> = {
    'sca1001.eqiad.wmnet': server(),
    'sca1002.eqiad.wmnet': server({ pooledAdmin: 'no', enabled: false, pooled: false }),
    'sca1003.eqiad.wmnet': server({ up: false, reason: 'info: status 404 (expected 200)' }),
    'sca1004.eqiad.wmnet': server({ up: false, pooled: false, reason: 'tcp: connection refused' }),
    'sca1005.eqiad.wmnet': server({ pooledAdmin: 'inactive', enabled: false, up: false, pooled: false }),
  };
  for (const [h, o] of Object.entries(over)) servers[h] = { ...servers[h], ...o };
  return {
    ...CX,
    pool: poolRefOf(CX),
    revision,
    updatedAt: 1_700_000_000_000,
    depoolThreshold: 0.5,
    servers,
    pooledDown: Object.keys(servers).filter((h) => servers[h].pooled && !servers[h].up),
  };
}

/** A view holding the cxserver pool, with this instance's verdicts making sca1003 partially up. */
export function cxView(options: { metrics?: PoolMetrics; now?: () => number; dcs?: string[] } = {}): PoolView {
  const view = new PoolView(options);
  const hosts = Object.keys(cxState().servers);
  view.setService(serviceDef(CX, hosts));
  view.setState(cxState());
  const at = 1_700_000_000_000;
  for (const h of ['sca1001.eqiad.wmnet', 'sca1002.eqiad.wmnet']) {
    view.setVerdict({ ...CX, host: h }, 'tcp', result(true), at);
    view.setVerdict({ ...CX, host: h }, 'info', result(true), at);
  }
  view.setVerdict({ ...CX, host: 'sca1003.eqiad.wmnet' }, 'tcp', result(true), at);
  view.setVerdict(
    { ...CX, host: 'sca1003.eqiad.wmnet' },
    'info',
    result(false, { code: 'status', message: 'status 404 (expected 200)', timings: { connectMs: 1, firstByteMs: 4, totalMs: 5 } }),
    at,
  );
  view.setVerdict({ ...CX, host: 'sca1004.eqiad.wmnet' }, 'tcp', result(false), at);
  view.setVerdict({ ...CX, host: 'sca1004.eqiad.wmnet' }, 'info', result(false), at);
  return view;
}

/** A healthy pool of `n` enabled, up, pooled servers. */
export function healthyState(key: ServiceKey, hosts: string[], threshold = 0.5, revision = 1): PoolState {
  return {
    ...key,
    pool: poolRefOf(key),
    revision,
    updatedAt: 1_700_000_000_000,
    depoolThreshold: threshold,
    servers: Object.fromEntries(hosts.map((h) => [h, server()])),
    pooledDown: [],
  };
}
