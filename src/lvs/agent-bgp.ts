// The glue between the agent's reconciles and its BGP speaker: after each reconcile, what the agent
// knows about each service (definition, skipped or not, real servers) becomes the BGP plan.
import type { BgpConfig } from './bgp-config.js';
import { BgpMetrics } from './bgp-metrics.js';
import { planAnnouncements, type BgpPlan, type BgpServiceView } from './bgp-plan.js';
import { BgpSpeaker, type BgpStatus } from './bgp-speaker.js';
import type { ReconcileReport } from './agent-reconciler.js';
import type { ServiceInputs } from './agent-source.js';
import type { Registry } from 'prom-client';

export interface AgentBgp {
  /** Plans and applies the announcements after a reconcile; resolves when gobgpd was updated. */
  onReport(r: ReconcileReport, snapshot: ReadonlyMap<string, ServiceInputs>): Promise<void>;
  status(): BgpStatus;
  stop(): Promise<void>;
}

export function bgpViews(r: ReconcileReport, snapshot: ReadonlyMap<string, ServiceInputs>): BgpServiceView[] {
  return r.services.map((s) => {
    const def = snapshot.get(s.service)?.def;
    return {
      service: s.service,
      ...(def ? { ip: def.lvs.ip, ...(def.lvs.bgp !== undefined ? { bgp: def.lvs.bgp } : {}), ...(def.lvs.bgpMed !== undefined ? { bgpMed: def.lvs.bgpMed } : {}) } : {}),
      ...(s.skipped !== undefined ? { skipped: s.skipped } : {}),
      serving: (s.realServers ?? 0) + (s.draining?.length ?? 0),
    };
  });
}

/**
 * Logs each VIP whose services disagree on the MED once when it starts (or its settings change) and
 * once when it ends, not at every reconcile. `seen` (prefix → settings text) is the caller's memory.
 */
export function logMedConflicts(plan: BgpPlan, seen: Map<string, string>, log: (event: string, fields: Record<string, unknown>) => void): void {
  const now = new Map<string, string>();
  for (const a of plan.announce.values()) {
    if (a.medConflict === undefined) continue;
    const settings = a.medConflict.map((m) => `${m.service}: ${m.bgpMed === undefined ? `no bgpMed (--bgp-med ${m.med})` : `bgpMed ${m.bgpMed}`}`).join(', ');
    now.set(a.prefix, settings);
    if (seen.get(a.prefix) !== settings) {
      log('bgp-med-conflict', { prefix: a.prefix, med: a.med, settings, action: `announced with the highest MED, ${a.med}: every service on a VIP must have the same bgpMed (poolctl sync refuses otherwise)` });
    }
  }
  for (const prefix of seen.keys()) if (!now.has(prefix)) log('bgp-med-conflict-resolved', { prefix });
  seen.clear();
  for (const [k, v] of now) seen.set(k, v);
}

/** Starts gobgpd (unless dry-run); announces nothing until the first reconcile that reached the source. */
export async function startAgentBgp(o: {
  config: BgpConfig;
  dryRun: boolean;
  registry: Registry;
  log: (event: string, fields: Record<string, unknown>) => void;
  print: (line: string) => void;
}): Promise<AgentBgp> {
  const speaker = new BgpSpeaker({ config: o.config, dryRun: o.dryRun, log: o.log, print: o.print, metrics: new BgpMetrics(o.registry) });
  await speaker.start();
  const medConflicts = new Map<string, string>();
  return {
    onReport(r, snapshot) {
      // Source down: nothing is known, so nothing changes (fail static, as for the IPVS table).
      if (r.result === 'source-down') return Promise.resolve();
      const plan = planAnnouncements(bgpViews(r, snapshot), o.config, speaker.announcements());
      logMedConflicts(plan, medConflicts, o.log);
      return speaker.update(plan);
    },
    status: () => speaker.status(),
    stop: () => speaker.stop(),
  };
}
