// Which VIPs this LVS host announces over BGP, and with what. Pure.
//
// One announcement per VIP (a /32 or /128), whatever the number of services (ports) on it. A VIP is
// announced when at least one service on it wants it:
//   - the service's definition is known and its `bgp` is on (the definition's `bgp`, else the
//     agent's default, yes as PyBal);
//   - policy `keep` (default): that is all. Depooling every server withdraws nothing: PyBal does
//     the same, a VIP only goes away by configuration or when the agent stops;
//   - policy `withdraw-when-empty`: the service must also have a real server (draining ones count).
// Fail static: a service the agent cannot judge right now (skipped: no state, unresolvable host,
// no definition any more...) keeps whatever was announced for it before; it neither adds nor removes.
// MED: the definition's `bgpMed` (PyBal's per-service bgp-med), else the agent's --bgp-med. Every
// service on a VIP must agree (pools/ and pybal.conf loading refuse otherwise), but definitions in
// etcd may come from another tool: then the VIP is announced with the HIGHEST of their MEDs, the
// least preferred, so a disagreement can never make this host take a VIP from the primary, and the
// announcement carries `medConflict` naming each service's setting (shown in /status, logged).
import { canonicalAddress, isV6 } from './table.js';
import type { BgpConfig } from './bgp-config.js';

export type BgpFamily = 'ipv4' | 'ipv6';

export interface Announcement {
  /** `10.2.2.18/32`, `2620:0:861:ed1a::1/128` (canonical address). */
  prefix: string;
  family: BgpFamily;
  nexthop: string;
  med: number;
  /** LVS services (dc/name) on this VIP that want it announced, sorted. */
  services: string[];
  /**
   * Set when the services on this VIP ask for different MEDs (one sets bgpMed, another a different
   * one or none): each service's setting, sorted by service; `med` is then the highest of them.
   */
  medConflict?: MedSetting[];
}

export interface MedSetting {
  service: string;
  /** The definition's bgpMed; absent: the agent's --bgp-med. */
  bgpMed?: number;
  /** The MED this service asks for: bgpMed, else --bgp-med. */
  med: number;
}

export interface Withheld {
  prefix: string;
  services: string[];
  reason: string;
}

/** What the agent knows about one service at one reconcile. */
export interface BgpServiceView {
  service: string;
  /** The VIP, when the definition is known. */
  ip?: string;
  /** The definition's `bgp` (absent: the agent's default). */
  bgp?: boolean;
  /** The definition's `bgpMed` (absent: the agent's --bgp-med). */
  bgpMed?: number;
  /** Why the reconciler left the service alone this time (its inputs are missing or unsafe). */
  skipped?: string;
  /** Real servers wanted plus servers still draining. */
  serving?: number;
}

export interface BgpPlan {
  announce: Map<string, Announcement>;
  withheld: Withheld[];
}

export type PlanConfig = Pick<BgpConfig, 'med' | 'nexthopIpv4' | 'nexthopIpv6' | 'policy' | 'announceByDefault'>;

export function prefixOf(ip: string): { prefix: string; family: BgpFamily } {
  const a = canonicalAddress(ip, 'VIP');
  return isV6(a) ? { prefix: `${a}/128`, family: 'ipv6' } : { prefix: `${a}/32`, family: 'ipv4' };
}

type Vote = { kind: 'want' } | { kind: 'unknown' } | { kind: 'no'; reason: string };

export function planAnnouncements(views: readonly BgpServiceView[], cfg: PlanConfig, previous: ReadonlyMap<string, Announcement>): BgpPlan {
  const votes = new Map<string, Map<string, Vote>>(); // prefix → service → vote
  const families = new Map<string, BgpFamily>();
  /** prefix → service → its MED setting, for every service on the VIP whose definition has bgp on. */
  const meds = new Map<string, Map<string, MedSetting>>();
  const withheld: Withheld[] = [];
  const vote = (prefix: string, service: string, v: Vote) => {
    if (!votes.has(prefix)) votes.set(prefix, new Map());
    votes.get(prefix)!.set(service, v);
  };
  for (const v of views) {
    if (v.ip === undefined) {
      // No definition now: whatever it had announced stays as it is.
      for (const a of previous.values()) if (a.services.includes(v.service)) vote(a.prefix, v.service, { kind: 'unknown' });
      continue;
    }
    let p: ReturnType<typeof prefixOf>;
    try {
      p = prefixOf(v.ip);
    } catch (err) {
      withheld.push({ prefix: v.ip, services: [v.service], reason: (err as Error).message });
      continue;
    }
    families.set(p.prefix, p.family);
    if (v.bgp ?? cfg.announceByDefault) {
      if (!meds.has(p.prefix)) meds.set(p.prefix, new Map());
      meds.get(p.prefix)!.set(v.service, { service: v.service, ...(v.bgpMed !== undefined ? { bgpMed: v.bgpMed } : {}), med: v.bgpMed ?? cfg.med });
    }
    if (!(v.bgp ?? cfg.announceByDefault)) vote(p.prefix, v.service, { kind: 'no', reason: v.bgp === false ? 'bgp: false' : 'not announced by default (--bgp-default no)' });
    else if (cfg.policy === 'keep') vote(p.prefix, v.service, { kind: 'want' });
    else if (v.skipped !== undefined) vote(p.prefix, v.service, { kind: 'unknown' });
    else if ((v.serving ?? 0) > 0) vote(p.prefix, v.service, { kind: 'want' });
    else vote(p.prefix, v.service, { kind: 'no', reason: 'no real server (policy withdraw-when-empty)' });
  }
  // Announced before, and no service has a say about it now (all gone from the source): keep it.
  for (const a of previous.values()) {
    if (!votes.has(a.prefix)) for (const s of a.services) vote(a.prefix, s, { kind: 'unknown' });
    families.set(a.prefix, families.get(a.prefix) ?? a.family);
  }
  const announce = new Map<string, Announcement>();
  for (const prefix of [...votes.keys()].sort()) {
    const byService = votes.get(prefix)!;
    const family = families.get(prefix)!;
    const want = [...byService].filter(([, v]) => v.kind === 'want').map(([s]) => s).sort();
    const prev = previous.get(prefix);
    const unknown = [...byService].some(([, v]) => v.kind === 'unknown');
    if (want.length === 0 && unknown && prev) {
      announce.set(prefix, prev);
      continue;
    }
    if (want.length === 0) {
      const reasons = [...new Set([...byService].map(([, v]) => (v.kind === 'no' ? v.reason : 'state unknown, not announced before')))];
      withheld.push({ prefix, services: [...byService.keys()].sort(), reason: reasons.join('; ') });
      continue;
    }
    const nexthop = family === 'ipv4' ? cfg.nexthopIpv4 : cfg.nexthopIpv6;
    if (nexthop === undefined) {
      withheld.push({ prefix, services: want, reason: `no --bgp-nexthop-${family} to announce an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} VIP with` });
      continue;
    }
    announce.set(prefix, { prefix, family, nexthop, ...medOf(meds.get(prefix), cfg.med), services: want });
  }
  withheld.sort((a, b) => a.prefix.localeCompare(b.prefix));
  return { announce, withheld };
}

/**
 * The MED of one VIP from its services' settings (PyBal compares the settings: bgpMed 10 next to
 * none is a conflict even where --bgp-med is 10). Agreeing: that MED. Disagreeing: the highest, and
 * the settings as `medConflict`. No setting known (only previously announced services): --bgp-med.
 */
function medOf(settings: ReadonlyMap<string, MedSetting> | undefined, agentMed: number): { med: number; medConflict?: MedSetting[] } {
  const all = [...(settings?.values() ?? [])].sort((a, b) => a.service.localeCompare(b.service));
  if (all.length === 0) return { med: agentMed };
  const med = Math.max(...all.map((m) => m.med));
  const agree = all.every((m) => m.bgpMed === all[0]!.bgpMed);
  return agree ? { med } : { med, medConflict: all };
}
