// The freeze of one LVS service's health depools (issue 14), at <poold>/freeze/<dc>/<name>:
// `{"since": ms, "until": ms, "actor": "...", "reason": "..."}`. This is the one place its value is
// decoded; a corrupt value is an InvalidStoredValueError naming the key. Written and deleted only
// through the audited write path (writeAtomic), like every poolctl write. The key is left in place
// when the freeze ends by time (`until` is what counts); `poolctl unfreeze` deletes it.
import { InvalidStoredValueError } from '../model/errors.js';
import type { Freeze } from '../model/coordinator-freeze.js';
import type { ServiceKey } from '../model/types.js';
import type { Kv } from './kv.js';
import { writeAtomic, type AtomicResult, type WriteOptions } from './write.js';

export function decodeFreeze(key: string, raw: string): Freeze {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new InvalidStoredValueError(`invalid freeze at ${key}: not valid JSON (${(err as Error).message})`, { key, raw });
  }
  const o = v as Record<string, unknown>;
  const bad = (what: string) => new InvalidStoredValueError(`invalid freeze at ${key}: ${what}; run poolctl unfreeze or freeze again`, { key, raw });
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('not a JSON object');
  for (const f of ['since', 'until'] as const) if (typeof o[f] !== 'number' || !Number.isFinite(o[f])) throw bad(`"${f}" must be a time in epoch milliseconds`);
  for (const f of ['actor', 'reason'] as const) if (typeof o[f] !== 'string' || o[f] === '') throw bad(`"${f}" must be a non-empty string`);
  if ((o.until as number) < (o.since as number)) throw bad('"until" is before "since"');
  return { since: o.since as number, until: o.until as number, actor: o.actor as string, reason: o.reason as string };
}

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
