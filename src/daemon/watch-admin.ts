// Mirrors the conftool values (/conftool/v1/pools/): admin state per pool host. A rejected value keeps
// the last good one. Each real change is an admin event in the view, naming who wrote it and why.
import type { ConftoolValue, HostKey } from '../model/types.js';
import { poolPath } from '../model/types.js';
import { decodeConftoolValue } from '../store/decode.js';
import type { AdminWriters } from './admin-writers.js';
import type { WatchDeps, WatchHandlers } from './watch-deps.js';

export interface AdminWatchDeps extends WatchDeps {
  writers: AdminWriters;
  /** ForceMarkers.cleanStale: a write (or delete) of a host may leave its force marker stale. */
  cleanStaleMarker: (hk: HostKey) => void;
}

export function adminHandlers(d: AdminWatchDeps): WatchHandlers {
  return {
    upsert: (key, value, modRevision, listed) => {
      const hk = d.keys.parseHost(key);
      if (hk === undefined || !d.inScope(hk)) return;
      const path = poolPath(hk);
      let parsed: ConftoolValue;
      try {
        parsed = decodeConftoolValue(key, value);
      } catch (err) {
        // Another tool wrote something unusable: keep acting on the last good value, and say so.
        d.log.error({ key, err: (err as Error).message }, 'invalid conftool value ignored; keeping the last good one');
        d.problems.setCorrupt(key, { message: (err as Error).message, pool: path });
        return;
      }
      d.problems.setCorrupt(key, undefined);
      const hosts = d.data.admin.get(path) ?? new Map<string, ConftoolValue>();
      d.data.admin.set(path, hosts);
      const before = hosts.get(hk.host) ?? null;
      hosts.set(hk.host, parsed);
      const meta = d.data.adminMeta.get(path) ?? new Map();
      d.data.adminMeta.set(path, meta);
      const seenAt = listed ? undefined : Date.now();
      meta.set(hk.host, { revision: modRevision, ...(seenAt !== undefined ? { seenAt } : {}) });
      // A list (start, re-list after compaction) delivers every key: only a value that really
      // changed meanwhile is an admin event. Otherwise every host would become a false event (and
      // an audit read) at start, flooding the event replay buffer.
      const isEvent = !listed || (before !== null && JSON.stringify(before) !== JSON.stringify(parsed));
      // The audit record of this change shares its revision: name who and why in the admin event.
      if (isEvent) void auditOf(d, key, modRevision, seenAt).then((who) => d.view.recordAdminChange(hk, before, parsed, who));
      d.leader()?.adminChanged(path, hk.host);
      d.cleanStaleMarker(hk);
    },
    remove: (key) => {
      const hk = d.keys.parseHost(key);
      if (hk === undefined || !d.inScope(hk)) return;
      const path = poolPath(hk);
      const before = d.data.admin.get(path)?.get(hk.host) ?? null;
      d.problems.setCorrupt(key, undefined);
      d.data.admin.get(path)?.delete(hk.host);
      d.data.adminMeta.get(path)?.delete(hk.host);
      d.view.recordAdminChange(hk, before, null);
      d.leader()?.adminChanged(path, hk.host);
      d.cleanStaleMarker(hk);
    },
  };
}

/** Actor and reason of the audited write that set `key` at `revision` (none for writes by other tools). */
async function auditOf(d: Pick<AdminWatchDeps, 'writers' | 'log'>, key: string, revision: number, seenAt?: number): Promise<{ actor?: string; reason?: string }> {
  try {
    return (await d.writers.writerOf(key, revision, seenAt)) ?? {};
  } catch (err) {
    d.log.warn({ key, err: (err as Error).message }, 'could not read the audit record of an admin change');
    return {};
  }
}
