// What a watch of a prefix should already have delivered: the newest change etcd holds under the
// prefix above a revision. One cheap range (keys only, newest mod revision first, limit 1, with a
// min mod revision), so a watch can be checked against etcd's own answer for the keys it watches.
// etcd's global revision would not do: it moves with every write anywhere (health writes included).
// Deletes are not visible this way (a deleted key is not in a range); puts are enough to notice a
// watch that stopped delivering.
import { prefixEnd } from './kv.js';
import type { Etcd3Kv } from './kv-etcd3.js';
import { mapEtcdError } from './kv-errors.js';
import { StoreUnavailableError } from './errors.js';
import { GRPCUnavailableError } from 'etcd3';

export interface PendingChanges {
  /** The newest mod revision under the prefix above `after`, or null when there is none. */
  newest: number | null;
  /** How many keys under the prefix changed above `after` (and still exist). */
  count: number;
  /** etcd's revision when it answered. */
  revision: number;
}

export async function changesAfter(kv: Etcd3Kv, prefix: string, after: number): Promise<PendingChanges> {
  const key = Buffer.from(prefix);
  try {
    const res = await kv.client.kv.range({
      key,
      range_end: prefixEnd(key),
      min_mod_revision: after + 1,
      keys_only: true,
      sort_target: 'Mod',
      sort_order: 'Descend',
      limit: 1,
    });
    const newest = res.kvs.length > 0 ? Number(res.kvs[0].mod_revision) : null;
    return { newest, count: Number(res.count), revision: Number(res.header.revision) };
  } catch (err) {
    const endpoint = kv.options.endpoints.join(',');
    if (err instanceof GRPCUnavailableError) {
      throw new StoreUnavailableError(`cannot reach etcd at ${endpoint}: ${(err as Error).message}`, { endpoints: kv.options.endpoints, op: 'read', keys: [prefix] }, { cause: err });
    }
    throw mapEtcdError((err as Error).message ?? String(err), { op: 'read', keys: [prefix], user: kv.user, endpoint }, err);
  }
}
