// Graceful drain on depool (issue 15): a real server that leaves the pool of a service with a drain
// period is not deleted at once. It first gets weight 0 (`-e ... -w 0`: the scheduler sends it no new
// connections, established ones carry on), and is deleted (`-d`) when the period ends. If it comes
// back meanwhile, the drain is cancelled and the normal diff restores its weight.
//
// Pure: the reconciler passes the kernel table, the desired services, the drain periods and the
// clock, and keeps the returned drain records for the next run. A restarted agent has no records: a
// server still in the table but no longer wanted simply starts a new full drain.
import { findService, serverKey, vsKey, type IpvsTable, type VirtualService } from './table.js';

export interface DrainRecord {
  /** Service path (dc/cluster/service), for status and metrics. */
  service: string;
  /** vsKey of the virtual service, e.g. `tcp 10.2.2.18:8080`. */
  vs: string;
  /** serverKey, e.g. `10.64.0.2:8080`. */
  server: string;
  /** Host name, when the agent knew it while the server was wanted. */
  host?: string;
  /** Epoch ms when the drain began and when the server will be deleted. */
  since: number;
  until: number;
}

export interface DrainInput {
  /** Drain period per vsKey (services without one, or 0, are not drained). */
  drainMs: ReadonlyMap<string, number>;
  /** Service path per vsKey. */
  services: ReadonlyMap<string, string>;
  /** Host name per `${vsKey} ${serverKey}`, for servers the agent knows by name. */
  hosts: ReadonlyMap<string, string>;
}

export interface DrainPlan {
  /** The desired services, with draining servers kept at weight 0. */
  services: VirtualService[];
  /** Drains in progress after this run, by `${vsKey} ${serverKey}`. */
  draining: Map<string, DrainRecord>;
  started: DrainRecord[];
  /** Servers wanted again before their drain ended (their weight comes back through the diff). */
  cancelled: DrainRecord[];
  /** Drains whose period is over: the diff deletes these servers in this run. */
  expired: DrainRecord[];
  /** Earliest `until` among drains in progress: when the next reconcile must run. */
  nextExpiry?: number;
}

export function drainKey(vs: string, server: string): string {
  return `${vs} ${server}`;
}

export function planDrains(current: IpvsTable, desired: readonly VirtualService[], input: DrainInput, previous: ReadonlyMap<string, DrainRecord>, now: number): DrainPlan {
  const draining = new Map<string, DrainRecord>();
  const started: DrainRecord[] = [];
  const expired: DrainRecord[] = [];
  const seenVs = new Set<string>();
  const services = desired.map((d) => {
    const vs = vsKey(d);
    seenVs.add(vs);
    const ms = input.drainMs.get(vs) ?? 0;
    const cur = findService(current, d);
    if (ms <= 0 || !cur) return d;
    const wanted = new Set(d.servers.map(serverKey));
    const kept = [...d.servers];
    for (const s of cur.servers) {
      const server = serverKey(s);
      if (wanted.has(server)) continue;
      const key = drainKey(vs, server);
      const prev = previous.get(key);
      const host = prev?.host ?? input.hosts.get(key);
      const rec: DrainRecord = prev ?? { service: input.services.get(vs) ?? vs, vs, server, ...(host ? { host } : {}), since: now, until: now + ms };
      if (now >= rec.until) {
        expired.push(rec);
        continue;
      }
      if (!prev) started.push(rec);
      draining.set(key, rec);
      kept.push({ address: s.address, port: s.port, method: s.method, weight: 0 });
    }
    return kept.length === d.servers.length ? d : { ...d, servers: kept };
  });
  const cancelled: DrainRecord[] = [];
  for (const [key, rec] of previous) {
    if (draining.has(key) || expired.includes(rec)) continue;
    // A service left out of this run (skipped: its table is left as it is) keeps its drains.
    if (!seenVs.has(rec.vs)) draining.set(key, rec);
    else if (desired.find((d) => vsKey(d) === rec.vs)?.servers.some((s) => serverKey(s) === rec.server)) cancelled.push(rec);
    // Otherwise the server is gone from the table (removed by hand) or the drain was switched off.
  }
  let nextExpiry: number | undefined;
  for (const rec of draining.values()) if (seenVs.has(rec.vs) && (nextExpiry === undefined || rec.until < nextExpiry)) nextExpiry = rec.until;
  return { services, draining, started, cancelled, expired, ...(nextExpiry !== undefined ? { nextExpiry } : {}) };
}
