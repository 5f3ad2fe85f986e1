// What the leader's tests against a real etcd share: LVS services without checks over a pool of
// their own, the daemon's data with every host pooled, and a Kv that records its transactions.
import { DaemonData } from '../../src/daemon/data.js';
import type { Kv, TxnRequest } from '../../src/store/kv.js';
import { poolOf, poolPath, servicePath, type ServiceDef } from '../../src/model/types.js';

/** eqiad/`name` over pool cl/`name`, with `hosts` hosts `<name>-backend-NNN.eqiad.wmnet` and no checks. */
export function checklessDef(name: string, hosts: number, depoolThreshold = 0.5): ServiceDef {
  return {
    dc: 'eqiad', name, catalog: name, pool: { cluster: 'cl', service: name },
    lvs: { ip: '10.2.2.18', port: 8080, protocol: 'tcp', scheduler: 'wrr', method: 'g' },
    depoolThreshold,
    checks: [],
    flapping: { transitions: 6, windowMs: 600_000 },
    monitoring: {},
    servers: Object.fromEntries(Array.from({ length: hosts }, (_, h) => [`${name}-backend-${String(h).padStart(3, '0')}.eqiad.wmnet`, { weight: 10 }])),
  };
}

/** The daemon's data for `defs`, every host pooled at weight 10. */
export function pooledData(defs: readonly ServiceDef[]): DaemonData {
  const data = new DaemonData();
  for (const d of defs) {
    data.setService(servicePath(d), d);
    data.admin.set(poolPath(poolOf(d)), new Map(Object.keys(d.servers).map((h) => [h, { weight: 10, pooled: 'yes' as const }])));
  }
  return data;
}

/** `kv`, recording every transaction it is asked for and how many were in flight at most. */
export function recordingKv(kv: Kv): { kv: Kv; txns: TxnRequest[]; maxInFlight: () => number } {
  const txns: TxnRequest[] = [];
  let inFlight = 0;
  let max = 0;
  const txn = async (r: TxnRequest) => {
    txns.push(r);
    max = Math.max(max, ++inFlight);
    try {
      return await kv.txn(r);
    } finally {
      inFlight--;
    }
  };
  return { txns, maxInFlight: () => max, kv: { user: kv.user, range: (r) => kv.range(r), get: (k) => kv.get(k), txn, close: async () => {} } };
}
