// Force markers (store/force-marker.ts), mirrored into DaemonData.force: a marker counts while its
// revision is its host's conftool revision. While this instance leads it also deletes the markers
// that apply to nothing any more.
import { poolPath, type HostKey } from '../model/types.js';
import { decodeForceMarker } from '../store/decode.js';
import type { Kv } from '../store/kv.js';
import type { WatchDeps, WatchHandlers } from './watch-deps.js';

export interface ForceWatchDeps extends Pick<WatchDeps, 'keys' | 'data' | 'log' | 'inScope' | 'leader'> {
  kv: () => Kv;
  /** Read at call time: only the leader deletes stale markers. */
  isLeader: () => boolean;
}

export class ForceMarkers {
  constructor(private readonly d: ForceWatchDeps) {}

  handlers(): WatchHandlers {
    const { d } = this;
    return {
      upsert: (key, value, modRevision) => {
        const hk = d.keys.parseForce(key);
        if (hk === undefined || !d.inScope(hk)) return;
        const path = poolPath(hk);
        try {
          const marker = decodeForceMarker(key, value);
          const hosts = d.data.force.get(path) ?? new Map();
          d.data.force.set(path, hosts);
          hosts.set(hk.host, { marker, revision: modRevision });
        } catch (err) {
          // A corrupt marker forces nothing: the write it came with is held like any other.
          d.log.error({ key, err: (err as Error).message }, 'invalid force marker ignored');
          d.data.force.get(path)?.delete(hk.host);
        }
        d.leader()?.adminChanged(path, hk.host);
        this.cleanStale(hk);
      },
      remove: (key) => {
        const hk = d.keys.parseForce(key);
        if (hk === undefined || !d.inScope(hk)) return;
        d.data.force.get(poolPath(hk))?.delete(hk.host);
      },
    };
  }

  /** On election: markers that went stale while nobody led (their host was written again) are deleted. */
  sweepStale(): void {
    for (const [path, hosts] of this.d.data.force) {
      const [dc, cluster, service] = path.split('/');
      for (const host of hosts.keys()) this.cleanStale({ dc, cluster, service, host });
    }
  }

  /**
   * The leader deletes a force marker its host's conftool value no longer carries (written again since,
   * or deleted): it applies to nothing. Compare-and-delete on the marker's revision, so a marker
   * written meanwhile (with a newer forced write) is never lost.
   */
  cleanStale(hk: HostKey): void {
    const { d } = this;
    if (!d.isLeader()) return;
    const path = poolPath(hk);
    const m = d.data.force.get(path)?.get(hk.host);
    if (m === undefined) return;
    const meta = d.data.adminMeta.get(path)?.get(hk.host);
    const hasValue = d.data.admin.get(path)?.has(hk.host) === true;
    if (hasValue && (meta === undefined || meta.revision <= m.revision)) return;
    const key = d.keys.force(hk);
    d.kv().txn({ compare: [{ key, target: 'mod', op: '==', value: m.revision }], success: [{ type: 'delete', key }] }).catch((err: unknown) => {
      d.log.warn({ key, err: (err as Error).message }, 'could not delete a stale force marker; the next write of the host retries');
    });
  }
}
