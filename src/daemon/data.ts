// What the daemon knows from etcd, kept current by the mirrors: service definitions (the last good
// one when a stored definition is invalid), conftool admin values, every observer's observations,
// and the published effective state. Plain maps keyed by dc/cluster/service path.
import type { ConftoolValue, Observation, PoolState, ServiceDef } from '../model/types.js';

export class DaemonData {
  readonly services = new Map<string, ServiceDef>();
  /** Why a stored definition was rejected (the last good one stays in `services`). */
  readonly invalidServices = new Map<string, string>();
  readonly admin = new Map<string, Map<string, ConftoolValue>>();
  /** path → host → observer → observation. Health keys are leased, so presence means live. */
  readonly observations = new Map<string, Map<string, Map<string, Observation>>>();
  readonly states = new Map<string, PoolState>();
  private readonly observerKeys = new Map<string, number>();

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
