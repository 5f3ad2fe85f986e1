// Icinga downtime for planned depools (Parsoid incident: a planned restart paged everyone).
// Failing to reach Icinga is a warning: it never blocks or undoes the depool.
import { parseDuration } from '../model/duration.js';
import { UsageError } from '../model/errors.js';
import { loadIcingaApiConfig } from '../monitoring/downtime-config.js';
import { removeDowntime, scheduleDowntime } from '../monitoring/downtime.js';
import type { ChangeReport } from './admin-change.js';

export function parseDowntime(text: string): number {
  const ms = parseDuration(text);
  if (ms === null || ms <= 0) throw new UsageError(`bad --downtime '${text}': a duration like 30m or 2h`);
  return ms;
}

/** Schedules (or, for a pool, removes) downtime for each changed host's pool services; returns warnings. */
export async function applyDowntime(report: ChangeReport, action: { schedule: number } | 'remove', actor: string, reason: string): Promise<string[]> {
  const cfg = await loadIcingaApiConfig();
  if (cfg === null) {
    return action === 'remove' ? [] : ['no Icinga API configured (POOLD_ICINGA_API_URL): no downtime scheduled'];
  }
  const warnings: string[] = [];
  // Icinga has one backend service per LVS service: a host depooled from a shared pool leaves them all.
  for (const c of report.changes) {
    for (const name of c.lvsServices) {
      const target = { host: c.host, service: { dc: c.dc, name } };
      const r = action === 'remove'
        ? await removeDowntime(cfg, target)
        : await scheduleDowntime(cfg, { ...target, actor, reason, durationMs: action.schedule, now: Date.now() });
      if (!r.ok || r.warning) warnings.push(`Icinga downtime for ${c.host} in ${c.dc}/${name}: ${r.warning ?? 'failed'}`);
    }
  }
  return warnings;
}
