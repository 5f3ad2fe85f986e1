// A consistent read of pools and service definitions (one range each, at one revision), and the
// bridge from model/sync-plan's ServicePlan to the guarded ops writeAtomic commits, so that
// `poolctl sync` is: readServices → planSync → writeAtomic(poolPlanOps(...)) per pool, then writeAtomic(serviceDefOps(...)).
import { InvalidStoredValueError } from '../model/errors.js';
import type { CurrentPool, CurrentService, CurrentState, PoolPlan, ServicePlan } from '../model/sync-plan.js';
import { decodePoolList, encodePoolList } from './decode.js';
import { poolPath, servicePath, type PoolKey } from '../model/types.js';
import { parseConftoolValue, serializeConftoolValue } from './conftool-value.js';
import type { Kv } from './kv.js';
import type { Keys } from './keys.js';
import type { AtomicOp } from './write.js';

export interface ServicesSnapshot {
  /** The revision both reads agree on (the pools read is pinned to the definitions read's revision). */
  revision: number;
  current: CurrentState;
  /** Mod revision of every key read (host and definition keys), for guarded writes. */
  modRevisions: Map<string, number>;
}

/**
 * Every LVS service definition, pool server list and conftool host key, parsed strictly (a garbage
 * definition or host value is an InvalidStoredValueError naming its key; a garbage list is rewritten).
 */
export async function readServices(kv: Kv, keys: Keys): Promise<ServicesSnapshot> {
  const defs = await kv.range({ key: keys.servicesPrefix(), prefix: true });
  const hostKvs = await kv.range({ key: keys.poolsPrefix(), prefix: true, revision: defs.revision });
  const services: CurrentService[] = [];
  const pools = new Map<string, CurrentPool>();
  const modRevisions = new Map<string, number>();
  const poolOf = (pool: PoolKey): CurrentPool => {
    const path = poolPath(pool);
    let p = pools.get(path);
    if (p === undefined) pools.set(path, (p = { key: pool, hosts: {} }));
    return p;
  };
  for (const e of defs.kvs) {
    const pk = keys.parsePoolList(e.key);
    if (pk !== undefined) {
      // Sync rewrites a list it cannot read (pools/ holds the whole list), so it need not stop on one.
      try {
        poolOf(pk).list = decodePoolList(e.key, e.value, pk);
      } catch (err) {
        if (!(err instanceof InvalidStoredValueError)) throw err;
        poolOf(pk).list = 'unreadable';
      }
      modRevisions.set(e.key, e.modRevision);
      continue;
    }
    const k = keys.parseService(e.key);
    if (!k) continue; // not a service definition key (deeper path written by something else, or an older layout)
    let def: unknown;
    try {
      def = JSON.parse(e.value);
    } catch (err) {
      throw new InvalidStoredValueError(`invalid service definition at ${e.key}: not JSON (${(err as Error).message}); re-run poolctl sync after deleting it`,
        { key: e.key }, { cause: err });
    }
    if (def === null || typeof def !== 'object' || Array.isArray(def)) {
      throw new InvalidStoredValueError(`invalid service definition at ${e.key}: expected a JSON object`, { key: e.key });
    }
    services.push({ key: k, def: def as Record<string, unknown> });
    modRevisions.set(e.key, e.modRevision);
  }
  for (const e of hostKvs.kvs) {
    const k = keys.parseHost(e.key);
    if (!k) continue; // conftool keeps only host keys here; anything else is not ours to read
    poolOf({ dc: k.dc, cluster: k.cluster, service: k.service }).hosts[k.host] = parseConftoolValue(e.key, e.value);
    modRevisions.set(e.key, e.modRevision);
  }
  services.sort((a, b) => (servicePath(a.key) < servicePath(b.key) ? -1 : 1));
  return { revision: defs.revision, current: { services, pools: [...pools.values()] }, modRevisions };
}

/** The guarded ops for the definitions of a sync plan: each changes only if untouched since `snapshot` was read. */
export function serviceDefOps(keys: Keys, plans: readonly ServicePlan[], snapshot: ServicesSnapshot): AtomicOp[] {
  const rev = (key: string) => snapshot.modRevisions.get(key) ?? 0;
  const ops: AtomicOp[] = [];
  for (const plan of plans) {
    const defKey = keys.service(plan.key);
    if (plan.defAction === 'delete') ops.push({ type: 'delete', key: defKey, ifModRevision: rev(defKey) });
    else if (plan.putDef !== null) ops.push({ type: 'put', key: defKey, value: JSON.stringify(plan.putDef), ifModRevision: rev(defKey) });
  }
  return ops;
}

/**
 * The guarded ops for one pool's hosts and server list (sync writes deleted definitions, then these,
 * then the other definitions): hosts are created only if still absent, removed hosts and the list
 * only change if untouched since `snapshot` was read. The list comes last, so a definition never
 * names a server whose conftool key is not there yet.
 */
export function poolPlanOps(keys: Keys, plan: PoolPlan, snapshot: ServicesSnapshot): AtomicOp[] {
  const rev = (key: string) => snapshot.modRevisions.get(key) ?? 0;
  const ops: AtomicOp[] = [];
  for (const c of plan.createHosts) {
    ops.push({ type: 'create', key: keys.host({ ...plan.key, host: c.host }), value: serializeConftoolValue(c.value) });
  }
  for (const h of plan.removeHosts) {
    const key = keys.host({ ...plan.key, host: h });
    ops.push({ type: 'delete', key, ifModRevision: rev(key) });
  }
  const listKey = keys.poolList(plan.key);
  if (plan.putList !== null) ops.push({ type: 'put', key: listKey, value: encodePoolList(plan.key, plan.putList), ifModRevision: rev(listKey) });
  if (plan.deleteList) ops.push({ type: 'delete', key: listKey, ifModRevision: rev(listKey) });
  return ops;
}
