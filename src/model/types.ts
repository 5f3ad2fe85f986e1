// Domain types shared by every layer. Pure data: no I/O, no clocks.
import type { ServiceSafety, ServiceSafetyDef } from './service-safety.js';
// Durations are integer milliseconds; times are epoch milliseconds passed in by callers.

/** conftool's admin state. `inactive` removes the host from the pool's total (decommissioned). */
export type Pooled = 'yes' | 'no' | 'inactive';
export const POOLED_VALUES: readonly Pooled[] = ['yes', 'no', 'inactive'];

/** The value conftool stores per host. Unknown fields written by other tools are carried through untouched. */
export interface ConftoolValue {
  weight: number;
  pooled: Pooled;
  [extra: string]: unknown;
}

/**
 * A conftool pool: the hosts under `/conftool/v1/pools/<dc>/<cluster>/<service>/`. It supplies the real
 * servers of one or more LVS services (at Wikimedia, 44 sections share `kubernetes/kubesvc`).
 */
export interface PoolKey {
  dc: string;
  cluster: string;
  service: string;
}

/** The pool named inside a dc (a service definition's `pool`). */
export interface PoolRef {
  cluster: string;
  service: string;
}

/** One host of one conftool pool: one conftool key. */
export interface HostKey extends PoolKey {
  host: string;
}

/**
 * An LVS service: one PyBal section in one dc (`apertium_4737`, `text-https_443`, `dns_53_udp`). It is
 * the unit of coordination: effective state, threshold, hysteresis, flapping and /alerts are per LVS
 * service, as in PyBal where each section has its own coordinator.
 */
export interface ServiceKey {
  dc: string;
  name: string;
}

/** One host as a target of one LVS service's checks (observations and verdicts are per target). */
export interface TargetKey extends ServiceKey {
  host: string;
}

export type LvsProtocol = 'tcp' | 'udp';
/** ipvsadm forwarding method: -g direct routing (PyBal's default), -i tunnel, -m masquerade. */
export type LvsMethod = 'g' | 'i' | 'm';

export interface LvsDef {
  ip: string;
  port: number;
  protocol: LvsProtocol;
  scheduler: string;
  method: LvsMethod;
  /**
   * Announce the VIP over BGP from LVS hosts that run BGP (PyBal's per-service `bgp`). Absent: the
   * agent's default (announce, as PyBal).
   */
  bgp?: boolean;
  /**
   * Graceful drain on depool: a server leaving the pool first gets weight 0 (no new connections)
   * and is removed this many ms later. Absent or 0: removed at once.
   */
  drainMs?: number;
  /**
   * PyBal's per-service `bgp-med`: the MED this VIP is announced with, 0..2^32-1. Absent: the LVS
   * agent's `--bgp-med`. Every service on one VIP must agree (PyBal refuses to start otherwise).
   */
  bgpMed?: number;
}

/** The largest MED BGP can carry (a 32-bit attribute). */
export const BGP_MED_MAX = 4294967295;

export interface StatusRange {
  from: number;
  to: number;
}

export interface BodyRules {
  nonEmpty?: boolean;
  contains?: string;
  regex?: string;
  /** A dotted path into the parsed JSON body (`a.b.0.c`) whose value must deep-equal `equals`. */
  json?: { path: string; equals: unknown };
}

export type UnclosedPolicy = 'ignore' | 'warn' | 'fail';

interface CheckCommon {
  /** Stable name inside the service, used in events, metrics and Icinga service names. */
  name: string;
  timeoutMs: number;
  intervalMs: number;
  rise: number;
  fall: number;
}

export interface HttpCheckDef extends CheckCommon {
  kind: 'http';
  method: 'GET' | 'HEAD';
  scheme: 'http' | 'https';
  /** Port to check; defaults to the LVS port. */
  port?: number;
  /** One or more paths (with optional query). `path: /x` in YAML becomes `urls: ['/x']`. */
  urls: string[];
  /** PyBal ProxyFetch: check every URL each round (true) or one per round, rotating (false). */
  checkAll: boolean;
  /** With checkAll, how many URLs may fail before the server is down (PyBal's max_failures). */
  maxFailures: number;
  /** Host header (and default TLS SNI). */
  host?: string;
  headers: Record<string, string>;
  tls: { verify: boolean; sni?: string; ca?: string };
  expect: { status: StatusRange[]; body?: BodyRules };
  unclosed: UnclosedPolicy;
  /** Grace after a complete response before a still-open socket counts as unclosed. */
  unclosedGraceMs: number;
  keepAlive: boolean;
}

export interface TcpCheckDef extends CheckCommon {
  kind: 'tcp';
  port?: number;
}

export interface IdleConnectionCheckDef extends CheckCommon {
  kind: 'idle-connection';
  port?: number;
  /** How long to wait for a reconnect after the server closed the held connection. */
  reconnectTimeoutMs: number;
}

export interface CommandCheckDef extends CheckCommon {
  kind: 'command';
  /** argv, never run through a shell. `{host}`, `{address}`, `{port}` are substituted per target. */
  argv: string[];
}

export interface DnsCheckDef extends CheckCommon {
  kind: 'dns';
  port?: number;
  query: string;
  type: 'A' | 'AAAA';
  /** When set, the answer must contain every one of these addresses. */
  expect?: string[];
}

export type CheckDef = HttpCheckDef | TcpCheckDef | IdleConnectionCheckDef | CommandCheckDef | DnsCheckDef;
export type CheckKind = CheckDef['kind'];

export interface FlappingDef {
  transitions: number;
  windowMs: number;
}

export interface MonitoringDef {
  /** Free text for the generated Icinga services (e.g. a runbook link). */
  notes?: string;
  /** Contact groups for the generated Icinga services. */
  contactGroups?: string[];
}

export interface ServerDef {
  weight: number;
  /** IP to check and to put in IPVS; resolved from the host name when absent. */
  address?: string;
}

/** A deliberate difference between the load balancer's checks and monitoring's probes (see drift). */
export interface DriftAck {
  /** What is acknowledged, as drift reports it (e.g. `lvs-tcp-only`, `path`). */
  kind: string;
  reason: string;
}

/** One LVS service, normalized (defaults applied, durations in ms). Stored as JSON under /poold/v1/services/<dc>/<name>. */
export interface ServiceDef extends ServiceKey, ServiceSafetyDef {
  /**
   * The catalog service this section belongs to (the name before `_<port>`); config-master serves its
   * server list at /pybal/<dc>/<catalog>. Several sections (one per VIP label) may share it.
   */
  catalog: string;
  /** The conftool pool that supplies the real servers (same dc). Many LVS services may share one pool. */
  pool: PoolRef;
  lvs: LvsDef;
  depoolThreshold: number;
  checks: CheckDef[];
  flapping: FlappingDef;
  monitoring: MonitoringDef;
  /**
   * The pool's servers as pools/ defines them (weight for new conftool entries, optional address). Every
   * LVS service over one pool carries the same list: the loader copies it from the pool's definition.
   * In etcd the list is stored once per pool, not in each definition (ARCHITECTURE.md §3).
   */
  servers: Record<string, ServerDef>;
  /** Acknowledged differences between these checks and monitoring's probes. */
  driftAcks?: DriftAck[];
}

/** PyBal's section name: `<service>_<port>`, plus `_<protocol>` when not tcp (pybal.conf.erb). */
export function sectionName(service: string, port: number, protocol: LvsProtocol): string {
  return protocol === 'tcp' ? `${service}_${port}` : `${service}_${port}_${protocol}`;
}

/** PyBal pool name: the section name, as in /pools/<name>. */
export function poolName(key: ServiceKey): string {
  return key.name;
}

/** `<dc>/<name>`: an LVS service's path below the poold key roots, and its id in maps and logs. */
export function servicePath(key: ServiceKey): string {
  return `${key.dc}/${key.name}`;
}

/** The conftool pool an LVS service draws its servers from. */
export function poolOf(def: ServiceKey & { pool: PoolRef }): PoolKey {
  return { dc: def.dc, cluster: def.pool.cluster, service: def.pool.service };
}

/** `<dc>/<cluster>/<service>`: a conftool pool's path below `<conftool>/pools/`. */
export function poolPath(key: PoolKey): string {
  return `${key.dc}/${key.cluster}/${key.service}`;
}

// ---- health ----

/** Stable reason codes. `status` messages read `status 404 (expected 200)`. */
export type ReasonCode =
  | 'ok'
  | 'refused'
  | 'reset'
  | 'connect_timeout'
  | 'headers_timeout'
  | 'body_timeout'
  | 'deadline'
  | 'status'
  | 'empty_body'
  | 'body_mismatch'
  | 'tls_error'
  | 'dns_failure'
  | 'unclosed'
  | 'command_failed'
  | 'command_timeout'
  | 'closed'
  | 'error';

export interface CheckTimings {
  connectMs?: number;
  firstByteMs?: number;
  totalMs: number;
}

/** A secondary observation that does not by itself decide up/down (e.g. unclosed under `warn`). */
export interface Finding {
  code: ReasonCode;
  message: string;
  severity: 'warning' | 'critical';
}

export interface CheckResult {
  up: boolean;
  code: ReasonCode;
  message: string;
  timings: CheckTimings;
  findings: Finding[];
  /** Kind-specific detail (status code, bytes read, plugin output...). */
  detail?: Record<string, unknown>;
}

/** One poold instance's view of one host, published under its lease. */
export interface Observation {
  observer: string;
  up: boolean;
  reason: string;
  code: ReasonCode;
  at: number;
  flapping: boolean;
  checks: Record<string, { up: boolean; code: ReasonCode; message: string; timings: CheckTimings; findings: Finding[] }>;
}

// ---- effective state ----

export interface EffectiveServer {
  /** Admin state from conftool. */
  pooledAdmin: Pooled;
  /** enabled = pooledAdmin is yes. */
  enabled: boolean;
  up: boolean;
  pooled: boolean;
  weight: number;
  reason: string;
  flapping: boolean;
  findings: Finding[];
  /**
   * An admin depool this LVS service holds (the threshold would break: the host stays pooled, with
   * `pooledAdmin` its effective `yes`) or let through because the write carried a force marker.
   * Absent otherwise (coordinator-hold.ts).
   */
  adminHold?: AdminHoldInfo;
}

/** Who wrote a conftool value: the audit record of that revision; null when there is none (a raw etcd write). */
export interface AdminWriter {
  actor: string;
  reason?: string;
}

export interface AdminHoldInfo {
  /** held: not applied, the host stays pooled; forced: applied below the threshold by a force marker. */
  status: 'held' | 'forced';
  /** The conftool value written for the host (the depool). */
  requested: Pooled;
  /** The etcd mod revision of that conftool write (0 when unknown). */
  revision: number;
  /** When the coordinator first saw this write. */
  since: number;
  /** Its writer; absent while not looked up yet, null when no audit record exists ("unknown writer"). */
  writer?: AdminWriter | null;
}

export interface PoolState extends ServiceKey, ServiceSafety {
  /** The conftool pool whose hosts these are. */
  pool: PoolRef;
  revision: number;
  updatedAt: number;
  depoolThreshold: number;
  servers: Record<string, EffectiveServer>;
  /** Hosts that are down but kept pooled by the threshold. */
  pooledDown: string[];
}
