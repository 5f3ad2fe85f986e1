// The LVS agent's BGP speaker: keeps gobgpd's RIB equal to the planned announcements.
//
//   update(plan)  after every reconcile (the plan says which VIPs to announce, bgp-plan.ts);
//   every pollMs  re-reads gobgpd's RIB and neighbours, and repairs any difference: a path lost to a
//                 gobgpd restart, or deleted by hand, comes back within one poll;
//   gobgpd exits  bgp-daemon.ts restarts it and the speaker re-announces at once;
//   stop()        stops gobgpd: its sessions close with a Cease and routers drop its routes at once.
// Syncs run one at a time; a request during a sync is merged into one follow-up.
import type { BgpConfig } from './bgp-config.js';
import { GobgpdProcess } from './bgp-daemon.js';
import { type NeighborState, type RibPath } from './bgp-gobgp.js';
import type { BgpMetrics } from './bgp-metrics.js';
import type { Announcement, BgpPlan, Withheld } from './bgp-plan.js';

export interface BgpStatus {
  policy: BgpConfig['policy'];
  med: number;
  dryRun: boolean;
  /** `api`: gobgpd's socket, for `gobgp --target <api> neighbor` by hand. */
  daemon: { pid: number | null; running: boolean; restarts: number; lastExit: string | null; api: string | null };
  /** True when the RIB was last found equal to the plan. */
  inSync: boolean;
  lastError: string | null;
  lastSyncAt: number | null;
  peers: NeighborState[];
  announced: Announcement[];
  withheld: Withheld[];
}

export interface BgpSpeakerOptions {
  config: BgpConfig;
  dryRun: boolean;
  log: (event: string, fields: Record<string, unknown>) => void;
  /** Dry-run output. */
  print: (line: string) => void;
  metrics?: BgpMetrics;
}

const sameAnnouncement = (a: Announcement, p: RibPath) => p.nexthop === a.nexthop && (p.med ?? 0) === a.med;

export class BgpSpeaker {
  private readonly daemon: GobgpdProcess | undefined;
  private plan: BgpPlan = { announce: new Map(), withheld: [] };
  /** The plan has been given at least once: before that nothing is announced (nor withdrawn). */
  private planned = false;
  private running: Promise<void> | undefined;
  private again = false;
  private againPeers = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private inSync = false;
  private lastError: string | null = null;
  private lastSyncAt: number | null = null;
  private peers: NeighborState[] = [];
  private lastPrinted = '';

  constructor(private readonly opts: BgpSpeakerOptions) {
    if (!opts.dryRun) {
      this.daemon = new GobgpdProcess({
        config: opts.config,
        log: opts.log,
        onRestart: () => {
          opts.metrics?.restarted();
          opts.log('bgp-reannounce', { reason: 'gobgpd restarted', prefixes: this.plan.announce.size });
          void this.sync();
        },
      });
    }
  }

  /** Starts gobgpd (nothing is announced until the first update) and the poll. */
  async start(): Promise<void> {
    await this.daemon?.start();
    this.timer = setInterval(() => void this.sync(true), this.opts.config.pollMs);
  }

  /** Announces exactly `plan.announce` from now on. Resolves when gobgpd's RIB was brought to it (or failed). */
  update(plan: BgpPlan): Promise<void> {
    this.plan = plan;
    this.planned = true;
    return this.sync();
  }

  /** What the current plan announces (the planner's `previous`). */
  announcements(): ReadonlyMap<string, Announcement> {
    return this.plan.announce;
  }

  /** Brings gobgpd's RIB to the plan; `withPeers` also refreshes the sessions' state (the poll does). */
  sync(withPeers = false): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      this.againPeers ||= withPeers;
      return this.running;
    }
    this.running = (async () => {
      let peers = withPeers;
      do {
        this.again = false;
        this.againPeers = false;
        await this.syncOnce(peers);
        peers = this.againPeers;
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async syncOnce(withPeers: boolean): Promise<void> {
    const plan = this.plan;
    this.opts.metrics?.observePlan(plan);
    if (this.opts.dryRun) {
      const lines = [...plan.announce.values()].map((a) => `bgp announce ${a.prefix} nexthop ${a.nexthop} med ${a.med} (${a.services.join(', ')})${a.medConflict ? ' MED conflict: the highest is used' : ''}`);
      const text = lines.join('\n');
      if (this.planned && text !== this.lastPrinted) {
        if (lines.length === 0) this.opts.print('bgp announce nothing');
        for (const l of lines) this.opts.print(l);
        this.lastPrinted = text;
      }
      this.inSync = true;
      return;
    }
    const daemon = this.daemon!;
    if (!daemon.running()) {
      this.fail('gobgpd is not running (restarting)');
      return;
    }
    try {
      const cli = daemon.cli;
      if (withPeers || !this.planned) {
        this.peers = await cli.neighbors();
        this.opts.metrics?.observePeers(this.peers);
      }
      if (!this.planned) {
        this.ok();
        return;
      }
      // Only the families this host can announce: each read is one gobgp run.
      const families = [...(this.opts.config.nexthopIpv4 ? ['ipv4' as const] : []), ...(this.opts.config.nexthopIpv6 ? ['ipv6' as const] : [])];
      const have = new Map<string, RibPath>();
      for (const family of families) for (const p of await cli.rib(family)) have.set(p.prefix, p);
      const adds = [...plan.announce.values()].filter((a) => !have.has(a.prefix) || !sameAnnouncement(a, have.get(a.prefix)!));
      const dels = [...have.values()].filter((p) => !plan.announce.has(p.prefix));
      for (const a of adds) await cli.announce(a);
      for (const p of dels) await cli.withdraw(p.prefix, p.family);
      if (adds.length || dels.length) {
        this.opts.log('bgp-applied', { announced: adds.map((a) => `${a.prefix} med ${a.med}`), withdrawn: dels.map((p) => p.prefix) });
        // Read back: gobgpd answers an add before it is in the RIB only if something is wrong.
        const after = new Map<string, RibPath>();
        for (const family of families) for (const p of await cli.rib(family)) after.set(p.prefix, p);
        const missing = [...plan.announce.values()].filter((a) => !after.has(a.prefix) || !sameAnnouncement(a, after.get(a.prefix)!)).map((a) => a.prefix);
        const extra = [...after.keys()].filter((p) => !plan.announce.has(p));
        if (missing.length || extra.length) {
          this.fail(`gobgpd's RIB does not match after the update: missing ${missing.join(', ') || 'none'}, unexpected ${extra.join(', ') || 'none'}`);
          return;
        }
      }
      this.ok();
    } catch (err) {
      this.fail((err as Error).message);
    }
  }

  private ok(): void {
    if (this.lastError !== null) this.opts.log('bgp-recovered', {});
    this.inSync = true;
    this.lastError = null;
    this.lastSyncAt = Date.now();
    this.opts.metrics?.observeSync(true);
  }

  private fail(message: string): void {
    if (this.stopped) return; // a sync cut short by stop(): gobgpd is gone on purpose
    if (message !== this.lastError) this.opts.log('bgp-error', { error: message });
    this.inSync = false;
    this.lastError = message;
    this.opts.metrics?.observeSync(false);
  }

  status(): BgpStatus {
    const d = this.daemon;
    return {
      policy: this.opts.config.policy,
      med: this.opts.config.med,
      dryRun: this.opts.dryRun,
      daemon: { pid: d?.pid() ?? null, running: d?.running() ?? false, restarts: d?.restarts() ?? 0, lastExit: d?.lastExitReason() ?? null, api: d?.apiTarget() ?? null },
      inSync: this.inSync,
      lastError: this.lastError,
      lastSyncAt: this.lastSyncAt,
      peers: this.peers,
      announced: [...this.plan.announce.values()],
      withheld: this.plan.withheld,
    };
  }

  /**
   * Stops gobgpd at once: it sends the routers a Cease and closes the sessions, and routers drop a
   * closed session's routes immediately (gobgpd does not offer graceful restart, so no router keeps
   * them as stale). That is faster than withdrawing VIP by VIP through the CLI first.
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.stopped = true;
    await this.daemon?.stop();
    if (this.daemon) this.opts.log('bgp-withdrawn', { reason: 'agent stopping: gobgpd stopped, sessions closed' });
    while (this.running) await this.running;
  }
}
