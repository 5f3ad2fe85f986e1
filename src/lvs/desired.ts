// What the IPVS table should hold for the services an LVS host serves, derived from the service
// definitions (VIP, scheduler, method, server addresses) and the published pool states
// (which hosts are pooled, with which weight). Pure.
//
// Fail static: a service whose inputs are missing or suspicious is *skipped*, never emptied. The
// caller leaves a skipped service's virtual service exactly as it is in the kernel.
import type { PoolState, ServiceDef } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { LvsInputError } from './errors.js';
import { canonicalAddress, MAX_WEIGHT, sortTable, type RealServer, type VirtualService, type VsId } from './table.js';

export interface ServiceInput {
  def: ServiceDef;
  /** Absent when no state was ever published (or it could not be read). */
  state?: PoolState;
  /** Resolved addresses of hosts whose ServerDef has none (the agent resolves them; pure code cannot). */
  resolved?: Record<string, string>;
}

export interface SkippedService {
  service: string;
  vs?: VsId;
  reason: string;
}

export interface DesiredTable {
  services: VirtualService[];
  skipped: SkippedService[];
}

export function vsOfDef(def: ServiceDef): VsId {
  return { protocol: def.lvs.protocol, address: canonicalAddress(def.lvs.ip, `${servicePath(def)} lvs.ip`), port: def.lvs.port };
}

/**
 * True when the admins emptied the pool on purpose: every host is depooled (`no`) or decommissioned
 * (`inactive`). Only then may a virtual service lose its last real server. A state with no hosts at
 * all is not evidence of intent (it is what a broken sync looks like), so it does not count.
 */
export function emptiedByAdmins(state: PoolState): boolean {
  const hosts = Object.values(state.servers);
  return hosts.length > 0 && hosts.every((s) => s.pooledAdmin === 'no' || s.pooledAdmin === 'inactive');
}

function serviceFor(input: ServiceInput): VirtualService | SkippedService {
  const { def, state } = input;
  const name = servicePath(def);
  let vs: VsId;
  try {
    vs = vsOfDef(def);
  } catch (err) {
    return { service: name, reason: (err as Error).message };
  }
  if (!state) return { service: name, vs, reason: 'no pool state published' };
  const servers: RealServer[] = [];
  for (const host of Object.keys(state.servers).sort()) {
    const s = state.servers[host]!;
    if (!s.pooled) continue;
    const raw = def.servers[host]?.address ?? input.resolved?.[host];
    if (raw === undefined) return { service: name, vs, reason: `pooled host ${host} has no address (not in the service definition and not resolved)` };
    if (!Number.isInteger(s.weight) || s.weight < 0 || s.weight > MAX_WEIGHT) {
      return { service: name, vs, reason: `host ${host} has weight ${s.weight}, expected an integer 0..${MAX_WEIGHT}` };
    }
    let address: string;
    try {
      address = canonicalAddress(raw, `${name} host ${host} address`);
    } catch (err) {
      return { service: name, vs, reason: (err as Error).message };
    }
    if (servers.some((r) => r.address === address)) return { service: name, vs, reason: `two pooled hosts share address ${address}` };
    servers.push({ address, port: vs.port, method: def.lvs.method, weight: s.weight });
  }
  if (servers.length === 0 && !emptiedByAdmins(state)) {
    return { service: name, vs, reason: 'refusing to empty the pool: no host is pooled but the admins did not depool them all' };
  }
  return { ...vs, scheduler: def.lvs.scheduler, flags: [], servers };
}

export function buildDesired(inputs: readonly ServiceInput[]): DesiredTable {
  const services: VirtualService[] = [];
  const skipped: SkippedService[] = [];
  const seen = new Map<string, string>();
  for (const input of inputs) {
    if (input.state && servicePath(input.state) !== servicePath(input.def)) {
      throw new LvsInputError(`pool state ${servicePath(input.state)} given for service ${servicePath(input.def)}`, {});
    }
    const r = serviceFor(input);
    if ('reason' in r) {
      skipped.push(r);
      continue;
    }
    const key = `${r.protocol} ${r.address} ${r.port}`;
    const other = seen.get(key);
    if (other) {
      skipped.push({ service: servicePath(input.def), vs: r, reason: `virtual service ${key} is also defined by ${other}` });
      continue;
    }
    seen.set(key, servicePath(input.def));
    services.push(r);
  }
  return { services: sortTable({ services }).services, skipped };
}
