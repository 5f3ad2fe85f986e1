// Reading the JSON the agent consumes: ServiceDefs and PoolStates from etcd, and poold's
// /v1/pools/:dc/:name answer. Only the fields the agent uses are checked; a value that
// fails is an InvalidStoredValueError naming where it came from, and the agent keeps the service's
// table as it is rather than act on a half-understood value.
import { InvalidStoredValueError } from '../model/errors.js';
import type { EffectiveServer, LvsDef, PoolRef, PoolState, Pooled, ServiceDef, ServiceKey } from '../model/types.js';
import { POOLED_VALUES } from '../model/types.js';
import { validateServiceDef } from '../model/service-def-validate.js';

type Obj = Record<string, unknown>;

function fail(where: string, what: string): never {
  throw new InvalidStoredValueError(`${where}: ${what}`, { where });
}

function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'expected an object');
  return v as Obj;
}

function str(o: Obj, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v === '') fail(where, `"${k}" must be a non-empty string`);
  return v;
}

function int(o: Obj, k: string, where: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(where, `"${k}" must be an integer ${min}..${max}`);
  return v;
}

function bool(o: Obj, k: string, where: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') fail(where, `"${k}" must be true or false`);
  return v;
}

export function parseJson(raw: string, where: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    fail(where, `not valid JSON (${(err as Error).message})`);
  }
}

export function checkLvsDef(v: unknown, where: string): LvsDef {
  const o = obj(v, `${where} lvs`);
  const protocol = o.protocol;
  if (protocol !== 'tcp' && protocol !== 'udp') fail(`${where} lvs`, '"protocol" must be tcp or udp');
  const method = o.method ?? 'g';
  if (method !== 'g' && method !== 'i' && method !== 'm') fail(`${where} lvs`, '"method" must be g, i or m');
  const scheduler = str(o, 'scheduler', `${where} lvs`);
  if (!/^[a-z]+$/.test(scheduler)) fail(`${where} lvs`, `"scheduler" ${JSON.stringify(scheduler)} is not a scheduler name`);
  const def: LvsDef = { ip: str(o, 'ip', `${where} lvs`), port: int(o, 'port', `${where} lvs`, 1, 65535), protocol, scheduler, method };
  // Optional fields (issue 15): absent means the agent's BGP default, and no drain.
  if (o.bgp !== undefined) def.bgp = bool(o, 'bgp', `${where} lvs`);
  if (o.drainMs !== undefined) def.drainMs = int(o, 'drainMs', `${where} lvs`);
  return def;
}

function checkKey(o: Obj, where: string, expected?: ServiceKey): ServiceKey {
  const key = { dc: str(o, 'dc', where), name: str(o, 'name', where) };
  if (expected && (key.dc !== expected.dc || key.name !== expected.name)) {
    fail(where, `names ${key.dc}/${key.name}, not ${expected.dc}/${expected.name}`);
  }
  return key;
}

/** The conftool pool a state or definition names (`pool: {cluster, service}`). */
function checkPool(v: unknown, where: string): PoolRef {
  const o = obj(v, `${where} pool`);
  return { cluster: str(o, 'cluster', `${where} pool`), service: str(o, 'service', `${where} pool`) };
}

/**
 * A ServiceDef as sync stores it: the daemon's validation (so the agent and poold agree on what a
 * usable definition is), plus what only the agent relies on: the key, method, scheduler, addresses.
 */
export function parseServiceDef(raw: string, where: string, expected?: ServiceKey): ServiceDef {
  const def = validateServiceDef(where, parseJson(raw, where));
  const o = def as unknown as Obj;
  checkKey(o, where, expected);
  const lvs = checkLvsDef(o.lvs, where);
  for (const [host, s] of Object.entries(def.servers)) {
    if (s.address !== undefined && typeof s.address !== 'string') fail(`${where} servers.${host}`, '"address" must be a string');
  }
  return { ...def, lvs };
}

function checkPooled(v: unknown, where: string): Pooled {
  if (!POOLED_VALUES.includes(v as Pooled)) fail(where, `"pooledAdmin" must be one of ${POOLED_VALUES.join(', ')}`);
  return v as Pooled;
}

/** A PoolState as the leader publishes it under /poold/v1/state/. */
export function parsePoolState(raw: string, where: string, expected?: ServiceKey): PoolState {
  const o = obj(parseJson(raw, where), where);
  const key = checkKey(o, where, expected);
  const serversIn = obj(o.servers, `${where} servers`);
  const servers: Record<string, EffectiveServer> = {};
  for (const [host, s] of Object.entries(serversIn)) {
    const w = `${where} servers.${host}`;
    const so = obj(s, w);
    servers[host] = {
      ...(so as unknown as EffectiveServer),
      pooledAdmin: checkPooled(so.pooledAdmin, w),
      enabled: bool(so, 'enabled', w),
      up: bool(so, 'up', w),
      pooled: bool(so, 'pooled', w),
      weight: int(so, 'weight', w),
    };
  }
  const pooledDown = Array.isArray(o.pooledDown) ? o.pooledDown.filter((h): h is string => typeof h === 'string') : [];
  return {
    ...key,
    pool: checkPool(o.pool, where),
    revision: int(o, 'revision', where),
    updatedAt: typeof o.updatedAt === 'number' ? o.updatedAt : 0,
    depoolThreshold: typeof o.depoolThreshold === 'number' ? o.depoolThreshold : 0,
    servers,
    pooledDown,
  };
}

/**
 * poold's `GET /v1/pools/:dc/:name` answer → the LvsDef and the PoolState it describes.
 * `lvs` is null when poold has no definition for the pool; `state` is undefined before any state.
 */
export function parsePoolDetail(body: unknown, where: string, expected: ServiceKey): { lvs: LvsDef | null; pool: PoolRef; state: PoolState | undefined; addresses: Record<string, string> } {
  const o = obj(body, where);
  const key = checkKey(o, where, expected);
  const pool = { cluster: str(o, 'cluster', where), service: str(o, 'service', where) };
  const lvs = o.lvs === null || o.lvs === undefined ? null : checkLvsDef(o.lvs, where);
  if (o.revision === null || o.revision === undefined) return { lvs, pool, state: undefined, addresses: {} };
  const hosts = Array.isArray(o.hosts) ? o.hosts : fail(where, '"hosts" must be an array');
  const servers: Record<string, EffectiveServer> = {};
  const pooledDown: string[] = [];
  const addresses: Record<string, string> = {};
  for (const [i, h] of hosts.entries()) {
    const w = `${where} hosts[${i}]`;
    const ho = obj(h, w);
    const host = str(ho, 'host', w);
    const admin = obj(ho.admin, `${w} admin`);
    const eff = obj(ho.effective, `${w} effective`);
    servers[host] = {
      pooledAdmin: checkPooled(admin.pooled, `${w} admin`),
      enabled: bool(eff, 'enabled', `${w} effective`),
      up: bool(eff, 'up', `${w} effective`),
      pooled: bool(eff, 'pooled', `${w} effective`),
      weight: int(eff, 'weight', `${w} effective`),
      reason: typeof ho.reason === 'string' ? ho.reason : '',
      flapping: ho.flapping === true,
      findings: [],
    };
    if (ho.keptByThreshold === true) pooledDown.push(host);
    if (ho.address !== undefined) addresses[host] = str(ho, 'address', w);
  }
  const threshold = o.threshold === null || o.threshold === undefined ? undefined : obj(o.threshold, `${where} threshold`);
  return {
    lvs,
    pool,
    addresses,
    state: {
      ...key,
      pool,
      revision: int(o, 'revision', where),
      updatedAt: typeof o.updatedAt === 'number' ? o.updatedAt : 0,
      depoolThreshold: typeof threshold?.depoolThreshold === 'number' ? threshold.depoolThreshold : 0,
      servers,
      pooledDown,
    },
  };
}
