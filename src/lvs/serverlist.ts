// PyBal server list, the body PyBal fetches with `config = http://...` and parses line by line
// with Python's literal_eval: `{ 'host': 'sca1001.eqiad.wmnet', 'weight': 10, 'enabled': True }`.
//
// `enabled` is the *effective* pooled flag (admin state, health and threshold already applied), so a
// PyBal consuming this list serves exactly what poold decided. Decommissioned hosts (`inactive`)
// are left out, as conftool does, so they do not count in PyBal's own depool threshold.
import type { PoolState } from '../model/types.js';
import { LvsInputError } from './errors.js';

/** A Python string literal that literal_eval reads back as `s`. */
function pyString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`;
}

export function renderServerList(state: PoolState): string {
  const lines: string[] = [];
  for (const host of Object.keys(state.servers).sort()) {
    const s = state.servers[host]!;
    if (s.pooledAdmin === 'inactive') continue;
    if (!Number.isInteger(s.weight) || s.weight < 0) {
      throw new LvsInputError(`LVS service ${state.dc}/${state.name} host ${host}: weight ${s.weight} is not a non-negative integer`, { host });
    }
    lines.push(`{ 'host': ${pyString(host)}, 'weight': ${s.weight}, 'enabled': ${s.pooled ? 'True' : 'False'} }\n`);
  }
  return lines.join('');
}
