// ServiceDefs for monitoring/pybal tests, built the way the pools/ loader normalizes them.
import type { HttpCheckDef, ServiceDef } from '../../src/model/types.js';
import { httpCheckDef } from '../helpers/defs.js';

export function httpCheck(over: Partial<HttpCheckDef> = {}): HttpCheckDef {
  return httpCheckDef({ timeoutMs: 5000, intervalMs: 2000, rise: 2, fall: 2, host: 'cxserver.svc.eqiad.wmnet', ...over });
}

export function cxserver(over: Partial<ServiceDef> = {}): ServiceDef {
  return {
    dc: 'eqiad',
    name: 'cxserver',
    catalog: 'cxserver',
    pool: { cluster: 'sca', service: 'cxserver' },
    lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    depoolThreshold: 0.5,
    checks: [httpCheck()],
    flapping: { transitions: 6, windowMs: 600_000 },
    monitoring: {},
    servers: {
      'sca1001.eqiad.wmnet': { weight: 10, address: '127.0.0.11' },
      'sca1002.eqiad.wmnet': { weight: 10 },
    },
    ...over,
  };
}

export function parsoid(over: Partial<ServiceDef> = {}): ServiceDef {
  return cxserver({
    name: 'parsoid',
    catalog: 'parsoid',
    pool: { cluster: 'parsoid', service: 'parsoid' },
    lvs: { ip: '10.2.2.28', port: 8000, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    depoolThreshold: 0.6,
    checks: [
      httpCheck({ host: 'parsoid.svc.eqiad.wmnet', urls: ['/', '/en.wikipedia.org/v3/page/html/Main_Page'], checkAll: true, maxFailures: 1, timeoutMs: 3000 }),
      { kind: 'idle-connection', name: 'idle', timeoutMs: 5000, intervalMs: 10000, rise: 1, fall: 1, reconnectTimeoutMs: 3000 },
    ],
    servers: { 'wtp1001.eqiad.wmnet': { weight: 15 }, 'wtp1002.eqiad.wmnet': { weight: 15 }, 'wtp1003.eqiad.wmnet': { weight: 10 } },
    ...over,
  });
}
