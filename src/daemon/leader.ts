// The elected leader's job: one pure coordinator per LVS service (src/model/coordinator.ts), fed with
// the admin state of its conftool pool, quorum-decided health and config changes; every change is
// published to /poold/v1/state/<dc>/<name>. A keyed work queue at both ends: watch handlers only mark
// what changed per LVS service; each tick applies one batch of events per service (applyEvents).
// Publishing goes through a keyed queue (publish-queue.ts): coalesced per service, packed into
// transactions within etcd's limits (hundreds of services on activation), each with the fence
// compare, and a service whose write fails is retried on its own backoff without holding back the
// others; the last state stays published meanwhile.
import { applyEvents, createCoordinator, effectiveState } from '../model/coordinator.js';
import type { CoordinatorEffect, CoordinatorEvent, CoordinatorState, HealthInput } from '../model/coordinator-types.js';
import { compactList } from '../model/compact-list.js';
import { orderAdminChanges } from '../model/coordinator-hold.js';
import type { AdminWriters } from './admin-writers.js';
import { decideHealth, type PreviousVerdict, type QuorumSetting } from '../model/quorum.js';
import { poolOf, poolPath, type AdminWriter, type PoolState, type ServiceDef, type ServiceKey } from '../model/types.js';
import type { Keys } from '../store/keys.js';
import type { Kv, TxnOp } from '../store/kv.js';
import { opBytes, TXN_BUDGET_BYTES, TXN_MAX_OPS } from '../store/limits.js';
import type { DaemonData } from './data.js';
import type { Logger } from './logger.js';
import { PublishQueue, type Publication } from './publish-queue.js';
import { StateEncoder } from './state-encoder.js';
import { gateDeadline } from '../model/coordinator-gates.js';
import type { CorrelatedFailure } from '../model/correlated.js';
import { firstRoundTimeoutMs } from '../model/first-verdict.js';
import { checksSignature, correlatedOf, coversChecks, GateTimers } from './leader-safety.js';

export interface LeaderDeps {
  kv: Kv;
  keys: Keys;
  data: DaemonData;
  quorum: QuorumSetting;
  log: Logger;
  now(): number;
  /**
   * Publish only while the election key still names us (compared in the same transaction). The
   * election notices a lost lease within the TTL, but a leader paused meanwhile (GC, CPU starvation,
   * SIGSTOP) could wake up and flush before noticing; the fence makes that write fail instead of
   * overwriting the new leader's state.
   */
  fence?: { key: string; holder: string };
  /** Finds who wrote a held admin depool (audit record at its revision); without it writers stay unknown. */
  writers?: AdminWriters;
  /** Called with every effect, for metrics and logs. */
  onEffects?(key: ServiceKey, effects: CoordinatorEffect[]): void;
  /**
   * A state this leader's own transaction has just committed at etcd revision `modRevision`, as a
   * reader would decode it from the value written (the daemon serves it without waiting for its watch's
   * echo: watch-state.ts). Exactly the published value: correlatedFailure included.
   */
  onPublished?(state: PoolState, modRevision: number): void;
  /**
   * A state this leader is about to write, with its header's value as written and what changed since
   * its previous one: the instance's watch may bring the write back before the transaction's answer
   * comes, and then serves this state instead of decoding the echo (watch-state.ts).
   */
  onProduced?(own: OwnPublication): void;
}

/** A state as this leader publishes it (LeaderDeps.onProduced). */
export interface OwnPublication {
  state: PoolState;
  /** The header key's value in the publication's transaction (either form). */
  header: string;
  /** The servers that may differ from `changes.previous`, this leader's previous state of the service; absent: any may. */
  changes?: { previous: PoolState; hosts: readonly string[] };
}

/**
 * What changed for one LVS service since the last tick. Handlers only record keys here; the tick
 * reads the current data for each, so two changes of one host in one tick cost one event built from
 * the latest facts (the Kubernetes controller pattern: enqueue keys, reconcile from current state).
 */
interface Pending {
  config: boolean;
  admin: Set<string>;
  health: Set<string>;
  /** Writers found for held depools: host → the revision looked up and its writer. */
  writers: Map<string, { revision: number; writer: AdminWriter | null }>;
  /** Issue 14: the freeze key changed; a first round or freeze ended by time. */
  freeze?: boolean;
  tick?: boolean;
}

export class Leader {
  private readonly coordinators = new Map<string, CoordinatorState>();
  private readonly pending = new Map<string, Pending>();
  /** LVS services whose definition is gone: their published state is deleted by the queue. */
  private readonly removed = new Map<string, ServiceKey>();
  /** LVS services whose state is to be published (or deleted), by path. */
  private readonly queue: PublishQueue;
  private tickScheduled = false;
  /** The state behind each publication made, for onPublished once its transaction commits. */
  private readonly produced = new WeakMap<Publication, PoolState>();
  /**
   * Per LVS service whose server keys are known (`stored`), the hosts whose key may not hold the
   * current encoding yet: every other host's does. So a publication compares only these hosts, not
   * all 240 of a section. Absent: compare them all (and start the set again).
   */
  private readonly unsynced = new Map<string, Set<string>>();
  /**
   * Per LVS service, what its server keys hold (host → value), as this leader's committed writes left
   * them; absent: not known (since activation), so its next publication rewrites them all.
   */
  private readonly stored = new Map<string, Map<string, string>>();
  /** Serialises each publication, building again only the servers that changed (state-encoder.ts). */
  private readonly encoder = new StateEncoder();
  private active = false;
  /** Issue 14: wake-ups when gates end, the correlated failure per service, the checks each coordinator was built for. */
  private readonly gateTimers: GateTimers;
  private readonly correlated = new Map<string, CorrelatedFailure>();
  private readonly checksSig = new Map<string, string>();

  constructor(private readonly d: LeaderDeps) {
    this.queue = this.createPublishQueue();
    this.gateTimers = new GateTimers(d.now);
  }

  get isActive(): boolean {
    return this.active;
  }

  /** Became leader: build every LVS service from what we know (published state, admin, observations). */
  activate(): void {
    this.active = true;
    for (const path of this.d.data.services.keys()) this.rebuild(path);
    // A state published for a service whose definition was deleted while nobody led would otherwise
    // stay in etcd for ever (LVS agents and restarted instances would keep serving it). Not for a
    // service whose stored definition is merely invalid: that one is still configured.
    for (const [path, state] of this.d.data.states) {
      if (!this.d.data.services.has(path) && !this.d.data.invalidServices.has(path)) this.markRemoved(path, state);
    }
  }

  deactivate(): void {
    this.active = false;
    this.coordinators.clear();
    this.pending.clear();
    this.removed.clear();
    this.queue.clear();
    this.stored.clear();
    this.unsynced.clear();
    this.encoder.clear();
    this.healedAt.clear();
    this.gateTimers.clear();
    this.correlated.clear();
    this.checksSig.clear();
  }

  /** An LVS service's definition appeared, changed or went away. */
  serviceChanged(path: string): void {
    if (!this.active) return;
    const def = this.d.data.services.get(path);
    const state = this.coordinators.get(path);
    if (def === undefined) {
      const key = state ?? this.d.data.states.get(path);
      this.coordinators.delete(path);
      this.encoder.forget(path);
      this.unsynced.delete(path);
      this.pending.delete(path);
      if (key !== undefined) this.markRemoved(path, key);
      return;
    }
    this.removed.delete(path);
    // Another pool means other hosts and other admin state: start over from what is known.
    if (state === undefined || state.pool.cluster !== def.pool.cluster || state.pool.service !== def.pool.service) {
      this.coordinators.delete(path);
      this.pending.delete(path);
      this.rebuild(path);
    } else if (this.checksSig.get(path) !== checksSignature(def)) {
      // Issue 14: other checks mean every server needs a fresh (first) verdict; start over from the
      // current state, so nothing flaps meanwhile.
      this.coordinators.delete(path);
      this.pending.delete(path);
      this.rebuild(path, effectiveState(state));
    } else this.enqueue(path).config = true;
  }

  /** When each service was last republished whole for an unreadable state (stateUnreadable). */
  private readonly healedAt = new Map<string, number>();
  private readonly healLater = new Set<string>();

  /**
   * Readers found this LVS service's published state unreadable: another tool wrote or deleted its
   * keys. Forget what its server keys hold and publish it again: inline at once, then every server key
   * rewritten (store/state-layout.ts). At most once per 5 s per service, so a state this leader
   * itself cannot make readable (a bug) is not rewritten in a loop.
   */
  stateUnreadable(path: string): void {
    if (!this.active || !this.coordinators.has(path)) return;
    const now = this.d.now();
    const wait = (this.healedAt.get(path) ?? Number.NEGATIVE_INFINITY) + 5_000 - now;
    if (wait > 0) {
      // Healed moments ago: once more when the 5 s are over (one timer per service).
      if (!this.healLater.has(path)) {
        this.healLater.add(path);
        setTimeout(() => { this.healLater.delete(path); this.stateUnreadable(path); }, wait).unref();
      }
      return;
    }
    this.healedAt.set(path, now);
    this.d.log.warn({ service: path }, 'published state unreadable (its keys written by another tool?): publishing it whole again');
    this.forgetStored(path);
    this.markDirty(path);
  }

  /** Issue 14: an LVS service's freeze was set, replaced or deleted. */
  freezeChanged(path: string): void {
    if (!this.active || !this.coordinators.has(path)) return;
    this.enqueue(path).freeze = true;
  }

  /** A conftool value changed: every LVS service over that pool sees it. */
  adminChanged(poolPath: string, host: string): void {
    if (!this.active) return;
    for (const path of this.d.data.servicesOfPool(poolPath)) {
      if (this.coordinators.has(path)) this.enqueue(path).admin.add(host);
    }
  }

  /** The observations of one host for one LVS service changed (an observer published, or its lease went away). */
  healthChanged(path: string, host: string): void {
    if (!this.active || !this.coordinators.has(path)) return;
    this.enqueue(path).health.add(host);
  }

  /** An observer's lease ended or began: every host's vote count may change (linear in the hosts). */
  observersChanged(): void {
    if (!this.active) return;
    for (const [path, state] of this.coordinators) {
      const p = this.enqueue(path);
      for (const host of state.servers.keys()) p.health.add(host);
    }
  }

  private enqueue(path: string): Pending {
    let p = this.pending.get(path);
    if (p === undefined) this.pending.set(path, (p = { config: false, admin: new Set(), health: new Set(), writers: new Map() }));
    this.scheduleTick();
    return p;
  }

  private scheduleTick(): void {
    if (this.tickScheduled) return;
    this.tickScheduled = true;
    // After the current I/O callbacks: one etcd watch response delivers many keys, and they all land in one tick.
    setImmediate(() => this.tick());
  }

  /** Applies each LVS service's pending changes as one batch (one copy of the pool per tick), then publishes. */
  private tick(): void {
    this.tickScheduled = false;
    if (!this.active) return;
    const work = [...this.pending];
    this.pending.clear();
    for (const [path, p] of work) {
      const state = this.coordinators.get(path);
      const def = this.d.data.services.get(path);
      if (state === undefined || def === undefined) continue;
      const at = this.d.now();
      const events: CoordinatorEvent[] = [];
      const timeout = firstRoundTimeoutMs(def);
      if (p.config) events.push({ type: 'configChanged', at, service: def, firstRoundTimeoutMs: timeout });
      if (p.freeze === true) events.push({ type: 'freezeChanged', at, freeze: this.d.data.freezes.get(path) ?? null });
      const admin = this.d.data.adminOf(def);
      // In order of their etcd revision: first come, first depooled (coordinator-hold.ts R2).
      const pool = poolPath(poolOf(def));
      const meta = this.d.data.adminMeta.get(pool);
      const changes = orderAdminChanges([...p.admin].map((host) => ({ host, revision: meta?.get(host)?.revision })));
      for (const { host, revision } of changes) {
        events.push({ type: 'adminChanged', at, host, value: admin?.get(host) ?? null, revision, force: this.d.data.forceOf(pool, host), firstRoundTimeoutMs: timeout });
      }
      for (const [host, w] of p.writers) events.push({ type: 'adminWriter', at, host, revision: w.revision, writer: w.writer });
      for (const host of p.health) {
        const prev = state.servers.get(host);
        const h = this.decide(path, host, prev && { up: prev.up, reason: prev.reason });
        if (h === undefined) continue;
        events.push({ type: 'healthChanged', at: h.at, host, up: h.up, reason: h.reason, flapping: h.flapping, findings: h.findings, complete: h.complete });
      }
      if (p.tick === true) events.push({ type: 'tick', at });
      if (events.length > 0) this.apply(path, events);
    }
    // Everything this tick changed is queued: publish now, not a turn of the event loop later.
    this.queue.flush();
  }

  /** The quorum verdict on one host's observations, given its previous verdict; undefined while undecided. */
  private decide(path: string, host: string, prev: PreviousVerdict | undefined): HealthInput | undefined {
    const obs = [...(this.d.data.observations.get(path)?.get(host)?.values() ?? [])];
    const v = decideHealth(obs, this.d.data.liveObservers(), prev, { quorum: this.d.quorum });
    if (v === null || !v.decided) return undefined;
    const def = this.d.data.services.get(path);
    const complete = def === undefined || coversChecks(obs, this.d.data.liveObservers(), def);
    return { up: v.up, reason: v.reason, at: v.at, flapping: v.flapping, findings: v.findings, complete };
  }

  /** Issue 14, after every change of a coordinator: wake it when a gate ends; republish when its correlated failure changed. */
  private afterChange(path: string, state: CoordinatorState): void {
    this.gateTimers.schedule(path, gateDeadline(state), () => {
      if (this.active && this.coordinators.has(path)) this.enqueue(path).tick = true;
    });
    const def = this.d.data.services.get(path);
    const c = def && correlatedOf(state, def, this.d.data.observations.get(path), this.d.data.liveObservers());
    const before = this.correlated.get(path);
    if (JSON.stringify(c) === JSON.stringify(before)) return;
    if (c === undefined) this.correlated.delete(path);
    else {
      this.correlated.set(path, c);
      if (before === undefined) this.d.log.error({ service: path, check: c.check, failed: c.failed, total: c.total }, 'correlated failure: many servers failed one check together');
    }
    this.queue.add(path);
  }

  private rebuild(path: string, previousState?: PoolState): void {
    const service = this.d.data.services.get(path);
    if (service === undefined) return;
    const admin = Object.fromEntries(this.d.data.adminOf(service) ?? []);
    const health: Record<string, HealthInput> = {};
    for (const host of this.d.data.observations.get(path)?.keys() ?? []) {
      const prev = this.d.data.states.get(path)?.servers[host];
      const h = this.decide(path, host, prev && { up: prev.up, reason: prev.reason });
      if (h !== undefined) health[host] = h;
    }
    const pool = poolPath(poolOf(service));
    const adminRevisions: Record<string, number> = {};
    const forced: Record<string, AdminWriter> = {};
    for (const [host, m] of this.d.data.adminMeta.get(pool) ?? []) {
      adminRevisions[host] = m.revision;
      const f = this.d.data.forceOf(pool, host);
      if (f !== null) forced[host] = f;
    }
    try {
      const t = createCoordinator({
        at: this.d.now(), service, admin, previous: previousState ?? this.d.data.states.get(path), health, adminRevisions, forced,
        firstRoundTimeoutMs: firstRoundTimeoutMs(service), freeze: this.d.data.freezes.get(path),
      });
      this.coordinators.set(path, t.state);
      this.checksSig.set(path, checksSignature(service));
      this.d.onEffects?.(service, t.effects);
      this.markDirty(path);
      this.findWriters(path, service, t.state);
      this.afterChange(path, t.state);
    } catch (err) {
      this.d.log.error({ err, service: path }, 'cannot coordinate LVS service; its published state is left as it is');
    }
  }

  private apply(path: string, events: CoordinatorEvent[]): void {
    const state = this.coordinators.get(path);
    if (state === undefined) return;
    try {
      const t = applyEvents(state, events);
      this.coordinators.set(path, t.state);
      if (t.effects.length > 0) this.d.onEffects?.(t.state, t.effects);
      if (t.state.revision !== state.revision) this.queue.add(path);
      const def = this.d.data.services.get(path);
      if (def !== undefined) this.findWriters(path, def, t.state);
      this.afterChange(path, t.state);
    } catch (err) {
      // A batch is all or nothing: retry its events one by one, so one bad event (e.g. an unusable
      // admin value) does not drop the others.
      if (events.length > 1) {
        for (const e of events) this.apply(path, [e]);
        return;
      }
      this.d.log.error({ err, service: path, event: events[0]?.type }, 'coordinator rejected an event; state unchanged');
    }
  }

  /** Lookups under way or done, `path host revision`, so each held write is looked up once. */
  private readonly lookedUp = new Set<string>();

  /** Starts the audit lookup of every held depool whose writer is not known yet; results come back as events. */
  private findWriters(path: string, def: ServiceDef, state: CoordinatorState): void {
    const writers = this.d.writers;
    if (writers === undefined || state.holds === undefined) return;
    const pool = poolOf(def);
    for (const [host, h] of state.holds) {
      if (h.status !== 'held' || h.writer !== undefined) continue;
      const id = `${path} ${host} ${h.revision}`;
      if (this.lookedUp.has(id)) continue;
      this.lookedUp.add(id);
      if (this.lookedUp.size > 100_000) this.lookedUp.clear(); // a bound, not a cache: a repeat lookup is harmless
      const seenAt = this.d.data.adminMeta.get(poolPath(pool))?.get(host)?.seenAt;
      writers.writerOf(this.d.keys.host({ ...pool, host }), h.revision, seenAt).then(
        (writer) => {
          if (!this.active || !this.coordinators.has(path)) return;
          this.enqueue(path).writers.set(host, { revision: h.revision, writer });
        },
        (err: unknown) => {
          this.lookedUp.delete(id);
          this.d.log.warn({ err: (err as Error).message, service: path, host, revision: h.revision }, 'could not read the audit record of a held admin depool; will retry');
          setTimeout(() => { if (this.active) { const s = this.coordinators.get(path); if (s !== undefined) this.findWriters(path, def, s); } }, 5_000).unref();
        },
      );
    }
  }

  private markRemoved(path: string, key: ServiceKey): void {
    this.removed.set(path, { dc: key.dc, name: key.name });
    this.queue.add(path);
  }

  private markDirty(path: string): void {
    this.queue.add(path);
  }

  /**
   * What publishing an LVS service means now: its state, the deletion of a removed service's state,
   * or nothing. The layout and its invariant are store/state-layout.ts: one transaction per
   * publication, the header last in it. The split form when the changed server keys fit in that
   * transaction beside the header; else the inline form, with the server keys converged afterwards.
   */
  private publication(path: string): Publication | undefined {
    if (!this.active) return undefined;
    const state = this.coordinators.get(path);
    if (state !== undefined) {
      const c = this.correlated.get(path);
      const enc = this.encoder.encode(state, c);
      const headerKey = this.d.keys.state(state);
      const diff = this.serverDiff(path, state, enc.servers, enc.changed);
      let p: Publication;
      let header: string;
      if (diff !== undefined && fitsBesideHeader(diff, headerKey, enc.header)) {
        header = enc.header;
        p = { etcdKey: headerKey, ops: [...diff, { type: 'put', key: headerKey, value: header }] };
      } else {
        // Unknown server keys (after activation): clear them all and write every server.
        const after = diff ?? [{ type: 'delete' as const, key: `${headerKey}/`, prefix: true }, ...this.allServers(state, enc.servers)];
        header = enc.inline();
        p = { etcdKey: headerKey, ops: [{ type: 'put', key: headerKey, value: header }], after };
      }
      if (this.d.onPublished !== undefined) this.produced.set(p, enc.state);
      this.d.onProduced?.({ state: enc.state, header, ...(enc.changed !== null && enc.previous !== undefined ? { changes: { previous: enc.previous, hosts: enc.changed } } : {}) });
      return p;
    }
    const gone = this.removed.get(path);
    // A pool defined again meanwhile is not deleted. The header goes first (readers drop the service),
    // its server keys after.
    if (gone !== undefined && !this.d.data.services.has(path)) {
      const headerKey = this.d.keys.state(gone);
      return { etcdKey: headerKey, ops: [{ type: 'delete', key: headerKey }], after: [{ type: 'delete', key: `${headerKey}/`, prefix: true }] };
    }
    return undefined;
  }

  /**
   * The server-key writes that turn what `path`'s server keys hold into `servers`; undefined when
   * what they hold is not known. Looks only at the hosts `unsynced` names and those the encoding
   * changed (`changed`; null: all), and keeps in `unsynced` the hosts it writes.
   */
  private serverDiff(path: string, k: ServiceKey, servers: ReadonlyMap<string, string>, changed: readonly string[] | null): TxnOp[] | undefined {
    const stored = this.stored.get(path);
    if (stored === undefined) return undefined;
    let hosts = this.unsynced.get(path);
    if (hosts === undefined || changed === null) {
      hosts = new Set([...servers.keys(), ...stored.keys()]);
      this.unsynced.set(path, hosts);
    } else {
      for (const host of changed) hosts.add(host);
    }
    const ops: TxnOp[] = [];
    for (const host of hosts) {
      const value = servers.get(host);
      if (stored.get(host) === value) hosts.delete(host); // in sync (or absent from both)
      else if (value === undefined) ops.push({ type: 'delete', key: this.d.keys.stateServer(k, host) });
      else ops.push({ type: 'put', key: this.d.keys.stateServer(k, host), value });
    }
    return ops;
  }

  /** Every server's put, for server keys just cleared. */
  private allServers(k: ServiceKey, servers: ReadonlyMap<string, string>): TxnOp[] {
    const ops: TxnOp[] = [];
    for (const [host, value] of servers) ops.push({ type: 'put', key: this.d.keys.stateServer(k, host), value });
    return ops;
  }

  /** What `path`'s server keys hold is not known any more: its next publication writes them all. */
  private forgetStored(path: string): void {
    this.stored.delete(path);
    this.unsynced.delete(path);
  }

  /** Committed server-key writes of `path`: what is stored under its server keys now. */
  private noteStored(path: string, ops: readonly TxnOp[]): void {
    for (const op of ops) {
      if (op.type === 'delete' && op.prefix === true) {
        // Known empty now; a removed service's is forgotten. Either way every host is compared again.
        this.unsynced.delete(path);
        if (this.coordinators.has(path)) this.stored.set(path, new Map());
        else this.stored.delete(path);
        continue;
      }
      const hk = this.d.keys.parseStateServer(op.key);
      const stored = this.stored.get(path);
      // Unknown until a prefix delete made it known (the first op of a full backfill).
      if (hk === undefined || stored === undefined) continue;
      if (op.type === 'put') stored.set(hk.host, op.value);
      else stored.delete(hk.host);
    }
  }

  /** The publication queue: one write per pool, batched within etcd's limits, fenced, retried per pool. */
  private createPublishQueue(): PublishQueue {
    const fence = this.d.fence;
    return new PublishQueue({
      kv: this.d.kv,
      fence: fence && { key: fence.key, target: 'value', op: '==', value: fence.holder },
      produce: (path) => this.publication(path),
      onWritten: (path, p, revision) => {
        this.noteStored(path, p.ops);
        if (p.ops.at(-1)?.type === 'delete') this.removed.delete(path);
        const published = this.produced.get(p);
        // Its servers are already as readers decode them (state-encoder.ts).
        if (published !== undefined && this.active) this.d.onPublished?.(published, revision);
      },
      onAfterWritten: (path, ops) => this.noteStored(path, ops),
      onFenced: (paths) => {
        // Not retried: whoever holds the key now publishes; the election will make us a follower.
        this.d.log.warn({ pools: compactList(paths), count: paths.length, electionKey: fence?.key }, 'not publishing: the election key no longer names this instance');
      },
      onFailed: (paths, err, retryMs) => {
        // The transaction may have committed all the same (its answer lost): what the server keys
        // hold is not known any more. Were it taken as unchanged, a server changed back to its old
        // value before the next publication would stay wrong in etcd.
        for (const path of paths) this.forgetStored(path);
        this.d.log.warn({ err: (err as Error).message, pools: compactList(paths), count: paths.length, retryMs }, 'could not publish pool state; retrying each pool on its own backoff');
      },
    });
  }
}

/**
 * Whether a split publication (the changed server keys and the header) is small enough to be one
 * write that still packs with others: under etcd's op limit and half its byte budget.
 */
function fitsBesideHeader(diff: readonly TxnOp[], headerKey: string, header: string): boolean {
  if (diff.length + 1 > TXN_MAX_OPS) return false;
  let bytes = opBytes({ type: 'put', key: headerKey, value: header });
  for (const op of diff) bytes += opBytes(op);
  return bytes <= TXN_BUDGET_BYTES / 2;
}
