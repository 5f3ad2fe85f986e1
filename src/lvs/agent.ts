// The LVS-host agent: keeps the kernel's IPVS table equal to the published pool states.
//
//   poolctl lvs agent --host lvs1001 [--services dc/name,...] [--poold URL]
//                     [--ipvsadm PATH] [--dry-run]
//
// It reconciles on every change of a service definition or pool state (etcd watch, or poold's
// event stream, polling when there is none) and every `periodMs` (which re-reads the kernel table and so repairs hand edits).
// What it never does (PyBal does some of these):
//   - flush the table, or delete and re-add a virtual service at start-up: it adopts what is there;
//   - touch anything while etcd/poold is unreachable;
//   - empty a pool unless the admins depooled every host;
//   - touch virtual services it does not manage.
// With `bgp`, it also announces the VIPs it serves through a gobgpd it owns (agent-bgp.ts, bgp-*.ts).
import { UsageError } from '../model/errors.js';
import type { EtcdOptions } from '../store/connection.js';
import type { KeyRoots } from '../store/keys.js';
import { DEFAULT_IPVSADM_PATH } from './apply.js';
import { startAgentBgp, type AgentBgp } from './agent-bgp.js';
import type { BgpConfig } from './bgp-config.js';
import type { BgpStatus } from './bgp-speaker.js';
import { EtcdSource } from './agent-etcd.js';
import { startAgentHttp } from './agent-http.js';
import { AgentMetrics } from './agent-metrics.js';
import { PooldSource } from './agent-poold.js';
import { Reconciler, type ReconcileReport, type ServiceStatus } from './agent-reconciler.js';
import { cachingResolver, type Resolver } from './agent-resolve.js';
import { serviceFilter, type AgentSource } from './agent-source.js';

export type AgentSourceConfig =
  | { kind: 'etcd'; etcd: EtcdOptions; roots?: Partial<KeyRoots> }
  | { kind: 'poold'; url: string; pollMs?: number; stream?: boolean; resyncMs?: number; streamRetryMs?: number; streamRetryMaxMs?: number; inlineDetail?: boolean };

export interface AgentOptions {
  /** This LVS host's name (labels metrics and /status). */
  host: string;
  /** `dc/name` of the LVS services this host serves; all services when absent or empty. */
  services?: string[];
  /** Default /sbin/ipvsadm. */
  ipvsadmPath?: string;
  /** Extra environment for ipvsadm (tests point the stand-in at its table). */
  ipvsadmEnv?: NodeJS.ProcessEnv;
  /** Print the commands instead of applying them. */
  dryRun?: boolean;
  source: AgentSourceConfig;
  /** Full reconcile (kernel table re-read) period. Default 5000 ms. */
  periodMs?: number;
  /** /metrics and /status. Default 127.0.0.1:9095; `false` for none; port 0 picks a free port. */
  listen?: { host?: string; port: number } | false;
  /** Delay before retrying a failed apply. Default 1000 ms. */
  retryMs?: number;
  /** Structured log lines (default: JSON on stderr). */
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** Dry-run output (default: stdout). */
  print?: (line: string) => void;
  /** Host name resolution for servers without an address (default: cached getaddrinfo). */
  resolve?: Resolver;
  /** Called with every reconcile report, the first one included (tests, benchmarks). */
  onReport?: (r: ReconcileReport) => void;
  /** Announce the served VIPs over BGP (PyBal's `bgp = yes`); absent: no BGP. */
  bgp?: BgpConfig;
}

export interface AgentStatus {
  host: string;
  dryRun: boolean;
  periodMs: number;
  ipvsadm: string;
  source: { kind: AgentSource['kind']; healthy: boolean; lastError: string | null; detail?: object };
  lastReconcile: ReconcileReport | null;
  /** Epoch ms when the table last matched the desired state (noop or verified apply). */
  lastSuccessAt: number | null;
  services: ServiceStatus[];
  /** Present when BGP is on: sessions, announced and withheld VIPs. */
  bgp?: BgpStatus;
}

export interface AgentHandle {
  /** Base URL of /metrics and /status, when listening. */
  url: string | undefined;
  status(): AgentStatus;
  /** Full reconcile now (re-reads the kernel table); resolves when it and any follow-up are done. */
  reconcileNow(): Promise<void>;
  /** Subscribe to reconcile reports; returns the unsubscribe function. */
  onReport(fn: (r: ReconcileReport) => void): () => void;
  stop(): Promise<void>;
}

export const DEFAULT_AGENT_PORT = 9095;
const SERVICE_RE = /^[^/\s]+\/[^/\s]+$/;

function checkOptions(o: AgentOptions): void {
  if (!o.host) throw new UsageError('lvs agent: --host is required (this LVS host\'s name)', {});
  for (const s of o.services ?? []) {
    if (!SERVICE_RE.test(s)) throw new UsageError(`lvs agent: --services entry "${s}" is not dc/name (an LVS service, e.g. eqiad/cxserver_8080)`, { service: s });
  }
  if (o.periodMs !== undefined && !(o.periodMs >= 100)) throw new UsageError(`lvs agent: period ${o.periodMs} ms is too short (minimum 100 ms)`, {});
  if (o.source.kind === 'poold' && !/^https?:\/\//.test(o.source.url)) {
    throw new UsageError(`lvs agent: --poold "${o.source.url}" is not an http(s) URL`, { url: o.source.url });
  }
}

function defaultLog(event: string, fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), component: 'lvs-agent', event, ...fields })}\n`);
}

export async function runAgent(opts: AgentOptions): Promise<AgentHandle> {
  checkOptions(opts);
  const log = opts.log ?? defaultLog;
  const periodMs = opts.periodMs ?? 5000;
  const ipvsadmPath = opts.ipvsadmPath ?? DEFAULT_IPVSADM_PATH;
  const filter = serviceFilter(opts.services);
  const source: AgentSource =
    opts.source.kind === 'etcd'
      ? new EtcdSource({ etcd: opts.source.etcd, roots: opts.source.roots, filter })
      : new PooldSource({ ...opts.source, filter, services: opts.services });
  const metrics = new AgentMetrics({ host: opts.host, source: source.kind, dryRun: opts.dryRun ?? false });
  const listeners = new Set<(r: ReconcileReport) => void>(opts.onReport ? [opts.onReport] : []);
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  // gobgpd first: if it cannot start, the agent fails before it touches anything.
  const bgp: AgentBgp | undefined = opts.bgp
    ? await startAgentBgp({ config: opts.bgp, dryRun: opts.dryRun ?? false, registry: metrics.registry, log, print })
    : undefined;
  let last: ReconcileReport | null = null;
  let lastSuccessAt: number | null = null;
  let lastServices: ServiceStatus[] = [];

  const onReport = (r: ReconcileReport): void => {
    const prev = last;
    last = r;
    if (r.result !== 'source-down') lastServices = r.services;
    if (r.result === 'noop' || r.result === 'applied') lastSuccessAt = r.at;
    metrics.observe(r);
    // Log what changed, not every quiet period.
    if (r.result === 'applied' || r.result === 'dry-run') log(r.result, { reason: r.reason, commands: r.commands, durationMs: Math.round(r.durationMs) });
    else if (r.result !== 'noop' && (prev?.result !== r.result || prev.error !== r.error)) log(r.result, { reason: r.reason, error: r.error });
    else if (r.result === 'noop' && prev && prev.result !== 'noop' && prev.result !== 'applied') log('recovered', { reason: r.reason });
    const newlySkipped = r.services.filter((s) => s.skipped && !prev?.services.some((p) => p.service === s.service && p.skipped === s.skipped));
    for (const s of newlySkipped) log('service-skipped', { service: s.service, reason: s.skipped });
    void bgp?.onReport(r, source.snapshot());
    for (const fn of listeners) fn(r);
  };

  const reconciler = new Reconciler({
    source,
    services: opts.services,
    ipvsadm: { path: ipvsadmPath, ...(opts.ipvsadmEnv ? { env: opts.ipvsadmEnv } : {}) },
    dryRun: opts.dryRun ?? false,
    resolve: opts.resolve ?? cachingResolver(),
    onReport,
    print,
    retryMs: opts.retryMs,
  });

  const status = (): AgentStatus => ({
    host: opts.host,
    dryRun: opts.dryRun ?? false,
    periodMs,
    ipvsadm: ipvsadmPath,
    source: { kind: source.kind, healthy: source.healthy(), lastError: source.lastError() ?? null, ...(source.detail ? { detail: source.detail() } : {}) },
    lastReconcile: last,
    lastSuccessAt,
    services: lastServices,
    ...(bgp ? { bgp: bgp.status() } : {}),
  });

  let http: Awaited<ReturnType<typeof startAgentHttp>> | undefined;
  const listen = opts.listen === undefined ? { port: DEFAULT_AGENT_PORT } : opts.listen;
  try {
    if (listen) http = await startAgentHttp({ ...listen, metrics, status });
  } catch (err) {
    await bgp?.stop();
    throw err;
  }

  // Changes from the source reconcile against the cached table (fast path); the period re-reads it.
  // Before the first successful listing, 'change' finds the source unhealthy and touches nothing.
  let started = false;
  await source.start((changed) => {
    if (!started) return;
    void reconciler.trigger(changed.length > 0 ? 'change' : 'reconnect');
  });
  started = true;
  await reconciler.trigger('start');
  const timer = setInterval(() => void reconciler.trigger('period'), periodMs);
  let stopping: Promise<void> | undefined;
  log('started', { host: opts.host, source: source.kind, services: opts.services ?? 'all', dryRun: opts.dryRun ?? false, url: http?.url });

  return {
    url: http?.url,
    status,
    reconcileNow: () => reconciler.trigger('period'),
    onReport(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async stop() {
      if (stopping) return stopping;
      stopping = (async () => {
        clearInterval(timer);
        reconciler.stop();
        // Withdraw before anything else: routers move the VIPs' traffic to another LVS host at once.
        await bgp?.stop();
        await reconciler.idle();
        await source.stop();
        await http?.app.close();
      })();
      return stopping;
    },
  };
}
