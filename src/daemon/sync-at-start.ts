// `poold --sync DIR` and the demo: the same sync as `poolctl sync`, run once before the daemon starts.
import { loadPools } from '../config/pools/index.js';
import { ConfigError } from '../model/errors.js';
import { resolveActor } from '../store/audit.js';
import { openKv, type EtcdOptions } from '../store/connection.js';
import type { Keys } from '../store/keys.js';
import { syncServices } from '../store/sync.js';
import type { Logger } from './logger.js';

export async function syncAtStart(dir: string, etcd: EtcdOptions, keys: Keys, log: Logger): Promise<void> {
  const loaded = await loadPools(dir);
  if (loaded.problems.length > 0) throw new ConfigError(loaded.problems);
  const kv = await openKv(etcd, 'gateway');
  try {
    const r = await syncServices(kv, loaded, { keys, actor: resolveActor(process.env, kv.user), reason: `poold --sync ${dir}`, dryRun: false, newHostPooled: 'yes' });
    log.info({ dir, changes: r.lines.length, services: loaded.services.length }, 'synced pools');
  } finally {
    await kv.close();
  }
}
