// Issue 14's gauges, computed from the view at scrape time (like poold_servers), per LVS service:
//   poold_correlated_failure{dc,service}        1 while many servers fail one check together
//   poold_health_depools_frozen{dc,service}     1 while an operator's freeze is in force
//   poold_first_round_pending{dc,service}       servers still without a first verdict (0: round over)
import { Gauge, type Registry } from 'prom-client';
import { freezeActive } from '../model/coordinator-freeze.js';
import type { PoolState, ServiceKey } from '../model/types.js';

export function registerSafetyGauges(registry: Registry, pools: () => readonly { key: ServiceKey; state: PoolState | null }[], now: () => number = Date.now): void {
  const gauge = (name: string, help: string, value: (s: PoolState) => number) =>
    new Gauge({
      name, help, labelNames: ['dc', 'service'], registers: [registry],
      collect() {
        this.reset();
        for (const p of pools()) if (p.state !== null) this.set({ dc: p.key.dc, service: p.key.name }, value(p.state));
      },
    });
  gauge('poold_correlated_failure', 'Whether a large share of the LVS service\'s servers failed one check within one interval (1) or not (0).', (s) => (s.correlatedFailure ? 1 : 0));
  gauge('poold_health_depools_frozen', 'Whether health depools of the LVS service are frozen by an operator (1) or not (0).', (s) => (freezeActive(s.freeze, now()) ? 1 : 0));
  gauge('poold_first_round_pending', 'Servers of the LVS service still without a first verdict; health depools wait meanwhile (0: round over).', (s) => s.firstRound?.waiting.length ?? 0);
}
