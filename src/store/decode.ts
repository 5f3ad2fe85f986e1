// The one place etcd values are decoded: every kind poold stores or reads (LVS service definitions,
// published state, observations, conftool values, audit records, freezes, force markers) is parsed
// and validated here, and the daemon, the LVS agent and poolctl all call these. A value that fails
// is an InvalidStoredValueError naming its key and the field; callers keep their last good value and
// say so (the daemon in /alerts, the agent by leaving the service's table alone, poolctl by exiting
// with the message), so a value written by another tool is never half-understood.
import { InvalidStoredValueError } from '../model/errors.js';
import { validateServiceDef } from '../model/service-def-validate.js';
import { servingView, type ServingView } from '../model/threshold-guard.js';
import type { EffectiveServer, LvsDef, Observation, PoolKey, PoolRef, PoolState, Pooled, ReasonCode, ServiceDef, ServiceKey } from '../model/types.js';
import { BGP_MED_MAX, POOLED_VALUES, poolPath } from '../model/types.js';
import type { StoredAuditRecord } from './audit-record.js';
import type { ForceMarker } from './force-marker.js';
import type { AssembledState } from './state-layout.js';
import type { Freeze } from '../model/coordinator-freeze.js';
import { bool, fail, int, num, obj, optStr, parseJson, str, type Obj } from './decode-fields.js';

export { parseConftoolValue as decodeConftoolValue } from './conftool-value.js';

export function decodeLvsDef(v: unknown, where: string): LvsDef {
  const o = obj(v, `${where} lvs`);
  const protocol = o.protocol;
  if (protocol !== 'tcp' && protocol !== 'udp') fail(`${where} lvs`, '"protocol" must be tcp or udp');
  const method = o.method ?? 'g';
  if (method !== 'g' && method !== 'i' && method !== 'm') fail(`${where} lvs`, '"method" must be g, i or m');
  const scheduler = str(o, 'scheduler', `${where} lvs`);
  if (!/^[a-z]+$/.test(scheduler)) fail(`${where} lvs`, `"scheduler" ${JSON.stringify(scheduler)} is not a scheduler name`);
  const def: LvsDef = { ip: str(o, 'ip', `${where} lvs`), port: int(o, 'port', `${where} lvs`, 1, 65535), protocol, scheduler, method };
  // Optional fields: absent means the agent's BGP default, and no drain.
  if (o.bgp !== undefined) def.bgp = bool(o, 'bgp', `${where} lvs`);
  if (o.drainMs !== undefined) def.drainMs = int(o, 'drainMs', `${where} lvs`);
  // Absent: the agent's --bgp-med.
  if (o.bgpMed !== undefined) def.bgpMed = int(o, 'bgpMed', `${where} lvs`, 0, BGP_MED_MAX);
  return def;
}

/** The service key a value names; when the key it is stored under is known, they must agree. */
export function decodeServiceKey(o: Obj, where: string, expected?: ServiceKey): ServiceKey {
  const key = { dc: str(o, 'dc', where), name: str(o, 'name', where) };
  if (expected && (key.dc !== expected.dc || key.name !== expected.name)) {
    fail(where, `names ${key.dc}/${key.name}, not ${expected.dc}/${expected.name}`);
  }
  return key;
}

/** The conftool pool a state or definition names (`pool: {cluster, service}`). */
export function decodePoolRef(v: unknown, where: string): PoolRef {
  const o = obj(v, `${where} pool`);
  return { cluster: str(o, 'cluster', `${where} pool`), service: str(o, 'service', `${where} pool`) };
}

export function decodePooled(v: unknown, where: string, field = 'pooledAdmin'): Pooled {
  if (!POOLED_VALUES.includes(v as Pooled)) fail(where, `"${field}" must be one of ${POOLED_VALUES.join(', ')}`);
  return v as Pooled;
}

/** The stored server list of a conftool pool (decoded by decodePoolList), or undefined when there is none. */
export type PoolListLookup = (pool: PoolKey) => Record<string, unknown> | undefined;

function listOfPool(stored: Obj, where: string, poolLists: PoolListLookup | undefined): Record<string, unknown> {
  const pool: PoolKey = { dc: str(stored, 'dc', where), ...decodePoolRef(stored.pool, where) };
  const list = poolLists?.(pool);
  if (list === undefined) fail(where, `names no servers, and pool ${poolPath(pool)} has no stored server list (poolctl sync writes it)`);
  return list;
}

/**
 * `/poold/v1/services/~pools/<dc>/<cluster>/<service>`: a conftool pool's server list as sync stores
 * it, once for every definition over the pool. Its servers are checked with each definition that
 * uses them (validateServiceDef), so a bad entry is reported against the LVS services it breaks.
 */
export function decodePoolList(where: string, raw: string, expected: PoolKey): Record<string, unknown> {
  const o = obj(parseJson(raw, where), where);
  const key = { dc: str(o, 'dc', where), cluster: str(o, 'cluster', where), service: str(o, 'service', where) };
  if (poolPath(key) !== poolPath(expected)) fail(where, `names pool ${poolPath(key)}, not ${poolPath(expected)}`);
  const servers = obj(o.servers, `${where} servers`);
  for (const [host, s] of Object.entries(servers)) obj(s, `${where} servers.${host}`);
  return servers;
}

/** The value decodePoolList reads: what sync stores for a pool's server list. */
export function encodePoolList(pool: PoolKey, servers: Record<string, unknown>): string {
  return JSON.stringify({ dc: pool.dc, cluster: pool.cluster, service: pool.service, servers });
}

/**
 * `/poold/v1/services/<dc>/<name>`: an LVS service definition as sync stores it. The model's
 * validation (threshold, checks, servers), plus what the LVS side relies on: the key it is stored
 * under, the forwarding method and scheduler, and the servers' addresses.
 */
export function decodeServiceDef(where: string, raw: string, expected?: ServiceKey, poolLists?: PoolListLookup): ServiceDef {
  const stored = parseJson(raw, where);
  // Sync stores the pool's server list once, beside the definitions (Keys.poolList); a definition
  // that carries its own list (older versions, hand-written values) keeps it. Anything but an object
  // is the model's to refuse (validateServiceDef), with its message.
  const isObject = typeof stored === 'object' && stored !== null && !Array.isArray(stored);
  const assembled = isObject && (stored as Obj).servers === undefined ? { ...stored, servers: listOfPool(stored as Obj, where, poolLists) } : stored;
  const def = validateServiceDef(where, assembled);
  const o = def as unknown as Obj;
  decodeServiceKey(o, where, expected);
  const lvs = decodeLvsDef(o.lvs, where);
  for (const [host, s] of Object.entries(def.servers)) {
    if (s.address !== undefined && typeof s.address !== 'string') fail(`${where} servers.${host}`, '"address" must be a string');
  }
  return { ...def, lvs };
}

const POOLED_SET: ReadonlySet<unknown> = new Set(POOLED_VALUES);

/** A published server whose checked fields (decodePoolState's slow path) all hold already. */
function wellFormedServer(s: unknown): s is Obj {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return false;
  const o = s as Obj;
  return POOLED_SET.has(o.pooledAdmin) && typeof o.enabled === 'boolean' && typeof o.up === 'boolean' &&
    typeof o.pooled === 'boolean' && Number.isSafeInteger(o.weight) && (o.weight as number) >= 0 &&
    (o.reason === undefined || typeof o.reason === 'string');
}

/** The defaults a reader fills in on a well-formed published server, in place. */
function normaliseServer(s: Obj): EffectiveServer {
  if (s.reason === undefined) s.reason = '';
  s.flapping = s.flapping === true;
  if (!Array.isArray(s.findings)) s.findings = [];
  return s as unknown as EffectiveServer;
}

/**
 * One server of a state the leader built, as a reader decodes it from the value written
 * (decodePoolState(JSON.stringify(state)).servers[host]), without the round trip: the leader serves
 * what its own transaction committed this way (issue 12: at eqiad's size decoding the 44 states of one
 * kubesvc change, 1.7 MB, took 20-45 ms). Normalised in place, so `s` must be fresh, not yet shared:
 * the leader's encoder (daemon/state-encoder.ts) calls it once per server object it builds, after
 * serialising it. test/store/decode-published.test.ts holds it equal to the decoder's result.
 */
export function asDecodedServer(where: string, s: EffectiveServer): EffectiveServer {
  if (!wellFormedServer(s)) fail(where, 'not well-formed in a state the leader built');
  return normaliseServer(s);
}

/** One published server: well-formed ones are normalised in place (`s` must be fresh from JSON.parse). */
function decodeServer(s: unknown, w: string): EffectiveServer {
  // The common case, every field already right, is normalised in place: at 44 sections of 240 hosts a
  // copy per server was most of the decode's garbage. Anything else takes the checking path below,
  // which names the field that is wrong.
  if (wellFormedServer(s)) return normaliseServer(s);
  const so = obj(s, w);
  return {
    ...(so as unknown as EffectiveServer),
    pooledAdmin: decodePooled(so.pooledAdmin, w),
    enabled: bool(so, 'enabled', w),
    up: bool(so, 'up', w),
    pooled: bool(so, 'pooled', w),
    weight: int(so, 'weight', w),
    reason: optStr(so, 'reason', w, ''),
    flapping: so.flapping === true,
    findings: Array.isArray(so.findings) ? (so.findings as EffectiveServer['findings']) : [],
  };
}

/** Everything of a published state but its servers, checked. */
function stateFields(o: Obj, where: string, expected: ServiceKey | undefined, servers: Record<string, EffectiveServer>): PoolState {
  const key = decodeServiceKey(o, where, expected);
  const pooledDown = Array.isArray(o.pooledDown) ? o.pooledDown.filter((h): h is string => typeof h === 'string') : [];
  // The split header's own fields (store/state-layout.ts) are not the state's.
  const { hosts: _hosts, notServing: _notServing, ...rest } = o;
  return {
    ...(rest as unknown as PoolState),
    ...key,
    pool: decodePoolRef(o.pool, where),
    revision: int(o, 'revision', where),
    updatedAt: typeof o.updatedAt === 'number' ? o.updatedAt : 0,
    depoolThreshold: typeof o.depoolThreshold === 'number' ? o.depoolThreshold : 0,
    servers,
    pooledDown,
  };
}

/**
 * `/poold/v1/state/<dc>/<name>` in the single-value form: the header with every server inline.
 * Written by poold before the per-server layout (store/state-layout.ts), and still read.
 */
export function decodePoolState(where: string, raw: string, expected?: ServiceKey): PoolState {
  const o = obj(parseJson(raw, where), where);
  decodeServiceKey(o, where, expected);
  const serversIn = obj(o.servers, `${where} servers`);
  const servers: Record<string, EffectiveServer> = {};
  for (const [host, s] of Object.entries(serversIn)) servers[host] = decodeServer(s, `${where} servers.${host}`);
  return stateFields(o, where, expected, servers);
}

/**
 * A state in the per-server form: its header and the values of its server keys
 * (`/poold/v1/state/<dc>/<name>/<host>`), which the caller read at one revision. The header's
 * `hosts` must count them: a server key deleted by another tool is a corrupt state, not a smaller one.
 */
export function decodeSplitPoolState(where: string, header: string, servers: ReadonlyMap<string, string>, expected?: ServiceKey, cache?: ServerDecodeCache): PoolState {
  const o = obj(parseJson(header, where), where);
  if (o.servers !== undefined) return decodePoolState(where, header, expected);
  decodeServiceKey(o, where, expected);
  const hosts = int(o, 'hosts', where);
  if (hosts !== servers.size) fail(where, `"hosts" says ${hosts} servers, but ${servers.size} server keys are stored below it`);
  const out: Record<string, EffectiveServer> = {};
  for (const [host, raw] of servers) {
    const kept = cache?.get(host);
    if (kept !== undefined && kept.raw === raw) {
      out[host] = kept.server;
      continue;
    }
    const w = `${where}/${host}`;
    const server = decodeServer(parseJson(raw, w), w);
    cache?.set(host, { raw, server });
    out[host] = server;
  }
  if (cache !== undefined && cache.size > servers.size) for (const host of cache.keys()) if (!servers.has(host)) cache.delete(host);
  return stateFields(o, where, expected, out);
}

/**
 * One LVS service's decoded servers, by host, with the value each was decoded from. A reader that
 * decodes the same service again and again (the daemon's and the agent's watch) decodes only the
 * servers whose value changed: one host of 240 at a kubesvc depool. The decoded objects are shared
 * between successive states, so they are read-only.
 */
export type ServerDecodeCache = Map<string, { raw: string; server: EffectiveServer }>;

/**
 * What poolctl's guard needs of a published state, from its header alone: the split form names the
 * servers that do not serve (`notServing`); the inline form has them all.
 */
export function decodeServingView(where: string, header: string, expected?: ServiceKey): ServingView {
  const o = obj(parseJson(header, where), where);
  if (o.servers !== undefined) return servingView(decodePoolState(where, header, expected));
  decodeServiceKey(o, where, expected);
  const list = o.notServing;
  if (!Array.isArray(list) || !list.every((h) => typeof h === 'string')) fail(where, '"notServing" must be a list of host names');
  return { notServing: new Set(list as string[]) };
}

/** A state as the assembler put it together from its keys (store/state-layout.ts). */
export function decodeAssembledState(a: AssembledState, cache?: ServerDecodeCache): PoolState {
  if (a.problem !== undefined) fail(a.headerKey, a.problem);
  return decodeSplitPoolState(a.headerKey, a.header, a.servers, a.key, cache);
}

/**
 * Decodes the states of a watch (the daemon's, the agent's) again and again, keeping each LVS
 * service's ServerDecodeCache, so a change decodes only the servers whose value changed.
 */
export class AssembledStateDecoder {
  private readonly caches = new Map<string, ServerDecodeCache>();

  decode(a: AssembledState): PoolState {
    let cache = this.caches.get(a.path);
    if (cache === undefined) this.caches.set(a.path, (cache = new Map()));
    return decodeAssembledState(a, cache);
  }

  /** A removed service's servers are forgotten. */
  forget(path: string): void {
    this.caches.delete(path);
  }
}

/**
 * `/poold/v1/health/<dc>/<name>/<host>/<observer>`: one observer's verdict. The observer is the
 * key's last segment (what the value says is not trusted over where it is stored).
 */
export function decodeObservation(where: string, raw: string, observer: string): Observation {
  const o = obj(parseJson(raw, where), where);
  const checks = o.checks === undefined ? {} : obj(o.checks, `${where} checks`);
  for (const [name, c] of Object.entries(checks)) bool(obj(c, `${where} checks.${name}`), 'up', `${where} checks.${name}`);
  return {
    observer,
    up: bool(o, 'up', where),
    reason: optStr(o, 'reason', where, ''),
    code: optStr(o, 'code', where, o.up === true ? 'ok' : 'error') as ReasonCode,
    at: num(o, 'at', where),
    flapping: o.flapping === true,
    checks: checks as Observation['checks'],
  };
}

/** `/poold/v1/audit/<id>`: one audit record (written with its change, in the same transaction). */
export function decodeAuditRecord(where: string, id: string, raw: string, revision: number): StoredAuditRecord {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new InvalidStoredValueError(`invalid audit record at ${where}: not JSON (${(err as Error).message})`, { key: where }, { cause: err });
  }
  const r = v as Partial<StoredAuditRecord> | null;
  if (r === null || typeof r !== 'object' || typeof r.actor !== 'string' || typeof r.key !== 'string' || typeof r.time !== 'string') {
    throw new InvalidStoredValueError(`invalid audit record at ${where}: expected {actor, reason, key, before, after, time}`, { key: where });
  }
  return {
    id, revision, actor: r.actor, reason: typeof r.reason === 'string' ? r.reason : '', key: r.key, before: r.before ?? null, after: r.after ?? null, time: r.time,
    op: typeof r.op === 'string' ? r.op : '',
  };
}

/** `/poold/v1/freeze/<dc>/<name>`: an operator's freeze of health depools (src/store/freeze.ts writes it). */
export function decodeFreeze(key: string, raw: string): Freeze {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new InvalidStoredValueError(`invalid freeze at ${key}: not valid JSON (${(err as Error).message})`, { key, raw });
  }
  const o = v as Record<string, unknown>;
  const bad = (what: string) => new InvalidStoredValueError(`invalid freeze at ${key}: ${what}; run poolctl unfreeze or freeze again`, { key, raw });
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('not a JSON object');
  for (const f of ['since', 'until'] as const) if (typeof o[f] !== 'number' || !Number.isFinite(o[f])) throw bad(`"${f}" must be a time in epoch milliseconds`);
  for (const f of ['actor', 'reason'] as const) if (typeof o[f] !== 'string' || o[f] === '') throw bad(`"${f}" must be a non-empty string`);
  if ((o.until as number) < (o.since as number)) throw bad('"until" is before "since"');
  return { since: o.since as number, until: o.until as number, actor: o.actor as string, reason: o.reason as string };
}

/** `/poold/v1/force/<dc>/<cluster>/<service>/<host>`: a force marker (src/store/force-marker.ts writes it). */
export function decodeForceMarker(etcdKey: string, raw: string): ForceMarker {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new InvalidStoredValueError(`invalid force marker at ${etcdKey}: not JSON (${(err as Error).message})`, { key: etcdKey }, { cause: err });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new InvalidStoredValueError(`invalid force marker at ${etcdKey}: expected an object {key, op, actor, reason, time}`, { key: etcdKey });
  }
  const r = v as Record<string, unknown>;
  for (const f of ['key', 'op', 'actor', 'reason', 'time'] as const) {
    if (typeof r[f] !== 'string') {
      throw new InvalidStoredValueError(`invalid force marker at ${etcdKey}: "${f}" must be a string, got ${JSON.stringify(r[f]) ?? 'nothing'}`, { key: etcdKey, field: f });
    }
  }
  if (r.actor === '') throw new InvalidStoredValueError(`invalid force marker at ${etcdKey}: "actor" is empty`, { key: etcdKey, field: 'actor' });
  return { key: r.key as string, op: r.op as string, actor: r.actor as string, reason: r.reason as string, time: r.time as string };
}
