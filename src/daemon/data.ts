// What the daemon knows from etcd, kept current by the mirrors: LVS service definitions (the last good
// one when a stored definition is invalid), conftool admin values, every observer's observations,
// and the published effective state. Plain maps: services, observations and states are keyed by
// the LVS service's path (dc/name); admin values by the conftool pool's path (dc/cluster/service).
import { poolOf, poolPath, type AdminWriter, type ConftoolValue, type Observation, type PoolState, type ServiceDef } from '../model/types.js';
import type { ForceMarker } from '../store/force-marker.js';

/** The etcd facts of a host's current conftool value: its mod revision, and when a watch delivered it. */
export interface AdminMeta {
  revision: number;
  /** Absent when the value was listed (start, re-list): its write time is unknown. */
  seenAt?: number;
}
import type { Freeze } from '../model/coordinator-freeze.js';

export class DaemonData {
  /** LVS service path → definition. Change it through setService/deleteService, which keep byPool. */
  readonly services = new Map<string, ServiceDef>();
  /** conftool pool path → the paths of the LVS services over it. */
  private readonly byPool = new Map<string, Set<string>>();
  /** Why a stored definition was rejected (the last good one stays in `services`). */
  readonly invalidServices = new Map<string, string>();
  /**
   * etcd key → why its value was rejected by src/store/decode.ts (a published state, an observation
   * or a conftool value another tool wrote), and what it concerns. The last good value stays in use;
   * the services concerned say so in /alerts until the key is rewritten or deleted.
   */
  readonly corrupt = new Map<string, CorruptValue>();
  /** conftool pool path → host → value. */
  readonly admin = new Map<string, Map<string, ConftoolValue>>();
  /** path → host → observer → observation. Health keys are leased, so presence means live. */
  readonly observations = new Map<string, Map<string, Map<string, Observation>>>();
  readonly states = new Map<string, PoolState>();
  /** conftool pool path → host → revision of its current value. */
  readonly adminMeta = new Map<string, Map<string, AdminMeta>>();
  /** conftool pool path → host → its force marker and the marker's mod revision (store/force-marker.ts). */
  readonly force = new Map<string, Map<string, { marker: ForceMarker; revision: number }>>();
  /** LVS service path → its freeze of health depools (issue 14), as stored (expired ones included). */
  readonly freezes = new Map<string, Freeze>();
  private readonly observerKeys = new Map<string, number>();

  setService(path: string, def: ServiceDef): void {
    this.deleteService(path);
    this.services.set(path, def);
    const pool = poolPath(poolOf(def));
    let paths = this.byPool.get(pool);
    if (paths === undefined) this.byPool.set(pool, (paths = new Set()));
    paths.add(path);
  }

  deleteService(path: string): void {
    const def = this.services.get(path);
    if (def === undefined) return;
    this.services.delete(path);
    const pool = poolPath(poolOf(def));
    const paths = this.byPool.get(pool);
    paths?.delete(path);
    if (paths?.size === 0) this.byPool.delete(pool);
  }

  /** The LVS services drawing from a conftool pool (a live view). */
  servicesOfPool(pool: string): ReadonlySet<string> {
    return this.byPool.get(pool) ?? EMPTY;
  }

  /** The admin values of the pool an LVS service draws from. */
  adminOf(def: ServiceDef): ReadonlyMap<string, ConftoolValue> | undefined {
    return this.admin.get(poolPath(poolOf(def)));
  }

  /** The writer named by the force marker of `host`'s CURRENT conftool write (same revision), else null. */
  forceOf(pool: string, host: string): AdminWriter | null {
    const m = this.force.get(pool)?.get(host);
    const meta = this.adminMeta.get(pool)?.get(host);
    if (m === undefined || meta === undefined || m.revision !== meta.revision) return null;
    return m.marker.reason !== '' ? { actor: m.marker.actor, reason: m.marker.reason } : { actor: m.marker.actor };
  }

  /** Observers with at least one observation key, i.e. whose lease is alive (a live view, not a copy). */
  liveObservers(): Iterable<string> {
    return this.observerKeys.keys();
  }

  /** Records an observation; returns true when the observer was not live before. */
  setObservation(path: string, host: string, obs: Observation): boolean {
    const hosts = this.observations.get(path) ?? new Map<string, Map<string, Observation>>();
    this.observations.set(path, hosts);
    const byObserver = hosts.get(host) ?? new Map<string, Observation>();
    hosts.set(host, byObserver);
    const isNew = !byObserver.has(obs.observer);
    byObserver.set(obs.observer, obs);
    if (!isNew) return false;
    const n = this.observerKeys.get(obs.observer) ?? 0;
    this.observerKeys.set(obs.observer, n + 1);
    return n === 0;
  }

  /** Forgets an observation; returns true when that was the observer's last key (its lease ended). */
  removeObservation(path: string, host: string, observer: string): boolean {
    const byObserver = this.observations.get(path)?.get(host);
    if (byObserver === undefined || !byObserver.delete(observer)) return false;
    const n = (this.observerKeys.get(observer) ?? 1) - 1;
    if (n <= 0) {
      this.observerKeys.delete(observer);
      return true;
    }
    this.observerKeys.set(observer, n);
    return false;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

export interface CorruptValue {
  message: string;
  /** The LVS service path (dc/name) it concerns, for states and observations. */
  service?: string;
  /** The conftool pool path (dc/cluster/service) it concerns, for conftool values. */
  pool?: string;
}
