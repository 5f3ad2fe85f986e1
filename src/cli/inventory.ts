// A snapshot of what etcd holds about pools, read with three range requests: conftool hosts,
// LVS service definitions and published effective state. Commands resolve their targets against it.
import { NotFoundError, UsageError } from '../model/errors.js';
import { matchHostName, parseSelectorWithNotes, selectorMatches, type Selector } from '../model/selector.js';
import type { ConftoolValue, HostKey, PoolKey, PoolState, ServiceKey } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { parseConftoolValue } from '../store/conftool-value.js';
import { decodePoolState } from '../store/decode.js';
import { obj, parseJson } from '../store/decode-fields.js';
import type { CliContext } from './context.js';

export interface HostEntry extends HostKey {
  key: string;
  /** null when the stored value is unusable; `invalid` says why. */
  value: ConftoolValue | null;
  invalid?: string;
  modRevision: number;
}

export interface Inventory {
  hosts: HostEntry[];
  /** Stored LVS service definitions (JSON as written by sync), by dc/name. */
  services: Map<string, Record<string, unknown>>;
  /** Published effective state, by dc/name. */
  states: Map<string, PoolState>;
  revision: number;
}

export async function readInventory(ctx: CliContext): Promise<Inventory> {
  const [pools, services, states] = await Promise.all([
    ctx.kv.range({ key: ctx.keys.poolsPrefix(), prefix: true }),
    ctx.kv.range({ key: ctx.keys.servicesPrefix(), prefix: true }),
    ctx.kv.range({ key: ctx.keys.statePrefix(), prefix: true }),
  ]);
  const hosts: HostEntry[] = [];
  for (const e of pools.kvs) {
    const hk = ctx.keys.parseHost(e.key);
    if (hk === undefined) continue; // not a host key (conftool keeps other objects under pools/ too)
    try {
      hosts.push({ ...hk, key: e.key, value: parseConftoolValue(e.key, e.value), modRevision: e.modRevision });
    } catch (err) {
      hosts.push({ ...hk, key: e.key, value: null, invalid: (err as Error).message, modRevision: e.modRevision });
    }
  }
  const svcMap = new Map<string, Record<string, unknown>>();
  for (const e of services.kvs) {
    const sk = ctx.keys.parseService(e.key);
    if (sk === undefined) continue;
    try {
      // Raw: the guard reads only threshold and pool, and must still see a definition the daemon
      // rejected (the daemon keeps running its last good one).
      svcMap.set(servicePath(sk), obj(parseJson(e.value, e.key), e.key));
    } catch (err) {
      ctx.out.warn(`ignoring unreadable service definition at ${e.key}: ${(err as Error).message}`);
    }
  }
  const stateMap = new Map<string, PoolState>();
  for (const e of states.kvs) {
    const sk = ctx.keys.parseState(e.key);
    if (sk === undefined) continue;
    try {
      stateMap.set(servicePath(sk), decodePoolState(e.key, e.value, sk));
    } catch (err) {
      ctx.out.warn(`ignoring unreadable published state at ${e.key}: ${(err as Error).message}`);
    }
  }
  return { hosts, services: svcMap, states: stateMap, revision: pools.revision };
}

/**
 * `--service` accepts a selector (`service=cx.*,dc=eqiad`), a path `dc/cluster/service`, or a bare
 * service name.
 */
export function parseServiceFilter(text: string | undefined): Selector | undefined {
  if (text === undefined) return undefined;
  if (text.includes('=')) {
    const { selector, notes } = parseSelectorWithNotes(text);
    // Notes (conftool's surprising readings) go to stderr like every warning, before any write.
    for (const n of notes) process.stderr.write(`${n}\n`);
    return selector;
  }
  const parts = text.split('/');
  const lit = (s: string) => new RegExp(`^${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  if (parts.length === 1) return { service: lit(parts[0]) };
  if (parts.length === 3) return { dc: lit(parts[0]), cluster: lit(parts[1]), service: lit(parts[2]) };
  throw new UsageError(`bad --service '${text}': use a service name, dc/cluster/service, or a selector like service=cxserver,dc=eqiad`);
}

/** The host entries a host name (FQDN or unambiguous short name) refers to, in every matching pool. */
export function resolveHost(inv: Inventory, name: string, filter?: Selector): HostEntry[] {
  const inScope = filter === undefined ? inv.hosts : inv.hosts.filter((h) => selectorMatches(filter, h));
  const match = matchHostName(name, inScope.map((h) => h.host));
  if (match.kind === 'ambiguous') {
    throw new NotFoundError(`host name '${name}' is ambiguous; use the FQDN: ${match.candidates.join(', ')}`, { candidates: match.candidates });
  }
  if (match.kind === 'none') {
    const where = filter === undefined ? 'in any pool' : 'in the pools matching --service';
    throw new NotFoundError(`no host '${name}' ${where}; check the name with 'poolctl select name=.* get' or run 'poolctl sync'`, { host: name });
  }
  return inScope.filter((h) => match.hosts.includes(h.host)).sort(byKey);
}

export function selectHosts(inv: Inventory, sel: Selector, text: string): HostEntry[] {
  const found = inv.hosts.filter((h) => selectorMatches(sel, h)).sort(byKey);
  if (found.length === 0) throw new NotFoundError(`selector '${text}' matched no host`, { selector: text });
  return found;
}

/** Every host of one conftool pool, for threshold arithmetic. */
export function poolMembers(inv: Inventory, k: PoolKey): HostEntry[] {
  return inv.hosts.filter((h) => h.dc === k.dc && h.cluster === k.cluster && h.service === k.service);
}

/** The stored LVS service definitions that name a conftool pool, in name order. */
export function servicesOverPool(inv: Inventory, k: PoolKey): { key: ServiceKey; def: Record<string, unknown> }[] {
  const out: { key: ServiceKey; def: Record<string, unknown> }[] = [];
  for (const [path, def] of inv.services) {
    const pool = def.pool as { cluster?: unknown; service?: unknown } | undefined;
    if (pool === null || typeof pool !== 'object' || pool.cluster !== k.cluster || pool.service !== k.service) continue;
    const slash = path.indexOf('/');
    const key = { dc: path.slice(0, slash), name: path.slice(slash + 1) };
    if (key.dc === k.dc) out.push({ key, def });
  }
  return out.sort((a, b) => (a.key.name < b.key.name ? -1 : a.key.name > b.key.name ? 1 : 0));
}

export function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
