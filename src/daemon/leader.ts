// The elected leader's job: one pure coordinator per pool (src/model/coordinator.ts), fed with admin
// state, quorum-decided health and config changes; every change is published to
// /poold/v1/state/<pool>. Publishing goes through a keyed queue (publish-queue.ts): coalesced per
// pool, packed into transactions within etcd's limits (hundreds of pools on activation), each with
// the fence compare, and a pool whose write fails is retried on its own backoff without holding
// back the others; the last state stays published meanwhile.
import { applyEvent, createCoordinator, effectiveState } from '../model/coordinator.js';
import type { CoordinatorEffect, CoordinatorEvent, CoordinatorState, HealthInput } from '../model/coordinator-types.js';
import { compactList } from '../model/compact-list.js';
import { decideHealth, type PreviousVerdict, type QuorumSetting } from '../model/quorum.js';
import type { ServiceKey } from '../model/types.js';
import type { Keys } from '../store/keys.js';
import type { Kv } from '../store/kv.js';
import type { DaemonData } from './data.js';
import type { Logger } from './logger.js';
import { PublishQueue, type Publication } from './publish-queue.js';

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
  /** Called with every effect, for metrics and logs. */
  onEffects?(key: ServiceKey, effects: CoordinatorEffect[]): void;
}

export class Leader {
  private readonly coordinators = new Map<string, CoordinatorState>();
  /** Pools whose definition is gone: their published state is deleted by the queue. */
  private readonly removed = new Map<string, ServiceKey>();
  /** Pools whose state is to be published (or deleted), by path. */
  private readonly queue: PublishQueue;
  private active = false;

  constructor(private readonly d: LeaderDeps) {
    this.queue = this.createPublishQueue();
  }

  get isActive(): boolean {
    return this.active;
  }

  /** Became leader: build every pool from what we know (published state, admin, observations). */
  activate(): void {
    this.active = true;
    for (const path of this.d.data.services.keys()) this.rebuild(path);
    // A state published for a pool whose definition was deleted while nobody led would otherwise
    // stay in etcd for ever (LVS agents and restarted instances would keep serving it). Not for a
    // pool whose stored definition is merely invalid: that one is still configured.
    for (const [path, state] of this.d.data.states) {
      if (!this.d.data.services.has(path) && !this.d.data.invalidServices.has(path)) this.markRemoved(path, state);
    }
  }

  deactivate(): void {
    this.active = false;
    this.coordinators.clear();
    this.removed.clear();
    this.queue.clear();
  }

  /** A pool's definition appeared, changed or went away. */
  serviceChanged(path: string): void {
    if (!this.active) return;
    const def = this.d.data.services.get(path);
    const state = this.coordinators.get(path);
    if (def === undefined) {
      const key = state ?? this.d.data.states.get(path);
      this.coordinators.delete(path);
      if (key !== undefined) this.markRemoved(path, key);
      return;
    }
    this.removed.delete(path);
    if (state === undefined) this.rebuild(path);
    else this.apply(path, { type: 'configChanged', at: this.d.now(), service: def });
  }

  adminChanged(path: string, host: string): void {
    if (!this.active || !this.coordinators.has(path)) return;
    const value = this.d.data.admin.get(path)?.get(host) ?? null;
    this.apply(path, { type: 'adminChanged', at: this.d.now(), host, value });
  }

  /** The observations of one host changed (an observer published, or its lease went away). */
  healthChanged(path: string, host: string): void {
    const state = this.coordinators.get(path);
    if (!this.active || state === undefined) return;
    const prev = state.servers.get(host);
    const h = this.decide(path, host, prev && { up: prev.up, reason: prev.reason });
    if (h === undefined) return;
    this.apply(path, { type: 'healthChanged', at: h.at, host, up: h.up, reason: h.reason, flapping: h.flapping, findings: h.findings });
  }

  /** An observer's lease ended or began: every host's vote count may change. */
  observersChanged(): void {
    if (!this.active) return;
    for (const [path, state] of this.coordinators) {
      for (const host of state.servers.keys()) this.healthChanged(path, host);
    }
  }

  /** The quorum verdict on one host's observations, given its previous verdict; undefined while undecided. */
  private decide(path: string, host: string, prev: PreviousVerdict | undefined): HealthInput | undefined {
    const obs = [...(this.d.data.observations.get(path)?.get(host)?.values() ?? [])];
    const v = decideHealth(obs, this.d.data.liveObservers(), prev, { quorum: this.d.quorum });
    if (v === null || !v.decided) return undefined;
    return { up: v.up, reason: v.reason, at: v.at, flapping: v.flapping, findings: v.findings };
  }

  private rebuild(path: string): void {
    const service = this.d.data.services.get(path);
    if (service === undefined) return;
    const admin = Object.fromEntries(this.d.data.admin.get(path) ?? []);
    const health: Record<string, HealthInput> = {};
    for (const host of this.d.data.observations.get(path)?.keys() ?? []) {
      const prev = this.d.data.states.get(path)?.servers[host];
      const h = this.decide(path, host, prev && { up: prev.up, reason: prev.reason });
      if (h !== undefined) health[host] = h;
    }
    try {
      const t = createCoordinator({ at: this.d.now(), service, admin, previous: this.d.data.states.get(path), health });
      this.coordinators.set(path, t.state);
      this.d.onEffects?.(service, t.effects);
      this.markDirty(path);
    } catch (err) {
      this.d.log.error({ err, pool: path }, 'cannot coordinate pool; its published state is left as it is');
    }
  }

  private apply(path: string, event: CoordinatorEvent): void {
    const state = this.coordinators.get(path);
    if (state === undefined) return;
    try {
      const t = applyEvent(state, event);
      this.coordinators.set(path, t.state);
      if (t.effects.length > 0) this.d.onEffects?.(t.state, t.effects);
      if (t.state.revision !== state.revision) this.markDirty(path);
    } catch (err) {
      this.d.log.error({ err, pool: path, event: event.type }, 'coordinator rejected an event; state unchanged');
    }
  }

  private markRemoved(path: string, key: ServiceKey): void {
    this.removed.set(path, { dc: key.dc, cluster: key.cluster, service: key.service });
    this.queue.add(path);
  }

  private markDirty(path: string): void {
    this.queue.add(path);
  }

  /** What publishing a pool means now: its state, the deletion of a removed pool's state, or nothing. */
  private publication(path: string): Publication | undefined {
    if (!this.active) return undefined;
    const state = this.coordinators.get(path);
    if (state !== undefined) return { etcdKey: this.d.keys.state(state), value: JSON.stringify(effectiveState(state)) };
    const gone = this.removed.get(path);
    // A pool defined again meanwhile is not deleted.
    if (gone !== undefined && !this.d.data.services.has(path)) return { etcdKey: this.d.keys.state(gone), value: null };
    return undefined;
  }

  /** The publication queue: one write per pool, batched within etcd's limits, fenced, retried per pool. */
  private createPublishQueue(): PublishQueue {
    const fence = this.d.fence;
    return new PublishQueue({
      kv: this.d.kv,
      fence: fence && { key: fence.key, target: 'value', op: '==', value: fence.holder },
      produce: (path) => this.publication(path),
      onWritten: (path, p) => {
        if (p.value === null) this.removed.delete(path);
      },
      onFenced: (paths) => {
        // Not retried: whoever holds the key now publishes; the election will make us a follower.
        this.d.log.warn({ pools: compactList(paths), count: paths.length, electionKey: fence?.key }, 'not publishing: the election key no longer names this instance');
      },
      onFailed: (paths, err, retryMs) => {
        this.d.log.warn({ err: (err as Error).message, pools: compactList(paths), count: paths.length, retryMs }, 'could not publish pool state; retrying each pool on its own backoff');
      },
    });
  }
}
