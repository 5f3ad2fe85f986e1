// /alerts for admin depools held by the depool threshold (coordinator-hold.ts): CRITICAL, naming each
// held host and who wrote its depool (the audit record of that write's revision), or "unknown writer"
// when the write has none (a raw etcd write: etcdctl, a script, a replaying mirror).
import type { AlertCause } from './alerts.js';
import { byName } from './order.js';
import { poolName, type AdminHoldInfo, type PoolState } from './types.js';

export const UNKNOWN_WRITER = 'unknown writer';

/** `by alice`, `by unknown writer`, or `writer being looked up` (the audit read has not answered yet). */
export function writerText(h: Pick<AdminHoldInfo, 'writer'>): string {
  if (h.writer === undefined) return 'writer being looked up';
  if (h.writer === null) return `by ${UNKNOWN_WRITER}`;
  return `by ${h.writer.actor}`;
}

/** Held hosts of one LVS service, sorted by name. */
export function heldHosts(state: PoolState): string[] {
  return Object.keys(state.servers).filter((h) => state.servers[h].adminHold?.status === 'held').sort(byName);
}

/** `admin depool held by threshold: a (by unknown writer), b (by alice)`, or null when nothing is held. */
export function heldCause(state: PoolState, name: string = poolName(state)): AlertCause | null {
  const hosts = heldHosts(state);
  if (hosts.length === 0) return null;
  const parts = hosts.map((h) => `${h} (${writerText(state.servers[h].adminHold as AdminHoldInfo)})`);
  return { pool: name, severity: 'critical', message: `admin depool held by threshold: ${parts.join(', ')}` };
}
