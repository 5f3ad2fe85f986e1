// What the etcd watch handlers (watch-*.ts) act on: each kind of key is mirrored into DaemonData, shown
// by the view, checked for rejected values (ServiceProblems) and handed to the leader. daemon.ts builds
// one of these and wires each mirror to its handlers.
import type { PoolView } from '../api/state-view.js';
import type { ServiceKey } from '../model/types.js';
import type { Keys } from '../store/keys.js';
import type { DaemonData } from './data.js';
import type { Leader } from './leader.js';
import type { Logger } from './logger.js';
import type { MirrorHandlers } from './mirror.js';
import type { ServiceProblems } from './service-problems.js';

/** A mirror's handlers of keys; the daemon adds connection and error reporting itself. */
export type WatchHandlers = Omit<MirrorHandlers, 'connection' | 'error'>;

export interface WatchDeps {
  keys: Keys;
  data: DaemonData;
  view: PoolView;
  problems: ServiceProblems;
  log: Logger;
  /** Whether this instance serves the key's dc (--dc). */
  inScope: (k: Pick<ServiceKey, 'dc'>) => boolean;
  /**
   * The leader, read at every call: handlers only tell it what changed (it decides whether it is
   * active), and must tolerate it being absent.
   */
  leader: () => Leader | undefined;
}
