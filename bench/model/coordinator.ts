// Cost of the pure coordinator in large pools: start, one event per call (applyEvent copies the pool once
// per call), and a burst applied with applyEvents (one copy per batch, incremental settling per event).
//
//   npm run build && node dist/bench/model/coordinator.js [--sizes 12,1000,10000]
import { applyEvent, applyEvents, createCoordinator } from '../../src/model/coordinator.js';
import type { CoordinatorEvent } from '../../src/model/coordinator-types.js';
import type { ConftoolValue, ServiceDef } from '../../src/model/types.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function pool(n: number): { service: ServiceDef; admin: Record<string, ConftoolValue>; hosts: string[] } {
  const hosts = Array.from({ length: n }, (_, i) => `mw${String(i).padStart(5, '0')}.eqiad.wmnet`);
  const service: ServiceDef = {
    dc: 'eqiad',
    name: 'pool_80',
    catalog: 'pool',
    pool: { cluster: 'bench', service: 'pool' },
    lvs: { ip: '10.0.0.1', port: 80, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    depoolThreshold: 0.5,
    checks: [],
    flapping: { transitions: 6, windowMs: 600_000 },
    monitoring: {},
    servers: Object.fromEntries(hosts.map((h) => [h, { weight: 10 }])),
  };
  return { service, admin: Object.fromEntries(hosts.map((h) => [h, { weight: 10, pooled: 'yes' }])), hosts };
}

const rows: Record<string, number | string>[] = [];
for (const n of arg('--sizes', '12,1000,10000').split(',').map(Number)) {
  const { service, admin, hosts } = pool(n);
  let t0 = process.hrtime.bigint();
  let tr = createCoordinator({ at: 0, service, admin });
  const startMs = ms(t0);

  const single = Math.min(2000, Math.max(50, Math.floor(2_000_000 / n)));
  t0 = process.hrtime.bigint();
  for (let i = 0; i < single; i++) {
    tr = applyEvent(tr.state, { type: 'healthChanged', host: hosts[(i * 7) % n], up: i % 3 === 0, reason: 'bench', at: i + 1 });
  }
  const perEventUs = (ms(t0) * 1000) / single;

  const fresh = createCoordinator({ at: 0, service, admin });
  const burst: CoordinatorEvent[] = hosts.map((h, i) => ({ type: 'healthChanged', host: h, up: false, reason: 'refused', at: i + 1 }));
  t0 = process.hrtime.bigint();
  const all = applyEvents(fresh.state, burst);
  const burstMs = ms(t0);
  rows.push({
    servers: n,
    startMs: startMs.toFixed(1),
    applyEventUs: perEventUs.toFixed(1),
    allDownBurstMs: burstMs.toFixed(1),
    burstPerEventUs: ((burstMs * 1000) / n).toFixed(1),
    keptPooled: all.state.pooledDown.length,
  });
}
console.table(rows);
