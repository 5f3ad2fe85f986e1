// A consistent read of pools and service definitions (one range each, at one revision), and the
// bridge from model/sync-plan's ServicePlan to the guarded ops writeAtomic commits, so that
// `poolctl sync` is: readServices → planSync → for each plan, writeAtomic(servicePlanOps(...)).
import { InvalidStoredValueError } from '../model/errors.js';
import type { CurrentService, ServicePlan } from '../model/sync-plan.js';
import { servicePath, type ConftoolValue, type ServiceKey } from '../model/types.js';
import { parseConftoolValue, serializeConftoolValue } from './conftool-value.js';
import type { Kv } from './kv.js';
import type { Keys } from './keys.js';
import type { AtomicOp } from './write.js';

export interface ServicesSnapshot {
  /** The revision both reads agree on (the pools read is pinned to the definitions read's revision). */
  revision: number;
  services: CurrentService[];
  /** Mod revision of every key read (host and definition keys), for guarded writes. */
  modRevisions: Map<string, number>;
}

/** Every host key of every service, parsed strictly (a garbage value is an InvalidStoredValueError naming its key). */
export async function readServices(kv: Kv, keys: Keys): Promise<ServicesSnapshot> {
  const defs = await kv.range({ key: keys.servicesPrefix(), prefix: true });
  const pools = await kv.range({ key: keys.poolsPrefix(), prefix: true, revision: defs.revision });
  const byPath = new Map<string, CurrentService>();
  const modRevisions = new Map<string, number>();
  const service = (k: ServiceKey): CurrentService => {
    const path = servicePath(k);
    let s = byPath.get(path);
    if (!s) {
      s = { key: { dc: k.dc, cluster: k.cluster, service: k.service }, def: null, hosts: {} };
      byPath.set(path, s);
    }
    return s;
  };
  for (const e of defs.kvs) {
    const k = keys.parseService(e.key);
    if (!k) continue; // not a service definition key (deeper path written by something else)
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
    service(k).def = def as Record<string, unknown>;
    modRevisions.set(e.key, e.modRevision);
  }
  for (const e of pools.kvs) {
    const k = keys.parseHost(e.key);
    if (!k) continue; // conftool keeps only host keys here; anything else is not ours to read
    service(k).hosts[k.host] = parseConftoolValue(e.key, e.value);
    modRevisions.set(e.key, e.modRevision);
  }
  const services = [...byPath.values()].sort((a, b) => (servicePath(a.key) < servicePath(b.key) ? -1 : 1));
  return { revision: defs.revision, services, modRevisions };
}

/**
 * The guarded ops for one service's sync plan: hosts are created only if still absent, and
 * the definition and removed hosts only change if untouched since `snapshot` was read.
 * Ordered for a write split into chunks (a service bigger than one etcd transaction): new hosts
 * before the definition that makes poold coordinate them (a new service appears whole), a deleted
 * definition before its hosts (a deleted service disappears at once).
 */
export function servicePlanOps(keys: Keys, plan: ServicePlan, snapshot: ServicesSnapshot): AtomicOp[] {
  const rev = (key: string) => snapshot.modRevisions.get(key) ?? 0;
  const ops: AtomicOp[] = [];
  const defKey = keys.service(plan.key);
  if (plan.defAction === 'delete') ops.push({ type: 'delete', key: defKey, ifModRevision: rev(defKey) });
  for (const c of plan.createHosts) {
    ops.push({ type: 'create', key: keys.host({ ...plan.key, host: c.host }), value: serializeConftoolValue(c.value) });
  }
  if (plan.defAction !== 'delete' && plan.putDef !== null) {
    ops.push({ type: 'put', key: defKey, value: JSON.stringify(plan.putDef), ifModRevision: rev(defKey) });
  }
  for (const h of plan.removeHosts) {
    const key = keys.host({ ...plan.key, host: h });
    ops.push({ type: 'delete', key, ifModRevision: rev(key) });
  }
  return ops;
}
