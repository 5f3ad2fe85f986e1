// A snapshot of what etcd holds about pools: conftool hosts and LVS service definitions, read with two
// range requests, and published effective state. Commands resolve their targets against it.
//
// Published state is the largest part (every host of every section, with reasons: several MB at
// Wikimedia's eqiad), and a change to one host needs only the sections over that host's pools. The
// threshold guard needs less still: which hosts each of those sections has not serving, which every
// state's header says (loadServingOverPools: 44 small headers for a kubesvc host, in one read). Whole
// states are read for those sections only when needed (loadStatesOverPools: a --force depool looks for
// the daemon's holds). A state that was not read cannot be mistaken for an unpublished one: stateOf and
// servingOf throw.
import { NotFoundError, PooldError, UsageError } from '../model/errors.js';
import { matchHostName, parseSelectorWithNotes, selectorMatches, type Selector } from '../model/selector.js';
import type { ConftoolValue, HostKey, PoolKey, PoolState, ServiceKey } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { parseConftoolValue } from '../store/conftool-value.js';
import { decodeAssembledState, decodeServingView } from '../store/decode.js';
import { getMany } from '../store/get-many.js';
import { servingView, type ServingView } from '../model/threshold-guard.js';
import { readAssembledStates, type AssembledState } from '../store/state-layout.js';
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
  /** Published effective state, by dc/name, of the sections read so far (use stateOf). */
  states: Map<string, PoolState>;
  /** Which sections' states were read: 'all', or these dc/name paths (published or not). */
  statesRead: 'all' | Set<string>;
  /** The guard's view of sections whose header alone was read (null: not published). */
  serving: Map<string, ServingView | null>;
  revision: number;
}

export interface ReadInventoryOptions {
  /** 'all' reads every published state now; 'on-demand' (default) none until loadStatesOverPools. */
  states?: 'all' | 'on-demand';
}

/** A state was asked for that the inventory never read: a bug in the caller, never "unpublished". */
export class StateNotReadError extends PooldError {}

export async function readInventory(ctx: CliContext, opts: ReadInventoryOptions = {}): Promise<Inventory> {
  const all = opts.states === 'all';
  const [pools, services, states] = await Promise.all([
    ctx.kv.range({ key: ctx.keys.poolsPrefix(), prefix: true }),
    // The definitions without the pools' server lists: the guard reads a definition's pool and threshold.
    ctx.kv.range(ctx.keys.definitionsRange()),
    all ? readAssembledStates(ctx.kv, ctx.keys) : Promise.resolve([]),
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
  const inv: Inventory = { hosts, services: svcMap, states: new Map(), statesRead: all ? 'all' : new Set(), serving: new Map(), revision: pools.revision };
  for (const a of states) addState(ctx, inv, a);
  return inv;
}

function addState(ctx: CliContext, inv: Inventory, a: AssembledState): void {
  try {
    inv.states.set(a.path, decodeAssembledState(a));
  } catch (err) {
    ctx.out.warn(`ignoring unreadable published state at ${a.headerKey}: ${(err as Error).message}`);
  }
}

/** Reads the published state of every LVS service over the pools of these hosts (those not read yet). */
export async function loadStatesOverPools(ctx: CliContext, inv: Inventory, hosts: readonly PoolKey[]): Promise<void> {
  if (inv.statesRead === 'all') return;
  const read = inv.statesRead;
  const pools = new Map(hosts.map((h) => [`${h.dc}/${h.cluster}/${h.service}`, h]));
  const want = [...pools.values()].flatMap((p) => servicesOverPool(inv, p).map((s) => s.key)).filter((k) => !read.has(servicePath(k)));
  // One range per section (its header and server keys at one revision), all at once: 44 sections
  // over kubesvc at eqiad, multiplexed on one connection.
  const got = await readAssembledStates(ctx.kv, ctx.keys, want);
  for (const k of want) read.add(servicePath(k));
  for (const a of got) addState(ctx, inv, a);
}

/**
 * The guard's view of every LVS service over the pools of these hosts: from each one's header, all in
 * one read (one transaction of gets, at one revision).
 */
export async function loadServingOverPools(ctx: CliContext, inv: Inventory, hosts: readonly PoolKey[]): Promise<void> {
  const pools = new Map(hosts.map((h) => [`${h.dc}/${h.cluster}/${h.service}`, h]));
  const read = inv.statesRead;
  const want = [...pools.values()].flatMap((p) => servicesOverPool(inv, p).map((s) => s.key))
    .filter((k) => read !== 'all' && !read.has(servicePath(k)) && !inv.serving.has(servicePath(k)));
  const got = (await getMany(ctx.kv, want.map((k) => ctx.keys.state(k)))).entries;
  want.forEach((k, i) => {
    const e = got[i];
    let view: ServingView | null = null;
    if (e !== undefined) {
      try {
        view = decodeServingView(e.key, e.value, k);
      } catch (err) {
        // As an unreadable whole state: warned about, and the guard falls back to admin state.
        ctx.out.warn(`ignoring unreadable published state at ${e.key}: ${(err as Error).message}`);
      }
    }
    inv.serving.set(servicePath(k), view);
  });
}

/** The guard's view of one LVS service (null: not published), from its header or its whole state, which must have been read. */
export function servingOf(inv: Inventory, path: string): ServingView | null {
  if (inv.statesRead === 'all' || inv.statesRead.has(path)) {
    const state = inv.states.get(path);
    return state === undefined ? null : servingView(state);
  }
  const view = inv.serving.get(path);
  if (view === undefined) {
    throw new StateNotReadError(`internal error: the published state of ${path} was not read before it was needed`, { service: path });
  }
  return view;
}

/** The published state of one LVS service (null: not published), which must have been read. */
export function stateOf(inv: Inventory, path: string): PoolState | null {
  if (inv.statesRead !== 'all' && !inv.statesRead.has(path)) {
    throw new StateNotReadError(`internal error: the published state of ${path} was not read before it was needed`, { service: path });
  }
  return inv.states.get(path) ?? null;
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
