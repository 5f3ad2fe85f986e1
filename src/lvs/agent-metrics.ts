// The LVS agent's Prometheus metrics, all prefixed `poold_lvs_`, fed from reconcile reports.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { IpvsCommand } from './render.js';
import type { ReconcileReport, ReconcileResult } from './agent-reconciler.js';

const RESULTS: ReconcileResult[] = ['noop', 'applied', 'dry-run', 'error', 'source-down'];
const OPS: IpvsCommand['op'][] = ['add-service', 'edit-service', 'delete-service', 'add-server', 'edit-server', 'delete-server'];
const OP_OF_FLAG: Record<string, IpvsCommand['op']> = {
  '-A': 'add-service', '-E': 'edit-service', '-D': 'delete-service', '-a': 'add-server', '-e': 'edit-server', '-d': 'delete-server',
};

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly reconciles: Counter<'result'>;
  private readonly commands: Counter<'op'>;
  private readonly duration: Histogram;
  private readonly lastReconcile: Gauge;
  private readonly lastSuccess: Gauge;
  private readonly sourceUp: Gauge;
  private readonly realServers: Gauge<'service' | 'vs'>;
  private readonly skipped: Gauge<'service'>;
  private readonly revision: Gauge<'service'>;
  private readonly draining: Gauge<'service'>;

  constructor(labels: { host: string; source: string; dryRun: boolean }) {
    const r = this.registry;
    r.setDefaultLabels({ lvs_host: labels.host });
    this.reconciles = new Counter({ name: 'poold_lvs_reconciles_total', help: 'Reconcile runs by result.', labelNames: ['result'], registers: [r] });
    for (const res of RESULTS) this.reconciles.inc({ result: res }, 0);
    this.commands = new Counter({ name: 'poold_lvs_commands_total', help: 'ipvsadm commands applied, by kind.', labelNames: ['op'], registers: [r] });
    for (const op of OPS) this.commands.inc({ op }, 0);
    this.duration = new Histogram({
      name: 'poold_lvs_reconcile_duration_seconds', help: 'Wall time of one reconcile, ipvsadm included.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [r],
    });
    this.lastReconcile = new Gauge({ name: 'poold_lvs_last_reconcile_timestamp_seconds', help: 'When the last reconcile finished.', registers: [r] });
    this.lastSuccess = new Gauge({ name: 'poold_lvs_last_success_timestamp_seconds', help: 'When the table was last known to match the desired state.', registers: [r] });
    this.sourceUp = new Gauge({ name: 'poold_lvs_source_up', help: `1 when the ${labels.source} source is reachable; 0 means the table is frozen (fail static).`, registers: [r] });
    this.realServers = new Gauge({ name: 'poold_lvs_real_servers', help: 'Real servers the agent wants in each virtual service.', labelNames: ['service', 'vs'], registers: [r] });
    this.skipped = new Gauge({ name: 'poold_lvs_service_skipped', help: '1 when a service is left untouched because its inputs are missing or unsafe.', labelNames: ['service'], registers: [r] });
    this.revision = new Gauge({ name: 'poold_lvs_state_revision', help: 'Revision of the pool state last reconciled.', labelNames: ['service'], registers: [r] });
    this.draining = new Gauge({ name: 'poold_lvs_draining_servers', help: 'Real servers that left the pool and are draining (weight 0) until their drain period ends.', labelNames: ['service'], registers: [r] });
    new Gauge({ name: 'poold_lvs_dry_run', help: '1 when the agent only prints commands.', registers: [r] }).set(labels.dryRun ? 1 : 0);
  }

  observe(rep: ReconcileReport): void {
    this.reconciles.inc({ result: rep.result });
    this.duration.observe(rep.durationMs / 1000);
    this.lastReconcile.set(rep.at / 1000);
    this.sourceUp.set(rep.result === 'source-down' ? 0 : 1);
    if (rep.result === 'source-down') return;
    if (rep.result === 'noop' || rep.result === 'applied') this.lastSuccess.set(rep.at / 1000);
    if (rep.result === 'applied') {
      for (const line of rep.commands) {
        const op = OP_OF_FLAG[line.split(' ', 1)[0]!];
        if (op) this.commands.inc({ op });
      }
    }
    this.realServers.reset();
    this.skipped.reset();
    this.draining.reset();
    for (const s of rep.services) {
      if (s.vs !== undefined && !s.skipped) this.draining.set({ service: s.service }, s.draining?.length ?? 0);
      this.skipped.set({ service: s.service }, s.skipped ? 1 : 0);
      if (s.vs !== undefined && s.realServers !== undefined) this.realServers.set({ service: s.service, vs: s.vs }, s.realServers);
      if (s.revision !== undefined) this.revision.set({ service: s.service }, s.revision);
    }
  }
}
