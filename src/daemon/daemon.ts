// poold's wiring (the imperative shell around the pure model): etcd mirrors → data → observer
// (checks) and leader (coordinators) → published state → view → API. Every instance observes and
// serves; one elected instance coordinates. While etcd is unreachable everything keeps running on
// the last known data, marked stale, and nothing is published empty.
import { startApi, type RunningApi } from '../api/server.js';
import { PoolMetrics } from '../api/metrics.js';
import { PoolView } from '../api/state-view.js';
import { createChecker } from '../checks/index.js';
import type { CheckRunner } from '../checks/scheduler.js';
import { checkWorkersFromEnv, createCheckRunner } from '../checks/sched-shards.js';
import type { StoreError } from '../model/errors.js';
import type { QuorumSetting } from '../model/quorum.js';
import type { ServiceKey } from '../model/types.js';
import { servicePath } from '../model/types.js';
import { openKv, describeEtcdOptions, type EtcdOptions } from '../store/connection.js';
import { Election } from '../store/election.js';
import { Keys } from '../store/keys.js';
import type { Etcd3Kv } from '../store/kv-etcd3.js';
import { ObservationPublisher } from '../store/observations.js';
import { AdminWriters } from './admin-writers.js';
import { AuditRetention } from './audit-retention.js';
import { DaemonData } from './data.js';
import { ServiceProblems } from './service-problems.js';
import { Leader } from './leader.js';
import type { Logger } from './logger.js';
import { Mirror } from './mirror.js';
import { Observer } from './observer.js';
import { DriftWatch } from './drift-watch.js';
import { BridgeV2Runner } from './bridge-v2-runner.js';
import { WatchGuard } from './watch-guard.js';
import { WatchMetrics } from '../api/watch-metrics.js';
import { EtcdMetrics } from '../api/etcd-metrics.js';
import { DEFAULT_ETCD_COMPACTION_INTERVAL_MS, EtcdCompaction } from './etcd-compaction.js';
import { EtcdSpace } from './etcd-space.js';
import { electionName, scopeName } from './scope-conflict.js';
import { freezeHandlers } from './freeze-mirror.js';
import type { WatchDeps, WatchHandlers } from './watch-deps.js';
import { stateFeed, type StateFeed } from './watch-state.js';
import { serviceHandlers } from './watch-services.js';
import { ForceMarkers } from './watch-force.js';
import { adminHandlers } from './watch-admin.js';
import { healthHandlers } from './watch-health.js';
import { electionHandlers } from './watch-election.js';

export interface DaemonOptions {
  etcd: EtcdOptions;
  keys?: Keys;
  /** This instance's name as an observer and election candidate (default: host name). */
  observer: string;
  /** Pools of these dcs only (default: all). */
  dcs?: string[];
  quorum: QuorumSetting;
  host: string;
  port: number;
  /** TTL of this instance's lease (observations, leadership). */
  leaseTtlSeconds: number;
  log: Logger;
  checkConcurrency?: number;
  /** Deployed pybal.conf / Icinga config to compare with the pool definitions (drift in /alerts). */
  drift?: { pybalFile?: string; icingaFile?: string; icingaFormat?: 'icinga2' | 'nagios'; intervalMs?: number };
  /** The leader deletes audit records older than this (etcd's size is capped); 0 keeps them all. Default 90 days. */
  auditRetentionMs?: number;
  /** Endpoints for the watch connection (default: etcd's); same TLS and user. */
  watchEndpoints?: string[];
  /** How often each watch is checked for advancing (watch-guard.ts). Default 5 s. */
  watchCheckIntervalMs?: number;
  /** The leader compacts etcd's history to a revision at least one interval old (etcd-compaction.ts); 0: never. Default 5 min. */
  etcdCompactionIntervalMs?: number;
}

export class Daemon {
  readonly data = new DaemonData();
  readonly metrics = new PoolMetrics();
  readonly view: PoolView;
  readonly keys: Keys;
  private kv: Etcd3Kv | undefined;
  private api: RunningApi | undefined;
  private publisher: ObservationPublisher | undefined;
  private scheduler: CheckRunner | undefined;
  private observer: Observer | undefined;
  private leader: Leader | undefined;
  private election: Election | undefined;
  private readonly mirrors: Mirror[] = [];
  private readonly disconnected = new Set<string>();
  private staleSince = 0;
  /** This instance's election scope, and the other scopes that currently have a leader. */
  private readonly scope: string;
  private readonly otherScopes = new Set<string>();
  private readonly auditRetention: AuditRetention;
  private readonly problems: ServiceProblems;
  private drift: DriftWatch | undefined;
  /** With --conftool-v2: campaigns for, and while elected runs, the v2 bridge. */
  private bridgeRunner: BridgeV2Runner | undefined;
  private writers: AdminWriters | undefined;
  /** The published states' two feeds: the watch, and the leader's own commits (watch-state.ts). */
  private stateFeed: StateFeed | undefined;
  /** The mirrors' own watch connection, and the check that it still delivers. */
  private watchGuard: WatchGuard | undefined;
  /** etcd's history (leader only) and space (every instance): etcd-compaction.ts, etcd-space.ts. */
  private readonly compaction: EtcdCompaction;
  private readonly etcdSpace: EtcdSpace;
  /** Force markers: mirrored, and while leading cleaned when stale (watch-force.ts). */
  private readonly forceMarkers: ForceMarkers;

  constructor(private readonly o: DaemonOptions) {
    this.keys = o.keys ?? new Keys();
    this.scope = scopeName(o.dcs);
    this.view = new PoolView({ dcs: o.dcs, metrics: this.metrics });
    this.problems = new ServiceProblems({
      data: this.data, view: this.view, scope: this.scope, otherScopes: this.otherScopes, drift: (path) => this.drift?.problems(path) ?? [],
    });
    this.auditRetention = new AuditRetention({ kv: () => this.kv!, keys: this.keys, log: o.log, retentionMs: o.auditRetentionMs });
    const etcdMetrics = new EtcdMetrics(this.metrics.registry);
    this.compaction = new EtcdCompaction({
      kv: () => this.kv!, probeKey: this.keys.servicesPrefix(), metrics: etcdMetrics, log: o.log,
      intervalMs: o.etcdCompactionIntervalMs ?? DEFAULT_ETCD_COMPACTION_INTERVAL_MS,
    });
    this.etcdSpace = new EtcdSpace({ kv: () => this.kv!, intervalMs: o.watchCheckIntervalMs ?? 5000, view: this.view, metrics: etcdMetrics, log: o.log });
    this.forceMarkers = new ForceMarkers({
      keys: this.keys, data: this.data, log: o.log, inScope: (k) => this.inScope(k), leader: () => this.leader,
      kv: () => this.kv!, isLeader: () => this.isLeader,
    });
  }

  get url(): string {
    return this.api ? `http://${this.api.host.includes(':') ? `[${this.api.host}]` : this.api.host}:${this.api.port}` : '';
  }

  get isLeader(): boolean {
    return this.leader?.isActive ?? false;
  }

  /** The v2 bridge while this instance runs it (--conftool-v2 and elected), for tests and status. */
  get bridgeV2(): BridgeV2Runner['bridge'] {
    return this.bridgeRunner?.bridge;
  }

  async start(): Promise<void> {
    const { log } = this.o;
    // Checks run in the main thread unless POOLD_CHECK_WORKERS shards them over worker threads.
    const checkWorkers = checkWorkersFromEnv();
    log.info({ etcd: describeEtcdOptions(this.o.etcd), observer: this.o.observer, dcs: this.o.dcs ?? 'all', node: process.version, checkWorkers }, 'starting poold');
    this.kv = (await openKv(this.o.etcd, 'etcd3')) as Etcd3Kv;
    // fastify logs every request at info: at a few requests per second from LVS agents and
    // monitoring that drowns the daemon's own logs, so the API logs warnings and errors only.
    // ('silent' has no entry in levels.values: treat it as above every level.)
    const apiLevel = (log.levels.values[log.level] ?? Infinity) >= log.levels.values.warn ? log.level : 'warn';
    const apiLog = log.child({ component: 'api' }, { level: apiLevel });
    this.api = await startApi({ view: this.view, metrics: this.metrics, logger: apiLog, host: this.o.host, port: this.o.port });
    log.info({ url: this.url }, 'API listening');

    this.publisher = new ObservationPublisher(this.kv, this.keys, {
      ttlSeconds: this.o.leaseTtlSeconds,
      onLeaseLost: (err) => log.warn({ err: err.message }, 'observation lease lost; re-publishing under a new lease'),
      onError: (err) => log.warn({ err: err.message }, 'could not re-publish observations yet'),
    });
    await this.publisher.start();
    this.scheduler = createCheckRunner({
      workers: checkWorkers,
      createChecker,
      concurrency: this.o.checkConcurrency,
      onError: (err, ctx) => log.error({ err, ...ctx }, 'check scheduler error'),
    });
    this.observer = new Observer({
      observer: this.o.observer,
      scheduler: this.scheduler,
      publisher: this.publisher,
      view: this.view,
      log,
      initialUp: (k) => this.data.states.get(servicePath(k))?.servers[k.host]?.up,
    });
    const electionKey = this.keys.election(electionName(this.scope));
    this.writers = new AdminWriters(this.kv, this.keys);
    this.leader = new Leader({
      kv: this.kv, keys: this.keys, data: this.data, quorum: this.o.quorum, log, now: Date.now, writers: this.writers,
      fence: { key: electionKey, holder: this.o.observer },
      // Serve what our own transaction committed without waiting for the watch's echo (watch-state.ts).
      onPublished: (state, modRevision) => this.stateFeed?.committed(state, modRevision),
      onProduced: (own) => this.stateFeed?.produced(own),
    });

    this.watchGuard = await WatchGuard.open({
      kv: this.kv,
      watchEtcd: this.o.watchEndpoints === undefined ? this.o.etcd : { ...this.o.etcd, endpoints: this.o.watchEndpoints },
      intervalMs: this.o.watchCheckIntervalMs ?? 5000,
      view: this.view,
      metrics: new WatchMetrics(this.metrics.registry),
      log,
    });
    // States first, so a (re)started instance serves and starts its checks from the last published health.
    // The handlers read the leader (and the drift watch, started below) when called, never before.
    const deps: WatchDeps = {
      keys: this.keys, data: this.data, view: this.view, problems: this.problems, log, inScope: (k) => this.inScope(k), leader: () => this.leader,
    };
    this.stateFeed = stateFeed({ ...deps, metrics: this.metrics });
    await this.mirror('state', this.keys.statePrefix(), this.stateFeed.handlers);
    await this.mirror('services', this.keys.servicesPrefix(), serviceHandlers({ ...deps, drift: () => this.drift, observer: () => this.observer }));
    // Force markers before admin values, so a listed forced write is known as forced when it is read.
    await this.mirror('force', this.keys.forcePrefix(), this.forceMarkers.handlers());
    await this.mirror('admin', this.keys.poolsPrefix(), adminHandlers({ ...deps, writers: this.writers, cleanStaleMarker: (hk) => this.forceMarkers.cleanStale(hk) }));
    await this.mirror('health', this.keys.healthPrefix(), healthHandlers(deps));
    await this.mirror('freeze', this.keys.freezePrefix(), freezeHandlers(this.keys, this.data, this.o.log, (sk) => this.inScope(sk), (path) => this.leader?.freezeChanged(path)));
    await this.mirror('election', this.keys.election(electionName('')), electionHandlers({ keys: this.keys, problems: this.problems, log, scope: this.scope, otherScopes: this.otherScopes }));
    this.scheduler.start();
    this.watchGuard.start();
    this.etcdSpace.start();
    if (this.o.drift?.pybalFile !== undefined || this.o.drift?.icingaFile !== undefined) {
      this.drift = new DriftWatch({
        ...this.o.drift,
        dc: this.o.dcs?.length === 1 ? this.o.dcs[0] : undefined,
        intervalMs: this.o.drift.intervalMs ?? 60_000,
        services: () => [...this.data.services.values()],
        onChange: (paths) => {
          for (const def of this.data.services.values()) if (paths.has(servicePath(def))) this.problems.refresh(def);
        },
        log: this.o.log,
      });
      this.drift.start();
    }

    this.election = new Election(this.kv, { key: electionKey, candidate: this.o.observer, ttlSeconds: this.o.leaseTtlSeconds }, {
      onLeader: () => {
        log.info('elected leader: coordinating pools');
        this.leader?.activate();
        this.forceMarkers.sweepStale();
        this.auditRetention.start();
        this.compaction.start();
        this.view.setLeadership({ leader: true, leaderId: this.o.observer });
      },
      onFollower: (leader) => {
        if (this.leader?.isActive) log.warn({ leader }, 'no longer leader');
        this.leader?.deactivate();
        this.auditRetention.stop();
        this.compaction.stop();
        this.view.setLeadership({ leader: false, leaderId: leader ?? null });
      },
      onError: (err) => log.warn({ err: err.message }, 'election: etcd error, retrying'),
    });
    this.election.start();
    if (this.o.etcd.conftoolV2 !== undefined) {
      this.bridgeRunner = new BridgeV2Runner({
        kv: this.kv, etcd: this.o.etcd, keys: this.keys, candidate: this.o.observer, ttlSeconds: this.o.leaseTtlSeconds, log,
      });
      this.bridgeRunner.start();
    }
  }

  async stop(): Promise<void> {
    await this.bridgeRunner?.stop();
    this.drift?.stop();
    this.auditRetention.stop();
    this.compaction.stop();
    this.etcdSpace.stop();
    this.leader?.deactivate();
    await this.election?.stop().catch((err: unknown) => this.o.log.warn({ err }, 'election stop failed'));
    await this.scheduler?.stop();
    await Promise.all(this.mirrors.map((m) => m.stop()));
    await this.watchGuard?.stop();
    await this.publisher?.stop().catch((err: unknown) => this.o.log.warn({ err }, 'lease revoke failed'));
    await this.api?.close();
    await this.kv?.close();
  }

  /**
   * Simulates a crash for tests: stops keepalives and checks without resigning or revoking, so the
   * observations and the leadership key expire after the lease TTL, as after SIGKILL. The election
   * is abandoned too: before, its lease kept being renewed, so a "crashed" leader stayed leader.
   */
  async crash(): Promise<void> {
    await this.bridgeRunner?.abandon();
    this.drift?.stop();
    this.compaction.stop();
    this.etcdSpace.stop();
    this.leader?.deactivate();
    this.publisher?.abandon();
    await this.election?.abandon();
    await this.scheduler?.stop();
    await Promise.all(this.mirrors.map((m) => m.stop()));
    await this.watchGuard?.stop();
    await this.api?.close();
    await this.kv?.close();
  }

  private async mirror(name: string, prefix: string, h: WatchHandlers): Promise<void> {
    const m = new Mirror(this.kv!, prefix, {
      ...h,
      connection: (state) => this.connection(name, state),
      error: (err: StoreError) => this.o.log.error({ err: err.message, prefix }, 'etcd watch stopped'),
    }, () => this.watchGuard!.client);
    await m.start();
    this.mirrors.push(m);
    this.watchGuard?.add(name, m);
  }

  private connection(name: string, state: 'connected' | 'disconnected'): void {
    const wasStale = this.disconnected.size > 0;
    if (state === 'disconnected') this.disconnected.add(name);
    else this.disconnected.delete(name);
    const stale = this.disconnected.size > 0;
    if (stale === wasStale) return;
    if (stale) {
      this.staleSince = Date.now();
      this.o.log.warn('lost etcd: serving the last known state, marked stale');
    } else {
      this.o.log.info({ staleForMs: Date.now() - this.staleSince }, 'etcd reachable again');
    }
    this.view.setAllStale(stale, this.staleSince);
  }

  private inScope(k: Pick<ServiceKey, 'dc'>): boolean {
    return this.view.inScope(k);
  }
}
