// The agent's reconcile step: snapshot from the source → desired table → minimal diff against the
// kernel table → ipvsadm -R → read back and verify. One reconcile runs at a time; triggers that
// arrive meanwhile are merged into one follow-up run.
//
// Fail static, always:
//   - source unreachable → nothing is touched (not even hand edits are repaired);
//   - a service with missing/invalid inputs → its virtual service is left exactly as it is;
//   - a pool would become empty without the admins having depooled every host → left as it is;
//   - at start the existing table is adopted: only differences are applied, nothing is flushed.
import { errorMessage } from '../model/errors.js';
import { servicePath } from '../model/types.js';
import { applyAndVerify, readTable, type IpvsadmOptions } from './apply.js';
import type { AgentSource } from './agent-source.js';
import type { Resolver } from './agent-resolve.js';
import { buildDesired, vsOfDef, type ServiceInput } from './desired.js';
import { diffTables } from './diff.js';
import { drainKey, planDrains, type DrainRecord } from './drain.js';
import { renderCommand } from './render.js';
import { addrPort, canonicalAddress, isV6, vsKey, type IpvsTable, type VsId } from './table.js';

/**
 * start: first run; change: the source saw new inputs (diffs against the cached table);
 * period: timer (probes the source, re-reads the table); retry: after a failed apply;
 * reconnect: the source is back after an outage (re-reads the table);
 * drain: a drain period ended (diffs against the cached table, like change).
 */
export type ReconcileReason = 'start' | 'change' | 'period' | 'retry' | 'reconnect' | 'drain';
export type ReconcileResult = 'noop' | 'applied' | 'dry-run' | 'error' | 'source-down';

export interface ServiceStatus {
  service: string;
  /** `tcp 10.2.2.18:8080` when the definition is known. */
  vs?: string;
  realServers?: number;
  revision?: number;
  /** Why this service was left untouched. */
  skipped?: string;
  /**
   * Hosts this reconcile gives a weight above 0 (pooled in the published state). When the report's
   * result is `noop` or `applied` (read back and verified), that is what IPVS holds: poolctl's
   * rolling operations read it from /status to confirm a host left, or is back in, IPVS here.
   */
  pooledHosts?: string[];
  /** Servers that left the pool and are draining (weight 0) until their removal. */
  draining?: Array<{ server: string; host?: string; since: number; until: number }>;
}

export interface ReconcileReport {
  /** Epoch ms (fractional) when the reconcile began, i.e. when its trigger was taken up. */
  startedAt: number;
  /** Epoch ms when it ended. */
  at: number;
  reason: ReconcileReason;
  result: ReconcileResult;
  /** ipvsadm -R lines applied (or, with dry-run, that would be). */
  commands: string[];
  error?: string;
  durationMs: number;
  services: ServiceStatus[];
}

export interface ReconcilerOptions {
  source: AgentSource;
  /** Services the agent must serve; those absent from the source are reported as skipped. */
  services?: readonly string[];
  ipvsadm: IpvsadmOptions;
  dryRun: boolean;
  resolve: Resolver;
  /** Called with every report (metrics, status, logs). */
  onReport: (r: ReconcileReport) => void;
  /** Dry-run output: the commands that would run. */
  print: (line: string) => void;
  /** Delay before retrying after a failed apply. Default 1000 ms. */
  retryMs?: number;
  now?: () => number;
}

export class Reconciler {
  /** The table as last read or verified; event-driven reconciles diff against it to save a read. */
  private table: IpvsTable | undefined;
  /** Virtual service last applied for each service path (to delete it if the VIP moves). */
  private readonly owned = new Map<string, VsId>();
  private running: Promise<void> | undefined;
  private pending: ReconcileReason | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastPrinted = '';
  private stopped = false;
  /** Drains in progress, by `${vsKey} ${serverKey}` (see drain.ts). */
  private draining = new Map<string, DrainRecord>();
  private drainTimer: NodeJS.Timeout | undefined;
  /** Host names of real servers seen while wanted, by `${vsKey} ${serverKey}` (drain status). */
  private readonly hostNames = new Map<string, string>();

  constructor(private readonly opts: ReconcilerOptions) {}

  /** Runs a reconcile now, or once more right after the one in progress. Resolves when done. */
  trigger(reason: ReconcileReason): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      // A period (or retry) re-reads the table; it must not be downgraded to a cached change run.
      const cached = (r: ReconcileReason) => r === 'change' || r === 'drain';
      this.pending = this.pending !== undefined && !cached(this.pending) ? this.pending : reason;
      return this.running;
    }
    this.running = this.loop(reason).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async loop(first: ReconcileReason): Promise<void> {
    let reason: ReconcileReason | undefined = first;
    while (reason && !this.stopped) {
      this.pending = undefined;
      this.opts.onReport(await this.reconcile(reason));
      reason = this.pending;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.drainTimer) clearTimeout(this.drainTimer);
  }

  /** Drains in progress (status, tests). */
  drains(): DrainRecord[] {
    return [...this.draining.values()];
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async inputs(statuses: ServiceStatus[]): Promise<{ inputs: ServiceInput[]; paths: Map<string, string>; drainMs: Map<string, number> }> {
    const snap = this.opts.source.snapshot();
    const inputs: ServiceInput[] = [];
    const paths = new Map<string, string>(); // vsKey → service path
    const drainMs = new Map<string, number>(); // vsKey → drain period
    const wanted = new Set([...(this.opts.services ?? []), ...snap.keys()]);
    for (const path of [...wanted].sort()) {
      const e = snap.get(path);
      if (!e?.def) {
        statuses.push({ service: path, skipped: e?.problem ?? 'no service definition' });
        continue;
      }
      if (e.problem) {
        statuses.push({ service: path, skipped: e.problem });
        continue;
      }
      let vs: VsId;
      try {
        vs = vsOfDef(e.def);
      } catch (err) {
        statuses.push({ service: path, skipped: errorMessage(err) });
        continue;
      }
      // Two services on one VIP: the first (in path order) is served, as buildDesired keeps it.
      if (!paths.has(vsKey(vs))) {
        paths.set(vsKey(vs), path);
        if (e.def.lvs.drainMs) drainMs.set(vsKey(vs), e.def.lvs.drainMs);
      }
      const resolved: Record<string, string> = {};
      for (const [host, s] of Object.entries(e.state?.servers ?? {})) {
        if (!s.pooled || e.def.servers[host]?.address !== undefined) continue;
        const a = await this.opts.resolve(host, isV6(vs.address) ? 6 : 4);
        if (a !== undefined) resolved[host] = a;
      }
      this.rememberHosts(vs, e.def.servers, resolved);
      inputs.push({ def: e.def, state: e.state, resolved });
    }
    return { inputs, paths, drainMs };
  }

  private rememberHosts(vs: VsId, servers: Record<string, { address?: string }>, resolved: Record<string, string>): void {
    for (const host of new Set([...Object.keys(servers), ...Object.keys(resolved)])) {
      const raw = servers[host]?.address ?? resolved[host];
      if (raw === undefined) continue;
      try {
        this.hostNames.set(drainKey(vsKey(vs), addrPort(canonicalAddress(raw, host), vs.port)), host);
      } catch {
        // An invalid address makes buildDesired skip the service with the reason; no name to remember.
      }
    }
  }

  private async reconcile(reason: ReconcileReason): Promise<ReconcileReport> {
    const now = this.opts.now ?? Date.now;
    const t0 = performance.now();
    const startedAt = performance.timeOrigin + t0;
    const report = (result: ReconcileResult, services: ServiceStatus[], commands: string[] = [], error?: string): ReconcileReport => ({
      startedAt, at: now(), reason, result, commands, durationMs: performance.now() - t0, services, ...(error !== undefined ? { error } : {}),
    });
    const sourceUp = reason === 'period' ? await this.opts.source.probe() : this.opts.source.healthy();
    if (!sourceUp) {
      this.table = undefined; // whatever happens meanwhile, read the kernel table again afterwards
      return report('source-down', [], [], `${this.opts.source.kind} unavailable: ${this.opts.source.lastError() ?? 'not connected yet'}; table left as it is`);
    }
    const statuses: ServiceStatus[] = [];
    let lines: string[] = [];
    try {
      const { inputs, paths, drainMs } = await this.inputs(statuses);
      const desired = buildDesired(inputs);
      for (const s of desired.skipped) statuses.push({ service: s.service, ...(s.vs ? { vs: vsKey(s.vs) } : {}), skipped: s.reason });
      for (const vs of desired.services) {
        const path = paths.get(vsKey(vs))!;
        const state = inputs.find((i) => servicePath(i.def) === path)?.state;
        const pooledHosts = state ? Object.keys(state.servers).filter((h) => state.servers[h].pooled && state.servers[h].weight > 0).sort() : [];
        statuses.push({ service: path, vs: vsKey(vs), realServers: vs.servers.length, ...(state ? { revision: state.revision } : {}), pooledHosts });
      }
      statuses.sort((a, b) => a.service.localeCompare(b.service));
      // A service whose definition now names another VIP/port/protocol: delete what we put there
      // before, but only when the new virtual service is being built (never for a skipped service).
      const building = new Map<string, string>(); // path → vsKey
      for (const vs of desired.services) building.set(paths.get(vsKey(vs))!, vsKey(vs));
      const remove: VsId[] = [];
      for (const [path, vs] of this.owned) {
        const nowVs = building.get(path);
        if (nowVs !== undefined && nowVs !== vsKey(vs)) remove.push(vs);
      }
      const fresh = (reason !== 'change' && reason !== 'drain') || this.table === undefined;
      const current = fresh ? await readTable(this.opts.ipvsadm) : this.table!;
      // Servers leaving a pool with a drain period stay at weight 0 until it ends (drain.ts).
      const drainInput = { drainMs, services: new Map([...paths].filter(([vs]) => drainMs.has(vs))), hosts: this.hostNames };
      const previousDrains = this.draining;
      const wanted = desired.services;
      const withDrains = (table: IpvsTable) => {
        const plan = planDrains(table, wanted, drainInput, previousDrains, now());
        this.draining = plan.draining;
        this.annotateDrains(statuses);
        this.scheduleDrain(plan.nextExpiry, now());
        return plan.services;
      };
      desired.services = withDrains(current);
      const cmds = diffTables(current, desired.services, remove);
      lines = cmds.map(renderCommand);
      if (cmds.length === 0) {
        this.table = current;
        this.lastPrinted = '';
        this.own(desired.services, paths, remove);
        return report('noop', statuses);
      }
      if (this.opts.dryRun) {
        const text = lines.join('\n');
        if (text !== this.lastPrinted) for (const l of lines) this.opts.print(l);
        this.lastPrinted = text;
        return report('dry-run', statuses, lines);
      }
      try {
        this.table = await applyAndVerify(this.opts.ipvsadm, cmds, desired.services, remove);
      } catch (err) {
        if (fresh) throw err;
        // Diffed against a cached table that someone changed by hand: read it and try once more.
        this.table = undefined;
        const reread = await readTable(this.opts.ipvsadm);
        desired.services = withDrains(reread);
        const again = diffTables(reread, desired.services, remove);
        lines = again.map(renderCommand);
        this.table = await applyAndVerify(this.opts.ipvsadm, again, desired.services, remove);
      }
      this.own(desired.services, paths, remove);
      return report('applied', statuses, lines);
    } catch (err) {
      this.table = undefined;
      this.scheduleRetry();
      return report('error', statuses, lines, errorMessage(err));
    }
  }

  private own(services: readonly VsId[], paths: Map<string, string>, removed: readonly VsId[]): void {
    for (const vs of removed) {
      for (const [path, owned] of this.owned) if (vsKey(owned) === vsKey(vs)) this.owned.delete(path);
    }
    for (const vs of services) {
      const path = paths.get(vsKey(vs));
      if (path) this.owned.set(path, { protocol: vs.protocol, address: vs.address, port: vs.port });
    }
  }

  private annotateDrains(statuses: ServiceStatus[]): void {
    for (const st of statuses) {
      if (st.vs === undefined || st.skipped) continue;
      const list = [...this.draining.values()].filter((d) => d.vs === st.vs).sort((a, b) => a.server.localeCompare(b.server));
      if (list.length) st.draining = list.map((d) => ({ server: d.server, ...(d.host ? { host: d.host } : {}), since: d.since, until: d.until }));
      else delete st.draining;
    }
  }

  /** One timer for the earliest drain end; a run at that moment deletes the server. */
  private scheduleDrain(at: number | undefined, now: number): void {
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    if (at === undefined || this.stopped) return;
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      void this.trigger('drain');
    }, Math.max(0, at - now) + 5);
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.trigger('retry');
    }, this.opts.retryMs ?? 1000);
  }
}
