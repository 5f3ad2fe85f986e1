// Mirrors <poold>/freeze/ (issue 14) into DaemonData.freezes and tells the leader. A corrupt value is
// logged with its key and treated as no freeze (health depools apply: the safe default is PyBal's
// behaviour), never as a freeze without an end.
import type { ServiceKey } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { decodeFreeze } from '../store/decode.js';
import type { Keys } from '../store/keys.js';
import type { DaemonData } from './data.js';
import type { Logger } from './logger.js';
import type { MirrorHandlers } from './mirror.js';

export function freezeHandlers(
  keys: Keys,
  data: DaemonData,
  log: Logger,
  inScope: (sk: ServiceKey) => boolean,
  changed: (path: string) => void,
): Omit<MirrorHandlers, 'connection' | 'error'> {
  return {
    upsert: (key, value) => {
      const sk = keys.parseFreeze(key);
      if (sk === undefined || !inScope(sk)) return;
      const path = servicePath(sk);
      try {
        data.freezes.set(path, decodeFreeze(key, value));
      } catch (err) {
        log.error({ key, err: (err as Error).message }, 'invalid freeze ignored: health depools apply');
        data.freezes.delete(path);
      }
      changed(path);
    },
    remove: (key) => {
      const sk = keys.parseFreeze(key);
      if (sk === undefined || !inScope(sk)) return;
      const path = servicePath(sk);
      data.freezes.delete(path);
      changed(path);
    },
  };
}
