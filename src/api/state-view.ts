// PoolView: the in-memory read model the daemon feeds and the HTTP routes read.
//
// The daemon owns the truth (etcd, the checks, the coordinator); it pushes each fact here with one
// setter call. The view keeps the latest of everything per pool, turns changes into structured
// events on its EventBus (for /v1/events), and feeds PoolMetrics. Routes only read.
//
// An entry is one LVS service (a PyBal section, keyed dc/name); PyBal's URLs name it by its section
// name without a dc. A view built with `dcs` accepts only services of those dcs (setters for others
// return false and store nothing), so a poold instance configured for eqiad serves eqiad's
// `cxserver_8080` at /pools/cxserver_8080 even when codfw has one too. If several dcs are in scope and
// share a section name, the PyBal routes serve the first by dc order and /v1/pools flags the service
// with `pybalNameConflict: true`.
import type {
  CheckResult,
  ConftoolValue,
  EffectiveServer,
  HostKey,
  Observation,
  PoolState,
  ServiceDef,
  ServiceKey,
  TargetKey,
} from '../model/types.js';
import { poolName, servicePath } from '../model/types.js';
import type { AlertCause } from '../model/alerts.js';
import { byName } from '../model/order.js';
import type { DriftItem, DriftReport } from '../monitoring/drift.js';
import { EventBus, type HostSnapshot } from './event-bus.js';
import type { MetricsSource, PoolMetrics, ServerStateLabel } from './metrics.js';
import { registerSafetyGauges } from './metrics-safety.js';

export interface CheckVerdict {
  result: CheckResult;
  /** Epoch ms the check finished. */
  at: number;
}

/** One configuration drift finding for a pool (from src/monitoring's drift detection). */
export interface DriftProblem {
  /** Where the drift is, e.g. `lvs-configs/eqiad.conf [cxserver]` or `icinga`. */
  where: string;
  message: string;
}

export interface Leadership {
  leader: boolean;
  /** The current leader's id when known (this instance's id when leader). */
  leaderId: string | null;
}

/** Everything the view knows about one pool. Returned objects are live: treat them as read-only. */
export interface PoolEntry {
  key: ServiceKey;
  def: ServiceDef | null;
  state: PoolState | null;
  /** host → check name → this instance's latest verdict. */
  verdicts: Map<string, Map<string, CheckVerdict>>;
  /** host → observer → observation (every poold instance's view of the host). */
  observations: Map<string, Map<string, Observation>>;
  /** Hosts currently marked flapping. */
  flapping: Set<string>;
  drift: DriftProblem[];
  stale: boolean;
  staleSinceMs: number | null;
}

export interface PoolViewOptions {
  /** Only pools of these dcs are stored and served. Default: every dc. */
  dcs?: readonly string[];
  /** Recent events kept for late SSE subscribers. Default 1000. */
  eventBufferSize?: number;
  /** Counters/histogram to feed, and whose scrape-time gauges read this view. */
  metrics?: PoolMetrics;
  /** Clock for event timestamps. Default Date.now. */
  now?: () => number;
}

function snapshot(s: EffectiveServer): HostSnapshot {
  return { enabled: s.enabled, up: s.up, pooled: s.pooled, weight: s.weight, reason: s.reason };
}

function sameSnapshot(a: HostSnapshot | null, b: HostSnapshot | null): boolean {
  if (a === null || b === null) return a === b;
  return a.enabled === b.enabled && a.up === b.up && a.pooled === b.pooled && a.weight === b.weight && a.reason === b.reason;
}

/**
 * Which hosts of a new state can differ from `previous` (the leader's encoder knows: state-encoder.ts).
 * Used only when the view holds exactly `previous`; at eqiad's size it spares looking at the 239
 * unchanged hosts of each of 44 sections at a kubesvc depool.
 */
export interface StateChanges {
  previous: PoolState;
  hosts: readonly string[];
}

export class PoolView implements MetricsSource {
  readonly events: EventBus;
  private readonly pools = new Map<string, PoolEntry>();
  private readonly dcs: ReadonlySet<string> | null;
  private readonly metrics: PoolMetrics | null;
  private leadership: Leadership = { leader: false, leaderId: null };
  /** Causes of this instance as a whole, not of one pool (a stalled etcd watch), by id, for /alerts. */
  private readonly instanceCauseMap = new Map<string, AlertCause>();

  constructor(options: PoolViewOptions = {}) {
    this.dcs = options.dcs ? new Set(options.dcs) : null;
    this.events = new EventBus(options.eventBufferSize ?? 1000, options.now ?? Date.now);
    this.metrics = options.metrics ?? null;
    this.metrics?.bindSource(this);
    if (this.metrics) registerSafetyGauges(this.metrics.registry, () => this.list()); // issue 14
  }

  /** Whether pools of this dc are in this view's scope. */
  inScope(key: Pick<ServiceKey, 'dc'>): boolean {
    return this.dcs === null || this.dcs.has(key.dc);
  }

  private entry(key: ServiceKey): PoolEntry | null {
    if (!this.inScope(key)) return null;
    const id = servicePath(key);
    let e = this.pools.get(id);
    if (!e) {
      e = {
        key: { dc: key.dc, name: key.name },
        def: null,
        state: null,
        verdicts: new Map(),
        observations: new Map(),
        flapping: new Set(),
        drift: [],
        stale: false,
        staleSinceMs: null,
      };
      this.pools.set(id, e);
    }
    return e;
  }

  // ---- setters (the daemon calls these) ----

  /** Adds or replaces a pool's definition. Returns false when the pool is out of scope. */
  setService(def: ServiceDef): boolean {
    const e = this.entry(def);
    if (!e) return false;
    const changed = e.def === null || JSON.stringify(e.def) !== JSON.stringify(def);
    e.def = def;
    if (changed) this.events.publish({ type: 'pool', pool: e.key, change: 'definition', revision: e.state?.revision ?? null });
    return true;
  }

  /** Forgets a pool entirely (its service definition was deleted). Publishes `state` events for its hosts leaving. */
  removeService(key: ServiceKey): boolean {
    const e = this.get(key);
    if (!e) return false;
    for (const [host, s] of Object.entries(e.state?.servers ?? {})) {
      this.events.publish({ type: 'state', pool: e.key, host, revision: e.state?.revision ?? 0, before: snapshot(s), after: null });
    }
    this.pools.delete(servicePath(key));
    this.events.publish({ type: 'pool', pool: e.key, change: 'removed', revision: e.state?.revision ?? null });
    return true;
  }

  /**
   * Publishes the pool's effective state (as the leader computed it). The object is kept as is and
   * must not be mutated afterwards (pass a new object for each revision). Emits one `state` event per
   * host whose effective state changed and then one `pool` event if anything an LVS table depends on
   * changed (admin state and kept-by-threshold included), counts transitions, and counts hosts newly kept pooled while
   * down (could-not-depool). States with a revision older than the current one are ignored
   * (returns false), so a late watch event never rolls the view back.
   */
  setState(state: PoolState, changes?: StateChanges): boolean {
    const e = this.entry(state);
    if (!e) return false;
    const prev = e.state;
    if (prev && state.revision < prev.revision) return false;
    e.state = state;
    // Whether anything an LVS table is built from changed (then one `pool` event follows).
    let lvsInputs = prev === null || prev.depoolThreshold !== state.depoolThreshold || prev.pooledDown.join() !== state.pooledDown.join();
    // The hosts that may have changed, in name order for the events. The same object is the same
    // server: the leader's encoder and the readers' decode cache keep a server's object while it does
    // not change (239 of 240 hosts of a section at a kubesvc depool), and a section that was already
    // this object needs no look at all.
    const hosts: string[] = [];
    if (prev !== null && changes !== undefined && changes.previous === prev) {
      // The publisher says which hosts can differ from the state held: only those are looked at.
      for (const host of changes.hosts) if (prev.servers[host] !== state.servers[host]) hosts.push(host);
    } else if (prev === null || prev.servers !== state.servers) {
      for (const host in state.servers) if (prev?.servers[host] !== state.servers[host]) hosts.push(host);
      if (prev !== null) for (const host in prev.servers) if (!Object.hasOwn(state.servers, host)) hosts.push(host);
    }
    for (const host of hosts.sort()) {
      const b = prev?.servers[host] ? snapshot(prev.servers[host]) : null;
      const a = state.servers[host] ? snapshot(state.servers[host]) : null;
      if (prev?.servers[host]?.pooledAdmin !== state.servers[host]?.pooledAdmin) lvsInputs = true;
      if (sameSnapshot(b, a)) continue;
      lvsInputs = true;
      this.events.publish({ type: 'state', pool: e.key, host, revision: state.revision, before: b, after: a });
      if (this.metrics && b && a) {
        if (b.up !== a.up) this.metrics.recordTransition(e.key, a.up ? 'up' : 'down');
        if (b.pooled !== a.pooled) this.metrics.recordTransition(e.key, a.pooled ? 'pooled' : 'depooled');
      }
    }
    // After the per-host events, one for the pool, also when only an admin state or the hosts kept
    // by the threshold changed (no host event): the LVS agent re-fetches the pool on it.
    if (lvsInputs) this.events.publish({ type: 'pool', pool: e.key, change: 'state', revision: state.revision });
    const wasPooledDown = new Set(prev?.pooledDown ?? []);
    for (const host of state.pooledDown) {
      if (!wasPooledDown.has(host)) this.metrics?.recordCouldNotDepool(e.key);
    }
    return true;
  }

  /**
   * Records this instance's latest result of one check on one host. Every result is counted in
   * metrics; a `check` event is published only when the check's up/down flips (or on its first result
   * when it is down), so the event stream shows transitions, not every probe.
   */
  setVerdict(key: TargetKey, check: string, result: CheckResult, at: number): boolean {
    const e = this.entry(key);
    if (!e) return false;
    let byCheck = e.verdicts.get(key.host);
    if (!byCheck) e.verdicts.set(key.host, (byCheck = new Map()));
    const prev = byCheck.get(check);
    byCheck.set(check, { result, at });
    this.metrics?.recordCheck(e.key, check, result);
    if (prev ? prev.result.up !== result.up : !result.up) {
      this.events.publish({
        type: 'check',
        pool: e.key,
        host: key.host,
        check,
        up: result.up,
        code: result.code,
        message: result.message,
        totalMs: result.timings.totalMs,
      });
    }
    return true;
  }

  /** Forgets this instance's verdicts for a host (host removed, or checks reconfigured). */
  clearVerdicts(key: TargetKey): void {
    this.get(key)?.verdicts.delete(key.host);
  }

  /** Records one observer's observation of a host (from /poold/v1/health, or our own). */
  setObservation(key: TargetKey, observation: Observation): boolean {
    const e = this.entry(key);
    if (!e) return false;
    let byObserver = e.observations.get(key.host);
    if (!byObserver) e.observations.set(key.host, (byObserver = new Map()));
    byObserver.set(observation.observer, observation);
    return true;
  }

  /** An observer's observation went away (its lease expired, or it was deleted). */
  removeObservation(key: TargetKey, observer: string): void {
    const byObserver = this.get(key)?.observations.get(key.host);
    byObserver?.delete(observer);
  }

  setFlapping(key: TargetKey, flapping: boolean): boolean {
    const e = this.entry(key);
    if (!e) return false;
    if (e.flapping.has(key.host) === flapping) return true;
    if (flapping) e.flapping.add(key.host);
    else e.flapping.delete(key.host);
    this.events.publish({ type: 'flapping', pool: e.key, host: key.host, flapping });
    return true;
  }

  /** Replaces the pool's drift problems (empty array: no drift). */
  setDrift(key: ServiceKey, problems: DriftProblem[]): boolean {
    const e = this.entry(key);
    if (!e) return false;
    const before = e.drift.map((p) => `${p.where}: ${p.message}`);
    const after = problems.map((p) => `${p.where}: ${p.message}`);
    e.drift = [...problems];
    if (before.join('\n') !== after.join('\n')) this.events.publish({ type: 'drift', pool: e.key, problems: after });
    return true;
  }

  /**
   * Applies a whole drift report (src/monitoring/drift.ts): each pool in the view gets the items
   * naming it (`dc/name`), and pools with none are cleared. Items naming no pool in the
   * view (a service only the deployed file has) are returned so the caller can report them.
   */
  applyDriftReport(report: Pick<DriftReport, 'items'>): DriftItem[] {
    const byPath = new Map<string, DriftProblem[]>();
    const unmatched: DriftItem[] = [];
    for (const item of report.items) {
      if (!this.pools.has(item.service)) {
        unmatched.push(item);
        continue;
      }
      const list = byPath.get(item.service) ?? [];
      list.push({
        where: item.where ?? item.source,
        message: `${item.source} ${item.field}: pools/ says ${item.expected}, deployed has ${item.actual}`,
      });
      byPath.set(item.service, list);
    }
    for (const [path, e] of this.pools) this.setDrift(e.key, byPath.get(path) ?? []);
    return unmatched;
  }

  /**
   * Marks one pool's state stale (the daemon lost its etcd watch, or the leader stopped publishing)
   * since `sinceMs`, or current again. Marking an already stale pool keeps its original start.
   */
  setStale(key: ServiceKey, stale: boolean, sinceMs: number): boolean {
    const e = this.entry(key);
    if (!e) return false;
    this.applyStale(e, stale, sinceMs, false);
    return true;
  }

  /** Sets (or, with null, clears) one cause of this instance as a whole for /alerts. */
  setInstanceCause(id: string, cause: AlertCause | null): void {
    if (cause === null) this.instanceCauseMap.delete(id);
    else this.instanceCauseMap.set(id, cause);
  }

  instanceCauses(): AlertCause[] {
    return [...this.instanceCauseMap.values()];
  }

  /** setStale for every pool in the view, publishing a single event. */
  setAllStale(stale: boolean, sinceMs: number): void {
    let changed = false;
    for (const e of this.pools.values()) changed = this.applyStale(e, stale, sinceMs, true) || changed;
    if (changed) this.events.publish({ type: 'stale', pool: null, stale, sinceMs: stale ? sinceMs : null });
  }

  private applyStale(e: PoolEntry, stale: boolean, sinceMs: number, quiet: boolean): boolean {
    if (e.stale === stale) return false;
    e.stale = stale;
    e.staleSinceMs = stale ? sinceMs : null;
    if (!quiet) this.events.publish({ type: 'stale', pool: e.key, stale, sinceMs: e.staleSinceMs });
    return true;
  }

  setLeadership(leadership: Leadership): void {
    const prev = this.leadership;
    this.leadership = { ...leadership };
    if (prev.leader !== leadership.leader || prev.leaderId !== leadership.leaderId) {
      this.events.publish({ type: 'leadership', leader: leadership.leader, leaderId: leadership.leaderId });
    }
  }

  /** Reports a conftool admin change (seen on the etcd watch). Only publishes an event. */
  recordAdminChange(key: HostKey, before: ConftoolValue | null, after: ConftoolValue | null, who: { actor?: string; reason?: string } = {}): boolean {
    if (!this.inScope(key)) return false;
    this.events.publish({
      type: 'admin',
      pool: { dc: key.dc, cluster: key.cluster, service: key.service },
      services: this.servicesOverPool(key).map((e) => e.key.name),
      host: key.host,
      before,
      after,
      ...(who.actor !== undefined ? { actor: who.actor } : {}),
      ...(who.reason !== undefined ? { reason: who.reason } : {}),
    });
    return true;
  }

  // ---- reads (the routes call these) ----

  getLeadership(): Leadership {
    return { ...this.leadership };
  }

  isLeader(): boolean {
    return this.leadership.leader;
  }

  get(key: ServiceKey): PoolEntry | null {
    return this.pools.get(servicePath(key)) ?? null;
  }

  /** The LVS services in scope that draw from the conftool pool of `key`. */
  servicesOverPool(key: { dc: string; cluster: string; service: string }): PoolEntry[] {
    // The published state names its pool too: a view holding a state before (or without) the
    // definition still knows which LVS services a conftool change touches.
    return this.list().filter((e) => {
      const pool = e.def?.pool ?? e.state?.pool;
      return e.key.dc === key.dc && pool?.cluster === key.cluster && pool.service === key.service;
    });
  }

  /** All LVS services in scope, ordered by dc, then name. */
  list(): PoolEntry[] {
    return [...this.pools.values()].sort((a, b) => cmpKey(a.key, b.key));
  }

  /**
   * The LVS service PyBal would call `name`: the first (by dc) in scope with that section name.
   * Pools without a published state are not served, as PyBal has no coordinator for them yet.
   */
  byPybalName(name: string): PoolEntry | null {
    for (const e of this.list()) if (e.state && poolName(e.key) === name) return e;
    return null;
  }

  /**
   * The LVS service config-master would serve at /pybal/<dc>/<catalog>: the first by section name
   * with that catalog name (a catalog service with several VIP labels has several sections).
   */
  byCatalogName(dc: string, catalog: string): PoolEntry | null {
    for (const e of this.list()) if (e.key.dc === dc && e.def?.catalog === catalog) return e;
    return null;
  }

  /** PyBal names that more than one pool in scope shares. */
  pybalNameConflicts(): Set<string> {
    const seen = new Set<string>();
    const dup = new Set<string>();
    for (const e of this.list()) {
      const n = poolName(e.key);
      if (seen.has(n)) dup.add(n);
      seen.add(n);
    }
    return dup;
  }

  metricPools(): { key: ServiceKey; counts: Record<ServerStateLabel, number>; stale: boolean; adminHolds: { held: number; forced: number } }[] {
    return this.list().map((e) => {
      const c = poolCounts(e.state);
      const counts = { total: c.total, enabled: c.enabled, up: c.up, pooled: c.pooled, pooled_down: c.pooledDown, inactive: c.inactive };
      const adminHolds = { held: 0, forced: 0 };
      for (const s of Object.values(e.state?.servers ?? {})) if (s.adminHold !== undefined) adminHolds[s.adminHold.status]++;
      return { key: e.key, counts, stale: e.stale, adminHolds };
    });
  }
}

/** Host counts of a published state. `total` excludes inactive hosts, as PyBal's pool does. */
export interface PoolCounts {
  total: number;
  enabled: number;
  up: number;
  pooled: number;
  /** Down but kept pooled by the threshold. */
  pooledDown: number;
  inactive: number;
  /** Up and enabled: what PyBal's canDepool counts. */
  upEnabled: number;
}

export function poolCounts(state: PoolState | null): PoolCounts {
  const c: PoolCounts = { total: 0, enabled: 0, up: 0, pooled: 0, pooledDown: state?.pooledDown.length ?? 0, inactive: 0, upEnabled: 0 };
  for (const s of Object.values(state?.servers ?? {})) {
    if (s.pooledAdmin === 'inactive') {
      c.inactive++;
      continue;
    }
    c.total++;
    if (s.enabled) c.enabled++;
    if (s.up) c.up++;
    if (s.pooled) c.pooled++;
    if (s.up && s.enabled) c.upEnabled++;
  }
  return c;
}

export function cmpKey(a: ServiceKey, b: ServiceKey): number {
  return byName(a.dc, b.dc) || byName(a.name, b.name);
}

