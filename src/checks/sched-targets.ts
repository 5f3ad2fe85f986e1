// ServiceDef -> scheduler targets: one per (server, check). The daemon calls this for every service
// it watches and hands the union to CheckScheduler.setTargets().

import type { ServiceDef } from '../model/types.js';
import type { ScheduledTarget } from './scheduler.js';

/**
 * `initialUp(host)` gives each server's starting health, normally its last published observation,
 * so a daemon restart does not flap. A server without an address is checked by name: the checkers
 * resolve it at check time (and report dns_failure when that fails).
 */
export function targetsForService(def: ServiceDef, initialUp: (host: string) => boolean = () => false): ScheduledTarget[] {
  const service = { dc: def.dc, name: def.name };
  const out: ScheduledTarget[] = [];
  for (const host of Object.keys(def.servers).sort()) {
    const server = def.servers[host];
    const up = initialUp(host);
    for (const check of def.checks) {
      out.push({ service, host, address: server.address ?? host, port: def.lvs.port, check, flapping: def.flapping, initialUp: up });
    }
  }
  return out;
}
