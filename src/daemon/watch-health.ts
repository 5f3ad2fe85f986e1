// Mirrors the observations (<poold>/health/<dc>/<name>/<host>/<observer>): every instance's verdict on
// every host. A rejected value keeps that observer's previous verdict. A new or vanished observer
// changes the quorum of every pool; otherwise only that host's health changed.
import type { Observation, TargetKey } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { decodeObservation } from '../store/decode.js';
import type { WatchDeps, WatchHandlers } from './watch-deps.js';

export function healthHandlers(d: WatchDeps): WatchHandlers {
  return {
    upsert: (key, value) => {
      const hk = d.keys.parseHealth(key);
      if (hk === undefined || !d.inScope(hk)) return;
      const path = servicePath(hk);
      let obs: Observation;
      try {
        obs = decodeObservation(key, value, hk.observer);
      } catch (err) {
        // The observer's previous verdict (if any) stays in use until it writes a readable one.
        d.log.error({ key, err: (err as Error).message }, 'invalid observation in etcd; keeping the last good one');
        d.problems.setCorrupt(key, { message: (err as Error).message, service: path });
        return;
      }
      d.problems.setCorrupt(key, undefined);
      const host: TargetKey = { dc: hk.dc, name: hk.name, host: hk.host };
      const newObserver = d.data.setObservation(path, hk.host, obs);
      d.view.setObservation(host, obs);
      if (newObserver) d.leader()?.observersChanged();
      else d.leader()?.healthChanged(path, hk.host);
    },
    remove: (key) => {
      const hk = d.keys.parseHealth(key);
      if (hk === undefined || !d.inScope(hk)) return;
      d.problems.setCorrupt(key, undefined);
      const path = servicePath(hk);
      const gone = d.data.removeObservation(path, hk.host, hk.observer);
      d.view.removeObservation({ dc: hk.dc, name: hk.name, host: hk.host }, hk.observer);
      if (gone) d.leader()?.observersChanged();
      else d.leader()?.healthChanged(path, hk.host);
    },
  };
}
