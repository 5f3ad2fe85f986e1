// Applies pools/ definitions to etcd (poolctl sync, and poold at start): one transaction per service,
// creating missing hosts, never touching operators' pooled/weight, removing hosts only when every
// pools file parsed. Planning is pure (model/sync-plan); this file reads and writes.
import { ConfigError, type ConfigProblem } from '../model/errors.js';
import { describePlan, planIsEmpty, planSync, type CurrentService, type ServicePlan } from '../model/sync-plan.js';
import type { Pooled, ServiceDef } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { parseStoredObject, serializeConftoolValue, validateConftoolValue } from './conftool-value.js';
import { ConflictError } from './errors.js';
import type { Keys } from './keys.js';
import type { Kv } from './kv.js';
import { writeAtomic, type AtomicOp } from './write.js';

export interface SyncRequest {
  /** What the loader returned. Any problem refuses the whole sync: nothing is written. */
  services: ServiceDef[];
  problems: ConfigProblem[];
}

export interface SyncOptions {
  keys: Keys;
  actor: string;
  reason: string;
  dryRun: boolean;
  newHostPooled: Pooled;
}

export interface SyncReport {
  dryRun: boolean;
  plans: ServicePlan[];
  lines: string[];
  /** Revision of each service's transaction. */
  written: { service: string; revision: number }[];
}

interface CurrentRead {
  current: CurrentService[];
  /** mod revision per key, for the plan's compare-and-swap guards. */
  revisions: Map<string, number>;
}

async function readCurrent(kv: Kv, keys: Keys): Promise<CurrentRead> {
  const [pools, services] = await Promise.all([
    kv.range({ key: keys.poolsPrefix(), prefix: true }),
    kv.range({ key: keys.servicesPrefix(), prefix: true }),
  ]);
  const byPath = new Map<string, CurrentService>();
  const revisions = new Map<string, number>();
  for (const e of services.kvs) {
    const sk = keys.parseService(e.key);
    if (sk === undefined) continue;
    revisions.set(e.key, e.modRevision);
    byPath.set(servicePath(sk), { key: sk, def: parseStoredObject(e.key, e.value), hosts: {} });
  }
  for (const e of pools.kvs) {
    const hk = keys.parseHost(e.key);
    if (hk === undefined) continue;
    revisions.set(e.key, e.modRevision);
    const path = servicePath(hk);
    const entry = byPath.get(path) ?? { key: { dc: hk.dc, cluster: hk.cluster, service: hk.service }, def: null, hosts: {} };
    byPath.set(path, entry);
    // A garbage value another tool wrote is reported, not silently replaced: sync never overwrites hosts.
    entry.hosts[hk.host] = validateConftoolValue(e.key, parseStoredObject(e.key, e.value));
  }
  return { current: [...byPath.values()], revisions };
}

function opsFor(plan: ServicePlan, keys: Keys, revisions: Map<string, number>): AtomicOp[] {
  const ops: AtomicOp[] = [];
  const svcKey = keys.service(plan.key);
  const rev = revisions.get(svcKey) ?? 0;
  if (plan.defAction === 'create' && plan.putDef) ops.push({ type: 'create', key: svcKey, value: JSON.stringify(plan.putDef) });
  if (plan.defAction === 'update' && plan.putDef) ops.push({ type: 'put', key: svcKey, value: JSON.stringify(plan.putDef), ifModRevision: rev });
  if (plan.defAction === 'delete') ops.push({ type: 'delete', key: svcKey, ifModRevision: rev });
  for (const c of plan.createHosts) {
    ops.push({ type: 'create', key: keys.host({ ...plan.key, host: c.host }), value: serializeConftoolValue(c.value) });
  }
  for (const h of plan.removeHosts) {
    const key = keys.host({ ...plan.key, host: h });
    ops.push({ type: 'delete', key, ifModRevision: revisions.get(key) ?? 0 });
  }
  return ops;
}

export async function syncServices(kv: Kv, req: SyncRequest, opts: SyncOptions): Promise<SyncReport> {
  if (req.problems.length > 0) throw new ConfigError(req.problems);
  for (let attempt = 1; ; attempt++) {
    const { current, revisions } = await readCurrent(kv, opts.keys);
    const plans = planSync(req.services, current, { newHostPooled: opts.newHostPooled });
    const lines = plans.flatMap(describePlan);
    if (opts.dryRun) return { dryRun: true, plans, lines, written: [] };
    const written: SyncReport['written'] = [];
    try {
      for (const plan of plans) {
        if (planIsEmpty(plan)) continue;
        const r = await writeAtomic(kv, opsFor(plan, opts.keys, revisions), { keys: opts.keys, actor: opts.actor, reason: opts.reason });
        written.push({ service: servicePath(plan.key), revision: r.revision });
      }
      return { dryRun: false, plans, lines, written };
    } catch (err) {
      // Someone changed a service while we planned it: plan again from a fresh read. Services already
      // written are then no-ops, so each service still lands in exactly one transaction.
      if (!(err instanceof ConflictError) || attempt >= 5) throw err;
    }
  }
}
