// The freeze of one LVS service's health depools (issue 14), at <poold>/freeze/<dc>/<name>:
// `{"since": ms, "until": ms, "actor": "...", "reason": "..."}`, decoded by decodeFreeze in
// src/store/decode.ts (a corrupt value is an InvalidStoredValueError naming the key). Written and deleted only
// through the audited write path (writeAtomic), like every poolctl write. The key is left in place
// when the freeze ends by time (`until` is what counts); `poolctl unfreeze` deletes it.
import type { Freeze } from '../model/coordinator-freeze.js';
import type { ServiceKey } from '../model/types.js';
import type { Kv } from './kv.js';
import { writeAtomic, type AtomicResult, type WriteOptions } from './write.js';

export function encodeFreeze(f: Freeze): string {
  return JSON.stringify({ since: f.since, until: f.until, actor: f.actor, reason: f.reason });
}

/** Sets (or replaces) a freeze, audited. */
export function writeFreeze(kv: Kv, sk: ServiceKey, f: Freeze, opts: WriteOptions): Promise<AtomicResult> {
  return writeAtomic(kv, [{ type: 'put', key: opts.keys.freeze(sk), value: encodeFreeze(f) }], opts);
}

/** Ends a freeze early, audited (nothing written when there is none). */
export function deleteFreeze(kv: Kv, sk: ServiceKey, opts: WriteOptions): Promise<AtomicResult> {
  return writeAtomic(kv, [{ type: 'delete', key: opts.keys.freeze(sk) }], opts);
}
