// Turns one validated LVS service (snake_case YAML) into the model's ServiceDef (camelCase, defaults applied,
// durations in ms). Only called on data that passed the schema and the semantic rules.
import { parseDuration } from '../../model/duration.js';
import type {
  CheckDef,
  CheckKind,
  CommandCheckDef,
  DnsCheckDef,
  HttpCheckDef,
  IdleConnectionCheckDef,
  PoolRef,
  ServerDef,
  ServiceDef,
  StatusRange,
  TcpCheckDef,
} from '../../model/types.js';
import { sectionName } from '../../model/types.js';
import { checkNames } from './check-names.js';
import {
  CHECK_DEFAULTS,
  CHECK_TIMING_DEFAULTS,
  DNS_DEFAULTS,
  HTTP_DEFAULTS,
  IDLE_CONNECTION_DEFAULTS,
  SERVICE_DEFAULTS,
} from './defaults.js';

/** The YAML shapes, as the schema guarantees them. */
interface RawCheck {
  kind: CheckKind;
  name?: string;
  timeout?: string;
  interval?: string;
  rise?: number;
  fall?: number;
  port?: number;
  // http
  path?: string;
  urls?: string[];
  check_all?: boolean;
  max_failures?: number;
  method?: 'GET' | 'HEAD';
  scheme?: 'http' | 'https';
  host?: string;
  headers?: Record<string, string>;
  tls?: { verify?: boolean; sni?: string; ca?: string };
  expect?: unknown;
  unclosed?: HttpCheckDef['unclosed'];
  unclosed_grace?: string;
  keep_alive?: boolean;
  // idle-connection
  reconnect_timeout?: string;
  // command
  argv?: string[];
  // dns
  query?: string;
  type?: 'A' | 'AAAA';
}

interface RawHttpExpect {
  status?: Array<number | string>;
  body?: { non_empty?: boolean; contains?: string; regex?: string; json?: { path: string; equals: unknown } };
}

export interface RawService {
  /** `<cluster>/<service>`: the conftool pool (an entry of the file's `pools:`). */
  pool?: string;
  catalog?: string;
  /** Older form, instead of `pool`: the cluster, with the servers listed in the service. */
  cluster?: string;
  lvs: { ip: string; port: number; protocol?: 'tcp' | 'udp'; scheduler?: string; method?: 'g' | 'i' | 'm'; bgp?: boolean; drain?: string; bgp_med?: number };
  depool_threshold?: number;
  /** Issue 14: see pools.schema.json. */
  correlated_failure_share?: number;
  start_timeout?: string;
  checks: RawCheck[];
  flapping?: { transitions?: number; window?: string };
  monitoring?: { notes?: string; contact_groups?: string[] };
  servers?: RawServers;
  drift_ack?: Array<{ kind: string; reason: string }>;
}

export type RawServers = Record<string, { weight: number; address?: string }>;

export interface RawPool {
  servers: RawServers;
}

function ms(text: string | undefined, fallback: number): number {
  // parseDuration cannot return null here: the schema's pattern matched.
  return text === undefined ? fallback : (parseDuration(text) ?? fallback);
}

function statusRange(s: number | string): StatusRange {
  if (typeof s === 'number') return { from: s, to: s };
  const [from, to] = s.split('-').map(Number);
  return { from, to };
}

type Common = Pick<CheckDef, 'name' | 'timeoutMs' | 'intervalMs' | 'rise' | 'fall'>;

function httpCheck(c: RawCheck, common: Common): HttpCheckDef {
  const expect = (c.expect ?? {}) as RawHttpExpect;
  const def: HttpCheckDef = {
    kind: 'http',
    ...common,
    method: c.method ?? HTTP_DEFAULTS.method,
    scheme: c.scheme ?? HTTP_DEFAULTS.scheme,
    urls: c.urls ?? [c.path as string],
    checkAll: c.check_all ?? HTTP_DEFAULTS.checkAll,
    maxFailures: c.max_failures ?? HTTP_DEFAULTS.maxFailures,
    headers: { ...(c.headers ?? {}) },
    tls: { verify: c.tls?.verify ?? HTTP_DEFAULTS.tlsVerify },
    expect: { status: expect.status ? expect.status.map(statusRange) : HTTP_DEFAULTS.status.map((r) => ({ ...r })) },
    unclosed: c.unclosed ?? HTTP_DEFAULTS.unclosed,
    unclosedGraceMs: ms(c.unclosed_grace, HTTP_DEFAULTS.unclosedGraceMs),
    keepAlive: c.keep_alive ?? HTTP_DEFAULTS.keepAlive,
  };
  if (c.port !== undefined) def.port = c.port;
  if (c.host !== undefined) def.host = c.host;
  if (c.tls?.sni !== undefined) def.tls.sni = c.tls.sni;
  if (c.tls?.ca !== undefined) def.tls.ca = c.tls.ca;
  const b = expect.body;
  if (b) {
    const body: NonNullable<HttpCheckDef['expect']['body']> = {};
    if (b.non_empty !== undefined) body.nonEmpty = b.non_empty;
    if (b.contains !== undefined) body.contains = b.contains;
    if (b.regex !== undefined) body.regex = b.regex;
    if (b.json !== undefined) body.json = { path: b.json.path, equals: b.json.equals };
    def.expect.body = body;
  }
  return def;
}

function check(c: RawCheck, name: string): CheckDef {
  const timing = CHECK_TIMING_DEFAULTS[c.kind];
  const common: Common = {
    name,
    timeoutMs: ms(c.timeout, timing.timeoutMs),
    intervalMs: ms(c.interval, timing.intervalMs),
    rise: c.rise ?? CHECK_DEFAULTS.rise,
    fall: c.fall ?? CHECK_DEFAULTS.fall,
  };
  const port = c.port !== undefined ? { port: c.port } : {};
  switch (c.kind) {
    case 'http':
      return httpCheck(c, common);
    case 'tcp':
      return { kind: 'tcp', ...common, ...port } satisfies TcpCheckDef;
    case 'idle-connection':
      return {
        kind: 'idle-connection',
        ...common,
        ...port,
        reconnectTimeoutMs: ms(c.reconnect_timeout, IDLE_CONNECTION_DEFAULTS.reconnectTimeoutMs),
      } satisfies IdleConnectionCheckDef;
    case 'command':
      return { kind: 'command', ...common, argv: [...(c.argv as string[])] } satisfies CommandCheckDef;
    case 'dns': {
      const def: DnsCheckDef = { kind: 'dns', ...common, ...port, query: c.query as string, type: c.type ?? DNS_DEFAULTS.type };
      if (c.expect !== undefined) def.expect = [...(c.expect as string[])];
      return def;
    }
  }
}

export function normalizeServers(raw: RawServers): Record<string, ServerDef> {
  const servers: Record<string, ServerDef> = {};
  for (const [host, s] of Object.entries(raw)) {
    servers[host] = s.address !== undefined ? { weight: s.weight, address: s.address } : { weight: s.weight };
  }
  return servers;
}

/** The pool a service names: `pool: cluster/service`, or in the older form `<cluster>/<the service's name>`. */
export function poolRefOf(key: string, raw: Pick<RawService, 'pool' | 'cluster'>): PoolRef {
  if (raw.pool !== undefined) {
    const [cluster, service] = raw.pool.split('/');
    return { cluster, service };
  }
  return { cluster: raw.cluster as string, service: key };
}

/**
 * The PyBal section a services key names: `<key>_<port>[_<protocol>]`, or the key itself when it already
 * ends in that suffix. Two sections may share a VIP label on different ports (Wikimedia's `textlb_80` and
 * `textlb_443`): one map cannot hold `textlb` twice, so such keys are written as the full section name.
 */
export function sectionOfKey(key: string, port: number, protocol: 'tcp' | 'udp'): string {
  const suffix = sectionName('', port, protocol);
  return key.length > suffix.length && key.endsWith(suffix) ? key : sectionName(key, port, protocol);
}

/** The key's label: the section name without its `_<port>[_<protocol>]` suffix. */
function labelOfKey(key: string, port: number, protocol: 'tcp' | 'udp'): string {
  return sectionOfKey(key, port, protocol).slice(0, -sectionName('', port, protocol).length);
}

/**
 * One LVS service. `servers` is the pool's list, which the loader fills in once every file is read
 * (a pool may be defined in another file of the same dc).
 */
export function normalizeService(dc: string, key: string, raw: RawService, servers: Record<string, ServerDef>): ServiceDef {
  const names = checkNames(raw.checks);
  const monitoring: ServiceDef['monitoring'] = {};
  if (raw.monitoring?.notes !== undefined) monitoring.notes = raw.monitoring.notes;
  if (raw.monitoring?.contact_groups !== undefined) monitoring.contactGroups = [...raw.monitoring.contact_groups];
  const protocol = raw.lvs.protocol ?? SERVICE_DEFAULTS.protocol;
  const def: ServiceDef = {
    dc,
    name: sectionOfKey(key, raw.lvs.port, protocol),
    catalog: raw.catalog ?? labelOfKey(key, raw.lvs.port, protocol),
    pool: poolRefOf(key, raw),
    lvs: {
      ip: raw.lvs.ip,
      port: raw.lvs.port,
      protocol,
      scheduler: raw.lvs.scheduler ?? SERVICE_DEFAULTS.scheduler,
      method: raw.lvs.method ?? SERVICE_DEFAULTS.method,
      // Only when set: absent means the LVS agent's default (bgp) or off (drain).
      ...(raw.lvs.bgp !== undefined ? { bgp: raw.lvs.bgp } : {}),
      ...(raw.lvs.drain !== undefined && ms(raw.lvs.drain, 0) > 0 ? { drainMs: ms(raw.lvs.drain, 0) } : {}),
      // Absent: the LVS agent's --bgp-med.
      ...(raw.lvs.bgp_med !== undefined ? { bgpMed: raw.lvs.bgp_med } : {}),
    },
    depoolThreshold: raw.depool_threshold ?? SERVICE_DEFAULTS.depoolThreshold,
    checks: raw.checks.map((c, i) => check(c, names[i])),
    flapping: {
      transitions: raw.flapping?.transitions ?? SERVICE_DEFAULTS.flapping.transitions,
      windowMs: ms(raw.flapping?.window, SERVICE_DEFAULTS.flapping.windowMs),
    },
    monitoring,
    servers,
  };
  // Issue 14: only when set, so definitions without them stay byte-identical (defaults apply at use).
  if (raw.correlated_failure_share !== undefined) def.correlatedFailureShare = raw.correlated_failure_share;
  if (raw.start_timeout !== undefined) def.startTimeoutMs = ms(raw.start_timeout, 0);
  if (raw.drift_ack !== undefined) def.driftAcks = raw.drift_ack.map((a) => ({ kind: a.kind, reason: a.reason }));
  return def;
}
