// Force markers (issue 14): `poolctl depool HOST --force` (and the other verbs that accept --force
// against the guard) writes, in the SAME transaction as the conftool value, a marker under
// `<poold>/force/<dc>/<cluster>/<service>/<host>`. Sharing the transaction, the marker's mod revision
// IS the conftool write's revision: the daemon lets that write through its depool-threshold hold
// (model/coordinator-hold.ts R5) when the host's conftool value and its marker carry the same mod
// revision. A later write of the host (by anyone) has another revision, so the marker applies to
// nothing any more: it is stale, and the leader deletes it (compare-and-delete on its revision).
// The value is decoded by decodeForceMarker in decode.ts, with a clear error for a corrupt one.
import type { HostKey } from '../model/types.js';
import type { Keys } from './keys.js';
import type { TxnOp } from './kv.js';

export interface ForceMarker {
  /** The conftool key of the forced write. */
  key: string;
  /** The operation id of the poolctl command (also on its audit records). */
  op: string;
  actor: string;
  reason: string;
  /** ISO 8601 UTC. */
  time: string;
}

export function encodeForceMarker(m: ForceMarker): string {
  return JSON.stringify({ key: m.key, op: m.op, actor: m.actor, reason: m.reason, time: m.time });
}

/** The put of a marker for `host`'s write, to add to the transaction writing its conftool value. */
export function forceMarkerOp(keys: Keys, host: HostKey, m: Omit<ForceMarker, 'key'>): TxnOp {
  return { type: 'put', key: keys.force(host), value: encodeForceMarker({ ...m, key: keys.host(host) }) };
}

