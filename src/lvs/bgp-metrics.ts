// The BGP speaker's Prometheus metrics, in the agent's registry (prefix `poold_lvs_bgp_`).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { NeighborState } from './bgp-gobgp.js';
import type { BgpPlan } from './bgp-plan.js';

export class BgpMetrics {
  private readonly announced: Gauge<'prefix'>;
  private readonly withheld: Gauge<'prefix'>;
  private readonly peer: Gauge<'peer'>;
  private readonly inSync: Gauge;
  private readonly restarts: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.announced = new Gauge({ name: 'poold_lvs_bgp_announced', help: 'VIP prefixes this LVS host announces (1), by prefix.', labelNames: ['prefix'], registers });
    this.withheld = new Gauge({ name: 'poold_lvs_bgp_withheld', help: 'VIP prefixes of served services that are not announced (bgp off, policy, no next hop), by prefix.', labelNames: ['prefix'], registers });
    this.peer = new Gauge({ name: 'poold_lvs_bgp_peer_established', help: '1 when the BGP session with the router is established.', labelNames: ['peer'], registers });
    this.inSync = new Gauge({ name: 'poold_lvs_bgp_in_sync', help: '1 when gobgpd\'s RIB was last found equal to the planned announcements.', registers });
    this.restarts = new Counter({ name: 'poold_lvs_bgp_daemon_restarts_total', help: 'Times gobgpd exited on its own and was restarted (its routes then re-announced).', registers });
  }

  observePlan(plan: BgpPlan): void {
    this.announced.reset();
    for (const p of plan.announce.keys()) this.announced.set({ prefix: p }, 1);
    this.withheld.reset();
    for (const w of plan.withheld) this.withheld.set({ prefix: w.prefix }, 1);
  }

  observePeers(peers: readonly NeighborState[]): void {
    this.peer.reset();
    for (const p of peers) this.peer.set({ peer: p.address }, p.established ? 1 : 0);
  }

  observeSync(ok: boolean): void {
    this.inSync.set(ok ? 1 : 0);
  }

  restarted(): void {
    this.restarts.inc();
  }
}
