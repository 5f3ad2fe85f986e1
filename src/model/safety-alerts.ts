// Issue 14's /alerts causes, from a published state: a correlated failure is CRITICAL; a freeze in
// force is a WARNING naming who, why and until when (a CRITICAL anywhere wins, as in PyBal's fold).
// Both are whole sentences naming the LVS service as dc/name, so they are pool-less causes.
import type { AlertCause } from './alerts.js';
import { describeFreeze, freezeActive } from './coordinator-freeze.js';
import { describeCorrelated } from './correlated.js';
import { servicePath, type PoolState } from './types.js';

export function safetyCauses(state: PoolState, nowMs: number): AlertCause[] {
  const path = servicePath(state);
  const out: AlertCause[] = [];
  if (state.correlatedFailure !== undefined) out.push({ severity: 'critical', message: describeCorrelated(path, state.correlatedFailure) });
  // `until` is compared with this instance's clock: a freeze that ended while no leader republished is not shown.
  if (state.freeze !== undefined && freezeActive(state.freeze, nowMs)) out.push({ severity: 'warning', message: `${path}: ${describeFreeze(state.freeze)}` });
  return out;
}
