// /alerts cause for etcd's space: with its NOSPACE alarm raised etcd refuses every write (conftool's,
// poold's published state and observations) until an operator frees space and disarms the alarm.
import type { AlertCause } from './alerts.js';

export const NOSPACE_MESSAGE = 'etcd is out of space (NOSPACE alarm): every write fails until it is compacted, defragmented and the alarm disarmed';

/** CRITICAL while the NOSPACE alarm is among `alarms`; null otherwise. `dbSize` (bytes) is named when known. */
export function etcdSpaceCause(alarms: readonly string[], dbSize?: number): AlertCause | null {
  if (!alarms.includes('NOSPACE')) return null;
  const size = dbSize === undefined ? '' : ` (database ${(dbSize / 1048576).toFixed(1)} MiB)`;
  return { severity: 'critical', message: `${NOSPACE_MESSAGE}${size}` };
}
