// The Prometheus registry of one poold process. Everything is prefixed `poold_`.
// Counters and the histogram are fed by PoolView as the daemon feeds it (so the daemon has one
// call per fact); per-pool gauges are computed from the view at scrape time, so they can never
// disagree with /pools or keep series of pools that are gone.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { nameResolver } from '../checks/resolve.js';
import type { CheckResult, ServiceKey } from '../model/types.js';

/** The states poold_servers counts per pool; `total` excludes inactive (decommissioned) hosts, as PyBal does. */
export const SERVER_STATES = ['total', 'enabled', 'up', 'pooled', 'pooled_down', 'inactive'] as const;
export type ServerStateLabel = (typeof SERVER_STATES)[number];

/** What the scrape-time gauges read; PoolView implements it. */
export interface MetricsSource {
  /** Per pool: counts by state, and whether the pool's state is stale. */
  metricPools(): { key: ServiceKey; counts: Record<ServerStateLabel, number>; stale: boolean; adminHolds?: { held: number; forced: number } }[];
  /** 1 when this instance is the elected leader. */
  isLeader(): boolean;
}

type PoolLabels = 'dc' | 'cluster' | 'service';

/** Check durations run from sub-millisecond (tcp on loopback) to the 5 s default timeout and beyond. */
export const CHECK_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export interface PoolMetricsOptions {
  /** Also export Node process metrics (poold_process_*, poold_nodejs_*). Default true. */
  processMetrics?: boolean;
}

export class PoolMetrics {
  readonly registry = new Registry();
  /** poold_servers{dc,cluster,service,state}: computed from the bound view at scrape. */
  readonly servers: Gauge<PoolLabels | 'state'>;
  /** poold_checks_total{dc,cluster,service,check,code}: every check result, by reason code. */
  readonly checksTotal: Counter<PoolLabels | 'check' | 'code'>;
  /** poold_check_duration_seconds{dc,cluster,service,check}. */
  readonly checkDuration: Histogram<PoolLabels | 'check'>;
  /** poold_transitions_total{dc,cluster,service,transition}: up, down, pooled, depooled. */
  readonly transitionsTotal: Counter<PoolLabels | 'transition'>;
  /** poold_could_not_depool_total{dc,cluster,service}: a down host kept pooled by the threshold. */
  readonly couldNotDepoolTotal: Counter<PoolLabels>;
  /** poold_etcd_watch_lag_seconds: age of the newest etcd event when the daemon applied it. */
  readonly etcdWatchLag: Gauge;
  /** poold_admin_depools_held{dc,service}: admin depools held by the threshold (model/coordinator-hold.ts). From the view. */
  readonly adminDepoolsHeld: Gauge<PoolLabels>;
  /** poold_admin_depools_forced{dc,service}: admin depools let through below the threshold by a force marker. */
  readonly adminDepoolsForced: Gauge<PoolLabels>;
  /** poold_leader: 1 when this instance is the leader. Computed from the bound view at scrape. */
  readonly leader: Gauge;
  /** poold_pool_state_stale{dc,cluster,service}: 1 while the published state is stale. From the view. */
  readonly poolStale: Gauge<PoolLabels>;
  /** poold_resolver_failures_total{kind}: failed lookups of backend names (this process's resolver), read at scrape. */
  readonly resolverFailures: Counter<'kind'>;
  /** poold_resolver_stale_names: names checked at their last-known address because the resolver fails. */
  readonly resolverStaleNames: Gauge;

  private source: MetricsSource | null = null;

  constructor(options: PoolMetricsOptions = {}) {
    const registers = [this.registry];
    // prom-client calls collect() with the metric as `this`; the arrow keeps this PoolMetrics.
    const source = (): MetricsSource | null => this.source;
    this.servers = new Gauge({
      name: 'poold_servers',
      help: 'Servers per pool by state (total excludes inactive hosts).',
      labelNames: ['dc', 'service', 'state'],
      registers,
      collect() {
        this.reset();
        for (const p of source()?.metricPools() ?? []) {
          for (const state of SERVER_STATES) {
            this.set({ dc: p.key.dc, service: p.key.name, state }, p.counts[state]);
          }
        }
      },
    });
    this.poolStale = new Gauge({
      name: 'poold_pool_state_stale',
      help: 'Whether the pool state served by this instance is stale (1) or current (0).',
      labelNames: ['dc', 'service'],
      registers,
      collect() {
        this.reset();
        for (const p of source()?.metricPools() ?? []) {
          this.set({ dc: p.key.dc, service: p.key.name }, p.stale ? 1 : 0);
        }
      },
    });
    this.adminDepoolsHeld = new Gauge({
      name: 'poold_admin_depools_held',
      help: 'Admin depools (conftool pooled=no/inactive, from any writer) held because they would break the depool threshold.',
      labelNames: ['dc', 'service'],
      registers,
      collect() {
        this.reset();
        for (const p of source()?.metricPools() ?? []) this.set({ dc: p.key.dc, service: p.key.name }, p.adminHolds?.held ?? 0);
      },
    });
    this.adminDepoolsForced = new Gauge({
      name: 'poold_admin_depools_forced',
      help: 'Admin depools applied below the depool threshold because their write carried a force marker (poolctl --force).',
      labelNames: ['dc', 'service'],
      registers,
      collect() {
        this.reset();
        for (const p of source()?.metricPools() ?? []) this.set({ dc: p.key.dc, service: p.key.name }, p.adminHolds?.forced ?? 0);
      },
    });
    this.leader = new Gauge({
      name: 'poold_leader',
      help: 'Whether this poold instance is the elected leader (1) or not (0).',
      registers,
      collect() {
        this.set(source()?.isLeader() ? 1 : 0);
      },
    });
    // The resolver is per process (src/checks/resolve.ts); its counts are read when scraped.
    this.resolverFailures = new Counter({
      name: 'poold_resolver_failures_total',
      help: 'Failed DNS lookups of backend names, by kind (servfail, timeout, refused, temporary: the resolver; nxdomain, nodata: the name).',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(nameResolver().failures())) this.inc({ kind }, n);
      },
    });
    this.resolverStaleNames = new Gauge({
      name: 'poold_resolver_stale_names',
      help: 'Backend names checked at their last-known address because the resolver fails for them.',
      registers,
      collect() {
        this.set(nameResolver().staleNames().length);
      },
    });
    this.checksTotal = new Counter({
      name: 'poold_checks_total',
      help: 'Health check results by reason code.',
      labelNames: ['dc', 'service', 'check', 'code'],
      registers,
    });
    this.checkDuration = new Histogram({
      name: 'poold_check_duration_seconds',
      help: 'Health check duration, connect to verdict.',
      labelNames: ['dc', 'service', 'check'],
      buckets: CHECK_DURATION_BUCKETS,
      registers,
    });
    this.transitionsTotal = new Counter({
      name: 'poold_transitions_total',
      help: 'Effective host state transitions (up, down, pooled, depooled).',
      labelNames: ['dc', 'service', 'transition'],
      registers,
    });
    this.couldNotDepoolTotal = new Counter({
      name: 'poold_could_not_depool_total',
      help: 'Times a down host was kept pooled because the depool threshold forbade depooling it.',
      labelNames: ['dc', 'service'],
      registers,
    });
    this.etcdWatchLag = new Gauge({
      name: 'poold_etcd_watch_lag_seconds',
      help: 'Delay between an etcd change and poold applying it, for the latest change.',
      registers,
    });
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'poold_' });
      // prom-client exports these gauges with a `_total` suffix, which promtool rejects (only counters
      // may end in _total); the per-type gauges without the suffix carry the same information.
      for (const name of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(`poold_${name}`);
    }
  }

  /** Makes the scrape-time gauges read this source (the PoolView). */
  bindSource(source: MetricsSource): void {
    this.source = source;
  }

  recordCheck(key: ServiceKey, check: string, result: CheckResult): void {
    const labels = { dc: key.dc, service: key.name, check };
    this.checksTotal.inc({ ...labels, code: result.code });
    this.checkDuration.observe(labels, result.timings.totalMs / 1000);
  }

  recordTransition(key: ServiceKey, transition: 'up' | 'down' | 'pooled' | 'depooled'): void {
    this.transitionsTotal.inc({ dc: key.dc, service: key.name, transition });
  }

  recordCouldNotDepool(key: ServiceKey): void {
    this.couldNotDepoolTotal.inc({ dc: key.dc, service: key.name });
  }

  setEtcdWatchLag(seconds: number): void {
    this.etcdWatchLag.set(seconds);
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
