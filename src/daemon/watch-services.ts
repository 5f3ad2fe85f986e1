// Mirrors the LVS service definitions (<poold>/services/): a rejected definition keeps the last good
// one running. After each batch of changes the checks are reconfigured (one at a time) and drift is
// re-examined.
import { servicePath } from '../model/types.js';
import { decodeServiceDef } from '../store/decode.js';
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
  return {
    upsert: (key, value) => {
      const sk = d.keys.parseService(key);
      if (sk === undefined || !d.inScope(sk)) return;
      const path = servicePath(sk);
      try {
        const def = decodeServiceDef(key, value, sk);
        d.data.setService(path, def);
        d.data.invalidServices.delete(path);
        d.view.setService(def);
      } catch (err) {
        // Keep running the last good definition, and say so loudly in /alerts (the decoder's
        // message names the key and the field, so the operator knows what to fix).
        const msg = (err as Error).message;
        d.data.invalidServices.set(path, msg);
        d.log.error({ key, err: msg, keeping: d.data.services.has(path) ? 'last good definition' : 'nothing' }, 'invalid service definition in etcd');
      }
      d.problems.refresh(sk);
      servicesDirty = true;
      d.leader()?.serviceChanged(path);
    },
    remove: (key) => {
      const sk = d.keys.parseService(key);
      if (sk === undefined || !d.inScope(sk)) return;
      const path = servicePath(sk);
      d.data.deleteService(path);
      d.data.invalidServices.delete(path);
      d.view.removeService(sk);
      servicesDirty = true;
      d.leader()?.serviceChanged(path);
    },
    settled: () => {
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
