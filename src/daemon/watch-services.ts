// Mirrors the LVS service definitions (<poold>/services/), with the pools' server lists stored beside
// them: a rejected definition keeps the last good one running, and a changed list is a change of every
// definition over its pool. After each batch of changes the checks are reconfigured (one at a time) and drift is
// re-examined.
import { servicePath, type ServiceKey } from '../model/types.js';
import { DefinitionSet } from '../store/definition-set.js';
import type { DriftWatch } from './drift-watch.js';
import type { Observer } from './observer.js';
import type { WatchDeps, WatchHandlers } from './watch-deps.js';

export interface ServiceWatchDeps extends WatchDeps {
  /** Read at call time: the drift watch starts after the mirrors (and only when configured). */
  drift: () => DriftWatch | undefined;
  observer: () => Observer | undefined;
}

export function serviceHandlers(d: ServiceWatchDeps): WatchHandlers {
  let servicesDirty = false;
  let configuring: Promise<void> = Promise.resolve();
  // Definitions and the pools' server lists they use, both under services/ (store/definition-set.ts).
  const stored = new DefinitionSet(d.keys, (sk) => d.inScope(sk));
  const decode = (sk: ServiceKey) => {
    const path = servicePath(sk);
    try {
      const def = stored.decode(sk);
      d.data.setService(path, def);
      d.data.invalidServices.delete(path);
      d.view.setService(def);
    } catch (err) {
      // Keep running the last good definition, and say so loudly in /alerts (the decoder's
      // message names the key and the field, so the operator knows what to fix).
      const msg = (err as Error).message;
      d.data.invalidServices.set(path, msg);
      d.log.error({ key: d.keys.service(sk), err: msg, keeping: d.data.services.has(path) ? 'last good definition' : 'nothing' }, 'invalid service definition in etcd');
    }
    d.problems.refresh(sk);
    servicesDirty = true;
    d.leader()?.serviceChanged(path);
  };
  const remove = (sk: ServiceKey) => {
    const path = servicePath(sk);
    d.data.deleteService(path);
    d.data.invalidServices.delete(path);
    d.view.removeService(sk);
    servicesDirty = true;
    d.leader()?.serviceChanged(path);
  };
  return {
    upsert: (key, value) => void stored.change(key, value),
    remove: (key) => void stored.change(key, undefined),
    settled: () => {
      // Decoded at the batch's end (DefinitionSet.take).
      for (const { sk, removed } of stored.take()) {
        if (removed) remove(sk);
        else decode(sk);
      }
      if (!servicesDirty) return;
      servicesDirty = false;
      d.drift()?.kick();
      // One reconfiguration at a time, each reading the definitions when it runs: setServices
      // awaits name resolution, so two overlapping calls could finish out of order and leave the
      // older set of checks in place.
      configuring = configuring
        .then(() => d.observer()?.setServices([...d.data.services.values()]))
        .catch((err: unknown) => d.log.error({ err }, 'could not configure checks'));
    },
  };
}
