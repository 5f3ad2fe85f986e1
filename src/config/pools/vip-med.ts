// One MED per VIP (PyBal's per-service `bgp-med`): a VIP is one BGP route, so every service that
// announces it must ask for the same MED. PyBal refuses to start otherwise; loading pools/ refuses
// the same configuration, naming both services, the VIP and both values, so it never reaches etcd.
// PyBal compares the settings themselves (ipvs.py passes None when a section has no bgp-med), so a
// service without bgp_med next to one that sets it is refused too, whatever the global bgp-med; here
// the absent one would take each LVS host's --bgp-med, which differs between hosts by design.
// Services with `bgp: false` announce nothing and take no part (PyBal associates only bgp services).
import { canonicalIp } from '../address.js';
import type { ConfigProblem } from '../../model/errors.js';
import type { LocatedService } from './parse.js';

/** One text per VIP (2620:0:0::1 and 2620::1 are one VIP); the schema has already checked it is an IP. */
export function vipKey(ip: string): string {
  return canonicalIp(ip) ?? ip;
}

const medText = (med: number | undefined) => (med === undefined ? 'no bgp_med (the LVS agent\'s --bgp-med)' : `bgp_med ${med}`);

/** A problem at the later service for each service whose MED differs from the first one on its VIP. */
export function vipMedProblems(services: readonly LocatedService[]): ConfigProblem[] {
  const first = new Map<string, LocatedService>(); // dc + VIP → the first announcing service
  const problems: ConfigProblem[] = [];
  for (const s of services) {
    if (s.def.lvs.bgp === false) continue;
    const vip = vipKey(s.def.lvs.ip);
    const key = `${s.def.dc} ${vip}`;
    const f = first.get(key);
    if (f === undefined) {
      first.set(key, s);
      continue;
    }
    if (f.def.lvs.bgpMed === s.def.lvs.bgpMed) continue;
    problems.push({
      file: s.file,
      ...s.medAt,
      message:
        `LVS services ${s.def.dc}/${s.def.name} (${medText(s.def.lvs.bgpMed)}) and ${f.def.dc}/${f.def.name} ` +
        `(${medText(f.def.lvs.bgpMed)}, ${f.file}:${f.medAt.line}:${f.medAt.col}) announce VIP ${vip} with different MEDs: ` +
        'a VIP is one BGP route, so every service on it must have the same bgp_med (PyBal refuses this too)',
    });
  }
  return problems;
}
